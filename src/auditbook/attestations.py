"""Attestations: the evidence of manual controls, which no API can prove.

The owner of a manual control adds ``evidence/manual/<CONTROL-ID>.yml``::

    attested_by: Jane Smith, Data Protection Officer
    attested_at: "2026-10-01"
    summary: The data processing addendum is signed and filed.
    documents: [contracts/aws-dpa-2026.pdf]

Collection copies each file into the evidence run, so it is hashed with the
findings. A manual control is never shown as passing without one: it is
ATTESTED, ATTESTATION_EXPIRED (older than the configured age) or
EVIDENCE_MISSING.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from auditbook.errors import ControlError
from auditbook.yamlfile import load_yaml

ATTESTED = "ATTESTED"
ATTESTATION_EXPIRED = "ATTESTATION_EXPIRED"
EVIDENCE_MISSING = "EVIDENCE_MISSING"
MANUAL_FOLDER = "manual"
MAX_ATTESTATION_BYTES = 64 * 1024


@dataclass(frozen=True)
class Attestation:
    """One parsed attestation file."""

    control_id: str
    attested_by: str
    attested_at: date
    summary: str
    documents: tuple[str, ...]

    def state(self, on: date, max_age_days: int) -> str:
        """Return ATTESTED, or ATTESTATION_EXPIRED when older than the maximum age."""
        if on - self.attested_at > timedelta(days=max_age_days):
            return ATTESTATION_EXPIRED
        return ATTESTED

    def to_dict(self) -> dict[str, Any]:
        """Return the attestation as JSON-compatible values."""
        return {
            "control_id": self.control_id,
            "attested_by": self.attested_by,
            "attested_at": self.attested_at.isoformat(),
            "summary": self.summary,
            "documents": list(self.documents),
        }


@cache
def attestation_schema() -> dict[str, Any]:
    """Return the JSON Schema of attestation files."""
    text = resources.files("auditbook").joinpath("schemas/attestation.schema.json")
    return json.loads(text.read_text(encoding="utf-8"))


def attestation_path(folder: Path, control_id: str) -> Path:
    """Return where the attestation of a control lives in an attestations folder."""
    return Path(folder) / f"{control_id}.yml"


def parse_attestation(control_id: str, text: str, path: Path) -> Attestation:
    """Parse and validate the text of one attestation file.

    Raises:
        ControlError: the file is not valid YAML or breaks the schema; the
            error names the line.
    """
    try:
        document = load_yaml(text)
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ControlError(
            f"invalid attestation: {getattr(exc, 'problem', None) or exc}",
            path=path,
            line=mark.line + 1 if mark else 1,
        ) from exc

    data = document.data
    if not isinstance(data, dict):
        raise ControlError(
            "an attestation is a YAML mapping with attested_by, attested_at and "
            "summary",
            path=path,
            line=1,
        )
    if isinstance(data.get("attested_at"), date):
        # YAML reads an unquoted 2026-10-01 as a date; accept it as written.
        data = {**data, "attested_at": data["attested_at"].isoformat()}

    validator = jsonschema.Draft202012Validator(attestation_schema())
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.path)):
        key = ".".join(str(p) for p in error.path) or "attestation"
        raise ControlError(
            f"{key}: {error.message}", path=path, line=document.line_of(error.path, 1)
        )

    try:
        attested_at = date.fromisoformat(data["attested_at"])
    except ValueError as exc:
        raise ControlError(
            f"attested_at: {data['attested_at']!r} is not a date such as 2026-10-01",
            path=path,
            line=document.line_of(("attested_at",), 1),
        ) from exc

    return Attestation(
        control_id=control_id,
        attested_by=data["attested_by"],
        attested_at=attested_at,
        summary=data["summary"],
        documents=tuple(data.get("documents", ())),
    )


def read_attestation_bytes(folder: Path, control_id: str) -> bytes | None:
    """Return the raw attestation file of a control, or None when there is none.

    Raises:
        ControlError: the file is larger than the limit or unreadable.
    """
    path = attestation_path(folder, control_id)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size > MAX_ATTESTATION_BYTES:
        raise ControlError(
            f"attestation is {size} bytes, over {MAX_ATTESTATION_BYTES}; keep the "
            "summary short and reference documents instead",
            path=path,
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ControlError(f"cannot read the attestation: {exc}", path=path) from exc


def load_attestation(folder: Path, control_id: str) -> Attestation | None:
    """Read and validate a control's attestation, or return None when missing.

    Raises:
        ControlError: the file exists but is invalid.
    """
    content = read_attestation_bytes(folder, control_id)
    if content is None:
        return None
    path = attestation_path(folder, control_id)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ControlError("attestation is not UTF-8 text", path=path) from exc
    return parse_attestation(control_id, text, path)
