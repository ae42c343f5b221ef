"""Amazon RDS checks: public access, subnet routing and storage encryption.

Every check reads the same DescribeDBInstances response, fetched once per
account and region, and gives one finding per DB instance. The API also lists
Aurora, DocumentDB and Neptune instances, so they are judged too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

DEFAULT_ROUTE = "0.0.0.0/0"
INTERNET_GATEWAY_PREFIX = "igw-"
CUSTOMER_MANAGED = "CUSTOMER"

INSTANCE_LISTING = ["rds:DescribeDBInstances"]


@check(
    "aws.rds.not_publicly_accessible",
    title="RDS instances are not publicly accessible",
    service="rds",
    scope=Scope.REGION,
    resource_type="DB instance",
    severity=Severity.CRITICAL,
    proves="The DB instance's PubliclyAccessible attribute is false.",
    permissions=INSTANCE_LISTING,
)
def not_publicly_accessible(ctx: CheckContext) -> Iterator[Finding]:
    for instance in _instances(ctx):
        public = bool(instance.get("PubliclyAccessible"))
        evidence = _instance_evidence(instance)
        evidence["publicly_accessible"] = public

        name = instance["DBInstanceIdentifier"]
        if public:
            status = Status.FAIL
            message = f"DB instance {name} is publicly accessible."
        else:
            status = Status.PASS
            message = f"DB instance {name} is not publicly accessible."
        yield ctx.finding(instance["DBInstanceArn"], status, message, evidence)


@check(
    "aws.rds.private_subnets",
    title="RDS instances sit in subnets without an internet route",
    service="rds",
    scope=Scope.REGION,
    resource_type="DB instance",
    severity=Severity.HIGH,
    proves=(
        "No subnet of the DB instance's DB subnet group has a route table "
        "(its explicitly associated table, or else the VPC's main table) with "
        "an active 0.0.0.0/0 route to an internet gateway."
    ),
    permissions=[*INSTANCE_LISTING, "ec2:DescribeRouteTables"],
)
def private_subnets(ctx: CheckContext) -> Iterator[Finding]:
    instances = _instances(ctx)
    if not instances:
        return
    tables = _route_tables(ctx)

    for instance in instances:
        name = instance["DBInstanceIdentifier"]
        arn = instance["DBInstanceArn"]
        group = instance.get("DBSubnetGroup") or {}
        evidence = _instance_evidence(instance)
        evidence["db_subnet_group"] = group.get("DBSubnetGroupName")
        evidence["vpc_id"] = group.get("VpcId")

        subnet_ids = [s["SubnetIdentifier"] for s in group.get("Subnets", [])]
        if not subnet_ids:
            yield ctx.finding(
                arn,
                Status.NOT_APPLICABLE,
                f"DB instance {name} reports no DB subnet group subnets, so it "
                "has no subnet routes to evaluate.",
                evidence,
            )
            continue

        routes = [tables.subnet_route(group.get("VpcId"), s) for s in subnet_ids]
        evidence["subnets"] = routes
        missing = [r["subnet_id"] for r in routes if r["route_table_id"] is None]
        public = [r["subnet_id"] for r in routes if r["internet_gateway"]]

        if missing:
            error = AwsCallError(
                "RouteTableNotFound",
                "ec2:DescribeRouteTables",
                f"no route table found for subnets {', '.join(missing)}",
            )
            yield ctx.error(error, resource_id=arn)
        elif public:
            yield ctx.finding(
                arn,
                Status.FAIL,
                f"DB instance {name} uses {_subnets(public)} {', '.join(public)} "
                "with a 0.0.0.0/0 route to an internet gateway.",
                evidence,
            )
        else:
            yield ctx.finding(
                arn,
                Status.PASS,
                f"DB instance {name} uses only subnets without a route to an "
                "internet gateway.",
                evidence,
            )


@check(
    "aws.rds.storage_encrypted",
    title="RDS instances encrypt their storage",
    service="rds",
    scope=Scope.REGION,
    resource_type="DB instance",
    severity=Severity.HIGH,
    proves="The DB instance's StorageEncrypted attribute is true.",
    permissions=INSTANCE_LISTING,
)
def storage_encrypted(ctx: CheckContext) -> Iterator[Finding]:
    for instance in _instances(ctx):
        encrypted = bool(instance.get("StorageEncrypted"))
        evidence = _instance_evidence(instance)
        evidence["storage_encrypted"] = encrypted
        evidence["kms_key_id"] = instance.get("KmsKeyId")

        name = instance["DBInstanceIdentifier"]
        if encrypted:
            status = Status.PASS
            message = f"DB instance {name} encrypts its storage."
        else:
            status = Status.FAIL
            message = f"DB instance {name} does not encrypt its storage."
        yield ctx.finding(instance["DBInstanceArn"], status, message, evidence)


@check(
    "aws.rds.encrypted_with_cmk",
    title="RDS instances encrypt with a customer-managed KMS key",
    service="rds",
    scope=Scope.REGION,
    resource_type="DB instance",
    severity=Severity.MEDIUM,
    proves=(
        "The DB instance's storage is encrypted with a KMS key whose KeyManager "
        "is CUSTOMER, not the AWS-managed aws/rds key. An unencrypted instance "
        "fails, because it uses no customer-managed key at all."
    ),
    permissions=[*INSTANCE_LISTING, "kms:DescribeKey"],
)
def encrypted_with_cmk(ctx: CheckContext) -> Iterator[Finding]:
    for instance in _instances(ctx):
        name = instance["DBInstanceIdentifier"]
        arn = instance["DBInstanceArn"]
        key_id = instance.get("KmsKeyId")
        evidence = _instance_evidence(instance)
        evidence["storage_encrypted"] = bool(instance.get("StorageEncrypted"))
        evidence["kms_key_id"] = key_id

        if not instance.get("StorageEncrypted"):
            yield ctx.finding(
                arn,
                Status.FAIL,
                f"DB instance {name} does not encrypt its storage, so it uses "
                "no customer-managed KMS key.",
                evidence,
            )
            continue

        try:
            key = _describe_key(ctx, key_id)
        except AwsCallError as exc:
            yield ctx.error(exc, resource_id=arn)
            continue

        manager = key.get("KeyManager")
        evidence["key_manager"] = manager
        evidence["key_arn"] = key.get("Arn")
        if manager == CUSTOMER_MANAGED:
            status = Status.PASS
            message = (
                f"DB instance {name} encrypts its storage with customer-managed "
                f"KMS key {key.get('KeyId')}."
            )
        else:
            status = Status.FAIL
            message = (
                f"DB instance {name} encrypts its storage with the AWS-managed "
                f"KMS key {key.get('KeyId')}, not a customer-managed key."
            )
        yield ctx.finding(arn, status, message, evidence)


@dataclass
class _RouteTables:
    """The route tables of a region, by explicitly associated subnet and by VPC."""

    by_subnet: dict[str, dict[str, Any]] = field(default_factory=dict)
    main_by_vpc: dict[str, dict[str, Any]] = field(default_factory=dict)

    def subnet_route(self, vpc_id: str | None, subnet_id: str) -> dict[str, Any]:
        """Return the subnet's route table and internet gateway, as evidence.

        A subnet without an explicit association uses its VPC's main table.
        """
        table = self.by_subnet.get(subnet_id)
        association = "explicit"
        if table is None:
            table = self.main_by_vpc.get(vpc_id or "")
            association = "main"
        if table is None:
            return {
                "subnet_id": subnet_id,
                "route_table_id": None,
                "association": None,
                "internet_gateway": None,
            }
        return {
            "subnet_id": subnet_id,
            "route_table_id": table["RouteTableId"],
            "association": association,
            "internet_gateway": _internet_gateway(table),
        }


def _instances(ctx: CheckContext) -> list[dict[str, Any]]:
    return ctx.call("rds", "describe_db_instances").get("DBInstances", [])


def _instance_evidence(instance: dict[str, Any]) -> dict[str, Any]:
    return {
        "db_instance_identifier": instance["DBInstanceIdentifier"],
        "engine": instance.get("Engine"),
    }


def _route_tables(ctx: CheckContext) -> _RouteTables:
    tables = _RouteTables()
    for table in ctx.call("ec2", "describe_route_tables").get("RouteTables", []):
        for association in table.get("Associations", []):
            state = (association.get("AssociationState") or {}).get("State")
            if state not in (None, "associated"):
                continue
            if association.get("SubnetId"):
                tables.by_subnet[association["SubnetId"]] = table
            elif association.get("Main"):
                tables.main_by_vpc[table.get("VpcId", "")] = table
    return tables


def _internet_gateway(table: dict[str, Any]) -> str | None:
    # A blackhole route points at a deleted gateway and carries no traffic.
    for route in table.get("Routes", []):
        gateway = route.get("GatewayId") or ""
        if (
            route.get("DestinationCidrBlock") == DEFAULT_ROUTE
            and gateway.startswith(INTERNET_GATEWAY_PREFIX)
            and route.get("State") != "blackhole"
        ):
            return gateway
    return None


def _describe_key(ctx: CheckContext, key_id: str | None) -> dict[str, Any]:
    if not key_id:
        raise AwsCallError(
            "KmsKeyIdMissing",
            "rds:DescribeDBInstances",
            "the instance is encrypted but reports no KmsKeyId",
        )
    # RDS reports the key as an ARN. DescribeKey must go to the key's region.
    parts = key_id.split(":")
    region = parts[3] if key_id.startswith("arn:") and len(parts) > 3 else None
    region = region or ctx.region
    response = ctx.call_in(region, "kms", "describe_key", KeyId=key_id)
    return response.get("KeyMetadata") or {}


def _subnets(subnet_ids: list[str]) -> str:
    return "subnet" if len(subnet_ids) == 1 else "subnets"
