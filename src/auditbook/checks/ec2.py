"""Amazon EC2 checks: security groups.

Every security-group check reads the same DescribeSecurityGroups response,
fetched once per account and region, and gives one finding per group. The
rule logic lives in :mod:`auditbook.checks.sg_rules`.

Ports are matched for TCP and all-traffic rules, not for UDP. SSH and the
database servers serve clients over TCP, and RDP opens its optional UDP
transport only from an established TCP connection (Microsoft's MS-RDPEMT
specification), so closing TCP closes the service.

NOTE: memcached also offers a UDP interface on its port (memcached's
protocol.txt), and a UDP rule on 11211 open to the internet is not counted.

The VPC flow log check is in :mod:`auditbook.checks.ec2_vpc` and the EBS
checks are in :mod:`auditbook.checks.ec2_storage`. Both modules are imported
here, so loading this module registers their checks too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from auditbook.checks import ec2_storage, ec2_vpc  # noqa: F401 - registers checks
from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.checks.sg_rules import Rule, expand_rules
from auditbook.models import Finding, Severity, Status

SSH_PORT = 22
RDP_PORT = 3389

DEFAULT_GROUP_NAME = "default"

SG_PERMISSIONS = ["ec2:DescribeSecurityGroups"]


@check(
    "aws.ec2.sg_no_public_ssh",
    title="No security group opens SSH to the internet",
    service="ec2",
    scope=Scope.REGION,
    resource_type="security group",
    severity=Severity.HIGH,
    proves=(
        "No ingress rule of the security group opens TCP port 22 to 0.0.0.0/0 "
        "or ::/0, counting all-traffic rules and port ranges that include 22."
    ),
    permissions=SG_PERMISSIONS,
)
def sg_no_public_ssh(ctx: CheckContext) -> Iterator[Finding]:
    yield from _public_port_findings(ctx, [SSH_PORT])


@check(
    "aws.ec2.sg_no_public_rdp",
    title="No security group opens RDP to the internet",
    service="ec2",
    scope=Scope.REGION,
    resource_type="security group",
    severity=Severity.HIGH,
    proves=(
        "No ingress rule of the security group opens TCP port 3389 to 0.0.0.0/0 "
        "or ::/0, counting all-traffic rules and port ranges that include 3389."
    ),
    permissions=SG_PERMISSIONS,
)
def sg_no_public_rdp(ctx: CheckContext) -> Iterator[Finding]:
    yield from _public_port_findings(ctx, [RDP_PORT])


@check(
    "aws.ec2.sg_no_public_db_ports",
    title="No security group opens a database port to the internet",
    service="ec2",
    scope=Scope.REGION,
    resource_type="security group",
    severity=Severity.CRITICAL,
    proves=(
        "No ingress rule of the security group opens a configured database port "
        "to 0.0.0.0/0 or ::/0."
    ),
    permissions=SG_PERMISSIONS,
)
def sg_no_public_db_ports(ctx: CheckContext) -> Iterator[Finding]:
    yield from _public_port_findings(ctx, ctx.settings.database_ports)


@check(
    "aws.ec2.sg_db_ports_from_sg_only",
    title="Database ports admit only security-group references",
    service="ec2",
    scope=Scope.REGION,
    resource_type="security group",
    severity=Severity.MEDIUM,
    proves=(
        "Every ingress rule of the security group that opens a configured "
        "database port names a security group as its source, not a CIDR range "
        "or a prefix list."
    ),
    permissions=SG_PERMISSIONS,
)
def sg_db_ports_from_sg_only(ctx: CheckContext) -> Iterator[Finding]:
    groups = _security_groups(ctx)
    ports = ctx.settings.database_ports
    partition = ctx.partition

    for group in groups:
        rules = expand_rules(group.get("IpPermissions", []))
        db_rules = [rule for rule in rules if rule.opened_ports(ports)]
        offending = [rule for rule in db_rules if not rule.is_group_reference]
        evidence = _group_evidence(group)
        evidence["database_ports"] = list(ports)
        evidence["offending_rules"] = _port_rule_evidence(offending, ports)

        if offending:
            status = Status.FAIL
            message = (
                f"Security group {_label(group)} allows "
                f"{_join(rule.peer for rule in offending)} on "
                f"{_ports_phrase(_ports_of(offending, ports))} instead of a "
                "security-group reference."
            )
        elif db_rules:
            status = Status.PASS
            sources = list(dict.fromkeys(rule.peer for rule in db_rules))
            noun = "security group" if len(sources) == 1 else "security groups"
            message = (
                f"Security group {_label(group)} allows "
                f"{_ports_phrase(_ports_of(db_rules, ports))} only from {noun} "
                f"{_join(sources)}."
            )
            evidence["group_reference_rules"] = _port_rule_evidence(db_rules, ports)
        else:
            status = Status.PASS
            message = (
                f"Security group {_label(group)} has no ingress rule on a "
                "database port."
            )

        yield ctx.finding(_group_arn(ctx, group, partition), status, message, evidence)


@check(
    "aws.ec2.default_sg_closed",
    title="Default security groups have no rules",
    service="ec2",
    scope=Scope.REGION,
    resource_type="security group",
    severity=Severity.MEDIUM,
    proves="The VPC's default security group has no ingress and no egress rules.",
    permissions=SG_PERMISSIONS,
)
def default_sg_closed(ctx: CheckContext) -> Iterator[Finding]:
    groups = _security_groups(ctx)
    defaults = [g for g in groups if g.get("GroupName") == DEFAULT_GROUP_NAME]
    partition = ctx.partition

    for group in defaults:
        ingress = expand_rules(group.get("IpPermissions", []))
        egress = expand_rules(group.get("IpPermissionsEgress", []))
        evidence = _group_evidence(group)
        evidence["ingress_rules"] = [rule.to_evidence("source") for rule in ingress]
        evidence["egress_rules"] = [rule.to_evidence("destination") for rule in egress]

        where = f"Default security group {group['GroupId']} of {_vpc(group)}"
        if ingress or egress:
            status = Status.FAIL
            message = (
                f"{where} has {_count(len(ingress), 'ingress rule')} and "
                f"{_count(len(egress), 'egress rule')}."
            )
        else:
            status = Status.PASS
            message = f"{where} has no ingress or egress rules."

        yield ctx.finding(_group_arn(ctx, group, partition), status, message, evidence)


def _public_port_findings(ctx: CheckContext, ports: Iterable[int]) -> Iterator[Finding]:
    groups = _security_groups(ctx)
    ports = tuple(ports)
    partition = ctx.partition

    for group in groups:
        rules = expand_rules(group.get("IpPermissions", []))
        offending = [
            rule for rule in rules if rule.is_public and rule.opened_ports(ports)
        ]
        evidence = _group_evidence(group)
        evidence["ports"] = list(ports)
        evidence["offending_rules"] = _port_rule_evidence(offending, ports)

        if offending:
            status = Status.FAIL
            message = (
                f"Security group {_label(group)} allows "
                f"{_join(rule.peer for rule in offending)} on "
                f"{_ports_phrase(_ports_of(offending, ports))}."
            )
        else:
            status = Status.PASS
            message = (
                f"Security group {_label(group)} allows neither 0.0.0.0/0 nor ::/0 "
                f"on {_ports_phrase(ports)}."
            )

        yield ctx.finding(_group_arn(ctx, group, partition), status, message, evidence)


def _security_groups(ctx: CheckContext) -> list[dict[str, Any]]:
    # No filters, so that all five checks share one cached response.
    return ctx.call("ec2", "describe_security_groups").get("SecurityGroups", [])


def _group_arn(ctx: CheckContext, group: dict[str, Any], partition: str) -> str:
    return (
        f"arn:{partition}:ec2:{ctx.region}:{ctx.account_id}"
        f":security-group/{group['GroupId']}"
    )


def _group_evidence(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "group_id": group["GroupId"],
        "group_name": group.get("GroupName", ""),
        "vpc_id": group.get("VpcId"),
    }


def _port_rule_evidence(rules: list[Rule], ports: Iterable[int]) -> list[dict]:
    evidence = []
    for rule in rules:
        entry = rule.to_evidence("source")
        entry["matched_ports"] = rule.opened_ports(ports)
        evidence.append(entry)
    return evidence


def _ports_of(rules: list[Rule], ports: Iterable[int]) -> list[int]:
    ports = tuple(ports)
    return sorted({port for rule in rules for port in rule.opened_ports(ports)})


def _label(group: dict[str, Any]) -> str:
    # The name is text the account owner chose, so it is shown as data only.
    return f"{group['GroupId']} ({group.get('GroupName', '')})"


def _vpc(group: dict[str, Any]) -> str:
    return group.get("VpcId") or "no VPC"


def _join(values: Iterable[str]) -> str:
    unique = list(dict.fromkeys(values))
    if len(unique) <= 1:
        return "".join(unique)
    return ", ".join(unique[:-1]) + " and " + unique[-1]


def _ports_phrase(ports: Iterable[int]) -> str:
    ports = sorted(set(ports))
    if not ports:
        return "any configured port"
    if len(ports) == 1:
        return f"port {ports[0]}"
    return "ports " + _join(str(port) for port in ports)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
