"""Seed the demo account's monitoring: CloudTrail trails and GuardDuty detectors.

Production gets a multi-region trail that logs every management event to a
private S3 bucket with log file validation, and GuardDuty in eu-west-2 only.
The sandbox gets a single-region trail, a multi-region trail that was stopped,
and a suspended GuardDuty detector.

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
    bucket = _create_log_bucket(
        session, account_id, "production", [_trail_arn(session, account_id, trail_name)]
    )

    cloudtrail.create_trail(
        Name=trail_name,
        S3BucketName=bucket,
        IsMultiRegionTrail=True,
        IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True,
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
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        },
    )
    s3.put_bucket_policy(
        Bucket=name,
        Policy=json.dumps(_log_bucket_policy(partition, name, account_id, trail_arns)),
    )
    return name


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
