"""The data contracts shared by collection and rendering."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Status(enum.StrEnum):
    """The verdict of one finding."""

    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    NOT_APPLICABLE = "NOT_APPLICABLE"


class Severity(enum.StrEnum):
    """How much a failing control matters, highest first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFORMATIONAL = "informational"

    @property
    def rank(self) -> int:
        """Return 0 for critical up to 4 for informational."""
        return list(Severity).index(self)


@dataclass(frozen=True)
class Finding:
    """One verdict of one check on one resource, with the facts behind it.

    Attributes:
        check_id: the catalog ID of the check that produced it.
        account_id: the 12-digit AWS account.
        region: the region evaluated, or ``global`` for account-wide services.
        resource_id: the resource's ARN where AWS defines one, else its id.
        status: PASS, FAIL, ERROR or NOT_APPLICABLE.
        message: one present-tense sentence naming the resource.
        evidence: the facts the verdict rests on, as JSON-compatible values.
        observed_at: UTC time of the observation, ISO 8601.
    """

    check_id: str
    account_id: str
    region: str
    resource_id: str
    status: Status
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    observed_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as the JSON object stored in ``findings.jsonl``."""
        data = asdict(self)
        data["status"] = str(self.status)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Build a finding from one line of ``findings.jsonl``."""
        return cls(
            check_id=data["check_id"],
            account_id=data["account_id"],
            region=data["region"],
            resource_id=data["resource_id"],
            status=Status(data["status"]),
            message=data["message"],
            evidence=data.get("evidence") or {},
            observed_at=data.get("observed_at", ""),
        )

    def sort_key(self) -> tuple[str, str, str, str]:
        """Return the key that orders findings in an evidence run."""
        return (self.check_id, self.account_id, self.region, self.resource_id)
