"""The demo build end to end, from the CLI, as a new user runs it.

One module-scoped build serves every test: it starts the demo's moto server
on 127.0.0.1, seeds it, collects over HTTP and renders the site, the PDF and
the workbook.
"""

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from auditbook.checks.registry import READ_ONLY_ACTION, load_checks
from auditbook.cli import main
from auditbook.controls import load_library
from auditbook.evidence import EvidenceStore
from auditbook.iam_policy import action_for, required_actions

REPO = Path(__file__).parents[1]

# AssumeRole reaches the sandbox account. It issues temporary credentials and
# changes no resource, but its name is not a read verb.
CROSS_ACCOUNT = {"sts:AssumeRole"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(REPO)
    try:
        code = main(
            [
                "--quiet",
                "build",
                "--demo",
                "--out",
                str(out / "evidence"),
                "--site-dir",
                str(out / "site"),
            ]
        )
    finally:
        monkeypatch.undo()
    run = EvidenceStore(out / "evidence").open()
    return {"code": code, "out": out, "run": run, "findings": run.findings()}


def statuses(demo, check_id: str) -> set[str]:
    return {f.status.value for f in demo["findings"] if f.check_id == check_id}


def test_demo_exits_one_for_failing_controls(demo):
    assert demo["code"] == 1


def test_demo_has_no_errors(demo):
    errors = [
        f"{f.check_id} {f.resource_id}" for f in demo["findings"] if f.status == "ERROR"
    ]

    assert errors == []


def test_every_check_has_pass_and_fail(demo):
    missing = [
        check_id
        for check_id in sorted(load_checks())
        if not {"PASS", "FAIL"} <= statuses(demo, check_id)
    ]

    assert missing == []


def test_collection_calls_only_read_operations(demo):
    operations = demo["run"].metadata["api_calls"]["by_operation"]

    writes = [
        name
        for name in operations
        if name not in CROSS_ACCOUNT
        and not READ_ONLY_ACTION.match(action_for(*name.split(":")))
    ]

    assert writes == []


def test_policy_covers_every_call(demo):
    operations = demo["run"].metadata["api_calls"]["by_operation"]
    allowed = set(required_actions(load_checks().values()))

    missing = sorted(
        action_for(*name.split(":"))
        for name in operations
        if name not in CROSS_ACCOUNT and action_for(*name.split(":")) not in allowed
    )

    assert missing == []


def test_site_has_page_per_control(demo):
    site = demo["out"] / "site"
    library = load_library(REPO / "controls")

    assert (site / "index.html").is_file()
    for control in library.controls:
        pages = list(site.glob(f"controls/*/{control.slug}/index.html"))
        assert pages, f"no page for {control.id}"


def test_site_shows_seeded_failure(demo):
    [bastion] = [
        f
        for f in demo["findings"]
        if f.check_id == "aws.ec2.sg_no_public_ssh"
        and f.account_id == "123456789012"
        and f.status == "FAIL"
    ]
    [page] = (demo["out"] / "site").glob("controls/network/net-01/index.html")

    html = page.read_text(encoding="utf-8")

    assert bastion.resource_id in html
    assert "(bastion)" in html


def test_pdf_and_workbook_written(demo):
    pdf = demo["out"] / "site" / "audit-pack.pdf"
    workbook = demo["out"] / "site" / "evidence.xlsx"

    text = "".join(page.extract_text() for page in PdfReader(pdf).pages[:3])
    sheets = load_workbook(workbook, read_only=True).sheetnames

    assert demo["run"].run_id in text
    assert "Findings" in sheets


def test_workbook_lists_every_finding(demo):
    workbook = load_workbook(demo["out"] / "site" / "evidence.xlsx", read_only=True)
    rows = list(workbook["Findings"].iter_rows(values_only=True))

    assert len(rows) - 1 == len(demo["findings"])


def test_cloudtrail_excerpts_from_s3(demo):
    excerpts = demo["run"].metadata["cloudtrail"]

    assert excerpts["source"] == "s3"
    for control_id in ("IAM-01", "MON-05", "MON-06", "MON-07"):
        assert excerpts["controls"][control_id]["total"] > 0, control_id


def test_run_verifies(demo, capsys):
    code = main(["verify", "--evidence", str(demo["out"] / "evidence")])

    assert code == 0


def test_manual_controls_show_attestation_states(demo):
    page = demo["out"] / "site" / "controls" / "governance"
    states = {
        control: (page / control / "index.html").read_text(encoding="utf-8")
        for control in ("gov-01", "gov-02", "gov-03")
    }

    assert "ATTESTED" in states["gov-01"]
    assert "ATTESTATION EXPIRED" in states["gov-02"]
    assert "EVIDENCE MISSING" in states["gov-03"]


def test_findings_json_has_every_finding(demo):
    path = demo["out"] / "site" / "findings" / "net-01.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    expected = [
        f
        for f in demo["findings"]
        if f.check_id in ("aws.ec2.sg_no_public_ssh", "aws.ec2.sg_no_public_rdp")
    ]

    assert data["run_id"] == demo["run"].run_id
    assert len(data["findings"]) == len(expected)
