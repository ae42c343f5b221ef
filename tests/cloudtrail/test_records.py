from datetime import UTC, datetime

from auditbook.cloudtrail.records import excerpt, mask_access_key, scrub
from tests.cloudtrail.logfiles import ROOT, record

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_excerpt_keeps_listed_fields():
    row = excerpt("NET-01", record("AuthorizeSecurityGroupIngress", WHEN))

    assert row.control_id == "NET-01"
    assert row.event_time == "2026-12-01T09:30:00Z"
    assert row.principal == "arn:aws:sts::123456789012:assumed-role/Admin/alice"
    assert row.principal_type == "AssumedRole"
    assert row.resource == "sg-0123456789abcdef0"
    assert row.source_ip == "203.0.113.10"


def test_access_key_masked():
    row = excerpt("NET-01", record("AuthorizeSecurityGroupIngress", WHEN))

    assert row.access_key_id == "ASIA…3456"
    assert "ASIAEXAMPLEKEY123456" not in str(row.to_dict())


def test_root_console_login_reports_mfa():
    event = record(
        "ConsoleLogin",
        WHEN,
        source="signin.amazonaws.com",
        identity=ROOT,
        additionalEventData={"MFAUsed": "No", "LoginTo": "https://console"},
        responseElements={"ConsoleLogin": "Success"},
    )

    row = excerpt("IAM-01", event)

    assert row.principal == "arn:aws:iam::123456789012:root"
    assert row.mfa_used == "No"
    assert row.error_code == ""


def test_failed_login_shows_failure():
    event = record(
        "ConsoleLogin",
        WHEN,
        source="signin.amazonaws.com",
        responseElements={"ConsoleLogin": "Failure"},
        errorMessage="Failed authentication",
    )

    assert (
        excerpt("MON-04", event).error_code
        == "ConsoleLogin failure: Failed authentication"
    )


def test_request_bodies_not_copied():
    event = record(
        "PutRolePolicy",
        WHEN,
        source="iam.amazonaws.com",
        requestParameters={"roleName": "app", "policyDocument": '{"Statement": []}'},
    )

    row = excerpt("IAM-03", event).to_dict()

    assert row["resource"] == "app"
    assert "Statement" not in str(row)


def test_credential_like_text_redacted():
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    assert scrub(f"key AKIAIOSFODNN7EXAMPLE secret {secret}") == (
        "key AKIA…MPLE secret [redacted]"
    )


def test_short_key_fully_masked():
    assert mask_access_key("AKIA") == "****"
