"""The Excel workbook: every finding, control, clause and evidence file as typed rows.

The workbook is written in openpyxl's write-only mode, which streams rows to
disk, so a Findings sheet of 100,000 rows stays within bounded memory. The
cells themselves, and how untrusted text is stored in them, are in
:mod:`auditbook.render.sheets`.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from auditbook.attestations import (
    ATTESTATION_EXPIRED,
    ATTESTED,
    EVIDENCE_MISSING,
    Attestation,
)
from auditbook.errors import RenderError
from auditbook.frameworks import FRAMEWORKS
from auditbook.models import Finding
from auditbook.render import (
    FALLBACK_DATE,
    NOT_YET_COLLECTED,
    STATUS_ORDER,
    VERDICT_COLUMNS,
    RunFacts,
    controls_by_check,
    excerpt_error,
    run_facts,
)
from auditbook.render.sheets import (
    Column,
    Styles,
    bold_cell,
    finish_table,
    header_cells,
    make_cell,
    save_workbook,
    set_landscape,
    start_table,
    write_rows,
)
from auditbook.render.sheetxml import DataWorkbook
from auditbook.render.text import compact_json, parse_timestamp
from auditbook.report import NOT_COLLECTED, Report
from auditbook.riskexceptions import EXCEPTED, Annotation

logger = logging.getLogger(__name__)

# Chart bar colours per verdict: the PDF chart's fills, with greys for the
# outlined and hatched ones.
CHART_COLOURS = {
    "FAIL": "B91C1C",
    "ERROR": "F59E0B",
    ATTESTATION_EXPIRED: "C2410C",
    EVIDENCE_MISSING: "FECACA",
    NOT_COLLECTED: "D1D5DB",
    EXCEPTED: "C4B5FD",
    ATTESTED: "5EEAD4",
    "PASS": "86EFAC",
    "NOT_APPLICABLE": "9CA3AF",
}

FINDINGS_COLUMNS = (
    Column("Control IDs", 14),
    Column("Check ID", 34),
    Column("Account", 15),
    Column("Region", 13),
    Column("Resource", 60, wrap=True),
    Column("Status", 17),
    Column("Effective status", 17),
    Column("Exception", 20),
    Column("Message", 70, wrap=True),
    Column("Observed at (UTC)", 20),
    Column("Evidence (JSON)", 80),
)
CONTROLS_COLUMNS = (
    Column("Control ID", 13),
    Column("Title", 50, wrap=True),
    Column("Layer", 13),
    Column("Severity", 13),
    Column("Owner", 24, wrap=True),
    Column("Type", 11),
    Column("Verdict", 17),
    Column("Checks", 40, wrap=True),
    Column("Findings", 10),
    Column("FAIL", 8),
    Column("ERROR", 8),
    Column("EXCEPTED", 11),
    Column("PASS", 8),
    Column("NOT_APPLICABLE", 17),
    Column("Attestation", 40, wrap=True),
    Column("Frameworks", 40, wrap=True),
)
EXCEPTIONS_COLUMNS = (
    Column("Exception", 14),
    Column("Control ID", 13),
    Column("Check ID", 34),
    Column("Account", 15),
    Column("Resource pattern", 50, wrap=True),
    Column("Justification", 60, wrap=True),
    Column("Approved by", 28, wrap=True),
    Column("Approved at", 13),
    Column("Expires", 13),
    Column("State", 10),
    Column("Findings covered", 10),
)
FRAMEWORKS_COLUMNS = (
    Column("Framework", 36),
    Column("Clause", 10),
    Column("Clause title", 60, wrap=True),
    Column("Control ID", 13),
    Column("Control title", 50, wrap=True),
    Column("Control verdict", 17),
    Column("Clause verdict", 17),
)
CLOUDTRAIL_COLUMNS = (
    Column("Control ID", 13),
    Column("Event time (UTC)", 20),
    Column("Event source", 24),
    Column("Event name", 32),
    Column("Account", 15),
    Column("Region", 13),
    Column("Principal type", 16),
    Column("Principal", 50, wrap=True),
    Column("Source IP", 16),
    Column("Resource", 40, wrap=True),
    Column("Error code", 24),
    Column("MFA used", 10),
    Column("Access key", 14),
    Column("Event ID", 38),
)
# Keys of a cloudtrail.jsonl row after control_id and event_time, in column order.
CLOUDTRAIL_FIELDS = (
    "event_source",
    "event_name",
    "account_id",
    "region",
    "principal_type",
    "principal",
    "source_ip",
    "resource",
    "error_code",
    "mfa_used",
    "access_key_id",
    "event_id",
)
RUN_COLUMNS = (
    Column("Section", 12),
    Column("Name", 40, wrap=True),
    Column("Value", 90, wrap=True),
)


def write_workbook(report: Report, path: Path) -> Path:
    """Write the evidence workbook of a report to an ``.xlsx`` file.

    Sheets: Summary, Controls, Findings, Frameworks, CloudTrail (when the run
    contains CloudTrail excerpts), Exceptions (when risks were accepted) and
    Run. Writing the same evidence run and
    controls twice gives the same bytes, because every time in the file, zip
    entry times included, comes from the run.

    Returns:
        The path written.

    Raises:
        RenderError: the workbook cannot be written to ``path``.
    """
    path = Path(path)
    facts = run_facts(report)
    styles = Styles()
    workbook = DataWorkbook()

    _write_summary(workbook.create_sheet("Summary"), report, facts, styles)
    _write_controls(workbook.create_sheet("Controls"), report, styles)
    _write_findings(workbook.create_sheet("Findings"), report, styles)
    _write_frameworks(workbook.create_sheet("Frameworks"), report, styles)
    if any(result.activity for result in report.controls):
        _write_cloudtrail(workbook.create_sheet("CloudTrail"), report, styles)
    if report.exceptions:
        _write_exceptions(workbook.create_sheet("Exceptions"), report, styles)
    _write_run(workbook.create_sheet("Run"), report, facts, styles)
    _set_properties(workbook, report, facts)

    try:
        save_workbook(workbook, path, _finished(facts) or FALLBACK_DATE)
    except OSError as exc:
        raise RenderError(
            f"cannot write the workbook to {path}: {exc.strerror or exc}; choose a "
            "writable path"
        ) from exc

    logger.info("wrote the evidence workbook %s", path)
    return path


def _write_summary(
    sheet: WriteOnlyWorksheet,
    report: Report,
    facts: RunFacts | None,
    styles: Styles,
) -> None:
    settings = report.settings
    sheet.column_dimensions["A"].width = 28
    for letter in "BCDEFG":
        sheet.column_dimensions[letter].width = 17

    title = make_cell(sheet, "Evidence workbook", styles)
    title.font = styles.title_font
    sheet.append([title])
    details = [
        ("Organisation", settings.organisation),
        ("Prepared by", settings.prepared_by or settings.organisation),
        ("Scope", settings.scope_statement),
        ("Evidence run", facts.run_id if facts else NOT_YET_COLLECTED),
        ("Audit period start (UTC)", _time_or_note(facts, "started_at")),
        ("Audit period end (UTC)", _time_or_note(facts, "finished_at")),
        ("Accounts", ", ".join(facts.accounts) if facts else NOT_YET_COLLECTED),
        ("Regions", ", ".join(facts.regions) if facts else NOT_YET_COLLECTED),
    ]
    for label, value in details:
        sheet.append([bold_cell(sheet, label, styles), make_cell(sheet, value, styles)])
    row = 1 + len(details)

    gaps = _evidence_gaps(report, facts)
    if gaps:
        sheet.append(
            [
                make_cell(sheet, "Incomplete evidence", styles, status="ERROR"),
                make_cell(sheet, gaps, styles, status="ERROR"),
            ]
        )
        row += 1

    sheet.append([])
    sheet.append(header_cells(sheet, ["Finding status", "Findings"], styles))
    for status in STATUS_ORDER:
        sheet.append(
            [
                make_cell(sheet, status, styles, status=status),
                make_cell(sheet, report.totals.get(status, 0), styles),
            ]
        )
    row += 2 + len(STATUS_ORDER)

    sheet.append([])
    sheet.append(header_cells(sheet, ["Control verdict", "Controls"], styles))
    for verdict in VERDICT_COLUMNS:
        sheet.append(
            [
                make_cell(sheet, verdict, styles, status=verdict),
                make_cell(sheet, report.verdicts.get(verdict, 0), styles),
            ]
        )
    row += 2 + len(VERDICT_COLUMNS)

    sheet.append([])
    layer_header_row = row + 2
    headers = ["Controls by layer", *VERDICT_COLUMNS, "Total"]
    sheet.append(header_cells(sheet, headers, styles))
    layers = report.by_layer()
    for layer, counts in layers.items():
        values = [counts.get(v, 0) for v in VERDICT_COLUMNS]
        sheet.append(
            [make_cell(sheet, layer, styles)]
            + [make_cell(sheet, value, styles) for value in values]
            + [make_cell(sheet, sum(values), styles)]
        )

    if layers:
        sheet.add_chart(
            _layer_chart(sheet, layer_header_row, len(layers)),
            f"A{layer_header_row + len(layers) + 3}",
        )
    set_landscape(sheet)


def _evidence_gaps(report: Report, facts: RunFacts | None) -> str:
    """Describe ERROR findings and accounts not collected, or return ""."""
    gaps = []
    errors = report.totals.get("ERROR", 0)
    if errors:
        controls = [r.control.id for r in report.controls if r.counts.get("ERROR")]
        gaps.append(
            f"{errors} ERROR finding{'' if errors == 1 else 's'}: checks could not "
            f"read what they needed in controls {', '.join(controls) or 'none'}."
        )
    if facts and facts.account_errors:
        gaps.append(f"Accounts not collected: {'; '.join(facts.account_errors)}.")
    return " ".join(gaps)


def _layer_chart(sheet: WriteOnlyWorksheet, header_row: int, layers: int) -> BarChart:
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = "Control verdicts by layer"
    chart.y_axis.title = "Controls"
    chart.y_axis.majorUnit = 1
    chart.width = 22
    chart.height = 3 + 1.2 * layers

    last_row = header_row + layers
    data = Reference(
        sheet,
        min_col=2,
        max_col=1 + len(VERDICT_COLUMNS),
        min_row=header_row,
        max_row=last_row,
    )
    categories = Reference(sheet, min_col=1, min_row=header_row + 1, max_row=last_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    for series, verdict in zip(chart.series, VERDICT_COLUMNS, strict=True):
        series.graphicalProperties.solidFill = CHART_COLOURS[verdict]
        series.graphicalProperties.line.solidFill = "374151"
    return chart


def _write_controls(sheet: WriteOnlyWorksheet, report: Report, styles: Styles) -> None:
    start_table(sheet, CONTROLS_COLUMNS, styles)
    rows = []
    for result in report.controls:
        control = result.control
        counts = result.counts
        frameworks = "\n".join(
            f"{FRAMEWORKS[key].title}: {', '.join(clauses)}"
            for key, clauses in control.frameworks.items()
        )
        rows.append(
            (
                control.id,
                control.title,
                control.layer,
                str(control.severity),
                control.owner,
                control.kind,
                result.verdict,
                "\n".join(control.check_ids),
                sum(counts.values()),
                counts.get("FAIL", 0),
                counts.get("ERROR", 0),
                counts.get(EXCEPTED, 0),
                counts.get("PASS", 0),
                counts.get("NOT_APPLICABLE", 0),
                _attestation_text(result.attestation),
                frameworks,
            )
        )
    count = write_rows(sheet, CONTROLS_COLUMNS, rows, styles, status_columns=(7,))
    finish_table(sheet, CONTROLS_COLUMNS, count, status_columns=(7,))


def _write_findings(sheet: WriteOnlyWorksheet, report: Report, styles: Styles) -> None:
    start_table(sheet, FINDINGS_COLUMNS, styles)
    status_columns = (6, 7)
    if report.run is None:
        note = ["", "", "", "", "", "", "", "", f"Evidence is {NOT_YET_COLLECTED}."]
        note += [None, ""]
        count = write_rows(sheet, FINDINGS_COLUMNS, [note], styles)
        finish_table(sheet, FINDINGS_COLUMNS, count, status_columns)
        return

    owners = controls_by_check(report)
    annotations = {finding.sort_key(): a for finding, a, _ in report.annotated()}
    rows = (
        _finding_row(finding, owners, annotations.get(finding.sort_key()))
        for finding in report.run.iter_findings()
    )
    count = write_rows(sheet, FINDINGS_COLUMNS, rows, styles, status_columns)
    finish_table(sheet, FINDINGS_COLUMNS, count, status_columns)


def _finding_row(
    finding: Finding, owners: dict[str, list[str]], annotation: Annotation | None
) -> tuple:
    exception = ""
    if annotation is not None:
        state = "expired" if annotation.expired else "active"
        exception = f"{annotation.exception.id} ({state})"
    return (
        ", ".join(owners.get(finding.check_id, ())),
        finding.check_id,
        finding.account_id,
        finding.region,
        finding.resource_id,
        finding.status.value,
        annotation.effective_status if annotation else finding.status.value,
        exception,
        finding.message,
        parse_timestamp(finding.observed_at) or finding.observed_at,
        compact_json(finding.evidence),
    )


def _write_exceptions(
    sheet: WriteOnlyWorksheet, report: Report, styles: Styles
) -> None:
    start_table(sheet, EXCEPTIONS_COLUMNS, styles)
    covered = Counter(
        annotation.exception.id for _, annotation, _ in report.annotated()
    )
    as_of = parse_timestamp(report.metadata.get("finished_at"))
    rows = [
        (
            exception.id,
            exception.control or "",
            exception.check or "",
            exception.account or "",
            exception.resource,
            exception.justification,
            exception.approved_by,
            _midnight(exception.approved_at),
            _midnight(exception.expires),
            "expired" if as_of and exception.expired(as_of.date()) else "active",
            covered.get(exception.id, 0),
        )
        for exception in report.exceptions
    ]
    count = write_rows(sheet, EXCEPTIONS_COLUMNS, rows, styles)
    finish_table(sheet, EXCEPTIONS_COLUMNS, count)


def _midnight(day: date) -> datetime:
    # A date cell: openpyxl writes datetimes, shown with the date format.
    return datetime(day.year, day.month, day.day)


def _attestation_text(attestation: Attestation | None) -> str:
    if attestation is None:
        return ""
    return (
        f"{attestation.attested_by}, {attestation.attested_at.isoformat()}: "
        f"{attestation.summary}"
    )


def _write_frameworks(
    sheet: WriteOnlyWorksheet, report: Report, styles: Styles
) -> None:
    start_table(sheet, FRAMEWORKS_COLUMNS, styles)
    rows = []
    for key in report.frameworks_used():
        for clause in report.framework_rows(key):
            for result in clause.controls:
                rows.append(
                    (
                        FRAMEWORKS[key].title,
                        clause.clause,
                        clause.title,
                        result.control.id,
                        result.control.title,
                        result.verdict,
                        clause.verdict,
                    )
                )
    status_columns = (6, 7)
    count = write_rows(sheet, FRAMEWORKS_COLUMNS, rows, styles, status_columns)
    finish_table(sheet, FRAMEWORKS_COLUMNS, count, status_columns)


def _write_cloudtrail(
    sheet: WriteOnlyWorksheet, report: Report, styles: Styles
) -> None:
    start_table(sheet, CLOUDTRAIL_COLUMNS, styles)
    rows = (
        [
            result.control.id,
            _time(str(event.get("event_time", ""))),
            *(str(event.get(key, "")) for key in CLOUDTRAIL_FIELDS),
        ]
        for result in report.controls
        if result.activity
        for event in result.activity.events
    )
    count = write_rows(sheet, CLOUDTRAIL_COLUMNS, rows, styles)
    finish_table(sheet, CLOUDTRAIL_COLUMNS, count)


def _write_run(
    sheet: WriteOnlyWorksheet,
    report: Report,
    facts: RunFacts | None,
    styles: Styles,
) -> None:
    start_table(sheet, RUN_COLUMNS, styles)
    if facts is None:
        rows: list[tuple[str, str, Any]] = [
            ("metadata", "run_id", f"Evidence is {NOT_YET_COLLECTED}.")
        ]
    else:
        rows = _run_rows(report, facts)
    count = write_rows(sheet, RUN_COLUMNS, rows, styles)
    finish_table(sheet, RUN_COLUMNS, count)


def _run_rows(report: Report, facts: RunFacts) -> list[tuple[str, str, Any]]:
    metadata = report.metadata
    rows: list[tuple[str, str, Any]] = [
        ("metadata", "run_id", facts.run_id),
        ("metadata", "started_at", _time(facts.started_at)),
        ("metadata", "finished_at", _time(facts.finished_at)),
        ("metadata", "caller_arn", facts.caller_arn),
        ("metadata", "caller_account", facts.caller_account),
        ("metadata", "accounts", ", ".join(facts.accounts)),
        ("metadata", "regions", ", ".join(facts.regions)),
        ("metadata", "tool_version", facts.tool_version),
        ("metadata", "controls_revision", facts.controls_revision),
        ("metadata", "api_call_count", facts.api_call_count),
        ("metadata", "previous_run_id", facts.previous_run_id),
    ]
    rows.extend(("api_calls", name, count) for name, count in facts.api_calls)
    rows.extend(("account_error", "", error) for error in facts.account_errors)

    cloudtrail = metadata.get("cloudtrail")
    if isinstance(cloudtrail, dict):
        rows.append(("cloudtrail", "source", str(cloudtrail.get("source", ""))))
        for key in ("period_start", "period_end"):
            rows.append(("cloudtrail", key, _time(str(cloudtrail.get(key, "")))))
        for result in report.controls:
            for error in result.activity.errors if result.activity else ():
                rows.append(
                    ("cloudtrail_error", result.control.id, excerpt_error(error))
                )

    rows.append(("manifest", "manifest.json", facts.manifest_sha256))
    rows.extend(("file", name, digest) for name, digest in facts.evidence_files)
    return rows


def _time(text: str) -> datetime | str:
    return parse_timestamp(text) or text


def _time_or_note(facts: RunFacts | None, field: str) -> datetime | str:
    if facts is None:
        return NOT_YET_COLLECTED
    return _time(getattr(facts, field))


def _finished(facts: RunFacts | None) -> datetime | None:
    return parse_timestamp(facts.finished_at) if facts else None


def _set_properties(workbook: Workbook, report: Report, facts: RunFacts | None) -> None:
    settings = report.settings
    properties = workbook.properties
    properties.creator = settings.prepared_by or settings.organisation
    properties.lastModifiedBy = properties.creator
    properties.title = f"Evidence workbook: {settings.organisation}"
    properties.subject = (
        f"AWS compliance evidence run {facts.run_id}"
        if facts
        else f"AWS compliance evidence, {NOT_YET_COLLECTED}"
    )
    properties.keywords = "audit, compliance, AWS, evidence"
    # The file's dates are the run's end, never the clock. With no run, the
    # fixed FALLBACK_DATE keeps the bytes stable; openpyxl cannot omit the dates.
    finished = _finished(facts) or FALLBACK_DATE
    properties.created = finished
    properties.modified = finished
