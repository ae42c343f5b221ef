"""Amazon EC2 checks: VPC flow logs.

DescribeVpcs and DescribeFlowLogs are each called once per account and region
without filters, and the check matches flow logs to VPCs by ``ResourceId``.
Flow logs attached only to a subnet or a network interface do not count for
the VPC.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.models import Finding, Severity, Status

ACTIVE = "ACTIVE"


@check(
    "aws.ec2.vpc_flow_logs_enabled",
    title="Every VPC has an active flow log",
    service="ec2",
    scope=Scope.REGION,
    resource_type="VPC",
    severity=Severity.MEDIUM,
    proves=(
        "At least one flow log whose resource is the VPC itself has the status "
        "ACTIVE. Flow logs on a subnet or network interface only do not count."
    ),
    permissions=["ec2:DescribeVpcs", "ec2:DescribeFlowLogs"],
)
def vpc_flow_logs_enabled(ctx: CheckContext) -> Iterator[Finding]:
    vpcs = ctx.call("ec2", "describe_vpcs").get("Vpcs", [])
    if not vpcs:
        return
    flow_logs = ctx.call("ec2", "describe_flow_logs").get("FlowLogs", [])

    by_resource: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for flow_log in flow_logs:
        by_resource[flow_log.get("ResourceId", "")].append(flow_log)

    for vpc in vpcs:
        yield _flow_log_finding(ctx, vpc, by_resource.get(vpc["VpcId"], []))


def _flow_log_finding(
    ctx: CheckContext, vpc: dict[str, Any], flow_logs: list[dict[str, Any]]
) -> Finding:
    vpc_id = vpc["VpcId"]
    owner = vpc.get("OwnerId") or ctx.account_id
    arn = f"arn:{ctx.partition}:ec2:{ctx.region}:{owner}:vpc/{vpc_id}"
    label = _vpc_label(vpc)
    evidence: dict[str, Any] = {
        "vpc_id": vpc_id,
        "name": name_tag(vpc),
        "owner_id": owner,
        "is_default": bool(vpc.get("IsDefault")),
        "cidr_block": vpc.get("CidrBlock"),
        "flow_logs": [_flow_log_evidence(flow_log) for flow_log in flow_logs],
    }

    # DescribeVpcs also lists VPCs that another account shares through AWS
    # RAM, but DescribeFlowLogs lists only this account's flow logs, so the
    # owner's flow logs on such a VPC cannot be seen from here.
    if owner != ctx.account_id:
        return ctx.finding(
            arn,
            Status.NOT_APPLICABLE,
            f"{label} is shared by account {owner}, whose flow logs on it are "
            f"not visible from account {ctx.account_id}.",
            evidence,
        )

    active = [
        flow_log["FlowLogId"]
        for flow_log in flow_logs
        if flow_log.get("FlowLogStatus") == ACTIVE
    ]
    if active:
        noun = "flow log" if len(active) == 1 else "flow logs"
        status = Status.PASS
        message = f"{label} has active {noun} {', '.join(active)}."
    elif flow_logs:
        status = Status.FAIL
        count = "1 flow log" if len(flow_logs) == 1 else f"{len(flow_logs)} flow logs"
        message = f"{label} has no active flow log among its {count}."
    else:
        status = Status.FAIL
        message = f"{label} has no flow log."
    return ctx.finding(arn, status, message, evidence)


def _flow_log_evidence(flow_log: dict[str, Any]) -> dict[str, Any]:
    # A CloudWatch Logs destination is named by LogGroupName in older flow
    # logs and by LogDestination in newer ones.
    destination = flow_log.get("LogDestination") or flow_log.get("LogGroupName")
    return {
        "flow_log_id": flow_log.get("FlowLogId"),
        "status": flow_log.get("FlowLogStatus"),
        "deliver_logs_status": flow_log.get("DeliverLogsStatus"),
        "traffic_type": flow_log.get("TrafficType"),
        "destination_type": flow_log.get("LogDestinationType"),
        "destination": destination,
    }


def _vpc_label(vpc: dict[str, Any]) -> str:
    # The Name tag is text the account owner chose, so it is shown as data only.
    kind = "Default VPC" if vpc.get("IsDefault") else "VPC"
    name = name_tag(vpc)
    if name:
        return f"{kind} {vpc['VpcId']} ({name})"
    return f"{kind} {vpc['VpcId']}"


def name_tag(resource: dict[str, Any]) -> str | None:
    """Return the value of an EC2 resource's ``Name`` tag, or ``None``."""
    for tag in resource.get("Tags") or []:
        if tag.get("Key") == "Name":
            return tag.get("Value")
    return None
