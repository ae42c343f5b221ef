"""Amazon CloudWatch checks: alarms on security events that CloudTrail records.

Each check follows one chain and passes when every link holds:

1. a multi-region trail is logging and sends its events to a CloudWatch Logs
   log group (DescribeTrails, GetTrailStatus);
2. a metric filter on that log group covers the event class, as
   :mod:`auditbook.checks.metric_filters` defines it (DescribeMetricFilters);
3. an alarm with actions enabled, in the log group's region, watches the
   filter's metric: same namespace, name and dimension names (DescribeAlarms);
4. the alarm notifies an SNS topic with at least one confirmed subscription
   (ListSubscriptionsByTopic).

A failure names the furthest link reached. When no chain passes and a call
failed on the way, the verdict is ERROR, because the unread link might have
completed a chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.metric_filters import coverage
from auditbook.checks.monitored_events import (
    CONSOLE_LOGIN_FAILURES,
    IAM_POLICY_CHANGES,
    ROOT_USAGE,
    SECURITY_GROUP_CHANGES,
    EventClass,
)
from auditbook.checks.registry import Scope, check
from auditbook.checks.sns_topics import (
    SNS_PERMISSIONS,
    is_topic_arn,
    subscription_count,
    topic_subscribers,
)
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

PERMISSIONS = [
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "logs:DescribeMetricFilters",
    "cloudwatch:DescribeAlarms",
    *SNS_PERMISSIONS,
]

CHAIN = (
    "a logging multi-region trail delivers to a CloudWatch Logs log group, a "
    "metric filter there matches {events} and no unrelated read-only call, and an "
    "alarm with actions enabled on the filter's metric notifies an SNS topic with "
    "at least one confirmed subscription."
)

# How far a chain got, in order. A failure reports the furthest stage reached.
NO_TRAIL, TRAIL, LOG_GROUP, FILTER, ALARM, TOPIC = range(6)


@check(
    "aws.cloudwatch.alarm_root_usage",
    title="An alarm notifies on root user activity",
    service="cloudwatch",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=CHAIN.format(events="a root API call and a root console sign-in"),
    permissions=PERMISSIONS,
)
def alarm_root_usage(ctx: CheckContext) -> Iterator[Finding]:
    yield _alarm_finding(ctx, ROOT_USAGE)


@check(
    "aws.cloudwatch.alarm_console_login_failures",
    title="An alarm notifies on failed console sign-ins",
    service="cloudwatch",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=CHAIN.format(
        events='failed console sign-ins (errorMessage "Failed authentication") '
        "of an IAM user and of the root user"
    ),
    permissions=PERMISSIONS,
)
def alarm_console_login_failures(ctx: CheckContext) -> Iterator[Finding]:
    yield _alarm_finding(ctx, CONSOLE_LOGIN_FAILURES)


@check(
    "aws.cloudwatch.alarm_security_group_changes",
    title="An alarm notifies on security group changes",
    service="cloudwatch",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=CHAIN.format(
        events="every security group change (Authorize and Revoke "
        "SecurityGroupIngress and SecurityGroupEgress, CreateSecurityGroup, "
        "DeleteSecurityGroup)"
    ),
    permissions=PERMISSIONS,
)
def alarm_security_group_changes(ctx: CheckContext) -> Iterator[Finding]:
    yield _alarm_finding(ctx, SECURITY_GROUP_CHANGES)


@check(
    "aws.cloudwatch.alarm_iam_policy_changes",
    title="An alarm notifies on IAM policy changes",
    service="cloudwatch",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=CHAIN.format(
        events="each of the 16 IAM policy changes of the CIS AWS Foundations "
        "Benchmark alarm (inline policies put and deleted, managed policies and "
        "versions created and deleted, policies attached and detached)"
    ),
    permissions=PERMISSIONS,
)
def alarm_iam_policy_changes(ctx: CheckContext) -> Iterator[Finding]:
    yield _alarm_finding(ctx, IAM_POLICY_CHANGES)


@dataclass
class _Walk:
    """The state of one check's walk along the chains of every trail."""

    ctx: CheckContext
    event_class: EventClass
    trails: list[dict[str, Any]] = field(default_factory=list)
    errors: list[AwsCallError] = field(default_factory=list)
    stage: int = NO_TRAIL
    shortfall: str = ""
    passing: dict[str, Any] | None = None

    @property
    def events(self) -> str:
        return self.event_class.description

    def reach(self, stage: int, shortfall: str) -> None:
        """Record how far a chain got, keeping the furthest shortfall."""
        if stage > self.stage or not self.shortfall:
            self.stage = stage
            self.shortfall = shortfall

    def fail_call(self, report: dict[str, Any], exc: AwsCallError) -> None:
        """Record a failed call on a link, in the link's report and the walk."""
        self.errors.append(exc)
        report["error_code"] = exc.code
        report["operation"] = exc.operation


def _alarm_finding(ctx: CheckContext, event_class: EventClass) -> Finding:
    # The same call as the CloudTrail checks, so the response is shared.
    trails = ctx.call("cloudtrail", "describe_trails").get("trailList", [])
    multi_region = {
        trail["TrailARN"]: trail for trail in trails if trail.get("IsMultiRegionTrail")
    }

    walk = _Walk(ctx, event_class)
    walk.reach(
        NO_TRAIL,
        f"Account {ctx.account_id} has no multi-region trail, so no metric filter "
        f"can match {walk.events}.",
    )
    for trail in multi_region.values():
        walk.trails.append(_trail_report(walk, trail))
        if walk.passing:
            break

    return _verdict(walk)


def _verdict(walk: _Walk) -> Finding:
    ctx = walk.ctx
    evidence: dict[str, Any] = {"event_class": walk.event_class.key}

    if walk.passing:
        chain = walk.passing
        topic = chain["sns_topic"]
        evidence.update(chain)
        return ctx.finding(
            chain["alarm_arn"],
            Status.PASS,
            f"Alarm {chain['alarm']} notifies SNS topic {topic['topic_arn']}, which "
            f"has {subscription_count(topic['confirmed_subscriptions'])}, when "
            f"metric filter "
            f"{chain['metric_filter']} on log group {chain['log_group']} matches "
            f"{walk.events}.",
            evidence,
        )

    evidence["trails"] = walk.trails
    if walk.errors:
        error = walk.errors[0]
        evidence.update(error_code=error.code, operation=error.operation)
        return ctx.finding(
            ctx.scope_id,
            Status.ERROR,
            f"{error.operation} failed with {error.code}, so the alarms on "
            f"{walk.events} in account {ctx.account_id} were not all evaluated.",
            evidence,
        )

    evidence["shortfall"] = walk.shortfall
    return ctx.finding(ctx.scope_id, Status.FAIL, walk.shortfall, evidence)


def _trail_report(walk: _Walk, trail: dict[str, Any]) -> dict[str, Any]:
    ctx = walk.ctx
    name = trail.get("Name", "")
    arn = trail["TrailARN"]
    home = trail.get("HomeRegion") or ctx.api_region
    log_group_arn = trail.get("CloudWatchLogsLogGroupArn")
    report: dict[str, Any] = {
        "name": name,
        "arn": arn,
        "home_region": home,
        "log_group_arn": log_group_arn,
    }

    try:
        status = ctx.call_in(home, "cloudtrail", "get_trail_status", Name=arn)
    except AwsCallError as exc:
        walk.fail_call(report, exc)
        return report
    report["is_logging"] = bool(status.get("IsLogging"))

    if not report["is_logging"]:
        walk.reach(
            TRAIL,
            f"Multi-region trail {name} is not logging, so no alarm can see "
            f"{walk.events}.",
        )
        return report
    if not log_group_arn:
        walk.reach(
            TRAIL,
            f"Multi-region trail {name} does not send its events to CloudWatch "
            f"Logs, so no metric filter can match {walk.events}.",
        )
        return report

    region, log_group = _log_group(log_group_arn)
    walk.reach(
        LOG_GROUP, f"No metric filter on log group {log_group} matches {walk.events}."
    )
    try:
        filters = ctx.call_in(
            region, "logs", "describe_metric_filters", logGroupName=log_group
        ).get("metricFilters", [])
    except AwsCallError as exc:
        walk.fail_call(report, exc)
        return report

    chain = {
        "trail": name,
        "trail_arn": arn,
        "log_group": log_group,
        "log_group_region": region,
    }
    report["metric_filters"] = []
    for metric_filter in filters:
        report["metric_filters"].append(
            _filter_report(walk, region, metric_filter, chain)
        )
        if walk.passing:
            break
    return report


def _filter_report(
    walk: _Walk, region: str, metric_filter: dict[str, Any], chain: dict[str, Any]
) -> dict[str, Any]:
    name = metric_filter.get("filterName", "")
    pattern = metric_filter.get("filterPattern", "")
    transformations = metric_filter.get("metricTransformations", [])
    result = coverage(pattern, walk.event_class)
    report: dict[str, Any] = {
        "name": name,
        "pattern": pattern,
        "covers_event_class": result.covered,
        "reason": result.reason or None,
        "metrics": [_metric_label(t) for t in transformations],
    }
    if not result.covered:
        return report

    walk.reach(
        FILTER,
        f"Metric filter {name} on log group {chain['log_group']} matches "
        f"{walk.events}, but no alarm with actions enabled watches its metric.",
    )
    try:
        alarms = walk.ctx.call_in(region, "cloudwatch", "describe_alarms").get(
            "MetricAlarms", []
        )
    except AwsCallError as exc:
        walk.fail_call(report, exc)
        return report

    chain = {**chain, "metric_filter": name, "filter_pattern": pattern}
    report["alarms"] = []
    for transformation in transformations:
        for alarm in alarms:
            if not _watches(alarm, transformation):
                continue
            metric_chain = {**chain, "metric": _metric_label(transformation)}
            report["alarms"].append(_alarm_report(walk, alarm, metric_chain))
            if walk.passing:
                return report
    return report


def _alarm_report(
    walk: _Walk, alarm: dict[str, Any], chain: dict[str, Any]
) -> dict[str, Any]:
    name = alarm.get("AlarmName", "")
    actions_enabled = alarm.get("ActionsEnabled", True)
    topics = [a for a in alarm.get("AlarmActions", []) if is_topic_arn(a)]
    report: dict[str, Any] = {
        "name": name,
        "arn": alarm.get("AlarmArn"),
        "actions_enabled": actions_enabled,
        "sns_topics": [],
    }

    if not actions_enabled:
        walk.reach(
            ALARM,
            f"Alarm {name} watches {walk.events}, but its actions are disabled.",
        )
        return report
    if not topics:
        walk.reach(
            ALARM, f"Alarm {name} watches {walk.events}, but notifies no SNS topic."
        )
        return report

    for topic_arn in topics:
        try:
            subscribers = topic_subscribers(walk.ctx, topic_arn)
        except AwsCallError as exc:
            topic_report = {"topic_arn": topic_arn}
            walk.fail_call(topic_report, exc)
            report["sns_topics"].append(topic_report)
            continue

        report["sns_topics"].append(subscribers.to_evidence())
        if subscribers.confirmed_count:
            walk.passing = {
                **chain,
                "alarm": name,
                "alarm_arn": alarm.get("AlarmArn"),
                "sns_topic": subscribers.to_evidence(),
            }
            return report
        walk.reach(
            TOPIC,
            f"Alarm {name} watches {walk.events}, but SNS topic {topic_arn} has no "
            "confirmed subscription.",
        )
    return report


def _watches(alarm: dict[str, Any], transformation: dict[str, Any]) -> bool:
    """Return whether an alarm watches the metric a filter transformation emits.

    A filter with dimensions publishes its metric with those dimensions, so an
    alarm watches it only when it names exactly the same dimension names.
    """
    namespace = transformation.get("metricNamespace")
    metric_name = transformation.get("metricName")
    dimension_names = set(transformation.get("dimensions") or {})

    for metric in _alarm_metrics(alarm):
        names = {d.get("Name") for d in metric.get("Dimensions") or []}
        if (
            metric.get("Namespace") == namespace
            and metric.get("MetricName") == metric_name
            and names == dimension_names
        ):
            return True
    return False


def _alarm_metrics(alarm: dict[str, Any]) -> Iterator[dict[str, Any]]:
    # A single-metric alarm names its metric at the top level, and a
    # metric-math alarm lists its metrics under Metrics[].MetricStat.Metric.
    if alarm.get("MetricName"):
        yield alarm
    for query in alarm.get("Metrics") or []:
        stat = query.get("MetricStat")
        if stat and stat.get("Metric"):
            yield stat["Metric"]


def _metric_label(transformation: dict[str, Any]) -> str:
    return f"{transformation.get('metricNamespace')}/{transformation.get('metricName')}"


def _log_group(arn: str) -> tuple[str, str]:
    """Return the region and name of a log group from its ARN.

    CloudTrail stores the ARN with a ``:*`` suffix, as in
    ``arn:aws:logs:eu-west-2:111122223333:log-group:CloudTrail/audit:*``.
    The LogGroupName pattern of the CloudWatch Logs API excludes colons.
    """
    parts = arn.split(":")
    return parts[3], parts[6]
