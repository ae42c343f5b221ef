"""The IAM policy a collecting principal needs, generated from the registry."""

from __future__ import annotations

from collections.abc import Iterable

from auditbook.checks.registry import CheckSpec
from auditbook.cloudtrail.excerpts import PERMISSIONS as CLOUDTRAIL_PERMISSIONS

# Calls the collector makes itself, outside any check.
COLLECTOR_PERMISSIONS = ("sts:GetCallerIdentity", "ec2:DescribeRegions")

# IAM service prefixes that differ from boto3's service names.
_SERVICE_PREFIXES = {
    "accessanalyzer": "access-analyzer",
    "elbv2": "elasticloadbalancing",
    "s3control": "s3",
}

# Operations whose IAM action has another name (S3's historical names).
_ACTION_NAMES = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
}


def action_for(service: str, operation: str) -> str:
    """Return the IAM action that authorises a boto3 service's API operation."""
    named = _ACTION_NAMES.get((service, operation))
    if named:
        return named
    return f"{_SERVICE_PREFIXES.get(service, service)}:{operation}"


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
