"""The "Since last run" page and the history strip on control pages."""

from __future__ import annotations

import shutil
from pathlib import Path

from auditbook.checks.registry import load_checks
from auditbook.config import load_settings
from auditbook.controls import load_library
from auditbook.evidence import EvidenceStore
from auditbook.models import Status
from auditbook.pipeline import collect_run, select_checks
from tests.site.conftest import (
    FINDINGS,
    HOSTILE,
    METADATA,
    RUN_ID,
    SSH,
    finding,
    read_page,
    sg_arn,
    write_config,
)
from tests.site.test_plugin import parse

NEXT_RUN_ID = "20261205T153000.000Z-4ab3d2"
NEXT_METADATA = {
    **METADATA,
    "started_at": "2026-12-05T15:30:00Z",
    "finished_at": "2026-12-05T15:31:10Z",
}
HOSTILE_ID = "../../sg-0bad/<img src=x onerror=alert(1)>"

# The second run: sg-0aaa now admits SSH, sg-0ccc is closed, sg-0ddd is gone
# and a hostile resource id fails for the first time.
NEXT_FINDINGS = [
    FINDINGS[0],
    FINDINGS[1],
    finding(SSH, sg_arn("sg-0aaa"), Status.FAIL, "sg-0aaa admits SSH from ::/0."),
    FINDINGS[3],
    finding(SSH, sg_arn("sg-0ccc"), Status.PASS, "sg-0ccc admits no SSH."),
    finding(SSH, HOSTILE_ID + "-2", Status.FAIL, HOSTILE),
    FINDINGS[6],
]


def section(html: str, anchor: str) -> str:
    """Return the HTML of one section of the changes page, up to the next heading."""
    start = html.index(f'<h2 id="{anchor}"')
    end = html.find("<h2", start + 1)
    return html[start : end if end != -1 else len(html)]


def row_of(html: str, text: str) -> str:
    """Return the table row that contains the text."""
    position = html.index(text)
    return html[html.rindex("<tr>", 0, position) : html.index("</tr>", position)]


def strip_badges(html: str) -> list[str]:
    """Return the badge texts of a control page's history strip, in order."""
    strip = html[html.index('class="ab-history"') :]
    strip = strip[: strip.index("</ol>")]
    return [text.strip() for text in parse(strip, "ab-badge").texts]


def test_changes_page_lists_new_failure(write_run, build_site):
    write_run()
    write_run(NEXT_FINDINGS, NEXT_METADATA, NEXT_RUN_ID)
    site = build_site()

    html = read_page(site, "changes")
    failures = section(html, "new-failures")

    assert sg_arn("sg-0aaa") in failures
    assert "sg-0aaa admits SSH from ::/0." in failures
    assert 'href="../controls/network/net-01/"' in failures
    row = row_of(failures, sg_arn("sg-0aaa"))
    assert row.index("ab-badge--pass") < row.index("ab-badge--fail")
    assert RUN_ID in html
    assert NEXT_RUN_ID in html


def test_changes_page_lists_each_kind(write_run, build_site):
    write_run()
    write_run(NEXT_FINDINGS, NEXT_METADATA, NEXT_RUN_ID)
    site = build_site()

    html = read_page(site, "changes")

    assert sg_arn("sg-0ccc") in section(html, "fixed")
    assert sg_arn("sg-0ddd") in section(html, "removed-resources")
    assert "None." in section(html, "other-changes")
    assert sg_arn("sg-0aaa") not in section(html, "new-resources")
    assert sg_arn("sg-0ddd") not in section(html, "new-failures")


def test_changes_page_escapes_resource_ids(write_run, build_site):
    write_run()
    write_run(NEXT_FINDINGS, NEXT_METADATA, NEXT_RUN_ID)
    site = build_site()

    html = read_page(site, "changes")
    resources = parse(section(html, "new-resources"), "ab-findings__resource").texts

    assert HOSTILE_ID + "-2" in resources
    assert "<img src=x" not in html
    assert "<script>alert(1)" not in html
    assert "javascript:" not in "".join(parse(html).hrefs)


def test_first_run_says_no_previous(write_run, build_site):
    write_run()
    site = build_site()

    html = read_page(site, "changes")

    assert "is the first run in this evidence folder" in html
    assert 'id="new-failures"' not in html


def test_changes_without_run_not_collected(build_site):
    site = build_site()

    assert "Not yet collected" in read_page(site, "changes")
    assert "ab-history" not in read_page(site, "controls/network/net-01")


def test_missing_previous_run_is_reported(project, write_run, build_site):
    write_run()
    write_run(NEXT_FINDINGS, NEXT_METADATA, NEXT_RUN_ID)
    shutil.rmtree(project / "evidence" / "runs" / RUN_ID)
    site = build_site()

    changes = read_page(site, "changes")
    control = read_page(site, "controls/network/net-01")

    assert f"names <code>{RUN_ID}</code> as its previous run" in changes
    assert "cannot be compared" in changes
    assert str(project) not in changes
    assert strip_badges(control) == ["NOT READABLE", "FAIL"]
    assert str(project) not in control


def test_history_strip_below_banner(write_run, build_site):
    write_run()
    write_run(NEXT_FINDINGS, NEXT_METADATA, NEXT_RUN_ID)
    site = build_site()

    html = read_page(site, "controls/identity/iam-01")

    assert html.index("ab-banner") < html.index("ab-history")
    assert html.index("ab-history") < html.index('<h2 id="requirement"')
    assert strip_badges(html) == ["PASS", "PASS"]
    assert "2026-12-04 15:31 UTC" in html
    assert "2026-12-05 15:31 UTC" in html
    assert 'href="../../../changes/"' in html


def test_history_respects_runs_option(project, write_run, build_site):
    write_config(project, {"history": {"runs": 1}})
    write_run()
    write_run(NEXT_FINDINGS, NEXT_METADATA, NEXT_RUN_ID)
    site = build_site()

    html = read_page(site, "controls/network/net-01")

    assert strip_badges(html) == ["FAIL"]
    assert f"Evidence run {NEXT_RUN_ID}" in html
    assert f"Evidence run {RUN_ID}" not in html


def test_nav_links_changes_page(write_run, build_site):
    write_run()
    site = build_site()

    html = read_page(site, ".")
    nav = html[html.index("md-nav--primary") : html.index("<article")]

    assert "Since last run" in nav
    assert nav.index("Since last run") < nav.index("Evidence run")


def test_changed_security_group_shows_on_site(project, aws, build_site):
    """Collect twice against moto with a security group opened in between."""
    write_config(project, {"cloudtrail": {"source": "off"}})
    settings = load_settings(project / "mkdocs.yml")
    registry = load_checks()
    library = load_library(settings.controls_dir, set(registry))
    checks = select_checks(library, registry, settings, [SSH])
    store = EvidenceStore(settings.evidence_dir)

    ec2 = aws.client("ec2", region_name="eu-west-2")
    group = ec2.create_security_group(GroupName="web", Description="web servers")
    group_id = group["GroupId"]
    first = collect_run(settings, library, checks, store, ["eu-west-2"], aws)

    ec2.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    second = collect_run(settings, library, checks, store, ["eu-west-2"], aws)
    site = build_site()

    changes = read_page(site, "changes")
    failures = section(changes, "new-failures")
    control = read_page(site, "controls/network/net-01")
    account = aws.client("sts").get_caller_identity()["Account"]
    arn = f"arn:aws:ec2:eu-west-2:{account}:security-group/{group_id}"

    assert second.metadata["previous_run_id"] == first.run_id
    assert arn in failures
    assert 'href="../controls/network/net-01/"' in failures
    assert "None." in section(changes, "fixed")
    assert strip_badges(control) == ["PASS", "FAIL"]
    assert f"Evidence run {first.run_id}" in control
    assert f"Evidence run {second.run_id}" in control


def test_site_build_reads_history_from_run_store(tmp_path: Path, project, write_run):
    """A run rendered from another folder (``--out``) takes history from there."""
    from auditbook.site.build import build_site as build_for_run

    write_run()
    write_run(NEXT_FINDINGS, NEXT_METADATA, NEXT_RUN_ID)
    moved = tmp_path / "elsewhere"
    shutil.move(project / "evidence", moved)
    settings = load_settings(project / "mkdocs.yml")
    run = EvidenceStore(moved).open()

    site = build_for_run(project / "mkdocs.yml", tmp_path / "out", settings, run)

    assert sg_arn("sg-0aaa") in section(read_page(site, "changes"), "new-failures")
