"""Collect the CloudTrail excerpt of every control for the audit period.

Each account and region is read once: every record is matched against the
selectors of every control, and each control keeps its newest events up to
the configured cap while counting them all. A read that fails is recorded
against every control with selectors, so the reports show the error instead
of "no activity".
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from auditbook.checks.context import AccountSession
from auditbook.cloudtrail import archive, lookup
from auditbook.cloudtrail.records import Excerpt, excerpt
from auditbook.cloudtrail.selectors import Selector
from auditbook.config import Settings
from auditbook.controls import Control
from auditbook.errors import AwsCallError

logger = logging.getLogger(__name__)

# Events of global services (IAM, STS, console sign-in) are recorded in
# us-east-1, so that region is always read for excerpts.
GLOBAL_EVENTS_REGION = "us-east-1"

# The error code of an excerpt that skipped a log file it could not read.
UNREADABLE_LOG_FILE = "UnreadableLogFile"

PERMISSIONS = (
    "cloudtrail:LookupEvents",
    "cloudtrail:DescribeTrails",
    "s3:GetBucketLocation",
    "s3:ListBucket",
    "s3:GetObject",
)


@dataclass
class ControlActivity:
    """The excerpt of one control: newest events, the total, and read errors."""

    control_id: str
    cap: int
    total: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    # Heap items are (event time, event id, arrival, excerpt). Records without
    # an event id can tie on time and id. The arrival number settles the tie,
    # because excerpts cannot be compared.
    _heap: list[tuple[str, str, int, Excerpt]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def add(self, record: dict[str, Any]) -> None:
        """Count a matching record and keep it if it is among the newest."""
        event_id = str(record.get("eventID") or "")
        if event_id:
            if event_id in self._seen:
                return
            self._seen.add(event_id)
        self.total += 1

        key = (str(record.get("eventTime") or ""), event_id, self.total)
        if len(self._heap) < self.cap:
            heapq.heappush(self._heap, (*key, excerpt(self.control_id, record)))
        elif key > self._heap[0][:3]:
            heapq.heapreplace(self._heap, (*key, excerpt(self.control_id, record)))

    def events(self) -> list[Excerpt]:
        """Return the kept events, newest first."""
        return [
            item[3] for item in sorted(self._heap, key=lambda i: i[:3], reverse=True)
        ]

    def summary(self) -> dict[str, Any]:
        """Return the totals recorded in ``run.json``."""
        return {"total": self.total, "shown": len(self._heap), "errors": self.errors}


@dataclass
class ExcerptResult:
    """Every control's excerpt and the period it covers."""

    source: str
    period_start: str
    period_end: str
    activities: dict[str, ControlActivity]

    def rows(self) -> list[dict[str, str]]:
        """Return every kept event, by control then newest first."""
        return [
            event.to_dict()
            for control_id in sorted(self.activities)
            for event in self.activities[control_id].events()
        ]

    def summary(self) -> dict[str, Any]:
        """Return the part of ``run.json`` that describes the excerpts."""
        return {
            "source": self.source,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "controls": {
                cid: activity.summary()
                for cid, activity in sorted(self.activities.items())
            },
        }


def collect_excerpts(
    settings: Settings,
    controls: Iterable[Control],
    accounts: list[AccountSession],
    regions: Iterable[str],
    period_end: datetime | None = None,
) -> ExcerptResult | None:
    """Read CloudTrail for every account and region and build each control's excerpt.

    Returns None when excerpts are switched off or no control has selectors.
    """
    selectors = {
        control.id: [Selector.from_dict(s) for s in control.cloudtrail]
        for control in controls
        if control.cloudtrail
    }
    if settings.cloudtrail_source == "off" or not selectors:
        return None

    end = period_end or datetime.now(UTC)
    start = end - timedelta(days=settings.cloudtrail_days)
    activities = {
        cid: ControlActivity(cid, settings.cloudtrail_max_events_per_control)
        for cid in selectors
    }
    scan_regions = sorted(set(regions) | {GLOBAL_EVENTS_REGION})

    for account in accounts:
        for region in scan_regions:
            skipped: list[str] = []
            try:
                for record in _records(
                    settings, account, region, start, end, selectors, skipped
                ):
                    _match(record, selectors, activities)
            except AwsCallError as exc:
                logger.warning(
                    "CloudTrail excerpt for account %s region %s failed: %s",
                    account.account_id,
                    region,
                    exc.code,
                )
                for activity in activities.values():
                    activity.errors.append(
                        {
                            "account_id": account.account_id,
                            "region": region,
                            "code": exc.code,
                            "operation": exc.operation,
                        }
                    )
            if skipped:
                # The records read before each fault still count, but the
                # excerpt is incomplete and reports it.
                for activity in activities.values():
                    activity.errors.append(
                        {
                            "account_id": account.account_id,
                            "region": region,
                            "code": UNREADABLE_LOG_FILE,
                            "detail": f"{len(skipped)} log file(s) skipped, "
                            f"first {skipped[0]}",
                        }
                    )

    total = sum(a.total for a in activities.values())
    logger.info("matched %d CloudTrail events to %d controls", total, len(activities))
    return ExcerptResult(
        source=settings.cloudtrail_source,
        period_start=start.isoformat(timespec="seconds"),
        period_end=end.isoformat(timespec="seconds"),
        activities=activities,
    )


def _match(
    record: dict[str, Any],
    selectors: dict[str, list[Selector]],
    activities: dict[str, ControlActivity],
) -> None:
    if not isinstance(record.get("eventTime"), str):
        return
    for control_id, control_selectors in selectors.items():
        if any(selector.matches(record) for selector in control_selectors):
            activities[control_id].add(record)


def _records(
    settings: Settings,
    account: AccountSession,
    region: str,
    start: datetime,
    end: datetime,
    selectors: dict[str, list[Selector]],
    skipped: list[str],
) -> Iterator[dict[str, Any]]:
    if settings.cloudtrail_source == "s3":
        yield from _archive_records(settings, account, region, start, end, skipped)
    else:
        yield from _lookup_records(account, region, start, end, selectors)


def _lookup_records(
    account: AccountSession,
    region: str,
    start: datetime,
    end: datetime,
    selectors: dict[str, list[Selector]],
) -> Iterator[dict[str, Any]]:
    client = account.client("cloudtrail", region)
    limiter = lookup.RateLimiter(lookup.MIN_INTERVAL_SECONDS)
    start = max(start, end - timedelta(days=lookup.MAX_LOOKUP_DAYS))
    for attribute in lookup_queries(s for group in selectors.values() for s in group):
        yield from lookup.iter_events(client, start, end, attribute, limiter)


def lookup_queries(selectors: Iterable[Selector]) -> list[dict[str, str] | None]:
    """Return the distinct LookupEvents attributes that cover every selector.

    A selector with event names is looked up per name, the narrowest query;
    one with no usable attribute needs every event, which covers all others.
    """
    queries: dict[tuple[str, str], dict[str, str]] = {}
    for selector in selectors:
        if selector.event_names:
            for name in sorted(selector.event_names):
                queries[("EventName", name)] = {
                    "AttributeKey": "EventName",
                    "AttributeValue": name,
                }
            continue
        attribute = selector.lookup_attribute()
        if attribute is None:
            return [None]
        queries[(attribute["AttributeKey"], attribute["AttributeValue"])] = attribute
    return [queries[key] for key in sorted(queries)]


def _archive_records(
    settings: Settings,
    account: AccountSession,
    region: str,
    start: datetime,
    end: datetime,
    skipped: list[str],
) -> Iterator[dict[str, Any]]:
    bucket, prefix = _trail_bucket(settings, account)
    location = account.call(
        "s3", account.home_region, "get_bucket_location", Bucket=bucket
    )
    bucket_region = location.get("LocationConstraint") or "us-east-1"
    if bucket_region == "EU":
        bucket_region = "eu-west-1"
    s3 = account.client("s3", bucket_region)

    def list_prefixes(base: str) -> list[str]:
        # Cached, so the folder layout is listed once per account, not per region.
        listing = account.call(
            "s3",
            bucket_region,
            "list_objects_v2",
            Bucket=bucket,
            Prefix=base,
            Delimiter="/",
        )
        return [common["Prefix"] for common in listing.get("CommonPrefixes", [])]

    days = archive.days_between(start.date(), end.date())
    start_text = start.isoformat().replace("+00:00", "Z")
    prefixes = archive.account_prefixes(list_prefixes, prefix, account.account_id)
    for account_prefix in prefixes:
        records = archive.iter_records(
            s3, bucket, account_prefix, region, days, skipped
        )
        for record in records:
            # Files of the first and last day hold events outside the period.
            event_time = str(record.get("eventTime") or "")
            if start_text[:19] <= event_time[:19] <= end.isoformat()[:19]:
                yield record


def _trail_bucket(settings: Settings, account: AccountSession) -> tuple[str, str]:
    if settings.cloudtrail_bucket:
        return settings.cloudtrail_bucket, settings.cloudtrail_prefix or ""

    trails = account.call("cloudtrail", account.home_region, "describe_trails")
    candidates = sorted(
        trails.get("trailList", []),
        key=lambda t: (not t.get("IsMultiRegionTrail"), t.get("Name", "")),
    )
    for trail in candidates:
        if trail.get("S3BucketName"):
            prefix = settings.cloudtrail_prefix or trail.get("S3KeyPrefix") or ""
            return trail["S3BucketName"], prefix
    raise AwsCallError(
        "TrailNotFound",
        "cloudtrail:DescribeTrails",
        "no trail delivers to S3; set cloudtrail.bucket or use the lookup source",
    )
