"""A synthetic evidence run and control library for the renderer tests.

Findings include hostile strings as AWS could return them: HTML and script,
Jinja syntax, a spreadsheet formula, a control character and a right-to-left
override.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditbook.controls import LAYERS, Control, parse_control
from auditbook.models import Finding, Status

RUN_ID = "20261204T153000Z-3fa2c1"
ACCOUNT = "123456789012"
OBSERVED_AT = "2026-12-04T15:30:05+00:00"

FORMULA_RESOURCE = '=HYPERLINK("http://x","y")'
SCRIPT_MESSAGE = "Security group <script>alert(1)</script> allows SSH from anywhere."
JINJA_MESSAGE = "Security group {{ 7*7 }} allows RDP from anywhere."
LONG_ARN = (
    "arn:aws:ec2:eu-west-2:123456789012:security-group/"
    "sg-0123456789abcdef0-with-a-very-long-suffix-that-has-no-natural-break-point"
    "-and-keeps-going-for-a-while-0123456789abcdef0123456789abcdef"
)

CONTROLS = {
    "network/NET-01.md": """\
---
id: NET-01
title: No administration ports open to the internet
layer: network
severity: critical
owner: Platform team
frameworks:
  cis-aws-3.0.0: ["5.2", "5.3"]
  iso27001-2022: ["8.20"]
---
# Requirement

No security group allows **SSH** (22) or **RDP** (3389) from `0.0.0.0/0` or `::/0`.

| Port | Protocol |
|---|---|
| 22 | SSH |
| 3389 | RDP |

```auditbook
aws.ec2.sg_no_public_ssh
aws.ec2.sg_no_public_rdp
```

Administrators reach hosts through Session Manager instead.
""",
    "monitoring/MON-02.md": """\
---
id: MON-02
title: GuardDuty is enabled everywhere
layer: monitoring
severity: high
owner: Security operations
frameworks:
  soc2-2017: ["CC7.2"]
  iso27001-2022: ["8.16"]
---
GuardDuty runs in every collected region.

```auditbook
aws.guardduty.enabled
```
""",
    "governance/GOV-01.md": """\
---
id: GOV-01
title: A data processing agreement with AWS is in place
layer: governance
severity: medium
owner: Legal
type: manual
---
The AWS data processing addendum is signed and filed.
""",
    "identity/IAM-01.md": """\
---
id: IAM-01
title: The root user is protected
layer: identity
severity: critical
owner: Cloud governance
frameworks:
  cis-aws-3.0.0: ["1.5"]
---
The root user has MFA enabled.

```auditbook
aws.iam.root_mfa_enabled
```
""",
}


def finding(
    check_id: str,
    status: Status,
    resource_id: str,
    message: str,
    region: str = "eu-west-2",
    evidence: dict[str, Any] | None = None,
) -> Finding:
    """Return a finding observed during the synthetic run."""
    return Finding(
        check_id=check_id,
        account_id=ACCOUNT,
        region=region,
        resource_id=resource_id,
        status=status,
        message=message,
        evidence=evidence or {},
        observed_at=OBSERVED_AT,
    )


def default_findings() -> list[Finding]:
    """Return findings with one of each status, hostile strings among them."""
    sg = f"arn:aws:ec2:eu-west-2:{ACCOUNT}:security-group"
    return [
        finding(
            "aws.ec2.sg_no_public_ssh",
            Status.FAIL,
            f"{sg}/sg-0aaa",
            SCRIPT_MESSAGE,
            evidence={"rules": [{"port": 22, "cidr": "0.0.0.0/0"}]},
        ),
        finding(
            "aws.ec2.sg_no_public_ssh",
            Status.FAIL,
            FORMULA_RESOURCE,
            "Security group named with a formula allows SSH from anywhere.",
            evidence={"group_name": "=1+1", "tags": {"Owner": "@admin"}},
        ),
        finding(
            "aws.ec2.sg_no_public_ssh",
            Status.PASS,
            LONG_ARN,
            "Security group with a long ARN allows no SSH from the internet.",
        ),
        finding(
            "aws.ec2.sg_no_public_rdp",
            Status.FAIL,
            f"{sg}/sg-0bbb",
            JINJA_MESSAGE,
        ),
        finding(
            "aws.ec2.sg_no_public_rdp",
            Status.PASS,
            f"{sg}/sg-0ccc",
            "Security group bell\x07 name\u202eevil allows no RDP from anywhere.",
        ),
        finding(
            "aws.guardduty.enabled",
            Status.PASS,
            f"arn:aws:guardduty:eu-west-2:{ACCOUNT}:detector/abc",
            "GuardDuty detector abc is enabled in eu-west-2.",
            evidence={"detectors": {"abc": "ENABLED"}},
        ),
        finding(
            "aws.guardduty.enabled",
            Status.ERROR,
            f"arn:aws:guardduty:eu-west-1:{ACCOUNT}",
            "guardduty:ListDetectors failed with AccessDenied in eu-west-1.",
            region="eu-west-1",
            evidence={"error_code": "AccessDenied"},
        ),
        finding(
            "aws.iam.root_mfa_enabled",
            Status.NOT_APPLICABLE,
            f"arn:aws:iam::{ACCOUNT}:root",
            "The root user is managed by the organisation's management account.",
            region="global",
        ),
    ]


def run_metadata() -> dict[str, Any]:
    """Return ``run.json`` of the synthetic run, shaped as the collector writes it."""
    return {
        "tool": {"name": "auditbook", "version": "0.1.0"},
        "controls_revision": {"git_commit": "abc1234", "sha256": "0" * 64},
        "caller": {
            "account_id": ACCOUNT,
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/AuditRole/auditbook",
        },
        "accounts": [ACCOUNT],
        "account_errors": [],
        "regions": ["eu-west-2", "eu-west-1"],
        "started_at": "2026-12-04T15:30:00+00:00",
        "finished_at": "2026-12-04T15:31:40+00:00",
        "options": {},
        "api_calls": {
            "total": 4,
            "by_operation": {
                "ec2:DescribeSecurityGroups": 2,
                "guardduty:ListDetectors": 2,
            },
        },
        "cloudtrail": {
            "source": "lookup",
            "period_start": "2026-11-04T15:30:00+00:00",
            "period_end": "2026-12-04T15:30:00+00:00",
            "controls": {
                "NET-01": {
                    "total": 3,
                    "shown": 2,
                    "errors": [
                        {
                            "account_id": ACCOUNT,
                            "region": "eu-west-1",
                            "code": "AccessDenied",
                            "operation": "cloudtrail:LookupEvents",
                        }
                    ],
                }
            },
        },
    }


def cloudtrail_rows() -> list[dict[str, str]]:
    """Return the CloudTrail excerpt rows of the synthetic run, newest first."""
    base = {
        "control_id": "NET-01",
        "account_id": ACCOUNT,
        "event_source": "ec2.amazonaws.com",
        "region": "eu-west-2",
        "principal_type": "AssumedRole",
        "principal": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice",
        "source_ip": "198.51.100.7",
        "error_code": "",
        "mfa_used": "true",
        "access_key_id": "****WXYZ",
    }
    return [
        {
            **base,
            "event_time": "2026-12-01T09:15:00Z",
            "event_name": "AuthorizeSecurityGroupIngress",
            "resource": "sg-0aaa",
            "event_id": "11111111-2222-3333-4444-555555555555",
        },
        {
            **base,
            "event_time": "2026-11-20T17:02:00Z",
            "event_name": "RevokeSecurityGroupIngress",
            "resource": "=cmd|' /C calc'!A0",
            "error_code": "UnauthorizedOperation",
            "event_id": "66666666-7777-8888-9999-000000000000",
        },
    ]


def write_controls(folder: Path, documents: dict[str, str]) -> list[Control]:
    """Write control documents and parse them, in the library loader's order."""
    controls = []
    for name, text in documents.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        controls.append(parse_control(path))
    return sorted(controls, key=lambda c: (LAYERS.index(c.layer), c.id))


def cloudtrail_jsonl() -> bytes:
    """Return ``cloudtrail.jsonl`` as the collector writes it."""
    lines = (json.dumps(row, sort_keys=True) + "\n" for row in cloudtrail_rows())
    return "".join(lines).encode()


# The accepted risks of the run: one active at the end of the run, one expired.
EXCEPTIONS_YAML = f"""\
exceptions:
  - id: EXC-001
    check: aws.ec2.sg_no_public_rdp
    resource: "arn:aws:ec2:eu-west-2:{ACCOUNT}:security-group/sg-0bbb"
    justification: Vendor jump host, replaced by Session Manager in Q1.
    approved_by: Jane Smith, CISO
    approved_at: "2026-10-01"
    expires: "2027-01-31"
  - id: EXC-002
    check: aws.ec2.sg_no_public_ssh
    resource: "arn:aws:ec2:eu-west-2:{ACCOUNT}:security-group/sg-0aaa"
    justification: Temporary access for a migration that has finished.
    approved_by: Jane Smith, CISO
    approved_at: "2026-06-01"
    expires: "2026-11-01"
"""

# The attestation of the manual control GOV-01.
ATTESTATION_YAML = """\
attested_by: Priya Patel, Data Protection Officer
attested_at: "2026-10-01"
summary: The AWS data processing addendum is signed and filed.
documents: [contracts/aws-dpa-2026.pdf]
"""
