import boto3
from botocore.stub import Stubber

from auditbook.models import Status
from tests.conftest import REGION, StubbedSession, deny

ACCOUNT = "123456789012"
CHECK = "aws.macie.enabled"


def stubbed_macie(aws, **error):
    client = boto3.client("macie2", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_client_error("get_macie_session", **error)
    stubber.activate()
    return StubbedSession(aws, {("macie2", REGION): client})


def test_not_enabled_fails(aws, run_checks):
    # Moto 5.2 starts every region with Macie enabled, and returns
    # ResourceNotFoundException once it is disabled.
    aws.client("macie2").disable_macie()

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"
    assert finding.message == f"Amazon Macie is not enabled in {REGION}."
    assert finding.evidence["error_code"] == "ResourceNotFoundException"


def test_aws_not_enabled_answer_fails(aws, run_checks):
    # AWS returns AccessDeniedException "Macie is not enabled." instead, so a
    # botocore Stubber returns that error as AWS shapes it.
    session = stubbed_macie(
        aws,
        service_error_code="AccessDeniedException",
        service_message="Macie is not enabled.",
        http_status_code=403,
    )

    [finding] = run_checks(CHECK, session=session)

    assert finding.status == Status.FAIL
    assert finding.evidence == {"status": None, "error_code": "AccessDeniedException"}


def test_permission_denied_is_error(aws, run_checks):
    session = stubbed_macie(
        aws,
        service_error_code="AccessDeniedException",
        service_message=(
            f"User: arn:aws:iam::{ACCOUNT}:user/auditor is not authorized to "
            "perform: macie2:GetMacieSession"
        ),
        http_status_code=403,
    )

    [finding] = run_checks(CHECK, session=session)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDeniedException"


def test_enabled_passes(aws, run_checks):
    macie = aws.client("macie2")
    macie.disable_macie()
    macie.enable_macie()

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.message == f"Amazon Macie is enabled in {REGION}."
    assert finding.evidence["status"] == "ENABLED"


def test_paused_fails(aws, run_checks):
    aws.client("macie2").enable_macie(status="PAUSED")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == f"Amazon Macie is PAUSED in {REGION}, not ENABLED."


def test_one_finding_per_region(aws, run_checks):
    aws.client("macie2", region_name="eu-west-1").disable_macie()

    findings = run_checks(CHECK, regions=("eu-west-1", REGION))

    by_region = {f.region: f.status for f in findings}
    assert by_region == {"eu-west-1": Status.FAIL, REGION: Status.PASS}


def test_access_denied_is_error(aws, run_checks):
    deny(aws, "macie2", "GetMacieSession")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"
