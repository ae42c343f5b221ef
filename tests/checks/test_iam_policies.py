"""Tests of the IAM administrator-access checks: service roles and customer policies."""

from __future__ import annotations

import json

import pytest
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.models import Status
from tests.conftest import deny

ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"


def trust(principal: dict) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
            ],
        }
    )


def policy(statement: dict | list) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statement})


ECS_TASKS = {"Service": "ecs-tasks.amazonaws.com"}
ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
READ_REPORTS = {
    "Effect": "Allow",
    "Action": ["s3:GetObject", "s3:ListBucket"],
    "Resource": ["arn:aws:s3:::payments-reports", "arn:aws:s3:::payments-reports/*"],
}


@pytest.fixture
def managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load AWS managed policies such as AdministratorAccess into moto.

    moto leaves them out unless asked, and reads the switch when it creates
    an account's IAM backend, so this fixture must run before the first call.
    """
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def test_scoped_service_role_passes(run_checks, aws):
    iam = aws.client("iam")
    iam.create_role(
        RoleName="payments-api-task-role", AssumeRolePolicyDocument=trust(ECS_TASKS)
    )
    iam.put_role_policy(
        RoleName="payments-api-task-role",
        PolicyName="read-reports",
        PolicyDocument=policy([READ_REPORTS]),
    )

    [finding] = run_checks("aws.iam.service_role_no_admin")

    assert finding.status == Status.PASS
    assert finding.resource_id == role_arn("payments-api-task-role")
    assert finding.evidence["trusted_services"] == ["ecs-tasks.amazonaws.com"]
    assert finding.evidence["policies"] == ["inline:read-reports"]


def test_role_with_administrator_access_fails(managed_policies, run_checks, aws):
    iam = aws.client("iam")
    iam.create_role(
        RoleName="legacy-batch-ec2-role",
        AssumeRolePolicyDocument=trust({"Service": ["ec2.amazonaws.com"]}),
    )
    iam.attach_role_policy(
        RoleName="legacy-batch-ec2-role", PolicyArn=ADMINISTRATOR_ACCESS
    )

    [finding] = run_checks("aws.iam.service_role_no_admin")

    assert finding.status == Status.FAIL
    assert finding.evidence["admin_policies"] == [ADMINISTRATOR_ACCESS]
    assert "AdministratorAccess" in finding.message


def test_role_with_admin_inline_fails(run_checks, aws):
    iam = aws.client("iam")
    iam.create_role(
        RoleName="etl-lambda-role",
        AssumeRolePolicyDocument=trust({"Service": "lambda.amazonaws.com"}),
    )
    # A single statement object rather than a list, with Action as a list.
    iam.put_role_policy(
        RoleName="etl-lambda-role",
        PolicyName="everything",
        PolicyDocument=policy({"Effect": "Allow", "Action": ["*"], "Resource": "*"}),
    )

    [finding] = run_checks("aws.iam.service_role_no_admin")

    assert finding.status == Status.FAIL
    assert finding.evidence["admin_policies"] == ["inline:everything"]


def test_role_with_admin_managed_policy_fails(run_checks, aws):
    iam = aws.client("iam")
    iam.create_role(
        RoleName="payments-api-task-role", AssumeRolePolicyDocument=trust(ECS_TASKS)
    )
    arn = iam.create_policy(
        PolicyName="break-glass-admin", PolicyDocument=policy([ADMIN])
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="payments-api-task-role", PolicyArn=arn)

    [finding] = run_checks("aws.iam.service_role_no_admin")

    assert finding.status == Status.FAIL
    assert finding.evidence["admin_policies"] == [arn]


def test_denied_wildcard_is_not_admin(run_checks, aws):
    iam = aws.client("iam")
    iam.create_role(
        RoleName="payments-api-task-role", AssumeRolePolicyDocument=trust(ECS_TASKS)
    )
    iam.put_role_policy(
        RoleName="payments-api-task-role",
        PolicyName="deny-all",
        PolicyDocument=policy([{**ADMIN, "Effect": "Deny"}, READ_REPORTS]),
    )

    [finding] = run_checks("aws.iam.service_role_no_admin")

    assert finding.status == Status.PASS


def test_human_role_not_judged(run_checks, aws):
    aws.client("iam").create_role(
        RoleName="OrganizationAccountAccessRole",
        AssumeRolePolicyDocument=trust({"AWS": "arn:aws:iam::111122223333:root"}),
    )

    [finding] = run_checks("aws.iam.service_role_no_admin")

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == ACCOUNT
    assert finding.evidence["roles"] == 1


def test_list_roles_denied_is_error(run_checks, aws):
    deny(aws, "iam", "ListRoles")

    [finding] = run_checks("aws.iam.service_role_no_admin")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_unreadable_inline_policy_names_role(run_checks, aws):
    iam = aws.client("iam")
    iam.create_role(
        RoleName="etl-lambda-role",
        AssumeRolePolicyDocument=trust({"Service": "lambda.amazonaws.com"}),
    )
    iam.put_role_policy(
        RoleName="etl-lambda-role",
        PolicyName="etl",
        PolicyDocument=policy([READ_REPORTS]),
    )
    iam.create_role(
        RoleName="payments-api-task-role", AssumeRolePolicyDocument=trust(ECS_TASKS)
    )
    deny(aws, "iam", "GetRolePolicy")

    findings = run_checks("aws.iam.service_role_no_admin")

    by_role = {f.resource_id: f.status for f in findings}
    assert by_role == {
        role_arn("etl-lambda-role"): Status.ERROR,
        role_arn("payments-api-task-role"): Status.PASS,
    }


def test_scoped_customer_policy_passes(run_checks, aws):
    iam = aws.client("iam")
    iam.create_user(UserName="reporting-export")
    arn = iam.create_policy(
        PolicyName="s3-reports-read", PolicyDocument=policy([READ_REPORTS])
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="reporting-export", PolicyArn=arn)

    [finding] = run_checks("aws.iam.no_admin_policies")

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    assert finding.evidence["admin_statements"] == []


def test_admin_customer_policy_fails(run_checks, aws):
    iam = aws.client("iam")
    iam.create_user(UserName="alice.admin")
    arn = iam.create_policy(
        PolicyName="break-glass-admin", PolicyDocument=policy([ADMIN])
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="alice.admin", PolicyArn=arn)

    [finding] = run_checks("aws.iam.no_admin_policies")

    assert finding.status == Status.FAIL
    assert finding.evidence["admin_statements"] == [ADMIN]
    assert "break-glass-admin" in finding.message


def test_default_version_is_judged(run_checks, aws):
    iam = aws.client("iam")
    iam.create_user(UserName="alice.admin")
    arn = iam.create_policy(PolicyName="ops", PolicyDocument=policy([ADMIN]))["Policy"][
        "Arn"
    ]
    iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=policy([READ_REPORTS]), SetAsDefault=True
    )
    iam.attach_user_policy(UserName="alice.admin", PolicyArn=arn)

    [finding] = run_checks("aws.iam.no_admin_policies")

    assert finding.status == Status.PASS
    assert finding.evidence["default_version_id"] == "v2"


def test_unattached_policy_not_applicable(run_checks, aws):
    aws.client("iam").create_policy(
        PolicyName="break-glass-admin", PolicyDocument=policy([ADMIN])
    )

    [finding] = run_checks("aws.iam.no_admin_policies")

    assert finding.status == Status.NOT_APPLICABLE
    assert "No customer-managed policy is attached" in finding.message


def test_list_policies_denied_is_error(run_checks, aws):
    deny(aws, "iam", "ListPolicies")

    [finding] = run_checks("aws.iam.no_admin_policies")

    assert finding.status == Status.ERROR
    assert finding.evidence["operation"] == "iam:ListPolicies"


def test_unreadable_policy_version_names_policy(run_checks, aws):
    iam = aws.client("iam")
    iam.create_user(UserName="alice.admin")
    arn = iam.create_policy(
        PolicyName="break-glass-admin", PolicyDocument=policy([ADMIN])
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="alice.admin", PolicyArn=arn)
    deny(aws, "iam", "GetPolicyVersion")

    [finding] = run_checks("aws.iam.no_admin_policies")

    assert finding.status == Status.ERROR
    assert finding.resource_id == arn
