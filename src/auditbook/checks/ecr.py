"""Amazon ECR checks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.models import Finding, Severity, Status

ENHANCED = "ENHANCED"
SCAN_ON_PUSH = "SCAN_ON_PUSH"


@check(
    "aws.ecr.image_scanning",
    title="Container images are scanned on push",
    service="ecr",
    scope=Scope.REGION,
    resource_type="repository",
    severity=Severity.MEDIUM,
    proves=(
        "The repository scans images on push, through its own scanOnPush setting "
        "or a basic-scanning registry rule that matches it, or the registry uses "
        "enhanced scanning."
    ),
    permissions=["ecr:DescribeRepositories", "ecr:GetRegistryScanningConfiguration"],
)
def image_scanning(ctx: CheckContext) -> Iterator[Finding]:
    repositories = ctx.call("ecr", "describe_repositories").get("repositories", [])
    if not repositories:
        return

    registry = ctx.call("ecr", "get_registry_scanning_configuration")
    configuration = registry.get("scanningConfiguration", {})
    scan_type = configuration.get("scanType", "BASIC")
    push_filters = [
        repository_filter.get("filter", "")
        for rule in configuration.get("rules", [])
        if rule.get("scanFrequency") == SCAN_ON_PUSH
        for repository_filter in rule.get("repositoryFilters", [])
    ]

    for repository in repositories:
        name = repository["repositoryName"]
        scan_on_push = bool(
            repository.get("imageScanningConfiguration", {}).get("scanOnPush")
        )
        matched = [f for f in push_filters if wildcard_matches(f, name)]
        evidence: dict[str, Any] = {
            "repository": name,
            "scan_on_push": scan_on_push,
            "registry_scan_type": scan_type,
            "registry_scan_on_push_filters": matched,
        }

        # NOTE: enhanced scanning passes every repository, as the catalog
        # defines it, although Inspector scans only repositories that match
        # one of the registry's enhanced-scanning rules.
        if scan_type == ENHANCED:
            status = Status.PASS
            message = f"Repository {name} is in a registry with enhanced scanning."
        elif scan_on_push:
            status = Status.PASS
            message = f"Repository {name} scans images on push."
        elif matched:
            status = Status.PASS
            message = (
                f"Repository {name} scans images on push through the registry "
                f"filter {matched[0]!r}."
            )
        else:
            status = Status.FAIL
            message = (
                f"Repository {name} does not scan images on push, and the registry "
                "uses basic scanning."
            )

        yield ctx.finding(repository["repositoryArn"], status, message, evidence)


def wildcard_matches(pattern: str, name: str) -> bool:
    """Return whether an ECR ``WILDCARD`` repository filter matches a name.

    In ECR scanning filters ``*`` matches any run of characters, and every
    other character matches itself.
    """
    parts = (re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(".*".join(parts), name) is not None
