from datetime import date
from pathlib import Path

import pytest

from auditbook.controls import ControlLibrary, parse_control
from auditbook.errors import ConfigError
from auditbook.evidence import EvidenceStore
from auditbook.models import Finding, Status
from auditbook.pipeline import gate
from auditbook.report import build_report
from auditbook.riskexceptions import (
    EXCEPTED,
    annotate,
    load_exceptions,
    stale_exceptions,
)

SSH = "aws.ec2.sg_no_public_ssh"
BASTION = "arn:aws:ec2:eu-west-2:123456789012:security-group/sg-0bastion"
WEB = "arn:aws:ec2:eu-west-2:123456789012:security-group/sg-0web"

EXCEPTIONS = """exceptions:
  - id: EXC-001
    check: aws.ec2.sg_no_public_ssh
    resource: "arn:aws:ec2:*:123456789012:security-group/sg-0bastion*"
    justification: Vendor bastion until Session Manager rollout.
    approved_by: Jane Smith, CISO
    approved_at: "2026-10-01"
    expires: "{expires}"
"""

CONTROL = """---
id: NET-01
title: Admin ports closed
layer: network
severity: critical
owner: Platform
---

```auditbook
aws.ec2.sg_no_public_ssh
```
"""


def finding(resource: str, status: Status = Status.FAIL) -> Finding:
    return Finding(
        SSH, "123456789012", "eu-west-2", resource, status, "Open to the world."
    )


def write_exceptions(settings, expires: str = "2027-01-31") -> Path:
    path = settings.exceptions_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(EXCEPTIONS.format(expires=expires), encoding="utf-8")
    return path


def control(tmp_path):
    path = tmp_path / "net.md"
    path.write_text(CONTROL, encoding="utf-8")
    return parse_control(path)


def write_run(settings, findings):
    """Write a run carrying the exceptions file, as collection does."""
    store = EvidenceStore(settings.evidence_dir)
    with store.lock():
        return store.write_run(
            "20261204T100000Z-abcdef",
            findings,
            {"finished_at": "2026-12-04T10:00:00+00:00"},
            {"exceptions.yml": settings.exceptions_file.read_bytes()},
        )


@pytest.fixture
def project(settings, tmp_path):
    from dataclasses import replace

    return replace(settings, exceptions_file=tmp_path / "exceptions.yml")


def test_exception_loads_with_line(project):
    write_exceptions(project)

    [exception] = load_exceptions(project.exceptions_file)

    assert exception.id == "EXC-001"
    assert exception.expires == date(2027, 1, 31)
    assert exception.line == 2


def test_missing_file_means_none(project):
    assert load_exceptions(project.exceptions_file) == []


def test_missing_justification_rejected(project):
    path = write_exceptions(project)
    text = path.read_text().replace(
        "    justification: Vendor bastion until Session Manager rollout.\n", ""
    )
    path.write_text(text)

    with pytest.raises(ConfigError) as raised:
        load_exceptions(path)

    assert "'justification' is a required property" in str(raised.value)
    assert raised.value.line == 2


def test_expiry_before_approval_rejected(project):
    write_exceptions(project, expires="2026-01-01")

    with pytest.raises(ConfigError, match="expires before it was approved"):
        load_exceptions(project.exceptions_file)


def test_active_exception_marks_fail_excepted(project):
    write_exceptions(project)
    exceptions = load_exceptions(project.exceptions_file)

    annotations = annotate(
        [finding(BASTION), finding(WEB)], exceptions, {}, date(2026, 12, 4)
    )

    assert list(annotations) == [finding(BASTION).sort_key()]
    assert annotations[finding(BASTION).sort_key()].effective_status == EXCEPTED


def test_expired_exception_turns_back_to_fail(project):
    write_exceptions(project, expires="2026-11-30")
    exceptions = load_exceptions(project.exceptions_file)

    annotations = annotate([finding(BASTION)], exceptions, {}, date(2026, 12, 4))

    annotation = annotations[finding(BASTION).sort_key()]
    assert annotation.expired
    assert annotation.effective_status == "FAIL"


def test_pass_and_error_never_excepted(project):
    write_exceptions(project)
    exceptions = load_exceptions(project.exceptions_file)
    findings = [finding(BASTION, Status.PASS), finding(BASTION + "x", Status.ERROR)]

    assert annotate(findings, exceptions, {}, date(2026, 12, 4)) == {}


def test_stale_exception_reported(project):
    write_exceptions(project)
    exceptions = load_exceptions(project.exceptions_file)

    stale = stale_exceptions([finding(WEB)], exceptions, {}, date(2026, 12, 4))

    assert [e.id for e in stale] == ["EXC-001"]


def test_report_counts_excepted_separately(project, tmp_path):
    write_exceptions(project)
    run = write_run(project, [finding(BASTION), finding(WEB, Status.PASS)])

    report = build_report(project, [control(tmp_path)], {}, run)

    [result] = report.controls
    assert result.verdict == EXCEPTED
    assert result.counts == {EXCEPTED: 1, "PASS": 1}
    assert report.totals[EXCEPTED] == 1
    assert report.totals["FAIL"] == 0
    [(excepted, annotation, control_id)] = report.annotated()
    assert excepted.status == Status.FAIL
    assert annotation.exception.justification.startswith("Vendor bastion")
    assert control_id == "NET-01"


def test_report_with_expired_exception_fails(project, tmp_path):
    write_exceptions(project, expires="2026-11-30")
    run = write_run(project, [finding(BASTION)])

    report = build_report(project, [control(tmp_path)], {}, run)

    assert report.controls[0].verdict == "FAIL"
    assert report.annotated()[0][1].expired


def test_gate_ignores_excepted_failures(tmp_path):
    library = ControlLibrary([control(tmp_path)], [])
    findings = [finding(BASTION)]

    assert gate(findings, library, "high").exit_code == 1
    assert gate(findings, library, "high", {finding(BASTION).sort_key()}).exit_code == 0


def test_run_keeps_exceptions_of_its_collection(project, tmp_path):
    write_exceptions(project)
    run = write_run(project, [finding(BASTION)])
    project.exceptions_file.unlink()

    report = build_report(project, [control(tmp_path)], {}, run)

    assert report.controls[0].verdict == EXCEPTED
    assert "exceptions.yml" in run.manifest["files"]
