from datetime import UTC, datetime

from auditbook.cloudtrail.excerpts import lookup_queries
from auditbook.cloudtrail.selectors import Selector
from tests.cloudtrail.logfiles import ROOT, record

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def failed_login() -> dict:
    return record(
        "ConsoleLogin",
        WHEN,
        source="signin.amazonaws.com",
        responseElements={"ConsoleLogin": "Failure"},
        errorMessage="Failed authentication",
    )


def test_event_name_and_source_match():
    selector = Selector.from_dict(
        {
            "event_source": "ec2.amazonaws.com",
            "event_names": ["AuthorizeSecurityGroupIngress"],
        }
    )

    assert selector.matches(record("AuthorizeSecurityGroupIngress", WHEN))
    assert not selector.matches(record("RunInstances", WHEN))


def test_root_identity_matches_only_root():
    selector = Selector.from_dict({"identity_type": "Root"})

    assert selector.matches(record("ConsoleLogin", WHEN, identity=ROOT))
    assert not selector.matches(record("ConsoleLogin", WHEN))


def test_failed_only_reads_console_login_response():
    selector = Selector.from_dict(
        {"event_names": ["ConsoleLogin"], "failed_only": True}
    )
    succeeded = record(
        "ConsoleLogin",
        WHEN,
        source="signin.amazonaws.com",
        responseElements={"ConsoleLogin": "Success"},
    )

    assert selector.matches(failed_login())
    assert not selector.matches(succeeded)


def test_error_codes_match():
    selector = Selector.from_dict({"error_codes": ["AccessDenied"]})

    assert selector.matches(record("GetObject", WHEN, errorCode="AccessDenied"))
    assert not selector.matches(record("GetObject", WHEN))


def test_read_only_accepts_string_flag():
    selector = Selector.from_dict(
        {"event_names": ["DescribeTrails"], "read_only": True}
    )

    assert selector.matches(record("DescribeTrails", WHEN, readOnly="true"))
    assert not selector.matches(record("DescribeTrails", WHEN, readOnly="false"))


def test_lookup_queries_per_event_name():
    selectors = [
        Selector.from_dict({"event_names": ["B", "A"]}),
        Selector.from_dict({"event_source": "iam.amazonaws.com"}),
        Selector.from_dict({"event_names": ["A"]}),
    ]

    queries = lookup_queries(selectors)

    assert queries == [
        {"AttributeKey": "EventName", "AttributeValue": "A"},
        {"AttributeKey": "EventName", "AttributeValue": "B"},
        {"AttributeKey": "EventSource", "AttributeValue": "iam.amazonaws.com"},
    ]


def test_lookup_without_attribute_reads_everything():
    selectors = [Selector.from_dict({"error_codes": ["AccessDenied"]})]

    assert lookup_queries(selectors) == [None]


def test_fields_of_wrong_type_match_nothing():
    selector = Selector.from_dict(
        {"event_names": ["ConsoleLogin"], "error_codes": ["AccessDenied"]}
    )
    odd = record("ConsoleLogin", datetime(2026, 12, 1, tzinfo=UTC))
    odd.update(eventName=["ConsoleLogin"], errorCode={"AccessDenied": 1})

    assert not selector.matches(odd)
    assert not Selector.from_dict({"identity_type": "Root"}).matches(
        {**odd, "userIdentity": "Root"}
    )
