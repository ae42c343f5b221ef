"""AWS IAM checks on the account: the root user and the password policy.

Root MFA and root access keys come from ``GetAccountSummary``, because the
root user is not an IAM user and the IAM user APIs do not describe it. Root
use comes from the credential report.
The checks on IAM users are in :mod:`auditbook.checks.iam_users`, and those on
administrator policies in :mod:`auditbook.checks.iam_policies`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

# IAM's user and policy checks live in their own modules. Importing them here
# registers them whenever the iam module is loaded.
from auditbook.checks import iam_policies, iam_users  # noqa: F401
from auditbook.checks.context import CheckContext
from auditbook.checks.credential_report import (
    CREDENTIAL_REPORT_PERMISSIONS,
    elapsed_since,
    fetch_credential_report,
    parse_report_date,
)
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

MIN_PASSWORD_LENGTH = 14
MIN_PASSWORD_REUSE_PREVENTION = 24


def root_arn(ctx: CheckContext) -> str:
    """Return the ARN of the account's root user."""
    return f"arn:{ctx.partition}:iam::{ctx.account_id}:root"


def _account_summary(ctx: CheckContext) -> dict[str, int]:
    return ctx.call("iam", "get_account_summary")["SummaryMap"]


@check(
    "aws.iam.root_mfa_enabled",
    title="The root user has MFA enabled",
    service="iam",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.CRITICAL,
    proves="The account summary reports MFA enabled for the root user.",
    permissions=["iam:GetAccountSummary"],
)
def root_mfa_enabled(ctx: CheckContext) -> Iterator[Finding]:
    enabled = _account_summary(ctx).get("AccountMFAEnabled") == 1

    evidence = {"account_mfa_enabled": enabled}
    if enabled:
        yield ctx.finding(
            root_arn(ctx),
            Status.PASS,
            f"The root user of account {ctx.account_id} has MFA enabled.",
            evidence,
        )
    else:
        yield ctx.finding(
            root_arn(ctx),
            Status.FAIL,
            f"The root user of account {ctx.account_id} has no MFA device.",
            evidence,
        )


@check(
    "aws.iam.root_hardware_mfa",
    title="The root user uses a hardware MFA device",
    service="iam",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=(
        "The root user has MFA enabled and no virtual MFA device is assigned to it."
    ),
    permissions=["iam:GetAccountSummary", "iam:ListVirtualMFADevices"],
)
def root_hardware_mfa(ctx: CheckContext) -> Iterator[Finding]:
    enabled = _account_summary(ctx).get("AccountMFAEnabled") == 1
    devices = ctx.call(
        "iam", "list_virtual_mfa_devices", AssignmentStatus="Assigned"
    ).get("VirtualMFADevices", [])

    arn = root_arn(ctx)
    root_virtual = sorted(
        device["SerialNumber"] for device in devices if _assigned_to_root(device, arn)
    )
    evidence = {
        "account_mfa_enabled": enabled,
        "root_virtual_mfa_devices": root_virtual,
    }
    if not enabled:
        yield ctx.finding(
            arn,
            Status.FAIL,
            f"The root user of account {ctx.account_id} has no MFA device.",
            evidence,
        )
    elif root_virtual:
        yield ctx.finding(
            arn,
            Status.FAIL,
            f"The root user of account {ctx.account_id} uses virtual MFA device "
            f"{root_virtual[0]}.",
            evidence,
        )
    else:
        yield ctx.finding(
            arn,
            Status.PASS,
            f"The root user of account {ctx.account_id} uses a hardware MFA device "
            "or security key, not a virtual one.",
            evidence,
        )


def _assigned_to_root(device: dict[str, Any], arn: str) -> bool:
    # IAM names the root user's virtual device root-account-mfa-device and
    # reports the root ARN as its user.
    user_arn = device.get("User", {}).get("Arn")
    return user_arn == arn or device["SerialNumber"].endswith(
        ":mfa/root-account-mfa-device"
    )


@check(
    "aws.iam.root_no_access_keys",
    title="The root user has no access keys",
    service="iam",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.CRITICAL,
    proves="The account summary reports no access keys for the root user.",
    permissions=["iam:GetAccountSummary"],
)
def root_no_access_keys(ctx: CheckContext) -> Iterator[Finding]:
    present = _account_summary(ctx).get("AccountAccessKeysPresent") == 1

    evidence = {"account_access_keys_present": present}
    if present:
        yield ctx.finding(
            root_arn(ctx),
            Status.FAIL,
            f"The root user of account {ctx.account_id} has an access key.",
            evidence,
        )
    else:
        yield ctx.finding(
            root_arn(ctx),
            Status.PASS,
            f"The root user of account {ctx.account_id} has no access keys.",
            evidence,
        )


@check(
    "aws.iam.root_not_used_recently",
    title="The root user was not used recently",
    service="iam",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.HIGH,
    proves=(
        "The credential report shows no use of the root password or root access "
        "keys within the configured number of days."
    ),
    permissions=CREDENTIAL_REPORT_PERMISSIONS,
)
def root_not_used_recently(ctx: CheckContext) -> Iterator[Finding]:
    report = fetch_credential_report(ctx)
    row = report.root()
    if row is None:
        # Real IAM always writes this row, so a report without it cannot be
        # trusted either way.
        yield ctx.error(
            AwsCallError(
                "RootRowMissing",
                "iam:GetCredentialReport",
                "the credential report has no <root_account> row",
            ),
            resource_id=root_arn(ctx),
        )
        return

    max_days = ctx.settings.thresholds.root_unused_days
    uses = {
        column: row.get(column, "")
        for column in (
            "password_last_used",
            "access_key_1_last_used_date",
            "access_key_2_last_used_date",
        )
    }
    used_at = [d for d in map(parse_report_date, uses.values()) if d is not None]
    last_used = max(used_at, default=None)

    evidence = {**uses, "max_days": max_days, "report_generated": report.generated_time}
    if last_used is not None and elapsed_since(last_used) <= timedelta(days=max_days):
        yield ctx.finding(
            root_arn(ctx),
            Status.FAIL,
            f"The root user of account {ctx.account_id} was last used on "
            f"{last_used:%Y-%m-%d}, within the last {max_days} days.",
            evidence,
        )
    elif last_used is not None:
        yield ctx.finding(
            root_arn(ctx),
            Status.PASS,
            f"The root user of account {ctx.account_id} was last used on "
            f"{last_used:%Y-%m-%d}, more than {max_days} days ago.",
            evidence,
        )
    else:
        yield ctx.finding(
            root_arn(ctx),
            Status.PASS,
            f"The root user of account {ctx.account_id} has no recorded use.",
            evidence,
        )


@check(
    "aws.iam.password_policy",
    title="The account password policy is strong",
    service="iam",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=(
        "An account password policy requires at least 14 characters and prevents "
        "reuse of the last 24 passwords."
    ),
    permissions=["iam:GetAccountPasswordPolicy"],
)
def password_policy(ctx: CheckContext) -> Iterator[Finding]:
    required = {
        "minimum_password_length": MIN_PASSWORD_LENGTH,
        "password_reuse_prevention": MIN_PASSWORD_REUSE_PREVENTION,
    }
    try:
        policy = ctx.call("iam", "get_account_password_policy")["PasswordPolicy"]
    except AwsCallError as exc:
        if exc.code != "NoSuchEntity":
            raise
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            f"Account {ctx.account_id} has no IAM password policy.",
            {"password_policy": None, "required": required},
        )
        return

    length = policy.get("MinimumPasswordLength", 0)
    reuse = policy.get("PasswordReusePrevention", 0)
    evidence = {
        "minimum_password_length": length,
        "password_reuse_prevention": reuse,
        "required": required,
    }
    shortfalls = []
    if length < MIN_PASSWORD_LENGTH:
        shortfalls.append(f"minimum length {length} (expected {MIN_PASSWORD_LENGTH})")
    if reuse < MIN_PASSWORD_REUSE_PREVENTION:
        shortfalls.append(
            f"reuse prevention {reuse} (expected {MIN_PASSWORD_REUSE_PREVENTION})"
        )

    if shortfalls:
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            f"The IAM password policy of account {ctx.account_id} is too weak: "
            f"{' and '.join(shortfalls)}.",
            evidence,
        )
    else:
        yield ctx.finding(
            ctx.scope_id,
            Status.PASS,
            f"The IAM password policy of account {ctx.account_id} requires "
            f"{length} characters and prevents reuse of the last {reuse} passwords.",
            evidence,
        )
