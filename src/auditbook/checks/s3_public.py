"""Public grants in S3 bucket policies and ACLs, and what Block Public Access does.

The rules follow Amazon S3's own definition of a public bucket policy, which
the AWS SDK API references give with ``PublicAccessBlockConfiguration``. A
statement that allows everyone is public unless a condition limits it to fixed
values of a key that names the caller or its network.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from auditbook.checks.policy_documents import as_list, statements

EVERYONE = "*"

# ACL grantee groups that represent everyone on the internet and every AWS
# account, by group URI.
PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}

# Condition keys whose fixed values make a statement non-public, in lower case
# because IAM compares condition keys case-insensitively. The first eight are
# the keys Amazon S3 lists. The aws:Principal* keys are added because a fixed
# value of one names a fixed principal, which S3 also counts as non-public.
RESTRICTING_CONDITION_KEYS = frozenset(
    {
        "aws:sourceip",
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceowner",
        "aws:sourceaccount",
        "aws:userid",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
    }
)

# Operators that admit only the values they list. Negated operators, Null and
# the ...IfExists forms also admit requests that lack the key, anonymous
# requests included, so they restrict nothing.
RESTRICTING_OPERATORS = frozenset(
    {
        "StringEquals",
        "StringEqualsIgnoreCase",
        "StringLike",
        "ArnEquals",
        "ArnLike",
        "IpAddress",
    }
)

# The Block Public Access setting that stops each kind of public grant from
# taking effect: RestrictPublicBuckets for bucket policies, IgnorePublicAcls
# for ACLs. BlockPublicPolicy and BlockPublicAcls only reject new grants.
POLICY_BLOCKER = "RestrictPublicBuckets"
ACL_BLOCKER = "IgnorePublicAcls"


def public_policy_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the statements of a bucket policy that allow access to everyone.

    A statement counts when it allows ``Principal: "*"`` or
    ``{"AWS": "*"}``, or allows through ``NotPrincipal``, and no condition
    limits it to fixed callers or networks.

    Returns:
        One summary per public statement: its ``Sid`` (or its position) and
        its actions.
    """
    public = []
    for index, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" not in statement and not _is_everyone(
            statement.get("Principal")
        ):
            continue
        if is_restricted(statement.get("Condition") or {}):
            continue
        actions = statement.get("Action", statement.get("NotAction"))
        public.append(
            {
                "sid": statement.get("Sid") or f"statement {index + 1}",
                "actions": [str(action) for action in as_list(actions)],
            }
        )
    return public


def public_acl_grants(acl: dict[str, Any]) -> list[dict[str, str]]:
    """Return the grants of a GetBucketAcl response to a public grantee group."""
    grants = []
    for grant in acl.get("Grants", []):
        grantee = grant.get("Grantee") or {}
        group = PUBLIC_GROUPS.get(grantee.get("URI", ""))
        if grantee.get("Type") == "Group" and group:
            grants.append({"grantee": group, "permission": grant.get("Permission")})
    return grants


def is_restricted(condition: dict[str, Any]) -> bool:
    """Return whether a condition block limits a statement to fixed callers."""
    for operator, clauses in condition.items():
        if not _is_restricting_operator(operator) or not isinstance(clauses, dict):
            continue
        for key, values in clauses.items():
            if key.lower() not in RESTRICTING_CONDITION_KEYS:
                continue
            if all(_is_fixed(key, value) for value in as_list(values)):
                return True
    return False


def _is_everyone(principal: Any) -> bool:
    if principal == EVERYONE:
        return True
    if isinstance(principal, dict):
        return EVERYONE in as_list(principal.get("AWS"))
    return False


def _is_restricting_operator(operator: str) -> bool:
    # ForAllValues: is true when the request has no value for the key.
    if operator.startswith("ForAllValues:"):
        return False
    return operator.removeprefix("ForAnyValue:") in RESTRICTING_OPERATORS


def _is_fixed(key: str, value: Any) -> bool:
    text = str(value)
    if not text or "*" in text or "?" in text or "${" in text:
        return False
    if key.lower() == "aws:sourceip":
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return False
        return network.prefixlen > 0
    return True
