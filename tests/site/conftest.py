"""A small project in a temporary folder: mkdocs.yml, two controls, an evidence run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from mkdocs.commands.build import build
from mkdocs.config import load_config

from auditbook.evidence import EvidenceStore
from auditbook.models import Finding, Status

RUN_ID = "20261204T153000Z-3fa2c1"
ACCOUNT = "111122223333"
OBSERVED = "2026-12-04T15:30:05Z"
HOSTILE = (
    "<script>alert(1)</script> {{ 7*7 }} **bold** [x](javascript:alert(1)) "
    "sg-0bad/../../etc/passwd"
)

IAM_CONTROL = """\
---
id: IAM-01
title: The root user is protected
layer: identity
severity: critical
owner: Platform Security
frameworks:
  cis-aws-3.0.0: ["1.4", "1.5"]
---

# The root user is protected

## Requirement

The root user has MFA and no access keys.

```auditbook
aws.iam.root_mfa_enabled
aws.iam.root_no_access_keys
```
"""

NET_CONTROL = """\
---
id: NET-01
title: No administration ports open to the internet
layer: network
severity: high
owner: Network Engineering
related: [IAM-01]
frameworks:
  cis-aws-3.0.0: ["5.2"]
---

## Requirement

No security group admits SSH from anywhere.

```auditbook
aws.ec2.sg_no_public_ssh  # per security group
```

## Remediation

Remove the rule.
"""


def finding(
    check_id: str,
    resource_id: str,
    status: Status,
    message: str,
    region: str = "eu-west-2",
    evidence: dict | None = None,
) -> Finding:
    """Return a finding in the test account, observed at a fixed time."""
    return Finding(
        check_id=check_id,
        account_id=ACCOUNT,
        region=region,
        resource_id=resource_id,
        status=status,
        message=message,
        evidence=evidence or {},
        observed_at=OBSERVED,
    )


def sg_arn(group: str) -> str:
    """Return the ARN of a security group in the test account."""
    return f"arn:aws:ec2:eu-west-2:{ACCOUNT}:security-group/{group}"


SSH = "aws.ec2.sg_no_public_ssh"

FINDINGS = [
    finding(
        "aws.iam.root_mfa_enabled",
        ACCOUNT,
        Status.PASS,
        "The root user has MFA enabled.",
        region="global",
    ),
    finding(
        "aws.iam.root_no_access_keys",
        ACCOUNT,
        Status.PASS,
        "The root user has no access keys.",
        region="global",
    ),
    finding(SSH, sg_arn("sg-0aaa"), Status.PASS, "sg-0aaa admits no SSH."),
    finding(SSH, sg_arn("sg-0bbb"), Status.PASS, "sg-0bbb admits no SSH."),
    finding(
        SSH,
        sg_arn("sg-0ccc"),
        Status.FAIL,
        "sg-0ccc admits SSH from 0.0.0.0/0.",
        evidence={"cidr": "0.0.0.0/0", "port": 22},
    ),
    finding(SSH, sg_arn("sg-0ddd"), Status.PASS, "sg-0ddd admits no SSH."),
    finding(
        SSH,
        "../../sg-0bad/<img src=x onerror=alert(1)>",
        Status.FAIL,
        HOSTILE,
        evidence={"description": HOSTILE},
    ),
]

METADATA = {
    "tool": {"name": "auditbook", "version": "0.1.0"},
    "started_at": "2026-12-04T15:30:00Z",
    "finished_at": "2026-12-04T15:31:10Z",
    "caller": {
        "account_id": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/<b>auditor</b>",
    },
    "accounts": [ACCOUNT],
    "regions": ["eu-west-2", "eu-west-1"],
    "api_calls": {
        "total": 4,
        "by_operation": {
            "ec2:DescribeSecurityGroups": 2,
            "iam:GetAccountSummary": 1,
            "sts:GetCallerIdentity": 1,
        },
    },
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Write mkdocs.yml, a docs folder and two control documents."""
    (tmp_path / "site_src").mkdir()
    (tmp_path / "site_src" / "scope.md").write_text("# Scope\n\nAll of it.\n")
    controls = tmp_path / "controls"
    controls.mkdir()
    (controls / "IAM-01-root.md").write_text(IAM_CONTROL)
    (controls / "NET-01-admin-ports.md").write_text(NET_CONTROL)
    write_config(tmp_path)
    return tmp_path


def write_config(
    project: Path, options: dict | None = None, **top_level: object
) -> Path:
    """Write the project's mkdocs.yml.

    Args:
        project: the project folder.
        options: auditbook plugin options added to the defaults.
        top_level: MkDocs settings added to the defaults.
    """
    plugin = {
        "organisation": "Northwind Payments Ltd",
        "controls_dir": "controls",
        "evidence_dir": "evidence",
        "regions": ["eu-west-2", "eu-west-1"],
        **(options or {}),
    }
    config = {
        "site_name": "evidence",
        "docs_dir": "site_src",
        "site_dir": "site",
        "theme": {"name": "material", "font": False},
        "validation": {
            "omitted_files": "warn",
            "absolute_links": "warn",
            "unrecognized_links": "warn",
            "anchors": "warn",
        },
        "markdown_extensions": ["admonition", "pymdownx.superfences", "tables"],
        "plugins": ["search", {"auditbook": plugin}],
        **top_level,
    }
    path = project / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture
def write_run(project: Path) -> Callable[..., None]:
    """Return a function that stores an evidence run in the project."""

    def write(
        findings: list[Finding] = FINDINGS,
        metadata: dict | None = None,
        run_id: str = RUN_ID,
    ) -> None:
        store = EvidenceStore(project / "evidence")
        with store.lock():
            store.write_run(run_id, findings, metadata or METADATA)

    return write


@pytest.fixture
def build_site(project: Path) -> Callable[[], Path]:
    """Return a function that builds the project in strict mode and returns site_dir."""

    def run() -> Path:
        config = load_config(config_file=str(project / "mkdocs.yml"), strict=True)
        build(config)
        return Path(config.site_dir)

    return run


def read_page(site: Path, path: str) -> str:
    """Return the HTML of a built page, such as ``controls/network/net-01``."""
    return (site / path / "index.html").read_text(encoding="utf-8")


def read_json(path: Path) -> dict:
    """Return a JSON file's content."""
    return json.loads(path.read_text(encoding="utf-8"))
