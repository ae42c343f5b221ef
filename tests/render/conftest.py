"""Fixtures for the renderers: control documents and an evidence run on disk.

The report under test is built the way the CLI builds it: control documents
parsed from files, the check registry, and an evidence run written by the
evidence store. Verdicts come from :func:`auditbook.report.build_report`,
never from the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from auditbook.attestations import MANUAL_FOLDER
from auditbook.checks.registry import load_checks
from auditbook.config import Settings
from auditbook.evidence import CLOUDTRAIL_FILE, EXCEPTIONS_FILE, EvidenceStore
from auditbook.models import Finding
from auditbook.report import Report, build_report
from tests.render.synthetic import (
    ATTESTATION_YAML,
    CONTROLS,
    EXCEPTIONS_YAML,
    RUN_ID,
    cloudtrail_jsonl,
    default_findings,
    run_metadata,
    write_controls,
)

ReportFactory = Callable[..., Report]


def synthetic_report(
    root: Path,
    findings: list[Finding] | None = None,
    controls: dict[str, str] | None = None,
    collected: bool = True,
    **settings_fields: Any,
) -> Report:
    """Write control documents and an evidence run under ``root`` and build the report.

    Args:
        root: an empty folder for the controls and the evidence store.
        findings: the run's findings; default :func:`default_findings`.
        controls: file name to document text; default :data:`CONTROLS`.
        collected: False builds the report with no run.
        settings_fields: :class:`Settings` fields to override.
    """
    settings = Settings(
        root=root,
        organisation="Example Trading Ltd",
        prepared_by="Compliance Engineering",
        scope_statement="Production AWS accounts of the trading platform.",
        controls_dir=root / "controls",
        evidence_dir=root / "evidence",
        regions=("eu-west-2", "eu-west-1"),
    )
    settings = replace(settings, **settings_fields)
    parsed = write_controls(settings.controls_dir, controls or CONTROLS)

    run = None
    if collected:
        store = EvidenceStore(settings.evidence_dir)
        run = store.write_run(
            RUN_ID,
            default_findings() if findings is None else findings,
            run_metadata(),
            extra_files={
                CLOUDTRAIL_FILE: cloudtrail_jsonl(),
                EXCEPTIONS_FILE: EXCEPTIONS_YAML.encode(),
                f"{MANUAL_FOLDER}/GOV-01.yml": ATTESTATION_YAML.encode(),
            },
        )
    return build_report(settings, parsed, load_checks(), run)


@pytest.fixture
def make_report(tmp_path: Path) -> ReportFactory:
    """Return :func:`synthetic_report` bound to a fresh temporary folder per call."""
    calls = 0

    def make(*args: Any, **kwargs: Any) -> Report:
        nonlocal calls
        calls += 1
        return synthetic_report(tmp_path / f"report-{calls}", *args, **kwargs)

    return make


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """Return the report of the default synthetic run, shared by a test module."""
    return synthetic_report(tmp_path_factory.mktemp("report"))
