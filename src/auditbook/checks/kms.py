"""AWS KMS checks: automatic rotation of customer-managed keys.

AWS KMS rotates key material automatically only for symmetric encryption keys
that it generated itself and that a customer manages. AWS-managed keys rotate
every year without a setting, and asymmetric keys, HMAC keys, keys with
imported material and keys in custom key stores cannot rotate automatically,
so none of them is judged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

CUSTOMER_MANAGED = "CUSTOMER"
ENABLED = "Enabled"
SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
# Origin of key material that AWS KMS generated. EXTERNAL (imported),
# AWS_CLOUDHSM and EXTERNAL_KEY_STORE keys do not support automatic rotation.
AWS_KMS_ORIGIN = "AWS_KMS"


@check(
    "aws.kms.cmk_rotation_enabled",
    title="Customer-managed KMS keys rotate automatically",
    service="kms",
    scope=Scope.REGION,
    resource_type="KMS key",
    severity=Severity.MEDIUM,
    proves=(
        "An enabled customer-managed symmetric encryption key "
        "(SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) with key material from AWS KMS "
        "has automatic rotation on. Other keys are not judged."
    ),
    permissions=["kms:ListKeys", "kms:DescribeKey", "kms:GetKeyRotationStatus"],
)
def cmk_rotation_enabled(ctx: CheckContext) -> Iterator[Finding]:
    for listed in ctx.call("kms", "list_keys").get("Keys", []):
        arn = listed["KeyArn"]
        try:
            finding = _rotation_finding(ctx, arn)
        except AwsCallError as exc:
            finding = ctx.error(exc, resource_id=arn)
        if finding is not None:
            yield finding


def _rotation_finding(ctx: CheckContext, arn: str) -> Finding | None:
    metadata = ctx.call("kms", "describe_key", KeyId=arn).get("KeyMetadata") or {}
    if not _supports_rotation(metadata):
        return None

    status_response = ctx.call("kms", "get_key_rotation_status", KeyId=arn)
    enabled = bool(status_response.get("KeyRotationEnabled"))
    evidence = _key_evidence(metadata)
    evidence["rotation_enabled"] = enabled
    evidence["rotation_period_days"] = status_response.get("RotationPeriodInDays")

    key_id = metadata.get("KeyId")
    if enabled:
        status = Status.PASS
        message = f"KMS key {key_id} has automatic rotation enabled."
    else:
        status = Status.FAIL
        message = f"KMS key {key_id} has automatic rotation disabled."
    return ctx.finding(arn, status, message, evidence)


def _supports_rotation(metadata: dict[str, Any]) -> bool:
    # CustomerMasterKeySpec is the deprecated name of KeySpec, which older
    # responses may carry alone. AWS always reports KeyUsage, but moto 5.2
    # omits it for a key created without one, where AWS uses ENCRYPT_DECRYPT.
    key_spec = metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec")
    return (
        metadata.get("KeyManager") == CUSTOMER_MANAGED
        and metadata.get("KeyState") == ENABLED
        and key_spec == SYMMETRIC_DEFAULT
        and metadata.get("KeyUsage", ENCRYPT_DECRYPT) == ENCRYPT_DECRYPT
        and metadata.get("Origin", AWS_KMS_ORIGIN) == AWS_KMS_ORIGIN
    )


def _key_evidence(metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "key_id": metadata.get("KeyId"),
        "key_manager": metadata.get("KeyManager"),
        "key_state": metadata.get("KeyState"),
        "key_spec": metadata.get("KeySpec"),
        "key_usage": metadata.get("KeyUsage"),
        "origin": metadata.get("Origin"),
        "multi_region": bool(metadata.get("MultiRegion")),
    }
