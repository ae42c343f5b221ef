"""IAM and service control policy documents, as the APIs return them.

IAM returns policy documents as URL-encoded JSON. botocore's ``after-call.iam``
handler decodes those into dicts, but other clients and other services
(Organizations' ``DescribePolicy``) return a JSON string. A document's
``Statement``, and each statement's ``Action``, ``Resource`` and condition
values, may be a single value or a list. The functions here accept every one
of those shapes.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

WILDCARD = "*"


def load_policy_document(document: dict[str, Any] | str) -> dict[str, Any]:
    """Return a policy document as a dict, decoding JSON and URL encoding.

    Raises:
        ValueError: the document is not a JSON object.
    """
    if isinstance(document, dict):
        return document

    text = document.strip()
    if not text.startswith("{"):
        text = unquote(text)
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise ValueError(f"expected a JSON object, not {type(loaded).__name__}")
    return loaded


def as_list(value: Any) -> list[Any]:
    """Return a policy element as a list: a single value becomes a one-item list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the statements of a policy document, whether one object or a list."""
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def admin_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the statements that allow Action ``*`` on Resource ``*``."""
    return [
        statement
        for statement in statements(document)
        if statement.get("Effect") == "Allow"
        and WILDCARD in as_list(statement.get("Action"))
        and WILDCARD in as_list(statement.get("Resource"))
    ]


def service_principals(trust_document: dict[str, Any]) -> list[str]:
    """Return the AWS services a role trust policy allows to assume the role."""
    services: list[str] = []
    for statement in statements(trust_document):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            services.extend(str(s) for s in as_list(principal.get("Service")))
    return sorted(set(services))


def condition_values(
    statement: dict[str, Any], operators: tuple[str, ...], key: str
) -> list[str] | None:
    """Return the values a statement's condition tests a key against.

    Operators are matched exactly. Condition keys are matched ignoring case,
    as IAM does.

    Returns:
        The values as strings, or ``None`` when none of the operators tests
        the key.
    """
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return None

    for operator in operators:
        tests = condition.get(operator)
        if not isinstance(tests, dict):
            continue
        for condition_key, values in tests.items():
            if condition_key.lower() == key.lower():
                return [_condition_string(v) for v in as_list(values)]
    return None


def _condition_string(value: Any) -> str:
    # A JSON boolean becomes the string IAM's own examples use: "true" or "false".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
