"""Security-group rules in the shape DescribeSecurityGroups returns them.

One ``IpPermissions`` entry names a protocol, a port range and several peers
(IPv4 ranges, IPv6 ranges, prefix lists and security groups). The functions
here expand each entry into one :class:`Rule` per peer, so that a check can
ask of every rule which port it opens and to whom.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ALL_TRAFFIC = "all"

# EC2 accepts IANA protocol numbers in place of these names, and "-1" for all
# traffic.
PROTOCOL_NAMES = {
    "-1": ALL_TRAFFIC,
    "1": "icmp",
    "6": "tcp",
    "17": "udp",
    "58": "icmpv6",
}

# Only TCP and UDP rules carry a port range. For ICMP, FromPort and ToPort hold
# the ICMP type and code instead.
PORT_PROTOCOLS = frozenset({"tcp", "udp"})
ICMP_PROTOCOLS = frozenset({"icmp", "icmpv6"})

IPV4 = "ipv4"
IPV6 = "ipv6"
PREFIX_LIST = "prefix-list"
SECURITY_GROUP = "security-group"

# The address peers of a permission: the list key, the key of each entry's
# value, and the peer type recorded for it.
PEER_LISTS = (
    ("IpRanges", "CidrIp", IPV4),
    ("Ipv6Ranges", "CidrIpv6", IPV6),
    ("PrefixListIds", "PrefixListId", PREFIX_LIST),
)


@dataclass(frozen=True)
class Rule:
    """One peer of one security-group permission.

    Attributes:
        protocol: ``all``, ``tcp``, ``udp``, ``icmp``, ``icmpv6`` or the
            IANA protocol number of any other protocol.
        from_port: the first port, or ``None`` when the permission has none.
        to_port: the last port, or ``None`` when the permission has none.
        peer: the CIDR range, prefix list id or security group id that the
            rule admits (for ingress) or reaches (for egress).
        peer_type: ``ipv4``, ``ipv6``, ``prefix-list`` or ``security-group``.
        description: the rule description set by the account owner.
    """

    protocol: str
    from_port: int | None
    to_port: int | None
    peer: str
    peer_type: str
    description: str = ""

    @property
    def is_public(self) -> bool:
        """Return whether the peer is every address: 0.0.0.0/0 or ::/0."""
        if self.peer_type not in (IPV4, IPV6):
            return False
        try:
            return ipaddress.ip_network(self.peer, strict=False).prefixlen == 0
        except ValueError:
            return self.peer in ("0.0.0.0/0", "::/0")

    @property
    def is_group_reference(self) -> bool:
        """Return whether the peer is a security group rather than addresses."""
        return self.peer_type == SECURITY_GROUP

    @property
    def port_range(self) -> str:
        """Return the ports as the console shows them: ``all``, ``22``, ``20-23``.

        ICMP rules show their type and code instead, ``all`` standing for -1.
        """
        if self.protocol in ICMP_PROTOCOLS:
            return f"type {_or_all(self.from_port)} code {_or_all(self.to_port)}"
        if self.protocol not in PORT_PROTOCOLS:
            return "all"
        if self.from_port is None or self.to_port is None:
            return "all"
        if self.from_port == self.to_port:
            return str(self.from_port)
        return f"{self.from_port}-{self.to_port}"

    def opens_port(self, port: int, protocols: Iterable[str] = ("tcp",)) -> bool:
        """Return whether the rule admits traffic to a port over one of the protocols.

        An all-traffic rule opens every port of every protocol. A TCP or UDP
        rule opens the ports from ``from_port`` to ``to_port`` inclusive.
        Other protocols, ICMP among them, have no ports.
        """
        if self.protocol == ALL_TRAFFIC:
            return True
        if self.protocol not in protocols or self.protocol not in PORT_PROTOCOLS:
            return False
        # EC2 requires a port range for TCP and UDP, so a missing one is read
        # as the widest range rather than as no port at all.
        low = 0 if self.from_port is None else self.from_port
        high = 65535 if self.to_port is None else self.to_port
        return low <= port <= high

    def opened_ports(
        self, ports: Iterable[int], protocols: Iterable[str] = ("tcp",)
    ) -> list[int]:
        """Return the given ports that the rule opens, sorted."""
        protocols = tuple(protocols)
        return sorted({port for port in ports if self.opens_port(port, protocols)})

    def to_evidence(self, peer_key: str = "source") -> dict[str, Any]:
        """Return the rule as evidence, with the peer under ``peer_key``."""
        evidence: dict[str, Any] = {
            "protocol": self.protocol,
            "port_range": self.port_range,
            peer_key: self.peer,
            f"{peer_key}_type": self.peer_type,
        }
        if self.description:
            evidence["description"] = self.description
        return evidence


def normalize_protocol(ip_protocol: str | int | None) -> str:
    """Return the protocol name for an ``IpProtocol`` value such as ``-1`` or ``6``."""
    value = str(ip_protocol if ip_protocol is not None else "-1").lower()
    return PROTOCOL_NAMES.get(value, value)


def expand_rules(permissions: Iterable[dict[str, Any]]) -> list[Rule]:
    """Expand ``IpPermissions`` or ``IpPermissionsEgress`` into one rule per peer."""
    rules: list[Rule] = []
    for permission in permissions:
        protocol = normalize_protocol(permission.get("IpProtocol"))
        for peer, peer_type, entry in _peers(permission):
            rules.append(
                Rule(
                    protocol=protocol,
                    from_port=permission.get("FromPort"),
                    to_port=permission.get("ToPort"),
                    peer=peer,
                    peer_type=peer_type,
                    description=entry.get("Description") or "",
                )
            )
    return rules


def _peers(permission: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    peers = []
    for list_key, id_key, peer_type in PEER_LISTS:
        for entry in permission.get(list_key, []):
            peers.append((entry[id_key], peer_type, entry))
    for entry in permission.get("UserIdGroupPairs", []):
        peers.append((_group_reference(entry), SECURITY_GROUP, entry))
    return peers


def _or_all(value: int | None) -> str:
    return "all" if value is None or value == -1 else str(value)


def _group_reference(pair: dict[str, Any]) -> str:
    group = pair.get("GroupId") or pair.get("GroupName") or "unknown group"
    peering = pair.get("VpcPeeringConnectionId")
    if peering:
        return f"{group} via {peering}"
    return group
