"""Tests of the EBS encryption checks."""

from __future__ import annotations

from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.checks.registry import load_checks
from auditbook.collect import Collector
from auditbook.demo import seed_network
from auditbook.models import Status
from tests.conftest import REGION, deny

BY_DEFAULT = "aws.ec2.ebs_encryption_by_default"
VOLUME = "aws.ec2.ebs_volume_encrypted"
RESIDENCY = "aws.residency.approved_regions"


def create_volume(aws, name=None, region=REGION, **kwargs):
    ec2 = aws.client("ec2", region_name=region)
    tags = [{"Key": "Name", "Value": name}] if name else []
    request = {"AvailabilityZone": f"{region}a", "Size": 8, **kwargs}
    if tags:
        request["TagSpecifications"] = [{"ResourceType": "volume", "Tags": tags}]
    return ec2.create_volume(**request)["VolumeId"]


def launch_instance(aws):
    ec2 = aws.client("ec2")
    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"
    ]


def for_volume(findings, volume_id):
    [finding] = [f for f in findings if f.evidence.get("volume_id") == volume_id]
    return finding


# aws.ec2.ebs_encryption_by_default


def test_encryption_by_default_on_passes(aws, run_checks):
    aws.client("ec2").enable_ebs_encryption_by_default()

    [finding] = run_checks(BY_DEFAULT)

    assert finding.status == Status.PASS
    assert finding.region == REGION
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"
    assert finding.message == f"EBS encryption by default is on in {REGION}."
    assert finding.evidence == {"ebs_encryption_by_default": True}


def test_encryption_by_default_off_fails(aws, run_checks):
    aws.client("ec2").enable_ebs_encryption_by_default()

    findings = run_checks(BY_DEFAULT, regions=(REGION, "eu-west-1"))

    by_region = {f.region: f for f in findings}
    assert by_region[REGION].status == Status.PASS
    assert by_region["eu-west-1"].status == Status.FAIL
    assert by_region["eu-west-1"].message == (
        "EBS encryption by default is off in eu-west-1."
    )
    assert by_region["eu-west-1"].evidence == {"ebs_encryption_by_default": False}


def test_encryption_by_default_disabled_again_fails(aws, run_checks):
    ec2 = aws.client("ec2")
    ec2.enable_ebs_encryption_by_default()
    ec2.disable_ebs_encryption_by_default()

    [finding] = run_checks(BY_DEFAULT)

    assert finding.status == Status.FAIL


def test_encryption_by_default_denied_is_error(aws, run_checks):
    deny(aws, "ec2", "GetEbsEncryptionByDefault")

    [finding] = run_checks(BY_DEFAULT)

    assert finding.status == Status.ERROR
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"
    assert finding.evidence["error_code"] == "AccessDenied"
    assert finding.evidence["operation"] == "ec2:GetEbsEncryptionByDefault"


# aws.ec2.ebs_volume_encrypted


def test_encrypted_volume_passes(aws, run_checks):
    key_arn = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    volume_id = create_volume(aws, "payments-data", Encrypted=True, KmsKeyId=key_arn)

    [finding] = run_checks(VOLUME)

    assert finding.status == Status.PASS
    assert finding.region == REGION
    assert finding.resource_id == (f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{volume_id}")
    assert finding.message == (
        f"Volume {volume_id} (payments-data) is encrypted with KMS key {key_arn}."
    )
    assert finding.evidence["encrypted"] is True
    assert finding.evidence["kms_key_id"] == key_arn
    assert finding.evidence["name"] == "payments-data"
    assert finding.evidence["attached_instance_ids"] == []


def test_unencrypted_volume_fails(aws, run_checks):
    volume_id = create_volume(aws)

    [finding] = run_checks(VOLUME)

    assert finding.status == Status.FAIL
    assert finding.message == f"Volume {volume_id} is not encrypted."
    assert finding.evidence["encrypted"] is False
    assert finding.evidence["kms_key_id"] is None


def test_attached_volume_names_instance(aws, run_checks):
    instance_id = launch_instance(aws)
    volume_id = create_volume(aws, "scratch")
    aws.client("ec2").attach_volume(
        VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdf"
    )

    finding = for_volume(run_checks(VOLUME), volume_id)

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"Volume {volume_id} (scratch), attached to instance {instance_id}, "
        "is not encrypted."
    )
    assert finding.evidence["attached_instance_ids"] == [instance_id]
    assert finding.evidence["state"] == "in-use"


def test_volumes_judged_one_each(aws, run_checks):
    encrypted = create_volume(aws, Encrypted=True)
    plain = create_volume(aws)

    findings = run_checks(VOLUME)

    assert len(findings) == 2
    assert for_volume(findings, encrypted).status == Status.PASS
    assert for_volume(findings, plain).status == Status.FAIL


def test_no_volume_not_applicable(aws, run_checks):
    [finding] = run_checks(VOLUME)

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"
    assert finding.message == (
        f"No EBS volume exists in {REGION}, so there is nothing to evaluate."
    )


def test_describe_volumes_denied_is_error(aws, run_checks):
    create_volume(aws)
    deny(aws, "ec2", "DescribeVolumes")

    [finding] = run_checks(VOLUME)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"
    assert finding.evidence["operation"] == "ec2:DescribeVolumes"


def test_describe_volumes_shared_with_residency(aws, settings):
    create_volume(aws)
    registry = load_checks()
    specs = [registry[VOLUME], registry[RESIDENCY]]
    collector = Collector(settings, specs, session=aws, regions=(REGION,))

    result = collector.run()

    assert result.api_calls["ec2:DescribeVolumes"] == 1


# The demo seed


def test_demo_storage(aws, run_checks):
    seed_network.seed(aws, ACCOUNT, "production")

    findings = run_checks(BY_DEFAULT, VOLUME, regions=(REGION, "eu-west-1"))

    by_default = {f.region: f.status for f in findings if f.check_id == BY_DEFAULT}
    volumes = {
        (f.region, f.evidence["name"]): f.status
        for f in findings
        if f.check_id == VOLUME
    }
    assert by_default == {REGION: Status.PASS, "eu-west-1": Status.FAIL}
    assert volumes == {
        (REGION, "app-data"): Status.PASS,
        ("eu-west-1", "dr-scratch"): Status.FAIL,
    }
