"""HTML for the evidence on the site: check blocks, control banners and generated pages.

Every function renders a Jinja template with autoescaping on, so each string
from the evidence run (resource ids, messages, evidence values, run metadata)
reaches the page HTML-escaped. Invisible and reordering characters, such as a
right-to-left override, are shown as escapes like ``\\u202e``, as in the PDF.
Templates get data, never source from AWS.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from auditbook.controls import LAYERS, Control
from auditbook.errors import RenderError
from auditbook.evidence import VerifyProblem
from auditbook.frameworks import FRAMEWORKS
from auditbook.models import Finding, Status
from auditbook.render import excerpt_error
from auditbook.render.text import visible
from auditbook.report import (
    NOT_COLLECTED,
    VERDICT_LABELS,
    VERDICT_ORDER,
    CheckResult,
    ControlResult,
    Report,
)
from auditbook.site.pages import (
    CONTROLS_URI,
    RUN_URI,
    control_uri,
    findings_path,
    framework_uri,
)

# Badge text per verdict. The CSS class is the verdict in lower case.
STATUS_LABELS = VERDICT_LABELS

# How many of the most frequent API operations the run page lists.
TOP_OPERATIONS = 10


def _finalize(value: Any) -> Any:
    # Runs on every {{ }} value before autoescaping. Markup (HTML built by the
    # templates) is trusted; every other string may come from AWS.
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return visible(value)


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("auditbook", "templates/site"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=_finalize,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _utc(value: Any) -> str:
    """Format an ISO 8601 timestamp as ``YYYY-MM-DD HH:MM:SS UTC``, or pass it on."""
    if not isinstance(value, str) or not value:
        return "not recorded"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.utcoffset() is None or moment.utcoffset().total_seconds() != 0:
        return value
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


_ENV.filters["utc"] = _utc
_ENV.filters["number"] = lambda value: f"{value:,}"
_ENV.globals["STATUS_LABELS"] = STATUS_LABELS
_ENV.globals["VERDICT_ORDER"] = VERDICT_ORDER
_ENV.globals["NOT_COLLECTED"] = NOT_COLLECTED


class Links:
    """Relative URLs from one page to the other pages and files of the site."""

    def __init__(self, page: Page, files: Files) -> None:
        self._page = page
        self._files = files

    def page(self, uri: str) -> str:
        """Return the URL of a page given by its source path.

        Raises:
            RenderError: no page has that source path.
        """
        file = self._files.get_file_from_path(uri)
        if file is None:
            raise RenderError(f"the site has no page {uri!r} to link to")
        return file.url_relative_to(self._page.file)

    def control(self, control: Control) -> str:
        """Return the URL of a control's page."""
        return self.page(control_uri(control))

    def framework(self, key: str) -> str:
        """Return the URL of a framework's coverage page."""
        return self.page(framework_uri(key))

    def findings(self, control: Control, extension: str = "json") -> str:
        """Return the URL of the JSON or CSV file with every finding of a control."""
        return get_relative_url(findings_path(control, extension), self._page.url)


@dataclass(frozen=True)
class FindingRow:
    """One finding as a table row, with its evidence as indented JSON or empty."""

    finding: Finding
    evidence_json: str


def _rows(findings: list[Finding]) -> list[FindingRow]:
    return [
        FindingRow(
            finding,
            json.dumps(finding.evidence, indent=2, sort_keys=True, ensure_ascii=False)
            if finding.evidence
            else "",
        )
        for finding in findings
    ]


def _ordered_counts(counts: Counter[str]) -> list[tuple[str, int]]:
    return [(status, counts[status]) for status in VERDICT_ORDER if counts[status]]


def render_check(
    result: CheckResult, control: Control, report: Report, links: Links
) -> str:
    """Render the status block of one check: verdict, counts, findings table."""
    cap = report.settings.site_max_findings_per_table
    total = len(result.findings)
    return _ENV.get_template("check.html").render(
        **_common(report),
        check=result,
        run_id=report.run.run_id if report.run else None,
        counts=_ordered_counts(result.counts),
        rows=_rows(result.findings[:cap]),
        total=total,
        capped=total > cap,
        control=control,
        findings_url=links.findings(control) if total else None,
        findings_csv_url=links.findings(control, "csv") if total else None,
    )


def render_banner(result: ControlResult, report: Report, links: Links) -> str:
    """Render the verdict banner at the top of a control page."""
    control = result.control
    frameworks = [
        (FRAMEWORKS[key].title, links.framework(key), clauses)
        for key, clauses in control.frameworks.items()
    ]
    related = [
        (other.control.id, links.control(other.control))
        for other in report.controls
        if other.control.id in control.related
    ]
    return _ENV.get_template("banner.html").render(
        **_common(report),
        result=result,
        control=control,
        counts=_ordered_counts(result.counts),
        run_url=links.page(RUN_URI),
        frameworks=frameworks,
        related=related,
    )


def render_activity(result: ControlResult, report: Report, links: Links) -> str:
    """Render a control's CloudTrail excerpt: the events the run kept, newest first.

    Returns an empty string when the run has no excerpt for the control.
    """
    activity = result.activity
    if activity is None:
        return ""
    cloudtrail = report.metadata.get("cloudtrail")
    period = cloudtrail if isinstance(cloudtrail, dict) else {}
    return _ENV.get_template("activity.html").render(
        events=activity.events,
        total=max(activity.total, len(activity.events)),
        errors=[excerpt_error(error) for error in activity.errors],
        period_start=period.get("period_start"),
        period_end=period.get("period_end"),
    )


def render_home(report: Report, links: Links) -> str:
    """Render the dashboard: totals by status and layer, failing controls first."""
    layers = [
        (layer, sum(counts.values()), _ordered_counts(counts))
        for layer, counts in report.by_layer().items()
    ]
    return _ENV.get_template("home.html").render(
        **_common(report),
        settings=report.settings,
        totals=[(s, report.totals[s]) for s in VERDICT_ORDER if s != NOT_COLLECTED],
        verdicts=[(s, report.verdicts[s]) for s in VERDICT_ORDER],
        layers=layers,
        controls=report.controls_worst_first(),
        error_count=report.totals[Status.ERROR.value],
        error_controls=[r for r in report.controls if r.counts[Status.ERROR.value]],
        links=links,
        run_url=links.page(RUN_URI),
        controls_url=links.page(CONTROLS_URI),
    )


def render_controls(report: Report, links: Links) -> str:
    """Render the register of every control, by layer and id."""
    layers: dict[str, list[ControlResult]] = {}
    for result in report.controls:
        layers.setdefault(result.control.layer, []).append(result)
    return _ENV.get_template("controls.html").render(
        **_common(report),
        layers=[(layer, layers[layer]) for layer in LAYERS if layer in layers],
        links=links,
    )


def render_framework(report: Report, key: str, links: Links) -> str:
    """Render a framework's coverage: each mapped clause, its controls and verdict."""
    return _ENV.get_template("framework.html").render(
        **_common(report),
        framework=FRAMEWORKS[key],
        rows=report.framework_rows(key),
        links=links,
    )


def render_run(report: Report, problems: list[VerifyProblem]) -> str:
    """Render the run page: metadata, API calls and the manifest check."""
    files = report.run.manifest.get("files") if report.run else None
    return _ENV.get_template("run.html").render(
        **_common(report),
        report=report,
        problems=problems,
        manifest_files=sorted(files.items()) if isinstance(files, dict) else [],
    )


def _common(report: Report) -> dict[str, Any]:
    settings = report.settings
    return {
        "run": run_summary(report),
        "evidence_dir": _display_path(settings.evidence_dir, settings.root),
        "controls_dir": _display_path(settings.controls_dir, settings.root),
    }


def _display_path(path: Path, root: Path) -> str:
    """Return a path relative to the project root, so no machine path is published."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def run_summary(report: Report) -> dict[str, Any]:
    """Return the run metadata to display, with the API calls summed and ranked.

    ``run.json`` is read leniently: a missing or oddly typed key shows as not
    recorded instead of failing the build.
    """
    metadata = report.metadata
    caller = metadata.get("caller")
    api_calls = metadata.get("api_calls")
    by_operation = (
        api_calls.get("by_operation") if isinstance(api_calls, dict) else None
    )
    operations: list[tuple[str, int]] = []
    if isinstance(by_operation, dict):
        operations = sorted(
            (
                (str(name), count)
                for name, count in by_operation.items()
                if isinstance(count, int)
            ),
            key=lambda item: (-item[1], item[0]),
        )
    api_total = api_calls.get("total") if isinstance(api_calls, dict) else None
    if not isinstance(api_total, int):
        api_total = sum(count for _, count in operations) if operations else None

    tool = metadata.get("tool")
    revision = metadata.get("controls_revision")
    if isinstance(revision, dict):
        revision = revision.get("git_commit") or revision.get("sha256")

    return {
        "run_id": report.run.run_id if report.run else None,
        "previous_run_id": metadata.get("previous_run_id"),
        "started_at": metadata.get("started_at"),
        "finished_at": metadata.get("finished_at"),
        "caller_arn": caller.get("arn") if isinstance(caller, dict) else None,
        "accounts": _strings(metadata.get("accounts")),
        "regions": _strings(metadata.get("regions")),
        "tool_version": tool.get("version") if isinstance(tool, dict) else None,
        "controls_revision": revision,
        "api_total": api_total,
        "top_operations": operations[:TOP_OPERATIONS],
        "operation_count": len(operations),
        "account_errors": [
            error
            for error in _list(metadata.get("account_errors"))
            if isinstance(error, dict)
        ],
    }


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [str(item) for item in _list(value)]
