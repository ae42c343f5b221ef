from datetime import date

import pytest

from auditbook.attestations import (
    ATTESTATION_EXPIRED,
    ATTESTED,
    EVIDENCE_MISSING,
    load_attestation,
)
from auditbook.controls import ControlLibrary, parse_control
from auditbook.errors import ControlError
from auditbook.evidence import EvidenceStore
from auditbook.pipeline import attestation_files
from auditbook.report import build_report

MANUAL = """---
id: GOV-01
title: A data processing agreement is in force
layer: governance
severity: high
owner: Legal
type: manual
---

# Agreement
"""
VALID = """attested_by: Jane Smith, DPO
attested_at: "2026-10-01"
summary: Signed and filed.
documents: [legal/dpa.pdf]
"""


def write_attestation(settings, text: str) -> None:
    folder = settings.evidence_dir / "manual"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "GOV-01.yml").write_text(text, encoding="utf-8")


def manual_control(tmp_path):
    path = tmp_path / "gov.md"
    path.write_text(MANUAL, encoding="utf-8")
    return parse_control(path)


def test_valid_attestation_loads(settings):
    write_attestation(settings, VALID)

    attestation = load_attestation(settings.attestations_dir, "GOV-01")

    assert attestation.attested_by == "Jane Smith, DPO"
    assert attestation.attested_at == date(2026, 10, 1)
    assert attestation.documents == ("legal/dpa.pdf",)


def test_unquoted_date_accepted(settings):
    write_attestation(settings, VALID.replace('"2026-10-01"', "2026-10-01"))

    assert load_attestation(settings.attestations_dir, "GOV-01").attested_at == date(
        2026, 10, 1
    )


def test_missing_field_names_line(settings):
    write_attestation(settings, VALID.replace("summary: Signed and filed.\n", ""))

    with pytest.raises(ControlError, match="'summary' is a required property"):
        load_attestation(settings.attestations_dir, "GOV-01")


def test_bad_date_rejected(settings):
    write_attestation(settings, VALID.replace("2026-10-01", "2026-13-01"))

    with pytest.raises(ControlError) as raised:
        load_attestation(settings.attestations_dir, "GOV-01")

    assert raised.value.line == 2


def test_state_expires_after_max_age(settings):
    write_attestation(settings, VALID)
    attestation = load_attestation(settings.attestations_dir, "GOV-01")

    assert attestation.state(date(2027, 9, 30), 365) == ATTESTED
    assert attestation.state(date(2027, 10, 2), 365) == ATTESTATION_EXPIRED


def test_missing_attestation_never_passes(settings, tmp_path):
    report = build_report(settings, [manual_control(tmp_path)], {}, None)

    [result] = report.controls
    assert result.verdict == EVIDENCE_MISSING
    assert result.attestation is None


def test_attestation_copied_into_run_and_hashed(settings, tmp_path):
    write_attestation(settings, VALID)
    library = ControlLibrary([manual_control(tmp_path)], [])
    store = EvidenceStore(settings.evidence_dir)
    with store.lock():
        run = store.write_run(
            "20261204T100000Z-abcdef",
            [],
            {"finished_at": "2026-12-04T10:00:00+00:00"},
            attestation_files(settings, library),
        )
    (settings.evidence_dir / "manual" / "GOV-01.yml").unlink()

    report = build_report(settings, library.controls, {}, run)

    assert "manual/GOV-01.yml" in run.manifest["files"]
    assert report.controls[0].verdict == ATTESTED
    assert report.controls[0].attestation.summary == "Signed and filed."
