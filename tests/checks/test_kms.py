"""Tests of aws.kms.cmk_rotation_enabled."""

from __future__ import annotations

from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.models import Status
from tests.conftest import REGION, StubbedSession, deny


def test_rotation_enabled_passes(aws, run_checks):
    kms = aws.client("kms")
    key = kms.create_key(Description="northwind-rds", KeyUsage="ENCRYPT_DECRYPT")[
        "KeyMetadata"
    ]
    kms.enable_key_rotation(KeyId=key["KeyId"])

    [finding] = run_checks("aws.kms.cmk_rotation_enabled")

    assert finding.status == Status.PASS
    assert finding.resource_id == key["Arn"]
    assert finding.region == REGION
    assert finding.evidence["rotation_enabled"] is True
    assert finding.evidence["key_spec"] == "SYMMETRIC_DEFAULT"
    assert finding.evidence["key_usage"] == "ENCRYPT_DECRYPT"
    assert finding.evidence["key_manager"] == "CUSTOMER"


def test_rotation_disabled_fails(aws, run_checks):
    # Without KeyUsage, moto 5.2 leaves the field out of DescribeKey, where
    # AWS reports its default, ENCRYPT_DECRYPT. The key is judged either way.
    key = aws.client("kms").create_key(Description="northwind-dynamodb")["KeyMetadata"]

    [finding] = run_checks("aws.kms.cmk_rotation_enabled")

    assert finding.status == Status.FAIL
    assert f"KMS key {key['KeyId']} has automatic rotation disabled" in finding.message
    assert finding.evidence["rotation_enabled"] is False


def test_keys_without_rotation_not_judged(aws, run_checks):
    kms = aws.client("kms")
    kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    kms.create_key(Origin="EXTERNAL")
    disabled = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=disabled)
    retired = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=retired, PendingWindowInDays=7)

    [finding] = run_checks("aws.kms.cmk_rotation_enabled")

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"


def test_aws_managed_key_not_judged(aws, run_checks):
    # moto 5.2 reports every key as KeyManager CUSTOMER, so a Stubber returns
    # ListKeys and DescribeKey, checked against botocore's KMS model. The
    # stub contains no GetKeyRotationStatus response, so judging the key
    # would fail the check.
    key_id = "0987dcba-09fe-87dc-65ba-ab0987654321"
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
    kms = aws.client("kms", region_name=REGION)
    stubber = Stubber(kms)
    stubber.add_response(
        "list_keys",
        {"Keys": [{"KeyId": key_id, "KeyArn": key_arn}], "Truncated": False},
    )
    stubber.add_response(
        "describe_key",
        {
            "KeyMetadata": {
                "AWSAccountId": ACCOUNT,
                "KeyId": key_id,
                "Arn": key_arn,
                "Enabled": True,
                "KeyUsage": "ENCRYPT_DECRYPT",
                "KeyState": "Enabled",
                "Origin": "AWS_KMS",
                "KeyManager": "AWS",
                "KeySpec": "SYMMETRIC_DEFAULT",
                "Description": "Default key that protects my S3 objects",
            }
        },
        expected_params={"KeyId": key_arn},
    )

    with stubber:
        [finding] = run_checks(
            "aws.kms.cmk_rotation_enabled",
            session=StubbedSession(aws, {("kms", REGION): kms}),
        )

    assert finding.status == Status.NOT_APPLICABLE
    stubber.assert_no_pending_responses()


def test_no_key_not_applicable(run_checks):
    [finding] = run_checks("aws.kms.cmk_rotation_enabled")

    assert finding.status == Status.NOT_APPLICABLE


def test_one_finding_per_region(aws, run_checks):
    kms = aws.client("kms", region_name="eu-west-1")
    key = kms.create_key()["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])

    findings = run_checks("aws.kms.cmk_rotation_enabled", regions=("eu-west-1", REGION))

    by_region = {f.region: f.status for f in findings}
    assert by_region == {"eu-west-1": Status.PASS, REGION: Status.NOT_APPLICABLE}


def test_list_keys_denied_is_error(aws, run_checks):
    deny(aws, "kms", "ListKeys")

    [finding] = run_checks("aws.kms.cmk_rotation_enabled")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_rotation_status_denied_is_error_per_key(aws, run_checks):
    key = aws.client("kms").create_key()["KeyMetadata"]
    deny(aws, "kms", "GetKeyRotationStatus")

    [finding] = run_checks("aws.kms.cmk_rotation_enabled")

    assert finding.status == Status.ERROR
    assert finding.resource_id == key["Arn"]
    assert finding.evidence["operation"] == "kms:GetKeyRotationStatus"
