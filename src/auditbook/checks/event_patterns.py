"""Match Amazon EventBridge event patterns against sample GuardDuty findings.

An event pattern mirrors the event's JSON. Each field of the pattern contains
either a nested pattern or a list of accepted values, and the event matches
when every field does. A list matches when any of its entries does, and an
array in the event matches when any of its elements does. The entries
evaluated here are literal values and the filters ``prefix``, ``suffix``,
``equals-ignore-case``, ``wildcard``, ``anything-but``, ``numeric`` and
``exists``, plus ``$or`` between patterns, as "Comparison operators for use
in event patterns" in the Amazon EventBridge User Guide describes them. Any
other filter raises :class:`EventPatternError`.

A rule alerts on high-severity GuardDuty findings when its pattern matches
every sample finding: one per severity from 7.0 to 10.0 in steps of 0.1, with
several finding types. That range spans the High (7.0 to 8.9) and Critical
(9.0 to 10.0) levels of "Severity levels of GuardDuty findings" in the Amazon
GuardDuty User Guide.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

_MISSING = object()

NUMERIC_OPERATORS = ("=", "<", "<=", ">", ">=")

EVALUATED_FILTERS = frozenset(
    {
        "prefix",
        "suffix",
        "equals-ignore-case",
        "wildcard",
        "anything-but",
        "numeric",
        "exists",
    }
)

# Finding types of High severity, cycled through the samples so that a rule
# limited to some types misses the others.
HIGH_SEVERITY_TYPES = (
    "UnauthorizedAccess:EC2/TorClient",
    "CryptoCurrency:EC2/BitcoinTool.B!DNS",
    "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
)
CRITICAL_SEVERITY_TYPE = "AttackSequence:IAM/CompromisedCredentials"

# Severities 7.0 to 10.0 in tenths, as GuardDuty reports them.
HIGH_SEVERITIES = tuple(round(tenths / 10, 1) for tenths in range(70, 101))


class EventPatternError(ValueError):
    """An event pattern is not valid JSON or uses a filter not evaluated here."""


@dataclass(frozen=True)
class PatternCoverage:
    """The result of matching an event pattern against the sample findings.

    Attributes:
        covered: the pattern matches every sample finding.
        missed: ``(severity, finding type)`` of the samples not matched.
        error: why the pattern could not be evaluated, if it could not.
    """

    covered: bool
    missed: tuple[tuple[float, str], ...] = ()
    error: str | None = None

    @property
    def reason(self) -> str:
        """Return why the pattern does not cover the samples, or an empty string."""
        if self.error:
            return self.error
        if not self.missed:
            return ""
        severity, finding_type = self.missed[0]
        return (
            f"does not match {len(self.missed)} of {len(HIGH_SEVERITIES)} sample "
            f"findings of severity 7.0 or more, including severity {severity} "
            f"({finding_type})"
        )


def high_severity_coverage(
    pattern: dict[str, Any], account_id: str, region: str
) -> PatternCoverage:
    """Evaluate an event pattern against sample GuardDuty findings of severity 7+.

    The samples carry the account and region, so a pattern that names them
    still matches.
    """
    missed = []
    try:
        for event in guardduty_sample_findings(account_id, region):
            if not matches(pattern, event):
                detail = event["detail"]
                missed.append((detail["severity"], detail["type"]))
    except EventPatternError as exc:
        return PatternCoverage(covered=False, error=str(exc))
    return PatternCoverage(covered=not missed, missed=tuple(missed))


def guardduty_sample_findings(account_id: str, region: str) -> list[dict[str, Any]]:
    """Return one GuardDuty finding event per severity from 7.0 to 10.0."""
    samples = []
    for index, severity in enumerate(HIGH_SEVERITIES):
        if severity >= 9.0:
            finding_type = CRITICAL_SEVERITY_TYPE
        else:
            finding_type = HIGH_SEVERITY_TYPES[index % len(HIGH_SEVERITY_TYPES)]
        samples.append(_finding_event(account_id, region, severity, finding_type))
    return samples


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """Return whether an event matches an event pattern.

    Raises:
        EventPatternError: the pattern uses a filter not evaluated here, or a
            field contains something other than a nested pattern or a list.
    """
    for key, condition in pattern.items():
        if key == "$or":
            if not any(matches(branch, event) for branch in condition):
                return False
            continue

        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(condition, dict):
            if not isinstance(value, dict) or not matches(condition, value):
                return False
        elif isinstance(condition, list):
            if not _field_matches(condition, value):
                return False
        else:
            raise EventPatternError(
                f"pattern field {key!r} is invalid: expected a list of values or "
                f"a nested pattern, found {condition!r}"
            )
    return True


def _field_matches(conditions: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for condition in conditions:
        if isinstance(condition, dict):
            if _filter_matches(condition, value, values):
                return True
        elif any(_equal(condition, v) for v in values if v is not _MISSING):
            return True
    return False


def _filter_matches(condition: dict[str, Any], value: Any, values: list[Any]) -> bool:
    if len(condition) != 1:
        raise EventPatternError(f"filter {condition!r} must have exactly one key")
    [(name, argument)] = condition.items()
    if name not in EVALUATED_FILTERS:
        raise EventPatternError(f"the {name!r} filter is not evaluated")

    if name == "exists":
        return (value is not _MISSING) == bool(argument)
    if value is _MISSING:
        return False
    if name == "anything-but":
        return any(not _anything_but_excludes(argument, v) for v in values)
    return any(_string_or_number_filter(name, argument, v) for v in values)


def _string_or_number_filter(name: str, argument: Any, value: Any) -> bool:
    if name == "numeric":
        return _numeric(argument, value)
    if not isinstance(value, str):
        return False
    if name == "prefix":
        return _affix(argument, value, str.startswith)
    if name == "suffix":
        return _affix(argument, value, str.endswith)
    if name == "equals-ignore-case":
        return value.casefold() == str(argument).casefold()
    if name == "wildcard":
        # EventBridge wildcards are * only; escape the other fnmatch specials.
        escaped = "".join(f"[{c}]" if c in "?[]" else c for c in str(argument))
        return fnmatch.fnmatchcase(value, escaped)
    raise EventPatternError(f"the {name!r} filter is not evaluated")


def _affix(argument: Any, value: str, test: Any) -> bool:
    if isinstance(argument, dict):
        folded = argument.get("equals-ignore-case")
        if folded is None:
            raise EventPatternError(f"the affix filter {argument!r} is not evaluated")
        return test(value.casefold(), str(folded).casefold())
    return test(value, str(argument))


def _anything_but_excludes(argument: Any, value: Any) -> bool:
    if isinstance(argument, list):
        return any(_equal(item, value) for item in argument)
    if isinstance(argument, dict):
        if len(argument) != 1:
            raise EventPatternError(f"anything-but filter {argument!r} is malformed")
        [(name, inner)] = argument.items()
        excluded = inner if isinstance(inner, list) else [inner]
        return any(_string_or_number_filter(name, item, value) for item in excluded)
    return _equal(argument, value)


def _numeric(argument: Any, value: Any) -> bool:
    if not isinstance(argument, list) or not argument or len(argument) % 2:
        raise EventPatternError(f"numeric filter {argument!r} is malformed")
    bounds = list(zip(argument[::2], argument[1::2], strict=True))
    for operator, bound in bounds:
        if operator not in NUMERIC_OPERATORS or not _is_number(bound):
            raise EventPatternError(f"numeric filter {argument!r} is malformed")

    if not _is_number(value):
        return False
    return all(_compare(value, operator, bound) for operator, bound in bounds)


def _compare(value: float, operator: str, bound: float) -> bool:
    if operator == "=":
        return value == bound
    if operator == "<":
        return value < bound
    if operator == "<=":
        return value <= bound
    if operator == ">":
        return value > bound
    return value >= bound


def _equal(expected: Any, value: Any) -> bool:
    # NOTE: numbers are compared by value, so 7 matches 7.0. EventBridge's own
    # comparison of exact numeric values may depend on how they are written.
    if _is_number(expected) and _is_number(value):
        return float(expected) == float(value)
    return type(expected) is type(value) and expected == value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finding_event(
    account_id: str, region: str, severity: float, finding_type: str
) -> dict[str, Any]:
    detector = "12abc34d567e8fa901bc2d34e56789f0"
    finding = f"{int(severity * 10):032x}"
    return {
        "version": "0",
        "id": f"00000000-0000-0000-0000-{int(severity * 10):012d}",
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": account_id,
        "time": "2024-01-01T00:00:00Z",
        "region": region,
        "resources": [],
        "detail": {
            "schemaVersion": "2.0",
            "accountId": account_id,
            "region": region,
            "partition": "aws",
            "id": finding,
            "arn": (
                f"arn:aws:guardduty:{region}:{account_id}:detector/{detector}"
                f"/finding/{finding}"
            ),
            "type": finding_type,
            "resource": {"resourceType": "Instance"},
            "service": {
                "serviceName": "guardduty",
                "detectorId": detector,
                "count": 1,
                "archived": False,
            },
            "severity": severity,
            "createdAt": "2024-01-01T00:00:00.000Z",
            "updatedAt": "2024-01-01T00:00:00.000Z",
            "title": f"Sample {finding_type} finding",
            "description": "A sample finding used to evaluate event patterns.",
        },
    }
