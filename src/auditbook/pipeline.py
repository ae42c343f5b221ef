"""The steps the CLI chains: select checks, collect into the store, render."""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import platform
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from auditbook import __version__
from auditbook.attestations import (
    MANUAL_FOLDER,
    load_attestation,
    read_attestation_bytes,
)
from auditbook.checks.registry import CheckSpec
from auditbook.cloudtrail.excerpts import collect_excerpts
from auditbook.collect import CollectionResult, Collector
from auditbook.config import Settings
from auditbook.controls import ControlLibrary
from auditbook.errors import (
    EXIT_ERROR,
    EXIT_FAILING,
    EXIT_OK,
    CollectionError,
    ControlError,
)
from auditbook.evidence import (
    CLOUDTRAIL_FILE,
    EXCEPTIONS_FILE,
    EvidenceRun,
    EvidenceStore,
    new_run_id,
)
from auditbook.models import Finding, Severity, Status
from auditbook.signing import KmsSigner

logger = logging.getLogger(__name__)


def select_checks(
    library: ControlLibrary,
    registry: dict[str, CheckSpec],
    settings: Settings,
    only: list[str] | None = None,
) -> list[CheckSpec]:
    """Return the registered checks the controls reference, less those out of scope.

    Raises:
        CollectionError: ``only`` names a check that no control references.
    """
    referenced = [cid for cid in library.check_ids() if cid in registry]
    if only:
        unknown = sorted(set(only) - set(referenced))
        if unknown:
            hints = []
            for check_id in unknown:
                close = difflib.get_close_matches(check_id, referenced, n=1)
                hints.append(
                    f"{check_id} (did you mean {close[0]}?)" if close else check_id
                )
            raise CollectionError(
                f"--checks names {', '.join(hints)}, which no control references; "
                "run 'auditbook checks' for the registered IDs"
            )
        referenced = [cid for cid in referenced if cid in only]
    return [registry[cid] for cid in referenced if cid not in settings.out_of_scope]


def collect_run(
    settings: Settings,
    library: ControlLibrary,
    checks: list[CheckSpec],
    store: EvidenceStore,
    regions: list[str] | None = None,
    session: boto3.Session | None = None,
    sign_kms_key: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> EvidenceRun:
    """Collect the checks and write the result as a new evidence run.

    Raises:
        CollectionError: collection could not start.
        EvidenceError: the run could not be written, or another run holds
            the store's lock.
    """
    with store.lock():
        collector = Collector(
            settings, checks, session=session, regions=regions, progress=progress
        )
        result = collector.run()
        metadata = run_metadata(result, settings, library)

        extra_files = attestation_files(settings, library)
        if settings.exceptions_file.is_file():
            # The run keeps the exceptions in force when it was collected, so
            # its reports can be rebuilt identically later.
            extra_files[EXCEPTIONS_FILE] = settings.exceptions_file.read_bytes()
        excerpts = collect_excerpts(
            settings,
            library.controls,
            collector.account_sessions,
            result.regions,
            period_end=datetime.fromisoformat(result.started_at),
        )
        if excerpts is not None:
            extra_files[CLOUDTRAIL_FILE] = b"".join(
                (json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n").encode()
                for row in excerpts.rows()
            )
            metadata["cloudtrail"] = excerpts.summary()
        metadata["api_calls"] = _api_calls(collector)

        signer = None
        if sign_kms_key:
            region = _key_region(sign_kms_key) or collector.home_region
            kms = (session or boto3.Session()).client("kms", region_name=region)
            signer = KmsSigner(kms, sign_kms_key).sign
            metadata["signing_key"] = sign_kms_key

        return store.write_run(
            new_run_id(), result.findings, metadata, extra_files, signer
        )


def _key_region(key_id: str) -> str | None:
    # arn:aws:kms:eu-west-2:123456789012:key/... names its region.
    parts = key_id.split(":")
    return parts[3] if key_id.startswith("arn:") and len(parts) > 3 else None


def attestation_files(settings: Settings, library: ControlLibrary) -> dict[str, bytes]:
    """Return the attestation files of manual controls, keyed by their run path."""
    files = {}
    for control in library.controls:
        if control.kind != "manual":
            continue
        content = read_attestation_bytes(settings.attestations_dir, control.id)
        if content is not None:
            files[f"{MANUAL_FOLDER}/{control.id}.yml"] = content
    return files


def attestation_errors(
    settings: Settings, library: ControlLibrary
) -> list[ControlError]:
    """Return the problems in the attestation files of manual controls."""
    errors = []
    for control in library.controls:
        if control.kind != "manual":
            continue
        try:
            load_attestation(settings.attestations_dir, control.id)
        except ControlError as exc:
            errors.append(exc)
    return errors


def _api_calls(collector: Collector) -> dict[str, Any]:
    counts = dict(sorted(collector.counter.counts.items()))
    return {"total": sum(counts.values()), "by_operation": counts}


def run_metadata(
    result: CollectionResult, settings: Settings, library: ControlLibrary
) -> dict[str, Any]:
    """Return the contents of ``run.json`` for a collection."""
    return {
        "tool": {"name": "auditbook", "version": __version__},
        "python": platform.python_version(),
        "controls_revision": controls_revision(settings, library),
        "caller": result.caller,
        "accounts": result.accounts,
        "account_errors": result.account_errors,
        "regions": result.regions,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "check_ids": result.check_ids,
        "options": settings.for_run(),
        "status_counts": _status_counts(result.findings),
    }


def controls_revision(settings: Settings, library: ControlLibrary) -> dict[str, Any]:
    """Return the git commit of the controls folder, if any, and a content hash."""
    digest = hashlib.sha256()
    for control in sorted(library.controls, key=lambda c: str(c.path)):
        digest.update(
            control.path.relative_to(settings.controls_dir).as_posix().encode()
        )
        digest.update(control.path.read_bytes())

    commit = None
    try:
        completed = subprocess.run(
            ["git", "-C", str(settings.controls_dir), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if completed.returncode == 0:
            commit = completed.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        logger.debug("git is not available; recording the controls hash only")
    return {"git_commit": commit, "sha256": digest.hexdigest()}


def _status_counts(findings: list[Finding]) -> dict[str, int]:
    counts = {status.value: 0 for status in Status}
    for finding in findings:
        counts[finding.status.value] += 1
    return counts


@dataclass(frozen=True)
class Gate:
    """The outcome of a run against ``--fail-on``."""

    exit_code: int
    errors: int
    gated_failures: int
    failures: int


def gate(
    findings: list[Finding],
    library: ControlLibrary,
    fail_on: str,
    excepted: set[tuple] | None = None,
) -> Gate:
    """Decide the exit code of a run.

    2 when any finding is ERROR (the evidence is incomplete), else 1 when a
    FAIL that no active exception covers belongs to a control whose severity
    reaches ``fail_on``, else 0. ``excepted`` contains the sort keys of the
    findings an active exception covers.
    """
    excepted = excepted or set()
    severity_by_check: dict[str, int] = {}
    for control in library.controls:
        for check_id in control.check_ids:
            rank = control.severity.rank
            severity_by_check[check_id] = min(
                rank, severity_by_check.get(check_id, rank)
            )

    threshold = None if fail_on == "never" else Severity(fail_on).rank
    errors = sum(1 for f in findings if f.status == Status.ERROR)
    failures = [
        f for f in findings if f.status == Status.FAIL and f.sort_key() not in excepted
    ]
    gated = [
        f
        for f in failures
        if threshold is not None
        and severity_by_check.get(f.check_id, Severity.INFORMATIONAL.rank) <= threshold
    ]

    if errors:
        code = EXIT_ERROR
    elif gated:
        code = EXIT_FAILING
    else:
        code = EXIT_OK
    return Gate(code, errors, len(gated), len(failures))


@dataclass(frozen=True)
class Outputs:
    """The paths of a render's outputs."""

    site_dir: Path
    pdf: Path
    workbook: Path


def render_outputs(
    settings: Settings,
    library: ControlLibrary,
    registry: dict[str, CheckSpec],
    run: EvidenceRun | None,
    out_dir: Path,
    config_file: Path,
) -> Outputs:
    """Build the site, the PDF and the workbook from one evidence run.

    Raises:
        RenderError: a renderer failed.
    """
    from auditbook.render.excel import write_workbook
    from auditbook.render.pdf import write_pdf
    from auditbook.report import build_report
    from auditbook.site.build import build_site

    out_dir = Path(out_dir)
    build_site(config_file, out_dir, settings, run)

    report = build_report(settings, library.controls, registry, run)
    pdf = write_pdf(report, out_dir / settings.pdf_filename)
    workbook = write_workbook(report, out_dir / settings.workbook_filename)
    logger.info(
        "rendered the site, %s and %s into %s", pdf.name, workbook.name, out_dir
    )
    return Outputs(out_dir, pdf, workbook)
