"""AWS WAF (WAFv2) checks: web ACLs on load balancers and CloudFront."""

from __future__ import annotations

from collections.abc import Iterator

from auditbook.checks.context import CheckContext
from auditbook.checks.elbv2 import load_balancers
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status


@check(
    "aws.wafv2.alb_protected",
    title="Internet-facing load balancers have a WAF web ACL",
    service="wafv2",
    scope=Scope.REGION,
    resource_type="load balancer",
    severity=Severity.HIGH,
    proves=(
        "An internet-facing application load balancer has a WAFv2 web ACL "
        "associated with it."
    ),
    permissions=[
        "elasticloadbalancing:DescribeLoadBalancers",
        "wafv2:GetWebACLForResource",
    ],
)
def alb_protected(ctx: CheckContext) -> Iterator[Finding]:
    public_albs = [
        load_balancer
        for load_balancer in load_balancers(ctx)
        if load_balancer.get("Type") == "application"
        and load_balancer.get("Scheme") == "internet-facing"
    ]

    for load_balancer in public_albs:
        arn = load_balancer["LoadBalancerArn"]
        name = load_balancer.get("LoadBalancerName")
        try:
            response = ctx.call("wafv2", "get_web_acl_for_resource", ResourceArn=arn)
        except AwsCallError as exc:
            yield ctx.error(exc, resource_id=arn)
            continue

        # NOTE: only WAFv2 associations count. A load balancer protected by a
        # WAF Classic web ACL has no WAFv2 web ACL, so it fails.
        web_acl = response.get("WebACL")
        evidence = {
            "load_balancer": name,
            "scheme": load_balancer.get("Scheme"),
            "web_acl_arn": web_acl.get("ARN") if web_acl else None,
            "web_acl_name": web_acl.get("Name") if web_acl else None,
        }
        if web_acl:
            status = Status.PASS
            message = (
                f"Load balancer {name} is protected by web ACL {web_acl.get('Name')}."
            )
        else:
            status = Status.FAIL
            message = f"Internet-facing load balancer {name} has no WAFv2 web ACL."
        yield ctx.finding(arn, status, message, evidence)


@check(
    "aws.wafv2.cloudfront_protected",
    title="CloudFront distributions have a WAF web ACL",
    service="cloudfront",
    scope=Scope.ACCOUNT,
    resource_type="distribution",
    severity=Severity.HIGH,
    proves="The CloudFront distribution names a web ACL in its configuration.",
    permissions=["cloudfront:ListDistributions"],
)
def cloudfront_protected(ctx: CheckContext) -> Iterator[Finding]:
    # CloudFront is global: one listing per account serves every distribution.
    listing = ctx.call("cloudfront", "list_distributions")
    distributions = listing.get("DistributionList", {}).get("Items", [])

    for distribution in distributions:
        distribution_id = distribution["Id"]
        # WebACLId is a WAFv2 web ACL ARN, a WAF Classic web ACL id, or the
        # empty string when none is associated.
        web_acl_id = distribution.get("WebACLId") or None
        evidence = {
            "distribution_id": distribution_id,
            "domain_name": distribution.get("DomainName"),
            "aliases": distribution.get("Aliases", {}).get("Items", []),
            "web_acl_id": web_acl_id,
        }
        if web_acl_id:
            status = Status.PASS
            message = (
                f"CloudFront distribution {distribution_id} has web ACL {web_acl_id}."
            )
        else:
            status = Status.FAIL
            message = f"CloudFront distribution {distribution_id} has no web ACL."
        yield ctx.finding(distribution["ARN"], status, message, evidence)
