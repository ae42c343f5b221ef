from pathlib import Path

from auditbook.controls import ControlLibrary, parse_control
from auditbook.models import Finding, Status
from auditbook.pipeline import gate


def control(tmp_path: Path, control_id: str, severity: str, check_id: str):
    path = tmp_path / f"{control_id}.md"
    path.write_text(
        f"---\nid: {control_id}\ntitle: Example control\nlayer: identity\n"
        f"severity: {severity}\nowner: Team\n---\n\n```auditbook\n{check_id}\n```\n",
        encoding="utf-8",
    )
    return parse_control(path)


def finding(check_id: str, status: Status) -> Finding:
    return Finding(check_id, "123456789012", "global", "r", status, "m")


def library(tmp_path: Path) -> ControlLibrary:
    return ControlLibrary(
        [
            control(tmp_path, "IAM-01", "critical", "aws.iam.root_mfa_enabled"),
            control(tmp_path, "IAM-05", "medium", "aws.iam.password_policy"),
        ],
        [],
    )


def test_all_pass_exits_zero(tmp_path):
    outcome = gate(
        [finding("aws.iam.root_mfa_enabled", Status.PASS)], library(tmp_path), "high"
    )

    assert outcome.exit_code == 0


def test_failure_at_threshold_exits_one(tmp_path):
    outcome = gate(
        [finding("aws.iam.root_mfa_enabled", Status.FAIL)], library(tmp_path), "high"
    )

    assert outcome.exit_code == 1
    assert outcome.gated_failures == 1


def test_failure_below_threshold_exits_zero(tmp_path):
    outcome = gate(
        [finding("aws.iam.password_policy", Status.FAIL)], library(tmp_path), "high"
    )

    assert outcome.exit_code == 0
    assert outcome.failures == 1
    assert outcome.gated_failures == 0


def test_lower_threshold_gates_medium(tmp_path):
    outcome = gate(
        [finding("aws.iam.password_policy", Status.FAIL)], library(tmp_path), "medium"
    )

    assert outcome.exit_code == 1


def test_error_exits_two_even_with_failures(tmp_path):
    findings = [
        finding("aws.iam.root_mfa_enabled", Status.FAIL),
        finding("aws.iam.password_policy", Status.ERROR),
    ]

    outcome = gate(findings, library(tmp_path), "high")

    assert outcome.exit_code == 2
    assert outcome.errors == 1


def test_never_ignores_failures(tmp_path):
    outcome = gate(
        [finding("aws.iam.root_mfa_enabled", Status.FAIL)], library(tmp_path), "never"
    )

    assert outcome.exit_code == 0
