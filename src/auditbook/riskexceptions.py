"""Exceptions: accepted risks that annotate failing findings.

An exceptions file (``exceptions.yml`` beside ``mkdocs.yml`` by default)
lists risks the organisation has accepted::

    exceptions:
      - id: EXC-001
        check: aws.ec2.sg_no_public_ssh
        resource: "arn:aws:ec2:eu-west-2:123456789012:security-group/sg-0bastion*"
        justification: Vendor bastion, replaced by Session Manager in Q1.
        approved_by: Jane Smith, CISO
        approved_at: "2026-10-01"
        expires: "2027-01-31"

A FAIL finding that an exception matches is shown as EXCEPTED beside its raw
status; the finding itself is never changed. An exception past its expiry
date no longer applies, so its findings show as FAIL again, flagged as
expired. ERROR findings are never excepted, because nothing was evaluated.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from auditbook.errors import ConfigError
from auditbook.models import Finding, Status
from auditbook.yamlfile import load_yaml

EXCEPTED = "EXCEPTED"
DEFAULT_FILE = "exceptions.yml"


@dataclass(frozen=True)
class RiskException:
    """One accepted risk."""

    id: str
    resource: str
    justification: str
    approved_by: str
    approved_at: date
    expires: date
    control: str | None = None
    check: str | None = None
    account: str | None = None
    line: int | None = None

    def expired(self, on: date) -> bool:
        """Return True when the exception no longer applies on the given date."""
        return on > self.expires

    def matches(self, finding: Finding, control_checks: dict[str, set[str]]) -> bool:
        """Return True when the exception covers the finding's check and resource."""
        if self.check and finding.check_id != self.check:
            return False
        if self.control and finding.check_id not in control_checks.get(
            self.control, set()
        ):
            return False
        if self.account and finding.account_id != self.account:
            return False
        return fnmatch.fnmatchcase(finding.resource_id, self.resource)

    def to_dict(self) -> dict[str, Any]:
        """Return the exception as JSON-compatible values for the reports."""
        return {
            "id": self.id,
            "control": self.control,
            "check": self.check,
            "resource": self.resource,
            "account": self.account,
            "justification": self.justification,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.isoformat(),
            "expires": self.expires.isoformat(),
        }


@dataclass(frozen=True)
class Annotation:
    """An exception's effect on one finding: applied, or expired and ignored."""

    exception: RiskException
    expired: bool

    @property
    def effective_status(self) -> str:
        """Return EXCEPTED when the exception applies, else FAIL."""
        return Status.FAIL.value if self.expired else EXCEPTED


@cache
def exceptions_schema() -> dict[str, Any]:
    """Return the JSON Schema of the exceptions file."""
    text = resources.files("auditbook").joinpath("schemas/exceptions.schema.json")
    return json.loads(text.read_text(encoding="utf-8"))


def load_exceptions(path: Path) -> list[RiskException]:
    """Read and validate an exceptions file; a missing file means no exceptions.

    Raises:
        ConfigError: the file is not valid YAML or breaks the schema; the
            error names the line and the fix.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the exceptions file: {exc}", path=path) from exc

    try:
        document = load_yaml(text)
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
            path=path,
            line=mark.line + 1 if mark else None,
        ) from exc

    data = document.data
    if data is None:
        return []
    data = _dates_as_text(data)
    validator = jsonschema.Draft202012Validator(exceptions_schema())
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.path)):
        key = ".".join(str(p) for p in error.path) or "exceptions file"
        raise ConfigError(
            f"{key}: {error.message}",
            path=path,
            line=document.line_of(error.path, 1),
            key=key,
        )

    exceptions = []
    seen: set[str] = set()
    for index, entry in enumerate(data["exceptions"]):
        line = document.line_of(("exceptions", index), 1)
        if entry["id"] in seen:
            raise ConfigError(
                f"duplicate exception id {entry['id']!r}; give each its own id",
                path=path,
                line=line,
            )
        seen.add(entry["id"])
        exceptions.append(_exception(entry, path, line))
    return exceptions


def _dates_as_text(data: Any) -> Any:
    # YAML reads an unquoted 2026-10-01 as a date; accept it as written.
    if isinstance(data, dict):
        return {k: _dates_as_text(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_dates_as_text(v) for v in data]
    if isinstance(data, date):
        return data.isoformat()
    return data


def _exception(entry: dict[str, Any], path: Path, line: int | None) -> RiskException:
    try:
        approved_at = date.fromisoformat(entry["approved_at"])
        expires = date.fromisoformat(entry["expires"])
    except ValueError as exc:
        raise ConfigError(
            f"exception {entry['id']}: {exc}; write dates as YYYY-MM-DD",
            path=path,
            line=line,
        ) from exc
    if expires < approved_at:
        raise ConfigError(
            f"exception {entry['id']} expires before it was approved; fix 'expires'",
            path=path,
            line=line,
        )
    return RiskException(
        id=entry["id"],
        resource=entry["resource"],
        justification=entry["justification"],
        approved_by=entry["approved_by"],
        approved_at=approved_at,
        expires=expires,
        control=entry.get("control"),
        check=entry.get("check"),
        account=entry.get("account"),
        line=line,
    )


def annotate(
    findings: list[Finding],
    exceptions: list[RiskException],
    control_checks: dict[str, set[str]],
    on: date,
) -> dict[tuple[str, str, str, str], Annotation]:
    """Return the annotation of every FAIL finding that an exception matches.

    The first matching exception in file order wins, preferring one that has
    not expired.
    """
    annotations = {}
    for finding in findings:
        if finding.status != Status.FAIL:
            continue
        matching = [e for e in exceptions if e.matches(finding, control_checks)]
        if not matching:
            continue
        active = [e for e in matching if not e.expired(on)]
        chosen = active[0] if active else matching[0]
        annotations[finding.sort_key()] = Annotation(chosen, expired=not active)
    return annotations


def stale_exceptions(
    findings: list[Finding],
    exceptions: list[RiskException],
    control_checks: dict[str, set[str]],
    on: date,
) -> list[RiskException]:
    """Return the unexpired exceptions that match no FAIL finding."""
    used = {
        a.exception.id
        for a in annotate(findings, exceptions, control_checks, on).values()
    }
    return [e for e in exceptions if not e.expired(on) and e.id not in used]
