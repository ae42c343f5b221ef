import io
import json
import zipfile
from dataclasses import replace

from auditbook.checks.registry import load_checks
from auditbook.collect import Collector
from auditbook.models import Status
from tests.conftest import REGION, deny

ACCOUNT = "123456789012"
CHECK = "aws.residency.approved_regions"
OUTSIDE = "us-east-1"
# An image that every region of moto's simulated EC2 contains.
IMAGE_ID = "ami-12c6146b"


def run_instance(aws, region=REGION):
    ec2 = aws.client("ec2", region_name=region)
    response = ec2.run_instances(ImageId=IMAGE_ID, MinCount=1, MaxCount=1)
    return response["Instances"][0]["InstanceId"]


def make_bucket(aws, name, region):
    s3 = aws.client("s3", region_name=region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": region}
        )


def make_function(aws, region=REGION):
    role = aws.client("iam").create_role(
        RoleName="function-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("handler.py", "def handle(event, context):\n    return 1\n")
    aws.client("lambda", region_name=region).create_function(
        FunctionName="reporter",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handle",
        Code={"ZipFile": archive.getvalue()},
    )


def by_resource(findings):
    return {f.resource_id: (f.region, f.status) for f in findings}


def test_nothing_is_not_applicable(run_checks):
    [finding] = run_checks(CHECK)

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == f"{ACCOUNT}/{REGION}"


def test_instance_in_approved_region_passes(aws, run_checks):
    instance_id = run_instance(aws)

    findings = run_checks(CHECK)

    instance_arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"
    [finding] = [f for f in findings if f.resource_id == instance_arn]
    assert finding.status == Status.PASS
    assert finding.message == (
        f"EC2 instance {instance_id} is in {REGION}, an approved region."
    )
    assert finding.evidence == {
        "resource_type": "EC2 instance",
        "name": instance_id,
        "resource_region": REGION,
        "approved_regions": ["eu-west-2", "eu-west-1"],
    }


def test_instance_outside_fails(aws, run_checks):
    instance_id = run_instance(aws, OUTSIDE)

    findings = run_checks(CHECK, regions=(REGION, OUTSIDE))

    instance_arn = f"arn:aws:ec2:{OUTSIDE}:{ACCOUNT}:instance/{instance_id}"
    [finding] = [f for f in findings if f.resource_id == instance_arn]
    assert finding.status == Status.FAIL
    assert finding.region == OUTSIDE
    assert finding.message == (
        f"EC2 instance {instance_id} is in {OUTSIDE}, which is not an approved "
        "region (eu-west-2, eu-west-1)."
    )


def test_instance_root_volume_judged(aws, run_checks):
    run_instance(aws, OUTSIDE)
    [volume] = aws.client("ec2", region_name=OUTSIDE).describe_volumes()["Volumes"]

    findings = run_checks(CHECK, regions=(OUTSIDE,))

    volume_arn = f"arn:aws:ec2:{OUTSIDE}:{ACCOUNT}:volume/{volume['VolumeId']}"
    assert by_resource(findings)[volume_arn] == (OUTSIDE, Status.FAIL)


def test_terminated_instance_skipped(aws, run_checks):
    instance_id = run_instance(aws)
    ec2 = aws.client("ec2")
    ec2.terminate_instances(InstanceIds=[instance_id])

    findings = run_checks(CHECK)

    assert all(instance_id not in f.resource_id for f in findings)


def test_every_regional_type_judged(aws, run_checks):
    ec2 = aws.client("ec2", region_name=OUTSIDE)
    volume_id = ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    aws.client("rds", region_name=OUTSIDE).create_db_instance(
        DBInstanceIdentifier="orders",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin_user",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
    )
    aws.client("dynamodb", region_name=OUTSIDE).create_table(
        TableName="sessions",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    make_function(aws, OUTSIDE)
    aws.client("ecs", region_name=OUTSIDE).create_cluster(clusterName="batch")

    findings = run_checks(CHECK, regions=(OUTSIDE,))

    results = by_resource(findings)
    expected = [
        f"arn:aws:ec2:{OUTSIDE}:{ACCOUNT}:volume/{volume_id}",
        f"arn:aws:rds:{OUTSIDE}:{ACCOUNT}:db:orders",
        f"arn:aws:dynamodb:{OUTSIDE}:{ACCOUNT}:table/sessions",
        f"arn:aws:lambda:{OUTSIDE}:{ACCOUNT}:function:reporter",
        f"arn:aws:ecs:{OUTSIDE}:{ACCOUNT}:cluster/batch",
    ]
    for arn in expected:
        assert results[arn] == (OUTSIDE, Status.FAIL), arn
    kinds = {f.evidence["resource_type"] for f in findings}
    assert kinds == {
        "EBS volume",
        "RDS DB instance",
        "DynamoDB table",
        "Lambda function",
        "ECS cluster",
    }


def test_buckets_judged_once_in_home_region(aws, run_checks):
    make_bucket(aws, "reports-eu", "eu-west-1")
    make_bucket(aws, "legacy-us", OUTSIDE)

    findings = run_checks(CHECK, regions=(REGION, "eu-west-1", OUTSIDE))

    buckets = [f for f in findings if f.resource_id.startswith("arn:aws:s3:::")]
    assert by_resource(buckets) == {
        "arn:aws:s3:::reports-eu": ("eu-west-1", Status.PASS),
        "arn:aws:s3:::legacy-us": (OUTSIDE, Status.FAIL),
    }


def test_buckets_judged_when_home_not_collected(aws, run_checks, settings):
    make_bucket(aws, "reports-eu", "eu-west-1")
    elsewhere = replace(settings, home_region=OUTSIDE)

    findings = run_checks(CHECK, regions=(REGION,), settings=elsewhere)

    assert by_resource(findings) == {
        "arn:aws:s3:::reports-eu": ("eu-west-1", Status.PASS)
    }


def test_approved_regions_option_applies(aws, run_checks, settings):
    run_instance(aws, OUTSIDE)
    american = replace(settings, approved_regions=(OUTSIDE,))

    findings = run_checks(CHECK, regions=(OUTSIDE,), settings=american)

    assert {f.status for f in findings} == {Status.PASS}


def test_denied_listing_errors_that_type_only(aws, run_checks):
    instance_id = run_instance(aws)
    deny(aws, "dynamodb", "ListTables")

    findings = run_checks(CHECK)

    results = by_resource(findings)
    table_pattern = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*"
    assert results[table_pattern] == (REGION, Status.ERROR)
    instance_arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"
    assert results[instance_arn] == (REGION, Status.PASS)
    [error] = [f for f in findings if f.status == Status.ERROR]
    assert error.message == (
        f"dynamodb:ListTables failed with AccessDenied, so {table_pattern} was not "
        "evaluated."
    )


def test_denied_bucket_listing_is_error(aws, run_checks):
    make_bucket(aws, "reports-eu", "eu-west-1")
    deny(aws, "s3", "ListBuckets")

    findings = run_checks(CHECK)

    assert by_resource(findings) == {"arn:aws:s3:::*": (REGION, Status.ERROR)}


def test_denied_bucket_location_is_error(aws, run_checks):
    make_bucket(aws, "reports-eu", "eu-west-1")
    deny(aws, "s3", "GetBucketLocation")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.resource_id == "arn:aws:s3:::reports-eu"
    assert finding.evidence["operation"] == "s3:GetBucketLocation"


def test_listings_shared_with_s3_checks(aws, settings):
    make_bucket(aws, "reports-eu", "eu-west-1")
    make_bucket(aws, "legacy-us", OUTSIDE)
    registry = load_checks()
    specs = [registry[CHECK], registry["aws.s3.default_encryption"]]

    result = Collector(
        settings, specs, session=aws, regions=(REGION, "eu-west-1", OUTSIDE)
    ).run()

    assert result.api_calls["s3:ListBuckets"] == 1
    assert result.api_calls["s3:GetBucketLocation"] == 2
