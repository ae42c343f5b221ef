"""Amazon CloudWatch Logs checks."""

from __future__ import annotations

from collections.abc import Iterator

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.models import Finding, Severity, Status


@check(
    "aws.logs.retention_set",
    title="Log groups keep their events for the required period",
    service="logs",
    scope=Scope.REGION,
    resource_type="log group",
    severity=Severity.LOW,
    proves=(
        "The log group's retention is at least thresholds.log_retention_days "
        "(365 days by default), or no retention is set, which means CloudWatch "
        "Logs keeps its events forever."
    ),
    permissions=["logs:DescribeLogGroups"],
)
def retention_set(ctx: CheckContext) -> Iterator[Finding]:
    minimum = ctx.settings.thresholds.log_retention_days
    log_groups = ctx.call("logs", "describe_log_groups").get("logGroups", [])

    for log_group in log_groups:
        name = log_group["logGroupName"]
        retention = log_group.get("retentionInDays")
        evidence = {
            "log_group": name,
            "retention_in_days": retention,
            "minimum_days": minimum,
        }

        if retention is None:
            yield ctx.finding(
                _arn(log_group),
                Status.PASS,
                f"Log group {name} has no retention limit, so its events never expire.",
                evidence,
            )
        elif retention >= minimum:
            yield ctx.finding(
                _arn(log_group),
                Status.PASS,
                f"Log group {name} keeps its events for {retention} days, at least "
                f"the required {minimum}.",
                evidence,
            )
        else:
            yield ctx.finding(
                _arn(log_group),
                Status.FAIL,
                f"Log group {name} keeps its events for {retention} days, fewer "
                f"than the required {minimum}.",
                evidence,
            )


def _arn(log_group: dict) -> str:
    # logGroupArn is the ARN without the ":*" suffix that the older arn field
    # carries. Responses from before logGroupArn existed have only arn.
    if log_group.get("logGroupArn"):
        return log_group["logGroupArn"]
    return log_group["arn"].removesuffix(":*")
