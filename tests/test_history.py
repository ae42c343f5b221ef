"""Run history: comparison with the previous run and verdicts over the period."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from auditbook.comparison import FindingKey, compare
from auditbook.config import Settings, settings_from_options
from auditbook.controls import Control, parse_control
from auditbook.errors import ConfigError
from auditbook.evidence import FINDINGS_FILE, RUN_FILE, EvidenceRun, EvidenceStore
from auditbook.history import VerdictCache, build_history
from auditbook.models import Finding, Status
from auditbook.report import NOT_COLLECTED, build_report

ACCOUNT = "111122223333"
SSH = "aws.ec2.sg_no_public_ssh"
RDP = "aws.ec2.sg_no_public_rdp"
MFA = "aws.iam.root_mfa_enabled"

NET_CONTROL = """---
id: NET-01
title: Admin ports closed
layer: network
severity: high
owner: Network
---

```auditbook
aws.ec2.sg_no_public_ssh
aws.ec2.sg_no_public_rdp
```
"""

IAM_CONTROL = """---
id: IAM-01
title: Root has MFA
layer: identity
severity: critical
owner: Security
---

```auditbook
aws.iam.root_mfa_enabled
```
"""

MANUAL_CONTROL = """---
id: GOV-01
title: Security policy approved
layer: governance
severity: medium
owner: CISO office
type: manual
---

The board approves the security policy every year.
"""

ATTESTATION = """attested_by: Jane Smith, CISO
attested_at: "2026-11-01"
summary: The board approved the policy.
"""

EXCEPTIONS = """exceptions:
  - id: EXC-001
    check: aws.ec2.sg_no_public_ssh
    resource: "*sg-0bastion"
    justification: Vendor bastion until Session Manager rollout.
    approved_by: Jane Smith, CISO
    approved_at: "2026-10-01"
    expires: "2027-06-30"
"""


def sg(group: str) -> str:
    """Return the ARN of a security group in the test account."""
    return f"arn:aws:ec2:eu-west-2:{ACCOUNT}:security-group/{group}"


def finding(check_id: str, resource: str, status: Status) -> Finding:
    """Return a finding in the test account with a message naming the resource."""
    return Finding(
        check_id, ACCOUNT, "eu-west-2", resource, status, f"{resource} is {status}."
    )


def run_id(day: int, second: int = 0) -> str:
    """Return the id of a run written on a day of December 2026."""
    return f"202612{day:02d}T0300{second:02d}.000Z-00000{day % 10}"


@pytest.fixture
def controls(tmp_path: Path) -> list[Control]:
    """Return NET-01 (two checks), IAM-01 (one check) and the manual GOV-01."""
    folder = tmp_path / "controls"
    folder.mkdir()
    parsed = []
    for name, text in (
        ("NET-01.md", NET_CONTROL),
        ("IAM-01.md", IAM_CONTROL),
        ("GOV-01.md", MANUAL_CONTROL),
    ):
        (folder / name).write_text(text, encoding="utf-8")
        parsed.append(parse_control(folder / name))
    return parsed


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    """Return an empty evidence store."""
    return EvidenceStore(tmp_path / "evidence")


def write(
    store: EvidenceStore,
    day: int,
    findings: list[Finding],
    checks: list[str] | None = None,
    extra_files: dict[str, bytes] | None = None,
) -> EvidenceRun:
    """Store a run finished on the given day, chained to the latest run."""
    metadata = {
        "finished_at": f"2026-12-{day:02d}T03:00:00+00:00",
        "check_ids": checks or sorted({f.check_id for f in findings}),
    }
    with store.lock():
        return store.write_run(run_id(day), findings, metadata, extra_files)


def history_settings(tmp_path: Path, **changes: object) -> Settings:
    """Return default settings rooted in the test folder, with changes."""
    return replace(
        Settings(
            root=tmp_path,
            controls_dir=tmp_path / "controls",
            evidence_dir=tmp_path / "evidence",
        ),
        **changes,
    )


def strip(history, control: Control) -> list[str | None]:
    """Return a control's verdicts in the period, oldest first."""
    return [verdict for _, verdict in history.for_control(control).entries]


BASELINE = [
    finding(SSH, sg("sg-0aaa"), Status.PASS),
    finding(SSH, sg("sg-0bbb"), Status.FAIL),
    finding(SSH, sg("sg-0ccc"), Status.FAIL),
    finding(SSH, sg("sg-0ddd"), Status.PASS),
    finding(SSH, sg("sg-0eee"), Status.PASS),
    finding(RDP, sg("sg-0aaa"), Status.PASS),
    finding(MFA, ACCOUNT, Status.PASS),
]

NEXT = [
    finding(SSH, sg("sg-0aaa"), Status.FAIL),  # new failure
    finding(SSH, sg("sg-0bbb"), Status.PASS),  # fixed
    finding(SSH, sg("sg-0ccc"), Status.ERROR),  # other change
    # sg-0ddd removed
    finding(SSH, sg("sg-0eee"), Status.PASS),  # unchanged
    finding(SSH, sg("sg-0fff"), Status.PASS),  # new resource
    finding(SSH, sg("sg-0ggg"), Status.FAIL),  # new resource, failing
    finding(RDP, sg("sg-0aaa"), Status.PASS),
    finding(MFA, ACCOUNT, Status.PASS),
]


def keys(changes) -> list[str]:
    """Return the resource ids of changes, in order."""
    return [change.key.resource_id.rsplit("/", 1)[-1] for change in changes]


def test_compare_sorts_changes(store):
    previous = write(store, 1, BASELINE)

    comparison = compare(run_id(2), previous, NEXT, BASELINE)

    assert comparison.compared
    assert keys(comparison.new_failures) == ["sg-0aaa", "sg-0ggg"]
    assert keys(comparison.fixed) == ["sg-0bbb"]
    assert keys(comparison.other_changes) == ["sg-0ccc"]
    assert keys(comparison.new_resources) == ["sg-0fff", "sg-0ggg"]
    assert keys(comparison.removed_resources) == ["sg-0ddd"]
    assert keys(comparison.changed) == ["sg-0aaa", "sg-0bbb", "sg-0ccc"]


def test_compare_records_before_and_after(store):
    previous = write(store, 1, BASELINE)

    comparison = compare(run_id(2), previous, NEXT, BASELINE)
    failure = comparison.new_failures[0]
    removed = comparison.removed_resources[0]

    assert failure.key == FindingKey(SSH, ACCOUNT, "eu-west-2", sg("sg-0aaa"))
    assert failure.before is Status.PASS
    assert failure.after is Status.FAIL
    assert failure.message == f"{sg('sg-0aaa')} is FAIL."
    assert removed.before is Status.PASS
    assert removed.after is None
    assert removed.message == f"{sg('sg-0ddd')} is PASS."


def test_added_check_is_not_new_resources(store):
    previous = write(store, 1, [finding(MFA, ACCOUNT, Status.PASS)])
    current = [
        finding(MFA, ACCOUNT, Status.PASS),
        finding(SSH, sg("sg-0aaa"), Status.PASS),
        finding(SSH, sg("sg-0bbb"), Status.FAIL),
    ]

    comparison = compare(run_id(2), previous, current, previous.findings())

    assert comparison.checks_added == [SSH]
    assert comparison.new_resources == []
    assert keys(comparison.new_failures) == ["sg-0bbb"]


def test_removed_check_is_not_removed_resources(store):
    before = [finding(MFA, ACCOUNT, Status.PASS), finding(SSH, sg("a"), Status.PASS)]
    previous = write(store, 1, before)

    comparison = compare(
        run_id(2), previous, [finding(MFA, ACCOUNT, Status.PASS)], before
    )

    assert comparison.checks_removed == [SSH]
    assert comparison.removed_resources == []


def test_check_without_findings_counts_as_collected(store):
    # The previous run collected SSH and found no security group at all.
    previous = write(store, 1, [finding(MFA, ACCOUNT, Status.PASS)], [MFA, SSH])
    current = [finding(MFA, ACCOUNT, Status.PASS), finding(SSH, sg("a"), Status.PASS)]

    comparison = compare(run_id(2), previous, current, previous.findings())

    assert comparison.checks_added == []
    assert keys(comparison.new_resources) == ["a"]


def test_first_run_has_nothing_to_compare(tmp_path, store, controls):
    run = write(store, 1, BASELINE)

    history = build_history(run, controls, history_settings(tmp_path))

    assert history.comparison.previous_run_id is None
    assert not history.comparison.compared
    assert history.comparison.problem is None
    assert [r.run_id for r in history.runs] == [run_id(1)]


def test_no_run_gives_empty_history(tmp_path, controls):
    history = build_history(None, controls, history_settings(tmp_path))

    assert history.comparison is None
    assert history.runs == []


def test_history_compares_with_previous(tmp_path, store, controls):
    write(store, 1, BASELINE)
    run = write(store, 2, NEXT)

    history = build_history(run, controls, history_settings(tmp_path))

    assert history.comparison.previous_run_id == run_id(1)
    assert history.comparison.previous_finished_at == "2026-12-01T03:00:00+00:00"
    assert keys(history.comparison.new_failures) == ["sg-0aaa", "sg-0ggg"]


def test_strip_has_verdict_per_run(tmp_path, store, controls):
    net, iam, _ = controls
    write(store, 1, [finding(SSH, sg("a"), Status.PASS)])
    write(
        store,
        2,
        [finding(SSH, sg("a"), Status.PASS), finding(RDP, sg("a"), Status.PASS)],
    )
    run = write(
        store,
        3,
        [
            finding(SSH, sg("a"), Status.FAIL),
            finding(RDP, sg("a"), Status.PASS),
            finding(MFA, ACCOUNT, Status.ERROR),
        ],
    )

    history = build_history(run, controls, history_settings(tmp_path))

    # Run 1 has no RDP finding, so NET-01 takes NOT_COLLECTED, as the report does.
    assert strip(history, net) == [NOT_COLLECTED, "PASS", "FAIL"]
    assert strip(history, iam) == [NOT_COLLECTED, NOT_COLLECTED, "ERROR"]
    assert [r.run_id for r in history.runs] == [run_id(1), run_id(2), run_id(3)]
    assert history.for_control(net).count("PASS") == 1


def test_newest_verdict_matches_report(tmp_path, store, controls):
    write(store, 1, BASELINE)
    run = write(store, 2, NEXT)
    settings = history_settings(tmp_path)

    history = build_history(run, controls, settings)
    report = build_report(settings, controls, {}, run)

    for result in report.controls:
        assert strip(history, result.control)[-1] == result.verdict


def test_period_keeps_last_runs(tmp_path, store, controls):
    for day in range(1, 6):
        run = write(store, day, [finding(SSH, sg("a"), Status.PASS)])

    history = build_history(run, controls, history_settings(tmp_path, history_runs=3))

    assert [r.run_id for r in history.runs] == [run_id(3), run_id(4), run_id(5)]


def test_period_keeps_recent_days(tmp_path, store, controls):
    for day in (1, 5, 8, 10):
        run = write(store, day, [finding(SSH, sg("a"), Status.PASS)])

    history = build_history(run, controls, history_settings(tmp_path, history_days=5))

    assert [r.run_id for r in history.runs] == [run_id(5), run_id(8), run_id(10)]
    assert history.days == 5


def test_missing_previous_run_is_reported(tmp_path, store, controls):
    write(store, 1, BASELINE)
    write(store, 2, BASELINE)
    run = write(store, 3, NEXT)
    shutil.rmtree(store.runs_dir / run_id(2))

    history = build_history(run, controls, history_settings(tmp_path))

    assert not history.comparison.compared
    assert history.comparison.previous_run_id == run_id(2)
    assert "not found" in history.comparison.problem
    # The walk goes on past the gap with the stored run before it.
    assert [r.run_id for r in history.runs] == [run_id(1), run_id(2), run_id(3)]
    assert history.runs[1].problem == history.comparison.problem
    assert strip(history, controls[0])[1] is None


def test_altered_previous_run_is_reported(tmp_path, store, controls):
    previous = write(store, 1, BASELINE)
    run = write(store, 2, NEXT)
    findings = previous.path / FINDINGS_FILE
    findings.write_text(findings.read_text().replace("FAIL", "PASS"))

    history = build_history(run, controls, history_settings(tmp_path))

    assert not history.comparison.compared
    assert "does not match its manifest" in history.comparison.problem
    assert "findings.jsonl: altered" in history.comparison.problem
    assert history.runs[0].problem is not None


def test_unreadable_older_run_leaves_gap(tmp_path, store, controls):
    write(store, 1, BASELINE)
    broken = write(store, 2, BASELINE)
    write(store, 3, BASELINE)
    run = write(store, 4, NEXT)
    (broken.path / RUN_FILE).write_text("{not json")

    history = build_history(run, controls, history_settings(tmp_path))

    assert history.comparison.compared
    assert [r.run_id for r in history.runs] == [
        run_id(1),
        run_id(2),
        run_id(3),
        run_id(4),
    ]
    assert "cannot read" in history.runs[1].problem
    assert strip(history, controls[0]) == ["FAIL", None, "FAIL", "FAIL"]


def test_previous_id_must_be_older(tmp_path, store, controls):
    write(store, 1, BASELINE)
    run = write(store, 2, NEXT)
    metadata_file = run.path / RUN_FILE
    metadata = json.loads(metadata_file.read_text())
    metadata["previous_run_id"] = "../../etc"
    metadata_file.write_text(json.dumps(metadata))
    run = EvidenceRun(run.path)

    history = build_history(run, controls, history_settings(tmp_path))

    assert "not the id of an older run" in history.comparison.problem
    assert [r.run_id for r in history.runs] == [run_id(1), run_id(2)]


def test_manual_control_uses_attestation(tmp_path, store, controls):
    gov = controls[2]
    write(store, 1, BASELINE)
    run = write(store, 2, NEXT, extra_files={"manual/GOV-01.yml": ATTESTATION.encode()})

    history = build_history(run, controls, history_settings(tmp_path))

    assert strip(history, gov) == ["EVIDENCE_MISSING", "ATTESTED"]


def test_exception_gives_excepted(tmp_path, store, controls):
    net = controls[0]
    findings = [
        finding(SSH, sg("sg-0bastion"), Status.FAIL),
        finding(RDP, sg("sg-0bastion"), Status.PASS),
    ]
    write(store, 1, findings)
    run = write(store, 2, findings, extra_files={"exceptions.yml": EXCEPTIONS.encode()})
    settings = history_settings(tmp_path)

    history = build_history(run, controls, settings)
    report = build_report(settings, controls, {}, run)

    assert strip(history, net) == ["FAIL", "EXCEPTED"]
    assert report.controls[0].verdict == "EXCEPTED"


def test_cache_skips_reading_older_runs(tmp_path, store, controls, monkeypatch):
    write(store, 1, BASELINE)
    write(store, 2, BASELINE)
    run = write(store, 3, NEXT)
    settings = history_settings(tmp_path)
    cache = VerdictCache()
    build_history(run, controls, settings, cache)

    read: list[str] = []
    original = EvidenceRun.iter_findings

    def counting(self):
        read.append(self.run_id)
        return original(self)

    monkeypatch.setattr(EvidenceRun, "iter_findings", counting)
    history = build_history(run, controls, settings, cache)

    # The shown run and its previous run are read for the comparison; the
    # first run comes from the cache.
    assert run_id(1) not in read
    assert strip(history, controls[0]) == ["FAIL", "FAIL", "FAIL"]


def test_cache_resets_when_library_changes(tmp_path, store, controls):
    write(store, 1, BASELINE)
    run = write(store, 2, NEXT)
    settings = history_settings(tmp_path)
    cache = VerdictCache()
    build_history(run, controls, settings, cache)

    assert run_id(1) in cache.runs(controls, settings)
    assert cache.runs(controls[:1], settings) == {}


def test_history_options_are_read(tmp_path):
    settings = settings_from_options(
        {"history": {"runs": 12, "days": 90}}, tmp_path / "mkdocs.yml"
    )

    assert settings.history_runs == 12
    assert settings.history_days == 90


def test_history_defaults(tmp_path):
    settings = settings_from_options({}, tmp_path / "mkdocs.yml")

    assert settings.history_runs == 30
    assert settings.history_days is None


@pytest.mark.parametrize("history", [{"runs": 0}, {"days": 0}, {"weeks": 2}])
def test_invalid_history_option_rejected(tmp_path, history):
    with pytest.raises(ConfigError, match="history"):
        settings_from_options({"history": history}, tmp_path / "mkdocs.yml")
