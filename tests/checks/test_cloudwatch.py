import json

import boto3
import pytest
from botocore.stub import Stubber

from auditbook.checks.monitored_events import IAM_POLICY_EVENTS
from auditbook.checks.registry import load_checks
from auditbook.collect import Collector
from auditbook.models import Status
from tests.conftest import REGION, StubbedSession, deny

ACCOUNT = "123456789012"
ROOT_CHECK = "aws.cloudwatch.alarm_root_usage"
CONSOLE_CHECK = "aws.cloudwatch.alarm_console_login_failures"
SG_CHECK = "aws.cloudwatch.alarm_security_group_changes"
IAM_CHECK = "aws.cloudwatch.alarm_iam_policy_changes"
BUCKET = "trail-logs-123456789012"
LOG_GROUP = "CloudTrail/audit"

ROOT_PATTERN = (
    '{ ($.userIdentity.type = "Root") && ($.userIdentity.invokedBy NOT EXISTS) '
    '&& ($.eventType != "AwsServiceEvent") }'
)
CONSOLE_PATTERN = (
    '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'
)
SG_PATTERN = (
    "{($.eventName=AuthorizeSecurityGroupIngress)||"
    "($.eventName=AuthorizeSecurityGroupEgress)||"
    "($.eventName=RevokeSecurityGroupIngress)||($.eventName=RevokeSecurityGroupEgress)"
    "||($.eventName=CreateSecurityGroup)||($.eventName=DeleteSecurityGroup)}"
)
IAM_PATTERN = "{" + "||".join(f"($.eventName={n})" for n in IAM_POLICY_EVENTS) + "}"


def make_trail(
    aws,
    name="audit",
    *,
    log_group=LOG_GROUP,
    log_group_region=REGION,
    multi_region=True,
    logging=True,
):
    s3 = aws.client("s3")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    cloudtrail = aws.client("cloudtrail")
    cloudtrail.create_trail(
        Name=name, S3BucketName=BUCKET, IsMultiRegionTrail=multi_region
    )
    if log_group:
        logs = aws.client("logs", region_name=log_group_region)
        logs.create_log_group(logGroupName=log_group)
        cloudtrail.update_trail(
            Name=name,
            CloudWatchLogsLogGroupArn=(
                f"arn:aws:logs:{log_group_region}:{ACCOUNT}:log-group:{log_group}:*"
            ),
            CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/CloudTrailToLogs",
        )
    if logging:
        cloudtrail.start_logging(Name=name)


def add_filter(
    aws, pattern, name="watch", metric="Watched", region=REGION, dimensions=None
):
    transformation = {
        "metricName": metric,
        "metricNamespace": "CISBenchmark",
        "metricValue": "1",
    }
    if dimensions:
        transformation["dimensions"] = dimensions
    aws.client("logs", region_name=region).put_metric_filter(
        logGroupName=LOG_GROUP,
        filterName=name,
        filterPattern=pattern,
        metricTransformations=[transformation],
    )


def make_topic(aws, name="security-alerts", region=REGION, protocol="sqs"):
    sns = aws.client("sns", region_name=region)
    topic = sns.create_topic(Name=name)["TopicArn"]
    if protocol == "sqs":
        sqs = aws.client("sqs", region_name=region)
        url = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        endpoint = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=endpoint)
    elif protocol == "email":
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="secops@example.com")
    return topic


def add_alarm(
    aws, actions, name="watch-alarm", metric="Watched", region=REGION, **extra
):
    arguments = {
        "AlarmName": name,
        "MetricName": metric,
        "Namespace": "CISBenchmark",
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "AlarmActions": actions,
    }
    arguments.update(extra)
    return aws.client("cloudwatch", region_name=region).put_metric_alarm(**arguments)


def full_chain(aws, pattern, **trail):
    make_trail(aws, **trail)
    add_filter(aws, pattern)
    topic = make_topic(aws)
    add_alarm(aws, [topic])
    return topic


def test_no_trail_fails(run_checks):
    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.FAIL
    assert finding.region == "global"
    assert finding.resource_id == ACCOUNT
    assert finding.message == (
        f"Account {ACCOUNT} has no multi-region trail, so no metric filter can "
        "match root user activity."
    )


def test_single_region_trail_fails(aws, run_checks):
    full_chain(aws, ROOT_PATTERN, multi_region=False)

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.FAIL
    assert "no multi-region trail" in finding.message
    assert finding.evidence["trails"] == []


def test_trail_not_logging_fails(aws, run_checks):
    full_chain(aws, ROOT_PATTERN, logging=False)

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == (
        "Multi-region trail audit is not logging, so no alarm can see root user "
        "activity."
    )


def test_trail_without_log_group_fails(aws, run_checks):
    make_trail(aws, log_group=None)

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.FAIL
    assert "does not send its events to CloudWatch Logs" in finding.message
    [trail] = finding.evidence["trails"]
    assert trail["log_group_arn"] is None


def test_log_group_without_filter_fails(aws, run_checks):
    make_trail(aws)

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"No metric filter on log group {LOG_GROUP} matches root user activity."
    )


def test_filter_without_alarm_fails(aws, run_checks):
    make_trail(aws)
    add_filter(aws, SG_PATTERN, name="sg-changes")

    [finding] = run_checks(SG_CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"Metric filter sg-changes on log group {LOG_GROUP} matches security group "
        "changes, but no alarm with actions enabled watches its metric."
    )


def test_alarm_on_other_metric_fails(aws, run_checks):
    make_trail(aws)
    add_filter(aws, ROOT_PATTERN)
    add_alarm(aws, [make_topic(aws)], metric="SomethingElse")

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.FAIL
    assert "no alarm with actions enabled" in finding.message


def test_alarm_without_topic_fails(aws, run_checks):
    make_trail(aws)
    add_filter(aws, ROOT_PATTERN)
    add_alarm(aws, [])

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == (
        "Alarm watch-alarm watches root user activity, but notifies no SNS topic."
    )


def test_alarm_actions_disabled_fails(aws, run_checks):
    make_trail(aws)
    add_filter(aws, ROOT_PATTERN)
    add_alarm(aws, [make_topic(aws)], ActionsEnabled=False)

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.FAIL
    assert "its actions are disabled" in finding.message


def test_topic_without_subscription_fails(aws, run_checks):
    make_trail(aws)
    add_filter(aws, ROOT_PATTERN)
    topic = make_topic(aws, protocol=None)
    add_alarm(aws, [topic])

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"Alarm watch-alarm watches root user activity, but SNS topic {topic} has "
        "no confirmed subscription."
    )


def test_pending_subscription_fails(aws, run_checks):
    # Moto confirms every subscription at once, so a botocore Stubber returns
    # ListSubscriptionsByTopic with a pending e-mail subscription, shaped as
    # the SNS API reference documents the response.
    make_trail(aws)
    add_filter(aws, ROOT_PATTERN)
    topic = make_topic(aws, protocol=None)
    add_alarm(aws, [topic])
    sns = boto3.client("sns", region_name=REGION)
    stubber = Stubber(sns)
    stubber.add_response(
        "list_subscriptions_by_topic",
        {
            "Subscriptions": [
                {
                    "SubscriptionArn": "PendingConfirmation",
                    "Owner": ACCOUNT,
                    "Protocol": "email",
                    "Endpoint": "secops@example.com",
                    "TopicArn": topic,
                }
            ]
        },
        {"TopicArn": topic},
    )
    stubber.activate()

    [finding] = run_checks(
        ROOT_CHECK, session=StubbedSession(aws, {("sns", REGION): sns})
    )

    assert finding.status == Status.FAIL
    assert "no confirmed subscription" in finding.message
    [topic_report] = finding.evidence["trails"][0]["metric_filters"][0]["alarms"][0][
        "sns_topics"
    ]
    assert topic_report["unconfirmed_subscriptions"] == 1
    assert topic_report["confirmed_subscriptions"] == 0
    assert "secops@example.com" not in json.dumps(finding.evidence)
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("check_id", "pattern", "events"),
    [
        (ROOT_CHECK, ROOT_PATTERN, "root user activity"),
        (CONSOLE_CHECK, CONSOLE_PATTERN, "failed console sign-ins"),
        (SG_CHECK, SG_PATTERN, "security group changes"),
        (IAM_CHECK, IAM_PATTERN, "IAM policy changes"),
    ],
)
def test_full_chain_passes(aws, run_checks, check_id, pattern, events):
    topic = full_chain(aws, pattern)

    [finding] = run_checks(check_id)

    assert finding.status == Status.PASS
    assert finding.resource_id == (
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:watch-alarm"
    )
    assert finding.message == (
        f"Alarm watch-alarm notifies SNS topic {topic}, which has 1 confirmed "
        f"subscription, when metric filter watch on log group {LOG_GROUP} matches "
        f"{events}."
    )
    evidence = finding.evidence
    assert evidence["trail"] == "audit"
    assert evidence["log_group"] == LOG_GROUP
    assert evidence["log_group_region"] == REGION
    assert evidence["metric_filter"] == "watch"
    assert evidence["filter_pattern"] == pattern
    assert evidence["metric"] == "CISBenchmark/Watched"
    assert evidence["alarm"] == "watch-alarm"
    assert evidence["sns_topic"]["confirmed_protocols"] == {"sqs": 1}


def test_evidence_hides_endpoints(aws, run_checks):
    make_trail(aws)
    add_filter(aws, ROOT_PATTERN)
    add_alarm(aws, [make_topic(aws, protocol="email")])

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.PASS
    assert finding.evidence["sns_topic"]["confirmed_protocols"] == {"email": 1}
    assert "secops@example.com" not in json.dumps(finding.evidence)


def test_filter_for_other_events_fails(aws, run_checks):
    full_chain(aws, SG_PATTERN)

    [finding] = run_checks(IAM_CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"No metric filter on log group {LOG_GROUP} matches IAM policy changes."
    )
    [report] = finding.evidence["trails"][0]["metric_filters"]
    assert report["covers_event_class"] is False
    assert report["reason"].startswith("does not match DeleteGroupPolicy")


def test_iam_filter_missing_event_fails(aws, run_checks):
    pattern = IAM_PATTERN.replace("||($.eventName=DetachGroupPolicy)", "")
    full_chain(aws, pattern)

    [finding] = run_checks(IAM_CHECK)

    assert finding.status == Status.FAIL
    [report] = finding.evidence["trails"][0]["metric_filters"]
    assert report["reason"] == "does not match DetachGroupPolicy"


def test_unparseable_filter_fails(aws, run_checks):
    full_chain(aws, "{ $.userIdentity.type == Root }")

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.FAIL
    [report] = finding.evidence["trails"][0]["metric_filters"]
    assert "'==' is not a filter pattern operator" in report["reason"]


def test_second_filter_passes(aws, run_checks):
    make_trail(aws)
    add_filter(aws, SG_PATTERN, name="a-sg-changes", metric="SecurityGroups")
    add_filter(aws, ROOT_PATTERN, name="b-root")
    add_alarm(aws, [make_topic(aws)])

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.PASS
    assert finding.evidence["metric_filter"] == "b-root"


def test_metric_math_alarm_passes(aws, run_checks):
    make_trail(aws)
    add_filter(aws, ROOT_PATTERN)
    topic = make_topic(aws)
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName="root-math",
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[topic],
        Metrics=[
            {
                "Id": "root",
                "MetricStat": {
                    "Metric": {"Namespace": "CISBenchmark", "MetricName": "Watched"},
                    "Period": 300,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
        ],
    )

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.PASS
    assert finding.evidence["alarm"] == "root-math"


def test_dimension_mismatch_fails(aws, run_checks):
    make_trail(aws)
    add_filter(aws, ROOT_PATTERN, dimensions={"Account": "$.recipientAccountId"})
    add_alarm(aws, [make_topic(aws)])

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.FAIL
    assert "no alarm with actions enabled" in finding.message


def test_dimension_match_passes(aws, run_checks):
    make_trail(aws)
    add_filter(aws, ROOT_PATTERN, dimensions={"Account": "$.recipientAccountId"})
    add_alarm(
        aws,
        [make_topic(aws)],
        Dimensions=[{"Name": "Account", "Value": ACCOUNT}],
    )

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.PASS


def test_log_group_in_other_region_passes(aws, run_checks):
    other = "eu-west-1"
    make_trail(aws, log_group_region=other)
    add_filter(aws, ROOT_PATTERN, region=other)
    add_alarm(aws, [make_topic(aws, region=other)], region=other)

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.PASS
    assert finding.evidence["log_group_region"] == other
    assert finding.resource_id.startswith(f"arn:aws:cloudwatch:{other}:")


def test_describe_trails_denied_is_error(aws, run_checks):
    deny(aws, "cloudtrail", "DescribeTrails")

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_metric_filters_denied_is_error(aws, run_checks):
    full_chain(aws, ROOT_PATTERN)
    deny(aws, "logs", "DescribeMetricFilters")

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["operation"] == "logs:DescribeMetricFilters"
    assert finding.message == (
        "logs:DescribeMetricFilters failed with AccessDenied, so the alarms on root "
        f"user activity in account {ACCOUNT} were not all evaluated."
    )


def test_subscriptions_denied_is_error(aws, run_checks):
    full_chain(aws, ROOT_PATTERN)
    deny(aws, "sns", "ListSubscriptionsByTopic")

    [finding] = run_checks(ROOT_CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_calls_shared_with_cloudtrail(aws, settings):
    full_chain(aws, ROOT_PATTERN)
    registry = load_checks()
    specs = [
        registry[check_id]
        for check_id in (
            "aws.cloudtrail.multi_region_logging",
            ROOT_CHECK,
            CONSOLE_CHECK,
            SG_CHECK,
            IAM_CHECK,
        )
    ]

    result = Collector(settings, specs, session=aws, regions=(REGION,)).run()

    assert result.api_calls["cloudtrail:DescribeTrails"] == 1
    assert result.api_calls["cloudtrail:GetTrailStatus"] == 1
    assert result.api_calls["logs:DescribeMetricFilters"] == 1
    assert result.api_calls["cloudwatch:DescribeAlarms"] == 1
