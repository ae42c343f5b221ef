"""Reduce a CloudTrail record to the excerpt fields an auditor reads.

Only the fields listed in :class:`Excerpt` are kept. Request and response
bodies are never copied wholesale: the resource concerned is taken from the
record's ``resources`` list or from a short list of request parameters that
name a resource. Access key ids are masked to their last four characters.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from auditbook.cloudtrail.selectors import is_failed, mapping

# Request parameters that name the resource an event acted on.
_RESOURCE_PARAMETERS = (
    "groupId",
    "groupName",
    "policyArn",
    "policyName",
    "roleName",
    "userName",
    "bucketName",
    "name",
    "trailName",
    "keyId",
    "detectorId",
    "instanceId",
    "dBInstanceIdentifier",
    "functionName",
)

_ACCESS_KEY = re.compile(r"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{12,}\b")
# Long base64-like runs are what secret access keys and tokens look like.
_SECRET_LIKE = re.compile(r"[A-Za-z0-9/+=]{40,}")
_MAX_FIELD = 512


@dataclass(frozen=True)
class Excerpt:
    """One CloudTrail event as shown beside a control's evidence."""

    control_id: str
    account_id: str
    event_time: str
    event_name: str
    event_source: str
    region: str
    principal_type: str
    principal: str
    source_ip: str
    resource: str
    error_code: str
    mfa_used: str
    access_key_id: str
    event_id: str

    def to_dict(self) -> dict[str, str]:
        """Return the excerpt as stored in ``cloudtrail.jsonl``."""
        return asdict(self)


def mask_access_key(key_id: str) -> str:
    """Return an access key id with all but its prefix and last four hidden."""
    if not key_id:
        return ""
    if len(key_id) <= 8:
        return "****"
    return f"{key_id[:4]}…{key_id[-4:]}"


def scrub(value: Any) -> str:
    """Return a field as text with credential-like content masked and length capped."""
    text = "" if value is None else str(value)
    text = _ACCESS_KEY.sub(lambda m: mask_access_key(m.group(0)), text)
    text = _SECRET_LIKE.sub("[redacted]", text)
    if len(text) > _MAX_FIELD:
        text = text[:_MAX_FIELD] + "…"
    return text


def excerpt(control_id: str, record: dict[str, Any]) -> Excerpt:
    """Build the excerpt of one CloudTrail record for one control.

    Log files can be corrupt or forged, so a field of an unexpected JSON type
    is shown as text or left out, never trusted to be the type CloudTrail
    writes.
    """
    identity = mapping(record.get("userIdentity"))
    return Excerpt(
        control_id=control_id,
        account_id=scrub(record.get("recipientAccountId") or identity.get("accountId")),
        event_time=scrub(record.get("eventTime")),
        event_name=scrub(record.get("eventName")),
        event_source=scrub(record.get("eventSource")),
        region=scrub(record.get("awsRegion")),
        principal_type=scrub(identity.get("type")),
        principal=scrub(_principal(identity)),
        source_ip=scrub(record.get("sourceIPAddress")),
        resource=scrub(_resource(record)),
        error_code=scrub(_error(record)),
        mfa_used=_mfa_used(record),
        access_key_id=mask_access_key(str(identity.get("accessKeyId") or "")),
        event_id=scrub(record.get("eventID")),
    )


def _principal(identity: dict[str, Any]) -> Any:
    if identity.get("type") == "Root":
        return identity.get("arn") or "root"
    issuer = mapping(mapping(identity.get("sessionContext")).get("sessionIssuer"))
    return identity.get("arn") or issuer.get("arn") or identity.get("userName") or ""


def _resource(record: dict[str, Any]) -> str:
    resources = record.get("resources") or []
    if isinstance(resources, list):
        names = [r.get("ARN") or r.get("arn") for r in resources if isinstance(r, dict)]
        names = [str(n) for n in names if n]
        if names:
            return ", ".join(names[:3])

    parameters = mapping(record.get("requestParameters"))
    for key in _RESOURCE_PARAMETERS:
        value = parameters.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _error(record: dict[str, Any]) -> str:
    if record.get("errorCode"):
        return str(record["errorCode"])
    if is_failed(record):
        message = record.get("errorMessage") or "Failed authentication"
        return f"ConsoleLogin failure: {message}"
    return ""


def _mfa_used(record: dict[str, Any]) -> str:
    if record.get("eventName") != "ConsoleLogin":
        return ""
    value = mapping(record.get("additionalEventData")).get("MFAUsed")
    return value if value in ("Yes", "No") else ""
