from __future__ import annotations

import pytest
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

from auditbook.models import Status
from tests.conftest import REGION, deny

ALB = "aws.wafv2.alb_protected"
CLOUDFRONT = "aws.wafv2.cloudfront_protected"

VISIBILITY = {
    "SampledRequestsEnabled": True,
    "CloudWatchMetricsEnabled": True,
    "MetricName": "edge",
}


@pytest.fixture
def create_load_balancer(aws):
    """Return a function that creates a load balancer in the default VPC."""
    ec2 = aws.client("ec2")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
        "Vpcs"
    ][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    subnet_ids = sorted(s["SubnetId"] for s in subnets["Subnets"])[:2]

    def create(
        name: str, scheme: str = "internet-facing", type_: str = "application"
    ) -> str:
        response = aws.client("elbv2").create_load_balancer(
            Name=name, Subnets=subnet_ids, Scheme=scheme, Type=type_
        )
        return response["LoadBalancers"][0]["LoadBalancerArn"]

    return create


def protect(aws, resource_arn: str) -> str:
    wafv2 = aws.client("wafv2")
    web_acl = wafv2.create_web_acl(
        Name="edge-protection",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig=VISIBILITY,
        Rules=[],
    )["Summary"]
    wafv2.associate_web_acl(WebACLArn=web_acl["ARN"], ResourceArn=resource_arn)
    return web_acl["ARN"]


def create_distribution(aws, reference: str, web_acl_id: str | None) -> str:
    config = {
        "CallerReference": reference,
        "Comment": f"statements site {reference}",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "statements",
                    "DomainName": "statements-origin.s3.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "statements",
            "ViewerProtocolPolicy": "redirect-to-https",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
        },
    }
    if web_acl_id:
        config["WebACLId"] = web_acl_id
    response = aws.client("cloudfront").create_distribution(DistributionConfig=config)
    return response["Distribution"]["ARN"]


def test_alb_with_web_acl_passes(aws, create_load_balancer, run_checks):
    lb = create_load_balancer("payments-public")
    web_acl_arn = protect(aws, lb)

    [finding] = run_checks(ALB)

    assert finding.status == Status.PASS
    assert finding.resource_id == lb
    assert finding.evidence["web_acl_arn"] == web_acl_arn
    assert "edge-protection" in finding.message


def test_alb_without_web_acl_fails(create_load_balancer, run_checks):
    lb = create_load_balancer("statements-public")

    [finding] = run_checks(ALB)

    assert finding.status == Status.FAIL
    assert finding.resource_id == lb
    assert finding.evidence["web_acl_arn"] is None


def test_internal_and_network_load_balancers_are_skipped(
    create_load_balancer, run_checks
):
    create_load_balancer("ledger-internal", scheme="internal")
    create_load_balancer("ledger-nlb", type_="network")

    [finding] = run_checks(ALB)

    assert finding.status == Status.NOT_APPLICABLE


def test_no_load_balancer_is_not_applicable(run_checks):
    [finding] = run_checks(ALB)

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.region == REGION


def test_web_acl_lookup_denied_is_error(aws, create_load_balancer, run_checks):
    protected = create_load_balancer("payments-public")
    protect(aws, protected)
    deny(aws, "wafv2", "GetWebACLForResource", code="WAFAccessDeniedException")

    [finding] = run_checks(ALB)

    assert finding.status == Status.ERROR
    assert finding.resource_id == protected
    assert finding.evidence["error_code"] == "WAFAccessDeniedException"


def test_load_balancer_listing_denied_is_error(aws, create_load_balancer, run_checks):
    create_load_balancer("payments-public")
    deny(aws, "elbv2", "DescribeLoadBalancers")

    [finding] = run_checks(ALB)

    assert finding.status == Status.ERROR


def test_distribution_with_web_acl_passes(aws, run_checks):
    web_acl_arn = (
        f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/edge/"
        "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
    )
    arn = create_distribution(aws, "statements-site", web_acl_arn)

    [finding] = run_checks(CLOUDFRONT)

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    assert finding.region == "global"
    assert finding.evidence["web_acl_id"] == web_acl_arn


def test_distribution_without_web_acl_fails(aws, run_checks):
    arn = create_distribution(aws, "marketing-site", None)

    [finding] = run_checks(CLOUDFRONT)

    assert finding.status == Status.FAIL
    assert finding.resource_id == arn
    assert finding.evidence["web_acl_id"] is None


def test_distributions_are_judged_once_per_account(aws, run_checks):
    create_distribution(aws, "marketing-site", None)

    findings = run_checks(CLOUDFRONT, regions=(REGION, "eu-west-1"))

    assert len(findings) == 1


def test_no_distribution_is_not_applicable(run_checks):
    [finding] = run_checks(CLOUDFRONT)

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.resource_id == ACCOUNT


def test_distribution_listing_denied_is_error(aws, run_checks):
    create_distribution(aws, "marketing-site", None)
    deny(aws, "cloudfront", "ListDistributions")

    [finding] = run_checks(CLOUDFRONT)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"
