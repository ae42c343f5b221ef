"""Tests of the VPC flow log check."""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.checks.registry import load_checks
from auditbook.collect import Collector
from auditbook.demo import seed_network
from auditbook.models import Status
from tests.checks.test_ec2 import delete_default_vpc
from tests.conftest import REGION, StubbedSession, deny

CHECK = "aws.ec2.vpc_flow_logs_enabled"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/vpc-flow-logs-delivery"


def create_vpc(aws, name=None):
    tags = [{"Key": "Name", "Value": name}] if name else []
    request = {"CidrBlock": "10.0.0.0/16"}
    if tags:
        request["TagSpecifications"] = [{"ResourceType": "vpc", "Tags": tags}]
    return aws.client("ec2").create_vpc(**request)["Vpc"]["VpcId"]


def log_to_cloudwatch(aws, resource_id, resource_type="VPC", traffic="ALL"):
    """Create a flow log to a new CloudWatch Logs group and return its id."""
    group = f"/vpc/{resource_id}/flow-logs"
    aws.client("logs").create_log_group(logGroupName=group)
    response = aws.client("ec2").create_flow_logs(
        ResourceIds=[resource_id],
        ResourceType=resource_type,
        TrafficType=traffic,
        LogGroupName=group,
        DeliverLogsPermissionArn=ROLE_ARN,
    )
    [flow_log_id] = response["FlowLogIds"]
    return flow_log_id


def for_vpc(findings, vpc_id):
    [finding] = [f for f in findings if f.evidence.get("vpc_id") == vpc_id]
    return finding


def default_vpc_id(aws):
    [vpc] = aws.client("ec2").describe_vpcs(
        Filters=[{"Name": "is-default", "Values": ["true"]}]
    )["Vpcs"]
    return vpc["VpcId"]


def stubbed_run(aws, run_checks, vpcs, flow_logs):
    """Run the check on DescribeVpcs and DescribeFlowLogs responses from a Stubber."""
    ec2 = aws.client("ec2", region_name=REGION)
    stubber = Stubber(ec2)
    stubber.add_response("describe_vpcs", {"Vpcs": vpcs})
    stubber.add_response("describe_flow_logs", {"FlowLogs": flow_logs})

    with stubber:
        findings = run_checks(
            CHECK, session=StubbedSession(aws, {("ec2", REGION): ec2})
        )
    stubber.assert_no_pending_responses()
    return findings


def test_active_flow_log_passes(aws, run_checks):
    vpc_id = create_vpc(aws, "payments")
    flow_log_id = log_to_cloudwatch(aws, vpc_id, traffic="REJECT")

    finding = for_vpc(run_checks(CHECK), vpc_id)

    assert finding.status == Status.PASS
    assert finding.region == REGION
    assert finding.resource_id == f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{vpc_id}"
    assert finding.message == (
        f"VPC {vpc_id} (payments) has active flow log {flow_log_id}."
    )
    assert finding.evidence["name"] == "payments"
    assert finding.evidence["is_default"] is False
    assert finding.evidence["cidr_block"] == "10.0.0.0/16"
    assert finding.evidence["flow_logs"] == [
        {
            "flow_log_id": flow_log_id,
            "status": "ACTIVE",
            "deliver_logs_status": "SUCCESS",
            "traffic_type": "REJECT",
            "destination_type": "cloud-watch-logs",
            "destination": f"/vpc/{vpc_id}/flow-logs",
        }
    ]


def test_s3_flow_log_passes(aws, run_checks):
    vpc_id = create_vpc(aws)
    aws.client("s3").create_bucket(
        Bucket="northwind-flow-logs",
        CreateBucketConfiguration={"LocationConstraint": REGION},
    )
    aws.client("ec2").create_flow_logs(
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::northwind-flow-logs",
    )

    finding = for_vpc(run_checks(CHECK), vpc_id)

    assert finding.status == Status.PASS
    [flow_log] = finding.evidence["flow_logs"]
    assert flow_log["destination_type"] == "s3"
    assert flow_log["destination"] == "arn:aws:s3:::northwind-flow-logs"


def test_two_flow_logs_pass(aws, run_checks):
    vpc_id = create_vpc(aws)
    first = log_to_cloudwatch(aws, vpc_id)
    aws.client("logs").create_log_group(logGroupName="second")
    [second] = aws.client("ec2").create_flow_logs(
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType="REJECT",
        LogGroupName="second",
        DeliverLogsPermissionArn=ROLE_ARN,
    )["FlowLogIds"]

    finding = for_vpc(run_checks(CHECK), vpc_id)

    assert finding.status == Status.PASS
    assert finding.message == f"VPC {vpc_id} has active flow logs {first}, {second}."


def test_default_vpc_without_flow_log_fails(aws, run_checks):
    vpc_id = default_vpc_id(aws)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == f"Default VPC {vpc_id} has no flow log."
    assert finding.evidence["is_default"] is True
    assert finding.evidence["flow_logs"] == []


def test_subnet_flow_log_does_not_count(aws, run_checks):
    vpc_id = create_vpc(aws)
    subnet_id = aws.client("ec2").create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24")[
        "Subnet"
    ]["SubnetId"]
    log_to_cloudwatch(aws, subnet_id, resource_type="Subnet")

    finding = for_vpc(run_checks(CHECK), vpc_id)

    assert finding.status == Status.FAIL
    assert finding.evidence["flow_logs"] == []


def test_other_vpc_flow_log_does_not_count(aws, run_checks):
    logged = create_vpc(aws)
    log_to_cloudwatch(aws, logged)

    findings = run_checks(CHECK)

    assert for_vpc(findings, logged).status == Status.PASS
    assert for_vpc(findings, default_vpc_id(aws)).status == Status.FAIL


def test_inactive_flow_log_fails(aws, run_checks):
    # moto 5.2 reports every flow log as ACTIVE, and the Amazon EC2 API
    # Reference names no other FlowLogStatus value. A Stubber returns a
    # status that is not ACTIVE, to show that only ACTIVE counts.
    vpc = {"VpcId": "vpc-0stub", "OwnerId": ACCOUNT, "CidrBlock": "10.9.0.0/16"}
    flow_log = {
        "FlowLogId": "fl-0stub",
        "FlowLogStatus": "DELETING",
        "ResourceId": "vpc-0stub",
        "TrafficType": "ALL",
        "LogDestinationType": "cloud-watch-logs",
        "LogGroupName": "/vpc/flow-logs",
        "CreationTime": datetime(2024, 5, 1, tzinfo=UTC),
    }

    [finding] = stubbed_run(aws, run_checks, [vpc], [flow_log])

    assert finding.status == Status.FAIL
    assert finding.message == (
        "VPC vpc-0stub has no active flow log among its 1 flow log."
    )
    assert finding.evidence["flow_logs"][0]["status"] == "DELETING"


def test_shared_vpc_not_applicable(aws, run_checks):
    # moto 5.2 accepts a RAM share of a subnet but does not show its VPC to
    # the participant account, so a Stubber returns a DescribeVpcs response
    # with a VPC whose OwnerId is another account.
    owner = "111122223333"
    vpc = {"VpcId": "vpc-0shared", "OwnerId": owner, "CidrBlock": "10.8.0.0/16"}

    [finding] = stubbed_run(aws, run_checks, [vpc], [])

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == f"arn:aws:ec2:{REGION}:{owner}:vpc/vpc-0shared"
    assert finding.message == (
        f"VPC vpc-0shared is shared by account {owner}, whose flow logs on it are "
        f"not visible from account {ACCOUNT}."
    )


def test_no_vpc_not_applicable(aws, run_checks):
    delete_default_vpc(aws)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"
    assert finding.message == (
        f"No VPC exists in {REGION}, so there is nothing to evaluate."
    )


def test_describe_vpcs_denied_is_error(aws, run_checks):
    deny(aws, "ec2", "DescribeVpcs")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"
    assert finding.evidence["error_code"] == "AccessDenied"
    assert finding.evidence["operation"] == "ec2:DescribeVpcs"


def test_describe_flow_logs_denied_is_error(aws, run_checks):
    deny(aws, "ec2", "DescribeFlowLogs")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["operation"] == "ec2:DescribeFlowLogs"


def test_one_flow_log_call_per_region(aws, settings):
    for _ in range(3):
        log_to_cloudwatch(aws, create_vpc(aws))
    registry = load_checks()
    collector = Collector(
        settings, [registry[CHECK]], session=aws, regions=(REGION, "eu-west-1")
    )

    result = collector.run()

    assert result.api_calls["ec2:DescribeFlowLogs"] == 2
    assert result.api_calls["ec2:DescribeVpcs"] == 2
    assert len(result.findings) == 5


# The demo seed


def test_demo_flow_logs(aws, run_checks):
    seed_network.seed(aws, ACCOUNT, "production")

    findings = run_checks(CHECK, regions=(REGION, "eu-west-1"))

    verdicts = {(f.region, f.evidence["name"]): f.status for f in findings}
    assert verdicts == {
        (REGION, "production-main"): Status.PASS,
        (REGION, None): Status.FAIL,
        ("eu-west-1", "production-recovery"): Status.FAIL,
        ("eu-west-1", None): Status.FAIL,
    }
    main = next(f for f in findings if f.evidence["name"] == "production-main")
    [flow_log] = main.evidence["flow_logs"]
    assert flow_log["deliver_logs_status"] == "SUCCESS"
    assert flow_log["destination"] == "/vpc/production-main/flow-logs"
