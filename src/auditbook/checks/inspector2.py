"""Amazon Inspector checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

# resourceState keys of BatchGetAccountStatus that must be ENABLED, with the
# names used in messages.
REQUIRED_SCAN_TYPES = {"ec2": "EC2", "ecr": "ECR", "lambda": "Lambda"}
ENABLED = "ENABLED"


@check(
    "aws.inspector2.enabled",
    title="Amazon Inspector scans EC2, ECR and Lambda",
    service="inspector2",
    scope=Scope.REGION,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=(
        "Amazon Inspector reports the EC2, ECR and Lambda scan types of the "
        "account as ENABLED in the region."
    ),
    permissions=["inspector2:BatchGetAccountStatus"],
)
def inspector_enabled(ctx: CheckContext) -> Iterator[Finding]:
    response = ctx.call(
        "inspector2", "batch_get_account_status", accountIds=[ctx.account_id]
    )

    for failed in response.get("failedAccounts", []):
        if failed.get("accountId") == ctx.account_id:
            raise AwsCallError(
                failed.get("errorCode") or "FailedAccount",
                "inspector2:BatchGetAccountStatus",
                failed.get("errorMessage") or "the account status was not returned",
            )

    account = next(
        (
            a
            for a in response.get("accounts", [])
            if a.get("accountId") == ctx.account_id
        ),
        None,
    )
    states = _scan_states(account)
    disabled = [name for name in REQUIRED_SCAN_TYPES if states[name] != ENABLED]
    evidence: dict[str, Any] = {
        "account_status": (account or {}).get("state", {}).get("status"),
        "scan_types": states,
    }

    if not disabled:
        yield ctx.finding(
            ctx.scope_id,
            Status.PASS,
            f"Amazon Inspector scans EC2, ECR and Lambda in {ctx.region}.",
            evidence,
        )
    elif account is None:
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            f"Amazon Inspector returns no status for account {ctx.account_id} in "
            f"{ctx.region}, so it is not enabled there.",
            evidence,
        )
    else:
        names = ", ".join(REQUIRED_SCAN_TYPES[name] for name in disabled)
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            f"Amazon Inspector does not scan {names} in {ctx.region}.",
            evidence,
        )


def _scan_states(account: dict[str, Any] | None) -> dict[str, str | None]:
    resource_state = (account or {}).get("resourceState", {})
    return {
        name: resource_state.get(name, {}).get("status") for name in REQUIRED_SCAN_TYPES
    }
