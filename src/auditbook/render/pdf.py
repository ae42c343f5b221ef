"""The PDF audit pack, rendered by WeasyPrint from Jinja2 templates.

The pack is one HTML document built from ``templates/pdf/`` with autoescaping
on. Every string printed passes through :func:`auditbook.render.text.visible`
as well, so a control character or a right-to-left override in a resource
name shows as an escape instead of hiding or reordering text. WeasyPrint
fetches nothing: the fetcher rejects every URL except ``data:`` URIs. The
run's ``findings.jsonl``, ``run.json`` and ``manifest.json`` are embedded in
the PDF, so the pack alone carries the full evidence.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import markdown
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from weasyprint import HTML, Attachment
from weasyprint.urls import URLFetcher

from auditbook.errors import RenderError
from auditbook.evidence import FINDINGS_FILE, MANIFEST_FILE, RUN_FILE
from auditbook.frameworks import FRAMEWORKS
from auditbook.models import Finding
from auditbook.render import (
    NOT_YET_COLLECTED,
    STATUS_ORDER,
    VERDICT_COLUMNS,
    RunFacts,
    control_findings,
    run_facts,
)
from auditbook.render.charts import verdict_bar_chart
from auditbook.render.text import (
    compact_json,
    format_timestamp,
    parse_timestamp,
    strip_check_blocks,
    truncate,
    visible,
)
from auditbook.report import ControlResult, Report

logger = logging.getLogger(__name__)

TEMPLATE = "audit_pack.html.j2"

# Characters of a resource id or message shown in a findings table. AWS caps
# names and descriptions at a few hundred characters, so only a hostile or
# corrupt value is cut; the workbook and the evidence run keep it whole.
FINDING_TEXT_LIMIT = 1000

# Characters of a finding's evidence JSON shown in a findings table.
EVIDENCE_TEXT_LIMIT = 300

# Run files embedded in the PDF, with the description each attachment carries.
ATTACHED_FILES = {
    FINDINGS_FILE: "Every finding of the evidence run, one JSON object a line",
    RUN_FILE: "Run metadata: identity, accounts, regions, times, tool version",
    MANIFEST_FILE: "SHA-256 of every evidence file of the run",
}

_MARKDOWN_EXTENSIONS = ["tables", "fenced_code", "sane_lists"]
_HEADING_TAG = re.compile(r"<(/?)h([1-6])\b")


class DataOnlyFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that rejects every URL except ``data:`` URIs.

    Resource names and messages come from AWS; with this fetcher no such
    string can make the renderer open a file or reach a host.
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",))

    def fetch(self, url: str, headers: dict[str, str] | None = None):
        """Fetch a ``data:`` URI, or raise ValueError for any other URL."""
        if not url.strip().lower().startswith("data:"):
            logger.warning("rejected a fetch of %r while rendering the PDF", url[:200])
            raise ValueError(f"fetching {url[:200]!r} is not allowed in the audit pack")
        return super().fetch(url, headers)


def write_pdf(report: Report, path: Path) -> Path:
    """Render the audit pack of a report to a PDF file.

    Rendering the same evidence run and controls twice gives the same bytes:
    every date in the document, its creation date included, comes from the
    run, never from the clock.

    Returns:
        The path written.

    Raises:
        RenderError: the PDF cannot be written to ``path``.
    """
    path = Path(path)
    fetcher = DataOnlyFetcher()
    html = build_html(report)
    facts = run_facts(report)
    document = HTML(string=html, url_fetcher=fetcher).render()

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        document.write_pdf(path, attachments=_attachments(report, facts, fetcher))
    except OSError as exc:
        raise RenderError(
            f"cannot write the PDF to {path}: {exc.strerror or exc}; choose a "
            "writable path"
        ) from exc

    logger.info("wrote the PDF audit pack %s (%d pages)", path, len(document.pages))
    return path


def build_html(report: Report) -> str:
    """Return the audit pack as one HTML document for WeasyPrint."""
    environment = Environment(
        loader=PackageLoader("auditbook", "templates/pdf"),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template(TEMPLATE)
    return template.render(_context(report))


def _finalize(value: Any) -> Any:
    # Runs on every {{ }} value before autoescaping. Markup (our own HTML and
    # SVG) is trusted; every other string may come from AWS.
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return visible(value)


def _attachments(
    report: Report, facts: RunFacts | None, fetcher: URLFetcher
) -> list[Attachment]:
    if report.run is None or facts is None:
        return []

    when = parse_timestamp(facts.finished_at) or datetime(1980, 1, 1)
    when = when.replace(tzinfo=UTC)
    attachments = []
    for name, description in ATTACHED_FILES.items():
        file = report.run.path / name
        attachments.append(
            Attachment(
                string=file.read_bytes(),
                name=name,
                description=description,
                created=when,
                modified=when,
                relationship="Data",
                url_fetcher=fetcher,
            )
        )
    return attachments


def _context(report: Report) -> dict[str, Any]:
    settings = report.settings
    facts = run_facts(report)
    controls = [_control_view(result, report) for result in report.controls]
    attention = [
        view
        for view in sorted(controls, key=lambda v: VERDICT_COLUMNS.index(v["verdict"]))
        if view["verdict"] in VERDICT_COLUMNS[:2]
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
        "created": facts.finished_at if facts else "",
        "accounts": _accounts(report, facts),
        "regions": _regions(report, facts),
        "verdict_totals": [(v, report.verdicts.get(v, 0)) for v in VERDICT_COLUMNS],
        "finding_totals": [(s, report.totals.get(s, 0)) for s in STATUS_ORDER],
        "finding_count": sum(report.totals.values()),
        "layer_chart": verdict_bar_chart(
            [(layer.capitalize(), counts) for layer, counts in report.by_layer().items()]
        ),
        "framework_chart": _framework_chart(report),
        "attention": attention,
        "frameworks": _framework_views(report),
        "controls": controls,
        "cap": settings.pdf_max_findings_per_control,
        "attached_files": list(ATTACHED_FILES),
    }


def _period(facts: RunFacts | None) -> str:
    if facts is None:
        return NOT_YET_COLLECTED
    start = format_timestamp(facts.started_at) or "unknown start"
    end = format_timestamp(facts.finished_at) or "unknown end"
    return f"{start} to {end}"


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
    return verdict_bar_chart(rows, unit="clauses") if rows else None


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
    findings = control_findings(result)
    cap = report.settings.pdf_max_findings_per_control
    shown = findings[:cap]

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
        "requirement": _requirement_html(control.body),
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
        "findings": [_finding_view(finding) for finding in shown],
        "shown": len(shown),
        "total": len(findings),
    }


def _finding_view(finding: Finding) -> dict[str, str]:
    where = "the workbook"
    return {
        "status": finding.status.value,
        "check_id": finding.check_id,
        "account": finding.account_id,
        "region": finding.region,
        "resource": truncate(finding.resource_id, FINDING_TEXT_LIMIT, where),
        "message": truncate(finding.message, FINDING_TEXT_LIMIT, where),
        "evidence": truncate(compact_json(finding.evidence), EVIDENCE_TEXT_LIMIT, where)
        if finding.evidence
        else "",
        "observed_at": format_timestamp(finding.observed_at),
    }


def _requirement_html(body: str) -> Markup:
    # Control documents are the project's own Markdown, not AWS data, so their
    # HTML is kept. Headings move down two levels to sit under the control's.
    html = markdown.markdown(
        strip_check_blocks(body), extensions=_MARKDOWN_EXTENSIONS
    )
    html = _HEADING_TAG.sub(_demote_heading, html)
    return Markup(html)


def _demote_heading(match: re.Match[str]) -> str:
    level = min(int(match[2]) + 2, 6)
    return f"<{match[1]}h{level}"
