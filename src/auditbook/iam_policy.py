"""The IAM policy a collecting principal needs, generated from the registry."""

from __future__ import annotations

from collections.abc import Iterable

from auditbook.checks.registry import CheckSpec
from auditbook.cloudtrail.excerpts import PERMISSIONS as CLOUDTRAIL_PERMISSIONS

# Calls the collector makes itself, outside any check.
COLLECTOR_PERMISSIONS = ("sts:GetCallerIdentity", "ec2:DescribeRegions")


def required_actions(checks: Iterable[CheckSpec]) -> list[str]:
    """Return every IAM action the collector and the given checks call, sorted."""
    actions = set(COLLECTOR_PERMISSIONS) | set(CLOUDTRAIL_PERMISSIONS)
    for spec in checks:
        actions.update(spec.permissions)
    return sorted(actions, key=str.lower)


def read_only_policy(checks: Iterable[CheckSpec]) -> dict:
    """Return the identity-based policy document for collection."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AuditbookReadOnly",
                "Effect": "Allow",
                "Action": required_actions(checks),
                "Resource": "*",
            }
        ],
    }
