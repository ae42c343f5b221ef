"""Data residency: every data-holding resource lies in an approved region.

The check runs in every collected region and judges the regional resources
listed there: EC2 instances, EBS volumes, RDS DB instances, DynamoDB tables,
Lambda functions and ECS clusters. S3 buckets are listed by one global call,
so they are judged once per account, in the home region, each in the region
GetBucketLocation reports. Every listing is the same call, with the same
parameters, as the service's own checks make, so the cached response serves
both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.checks.s3 import LEGACY_LOCATIONS
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

# Instances in this state no longer exist and hold no data. EC2 keeps listing
# them for about an hour after termination.
TERMINATED = "terminated"


@dataclass(frozen=True)
class Resource:
    """A resource to place: its kind in words, its name or id, and its ARN."""

    kind: str
    name: str
    arn: str


# A listing returns the (name or id, ARN) of every resource of one type in the
# context's region.
Lister = Callable[[CheckContext], list[tuple[str, str]]]


@dataclass(frozen=True)
class Listing:
    """One regional resource type and how to list it.

    Attributes:
        kind: the resource type in words, for example ``EC2 instance``.
        arn_pattern: an ARN with ``*`` for the resource name, formatted with
            ``partition``, ``region`` and ``account``. It names every resource
            of the type in the ERROR finding of a failed listing.
        read: the function that lists the resources.
    """

    kind: str
    arn_pattern: str
    read: Lister


def _instances(ctx: CheckContext) -> list[tuple[str, str]]:
    response = ctx.call("ec2", "describe_instances")
    found = []
    for reservation in response.get("Reservations", []):
        owner = reservation.get("OwnerId") or ctx.account_id
        for instance in reservation.get("Instances", []):
            if instance.get("State", {}).get("Name") == TERMINATED:
                continue
            instance_id = instance["InstanceId"]
            arn = f"arn:{ctx.partition}:ec2:{ctx.region}:{owner}:instance/{instance_id}"
            found.append((instance_id, arn))
    return found


def _volumes(ctx: CheckContext) -> list[tuple[str, str]]:
    prefix = f"arn:{ctx.partition}:ec2:{ctx.region}:{ctx.account_id}:volume/"
    volumes = ctx.call("ec2", "describe_volumes").get("Volumes", [])
    return [(v["VolumeId"], prefix + v["VolumeId"]) for v in volumes]


def _db_instances(ctx: CheckContext) -> list[tuple[str, str]]:
    instances = ctx.call("rds", "describe_db_instances").get("DBInstances", [])
    return [(i["DBInstanceIdentifier"], i["DBInstanceArn"]) for i in instances]


def _tables(ctx: CheckContext) -> list[tuple[str, str]]:
    prefix = f"arn:{ctx.partition}:dynamodb:{ctx.region}:{ctx.account_id}:table/"
    names = ctx.call("dynamodb", "list_tables").get("TableNames", [])
    return [(name, prefix + name) for name in names]


def _functions(ctx: CheckContext) -> list[tuple[str, str]]:
    functions = ctx.call("lambda", "list_functions").get("Functions", [])
    return [(f["FunctionName"], f["FunctionArn"]) for f in functions]


def _clusters(ctx: CheckContext) -> list[tuple[str, str]]:
    arns = ctx.call("ecs", "list_clusters").get("clusterArns", [])
    return [(arn.rsplit("/", 1)[-1], arn) for arn in arns]


REGIONAL_LISTINGS = (
    Listing(
        "EC2 instance", "arn:{partition}:ec2:{region}:{account}:instance/*", _instances
    ),
    Listing("EBS volume", "arn:{partition}:ec2:{region}:{account}:volume/*", _volumes),
    Listing(
        "RDS DB instance", "arn:{partition}:rds:{region}:{account}:db:*", _db_instances
    ),
    Listing(
        "DynamoDB table", "arn:{partition}:dynamodb:{region}:{account}:table/*", _tables
    ),
    Listing(
        "Lambda function",
        "arn:{partition}:lambda:{region}:{account}:function:*",
        _functions,
    ),
    Listing(
        "ECS cluster", "arn:{partition}:ecs:{region}:{account}:cluster/*", _clusters
    ),
)


@check(
    "aws.residency.approved_regions",
    title="Data-holding resources lie in approved regions",
    service="ec2",
    scope=Scope.REGION,
    resource_type="resource",
    severity=Severity.HIGH,
    proves=(
        "The EC2 instance, EBS volume, RDS DB instance, S3 bucket, DynamoDB "
        "table, Lambda function or ECS cluster is in one of the configured "
        "approved_regions (eu-west-2 and eu-west-1 by default)."
    ),
    permissions=[
        "ec2:DescribeInstances",
        "ec2:DescribeVolumes",
        "rds:DescribeDBInstances",
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation",
        "dynamodb:ListTables",
        "lambda:ListFunctions",
        "ecs:ListClusters",
    ],
)
def approved_regions(ctx: CheckContext) -> Iterator[Finding]:
    # A failed listing of one resource type gives one ERROR finding for that
    # type, and the other types are still judged.
    for listing in REGIONAL_LISTINGS:
        try:
            resources = listing.read(ctx)
        except AwsCallError as exc:
            yield ctx.error(exc, resource_id=_pattern_arn(ctx, listing.arn_pattern))
            continue
        for name, arn in resources:
            yield _placement(ctx, Resource(listing.kind, name, arn), ctx.region)

    if ctx.region == _bucket_scope_region(ctx):
        yield from _bucket_placements(ctx)


def _bucket_placements(ctx: CheckContext) -> Iterator[Finding]:
    home = ctx.account.home_region
    try:
        listed = ctx.call_in(home, "s3", "list_buckets").get("Buckets", [])
    except AwsCallError as exc:
        yield ctx.error(exc, resource_id=f"arn:{ctx.partition}:s3:::*")
        return

    for bucket in listed:
        name = bucket["Name"]
        arn = f"arn:{ctx.partition}:s3:::{name}"
        region = bucket.get("BucketRegion") or ""
        if not region:
            try:
                location = ctx.call_in(home, "s3", "get_bucket_location", Bucket=name)
            except AwsCallError as exc:
                yield ctx.error(exc, resource_id=arn)
                continue
            constraint = location.get("LocationConstraint") or ""
            region = LEGACY_LOCATIONS.get(constraint, constraint)
        yield _placement(ctx, Resource("S3 bucket", name, arn), region)


def _bucket_scope_region(ctx: CheckContext) -> str:
    """Return the one collected region whose run judges the account's buckets.

    That is the home region, unless the home region is not collected, in
    which case it is the first collected region.
    """
    home = ctx.account.home_region
    if not ctx.regions or home in ctx.regions:
        return home
    return ctx.regions[0]


def _placement(ctx: CheckContext, resource: Resource, region: str) -> Finding:
    approved = list(ctx.settings.approved_regions)
    evidence = {
        "resource_type": resource.kind,
        "name": resource.name,
        "resource_region": region,
        "approved_regions": approved,
    }
    if region in approved:
        return ctx.finding(
            resource.arn,
            Status.PASS,
            f"{resource.kind} {resource.name} is in {region}, an approved region.",
            evidence,
            region=region,
        )
    return ctx.finding(
        resource.arn,
        Status.FAIL,
        f"{resource.kind} {resource.name} is in {region}, which is not an approved "
        f"region ({', '.join(approved)}).",
        evidence,
        region=region,
    )


def _pattern_arn(ctx: CheckContext, pattern: str) -> str:
    return pattern.format(
        partition=ctx.partition, region=ctx.region, account=ctx.account_id
    )
