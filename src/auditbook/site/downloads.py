"""Per-control findings files: every finding of a control as JSON and as CSV.

Site tables stop at ``site.max_findings_per_table`` rows, so each control
page links ``findings/<control-id>.json`` and ``findings/<control-id>.csv``
with the full list. File names come from control ids only, never from
resource ids. CSV fields that start like a spreadsheet formula are
neutralised by the rule the workbook uses.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

from auditbook.errors import RenderError
from auditbook.render.sheets import csv_text
from auditbook.render.text import compact_json
from auditbook.report import ControlResult, Report
from auditbook.site.pages import findings_path

# Columns of findings/<control-id>.csv, one finding a row.
CSV_COLUMNS = (
    "check_id",
    "account_id",
    "region",
    "resource_id",
    "status",
    "effective_status",
    "exception",
    "message",
    "observed_at",
    "evidence",
)

logger = logging.getLogger("mkdocs.plugins.auditbook")


def findings_document(result: ControlResult, report: Report) -> dict:
    """Return the JSON document of one control's findings, failures first per check."""
    return {
        "control_id": result.control.id,
        "control_title": result.control.title,
        "verdict": result.verdict,
        "run_id": report.run.run_id if report.run else None,
        "findings": [
            finding.to_dict() for check in result.checks for finding in check.findings
        ],
    }


def findings_csv_rows(result: ControlResult) -> list[list[str]]:
    """Return the CSV rows of one control's findings, header first."""
    rows = [list(CSV_COLUMNS)]
    for check in result.checks:
        for finding in check.findings:
            annotation = check.annotation(finding)
            exception = ""
            if annotation is not None:
                state = "expired" if annotation.expired else "active"
                exception = f"{annotation.exception.id} ({state})"
            values = [
                finding.check_id,
                finding.account_id,
                finding.region,
                finding.resource_id,
                finding.status.value,
                check.effective_status(finding),
                exception,
                finding.message,
                finding.observed_at,
                compact_json(finding.evidence),
            ]
            rows.append([csv_text(value) for value in values])
    return rows


def write_findings_files(report: Report, site_dir: Path) -> int:
    """Write ``findings/<control-id>.json`` and ``.csv`` for each control with findings.

    Returns:
        The number of controls whose files were written; none without an
        evidence run.

    Raises:
        RenderError: a file cannot be written.
    """
    if not report.collected:
        return 0

    written = 0
    for result in report.controls:
        if not any(check.findings for check in result.checks):
            continue
        target = site_dir / findings_path(result.control)
        content = json.dumps(
            findings_document(result, report),
            indent=2,
            sort_keys=True,
            ensure_ascii=False,
        )
        csv_target = site_dir / findings_path(result.control, "csv")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content + "\n", encoding="utf-8")
            # The byte order mark makes Excel read the file as UTF-8.
            with csv_target.open("w", encoding="utf-8-sig", newline="") as handle:
                csv.writer(handle).writerows(findings_csv_rows(result))
        except OSError as exc:
            raise RenderError(
                f"cannot write {exc.filename or target}: {exc.strerror or exc}; "
                "check that the site folder is writable"
            ) from exc
        written += 1

    logger.debug("wrote the JSON and CSV findings files of %d controls", written)
    return written
