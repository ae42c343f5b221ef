"""AWS CloudTrail checks: a multi-region trail that logs management events.

The per-trail checks are in :mod:`auditbook.checks.cloudtrail_trails`, which
is imported here so that loading this module registers them too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditbook.checks import cloudtrail_trails  # noqa: F401 - registers checks
from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

READ = "read"
WRITE = "write"
READ_AND_WRITE = frozenset({READ, WRITE})

# The values of the advanced selector field ``readOnly``.
READ_ONLY_VALUES = {"true": READ, "false": WRITE}

# Advanced selector operators that narrow a selector to the values they name.
NARROWING_OPERATORS = ("Equals", "StartsWith", "EndsWith")


@check(
    "aws.cloudtrail.multi_region_logging",
    title="A multi-region trail logs all management events",
    service="cloudtrail",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.HIGH,
    proves=(
        "At least one multi-region trail is logging and its event selectors "
        "record both read and write management events."
    ),
    permissions=[
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors",
    ],
)
def multi_region_logging(ctx: CheckContext) -> Iterator[Finding]:
    # DescribeTrails includes shadow trails by default, so the home region
    # lists every multi-region trail whatever region it was created in.
    trails = ctx.call("cloudtrail", "describe_trails").get("trailList", [])
    multi_region = [trail for trail in trails if trail.get("IsMultiRegionTrail")]

    reports = []
    errors: list[AwsCallError] = []
    for trail in multi_region:
        try:
            reports.append(_trail_report(ctx, trail))
        except AwsCallError as exc:
            errors.append(exc)
            reports.append(_trail_error_report(trail, exc))

    passing = [report for report in reports if report.get("compliant")]
    evidence: dict[str, Any] = {
        "trail_count": len(trails),
        "multi_region_trails": reports,
    }

    if passing:
        trail = passing[0]
        yield ctx.finding(
            trail["arn"],
            Status.PASS,
            f"Multi-region trail {trail['name']} is logging read and write "
            "management events.",
            evidence,
        )
    elif errors:
        # Without a passing trail, a trail that could not be read might be the
        # one that passes, so the verdict is an error rather than a failure.
        error = errors[0]
        evidence.update(error_code=error.code, operation=error.operation)
        yield ctx.finding(
            ctx.scope_id,
            Status.ERROR,
            f"{error.operation} failed with {error.code}, so the multi-region "
            f"trails of account {ctx.account_id} were not all evaluated.",
            evidence,
        )
    else:
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            _failure_message(ctx.account_id, trails, reports),
            evidence,
        )


def recorded_management_events(
    selectors: dict[str, Any], has_custom_selectors: bool | None = None
) -> frozenset[str]:
    """Return which management events the selectors record: ``read``, ``write``.

    Args:
        selectors: a GetEventSelectors response, with ``EventSelectors`` or
            ``AdvancedEventSelectors``.
        has_custom_selectors: the trail's ``HasCustomEventSelectors``.
    """
    classic = selectors.get("EventSelectors") or []
    advanced = selectors.get("AdvancedEventSelectors") or []

    # NOTE: AWS returns its default selector (ReadWriteType All, management
    # events included) for a trail without custom selectors, but moto 5.2
    # returns two empty lists. Empty lists on such a trail mean that default.
    if not classic and not advanced and not has_custom_selectors:
        return READ_AND_WRITE

    recorded: set[str] = set()
    for selector in classic:
        recorded |= _classic_coverage(selector)
    for selector in advanced:
        recorded |= _advanced_coverage(selector)
    return frozenset(recorded)


def _classic_coverage(selector: dict[str, Any]) -> set[str]:
    # Both fields default to recording everything when absent.
    if not selector.get("IncludeManagementEvents", True):
        return set()
    read_write = selector.get("ReadWriteType", "All")
    if read_write == "ReadOnly":
        return {READ}
    if read_write == "WriteOnly":
        return {WRITE}
    return set(READ_AND_WRITE)


def _advanced_coverage(selector: dict[str, Any]) -> set[str]:
    fields = {item.get("Field"): item for item in selector.get("FieldSelectors", [])}

    category = fields.get("eventCategory") or {}
    if "Management" not in category.get("Equals", []):
        return set()

    # A management selector may exclude event sources with NotEquals. Any
    # field other than readOnly that names values narrows it to a subset.
    for name, field_selector in fields.items():
        if name in ("eventCategory", "readOnly"):
            continue
        if any(field_selector.get(op) for op in NARROWING_OPERATORS):
            return set()

    read_only = fields.get("readOnly")
    if read_only is None:
        return set(READ_AND_WRITE)
    values = set(READ_ONLY_VALUES)
    if "Equals" in read_only:
        values &= {value.lower() for value in read_only["Equals"]}
    if "NotEquals" in read_only:
        values -= {value.lower() for value in read_only["NotEquals"]}
    return {READ_ONLY_VALUES[value] for value in values}


def _trail_report(ctx: CheckContext, trail: dict[str, Any]) -> dict[str, Any]:
    arn = trail["TrailARN"]
    home = trail.get("HomeRegion") or ctx.api_region

    # Status and selectors are read in the trail's home region, where the
    # trail itself lives. Moto 5.2 rejects GetEventSelectors from other regions.
    status = ctx.call_in(home, "cloudtrail", "get_trail_status", Name=arn)
    selectors = ctx.call_in(home, "cloudtrail", "get_event_selectors", TrailName=arn)

    recorded = recorded_management_events(
        selectors, trail.get("HasCustomEventSelectors")
    )
    is_logging = bool(status.get("IsLogging"))
    report = _trail_summary(trail)
    report.update(
        is_logging=is_logging,
        management_events=sorted(recorded),
        selector_kind=_selector_kind(selectors),
        excluded_event_sources=_excluded_sources(selectors),
        compliant=is_logging and recorded == READ_AND_WRITE,
    )
    return report


def _trail_error_report(trail: dict[str, Any], exc: AwsCallError) -> dict[str, Any]:
    report = _trail_summary(trail)
    report.update(compliant=False, error_code=exc.code, operation=exc.operation)
    return report


def _trail_summary(trail: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": trail.get("Name", ""),
        "arn": trail["TrailARN"],
        "home_region": trail.get("HomeRegion"),
        "s3_bucket": trail.get("S3BucketName"),
        "is_organization_trail": bool(trail.get("IsOrganizationTrail")),
    }


def _selector_kind(selectors: dict[str, Any]) -> str:
    if selectors.get("AdvancedEventSelectors"):
        return "advanced"
    if selectors.get("EventSelectors"):
        return "classic"
    return "default"


def _excluded_sources(selectors: dict[str, Any]) -> list[str]:
    excluded: set[str] = set()
    for selector in selectors.get("EventSelectors") or []:
        excluded.update(selector.get("ExcludeManagementEventSources") or [])
    for selector in selectors.get("AdvancedEventSelectors") or []:
        for field_selector in selector.get("FieldSelectors", []):
            if field_selector.get("Field") == "eventSource":
                excluded.update(field_selector.get("NotEquals") or [])
    return sorted(excluded)


def _failure_message(
    account_id: str, trails: list[dict[str, Any]], reports: list[dict[str, Any]]
) -> str:
    if not trails:
        return f"Account {account_id} has no CloudTrail trail."
    if not reports:
        count = "1 trail" if len(trails) == 1 else f"{len(trails)} trails"
        return f"Account {account_id} has {count}, but none is multi-region."
    if len(reports) == 1:
        report = reports[0]
        return f"Multi-region trail {report['name']} {_shortfall(report)}."
    return (
        f"None of the {len(reports)} multi-region trails in account {account_id} "
        "is logging read and write management events."
    )


def _shortfall(report: dict[str, Any]) -> str:
    recorded = set(report["management_events"])
    if recorded == READ_AND_WRITE:
        events = ""
    elif not recorded:
        events = "records no management events"
    else:
        events = f"records only {recorded.pop()} management events"

    if not report["is_logging"] and events:
        return f"is not logging and {events}"
    if not report["is_logging"]:
        return "is not logging"
    return events
