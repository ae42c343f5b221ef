"""AWS Security Hub checks."""

from __future__ import annotations

from collections.abc import Iterator

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

# DescribeHub fails with this code when the account has not enabled Security
# Hub in the region, and the message reads "... is not subscribed to AWS
# Security Hub". The same code also means access denied, so the message decides.
NOT_SUBSCRIBED_CODE = "InvalidAccessException"
NOT_SUBSCRIBED_MESSAGE = "not subscribed"

# The StandardsStatus of a standard whose controls are running.
READY = "READY"


@check(
    "aws.securityhub.enabled",
    title="Security Hub is enabled with a standard in every region",
    service="securityhub",
    scope=Scope.REGION,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=(
        "DescribeHub returns a hub in the region and GetEnabledStandards lists at "
        "least one standard whose StandardsStatus is READY."
    ),
    permissions=["securityhub:DescribeHub", "securityhub:GetEnabledStandards"],
)
def securityhub_enabled(ctx: CheckContext) -> Iterator[Finding]:
    try:
        hub = ctx.call("securityhub", "describe_hub")
    except AwsCallError as exc:
        if exc.code != NOT_SUBSCRIBED_CODE or NOT_SUBSCRIBED_MESSAGE not in str(exc):
            raise
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            f"Security Hub is not enabled in {ctx.region}.",
            {"hub_arn": None, "error_code": exc.code},
        )
        return

    hub_arn = hub["HubArn"]
    subscriptions = ctx.call("securityhub", "get_enabled_standards").get(
        "StandardsSubscriptions", []
    )

    standards = [
        {
            "standards_arn": subscription.get("StandardsArn"),
            "status": subscription.get("StandardsStatus"),
        }
        for subscription in subscriptions
    ]
    ready = [s for s in standards if s["status"] == READY]
    evidence = {"hub_arn": hub_arn, "standards": standards}
    if ready:
        names = ", ".join(_standard_name(s["standards_arn"]) for s in ready)
        yield ctx.finding(
            hub_arn,
            Status.PASS,
            f"Security Hub is enabled in {ctx.region} with {len(ready)} ready "
            f"standards: {names}.",
            evidence,
        )
    elif standards:
        yield ctx.finding(
            hub_arn,
            Status.FAIL,
            f"Security Hub is enabled in {ctx.region}, but none of its "
            f"{len(standards)} standards is READY.",
            evidence,
        )
    else:
        yield ctx.finding(
            hub_arn,
            Status.FAIL,
            f"Security Hub is enabled in {ctx.region}, but no standard is enabled.",
            evidence,
        )


def _standard_name(arn: str | None) -> str:
    # Standards ARNs look like arn:aws:securityhub:eu-west-2::standards/NAME/v/1.0.0
    # or, for the oldest CIS standard, arn:aws:securityhub:::ruleset/NAME/v/1.2.0.
    if not arn:
        return "unknown"
    return arn.split(":standards/", 1)[-1].split(":ruleset/", 1)[-1]
