"""Event selectors from control front matter, matched against CloudTrail records.

A selector is a mapping such as::

    event_source: signin.amazonaws.com
    event_names: [ConsoleLogin]
    failed_only: true

Every field present must match; a record matches a control when it matches
any of the control's selectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ConsoleLogin reports a failed sign-in in responseElements, not errorCode.
_FAILED_CONSOLE_LOGIN = "Failure"


@dataclass(frozen=True)
class Selector:
    """One CloudTrail selector of a control."""

    event_source: str | None = None
    event_names: frozenset[str] = frozenset()
    identity_type: str | None = None
    error_codes: frozenset[str] = frozenset()
    failed_only: bool = False
    read_only: bool | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Selector:
        """Build a selector from validated front matter."""
        return cls(
            event_source=data.get("event_source"),
            event_names=frozenset(data.get("event_names", ())),
            identity_type=data.get("identity_type"),
            error_codes=frozenset(data.get("error_codes", ())),
            failed_only=bool(data.get("failed_only", False)),
            read_only=data.get("read_only"),
        )

    def matches(self, record: dict[str, Any]) -> bool:
        """Return True when the CloudTrail record meets every field of the selector.

        A field of an unexpected JSON type, such as a list where CloudTrail
        writes text, matches nothing.
        """
        if self.event_source and record.get("eventSource") != self.event_source:
            return False
        if self.event_names and _text(record.get("eventName")) not in self.event_names:
            return False
        identity = mapping(record.get("userIdentity"))
        if self.identity_type and identity.get("type") != self.identity_type:
            return False
        if self.error_codes and _text(record.get("errorCode")) not in self.error_codes:
            return False
        if self.failed_only and not is_failed(record):
            return False
        if self.read_only is not None and _read_only(record) != self.read_only:
            return False
        return True

    def lookup_attribute(self) -> dict[str, str] | None:
        """Return the narrowest LookupEvents attribute for this selector, if any.

        LookupEvents takes a single attribute per request, so a selector with
        several event names is looked up per name by the caller.
        """
        if self.event_source:
            return {"AttributeKey": "EventSource", "AttributeValue": self.event_source}
        if self.identity_type == "Root":
            return {"AttributeKey": "Username", "AttributeValue": "root"}
        return None


def mapping(value: Any) -> dict[str, Any]:
    """Return a record field that should be a JSON object, or {} when it is not."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def is_failed(record: dict[str, Any]) -> bool:
    """Return True for a request that failed: an error code or a failed sign-in."""
    if record.get("errorCode"):
        return True
    response = record.get("responseElements") or {}
    return (
        isinstance(response, dict)
        and response.get("ConsoleLogin") == _FAILED_CONSOLE_LOGIN
    )


def _read_only(record: dict[str, Any]) -> bool:
    value = record.get("readOnly")
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)
