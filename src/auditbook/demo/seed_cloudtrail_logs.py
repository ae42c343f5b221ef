"""Write realistic CloudTrail log files into the demo trail's S3 bucket.

The files follow CloudTrail's delivery layout and record format, so the
collector reads them through the same S3 source as a real trail: root
console sign-ins, failed sign-ins, security group and IAM policy changes
spread over the last twelve days.
"""

from __future__ import annotations

import gzip
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

# Fixed seed so every demo build writes the same activity pattern.
_RANDOM_SEED = 20261204
_PEOPLE = ("alice.admin", "bob.platform", "carol.sre")
_ADDRESSES = ("198.51.100.24", "203.0.113.77", "192.0.2.145")


def seed(session: boto3.Session, account_id: str, variant: str) -> None:
    """Write twelve days of CloudTrail files for the production account."""
    if variant != "production":
        return

    trails = session.client("cloudtrail").describe_trails()["trailList"]
    trail = next((t for t in trails if t.get("IsMultiRegionTrail")), None)
    if trail is None or not trail.get("S3BucketName"):
        return
    bucket = trail["S3BucketName"]
    prefix = (trail.get("S3KeyPrefix") or "").strip("/")
    s3 = session.client("s3")
    rng = random.Random(_RANDOM_SEED)
    now = datetime.now(UTC).replace(microsecond=0)

    for days_ago in range(12, 0, -1):
        day = now - timedelta(days=days_ago)
        by_region: dict[str, list[dict[str, Any]]] = {}
        for record in _day_records(rng, account_id, day):
            by_region.setdefault(record["awsRegion"], []).append(record)
        for region, records in by_region.items():
            key = _key(prefix, account_id, region, day)
            body = gzip.compress(json.dumps({"Records": records}).encode())
            s3.put_object(Bucket=bucket, Key=key, Body=body)


def _key(prefix: str, account_id: str, region: str, day: datetime) -> str:
    stamp = day.strftime("%Y%m%dT%H%MZ")
    name = f"{account_id}_CloudTrail_{region}_{stamp}_{uuid.uuid4().hex[:16]}.json.gz"
    path = f"AWSLogs/{account_id}/CloudTrail/{region}/{day:%Y/%m/%d}/{name}"
    return f"{prefix}/{path}" if prefix else path


def _day_records(rng: random.Random, account_id: str, day: datetime) -> list[dict]:
    records = []
    start = day.replace(hour=8, minute=0, second=0)
    for _ in range(rng.randint(6, 14)):
        when = start + timedelta(minutes=rng.randint(0, 600))
        person = rng.choice(_PEOPLE)
        kind = rng.random()
        if kind < 0.35:
            records.append(_security_group_change(rng, account_id, when, person))
        elif kind < 0.6:
            records.append(_policy_change(rng, account_id, when, person))
        elif kind < 0.85:
            records.append(_console_login(rng, account_id, when, person, failed=True))
        else:
            records.append(_console_login(rng, account_id, when, person, failed=False))
    if day.day % 4 == 0:
        records.append(_root_login(rng, account_id, start + timedelta(hours=3)))
    return records


def _base(
    rng: random.Random, account_id: str, when: datetime, person: str, region: str
) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": f"AROADEMO{rng.randint(100000, 999999)}:{person}",
            "arn": f"arn:aws:sts::{account_id}:assumed-role/PlatformAdmin/{person}",
            "accountId": account_id,
            "accessKeyId": f"ASIADEMO{rng.randint(10**11, 10**12 - 1)}",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": f"arn:aws:iam::{account_id}:role/PlatformAdmin",
                    "userName": "PlatformAdmin",
                },
                "attributes": {"mfaAuthenticated": "true"},
            },
        },
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "awsRegion": region,
        "sourceIPAddress": rng.choice(_ADDRESSES),
        "userAgent": "aws-cli/2.17.5 Python/3.11.8 Linux/6.1",
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }


def _security_group_change(rng, account_id, when, person) -> dict:
    record = _base(
        rng, account_id, when, person, rng.choice(("eu-west-2", "eu-west-1"))
    )
    name = rng.choice(("AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"))
    group = f"sg-0{rng.getrandbits(64):016x}"
    record.update(
        eventSource="ec2.amazonaws.com",
        eventName=name,
        requestParameters={"groupId": group, "ipPermissions": {"items": []}},
        responseElements={"_return": True},
    )
    return record


def _policy_change(rng, account_id, when, person) -> dict:
    record = _base(rng, account_id, when, person, "us-east-1")
    role = rng.choice(
        ("payments-api-task-role", "statement-renderer-role", "ci-deploy")
    )
    name = rng.choice(("PutRolePolicy", "AttachRolePolicy", "CreatePolicyVersion"))
    record.update(
        eventSource="iam.amazonaws.com",
        eventName=name,
        requestParameters={"roleName": role, "policyName": "inline-access"},
        responseElements=None,
    )
    return record


def _console_login(rng, account_id, when, person, *, failed: bool) -> dict:
    record = _base(rng, account_id, when, person, "us-east-1")
    record["userIdentity"] = {
        "type": "IAMUser",
        "principalId": f"AIDADEMO{rng.randint(100000, 999999)}",
        "arn": f"arn:aws:iam::{account_id}:user/{person}",
        "accountId": account_id,
        "userName": person,
    }
    record.update(
        eventSource="signin.amazonaws.com",
        eventName="ConsoleLogin",
        eventType="AwsConsoleSignIn",
        requestParameters=None,
        responseElements={"ConsoleLogin": "Failure" if failed else "Success"},
        additionalEventData={
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": "No" if failed else "Yes",
        },
    )
    if failed:
        record["errorMessage"] = "Failed authentication"
    return record


def _root_login(rng, account_id, when) -> dict:
    record = _base(rng, account_id, when, "root", "us-east-1")
    record["userIdentity"] = {
        "type": "Root",
        "principalId": account_id,
        "arn": f"arn:aws:iam::{account_id}:root",
        "accountId": account_id,
    }
    record.update(
        eventSource="signin.amazonaws.com",
        eventName="ConsoleLogin",
        eventType="AwsConsoleSignIn",
        requestParameters=None,
        responseElements={"ConsoleLogin": "Success"},
        additionalEventData={
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": "Yes",
        },
    )
    return record
