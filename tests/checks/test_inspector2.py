"""Tests of the Amazon Inspector check.

moto 5.2 implements Enable and BatchGetAccountStatus, but it returns no entry
for an account that never enabled Inspector, and it never fills
``failedAccounts``. The tests of a DISABLED account and of a failed account
stub BatchGetAccountStatus with a botocore ``Stubber`` and responses shaped as
the Inspector API reference documents them.

The check gives one finding per region whatever Inspector's state, so it has
no NOT_APPLICABLE case: an account without Inspector fails.
"""

from __future__ import annotations

import pytest
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.models import Status
from tests.conftest import REGION, deny

CHECK = "aws.inspector2.enabled"


def enable(aws, *resource_types: str) -> None:
    aws.client("inspector2").enable(
        accountIds=[ACCOUNT], resourceTypes=list(resource_types)
    )


@pytest.fixture
def stub_status(aws, monkeypatch: pytest.MonkeyPatch):
    """Return a function that sets the BatchGetAccountStatus response."""
    responses: list[dict] = []
    create_client = aws.client

    def client(service_name: str, *args, **kwargs):
        created = create_client(service_name, *args, **kwargs)
        if service_name == "inspector2":
            stubber = Stubber(created)
            stubber.add_response("batch_get_account_status", responses[0])
            stubber.activate()
        return created

    monkeypatch.setattr(aws, "client", client)
    return responses.append


def state(status: str) -> dict:
    # The service model requires errorCode and errorMessage in every State, so
    # the Stubber rejects a State without them. The check reads only status.
    return {
        "status": status,
        "errorCode": "RESOURCE_NOT_FOUND",
        "errorMessage": "Amazon Inspector is not enabled for this resource type",
    }


def test_all_scan_types_enabled_passes(aws, run_checks):
    enable(aws, "EC2", "ECR", "LAMBDA")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.region == REGION
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"
    assert finding.evidence["scan_types"] == {
        "ec2": "ENABLED",
        "ecr": "ENABLED",
        "lambda": "ENABLED",
    }


def test_lambda_scanning_off_fails(aws, run_checks):
    enable(aws, "EC2", "ECR")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert "does not scan Lambda" in finding.message
    assert finding.evidence["scan_types"]["lambda"] == "DISABLED"


def test_never_enabled_fails(run_checks):
    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert "returns no status" in finding.message


def test_disabled_account_fails(stub_status, run_checks):
    stub_status(
        {
            "accounts": [
                {
                    "accountId": ACCOUNT,
                    "state": state("DISABLED"),
                    "resourceState": {
                        "ec2": state("DISABLED"),
                        "ecr": state("DISABLED"),
                        "lambda": state("DISABLED"),
                    },
                }
            ],
            "failedAccounts": [],
        }
    )

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert "does not scan EC2, ECR, Lambda" in finding.message
    assert finding.evidence["account_status"] == "DISABLED"


def test_failed_account_is_error(stub_status, run_checks):
    stub_status(
        {
            "accounts": [],
            "failedAccounts": [
                {
                    "accountId": ACCOUNT,
                    "errorCode": "ACCESS_DENIED",
                    "errorMessage": "The account is not a member of the organization",
                }
            ],
        }
    )

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "ACCESS_DENIED"


def test_access_denied_is_error(aws, run_checks):
    deny(aws, "inspector2", "BatchGetAccountStatus", code="AccessDeniedException")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDeniedException"
