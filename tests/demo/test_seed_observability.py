"""Tests of the demo observability seed: the verdicts its seeded state implies."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from auditbook.checks.registry import load_checks
from auditbook.collect import Collector
from auditbook.config import Settings
from auditbook.demo import environment, seed_monitoring, seed_observability
from auditbook.models import Status

PRODUCTION = environment.PRODUCTION_ACCOUNT
SANDBOX = environment.SANDBOX_ACCOUNT
CHECK_IDS = (
    "aws.cloudwatch.alarm_root_usage",
    "aws.cloudwatch.alarm_console_login_failures",
    "aws.cloudwatch.alarm_security_group_changes",
    "aws.cloudwatch.alarm_iam_policy_changes",
    "aws.events.guardduty_high_severity_alerts",
    "aws.logs.retention_set",
    "aws.config.recorder_enabled",
    "aws.securityhub.enabled",
    "aws.macie.enabled",
    "aws.residency.approved_regions",
)
FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": environment.DEMO_REGIONS[0],
    "AWS_RETRY_MODE": "standard",
    "AWS_MAX_ATTEMPTS": "2",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
}


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    """Seed both demo accounts' trails and observability in moto, then collect.

    The module shares one run because seeding takes seconds. The fixtures of
    ``tests/conftest.py`` are per test, so this one sets fake credentials.
    """
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        for name, value in FAKE_ENVIRONMENT.items():
            monkeypatch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
            monkeypatch.delenv(name, raising=False)

        production = boto3.Session(region_name=environment.DEMO_REGIONS[0])
        sandbox = environment._assume(production, SANDBOX, environment.SANDBOX_ROLE)
        for session, account_id, variant in (
            (production, PRODUCTION, "production"),
            (sandbox, SANDBOX, "sandbox"),
        ):
            seed_monitoring.seed(session, account_id, variant)
            seed_observability.seed(session, account_id, variant)

        registry = load_checks()
        root = tmp_path_factory.mktemp("demo")
        settings = Settings(
            root=root,
            controls_dir=root / "controls",
            evidence_dir=root / "evidence",
            accounts=environment.DEMO_ACCOUNTS,
        )
        collector = Collector(
            settings,
            [registry[check_id] for check_id in CHECK_IDS],
            session=production,
            regions=environment.DEMO_REGIONS,
        )
        yield collector.run().findings


def verdicts(findings, check_id, account_id):
    return {
        f.region: f.status
        for f in findings
        if f.check_id == check_id and f.account_id == account_id
    }


@pytest.mark.parametrize(
    ("check_id", "expected"),
    [
        ("aws.cloudwatch.alarm_root_usage", Status.PASS),
        ("aws.cloudwatch.alarm_iam_policy_changes", Status.PASS),
        ("aws.cloudwatch.alarm_security_group_changes", Status.PASS),
        ("aws.cloudwatch.alarm_console_login_failures", Status.PASS),
    ],
)
def test_production_alarms(findings, check_id, expected):
    assert verdicts(findings, check_id, PRODUCTION) == {"global": expected}


def test_sandbox_alarms_fail(findings):
    for check_id in CHECK_IDS[:4]:
        assert verdicts(findings, check_id, SANDBOX) == {"global": Status.FAIL}


def test_sandbox_stopped_trail_named(findings):
    [finding] = [
        f
        for f in findings
        if f.check_id == "aws.cloudwatch.alarm_security_group_changes"
        and f.account_id == SANDBOX
    ]

    assert finding.status == Status.FAIL
    assert "trail" in finding.message


@pytest.mark.parametrize(
    ("check_id", "primary"),
    [
        ("aws.events.guardduty_high_severity_alerts", Status.PASS),
        ("aws.config.recorder_enabled", Status.PASS),
        ("aws.macie.enabled", Status.PASS),
    ],
)
def test_production_primary_region_only(findings, check_id, primary):
    assert verdicts(findings, check_id, PRODUCTION) == {
        "eu-west-2": primary,
        "eu-west-1": Status.FAIL,
        "us-east-1": Status.FAIL,
    }


def test_security_hub_primary_is_error(findings):
    # Moto 5.2 lacks GetEnabledStandards, so the enabled hub cannot be judged.
    result = verdicts(findings, "aws.securityhub.enabled", PRODUCTION)

    assert result["eu-west-2"] == Status.ERROR
    assert result["eu-west-1"] == Status.FAIL
    assert result["us-east-1"] == Status.FAIL


@pytest.mark.parametrize(
    "check_id",
    [
        "aws.events.guardduty_high_severity_alerts",
        "aws.config.recorder_enabled",
        "aws.securityhub.enabled",
        "aws.macie.enabled",
    ],
)
def test_sandbox_regions_fail(findings, check_id):
    assert set(verdicts(findings, check_id, SANDBOX).values()) == {Status.FAIL}


def test_log_retention_both_verdicts(findings):
    statuses = {
        f.evidence["log_group"]: f.status
        for f in findings
        if f.check_id == "aws.logs.retention_set" and f.status != Status.NOT_APPLICABLE
    }

    assert statuses == {
        "CloudTrail/organisation-audit": Status.PASS,
        "/northwind/payments-api/access": Status.FAIL,
        "/sandbox/experiments": Status.FAIL,
    }


def test_residency_both_verdicts(findings):
    production = [
        f
        for f in findings
        if f.check_id == "aws.residency.approved_regions"
        and f.account_id == PRODUCTION
        and f.status in (Status.PASS, Status.FAIL)
    ]
    kinds = {(f.evidence["resource_type"], f.status) for f in production}

    assert ("EC2 instance", Status.PASS) in kinds
    assert ("EC2 instance", Status.FAIL) in kinds
    assert ("EBS volume", Status.PASS) in kinds
    assert ("EBS volume", Status.FAIL) in kinds
    outside = {f.region for f in production if f.status == Status.FAIL}
    assert outside == {"us-east-1"}


def test_seed_rejects_unknown_variant():
    with pytest.raises(ValueError, match="variant 'staging' is invalid"):
        seed_observability.seed(boto3.Session(), PRODUCTION, "staging")


def test_seed_needs_trail():
    # A fresh account, so that the module's seeded accounts do not interfere.
    with mock_aws():
        session = environment._assume(
            boto3.Session(region_name="eu-west-2"), "333344445555", "Seeder"
        )
        with pytest.raises(LookupError, match="run seed_monitoring first"):
            seed_observability.seed(session, "333344445555", "production")
