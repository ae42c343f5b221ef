"""Seed the demo account's network and block storage.

The seed builds a three-tier VPC in eu-west-2 and a smaller recovery VPC in
eu-west-1, with the mistakes an audit typically finds beside correct
configuration, so every security-group check has both verdicts to show. The
main VPC sends flow logs to CloudWatch Logs, and the recovery VPC has none.
EBS encryption by default is on in eu-west-2, where the data volume is
encrypted, and off in eu-west-1, where a scratch volume is not.

Seeding calls mutating EC2, CloudWatch Logs and IAM APIs. It expects a fresh
simulated account, such as a moto server, and is not idempotent.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3

logger = logging.getLogger(__name__)

PRIMARY_REGION = "eu-west-2"
RECOVERY_REGION = "eu-west-1"
VARIANTS = ("production", "sandbox")

PRIMARY_CIDR = "10.0.0.0/16"
RECOVERY_CIDR = "10.1.0.0/16"

ANYWHERE_V4 = "0.0.0.0/0"
ANYWHERE_V6 = "::/0"

FLOW_LOG_ROLE = "vpc-flow-logs-delivery"
FLOW_LOG_RETENTION_DAYS = 365


def seed(session: boto3.Session, account_id: str, variant: str) -> None:
    """Create the demo network in eu-west-2 and eu-west-1.

    Args:
        session: the session whose endpoint and credentials reach the simulator.
        account_id: the simulated account, recorded in tags.
        variant: ``production`` or ``sandbox``. The sandbox keeps the default
            security group of its main VPC and adds an open experiment group.

    Raises:
        ValueError: the variant is not one of ``production`` or ``sandbox``.
    """
    if variant not in VARIANTS:
        raise ValueError(
            f"variant {variant!r} is invalid, expected one of: {', '.join(VARIANTS)}"
        )

    primary = session.client("ec2", region_name=PRIMARY_REGION)
    recovery = session.client("ec2", region_name=RECOVERY_REGION)

    main_vpc_id = _seed_primary(primary, account_id, variant)
    _seed_recovery(recovery, account_id, variant)
    _seed_flow_log(session, primary, main_vpc_id, account_id, variant)
    _seed_volumes(primary, recovery, account_id, variant)
    logger.info("seeded the %s network of account %s", variant, account_id)


def _seed_primary(ec2: Any, account_id: str, variant: str) -> str:
    vpc_id = _create_vpc(ec2, PRIMARY_CIDR, f"{variant}-main", account_id, variant)
    zones = _zones(ec2)
    tags = _tags(account_id, variant)

    public = [
        _create_subnet(ec2, vpc_id, "10.0.0.0/24", zones[0], "web-a", tags),
        _create_subnet(ec2, vpc_id, "10.0.1.0/24", zones[1], "web-b", tags),
    ]
    _create_subnet(ec2, vpc_id, "10.0.10.0/24", zones[0], "app-a", tags)
    _create_subnet(ec2, vpc_id, "10.0.11.0/24", zones[1], "app-b", tags)
    _create_subnet(ec2, vpc_id, "10.0.20.0/24", zones[0], "db-a", tags)
    _create_subnet(ec2, vpc_id, "10.0.21.0/24", zones[1], "db-b", tags)
    _route_public_subnets(ec2, vpc_id, public, tags)

    web = _create_group(
        ec2,
        vpc_id,
        "web",
        "Load balancer: HTTPS and HTTP from the internet",
        tags,
        _tcp(443, cidr=ANYWHERE_V4),
        _tcp(443, cidr6=ANYWHERE_V6),
        _tcp(80, cidr=ANYWHERE_V4),
        _tcp(80, cidr6=ANYWHERE_V6),
    )
    app = _create_group(
        ec2, vpc_id, "app", "Application servers", tags, _tcp(8080, group=web)
    )
    _create_group(
        ec2,
        vpc_id,
        "db-postgres",
        "PostgreSQL, reachable from the app tier only",
        tags,
        _tcp(5432, group=app),
    )
    _create_group(
        ec2,
        vpc_id,
        "db-mysql-legacy",
        "Legacy MySQL, open to the whole VPC",
        tags,
        _tcp(3306, cidr=PRIMARY_CIDR),
    )
    _create_group(
        ec2,
        vpc_id,
        "bastion",
        "SSH bastion",
        tags,
        _tcp(22, cidr=ANYWHERE_V4),
    )
    if variant == "sandbox":
        _create_group(
            ec2,
            vpc_id,
            "experiment",
            "Temporary: everything open while testing",
            tags,
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": ANYWHERE_V4}]},
        )

    # Production empties its VPC's default group, so that every allowed flow
    # goes through a named group. The sandbox leaves it as AWS creates it.
    if variant == "production":
        _empty_default_group(ec2, vpc_id)
    else:
        _add_default_ingress(ec2, vpc_id)
    _add_default_ingress(ec2, _default_vpc_id(ec2))
    return vpc_id


def _seed_recovery(ec2: Any, account_id: str, variant: str) -> None:
    vpc_id = _create_vpc(ec2, RECOVERY_CIDR, f"{variant}-recovery", account_id, variant)
    zones = _zones(ec2)
    tags = _tags(account_id, variant)

    _create_subnet(ec2, vpc_id, "10.1.10.0/24", zones[0], "app-a", tags)
    _create_subnet(ec2, vpc_id, "10.1.20.0/24", zones[0], "db-a", tags)

    app = _create_group(ec2, vpc_id, "app", "Standby application servers", tags)
    _create_group(
        ec2,
        vpc_id,
        "db-replica",
        "PostgreSQL replica, reachable from the app tier only",
        tags,
        _tcp(5432, group=app),
    )
    _create_group(
        ec2,
        vpc_id,
        "windows-jump",
        "Remote desktop for the recovery runbook",
        tags,
        _tcp(3380, 3390, cidr6=ANYWHERE_V6),
    )
    _add_default_ingress(ec2, vpc_id)
    _add_default_ingress(ec2, _default_vpc_id(ec2))


def _seed_flow_log(
    session: boto3.Session, ec2: Any, vpc_id: str, account_id: str, variant: str
) -> None:
    # Only the main VPC gets a flow log. The recovery VPC and the default VPCs
    # have none, so the flow log check has failures to show.
    partition = session.get_partition_for_region(PRIMARY_REGION)
    group_name = f"/vpc/{variant}-main/flow-logs"
    group_arn = (
        f"arn:{partition}:logs:{PRIMARY_REGION}:{account_id}:log-group:{group_name}"
    )
    tags = _tags(account_id, variant)

    logs = session.client("logs", region_name=PRIMARY_REGION)
    logs.create_log_group(
        logGroupName=group_name, tags={tag["Key"]: tag["Value"] for tag in tags}
    )
    logs.put_retention_policy(
        logGroupName=group_name, retentionInDays=FLOW_LOG_RETENTION_DAYS
    )
    role_arn = _create_flow_log_role(session, group_arn, tags)

    ec2.create_flow_logs(
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="cloud-watch-logs",
        LogGroupName=group_name,
        DeliverLogsPermissionArn=role_arn,
        TagSpecifications=[{"ResourceType": "vpc-flow-log", "Tags": tags}],
    )


def _create_flow_log_role(
    session: boto3.Session, group_arn: str, tags: list[dict[str, str]]
) -> str:
    # The role VPC Flow Logs assumes to write to the log group, and nothing more.
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    delivery = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                "Resource": [group_arn, f"{group_arn}:*"],
            }
        ],
    }
    iam = session.client("iam", region_name=PRIMARY_REGION)
    role_arn = iam.create_role(
        RoleName=FLOW_LOG_ROLE,
        AssumeRolePolicyDocument=json.dumps(trust),
        Description="Lets VPC Flow Logs deliver to CloudWatch Logs",
        Tags=tags,
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=FLOW_LOG_ROLE,
        PolicyName="deliver-flow-logs",
        PolicyDocument=json.dumps(delivery),
    )
    return role_arn


def _seed_volumes(primary: Any, recovery: Any, account_id: str, variant: str) -> None:
    # Encryption by default is on in the primary region only. The scratch
    # volume in the recovery region was created without it, unencrypted.
    primary.enable_ebs_encryption_by_default()
    tags = _tags(account_id, variant)

    _create_volume(primary, "app-data", 100, tags, encrypted=True)
    _create_volume(recovery, "dr-scratch", 50, tags, encrypted=False)


def _create_volume(
    ec2: Any, name: str, size_gib: int, tags: list[dict], *, encrypted: bool
) -> str:
    zone = _zones(ec2)[0]
    response = ec2.create_volume(
        AvailabilityZone=zone,
        Size=size_gib,
        VolumeType="gp3",
        Encrypted=encrypted,
        TagSpecifications=[
            {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": name}, *tags]}
        ],
    )
    return response["VolumeId"]


def _create_vpc(ec2: Any, cidr: str, name: str, account_id: str, variant: str) -> str:
    tags = [{"Key": "Name", "Value": name}, *_tags(account_id, variant)]
    response = ec2.create_vpc(
        CidrBlock=cidr,
        TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}],
    )
    return response["Vpc"]["VpcId"]


def _create_subnet(
    ec2: Any, vpc_id: str, cidr: str, zone: str, name: str, tags: list[dict]
) -> str:
    response = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock=cidr,
        AvailabilityZone=zone,
        TagSpecifications=[
            {"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": name}, *tags]}
        ],
    )
    return response["Subnet"]["SubnetId"]


def _route_public_subnets(
    ec2: Any, vpc_id: str, subnet_ids: list[str], tags: list[dict]
) -> None:
    gateway_id = ec2.create_internet_gateway(
        TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": tags}]
    )["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=vpc_id)

    table_id = ec2.create_route_table(
        VpcId=vpc_id,
        TagSpecifications=[
            {
                "ResourceType": "route-table",
                "Tags": [{"Key": "Name", "Value": "public"}, *tags],
            }
        ],
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=table_id, DestinationCidrBlock=ANYWHERE_V4, GatewayId=gateway_id
    )
    for subnet_id in subnet_ids:
        ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)


def _create_group(
    ec2: Any,
    vpc_id: str,
    name: str,
    description: str,
    tags: list[dict],
    *permissions: dict[str, Any],
) -> str:
    group_id = ec2.create_security_group(
        GroupName=name,
        Description=description,
        VpcId=vpc_id,
        TagSpecifications=[
            {
                "ResourceType": "security-group",
                "Tags": [{"Key": "Name", "Value": name}, *tags],
            }
        ],
    )["GroupId"]
    if permissions:
        ec2.authorize_security_group_ingress(
            GroupId=group_id, IpPermissions=list(permissions)
        )
    return group_id


def _tcp(
    port: int,
    to_port: int | None = None,
    *,
    cidr: str | None = None,
    cidr6: str | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    permission: dict[str, Any] = {
        "IpProtocol": "tcp",
        "FromPort": port,
        "ToPort": to_port or port,
    }
    if cidr:
        permission["IpRanges"] = [{"CidrIp": cidr}]
    if cidr6:
        permission["Ipv6Ranges"] = [{"CidrIpv6": cidr6}]
    if group:
        permission["UserIdGroupPairs"] = [{"GroupId": group}]
    return permission


def _default_group(ec2: Any, vpc_id: str) -> dict[str, Any]:
    response = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )
    return response["SecurityGroups"][0]


def _empty_default_group(ec2: Any, vpc_id: str) -> None:
    group = _default_group(ec2, vpc_id)
    if group.get("IpPermissions"):
        ec2.revoke_security_group_ingress(
            GroupId=group["GroupId"], IpPermissions=group["IpPermissions"]
        )
    if group.get("IpPermissionsEgress"):
        ec2.revoke_security_group_egress(
            GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"]
        )


def _add_default_ingress(ec2: Any, vpc_id: str | None) -> None:
    # AWS creates every default group with an all-traffic ingress rule from
    # the group itself, but moto 5.2 creates only the egress rule.
    if vpc_id is None:
        return
    group = _default_group(ec2, vpc_id)
    if group.get("IpPermissions"):
        return
    ec2.authorize_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group["GroupId"]}]}
        ],
    )


def _default_vpc_id(ec2: Any) -> str | None:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])
    return vpcs["Vpcs"][0]["VpcId"] if vpcs["Vpcs"] else None


def _zones(ec2: Any) -> list[str]:
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    return sorted(zone["ZoneName"] for zone in zones)


def _tags(account_id: str, variant: str) -> list[dict[str, str]]:
    return [
        {"Key": "Environment", "Value": variant},
        {"Key": "Owner", "Value": f"platform-team-{account_id}"},
    ]
