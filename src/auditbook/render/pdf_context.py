"""The values the PDF audit pack template renders, built from a report.

Strings here are plain text, including those that came from AWS: the
template escapes them. Only the control's own Markdown, rendered to HTML,
and the charts are passed as ``Markup``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import markdown
from markupsafe import Markup

from auditbook.attestations import Attestation
from auditbook.frameworks import FRAMEWORKS
from auditbook.models import Status
from auditbook.render import (
    NOT_YET_COLLECTED,
    STATUS_LABELS,
    STATUS_ORDER,
    VERDICT_COLUMNS,
    FindingRow,
    RunFacts,
    control_findings,
    excerpt_error,
    run_facts,
)
from auditbook.render.charts import verdict_bar_chart
from auditbook.render.text import (
    compact_json,
    format_timestamp,
    parse_timestamp,
    strip_check_blocks,
    truncate,
)
from auditbook.report import NOT_COLLECTED, Activity, ControlResult, Report
from auditbook.riskexceptions import EXCEPTED, RiskException

# Characters of a resource id or message shown in a findings table. AWS caps
# names and descriptions at a few hundred characters, so only a hostile or
# corrupt value is cut. The workbook and the evidence run keep it whole.
FINDING_TEXT_LIMIT = 1000

# Characters of a finding's evidence JSON shown in a findings table.
EVIDENCE_TEXT_LIMIT = 300

# CloudTrail events shown per control, newest first. Each event row costs as
# much layout time as a findings row, and the workbook lists every kept event.
PDF_MAX_EVENTS_PER_CONTROL = 10

_MARKDOWN_EXTENSIONS = ["tables", "fenced_code", "sane_lists"]
_HEADING_TAG = re.compile(r"<(/?)h([1-6])\b")


def pack_context(report: Report, attached_files: Iterable[str]) -> dict[str, Any]:
    """Return the values the audit pack template renders, from a report.

    Args:
        report: the controls joined with one evidence run, or with none.
        attached_files: the names of the run files embedded in the PDF.
    """
    settings = report.settings
    facts = run_facts(report)
    controls = [_control_view(result, report) for result in report.controls]
    views_by_id = {view["id"]: view for view in controls}
    # Verdicts worse than NOT_COLLECTED mean a control is failing or unproven.
    needs_attention = VERDICT_COLUMNS[: VERDICT_COLUMNS.index(NOT_COLLECTED)]
    attention = [
        views_by_id[result.control.id]
        for result in report.controls_worst_first()
        if result.verdict in needs_attention
    ]

    return {
        "organisation": settings.organisation,
        "prepared_by": settings.prepared_by,
        "author": settings.prepared_by or settings.organisation,
        "scope_statement": settings.scope_statement,
        "out_of_scope": list(settings.out_of_scope),
        "facts": facts,
        "not_collected": NOT_YET_COLLECTED,
        "run_id": facts.run_id if facts else NOT_YET_COLLECTED,
        "period": _period(facts),
        "generated_at": format_timestamp(facts.finished_at)
        if facts
        else NOT_YET_COLLECTED,
        "created": _w3c_date(facts),
        "accounts": _accounts(report, facts),
        "regions": _regions(report, facts),
        "verdict_totals": [(v, report.verdicts.get(v, 0)) for v in VERDICT_COLUMNS],
        "finding_totals": [(s, report.totals.get(s, 0)) for s in STATUS_ORDER],
        "finding_count": sum(report.totals.values()),
        "layer_chart": verdict_bar_chart(
            "layers",
            [
                (layer.capitalize(), counts)
                for layer, counts in report.by_layer().items()
            ],
        ),
        "framework_chart": _framework_chart(report),
        "attention": attention,
        "error_count": report.totals.get(Status.ERROR.value, 0),
        "error_controls": [
            r.control.id for r in report.controls if r.counts.get(Status.ERROR.value)
        ],
        "frameworks": _framework_views(report),
        "controls": controls,
        "labels": STATUS_LABELS,
        "verdict_order": [STATUS_LABELS[v] for v in VERDICT_COLUMNS],
        "exceptions": [_exception_view(e, report) for e in report.exceptions],
        "cloudtrail_period": _cloudtrail_period(report),
        "attached_files": list(attached_files),
    }


def _period(facts: RunFacts | None) -> str:
    if facts is None:
        return NOT_YET_COLLECTED
    start = format_timestamp(facts.started_at) or "unknown start"
    end = format_timestamp(facts.finished_at) or "unknown end"
    return f"{start} to {end}"


def _date_and_clock(text: str | None) -> dict[str, str]:
    parsed = parse_timestamp(text)
    if parsed is None:
        return {"date": text or "", "clock": ""}
    return {"date": f"{parsed:%Y-%m-%d}", "clock": f"{parsed:%H:%M:%S}"}


def _cloudtrail_period(report: Report) -> str:
    summary = report.metadata.get("cloudtrail")
    if not isinstance(summary, dict):
        return ""
    start = format_timestamp(summary.get("period_start")) or "unknown start"
    end = format_timestamp(summary.get("period_end")) or "unknown end"
    return f"{start} to {end}"


def _w3c_date(facts: RunFacts | None) -> str:
    # WeasyPrint reads the PDF creation date from a W3C-DTF meta value.
    finished = parse_timestamp(facts.finished_at) if facts else None
    return f"{finished:%Y-%m-%dT%H:%M:%SZ}" if finished else ""


def _accounts(report: Report, facts: RunFacts | None) -> list[str]:
    if facts is not None:
        return list(facts.accounts)
    configured = report.settings.accounts
    return [f"{a.id} ({a.name})" if a.name else a.id for a in configured]


def _regions(report: Report, facts: RunFacts | None) -> list[str]:
    if facts is not None:
        return list(facts.regions)
    return list(report.settings.regions)


def _framework_chart(report: Report) -> Markup | None:
    rows = []
    for key in report.frameworks_used():
        counts = Counter(row.verdict for row in report.framework_rows(key))
        rows.append((FRAMEWORKS[key].title, counts))
    return (
        verdict_bar_chart("frameworks", rows, unit=("clause", "clauses"))
        if rows
        else None
    )


def _framework_views(report: Report) -> list[dict[str, Any]]:
    views = []
    for key in report.frameworks_used():
        rows = [
            {
                "clause": row.clause,
                "title": row.title,
                "verdict": row.verdict,
                "controls": [
                    (c.control.id, _anchor(c), c.verdict) for c in row.controls
                ],
            }
            for row in report.framework_rows(key)
        ]
        views.append({"key": key, "title": FRAMEWORKS[key].title, "rows": rows})
    return views


def _anchor(result: ControlResult) -> str:
    return f"control-{result.control.slug}"


def _control_view(result: ControlResult, report: Report) -> dict[str, Any]:
    control = result.control
    listed = control_findings(result, report.settings.pdf_max_findings_per_control)
    total = sum(len(check.findings) for check in result.checks)

    return {
        "id": control.id,
        "anchor": _anchor(result),
        "title": control.title,
        "layer": control.layer.capitalize(),
        "severity": str(control.severity),
        "owner": control.owner,
        "kind": control.kind,
        "verdict": result.verdict,
        "counts": [(s, result.counts.get(s, 0)) for s in STATUS_ORDER],
        "frameworks": [
            (FRAMEWORKS[key].title, ", ".join(clauses))
            for key, clauses in control.frameworks.items()
        ],
        "requirement": _requirement_html(control.body, control.title),
        "checks": [
            {
                "id": check.check_id,
                "title": check.title,
                "registered": check.spec is not None,
                "service": check.spec.service if check.spec else "",
                "permissions": list(check.spec.permissions) if check.spec else [],
                "proves": check.spec.proves if check.spec else "",
                "verdict": check.verdict,
                "counts": [(s, check.counts.get(s, 0)) for s in STATUS_ORDER],
            }
            for check in result.checks
        ],
        "findings": [_finding_view(row) for row in listed],
        "exceptions": _control_exceptions(result, report),
        "attestation": _attestation_view(result.attestation),
        "shown": len(listed),
        "total": total,
        "activity": _activity_view(result.activity),
    }


def _activity_view(activity: Activity | None) -> dict[str, Any] | None:
    if activity is None:
        return None
    events = activity.events[:PDF_MAX_EVENTS_PER_CONTROL]
    return {
        "events": [
            {
                **_date_and_clock(event.get("event_time")),
                "event": event.get("event_name", ""),
                "source": event.get("event_source", ""),
                "principal": event.get("principal", ""),
                "principal_type": event.get("principal_type", ""),
                "account": event.get("account_id", ""),
                "region": event.get("region", ""),
                "source_ip": event.get("source_ip", ""),
                "resource": truncate(
                    str(event.get("resource", "")), FINDING_TEXT_LIMIT, "the workbook"
                ),
                "error_code": event.get("error_code", ""),
                "mfa_used": event.get("mfa_used", ""),
            }
            for event in events
        ],
        "shown": len(events),
        "kept": len(activity.events),
        "total": max(activity.total, len(activity.events)),
        "errors": [excerpt_error(error) for error in activity.errors],
    }


def _finding_view(row: FindingRow) -> dict[str, Any]:
    finding = row.finding
    where = "the workbook"
    annotation = row.annotation
    return {
        "status": finding.status.value,
        "excepted": row.status == EXCEPTED,
        "exception_id": annotation.exception.id if annotation else "",
        "exception_expires": annotation.exception.expires.isoformat()
        if annotation
        else "",
        "exception_expired": bool(annotation and annotation.expired),
        "check_id": finding.check_id,
        "account": finding.account_id,
        "region": finding.region,
        "resource": truncate(finding.resource_id, FINDING_TEXT_LIMIT, where),
        "message": truncate(finding.message, FINDING_TEXT_LIMIT, where),
        "evidence": truncate(compact_json(finding.evidence), EVIDENCE_TEXT_LIMIT, where)
        if finding.evidence
        else "",
    }


def _control_exceptions(result: ControlResult, report: Report) -> list[dict]:
    # Every exception that annotates one of the control's findings, once, in
    # the order of the exceptions file.
    used = {
        annotation.exception.id
        for check in result.checks
        for annotation in check.annotations.values()
    }
    return [_exception_view(e, report) for e in report.exceptions if e.id in used]


def _exception_view(exception: RiskException, report: Report) -> dict[str, Any]:
    as_of = parse_timestamp(report.metadata.get("finished_at"))
    expired = as_of is not None and exception.expired(as_of.date())
    return {
        "id": exception.id,
        "scope": ", ".join(
            part
            for part in (
                exception.control and f"control {exception.control}",
                exception.check and f"check {exception.check}",
                exception.account and f"account {exception.account}",
                f"resource {exception.resource}",
            )
            if part
        ),
        "justification": exception.justification,
        "approved": f"{exception.approved_by}, {exception.approved_at.isoformat()}",
        "expires": exception.expires.isoformat(),
        "expired": expired,
    }


def _attestation_view(attestation: Attestation | None) -> dict[str, Any] | None:
    if attestation is None:
        return None
    return {
        "attested_by": attestation.attested_by,
        "attested_at": attestation.attested_at.isoformat(),
        "summary": attestation.summary,
        "documents": list(attestation.documents),
    }


def _requirement_html(body: str, title: str) -> Markup:
    # Control documents are the project's own Markdown, not AWS data, so their
    # HTML is kept. Headings move down two levels to sit under the control's.
    text = _without_title(strip_check_blocks(body), title)
    html = markdown.markdown(text, extensions=_MARKDOWN_EXTENSIONS)
    html = _HEADING_TAG.sub(_demote_heading, html)
    return Markup(html)


def _without_title(text: str, title: str) -> str:
    # A document often opens with "# <title>", which the section heading
    # already shows.
    lines = text.lstrip("\n").split("\n")
    first = lines[0].strip()
    if first.startswith("# ") and first[2:].strip() == title.strip():
        return "\n".join(lines[1:])
    return text


def _demote_heading(match: re.Match[str]) -> str:
    level = min(int(match[2]) + 2, 6)
    return f"<{match[1]}h{level}"
