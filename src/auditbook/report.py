"""The report model: controls joined with one evidence run, for every renderer.

The site, the PDF and the workbook all read this model, so they agree on
every verdict and count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from auditbook.attestations import (
    ATTESTATION_EXPIRED,
    ATTESTED,
    EVIDENCE_MISSING,
    MANUAL_FOLDER,
    Attestation,
    load_attestation,
    parse_attestation,
)
from auditbook.checks.registry import CheckSpec
from auditbook.config import Settings
from auditbook.controls import LAYERS, Control
from auditbook.evidence import EXCEPTIONS_FILE, EvidenceRun
from auditbook.frameworks import FRAMEWORKS
from auditbook.models import Finding, Status
from auditbook.riskexceptions import (
    EXCEPTED,
    Annotation,
    RiskException,
    annotate,
    load_exceptions,
)

# A check or control with no finding in the run.
NOT_COLLECTED = "NOT_COLLECTED"

# Verdicts from worst to best: a control takes the worst verdict of its checks,
# so an error is never hidden behind a pass. Manual controls take one of the
# attestation states instead.
VERDICT_ORDER = (
    Status.FAIL.value,
    Status.ERROR.value,
    ATTESTATION_EXPIRED,
    EVIDENCE_MISSING,
    NOT_COLLECTED,
    EXCEPTED,
    ATTESTED,
    Status.PASS.value,
    Status.NOT_APPLICABLE.value,
)

# Text shown for each verdict in every output.
VERDICT_LABELS = {
    Status.FAIL.value: "FAIL",
    Status.ERROR.value: "ERROR",
    ATTESTATION_EXPIRED: "ATTESTATION EXPIRED",
    EVIDENCE_MISSING: "EVIDENCE MISSING",
    NOT_COLLECTED: "NOT YET COLLECTED",
    EXCEPTED: "EXCEPTED",
    ATTESTED: "ATTESTED",
    Status.PASS.value: "PASS",
    Status.NOT_APPLICABLE.value: "NOT APPLICABLE",
}

# Order of findings in tables: what a reader must act on first.
FINDING_ORDER = {
    Status.FAIL: 0,
    Status.ERROR: 1,
    Status.PASS: 2,
    Status.NOT_APPLICABLE: 3,
}


def worst(verdicts: list[str]) -> str:
    """Return the worst verdict of a list, or NOT_COLLECTED for an empty one."""
    if not verdicts:
        return NOT_COLLECTED
    return min(verdicts, key=VERDICT_ORDER.index)


def check_verdict(findings: list[Finding], effective: list[str] | None = None) -> str:
    """Return the verdict of one check from its findings' effective statuses.

    ``effective`` gives each finding's status after exceptions; without it the
    raw statuses are used.
    """
    statuses = (
        set(effective) if effective is not None else {f.status.value for f in findings}
    )
    for status in (
        Status.FAIL,
        Status.ERROR,
        EXCEPTED,
        Status.PASS,
        Status.NOT_APPLICABLE,
    ):
        if status in statuses:
            return str(status)
    return NOT_COLLECTED


@dataclass
class CheckResult:
    """One check referenced by a control, with its findings in the run.

    Attributes:
        counts: findings by effective status, EXCEPTED counted on its own.
        annotations: the exception annotating each excepted or formerly
            excepted finding, by the finding's sort key.
    """

    check_id: str
    spec: CheckSpec | None
    findings: list[Finding]
    verdict: str
    counts: Counter[str]
    annotations: dict[tuple, Annotation] = field(default_factory=dict)

    def annotation(self, finding: Finding) -> Annotation | None:
        """Return the exception annotating a finding, or None."""
        return self.annotations.get(finding.sort_key())

    def effective_status(self, finding: Finding) -> str:
        """Return EXCEPTED for a finding an active exception covers, else its status."""
        annotation = self.annotation(finding)
        return annotation.effective_status if annotation else finding.status.value

    @property
    def title(self) -> str:
        """Return the check's title, or its ID when it is not registered."""
        return self.spec.title if self.spec else self.check_id


@dataclass
class Activity:
    """The CloudTrail excerpt of one control in the run.

    Attributes:
        events: the kept events, newest first, as stored in cloudtrail.jsonl.
        total: how many events matched in the period, kept or not.
        errors: reads that failed, each with account, region and error code;
            when present the excerpt is incomplete and must say so.
    """

    events: list[dict[str, Any]]
    total: int
    errors: list[dict[str, str]]


@dataclass
class ControlResult:
    """A control with the results of the checks that prove it."""

    control: Control
    checks: list[CheckResult]
    verdict: str
    counts: Counter[str]
    activity: Activity | None = None
    attestation: Attestation | None = None


@dataclass
class ClauseRow:
    """One framework clause, the controls mapped to it and their verdict."""

    clause: str
    title: str
    controls: list[ControlResult]
    verdict: str


@dataclass
class Report:
    """Everything a renderer needs: settings, run metadata and results."""

    settings: Settings
    run: EvidenceRun | None
    controls: list[ControlResult]
    totals: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    exceptions: list[RiskException] = field(default_factory=list)

    def annotated(self) -> list[tuple[Finding, Annotation, str]]:
        """Return every finding an exception annotates, with its control id."""
        rows = []
        seen = set()
        for result in self.controls:
            for check in result.checks:
                for finding in check.findings:
                    annotation = check.annotation(finding)
                    key = finding.sort_key()
                    if annotation is not None and key not in seen:
                        seen.add(key)
                        rows.append((finding, annotation, result.control.id))
        return rows

    @property
    def collected(self) -> bool:
        """Return True when an evidence run backs the report."""
        return self.run is not None

    @property
    def metadata(self) -> dict[str, Any]:
        """Return ``run.json`` of the run, or an empty mapping."""
        return self.run.metadata if self.run else {}

    def by_layer(self) -> dict[str, Counter[str]]:
        """Return control verdict counts per layer, in layer order."""
        layers: dict[str, Counter[str]] = {}
        for result in self.controls:
            layers.setdefault(result.control.layer, Counter())[result.verdict] += 1
        return {layer: layers[layer] for layer in LAYERS if layer in layers}

    def controls_worst_first(self) -> list[ControlResult]:
        """Return the controls with failing ones first, then by severity and id."""
        return sorted(
            self.controls,
            key=lambda r: (
                VERDICT_ORDER.index(r.verdict),
                r.control.severity.rank,
                r.control.id,
            ),
        )

    def framework_rows(self, framework_key: str) -> list[ClauseRow]:
        """Return every clause of a framework that some control maps, in order."""
        framework = FRAMEWORKS[framework_key]
        mapped: dict[str, list[ControlResult]] = {}
        for result in self.controls:
            for clause in result.control.frameworks.get(framework_key, ()):
                mapped.setdefault(clause, []).append(result)

        rows = []
        for clause in framework.clauses:
            if clause in mapped:
                controls = mapped[clause]
                rows.append(
                    ClauseRow(
                        clause=clause,
                        title=framework.clause_title(clause),
                        controls=controls,
                        verdict=worst([c.verdict for c in controls]),
                    )
                )
        return rows

    def frameworks_used(self) -> list[str]:
        """Return the keys of the frameworks that at least one control maps."""
        used = {key for r in self.controls for key in r.control.frameworks}
        return [key for key in FRAMEWORKS if key in used]


def build_report(
    settings: Settings,
    controls: list[Control],
    registry: dict[str, CheckSpec],
    run: EvidenceRun | None,
) -> Report:
    """Join the controls with the findings of a run (or with none)."""
    findings_by_check: dict[str, list[Finding]] = {}
    if run is not None:
        for finding in run.iter_findings():
            findings_by_check.setdefault(finding.check_id, []).append(finding)

    exceptions = load_exceptions(_exceptions_path(settings, run))
    control_checks = {c.id: set(c.check_ids) for c in controls}
    as_of = _as_of(run)
    all_findings = [f for group in findings_by_check.values() for f in group]
    annotations = annotate(all_findings, exceptions, control_checks, as_of)

    totals: Counter[str] = Counter()
    for finding in all_findings:
        annotation = annotations.get(finding.sort_key())
        totals[annotation.effective_status if annotation else finding.status.value] += 1

    activities = _activities(run)
    results = []
    for control in controls:
        if control.kind == "manual":
            results.append(_manual_result(settings, run, control, as_of))
            continue
        checks = [
            _check_result(check_id, registry, findings_by_check, annotations)
            for check_id in control.check_ids
        ]
        counts: Counter[str] = Counter()
        for result in checks:
            counts.update(result.counts)
        results.append(
            ControlResult(
                control=control,
                checks=checks,
                verdict=worst([c.verdict for c in checks]),
                counts=counts,
                activity=activities.get(control.id),
            )
        )

    verdicts = Counter(result.verdict for result in results)
    return Report(settings, run, results, totals, verdicts, exceptions)


def _check_result(
    check_id: str,
    registry: dict[str, CheckSpec],
    findings_by_check: dict[str, list[Finding]],
    annotations: dict[tuple, Annotation],
) -> CheckResult:
    findings = sorted(
        findings_by_check.get(check_id, []),
        key=lambda f: (FINDING_ORDER[f.status], f.sort_key()),
    )
    mine = {
        f.sort_key(): annotations[f.sort_key()]
        for f in findings
        if f.sort_key() in annotations
    }
    effective = [
        mine[f.sort_key()].effective_status if f.sort_key() in mine else f.status.value
        for f in findings
    ]
    return CheckResult(
        check_id=check_id,
        spec=registry.get(check_id),
        findings=findings,
        verdict=check_verdict(findings, effective),
        counts=Counter(effective),
        annotations=mine,
    )


def _activities(run: EvidenceRun | None) -> dict[str, Activity]:
    if run is None or "cloudtrail" not in run.metadata:
        return {}

    events: dict[str, list[dict[str, Any]]] = {}
    for row in run.cloudtrail_events():
        events.setdefault(row["control_id"], []).append(row)

    summary = run.metadata["cloudtrail"].get("controls", {})
    return {
        control_id: Activity(
            events=events.get(control_id, []),
            total=totals.get("total", 0),
            errors=totals.get("errors", []),
        )
        for control_id, totals in summary.items()
    }


def _exceptions_path(settings: Settings, run: EvidenceRun | None) -> Path:
    # A run carries the exceptions in force when it was collected; only the
    # site previewed without a run reads the live file.
    if run is not None:
        return run.path / EXCEPTIONS_FILE
    return settings.exceptions_file


def _as_of(run: EvidenceRun | None) -> date:
    finished = run.metadata.get("finished_at") if run else None
    if finished:
        return datetime.fromisoformat(finished).date()
    return datetime.now(UTC).date()


def _manual_result(
    settings: Settings, run: EvidenceRun | None, control: Control, as_of: date
) -> ControlResult:
    if run is not None:
        content = run.read_bytes(f"{MANUAL_FOLDER}/{control.id}.yml")
        attestation = (
            parse_attestation(control.id, content.decode("utf-8"), run.path)
            if content is not None
            else None
        )
    else:
        attestation = load_attestation(settings.attestations_dir, control.id)

    if attestation is None:
        verdict = EVIDENCE_MISSING
    else:
        verdict = attestation.state(as_of, settings.thresholds.attestation_max_age_days)
    return ControlResult(
        control=control,
        checks=[],
        verdict=verdict,
        counts=Counter(),
        attestation=attestation,
    )
