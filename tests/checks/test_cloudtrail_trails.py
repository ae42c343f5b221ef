"""Tests of the per-trail CloudTrail checks."""

from __future__ import annotations

import json

import boto3
from botocore.awsrequest import AWSResponse
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.checks.registry import load_checks
from auditbook.collect import Collector
from auditbook.demo import seed_monitoring
from auditbook.models import Status
from tests.conftest import REGION, deny

VALIDATION = "aws.cloudtrail.log_file_validation"
KMS = "aws.cloudtrail.kms_encrypted"
BUCKET_CHECK = "aws.cloudtrail.bucket_not_public"
TRAIL_CHECKS = (VALIDATION, KMS, BUCKET_CHECK)

BUCKET = "northwind-trail-logs"
OTHER_ACCOUNT = "111122223333"


def create_bucket(session, name=BUCKET, region=REGION, **kwargs):
    """Create a bucket unless it exists and return an S3 client of its region."""
    client = session.client("s3", region_name=region)
    if name not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": region},
            **kwargs,
        )
    return client


def make_trail(aws, name, *, bucket=BUCKET, region=REGION, **kwargs):
    """Create a trail that delivers to a bucket and return its ARN."""
    if bucket == BUCKET:
        create_bucket(aws)
    cloudtrail = aws.client("cloudtrail", region_name=region)
    return cloudtrail.create_trail(Name=name, S3BucketName=bucket, **kwargs)["TrailARN"]


def kms_key(aws, region=REGION):
    return aws.client("kms", region_name=region).create_key()["KeyMetadata"]["Arn"]


def make_public(client, bucket=BUCKET):
    """Add a bucket policy statement that lets everyone read the log files."""
    statement = {
        "Sid": "LogViewer",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    client.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )


def other_account(aws):
    """Return a session in another account of the same moto server."""
    credentials = aws.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/log-archive",
        RoleSessionName="test-log-archive",
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def deny_bucket(session, operation, bucket):
    """Make an S3 operation fail with AccessDenied for one bucket only."""

    def respond(context, **_):
        if context.get("input_params", {}).get("Bucket") != bucket:
            return None
        response = AWSResponse("https://127.0.0.1", 403, {}, None)
        parsed = {
            "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        return response, parsed

    session.events.register(f"before-call.s3.{operation}", respond)


def deny_in_region(session, operation, region):
    """Make a CloudTrail operation fail with AccessDenied in one region only."""

    def respond(context, **_):
        if context.get("client_region") != region:
            return None
        response = AWSResponse("https://127.0.0.1", 403, {}, None)
        parsed = {
            "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        return response, parsed

    session.events.register(f"before-call.cloudtrail.{operation}", respond)


def by_trail(findings):
    """Index findings by the trail name at the end of their resource ARN."""
    return {f.resource_id.rsplit("/", 1)[-1]: f for f in findings}


# aws.cloudtrail.log_file_validation


def test_validation_on_passes(aws, run_checks):
    arn = make_trail(aws, "org-trail", EnableLogFileValidation=True)

    [finding] = run_checks(VALIDATION)

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    assert finding.region == REGION
    assert finding.message == (
        "Trail org-trail has log file integrity validation turned on."
    )
    assert finding.evidence["log_file_validation_enabled"] is True
    assert finding.evidence["s3_bucket"] == BUCKET


def test_validation_off_fails(aws, run_checks):
    arn = make_trail(aws, "org-trail")

    [finding] = run_checks(VALIDATION)

    assert finding.status == Status.FAIL
    assert finding.resource_id == arn
    assert finding.message == (
        "Trail org-trail has log file integrity validation turned off."
    )
    assert finding.evidence["log_file_validation_enabled"] is False


def test_validation_no_trail_not_applicable(run_checks):
    [finding] = run_checks(VALIDATION)

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == ACCOUNT
    assert finding.message == (
        "No CloudTrail trail exists in the account, so there is nothing to evaluate."
    )


def test_validation_describe_denied_is_error(aws, run_checks):
    make_trail(aws, "org-trail")
    deny(aws, "cloudtrail", "DescribeTrails")

    [finding] = run_checks(VALIDATION)

    assert finding.status == Status.ERROR
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"
    assert finding.region == REGION
    assert finding.evidence["error_code"] == "AccessDenied"
    assert finding.evidence["operation"] == "cloudtrail:DescribeTrails"


# aws.cloudtrail.kms_encrypted


def test_kms_key_passes(aws, run_checks):
    key = kms_key(aws)
    arn = make_trail(aws, "org-trail", KmsKeyId=key)

    [finding] = run_checks(KMS)

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    assert (
        finding.message == f"Trail org-trail encrypts its log files with KMS key {key}."
    )
    assert finding.evidence["kms_key_id"] == key


def test_no_kms_key_fails(aws, run_checks):
    make_trail(aws, "org-trail")

    [finding] = run_checks(KMS)

    assert finding.status == Status.FAIL
    assert finding.message == (
        "Trail org-trail does not encrypt its log files with a KMS key."
    )
    assert finding.evidence["kms_key_id"] is None


def test_kms_no_trail_not_applicable(run_checks):
    [finding] = run_checks(KMS)

    assert finding.status == Status.NOT_APPLICABLE


def test_kms_describe_denied_is_error(aws, run_checks):
    deny(aws, "cloudtrail", "DescribeTrails")

    [finding] = run_checks(KMS)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


# aws.cloudtrail.bucket_not_public


def test_private_bucket_passes(aws, run_checks):
    arn = make_trail(aws, "org-trail")

    [finding] = run_checks(BUCKET_CHECK)

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    assert finding.region == REGION
    assert finding.message == (
        f"Trail org-trail delivers its logs to bucket {BUCKET}, which grants no "
        "access to everyone in its bucket policy or ACL."
    )
    assert finding.evidence["bucket_owned_by_account"] is True
    assert finding.evidence["bucket_region"] == REGION
    assert finding.evidence["public"] is False


def test_public_policy_fails(aws, run_checks):
    client = create_bucket(aws)
    make_public(client)
    make_trail(aws, "org-trail")

    [finding] = run_checks(BUCKET_CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"Trail org-trail delivers its logs to bucket {BUCKET}, whose bucket "
        "policy gives everyone access."
    )
    assert finding.evidence["public_policy_statements"] == [
        {"sid": "LogViewer", "actions": ["s3:GetObject"]}
    ]
    assert finding.evidence["public"] is True


def test_public_acl_fails(aws, run_checks):
    client = create_bucket(aws, ObjectOwnership="ObjectWriter")
    client.put_bucket_acl(Bucket=BUCKET, ACL="public-read")
    make_trail(aws, "org-trail")

    [finding] = run_checks(BUCKET_CHECK)

    assert finding.status == Status.FAIL
    assert finding.message.endswith("whose ACL gives everyone access.")
    assert finding.evidence["public_acl_grants"] == [
        {"grantee": "AllUsers", "permission": "READ"}
    ]


def test_public_policy_and_acl_fail(aws, run_checks):
    client = create_bucket(aws, ObjectOwnership="ObjectWriter")
    client.put_bucket_acl(Bucket=BUCKET, ACL="public-read")
    make_public(client)
    make_trail(aws, "org-trail")

    [finding] = run_checks(BUCKET_CHECK)

    assert finding.status == Status.FAIL
    assert finding.message.endswith("whose bucket policy and ACL give everyone access.")


def test_bucket_block_neutralises_policy(aws, run_checks):
    client = create_bucket(aws)
    make_public(client)
    client.put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration={"RestrictPublicBuckets": True},
    )
    make_trail(aws, "org-trail")

    [finding] = run_checks(BUCKET_CHECK)

    assert finding.status == Status.PASS
    assert finding.message == (
        f"Trail org-trail delivers its logs to bucket {BUCKET}, where Block "
        "Public Access neutralises the public bucket policy."
    )
    assert finding.evidence["policy_neutralised_by"] == {
        "setting": "RestrictPublicBuckets",
        "level": "bucket",
    }


def test_account_block_neutralises_policy(aws, run_checks):
    client = create_bucket(aws)
    make_public(client)
    aws.client("s3control").put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={"RestrictPublicBuckets": True},
    )
    make_trail(aws, "org-trail")

    [finding] = run_checks(BUCKET_CHECK)

    assert finding.status == Status.PASS
    assert finding.evidence["policy_neutralised_by"] == {
        "setting": "RestrictPublicBuckets",
        "level": "account",
    }
    assert finding.evidence["account_public_access_block"]["RestrictPublicBuckets"]


def test_block_acls_only_still_fails(aws, run_checks):
    # IgnorePublicAcls does nothing to a public bucket policy.
    client = create_bucket(aws)
    make_public(client)
    client.put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
        },
    )
    make_trail(aws, "org-trail")

    [finding] = run_checks(BUCKET_CHECK)

    assert finding.status == Status.FAIL
    assert finding.evidence["policy_neutralised_by"] is None


def test_other_account_bucket_denied_is_error(aws, run_checks):
    # A trail in eu-west-1 whose bucket belongs to another account that does
    # not let this account read it. The own-bucket trail is still judged.
    create_bucket(other_account(aws), "log-archive-trails")
    arn = make_trail(
        aws,
        "org-trail",
        bucket="log-archive-trails",
        region="eu-west-1",
        IsMultiRegionTrail=True,
    )
    make_trail(aws, "local-trail")
    deny_bucket(aws, "GetBucketLocation", "log-archive-trails")

    findings = by_trail(run_checks(BUCKET_CHECK))

    denied = findings["org-trail"]
    assert denied.status == Status.ERROR
    assert denied.resource_id == arn
    assert denied.region == "eu-west-1"
    assert denied.evidence["error_code"] == "AccessDenied"
    assert denied.evidence["operation"] == "s3:GetBucketLocation"
    assert findings["local-trail"].status == Status.PASS


def test_other_account_block_not_counted(aws, run_checks):
    # This account's account-level setting does not protect a bucket that
    # another account owns, so it cannot neutralise that bucket's policy.
    archive = create_bucket(other_account(aws), "log-archive-trails")
    make_public(archive, "log-archive-trails")
    aws.client("s3control").put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={"RestrictPublicBuckets": True},
    )
    make_trail(aws, "org-trail", bucket="log-archive-trails")

    [finding] = run_checks(BUCKET_CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == (
        "Trail org-trail delivers its logs to bucket log-archive-trails in "
        "another account, whose bucket policy gives everyone access."
    )
    assert finding.evidence["bucket_owned_by_account"] is False
    assert finding.evidence["policy_neutralised_by"] is None
    assert "account_public_access_block" not in finding.evidence


def test_other_account_bucket_block_counts(aws, run_checks):
    archive = create_bucket(other_account(aws), "log-archive-trails")
    make_public(archive, "log-archive-trails")
    archive.put_public_access_block(
        Bucket="log-archive-trails",
        PublicAccessBlockConfiguration={"RestrictPublicBuckets": True},
    )
    make_trail(aws, "org-trail", bucket="log-archive-trails")

    [finding] = run_checks(BUCKET_CHECK)

    assert finding.status == Status.PASS
    assert finding.evidence["policy_neutralised_by"]["level"] == "bucket"


def test_bucket_policy_denied_is_error(aws, run_checks):
    arn = make_trail(aws, "org-trail")
    deny(aws, "s3", "GetBucketPolicy")

    [finding] = run_checks(BUCKET_CHECK)

    assert finding.status == Status.ERROR
    assert finding.resource_id == arn
    assert finding.region == REGION
    assert finding.evidence["operation"] == "s3:GetBucketPolicy"


def test_bucket_listing_denied_is_error(aws, run_checks):
    arn = make_trail(aws, "org-trail")
    deny(aws, "s3", "ListBuckets")

    [finding] = run_checks(BUCKET_CHECK)

    assert finding.status == Status.ERROR
    assert finding.resource_id == arn
    assert finding.evidence["operation"] == "s3:ListBuckets"


def test_bucket_no_trail_not_applicable(run_checks):
    [finding] = run_checks(BUCKET_CHECK)

    assert finding.status == Status.NOT_APPLICABLE


# All three checks together


def test_trails_of_every_collected_region(aws, run_checks):
    make_trail(aws, "org-trail", IsMultiRegionTrail=True)
    dublin = make_trail(aws, "dublin-only", region="eu-west-1")

    findings = run_checks(VALIDATION, regions=(REGION, "eu-west-1"))

    # The multi-region trail is listed in both regions but judged once.
    assert sorted(f.evidence["trail_name"] for f in findings) == [
        "dublin-only",
        "org-trail",
    ]
    dublin_finding = by_trail(findings)["dublin-only"]
    assert dublin_finding.resource_id == dublin
    assert dublin_finding.region == "eu-west-1"


def test_trail_homed_elsewhere_keeps_region(aws, run_checks):
    arn = make_trail(aws, "org-trail", region="eu-west-1", IsMultiRegionTrail=True)

    [finding] = run_checks(KMS)

    assert finding.resource_id == arn
    assert finding.region == "eu-west-1"
    assert finding.evidence["home_region"] == "eu-west-1"


def test_one_region_denied_others_judged(aws, run_checks):
    make_trail(aws, "org-trail")
    deny_in_region(aws, "DescribeTrails", "eu-west-1")

    findings = run_checks(VALIDATION, regions=(REGION, "eu-west-1"))

    statuses = {(f.region, f.status) for f in findings}
    assert statuses == {(REGION, Status.FAIL), ("eu-west-1", Status.ERROR)}


def test_describe_trails_shared(aws, settings):
    make_trail(aws, "org-trail", IsMultiRegionTrail=True)
    registry = load_checks()
    check_ids = ("aws.cloudtrail.multi_region_logging", *TRAIL_CHECKS)
    specs = [registry[check_id] for check_id in check_ids]
    collector = Collector(settings, specs, session=aws, regions=(REGION,))

    result = collector.run()

    assert result.api_calls["cloudtrail:DescribeTrails"] == 1
    assert len(result.findings) == 4


# The demo seed


def test_demo_production_trail_passes(aws, run_checks):
    seed_monitoring.seed(aws, ACCOUNT, "production")

    findings = run_checks(*TRAIL_CHECKS)

    verdicts = {(f.check_id, f.evidence["trail_name"]): f.status for f in findings}
    assert verdicts == {
        (VALIDATION, "organisation-audit"): Status.PASS,
        (KMS, "organisation-audit"): Status.PASS,
        (BUCKET_CHECK, "organisation-audit"): Status.PASS,
    }


def test_demo_sandbox_trails_fail(aws, run_checks):
    seed_monitoring.seed(aws, ACCOUNT, "sandbox")

    findings = run_checks(*TRAIL_CHECKS)

    verdicts = {(f.check_id, f.evidence["trail_name"]): f.status for f in findings}
    assert verdicts == {
        (VALIDATION, "sandbox-regional"): Status.FAIL,
        (VALIDATION, "sandbox-all-regions"): Status.PASS,
        (KMS, "sandbox-regional"): Status.FAIL,
        (KMS, "sandbox-all-regions"): Status.FAIL,
        (BUCKET_CHECK, "sandbox-regional"): Status.FAIL,
        (BUCKET_CHECK, "sandbox-all-regions"): Status.FAIL,
    }
    bucket_finding = next(f for f in findings if f.check_id == BUCKET_CHECK)
    assert "whose bucket policy gives everyone access" in bucket_finding.message
