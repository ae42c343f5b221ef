"""The evidence workbook, reopened with openpyxl and read as a reviewer would."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.escape import unescape
from openpyxl.worksheet.worksheet import Worksheet

from auditbook.models import Status
from auditbook.render.excel import write_workbook
from auditbook.render.text import EXCEL_CELL_MAX_CHARS
from tests.render.synthetic import ACCOUNT, FORMULA_RESOURCE, RUN_ID, finding


def rows_by_header(sheet: Worksheet) -> list[dict[str, object]]:
    """Return the data rows of a sheet as dicts keyed by the header row."""
    rows = sheet.iter_rows(values_only=True)
    header = next(rows)
    return [dict(zip(header, row, strict=True)) for row in rows]


def cell_of(sheet: Worksheet, header: str, match: str, column: str):
    """Return the cell in ``column`` of the first row whose ``header`` is ``match``."""
    headers = [cell.value for cell in sheet[1]]
    key = headers.index(header)
    value_column = headers.index(column)
    for row in sheet.iter_rows(min_row=2):
        if row[key].value == match:
            return row[value_column]
    raise AssertionError(f"no row with {header} = {match!r} in {sheet.title}")


@pytest.fixture(scope="module")
def workbook_path(report, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the workbook of the default run, written once per module."""
    return write_workbook(report, tmp_path_factory.mktemp("xlsx") / "evidence.xlsx")


@pytest.fixture(scope="module")
def workbook(workbook_path: Path):
    return load_workbook(workbook_path)


def test_sheet_names(workbook) -> None:
    assert workbook.sheetnames == [
        "Summary",
        "Controls",
        "Findings",
        "Frameworks",
        "CloudTrail",
        "Exceptions",
        "Run",
    ]


def test_fail_finding_row(workbook) -> None:
    sheet = workbook["Findings"]
    resource = f"arn:aws:ec2:eu-west-2:{ACCOUNT}:security-group/sg-0aaa"

    row = next(r for r in rows_by_header(sheet) if r["Resource"] == resource)
    status = cell_of(sheet, "Resource", resource, "Status")

    assert row["Status"] == "FAIL"
    assert row["Control IDs"] == "NET-01"
    assert row["Check ID"] == "aws.ec2.sg_no_public_ssh"
    assert row["Account"] == ACCOUNT
    assert row["Evidence (JSON)"] == '{"rules":[{"cidr":"0.0.0.0/0","port":22}]}'
    assert status.fill.fgColor.rgb == "00FFC7CE"


def test_every_finding_listed(report, workbook) -> None:
    rows = rows_by_header(workbook["Findings"])

    assert len(rows) == len(report.run.findings())
    assert sorted(r["Status"] for r in rows) == sorted(
        f.status.value for f in report.run.findings()
    )


def test_observed_at_is_datetime(workbook) -> None:
    resource = f"arn:aws:ec2:eu-west-2:{ACCOUNT}:security-group/sg-0aaa"
    cell = cell_of(workbook["Findings"], "Resource", resource, "Observed at (UTC)")

    assert cell.value == datetime(2026, 12, 4, 15, 30, 5)
    assert cell.is_date
    assert cell.number_format == "yyyy-mm-dd hh:mm:ss"


def test_formula_stored_as_text(workbook) -> None:
    sheet = workbook["Findings"]

    cell = cell_of(sheet, "Resource", FORMULA_RESOURCE, "Resource")

    assert cell.value == FORMULA_RESOURCE
    assert cell.data_type == "s"
    assert cell.quotePrefix


def test_formula_in_cloudtrail_stored_as_text(workbook) -> None:
    sheet = workbook["CloudTrail"]

    cell = cell_of(sheet, "Resource", "=cmd|' /C calc'!A0", "Resource")

    assert cell.data_type == "s"
    assert cell.quotePrefix


def test_no_formula_anywhere(workbook_path: Path) -> None:
    with zipfile.ZipFile(workbook_path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        for name in sheets:
            assert b"<f>" not in archive.read(name)
            assert b"<f " not in archive.read(name)


def test_data_sheets_frozen_and_filtered(workbook) -> None:
    for name in (
        "Controls",
        "Findings",
        "Frameworks",
        "CloudTrail",
        "Exceptions",
        "Run",
    ):
        sheet = workbook[name]
        assert sheet.freeze_panes == "A2"
        last_column = get_column_letter(sheet.max_column)
        assert sheet.auto_filter.ref == f"A1:{last_column}{sheet.max_row}"
        assert sheet.print_title_rows == "$1:$1"
        assert sheet.page_setup.orientation == "landscape"


def test_status_conditional_formats(workbook) -> None:
    sheet = workbook["Findings"]

    formats = {
        (str(rng.sqref), rule.formula[0])
        for rng in sheet.conditional_formatting
        for rule in rng.rules
    }

    assert (f"F2:F{sheet.max_row}", '"FAIL"') in formats
    assert (f"F2:F{sheet.max_row}", '"PASS"') in formats


def test_controls_sheet_matches_report(report, workbook) -> None:
    rows = {r["Control ID"]: r for r in rows_by_header(workbook["Controls"])}

    assert set(rows) == {result.control.id for result in report.controls}
    for result in report.controls:
        row = rows[result.control.id]
        assert row["Verdict"] == result.verdict
        assert row["Findings"] == sum(result.counts.values())
        assert row["FAIL"] == result.counts.get("FAIL", 0)
    assert rows["NET-01"]["Verdict"] == "FAIL"
    assert rows["MON-02"]["Verdict"] == "ERROR"


def test_frameworks_sheet_rows(workbook) -> None:
    rows = rows_by_header(workbook["Frameworks"])

    cis = [r for r in rows if r["Framework"] == "CIS AWS Foundations Benchmark v3.0.0"]
    assert [(r["Clause"], r["Control ID"]) for r in cis] == [
        ("1.5", "IAM-01"),
        ("5.2", "NET-01"),
        ("5.3", "NET-01"),
    ]
    assert cis[1]["Clause verdict"] == "FAIL"


def test_run_sheet_lists_every_hash(report, workbook) -> None:
    rows = rows_by_header(workbook["Run"])
    files = {r["Name"]: r["Value"] for r in rows if r["Section"] == "file"}
    metadata = {r["Name"]: r["Value"] for r in rows if r["Section"] == "metadata"}

    assert files == report.run.manifest["files"]
    assert metadata["run_id"] == RUN_ID
    assert metadata["finished_at"] == datetime(2026, 12, 4, 15, 31, 40)
    assert metadata["api_call_count"] == 4
    assert any(
        r["Section"] == "cloudtrail_error" and r["Name"] == "NET-01" for r in rows
    )


def test_summary_totals_and_chart(report, workbook, workbook_path: Path) -> None:
    rows = list(workbook["Summary"].iter_rows(values_only=True))
    pairs = [row[:2] for row in rows]
    header = 1 + next(i for i, row in enumerate(rows) if row[0] == "Controls by layer")
    layers = len(report.by_layer())

    assert ("FAIL", report.totals["FAIL"]) in pairs
    assert ("Evidence run", RUN_ID) in pairs
    with zipfile.ZipFile(workbook_path) as archive:
        chart = archive.read("xl/charts/chart1.xml").decode()
    assert f"'Summary'!$A${header + 1}:$A${header + layers}" in chart
    assert f"'Summary'!$B${header + 1}:$B${header + layers}" in chart


def test_summary_flags_errors(workbook) -> None:
    summary = {
        row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True) if row
    }

    assert summary["Incomplete evidence"] == (
        "1 ERROR finding: checks could not read what they needed in controls MON-02."
    )


def test_excepted_finding_annotated(workbook) -> None:
    rows = {r["Resource"]: r for r in rows_by_header(workbook["Findings"])}
    sg = f"arn:aws:ec2:eu-west-2:{ACCOUNT}:security-group"

    excepted = rows[f"{sg}/sg-0bbb"]
    expired = rows[f"{sg}/sg-0aaa"]
    assert excepted["Status"] == "FAIL"
    assert excepted["Effective status"] == "EXCEPTED"
    assert excepted["Exception"] == "EXC-001 (active)"
    assert expired["Effective status"] == "FAIL"
    assert expired["Exception"] == "EXC-002 (expired)"


def test_exceptions_sheet_rows(workbook) -> None:
    rows = {r["Exception"]: r for r in rows_by_header(workbook["Exceptions"])}

    assert rows["EXC-001"]["State"] == "active"
    assert rows["EXC-001"]["Findings covered"] == 1
    assert rows["EXC-001"]["Expires"] == datetime(2027, 1, 31)
    assert rows["EXC-002"]["State"] == "expired"
    assert rows["EXC-002"]["Check ID"] == "aws.ec2.sg_no_public_ssh"


def test_manual_control_attestation(workbook) -> None:
    rows = {r["Control ID"]: r for r in rows_by_header(workbook["Controls"])}

    assert rows["GOV-01"]["Verdict"] == "ATTESTED"
    assert rows["GOV-01"]["Attestation"] == (
        "Priya Patel, Data Protection Officer, 2026-10-01: "
        "The AWS data processing addendum is signed and filed."
    )


def test_illegal_characters_escaped(make_report, tmp_path: Path) -> None:
    bell = finding(
        "aws.guardduty.enabled", Status.FAIL, "detector\x00nul", "Bell\x07 rings."
    )

    path = write_workbook(make_report([bell]), tmp_path / "evidence.xlsx")

    row = rows_by_header(load_workbook(path)["Findings"])[0]
    assert row["Resource"] == "detector\\x00nul"
    assert row["Message"] == "Bell\\x07 rings."


def test_carriage_return_kept_for_excel(make_report, tmp_path: Path) -> None:
    text = "\r=1+1 after a carriage return"
    report = make_report([finding("aws.guardduty.enabled", Status.FAIL, text, "x")])

    path = write_workbook(report, tmp_path / "evidence.xlsx")

    cell = load_workbook(path)["Findings"]["E2"]
    # openpyxl leaves the OOXML escape as written; Excel decodes it.
    assert cell.value == "_x000D_=1+1 after a carriage return"
    assert unescape(cell.value) == text
    assert cell.data_type == "s"
    assert cell.quotePrefix


def test_long_text_cut_to_cell_limit(make_report, tmp_path: Path) -> None:
    message = "x" * 40_000
    report = make_report([finding("aws.guardduty.enabled", Status.FAIL, "r", message)])

    path = write_workbook(report, tmp_path / "evidence.xlsx")

    value = rows_by_header(load_workbook(path)["Findings"])[0]["Message"]
    assert len(value) <= EXCEL_CELL_MAX_CHARS
    assert value.startswith("xxxx")
    assert value.endswith("[cut: 40,000 characters in full, see the evidence run]")


def test_same_run_gives_same_bytes(report, tmp_path: Path) -> None:
    first = write_workbook(report, tmp_path / "first.xlsx").read_bytes()
    second = write_workbook(report, tmp_path / "second.xlsx").read_bytes()

    assert first == second


def test_properties_dated_from_run(workbook) -> None:
    properties = workbook.properties

    assert properties.creator == "Compliance Engineering"
    assert properties.created == datetime(2026, 12, 4, 15, 31, 40)
    assert properties.modified == datetime(2026, 12, 4, 15, 31, 40)
    assert RUN_ID in properties.subject


def test_not_collected_workbook(make_report, tmp_path: Path) -> None:
    report = make_report(collected=False)

    path = write_workbook(report, tmp_path / "evidence.xlsx")

    workbook = load_workbook(path)
    summary = [row[:2] for row in workbook["Summary"].iter_rows(values_only=True)]
    controls = rows_by_header(workbook["Controls"])
    assert "CloudTrail" not in workbook.sheetnames
    assert ("Evidence run", "not yet collected") in summary
    assert {row["Verdict"] for row in controls} == {"NOT_COLLECTED", "EVIDENCE_MISSING"}
    findings = rows_by_header(workbook["Findings"])
    assert findings[0]["Message"] == "Evidence is not yet collected."


def test_markup_and_spaces_kept_exactly(make_report, tmp_path: Path) -> None:
    message = "  <b>A & B</b> ]]> 'quoted' \"double\"  "
    report = make_report([finding("aws.guardduty.enabled", Status.FAIL, "r", message)])

    path = write_workbook(report, tmp_path / "evidence.xlsx")

    row = rows_by_header(load_workbook(path)["Findings"])[0]
    assert row["Message"] == message


def test_wrapped_columns_wrap(workbook) -> None:
    sheet = workbook["Findings"]
    resource = f"arn:aws:ec2:eu-west-2:{ACCOUNT}:security-group/sg-0aaa"

    wrapped = cell_of(sheet, "Resource", resource, "Message")
    single = cell_of(sheet, "Resource", resource, "Check ID")

    assert wrapped.alignment.wrap_text
    assert wrapped.alignment.vertical == "top"
    assert not single.alignment.wrap_text
    assert single.alignment.vertical == "top"


def test_counts_are_integers(workbook) -> None:
    rows = {row["Control ID"]: row for row in rows_by_header(workbook["Controls"])}

    assert rows["NET-01"]["Findings"] == 5
    assert rows["NET-01"]["FAIL"] == 2
    assert isinstance(rows["NET-01"]["EXCEPTED"], int)
