"""Compare the findings of an evidence run with those of the run before it.

Findings are matched by their key: check, account, region and resource. The
comparison lists new failures, fixed findings, other status changes, and the
resources that only one of the two runs found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from auditbook.evidence import EvidenceRun
from auditbook.models import Finding, Status
from auditbook.report import check_verdict

# Statuses that count as failing when a finding changes between runs.
FAILING = frozenset({Status.FAIL, Status.ERROR})


class FindingKey(NamedTuple):
    """The identity of a finding across runs."""

    check_id: str
    account_id: str
    region: str
    resource_id: str


@dataclass(frozen=True)
class Change:
    """One finding key whose presence or status differs between two runs.

    Attributes:
        key: the check, account, region and resource.
        before: the status in the previous run, or None when absent there.
        after: the status in this run, or None when absent here.
        message: the finding's message in this run, else in the previous one.
    """

    key: FindingKey
    before: Status | None
    after: Status | None
    message: str


@dataclass
class Comparison:
    """The differences between a run and the run before it.

    Resources are compared per check: a resource counts as new or removed
    only for a check that both runs collected, so adding a check to the
    library lists it under ``checks_added`` instead of flooding the new
    resources. A failing finding of an added check is still a new failure.

    Attributes:
        run_id: the run shown.
        previous_run_id: the run before it, per ``run.json``; None for the
            first run of a store.
        previous_finished_at: when the previous run finished, if recorded.
        problem: why the previous run could not be compared, else None.
        new_failures: keys now FAIL or ERROR that were neither before.
        fixed: keys that were FAIL or ERROR and now PASS.
        changed: every key in both runs whose status differs.
        new_resources: keys of checks in both runs that only this run has.
        removed_resources: keys of checks in both runs that only the
            previous run has.
        checks_added: checks collected in this run and not in the previous.
        checks_removed: checks collected in the previous run and not in this.
    """

    run_id: str
    previous_run_id: str | None
    previous_finished_at: str | None = None
    problem: str | None = None
    new_failures: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    new_resources: list[Change] = field(default_factory=list)
    removed_resources: list[Change] = field(default_factory=list)
    checks_added: list[str] = field(default_factory=list)
    checks_removed: list[str] = field(default_factory=list)

    @property
    def compared(self) -> bool:
        """Return True when a previous run was read and compared."""
        return self.previous_run_id is not None and self.problem is None

    @property
    def other_changes(self) -> list[Change]:
        """Return the status changes that are neither new failures nor fixes."""
        listed = {change.key for change in self.new_failures + self.fixed}
        return [change for change in self.changed if change.key not in listed]


def compare(
    run_id: str,
    previous: EvidenceRun,
    current_findings: Iterable[Finding],
    previous_findings: Iterable[Finding],
    current_checks: set[str] | None = None,
) -> Comparison:
    """Compare the findings of a run with those of the previous run.

    Args:
        run_id: the run shown.
        previous: the previous run, for its id, finish time and check list.
        current_findings: the shown run's findings.
        previous_findings: the previous run's findings.
        current_checks: the checks the shown run collected; default: the
            checks of its findings.

    Raises:
        EvidenceError: a findings file cannot be read.
    """
    now = findings_by_key(current_findings)
    before = findings_by_key(previous_findings)
    now_checks = current_checks or {key.check_id for key in now}
    before_checks = collected_checks(previous) or {key.check_id for key in before}
    both = now_checks & before_checks

    comparison = Comparison(
        run_id,
        previous.run_id,
        previous_finished_at=previous.metadata.get("finished_at"),
        checks_added=sorted(now_checks - before_checks),
        checks_removed=sorted(before_checks - now_checks),
    )
    for key in sorted(now.keys() | before.keys()):
        old, new = before.get(key), now.get(key)
        change = Change(
            key,
            old.status if old else None,
            new.status if new else None,
            (new or old).message,
        )
        if change.before == change.after:
            continue
        if change.after in FAILING and change.before not in FAILING:
            comparison.new_failures.append(change)
        if change.before in FAILING and change.after == Status.PASS:
            comparison.fixed.append(change)
        if old and new:
            comparison.changed.append(change)
        elif new and key.check_id in both:
            comparison.new_resources.append(change)
        elif old and key.check_id in both:
            comparison.removed_resources.append(change)
    return comparison


def findings_by_key(findings: Iterable[Finding]) -> dict[FindingKey, Finding]:
    """Index findings by their key.

    A run has one finding per key. Should a key repeat, the worst status
    wins, so that a later pass never hides a failure.
    """
    keyed: dict[FindingKey, Finding] = {}
    for finding in findings:
        key = FindingKey(*finding.sort_key())
        existing = keyed.get(key)
        if existing is None or check_verdict([existing, finding]) == finding.status:
            keyed[key] = finding
    return keyed


def collected_checks(run: EvidenceRun) -> set[str] | None:
    """Return the checks ``run.json`` lists as collected, or None when absent."""
    recorded = run.metadata.get("check_ids")
    if isinstance(recorded, list):
        return {str(check_id) for check_id in recorded}
    return None
