from auditbook.models import Status
from tests.conftest import REGION, deny

ACCOUNT = "123456789012"
CHECK = "aws.config.recorder_enabled"
ROLE = (
    "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/"
    "AWSServiceRoleForConfig"
)
BUCKET = "config-delivery-123456789012"


def make_recorder(aws, *, start=True, region=REGION):
    config = aws.client("config", region_name=region)
    config.put_configuration_recorder(
        ConfigurationRecorder={"name": "default", "roleARN": ROLE}
    )
    if start:
        s3 = aws.client("s3", region_name=region)
        s3.create_bucket(
            Bucket=f"{BUCKET}-{region}",
            CreateBucketConfiguration={"LocationConstraint": region},
        )
        config.put_delivery_channel(
            DeliveryChannel={"name": "default", "s3BucketName": f"{BUCKET}-{region}"}
        )
        config.start_configuration_recorder(ConfigurationRecorderName="default")


def test_no_recorder_fails(run_checks):
    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"
    assert finding.message == f"AWS Config has no configuration recorder in {REGION}."
    assert finding.evidence == {"recorders": []}


def test_recording_passes(aws, run_checks):
    make_recorder(aws)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.message == f"AWS Config recorder default is recording in {REGION}."
    [recorder] = finding.evidence["recorders"]
    assert recorder["recording"] is True


def test_stopped_recorder_fails(aws, run_checks):
    make_recorder(aws, start=False)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"AWS Config recorder default in {REGION} is not recording."
    )


def test_one_finding_per_region(aws, run_checks):
    make_recorder(aws)

    findings = run_checks(CHECK, regions=("eu-west-1", REGION))

    by_region = {f.region: f.status for f in findings}
    assert by_region == {"eu-west-1": Status.FAIL, REGION: Status.PASS}


def test_access_denied_is_error(aws, run_checks):
    deny(aws, "config", "DescribeConfigurationRecorderStatus")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"
