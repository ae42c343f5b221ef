"""Seed the demo account's identity: the root user, IAM users, roles, policies, SCPs.

The production variant is compliant at account level and has compliant and
non-compliant users, roles and policies beside each other. The sandbox
variant fails at account level.

Seeding calls mutating IAM and Organizations APIs. Where AWS has no API for a
state (root MFA, root access keys, root use, credential dates), the seed sets
it on moto's in-process IAM backend, so it works only with a moto server
running in this process. It expects a fresh simulated account and is not
idempotent.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import boto3
from moto.core.utils import utcnow
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import (
    AccessKeyLastUsed,
    AWSManagedPolicy,
    IAMBackend,
    iam_backends,
)

logger = logging.getLogger(__name__)

VARIANTS = ("production", "sandbox")
REGION = "eu-west-2"
APPROVED_REGIONS = ("eu-west-2", "eu-west-1")
POLICY_VERSION = "2012-10-17"

# The report's date format, which moto's report uses too.
REPORT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"

# A password that meets the production password policy. It only unlocks the
# simulated console of the demo account.
DEMO_PASSWORD = "Demo-Console-Password-2024!"

ADMIN_STATEMENT = {"Effect": "Allow", "Action": "*", "Resource": "*"}
REPORTS_READ_STATEMENT = {
    "Effect": "Allow",
    "Action": ["s3:GetObject", "s3:ListBucket"],
    "Resource": ["arn:aws:s3:::payments-reports", "arn:aws:s3:::payments-reports/*"],
}
PAYMENTS_TABLE_STATEMENT = {
    "Effect": "Allow",
    "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
    "Resource": f"arn:aws:dynamodb:{REGION}:*:table/payments",
}


def seed(session: boto3.Session, account_id: str, variant: str) -> None:
    """Create the demo identity configuration of one account.

    Args:
        session: the session whose endpoint and credentials reach the simulator.
        account_id: the simulated account; its moto IAM backend is changed
            directly for state that AWS sets only through the console.
        variant: ``production`` or ``sandbox``.

    Raises:
        ValueError: the variant is not one of ``production`` or ``sandbox``.
    """
    if variant not in VARIANTS:
        raise ValueError(
            f"variant {variant!r} is invalid; expected one of {', '.join(VARIANTS)}"
        )

    iam = session.client("iam", region_name=REGION)
    backend = iam_backends[account_id]["global"]
    if variant == "production":
        _seed_production(session, iam, backend, account_id)
    else:
        _seed_sandbox(iam, backend, account_id)
        # The sandbox once created an organisation of its own by mistake,
        # with no guardrail policies, so it is a management account that
        # fails both SCP checks.
        session.client("organizations", region_name=REGION).create_organization(
            FeatureSet="ALL"
        )
    logger.info("seeded the %s identity of account %s", variant, account_id)


def _seed_production(
    session: boto3.Session, iam: Any, backend: IAMBackend, account_id: str
) -> None:
    # Root MFA can only be enabled while signed in as root. With no virtual
    # device assigned to root, the checks read it as a hardware device.
    backend.account_summary._account_mfa_enabled = 1
    _add_root_report_row(backend, account_id, password_last_used=_days_ago(95))

    iam.update_account_password_policy(
        MinimumPasswordLength=16,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        MaxPasswordAge=90,
        PasswordReusePrevention=24,
    )
    # NOTE: moto implements no IAM Access Analyzer API, so the demo cannot
    # seed an analyzer and aws.iam.access_analyzer_enabled reports ERROR.

    _seed_users(iam, backend)
    _seed_roles(iam, backend)
    _seed_organization(session.client("organizations", region_name=REGION))


def _seed_users(iam: Any, backend: IAMBackend) -> None:
    admin_policy = _create_policy(iam, "break-glass-admin", ADMIN_STATEMENT)
    reports_policy = _create_policy(iam, "s3-reports-read", REPORTS_READ_STATEMENT)

    _create_user(iam, backend, "alice.admin", console=True, mfa=True, password_used=2)
    iam.attach_user_policy(UserName="alice.admin", PolicyArn=admin_policy)

    _create_user(iam, backend, "bob.analyst", console=True, mfa=False, password_used=9)
    iam.attach_user_policy(UserName="bob.analyst", PolicyArn=reports_policy)

    # ci-deploy's key is in daily use but was never rotated.
    _create_user(iam, backend, "ci-deploy")
    _create_access_key(iam, backend, "ci-deploy", age_days=200, used_days_ago=1)

    _create_user(iam, backend, "payments-batch")
    _create_access_key(iam, backend, "payments-batch", age_days=12, used_days_ago=0)

    # A contractor who left: the password and a never-used key sit idle.
    _create_user(
        iam, backend, "former.contractor", console=True, mfa=True, password_used=120
    )
    _create_access_key(iam, backend, "former.contractor", age_days=150)


def _seed_roles(iam: Any, backend: IAMBackend) -> None:
    iam.create_role(
        RoleName="payments-api-task-role",
        AssumeRolePolicyDocument=_trust_policy("ecs-tasks.amazonaws.com"),
        Description="Task role of the payments API service",
    )
    iam.put_role_policy(
        RoleName="payments-api-task-role",
        PolicyName="payments-table-access",
        PolicyDocument=_policy_document(PAYMENTS_TABLE_STATEMENT),
    )

    iam.create_role(
        RoleName="legacy-batch-ec2-role",
        AssumeRolePolicyDocument=_trust_policy("ec2.amazonaws.com"),
        Description="Instance role of the legacy nightly batch host",
    )
    iam.attach_role_policy(
        RoleName="legacy-batch-ec2-role",
        PolicyArn=_load_administrator_access(backend),
    )


def _seed_organization(organizations: Any) -> None:
    organizations.create_organization(FeatureSet="ALL")
    root_id = organizations.list_roots()["Roots"][0]["Id"]
    organizations.enable_policy_type(
        RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY"
    )

    require_mfa = {
        "Sid": "DenyWithoutMfa",
        "Effect": "Deny",
        "NotAction": ["iam:ChangePassword", "iam:CreateVirtualMFADevice", "sts:*"],
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    }
    approved_regions = {
        "Sid": "DenyOutsideApprovedRegions",
        "Effect": "Deny",
        "NotAction": ["cloudfront:*", "iam:*", "organizations:*", "sts:*", "support:*"],
        "Resource": "*",
        "Condition": {
            "StringNotEquals": {"aws:RequestedRegion": list(APPROVED_REGIONS)}
        },
    }
    for name, statement in (
        ("require-mfa", require_mfa),
        ("approved-regions-only", approved_regions),
    ):
        policy_id = organizations.create_policy(
            Name=name,
            Description=f"Guardrail: {statement['Sid']}",
            Type="SERVICE_CONTROL_POLICY",
            Content=_policy_document(statement),
        )["Policy"]["PolicySummary"]["Id"]
        organizations.attach_policy(PolicyId=policy_id, TargetId=root_id)


def _seed_sandbox(iam: Any, backend: IAMBackend, account_id: str) -> None:
    # Root access keys can only be created while signed in as root.
    backend.account_summary._account_access_keys_present = 1
    _add_root_report_row(
        backend,
        account_id,
        password_last_used=_days_ago(3),
        access_key_last_used=_days_ago(1),
    )

    iam.update_account_password_policy(MinimumPasswordLength=8)
    _create_user(iam, backend, "sandbox.dev", console=True, mfa=False, password_used=1)


def _create_user(
    iam: Any,
    backend: IAMBackend,
    name: str,
    console: bool = False,
    mfa: bool = False,
    password_used: int | None = None,
) -> None:
    iam.create_user(UserName=name)
    user = backend.users[name]
    # IAM sets creation and last-use dates itself, so the simulated history
    # is written on moto's records.
    user.create_date = utcnow() - timedelta(days=400)

    if console:
        iam.create_login_profile(UserName=name, Password=DEMO_PASSWORD)
        if password_used is not None:
            user.password_last_used = utcnow() - timedelta(days=password_used)
    if mfa:
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)[
            "VirtualMFADevice"
        ]["SerialNumber"]
        iam.enable_mfa_device(
            UserName=name,
            SerialNumber=serial,
            AuthenticationCode1="123456",
            AuthenticationCode2="654321",
        )


def _create_access_key(
    iam: Any,
    backend: IAMBackend,
    user_name: str,
    age_days: int,
    used_days_ago: int | None = None,
) -> None:
    key_id = iam.create_access_key(UserName=user_name)["AccessKey"]["AccessKeyId"]
    key = next(
        k for k in backend.users[user_name].access_keys if k.access_key_id == key_id
    )
    key.create_date = utcnow() - timedelta(days=age_days)
    if used_days_ago is not None:
        key.last_used = AccessKeyLastUsed(
            utcnow() - timedelta(days=used_days_ago), "s3", REGION
        )


def _create_policy(iam: Any, name: str, statement: dict[str, Any]) -> str:
    response = iam.create_policy(
        PolicyName=name, PolicyDocument=_policy_document(statement)
    )
    return response["Policy"]["Arn"]


def _load_administrator_access(backend: IAMBackend) -> str:
    """Add AWS's AdministratorAccess policy to moto and return its ARN.

    Every AWS account has it, but moto loads AWS managed policies only when
    asked before the account's backend exists.
    """
    policies = json.loads(aws_managed_policies_data)
    policy = AWSManagedPolicy.from_data(
        "AdministratorAccess",
        backend.account_id,
        backend.region_name,
        policies["AdministratorAccess"],
    )
    if policy.arn not in backend.managed_policies:
        backend.aws_managed_policies.append(policy)
        backend.managed_policies[policy.arn] = policy
    return policy.arn


def _add_root_report_row(
    backend: IAMBackend,
    account_id: str,
    password_last_used: str,
    access_key_last_used: str | None = None,
) -> None:
    """Make moto's credential report include the <root_account> row IAM writes.

    Only this backend instance's method is wrapped. moto's own code is
    unchanged.
    """
    report: Callable[[], str] = backend.get_credential_report

    def report_with_root() -> str:
        header, _, users = report().partition("\n")
        columns = header.split(",")
        row = dict.fromkeys(columns, "N/A")
        row.update(
            user="<root_account>",
            arn=f"arn:aws:iam::{account_id}:root",
            user_creation_time=_days_ago(900),
            password_enabled="not_supported",
            password_last_used=password_last_used,
            password_last_changed="not_supported",
            password_next_rotation="not_supported",
            mfa_active="true"
            if backend.account_summary._account_mfa_enabled
            else "false",
            access_key_1_active="false",
            access_key_2_active="false",
            cert_1_active="false",
            cert_2_active="false",
        )
        if access_key_last_used is not None:
            row.update(
                access_key_1_active="true",
                access_key_1_last_rotated=_days_ago(700),
                access_key_1_last_used_date=access_key_last_used,
                access_key_1_last_used_region=REGION,
                access_key_1_last_used_service="s3",
            )
        line = io.StringIO()
        writer = csv.DictWriter(line, fieldnames=columns, lineterminator="\n")
        writer.writerow(row)
        return f"{header}\n{line.getvalue()}{users}"

    backend.get_credential_report = report_with_root


def _trust_policy(service: str) -> str:
    return _policy_document(
        {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }
    )


def _policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": POLICY_VERSION, "Statement": list(statements)})


def _days_ago(days: int) -> str:
    moment: datetime = utcnow() - timedelta(days=days)
    return moment.strftime(REPORT_DATE_FORMAT)
