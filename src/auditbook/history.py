"""Run history: what changed since the previous run, and verdicts over the period.

Each evidence run records the id of the run before it in ``run.json``. A run
is compared with that previous run finding by finding. The chain is then
followed back through the audit period, and each control's verdict in each
run is recomputed with the rules of the report. A strip of badges on the
control's page thus shows how long the control has held.

Older runs are opened one at a time and reduced to one verdict per check, so
memory grows with the number of checks, not with the findings of every run.
A missing, unreadable or altered older run becomes a gap with its reason, and
never stops the site from building.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from auditbook.attestations import EVIDENCE_MISSING, MANUAL_FOLDER, parse_attestation
from auditbook.comparison import (
    Comparison,
    collected_checks,
    compare,
    findings_by_key,
)
from auditbook.config import Settings
from auditbook.controls import Control
from auditbook.errors import ConfigError, ControlError, EvidenceError
from auditbook.evidence import (
    EXCEPTIONS_FILE,
    RUN_ID_PATTERN,
    EvidenceRun,
    EvidenceStore,
)
from auditbook.models import Finding, Status
from auditbook.report import NOT_COLLECTED, check_verdict, worst
from auditbook.riskexceptions import annotate, load_exceptions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunVerdicts:
    """The verdict of every check in one run of the audit period.

    Attributes:
        run_id: the run.
        finished_at: when it finished, from ``run.json``, else from its id.
        checks: check ID to verdict, for the checks with findings.
        attestations: control ID to the verdict of its attestation file,
            for manual controls.
        previous_run_id: the run before it, per its ``run.json``.
        metadata_read: False when even ``run.json`` could not be read, so
            the run before it is unknown.
        problem: why the run could not be read; the verdicts are then empty.
    """

    run_id: str
    finished_at: datetime | None
    checks: dict[str, str] = field(default_factory=dict)
    attestations: dict[str, str] = field(default_factory=dict)
    previous_run_id: str | None = None
    metadata_read: bool = True
    problem: str | None = None

    def control_verdict(self, control: Control) -> str | None:
        """Return the control's verdict in this run, or None when unreadable."""
        if self.problem is not None:
            return None
        if control.kind == "manual":
            return self.attestations.get(control.id, EVIDENCE_MISSING)
        return worst([self.checks.get(c, NOT_COLLECTED) for c in control.check_ids])


@dataclass(frozen=True)
class ControlHistory:
    """One control's verdicts across the runs of the audit period, oldest first."""

    control: Control
    entries: list[tuple[RunVerdicts, str | None]]

    def count(self, verdict: str) -> int:
        """Return how many runs of the period gave the control this verdict."""
        return sum(1 for _, entry in self.entries if entry == verdict)


@dataclass
class History:
    """The comparison with the previous run and the runs of the audit period.

    Attributes:
        comparison: the differences from the previous run; None without a run.
        runs: the runs of the period, oldest first and the shown run last.
        days: the period's length in days (``history.days``), or None.
    """

    comparison: Comparison | None
    runs: list[RunVerdicts]
    days: int | None

    def for_control(self, control: Control) -> ControlHistory:
        """Return the control's verdict in each run of the period."""
        return ControlHistory(
            control, [(run, run.control_verdict(control)) for run in self.runs]
        )


class VerdictCache:
    """Verdicts of older runs by run id, kept across ``mkdocs serve`` rebuilds.

    A stored run never changes, but its control verdicts also depend on the
    control library (exceptions scoped to a control, manual controls) and on
    the maximum attestation age, so a change to either empties the cache.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._runs: dict[str, RunVerdicts] = {}

    def runs(
        self, controls: list[Control], settings: Settings
    ) -> dict[str, RunVerdicts]:
        """Return the cached verdicts that are valid for this library and settings."""
        key = (
            settings.thresholds.attestation_max_age_days,
            tuple((c.id, c.kind, tuple(c.check_ids)) for c in controls),
        )
        if key != self._key:
            self._key, self._runs = key, {}
        return self._runs


def store_of(run: EvidenceRun) -> EvidenceStore:
    """Return the store a run lives in: the folder above ``runs/<run-id>``."""
    return EvidenceStore(run.path.parent.parent)


def build_history(
    run: EvidenceRun | None,
    controls: list[Control],
    settings: Settings,
    cache: VerdictCache | None = None,
) -> History:
    """Compare a run with its previous run and collect the period's verdicts.

    Args:
        run: the run the site shows, or None before the first collection.
        controls: the control library, for the manual controls' attestations.
        settings: ``history_runs``, ``history_days`` and the attestation age.
        cache: verdicts of older runs from earlier builds, filled here.

    Raises:
        ConfigError: the shown run's copy of the exceptions file is invalid.
        EvidenceError: the shown run's own findings cannot be read.
    """
    if run is None:
        return History(None, [], settings.history_days)

    known = (cache or VerdictCache()).runs(controls, settings)
    store = store_of(run)
    now = findings_by_key(run.iter_findings())
    current = _verdicts(run, now.values(), controls, settings)

    previous_id = run.metadata.get("previous_run_id")
    comparison = Comparison(run.run_id, str(previous_id) if previous_id else None)
    if previous_id:
        previous, problem = _open_older(store, run.run_id, str(previous_id))
        before = None
        if previous is not None:
            try:
                before = findings_by_key(previous.iter_findings())
            except EvidenceError as exc:
                problem = str(exc)

        if previous is None or before is None:
            logger.warning(
                "run %s cannot be compared with its previous run: %s",
                run.run_id,
                problem,
            )
            comparison.problem = problem
            known.setdefault(
                str(previous_id), _unreadable(store, str(previous_id), problem)
            )
        else:
            comparison = compare(
                run.run_id,
                previous,
                now.values(),
                before.values(),
                current_checks=collected_checks(run),
            )
            if previous.run_id not in known:
                try:
                    verdicts = _verdicts(previous, before.values(), controls, settings)
                except ConfigError as exc:
                    verdicts = _unreadable(store, previous.run_id, str(exc))
                known[previous.run_id] = verdicts

    runs = _period(store, run, current, controls, settings, known)
    logger.debug("history of run %s spans %d runs", run.run_id, len(runs))
    return History(comparison, runs, settings.history_days)


def _open_older(
    store: EvidenceStore, newer_id: str, older_id: str
) -> tuple[EvidenceRun | None, str | None]:
    """Open a run that the chain names as older, or return why it cannot be used."""
    if not _is_older(older_id, newer_id):
        return None, (
            f"run {newer_id} names {older_id!r} as its previous run, which is not "
            "the id of an older run"
        )
    try:
        older = store.open(older_id)
    except EvidenceError as exc:
        return None, str(exc)

    altered = older.verify()
    if altered:
        listed = ", ".join(str(problem) for problem in altered)
        return None, f"run {older_id} does not match its manifest ({listed})"
    return older, None


def _unreadable(store: EvidenceStore, run_id: str, problem: str | None) -> RunVerdicts:
    """Return the gap entry of a run that cannot be used, keeping its chain link."""
    try:
        metadata = store.open(run_id).metadata
    except EvidenceError:
        return RunVerdicts(
            run_id, _id_time(run_id), metadata_read=False, problem=problem
        )
    previous = metadata.get("previous_run_id")
    return RunVerdicts(
        run_id,
        _id_time(run_id),
        previous_run_id=str(previous) if previous else None,
        problem=problem,
    )


def _scan(run: EvidenceRun, controls: list[Control], settings: Settings) -> RunVerdicts:
    """Read an older run's findings once and reduce them to verdicts."""
    try:
        return _verdicts(run, run.iter_findings(), controls, settings)
    except (ConfigError, EvidenceError) as exc:
        previous = run.metadata.get("previous_run_id")
        return RunVerdicts(
            run.run_id,
            _finished_at(run),
            previous_run_id=str(previous) if previous else None,
            problem=str(exc),
        )


def _verdicts(
    run: EvidenceRun,
    findings: Iterable[Finding],
    controls: list[Control],
    settings: Settings,
) -> RunVerdicts:
    """Reduce findings to one verdict per check, as the report computes it.

    Each finding counts with its effective status under the exceptions the
    run carries, so an excepted failure reads EXCEPTED here as in the report.

    Raises:
        ConfigError: the run's copy of the exceptions file is invalid.
        EvidenceError: the findings file cannot be read.
    """
    exceptions = load_exceptions(run.path / EXCEPTIONS_FILE)
    control_checks = {control.id: set(control.check_ids) for control in controls}
    finished = _finished_at(run)
    as_of = (finished or datetime.now(UTC)).date()

    statuses: dict[str, set[str]] = {}
    for finding in findings:
        effective = finding.status.value
        if exceptions and finding.status == Status.FAIL:
            annotation = annotate([finding], exceptions, control_checks, as_of)
            if annotation:
                effective = annotation[finding.sort_key()].effective_status
        statuses.setdefault(finding.check_id, set()).add(effective)

    previous = run.metadata.get("previous_run_id")
    return RunVerdicts(
        run.run_id,
        finished,
        checks={
            check_id: check_verdict([], sorted(effective))
            for check_id, effective in statuses.items()
        },
        attestations=_attestation_verdicts(run, controls, settings),
        previous_run_id=str(previous) if previous else None,
    )


def _attestation_verdicts(
    run: EvidenceRun, controls: list[Control], settings: Settings
) -> dict[str, str]:
    """Return the verdict of each manual control from the attestations in a run."""
    finished = _finished_at(run)
    as_of = (finished or datetime.now(UTC)).date()
    verdicts = {}
    for control in controls:
        if control.kind != "manual":
            continue
        name = f"{MANUAL_FOLDER}/{control.id}.yml"
        content = run.read_bytes(name)
        if content is None:
            continue
        try:
            attestation = parse_attestation(
                control.id, content.decode("utf-8"), run.path / name
            )
        except (ControlError, UnicodeDecodeError) as exc:
            logger.warning(
                "run %s: attestation %s is invalid: %s", run.run_id, name, exc
            )
            continue
        verdicts[control.id] = attestation.state(
            as_of, settings.thresholds.attestation_max_age_days
        )
    return verdicts


def _period(
    store: EvidenceStore,
    run: EvidenceRun,
    current: RunVerdicts,
    controls: list[Control],
    settings: Settings,
    cache: dict[str, RunVerdicts],
) -> list[RunVerdicts]:
    """Walk the chain of previous runs back through the period; return oldest first.

    A previous run that cannot be used becomes a gap in the list. The walk
    goes on from the gap's own ``run.json``. When that is unreadable too, it
    goes on from the newest stored run older than the gap, because run ids
    start with their UTC time and so sort in the order they were written.
    """
    cutoff = None
    if settings.history_days is not None:
        newest = current.finished_at or _id_time(run.run_id) or datetime.now(UTC)
        cutoff = newest - timedelta(days=settings.history_days)

    runs = [current]
    newer = current
    while len(runs) < settings.history_runs:
        older_id = _previous_id(store, newer)
        if older_id is not None and not _is_older(older_id, newer.run_id):
            logger.warning(
                "run %s names %r as its previous run, which is not the id of an "
                "older run; the history goes on with the stored run before it",
                newer.run_id,
                older_id,
            )
            older_id = _stored_before(store, newer.run_id)
        if older_id is None:
            break
        older_time = _id_time(older_id)
        if cutoff is not None and older_time is not None and older_time < cutoff:
            break

        verdicts = cache.get(older_id)
        if verdicts is None:
            older, problem = _open_older(store, newer.run_id, older_id)
            if older is None:
                logger.warning("history of run %s has a gap: %s", run.run_id, problem)
                verdicts = _unreadable(store, older_id, problem)
            else:
                verdicts = _scan(older, controls, settings)
            cache[older_id] = verdicts
        runs.append(verdicts)
        newer = verdicts

    runs.reverse()
    return runs


def _previous_id(store: EvidenceStore, newer: RunVerdicts) -> str | None:
    """Return the id of the run before ``newer``, or None at the chain's start."""
    if newer.metadata_read:
        return newer.previous_run_id
    # The newer run's run.json could not be read, so its link is unknown.
    return _stored_before(store, newer.run_id)


def _stored_before(store: EvidenceStore, run_id: str) -> str | None:
    """Return the newest stored run older than ``run_id``, if any."""
    older = [stored for stored in store.run_ids() if stored < run_id]
    return older[-1] if older else None


def _is_older(older_id: str, newer_id: str) -> bool:
    """Return True when ``older_id`` is a run id that sorts before ``newer_id``."""
    return bool(RUN_ID_PATTERN.match(older_id)) and older_id < newer_id


def _finished_at(run: EvidenceRun) -> datetime | None:
    value = run.metadata.get("finished_at")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return _id_time(run.run_id)


def _id_time(run_id: str) -> datetime | None:
    """Return the UTC time a run id starts with, or None for a malformed id."""
    if not RUN_ID_PATTERN.match(run_id):
        return None
    # Ids carry milliseconds since a later release; whole seconds suffice here.
    return datetime.strptime(run_id[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
