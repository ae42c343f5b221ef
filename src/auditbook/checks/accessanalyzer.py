"""IAM Access Analyzer checks."""

from __future__ import annotations

from collections.abc import Iterator

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.models import Finding, Severity, Status

# Analyzers of external access. The *_UNUSED_ACCESS types find unused
# permissions instead, so they do not count.
EXTERNAL_ACCESS_TYPES = frozenset({"ACCOUNT", "ORGANIZATION"})


@check(
    "aws.iam.access_analyzer_enabled",
    title="IAM Access Analyzer is enabled in every region",
    service="accessanalyzer",
    scope=Scope.REGION,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=(
        "An external-access analyzer of the account or of its organization is "
        "ACTIVE in the region."
    ),
    permissions=["access-analyzer:ListAnalyzers"],
)
def access_analyzer_enabled(ctx: CheckContext) -> Iterator[Finding]:
    analyzers = ctx.call("accessanalyzer", "list_analyzers").get("analyzers", [])

    external = [a for a in analyzers if a.get("type") in EXTERNAL_ACCESS_TYPES]
    active = [a for a in external if a.get("status") == "ACTIVE"]
    evidence = {
        "analyzers": [
            {"name": a["name"], "type": a.get("type"), "status": a.get("status")}
            for a in analyzers
        ]
    }
    if active:
        analyzer = active[0]
        yield ctx.finding(
            analyzer["arn"],
            Status.PASS,
            f"Access analyzer {analyzer['name']} ({analyzer['type']}) is active in "
            f"{ctx.region}.",
            evidence,
        )
    elif external:
        analyzer = external[0]
        yield ctx.finding(
            analyzer["arn"],
            Status.FAIL,
            f"Access analyzer {analyzer['name']} in {ctx.region} is "
            f"{analyzer.get('status')}, not ACTIVE.",
            evidence,
        )
    else:
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            f"IAM Access Analyzer has no external-access analyzer in {ctx.region}.",
            evidence,
        )
