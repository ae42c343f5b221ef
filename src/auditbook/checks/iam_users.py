"""AWS IAM checks on IAM users: console MFA, access key age, unused credentials.

Console passwords, MFA and credential use come from the IAM credential report,
which IAM may serve up to four hours old, so each finding records when the
report was generated. Access key ages come from ``ListAccessKeys``, because the
report does not name the keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

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


def mask_access_key_id(access_key_id: str) -> str:
    """Return an access key id showing only its prefix and last four characters."""
    return f"{access_key_id[:4]}…{access_key_id[-4:]}"


@check(
    "aws.iam.user_console_mfa",
    title="IAM users with a console password have MFA",
    service="iam",
    scope=Scope.ACCOUNT,
    resource_type="IAM user",
    severity=Severity.HIGH,
    proves="An IAM user with a console password has an MFA device active.",
    permissions=CREDENTIAL_REPORT_PERMISSIONS,
)
def user_console_mfa(ctx: CheckContext) -> Iterator[Finding]:
    report = fetch_credential_report(ctx)
    users = report.users()
    console_users = [row for row in users if row.get("password_enabled") == "true"]

    if not console_users:
        yield ctx.finding(
            ctx.scope_id,
            Status.NOT_APPLICABLE,
            f"No IAM user in account {ctx.account_id} has a console password.",
            {"users": len(users), "report_generated": report.generated_time},
        )
        return

    for row in console_users:
        mfa_active = row.get("mfa_active") == "true"
        evidence = {
            "password_enabled": True,
            "mfa_active": mfa_active,
            "report_generated": report.generated_time,
        }
        if mfa_active:
            yield ctx.finding(
                row["arn"],
                Status.PASS,
                f"IAM user {row['user']} has a console password and MFA active.",
                evidence,
            )
        else:
            yield ctx.finding(
                row["arn"],
                Status.FAIL,
                f"IAM user {row['user']} has a console password but no MFA device.",
                evidence,
            )


@check(
    "aws.iam.access_key_rotated",
    title="Active access keys are rotated",
    service="iam",
    scope=Scope.ACCOUNT,
    resource_type="access key",
    severity=Severity.MEDIUM,
    proves="An active access key was created within the configured number of days.",
    permissions=["iam:ListUsers", "iam:ListAccessKeys"],
)
def access_key_rotated(ctx: CheckContext) -> Iterator[Finding]:
    # AWS defines no ARN for an access key, so a key's resource_id is its
    # user's ARN followed by the masked key id.
    max_age_days = ctx.settings.thresholds.access_key_max_age_days
    users = ctx.call("iam", "list_users").get("Users", [])

    active_keys = 0
    unread_users = 0
    for user in users:
        try:
            keys = ctx.call("iam", "list_access_keys", UserName=user["UserName"]).get(
                "AccessKeyMetadata", []
            )
        except AwsCallError as exc:
            unread_users += 1
            yield ctx.error(exc, resource_id=user["Arn"])
            continue

        for key in keys:
            if key.get("Status") != "Active":
                continue
            active_keys += 1
            yield _access_key_finding(ctx, user, key, max_age_days)

    if not active_keys and not unread_users:
        yield ctx.finding(
            ctx.scope_id,
            Status.NOT_APPLICABLE,
            f"No IAM user in account {ctx.account_id} has an active access key.",
            {"users": len(users)},
        )


def _access_key_finding(
    ctx: CheckContext, user: dict[str, Any], key: dict[str, Any], max_age_days: int
) -> Finding:
    masked = mask_access_key_id(key["AccessKeyId"])
    created = key["CreateDate"]
    age = elapsed_since(created)

    resource_id = f"{user['Arn']}/access-key/{masked}"
    evidence = {
        "user": user["UserName"],
        "access_key_id": masked,
        "status": key["Status"],
        "create_date": created.isoformat(),
        "age_days": age.days,
        "max_age_days": max_age_days,
    }
    if age <= timedelta(days=max_age_days):
        return ctx.finding(
            resource_id,
            Status.PASS,
            f"Access key {masked} of IAM user {user['UserName']} was created "
            f"{age.days} days ago.",
            evidence,
        )
    return ctx.finding(
        resource_id,
        Status.FAIL,
        f"Access key {masked} of IAM user {user['UserName']} was created "
        f"{age.days} days ago, more than {max_age_days} days.",
        evidence,
    )


@check(
    "aws.iam.credentials_unused",
    title="IAM users have no unused credentials",
    service="iam",
    scope=Scope.ACCOUNT,
    resource_type="IAM user",
    severity=Severity.MEDIUM,
    proves=(
        "No console password or active access key of the IAM user has gone "
        "unused for more than the configured number of days."
    ),
    permissions=CREDENTIAL_REPORT_PERMISSIONS,
)
def credentials_unused(ctx: CheckContext) -> Iterator[Finding]:
    report = fetch_credential_report(ctx)
    max_days = ctx.settings.thresholds.credentials_unused_days

    for row in report.users():
        credentials = _credential_idle_times(row)
        unused = [c for c in credentials if c["idle_days"] > max_days]

        evidence = {
            "credentials": credentials,
            "max_unused_days": max_days,
            "report_generated": report.generated_time,
        }
        if unused:
            listed = ", ".join(
                f"{c['credential']} ({c['idle_days']} days)" for c in unused
            )
            yield ctx.finding(
                row["arn"],
                Status.FAIL,
                f"IAM user {row['user']} has credentials unused for more than "
                f"{max_days} days: {listed}.",
                evidence,
            )
        elif credentials:
            yield ctx.finding(
                row["arn"],
                Status.PASS,
                f"IAM user {row['user']} has no credential unused for more than "
                f"{max_days} days.",
                evidence,
            )
        else:
            yield ctx.finding(
                row["arn"],
                Status.PASS,
                f"IAM user {row['user']} has no console password or active access key.",
                evidence,
            )


def _credential_idle_times(row: dict[str, str]) -> list[dict[str, Any]]:
    """Return how long each enabled credential of a report row has been idle.

    A credential never used is idle since it was set: the password since it
    last changed, an access key since it was last rotated, and either one since
    the user was created when the report has no such date.
    """
    created = parse_report_date(row.get("user_creation_time"))
    candidates = []
    if row.get("password_enabled") == "true":
        candidates.append(
            (
                "password",
                row.get("password_last_used"),
                row.get("password_last_changed"),
            )
        )
    for n in (1, 2):
        if row.get(f"access_key_{n}_active") == "true":
            candidates.append(
                (
                    f"access key {n}",
                    row.get(f"access_key_{n}_last_used_date"),
                    row.get(f"access_key_{n}_last_rotated"),
                )
            )

    credentials = []
    for name, last_used, last_set in candidates:
        since = parse_report_date(last_used) or parse_report_date(last_set) or created
        credentials.append(
            {
                "credential": name,
                "last_used": last_used,
                "idle_since": since.isoformat() if since else None,
                "idle_days": elapsed_since(since).days if since else 0,
            }
        )
    return credentials
