"""Tests of the IAM Access Analyzer check.

moto 5.2 does not implement IAM Access Analyzer: ListAnalyzers returns 404
"Not yet implemented". These tests therefore give the collector a real
botocore client with a ``Stubber`` that returns ListAnalyzers responses shaped
as the API reference documents them. The Stubber rejects any response that
does not match the service model. STS and the collector still run on moto.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.models import Status
from tests.conftest import REGION, deny

CREATED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def analyzer(name: str, type_: str = "ACCOUNT", status: str = "ACTIVE") -> dict:
    return {
        "arn": f"arn:aws:access-analyzer:{REGION}:{ACCOUNT}:analyzer/{name}",
        "name": name,
        "type": type_,
        "createdAt": CREATED,
        "status": status,
    }


@pytest.fixture
def stub_analyzers(aws, monkeypatch: pytest.MonkeyPatch):
    """Return a function that sets the analyzers each region's client lists."""
    by_region: dict[str, list[dict]] = {}
    create_client = aws.client

    def client(service_name: str, *args, **kwargs):
        created = create_client(service_name, *args, **kwargs)
        if service_name == "accessanalyzer":
            stubber = Stubber(created)
            stubber.add_response(
                "list_analyzers", {"analyzers": by_region[kwargs["region_name"]]}
            )
            stubber.activate()
        return created

    monkeypatch.setattr(aws, "client", client)
    return by_region.update


def test_active_analyzer_passes(stub_analyzers, run_checks):
    stub_analyzers({REGION: [analyzer("account-external-access")]})

    [finding] = run_checks("aws.iam.access_analyzer_enabled")

    assert finding.status == Status.PASS
    assert finding.region == REGION
    assert finding.resource_id.endswith(":analyzer/account-external-access")


def test_organization_analyzer_passes(stub_analyzers, run_checks):
    stub_analyzers({REGION: [analyzer("org-external-access", type_="ORGANIZATION")]})

    [finding] = run_checks("aws.iam.access_analyzer_enabled")

    assert finding.status == Status.PASS
    assert "ORGANIZATION" in finding.message


def test_no_analyzer_fails(stub_analyzers, run_checks):
    stub_analyzers({REGION: []})

    [finding] = run_checks("aws.iam.access_analyzer_enabled")

    assert finding.status == Status.FAIL
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"
    assert finding.evidence["analyzers"] == []


def test_disabled_analyzer_fails(stub_analyzers, run_checks):
    stub_analyzers({REGION: [analyzer("account-external-access", status="DISABLED")]})

    [finding] = run_checks("aws.iam.access_analyzer_enabled")

    assert finding.status == Status.FAIL
    assert "DISABLED" in finding.message


def test_unused_access_analyzer_fails(stub_analyzers, run_checks):
    stub_analyzers({REGION: [analyzer("unused-access", type_="ACCOUNT_UNUSED_ACCESS")]})

    [finding] = run_checks("aws.iam.access_analyzer_enabled")

    assert finding.status == Status.FAIL
    assert finding.evidence["analyzers"][0]["type"] == "ACCOUNT_UNUSED_ACCESS"


def test_one_finding_per_region(stub_analyzers, run_checks):
    stub_analyzers({REGION: [analyzer("account-external-access")], "eu-west-1": []})

    findings = run_checks(
        "aws.iam.access_analyzer_enabled", regions=("eu-west-1", REGION)
    )

    by_region = {f.region: f.status for f in findings}
    assert by_region == {"eu-west-1": Status.FAIL, REGION: Status.PASS}


def test_access_denied_is_error(aws, run_checks):
    # deny() responds before any request leaves the client, so no stub is needed.
    deny(aws, "accessanalyzer", "ListAnalyzers", code="AccessDeniedException")

    [finding] = run_checks("aws.iam.access_analyzer_enabled")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDeniedException"
