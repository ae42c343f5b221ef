"""LookupEvents tests.

moto does not implement CloudTrail LookupEvents, so these tests use
botocore's Stubber on a real client, with responses shaped as the
CloudTrail API reference documents them (Events with a CloudTrailEvent JSON
string, and NextToken for pagination).
"""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber

from auditbook.cloudtrail.lookup import RateLimiter, iter_events
from auditbook.errors import AwsCallError
from tests.cloudtrail.logfiles import record

END = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
START = END - timedelta(days=30)


def event(name: str, when: datetime) -> dict:
    body = record(name, when)
    return {
        "EventId": body["eventID"],
        "EventName": name,
        "ReadOnly": "false",
        "EventTime": when,
        "EventSource": body["eventSource"],
        "Username": "alice",
        "Resources": [],
        "CloudTrailEvent": json.dumps(body),
    }


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def client():
    return boto3.client(
        "cloudtrail",
        region_name="eu-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_pages_followed(client):
    attribute = {"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}
    expected = {
        "StartTime": START,
        "EndTime": END,
        "MaxResults": 50,
        "LookupAttributes": [attribute],
    }
    with Stubber(client) as stub:
        stub.add_response(
            "lookup_events",
            {"Events": [event("ConsoleLogin", END)], "NextToken": "page-2"},
            expected,
        )
        stub.add_response(
            "lookup_events",
            {"Events": [event("ConsoleLogin", END - timedelta(hours=1))]},
            {**expected, "NextToken": "page-2"},
        )
        clock = FakeClock()
        limiter = RateLimiter(0.5, clock=clock, sleep=clock.sleep)

        records = list(iter_events(client, START, END, attribute, limiter))

    assert [r["eventName"] for r in records] == ["ConsoleLogin", "ConsoleLogin"]
    assert clock.slept == [0.5]


def test_throttling_raises_with_code(client):
    with Stubber(client) as stub:
        stub.add_client_error(
            "lookup_events",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            http_status_code=400,
            expected_params={"StartTime": ANY, "EndTime": ANY, "MaxResults": 50},
        )

        with pytest.raises(AwsCallError) as raised:
            list(iter_events(client, START, END, None, RateLimiter(0)))

    assert raised.value.code == "ThrottlingException"
    assert raised.value.operation == "cloudtrail:LookupEvents"


def test_rate_limiter_spaces_calls():
    clock = FakeClock()
    limiter = RateLimiter(0.5, clock=clock, sleep=clock.sleep)

    for _ in range(5):
        limiter.wait()

    assert clock.slept == [0.5, 0.5, 0.5, 0.5]


def test_event_without_json_skipped(client):
    broken = event("ConsoleLogin", END)
    broken["CloudTrailEvent"] = "{not json"
    with Stubber(client) as stub:
        stub.add_response("lookup_events", {"Events": [broken, event("A", END)]})

        records = list(iter_events(client, START, END, None, RateLimiter(0)))

    assert [r["eventName"] for r in records] == ["A"]
