"""Renderers of the audit pack: the PDF and the Excel workbook.

Both read a :class:`~auditbook.report.Report` and nothing else, so they agree
with the site on every verdict and count, and neither calls AWS. This module
contains what both need from a run: its facts and the findings of a control.
"""

from __future__ import annotations

import heapq
import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from auditbook.models import Finding, Status
from auditbook.report import (
    VERDICT_LABELS,
    VERDICT_ORDER,
    CheckResult,
    ControlResult,
    Report,
)
from auditbook.riskexceptions import EXCEPTED, Annotation

NOT_YET_COLLECTED = "not yet collected"

# The date written where a document needs one and no run gives it, so the
# bytes stay the same between builds. 1980-01-01 is the earliest date a zip
# entry can hold.
FALLBACK_DATE = datetime(1980, 1, 1)

# Effective statuses of findings in the order reports list them: what a
# reader must act on first. EXCEPTED is a FAIL that an accepted risk covers.
STATUS_ORDER = (
    Status.FAIL.value,
    Status.ERROR.value,
    EXCEPTED,
    Status.PASS.value,
    Status.NOT_APPLICABLE.value,
)

# Control verdicts from worst to best, as the report model orders them.
VERDICT_COLUMNS = VERDICT_ORDER

# The text of each verdict and status, shared with the site.
STATUS_LABELS = VERDICT_LABELS


@dataclass(frozen=True)
class RunFacts:
    """The facts of an evidence run that the audit pack states.

    Attributes:
        run_id: the evidence run id.
        started_at: start of collection, ISO 8601 as recorded.
        finished_at: end of collection, ISO 8601 as recorded. The audit pack
            uses it as its "generated at" and creation date, so rebuilding
            from the same run gives the same document.
        caller_arn: the identity that collected.
        caller_account: the account of that identity.
        accounts: the accounts collected.
        regions: the regions collected.
        tool_version: the auditbook version that collected.
        controls_revision: the git commit and content hash of the control
            library, as one line of text.
        api_call_count: the number of AWS API calls made, when recorded.
        api_calls: the number of calls per ``service:Operation``.
        account_errors: one line per account that could not be collected.
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
    api_calls: tuple[tuple[str, int], ...] = ()
    account_errors: tuple[str, ...] = ()
    previous_run_id: str = ""
    evidence_files: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    manifest_sha256: str = ""


def run_facts(report: Report) -> RunFacts | None:
    """Read the facts of the report's run, or return None when nothing was collected.

    ``run.json`` is read leniently: a missing or differently shaped key leaves
    its fact empty rather than failing the render, because a run written by
    another version of auditbook may lack keys or shape them differently.
    """
    run = report.run
    if run is None:
        return None

    metadata = run.metadata
    caller = _mapping(metadata.get("caller"))
    tool = _mapping(metadata.get("tool"))
    files = _mapping(run.manifest.get("files"))
    calls = _api_calls(metadata.get("api_calls"))
    return RunFacts(
        run_id=run.run_id,
        started_at=_text(metadata.get("started_at")),
        finished_at=_text(metadata.get("finished_at")),
        caller_arn=_text(caller.get("arn")),
        caller_account=_text(caller.get("account_id")),
        accounts=_texts(metadata.get("accounts")),
        regions=_texts(metadata.get("regions")),
        tool_version=_text(tool.get("version") or metadata.get("tool_version")),
        controls_revision=_revision(metadata.get("controls_revision")),
        api_call_count=_api_call_total(metadata.get("api_calls"), calls),
        api_calls=calls,
        account_errors=tuple(
            _account_error(error) for error in metadata.get("account_errors") or ()
        ),
        previous_run_id=_text(metadata.get("previous_run_id")),
        evidence_files=tuple(sorted((str(k), str(v)) for k, v in files.items())),
        manifest_sha256=run.manifest_sha256(),
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(item) for item in value)


def _revision(value: Any) -> str:
    # The collector records {"git_commit": ..., "sha256": ...}. The commit is
    # None when the controls folder is not a git checkout.
    if not isinstance(value, dict):
        return _text(value)
    parts = []
    if value.get("git_commit"):
        parts.append(f"git commit {value['git_commit']}")
    if value.get("sha256"):
        parts.append(f"content SHA-256 {value['sha256']}")
    return ", ".join(parts)


def _api_calls(value: Any) -> tuple[tuple[str, int], ...]:
    # Either {"total": n, "by_operation": {...}} or a plain per-operation map.
    by_operation = _mapping(value).get("by_operation", value)
    if not isinstance(by_operation, dict):
        return ()
    return tuple(
        (str(name), count)
        for name, count in sorted(by_operation.items())
        if isinstance(count, int)
    )


def _api_call_total(value: Any, calls: tuple[tuple[str, int], ...]) -> int | None:
    if isinstance(value, int):
        return value
    total = _mapping(value).get("total")
    if isinstance(total, int):
        return total
    return sum(count for _, count in calls) if calls else None


def _account_error(error: Any) -> str:
    if not isinstance(error, dict):
        return _text(error)
    account = error.get("account_id", "unknown account")
    code = error.get("code", "error")
    detail = error.get("detail")
    return f"{account}: {code}" + (f" ({detail})" if detail else "")


def excerpt_error(error: dict[str, Any]) -> str:
    """Describe a failed CloudTrail read of a control's excerpt in one line."""
    account = error.get("account_id", "unknown")
    region = error.get("region", "unknown")
    code = error.get("code", "an error")
    operation = error.get("operation")
    failure = f"{operation} failed with {code}" if operation else f"failed with {code}"
    detail = error.get("detail")
    if detail:
        failure = f"{failure} ({detail})"
    return f"account {account}, region {region}: {failure}"


@dataclass(frozen=True)
class FindingRow:
    """A finding as a report lists it: with its status after exceptions.

    Attributes:
        finding: the finding as stored in the run.
        status: EXCEPTED when an active exception covers the finding, else
            the finding's own status.
        annotation: the exception covering the finding, active or expired.
    """

    finding: Finding
    status: str
    annotation: Annotation | None


def control_findings(
    result: ControlResult, limit: int | None = None
) -> list[FindingRow]:
    """Return the findings of a control's checks, in :data:`STATUS_ORDER`.

    Failures come first, then errors, excepted failures, passes and not
    applicable. Within a status, findings keep the run's order (check,
    account, region, resource). A check that two controls reference appears
    under both. With ``limit``, only the first ``limit`` findings are built,
    which keeps a control with 100,000 findings cheap.
    """
    ordered = heapq.merge(
        *(_check_rows(check) for check in result.checks),
        key=lambda row: (_STATUS_RANK[row.status], row.finding.sort_key()),
    )
    return list(itertools.islice(ordered, limit))


# The rank of each effective status in STATUS_ORDER.
_STATUS_RANK = {status: rank for rank, status in enumerate(STATUS_ORDER)}


def _check_rows(check: CheckResult) -> list[FindingRow]:
    # The report keeps a check's findings in raw status order, then by sort
    # key. Moving excepted failures behind the errors, with a stable sort,
    # gives the effective status order.
    if not check.annotations:
        return [FindingRow(f, f.status.value, None) for f in check.findings]
    rows = [
        FindingRow(finding, check.effective_status(finding), check.annotation(finding))
        for finding in check.findings
    ]
    return sorted(rows, key=lambda row: _STATUS_RANK[row.status])


def controls_by_check(report: Report) -> dict[str, list[str]]:
    """Return, for each check ID, the ids of the controls that reference it."""
    mapping: dict[str, list[str]] = {}
    for result in report.controls:
        for check_id in result.control.check_ids:
            mapping.setdefault(check_id, []).append(result.control.id)
    return mapping


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and move it into place on success.

    A reader never sees a half-written PDF or workbook: on any error the
    temporary file is removed and an existing file at ``path`` stays as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
