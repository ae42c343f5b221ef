"""Security Hub tests.

Moto 5.2 implements DescribeHub but not GetEnabledStandards, so the tests of
an enabled hub return both responses from a botocore Stubber, with responses
shaped as the Security Hub API reference documents them.
"""

import boto3
from botocore.stub import Stubber

from auditbook.models import Status
from tests.conftest import REGION, StubbedSession, deny

ACCOUNT = "123456789012"
CHECK = "aws.securityhub.enabled"
HUB_ARN = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:hub/default"
FOUNDATIONAL = "aws-foundational-security-best-practices/v/1.0.0"
CIS = "cis-aws-foundations-benchmark/v/1.2.0"


def standard(name, status, *, ruleset=False):
    if ruleset:
        arn = f"arn:aws:securityhub:::ruleset/{name}"
    else:
        arn = f"arn:aws:securityhub:{REGION}::standards/{name}"
    return {
        "StandardsSubscriptionArn": (
            f"arn:aws:securityhub:{REGION}:{ACCOUNT}:subscription/{name}"
        ),
        "StandardsArn": arn,
        "StandardsInput": {},
        "StandardsStatus": status,
        "StandardsControlsUpdatable": "READY_FOR_UPDATES",
    }


def stubbed_hub(aws, standards=None, standards_error=None):
    client = boto3.client("securityhub", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_response(
        "describe_hub",
        {
            "HubArn": HUB_ARN,
            "SubscribedAt": "2024-01-01T00:00:00.000Z",
            "AutoEnableControls": True,
            "ControlFindingGenerator": "SECURITY_CONTROL",
        },
        {},
    )
    if standards_error:
        stubber.add_client_error("get_enabled_standards", **standards_error)
    else:
        stubber.add_response(
            "get_enabled_standards", {"StandardsSubscriptions": standards or []}, {}
        )
    stubber.activate()
    return stubber, StubbedSession(aws, {("securityhub", REGION): client})


def test_not_subscribed_fails(run_checks):
    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"
    assert finding.message == f"Security Hub is not enabled in {REGION}."
    assert finding.evidence["error_code"] == "InvalidAccessException"


def test_ready_standard_passes(aws, run_checks):
    stubber, session = stubbed_hub(
        aws, [standard(FOUNDATIONAL, "READY"), standard(CIS, "READY", ruleset=True)]
    )

    [finding] = run_checks(CHECK, session=session)

    assert finding.status == Status.PASS
    assert finding.resource_id == HUB_ARN
    assert finding.message == (
        f"Security Hub is enabled in {REGION} with 2 ready standards: "
        f"{FOUNDATIONAL}, {CIS}."
    )
    assert finding.evidence["standards"][0] == {
        "standards_arn": f"arn:aws:securityhub:{REGION}::standards/{FOUNDATIONAL}",
        "status": "READY",
    }
    stubber.assert_no_pending_responses()


def test_no_standard_fails(aws, run_checks):
    _, session = stubbed_hub(aws, [])

    [finding] = run_checks(CHECK, session=session)

    assert finding.status == Status.FAIL
    assert finding.resource_id == HUB_ARN
    assert finding.message == (
        f"Security Hub is enabled in {REGION}, but no standard is enabled."
    )


def test_standards_not_ready_fail(aws, run_checks):
    _, session = stubbed_hub(
        aws, [standard(FOUNDATIONAL, "PENDING"), standard(CIS, "FAILED")]
    )

    [finding] = run_checks(CHECK, session=session)

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"Security Hub is enabled in {REGION}, but none of its 2 standards is READY."
    )


def test_other_invalid_access_is_error(aws, run_checks):
    client = boto3.client("securityhub", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_client_error(
        "describe_hub",
        service_error_code="InvalidAccessException",
        service_message="The request was rejected because of an access problem.",
        http_status_code=401,
    )
    stubber.activate()
    session = StubbedSession(aws, {("securityhub", REGION): client})

    [finding] = run_checks(CHECK, session=session)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "InvalidAccessException"


def test_standards_denied_is_error(aws, run_checks):
    _, session = stubbed_hub(
        aws,
        standards_error={
            "service_error_code": "AccessDeniedException",
            "service_message": "User is not authorized",
            "http_status_code": 403,
        },
    )

    [finding] = run_checks(CHECK, session=session)

    assert finding.status == Status.ERROR
    assert finding.evidence["operation"] == "securityhub:GetEnabledStandards"


def test_moto_standards_gap_is_error(aws, run_checks):
    # Moto returns a 404 for GetEnabledStandards, which must not read as PASS.
    aws.client("securityhub").enable_security_hub(EnableDefaultStandards=True)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["operation"] == "securityhub:GetEnabledStandards"


def test_one_finding_per_region(run_checks):
    findings = run_checks(CHECK, regions=("eu-west-1", REGION))

    assert sorted(f.region for f in findings) == ["eu-west-1", REGION]
    assert {f.status for f in findings} == {Status.FAIL}


def test_access_denied_is_error(aws, run_checks):
    deny(aws, "securityhub", "DescribeHub")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"
