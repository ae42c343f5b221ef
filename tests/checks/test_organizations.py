"""Tests of the service control policy checks."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.config import AccountTarget
from auditbook.models import Status
from tests.conftest import deny

SCP = "SERVICE_CONTROL_POLICY"
CHECKS = (
    "aws.organizations.scp_requires_mfa",
    "aws.organizations.scp_region_restriction",
)

DENY_WITHOUT_MFA = {
    "Sid": "DenyWithoutMfa",
    "Effect": "Deny",
    "Action": "*",
    "Resource": "*",
    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
}


def deny_outside(*regions: str, operator: str = "StringNotEquals") -> dict:
    return {
        "Sid": "DenyOutsideApprovedRegions",
        "Effect": "Deny",
        "NotAction": ["iam:*", "organizations:*", "sts:*", "support:*"],
        "Resource": "*",
        "Condition": {operator: {"aws:RequestedRegion": list(regions)}},
    }


@pytest.fixture
def organizations(aws):
    """Create an organization managed by the test account and return its client."""
    client = aws.client("organizations")
    client.create_organization(FeatureSet="ALL")
    client.enable_policy_type(RootId=root_id(client), PolicyType=SCP)
    return client


def root_id(client) -> str:
    return client.list_roots()["Roots"][0]["Id"]


def attach_scp(client, name: str, *statements: dict, target: str | None = None) -> str:
    policy_id = client.create_policy(
        Name=name,
        Description=name,
        Type=SCP,
        Content=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
    )["Policy"]["PolicySummary"]["Id"]
    client.attach_policy(PolicyId=policy_id, TargetId=target or root_id(client))
    return policy_id


def test_mfa_scp_on_root_passes(organizations, run_checks):
    policy_id = attach_scp(organizations, "deny-without-mfa", DENY_WITHOUT_MFA)

    [finding] = run_checks("aws.organizations.scp_requires_mfa")

    assert finding.status == Status.PASS
    assert finding.resource_id == ACCOUNT
    assert policy_id in finding.message


def test_mfa_scp_on_account_passes(organizations, run_checks):
    attach_scp(organizations, "deny-without-mfa", DENY_WITHOUT_MFA, target=ACCOUNT)

    [finding] = run_checks("aws.organizations.scp_requires_mfa")

    assert finding.status == Status.PASS


def test_bool_operator_counts(organizations, run_checks):
    statement = {
        **DENY_WITHOUT_MFA,
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": ["false"]}},
    }
    attach_scp(organizations, "deny-without-mfa", statement)

    [finding] = run_checks("aws.organizations.scp_requires_mfa")

    assert finding.status == Status.PASS


def test_default_scp_only_fails(organizations, run_checks):
    [finding] = run_checks("aws.organizations.scp_requires_mfa")

    assert finding.status == Status.FAIL
    assert [p["name"] for p in finding.evidence["policies"]] == ["FullAWSAccess"]


def test_allow_with_mfa_condition_fails(organizations, run_checks):
    statement = {**DENY_WITHOUT_MFA, "Effect": "Allow"}
    attach_scp(organizations, "allow-without-mfa", statement)

    [finding] = run_checks("aws.organizations.scp_requires_mfa")

    assert finding.status == Status.FAIL


def test_detached_scp_fails(organizations, run_checks):
    organizations.create_policy(
        Name="deny-without-mfa",
        Description="not attached",
        Type=SCP,
        Content=json.dumps({"Version": "2012-10-17", "Statement": [DENY_WITHOUT_MFA]}),
    )

    [finding] = run_checks("aws.organizations.scp_requires_mfa")

    assert finding.status == Status.FAIL


def test_region_scp_passes(organizations, run_checks):
    attach_scp(
        organizations, "approved-regions", deny_outside("eu-west-2", "eu-west-1")
    )

    [finding] = run_checks("aws.organizations.scp_region_restriction")

    assert finding.status == Status.PASS
    assert "eu-west-2, eu-west-1" in finding.message


def test_region_scp_if_exists_passes(organizations, run_checks):
    statement = deny_outside("eu-west-2", operator="StringNotEqualsIfExists")
    attach_scp(organizations, "london-only", statement)

    [finding] = run_checks("aws.organizations.scp_region_restriction")

    assert finding.status == Status.PASS


def test_unapproved_region_in_scp_fails(organizations, run_checks):
    statement = deny_outside("eu-west-2", "us-east-1")
    attach_scp(organizations, "approved-regions", statement)

    [finding] = run_checks("aws.organizations.scp_region_restriction")

    assert finding.status == Status.FAIL
    matching = [p["matching_statements"] for p in finding.evidence["policies"]]
    assert matching == [[], []]


def test_approved_regions_come_from_settings(organizations, run_checks, settings):
    attach_scp(organizations, "virginia-only", deny_outside("us-east-1"))
    us_only = replace(settings, approved_regions=("us-east-1",))

    [finding] = run_checks("aws.organizations.scp_region_restriction", settings=us_only)

    assert finding.status == Status.PASS


def test_outside_organization_not_applicable(run_checks):
    findings = run_checks(*CHECKS)

    assert [f.status for f in findings] == [Status.NOT_APPLICABLE] * 2
    assert "not in an organization" in findings[0].message


def test_member_account_not_applicable(organizations, run_checks, settings):
    attach_scp(organizations, "deny-without-mfa", DENY_WITHOUT_MFA)
    member = organizations.create_account(
        AccountName="workloads-prod", Email="aws-workloads-prod@example.com"
    )["CreateAccountStatus"]["AccountId"]
    target = AccountTarget(id=member, role_name="OrganizationAccountAccessRole")

    findings = run_checks(*CHECKS, settings=replace(settings, accounts=(target,)))

    assert [f.status for f in findings] == [Status.NOT_APPLICABLE] * 2
    assert [f.account_id for f in findings] == [member] * 2
    assert findings[0].evidence["management_account"] == ACCOUNT


def test_describe_organization_denied_is_error(aws, run_checks):
    deny(aws, "organizations", "DescribeOrganization")

    [finding] = run_checks("aws.organizations.scp_requires_mfa")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_unreadable_scp_is_error(organizations, run_checks, aws):
    policy_id = attach_scp(organizations, "deny-without-mfa", DENY_WITHOUT_MFA)
    deny(aws, "organizations", "DescribePolicy")

    [finding] = run_checks("aws.organizations.scp_requires_mfa")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"
    assert policy_id in [p["id"] for p in finding.evidence["policies"]]
