"""Amazon Macie checks."""

from __future__ import annotations

from collections.abc import Iterator

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

ENABLED = "ENABLED"

# GetMacieSession fails with AccessDeniedException and the message "Macie is
# not enabled." in a region where Macie is off. Only the message distinguishes
# that from a denied permission.
NOT_ENABLED_CODE = "AccessDeniedException"
NOT_ENABLED_MESSAGE = "Macie is not enabled"

# NOTE: moto 5.2 returns ResourceNotFoundException instead. The operation
# documents that code too, and it means there is no Macie session, so it is
# read as "not enabled" as well.
NO_SESSION_CODE = "ResourceNotFoundException"


@check(
    "aws.macie.enabled",
    title="Amazon Macie is enabled in every region",
    service="macie2",
    scope=Scope.REGION,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves="GetMacieSession reports status ENABLED in the region.",
    permissions=["macie2:GetMacieSession"],
)
def macie_enabled(ctx: CheckContext) -> Iterator[Finding]:
    try:
        session = ctx.call("macie2", "get_macie_session")
    except AwsCallError as exc:
        if not _means_not_enabled(exc):
            raise
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            f"Amazon Macie is not enabled in {ctx.region}.",
            {"status": None, "error_code": exc.code},
        )
        return

    status = session.get("status")
    evidence = {
        "status": status,
        "finding_publishing_frequency": session.get("findingPublishingFrequency"),
    }
    if status == ENABLED:
        yield ctx.finding(
            ctx.scope_id,
            Status.PASS,
            f"Amazon Macie is enabled in {ctx.region}.",
            evidence,
        )
    else:
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            f"Amazon Macie is {status} in {ctx.region}, not ENABLED.",
            evidence,
        )


def _means_not_enabled(exc: AwsCallError) -> bool:
    if exc.code == NO_SESSION_CODE:
        return True
    return exc.code == NOT_ENABLED_CODE and NOT_ENABLED_MESSAGE in str(exc)
