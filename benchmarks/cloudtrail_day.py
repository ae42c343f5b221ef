"""Benchmark: stream one CloudTrail day file of 50,000 events.

Builds a gzipped log file shaped like CloudTrail's delivery, then matches
every record against the selectors of four controls, as collection does.
Prints events per second and the peak Python memory (tracemalloc) of the
matching pass, next to the size of the decompressed file.

Run: .venv/bin/python benchmarks/cloudtrail_day.py [EVENTS]
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from auditbook.cloudtrail.archive import records_from_stream
from auditbook.cloudtrail.excerpts import ControlActivity
from auditbook.cloudtrail.selectors import Selector

EVENT_NAMES = (
    "DescribeInstances",
    "AuthorizeSecurityGroupIngress",
    "ConsoleLogin",
    "PutRolePolicy",
    "GetObject",
    "AssumeRole",
)

SELECTORS = {
    "IAM-01": [Selector.from_dict({"identity_type": "Root"})],
    "NET-01": [Selector.from_dict({"event_names": ["AuthorizeSecurityGroupIngress"]})],
    "MON-04": [
        Selector.from_dict({"event_names": ["ConsoleLogin"], "failed_only": True})
    ],
    "IAM-03": [
        Selector.from_dict({"event_names": ["PutRolePolicy", "AttachRolePolicy"]})
    ],
}


def build_day(count: int) -> tuple[bytes, int]:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    records = []
    for n in range(count):
        name = EVENT_NAMES[n % len(EVENT_NAMES)]
        identity = {"type": "Root"} if n % 997 == 0 else {"type": "AssumedRole"}
        records.append(
            {
                "eventVersion": "1.09",
                "eventID": f"event-{n}",
                "eventTime": (start + timedelta(seconds=n)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "eventName": name,
                "eventSource": "ec2.amazonaws.com",
                "awsRegion": "eu-west-2",
                "sourceIPAddress": "203.0.113.10",
                "userIdentity": {
                    **identity,
                    "arn": f"arn:aws:sts::123456789012:assumed-role/App/session-{n}",
                },
                "requestParameters": {"groupId": f"sg-{n:017x}", "filler": "x" * 400},
                "responseElements": {
                    "ConsoleLogin": "Failure" if n % 5 == 0 else "Success"
                },
            }
        )
    raw = json.dumps({"Records": records}).encode()
    return gzip.compress(raw), len(raw)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    compressed, raw_size = build_day(count)
    activities = {cid: ControlActivity(cid, cap=50) for cid in SELECTORS}

    tracemalloc.start()
    began = time.perf_counter()
    seen = 0
    with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as stream:
        for record in records_from_stream(stream):
            seen += 1
            for control_id, selectors in SELECTORS.items():
                if any(s.matches(record) for s in selectors):
                    activities[control_id].add(record)
    elapsed = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"events: {seen}")
    print(
        f"decompressed file: {raw_size / 1e6:.1f} MB "
        f"({len(compressed) / 1e6:.1f} MB gzipped)"
    )
    print(f"seconds: {elapsed:.2f}")
    print(f"events per second: {seen / elapsed:,.0f}")
    print(f"peak memory while streaming: {peak / 1e6:.1f} MB")
    for control_id, activity in activities.items():
        print(
            f"  {control_id}: {activity.total} matched, {len(activity.events())} kept"
        )


if __name__ == "__main__":
    main()
