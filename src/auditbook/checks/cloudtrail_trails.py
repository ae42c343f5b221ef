"""AWS CloudTrail checks of each trail: log file validation, KMS, public bucket.

DescribeTrails in a region lists the trails whose home region it is, and the
multi-region trails of other regions as shadow trails. The checks call it
without parameters, as ``aws.cloudtrail.multi_region_logging`` does, so the
home region's response is shared. They call it in every other collected
region too, and judge each trail once, by ARN. A single-region trail whose
home region is not collected is not seen. Every finding, an ERROR included,
carries the trail's home region.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.checks.s3 import BUCKET_LISTING, bucket_exposure, locate_bucket
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

TRAIL_LISTING = ["cloudtrail:DescribeTrails"]

TrailEvaluator = Callable[[CheckContext, dict[str, Any]], Finding]


@check(
    "aws.cloudtrail.log_file_validation",
    title="Trails validate the integrity of their log files",
    service="cloudtrail",
    scope=Scope.ACCOUNT,
    resource_type="CloudTrail trail",
    severity=Severity.MEDIUM,
    proves="DescribeTrails reports LogFileValidationEnabled as true for the trail.",
    permissions=TRAIL_LISTING,
)
def log_file_validation(ctx: CheckContext) -> Iterator[Finding]:
    yield from _each_trail(ctx, _log_file_validation_finding)


@check(
    "aws.cloudtrail.kms_encrypted",
    title="Trails encrypt their log files with a KMS key",
    service="cloudtrail",
    scope=Scope.ACCOUNT,
    resource_type="CloudTrail trail",
    severity=Severity.MEDIUM,
    proves="DescribeTrails reports a KmsKeyId for the trail.",
    permissions=TRAIL_LISTING,
)
def kms_encrypted(ctx: CheckContext) -> Iterator[Finding]:
    yield from _each_trail(ctx, _kms_encrypted_finding)


@check(
    "aws.cloudtrail.bucket_not_public",
    title="Trail log buckets grant no access to everyone",
    service="cloudtrail",
    scope=Scope.ACCOUNT,
    resource_type="CloudTrail trail",
    severity=Severity.CRITICAL,
    proves=(
        "Neither the bucket policy nor the ACL of the S3 bucket the trail "
        "delivers to gives everyone access, or Block Public Access neutralises "
        "the grant: RestrictPublicBuckets for the policy, IgnorePublicAcls for "
        "the ACL, at bucket level, or at account level when the audited "
        "account owns the bucket."
    ),
    permissions=[
        *TRAIL_LISTING,
        *BUCKET_LISTING,
        "s3:GetBucketPolicy",
        "s3:GetBucketAcl",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetAccountPublicAccessBlock",
    ],
)
def bucket_not_public(ctx: CheckContext) -> Iterator[Finding]:
    yield from _each_trail(ctx, _bucket_not_public_finding)


def _list_trails(
    ctx: CheckContext,
) -> tuple[list[dict[str, Any]], list[tuple[str, AwsCallError]]]:
    # Returns the trails in the order first seen, and each region whose
    # DescribeTrails call failed with its error. The home region comes first.
    regions = dict.fromkeys([ctx.api_region, *ctx.regions])
    trails: dict[str, dict[str, Any]] = {}
    errors: list[tuple[str, AwsCallError]] = []

    for region in regions:
        try:
            response = ctx.call_in(region, "cloudtrail", "describe_trails")
        except AwsCallError as exc:
            errors.append((region, exc))
            continue
        for entry in response.get("trailList", []):
            # The listing region is used only if a response lacks HomeRegion.
            trails.setdefault(entry["TrailARN"], {"HomeRegion": region, **entry})
    return list(trails.values()), errors


def _each_trail(ctx: CheckContext, evaluate: TrailEvaluator) -> Iterator[Finding]:
    trails, errors = _list_trails(ctx)

    for region, exc in errors:
        yield ctx.error(exc, resource_id=f"{ctx.account_id}/{region}", region=region)

    for trail in trails:
        try:
            yield evaluate(ctx, trail)
        except AwsCallError as exc:
            yield ctx.error(
                exc, resource_id=trail["TrailARN"], region=trail["HomeRegion"]
            )


def _log_file_validation_finding(ctx: CheckContext, trail: dict[str, Any]) -> Finding:
    enabled = bool(trail.get("LogFileValidationEnabled"))
    evidence = _trail_evidence(trail)
    evidence["log_file_validation_enabled"] = enabled

    state = "on" if enabled else "off"
    return ctx.finding(
        trail["TrailARN"],
        Status.PASS if enabled else Status.FAIL,
        f"Trail {trail['Name']} has log file integrity validation turned {state}.",
        evidence,
        region=trail["HomeRegion"],
    )


def _kms_encrypted_finding(ctx: CheckContext, trail: dict[str, Any]) -> Finding:
    key_id = trail.get("KmsKeyId")
    evidence = _trail_evidence(trail)
    evidence["kms_key_id"] = key_id

    name = trail["Name"]
    if key_id:
        status = Status.PASS
        message = f"Trail {name} encrypts its log files with KMS key {key_id}."
    else:
        status = Status.FAIL
        message = f"Trail {name} does not encrypt its log files with a KMS key."
    return ctx.finding(
        trail["TrailARN"], status, message, evidence, region=trail["HomeRegion"]
    )


def _bucket_not_public_finding(ctx: CheckContext, trail: dict[str, Any]) -> Finding:
    name = trail["S3BucketName"]
    owned = {
        listed["Name"]: listed.get("BucketRegion", "")
        for listed in ctx.call("s3", "list_buckets").get("Buckets", [])
    }
    is_owned = name in owned

    bucket = locate_bucket(ctx, name, owned.get(name, ""))
    exposure = bucket_exposure(ctx, bucket)
    if not is_owned:
        _drop_account_level_settings(exposure)

    evidence = _trail_evidence(trail)
    evidence.update(exposure)
    evidence["bucket_region"] = bucket.region
    evidence["bucket_owned_by_account"] = is_owned

    where = f"Trail {trail['Name']} delivers its logs to bucket {name}"
    if not is_owned:
        where += " in another account"
    parts = _public_parts(exposure)
    open_parts = [part for part, neutralised in parts.items() if not neutralised]
    blocked_parts = [part for part, neutralised in parts.items() if neutralised]

    if open_parts:
        status = Status.FAIL
        verb = "gives" if len(open_parts) == 1 else "give"
        message = f"{where}, whose {' and '.join(open_parts)} {verb} everyone access."
    elif blocked_parts:
        status = Status.PASS
        message = (
            f"{where}, where Block Public Access neutralises the public "
            f"{' and '.join(blocked_parts)}."
        )
    else:
        status = Status.PASS
        message = (
            f"{where}, which grants no access to everyone in its bucket policy or ACL."
        )
    return ctx.finding(
        trail["TrailARN"], status, message, evidence, region=trail["HomeRegion"]
    )


def _drop_account_level_settings(exposure: dict[str, Any]) -> None:
    # Account-level Block Public Access covers only the buckets of the account
    # that sets it, and the setting read here is the audited account's, so a
    # bucket of another account is judged on its bucket-level settings.
    # NOTE: the owner account's own setting may still neutralise a grant that
    # is reported here as public. The S3 checks, run in that account, judge it.
    exposure.pop("account_public_access_block", None)
    for key in ("policy_neutralised_by", "acl_neutralised_by"):
        neutraliser = exposure.get(key) or {}
        if neutraliser.get("level") == "account":
            exposure[key] = None
    parts = _public_parts(exposure)
    exposure["public"] = any(not neutralised for neutralised in parts.values())


def _public_parts(exposure: dict[str, Any]) -> dict[str, bool]:
    # Map each public part of the bucket to whether Block Public Access
    # neutralises it.
    parts = {}
    if exposure["public_policy_statements"]:
        parts["bucket policy"] = bool(exposure["policy_neutralised_by"])
    if exposure["public_acl_grants"]:
        parts["ACL"] = bool(exposure["acl_neutralised_by"])
    return parts


def _trail_evidence(trail: dict[str, Any]) -> dict[str, Any]:
    return {
        "trail_name": trail.get("Name", ""),
        "trail_arn": trail["TrailARN"],
        "home_region": trail["HomeRegion"],
        "is_multi_region_trail": bool(trail.get("IsMultiRegionTrail")),
        "is_organization_trail": bool(trail.get("IsOrganizationTrail")),
        "s3_bucket": trail.get("S3BucketName"),
    }
