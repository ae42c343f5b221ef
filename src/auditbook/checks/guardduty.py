"""Amazon GuardDuty checks."""

from __future__ import annotations

from collections.abc import Iterator

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.models import Finding, Severity, Status


@check(
    "aws.guardduty.enabled",
    title="GuardDuty is enabled in every region",
    service="guardduty",
    scope=Scope.REGION,
    resource_type=None,
    severity=Severity.HIGH,
    proves="A GuardDuty detector exists in the region and its status is ENABLED.",
    permissions=["guardduty:ListDetectors", "guardduty:GetDetector"],
)
def guardduty_enabled(ctx: CheckContext) -> Iterator[Finding]:
    detector_ids = ctx.call("guardduty", "list_detectors").get("DetectorIds", [])

    statuses = {}
    for detector_id in detector_ids:
        detector = ctx.call("guardduty", "get_detector", DetectorId=detector_id)
        statuses[detector_id] = detector.get("Status")

    enabled = [d for d, status in statuses.items() if status == "ENABLED"]
    evidence = {"detectors": statuses}
    if enabled:
        yield ctx.finding(
            _detector_arn(ctx, enabled[0]),
            Status.PASS,
            f"GuardDuty detector {enabled[0]} is enabled in {ctx.region}.",
            evidence,
        )
    elif detector_ids:
        yield ctx.finding(
            _detector_arn(ctx, detector_ids[0]),
            Status.FAIL,
            f"GuardDuty detector {detector_ids[0]} in {ctx.region} is suspended.",
            evidence,
        )
    else:
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            f"GuardDuty has no detector in {ctx.region}.",
            evidence,
        )


def _detector_arn(ctx: CheckContext, detector_id: str) -> str:
    return (
        f"arn:{ctx.partition}:guardduty:{ctx.region}:{ctx.account_id}"
        f":detector/{detector_id}"
    )
