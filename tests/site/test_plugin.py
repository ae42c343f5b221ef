"""Build real sites in a temporary folder and read the HTML a visitor gets."""

from __future__ import annotations

import csv
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from mkdocs.config import load_config
from mkdocs.exceptions import Abort, PluginError

from auditbook.config import config_schema, load_settings
from auditbook.evidence import EXCEPTIONS_FILE, FINDINGS_FILE, EvidenceStore
from auditbook.models import Status
from auditbook.site.plugin import AuditbookConfig, AuditbookPlugin
from tests.site.conftest import (
    FINDINGS,
    HOSTILE,
    METADATA,
    RUN_ID,
    SSH,
    finding,
    read_json,
    read_page,
    sg_arn,
    write_config,
)


class _Collector(HTMLParser):
    """Collect the text of elements with a given class, and every href."""

    def __init__(self, css_class: str = "") -> None:
        super().__init__(convert_charrefs=True)
        self.css_class = css_class
        self.texts: list[str] = []
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        self.tags.append(tag)
        if "href" in attributes:
            self.hrefs.append(attributes["href"] or "")
        if self._depth:
            self._depth += 1
        elif self.css_class and self.css_class in (attributes.get("class") or ""):
            self._depth = 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.texts[-1] += data


def parse(html: str, css_class: str = "") -> _Collector:
    """Parse HTML and return the texts of elements with the class, and the links."""
    collector = _Collector(css_class)
    collector.feed(html)
    return collector


def table_rows(html: str) -> int:
    """Count the rows of the findings tables on a page."""
    return sum(
        block.count("<tr>") - 1
        for block in re.findall(r"ab-findings.*?</table>", html, re.S)
    )


def test_control_page_shows_fail_finding(write_run, build_site):
    write_run()
    site = build_site()

    html = read_page(site, "controls/network/net-01")

    assert sg_arn("sg-0ccc") in html
    assert "sg-0ccc admits SSH from 0.0.0.0/0." in html
    assert "ab-badge--fail" in html
    assert "No security group opens SSH to the internet" in html


def test_control_page_has_verdict_banner(write_run, build_site):
    write_run()
    site = build_site()

    html = read_page(site, "controls/network/net-01")
    banner = html.index("ab-banner")

    assert banner < html.index('<h2 id="requirement"')
    assert "Control verdict" in html
    assert RUN_ID in html
    assert 'href="../../identity/iam-01/"' in html


def test_dashboard_lists_failing_control_first(write_run, build_site):
    write_run()
    site = build_site()

    html = read_page(site, ".")
    table = html[html.index('id="controls-failing-first"') :]

    assert table.index('href="controls/network/net-01/"') < table.index(
        'href="controls/identity/iam-01/"'
    )


def test_dashboard_totals_by_status(write_run, build_site):
    write_run()
    site = build_site()

    tiles = parse(read_page(site, "."), "ab-tile ").texts

    assert "2FAIL" in tiles
    assert "5PASS" in tiles


def test_no_run_says_not_yet_collected(build_site):
    site = build_site()

    control = read_page(site, "controls/network/net-01")
    home = read_page(site, ".")
    run = read_page(site, "run")

    assert "Not yet collected" in control
    assert "Not yet collected" in home
    assert "Not yet collected" in run
    assert "ab-findings" not in control
    assert not (site / "findings").exists()


def test_missing_check_says_not_yet_collected(write_run, build_site):
    write_run([f for f in FINDINGS if f.check_id != SSH])
    site = build_site()

    html = read_page(site, "controls/network/net-01")

    assert f"Not yet collected: evidence run <code>{RUN_ID}</code>" in html


def test_hostile_message_is_inert(write_run, build_site):
    write_run()
    site = build_site()

    html = read_page(site, "controls/network/net-01")
    messages = parse(html, "ab-findings__text").texts
    evidence = parse(html, "ab-evidence").texts

    assert HOSTILE in messages
    assert any(HOSTILE in text for text in evidence)
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "<strong>bold" not in html
    assert "javascript:" not in "".join(parse(html).hrefs)
    assert not any("49" in text for text in messages)


def test_hostile_caller_arn_is_escaped(write_run, build_site):
    write_run()
    site = build_site()

    html = read_page(site, "run")

    assert "<b>auditor</b>" not in html
    assert "user/&lt;b&gt;auditor&lt;/b&gt;" in html


def test_table_capped_with_full_json(project, write_run, build_site):
    write_config(project, {"site": {"max_findings_per_table": 2}})
    write_run()
    site = build_site()

    html = read_page(site, "controls/network/net-01")
    document = read_json(site / "findings" / "net-01.json")

    assert table_rows(html) == 2
    assert "Showing the first 2 of 5 findings" in html
    assert 'href="../../../findings/net-01.json"' in html
    assert 'href="../../../findings/net-01.csv"' in html
    assert len(document["findings"]) == 5
    assert document["run_id"] == RUN_ID


def test_capped_table_shows_failures_first(project, write_run, build_site):
    write_config(project, {"site": {"max_findings_per_table": 2}})
    write_run()
    site = build_site()

    html = read_page(site, "controls/network/net-01")
    table = html[html.index("<tbody>") : html.index("</tbody>")]

    assert table.count("ab-badge--fail") == 2
    assert "ab-badge--pass" not in table


def test_findings_files_named_by_control_only(write_run, build_site):
    write_run()
    site = build_site()

    names = sorted(os.listdir(site / "findings"))
    every_path = [str(path.relative_to(site)) for path in site.rglob("*")]

    assert names == ["iam-01.csv", "iam-01.json", "net-01.csv", "net-01.json"]
    assert not any("sg-0bad" in path or "passwd" in path for path in every_path)


def test_findings_csv_lists_every_finding(write_run, build_site):
    write_run()
    site = build_site()

    with (site / "findings" / "net-01.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))

    failing = next(row for row in rows if row["resource_id"] == sg_arn("sg-0ccc"))
    assert len(rows) == sum(1 for f in FINDINGS if f.check_id == SSH)
    assert failing["status"] == "FAIL"
    assert failing["effective_status"] == "FAIL"
    assert failing["evidence"] == '{"cidr":"0.0.0.0/0","port":22}'


def test_findings_csv_neutralises_formulas(write_run, build_site):
    formula = '=HYPERLINK("http://x","y")'
    write_run(
        [
            *FINDINGS,
            finding(SSH, formula, Status.FAIL, "+cmd|' /C calc'!A0 admits SSH."),
        ]
    )
    site = build_site()

    with (site / "findings" / "net-01.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))

    row = next(row for row in rows if row["resource_id"].endswith(formula))
    assert row["resource_id"] == f"'{formula}"
    assert row["message"] == "'+cmd|' /C calc'!A0 admits SSH."
    assert row["check_id"] == SSH


def test_exceptions_shown_beside_status(project, build_site):
    exceptions = f"""\
exceptions:
  - id: EXC-001
    check: {SSH}
    resource: "{sg_arn("sg-0ccc")}"
    justification: Jump host until the migration ends.
    approved_by: Jane Smith, CISO
    approved_at: "2026-10-01"
    expires: "2027-01-31"
  - id: EXC-002
    check: {SSH}
    resource: "{sg_arn("sg-0eee")}"
    justification: Temporary access for a finished migration.
    approved_by: Jane Smith, CISO
    approved_at: "2026-06-01"
    expires: "2026-11-01"
"""
    expired = finding(SSH, sg_arn("sg-0eee"), Status.FAIL, "sg-0eee admits SSH.")
    store = EvidenceStore(project / "evidence")
    with store.lock():
        store.write_run(
            RUN_ID,
            [*FINDINGS, expired],
            METADATA,
            extra_files={EXCEPTIONS_FILE: exceptions.encode()},
        )
    site = build_site()

    cells = parse(read_page(site, "controls/network/net-01"), "ab-findings").texts
    text = " ".join(" ".join(cells).split())

    assert "FAIL EXCEPTED EXC-001, until 2027-01-31" in text
    assert "FAIL Exception EXC-002 expired on 2026-11-01" in text


@pytest.mark.parametrize("directory_urls", [True, False])
def test_internal_links_resolve(project, write_run, build_site, directory_urls):
    write_config(project, use_directory_urls=directory_urls)
    write_run()
    site = build_site()

    broken = []
    # Material's 404 page links from the site root by design.
    for page in set(site.rglob("*.html")) - {site / "404.html"}:
        for href in parse(page.read_text(encoding="utf-8")).hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {href}")

    assert broken == []


def test_run_page_shows_metadata(write_run, build_site):
    write_run()
    site = build_site()

    html = read_page(site, "run")

    assert RUN_ID in html
    assert "2026-12-04 15:30:00 UTC" in html
    assert "111122223333" in html
    assert "eu-west-2, eu-west-1" in html
    assert "0.1.0" in html
    assert "<td>4</td>" in html
    assert "ec2:DescribeSecurityGroups" in html
    assert FINDINGS_FILE in html


def test_framework_page_links_controls(write_run, build_site):
    write_run()
    site = build_site()

    html = read_page(site, "frameworks/cis-aws-3.0.0")

    assert "Ensure MFA is enabled for the &#39;root&#39; user account" in html
    assert 'href="../../controls/identity/iam-01/"' in html
    assert 'href="../../controls/network/net-01/"' in html


def test_nav_groups_controls_by_layer(write_run, build_site):
    write_run()
    site = build_site()

    html = read_page(site, "controls/identity/iam-01")
    nav = html[html.index("md-nav--primary") : html.index("<article")]

    assert nav.index("Identity") < nav.index("IAM-01") < nav.index("Network")
    assert nav.index("Network") < nav.index("NET-01")


def test_tampered_run_fails_strict_build(project, write_run, build_site):
    write_run()
    findings = project / "evidence" / "runs" / RUN_ID / FINDINGS_FILE
    findings.write_text(findings.read_text().replace("FAIL", "PASS"))

    with pytest.raises(Abort):
        build_site()


def test_broken_latest_stops_build(project, build_site, caplog):
    (project / "evidence").mkdir()
    (project / "evidence" / "latest").write_text("not-a-run\n")

    with pytest.raises(Abort):
        build_site()

    assert "'not-a-run', which is not a run id" in caplog.text


def test_invalid_option_stops_build(project, build_site, caplog):
    write_config(project, {"site": {"max_findings_per_table": 0}})

    with pytest.raises(Abort):
        build_site()

    assert "option 'site.max_findings_per_table' is invalid" in caplog.text


def test_invalid_option_raises_plugin_error(project):
    write_config(project, {"fail_on": "sometimes"})
    plugin = AuditbookPlugin()
    plugin.load_config({"fail_on": "sometimes"}, str(project / "mkdocs.yml"))
    config = load_config(config_file=str(project / "mkdocs.yml"))

    with pytest.raises(PluginError, match="option 'fail_on' is invalid"):
        plugin.on_config(config)


def test_unknown_check_fails_strict_build(project, build_site):
    control = project / "controls" / "NET-01-admin-ports.md"
    control.write_text(control.read_text().replace(SSH, "aws.ec2.sg_no_public_shh"))

    with pytest.raises(Abort):
        build_site()


def test_config_declares_every_schema_key():
    declared = {name for name, _ in AuditbookConfig._schema}

    assert declared == set(config_schema()["properties"])


def test_repository_config_is_valid():
    config = Path(__file__).parents[2] / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    settings = load_settings(config)

    assert "!!python" not in text
    assert "font: false" in text
    assert settings.organisation == "Example Organisation"
    assert settings.regions == ("eu-west-2", "eu-west-1")
    assert settings.approved_regions == ("eu-west-2", "eu-west-1")


def test_odd_run_metadata_still_builds(write_run, build_site):
    write_run(metadata={"account_errors": 5, "api_calls": "many", "caller": "x"})
    site = build_site()

    html = read_page(site, "run")

    assert RUN_ID in html
    assert "not recorded" in html
