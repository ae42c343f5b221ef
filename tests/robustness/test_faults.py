"""Collect every check while AWS throttles, denies, times out and rejects a region.

One module-scoped fixture seeds the demo's production account on a moto
server on 127.0.0.1, collects it once cleanly and once through the CLI with
faults injected by botocore event hooks, and renders the faulty run. The
tests then compare the two runs scope by scope: a scope that met a fault
must show it as ERROR with the AWS error code, and every other scope must
match the clean run finding for finding.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from pathlib import Path

import boto3
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from auditbook.checks.context import GLOBAL_REGION
from auditbook.checks.registry import Scope, load_checks
from auditbook.controls import load_library
from auditbook.demo import environment as demo
from auditbook.evidence import EvidenceStore
from auditbook.models import Finding, Status
from tests.robustness.conftest import moto_server, run_cli, write_project
from tests.robustness.faults import (
    ACCESS_DENIED,
    REGION_NOT_ENABLED,
    THROTTLING,
    FaultInjector,
    FaultPlan,
    ScopeTracker,
    injected_codes,
)

PRODUCTION = demo.PRODUCTION_ACCOUNT
# A second account, reached by assuming a role, whose AssumeRole is denied.
DENIED_ACCOUNT = demo.SANDBOX_ACCOUNT

# eu-south-1 (Milan) is an opt-in region, so an account may not have enabled it.
DISABLED_REGION = "eu-south-1"
REGIONS = ("eu-west-2", "eu-west-1", DISABLED_REGION)

# Listings that several checks share are throttled on their first attempt and
# recover on the retry. DescribeDBInstances is throttled on every attempt, and
# AssumeRole into the second account is denied.
PLAN = FaultPlan(
    denied_services=frozenset({"kms"}),
    denied_operations=frozenset({"sts:AssumeRole"}),
    disabled_region=DISABLED_REGION,
    throttled_once=frozenset(
        {
            "ec2:DescribeSecurityGroups",
            "iam:ListUsers",
            "s3:ListBuckets",
            "logs:DescribeLogGroups",
            "cloudtrail:DescribeTrails",
        }
    ),
    throttled_always=frozenset({"rds:DescribeDBInstances"}),
    timeouts=frozenset({("ec2:DescribeVolumes", "eu-west-1")}),
)

Row = tuple[str, str, str, str, str, str]
ScopeKey = tuple[str, str, str]


def seed_production_account(state) -> None:
    """Seed the demo's production account: resources that pass and fail."""
    session = boto3.Session(region_name=REGIONS[0])
    for name in demo.SEED_MODULES:
        module = importlib.import_module(f"auditbook.demo.{name}")
        module.seed(session, demo.PRODUCTION_ACCOUNT, "production")
    # moto creates a region's default VPC on first use; creating them now
    # keeps both collections reading the same VPCs.
    for region in REGIONS:
        session.client("ec2", region_name=region).describe_vpcs()
    demo.seed_extension_state(state)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    options = {
        "organisation": "Fault Injection Ltd",
        "regions": list(REGIONS),
        "approved_regions": list(REGIONS),
        "cloudtrail": {"source": "off"},
    }
    # The clean run collects the production account only, because the second
    # account is never reachable in the faulty run.
    clean_config = write_project(root / "project", options, "clean.yml")
    accounts = [
        {"id": PRODUCTION, "name": "production"},
        {"id": DENIED_ACCOUNT, "name": "sandbox", "role_name": demo.SANDBOX_ROLE},
    ]
    config = write_project(root / "project", {**options, "accounts": accounts})
    clean_dir, faulty_dir, site = root / "clean", root / "faulty", root / "site"
    tracker = ScopeTracker()
    injector = FaultInjector(PLAN, scope=tracker.current)

    class FaultySession(boto3.session.Session):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            injector.install(self)

    patches = pytest.MonkeyPatch()
    with moto_server() as state:
        try:
            seed_production_account(state)
            clean = run_cli(
                "--quiet", "-c", str(clean_config), "collect", "--out", str(clean_dir)
            )

            tracker.install(patches)
            patches.setattr(boto3, "Session", FaultySession)
            faulty = run_cli(
                "--quiet", "-c", str(config), "collect", "--out", str(faulty_dir)
            )
        finally:
            patches.undo()

    rendered = run_cli(
        "--quiet",
        "-c",
        str(config),
        "render",
        "--evidence",
        str(faulty_dir),
        "--site-dir",
        str(site),
    )
    return {
        "clean": clean,
        "faulty": faulty,
        "rendered": rendered,
        "clean_findings": EvidenceStore(clean_dir).open().findings(),
        "faulty_run": EvidenceStore(faulty_dir).open(),
        "faulty_findings": EvidenceStore(faulty_dir).open().findings(),
        "affected": affected_scopes(tracker, injector),
        "injector": injector,
        "site": site,
        "config": config,
    }


def affected_scopes(tracker: ScopeTracker, injector: FaultInjector) -> set[ScopeKey]:
    """Return every check scope that received a failure the injector caused."""
    codes = injected_codes()
    scopes = {
        scope
        for scope, failures in tracker.failures.items()
        if any(code in codes for _, code in failures)
    }
    scopes.update(scope for scope in injector.fatal_scopes if scope is not None)
    return scopes


def scope_of(finding: Finding) -> ScopeKey:
    """Return the check scope that produced a finding."""
    spec = load_checks()[finding.check_id]
    region = GLOBAL_REGION if spec.scope == Scope.ACCOUNT else finding.region
    return (finding.check_id, finding.account_id, region)


def row(finding: Finding) -> Row:
    return (
        finding.check_id,
        finding.account_id,
        finding.region,
        finding.resource_id,
        finding.status.value,
        finding.message,
    )


def rows_by_scope(findings: list[Finding]) -> dict[ScopeKey, set[Row]]:
    scopes: dict[ScopeKey, set[Row]] = {}
    for finding in findings:
        scopes.setdefault(scope_of(finding), set()).add(row(finding))
    return scopes


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.status == Status.ERROR]


def text_of_pdf(path: Path, pages: int | None = None) -> str:
    reader = PdfReader(path)
    selected = reader.pages[:pages] if pages else reader.pages
    return " ".join(" ".join(page.extract_text().split()) for page in selected)


def test_clean_run_has_no_errors(runs):
    assert runs["clean"].code == 1
    assert errors(runs["clean_findings"]) == []


def test_every_check_collected(runs):
    library = load_library(runs["config"].parent / "controls")
    referenced = set(library.check_ids())

    assert referenced == set(load_checks())
    assert {f.check_id for f in runs["faulty_findings"]} == referenced


def test_faulty_run_finishes_with_exit_two(runs):
    faulty = runs["faulty"]

    assert faulty.code == 2
    assert "evidence run" in faulty.out
    assert "finding(s) are ERROR: the evidence is incomplete" in faulty.err
    assert runs["faulty_run"].verify() == []


def test_every_fault_was_injected(runs):
    kinds = Counter()
    for (kind, _), count in runs["injector"].injected.items():
        kinds[kind] += count

    assert set(kinds) == {"denied", "region", "throttled", "timeout"}


def test_throttled_listings_recovered(runs):
    injected = runs["injector"].injected
    failed_operations = {
        f.evidence.get("operation")
        for f in errors(runs["faulty_findings"])
        if f.region != DISABLED_REGION
    }

    for operation in sorted(PLAN.throttled_once):
        assert injected[("throttled", operation)] > 0, operation
        assert operation not in failed_operations, operation


def test_errors_carry_injected_code(runs):
    codes = injected_codes()
    found = errors(runs["faulty_findings"])

    assert found
    for finding in found:
        assert finding.evidence.get("error_code") in codes, row(finding)
        assert finding.evidence["error_code"] in finding.message, row(finding)


def test_throttling_after_retries_is_error(runs):
    code = THROTTLING["query"][0]
    rds = [
        f
        for f in runs["faulty_findings"]
        if f.check_id.startswith("aws.rds.")
        and f.account_id == PRODUCTION
        and f.region != DISABLED_REGION
    ]

    assert rds
    for finding in rds:
        assert finding.status == Status.ERROR, row(finding)
        assert finding.evidence["error_code"] == code, row(finding)


def test_denied_service_is_error(runs):
    code = ACCESS_DENIED["json"][0]
    kms = [
        f
        for f in runs["faulty_findings"]
        if f.check_id.startswith("aws.kms.") and f.account_id == PRODUCTION
    ]

    assert kms
    for finding in kms:
        assert finding.status == Status.ERROR, row(finding)
        expected = (
            REGION_NOT_ENABLED["json"][0] if finding.region == DISABLED_REGION else code
        )
        assert finding.evidence["error_code"] == expected, row(finding)


def test_disabled_region_is_all_errors(runs):
    codes = {code for code, _ in REGION_NOT_ENABLED.values()}
    in_region = [f for f in runs["faulty_findings"] if f.region == DISABLED_REGION]
    collected = {
        f.check_id for f in runs["clean_findings"] if f.region == DISABLED_REGION
    }

    # Account-scope checks that list a resource in every region add an ERROR
    # for the region, where the clean run had nothing to report.
    assert collected <= {f.check_id for f in in_region}
    for finding in in_region:
        assert finding.status == Status.ERROR, row(finding)
        assert finding.evidence["error_code"] in codes, row(finding)


def test_denied_account_is_all_errors(runs):
    code = ACCESS_DENIED["query"][0]
    denied = [f for f in runs["faulty_findings"] if f.account_id == DENIED_ACCOUNT]

    assert sorted(f.check_id for f in denied) == sorted(load_checks())
    for finding in denied:
        assert finding.status == Status.ERROR, row(finding)
        assert finding.evidence["error_code"] == code, row(finding)
        assert finding.evidence["operation"] == "sts:AssumeRole", row(finding)
    assert runs["faulty_run"].metadata["account_errors"][0]["code"] == code


def test_timeout_is_error(runs):
    volumes = [
        f
        for f in runs["faulty_findings"]
        if f.check_id == "aws.ec2.ebs_volume_encrypted"
        and f.account_id == PRODUCTION
        and f.region == "eu-west-1"
    ]

    assert len(volumes) == 1
    assert volumes[0].status == Status.ERROR
    assert volumes[0].evidence["error_code"] == "ReadTimeoutError"
    assert volumes[0].evidence["operation"] == "ec2:DescribeVolumes"


def test_every_affected_scope_has_error(runs):
    faulty = rows_by_scope(runs["faulty_findings"])

    assert runs["affected"]
    for scope in sorted(runs["affected"]):
        statuses = {status for *_, status, _ in faulty.get(scope, set())}
        assert "ERROR" in statuses, scope


def test_affected_scopes_change_only_to_error(runs):
    clean = rows_by_scope(runs["clean_findings"])

    for finding in runs["faulty_findings"]:
        scope = scope_of(finding)
        if scope not in runs["affected"] or finding.status == Status.ERROR:
            continue
        assert row(finding) in clean.get(scope, set()), row(finding)


def test_unaffected_scopes_unchanged(runs):
    clean = rows_by_scope(runs["clean_findings"])
    faulty = rows_by_scope(runs["faulty_findings"])
    unaffected = set(clean) - runs["affected"]

    assert len(unaffected) > len(runs["affected"])
    for scope in sorted(unaffected):
        assert faulty.get(scope) == clean[scope], scope


def test_render_succeeds(runs):
    assert runs["rendered"].code == 0


def test_pdf_summary_says_incomplete(runs):
    count = len(errors(runs["faulty_findings"]))
    text = text_of_pdf(runs["site"] / "audit-pack.pdf", pages=4)

    assert "Evidence is incomplete." in text
    assert f"{count} findings are ERROR" in text
    assert f"Accounts that could not be collected: {DENIED_ACCOUNT}" in text


def test_pdf_lists_error_codes(runs):
    text = text_of_pdf(runs["site"] / "audit-pack.pdf")

    for code in ("AccessDeniedException", "ReadTimeoutError", "Throttling"):
        assert f"failed with {code}" in text, code


def test_workbook_lists_every_error(runs):
    workbook = load_workbook(runs["site"] / "evidence.xlsx", read_only=True)
    rows = list(workbook["Findings"].iter_rows(values_only=True))
    status = rows[0].index("Status")
    summary = [r for r in workbook["Summary"].iter_rows(values_only=True) if r]

    error_rows = [r for r in rows[1:] if r[status] == "ERROR"]
    assert len(error_rows) == len(errors(runs["faulty_findings"]))
    assert any(r[0] == "Incomplete evidence" for r in summary)


def test_dashboard_counts_errors(runs):
    count = len(errors(runs["faulty_findings"]))
    html = (runs["site"] / "index.html").read_text(encoding="utf-8")

    tile = re.search(
        r'ab-tile--error"><span class="ab-tile__count">([\d,]+)</span>', html
    )
    assert tile is not None
    assert int(tile.group(1).replace(",", "")) == count


def test_dashboard_says_incomplete(runs):
    count = len(errors(runs["faulty_findings"]))
    html = (runs["site"] / "index.html").read_text(encoding="utf-8")

    assert "<strong>Evidence is incomplete.</strong>" in html
    assert f"{count:,} findings are ERROR" in html
    assert 'href="controls/data/data-06/">DATA-06</a>' in html
    assert f"Accounts that could not be collected: {DENIED_ACCOUNT} (" in html


def test_control_page_shows_error_code(runs):
    [page] = (runs["site"] / "controls").glob("*/data-06/index.html")
    html = page.read_text(encoding="utf-8")

    assert "ab-badge--error" in html
    assert "kms:ListKeys failed with AccessDeniedException" in html
