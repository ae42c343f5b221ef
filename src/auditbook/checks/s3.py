"""Amazon S3 checks: default encryption, SSE-KMS for sensitive buckets, public access.

ListBuckets is global, so the bucket checks run once per account, in the home
region. Each bucket's own calls go to the bucket's region, and its finding
carries that region. A call that fails for one bucket gives an ERROR finding
for that bucket, and the other buckets are still evaluated.

Since January 2023 Amazon S3 applies SSE-S3 to every bucket that has no
default-encryption configuration of its own, and GetBucketEncryption returns
that configuration. The checks judge the configuration the API returns, so a
bucket without one (on an S3-compatible store, or in a simulator) fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.policy_documents import load_policy_document
from auditbook.checks.registry import Scope, check
from auditbook.checks.s3_public import (
    ACL_BLOCKER,
    POLICY_BLOCKER,
    public_acl_grants,
    public_policy_statements,
)
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

SSE_S3 = "AES256"
SSE_KMS = "aws:kms"
DSSE_KMS = "aws:kms:dsse"
ENCRYPTION_NAMES = {SSE_S3: "SSE-S3", SSE_KMS: "SSE-KMS", DSSE_KMS: "DSSE-KMS"}
KMS_ALGORITHMS = frozenset({SSE_KMS, DSSE_KMS})

PUBLIC_ACCESS_BLOCK_SETTINGS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)

# Error codes with which S3 reports a configuration that was never set.
NO_ENCRYPTION_CONFIGURATION = "ServerSideEncryptionConfigurationNotFoundError"
NO_TAG_SET = "NoSuchTagSet"
NO_BUCKET_POLICY = "NoSuchBucketPolicy"
NO_PUBLIC_ACCESS_BLOCK = "NoSuchPublicAccessBlockConfiguration"

# GetBucketLocation returns no constraint for us-east-1, and "EU" for buckets
# created in eu-west-1 with the legacy constraint.
LEGACY_LOCATIONS = {"": "us-east-1", "EU": "eu-west-1"}

BUCKET_LISTING = ["s3:ListAllMyBuckets", "s3:GetBucketLocation"]


@dataclass(frozen=True)
class Bucket:
    """A bucket from ListBuckets, with its region and ARN."""

    name: str
    region: str
    arn: str


@check(
    "aws.s3.default_encryption",
    title="S3 buckets encrypt new objects by default",
    service="s3",
    scope=Scope.ACCOUNT,
    resource_type="S3 bucket",
    severity=Severity.HIGH,
    proves=(
        "GetBucketEncryption returns a default-encryption rule for the bucket "
        "with SSE-S3, SSE-KMS or DSSE-KMS."
    ),
    permissions=[*BUCKET_LISTING, "s3:GetEncryptionConfiguration"],
)
def default_encryption(ctx: CheckContext) -> Iterator[Finding]:
    yield from _each_bucket(ctx, _default_encryption_finding)


@check(
    "aws.s3.kms_encryption",
    title="Sensitive S3 buckets encrypt with SSE-KMS",
    service="s3",
    scope=Scope.ACCOUNT,
    resource_type="S3 bucket",
    severity=Severity.HIGH,
    proves=(
        "A bucket whose configured classification tag has a sensitive value "
        "(compared ignoring case) uses SSE-KMS or DSSE-KMS as its default "
        "encryption. Buckets without a sensitive tag value are not judged."
    ),
    permissions=[
        *BUCKET_LISTING,
        "s3:GetBucketTagging",
        "s3:GetEncryptionConfiguration",
    ],
)
def kms_encryption(ctx: CheckContext) -> Iterator[Finding]:
    yield from _each_bucket(ctx, _kms_encryption_finding)


@check(
    "aws.s3.account_public_access_block",
    title="S3 Block Public Access is on for the account",
    service="s3",
    scope=Scope.ACCOUNT,
    resource_type=None,
    severity=Severity.HIGH,
    proves=(
        "The account-level S3 Block Public Access configuration exists and "
        "BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy and "
        "RestrictPublicBuckets are all true."
    ),
    permissions=["s3:GetAccountPublicAccessBlock"],
)
def account_public_access_block(ctx: CheckContext) -> Iterator[Finding]:
    settings = account_block_settings(ctx)
    evidence: dict[str, Any] = {"configured": settings is not None}
    evidence.update(settings or dict.fromkeys(PUBLIC_ACCESS_BLOCK_SETTINGS, False))
    off = [name for name in PUBLIC_ACCESS_BLOCK_SETTINGS if not evidence[name]]

    if settings is None:
        status = Status.FAIL
        message = (
            f"Account {ctx.account_id} has no account-level S3 Block Public "
            "Access configuration."
        )
    elif off:
        status = Status.FAIL
        message = (
            f"Account {ctx.account_id} has the S3 Block Public Access "
            f"{_plural('setting', off)} {', '.join(off)} turned off."
        )
    else:
        status = Status.PASS
        message = (
            f"Account {ctx.account_id} has all four S3 Block Public Access "
            "settings turned on."
        )
    yield ctx.finding(ctx.scope_id, status, message, evidence)


@check(
    "aws.s3.bucket_not_public",
    title="S3 buckets grant no access to everyone",
    service="s3",
    scope=Scope.ACCOUNT,
    resource_type="S3 bucket",
    severity=Severity.CRITICAL,
    proves=(
        'Neither the bucket policy (an Allow to Principal "*" without a '
        "condition that limits it to fixed callers or networks) nor the ACL "
        "(a grant to AllUsers or AuthenticatedUsers) gives everyone access, "
        "or Block Public Access at bucket or account level neutralises it: "
        "RestrictPublicBuckets for the policy, IgnorePublicAcls for the ACL."
    ),
    permissions=[
        *BUCKET_LISTING,
        "s3:GetBucketPolicy",
        "s3:GetBucketAcl",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetAccountPublicAccessBlock",
    ],
)
def bucket_not_public(ctx: CheckContext) -> Iterator[Finding]:
    yield from _each_bucket(ctx, _bucket_not_public_finding)


def locate_bucket(ctx: CheckContext, name: str, listed_region: str = "") -> Bucket:
    """Return a bucket with its region and ARN.

    Args:
        ctx: the check context. GetBucketLocation goes to its region, which
            for an account-scope check is the home region.
        name: the bucket name.
        listed_region: the ``BucketRegion`` of the ListBuckets entry, which
            AWS includes and moto 5.2 leaves out. When it is empty,
            GetBucketLocation supplies the region.

    Raises:
        AwsCallError: GetBucketLocation failed.
    """
    region = listed_region
    if not region:
        location = ctx.call("s3", "get_bucket_location", Bucket=name)
        constraint = location.get("LocationConstraint") or ""
        region = LEGACY_LOCATIONS.get(constraint, constraint)
    return Bucket(name=name, region=region, arn=f"arn:{ctx.partition}:s3:::{name}")


def account_block_settings(ctx: CheckContext) -> dict[str, bool] | None:
    """Return the account-level Block Public Access settings, or ``None`` if unset.

    Raises:
        AwsCallError: GetPublicAccessBlock failed for another reason.
    """
    try:
        response = ctx.call(
            "s3control", "get_public_access_block", AccountId=ctx.account_id
        )
    except AwsCallError as exc:
        if exc.code == NO_PUBLIC_ACCESS_BLOCK:
            return None
        raise
    return _block_flags(response.get("PublicAccessBlockConfiguration") or {})


def bucket_exposure(ctx: CheckContext, bucket: Bucket) -> dict[str, Any]:
    """Evaluate whether a bucket's policy or ACL gives everyone access.

    Block Public Access settings are read only when a public grant needs
    them: the bucket's first, then the account's.

    Returns:
        The evidence: ``public_policy_statements``, ``public_acl_grants``,
        the settings read, ``policy_neutralised_by`` and
        ``acl_neutralised_by`` (the setting and level, or ``None``), and
        ``public``, true when a public grant is left in effect.

    Raises:
        AwsCallError: a call failed.
    """
    policy = _optional_call(
        ctx, bucket, "get_bucket_policy", NO_BUCKET_POLICY, Bucket=bucket.name
    )
    statements = []
    if policy is not None:
        statements = public_policy_statements(load_policy_document(policy["Policy"]))
    acl = ctx.call_in(bucket.region, "s3", "get_bucket_acl", Bucket=bucket.name)
    grants = public_acl_grants(acl)

    exposure: dict[str, Any] = {
        "bucket": bucket.name,
        "has_bucket_policy": policy is not None,
        "public_policy_statements": statements,
        "public_acl_grants": grants,
        "policy_neutralised_by": None,
        "acl_neutralised_by": None,
    }
    if statements:
        exposure["policy_neutralised_by"] = _neutraliser(
            ctx, bucket, exposure, POLICY_BLOCKER
        )
    if grants:
        exposure["acl_neutralised_by"] = _neutraliser(
            ctx, bucket, exposure, ACL_BLOCKER
        )

    exposure["public"] = bool(
        (statements and not exposure["policy_neutralised_by"])
        or (grants and not exposure["acl_neutralised_by"])
    )
    return exposure


def _each_bucket(
    ctx: CheckContext,
    evaluate: Callable[[CheckContext, Bucket], Finding | None],
) -> Iterator[Finding]:
    for listed in ctx.call("s3", "list_buckets").get("Buckets", []):
        name = listed["Name"]
        try:
            bucket = locate_bucket(ctx, name, listed.get("BucketRegion", ""))
        except AwsCallError as exc:
            yield ctx.error(exc, resource_id=f"arn:{ctx.partition}:s3:::{name}")
            continue

        try:
            finding = evaluate(ctx, bucket)
        except AwsCallError as exc:
            finding = ctx.error(exc, resource_id=bucket.arn, region=bucket.region)
        if finding is not None:
            yield finding


def _default_encryption_finding(ctx: CheckContext, bucket: Bucket) -> Finding:
    rule = _encryption_rule(ctx, bucket)
    evidence = {"bucket": bucket.name, **rule}
    algorithm = rule["sse_algorithm"]

    if algorithm is None:
        status = Status.FAIL
        message = f"Bucket {bucket.name} has no default encryption configuration."
    elif algorithm in ENCRYPTION_NAMES:
        status = Status.PASS
        message = (
            f"Bucket {bucket.name} encrypts new objects with "
            f"{ENCRYPTION_NAMES[algorithm]} by default."
        )
    else:
        status = Status.FAIL
        message = (
            f"Bucket {bucket.name} names the unrecognised default encryption "
            f"algorithm {algorithm!r}."
        )
    return ctx.finding(bucket.arn, status, message, evidence, region=bucket.region)


def _kms_encryption_finding(ctx: CheckContext, bucket: Bucket) -> Finding | None:
    key = ctx.settings.sensitive_bucket_tag_key
    sensitive_values = {
        value.lower() for value in ctx.settings.sensitive_bucket_tag_values
    }
    tags = _bucket_tags(ctx, bucket)
    value = tags.get(key)
    if value is None or value.lower() not in sensitive_values:
        return None

    rule = _encryption_rule(ctx, bucket)
    evidence = {"bucket": bucket.name, "classification_tag": {key: value}, **rule}
    algorithm = rule["sse_algorithm"]
    label = f"Sensitive bucket {bucket.name} ({key}={value})"

    if algorithm in KMS_ALGORITHMS:
        status = Status.PASS
        message = (
            f"{label} encrypts new objects with {ENCRYPTION_NAMES[algorithm]} "
            "by default."
        )
    elif algorithm is None:
        status = Status.FAIL
        message = f"{label} has no default encryption configuration."
    else:
        status = Status.FAIL
        name = ENCRYPTION_NAMES.get(algorithm, repr(algorithm))
        message = f"{label} encrypts new objects with {name}, not SSE-KMS."
    return ctx.finding(bucket.arn, status, message, evidence, region=bucket.region)


def _bucket_not_public_finding(ctx: CheckContext, bucket: Bucket) -> Finding:
    exposure = bucket_exposure(ctx, bucket)
    statements = exposure["public_policy_statements"]
    grants = exposure["public_acl_grants"]

    if exposure["public"]:
        status = Status.FAIL
        message = f"Bucket {bucket.name} is public: {_open_grants(exposure)}."
    elif statements or grants:
        status = Status.PASS
        pronoun = "them" if statements and grants else "it"
        message = (
            f"Bucket {bucket.name} has {_public_parts(statements, grants)}, but "
            f"Block Public Access neutralises {pronoun}: {_neutralisers(exposure)}."
        )
    else:
        status = Status.PASS
        message = (
            f"Bucket {bucket.name} grants no access to everyone in its bucket "
            "policy or ACL."
        )
    return ctx.finding(bucket.arn, status, message, exposure, region=bucket.region)


def _encryption_rule(ctx: CheckContext, bucket: Bucket) -> dict[str, Any]:
    response = _optional_call(
        ctx,
        bucket,
        "get_bucket_encryption",
        NO_ENCRYPTION_CONFIGURATION,
        Bucket=bucket.name,
    )
    configuration = (response or {}).get("ServerSideEncryptionConfiguration") or {}
    for rule in configuration.get("Rules", []):
        default = rule.get("ApplyServerSideEncryptionByDefault")
        if default:
            return {
                "sse_algorithm": default.get("SSEAlgorithm"),
                "kms_master_key_id": default.get("KMSMasterKeyID"),
                "bucket_key_enabled": bool(rule.get("BucketKeyEnabled")),
            }
    return {"sse_algorithm": None}


def _bucket_tags(ctx: CheckContext, bucket: Bucket) -> dict[str, str]:
    response = _optional_call(
        ctx, bucket, "get_bucket_tagging", NO_TAG_SET, Bucket=bucket.name
    )
    tag_set = (response or {}).get("TagSet", [])
    return {tag["Key"]: tag["Value"] for tag in tag_set}


def _neutraliser(
    ctx: CheckContext, bucket: Bucket, exposure: dict[str, Any], setting: str
) -> dict[str, str] | None:
    if "bucket_public_access_block" not in exposure:
        exposure["bucket_public_access_block"] = _bucket_block_settings(ctx, bucket)
    if exposure["bucket_public_access_block"][setting]:
        return {"setting": setting, "level": "bucket"}

    if "account_public_access_block" not in exposure:
        account = account_block_settings(ctx)
        exposure["account_public_access_block"] = account or dict.fromkeys(
            PUBLIC_ACCESS_BLOCK_SETTINGS, False
        )
    if exposure["account_public_access_block"][setting]:
        return {"setting": setting, "level": "account"}
    return None


def _bucket_block_settings(ctx: CheckContext, bucket: Bucket) -> dict[str, bool]:
    response = _optional_call(
        ctx,
        bucket,
        "get_public_access_block",
        NO_PUBLIC_ACCESS_BLOCK,
        Bucket=bucket.name,
    )
    return _block_flags((response or {}).get("PublicAccessBlockConfiguration") or {})


def _block_flags(configuration: dict[str, Any]) -> dict[str, bool]:
    return {
        name: bool(configuration.get(name)) for name in PUBLIC_ACCESS_BLOCK_SETTINGS
    }


def _optional_call(
    ctx: CheckContext,
    bucket: Bucket,
    operation: str,
    missing_code: str,
    **params: Any,
) -> dict[str, Any] | None:
    # Return None when S3 reports the configuration as never set.
    try:
        return ctx.call_in(bucket.region, "s3", operation, **params)
    except AwsCallError as exc:
        if exc.code == missing_code:
            return None
        raise


def _open_grants(exposure: dict[str, Any]) -> str:
    parts = []
    if exposure["public_policy_statements"] and not exposure["policy_neutralised_by"]:
        sids = [s["sid"] for s in exposure["public_policy_statements"]]
        parts.append(
            f"its bucket policy allows everyone in {_plural('statement', sids)} "
            f"{', '.join(repr(sid) for sid in sids)}"
        )
    if exposure["public_acl_grants"] and not exposure["acl_neutralised_by"]:
        grants = [
            f"{grant['permission']} to {grant['grantee']}"
            for grant in exposure["public_acl_grants"]
        ]
        parts.append(f"its ACL grants {', '.join(grants)}")
    return " and ".join(parts)


def _public_parts(statements: list, grants: list) -> str:
    if statements and grants:
        return "a public bucket policy and a public ACL"
    if statements:
        return "a public bucket policy"
    return "a public ACL"


def _neutralisers(exposure: dict[str, Any]) -> str:
    parts = []
    for key in ("policy_neutralised_by", "acl_neutralised_by"):
        neutraliser = exposure[key]
        if neutraliser:
            parts.append(f"{neutraliser['setting']} at {neutraliser['level']} level")
    return " and ".join(parts)


def _plural(noun: str, items: list) -> str:
    return noun if len(items) == 1 else f"{noun}s"
