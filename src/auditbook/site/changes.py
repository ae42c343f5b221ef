"""HTML for the run history: the "Since last run" page and the history strips.

Like every block of the site, each string from the evidence runs reaches the
page through a Jinja template with autoescaping on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC

from auditbook.comparison import Change
from auditbook.history import History, RunVerdicts
from auditbook.report import ControlResult, Report
from auditbook.riskexceptions import Annotation
from auditbook.site.blocks import (
    _ENV,
    Links,
    _common,
    _display_path,
    _ordered_counts,
)
from auditbook.site.pages import CHANGES_URI, RUN_URI

# Badge text in a control's history for a run that could not be read.
UNREADABLE = "NOT READABLE"

# The sections of the "Since last run" page: anchor, heading, what is listed
# and the Comparison attribute with the changes.
CHANGE_SECTIONS = (
    (
        "new-failures",
        "New failures",
        "Findings that are FAIL or ERROR in this run and were neither in the "
        "previous run, including resources that the previous run did not have.",
        "new_failures",
    ),
    (
        "fixed",
        "Fixed",
        "Findings that were FAIL or ERROR in the previous run and are PASS now.",
        "fixed",
    ),
    (
        "other-changes",
        "Other status changes",
        "Findings in both runs whose status changed in another way, such as "
        "FAIL to ERROR or PASS to NOT APPLICABLE.",
        "other_changes",
    ),
    (
        "new-resources",
        "New resources",
        "Resources that only this run found, for checks that both runs collected.",
        "new_resources",
    ),
    (
        "removed-resources",
        "Removed resources",
        "Resources that only the previous run found, for checks that both runs "
        "collected: deleted since, or in an account or region this run did not "
        "collect.",
        "removed_resources",
    ),
)


@dataclass(frozen=True)
class ChangeRow:
    """One changed finding with links to the controls its check proves."""

    change: Change
    check_title: str
    controls: list[tuple[str, str]]
    annotation: Annotation | None = None


@dataclass(frozen=True)
class ChangeSection:
    """One table of the "Since last run" page, capped at the table size."""

    anchor: str
    title: str
    description: str
    rows: list[ChangeRow]
    total: int


def render_changes(report: Report, history: History, links: Links) -> str:
    """Render the "Since last run" page: changes from the previous run."""
    comparison = history.comparison
    sections: list[ChangeSection] = []
    if comparison is not None and comparison.compared:
        cap = report.settings.site_max_findings_per_table
        by_check = _controls_by_check(report)
        annotations = {f.sort_key(): a for f, a, _ in report.annotated()}
        for anchor, title, description, attribute in CHANGE_SECTIONS:
            changes = getattr(comparison, attribute)
            rows = sorted(
                (
                    _change_row(change, by_check, annotations, links)
                    for change in changes
                ),
                key=lambda row: (_rank(row, by_check), row.change.key),
            )
            sections.append(
                ChangeSection(anchor, title, description, rows[:cap], len(rows))
            )

    return _ENV.get_template("changes.html").render(
        **_common(report),
        comparison=comparison,
        problem=_redact(comparison.problem, report) if comparison else None,
        sections=sections,
        run_url=links.page(RUN_URI),
    )


def _controls_by_check(report: Report) -> dict[str, list[ControlResult]]:
    by_check: dict[str, list[ControlResult]] = {}
    for result in report.controls:
        for check in result.checks:
            by_check.setdefault(check.check_id, []).append(result)
    return by_check


def _change_row(
    change: Change,
    by_check: dict[str, list[ControlResult]],
    annotations: dict[tuple, Annotation],
    links: Links,
) -> ChangeRow:
    results = by_check.get(change.key.check_id, [])
    titles = [
        check.title
        for check in (results[0].checks if results else [])
        if check.check_id == change.key.check_id
    ]
    return ChangeRow(
        change,
        titles[0] if titles else change.key.check_id,
        [(r.control.id, links.control(r.control)) for r in results],
        annotations.get(tuple(change.key)) if change.after else None,
    )


def _rank(row: ChangeRow, by_check: dict[str, list[ControlResult]]) -> int:
    """Return the highest severity rank of the row's controls, or 5 without any."""
    results = by_check.get(row.change.key.check_id, [])
    return min((r.control.severity.rank for r in results), default=5)


def render_history(
    result: ControlResult, report: Report, history: History, links: Links
) -> str:
    """Render a control's history strip: one badge per run, oldest first.

    Returns an empty string when no evidence run exists.
    """
    if not history.runs:
        return ""
    control_history = history.for_control(result.control)
    entries = [(run, verdict, _when(run)) for run, verdict in control_history.entries]
    counts: Counter[str] = Counter(
        verdict for _, verdict in control_history.entries if verdict is not None
    )
    gaps = [
        (run.run_id, _redact(run.problem, report))
        for run in history.runs
        if run.problem is not None
    ]
    return _ENV.get_template("history.html").render(
        entries=entries,
        counts=_ordered_counts(counts),
        unreadable=len(gaps),
        gaps=gaps,
        days=history.days,
        changes_url=links.page(CHANGES_URI),
        UNREADABLE=UNREADABLE,
    )


def _redact(text: str | None, report: Report) -> str | None:
    """Replace the evidence folder's absolute path in a message with its display name.

    Error messages name files by absolute path, which the published site
    must not show.
    """
    if text is None:
        return None
    settings = report.settings
    root = report.run.path.parent.parent if report.run else settings.evidence_dir
    return text.replace(str(root), _display_path(root, settings.root))


def _when(run: RunVerdicts) -> tuple[str, str]:
    """Return a run's finish time as an ISO 8601 value and as shown text."""
    if run.finished_at is None:
        return "", "time not recorded"
    moment = run.finished_at.astimezone(UTC)
    return moment.isoformat(), f"{moment:%Y-%m-%d %H:%M} UTC"
