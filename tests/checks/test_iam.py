"""Tests of the account-level IAM checks: the root user and the password policy."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from botocore.awsrequest import AWSResponse
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.core.utils import utcnow
from moto.iam.models import iam_backends

from auditbook.checks import credential_report
from auditbook.config import Thresholds
from auditbook.models import Status
from tests.conftest import deny

ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"


def iam_backend():
    """Return moto's IAM backend of the test account."""
    return iam_backends[ACCOUNT]["global"]


def enable_root_mfa() -> None:
    # No IAM API enables MFA for the root user, so moto's account summary
    # only changes through its backend.
    iam_backend().account_summary._account_mfa_enabled = 1


def add_root_row(
    password_last_used: str = "N/A",
    access_key_1_last_used_date: str = "N/A",
) -> None:
    """Add the <root_account> row that real IAM writes and moto leaves out.

    The wrapper is an attribute of the backend instance, which moto's reset
    at the end of the test discards.
    """
    backend = iam_backend()
    report = backend.get_credential_report

    def report_with_root() -> str:
        header, _, users = report().partition("\n")
        row = dict.fromkeys(header.split(","), "N/A")
        row.update(
            user="<root_account>",
            arn=ROOT_ARN,
            user_creation_time="2019-03-01T09:00:00+00:00",
            password_enabled="not_supported",
            password_last_used=password_last_used,
            password_last_changed="not_supported",
            password_next_rotation="not_supported",
            mfa_active="true",
            access_key_1_active="false",
            access_key_1_last_used_date=access_key_1_last_used_date,
            access_key_2_active="false",
            cert_1_active="false",
            cert_2_active="false",
        )
        line = io.StringIO()
        csv.DictWriter(
            line, fieldnames=header.split(","), lineterminator="\n"
        ).writerow(row)
        return f"{header}\n{line.getvalue()}{users}"

    backend.get_credential_report = report_with_root


def days_ago(days: int) -> str:
    """Return a credential report date the given number of days back."""
    moment = datetime.now(UTC) - timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def respond_always(session, operation: str, parsed: dict) -> None:
    """Make every IAM client of the session return one response for an operation."""

    def respond(**_: object) -> tuple[AWSResponse, dict]:
        response = AWSResponse("https://127.0.0.1", 200, {}, None)
        return response, {**parsed, "ResponseMetadata": {"HTTPStatusCode": 200}}

    session.events.register(f"before-call.iam.{operation}", respond)


def test_root_mfa_disabled_fails(run_checks):
    [finding] = run_checks("aws.iam.root_mfa_enabled")

    assert finding.status == Status.FAIL
    assert finding.resource_id == ROOT_ARN
    assert finding.region == "global"
    assert finding.evidence["account_mfa_enabled"] is False


def test_root_mfa_enabled_passes(run_checks, aws):
    enable_root_mfa()

    [finding] = run_checks("aws.iam.root_mfa_enabled")

    assert finding.status == Status.PASS
    assert "has MFA enabled" in finding.message


def test_root_mfa_access_denied_is_error(run_checks, aws):
    deny(aws, "iam", "GetAccountSummary")

    [finding] = run_checks("aws.iam.root_mfa_enabled")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_root_hardware_mfa_passes(run_checks, aws):
    enable_root_mfa()

    [finding] = run_checks("aws.iam.root_hardware_mfa")

    assert finding.status == Status.PASS
    assert finding.evidence["root_virtual_mfa_devices"] == []


def test_root_without_mfa_not_hardware(run_checks, aws):
    [finding] = run_checks("aws.iam.root_hardware_mfa")

    assert finding.status == Status.FAIL
    assert "no MFA device" in finding.message


def test_root_virtual_mfa_fails(run_checks, aws):
    enable_root_mfa()
    serial = aws.client("iam").create_virtual_mfa_device(
        VirtualMFADeviceName="root-token"
    )["VirtualMFADevice"]["SerialNumber"]
    # Only the root user itself can assign a device to the root user, so the
    # assignment is made in moto's backend. IAM reports the root ARN as the
    # device's user.
    device = iam_backend().virtual_mfa_devices[serial]
    device.enable_date = utcnow()
    device.user = SimpleNamespace(
        arn=ROOT_ARN, name="root", id=ACCOUNT, path="/", create_date=utcnow()
    )

    [finding] = run_checks("aws.iam.root_hardware_mfa")

    assert finding.status == Status.FAIL
    assert finding.evidence["root_virtual_mfa_devices"] == [serial]
    assert "virtual MFA device" in finding.message


def test_user_virtual_mfa_ignored(run_checks, aws):
    enable_root_mfa()
    iam = aws.client("iam")
    iam.create_user(UserName="alice.admin")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice.admin")[
        "VirtualMFADevice"
    ]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="alice.admin",
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )

    [finding] = run_checks("aws.iam.root_hardware_mfa")

    assert finding.status == Status.PASS


def test_mfa_devices_denied_is_error(run_checks, aws):
    enable_root_mfa()
    deny(aws, "iam", "ListVirtualMFADevices")

    [finding] = run_checks("aws.iam.root_hardware_mfa")

    assert finding.status == Status.ERROR
    assert finding.evidence["operation"] == "iam:ListVirtualMFADevices"


def test_root_without_keys_passes(run_checks):
    [finding] = run_checks("aws.iam.root_no_access_keys")

    assert finding.status == Status.PASS
    assert finding.resource_id == ROOT_ARN


def test_root_access_key_fails(run_checks, aws):
    # Root access keys can only be created while signed in as root.
    iam_backend().account_summary._account_access_keys_present = 1

    [finding] = run_checks("aws.iam.root_no_access_keys")

    assert finding.status == Status.FAIL
    assert finding.evidence["account_access_keys_present"] is True


def test_root_keys_access_denied_is_error(run_checks, aws):
    deny(aws, "iam", "GetAccountSummary")

    [finding] = run_checks("aws.iam.root_no_access_keys")

    assert finding.status == Status.ERROR


def test_root_unused_passes(run_checks):
    add_root_row(password_last_used=days_ago(90))

    [finding] = run_checks("aws.iam.root_not_used_recently")

    assert finding.status == Status.PASS
    assert finding.resource_id == ROOT_ARN
    assert finding.evidence["max_days"] == 30


def test_root_never_used_passes(run_checks):
    add_root_row(password_last_used="no_information")

    [finding] = run_checks("aws.iam.root_not_used_recently")

    assert finding.status == Status.PASS
    assert "no recorded use" in finding.message


def test_root_password_used_recently_fails(run_checks):
    add_root_row(password_last_used=days_ago(3))

    [finding] = run_checks("aws.iam.root_not_used_recently")

    assert finding.status == Status.FAIL
    assert "within the last 30 days" in finding.message


def test_root_key_used_recently_fails(run_checks):
    add_root_row(
        password_last_used=days_ago(200),
        access_key_1_last_used_date=days_ago(10),
    )

    [finding] = run_checks("aws.iam.root_not_used_recently")

    assert finding.status == Status.FAIL
    assert finding.evidence["access_key_1_last_used_date"] != "N/A"


def test_root_threshold_is_configurable(run_checks, settings):
    add_root_row(password_last_used=days_ago(10))
    lenient = replace(settings, thresholds=Thresholds(root_unused_days=7))

    [finding] = run_checks("aws.iam.root_not_used_recently", settings=lenient)

    assert finding.status == Status.PASS


def test_root_row_missing_is_error(run_checks):
    # moto writes no <root_account> row, unlike real IAM.
    [finding] = run_checks("aws.iam.root_not_used_recently")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "RootRowMissing"
    assert finding.resource_id == ROOT_ARN


def test_root_report_access_denied_is_error(run_checks, aws):
    deny(aws, "iam", "GenerateCredentialReport")

    [finding] = run_checks("aws.iam.root_not_used_recently")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_report_never_ready_is_error(run_checks, aws, monkeypatch):
    monkeypatch.setattr(credential_report, "POLL_INTERVAL_SECONDS", 0)
    respond_always(aws, "GenerateCredentialReport", {"State": "INPROGRESS"})

    [finding] = run_checks("aws.iam.root_not_used_recently")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "ReportNotReady"
    assert "INPROGRESS" in finding.evidence["detail"]


def test_no_password_policy_fails(run_checks):
    [finding] = run_checks("aws.iam.password_policy")

    assert finding.status == Status.FAIL
    assert finding.resource_id == ACCOUNT
    assert "no IAM password policy" in finding.message


def test_strong_password_policy_passes(run_checks, aws):
    aws.client("iam").update_account_password_policy(
        MinimumPasswordLength=16, PasswordReusePrevention=24
    )

    [finding] = run_checks("aws.iam.password_policy")

    assert finding.status == Status.PASS
    assert finding.evidence["minimum_password_length"] == 16


def test_short_password_fails(run_checks, aws):
    aws.client("iam").update_account_password_policy(
        MinimumPasswordLength=8, PasswordReusePrevention=24
    )

    [finding] = run_checks("aws.iam.password_policy")

    assert finding.status == Status.FAIL
    assert "minimum length 8 (expected 14)" in finding.message


def test_missing_reuse_prevention_fails(run_checks, aws):
    aws.client("iam").update_account_password_policy(MinimumPasswordLength=14)

    [finding] = run_checks("aws.iam.password_policy")

    assert finding.status == Status.FAIL
    assert finding.evidence["password_reuse_prevention"] == 0


def test_password_policy_access_denied_is_error(run_checks, aws):
    deny(aws, "iam", "GetAccountPasswordPolicy")

    [finding] = run_checks("aws.iam.password_policy")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"
