"""The monitored kinds of activity, as sample CloudTrail records.

Each event class lists the records that a metric filter for that activity
must all match, and an unrelated read-only call that it must not match. The
unrelated call stops a pattern that matches every event, such as
``{ $.eventName = * }``, from counting as an alarm on one kind of activity.
The records are shaped as CloudTrail writes them to CloudWatch Logs, in an
example account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EventClass:
    """A kind of activity a metric filter should catch, with sample events.

    Attributes:
        key: a short identifier, for example ``root_usage``.
        description: the activity in words, used in findings.
        events: ``(label, CloudTrail record)`` pairs that the filter must all
            match.
        unrelated: ``(label, CloudTrail record)`` pairs that the filter must
            not match, so that a pattern matching every event does not count.
    """

    key: str
    description: str
    events: tuple[tuple[str, dict[str, Any]], ...]
    unrelated: tuple[tuple[str, dict[str, Any]], ...] = ()


_ACCOUNT = "111122223333"
_ROOT = {
    "type": "Root",
    "principalId": _ACCOUNT,
    "arn": f"arn:aws:iam::{_ACCOUNT}:root",
    "accountId": _ACCOUNT,
}
_IAM_USER = {
    "type": "IAMUser",
    "principalId": "AIDAEXAMPLEPRINCIPAL",
    "arn": f"arn:aws:iam::{_ACCOUNT}:user/operator",
    "accountId": _ACCOUNT,
    "userName": "operator",
}
_ASSUMED_ROLE = {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLEPRINCIPAL:deploy",
    "arn": f"arn:aws:sts::{_ACCOUNT}:assumed-role/Deploy/deploy",
    "accountId": _ACCOUNT,
    "sessionContext": {
        "sessionIssuer": {
            "type": "Role",
            "arn": f"arn:aws:iam::{_ACCOUNT}:role/Deploy",
            "userName": "Deploy",
        }
    },
}


def _api_call(
    event_name: str,
    event_source: str,
    identity: dict[str, Any],
    *,
    read_only: bool = False,
) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": "2024-01-01T00:00:00Z",
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": "eu-west-2",
        "sourceIPAddress": "198.51.100.10",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {},
        "responseElements": None,
        "requestID": "00000000-0000-0000-0000-000000000000",
        "eventID": "00000000-0000-0000-0000-000000000001",
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": _ACCOUNT,
        "eventCategory": "Management",
    }


def _console_sign_in(identity: dict[str, Any], *, failed: bool) -> dict[str, Any]:
    event = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": "2024-01-01T00:00:00Z",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.10",
        "userAgent": "Mozilla/5.0",
        "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Failure" if failed else "Success"},
        "additionalEventData": {"MobileVersion": "No", "MFAUsed": "No"},
        "eventID": "00000000-0000-0000-0000-000000000002",
        "readOnly": False,
        "eventType": "AwsConsoleSignIn",
        "managementEvent": True,
        "recipientAccountId": _ACCOUNT,
        "eventCategory": "Management",
    }
    if failed:
        event["errorMessage"] = "Failed authentication"
    return event


def _changes(names: tuple[str, ...], source: str) -> tuple[tuple[str, dict], ...]:
    # Alternate the caller between an IAM user and an assumed role, so that a
    # pattern limited to one kind of caller misses some events.
    identities = (_IAM_USER, _ASSUMED_ROLE)
    return tuple(
        (name, _api_call(name, source, identities[index % 2]))
        for index, name in enumerate(names)
    )


SECURITY_GROUP_EVENTS = (
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "CreateSecurityGroup",
    "DeleteSecurityGroup",
)

# The 16 IAM policy changes in the filter pattern of CIS AWS Foundations
# Benchmark control 3.4, as the AWS Security Hub User Guide gives it.
IAM_POLICY_EVENTS = (
    "DeleteGroupPolicy",
    "DeleteRolePolicy",
    "DeleteUserPolicy",
    "PutGroupPolicy",
    "PutRolePolicy",
    "PutUserPolicy",
    "CreatePolicy",
    "DeletePolicy",
    "CreatePolicyVersion",
    "DeletePolicyVersion",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "AttachUserPolicy",
    "DetachUserPolicy",
    "AttachGroupPolicy",
    "DetachGroupPolicy",
)

# A read-only call by an IAM user, which none of the classes includes.
UNRELATED_CALLS = (
    (
        "ec2:DescribeInstances",
        _api_call("DescribeInstances", "ec2.amazonaws.com", _IAM_USER, read_only=True),
    ),
)

ROOT_USAGE = EventClass(
    key="root_usage",
    description="root user activity",
    events=(
        ("a root API call", _api_call("CreateAccessKey", "iam.amazonaws.com", _ROOT)),
        ("a root console sign-in", _console_sign_in(_ROOT, failed=False)),
    ),
    unrelated=UNRELATED_CALLS,
)

CONSOLE_LOGIN_FAILURES = EventClass(
    key="console_login_failures",
    description="failed console sign-ins",
    events=(
        ("a failed IAM user sign-in", _console_sign_in(_IAM_USER, failed=True)),
        ("a failed root sign-in", _console_sign_in(_ROOT, failed=True)),
    ),
    unrelated=UNRELATED_CALLS,
)

SECURITY_GROUP_CHANGES = EventClass(
    key="security_group_changes",
    description="security group changes",
    events=_changes(SECURITY_GROUP_EVENTS, "ec2.amazonaws.com"),
    unrelated=UNRELATED_CALLS,
)

IAM_POLICY_CHANGES = EventClass(
    key="iam_policy_changes",
    description="IAM policy changes",
    events=_changes(IAM_POLICY_EVENTS, "iam.amazonaws.com"),
    unrelated=UNRELATED_CALLS,
)
