import dataclasses

import pytest

from auditbook.checks.registry import load_checks
from auditbook.collect import Collector
from auditbook.demo import seed_network
from auditbook.models import Status
from tests.conftest import REGION, deny

ACCOUNT = "123456789012"

SSH = "aws.ec2.sg_no_public_ssh"
RDP = "aws.ec2.sg_no_public_rdp"
PUBLIC_DB = "aws.ec2.sg_no_public_db_ports"
DB_FROM_SG = "aws.ec2.sg_db_ports_from_sg_only"
DEFAULT_SG = "aws.ec2.default_sg_closed"
SG_CHECKS = (SSH, RDP, PUBLIC_DB, DB_FROM_SG, DEFAULT_SG)


@pytest.fixture
def vpc(aws):
    """Return the id of a fresh 10.0.0.0/16 VPC in the test region."""
    return aws.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]


def make_group(aws, vpc_id, name, *permissions, region=REGION):
    ec2 = aws.client("ec2", region_name=region)
    group_id = ec2.create_security_group(
        GroupName=name, Description=f"{name} tier", VpcId=vpc_id
    )["GroupId"]
    if permissions:
        ec2.authorize_security_group_ingress(
            GroupId=group_id, IpPermissions=list(permissions)
        )
    return group_id


def tcp(port, to_port=None, **peers):
    return rule("tcp", port, to_port or port, **peers)


def rule(protocol, from_port=None, to_port=None, cidr=None, cidr6=None, **refs):
    permission = {"IpProtocol": protocol}
    if from_port is not None:
        permission.update(FromPort=from_port, ToPort=to_port)
    if cidr:
        permission["IpRanges"] = [{"CidrIp": cidr}]
    if cidr6:
        permission["Ipv6Ranges"] = [{"CidrIpv6": cidr6}]
    if "group" in refs:
        permission["UserIdGroupPairs"] = [{"GroupId": refs["group"]}]
    if "prefix_list" in refs:
        permission["PrefixListIds"] = [{"PrefixListId": refs["prefix_list"]}]
    return permission


def for_group(findings, group_id):
    [finding] = [f for f in findings if f.evidence.get("group_id") == group_id]
    return finding


def delete_default_vpc(aws, region=REGION):
    """Delete the default VPC, the only source of security groups in a new region."""
    ec2 = aws.client("ec2", region_name=region)
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
        "Vpcs"
    ]
    for subnet in ec2.describe_subnets()["Subnets"]:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    for gateway in ec2.describe_internet_gateways()["InternetGateways"]:
        gateway_id = gateway["InternetGatewayId"]
        ec2.detach_internet_gateway(InternetGatewayId=gateway_id, VpcId=vpc["VpcId"])
        ec2.delete_internet_gateway(InternetGatewayId=gateway_id)
    ec2.delete_vpc(VpcId=vpc["VpcId"])


def prefix_list(aws):
    return aws.client("ec2").create_managed_prefix_list(
        PrefixListName="office",
        AddressFamily="IPv4",
        MaxEntries=5,
        Entries=[{"Cidr": "203.0.113.0/24"}],
    )["PrefixList"]["PrefixListId"]


# aws.ec2.sg_no_public_ssh


def test_ssh_open_to_world_fails(aws, vpc, run_checks):
    group_id = make_group(aws, vpc, "bastion", tcp(22, cidr="0.0.0.0/0"))

    finding = for_group(run_checks(SSH), group_id)

    assert finding.status == Status.FAIL
    assert finding.region == REGION
    assert finding.resource_id == (
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group_id}"
    )
    assert finding.message == (
        f"Security group {group_id} (bastion) allows 0.0.0.0/0 on port 22."
    )
    assert finding.evidence["group_name"] == "bastion"
    assert finding.evidence["vpc_id"] == vpc
    assert finding.evidence["offending_rules"] == [
        {
            "protocol": "tcp",
            "port_range": "22",
            "source": "0.0.0.0/0",
            "source_type": "ipv4",
            "matched_ports": [22],
        }
    ]


def test_ssh_all_traffic_from_ipv6_fails(aws, vpc, run_checks):
    group_id = make_group(aws, vpc, "open", rule("-1", cidr6="::/0"))

    finding = for_group(run_checks(SSH), group_id)

    assert finding.status == Status.FAIL
    assert "::/0" in finding.message
    assert finding.evidence["offending_rules"][0]["port_range"] == "all"


def test_ssh_in_port_range_fails(aws, vpc, run_checks):
    group_id = make_group(aws, vpc, "legacy", tcp(20, 23, cidr="0.0.0.0/0"))

    finding = for_group(run_checks(SSH), group_id)

    assert finding.status == Status.FAIL
    assert finding.evidence["offending_rules"][0]["port_range"] == "20-23"


def test_ssh_from_private_sources_passes(aws, vpc, run_checks):
    web = make_group(aws, vpc, "web")
    group_id = make_group(
        aws,
        vpc,
        "admin",
        tcp(22, cidr="10.0.0.0/16"),
        tcp(22, group=web),
        tcp(22, prefix_list=prefix_list(aws)),
    )

    finding = for_group(run_checks(SSH), group_id)

    assert finding.status == Status.PASS
    assert finding.evidence["offending_rules"] == []
    assert finding.message == (
        f"Security group {group_id} (admin) allows neither 0.0.0.0/0 nor ::/0 "
        "on port 22."
    )


def test_ssh_udp_port_passes(aws, vpc, run_checks):
    group_id = make_group(aws, vpc, "mosh", rule("udp", 22, 22, cidr="0.0.0.0/0"))

    finding = for_group(run_checks(SSH), group_id)

    assert finding.status == Status.PASS


def test_ssh_one_finding_per_group(aws, vpc, run_checks):
    make_group(aws, vpc, "web")

    findings = run_checks(SSH)

    # The default VPC's default group, the new VPC's default group and "web".
    assert len(findings) == 3
    assert {f.status for f in findings} == {Status.PASS}


def test_ssh_no_groups_not_applicable(aws, run_checks):
    delete_default_vpc(aws)

    [finding] = run_checks(SSH)

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"


def test_ssh_access_denied_is_error(aws, run_checks):
    deny(aws, "ec2", "DescribeSecurityGroups")

    [finding] = run_checks(SSH)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


# aws.ec2.sg_no_public_rdp


def test_rdp_range_open_to_ipv6_fails(aws, vpc, run_checks):
    group_id = make_group(aws, vpc, "jump", tcp(3380, 3390, cidr6="::/0"))

    finding = for_group(run_checks(RDP), group_id)

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"Security group {group_id} (jump) allows ::/0 on port 3389."
    )
    assert finding.evidence["offending_rules"][0]["source_type"] == "ipv6"


def test_rdp_from_office_range_passes(aws, vpc, run_checks):
    group_id = make_group(aws, vpc, "jump", tcp(3389, cidr="203.0.113.0/24"))

    finding = for_group(run_checks(RDP), group_id)

    assert finding.status == Status.PASS


def test_rdp_ignores_ssh_rule(aws, vpc, run_checks):
    group_id = make_group(aws, vpc, "bastion", tcp(22, cidr="0.0.0.0/0"))

    finding = for_group(run_checks(RDP), group_id)

    assert finding.status == Status.PASS


def test_rdp_no_groups_not_applicable(aws, run_checks):
    delete_default_vpc(aws)

    [finding] = run_checks(RDP)

    assert finding.status == Status.NOT_APPLICABLE


def test_rdp_access_denied_is_error(aws, run_checks):
    deny(aws, "ec2", "DescribeSecurityGroups")

    [finding] = run_checks(RDP)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


# aws.ec2.sg_no_public_db_ports


def test_public_db_ports_fail(aws, vpc, run_checks):
    group_id = make_group(
        aws,
        vpc,
        "db",
        tcp(5432, cidr="0.0.0.0/0"),
        tcp(3306, cidr6="::/0"),
    )

    finding = for_group(run_checks(PUBLIC_DB), group_id)

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"Security group {group_id} (db) allows 0.0.0.0/0 and ::/0 on ports "
        "3306 and 5432."
    )
    assert len(finding.evidence["offending_rules"]) == 2


def test_public_range_over_db_ports_fails(aws, vpc, run_checks):
    group_id = make_group(aws, vpc, "wide", tcp(1000, 10000, cidr="0.0.0.0/0"))

    finding = for_group(run_checks(PUBLIC_DB), group_id)

    assert finding.status == Status.FAIL
    assert finding.evidence["offending_rules"][0]["matched_ports"] == [
        1433,
        1521,
        3306,
        5432,
        6379,
        9200,
    ]


def test_public_web_ports_pass(aws, vpc, run_checks):
    group_id = make_group(
        aws, vpc, "web", tcp(443, cidr="0.0.0.0/0"), tcp(80, cidr6="::/0")
    )

    finding = for_group(run_checks(PUBLIC_DB), group_id)

    assert finding.status == Status.PASS
    assert finding.evidence["ports"] == [
        5432,
        3306,
        1433,
        1521,
        27017,
        6379,
        11211,
        9200,
    ]


def test_db_ports_follow_settings(aws, vpc, run_checks, settings):
    group_id = make_group(aws, vpc, "search", tcp(8983, cidr="0.0.0.0/0"))
    custom = dataclasses.replace(settings, database_ports=(8983,))

    default_finding = for_group(run_checks(PUBLIC_DB), group_id)
    custom_finding = for_group(run_checks(PUBLIC_DB, settings=custom), group_id)

    assert default_finding.status == Status.PASS
    assert custom_finding.status == Status.FAIL
    assert "port 8983" in custom_finding.message


def test_public_db_no_groups_not_applicable(aws, run_checks):
    delete_default_vpc(aws)

    [finding] = run_checks(PUBLIC_DB)

    assert finding.status == Status.NOT_APPLICABLE


def test_public_db_access_denied_is_error(aws, run_checks):
    deny(aws, "ec2", "DescribeSecurityGroups")

    [finding] = run_checks(PUBLIC_DB)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


# aws.ec2.sg_db_ports_from_sg_only


def test_db_port_from_group_passes(aws, vpc, run_checks):
    app = make_group(aws, vpc, "app")
    group_id = make_group(aws, vpc, "db", tcp(5432, group=app))

    finding = for_group(run_checks(DB_FROM_SG), group_id)

    assert finding.status == Status.PASS
    assert finding.message == (
        f"Security group {group_id} (db) allows port 5432 only from security "
        f"group {app}."
    )
    assert finding.evidence["offending_rules"] == []


def test_db_port_from_vpc_cidr_fails(aws, vpc, run_checks):
    group_id = make_group(aws, vpc, "mysql", tcp(3306, cidr="10.0.0.0/16"))

    finding = for_group(run_checks(DB_FROM_SG), group_id)

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"Security group {group_id} (mysql) allows 10.0.0.0/16 on port 3306 "
        "instead of a security-group reference."
    )
    assert finding.evidence["offending_rules"][0]["source"] == "10.0.0.0/16"


def test_db_port_from_ipv6_cidr_fails(aws, vpc, run_checks):
    group_id = make_group(aws, vpc, "redis", tcp(6379, cidr6="2001:db8::/56"))

    finding = for_group(run_checks(DB_FROM_SG), group_id)

    assert finding.status == Status.FAIL


def test_db_port_from_prefix_list_fails(aws, vpc, run_checks):
    prefix_list_id = prefix_list(aws)
    group_id = make_group(aws, vpc, "pg", tcp(5432, prefix_list=prefix_list_id))

    finding = for_group(run_checks(DB_FROM_SG), group_id)

    assert finding.status == Status.FAIL
    assert finding.evidence["offending_rules"][0]["source_type"] == "prefix-list"


def test_all_traffic_from_cidr_fails(aws, vpc, run_checks):
    group_id = make_group(aws, vpc, "flat", rule("-1", cidr="10.0.0.0/8"))

    finding = for_group(run_checks(DB_FROM_SG), group_id)

    assert finding.status == Status.FAIL
    assert finding.evidence["offending_rules"][0]["matched_ports"] == [
        1433,
        1521,
        3306,
        5432,
        6379,
        9200,
        11211,
        27017,
    ]


def test_group_reference_beside_cidr_fails(aws, vpc, run_checks):
    app = make_group(aws, vpc, "app")
    group_id = make_group(
        aws, vpc, "db", tcp(5432, group=app), tcp(5432, cidr="10.0.1.0/24")
    )

    finding = for_group(run_checks(DB_FROM_SG), group_id)

    assert finding.status == Status.FAIL
    assert [r["source"] for r in finding.evidence["offending_rules"]] == ["10.0.1.0/24"]


def test_no_db_ingress_passes(aws, vpc, run_checks):
    group_id = make_group(aws, vpc, "web", tcp(443, cidr="0.0.0.0/0"))

    finding = for_group(run_checks(DB_FROM_SG), group_id)

    assert finding.status == Status.PASS
    assert "no ingress rule on a database port" in finding.message


def test_db_from_sg_no_groups_not_applicable(aws, run_checks):
    delete_default_vpc(aws)

    [finding] = run_checks(DB_FROM_SG)

    assert finding.status == Status.NOT_APPLICABLE


def test_db_from_sg_access_denied_is_error(aws, run_checks):
    deny(aws, "ec2", "DescribeSecurityGroups")

    [finding] = run_checks(DB_FROM_SG)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


# aws.ec2.default_sg_closed


def default_group(aws, vpc_id):
    [group] = aws.client("ec2").describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    return group


def test_default_group_with_egress_fails(aws, vpc, run_checks):
    group = default_group(aws, vpc)

    finding = for_group(run_checks(DEFAULT_SG), group["GroupId"])

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"Default security group {group['GroupId']} of {vpc} has 0 ingress rules "
        "and 1 egress rule."
    )
    assert finding.evidence["egress_rules"] == [
        {
            "protocol": "all",
            "port_range": "all",
            "destination": "0.0.0.0/0",
            "destination_type": "ipv4",
        }
    ]


def test_default_group_with_self_ingress_fails(aws, vpc, run_checks):
    group = default_group(aws, vpc)
    ec2 = aws.client("ec2")
    ec2.revoke_security_group_egress(
        GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"]
    )
    ec2.authorize_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[rule("-1", group=group["GroupId"])],
    )

    finding = for_group(run_checks(DEFAULT_SG), group["GroupId"])

    assert finding.status == Status.FAIL
    assert finding.evidence["ingress_rules"][0]["source"] == group["GroupId"]
    assert finding.evidence["egress_rules"] == []


def test_emptied_default_group_passes(aws, vpc, run_checks):
    group = default_group(aws, vpc)
    aws.client("ec2").revoke_security_group_egress(
        GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"]
    )

    finding = for_group(run_checks(DEFAULT_SG), group["GroupId"])

    assert finding.status == Status.PASS
    assert finding.message == (
        f"Default security group {group['GroupId']} of {vpc} has no ingress or "
        "egress rules."
    )


def test_only_default_groups_judged(aws, vpc, run_checks):
    web = make_group(aws, vpc, "web", tcp(443, cidr="0.0.0.0/0"))

    findings = run_checks(DEFAULT_SG)

    assert len(findings) == 2
    assert {f.evidence["group_name"] for f in findings} == {"default"}
    assert web not in {f.evidence["group_id"] for f in findings}


def test_default_group_no_vpc_not_applicable(aws, run_checks):
    delete_default_vpc(aws)

    [finding] = run_checks(DEFAULT_SG)

    assert finding.status == Status.NOT_APPLICABLE


def test_default_group_access_denied_is_error(aws, run_checks):
    deny(aws, "ec2", "DescribeSecurityGroups")

    [finding] = run_checks(DEFAULT_SG)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


# All five checks together


def test_one_describe_call_per_region(aws, settings):
    registry = load_checks()
    specs = [registry[check_id] for check_id in SG_CHECKS]
    collector = Collector(settings, specs, session=aws, regions=(REGION, "eu-west-1"))

    result = collector.run()

    assert result.api_calls["ec2:DescribeSecurityGroups"] == 2
    assert {f.region for f in result.findings} == {REGION, "eu-west-1"}


def test_denied_describe_errors_every_check(aws, run_checks):
    deny(aws, "ec2", "DescribeSecurityGroups")

    findings = run_checks(*SG_CHECKS)

    assert sorted(f.check_id for f in findings) == sorted(SG_CHECKS)
    assert {f.status for f in findings} == {Status.ERROR}


def test_group_name_is_data(aws, vpc, run_checks):
    name = "web ]<script>{{ x }}"
    group_id = make_group(aws, vpc, name, tcp(22, cidr="0.0.0.0/0"))

    finding = for_group(run_checks(SSH), group_id)

    assert finding.evidence["group_name"] == name
    assert f"({name})" in finding.message


# The demo seed


def verdicts(findings, check_id):
    return {
        (f.region, f.evidence["group_name"]): f.status
        for f in findings
        if f.check_id == check_id and f.evidence["group_name"] != "default"
    }


def default_verdicts(findings, region):
    return sorted(
        f.status for f in findings if f.check_id == DEFAULT_SG and f.region == region
    )


def test_demo_production_network(aws, run_checks):
    seed_network.seed(aws, ACCOUNT, "production")

    findings = run_checks(*SG_CHECKS, regions=(REGION, "eu-west-1"))

    ssh = verdicts(findings, SSH)
    rdp = verdicts(findings, RDP)
    db_from_sg = verdicts(findings, DB_FROM_SG)
    assert ssh[(REGION, "bastion")] == Status.FAIL
    assert ssh[(REGION, "web")] == Status.PASS
    assert rdp[("eu-west-1", "windows-jump")] == Status.FAIL
    assert db_from_sg[(REGION, "db-postgres")] == Status.PASS
    assert db_from_sg[(REGION, "db-mysql-legacy")] == Status.FAIL
    assert db_from_sg[("eu-west-1", "db-replica")] == Status.PASS
    assert set(verdicts(findings, PUBLIC_DB).values()) == {Status.PASS}
    # The seeded VPC's default group is emptied, but the default VPC's is not.
    assert default_verdicts(findings, REGION) == [Status.FAIL, Status.PASS]
    assert default_verdicts(findings, "eu-west-1") == [Status.FAIL, Status.FAIL]


def test_demo_sandbox_network(aws, run_checks):
    seed_network.seed(aws, ACCOUNT, "sandbox")

    findings = run_checks(*SG_CHECKS, regions=(REGION, "eu-west-1"))

    for check_id in (SSH, RDP, PUBLIC_DB, DB_FROM_SG):
        assert verdicts(findings, check_id)[(REGION, "experiment")] == Status.FAIL
    assert default_verdicts(findings, REGION) == [Status.FAIL, Status.FAIL]


def test_demo_rejects_unknown_variant(aws):
    with pytest.raises(ValueError, match="'staging' is invalid"):
        seed_network.seed(aws, ACCOUNT, "staging")
