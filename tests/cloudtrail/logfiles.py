"""Build CloudTrail records and gzipped log files shaped like AWS delivers them."""

from __future__ import annotations

import gzip
import json
from datetime import datetime

ACCOUNT = "123456789012"


def record(
    event_name: str,
    when: datetime,
    *,
    source: str = "ec2.amazonaws.com",
    identity: dict | None = None,
    region: str = "eu-west-2",
    event_id: str | None = None,
    **extra,
) -> dict:
    return {
        "eventVersion": "1.09",
        "userIdentity": identity
        or {
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLEKEY123456",
        },
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15",
        "requestParameters": {"groupId": "sg-0123456789abcdef0"},
        "responseElements": None,
        "eventID": event_id or f"{event_name}-{when.isoformat()}",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
        **extra,
    }


ROOT = {
    "type": "Root",
    "arn": f"arn:aws:iam::{ACCOUNT}:root",
    "accountId": ACCOUNT,
    "principalId": ACCOUNT,
}


def log_file(records: list[dict]) -> bytes:
    return gzip.compress(json.dumps({"Records": records}).encode())


def log_key(
    day: datetime, region: str = "eu-west-2", org: str | None = None, n: int = 0
):
    owner = f"{org}/{ACCOUNT}" if org else ACCOUNT
    stamp = day.strftime("%Y%m%dT%H%MZ")
    return (
        f"AWSLogs/{owner}/CloudTrail/{region}/{day:%Y/%m/%d}/"
        f"{ACCOUNT}_CloudTrail_{region}_{stamp}_{n:04d}.json.gz"
    )
