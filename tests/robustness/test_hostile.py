"""Hostile text from AWS stays inert and intact in the site, the PDF and the workbook.

One module-scoped fixture seeds resources on a moto server on 127.0.0.1 whose
names, tags and CloudTrail fields hold HTML, Markdown, Jinja, spreadsheet
formulas, control and bidirectional characters, a 10,000-character string
and path separators. Each string goes into a field whose AWS character rules
allow it. The CLI collects the account and renders the run, and the tests
read the outputs as a visitor, a PDF reader and a spreadsheet user would.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import boto3
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from auditbook.evidence import EvidenceStore
from tests.robustness.conftest import moto_server, run_cli, write_project

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-west-2"

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
BOLD = "**bold**"
LINK = "[x](javascript:alert(1))"
HEADING = "# heading"
PIPES = "|table|pipe|"
JINJA = "{{ 7*7 }}"
JINJA_RAW = "{% raw %}"
HYPERLINK = '=HYPERLINK("http://127.0.0.1/x","y")'
PLUS = "+1+1"
MINUS = "-2+3"
AT = "@SUM(A1)"
TAB = "\tleading tab"
CR = "\rleading carriage return"
CONTROL = "bell\x07escape\x1b[31m"
RTL = "invoice\u202efdp.exe"
ZERO_WIDTH = "zero\u200bwidth"
TRAVERSAL = "../../etc/passwd"
SEPARATORS = "a/b\\c"
# Words and spaces, so that no run of 40 characters looks like a secret key
# and the CloudTrail excerpt keeps the text.
LONG = "long text " * 1000

# EC2 tag values may hold any Unicode character, up to 256 of them. XML 1.0
# cannot carry C0 controls, and an XML parser turns a raw carriage return into
# a line feed, so those travel in CloudTrail's JSON instead.
VOLUME_NAMES = (
    SCRIPT,
    IMG,
    BOLD,
    LINK,
    HEADING,
    PIPES,
    JINJA,
    JINJA_RAW,
    HYPERLINK,
    PLUS,
    MINUS,
    AT,
    TAB,
    RTL,
    ZERO_WIDTH,
    TRAVERSAL,
    SEPARATORS,
)
# Security group names allow a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*
GROUP_NAMES = (JINJA, BOLD, LINK, HEADING, PLUS, MINUS, AT, TRAVERSAL)
RULE_DESCRIPTION = f"{LINK} {JINJA}"
# IAM user names allow letters, digits and +=,.@_-; paths any printable ASCII
# other than a space, between slashes.
USERS = {
    "=1+1": f"/{SCRIPT}/",
    PLUS: "/{{7*7}}/",
    "-2+3": f"/{TRAVERSAL}/",
    "@SUM": "/",
}
# Log group names allow letters, digits and ._-/#
LOG_GROUPS = (TRAVERSAL, "#heading", "a/b")
# S3 tag values allow letters, digits, spaces and _.:/=+-@
BUCKET_CLASSIFICATION = "=1+1"
# CloudTrail records what a caller sent, so its fields may hold anything.
CLOUDTRAIL_TEXT = (
    CONTROL,
    CR,
    TAB,
    RTL,
    ZERO_WIDTH,
    LONG,
    SEPARATORS,
    SCRIPT,
    JINJA_RAW,
    HYPERLINK,
    PIPES,
    IMG,
)
# A CloudTrail excerpt field keeps at most 512 characters, then an ellipsis.
LONG_EXCERPT = LONG[:512] + "…"

# Environment variable values that must never reach any output.
SECRET_VALUES = ("hunter2-correct-horse-battery", "tok-5f1e0d9c8b7a6f5e")

# What the PDF shows for an invisible or reordering character.
PDF_ESCAPES = {
    CONTROL: "bell\\x07escape\\x1b[31m",
    RTL: "invoice\\u202efdp.exe",
    ZERO_WIDTH: "zero\\u200bwidth",
    LONG: LONG_EXCERPT,
}
# What openpyxl reads back from the workbook. Characters XML 1.0 rejects are
# stored as visible escapes, and a carriage return as the OOXML escape _x000D_,
# which Excel shows as a carriage return and openpyxl leaves as it is.
WORKBOOK_VALUES = {
    CONTROL: "bell\\x07escape\\x1b[31m",
    CR: "_x000D_leading carriage return",
    LONG: LONG_EXCERPT,
}


def seed(session: boto3.Session) -> None:
    """Create the hostile resources in the moto account."""
    ec2 = session.client("ec2")
    for name in VOLUME_NAMES:
        ec2.create_volume(
            AvailabilityZone=f"{REGION}a",
            Size=1,
            TagSpecifications=[
                {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": name}]}
            ],
        )

    vpc_id = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    for name in GROUP_NAMES:
        group = ec2.create_security_group(
            GroupName=name, Description=RULE_DESCRIPTION, VpcId=vpc_id
        )
        ec2.authorize_security_group_ingress(
            GroupId=group["GroupId"],
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 22,
                    "ToPort": 22,
                    "IpRanges": [
                        {"CidrIp": "0.0.0.0/0", "Description": RULE_DESCRIPTION}
                    ],
                }
            ],
        )

    iam = session.client("iam")
    for name, path in USERS.items():
        iam.create_user(UserName=name, Path=path)
        iam.create_access_key(UserName=name)

    logs = session.client("logs")
    for name in LOG_GROUPS:
        logs.create_log_group(logGroupName=name)

    _seed_function(session, iam)
    _seed_trail(session)


def _seed_function(session: boto3.Session, iam) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(
        RoleName="hostile-function", AssumeRolePolicyDocument=json.dumps(trust)
    )
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    session.client("lambda").create_function(
        FunctionName="hostile-function",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="index.handler",
        Code={"ZipFile": code.getvalue()},
        Environment={
            "Variables": {
                "DB_PASSWORD": SECRET_VALUES[0],
                "API_TOKEN": SECRET_VALUES[1],
            }
        },
    )


def _seed_trail(session: boto3.Session) -> None:
    s3 = session.client("s3")
    bucket = "hostile-trail-logs"
    s3.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    s3.put_bucket_tagging(
        Bucket=bucket,
        Tagging={
            "TagSet": [{"Key": "data-classification", "Value": BUCKET_CLASSIFICATION}]
        },
    )
    cloudtrail = session.client("cloudtrail")
    cloudtrail.create_trail(Name="audit", S3BucketName=bucket, IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name="audit")

    day = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    records = [
        _security_group_change(day - timedelta(minutes=index), index, text, other)
        for index, (text, other) in enumerate(
            zip(CLOUDTRAIL_TEXT[::2], CLOUDTRAIL_TEXT[1::2], strict=True)
        )
    ]
    stamp = day.strftime("%Y%m%dT%H%MZ")
    key = (
        f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{day:%Y/%m/%d}/"
        f"{ACCOUNT}_CloudTrail_{REGION}_{stamp}_hostile.json.gz"
    )
    body = gzip.compress(json.dumps({"Records": records}).encode())
    s3.put_object(Bucket=bucket, Key=key, Body=body)

    # Files in the trail's bucket that CloudTrail did not write: not gzip, and
    # a record nested 100,000 levels deep in a 1 KB gzip file.
    nested = "[" * 100_000 + "]" * 100_000
    unreadable = {
        "not-gzip": b"<script>alert(1)</script>",
        "deep": gzip.compress(f'{{"Records": [{{"x": {nested}}}]}}'.encode()),
    }
    for name, content in unreadable.items():
        s3.put_object(Bucket=bucket, Key=key.replace("hostile", name), Body=content)


def _security_group_change(when: datetime, index: int, text: str, other: str) -> dict:
    # The caller's ARN and the group id carry one string, the source address
    # and the error code another.
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": text, "accountId": ACCOUNT},
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ec2.amazonaws.com",
        "eventName": "AuthorizeSecurityGroupIngress",
        "awsRegion": REGION,
        "sourceIPAddress": other,
        "userAgent": text,
        "requestParameters": {"groupId": text},
        "responseElements": None,
        "errorCode": other,
        "eventID": f"hostile-event-{index}",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    config = write_project(
        root / "project",
        {
            "organisation": "Hostile Input Ltd",
            "regions": [REGION],
            "sensitive_bucket_tag": {
                "key": "data-classification",
                "values": ["confidential", BUCKET_CLASSIFICATION],
            },
            "cloudtrail": {"source": "s3", "days": 30},
        },
    )
    evidence, site = root / "evidence", root / "site"
    with moto_server():
        seed(boto3.Session(region_name=REGION))
        collected = run_cli(
            "--quiet", "-c", str(config), "collect", "--out", str(evidence)
        )
    rendered = run_cli(
        "--quiet",
        "-c",
        str(config),
        "render",
        "--evidence",
        str(evidence),
        "--site-dir",
        str(site),
    )
    return {
        "collected": collected,
        "rendered": rendered,
        "run": EvidenceStore(evidence).open(),
        "evidence": evidence,
        "site": site,
    }


class _Page(HTMLParser):
    """The text, elements and attributes of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)
        else:
            self.text.append(data)


def read_page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.fixture(scope="module")
def pages(outputs) -> dict[str, _Page]:
    site = outputs["site"]
    return {
        path.relative_to(site).as_posix(): read_page(path)
        for path in sorted(site.rglob("*.html"))
    }


@pytest.fixture(scope="module")
def site_text(pages) -> str:
    return "\n".join("".join(page.text) for page in pages.values())


@pytest.fixture(scope="module")
def pdf_text(outputs) -> str:
    reader = PdfReader(outputs["site"] / "audit-pack.pdf")
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture(scope="module")
def cells(outputs) -> list:
    workbook = load_workbook(outputs["site"] / "evidence.xlsx")
    return [
        cell
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]


def squeeze(text: str) -> str:
    """Remove all whitespace, which the PDF adds where it wraps a line."""
    return re.sub(r"\s+", "", text)


def test_collect_and_render_succeed(outputs):
    errors = {
        f.check_id for f in outputs["run"].findings() if f.status.value == "ERROR"
    }

    # NOTE: moto's credential report has no <root_account> row, which IAM
    # always writes, so the root-use check is ERROR; nothing else may be.
    assert errors == {"aws.iam.root_not_used_recently"}
    assert outputs["collected"].code == 2
    assert outputs["rendered"].code == 0, outputs["rendered"].err


def test_run_holds_strings_intact(outputs):
    findings = (outputs["run"].path / "findings.jsonl").read_text(encoding="utf-8")
    messages = {f.message for f in outputs["run"].findings()}
    events = list(outputs["run"].cloudtrail_events())

    for name in VOLUME_NAMES:
        assert any(f"({name}) is not encrypted" in m for m in messages), name
    for name in GROUP_NAMES:
        assert any(f"({name}) allows 0.0.0.0/0" in m for m in messages), name
    for text in CLOUDTRAIL_TEXT:
        expected = LONG_EXCERPT if text == LONG else text
        assert any(e["resource"] == expected for e in events) or any(
            e["source_ip"] == expected for e in events
        ), text
    assert "hunter2" not in findings


def test_site_adds_no_elements(pages):
    for uri, page in pages.items():
        for tag, attributes in page.elements:
            if tag == "img":
                assert attributes.get("src") != "x", uri
            for name, value in attributes.items():
                assert not name.startswith("on"), (uri, tag, name)
                assert not value.strip().lower().startswith("javascript:"), (uri, tag)
        for script in page.scripts:
            assert "alert(" not in script, uri


def test_site_shows_names_literally(site_text):
    for name in VOLUME_NAMES:
        if name in (TAB, RTL, ZERO_WIDTH):
            continue
        assert f"({name}) is not encrypted" in site_text, name
    for name in GROUP_NAMES:
        assert f"({name}) allows 0.0.0.0/0" in site_text, name
    for name, path in USERS.items():
        assert f"IAM user {name} " in site_text, name
        assert f"user{path}{name}/access-key/" in site_text, name
    for name in LOG_GROUPS:
        assert f"Log group {name} " in site_text, name
    assert f"({TAB}) is not encrypted" in site_text
    assert f"(data-classification={BUCKET_CLASSIFICATION})" in site_text


def test_site_renders_no_template_code(site_text):
    assert "({{ 7*7 }}) is not encrypted" in site_text
    assert "(49)" not in site_text
    assert "({% raw %}) is not encrypted" in site_text


def test_site_escapes_invisible_characters(site_text):
    assert "\u202e" not in site_text
    assert "\u200b" not in site_text
    assert "(invoice\\u202efdp.exe) is not encrypted" in site_text
    assert "(zero\\u200bwidth) is not encrypted" in site_text


def test_site_shows_cloudtrail_fields(site_text):
    for text in CLOUDTRAIL_TEXT:
        expected = PDF_ESCAPES.get(text, text)
        assert expected.strip() in site_text, text
    assert "\x07" not in site_text
    assert "\x1b" not in site_text


def test_unreadable_log_files_reported(outputs, pages, pdf_text, cells):
    summary = outputs["run"].metadata["cloudtrail"]["controls"]["MON-06"]
    [error] = [e for e in summary["errors"] if e["region"] == REGION]
    page = "".join(pages["controls/monitoring/mon-06/index.html"].text)
    run_rows = [c.value for c in cells if c.parent.title == "Run"]

    assert error["code"] == "UnreadableLogFile"
    assert error["detail"].startswith("2 log file(s) skipped")
    assert summary["total"] == len(CLOUDTRAIL_TEXT) // 2
    assert "This excerpt is incomplete." in page
    assert "failed with UnreadableLogFile (2 log file(s) skipped" in page
    assert "failedwithUnreadableLogFile" in squeeze(pdf_text)
    assert "cloudtrail_error" in run_rows


def test_findings_downloads_keep_strings(outputs):
    data = json.loads(
        (outputs["site"] / "findings" / "data-03.json").read_text(encoding="utf-8")
    )
    names = {f["evidence"].get("name") for f in data["findings"]}

    assert set(VOLUME_NAMES) <= names


def test_pdf_shows_names_literally(pdf_text):
    squeezed = squeeze(pdf_text)

    for name in VOLUME_NAMES:
        expected = PDF_ESCAPES.get(name, name)
        assert squeeze(f"({expected}) is not encrypted") in squeezed, name
    for name in GROUP_NAMES:
        assert squeeze(f"({name}) allows 0.0.0.0/0") in squeezed, name
    for name in USERS:
        assert squeeze(f"IAM user {name} was created") in squeezed, name
    assert "(49)" not in pdf_text


def test_pdf_shows_cloudtrail_fields(pdf_text):
    squeezed = squeeze(pdf_text)

    for text in CLOUDTRAIL_TEXT:
        assert squeeze(PDF_ESCAPES.get(text, text)) in squeezed, text


def test_pdf_escapes_invisible_characters(pdf_text):
    for character in ("\u202e", "\u200b", "\x07", "\x1b"):
        assert character not in pdf_text, repr(character)


def test_workbook_has_no_formula(cells):
    formulas = [c.coordinate for c in cells if c.data_type == "f"]

    assert formulas == []


def test_workbook_keeps_cloudtrail_fields(cells):
    values = {c.value: c for c in cells if isinstance(c.value, str)}

    for text in CLOUDTRAIL_TEXT:
        expected = WORKBOOK_VALUES.get(text, text)
        assert expected in values, text
        cell = values[expected]
        assert cell.data_type == "s", text
        if text.startswith(("=", "+", "-", "@", "\t", "\r")):
            assert cell.quotePrefix, text


def test_workbook_keeps_names_in_messages(cells):
    messages = [c.value for c in cells if isinstance(c.value, str)]

    for name in VOLUME_NAMES:
        assert any(f"({name}) is not encrypted" in m for m in messages), name
    for name in GROUP_NAMES:
        assert any(f"({name}) allows 0.0.0.0/0" in m for m in messages), name
    bucket = f"(data-classification={BUCKET_CLASSIFICATION})"
    assert any(bucket in m for m in messages)


def test_secret_values_never_shown(outputs, pdf_text, cells):
    files = [
        path
        for folder in (outputs["site"], outputs["evidence"])
        for path in folder.rglob("*")
        if path.is_file()
    ]
    texts = [c.value for c in cells if isinstance(c.value, str)]

    for secret in SECRET_VALUES:
        assert secret not in pdf_text
        assert not any(secret in text for text in texts)
        for path in files:
            assert secret.encode() not in path.read_bytes(), path
    assert "DB_PASSWORD" in pdf_text


def test_no_path_from_aws_text(outputs):
    fragments = ("<", ">", "{", "}", "passwd", "HYPERLINK", "\u202e", "\\", "=")

    for folder in (outputs["site"], outputs["evidence"]):
        for path in folder.rglob("*"):
            relative = path.relative_to(folder).as_posix()
            for fragment in fragments:
                assert fragment not in relative, relative
