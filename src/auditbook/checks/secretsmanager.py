"""AWS Secrets Manager checks: rotation.

The check reads only ListSecrets, whose entries carry the rotation settings
and dates. It never calls GetSecretValue, so no secret value is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.models import Finding, Severity, Status


@check(
    "aws.secretsmanager.rotation_enabled",
    title="Secrets rotate automatically and recently",
    service="secretsmanager",
    scope=Scope.REGION,
    resource_type="secret",
    severity=Severity.MEDIUM,
    proves=(
        "The secret has rotation enabled and its last rotation, or its creation "
        "if it was never rotated, is no older than the configured number of "
        "days (90 by default)."
    ),
    permissions=["secretsmanager:ListSecrets"],
)
def rotation_enabled(ctx: CheckContext) -> Iterator[Finding]:
    max_age_days = ctx.settings.thresholds.secret_rotation_days
    for secret in ctx.call("secretsmanager", "list_secrets").get("SecretList", []):
        yield _rotation_finding(ctx, secret, max_age_days)


def _rotation_finding(
    ctx: CheckContext, secret: dict[str, Any], max_age_days: int
) -> Finding:
    name = secret.get("Name", secret["ARN"])
    enabled = bool(secret.get("RotationEnabled"))
    last_rotated = secret.get("LastRotatedDate")
    # A secret that was never rotated still contains the value it was created with.
    reference = last_rotated or secret.get("CreatedDate")
    age_days = _days_since(reference) if reference else None
    rules = secret.get("RotationRules") or {}

    evidence = {
        "secret_name": name,
        "rotation_enabled": enabled,
        "last_rotated_date": _iso(last_rotated),
        "created_date": _iso(secret.get("CreatedDate")),
        "days_since_rotation": age_days,
        "max_age_days": max_age_days,
        "rotation_interval_days": rules.get("AutomaticallyAfterDays"),
        "rotation_schedule": rules.get("ScheduleExpression"),
        "next_rotation_date": _iso(secret.get("NextRotationDate")),
        "owning_service": secret.get("OwningService"),
    }

    since = "last rotated" if last_rotated else "created and never rotated"
    if not enabled:
        status = Status.FAIL
        message = f"Secret {name} has rotation disabled."
    elif age_days is None:
        status = Status.FAIL
        message = (
            f"Secret {name} has rotation enabled but reports neither a rotation "
            "nor a creation date."
        )
    elif age_days > max_age_days:
        status = Status.FAIL
        message = (
            f"Secret {name} was {since} {age_days} days ago, more than "
            f"{max_age_days} days."
        )
    else:
        status = Status.PASS
        message = (
            f"Secret {name} has rotation enabled and was {since} {age_days} days ago."
        )
    return ctx.finding(secret["ARN"], status, message, evidence)


def _days_since(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (datetime.now(UTC) - moment).days


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")
