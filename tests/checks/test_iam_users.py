"""Tests of the IAM user checks: console MFA, access key age, unused credentials."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.core.utils import utcnow
from moto.iam.models import AccessKeyLastUsed, iam_backends

from auditbook.checks.iam_users import mask_access_key_id
from auditbook.config import Thresholds
from auditbook.models import Status
from tests.conftest import REGION, deny


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def moto_user(name: str):
    """Return moto's record of an IAM user, for dates no IAM API can set."""
    return iam_backends[ACCOUNT]["global"].users[name]


def create_console_user(iam, name: str, mfa: bool) -> None:
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password="Correct-Horse-Battery-9")
    if mfa:
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)[
            "VirtualMFADevice"
        ]["SerialNumber"]
        iam.enable_mfa_device(
            UserName=name,
            SerialNumber=serial,
            AuthenticationCode1="123456",
            AuthenticationCode2="654321",
        )


def test_console_user_with_mfa_passes(run_checks, aws):
    create_console_user(aws.client("iam"), "alice.admin", mfa=True)

    [finding] = run_checks("aws.iam.user_console_mfa")

    assert finding.status == Status.PASS
    assert finding.resource_id == user_arn("alice.admin")
    assert finding.evidence["mfa_active"] is True


def test_console_user_without_mfa_fails(run_checks, aws):
    create_console_user(aws.client("iam"), "bob.analyst", mfa=False)

    [finding] = run_checks("aws.iam.user_console_mfa")

    assert finding.status == Status.FAIL
    assert "bob.analyst" in finding.message
    assert finding.evidence["mfa_active"] is False


def test_console_mfa_skips_programmatic_users(run_checks, aws):
    iam = aws.client("iam")
    create_console_user(iam, "alice.admin", mfa=True)
    iam.create_user(UserName="ci-deploy")

    findings = run_checks("aws.iam.user_console_mfa")

    assert [f.resource_id for f in findings] == [user_arn("alice.admin")]


def test_no_console_user_not_applicable(run_checks, aws):
    aws.client("iam").create_user(UserName="ci-deploy")

    [finding] = run_checks("aws.iam.user_console_mfa")

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == ACCOUNT
    assert finding.evidence["users"] == 1


def test_console_mfa_report_denied_is_error(run_checks, aws):
    aws.client("iam").create_user(UserName="ci-deploy")
    deny(aws, "iam", "GetCredentialReport")

    [finding] = run_checks("aws.iam.user_console_mfa")

    assert finding.status == Status.ERROR
    assert finding.evidence["operation"] == "iam:GetCredentialReport"


def test_fresh_access_key_passes(run_checks, aws):
    iam = aws.client("iam")
    iam.create_user(UserName="payments-batch")
    key_id = iam.create_access_key(UserName="payments-batch")["AccessKey"][
        "AccessKeyId"
    ]

    [finding] = run_checks("aws.iam.access_key_rotated")

    masked = mask_access_key_id(key_id)
    assert finding.status == Status.PASS
    assert finding.resource_id == f"{user_arn('payments-batch')}/access-key/{masked}"
    assert finding.evidence["age_days"] == 0


def test_old_access_key_fails(run_checks, aws):
    iam = aws.client("iam")
    iam.create_user(UserName="ci-deploy")
    iam.create_access_key(UserName="ci-deploy")
    # IAM sets a key's creation date itself, so only moto's backend can age it.
    moto_user("ci-deploy").access_keys[0].create_date = utcnow() - timedelta(days=200)

    [finding] = run_checks("aws.iam.access_key_rotated")

    assert finding.status == Status.FAIL
    assert finding.evidence["age_days"] == 200
    assert "more than 90 days" in finding.message


def test_access_key_id_is_masked(run_checks, aws):
    iam = aws.client("iam")
    iam.create_user(UserName="ci-deploy")
    key_id = iam.create_access_key(UserName="ci-deploy")["AccessKey"]["AccessKeyId"]

    [finding] = run_checks("aws.iam.access_key_rotated")

    assert finding.evidence["access_key_id"] == f"{key_id[:4]}…{key_id[-4:]}"
    assert key_id not in finding.message
    assert key_id not in finding.resource_id


def test_inactive_access_key_not_judged(run_checks, aws):
    iam = aws.client("iam")
    iam.create_user(UserName="ci-deploy")
    key_id = iam.create_access_key(UserName="ci-deploy")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="ci-deploy", AccessKeyId=key_id, Status="Inactive")
    moto_user("ci-deploy").access_keys[0].create_date = utcnow() - timedelta(days=200)

    [finding] = run_checks("aws.iam.access_key_rotated")

    assert finding.status == Status.NOT_APPLICABLE
    assert "has an active access key" in finding.message


def test_no_users_key_rotation_not_applicable(run_checks):
    [finding] = run_checks("aws.iam.access_key_rotated")

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.evidence["users"] == 0


def test_key_age_threshold_is_configurable(run_checks, aws, settings):
    iam = aws.client("iam")
    iam.create_user(UserName="ci-deploy")
    iam.create_access_key(UserName="ci-deploy")
    moto_user("ci-deploy").access_keys[0].create_date = utcnow() - timedelta(days=40)
    strict = replace(settings, thresholds=Thresholds(access_key_max_age_days=30))

    [finding] = run_checks("aws.iam.access_key_rotated", settings=strict)

    assert finding.status == Status.FAIL
    assert finding.evidence["max_age_days"] == 30


def test_list_users_denied_is_error(run_checks, aws):
    deny(aws, "iam", "ListUsers")

    [finding] = run_checks("aws.iam.access_key_rotated")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_list_access_keys_denied_names_user(run_checks, aws):
    aws.client("iam").create_user(UserName="ci-deploy")
    deny(aws, "iam", "ListAccessKeys")

    [finding] = run_checks("aws.iam.access_key_rotated")

    assert finding.status == Status.ERROR
    assert finding.resource_id == user_arn("ci-deploy")


def test_recently_used_credentials_pass(run_checks, aws):
    iam = aws.client("iam")
    create_console_user(iam, "alice.admin", mfa=True)
    iam.create_access_key(UserName="alice.admin")
    user = moto_user("alice.admin")
    user.create_date = utcnow() - timedelta(days=400)
    user.password_last_used = utcnow() - timedelta(days=2)
    user.access_keys[0].last_used = AccessKeyLastUsed(
        utcnow() - timedelta(days=5), "s3", REGION
    )

    [finding] = run_checks("aws.iam.credentials_unused")

    assert finding.status == Status.PASS
    assert finding.resource_id == user_arn("alice.admin")
    assert [c["credential"] for c in finding.evidence["credentials"]] == [
        "password",
        "access key 1",
    ]


def test_unused_password_fails(run_checks, aws):
    create_console_user(aws.client("iam"), "former.contractor", mfa=False)
    user = moto_user("former.contractor")
    user.create_date = utcnow() - timedelta(days=300)
    user.password_last_used = utcnow() - timedelta(days=120)

    [finding] = run_checks("aws.iam.credentials_unused")

    assert finding.status == Status.FAIL
    assert "password (120 days)" in finding.message


def test_never_used_old_key_fails(run_checks, aws):
    iam = aws.client("iam")
    iam.create_user(UserName="reporting-export")
    iam.create_access_key(UserName="reporting-export")
    moto_user("reporting-export").access_keys[0].create_date = utcnow() - timedelta(
        days=60
    )

    [finding] = run_checks("aws.iam.credentials_unused")

    assert finding.status == Status.FAIL
    assert finding.evidence["credentials"][0]["last_used"] == "N/A"
    assert finding.evidence["credentials"][0]["idle_days"] == 60


def test_new_unused_key_passes(run_checks, aws):
    iam = aws.client("iam")
    iam.create_user(UserName="payments-batch")
    iam.create_access_key(UserName="payments-batch")

    [finding] = run_checks("aws.iam.credentials_unused")

    assert finding.status == Status.PASS


def test_user_without_credentials_passes(run_checks, aws):
    aws.client("iam").create_user(UserName="ci-deploy")

    [finding] = run_checks("aws.iam.credentials_unused")

    assert finding.status == Status.PASS
    assert "no console password or active access key" in finding.message


def test_no_users_credentials_not_applicable(run_checks):
    [finding] = run_checks("aws.iam.credentials_unused")

    assert finding.status == Status.NOT_APPLICABLE


def test_credentials_report_denied_is_error(run_checks, aws):
    deny(aws, "iam", "GenerateCredentialReport")

    [finding] = run_checks("aws.iam.credentials_unused")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_report_fetched_once_per_account(run_checks, aws):
    iam = aws.client("iam")
    create_console_user(iam, "alice.admin", mfa=True)
    iam.generate_credential_report()
    calls = []
    for operation in ("GenerateCredentialReport", "GetCredentialReport"):
        aws.events.register(
            f"before-call.iam.{operation}",
            lambda model, **_: calls.append(model.name),
        )

    findings = run_checks("aws.iam.user_console_mfa", "aws.iam.credentials_unused")

    assert len(findings) == 2
    assert calls == ["GenerateCredentialReport", "GetCredentialReport"]


def test_report_still_starting_is_polled(run_checks, aws):
    create_console_user(aws.client("iam"), "alice.admin", mfa=True)

    [finding] = run_checks("aws.iam.user_console_mfa")

    # moto returns STARTED for the first request and COMPLETE for the next.
    assert finding.status == Status.PASS
