"""Seed the demo account's observability: alarms, alerts, logs, Config, Macie.

Production sends its organisation trail to a CloudWatch Logs log group kept
for 400 days. Metric filters there watch root user activity, IAM policy
changes, security group changes and failed console sign-ins, each with an
alarm that notifies the ``security-alerts`` SNS topic, whose SQS subscription
is confirmed. An EventBridge rule
sends GuardDuty findings of severity 7 or more to the same topic in eu-west-2
only. The application access logs are kept for 14 days. AWS Config records
in eu-west-2 only, Security Hub runs there with its default standards, and
Macie is enabled there and nowhere else. An EC2 instance and an EBS volume
lie in eu-west-2, and another pair in us-east-1, outside the approved
regions.

The sandbox has none of the alerting: a 7-day experiments log group, a
Config recorder that was never started, and no Macie.

The trail comes from ``seed_monitoring``, which must run first. Seeding calls
mutating APIs, expects a fresh simulated account such as a moto server, and
is not idempotent.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3

from auditbook.checks.monitored_events import (
    IAM_POLICY_EVENTS,
    SECURITY_GROUP_EVENTS,
)

logger = logging.getLogger(__name__)

PRIMARY_REGION = "eu-west-2"
RECOVERY_REGION = "eu-west-1"
UNAPPROVED_REGION = "us-east-1"
DEMO_REGIONS = (PRIMARY_REGION, RECOVERY_REGION, UNAPPROVED_REGION)
VARIANTS = ("production", "sandbox")

TRAIL_LOG_GROUP = "CloudTrail/organisation-audit"
ALARM_NAMESPACE = "CISBenchmark"
CONFIG_ROLE = "aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
# An image that every region of moto's simulated EC2 contains.
DEMO_IMAGE_ID = "ami-12c6146b"

# The CIS AWS Foundations Benchmark filter patterns, in the spacing people
# paste them with.
ROOT_USAGE_PATTERN = (
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
    '&& $.eventType != "AwsServiceEvent" }'
)
IAM_POLICY_PATTERN = (
    "{" + "||".join(f"($.eventName={name})" for name in IAM_POLICY_EVENTS) + "}"
)
CONSOLE_FAILURE_PATTERN = (
    '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'
)
SECURITY_GROUP_PATTERN = (
    "{ " + " || ".join(f"($.eventName = {n})" for n in SECURITY_GROUP_EVENTS) + " }"
)
GUARDDUTY_HIGH_SEVERITY = {
    "source": ["aws.guardduty"],
    "detail-type": ["GuardDuty Finding"],
    "detail": {"severity": [{"numeric": [">=", 7]}]},
}


def seed(session: boto3.Session, account_id: str, variant: str) -> None:
    """Create the demo alarms, alerts, log groups, Config, Security Hub and Macie.

    Args:
        session: the session whose endpoint and credentials reach the simulator.
        account_id: the simulated account, used in names and ARNs.
        variant: ``production`` or ``sandbox``.

    Raises:
        ValueError: the variant is not one of ``production`` or ``sandbox``.
        LookupError: production has no multi-region trail, because
            ``seed_monitoring`` has not run.
    """
    if variant not in VARIANTS:
        raise ValueError(
            f"variant {variant!r} is invalid; expected one of {', '.join(VARIANTS)}"
        )

    if variant == "production":
        _seed_production(session, account_id)
    else:
        _seed_sandbox(session, account_id)
    logger.info("seeded the %s observability of account %s", variant, account_id)


def _seed_production(session: boto3.Session, account_id: str) -> None:
    topic = _alert_topic(session)
    _send_trail_to_logs(session, account_id)
    _seed_metric_alarms(session, topic)
    _seed_guardduty_rule(session, topic)

    logs = session.client("logs", region_name=PRIMARY_REGION)
    logs.create_log_group(logGroupName="/northwind/payments-api/access")
    logs.put_retention_policy(
        logGroupName="/northwind/payments-api/access", retentionInDays=14
    )

    _seed_config_recorder(session, account_id, start=True)
    session.client("securityhub", region_name=PRIMARY_REGION).enable_security_hub(
        EnableDefaultStandards=True
    )
    _keep_macie_in(session, [PRIMARY_REGION])
    _seed_compute(session)


def _seed_sandbox(session: boto3.Session, account_id: str) -> None:
    logs = session.client("logs", region_name=PRIMARY_REGION)
    logs.create_log_group(logGroupName="/sandbox/experiments")
    logs.put_retention_policy(logGroupName="/sandbox/experiments", retentionInDays=7)

    _seed_config_recorder(session, account_id, start=False)
    _keep_macie_in(session, [])


def _alert_topic(session: boto3.Session) -> str:
    """Create the security-alerts topic with a confirmed SQS subscription."""
    sns = session.client("sns", region_name=PRIMARY_REGION)
    sqs = session.client("sqs", region_name=PRIMARY_REGION)
    topic = sns.create_topic(Name="security-alerts")["TopicArn"]

    queue_url = sqs.create_queue(QueueName="security-alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={"Policy": json.dumps(_queue_policy(queue_arn, topic))},
    )
    # SNS confirms an SQS subscription in the same account at once.
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic


def _send_trail_to_logs(session: boto3.Session, account_id: str) -> None:
    cloudtrail = session.client("cloudtrail", region_name=PRIMARY_REGION)
    trails = cloudtrail.describe_trails()["trailList"]
    multi_region = [trail for trail in trails if trail.get("IsMultiRegionTrail")]
    if not multi_region:
        raise LookupError(
            f"account {account_id} has no multi-region trail to send to CloudWatch "
            "Logs; run seed_monitoring first"
        )

    logs = session.client("logs", region_name=PRIMARY_REGION)
    logs.create_log_group(logGroupName=TRAIL_LOG_GROUP)
    logs.put_retention_policy(logGroupName=TRAIL_LOG_GROUP, retentionInDays=400)

    partition = session.get_partition_for_region(PRIMARY_REGION)
    log_group_arn = (
        f"arn:{partition}:logs:{PRIMARY_REGION}:{account_id}:log-group:"
        f"{TRAIL_LOG_GROUP}:*"
    )
    role_arn = _trail_delivery_role(session, log_group_arn)
    cloudtrail.update_trail(
        Name=multi_region[0]["TrailARN"],
        CloudWatchLogsLogGroupArn=log_group_arn,
        CloudWatchLogsRoleArn=role_arn,
    )


def _trail_delivery_role(session: boto3.Session, log_group_arn: str) -> str:
    iam = session.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role_arn = iam.create_role(
        RoleName="CloudTrailToCloudWatchLogs",
        AssumeRolePolicyDocument=json.dumps(trust),
    )["Role"]["Arn"]

    # The two actions CloudTrail needs to write to the log group's streams.
    delivery = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": log_group_arn,
            }
        ],
    }
    iam.put_role_policy(
        RoleName="CloudTrailToCloudWatchLogs",
        PolicyName="deliver-trail-events",
        PolicyDocument=json.dumps(delivery),
    )
    return role_arn


def _seed_metric_alarms(session: boto3.Session, topic: str) -> None:
    logs = session.client("logs", region_name=PRIMARY_REGION)
    cloudwatch = session.client("cloudwatch", region_name=PRIMARY_REGION)

    alarmed = (
        ("root-account-usage", "RootAccountUsage", ROOT_USAGE_PATTERN),
        ("iam-policy-changes", "IAMPolicyChanges", IAM_POLICY_PATTERN),
        ("security-group-changes", "SecurityGroupChanges", SECURITY_GROUP_PATTERN),
        ("console-sign-in-failures", "ConsoleSignInFailures", CONSOLE_FAILURE_PATTERN),
    )
    for name, metric, pattern in alarmed:
        _put_metric_filter(logs, name, metric, pattern)
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription=f"CloudTrail recorded {metric} events.",
            Namespace=ALARM_NAMESPACE,
            MetricName=metric,
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=[topic],
        )


def _put_metric_filter(logs: Any, name: str, metric: str, pattern: str) -> None:
    logs.put_metric_filter(
        logGroupName=TRAIL_LOG_GROUP,
        filterName=name,
        filterPattern=pattern,
        metricTransformations=[
            {
                "metricName": metric,
                "metricNamespace": ALARM_NAMESPACE,
                "metricValue": "1",
                "defaultValue": 0,
            }
        ],
    )


def _seed_guardduty_rule(session: boto3.Session, topic: str) -> None:
    # The recovery and unapproved regions have no rule, so their findings
    # would reach no one.
    events = session.client("events", region_name=PRIMARY_REGION)
    events.put_rule(
        Name="guardduty-high-severity",
        Description="Send GuardDuty findings of severity 7 or more to security.",
        EventPattern=json.dumps(GUARDDUTY_HIGH_SEVERITY),
        State="ENABLED",
    )
    events.put_targets(
        Rule="guardduty-high-severity",
        Targets=[{"Id": "security-alerts", "Arn": topic}],
    )


def _seed_config_recorder(
    session: boto3.Session, account_id: str, *, start: bool
) -> None:
    config = session.client("config", region_name=PRIMARY_REGION)
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{account_id}:role/{CONFIG_ROLE}",
            "recordingGroup": {
                "allSupported": True,
                "includeGlobalResourceTypes": True,
            },
        }
    )
    if not start:
        return

    bucket = f"config-history-{account_id}"
    s3 = session.client("s3", region_name=PRIMARY_REGION)
    s3.create_bucket(
        Bucket=bucket,
        CreateBucketConfiguration={"LocationConstraint": PRIMARY_REGION},
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    config.put_delivery_channel(
        DeliveryChannel={"name": "default", "s3BucketName": bucket}
    )
    config.start_configuration_recorder(ConfigurationRecorderName="default")


def _keep_macie_in(session: boto3.Session, regions: list[str]) -> None:
    # Moto 5.2 starts every region with a Macie session, so the seed turns
    # Macie off wherever the demo should show it disabled.
    for region in DEMO_REGIONS:
        if region not in regions:
            session.client("macie2", region_name=region).disable_macie()


def _seed_compute(session: boto3.Session) -> None:
    _launch(session, PRIMARY_REGION, "reporting-worker", encrypted=True)
    _launch(session, UNAPPROVED_REGION, "legacy-batch", encrypted=False)


def _launch(session: boto3.Session, region: str, name: str, *, encrypted: bool) -> None:
    ec2 = session.client("ec2", region_name=region)
    tags = [{"Key": "Name", "Value": name}]
    ec2.run_instances(
        ImageId=DEMO_IMAGE_ID,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        BlockDeviceMappings=[
            {
                "DeviceName": "/dev/xvda",
                "Ebs": {"VolumeSize": 8, "Encrypted": encrypted},
            }
        ],
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )
    ec2.create_volume(
        AvailabilityZone=f"{region}a",
        Size=20,
        Encrypted=encrypted,
        TagSpecifications=[
            {
                "ResourceType": "volume",
                "Tags": [{"Key": "Name", "Value": f"{name}-data"}],
            }
        ],
    )


def _queue_policy(queue_arn: str, topic_arn: str) -> dict[str, Any]:
    # The statement SNS needs to deliver to the queue, limited to the topic.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
