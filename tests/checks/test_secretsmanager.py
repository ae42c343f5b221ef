"""Tests of aws.secretsmanager.rotation_enabled."""

from __future__ import annotations

import time
from dataclasses import replace

from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.secretsmanager.models import secretsmanager_backends

from auditbook.config import Thresholds
from auditbook.models import Status
from tests.conftest import REGION, deny

DAY = 86400


def create_secret(aws, name: str) -> str:
    """Create a secret with a placeholder value and return its ARN."""
    return aws.client("secretsmanager").create_secret(
        Name=name, SecretString="placeholder-not-a-credential"
    )["ARN"]


def rotate(aws, name: str, every_days: int = 30) -> None:
    # Without a rotation function moto completes the rotation at once and
    # records it as the last rotation.
    aws.client("secretsmanager").rotate_secret(
        SecretId=name, RotationRules={"AutomaticallyAfterDays": every_days}
    )


def age(name: str, *, rotated_days_ago: int | None = None, created_days_ago: int):
    """Move a secret's dates into the past in moto's backend.

    No API sets these dates, and the check compares them with the clock.
    """
    secret = secretsmanager_backends[ACCOUNT][REGION].secrets[name]
    now = int(time.time())
    secret.created_date = now - created_days_ago * DAY
    if rotated_days_ago is not None:
        secret.last_rotation_date = now - rotated_days_ago * DAY


def test_recently_rotated_passes(aws, run_checks):
    arn = create_secret(aws, "northwind/payments-db/master")
    rotate(aws, "northwind/payments-db/master")
    age("northwind/payments-db/master", rotated_days_ago=12, created_days_ago=400)

    [finding] = run_checks("aws.secretsmanager.rotation_enabled")

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    assert finding.region == REGION
    assert "was last rotated 12 days ago" in finding.message
    assert finding.evidence["rotation_enabled"] is True
    assert finding.evidence["days_since_rotation"] == 12
    assert finding.evidence["rotation_interval_days"] == 30
    assert finding.evidence["max_age_days"] == 90


def test_rotation_disabled_fails(aws, run_checks):
    create_secret(aws, "northwind/stripe-api-key")

    [finding] = run_checks("aws.secretsmanager.rotation_enabled")

    assert finding.status == Status.FAIL
    assert "rotation disabled" in finding.message
    assert finding.evidence["rotation_enabled"] is False


def test_stale_rotation_fails(aws, run_checks):
    create_secret(aws, "northwind/payments-db/master")
    rotate(aws, "northwind/payments-db/master")
    age("northwind/payments-db/master", rotated_days_ago=120, created_days_ago=400)

    [finding] = run_checks("aws.secretsmanager.rotation_enabled")

    assert finding.status == Status.FAIL
    assert "120 days ago, more than 90 days" in finding.message
    assert finding.evidence["days_since_rotation"] == 120


def test_never_rotated_counts_from_creation(aws, run_checks):
    create_secret(aws, "northwind/ledger/master")
    rotate(aws, "northwind/ledger/master")
    backend_secret = secretsmanager_backends[ACCOUNT][REGION].secrets[
        "northwind/ledger/master"
    ]
    backend_secret.last_rotation_date = None
    age("northwind/ledger/master", created_days_ago=100)

    [finding] = run_checks("aws.secretsmanager.rotation_enabled")

    assert finding.status == Status.FAIL
    assert "created and never rotated 100 days ago" in finding.message
    assert finding.evidence["last_rotated_date"] is None


def test_threshold_from_settings(aws, run_checks, settings):
    create_secret(aws, "northwind/payments-db/master")
    rotate(aws, "northwind/payments-db/master")
    age("northwind/payments-db/master", rotated_days_ago=45, created_days_ago=400)
    strict = replace(settings, thresholds=Thresholds(secret_rotation_days=30))

    [finding] = run_checks("aws.secretsmanager.rotation_enabled", settings=strict)

    assert finding.status == Status.FAIL
    assert finding.evidence["max_age_days"] == 30


def test_evidence_has_no_secret_value(aws, run_checks):
    create_secret(aws, "northwind/stripe-api-key")

    [finding] = run_checks("aws.secretsmanager.rotation_enabled")

    assert "placeholder-not-a-credential" not in repr(finding)


def test_no_secret_not_applicable(run_checks):
    [finding] = run_checks("aws.secretsmanager.rotation_enabled")

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"


def test_list_secrets_denied_is_error(aws, run_checks):
    deny(aws, "secrets-manager", "ListSecrets")

    [finding] = run_checks("aws.secretsmanager.rotation_enabled")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_secret_value_never_requested(aws, run_checks):
    create_secret(aws, "northwind/stripe-api-key")
    deny(aws, "secrets-manager", "GetSecretValue")
    deny(aws, "secrets-manager", "DescribeSecret")

    [finding] = run_checks("aws.secretsmanager.rotation_enabled")

    assert finding.status == Status.FAIL
