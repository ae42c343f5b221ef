"""Tests of aws.dynamodb.kms_encryption."""

from __future__ import annotations

from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.models import Status
from tests.conftest import REGION, StubbedSession, deny

TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"


def create_table(aws, name: str, region: str = REGION, **kwargs) -> None:
    aws.client("dynamodb", region_name=region).create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        **kwargs,
    )


def test_customer_managed_key_passes(aws, run_checks):
    key_arn = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    create_table(
        aws,
        "northwind-orders",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
    )

    [finding] = run_checks("aws.dynamodb.kms_encryption")

    assert finding.status == Status.PASS
    assert finding.resource_id == f"{TABLE_ARN}northwind-orders"
    assert finding.region == REGION
    assert finding.evidence["sse_type"] == "KMS"
    assert finding.evidence["kms_master_key_arn"] == key_arn


def test_aws_managed_key_passes(aws, run_checks):
    create_table(
        aws, "northwind-orders", SSESpecification={"Enabled": True, "SSEType": "KMS"}
    )

    [finding] = run_checks("aws.dynamodb.kms_encryption")

    assert finding.status == Status.PASS
    assert finding.evidence["sse_status"] == "ENABLED"


def test_default_owned_key_fails(aws, run_checks):
    # moto, like DynamoDB, returns no SSEDescription for the AWS-owned key.
    create_table(aws, "northwind-sessions")

    [finding] = run_checks("aws.dynamodb.kms_encryption")

    assert finding.status == Status.FAIL
    assert "default AWS-owned key" in finding.message
    assert finding.evidence["sse_type"] is None


def test_disabling_kms_fails(aws, run_checks):
    # moto 5.2 never reports a DISABLING status, so a Stubber returns
    # DescribeTable, checked against botocore's DynamoDB model.
    create_table(aws, "northwind-orders")
    client = aws.client("dynamodb", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_response("list_tables", {"TableNames": ["northwind-orders"]})
    stubber.add_response(
        "describe_table",
        {
            "Table": {
                "TableName": "northwind-orders",
                "TableArn": f"{TABLE_ARN}northwind-orders",
                "SSEDescription": {"Status": "DISABLING", "SSEType": "KMS"},
            }
        },
        expected_params={"TableName": "northwind-orders"},
    )

    with stubber:
        [finding] = run_checks(
            "aws.dynamodb.kms_encryption",
            session=StubbedSession(aws, {("dynamodb", REGION): client}),
        )

    assert finding.status == Status.FAIL
    assert "DISABLING" in finding.message


def test_no_table_not_applicable(run_checks):
    [finding] = run_checks("aws.dynamodb.kms_encryption")

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"


def test_tables_in_each_region(aws, run_checks):
    create_table(aws, "northwind-marketing-events", region="us-east-1")

    findings = run_checks("aws.dynamodb.kms_encryption", regions=("us-east-1", REGION))

    by_region = {f.region: f for f in findings}
    assert by_region["us-east-1"].status == Status.FAIL
    assert by_region["us-east-1"].resource_id.startswith("arn:aws:dynamodb:us-east-1:")
    assert by_region[REGION].status == Status.NOT_APPLICABLE


def test_list_tables_denied_is_error(aws, run_checks):
    deny(aws, "dynamodb", "ListTables")

    [finding] = run_checks("aws.dynamodb.kms_encryption")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_describe_denied_is_error_per_table(aws, run_checks):
    create_table(aws, "northwind-orders")
    deny(aws, "dynamodb", "DescribeTable")

    [finding] = run_checks("aws.dynamodb.kms_encryption")

    assert finding.status == Status.ERROR
    assert finding.resource_id == f"{TABLE_ARN}northwind-orders"
    assert finding.evidence["operation"] == "dynamodb:DescribeTable"
