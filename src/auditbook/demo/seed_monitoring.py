"""Seed the demo account's monitoring: CloudTrail trails and GuardDuty detectors.

Production gets a multi-region trail that logs every management event to a
private S3 bucket, with log file validation and a customer-managed KMS key,
and GuardDuty in eu-west-2 only. The sandbox gets a single-region trail
without log file validation, a multi-region trail that was stopped, neither
of them encrypted with a KMS key, and a suspended GuardDuty detector. The
sandbox log bucket is public: its policy lets everyone read the log files,
and its Block Public Access settings stop only public ACLs.

Seeding calls mutating APIs. It expects a fresh simulated account, such as a
moto server, and is not idempotent.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3

logger = logging.getLogger(__name__)

PRIMARY_REGION = "eu-west-2"
VARIANTS = ("production", "sandbox")

ALL_MANAGEMENT_EVENTS = [{"ReadWriteType": "All", "IncludeManagementEvents": True}]

BLOCK_EVERYTHING = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
# Public ACLs are blocked, but nothing stops or neutralises a public policy.
BLOCK_ACLS_ONLY = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": False,
    "RestrictPublicBuckets": False,
}


def seed(session: boto3.Session, account_id: str, variant: str) -> None:
    """Create the demo trails, their log bucket and the GuardDuty detectors.

    Args:
        session: the session whose endpoint and credentials reach the simulator.
        account_id: the simulated account, used in the bucket name and ARNs.
        variant: ``production`` or ``sandbox``.

    Raises:
        ValueError: the variant is not one of ``production`` or ``sandbox``.
    """
    if variant not in VARIANTS:
        raise ValueError(
            f"variant {variant!r} is invalid, expected one of: {', '.join(VARIANTS)}"
        )

    if variant == "production":
        _seed_production(session, account_id)
    else:
        _seed_sandbox(session, account_id)
    logger.info("seeded the %s monitoring of account %s", variant, account_id)


def _seed_production(session: boto3.Session, account_id: str) -> None:
    cloudtrail = session.client("cloudtrail", region_name=PRIMARY_REGION)
    trail_name = "organisation-audit"
    trail_arn = _trail_arn(session, account_id, trail_name)
    bucket = _create_log_bucket(session, account_id, "production", [trail_arn])
    key_arn = _create_log_key(session, account_id, trail_arn)

    cloudtrail.create_trail(
        Name=trail_name,
        S3BucketName=bucket,
        IsMultiRegionTrail=True,
        IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True,
        KmsKeyId=key_arn,
        TagsList=[{"Key": "Environment", "Value": "production"}],
    )
    cloudtrail.put_event_selectors(
        TrailName=trail_name, EventSelectors=ALL_MANAGEMENT_EVENTS
    )
    cloudtrail.start_logging(Name=trail_name)

    # GuardDuty is on in the primary region only, so the recovery region has
    # a finding to show.
    session.client("guardduty", region_name=PRIMARY_REGION).create_detector(
        Enable=True, FindingPublishingFrequency="FIFTEEN_MINUTES"
    )


def _seed_sandbox(session: boto3.Session, account_id: str) -> None:
    cloudtrail = session.client("cloudtrail", region_name=PRIMARY_REGION)
    regional = "sandbox-regional"
    stopped = "sandbox-all-regions"
    bucket = _create_log_bucket(
        session,
        account_id,
        "sandbox",
        [_trail_arn(session, account_id, name) for name in (regional, stopped)],
    )

    # The regional trail predates the team's logging standard: no log file
    # validation and no KMS key.
    cloudtrail.create_trail(
        Name=regional, S3BucketName=bucket, IsMultiRegionTrail=False
    )
    cloudtrail.start_logging(Name=regional)

    # Someone stopped the multi-region trail to save cost and never restarted it.
    cloudtrail.create_trail(
        Name=stopped,
        S3BucketName=bucket,
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
    )
    cloudtrail.put_event_selectors(
        TrailName=stopped, EventSelectors=ALL_MANAGEMENT_EVENTS
    )
    cloudtrail.start_logging(Name=stopped)
    cloudtrail.stop_logging(Name=stopped)

    session.client("guardduty", region_name=PRIMARY_REGION).create_detector(
        Enable=False
    )


def _create_log_bucket(
    session: boto3.Session, account_id: str, variant: str, trail_arns: list[str]
) -> str:
    name = f"{variant}-cloudtrail-logs-{account_id}"
    partition = session.get_partition_for_region(PRIMARY_REGION)
    s3 = session.client("s3", region_name=PRIMARY_REGION)

    s3.create_bucket(
        Bucket=name,
        CreateBucketConfiguration={"LocationConstraint": PRIMARY_REGION},
    )
    # In the sandbox someone turned off two settings and added a public
    # statement to the policy, to share the logs with a log viewer.
    block = BLOCK_EVERYTHING if variant == "production" else BLOCK_ACLS_ONLY
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        },
    )
    policy = _log_bucket_policy(partition, name, account_id, trail_arns)
    if variant == "sandbox":
        policy["Statement"].append(
            {
                "Sid": "LogViewerRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:{partition}:s3:::{name}/AWSLogs/*",
            }
        )
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    return name


def _create_log_key(session: boto3.Session, account_id: str, trail_arn: str) -> str:
    partition = session.get_partition_for_region(PRIMARY_REGION)
    kms = session.client("kms", region_name=PRIMARY_REGION)
    policy = _log_key_policy(partition, account_id, trail_arn)

    key_arn = kms.create_key(
        Description="Encrypts the organisation-audit CloudTrail log files",
        Policy=json.dumps(policy),
        Tags=[{"TagKey": "Environment", "TagValue": "production"}],
    )["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key_arn)
    kms.create_alias(AliasName="alias/cloudtrail-logs", TargetKeyId=key_arn)
    return key_arn


def _log_key_policy(partition: str, account_id: str, trail_arn: str) -> dict[str, Any]:
    # The account administers the key. CloudTrail may encrypt with it only for
    # this trail, by aws:SourceArn and the encryption context.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudTrailEncrypts",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceArn": trail_arn},
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": trail_arn
                    },
                },
            },
        ],
    }


def _log_bucket_policy(
    partition: str, bucket: str, account_id: str, trail_arns: list[str]
) -> dict[str, Any]:
    # The two statements CloudTrail needs to deliver logs, limited to this
    # account's trails by aws:SourceArn.
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    service = {"Service": "cloudtrail.amazonaws.com"}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": service,
                "Action": "s3:GetBucketAcl",
                "Resource": bucket_arn,
                "Condition": {"StringEquals": {"aws:SourceArn": trail_arns}},
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": service,
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/AWSLogs/{account_id}/*",
                "Condition": {
                    "StringEquals": {
                        "s3:x-amz-acl": "bucket-owner-full-control",
                        "aws:SourceArn": trail_arns,
                    }
                },
            },
        ],
    }


def _trail_arn(session: boto3.Session, account_id: str, name: str) -> str:
    partition = session.get_partition_for_region(PRIMARY_REGION)
    return f"arn:{partition}:cloudtrail:{PRIMARY_REGION}:{account_id}:trail/{name}"
