"""AWS Organizations checks: service control policies (SCPs).

Only the management account can list the policies attached to the
organization's roots, so the checks judge an account only when it is the
management account, and record NOT_APPLICABLE in every other account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.policy_documents import (
    condition_values,
    load_policy_document,
    statements,
)
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

SCP_FILTER = "SERVICE_CONTROL_POLICY"

PERMISSIONS = [
    "organizations:DescribeOrganization",
    "organizations:ListRoots",
    "organizations:ListPoliciesForTarget",
    "organizations:DescribePolicy",
]

MFA_OPERATORS = ("BoolIfExists", "Bool")
REGION_OPERATORS = ("StringNotEquals", "StringNotEqualsIfExists")


@dataclass
class ServiceControlPolicy:
    """An SCP attached to a root or to the account, with its document or read error."""

    id: str
    name: str
    arn: str
    targets: list[str] = field(default_factory=list)
    document: dict[str, Any] | None = None
    error: AwsCallError | None = None


# A matcher returns the statements of an SCP that satisfy a check.
Matcher = Callable[[CheckContext, dict[str, Any]], list[dict[str, Any]]]


@check(
    "aws.organizations.scp_requires_mfa",
    title="A service control policy requires MFA",
    service="organizations",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=(
        "An SCP attached to the organization root or the account denies actions "
        "when aws:MultiFactorAuthPresent is false."
    ),
    permissions=PERMISSIONS,
)
def scp_requires_mfa(ctx: CheckContext) -> Iterator[Finding]:
    yield from _evaluate_scps(ctx, "denies actions when MFA is absent", _mfa_denials)


def _mfa_denials(ctx: CheckContext, document: dict[str, Any]) -> list[dict[str, Any]]:
    matches = []
    for statement in statements(document):
        if statement.get("Effect") != "Deny":
            continue
        values = condition_values(
            statement, MFA_OPERATORS, "aws:MultiFactorAuthPresent"
        )
        if values and all(v.lower() == "false" for v in values):
            matches.append(statement)
    return matches


@check(
    "aws.organizations.scp_region_restriction",
    title="A service control policy restricts regions",
    service="organizations",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves=(
        "An SCP attached to the organization root or the account denies actions "
        "whose aws:RequestedRegion is not one of the approved regions."
    ),
    permissions=PERMISSIONS,
)
def scp_region_restriction(ctx: CheckContext) -> Iterator[Finding]:
    approved = ", ".join(ctx.settings.approved_regions)
    yield from _evaluate_scps(
        ctx,
        f"denies actions outside the approved regions ({approved})",
        _region_denials,
    )


def _region_denials(
    ctx: CheckContext, document: dict[str, Any]
) -> list[dict[str, Any]]:
    approved = set(ctx.settings.approved_regions)
    matches = []
    for statement in statements(document):
        if statement.get("Effect") != "Deny":
            continue
        regions = condition_values(statement, REGION_OPERATORS, "aws:RequestedRegion")
        # A statement that leaves any unapproved region out of its deny does
        # not restrict use to the approved regions.
        if regions and set(regions) <= approved:
            matches.append(statement)
    return matches


def _evaluate_scps(
    ctx: CheckContext, requirement: str, matcher: Matcher
) -> Iterator[Finding]:
    organization = _management_organization(ctx)
    if isinstance(organization, Finding):
        yield organization
        return

    policies = _attached_scps(ctx)
    matched = {}
    for policy in policies:
        if policy.document is not None:
            statements_found = matcher(ctx, policy.document)
            if statements_found:
                matched[policy.id] = statements_found

    evidence = {
        "organization_id": organization["Id"],
        "policies": [
            {
                "id": p.id,
                "name": p.name,
                "targets": p.targets,
                "matching_statements": matched.get(p.id, []),
                "error_code": p.error.code if p.error else None,
            }
            for p in policies
        ],
    }
    unreadable = [p for p in policies if p.error is not None]
    if matched:
        policy = next(p for p in policies if p.id in matched)
        yield ctx.finding(
            ctx.scope_id,
            Status.PASS,
            f"Service control policy {policy.name} ({policy.id}) of organization "
            f"{organization['Id']} {requirement}.",
            evidence,
        )
    elif unreadable:
        # The unreadable policy may be the one that satisfies the check.
        error = unreadable[0].error
        yield ctx.finding(
            ctx.scope_id,
            Status.ERROR,
            f"{error.operation} failed with {error.code} for service control "
            f"policy {unreadable[0].id}, so account {ctx.account_id} was not "
            "evaluated.",
            {"error_code": error.code, "operation": error.operation, **evidence},
        )
    else:
        yield ctx.finding(
            ctx.scope_id,
            Status.FAIL,
            f"No service control policy attached to the root or to account "
            f"{ctx.account_id} in organization {organization['Id']} {requirement}.",
            evidence,
        )


def _management_organization(ctx: CheckContext) -> dict[str, Any] | Finding:
    """Return the organization if this is its management account, else a finding.

    Raises:
        AwsCallError: DescribeOrganization failed for a reason other than the
            account not being in an organization.
    """
    try:
        organization = ctx.call("organizations", "describe_organization")
    except AwsCallError as exc:
        if exc.code != "AWSOrganizationsNotInUseException":
            raise
        return ctx.finding(
            ctx.scope_id,
            Status.NOT_APPLICABLE,
            f"Account {ctx.account_id} is not in an organization, so no service "
            "control policy applies.",
            {"organization_id": None},
        )

    organization = organization["Organization"]
    management = organization.get("MasterAccountId")
    if management != ctx.account_id:
        return ctx.finding(
            ctx.scope_id,
            Status.NOT_APPLICABLE,
            f"Account {ctx.account_id} is a member of organization "
            f"{organization['Id']}, so its service control policies are judged "
            f"in management account {management}.",
            {"organization_id": organization["Id"], "management_account": management},
        )
    return organization


def _attached_scps(ctx: CheckContext) -> list[ServiceControlPolicy]:
    """Return the SCPs attached to every root and to the account, read once each.

    A policy whose DescribePolicy call fails carries the error instead of a
    document, so that one unreadable policy does not hide the others.

    Raises:
        AwsCallError: the roots or a target's policies cannot be listed.
    """
    roots = ctx.call("organizations", "list_roots").get("Roots", [])
    targets = [root["Id"] for root in roots] + [ctx.account_id]

    policies: dict[str, ServiceControlPolicy] = {}
    for target in targets:
        attached = ctx.call(
            "organizations",
            "list_policies_for_target",
            TargetId=target,
            Filter=SCP_FILTER,
        ).get("Policies", [])
        for summary in attached:
            policy = policies.setdefault(
                summary["Id"],
                ServiceControlPolicy(summary["Id"], summary["Name"], summary["Arn"]),
            )
            policy.targets.append(target)

    for policy in policies.values():
        try:
            response = ctx.call("organizations", "describe_policy", PolicyId=policy.id)
        except AwsCallError as exc:
            policy.error = exc
            continue
        policy.document = load_policy_document(response["Policy"]["Content"])
    return sorted(policies.values(), key=lambda p: p.id)
