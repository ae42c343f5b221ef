"""Per-control findings files: every finding of a control as one JSON document.

Site tables stop at ``site.max_findings_per_table`` rows, so each control
page links ``findings/<control-id>.json`` with the full list. File names come
from control ids only, never from resource ids.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from auditbook.errors import RenderError
from auditbook.report import ControlResult, Report
from auditbook.site.pages import findings_path

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


def write_findings_files(report: Report, site_dir: Path) -> int:
    """Write ``findings/<control-id>.json`` for every control with findings.

    Returns:
        The number of files written; none without an evidence run.

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
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content + "\n", encoding="utf-8")
        except OSError as exc:
            raise RenderError(
                f"cannot write {target}: {exc.strerror or exc}; check that the "
                "site folder is writable"
            ) from exc
        written += 1

    logger.debug("wrote %d per-control findings files", written)
    return written
