"""Tests of the bucket policy and ACL rules behind aws.s3.bucket_not_public."""

from __future__ import annotations

import pytest

from auditbook.checks.s3_public import (
    is_restricted,
    public_acl_grants,
    public_policy_statements,
)


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal="*", **extra) -> dict:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::northwind-web-assets/*",
        **extra,
    }


def test_single_statement_object():
    document = {"Statement": allow(Sid="Only")}

    assert public_policy_statements(document) == [
        {"sid": "Only", "actions": ["s3:GetObject"]}
    ]


def test_statement_without_sid_numbered():
    document = policy(allow("arn:aws:iam::111122223333:root"), allow())

    assert public_policy_statements(document) == [
        {"sid": "statement 2", "actions": ["s3:GetObject"]}
    ]


def test_deny_everyone_not_public():
    document = policy({**allow(), "Effect": "Deny"})

    assert public_policy_statements(document) == []


def test_fixed_account_principal_not_public():
    document = policy(allow({"AWS": "arn:aws:iam::111122223333:root"}))

    assert public_policy_statements(document) == []


def test_service_principal_not_public():
    document = policy(allow({"Service": "cloudtrail.amazonaws.com"}))

    assert public_policy_statements(document) == []


def test_not_principal_allow_is_public():
    statement = allow(Sid="AllButOne")
    del statement["Principal"]
    statement["NotPrincipal"] = {"AWS": "arn:aws:iam::111122223333:root"}

    assert [s["sid"] for s in public_policy_statements(policy(statement))] == [
        "AllButOne"
    ]


def test_not_action_recorded():
    statement = allow(Sid="AllButDelete")
    del statement["Action"]
    statement["NotAction"] = ["s3:DeleteObject"]

    assert public_policy_statements(policy(statement)) == [
        {"sid": "AllButDelete", "actions": ["s3:DeleteObject"]}
    ]


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f67890"}},
        {"StringEquals": {"AWS:SOURCEVPC": "vpc-0a1b2c3d"}},
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.7/32"]}},
        {"StringEquals": {"aws:SourceAccount": "111122223333"}},
        {
            "ArnLike": {
                "aws:SourceArn": "arn:aws:cloudfront::111122223333:distribution/E1"
            }
        },
        {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
        {"ForAnyValue:StringEquals": {"aws:SourceVpce": ["vpce-1", "vpce-2"]}},
    ],
)
def test_restricting_conditions(condition):
    assert is_restricted(condition)
    assert public_policy_statements(policy(allow(Condition=condition))) == []


@pytest.mark.parametrize(
    "condition",
    [
        {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}},
        {"IpAddress": {"aws:SourceIp": "::/0"}},
        {"IpAddress": {"aws:SourceIp": "not-an-address"}},
        {"StringLike": {"aws:SourceVpce": "vpce-*"}},
        {"StringLike": {"aws:userid": "AROAEXAMPLEROLEID:*"}},
        {"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}},
        {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f67890"}},
        {"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f67890"}},
        {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"ForAllValues:StringEquals": {"aws:SourceVpce": ["vpce-1"]}},
        {"Bool": {"aws:SecureTransport": "true"}},
        {"StringEquals": {"s3:prefix": "public/"}},
    ],
)
def test_conditions_that_restrict_nothing(condition):
    assert not is_restricted(condition)
    assert len(public_policy_statements(policy(allow(Condition=condition)))) == 1


def test_one_restricting_key_is_enough():
    condition = {
        "Bool": {"aws:SecureTransport": "true"},
        "StringEquals": {"aws:SourceVpc": "vpc-0a1b2c3d"},
    }

    assert is_restricted(condition)


def test_acl_public_groups():
    acl = {
        "Grants": [
            {
                "Grantee": {"Type": "CanonicalUser", "ID": "owner"},
                "Permission": "FULL_CONTROL",
            },
            {
                "Grantee": {
                    "Type": "Group",
                    "URI": "http://acs.amazonaws.com/groups/global/AllUsers",
                },
                "Permission": "READ",
            },
            {
                "Grantee": {
                    "Type": "Group",
                    "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
                },
                "Permission": "WRITE",
            },
            {
                "Grantee": {
                    "Type": "Group",
                    "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery",
                },
                "Permission": "WRITE",
            },
        ]
    }

    assert public_acl_grants(acl) == [
        {"grantee": "AllUsers", "permission": "READ"},
        {"grantee": "AuthenticatedUsers", "permission": "WRITE"},
    ]
