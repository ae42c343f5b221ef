"""The PDF audit pack, reopened with pypdf and read as an auditor would."""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pypdf import PdfReader

from auditbook.attestations import MANUAL_FOLDER
from auditbook.checks.registry import load_checks
from auditbook.evidence import (
    EXCEPTIONS_FILE,
    FINDINGS_FILE,
    MANIFEST_FILE,
    RUN_FILE,
)
from auditbook.models import Status
from auditbook.render import control_findings
from auditbook.render.pdf import DataOnlyFetcher, write_pdf
from tests.render.synthetic import (
    ACCOUNT,
    CONTROLS,
    FORMULA_RESOURCE,
    JINJA_MESSAGE,
    RUN_ID,
    SCRIPT_MESSAGE,
    finding,
)


def flat(text: str) -> str:
    """Collapse the line breaks and spaces that text extraction adds."""
    return " ".join(text.split())


def page_texts(path: Path) -> list[str]:
    return [flat(page.extract_text()) for page in PdfReader(path).pages]


def outline_titles(reader: PdfReader) -> list[str]:
    titles = []

    def walk(items: list) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(item.title)

    walk(reader.outline)
    return titles


@pytest.fixture(scope="module")
def pdf(report, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the audit pack of the default run, rendered once per module."""
    return write_pdf(report, tmp_path_factory.mktemp("pdf") / "pack.pdf")


def test_cover_states_scope_period_and_signoff(pdf: Path) -> None:
    cover = page_texts(pdf)[0]

    assert "Example Trading Ltd" in cover
    assert "Production AWS accounts of the trading platform." in cover
    assert f"Accounts: {ACCOUNT}" in cover
    assert "Regions: eu-west-2, eu-west-1" in cover
    assert "2026-12-04 15:30:00 UTC to 2026-12-04 15:31:40 UTC" in cover
    assert RUN_ID in cover
    assert "Generated at 2026-12-04 15:31:40 UTC" in cover
    assert "Prepared by Compliance Engineering" in cover
    assert "Reviewer Name Date Signature" in cover
    assert "Approver Name Date Signature" in cover


def test_every_page_numbered_with_header(pdf: Path) -> None:
    pages = page_texts(pdf)

    assert "Page 1 of" in pages[0]
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
    for text in pages[1:]:
        assert "Example Trading Ltd" in text
        assert f"Run {RUN_ID}" in text


def test_contents_gives_page_numbers(pdf: Path) -> None:
    pages = page_texts(pdf)
    contents = pages[1]
    net_page = next(
        number
        for number, text in enumerate(pages, start=1)
        if "NET-01 No administration ports open to the internet Verdict" in text
    )

    entry = re.compile(
        rf"NET-01 No administration ports open to the internet[ .]*\b{net_page}\b"
    )
    assert "Contents" in contents
    assert entry.search(contents)


def test_control_sections_show_verdicts_and_tests(pdf: Path) -> None:
    text = " ".join(page_texts(pdf))
    registry = load_checks()

    for control_id in ("IAM-01", "NET-01", "MON-02"):
        assert control_id in text
    assert "FAIL" in text
    assert "ERROR" in text
    assert "Checks What each check reads and what PASS means." in text
    assert flat(registry["aws.guardduty.enabled"].proves) in text
    assert "guardduty:ListDetectors" in text
    assert "Administrators reach hosts through Session Manager instead." in text


def test_check_blocks_left_out_of_requirement(pdf: Path) -> None:
    text = " ".join(page_texts(pdf))

    assert "```" not in text
    assert "auditbook aws.ec2" not in text


def test_findings_list_failures_first(pdf: Path) -> None:
    text = " ".join(page_texts(pdf))
    section = text[
        text.index("NET-01 No administration ports open to the internet Verdict") :
    ]
    findings = section[section.index("All 5 findings, failures first.") :]

    first_pass = findings.index("PASS")
    assert findings.index("sg-0aaa") < first_pass
    assert findings.index("sg-0bbb") < first_pass
    assert findings.index("sg-0ccc") > first_pass


def test_hostile_text_shown_literally(pdf: Path) -> None:
    text = " ".join(page_texts(pdf))

    assert SCRIPT_MESSAGE in text
    assert JINJA_MESSAGE in text
    assert "Security group 49 allows" not in text
    assert FORMULA_RESOURCE in text


def test_invisible_characters_shown_as_escapes(pdf: Path) -> None:
    text = " ".join(page_texts(pdf))

    assert "bell\\x07 name\\u202eevil" in text
    assert "\u202e" not in text


def test_errors_flagged_in_summary(pdf: Path) -> None:
    summary = page_texts(pdf)[2]

    assert "Evidence is incomplete. 1 finding is ERROR" in summary
    assert "these controls are not proven: MON-02." in summary


def test_exceptions_shown_beside_status(pdf: Path) -> None:
    text = " ".join(page_texts(pdf))
    section = text[
        text.index("NET-01 No administration ports open to the internet Verdict") :
    ]

    excepted = section[section.index("security-group/sg-0bbb") :]
    expired = section[section.index("security-group/sg-0aaa") :]

    assert (
        "EXCEPTED Accepted risk EXC-001 covers this failure until 2027-01-31."
        in (excepted[:300])
    )
    assert (
        "EXPIRED Accepted risk EXC-002 expired on 2026-11-01, so this failure counts."
        in expired[:300]
    )
    assert "Accepted risks" in section
    assert "Vendor jump host, replaced by Session Manager in Q1." in section
    assert "2026-11-01 expired" in section


def test_manual_control_shows_attestation(pdf: Path) -> None:
    text = " ".join(page_texts(pdf))
    section = text[
        text.index("GOV-01 A data processing agreement with AWS is in place Verdict") :
    ]

    assert "ATTESTED" in section
    assert "Attested by Priya Patel, Data Protection Officer" in section
    assert "Attested on 2026-10-01" in section
    assert "contracts/aws-dpa-2026.pdf" in section


def test_cloudtrail_excerpt_states_gaps(pdf: Path) -> None:
    text = " ".join(page_texts(pdf))

    assert "CloudTrail activity" in text
    assert "This excerpt is incomplete." in text
    assert "cloudtrail:LookupEvents failed with AccessDenied" in text
    assert "This pack shows the newest 2 of 3. The run kept the newest 2" in text
    assert "AuthorizeSecurityGroupIngress" in text


def test_findings_capped_with_totals(make_report, tmp_path: Path) -> None:
    failures = [
        finding("aws.guardduty.enabled", Status.FAIL, f"detector-fail-{n:03}", "Off.")
        for n in range(70)
    ]
    passes = [
        finding("aws.guardduty.enabled", Status.PASS, f"detector-pass-{n:03}", "On.")
        for n in range(50)
    ]
    report = make_report(failures + passes, pdf_max_findings_per_control=50)

    text = " ".join(page_texts(write_pdf(report, tmp_path / "pack.pdf")))

    assert "Showing 50 of 120 findings" in text
    assert "full list is in the workbook" in text
    assert "detector-fail-000" in text
    assert "detector-fail-049" in text
    assert "detector-fail-050" not in text
    assert "detector-pass-000" not in text


def test_evidence_files_attached_unchanged(report, pdf: Path) -> None:
    attachments = PdfReader(pdf).attachments
    names = [
        FINDINGS_FILE,
        RUN_FILE,
        MANIFEST_FILE,
        EXCEPTIONS_FILE,
        f"{MANUAL_FOLDER}/GOV-01.yml",
    ]

    assert sorted(attachments) == sorted(names)
    for name in names:
        assert attachments[name] == [(report.run.path / name).read_bytes()]


def test_appendix_lists_every_hash(report, pdf: Path) -> None:
    text = " ".join(page_texts(pdf))
    appendix = text[text.index("Appendix: evidence run Run metadata") :]

    for name, digest in report.run.manifest["files"].items():
        assert name in appendix
        assert digest in appendix
    assert report.run.manifest_sha256() in appendix
    assert "arn:aws:sts::123456789012:assumed-role/AuditRole/auditbook" in appendix
    assert "AWS API calls 4" in appendix


def test_bookmarks_follow_sections(pdf: Path) -> None:
    titles = outline_titles(PdfReader(pdf))

    for title in (
        "Cover",
        "Contents",
        "Executive summary",
        "Framework coverage",
        "Controls",
        "NET-01 No administration ports open to the internet",
        "MON-02 GuardDuty is enabled everywhere",
        "Appendix: evidence run",
    ):
        assert title in titles
    assert "Requirement" not in titles


def test_metadata_dated_from_run(pdf: Path) -> None:
    metadata = PdfReader(pdf).metadata

    assert metadata.title == f"Audit pack: Example Trading Ltd, run {RUN_ID}"
    assert metadata.author == "Compliance Engineering"
    assert "Example Trading Ltd" in metadata.subject
    assert metadata.creation_date == datetime(2026, 12, 4, 15, 31, 40, tzinfo=UTC)


def test_same_run_gives_same_bytes(report, tmp_path: Path) -> None:
    first = write_pdf(report, tmp_path / "first.pdf").read_bytes()
    second = write_pdf(report, tmp_path / "second.pdf").read_bytes()

    assert first == second


def test_not_collected_pack(make_report, tmp_path: Path) -> None:
    report = make_report(collected=False)

    path = write_pdf(report, tmp_path / "pack.pdf")

    reader = PdfReader(path)
    text = " ".join(page_texts(path))
    assert "not yet collected" in text
    assert "NOT YET COLLECTED" in text
    assert "Page 1 of" in text
    assert reader.attachments == {}
    assert reader.metadata.creation_date is None


def test_fetcher_rejects_everything_but_data() -> None:
    fetcher = DataOnlyFetcher()

    for url in ("file:///etc/hostname", "http://127.0.0.1:9/x.png", "ftp://x/y"):
        with pytest.raises(ValueError, match="not allowed"):
            fetcher.fetch(url)
    response = fetcher.fetch("data:text/plain,hello")
    assert response.read() == b"hello"


def test_no_fetch_from_document_urls(make_report, tmp_path: Path) -> None:
    requests: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        documents = dict(CONTROLS)
        documents["monitoring/MON-02.md"] = documents["monitoring/MON-02.md"].replace(
            "GuardDuty runs in every collected region.",
            f'GuardDuty runs everywhere. <img src="{url}/img.png">\n\n'
            f'<link rel="stylesheet" href="{url}/style.css">',
        )
        hostile = finding(
            "aws.guardduty.enabled",
            Status.FAIL,
            f'<img src="{url}/from-aws.png">',
            f"<style>@import url({url}/import.css);</style>",
        )
        report = make_report([hostile], controls=documents)

        write_pdf(report, tmp_path / "pack.pdf")
    finally:
        server.shutdown()
        server.server_close()

    assert requests == []


PDFAID = "{http://www.aiim.org/pdfa/ns/id/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


def xmp_root(reader: PdfReader) -> ET.Element:
    """Return the x:xmpmeta element of the PDF's XMP metadata packet."""
    packet = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    start = packet.index(b"<x:xmpmeta")
    end = packet.index(b"</x:xmpmeta>") + len(b"</x:xmpmeta>")
    return ET.fromstring(packet[start:end])


def xmp_attributes(reader: PdfReader) -> dict[str, str]:
    """Return the attributes of every element in the XMP metadata."""
    attributes: dict[str, str] = {}
    for element in xmp_root(reader).iter():
        attributes.update(element.attrib)
    return attributes


def xmp_texts(reader: PdfReader) -> dict[str, str]:
    """Return the text of each XMP property, by the property's local name."""
    texts: dict[str, str] = {}
    for description in xmp_root(reader).iter(f"{RDF}Description"):
        for prop in description:
            items = [li.text or "" for li in prop.iter(f"{RDF}li")]
            texts[prop.tag.split("}")[1]] = ", ".join(items) or prop.text or ""
    return texts


def embedded_fonts(reader: PdfReader) -> dict[str, bool]:
    """Return each font's name and whether its program is embedded."""
    fonts = {}
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None:
                descendant = font["/DescendantFonts"][0].get_object()
                descriptor = descendant["/FontDescriptor"]
            keys = descriptor.get_object().keys()
            fonts[font["/BaseFont"]] = any(k.startswith("/FontFile") for k in keys)
    return fonts


def test_pdfa_variant_marks_conformance(make_report, tmp_path: Path) -> None:
    report = make_report(pdf_variant="pdf/a-3b")

    reader = PdfReader(write_pdf(report, tmp_path / "pack.pdf"))

    root = reader.trailer["/Root"]
    xmp = xmp_attributes(reader)
    intent = root["/OutputIntents"][0].get_object()
    assert reader.pdf_header == "%PDF-1.7"
    assert xmp[f"{PDFAID}part"] == "3"
    assert xmp[f"{PDFAID}conformance"] == "B"
    assert intent["/S"] == "/GTS_PDFA1"
    assert "sRGB" in intent["/OutputConditionIdentifier"]
    assert intent["/DestOutputProfile"].get_object()["/N"] == 3
    assert len(reader.trailer["/ID"]) == 2
    assert "/Encrypt" not in reader.trailer
    assert embedded_fonts(reader)
    assert all(embedded_fonts(reader).values())
    # PDF/A wants every annotation printable: flag bit 3, value 4.
    annotations = [a.get_object() for p in reader.pages for a in p.get("/Annots", [])]
    assert annotations
    assert {a["/F"] for a in annotations} == {4}


def test_pdfa_metadata_matches_info(make_report, tmp_path: Path) -> None:
    report = make_report(pdf_variant="pdf/a-3b")

    reader = PdfReader(write_pdf(report, tmp_path / "pack.pdf"))

    info = reader.metadata
    xmp = xmp_texts(reader)
    assert xmp["title"] == info.title
    assert xmp["creator"] == info.author
    assert xmp["description"] == info.subject
    assert xmp["Keywords"] == info["/Keywords"]
    assert xmp["CreatorTool"] == info.creator
    assert xmp_attributes(reader)["{http://ns.adobe.com/pdf/1.3/}Producer"] == (
        info.producer
    )
    assert xmp["CreateDate"] == "2026-12-04T15:31:40Z"
    assert info.creation_date == datetime(2026, 12, 4, 15, 31, 40, tzinfo=UTC)
    assert xmp["ModifyDate"] == "2026-12-04T15:31:40Z"
    assert info.modification_date == datetime(2026, 12, 4, 15, 31, 40, tzinfo=UTC)


def test_pdfa_attachments_carry_relationship(make_report, tmp_path: Path) -> None:
    report = make_report(pdf_variant="pdf/a-3b")

    reader = PdfReader(write_pdf(report, tmp_path / "pack.pdf"))

    specs = [spec.get_object() for spec in reader.trailer["/Root"]["/AF"]]
    names = {spec["/UF"] for spec in specs}
    assert names == {
        FINDINGS_FILE,
        RUN_FILE,
        MANIFEST_FILE,
        EXCEPTIONS_FILE,
        f"{MANUAL_FOLDER}/GOV-01.yml",
    }
    for spec in specs:
        stream = spec["/EF"]["/F"].get_object()
        assert spec["/AFRelationship"] == "/Data"
        assert stream["/Subtype"].startswith("/")
        assert stream["/Params"]["/ModDate"] == "D:20261204153140Z"
    for name in names:
        assert reader.attachments[name] == [(report.run.path / name).read_bytes()]


def test_plain_pdf_claims_no_conformance(pdf: Path) -> None:
    root = PdfReader(pdf).trailer["/Root"]

    assert "/Metadata" not in root
    assert "/OutputIntents" not in root


def test_cap_keeps_errors_before_passes(make_report, tmp_path: Path) -> None:
    check = "aws.guardduty.enabled"
    findings = [
        finding(check, Status.PASS, "detector-pass-1", "On."),
        finding(check, Status.ERROR, "detector-error-1", "AccessDenied."),
        finding(check, Status.FAIL, "detector-fail-1", "Off."),
        finding(check, Status.PASS, "detector-pass-2", "On."),
        finding(check, Status.ERROR, "detector-error-2", "AccessDenied."),
    ]
    report = make_report(findings, pdf_max_findings_per_control=3)

    text = " ".join(page_texts(write_pdf(report, tmp_path / "pack.pdf")))

    assert "Showing 3 of 5 findings" in text
    assert text.index("detector-fail-1") < text.index("detector-error-1")
    assert text.index("detector-error-1") < text.index("detector-error-2")
    assert "detector-pass-1" not in text


def test_control_findings_merge_checks(report) -> None:
    net = next(r for r in report.controls if r.control.id == "NET-01")

    every = control_findings(net)
    first_three = control_findings(net, 3)

    assert [row.status for row in every] == [
        "FAIL",
        "FAIL",
        "EXCEPTED",
        "PASS",
        "PASS",
    ]
    assert every[2].finding.resource_id.endswith("sg-0bbb")
    assert every[2].annotation.exception.id == "EXC-001"
    assert first_three == every[:3]
