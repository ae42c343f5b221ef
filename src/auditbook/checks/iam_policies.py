"""AWS IAM checks on administrator access: service roles and customer policies.

A policy grants full administrator access when it is AWS's AdministratorAccess
or when any statement allows Action ``*`` on Resource ``*``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.policy_documents import (
    admin_statements,
    load_policy_document,
    service_principals,
)
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status


@check(
    "aws.iam.service_role_no_admin",
    title="Service roles have no administrator policy",
    service="iam",
    scope=Scope.ACCOUNT,
    resource_type="IAM role",
    severity=Severity.HIGH,
    proves=(
        "A role that an AWS service can assume has neither AdministratorAccess "
        'nor any policy allowing Action "*" on Resource "*".'
    ),
    permissions=[
        "iam:ListRoles",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
    ],
)
def service_role_no_admin(ctx: CheckContext) -> Iterator[Finding]:
    roles = ctx.call("iam", "list_roles").get("Roles", [])

    service_roles = 0
    for role in roles:
        services = service_principals(
            load_policy_document(role.get("AssumeRolePolicyDocument") or {})
        )
        if not services:
            continue
        service_roles += 1

        try:
            policies = _role_policies(ctx, role["RoleName"])
        except AwsCallError as exc:
            yield ctx.error(exc, resource_id=role["Arn"])
            continue

        admin = [name for name, is_admin in policies.items() if is_admin]
        evidence = {
            "trusted_services": services,
            "policies": sorted(policies),
            "admin_policies": admin,
        }
        if admin:
            yield ctx.finding(
                role["Arn"],
                Status.FAIL,
                f"IAM role {role['RoleName']}, assumable by {', '.join(services)}, "
                f"has administrator policy {admin[0]}.",
                evidence,
            )
        else:
            yield ctx.finding(
                role["Arn"],
                Status.PASS,
                f"IAM role {role['RoleName']}, assumable by {', '.join(services)}, "
                "has no administrator policy.",
                evidence,
            )

    if not service_roles:
        yield ctx.finding(
            ctx.scope_id,
            Status.NOT_APPLICABLE,
            f"No IAM role in account {ctx.account_id} is assumable by an AWS service.",
            {"roles": len(roles)},
        )


def _role_policies(ctx: CheckContext, role_name: str) -> dict[str, bool]:
    """Return each policy of a role, by ARN or inline name, and whether it is admin.

    Raises:
        AwsCallError: a policy of the role cannot be read.
    """
    attached = ctx.call("iam", "list_attached_role_policies", RoleName=role_name)
    inline = ctx.call("iam", "list_role_policies", RoleName=role_name)

    policies = {}
    for policy in attached.get("AttachedPolicies", []):
        arn = policy["PolicyArn"]
        if arn == f"arn:{ctx.partition}:iam::aws:policy/AdministratorAccess":
            policies[arn] = True
        else:
            policies[arn] = bool(admin_statements(_managed_policy_document(ctx, arn)))

    for name in inline.get("PolicyNames", []):
        response = ctx.call(
            "iam", "get_role_policy", RoleName=role_name, PolicyName=name
        )
        document = load_policy_document(response["PolicyDocument"])
        policies[f"inline:{name}"] = bool(admin_statements(document))
    return policies


def _managed_policy_document(
    ctx: CheckContext, arn: str, version_id: str | None = None
) -> dict[str, Any]:
    if version_id is None:
        version_id = ctx.call("iam", "get_policy", PolicyArn=arn)["Policy"][
            "DefaultVersionId"
        ]
    response = ctx.call(
        "iam", "get_policy_version", PolicyArn=arn, VersionId=version_id
    )
    return load_policy_document(response["PolicyVersion"]["Document"])


@check(
    "aws.iam.no_admin_policies",
    title="Customer-managed policies grant no full administrator access",
    service="iam",
    scope=Scope.ACCOUNT,
    resource_type="policy",
    severity=Severity.HIGH,
    proves=(
        "The default version of an attached customer-managed policy does not "
        'allow Action "*" on Resource "*".'
    ),
    permissions=["iam:ListPolicies", "iam:GetPolicyVersion"],
)
def no_admin_policies(ctx: CheckContext) -> Iterator[Finding]:
    policies = ctx.call("iam", "list_policies", Scope="Local", OnlyAttached=True).get(
        "Policies", []
    )

    if not policies:
        yield ctx.finding(
            ctx.scope_id,
            Status.NOT_APPLICABLE,
            f"No customer-managed policy is attached in account {ctx.account_id}.",
        )
        return

    for policy in policies:
        arn = policy["Arn"]
        try:
            document = _managed_policy_document(ctx, arn, policy["DefaultVersionId"])
        except AwsCallError as exc:
            yield ctx.error(exc, resource_id=arn)
            continue

        admin = admin_statements(document)
        evidence = {
            "default_version_id": policy["DefaultVersionId"],
            "attachment_count": policy.get("AttachmentCount"),
            "admin_statements": admin,
        }
        if admin:
            yield ctx.finding(
                arn,
                Status.FAIL,
                f"Customer-managed policy {policy['PolicyName']} allows every action "
                "on every resource.",
                evidence,
            )
        else:
            yield ctx.finding(
                arn,
                Status.PASS,
                f"Customer-managed policy {policy['PolicyName']} does not allow every "
                "action on every resource.",
                evidence,
            )
