"""The report model: controls joined with one evidence run, for every renderer.

The site, the PDF and the workbook all read this model, so they agree on
every verdict and count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
from auditbook.evidence import EvidenceRun
from auditbook.frameworks import FRAMEWORKS
from auditbook.models import Finding, Status

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


def check_verdict(findings: list[Finding]) -> str:
    """Return the verdict of one check from its findings."""
    statuses = {finding.status for finding in findings}
    for status in (Status.FAIL, Status.ERROR, Status.PASS, Status.NOT_APPLICABLE):
        if status in statuses:
            return status.value
    return NOT_COLLECTED


@dataclass
class CheckResult:
    """One check referenced by a control, with its findings in the run."""

    check_id: str
    spec: CheckSpec | None
    findings: list[Finding]
    verdict: str
    counts: Counter[str]

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
    totals: Counter[str] = Counter()
    if run is not None:
        for finding in run.iter_findings():
            findings_by_check.setdefault(finding.check_id, []).append(finding)
            totals[finding.status.value] += 1

    activities = _activities(run)
    as_of = _as_of(run)
    results = []
    for control in controls:
        if control.kind == "manual":
            results.append(_manual_result(settings, run, control, as_of))
            continue

        checks = []
        for check_id in control.check_ids:
            findings = sorted(
                findings_by_check.get(check_id, []),
                key=lambda f: (FINDING_ORDER[f.status], f.sort_key()),
            )
            checks.append(
                CheckResult(
                    check_id=check_id,
                    spec=registry.get(check_id),
                    findings=findings,
                    verdict=check_verdict(findings),
                    counts=Counter(f.status.value for f in findings),
                )
            )
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
    return Report(settings, run, results, totals, verdicts)


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
        attestation = load_attestation(settings.evidence_dir, control.id)

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
