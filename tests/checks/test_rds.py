"""Tests of the RDS checks: public access, subnet routing and encryption."""

from __future__ import annotations

from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.models import Status
from tests.conftest import REGION, StubbedSession, deny

DB_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:"


def create_instance(aws, name: str, **kwargs) -> dict:
    """Create a small PostgreSQL instance and return its description."""
    return aws.client("rds").create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="app_admin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
        **kwargs,
    )["DBInstance"]


def create_network(aws) -> dict[str, str]:
    """Create a VPC with an internet gateway, two subnets and a public table.

    Nothing is associated with the public table yet, so both subnets use the
    VPC's main table, which routes only inside the VPC.
    """
    ec2 = aws.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone)[
            "Subnet"
        ]["SubnetId"]
        for cidr, zone in (
            ("10.20.1.0/24", f"{REGION}a"),
            ("10.20.2.0/24", f"{REGION}b"),
        )
    ]
    gateway_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=vpc_id)
    public_table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=public_table,
        DestinationCidrBlock="0.0.0.0/0",
        GatewayId=gateway_id,
    )
    main_table = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"][0]["RouteTableId"]
    aws.client("rds").create_db_subnet_group(
        DBSubnetGroupName="northwind-db",
        DBSubnetGroupDescription="Database tier",
        SubnetIds=subnets,
    )
    return {
        "vpc": vpc_id,
        "subnet_a": subnets[0],
        "subnet_b": subnets[1],
        "gateway": gateway_id,
        "public_table": public_table,
        "main_table": main_table,
    }


def stub_describe_key(aws, key_arn: str, manager: str) -> StubbedSession:
    """Return a session whose DescribeKey response reports the given KeyManager.

    moto 5.2 reports every key, the aws/rds alias's key included, as
    KeyManager CUSTOMER, so a Stubber returns the response, checked against
    botocore's KMS model.
    """
    kms = aws.client("kms", region_name=REGION)
    stubber = Stubber(kms)
    stubber.add_response(
        "describe_key",
        {
            "KeyMetadata": {
                "AWSAccountId": ACCOUNT,
                "KeyId": key_arn.rsplit("/", 1)[-1],
                "Arn": key_arn,
                "Enabled": True,
                "KeyUsage": "ENCRYPT_DECRYPT",
                "KeyState": "Enabled",
                "Origin": "AWS_KMS",
                "KeyManager": manager,
                "KeySpec": "SYMMETRIC_DEFAULT",
                "Description": "Default key that protects my RDS database volumes",
            }
        },
        expected_params={"KeyId": key_arn},
    )
    stubber.activate()
    return StubbedSession(aws, {("kms", REGION): kms})


# aws.rds.not_publicly_accessible


def test_private_instance_passes(aws, run_checks):
    create_instance(aws, "northwind-payments-db", PubliclyAccessible=False)

    [finding] = run_checks("aws.rds.not_publicly_accessible")

    assert finding.status == Status.PASS
    assert finding.resource_id == f"{DB_ARN}northwind-payments-db"
    assert finding.region == REGION
    assert finding.evidence["publicly_accessible"] is False


def test_public_instance_fails(aws, run_checks):
    create_instance(aws, "northwind-reporting-db", PubliclyAccessible=True)

    [finding] = run_checks("aws.rds.not_publicly_accessible")

    assert finding.status == Status.FAIL
    assert "northwind-reporting-db is publicly accessible" in finding.message
    assert finding.evidence["publicly_accessible"] is True
    assert finding.evidence["engine"] == "postgres"


def test_no_instance_not_applicable(run_checks):
    [finding] = run_checks("aws.rds.not_publicly_accessible")

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"


def test_instances_denied_is_error(aws, run_checks):
    deny(aws, "rds", "DescribeDBInstances")

    [finding] = run_checks("aws.rds.not_publicly_accessible")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


# aws.rds.private_subnets


def test_subnets_on_private_main_table_pass(aws, run_checks):
    network = create_network(aws)
    create_instance(aws, "northwind-payments-db", DBSubnetGroupName="northwind-db")

    [finding] = run_checks("aws.rds.private_subnets")

    assert finding.status == Status.PASS
    assert finding.evidence["vpc_id"] == network["vpc"]
    assert finding.evidence["db_subnet_group"] == "northwind-db"
    assert {s["association"] for s in finding.evidence["subnets"]} == {"main"}
    assert {s["route_table_id"] for s in finding.evidence["subnets"]} == {
        network["main_table"]
    }


def test_subnet_with_igw_route_fails(aws, run_checks):
    network = create_network(aws)
    aws.client("ec2").associate_route_table(
        RouteTableId=network["public_table"], SubnetId=network["subnet_b"]
    )
    create_instance(aws, "northwind-reporting-db", DBSubnetGroupName="northwind-db")

    [finding] = run_checks("aws.rds.private_subnets")

    assert finding.status == Status.FAIL
    assert f"subnet {network['subnet_b']} with a 0.0.0.0/0 route" in finding.message
    routes = {s["subnet_id"]: s for s in finding.evidence["subnets"]}
    assert routes[network["subnet_b"]]["internet_gateway"] == network["gateway"]
    assert routes[network["subnet_b"]]["association"] == "explicit"
    assert routes[network["subnet_a"]]["internet_gateway"] is None


def test_public_main_table_fails(aws, run_checks):
    # A subnet without an explicit association uses the VPC's main table.
    network = create_network(aws)
    aws.client("ec2").create_route(
        RouteTableId=network["main_table"],
        DestinationCidrBlock="0.0.0.0/0",
        GatewayId=network["gateway"],
    )
    create_instance(aws, "northwind-reporting-db", DBSubnetGroupName="northwind-db")

    [finding] = run_checks("aws.rds.private_subnets")

    assert finding.status == Status.FAIL
    assert "subnets" in finding.message
    assert {s["association"] for s in finding.evidence["subnets"]} == {"main"}


def test_explicit_private_table_overrides_main(aws, run_checks):
    network = create_network(aws)
    ec2 = aws.client("ec2")
    ec2.create_route(
        RouteTableId=network["main_table"],
        DestinationCidrBlock="0.0.0.0/0",
        GatewayId=network["gateway"],
    )
    private_table = ec2.create_route_table(VpcId=network["vpc"])["RouteTable"][
        "RouteTableId"
    ]
    for subnet in (network["subnet_a"], network["subnet_b"]):
        ec2.associate_route_table(RouteTableId=private_table, SubnetId=subnet)
    create_instance(aws, "northwind-payments-db", DBSubnetGroupName="northwind-db")

    [finding] = run_checks("aws.rds.private_subnets")

    assert finding.status == Status.PASS
    assert {s["route_table_id"] for s in finding.evidence["subnets"]} == {private_table}


def test_blackhole_igw_route_passes(aws, run_checks):
    # moto 5.2 keeps a route active after its gateway is deleted, so a
    # Stubber returns DescribeRouteTables, checked against botocore's EC2
    # model.
    network = create_network(aws)
    create_instance(aws, "northwind-payments-db", DBSubnetGroupName="northwind-db")
    ec2 = aws.client("ec2", region_name=REGION)
    stubber = Stubber(ec2)
    stubber.add_response(
        "describe_route_tables",
        {
            "RouteTables": [
                {
                    "RouteTableId": "rtb-0main",
                    "VpcId": network["vpc"],
                    "Associations": [{"Main": True, "RouteTableId": "rtb-0main"}],
                    "Routes": [
                        {
                            "DestinationCidrBlock": "0.0.0.0/0",
                            "GatewayId": "igw-0deleted",
                            "State": "blackhole",
                        }
                    ],
                }
            ]
        },
    )

    with stubber:
        [finding] = run_checks(
            "aws.rds.private_subnets",
            session=StubbedSession(aws, {("ec2", REGION): ec2}),
        )

    assert finding.status == Status.PASS
    assert {s["route_table_id"] for s in finding.evidence["subnets"]} == {"rtb-0main"}


def test_instance_without_subnet_group(aws, run_checks):
    create_instance(aws, "northwind-legacy-db")

    [finding] = run_checks("aws.rds.private_subnets")

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == f"{DB_ARN}northwind-legacy-db"
    assert "no DB subnet group subnets" in finding.message


def test_no_instance_subnets_not_applicable(aws, run_checks):
    deny(aws, "ec2", "DescribeRouteTables")

    [finding] = run_checks("aws.rds.private_subnets")

    # Without an instance the route tables are never read.
    assert finding.status == Status.NOT_APPLICABLE


def test_route_tables_denied_is_error(aws, run_checks):
    create_network(aws)
    create_instance(aws, "northwind-payments-db", DBSubnetGroupName="northwind-db")
    deny(aws, "ec2", "DescribeRouteTables")

    [finding] = run_checks("aws.rds.private_subnets")

    assert finding.status == Status.ERROR
    assert finding.evidence["operation"] == "ec2:DescribeRouteTables"


# aws.rds.storage_encrypted


def test_encrypted_storage_passes(aws, run_checks):
    key_arn = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    create_instance(
        aws, "northwind-payments-db", StorageEncrypted=True, KmsKeyId=key_arn
    )

    [finding] = run_checks("aws.rds.storage_encrypted")

    assert finding.status == Status.PASS
    assert finding.evidence["storage_encrypted"] is True
    assert finding.evidence["kms_key_id"] == key_arn


def test_unencrypted_storage_fails(aws, run_checks):
    create_instance(aws, "northwind-reporting-db")

    [finding] = run_checks("aws.rds.storage_encrypted")

    assert finding.status == Status.FAIL
    assert "does not encrypt its storage" in finding.message


def test_storage_no_instance_not_applicable(run_checks):
    [finding] = run_checks("aws.rds.storage_encrypted")

    assert finding.status == Status.NOT_APPLICABLE


def test_storage_denied_is_error(aws, run_checks):
    deny(aws, "rds", "DescribeDBInstances")

    [finding] = run_checks("aws.rds.storage_encrypted")

    assert finding.status == Status.ERROR


# aws.rds.encrypted_with_cmk


def test_customer_managed_key_passes(aws, run_checks):
    key = aws.client("kms").create_key(Description="northwind-rds")["KeyMetadata"]
    create_instance(
        aws, "northwind-payments-db", StorageEncrypted=True, KmsKeyId=key["Arn"]
    )

    [finding] = run_checks("aws.rds.encrypted_with_cmk")

    assert finding.status == Status.PASS
    assert key["KeyId"] in finding.message
    assert finding.evidence["key_manager"] == "CUSTOMER"
    assert finding.evidence["key_arn"] == key["Arn"]


def test_aws_managed_key_fails(aws, run_checks):
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    create_instance(
        aws, "northwind-reporting-db", StorageEncrypted=True, KmsKeyId=key_arn
    )
    session = stub_describe_key(aws, key_arn, "AWS")

    [finding] = run_checks("aws.rds.encrypted_with_cmk", session=session)

    assert finding.status == Status.FAIL
    assert "AWS-managed KMS key" in finding.message
    assert finding.evidence["key_manager"] == "AWS"


def test_cmk_unencrypted_fails(aws, run_checks):
    create_instance(aws, "northwind-reporting-db")

    [finding] = run_checks("aws.rds.encrypted_with_cmk")

    assert finding.status == Status.FAIL
    assert "no customer-managed KMS key" in finding.message
    assert finding.evidence["storage_encrypted"] is False


def test_cmk_no_instance_not_applicable(run_checks):
    [finding] = run_checks("aws.rds.encrypted_with_cmk")

    assert finding.status == Status.NOT_APPLICABLE


def test_describe_key_denied_is_error_per_instance(aws, run_checks):
    key_arn = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    create_instance(
        aws, "northwind-payments-db", StorageEncrypted=True, KmsKeyId=key_arn
    )
    create_instance(aws, "northwind-reporting-db")
    deny(aws, "kms", "DescribeKey")

    findings = run_checks("aws.rds.encrypted_with_cmk")

    by_instance = {f.resource_id: f for f in findings}
    denied = by_instance[f"{DB_ARN}northwind-payments-db"]
    assert denied.status == Status.ERROR
    assert denied.evidence["operation"] == "kms:DescribeKey"
    assert by_instance[f"{DB_ARN}northwind-reporting-db"].status == Status.FAIL
