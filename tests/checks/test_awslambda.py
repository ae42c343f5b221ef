from __future__ import annotations

import io
import json
import zipfile

import pytest
from botocore.stub import Stubber

from auditbook.models import Status
from tests.conftest import REGION, deny

CHECK = "aws.lambda.no_plaintext_secrets"

# A fake Stripe secret key: the documented prefix and no meaning anywhere.
FAKE_STRIPE_KEY = "sk_live_" + "51FakeKeyForTestsOnly0000"
SECRET_ARN = (
    f"arn:aws:secretsmanager:{REGION}:123456789012:secret:payments/stripe-AbCdEf"
)


def handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@pytest.fixture
def create_function(aws):
    """Return a function that creates a Lambda function with given variables."""
    role_arn = aws.client("iam").create_role(
        RoleName="lambda-execution",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]

    def create(name: str, variables: dict[str, str] | None = None) -> str:
        settings = {}
        if variables is not None:
            settings["Environment"] = {"Variables": variables}
        response = aws.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role_arn,
            Handler="handler.handler",
            Code={"ZipFile": handler_zip()},
            **settings,
        )
        return response["FunctionArn"]

    return create


def test_plaintext_stripe_key_fails(create_function, run_checks):
    arn = create_function(
        "payments-webhook",
        {"STRIPE_API_KEY": FAKE_STRIPE_KEY, "LOG_LEVEL": "INFO"},
    )

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.resource_id == arn
    assert finding.evidence["suspected_secrets"] == [
        {"variable": "STRIPE_API_KEY", "rule": "value:stripe-key"}
    ]
    assert finding.evidence["variable_names"] == ["LOG_LEVEL", "STRIPE_API_KEY"]
    assert "STRIPE_API_KEY" in finding.message


def test_evidence_never_contains_values(create_function, run_checks):
    create_function("payments-webhook", {"STRIPE_API_KEY": FAKE_STRIPE_KEY})

    [finding] = run_checks(CHECK)

    text = json.dumps(finding.to_dict())
    assert FAKE_STRIPE_KEY not in text
    assert "sk_live" not in text


def test_secret_reference_passes(create_function, run_checks):
    create_function(
        "statement-renderer",
        {"STRIPE_SECRET_ARN": SECRET_ARN, "BUCKET": "statements"},
    )

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.evidence["suspected_secrets"] == []


def test_no_environment_passes(create_function, run_checks):
    create_function("thumbnailer")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert "no environment variables" in finding.message


def test_one_finding_per_function(create_function, run_checks):
    create_function("payments-webhook", {"DB_PASSWORD": "fake-password"})
    create_function("statement-renderer", {"BUCKET": "statements"})

    findings = run_checks(CHECK)

    by_name = {f.evidence["function"]: f.status for f in findings}
    assert by_name == {
        "payments-webhook": Status.FAIL,
        "statement-renderer": Status.PASS,
    }


def test_no_function_is_not_applicable(run_checks):
    [finding] = run_checks(CHECK)

    assert finding.status == Status.NOT_APPLICABLE


def test_listing_denied_is_error(aws, create_function, run_checks):
    create_function("payments-webhook", {"DB_PASSWORD": "fake-password"})
    deny(aws, "lambda", "ListFunctions")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_undecryptable_environment_is_error(aws, monkeypatch, run_checks):
    # moto never withholds variables, so this test stubs ListFunctions with the
    # shape the Lambda API reference documents when reading the variables
    # fails: Environment.Error in place of Environment.Variables.
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:ledger-export"
    response = {
        "Functions": [
            {
                "FunctionName": "ledger-export",
                "FunctionArn": arn,
                "Environment": {
                    "Error": {
                        "ErrorCode": "AccessDeniedException",
                        "Message": "Lambda was unable to decrypt the environment "
                        "variables because KMS access was denied.",
                    }
                },
            }
        ]
    }
    create_client = aws.client

    def client(service_name: str, *args, **kwargs):
        created = create_client(service_name, *args, **kwargs)
        if service_name == "lambda":
            stubber = Stubber(created)
            stubber.add_response("list_functions", response)
            stubber.activate()
        return created

    monkeypatch.setattr(aws, "client", client)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.resource_id == arn
    assert finding.evidence["error_code"] == "AccessDeniedException"
