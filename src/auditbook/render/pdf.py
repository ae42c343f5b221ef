"""The PDF audit pack, rendered by WeasyPrint from Jinja2 templates.

The pack is one HTML document built from ``templates/pdf/`` with autoescaping
on. Every string printed passes through :func:`auditbook.render.text.visible`
as well, so a control character or a right-to-left override in a resource
name shows as an escape instead of hiding or reordering text. WeasyPrint
fetches nothing: the fetcher rejects every URL except ``data:`` URIs. The
run's ``findings.jsonl``, ``run.json`` and ``manifest.json`` are embedded in
the PDF, with its exceptions and attestations when present, so the pack alone
carries the evidence its verdicts rest on.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from weasyprint import HTML, Attachment
from weasyprint.urls import URLFetcher

from auditbook.attestations import MANUAL_FOLDER
from auditbook.errors import RenderError
from auditbook.evidence import (
    EXCEPTIONS_FILE,
    FINDINGS_FILE,
    MANIFEST_FILE,
    RUN_FILE,
    EvidenceRun,
)
from auditbook.render import FALLBACK_DATE, RunFacts, atomic_target, run_facts
from auditbook.render.pdf_context import pack_context
from auditbook.render.text import format_timestamp, parse_timestamp, visible
from auditbook.report import Report

logger = logging.getLogger(__name__)

TEMPLATE = "audit_pack.html.j2"

# Allocations between two young-generation collections while WeasyPrint runs.
# CPython's default is 700.
GC_THRESHOLD_WHILE_RENDERING = 100_000

# Run files always embedded in the PDF, with the description each carries.
ATTACHED_FILES = {
    FINDINGS_FILE: "Every finding of the evidence run, one JSON object a line",
    RUN_FILE: "Run metadata: identity, accounts, regions, times, tool version",
    MANIFEST_FILE: "SHA-256 of every evidence file of the run",
}

# Run files embedded when present, because verdicts rest on them: accepted
# risks make findings EXCEPTED, and attestations prove manual controls.
OPTIONAL_FILES = {
    EXCEPTIONS_FILE: "Accepted risks in force when the run was collected",
}
ATTESTATION_DESCRIPTION = "Attestation of a manual control by its owner"


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
            raise ValueError(
                f"{url[:200]!r} is not allowed: the audit pack loads no external "
                "resource, so embed it as a data: URI"
            )
        return super().fetch(url, headers)


def write_pdf(report: Report, path: Path) -> Path:
    """Render the audit pack of a report to a PDF file.

    Rendering the same evidence run and controls twice gives the same bytes:
    every date in the document, its creation date included, comes from the
    run, never from the clock. With ``pdf.variant`` set to ``pdf/a-3b``,
    WeasyPrint writes the PDF/A-3b identification, the sRGB output intent
    and the relationship of each embedded file.

    Returns:
        The path written.

    Raises:
        RenderError: the PDF cannot be written to ``path``.
    """
    path = Path(path)
    fetcher = DataOnlyFetcher()
    html = build_html(report)
    facts = run_facts(report)
    attachments = _attachments(report, facts, fetcher)
    with fewer_collections():
        document = HTML(string=html, url_fetcher=fetcher).render()
        try:
            with atomic_target(path) as target:
                document.write_pdf(
                    target,
                    attachments=attachments,
                    pdf_variant=report.settings.pdf_variant,
                )
        except OSError as exc:
            raise RenderError(
                f"cannot write the PDF to {path}: {exc.strerror or exc}; choose a "
                "writable path"
            ) from exc

    logger.info("wrote the PDF audit pack %s (%d pages)", path, len(document.pages))
    return path


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the garbage collector's thresholds for the duration of the block.

    WeasyPrint allocates millions of boxes that live until the PDF is written,
    and with the default thresholds the collector scans them again and again.
    For the 700-page pack of benchmarks/render.py on CPython 3.11 and a 2-core
    machine, that was a fifth of the CPU time. Reference counting still frees
    almost everything at once, and only objects in reference cycles wait for a
    later collection.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD_WHILE_RENDERING, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


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
    environment.filters["utc"] = format_timestamp
    template = environment.get_template(TEMPLATE)
    return template.render(pack_context(report, attached_names(report)))


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

    # The attachments carry the run's end as their dates, like the document.
    when = parse_timestamp(facts.finished_at) or FALLBACK_DATE
    when = when.replace(tzinfo=UTC)
    attachments = []
    for name, description in _attached_files(report.run).items():
        file = report.run.path / name
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise RenderError(
                f"cannot read {file} to attach it to the PDF: "
                f"{exc.strerror or exc}; check the evidence run with "
                "'auditbook verify'"
            ) from exc
        attachments.append(
            Attachment(
                string=content,
                name=name,
                description=description,
                created=when,
                modified=when,
                relationship="Data",
                url_fetcher=fetcher,
            )
        )
    return attachments


def attached_names(report: Report) -> list[str]:
    """Return the names of the run files that the PDF embeds, in order."""
    return list(_attached_files(report.run)) if report.run else list(ATTACHED_FILES)


def _attached_files(run: EvidenceRun) -> dict[str, str]:
    files = dict(ATTACHED_FILES)
    for name, description in OPTIONAL_FILES.items():
        if (run.path / name).is_file():
            files[name] = description
    for path in sorted((run.path / MANUAL_FOLDER).glob("*.yml")):
        files[f"{MANUAL_FOLDER}/{path.name}"] = ATTESTATION_DESCRIPTION
    return files
