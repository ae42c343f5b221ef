"""Benchmark: render the site, the PDF and the workbook of a large evidence run.

Writes a project into a temporary folder. It has 100 control documents
across the seven layers and an evidence run of 100,000 findings, with ARNs,
messages and evidence shaped like the collector's. The run also has 20,000
CloudTrail excerpt events in ``cloudtrail.jsonl``, the matching
``cloudtrail`` summary in ``run.json``, accepted risks and attestations.

Then it renders each output in a fresh Python process, as ``auditbook
render`` would, so the peak memory printed (``ru_maxrss``) belongs to that
output alone. Times include reading the run and building the report, but not
starting Python or importing modules. CPU seconds are printed beside wall
seconds, because other processes on the machine slow the wall time down.

Run: .venv/bin/python benchmarks/render.py [--findings N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditbook.checks.registry import load_checks
from auditbook.config import load_settings
from auditbook.controls import LAYERS, load_library
from auditbook.evidence import CLOUDTRAIL_FILE, EXCEPTIONS_FILE, EvidenceStore
from auditbook.frameworks import FRAMEWORKS
from auditbook.models import Finding, Status

REPOSITORY = Path(__file__).resolve().parent.parent
RUN_ID = "20261204T020000.000Z-b3c4d5"
STARTED = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
FINISHED = STARTED + timedelta(minutes=41)

FINDINGS = 100_000
CLOUDTRAIL_EVENTS = 20_000
ACCOUNTS = [f"{100000000000 + 7919 * n:012d}" for n in range(20)]
REGIONS = ["eu-west-2", "eu-west-1", "eu-central-1", "us-east-1"]

# Targets on a 2-core machine: seconds and peak resident memory in MB.
TARGETS = {"site": (90, None), "pdf": (60, None), "workbook": (30, 500)}

LAYER_PREFIXES = {
    "identity": "IAM",
    "network": "NET",
    "data": "DATA",
    "application": "APP",
    "monitoring": "MON",
    "residency": "RES",
    "governance": "GOV",
}
# Controls per layer, 100 in all.
LAYER_SHARE = {
    "identity": 18,
    "network": 18,
    "data": 20,
    "application": 12,
    "monitoring": 18,
    "residency": 4,
    "governance": 10,
}
MANUAL_CONTROLS = 6
SEVERITIES = ("critical", "high", "high", "medium", "medium", "low")
OWNERS = ("Platform Security", "Network Engineering", "Data Platform", "SRE")

# Share of findings per status for a resource check: most resources pass.
STATUS_WEIGHTS = (
    (Status.PASS, 78),
    (Status.FAIL, 16),
    (Status.ERROR, 1),
    (Status.NOT_APPLICABLE, 5),
)

# ARN of a resource by the granularity a check declares. {r} is the region,
# {a} the account, {n} a resource name and {h} a hex id.
ARN_FORMATS = {
    "security group": "arn:aws:ec2:{r}:{a}:security-group/sg-{h}",
    "DB instance": "arn:aws:rds:{r}:{a}:db:{n}",
    "task definition": "arn:aws:ecs:{r}:{a}:task-definition/{n}:{i}",
    "S3 bucket": "arn:aws:s3:::{n}-{a}",
    "CloudTrail trail": "arn:aws:cloudtrail:{r}:{a}:trail/{n}",
    "IAM user": "arn:aws:iam::{a}:user/{n}",
    "replication group": "arn:aws:elasticache:{r}:{a}:replicationgroup:{n}",
    "listener": "arn:aws:elasticloadbalancing:{r}:{a}:listener/app/{n}/{h}/{h}",
    "IAM role": "arn:aws:iam::{a}:role/service-role/{n}",
    "policy": "arn:aws:iam::{a}:policy/{n}",
    "access key": "arn:aws:iam::{a}:user/{n}/access-key/AKIA{k}",
    "VPC": "arn:aws:ec2:{r}:{a}:vpc/vpc-{h}",
    "EBS volume": "arn:aws:ec2:{r}:{a}:volume/vol-{h}",
    "KMS key": "arn:aws:kms:{r}:{a}:key/{u}",
    "table": "arn:aws:dynamodb:{r}:{a}:table/{n}",
    "secret": "arn:aws:secretsmanager:{r}:{a}:secret:{n}-{k6}",
    "function": "arn:aws:lambda:{r}:{a}:function:{n}",
    "repository": "arn:aws:ecr:{r}:{a}:repository/{n}",
    "load balancer": "arn:aws:elasticloadbalancing:{r}:{a}:loadbalancer/app/{n}/{h}",
    "distribution": "arn:aws:cloudfront::{a}:distribution/E{K}",
    "log group": "arn:aws:logs:{r}:{a}:log-group:/aws/lambda/{n}",
}
NAME_PARTS = (
    "payments",
    "ledger",
    "customer-exports",
    "risk-scoring",
    "card-vault",
    "settlement",
    "fraud-signals",
    "onboarding",
    "statements",
    "notifications",
)
EVENT_NAMES = (
    ("iam.amazonaws.com", "AttachRolePolicy"),
    ("iam.amazonaws.com", "CreateAccessKey"),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"),
    ("signin.amazonaws.com", "ConsoleLogin"),
    ("s3.amazonaws.com", "PutBucketPolicy"),
    ("kms.amazonaws.com", "ScheduleKeyDeletion"),
    ("cloudtrail.amazonaws.com", "StopLogging"),
)

MKDOCS_YML = """\
site_name: auditbook benchmark
docs_dir: docs
theme:
  name: material
  font: false
  features: [navigation.tabs, navigation.sections, navigation.indexes]
extra_css: [assets/auditbook.css]
markdown_extensions:
  - admonition
  - attr_list
  - tables
  - pymdownx.details
  - pymdownx.superfences
  - toc:
      permalink: true
plugins:
  - search
  - auditbook:
      organisation: Example Bank plc
      prepared_by: Security Assurance
      regions: [eu-west-2, eu-west-1, eu-central-1, us-east-1]
      cloudtrail:
        max_events_per_control: 500
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=FINDINGS)
    parser.add_argument("--keep", type=Path, help="write the project here and keep it")
    parser.add_argument("--measure", choices=sorted(TARGETS), help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        print(json.dumps(measure(args.measure, args.project)))
        return

    if args.keep:
        run_benchmark(args.keep, args.findings)
        return
    with tempfile.TemporaryDirectory(prefix="auditbook-bench-") as folder:
        run_benchmark(Path(folder), args.findings)


def run_benchmark(root: Path, findings: int) -> None:
    began = time.perf_counter()
    write_project(root, findings)
    print(f"project written in {time.perf_counter() - began:.1f} s: {root}")

    for output in ("workbook", "pdf", "site"):
        completed = subprocess.run(
            [sys.executable, __file__, "--measure", output, "--project", str(root)],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            sys.exit(f"{output} failed:\n{completed.stderr}")
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        seconds_target, memory_target = TARGETS[output]
        verdicts = [f"target < {seconds_target} s"]
        if memory_target:
            verdicts.append(f"< {memory_target} MB")
        met = result["seconds"] < seconds_target and (
            memory_target is None or result["peak_mb"] < memory_target
        )
        # The site builds its report inside the MkDocs plugin, untimed apart.
        report = result["report_seconds"]
        report_part = f", report {report:.1f} s" if report is not None else ""
        print(
            f"{output:9} {result['seconds']:6.1f} s "
            f"(CPU {result['cpu_seconds']:.1f} s{report_part})  "
            f"peak {result['peak_mb']:6.0f} MB  {result['size_mb']:6.1f} MB written  "
            f"{' and '.join(verdicts)}: {'met' if met else 'MISSED'}"
        )


def measure(output: str, root: Path) -> dict[str, float | None]:
    """Render one output from the project at ``root`` and return time and memory."""
    from auditbook.render.excel import write_workbook
    from auditbook.render.pdf import write_pdf
    from auditbook.report import build_report
    from auditbook.site.build import build_site

    began = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_at_start = usage.ru_utime + usage.ru_stime
    config = root / "mkdocs.yml"
    settings = load_settings(config)
    registry = load_checks()
    library = load_library(settings.controls_dir, set(registry))
    run = EvidenceStore(settings.evidence_dir).open()
    out = root / "out"

    report_seconds = None
    if output == "site":
        path = build_site(config, out / "site", settings, run) / "index.html"
    else:
        report = build_report(settings, library.controls, registry, run)
        report_seconds = time.perf_counter() - began
        if output == "pdf":
            path = write_pdf(report, out / "audit-pack.pdf")
        else:
            path = write_workbook(report, out / "evidence.xlsx")

    seconds = time.perf_counter() - began
    if output == "site":
        size = sum(p.stat().st_size for p in path.parent.rglob("*") if p.is_file())
    else:
        size = path.stat().st_size
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime - cpu_at_start,
        "report_seconds": report_seconds,
        # ru_maxrss is in kilobytes on Linux.
        "peak_mb": usage.ru_maxrss / 1024,
        "size_mb": size / 1e6,
    }


def write_project(root: Path, finding_count: int) -> None:
    """Write mkdocs.yml, the docs, the control documents and the evidence run."""
    rng = random.Random(20261204)
    root.mkdir(parents=True, exist_ok=True)
    (root / "mkdocs.yml").write_text(MKDOCS_YML, encoding="utf-8")
    shutil.copytree(REPOSITORY / "site_src", root / "docs", dirs_exist_ok=True)

    registry = load_checks()
    check_ids = sorted(registry)
    controls = write_controls(root / "controls", check_ids, rng)
    referenced = sorted({c for control in controls for c in control["checks"]})
    findings = make_findings(registry, referenced, finding_count, rng)
    events, summary = make_cloudtrail(controls, rng)

    extra_files = {
        CLOUDTRAIL_FILE: b"".join(
            (json.dumps(row, sort_keys=True) + "\n").encode() for row in events
        ),
        EXCEPTIONS_FILE: exceptions_yaml().encode(),
    }
    for control in controls:
        if control["manual"] and control["attested"]:
            extra_files[f"manual/{control['id']}.yml"] = attestation_yaml(control)

    statuses = {s.value: 0 for s in Status}
    for finding in findings:
        statuses[finding.status.value] += 1
    metadata = {
        "tool": {"name": "auditbook", "version": "0.1.0"},
        "controls_revision": {"git_commit": None, "sha256": "0" * 64},
        "caller": {
            "account_id": ACCOUNTS[0],
            "arn": f"arn:aws:sts::{ACCOUNTS[0]}:assumed-role/AuditbookReadOnly/cli",
        },
        "accounts": ACCOUNTS,
        "account_errors": [],
        "regions": REGIONS,
        "started_at": STARTED.isoformat(),
        "finished_at": FINISHED.isoformat(),
        "check_ids": referenced,
        "options": {},
        "status_counts": statuses,
        "api_calls": {
            "total": 48_210,
            "by_operation": {
                f"{registry[c].service}:{registry[c].permissions[0].split(':')[1]}": 400
                + n
                for n, c in enumerate(referenced)
            },
        },
        "cloudtrail": summary,
    }
    store = EvidenceStore(root / "evidence")
    with store.lock():
        store.write_run(RUN_ID, findings, metadata, extra_files)


def write_controls(folder: Path, check_ids: list[str], rng: random.Random) -> list:
    """Write the control documents and return each one's id, checks and kind."""
    controls = []
    layers = [layer for layer in LAYERS for _ in range(LAYER_SHARE[layer])]
    counters: dict[str, int] = {}
    for index, layer in enumerate(layers):
        counters[layer] = counters.get(layer, 0) + 1
        control_id = f"{LAYER_PREFIXES[layer]}-{counters[layer]:02d}"
        manual = layer == "governance" and counters[layer] <= MANUAL_CONTROLS
        # Every check is referenced at least once; some by several controls.
        checks = [] if manual else _control_checks(index, check_ids, rng)
        control = {
            "id": control_id,
            "layer": layer,
            "checks": checks,
            "manual": manual,
            "attested": manual and counters[layer] % 2 == 1,
            "cloudtrail": not manual and index % 5 < 2,
        }
        controls.append(control)
        path = folder / layer / f"{control_id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(control_document(control, index, rng), encoding="utf-8")
    return controls


def _control_checks(index: int, check_ids: list[str], rng: random.Random) -> list:
    first = check_ids[index % len(check_ids)]
    others = rng.sample(check_ids, rng.choice((0, 1, 1, 2, 3)))
    return list(dict.fromkeys([first, *others]))


def control_document(control: dict, index: int, rng: random.Random) -> str:
    """Return a control document with front matter, prose and a check block."""
    frameworks = {}
    for key in rng.sample(sorted(FRAMEWORKS), rng.randint(1, 3)):
        clauses = rng.sample(sorted(FRAMEWORKS[key].clauses), rng.randint(1, 3))
        frameworks[key] = clauses
    front = {
        "id": control["id"],
        "title": f"Control {control['id']} keeps {rng.choice(NAME_PARTS)} "
        f"resources in line with policy {index}",
        "layer": control["layer"],
        "severity": SEVERITIES[index % len(SEVERITIES)],
        "owner": OWNERS[index % len(OWNERS)],
        "frameworks": frameworks,
    }
    if control["manual"]:
        front["type"] = "manual"
    if control["cloudtrail"]:
        source, name = EVENT_NAMES[index % len(EVENT_NAMES)]
        front["cloudtrail"] = [{"event_source": source, "event_names": [name]}]

    paragraph = (
        "Every resource in scope meets the requirement in every account and "
        "region that the organisation uses. Exceptions are recorded with an "
        "owner, a justification and an expiry date, and reviewed each quarter. "
    )
    body = [
        f"# {front['title']}",
        "",
        "## Requirement",
        "",
        paragraph * 2,
        "",
        "## Rationale",
        "",
        paragraph,
        "",
        "## Remediation",
        "",
        "Change the configuration, collect again and confirm the finding passes.",
    ]
    if control["checks"]:
        body[5:5] = ["```auditbook", *control["checks"], "```", ""]
    return f"---\n{json.dumps(front, indent=2)}\n---\n\n" + "\n".join(body) + "\n"


def make_findings(
    registry: dict, check_ids: list[str], total: int, rng: random.Random
) -> list[Finding]:
    """Return ``total`` findings: one per account or region for account and
    region checks, the rest spread over the resource checks."""
    findings = []
    resource_checks = []
    for check_id in check_ids:
        spec = registry[check_id]
        if spec.granularity == "account":
            for account in ACCOUNTS:
                findings.append(_finding(spec, account, "global", account, rng))
        elif spec.granularity == "region":
            for account in ACCOUNTS:
                for region in REGIONS:
                    scope = f"{account}/{region}"
                    findings.append(_finding(spec, account, region, scope, rng))
        else:
            resource_checks.append(spec)

    # A few checks own most resources, as security groups and buckets do.
    weights = [rng.choice((1, 2, 4, 12)) for _ in resource_checks]
    remaining = max(total - len(findings), 0)
    for spec in rng.choices(resource_checks, weights=weights, k=remaining):
        account = rng.choice(ACCOUNTS)
        region = rng.choice(REGIONS)
        arn = _arn(spec, account, region, rng)
        findings.append(_finding(spec, account, region, arn, rng))
    return findings[:total] if total < len(findings) else findings


def _arn(spec, account: str, region: str, rng: random.Random) -> str:
    name = f"{rng.choice(NAME_PARTS)}-{rng.choice(('prod', 'stg', 'dev'))}-"
    name += f"{rng.randrange(16**6):06x}"
    fmt = ARN_FORMATS.get(
        spec.granularity, f"arn:aws:{spec.service}:{{r}}:{{a}}:resource/{{n}}"
    )
    return fmt.format(
        r=region,
        a=account,
        n=name,
        h=f"{rng.randrange(16**17):017x}",
        i=rng.randint(1, 40),
        k=f"{rng.randrange(36**16):016X}"[:16],
        k6=f"{rng.randrange(16**6):06x}",
        K=f"{rng.randrange(16**13):013X}",
        u=f"{rng.randrange(16**8):08x}-4e1a-4b2c-9d3e-{rng.randrange(16**12):012x}",
    )


def _finding(spec, account: str, region: str, arn: str, rng) -> Finding:
    status = rng.choices(
        [s for s, _ in STATUS_WEIGHTS], weights=[w for _, w in STATUS_WEIGHTS]
    )[0]
    short = arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    if spec.granularity in ("account", "region"):
        short = arn
    kind = spec.granularity
    if status is Status.PASS:
        message = f"The {kind} {short} in {region} meets the check: {spec.title}."
    elif status is Status.FAIL:
        message = (
            f"The {kind} {short} in account {account}, {region}, does not meet "
            f"the check: {spec.title}."
        )
    elif status is Status.ERROR:
        message = (
            f"{spec.permissions[0]} failed with AccessDenied in {region}, so the "
            f"{kind} {short} could not be evaluated."
        )
    else:
        message = f"No {kind} in {region} is in scope for this check."
    evidence = {
        "name": short,
        "region": region,
        "tags": {"owner": rng.choice(OWNERS), "environment": "prod"},
        "configuration": {
            "encrypted": status is not Status.FAIL,
            "rules": [
                {"port": port, "cidr": "10.0.0.0/8"}
                for port in rng.sample((22, 443, 3389, 5432, 8080), rng.randint(0, 3))
            ],
        },
    }
    if status is Status.ERROR:
        evidence = {"error_code": "AccessDenied", "operation": spec.permissions[0]}
    observed = FINISHED - timedelta(seconds=rng.randint(0, 2400))
    return Finding(
        check_id=spec.check_id,
        account_id=account,
        region=region,
        resource_id=arn,
        status=status,
        message=message,
        evidence=evidence,
        observed_at=observed.isoformat(),
    )


def make_cloudtrail(controls: list[dict], rng: random.Random) -> tuple[list, dict]:
    """Return the excerpt rows and the run.json summary for controls with selectors."""
    watched = [c for c in controls if c["cloudtrail"]]
    per_control = CLOUDTRAIL_EVENTS // len(watched)
    rows = []
    summary = {}
    for index, control in enumerate(watched):
        source, name = EVENT_NAMES[index % len(EVENT_NAMES)]
        event_count = per_control + (
            CLOUDTRAIL_EVENTS % len(watched) if index == 0 else 0
        )
        for n in range(event_count):
            account = rng.choice(ACCOUNTS)
            when = STARTED - timedelta(minutes=7 * n + rng.randint(0, 6))
            failed = rng.random() < 0.1
            rows.append(
                {
                    "control_id": control["id"],
                    "account_id": account,
                    "event_time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "event_source": source,
                    "event_name": name,
                    "region": rng.choice(REGIONS),
                    "principal_type": "AssumedRole",
                    "principal": f"arn:aws:sts::{account}:assumed-role/"
                    f"PlatformAdmin/user{rng.randint(1, 80)}@example.com",
                    "source_ip": f"198.51.100.{rng.randint(1, 254)}",
                    "resource": f"arn:aws:iam::{account}:role/{rng.choice(NAME_PARTS)}",
                    "error_code": "AccessDenied" if failed else "",
                    "mfa_used": "true",
                    "access_key_id": "ASIA…WXYZ",
                    "event_id": f"{rng.randrange(16**32):032x}",
                }
            )
        summary[control["id"]] = {
            "total": event_count + rng.choice((0, 0, 120, 900)),
            "shown": event_count,
            "errors": [],
        }
    period_start = STARTED - timedelta(days=30)
    return rows, {
        "source": "lookup",
        "period_start": period_start.isoformat(),
        "period_end": STARTED.isoformat(),
        "controls": summary,
    }


def exceptions_yaml() -> str:
    """Return an exceptions file: two active exceptions and one expired."""
    return f"""\
exceptions:
  - id: EXC-101
    check: aws.ec2.sg_no_public_ssh
    resource: "arn:aws:ec2:*:{ACCOUNTS[3]}:security-group/*"
    justification: Bastion account, replaced by Session Manager next quarter.
    approved_by: Head of Security Assurance
    approved_at: "2026-09-01"
    expires: "2027-03-31"
  - id: EXC-102
    check: aws.s3.kms_encryption
    resource: "arn:aws:s3:::statements-*"
    justification: Archive buckets are re-keyed by the migration project.
    approved_by: Head of Security Assurance
    approved_at: "2026-01-15"
    expires: "2026-06-30"
  - id: EXC-103
    check: aws.iam.access_key_rotated
    resource: "arn:aws:iam::{ACCOUNTS[5]}:user/*"
    justification: Legacy integration keys, rotated by the vendor each year.
    approved_by: Head of Security Assurance
    approved_at: "2026-10-01"
    expires: "2027-10-01"
"""


def attestation_yaml(control: dict) -> bytes:
    """Return the attestation file of a manual control."""
    return (
        "attested_by: Data Protection Officer\n"
        'attested_at: "2026-10-01"\n'
        f"summary: The owner reviewed {control['id']} and filed the records.\n"
        f"documents: [records/{control['id'].lower()}-2026.pdf]\n"
    ).encode()


if __name__ == "__main__":
    main()
