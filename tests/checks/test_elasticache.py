"""Tests of the ElastiCache encryption checks."""

from __future__ import annotations

from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.models import Status
from tests.conftest import REGION, deny

GROUP_ARN = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:replicationgroup:"


def create_group(aws, name: str, **kwargs) -> None:
    aws.client("elasticache").create_replication_group(
        ReplicationGroupId=name,
        ReplicationGroupDescription="Session cache",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=1,
        **kwargs,
    )


# aws.elasticache.encryption_at_rest


def test_at_rest_enabled_passes(aws, run_checks):
    create_group(aws, "northwind-sessions", AtRestEncryptionEnabled=True)

    [finding] = run_checks("aws.elasticache.encryption_at_rest")

    assert finding.status == Status.PASS
    assert finding.resource_id == f"{GROUP_ARN}northwind-sessions"
    assert finding.region == REGION
    assert finding.evidence["at_rest_encryption_enabled"] is True


def test_at_rest_disabled_fails(aws, run_checks):
    create_group(aws, "northwind-rate-limiter")

    [finding] = run_checks("aws.elasticache.encryption_at_rest")

    assert finding.status == Status.FAIL
    assert "does not encrypt its data at rest" in finding.message
    assert finding.evidence["at_rest_encryption_enabled"] is False


def test_at_rest_no_group_not_applicable(run_checks):
    [finding] = run_checks("aws.elasticache.encryption_at_rest")

    assert finding.status == Status.NOT_APPLICABLE
    assert "No replication group exists" in finding.message


def test_at_rest_denied_is_error(aws, run_checks):
    deny(aws, "elasticache", "DescribeReplicationGroups")

    [finding] = run_checks("aws.elasticache.encryption_at_rest")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


# aws.elasticache.encryption_in_transit


def test_in_transit_required_passes(aws, run_checks):
    create_group(
        aws,
        "northwind-sessions",
        TransitEncryptionEnabled=True,
        TransitEncryptionMode="required",
    )

    [finding] = run_checks("aws.elasticache.encryption_in_transit")

    assert finding.status == Status.PASS
    assert finding.evidence["transit_encryption_enabled"] is True
    assert finding.evidence["transit_encryption_mode"] == "required"


def test_in_transit_disabled_fails(aws, run_checks):
    create_group(aws, "northwind-rate-limiter")

    [finding] = run_checks("aws.elasticache.encryption_in_transit")

    assert finding.status == Status.FAIL
    assert "does not encrypt data in transit" in finding.message


def test_in_transit_preferred_mode_fails(aws, run_checks):
    create_group(
        aws,
        "northwind-sessions",
        TransitEncryptionEnabled=True,
        TransitEncryptionMode="preferred",
    )

    [finding] = run_checks("aws.elasticache.encryption_in_transit")

    assert finding.status == Status.FAIL
    assert "still accepts plaintext connections" in finding.message


def test_in_transit_no_group_not_applicable(run_checks):
    [finding] = run_checks("aws.elasticache.encryption_in_transit")

    assert finding.status == Status.NOT_APPLICABLE


def test_in_transit_denied_is_error(aws, run_checks):
    deny(aws, "elasticache", "DescribeReplicationGroups", code="Throttling", status=400)

    [finding] = run_checks("aws.elasticache.encryption_in_transit")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "Throttling"
