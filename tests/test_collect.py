from dataclasses import replace

import boto3

from auditbook.checks.registry import CheckSpec, Scope
from auditbook.collect import Collector
from auditbook.config import AccountTarget
from auditbook.models import Severity, Status
from tests.conftest import REGION, deny

PRODUCTION = "123456789012"
SANDBOX = "210987654321"


def spec_of(function, scope=Scope.REGION) -> CheckSpec:
    return CheckSpec(
        check_id="aws.test.example",
        title="Example",
        service="test",
        scope=scope,
        resource_type=None,
        severity=Severity.LOW,
        proves="Nothing.",
        permissions=(),
        function=function,
    )


def assumed_session(session: boto3.Session, account_id: str) -> boto3.Session:
    credentials = session.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/Audit", RoleSessionName="test"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def test_api_calls_counted_per_operation(aws, run_checks, settings):
    aws.client("guardduty").create_detector(Enable=True)
    collector = Collector(
        settings, [_registry()["aws.guardduty.enabled"]], session=aws, regions=[REGION]
    )

    result = collector.run()

    assert result.api_calls == {
        "guardduty:GetDetector": 1,
        "guardduty:ListDetectors": 1,
        "sts:GetCallerIdentity": 1,
    }


def test_assumed_role_accounts_collected_separately(aws, settings):
    assumed_session(aws, SANDBOX).client("guardduty").create_detector(Enable=True)
    accounts = (
        AccountTarget(id=PRODUCTION),
        AccountTarget(id=SANDBOX, role_name="Audit"),
    )
    collector = Collector(
        replace(settings, accounts=accounts),
        [_registry()["aws.guardduty.enabled"]],
        session=aws,
        regions=[REGION],
    )

    result = collector.run()

    by_account = {f.account_id: f.status for f in result.findings}
    assert by_account == {PRODUCTION: Status.FAIL, SANDBOX: Status.PASS}
    assert result.api_calls["sts:AssumeRole"] == 1


def test_failed_assume_role_is_error_per_check(aws, settings):
    deny(aws, "sts", "AssumeRole")
    accounts = (
        AccountTarget(id=PRODUCTION),
        AccountTarget(id=SANDBOX, role_name="Audit"),
    )
    collector = Collector(
        replace(settings, accounts=accounts),
        [_registry()["aws.guardduty.enabled"]],
        session=aws,
        regions=[REGION],
    )

    result = collector.run()

    [error] = [f for f in result.findings if f.account_id == SANDBOX]
    assert error.status == Status.ERROR
    assert error.evidence["error_code"] == "AccessDenied"
    assert [f.account_id for f in result.findings if f.status != Status.ERROR] == [
        PRODUCTION
    ]


def test_crashing_check_becomes_error_and_run_goes_on(aws, settings):
    def broken(ctx):
        yield ctx.finding("first", Status.PASS, "Collected before the crash.")
        raise KeyError("Unexpected")

    collector = Collector(settings, [spec_of(broken)], session=aws, regions=[REGION])

    findings = collector.run().findings

    assert [f.status for f in findings] == [Status.ERROR, Status.PASS]
    assert findings[0].evidence["error_code"] == "InternalError:KeyError"


def test_silent_check_records_not_applicable(aws, settings):
    def empty(ctx):
        return iter(())

    collector = Collector(
        settings, [spec_of(empty)], session=aws, regions=[REGION, "eu-west-1"]
    )

    findings = collector.run().findings

    assert {(f.region, f.status) for f in findings} == {
        (REGION, Status.NOT_APPLICABLE),
        ("eu-west-1", Status.NOT_APPLICABLE),
    }


def test_account_scope_runs_once_per_account(aws, settings):
    regions_seen = []

    def account_check(ctx):
        regions_seen.append(ctx.region)
        yield ctx.finding(ctx.account_id, Status.PASS, "Checked once.")

    collector = Collector(
        settings,
        [spec_of(account_check, Scope.ACCOUNT)],
        session=aws,
        regions=[REGION, "eu-west-1"],
    )

    findings = collector.run().findings

    assert regions_seen == ["global"]
    assert [f.region for f in findings] == ["global"]


def test_shared_call_made_once_across_checks(aws, settings):
    def lister(ctx):
        ctx.call("ec2", "describe_security_groups")
        yield ctx.finding(ctx.scope_id, Status.PASS, "Listed.")

    first = spec_of(lister)
    second = replace(first, check_id="aws.test.second")
    collector = Collector(settings, [first, second], session=aws, regions=[REGION])

    result = collector.run()

    assert result.api_calls["ec2:DescribeSecurityGroups"] == 1
    assert len(result.findings) == 2


def _registry():
    from auditbook.checks.registry import load_checks

    return load_checks()
