"""Tests of the Shield Advanced check.

moto 5.2 does not implement Shield GetSubscriptionState: the call raises
NotImplementedError. These tests therefore give the collector a real botocore
client with a ``Stubber`` that returns GetSubscriptionState responses shaped
as the Shield API reference documents them, ``{"SubscriptionState": "ACTIVE"}``
or ``"INACTIVE"``. STS and the collector still run on moto.

The check gives one finding per account whatever the subscription state, so
it has no NOT_APPLICABLE case: an account without Shield Advanced fails.
"""

from __future__ import annotations

import pytest
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.checks.registry import load_checks
from auditbook.models import Severity, Status
from tests.conftest import REGION, deny

CHECK = "aws.shield.advanced_enabled"


@pytest.fixture
def stub_state(aws, monkeypatch: pytest.MonkeyPatch):
    """Return a function that sets the subscription state Shield returns."""
    states: list[str] = []
    create_client = aws.client

    def client(service_name: str, *args, **kwargs):
        created = create_client(service_name, *args, **kwargs)
        if service_name == "shield":
            stubber = Stubber(created)
            stubber.add_response(
                "get_subscription_state", {"SubscriptionState": states[0]}
            )
            stubber.activate()
        return created

    monkeypatch.setattr(aws, "client", client)
    return states.append


def test_active_subscription_passes(stub_state, run_checks):
    stub_state("ACTIVE")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.region == "global"
    assert finding.resource_id == ACCOUNT
    assert finding.evidence == {"subscription_state": "ACTIVE"}


def test_inactive_subscription_fails(stub_state, run_checks):
    stub_state("INACTIVE")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert "INACTIVE" in finding.message


def test_one_finding_per_account(stub_state, run_checks):
    stub_state("INACTIVE")

    findings = run_checks(CHECK, regions=(REGION, "eu-west-1"))

    assert len(findings) == 1


def test_access_denied_is_error(aws, run_checks):
    deny(aws, "shield", "GetSubscriptionState", code="AccessDeniedException")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDeniedException"


def test_severity_is_informational():
    assert load_checks()[CHECK].severity == Severity.INFORMATIONAL
