"""Decide whether an environment variable looks like a plaintext credential.

The Lambda and ECS secret checks pass every environment variable through
:func:`find_credentials`. A variable is flagged by the first rule that matches,
tried in this order:

1. **Value rules** recognise credential formats wherever they appear in the
   value: AWS access key ids (``AKIA``/``ASIA``), a 40-character AWS secret
   access key when another variable of the same set contains an access key id,
   PEM private keys, GitHub, Slack, Stripe, Google API and npm tokens, Slack
   webhook URLs, JSON Web Tokens and URLs with ``user:password@``.
2. **Name rules** flag a variable whose name contains a credential word such
   as ``PASSWORD``, ``SECRET``, ``TOKEN``, ``API_KEY``, ``PRIVATE_KEY`` or
   ``ACCESS_KEY``. Names are split into words at underscores, hyphens, dots
   and camelCase boundaries, so ``DB_PASSWORD`` and ``dbPassword`` match but
   ``PASSENGER_COUNT`` and ``BYPASS_CACHE`` do not.

A name rule does not fire when the variable only points at a secret or
describes one:

- the name ends in a reference word (``SECRET_ARN``, ``PASSWORD_PARAM``,
  ``TOKEN_URL``, ``SECRET_NAME``, ``TOKEN_TTL``);
- the value is a reference to a secret store: an ARN, a Parameter Store path
  such as ``/prod/db/password``, a CloudFormation ``{{resolve:...}}`` dynamic
  reference, or a ``${VAR}`` placeholder;
- the value is empty, a boolean word or a bare number.

Only names and rule identifiers leave this module; values are never returned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class CredentialMatch:
    """A variable that looks like a credential, and the rule that matched it.

    Attributes:
        variable: the variable's name.
        rule: a stable rule identifier, ``value:<format>`` or ``name:<word>``.
    """

    variable: str
    rule: str

    def to_evidence(self) -> dict[str, str]:
        """Return the match as evidence: the variable name and the rule, no value."""
        return {"variable": self.variable, "rule": self.rule}


# Value formats, each a documented or widely published token prefix.
VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "value:private-key",
        re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----"),
    ),
    # AKIA is a long-term IAM user key, ASIA a temporary STS key.
    ("value:aws-access-key-id", re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("value:github-token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}")),
    ("value:github-token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}")),
    ("value:slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    (
        "value:slack-webhook-url",
        re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]+"),
    ),
    # Secret (sk_) and restricted (rk_) keys count, but publishable pk_ keys
    # are public by design.
    ("value:stripe-key", re.compile(r"\b[sr]k_(live|test)_[A-Za-z0-9]{16,}")),
    ("value:stripe-webhook-secret", re.compile(r"\bwhsec_[A-Za-z0-9]{24,}")),
    ("value:google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("value:npm-token", re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    # header.payload.signature, where header and payload are base64url JSON
    # objects and so begin with "eyJ" ('{"').
    (
        "value:jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    ),
)

# scheme://user:password@host, where the password is not a ${VAR} or {{...}}
# placeholder.
URL_WITH_PASSWORD = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:(?![$]|\{\{)[^/\s@]+@"
)

# An AWS secret access key: 40 characters of base64. It has no prefix, so it
# counts only beside an access key id, and it must mix upper and lower case so
# that a 40-character hex digest such as a git commit id does not count.
AWS_SECRET_ACCESS_KEY = re.compile(r"^[A-Za-z0-9/+=]{40}$")

# Credential words, matched against the words of a variable name. A tuple
# matches consecutive words, so API_KEY and ApiKey both give ("API", "KEY").
NAME_KEYWORDS: tuple[tuple[str, ...], ...] = (
    ("PASSWORD",),
    ("PASSWD",),
    ("PASSPHRASE",),
    ("PASS",),
    ("PWD",),
    ("SECRET",),
    ("SECRETS",),
    ("TOKEN",),
    ("CREDENTIAL",),
    ("CREDENTIALS",),
    ("APIKEY",),
    ("API", "KEY"),
    ("PRIVATEKEY",),
    ("PRIVATE", "KEY"),
    ("ACCESS", "KEY"),
    ("SIGNING", "KEY"),
    ("ENCRYPTION", "KEY"),
)

# Last words of a name that point at a credential or describe it rather than
# contain it: SECRET_ARN, PASSWORD_PARAM, TOKEN_URL, PASSWORD_MIN_LENGTH.
REFERENCE_SUFFIXES = frozenset(
    {
        "ARN",
        "PARAM",
        "PARAMETER",
        "PATH",
        "FILE",
        "NAME",
        "ID",
        "URL",
        "URI",
        "ENDPOINT",
        "REGION",
        "TTL",
        "EXPIRY",
        "EXPIRES",
        "LENGTH",
        "TYPE",
        "HEADER",
        "ENABLED",
        "REQUIRED",
    }
)

# Values that point at a secret store instead of holding a secret.
REFERENCE_VALUES = (
    re.compile(r"^arn:[a-z0-9-]+:[a-z0-9-]+:"),  # any ARN
    re.compile(r"^/[A-Za-z0-9_.\-/]+$"),  # a Parameter Store path
    re.compile(r"^\{\{resolve:[a-z-]+:.+\}\}$"),  # CloudFormation dynamic reference
    re.compile(r"^\$\{[A-Za-z0-9_.:-]+\}$"),  # a ${VAR} placeholder
)

PLACEHOLDER_VALUES = frozenset(
    {"", "true", "false", "yes", "no", "on", "off", "enabled", "disabled", "none"}
)

_WORD_SEPARATOR = re.compile(r"[^A-Za-z0-9]+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def find_credentials(variables: Mapping[str, str]) -> list[CredentialMatch]:
    """Return the variables that look like credentials, in the mapping's order.

    Args:
        variables: environment variable names mapped to their values.

    Returns:
        One match per flagged variable, naming the first rule that matched.
    """
    has_access_key_id = any(
        _value_rule(value) == "value:aws-access-key-id" for value in variables.values()
    )

    matches = []
    for name, value in variables.items():
        rule = _value_rule(value)
        if rule is None and has_access_key_id and looks_like_aws_secret_key(value):
            rule = "value:aws-secret-access-key"
        if rule is None:
            rule = name_rule(name, value)
        if rule is not None:
            matches.append(CredentialMatch(variable=name, rule=rule))
    return matches


def find_credentials_in_pairs(
    pairs: Iterable[Mapping[str, str]],
) -> list[CredentialMatch]:
    """Return :func:`find_credentials` for ECS-style ``[{name, value}]`` lists."""
    variables = {pair.get("name", ""): pair.get("value", "") for pair in pairs}
    return find_credentials(variables)


def name_rule(name: str, value: str) -> str | None:
    """Return ``name:<word>`` when the name contains a credential word.

    Returns ``None`` when the name ends in a reference word or the value is a
    reference, a placeholder or a bare number, because such a variable points
    at a credential or describes one.
    """
    words = split_name(name)
    if not words or words[-1] in REFERENCE_SUFFIXES:
        return None
    if is_reference_or_placeholder(value):
        return None

    for keyword in NAME_KEYWORDS:
        if _contains_sequence(words, keyword):
            return "name:" + "_".join(keyword)
    return None


def split_name(name: str) -> list[str]:
    """Split a variable name into upper-case words at separators and camelCase."""
    words = []
    for part in _WORD_SEPARATOR.split(name):
        words.extend(_CAMEL_BOUNDARY.split(part))
    return [word.upper() for word in words if word]


def is_reference_or_placeholder(value: str) -> bool:
    """Return whether a value points at a secret store or contains no secret."""
    stripped = value.strip()
    if stripped.lower() in PLACEHOLDER_VALUES or stripped.isdigit():
        return True
    return any(pattern.match(stripped) for pattern in REFERENCE_VALUES)


def looks_like_aws_secret_key(value: str) -> bool:
    """Return whether a value has the shape of an AWS secret access key."""
    return (
        AWS_SECRET_ACCESS_KEY.match(value) is not None
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
    )


def _value_rule(value: str) -> str | None:
    for rule, pattern in VALUE_PATTERNS:
        if pattern.search(value):
            return rule
    if URL_WITH_PASSWORD.search(value):
        return "value:url-with-password"
    return None


def _contains_sequence(words: list[str], keyword: tuple[str, ...]) -> bool:
    size = len(keyword)
    return any(
        tuple(words[i : i + size]) == keyword for i in range(len(words) - size + 1)
    )
