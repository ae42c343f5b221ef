import json

import pytest

from auditbook.checks.event_patterns import (
    HIGH_SEVERITIES,
    EventPatternError,
    guardduty_sample_findings,
    high_severity_coverage,
    matches,
)
from auditbook.models import Status
from tests.conftest import REGION, deny

ACCOUNT = "123456789012"
CHECK = "aws.events.guardduty_high_severity_alerts"
GUARDDUTY = {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]}
HIGH_ONLY = [round(tenths / 10, 1) for tenths in range(70, 90)]


def severity_pattern(*conditions):
    return {**GUARDDUTY, "detail": {"severity": list(conditions)}}


def make_topic(aws, region=REGION, subscribed=True):
    sns = aws.client("sns", region_name=region)
    topic = sns.create_topic(Name="guardduty-alerts")["TopicArn"]
    if subscribed:
        sqs = aws.client("sqs", region_name=region)
        url = sqs.create_queue(QueueName="guardduty-inbox")["QueueUrl"]
        queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue["Attributes"]["QueueArn"],
        )
    return topic


def make_rule(aws, pattern, *, name="guardduty-high", region=REGION, targets=()):
    events = aws.client("events", region_name=region)
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    if targets:
        events.put_targets(
            Rule=name,
            Targets=[{"Id": str(i), "Arn": arn} for i, arn in enumerate(targets)],
        )


# Unit tests of the pattern matcher.


def test_samples_span_high_and_critical():
    samples = guardduty_sample_findings(ACCOUNT, REGION)
    severities = [event["detail"]["severity"] for event in samples]

    assert severities[0] == 7.0
    assert severities[-1] == 10.0
    assert len(severities) == 31
    assert {event["source"] for event in samples} == {"aws.guardduty"}


def test_source_only_pattern_covers():
    assert high_severity_coverage(
        {"source": ["aws.guardduty"]}, ACCOUNT, REGION
    ).covered


def test_numeric_at_least_seven_covers():
    pattern = severity_pattern({"numeric": [">=", 7]})

    assert high_severity_coverage(pattern, ACCOUNT, REGION).covered


def test_list_to_eight_nine_misses_critical():
    result = high_severity_coverage(severity_pattern(*HIGH_ONLY), ACCOUNT, REGION)

    assert not result.covered
    assert len(result.missed) == 11
    assert result.missed[0] == (9.0, "AttackSequence:IAM/CompromisedCredentials")
    assert "severity 9.0" in result.reason


def test_list_to_ten_covers():
    pattern = severity_pattern(7, *HIGH_SEVERITIES)

    assert high_severity_coverage(pattern, ACCOUNT, REGION).covered


def test_numeric_above_seven_misses_seven():
    result = high_severity_coverage(
        severity_pattern({"numeric": [">", 7]}), ACCOUNT, REGION
    )

    assert [severity for severity, _ in result.missed] == [7.0]


def test_numeric_range_below_nine_fails():
    pattern = severity_pattern({"numeric": [">=", 7, "<", 9]})

    assert not high_severity_coverage(pattern, ACCOUNT, REGION).covered


def test_type_filter_fails():
    pattern = {**GUARDDUTY, "detail": {"type": [{"prefix": "UnauthorizedAccess:"}]}}

    result = high_severity_coverage(pattern, ACCOUNT, REGION)

    assert not result.covered
    assert any("CryptoCurrency" in kind for _, kind in result.missed)


def test_other_source_fails():
    result = high_severity_coverage({"source": ["aws.securityhub"]}, ACCOUNT, REGION)

    assert len(result.missed) == len(HIGH_SEVERITIES)


def test_account_and_region_filters_cover():
    pattern = {**GUARDDUTY, "account": [ACCOUNT], "region": [REGION]}

    assert high_severity_coverage(pattern, ACCOUNT, REGION).covered


def test_unsupported_filter_is_reported():
    pattern = {**GUARDDUTY, "detail": {"service": {"ip": [{"cidr": "10.0.0.0/8"}]}}}

    result = high_severity_coverage(pattern, ACCOUNT, REGION)

    assert not result.covered
    assert result.reason == "the 'cidr' filter is not evaluated"


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ({"a": ["x"]}, {"a": "x"}, True),
        ({"a": ["x"]}, {"a": ["y", "x"]}, True),
        ({"a": ["x"]}, {}, False),
        ({"a": [7]}, {"a": 7.0}, True),
        ({"a": ["7"]}, {"a": 7}, False),
        ({"a": [{"prefix": "aws."}]}, {"a": "aws.guardduty"}, True),
        ({"a": [{"prefix": {"equals-ignore-case": "AWS."}}]}, {"a": "aws.x"}, True),
        ({"a": [{"suffix": "duty"}]}, {"a": "aws.guardduty"}, True),
        ({"a": [{"equals-ignore-case": "GUARDDUTY"}]}, {"a": "guardduty"}, True),
        ({"a": [{"wildcard": "aws.*duty"}]}, {"a": "aws.guardduty"}, True),
        ({"a": [{"wildcard": "a?c"}]}, {"a": "abc"}, False),
        ({"a": [{"anything-but": "x"}]}, {"a": "y"}, True),
        ({"a": [{"anything-but": ["x", "y"]}]}, {"a": "y"}, False),
        ({"a": [{"anything-but": {"prefix": "aws."}}]}, {"a": "custom"}, True),
        ({"a": [{"anything-but": "x"}]}, {}, False),
        ({"a": [{"exists": True}]}, {"a": None}, True),
        ({"a": [{"exists": False}]}, {}, True),
        ({"a": [{"exists": False}]}, {"a": 1}, False),
        ({"a": [{"numeric": ["=", 5]}]}, {"a": 5}, True),
        ({"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 6}, False),
        ({"a": [{"numeric": [">", 0]}]}, {"a": "7"}, False),
        ({"a": {"b": ["x"]}}, {"a": {"b": "x"}}, True),
        ({"a": {"b": ["x"]}}, {"a": "x"}, False),
        ({"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"b": "y"}, True),
        ({"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"c": "z"}, False),
    ],
)
def test_pattern_semantics(pattern, event, expected):
    assert matches(pattern, event) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        {"a": "x"},
        {"a": [{"numeric": [">", "seven"]}]},
        {"a": [{"numeric": [">"]}]},
        {"a": [{"prefix": "x", "suffix": "y"}]},
        {"a": [{"cidr": "10.0.0.0/8"}]},
    ],
)
def test_malformed_patterns_raise(pattern):
    with pytest.raises(EventPatternError):
        matches(pattern, {"a": 5})


# The check, through boto3 and moto.


def test_no_rule_fails(run_checks):
    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.region == REGION
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"
    assert finding.message == (
        f"No EventBridge rule in {REGION} matches GuardDuty findings of severity 7 "
        "or more."
    )


def test_numeric_rule_with_subscriber_passes(aws, run_checks):
    topic = make_topic(aws)
    make_rule(aws, severity_pattern({"numeric": [">=", 7]}), targets=[topic])

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.resource_id == (
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/guardduty-high"
    )
    assert finding.message == (
        "EventBridge rule guardduty-high sends GuardDuty findings of severity 7 or "
        f"more in {REGION} to SNS topic {topic}, which has 1 confirmed subscription."
    )
    [rule] = finding.evidence["rules"]
    assert rule["matches_high_severity"] is True
    assert rule["alerting_topic"]["confirmed_protocols"] == {"sqs": 1}


def test_rule_without_severity_filter_passes(aws, run_checks):
    make_rule(aws, GUARDDUTY, targets=[make_topic(aws)])

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS


def test_list_to_eight_nine_rule_fails(aws, run_checks):
    make_rule(aws, severity_pattern(*HIGH_ONLY), targets=[make_topic(aws)])

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    [rule] = finding.evidence["rules"]
    assert rule["matches_high_severity"] is False
    assert "including severity 9.0" in rule["reason"]


def test_rule_for_other_source_fails(aws, run_checks):
    make_rule(aws, {"source": ["aws.ec2"]}, targets=[make_topic(aws)])

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert "No EventBridge rule" in finding.message


def test_disabled_rule_fails(aws, run_checks):
    make_rule(aws, GUARDDUTY, targets=[make_topic(aws)])
    aws.client("events").disable_rule(Name="guardduty-high")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.message.endswith("but it is disabled.")


def test_rule_without_topic_fails(aws, run_checks):
    queue = aws.client("sqs").create_queue(QueueName="findings")["QueueUrl"]
    queue_arn = aws.client("sqs").get_queue_attributes(
        QueueUrl=queue, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    make_rule(aws, GUARDDUTY, targets=[queue_arn])

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.message.endswith("but targets no SNS topic.")


def test_topic_without_subscriber_fails(aws, run_checks):
    topic = make_topic(aws, subscribed=False)
    make_rule(aws, GUARDDUTY, targets=[topic])

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.message.endswith(
        f"to SNS topic {topic}, which has no confirmed subscription."
    )


def test_scheduled_rule_ignored(aws, run_checks):
    aws.client("events").put_rule(Name="nightly", ScheduleExpression="rate(1 day)")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.evidence["rules"] == []


def test_one_finding_per_region(aws, run_checks):
    make_rule(aws, GUARDDUTY, targets=[make_topic(aws)])

    findings = run_checks(CHECK, regions=("eu-west-1", REGION))

    by_region = {f.region: f.status for f in findings}
    assert by_region == {"eu-west-1": Status.FAIL, REGION: Status.PASS}


def test_list_rules_denied_is_error(aws, run_checks):
    deny(aws, "events", "ListRules")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_list_targets_denied_is_error(aws, run_checks):
    make_rule(aws, GUARDDUTY, targets=[make_topic(aws)])
    deny(aws, "events", "ListTargetsByRule")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["operation"] == "events:ListTargetsByRule"
    assert finding.message == (
        "events:ListTargetsByRule failed with AccessDenied, so the EventBridge "
        f"rules in {REGION} were not all evaluated."
    )
