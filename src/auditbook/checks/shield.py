"""AWS Shield checks."""

from __future__ import annotations

from collections.abc import Iterator

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.models import Finding, Severity, Status

ACTIVE = "ACTIVE"


@check(
    "aws.shield.advanced_enabled",
    title="Shield Advanced protects the account",
    service="shield",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.INFORMATIONAL,
    proves="The account's Shield Advanced subscription state is ACTIVE.",
    permissions=["shield:GetSubscriptionState"],
)
def advanced_enabled(ctx: CheckContext) -> Iterator[Finding]:
    response = ctx.call("shield", "get_subscription_state")
    state = response.get("SubscriptionState")
    evidence = {"subscription_state": state}

    if state == ACTIVE:
        yield ctx.finding(
            ctx.scope_id,
            Status.PASS,
            f"Shield Advanced is active for account {ctx.account_id}.",
            evidence,
        )
    else:
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            f"Shield Advanced is {state or 'not reported'} for account "
            f"{ctx.account_id}, so only Shield Standard protects it.",
            evidence,
        )
