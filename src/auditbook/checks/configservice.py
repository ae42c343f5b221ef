"""AWS Config checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.models import Finding, Severity, Status


@check(
    "aws.config.recorder_enabled",
    title="AWS Config records resource changes in every region",
    service="config",
    scope=Scope.REGION,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=(
        "A configuration recorder in the region reports recording true in "
        "DescribeConfigurationRecorderStatus."
    ),
    permissions=["config:DescribeConfigurationRecorderStatus"],
)
def recorder_enabled(ctx: CheckContext) -> Iterator[Finding]:
    statuses = ctx.call("config", "describe_configuration_recorder_status").get(
        "ConfigurationRecordersStatus", []
    )

    evidence = {"recorders": [_recorder_summary(status) for status in statuses]}
    recording = [status for status in statuses if status.get("recording")]
    if recording:
        recorder = recording[0]
        yield ctx.finding(
            recorder.get("arn") or ctx.scope_id,
            Status.PASS,
            f"AWS Config recorder {recorder['name']} is recording in {ctx.region}.",
            evidence,
        )
    elif statuses:
        recorder = statuses[0]
        yield ctx.finding(
            recorder.get("arn") or ctx.scope_id,
            Status.FAIL,
            f"AWS Config recorder {recorder['name']} in {ctx.region} is not recording.",
            evidence,
        )
    else:
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            f"AWS Config has no configuration recorder in {ctx.region}.",
            evidence,
        )


def _recorder_summary(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": status.get("name"),
        "recording": bool(status.get("recording")),
        "last_status": status.get("lastStatus"),
        "last_error_code": status.get("lastErrorCode"),
        "service_principal": status.get("servicePrincipal"),
    }
