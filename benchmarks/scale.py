"""Benchmark: collect and render a large account served by a moto server.

Starts ``moto_server`` in its own process on 127.0.0.1 and seeds one account.
The account has 5,000 security groups, one in ten open to SSH from anywhere,
2,000 S3 buckets, one in four tagged as confidential, and 1,000 IAM users with
an access key each. Seeding time is not measured. Then every check the
repository's controls reference is collected in eu-west-2 into an evidence
run, and the site, the PDF and the workbook are rendered from it.

Each step runs in a fresh Python process, so the peak resident memory printed
(``ru_maxrss``) belongs to that step alone, and the moto server's memory is
not counted. Times include reading the evidence run and building the report,
but not starting Python or importing modules.

Run: .venv/bin/python benchmarks/scale.py [--security-groups N] [--buckets N]
     [--users N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
REGION = "eu-west-2"
STEPS = ("collect", "site", "pdf", "workbook")

# The target from the scale requirement: every step under 1 GB resident.
MEMORY_TARGET_MB = 1024

# moto accepts any number of groups per VPC; AWS's default quota is 2,500,
# so the groups are spread over VPCs as a real account would need.
GROUPS_PER_VPC = 1000

# Fake credentials for the local moto server; they mean nothing elsewhere.
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_RETRY_MODE": "standard",
    "AWS_MAX_ATTEMPTS": "3",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_CONFIG_FILE": "/nonexistent",
}

CONFIG = f"""\
site_name: scale
docs_dir: site_src
theme:
  name: material
  font: false
extra_css: [assets/auditbook.css]
markdown_extensions:
  - admonition
  - attr_list
  - tables
  - pymdownx.details
  - pymdownx.superfences
plugins:
  - search
  - auditbook:
      organisation: Scale Benchmark Ltd
      regions: [{REGION}]
      cloudtrail: {{source: "off"}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--security-groups", type=int, default=5000)
    parser.add_argument("--buckets", type=int, default=2000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="write the project here and keep it")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.step:
        print(json.dumps(run_step(args.step, args.project)))
        return

    root = args.keep or Path(tempfile.mkdtemp(prefix="auditbook-scale-"))
    project = write_project(root)
    port = free_port()
    server = start_server(port)
    try:
        environment = {
            **os.environ,
            **ENVIRONMENT,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        }
        os.environ.update(environment)
        began = time.perf_counter()
        seed(args.security_groups, args.buckets, args.users)
        print(
            f"seeded {args.security_groups} security groups, {args.buckets} buckets "
            f"and {args.users} users in {time.perf_counter() - began:.0f} s "
            "(not measured)"
        )
        results = {step: run_child(step, project, environment) for step in STEPS}
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)

    report(results)


def write_project(root: Path) -> Path:
    project = root / "project"
    shutil.copytree(REPOSITORY / "controls", project / "controls")
    shutil.copytree(REPOSITORY / "site_src", project / "site_src")
    (project / "mkdocs.yml").write_text(CONFIG, encoding="utf-8")
    return project


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1"]
        + ["-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/moto-api/data.json", timeout=2
            ):
                return server
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"moto_server did not respond on 127.0.0.1:{port} in 60 s")


def seed(groups: int, buckets: int, users: int) -> None:
    import boto3

    session = boto3.Session(region_name=REGION)
    ec2 = session.client("ec2")
    s3 = session.client("s3")
    iam = session.client("iam")

    vpcs = [
        ec2.create_vpc(CidrBlock=f"10.{n}.0.0/16")["Vpc"]["VpcId"]
        for n in range((groups + GROUPS_PER_VPC - 1) // GROUPS_PER_VPC)
    ]

    def create_group(n: int) -> None:
        group = ec2.create_security_group(
            GroupName=f"app-{n:05d}",
            Description=f"application tier {n}",
            VpcId=vpcs[n // GROUPS_PER_VPC],
        )
        source = "0.0.0.0/0" if n % 10 == 0 else "10.0.0.0/8"
        ec2.authorize_security_group_ingress(
            GroupId=group["GroupId"],
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 22,
                    "ToPort": 22,
                    "IpRanges": [{"CidrIp": source}],
                }
            ],
        )

    def create_bucket(n: int) -> None:
        name = f"scale-bucket-{n:05d}"
        s3.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        if n % 4 == 0:
            s3.put_bucket_tagging(
                Bucket=name,
                Tagging={
                    "TagSet": [{"Key": "data-classification", "Value": "confidential"}]
                },
            )

    def create_user(n: int) -> None:
        name = f"user-{n:05d}"
        iam.create_user(UserName=name)
        iam.create_access_key(UserName=name)

    # One call at a time: concurrent writes to moto_server's EC2 backend
    # fail with HTTP 500 (moto 5.2).
    for job, count in (
        (create_group, groups),
        (create_bucket, buckets),
        (create_user, users),
    ):
        for n in range(count):
            job(n)


def run_child(step: str, project: Path, environment: dict[str, str]) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--step", step, "--project", str(project)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"step {step} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_step(step: str, project: Path) -> dict:
    """Run one step in this process and return its time and peak memory."""
    import logging

    from auditbook.checks.registry import load_checks
    from auditbook.config import load_settings
    from auditbook.controls import load_library
    from auditbook.evidence import EvidenceStore
    from auditbook.pipeline import collect_run, select_checks
    from auditbook.render.excel import write_workbook
    from auditbook.render.pdf import write_pdf
    from auditbook.report import build_report
    from auditbook.site.build import build_site

    logging.basicConfig(level=logging.WARNING)
    config = project / "mkdocs.yml"
    settings = load_settings(config)
    registry = load_checks()
    library = load_library(settings.controls_dir, set(registry))
    store = EvidenceStore(settings.evidence_dir)
    out = project / "site"

    began = time.perf_counter()
    cpu_began = _cpu_seconds()
    detail: dict = {}
    if step == "collect":
        checks = select_checks(library, registry, settings)
        run = collect_run(settings, library, checks, store)
        detail = {
            "checks": len(checks),
            "findings": sum(run.metadata["status_counts"].values()),
            "api_calls": run.metadata["api_calls"]["total"],
        }
    elif step == "site":
        build_site(config, out, settings, store.open())
        detail = {"pages": sum(1 for _ in out.rglob("index.html"))}
    else:
        report = build_report(settings, library.controls, registry, store.open())
        if step == "pdf":
            path = write_pdf(report, out / settings.pdf_filename)
        else:
            path = write_workbook(report, out / settings.workbook_filename)
        detail = {"bytes": path.stat().st_size}
    seconds = time.perf_counter() - began
    cpu = _cpu_seconds() - cpu_began

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "cpu": cpu, "peak_mb": peak_kib / 1024, **detail}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(results: dict[str, dict]) -> None:
    # CPU seconds are this process's own; during collection the rest of the
    # wall time is spent waiting for moto_server.
    print(f"{'step':<10} {'seconds':>8} {'CPU s':>8} {'peak MB':>8}  detail")
    for step, result in results.items():
        detail = ", ".join(
            f"{key} {value:,}"
            for key, value in result.items()
            if key not in ("seconds", "cpu", "peak_mb")
        )
        flag = "" if result["peak_mb"] < MEMORY_TARGET_MB else "  OVER 1 GB"
        print(
            f"{step:<10} {result['seconds']:>8.1f} {result['cpu']:>8.1f} "
            f"{result['peak_mb']:>8.0f}  {detail}{flag}"
        )


if __name__ == "__main__":
    main()
