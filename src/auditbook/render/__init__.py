"""Renderers of the audit pack: the PDF and the Excel workbook.

Both read a :class:`~auditbook.report.Report` and nothing else, so they agree
with the site on every verdict and count, and neither calls AWS. This module
holds what both need from a run: its facts and the findings of a control.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditbook.models import Finding, Status
from auditbook.report import FINDING_ORDER, NOT_COLLECTED, ControlResult, Report

NOT_YET_COLLECTED = "not yet collected"

# Statuses in the order reports list them: what a reader must act on first.
STATUS_ORDER = (
    Status.FAIL.value,
    Status.ERROR.value,
    Status.PASS.value,
    Status.NOT_APPLICABLE.value,
)

# Control verdicts in the same order, with the verdict of a control that has
# no finding in the run.
VERDICT_COLUMNS = (
    Status.FAIL.value,
    Status.ERROR.value,
    NOT_COLLECTED,
    Status.PASS.value,
    Status.NOT_APPLICABLE.value,
)


@dataclass(frozen=True)
class RunFacts:
    """The facts of an evidence run that the audit pack states.

    Attributes:
        run_id: the evidence run id.
        started_at: start of collection, ISO 8601 as recorded.
        finished_at: end of collection, ISO 8601 as recorded; the audit
            pack's "generated at" and creation date, so that rebuilding from
            the same run gives the same document.
        caller_arn: the identity that collected.
        caller_account: the account of that identity.
        accounts: the accounts collected.
        regions: the regions collected.
        tool_version: the auditbook version that collected.
        controls_revision: the revision of the control library, when recorded.
        api_call_count: the number of AWS API calls made, when recorded.
        previous_run_id: the run this run's manifest chains to.
        evidence_files: every file in the manifest and its SHA-256, by name.
        manifest_sha256: the SHA-256 of ``manifest.json`` itself.
    """

    run_id: str
    started_at: str = ""
    finished_at: str = ""
    caller_arn: str = ""
    caller_account: str = ""
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    tool_version: str = ""
    controls_revision: str = ""
    api_call_count: int | None = None
    previous_run_id: str = ""
    evidence_files: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    manifest_sha256: str = ""


def run_facts(report: Report) -> RunFacts | None:
    """Read the facts of the report's run, or return None when nothing was collected.

    ``run.json`` is read leniently: a missing key leaves its fact empty rather
    than failing the render, because an older run may lack newer keys.
    """
    run = report.run
    if run is None:
        return None

    metadata = run.metadata
    caller = metadata.get("caller") or {}
    files = run.manifest.get("files") or {}
    return RunFacts(
        run_id=run.run_id,
        started_at=_text(metadata.get("started_at")),
        finished_at=_text(metadata.get("finished_at")),
        caller_arn=_text(caller.get("arn") if isinstance(caller, dict) else caller),
        caller_account=_text(
            caller.get("account_id") if isinstance(caller, dict) else ""
        ),
        accounts=_texts(metadata.get("accounts")),
        regions=_texts(metadata.get("regions")),
        tool_version=_text(metadata.get("tool_version")),
        controls_revision=_text(metadata.get("controls_revision")),
        api_call_count=_api_call_count(metadata),
        previous_run_id=_text(metadata.get("previous_run_id")),
        evidence_files=tuple(sorted((str(k), str(v)) for k, v in files.items())),
        manifest_sha256=run.manifest_sha256(),
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(item) for item in value)


def _api_call_count(metadata: dict[str, Any]) -> int | None:
    # The collector records calls per operation; a total may also be stored.
    calls = metadata.get("api_calls")
    if isinstance(calls, dict):
        return sum(v for v in calls.values() if isinstance(v, int))
    if isinstance(calls, int):
        return calls
    total = metadata.get("api_call_count")
    return total if isinstance(total, int) else None


def control_findings(result: ControlResult) -> list[Finding]:
    """Return every finding of a control's checks: failures, errors, then passes.

    Within a status, findings keep the run's order (check, account, region,
    resource). A check that two controls reference appears under both.
    """
    findings = [finding for check in result.checks for finding in check.findings]
    return sorted(findings, key=lambda f: (FINDING_ORDER[f.status], f.sort_key()))


def controls_by_check(report: Report) -> dict[str, list[str]]:
    """Return, for each check ID, the ids of the controls that reference it."""
    mapping: dict[str, list[str]] = {}
    for result in report.controls:
        for check_id in result.control.check_ids:
            mapping.setdefault(check_id, []).append(result.control.id)
    return mapping
