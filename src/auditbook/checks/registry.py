"""The check registry: every check is declared once, with its metadata.

A check is a function that takes a :class:`~auditbook.checks.context.CheckContext`
and yields findings. The :func:`check` decorator records it in :data:`REGISTRY`
and validates its declaration when the module is imported. Add-on checks come
from modules named in the ``auditbook.checks`` entry-point group.
"""

from __future__ import annotations

import enum
import importlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from auditbook.models import Finding, Severity

if TYPE_CHECKING:
    from auditbook.checks.context import CheckContext

logger = logging.getLogger(__name__)

CHECK_ID_PATTERN = re.compile(r"^aws\.[a-z0-9]+\.[a-z0-9_]+$")

# Read-only IAM action prefixes. A check that declares anything else is
# rejected at import time, so the generated IAM policy stays read-only.
READ_ONLY_ACTION = re.compile(
    r"^[a-z0-9-]+:(Describe|List|Get|Lookup|Search|Batch(Get|Describe)"
    r"|GenerateCredentialReport)[A-Za-z0-9]*$"
)

# Modules shipped with auditbook, one per AWS service.
BUILTIN_MODULES = (
    "iam",
    "organizations",
    "accessanalyzer",
    "ec2",
    "rds",
    "s3",
    "kms",
    "dynamodb",
    "elasticache",
    "secretsmanager",
    "awslambda",
    "ecr",
    "ecs",
    "inspector2",
    "elbv2",
    "wafv2",
    "shield",
    "cloudtrail",
    "guardduty",
    "cloudwatch",
    "events",
    "logs",
    "configservice",
    "securityhub",
    "macie",
    "residency",
)


class Scope(enum.StrEnum):
    """The scope a check runs in: once per account, or once per account and region."""

    ACCOUNT = "account"
    REGION = "region"


CheckFunction = Callable[["CheckContext"], Iterator[Finding]]


@dataclass(frozen=True)
class CheckSpec:
    """The declaration of one check.

    Attributes:
        check_id: the catalog ID, for example ``aws.iam.root_mfa_enabled``.
        title: a short title shown beside the ID.
        service: the AWS service the check reads, as boto3 names it.
        scope: ``account`` to run once per account (global services run in the
            home region), ``region`` to run in every collected region.
        resource_type: the kind of resource judged, one finding each; ``None``
            when the check gives one finding per scope.
        severity: the default severity of a failure.
        proves: what PASS means, in one sentence.
        permissions: every IAM action the check calls.
        function: the implementation.
    """

    check_id: str
    title: str
    service: str
    scope: Scope
    resource_type: str | None
    severity: Severity
    proves: str
    permissions: tuple[str, ...]
    function: CheckFunction

    @property
    def granularity(self) -> str:
        """Return the catalog granularity: account, region or a resource type."""
        return self.resource_type or str(self.scope)


REGISTRY: dict[str, CheckSpec] = {}


def check(
    check_id: str,
    *,
    title: str,
    service: str,
    scope: Scope,
    resource_type: str | None,
    severity: Severity,
    proves: str,
    permissions: list[str],
) -> Callable[[CheckFunction], CheckFunction]:
    """Declare a check and add it to the registry.

    Raises:
        ValueError: the ID is malformed or taken, or a permission is not a
            read-only IAM action.
    """

    def register(function: CheckFunction) -> CheckFunction:
        if not CHECK_ID_PATTERN.match(check_id):
            raise ValueError(f"check ID {check_id!r} must look like aws.service.name")
        if check_id in REGISTRY and REGISTRY[check_id].function is not function:
            raise ValueError(f"check ID {check_id!r} is declared twice")
        for action in permissions:
            if not READ_ONLY_ACTION.match(action):
                raise ValueError(
                    f"check {check_id!r} declares {action!r}, which is not a "
                    "read-only IAM action"
                )

        REGISTRY[check_id] = CheckSpec(
            check_id=check_id,
            title=title,
            service=service,
            scope=scope,
            resource_type=resource_type,
            severity=severity,
            proves=proves,
            permissions=tuple(permissions),
            function=function,
        )
        return function

    return register


def load_checks() -> dict[str, CheckSpec]:
    """Import the built-in check modules and any add-ons, and return the registry."""
    for name in BUILTIN_MODULES:
        importlib.import_module(f"auditbook.checks.{name}")

    for entry in entry_points(group="auditbook.checks"):
        logger.debug("loading add-on checks from %s", entry.value)
        entry.load()

    return REGISTRY
