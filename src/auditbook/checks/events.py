"""Amazon EventBridge checks: alerts on high-severity GuardDuty findings.

GuardDuty publishes its findings to the default event bus of the region it
runs in, so the check reads the rules of that bus. Which patterns count as
matching is decided in :mod:`auditbook.checks.event_patterns`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.event_patterns import high_severity_coverage
from auditbook.checks.registry import Scope, check
from auditbook.checks.sns_topics import (
    SNS_PERMISSIONS,
    is_topic_arn,
    subscription_count,
    topic_subscribers,
)
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

ENABLED_STATES = ("ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")


@check(
    "aws.events.guardduty_high_severity_alerts",
    title="High-severity GuardDuty findings raise an alert",
    service="events",
    scope=Scope.REGION,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=(
        "An enabled rule on the region's default event bus matches GuardDuty "
        "findings (source aws.guardduty, detail-type GuardDuty Finding) of every "
        "severity from 7.0 to 10.0 and of any finding type, and targets an SNS "
        "topic with at least one confirmed subscription."
    ),
    permissions=[
        "events:ListRules",
        "events:ListTargetsByRule",
        *SNS_PERMISSIONS,
    ],
)
def guardduty_high_severity_alerts(ctx: CheckContext) -> Iterator[Finding]:
    rules = ctx.call("events", "list_rules").get("Rules", [])

    reports = []
    errors: list[AwsCallError] = []
    passing = None
    for rule in rules:
        if not rule.get("EventPattern"):
            continue  # a scheduled rule, which no event triggers
        report = _rule_report(ctx, rule, errors)
        reports.append(report)
        if report.get("alerting_topic"):
            passing = report
            break

    evidence: dict[str, Any] = {"rules": reports}
    if passing:
        topic = passing["alerting_topic"]
        yield ctx.finding(
            passing["arn"],
            Status.PASS,
            f"EventBridge rule {passing['name']} sends GuardDuty findings of "
            f"severity 7 or more in {ctx.region} to SNS topic {topic['topic_arn']}, "
            f"which has {subscription_count(topic['confirmed_subscriptions'])}.",
            evidence,
        )
    elif errors:
        error = errors[0]
        evidence.update(error_code=error.code, operation=error.operation)
        yield ctx.finding(
            ctx.scope_id,
            Status.ERROR,
            f"{error.operation} failed with {error.code}, so the EventBridge rules "
            f"in {ctx.region} were not all evaluated.",
            evidence,
        )
    else:
        yield ctx.finding(
            ctx.scope_id, Status.FAIL, _failure_message(ctx, reports), evidence
        )


def _rule_report(
    ctx: CheckContext, rule: dict[str, Any], errors: list[AwsCallError]
) -> dict[str, Any]:
    name = rule.get("Name", "")
    state = rule.get("State")
    report: dict[str, Any] = {
        "name": name,
        "arn": rule.get("Arn"),
        "state": state,
        "event_pattern": rule["EventPattern"],
    }

    try:
        pattern = json.loads(rule["EventPattern"])
    except json.JSONDecodeError as exc:
        report.update(matches_high_severity=False, reason=f"invalid JSON: {exc}")
        return report
    if not isinstance(pattern, dict):
        report.update(matches_high_severity=False, reason="not a JSON object")
        return report

    result = high_severity_coverage(pattern, ctx.account_id, ctx.region)
    report.update(matches_high_severity=result.covered, reason=result.reason or None)
    if not result.covered or state not in ENABLED_STATES:
        return report

    try:
        targets = ctx.call("events", "list_targets_by_rule", Rule=name).get(
            "Targets", []
        )
    except AwsCallError as exc:
        errors.append(exc)
        report.update(error_code=exc.code, operation=exc.operation)
        return report

    report["sns_topics"] = []
    for target in targets:
        arn = target.get("Arn", "")
        if not is_topic_arn(arn):
            continue
        try:
            subscribers = topic_subscribers(ctx, arn)
        except AwsCallError as exc:
            errors.append(exc)
            report["sns_topics"].append(
                {"topic_arn": arn, "error_code": exc.code, "operation": exc.operation}
            )
            continue
        report["sns_topics"].append(subscribers.to_evidence())
        if subscribers.confirmed_count:
            report["alerting_topic"] = subscribers.to_evidence()
            break
    return report


def _failure_message(ctx: CheckContext, reports: list[dict[str, Any]]) -> str:
    matching = [r for r in reports if r["matches_high_severity"]]
    enabled = [r for r in matching if r["state"] in ENABLED_STATES]
    if not matching:
        return (
            f"No EventBridge rule in {ctx.region} matches GuardDuty findings of "
            "severity 7 or more."
        )
    if not enabled:
        return (
            f"EventBridge rule {matching[0]['name']} matches GuardDuty findings of "
            f"severity 7 or more in {ctx.region}, but it is disabled."
        )

    rule = enabled[0]
    if not rule.get("sns_topics"):
        return (
            f"EventBridge rule {rule['name']} matches GuardDuty findings of severity "
            f"7 or more in {ctx.region}, but targets no SNS topic."
        )
    return (
        f"EventBridge rule {rule['name']} sends GuardDuty findings of severity 7 or "
        f"more in {ctx.region} to SNS topic {rule['sns_topics'][0]['topic_arn']}, "
        "which has no confirmed subscription."
    )
