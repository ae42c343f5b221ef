"""The sample GitHub Actions workflows load as YAML and hold their key steps."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"


def load(name: str) -> dict:
    """Load a workflow file."""
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def triggers(workflow: dict) -> dict:
    """Return the workflow's triggers; YAML 1.1 reads the key ``on`` as True."""
    return workflow.get("on", workflow.get(True))


def steps(workflow: dict) -> list[dict]:
    """Return the steps of the workflow's only job."""
    [job] = workflow["jobs"].values()
    return job["steps"]


def index_of(all_steps: list[dict], *, uses: str = "", run: str = "") -> int:
    """Return the position of the first step that uses an action or runs a command."""
    for position, step in enumerate(all_steps):
        if uses and step.get("uses", "").startswith(uses):
            return position
        if run and run in step.get("run", ""):
            return position
    raise AssertionError(f"no step with uses={uses!r} run={run!r}")


@pytest.mark.parametrize("name", ["nightly.yml", "pull-request.yml"])
def test_workflow_is_valid_yaml(name):
    workflow = load(name)

    assert workflow["name"]
    assert triggers(workflow)
    assert steps(workflow)


def test_nightly_runs_on_schedule():
    workflow = load("nightly.yml")

    assert triggers(workflow)["schedule"][0]["cron"].count(" ") == 4
    assert "workflow_dispatch" in triggers(workflow)


def test_nightly_permissions_allow_oidc_only():
    assert load("nightly.yml")["permissions"] == {
        "id-token": "write",
        "contents": "read",
    }


def test_nightly_assumes_role_from_variable():
    all_steps = steps(load("nightly.yml"))
    credentials = all_steps[
        index_of(all_steps, uses="aws-actions/configure-aws-credentials@")
    ]

    assert credentials["with"]["role-to-assume"] == "${{ vars.AUDITBOOK_ROLE_ARN }}"
    assert "aws-region" in credentials["with"]


def test_nightly_step_order():
    all_steps = steps(load("nightly.yml"))
    python = index_of(all_steps, uses="actions/setup-python@")
    install = index_of(all_steps, run="pip install .")
    credentials = index_of(all_steps, uses="aws-actions/configure-aws-credentials@")
    nightly = index_of(all_steps, run="bash scripts/nightly.sh")

    assert all_steps[python]["with"]["python-version"] == "3.11"
    assert python < install < nightly
    assert credentials < nightly


def test_nightly_uploads_site_and_evidence():
    all_steps = steps(load("nightly.yml"))
    uploads = [s for s in all_steps if s.get("uses", "").startswith("actions/upload-")]

    assert {s["with"]["path"] for s in uploads} == {"site/", "evidence/"}
    assert all(s["if"] == "always()" for s in uploads)


def test_nightly_tells_failing_from_broken():
    all_steps = steps(load("nightly.yml"))
    nightly = all_steps[index_of(all_steps, run="bash scripts/nightly.sh")]
    report = all_steps[index_of(all_steps, run='case "$CODE" in')]

    assert "|| code=$?" in nightly["run"]
    assert "exit-code=$code" in nightly["run"]
    assert report["env"]["CODE"] == "${{ steps.nightly.outputs.exit-code }}"
    assert "1)\n" in report["run"]
    assert "Controls failing" in report["run"]
    assert "Collection broken" in report["run"]
    assert report["run"].rstrip().endswith("esac")
    assert "exit 1" in report["run"].split("*)")[1]
    assert "exit 1" not in report["run"].split("*)")[0]


def test_pull_request_validates_without_aws():
    workflow = load("pull-request.yml")
    all_steps = steps(workflow)
    install = index_of(all_steps, run="pip install .")
    validate = index_of(all_steps, run="auditbook validate --format github")
    build = index_of(all_steps, run="mkdocs build --strict")

    assert "pull_request" in triggers(workflow)
    assert workflow["permissions"] == {"contents": "read"}
    assert install < validate < build
    assert not any("aws-actions" in s.get("uses", "") for s in all_steps)
