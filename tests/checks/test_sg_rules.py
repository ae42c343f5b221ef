import pytest

from auditbook.checks.sg_rules import (
    IPV4,
    IPV6,
    PREFIX_LIST,
    SECURITY_GROUP,
    Rule,
    expand_rules,
    normalize_protocol,
)


def permission(protocol, from_port=None, to_port=None, **peers):
    entry = {
        "IpProtocol": protocol,
        "IpRanges": peers.get("ipv4", []),
        "Ipv6Ranges": peers.get("ipv6", []),
        "PrefixListIds": peers.get("prefix_lists", []),
        "UserIdGroupPairs": peers.get("groups", []),
    }
    if from_port is not None:
        entry["FromPort"] = from_port
        entry["ToPort"] = to_port
    return entry


def anywhere_v4(protocol, from_port=None, to_port=None):
    [rule] = expand_rules(
        [permission(protocol, from_port, to_port, ipv4=[{"CidrIp": "0.0.0.0/0"}])]
    )
    return rule


def test_all_traffic_opens_every_port():
    rule = anywhere_v4("-1")

    assert rule.protocol == "all"
    assert rule.opens_port(22)
    assert rule.opens_port(3389)
    assert rule.port_range == "all"
    assert rule.is_public


def test_full_range_opens_ssh():
    rule = anywhere_v4("tcp", 0, 65535)

    assert rule.opens_port(22)
    assert rule.port_range == "0-65535"


def test_range_containing_port_opens_it():
    rule = anywhere_v4("tcp", 20, 23)

    assert rule.opens_port(22)
    assert not rule.opens_port(19)
    assert not rule.opens_port(24)
    assert rule.port_range == "20-23"


def test_exact_port():
    rule = anywhere_v4("tcp", 22, 22)

    assert rule.opens_port(22)
    assert not rule.opens_port(3389)
    assert rule.port_range == "22"


def test_range_bounds_are_inclusive():
    rule = anywhere_v4("tcp", 3380, 3390)

    assert rule.opens_port(3380)
    assert rule.opens_port(3389)
    assert rule.opens_port(3390)


def test_numeric_tcp_is_tcp():
    rule = anywhere_v4("6", 22, 22)

    assert rule.protocol == "tcp"
    assert rule.opens_port(22)


def test_udp_does_not_open_tcp_port():
    rule = anywhere_v4("udp", 22, 22)

    assert not rule.opens_port(22)
    assert rule.opens_port(22, protocols=("udp",))


def test_numeric_udp_is_udp():
    rule = anywhere_v4("17", 22, 22)

    assert rule.protocol == "udp"
    assert not rule.opens_port(22)


def test_icmp_has_no_ports():
    rule = anywhere_v4("icmp", -1, -1)

    assert not rule.opens_port(22)
    assert not rule.opens_port(22, protocols=("tcp", "udp", "icmp"))
    assert rule.port_range == "type all code all"


def test_icmp_type_and_code_shown():
    rule = anywhere_v4("1", 8, 0)

    assert rule.protocol == "icmp"
    assert rule.port_range == "type 8 code 0"


def test_other_protocol_opens_no_tcp_port():
    rule = anywhere_v4("50")

    assert rule.protocol == "50"
    assert not rule.opens_port(22)


def test_tcp_without_ports_reads_as_all_ports():
    rule = Rule("tcp", None, None, "0.0.0.0/0", IPV4)

    assert rule.opens_port(22)
    assert rule.port_range == "all"


def test_ipv6_anywhere_is_public():
    [rule] = expand_rules(
        [permission("tcp", 22, 22, ipv6=[{"CidrIpv6": "::/0", "Description": "v6"}])]
    )

    assert rule.peer_type == IPV6
    assert rule.is_public
    assert rule.opens_port(22)
    assert rule.description == "v6"


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "203.0.113.7/32", "0.0.0.0/1"])
def test_narrower_ipv4_is_not_public(cidr):
    rule = Rule("tcp", 22, 22, cidr, IPV4)

    assert not rule.is_public


def test_narrower_ipv6_is_not_public():
    rule = Rule("tcp", 22, 22, "2001:db8::/32", IPV6)

    assert not rule.is_public


def test_prefix_list_is_not_public():
    [rule] = expand_rules(
        [permission("-1", prefix_lists=[{"PrefixListId": "pl-0123"}])]
    )

    assert rule.peer == "pl-0123"
    assert rule.peer_type == PREFIX_LIST
    assert not rule.is_public
    assert not rule.is_group_reference


def test_group_reference_is_not_public():
    [rule] = expand_rules(
        [
            permission(
                "tcp",
                5432,
                5432,
                groups=[{"UserId": "123456789012", "GroupId": "sg-app"}],
            )
        ]
    )

    assert rule.peer == "sg-app"
    assert rule.peer_type == SECURITY_GROUP
    assert rule.is_group_reference
    assert not rule.is_public


def test_peered_group_reference_names_connection():
    [rule] = expand_rules(
        [
            permission(
                "tcp",
                5432,
                5432,
                groups=[{"GroupId": "sg-peer", "VpcPeeringConnectionId": "pcx-1"}],
            )
        ]
    )

    assert rule.peer == "sg-peer via pcx-1"


def test_one_rule_per_peer():
    rules = expand_rules(
        [
            permission(
                "tcp",
                22,
                22,
                ipv4=[{"CidrIp": "0.0.0.0/0"}, {"CidrIp": "10.0.0.0/8"}],
                ipv6=[{"CidrIpv6": "::/0"}],
                groups=[{"GroupId": "sg-1"}],
            )
        ]
    )

    assert [rule.peer for rule in rules] == ["0.0.0.0/0", "10.0.0.0/8", "::/0", "sg-1"]
    assert [rule.is_public for rule in rules] == [True, False, True, False]


def test_missing_peer_lists_are_empty():
    assert expand_rules([{"IpProtocol": "-1"}]) == []


def test_opened_ports_picks_covered_ports():
    rule = anywhere_v4("tcp", 3000, 6000)

    assert rule.opened_ports([5432, 3306, 1433, 6379]) == [3306, 5432]


def test_evidence_names_peer_key():
    rule = Rule("all", None, None, "0.0.0.0/0", IPV4, "left open")

    assert rule.to_evidence("destination") == {
        "protocol": "all",
        "port_range": "all",
        "destination": "0.0.0.0/0",
        "destination_type": IPV4,
        "description": "left open",
    }


@pytest.mark.parametrize(
    ("value", "name"),
    [("-1", "all"), ("6", "tcp"), ("17", "udp"), ("1", "icmp"), ("58", "icmpv6")],
)
def test_normalize_protocol(value, name):
    assert normalize_protocol(value) == name


def test_normalize_protocol_keeps_names():
    assert normalize_protocol("TCP") == "tcp"
    assert normalize_protocol("icmpv6") == "icmpv6"
