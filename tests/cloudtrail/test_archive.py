import gzip
import io
import json
from datetime import UTC, datetime, timedelta

from auditbook.checks.context import AccountSession, ApiCallCounter
from auditbook.cloudtrail import archive
from auditbook.cloudtrail.excerpts import collect_excerpts
from auditbook.collect import botocore_config
from auditbook.controls import parse_control
from tests.cloudtrail.logfiles import ACCOUNT, ROOT, log_file, log_key, record

BUCKET = "northwind-cloudtrail"
END = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

NET = """---
id: NET-01
title: Admin ports closed
layer: network
severity: high
owner: Team
cloudtrail:
  - event_source: ec2.amazonaws.com
    event_names: [AuthorizeSecurityGroupIngress]
---
"""
ROOT_CONTROL = """---
id: IAM-01
title: Root unused
layer: identity
severity: high
owner: Team
cloudtrail:
  - identity_type: Root
---
"""


def put(s3, key: str, records: list[dict]) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=log_file(records))


def controls(tmp_path):
    paths = []
    for name, text in (("net.md", NET), ("root.md", ROOT_CONTROL)):
        path = tmp_path / name
        path.write_text(text)
        paths.append(parse_control(path))
    return paths


def account(aws) -> AccountSession:
    return AccountSession(
        ACCOUNT, aws, "eu-west-2", ApiCallCounter(), botocore_config()
    )


def s3_settings(settings, **changes):
    from dataclasses import replace

    values = dict(cloudtrail_source="s3", cloudtrail_bucket=BUCKET, cloudtrail_days=30)
    values.update(changes)
    return replace(settings, **values)


def make_bucket(aws):
    s3 = aws.client("s3")
    s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
    )
    return s3


def test_records_streamed_from_gzip():
    data = log_file([record("A", END), record("B", END)])

    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        names = [r["eventName"] for r in archive.records_from_stream(stream)]

    assert names == ["A", "B"]


def test_excerpts_read_from_s3_archive(aws, settings, tmp_path):
    s3 = make_bucket(aws)
    day = END - timedelta(days=2)
    put(
        s3,
        log_key(day),
        [
            record("AuthorizeSecurityGroupIngress", day),
            record("RunInstances", day),
        ],
    )
    put(
        s3,
        log_key(day, region="us-east-1"),
        [
            record(
                "ConsoleLogin",
                day,
                source="signin.amazonaws.com",
                identity=ROOT,
                region="us-east-1",
            ),
        ],
    )

    result = collect_excerpts(
        s3_settings(settings), controls(tmp_path), [account(aws)], ["eu-west-2"], END
    )

    summary = result.summary()["controls"]
    assert summary["NET-01"]["total"] == 1
    assert summary["IAM-01"]["total"] == 1
    rows = {row["control_id"]: row for row in result.rows()}
    assert rows["NET-01"]["event_name"] == "AuthorizeSecurityGroupIngress"
    assert rows["IAM-01"]["principal"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_organisation_layout_found(aws, settings, tmp_path):
    s3 = make_bucket(aws)
    day = END - timedelta(days=1)
    put(
        s3,
        log_key(day, org="o-a1b2c3d4e5"),
        [record("AuthorizeSecurityGroupIngress", day)],
    )

    result = collect_excerpts(
        s3_settings(settings), controls(tmp_path), [account(aws)], ["eu-west-2"], END
    )

    assert result.summary()["controls"]["NET-01"]["total"] == 1


def test_days_outside_period_not_read(aws, settings, tmp_path):
    s3 = make_bucket(aws)
    old = END - timedelta(days=40)
    put(s3, log_key(old), [record("AuthorizeSecurityGroupIngress", old)])

    result = collect_excerpts(
        s3_settings(settings), controls(tmp_path), [account(aws)], ["eu-west-2"], END
    )

    assert result.summary()["controls"]["NET-01"]["total"] == 0


def test_cap_keeps_newest_and_counts_all(aws, settings, tmp_path):
    s3 = make_bucket(aws)
    day = END - timedelta(days=3)
    events = [
        record(
            "AuthorizeSecurityGroupIngress",
            day + timedelta(minutes=n),
            event_id=f"e{n}",
        )
        for n in range(10)
    ]
    put(s3, log_key(day), events)

    result = collect_excerpts(
        s3_settings(settings, cloudtrail_max_events_per_control=3),
        controls(tmp_path),
        [account(aws)],
        ["eu-west-2"],
        END,
    )

    net = [row for row in result.rows() if row["control_id"] == "NET-01"]
    assert result.summary()["controls"]["NET-01"] == {
        "total": 10,
        "shown": 3,
        "errors": [],
    }
    assert [row["event_id"] for row in net] == ["e9", "e8", "e7"]


def test_missing_bucket_is_error_not_silence(aws, settings, tmp_path):
    result = collect_excerpts(
        s3_settings(settings), controls(tmp_path), [account(aws)], ["eu-west-2"], END
    )

    errors = result.summary()["controls"]["NET-01"]["errors"]
    assert errors[0]["code"] == "NoSuchBucket"
    assert result.summary()["controls"]["NET-01"]["total"] == 0


def test_corrupt_file_skipped_and_neighbours_read(aws, settings, tmp_path):
    s3 = make_bucket(aws)
    day = END - timedelta(days=1)
    s3.put_object(Bucket=BUCKET, Key=log_key(day, n=1), Body=b"not gzip")
    put(s3, log_key(day, n=2), [record("AuthorizeSecurityGroupIngress", day)])

    result = collect_excerpts(
        s3_settings(settings), controls(tmp_path), [account(aws)], ["eu-west-2"], END
    )

    assert result.summary()["controls"]["NET-01"]["total"] == 1


def test_bucket_found_from_trail(aws, settings, tmp_path):
    s3 = make_bucket(aws)
    aws.client("cloudtrail").create_trail(
        Name="org-trail", S3BucketName=BUCKET, IsMultiRegionTrail=True
    )
    day = END - timedelta(days=1)
    put(s3, log_key(day), [record("AuthorizeSecurityGroupIngress", day)])

    result = collect_excerpts(
        s3_settings(settings, cloudtrail_bucket=None),
        controls(tmp_path),
        [account(aws)],
        ["eu-west-2"],
        END,
    )

    assert result.summary()["controls"]["NET-01"]["total"] == 1


def test_excerpt_rows_are_json(aws, settings, tmp_path):
    s3 = make_bucket(aws)
    day = END - timedelta(days=1)
    put(s3, log_key(day), [record("AuthorizeSecurityGroupIngress", day)])

    result = collect_excerpts(
        s3_settings(settings), controls(tmp_path), [account(aws)], ["eu-west-2"], END
    )

    assert json.loads(json.dumps(result.rows()))[0]["region"] == "eu-west-2"


def records_of(document: str) -> list[dict]:
    return list(archive.records_from_stream(io.BytesIO(document.encode())))


def test_deep_record_rejected_without_blowup():
    nested = "[" * 100_000 + "]" * 100_000
    document = (
        '{"Records": [{"eventName": "A"}, {"requestParameters": ' + nested + "}]}"
    )
    read = []

    try:
        for item in archive.records_from_stream(io.BytesIO(document.encode())):
            read.append(item)
    except archive.UnreadableLogFile as exc:
        assert "deeper than 64 levels" in str(exc)
    else:
        raise AssertionError("a record nested 100,000 levels deep was accepted")
    assert read == [{"eventName": "A"}]


def test_non_object_record_rejected():
    for item in ("1", '"text"', "null", "[]"):
        try:
            records_of('{"Records": [' + item + "]}")
        except archive.UnreadableLogFile as exc:
            assert "is a JSON" in str(exc)
        else:
            raise AssertionError(f"Records item {item} was accepted")


def test_only_top_level_records_read():
    document = '{"Digest": {"Records": [1]}, "Records": [{"eventName": "A"}]}'

    assert records_of(document) == [{"eventName": "A"}]


def test_unreadable_files_make_excerpt_incomplete(aws, settings, tmp_path):
    s3 = make_bucket(aws)
    day = END - timedelta(days=1)
    s3.put_object(Bucket=BUCKET, Key=log_key(day, n=1), Body=b"not gzip")
    s3.put_object(
        Bucket=BUCKET,
        Key=log_key(day, n=2),
        Body=gzip.compress(b'{"Records": [{"eventName": "A"}, 5]}'),
    )
    put(s3, log_key(day, n=3), [record("AuthorizeSecurityGroupIngress", day)])

    result = collect_excerpts(
        s3_settings(settings), controls(tmp_path), [account(aws)], ["eu-west-2"], END
    )

    summary = result.summary()["controls"]["NET-01"]
    assert summary["total"] == 1
    [error] = [e for e in summary["errors"] if e["region"] == "eu-west-2"]
    assert error["code"] == "UnreadableLogFile"
    assert error["detail"] == f"2 log file(s) skipped, first {log_key(day, n=1)}"


def test_records_of_odd_types_do_not_stop_collection(aws, settings, tmp_path):
    s3 = make_bucket(aws)
    day = END - timedelta(days=1)
    odd = [
        record("AuthorizeSecurityGroupIngress", day, identity="root"),
        record("AuthorizeSecurityGroupIngress", day, requestParameters=[1, 2]),
        record(
            "AuthorizeSecurityGroupIngress",
            day,
            identity={"type": ["Root"], "sessionContext": "none"},
            resources=[1, None, {"ARN": 5}],
            errorCode={"code": 1},
        ),
        record(["AuthorizeSecurityGroupIngress"], day),
    ]
    # Without event ids, records of the same second tie on time and id.
    for item in odd:
        item.pop("eventID")
    put(s3, log_key(day), odd)

    result = collect_excerpts(
        s3_settings(settings), controls(tmp_path), [account(aws)], ["eu-west-2"], END
    )

    rows = result.rows()
    assert result.summary()["controls"]["NET-01"]["total"] == 3
    assert len(rows) == 3
    assert {row["resource"] for row in rows} == {"sg-0123456789abcdef0", "", "5"}
    assert "{'code': 1}" in {row["error_code"] for row in rows}
