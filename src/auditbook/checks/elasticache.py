"""Amazon ElastiCache checks: encryption at rest and in transit.

Both checks read the same DescribeReplicationGroups response, fetched once per
account and region, and give one finding per replication group (Redis OSS and
Valkey). Memcached clusters and serverless caches are not replication groups,
so these checks do not list them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.models import Finding, Severity, Status

# With TransitEncryptionMode "preferred", a group accepts both encrypted and
# plaintext connections. It is the step AWS uses to migrate a running group to
# "required".
PREFERRED_MODE = "preferred"


@check(
    "aws.elasticache.encryption_at_rest",
    title="ElastiCache replication groups encrypt data at rest",
    service="elasticache",
    scope=Scope.REGION,
    resource_type="replication group",
    severity=Severity.HIGH,
    proves="The replication group's AtRestEncryptionEnabled attribute is true.",
    permissions=["elasticache:DescribeReplicationGroups"],
)
def encryption_at_rest(ctx: CheckContext) -> Iterator[Finding]:
    for group in _replication_groups(ctx):
        enabled = bool(group.get("AtRestEncryptionEnabled"))
        evidence = _group_evidence(group)
        evidence["at_rest_encryption_enabled"] = enabled
        evidence["kms_key_id"] = group.get("KmsKeyId")

        name = group["ReplicationGroupId"]
        if enabled:
            status = Status.PASS
            message = f"Replication group {name} encrypts its data at rest."
        else:
            status = Status.FAIL
            message = f"Replication group {name} does not encrypt its data at rest."
        yield ctx.finding(_group_arn(ctx, group), status, message, evidence)


@check(
    "aws.elasticache.encryption_in_transit",
    title="ElastiCache replication groups encrypt data in transit",
    service="elasticache",
    scope=Scope.REGION,
    resource_type="replication group",
    severity=Severity.HIGH,
    proves=(
        "The replication group's TransitEncryptionEnabled attribute is true "
        "and its TransitEncryptionMode is not 'preferred', which would still "
        "accept plaintext connections."
    ),
    permissions=["elasticache:DescribeReplicationGroups"],
)
def encryption_in_transit(ctx: CheckContext) -> Iterator[Finding]:
    for group in _replication_groups(ctx):
        enabled = bool(group.get("TransitEncryptionEnabled"))
        mode = group.get("TransitEncryptionMode")
        evidence = _group_evidence(group)
        evidence["transit_encryption_enabled"] = enabled
        evidence["transit_encryption_mode"] = mode

        name = group["ReplicationGroupId"]
        if not enabled:
            status = Status.FAIL
            message = f"Replication group {name} does not encrypt data in transit."
        elif mode == PREFERRED_MODE:
            status = Status.FAIL
            message = (
                f"Replication group {name} encrypts data in transit in preferred "
                "mode, so it still accepts plaintext connections."
            )
        else:
            status = Status.PASS
            message = f"Replication group {name} requires encryption in transit."
        yield ctx.finding(_group_arn(ctx, group), status, message, evidence)


def _replication_groups(ctx: CheckContext) -> list[dict[str, Any]]:
    response = ctx.call("elasticache", "describe_replication_groups")
    return response.get("ReplicationGroups", [])


def _group_evidence(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "replication_group_id": group["ReplicationGroupId"],
        "engine": group.get("Engine"),
        "cache_node_type": group.get("CacheNodeType"),
    }


def _group_arn(ctx: CheckContext, group: dict[str, Any]) -> str:
    # The API model marks ARN optional, so the ARN is built when it is absent.
    if group.get("ARN"):
        return group["ARN"]
    return (
        f"arn:{ctx.partition}:elasticache:{ctx.region}:{ctx.account_id}"
        f":replicationgroup:{group['ReplicationGroupId']}"
    )
