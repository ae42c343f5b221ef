"""Amazon EC2 checks: EBS encryption by default and encrypted volumes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.ec2_vpc import name_tag
from auditbook.checks.registry import Scope, check
from auditbook.models import Finding, Severity, Status


@check(
    "aws.ec2.ebs_encryption_by_default",
    title="EBS encryption by default is on in every region",
    service="ec2",
    scope=Scope.REGION,
    resource_type=None,
    severity=Severity.MEDIUM,
    proves="GetEbsEncryptionByDefault returns true for the account in the region.",
    permissions=["ec2:GetEbsEncryptionByDefault"],
)
def ebs_encryption_by_default(ctx: CheckContext) -> Iterator[Finding]:
    response = ctx.call("ec2", "get_ebs_encryption_by_default")
    enabled = bool(response.get("EbsEncryptionByDefault"))
    evidence = {"ebs_encryption_by_default": enabled}

    if enabled:
        status = Status.PASS
        message = f"EBS encryption by default is on in {ctx.region}."
    else:
        status = Status.FAIL
        message = f"EBS encryption by default is off in {ctx.region}."
    yield ctx.finding(ctx.scope_id, status, message, evidence)


@check(
    "aws.ec2.ebs_volume_encrypted",
    title="EBS volumes are encrypted",
    service="ec2",
    scope=Scope.REGION,
    resource_type="EBS volume",
    severity=Severity.HIGH,
    proves="DescribeVolumes reports the volume as encrypted.",
    permissions=["ec2:DescribeVolumes"],
)
def ebs_volume_encrypted(ctx: CheckContext) -> Iterator[Finding]:
    # No filters, so that the residency check shares the cached response.
    volumes = ctx.call("ec2", "describe_volumes").get("Volumes", [])
    prefix = f"arn:{ctx.partition}:ec2:{ctx.region}:{ctx.account_id}:volume/"

    for volume in volumes:
        evidence = _volume_evidence(volume)
        label = _volume_label(volume, evidence["attached_instance_ids"])

        if evidence["encrypted"] and evidence["kms_key_id"]:
            status = Status.PASS
            message = f"{label} is encrypted with KMS key {evidence['kms_key_id']}."
        elif evidence["encrypted"]:
            status = Status.PASS
            message = f"{label} is encrypted."
        else:
            status = Status.FAIL
            message = f"{label} is not encrypted."

        yield ctx.finding(prefix + volume["VolumeId"], status, message, evidence)


def _volume_evidence(volume: dict[str, Any]) -> dict[str, Any]:
    instance_ids = [
        attachment["InstanceId"]
        for attachment in volume.get("Attachments") or []
        if attachment.get("InstanceId")
    ]
    return {
        "volume_id": volume["VolumeId"],
        "name": name_tag(volume),
        "encrypted": bool(volume.get("Encrypted")),
        "kms_key_id": volume.get("KmsKeyId"),
        "attached_instance_ids": sorted(set(instance_ids)),
        "state": volume.get("State"),
        "volume_type": volume.get("VolumeType"),
        "size_gib": volume.get("Size"),
        "availability_zone": volume.get("AvailabilityZone"),
    }


def _volume_label(volume: dict[str, Any], instance_ids: list[str]) -> str:
    # The Name tag is text the account owner chose, so it is shown as data only.
    name = name_tag(volume)
    label = f"Volume {volume['VolumeId']}"
    if name:
        label += f" ({name})"
    if len(instance_ids) == 1:
        label += f", attached to instance {instance_ids[0]},"
    elif instance_ids:
        label += f", attached to instances {', '.join(instance_ids)},"
    return label
