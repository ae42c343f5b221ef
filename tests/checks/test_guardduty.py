from auditbook.models import Status
from tests.conftest import REGION, deny


def test_no_detector_fails(run_checks):
    [finding] = run_checks("aws.guardduty.enabled")

    assert finding.status == Status.FAIL
    assert finding.region == REGION
    assert "no detector" in finding.message


def test_enabled_detector_passes(aws, run_checks):
    detector_id = aws.client("guardduty").create_detector(Enable=True)["DetectorId"]

    [finding] = run_checks("aws.guardduty.enabled")

    assert finding.status == Status.PASS
    assert finding.resource_id.endswith(f":detector/{detector_id}")
    assert finding.evidence["detectors"] == {detector_id: "ENABLED"}


def test_suspended_detector_fails(aws, run_checks):
    aws.client("guardduty").create_detector(Enable=False)

    [finding] = run_checks("aws.guardduty.enabled")

    assert finding.status == Status.FAIL
    assert "suspended" in finding.message


def test_one_finding_per_region(aws, run_checks):
    aws.client("guardduty", region_name="eu-west-1").create_detector(Enable=True)

    findings = run_checks("aws.guardduty.enabled", regions=("eu-west-1", REGION))

    by_region = {f.region: f.status for f in findings}
    assert by_region == {"eu-west-1": Status.PASS, REGION: Status.FAIL}


def test_access_denied_is_error(aws, run_checks):
    deny(aws, "guardduty", "ListDetectors")

    [finding] = run_checks("aws.guardduty.enabled")

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"
