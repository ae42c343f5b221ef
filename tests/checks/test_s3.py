"""Tests of the S3 bucket and account checks."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import boto3
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.server import ThreadedMotoServer

from auditbook.checks.context import route_s3control_to_ip_endpoint
from auditbook.checks.registry import load_checks
from auditbook.collect import Collector
from auditbook.models import Status
from tests.conftest import REGION, StubbedSession, deny

ALL_ON = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def create_bucket(aws, name: str, region: str = REGION, **kwargs):
    """Create a bucket in a region and return an S3 client of that region."""
    client = aws.client("s3", region_name=region)
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    client.create_bucket(Bucket=name, **kwargs)
    return client


def set_encryption(client, bucket: str, algorithm: str, key_id: str | None = None):
    default = {"SSEAlgorithm": algorithm}
    if key_id:
        default["KMSMasterKeyID"] = key_id
    client.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default}]
        },
    )


def tag(client, bucket: str, **tags: str) -> None:
    client.put_bucket_tagging(
        Bucket=bucket,
        Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
    )


def put_policy(client, bucket: str, *statements: dict) -> None:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))


def public_read(bucket: str, sid: str = "PublicRead", **extra) -> dict:
    """Return a statement that lets everyone read the bucket's objects."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        **extra,
    }


def block_account(aws, **settings: bool) -> None:
    aws.client("s3control").put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={**dict.fromkeys(ALL_ON, False), **settings},
    )


def deny_bucket(session, operation: str, bucket: str) -> None:
    """Make an S3 operation fail with AccessDenied for one bucket only."""

    def respond(context: dict, **_: object):
        if context.get("input_params", {}).get("Bucket") != bucket:
            return None
        response = AWSResponse("https://127.0.0.1", 403, {}, None)
        parsed = {
            "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        return response, parsed

    session.events.register(f"before-call.s3.{operation}", respond)


# aws.s3.default_encryption


def test_default_encryption_sse_s3_passes(aws, run_checks):
    client = create_bucket(aws, "northwind-web-assets")
    set_encryption(client, "northwind-web-assets", "AES256")

    [finding] = run_checks("aws.s3.default_encryption")

    assert finding.status == Status.PASS
    assert finding.resource_id == "arn:aws:s3:::northwind-web-assets"
    assert finding.region == REGION
    assert "SSE-S3" in finding.message
    assert finding.evidence["sse_algorithm"] == "AES256"


def test_default_encryption_sse_kms_passes(aws, run_checks):
    key_arn = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    client = create_bucket(aws, "northwind-statements")
    set_encryption(client, "northwind-statements", "aws:kms", key_arn)

    [finding] = run_checks("aws.s3.default_encryption")

    assert finding.status == Status.PASS
    assert "SSE-KMS" in finding.message
    assert finding.evidence["kms_master_key_id"] == key_arn


def test_default_encryption_missing_fails(aws, run_checks):
    # S3 returns ServerSideEncryptionConfigurationNotFoundError, which is a
    # verdict about the bucket, not a failed call.
    create_bucket(aws, "northwind-legacy-reports")

    [finding] = run_checks("aws.s3.default_encryption")

    assert finding.status == Status.FAIL
    assert "no default encryption" in finding.message
    assert finding.evidence["sse_algorithm"] is None


def test_default_encryption_no_bucket_not_applicable(run_checks):
    [finding] = run_checks("aws.s3.default_encryption")

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == ACCOUNT
    assert finding.region == "global"


def test_default_encryption_list_denied_is_error(aws, run_checks):
    create_bucket(aws, "northwind-web-assets")
    deny(aws, "s3", "ListBuckets")

    [finding] = run_checks("aws.s3.default_encryption")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"
    assert finding.evidence["operation"] == "s3:ListBuckets"


def test_default_encryption_one_bucket_denied(aws, run_checks):
    client = create_bucket(aws, "northwind-web-assets", region="eu-west-1")
    set_encryption(client, "northwind-web-assets", "AES256")
    client = create_bucket(aws, "northwind-locked")
    deny_bucket(aws, "GetBucketEncryption", "northwind-locked")

    findings = run_checks("aws.s3.default_encryption")

    by_bucket = {f.resource_id: f for f in findings}
    locked = by_bucket["arn:aws:s3:::northwind-locked"]
    assert locked.status == Status.ERROR
    assert locked.region == REGION
    assert locked.evidence["operation"] == "s3:GetBucketEncryption"
    assert by_bucket["arn:aws:s3:::northwind-web-assets"].status == Status.PASS


def test_bucket_region_from_location(aws, run_checks):
    for name, region in (
        ("northwind-us-archive", "us-east-1"),
        ("northwind-dublin", "eu-west-1"),
    ):
        client = create_bucket(aws, name, region=region)
        set_encryption(client, name, "AES256")

    findings = run_checks("aws.s3.default_encryption")

    regions = {f.resource_id: f.region for f in findings}
    assert regions == {
        "arn:aws:s3:::northwind-us-archive": "us-east-1",
        "arn:aws:s3:::northwind-dublin": "eu-west-1",
    }


def test_bucket_region_legacy_eu(aws, run_checks):
    # GetBucketLocation reports "EU" for buckets created with the legacy
    # constraint, which S3 accepts only through the us-east-1 endpoint.
    client = aws.client("s3", region_name="us-east-1")
    client.create_bucket(
        Bucket="northwind-old-eu",
        CreateBucketConfiguration={"LocationConstraint": "EU"},
    )
    set_encryption(client, "northwind-old-eu", "AES256")

    [finding] = run_checks("aws.s3.default_encryption")

    assert finding.region == "eu-west-1"


def test_bucket_region_from_listing(aws, run_checks):
    # AWS's ListBuckets names each bucket's region in BucketRegion, which
    # moto 5.2 leaves out, so a Stubber returns ListBuckets in the home
    # region, checked against botocore's S3 model. The stub contains no
    # GetBucketLocation response, so calling it would fail the check.
    client = create_bucket(aws, "northwind-dublin", region="eu-west-1")
    set_encryption(client, "northwind-dublin", "AES256")
    home = aws.client("s3", region_name=REGION)
    stubber = Stubber(home)
    stubber.add_response(
        "list_buckets",
        {
            "Buckets": [
                {
                    "Name": "northwind-dublin",
                    "CreationDate": datetime(2024, 5, 1, tzinfo=UTC),
                    "BucketRegion": "eu-west-1",
                }
            ],
            "Owner": {"ID": "owner-id"},
        },
    )

    with stubber:
        [finding] = run_checks(
            "aws.s3.default_encryption",
            session=StubbedSession(aws, {("s3", REGION): home}),
        )

    assert finding.status == Status.PASS
    assert finding.region == "eu-west-1"
    stubber.assert_no_pending_responses()


def test_listing_calls_shared(aws, settings):
    for name in ("northwind-web-assets", "northwind-statements"):
        create_bucket(aws, name)
    registry = load_checks()
    specs = [
        registry[check_id]
        for check_id in (
            "aws.s3.default_encryption",
            "aws.s3.kms_encryption",
            "aws.s3.bucket_not_public",
        )
    ]

    result = Collector(settings, specs, session=aws, regions=(REGION,)).run()

    assert result.api_calls["s3:ListBuckets"] == 1
    assert result.api_calls["s3:GetBucketLocation"] == 2
    assert result.api_calls["s3:GetBucketEncryption"] == 2


# aws.s3.kms_encryption


def test_kms_encryption_sensitive_kms_passes(aws, run_checks):
    key_arn = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    client = create_bucket(aws, "northwind-payments-statements")
    tag(
        client,
        "northwind-payments-statements",
        **{"data-classification": "confidential"},
    )
    set_encryption(client, "northwind-payments-statements", "aws:kms", key_arn)

    [finding] = run_checks("aws.s3.kms_encryption")

    assert finding.status == Status.PASS
    assert finding.resource_id == "arn:aws:s3:::northwind-payments-statements"
    assert finding.evidence["classification_tag"] == {
        "data-classification": "confidential"
    }
    assert finding.evidence["kms_master_key_id"] == key_arn


def test_kms_encryption_sensitive_sse_s3_fails(aws, run_checks):
    client = create_bucket(aws, "northwind-customer-exports")
    tag(client, "northwind-customer-exports", **{"data-classification": "restricted"})
    set_encryption(client, "northwind-customer-exports", "AES256")

    [finding] = run_checks("aws.s3.kms_encryption")

    assert finding.status == Status.FAIL
    assert "SSE-S3, not SSE-KMS" in finding.message
    assert finding.evidence["sse_algorithm"] == "AES256"


def test_kms_encryption_sensitive_unencrypted_fails(aws, run_checks):
    client = create_bucket(aws, "northwind-customer-exports")
    tag(client, "northwind-customer-exports", **{"data-classification": "restricted"})

    [finding] = run_checks("aws.s3.kms_encryption")

    assert finding.status == Status.FAIL
    assert "no default encryption" in finding.message


def test_kms_encryption_tag_value_ignores_case(aws, run_checks):
    client = create_bucket(aws, "northwind-hr-records")
    tag(client, "northwind-hr-records", **{"data-classification": "Confidential"})

    [finding] = run_checks("aws.s3.kms_encryption")

    assert finding.status == Status.FAIL
    assert "data-classification=Confidential" in finding.message


def test_kms_encryption_untagged_not_applicable(aws, run_checks):
    create_bucket(aws, "northwind-web-assets")
    client = create_bucket(aws, "northwind-press-kit")
    tag(client, "northwind-press-kit", **{"data-classification": "public"})

    [finding] = run_checks("aws.s3.kms_encryption")

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == ACCOUNT


def test_kms_encryption_configured_tag(aws, run_checks, settings):
    client = create_bucket(aws, "northwind-analytics")
    tag(client, "northwind-analytics", classification="pii")
    custom = replace(
        settings,
        sensitive_bucket_tag_key="classification",
        sensitive_bucket_tag_values=("pii",),
    )

    [finding] = run_checks("aws.s3.kms_encryption", settings=custom)

    assert finding.status == Status.FAIL
    assert finding.evidence["classification_tag"] == {"classification": "pii"}


def test_kms_encryption_tagging_denied_is_error(aws, run_checks):
    create_bucket(aws, "northwind-payments-statements")
    deny(aws, "s3", "GetBucketTagging")

    [finding] = run_checks("aws.s3.kms_encryption")

    assert finding.status == Status.ERROR
    assert finding.resource_id == "arn:aws:s3:::northwind-payments-statements"
    assert finding.region == REGION
    assert finding.evidence["error_code"] == "AccessDenied"


# aws.s3.account_public_access_block


def test_account_block_missing_fails(run_checks):
    [finding] = run_checks("aws.s3.account_public_access_block")

    assert finding.status == Status.FAIL
    assert finding.resource_id == ACCOUNT
    assert finding.region == "global"
    assert "no account-level" in finding.message
    assert finding.evidence["configured"] is False


def test_account_block_all_on_passes(aws, run_checks):
    block_account(aws, **ALL_ON)

    [finding] = run_checks("aws.s3.account_public_access_block")

    assert finding.status == Status.PASS
    assert finding.evidence == {"configured": True, **ALL_ON}


def test_account_block_partial_fails(aws, run_checks):
    block_account(aws, BlockPublicAcls=True, IgnorePublicAcls=True)

    [finding] = run_checks("aws.s3.account_public_access_block")

    assert finding.status == Status.FAIL
    assert "BlockPublicPolicy, RestrictPublicBuckets turned off" in finding.message
    assert finding.evidence["BlockPublicPolicy"] is False
    assert finding.evidence["IgnorePublicAcls"] is True


def test_account_block_denied_is_error(aws, run_checks):
    deny(aws, "s3-control", "GetPublicAccessBlock")

    [finding] = run_checks("aws.s3.account_public_access_block")

    assert finding.status == Status.ERROR
    assert finding.evidence["operation"] == "s3control:GetPublicAccessBlock"


# aws.s3.bucket_not_public


def test_private_bucket_passes(aws, run_checks):
    create_bucket(aws, "northwind-payments-statements")

    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.PASS
    assert "grants no access to everyone" in finding.message
    assert finding.evidence["public_policy_statements"] == []
    assert finding.evidence["public_acl_grants"] == []


def test_public_policy_fails(aws, run_checks):
    client = create_bucket(aws, "northwind-web-assets")
    put_policy(client, "northwind-web-assets", public_read("northwind-web-assets"))

    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.FAIL
    assert finding.resource_id == "arn:aws:s3:::northwind-web-assets"
    assert "bucket policy allows everyone in statement 'PublicRead'" in finding.message
    assert finding.evidence["public_policy_statements"] == [
        {"sid": "PublicRead", "actions": ["s3:GetObject"]}
    ]
    assert finding.evidence["policy_neutralised_by"] is None


def test_public_aws_principal_fails(aws, run_checks):
    client = create_bucket(aws, "northwind-web-assets")
    statement = public_read("northwind-web-assets", Principal={"AWS": ["*"]})
    put_policy(client, "northwind-web-assets", statement)

    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.FAIL


def test_policy_limited_to_endpoint_passes(aws, run_checks):
    client = create_bucket(aws, "northwind-internal-docs")
    condition = {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f67890"}}
    statement = public_read("northwind-internal-docs", Condition=condition)
    put_policy(client, "northwind-internal-docs", statement)

    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.PASS
    assert finding.evidence["has_bucket_policy"] is True


def test_policy_open_to_any_address_fails(aws, run_checks):
    client = create_bucket(aws, "northwind-web-assets")
    condition = {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}
    statement = public_read("northwind-web-assets", Condition=condition)
    put_policy(client, "northwind-web-assets", statement)

    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.FAIL


def test_public_acl_fails(aws, run_checks):
    client = create_bucket(aws, "northwind-press-kit", ObjectOwnership="ObjectWriter")
    client.put_bucket_acl(Bucket="northwind-press-kit", ACL="public-read")

    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.FAIL
    assert "ACL grants READ to AllUsers" in finding.message
    assert finding.evidence["public_acl_grants"] == [
        {"grantee": "AllUsers", "permission": "READ"}
    ]


def test_authenticated_users_acl_fails(aws, run_checks):
    client = create_bucket(
        aws, "northwind-partner-drop", ObjectOwnership="ObjectWriter"
    )
    client.put_bucket_acl(Bucket="northwind-partner-drop", ACL="authenticated-read")

    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.FAIL
    assert finding.evidence["public_acl_grants"] == [
        {"grantee": "AuthenticatedUsers", "permission": "READ"}
    ]


def test_account_block_neutralises_policy(aws, run_checks):
    client = create_bucket(aws, "northwind-web-assets")
    put_policy(client, "northwind-web-assets", public_read("northwind-web-assets"))
    block_account(aws, RestrictPublicBuckets=True)

    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.PASS
    assert "RestrictPublicBuckets at account level" in finding.message
    assert finding.evidence["policy_neutralised_by"] == {
        "setting": "RestrictPublicBuckets",
        "level": "account",
    }
    assert finding.evidence["account_public_access_block"]["RestrictPublicBuckets"]


def test_bucket_block_neutralises_acl(aws, run_checks):
    client = create_bucket(aws, "northwind-press-kit", ObjectOwnership="ObjectWriter")
    client.put_bucket_acl(Bucket="northwind-press-kit", ACL="public-read")
    client.put_public_access_block(
        Bucket="northwind-press-kit",
        PublicAccessBlockConfiguration={"IgnorePublicAcls": True},
    )

    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.PASS
    assert finding.evidence["acl_neutralised_by"] == {
        "setting": "IgnorePublicAcls",
        "level": "bucket",
    }
    # The bucket's own setting decided, so the account's was not needed.
    assert "account_public_access_block" not in finding.evidence


def test_wrong_block_setting_still_fails(aws, run_checks):
    # IgnorePublicAcls does nothing to a public bucket policy.
    client = create_bucket(aws, "northwind-web-assets")
    put_policy(client, "northwind-web-assets", public_read("northwind-web-assets"))
    client.put_public_access_block(
        Bucket="northwind-web-assets",
        PublicAccessBlockConfiguration={"IgnorePublicAcls": True},
    )

    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.FAIL
    assert finding.evidence["bucket_public_access_block"]["IgnorePublicAcls"] is True


def test_no_bucket_not_public_not_applicable(run_checks):
    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.NOT_APPLICABLE


def test_policy_denied_is_error_per_bucket(aws, run_checks):
    create_bucket(aws, "northwind-web-assets")
    create_bucket(aws, "northwind-dublin", region="eu-west-1")
    deny_bucket(aws, "GetBucketPolicy", "northwind-dublin")

    findings = run_checks("aws.s3.bucket_not_public")

    by_bucket = {f.resource_id: f for f in findings}
    denied = by_bucket["arn:aws:s3:::northwind-dublin"]
    assert denied.status == Status.ERROR
    assert denied.region == "eu-west-1"
    assert denied.evidence["error_code"] == "AccessDenied"
    assert by_bucket["arn:aws:s3:::northwind-web-assets"].status == Status.PASS


def test_account_block_needed_but_denied(aws, run_checks):
    client = create_bucket(aws, "northwind-web-assets")
    put_policy(client, "northwind-web-assets", public_read("northwind-web-assets"))
    deny(aws, "s3-control", "GetPublicAccessBlock")

    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.ERROR
    assert finding.resource_id == "arn:aws:s3:::northwind-web-assets"
    assert finding.evidence["operation"] == "s3control:GetPublicAccessBlock"


def test_account_block_not_needed_when_private(aws, run_checks):
    create_bucket(aws, "northwind-payments-statements")
    deny(aws, "s3-control", "GetPublicAccessBlock")

    [finding] = run_checks("aws.s3.bucket_not_public")

    assert finding.status == Status.PASS


def test_account_block_through_moto_server(monkeypatch, settings):
    # botocore sends S3 Control calls to "<account>.<endpoint host>", which
    # for a server on 127.0.0.1 is a name that does not resolve. The check
    # reaches the server only because the context drops that prefix.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        session = boto3.Session(region_name=REGION)
        control = session.client("s3control")
        route_s3control_to_ip_endpoint(control)
        control.put_public_access_block(
            AccountId=ACCOUNT, PublicAccessBlockConfiguration=ALL_ON
        )
        spec = load_checks()["aws.s3.account_public_access_block"]

        result = Collector(settings, [spec], session=session, regions=(REGION,)).run()
    finally:
        server.stop()

    [finding] = result.findings
    assert finding.status == Status.PASS
    assert finding.evidence == {"configured": True, **ALL_ON}
