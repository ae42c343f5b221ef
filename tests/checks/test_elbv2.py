from __future__ import annotations

import pytest

from auditbook.checks.registry import load_checks
from auditbook.collect import Collector
from auditbook.models import Status
from tests.conftest import REGION, deny

TLS = "aws.elbv2.tls_min_1_2"
REDIRECT = "aws.elbv2.http_redirects_to_https"

MODERN_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
LEGACY_POLICY = "ELBSecurityPolicy-2016-08"
FIXED_RESPONSE = {
    "Type": "fixed-response",
    "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"},
}


def redirect(protocol: str) -> dict:
    return {
        "Type": "redirect",
        "RedirectConfig": {
            "Protocol": protocol,
            "Port": "443",
            "StatusCode": "HTTP_301",
        },
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

    def create(name: str, type_: str = "application") -> str:
        response = aws.client("elbv2").create_load_balancer(
            Name=name, Subnets=subnet_ids, Scheme="internet-facing", Type=type_
        )
        return response["LoadBalancers"][0]["LoadBalancerArn"]

    return create


@pytest.fixture
def create_listener(aws):
    """Return a function that adds a listener; TLS listeners get a certificate."""
    certificate_arn = aws.client("acm").request_certificate(
        DomainName="payments.example.com"
    )["CertificateArn"]

    def create(
        load_balancer_arn: str,
        protocol: str,
        port: int,
        action: dict = FIXED_RESPONSE,
        policy: str | None = None,
    ) -> str:
        settings = {}
        if policy:
            settings["SslPolicy"] = policy
            settings["Certificates"] = [{"CertificateArn": certificate_arn}]
        response = aws.client("elbv2").create_listener(
            LoadBalancerArn=load_balancer_arn,
            Protocol=protocol,
            Port=port,
            DefaultActions=[action],
            **settings,
        )
        return response["Listeners"][0]["ListenerArn"]

    return create


def test_tls13_policy_passes(create_load_balancer, create_listener, run_checks):
    lb = create_load_balancer("payments-public")
    arn = create_listener(lb, "HTTPS", 443, policy=MODERN_POLICY)

    [finding] = run_checks(TLS)

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    assert finding.evidence["ssl_policy"] == MODERN_POLICY
    assert finding.evidence["ssl_protocols"] == ["TLSv1.3", "TLSv1.2"]
    assert "payments-public:443" in finding.message


def test_legacy_policy_fails(create_load_balancer, create_listener, run_checks):
    lb = create_load_balancer("statements-public")
    create_listener(lb, "HTTPS", 443, policy=LEGACY_POLICY)

    [finding] = run_checks(TLS)

    assert finding.status == Status.FAIL
    assert "TLSv1.1, TLSv1" in finding.message
    assert finding.evidence["ssl_protocols"] == ["TLSv1.2", "TLSv1.1", "TLSv1"]


def test_policy_judged_by_protocols_not_name(
    create_load_balancer, create_listener, run_checks
):
    # The name mentions TLS 1.3, but the policy still offers TLS 1.0 and 1.1.
    lb = create_load_balancer("partner-api")
    create_listener(lb, "HTTPS", 443, policy="ELBSecurityPolicy-TLS13-1-0-2021-06")

    [finding] = run_checks(TLS)

    assert finding.status == Status.FAIL


def test_nlb_tls_listener_is_judged(
    aws, create_load_balancer, create_listener, run_checks
):
    lb = create_load_balancer("ledger-nlb", type_="network")
    elbv2 = aws.client("elbv2")
    vpc_id = elbv2.describe_load_balancers(LoadBalancerArns=[lb])["LoadBalancers"][0][
        "VpcId"
    ]
    target_group_arn = elbv2.create_target_group(
        Name="ledger", Protocol="TCP", Port=8443, VpcId=vpc_id
    )["TargetGroups"][0]["TargetGroupArn"]
    create_listener(
        lb,
        "TLS",
        443,
        action={"Type": "forward", "TargetGroupArn": target_group_arn},
        policy="ELBSecurityPolicy-TLS-1-1-2017-01",
    )

    [finding] = run_checks(TLS)

    assert finding.status == Status.FAIL
    assert finding.evidence["protocol"] == "TLS"


def test_one_policy_lookup_per_policy(
    aws, settings, create_load_balancer, create_listener
):
    for name in ("payments-public", "statements-public"):
        lb = create_load_balancer(name)
        create_listener(lb, "HTTPS", 443, policy=MODERN_POLICY)
        create_listener(lb, "HTTPS", 8443, policy=MODERN_POLICY)
    specs = [load_checks()[TLS], load_checks()[REDIRECT]]

    result = Collector(settings, specs, session=aws, regions=(REGION,)).run()

    assert len([f for f in result.findings if f.check_id == TLS]) == 4
    assert result.api_calls["elbv2:DescribeLoadBalancers"] == 1
    assert result.api_calls["elbv2:DescribeListeners"] == 2
    assert result.api_calls["elbv2:DescribeSSLPolicies"] == 1


def test_http_listener_is_ignored_by_tls_check(
    create_load_balancer, create_listener, run_checks
):
    lb = create_load_balancer("payments-public")
    create_listener(lb, "HTTP", 80, action=redirect("HTTPS"))

    [finding] = run_checks(TLS)

    assert finding.status == Status.NOT_APPLICABLE


@pytest.mark.parametrize("check_id", [TLS, REDIRECT])
def test_no_load_balancer_is_not_applicable(run_checks, check_id):
    [finding] = run_checks(check_id)

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.region == REGION


def test_policy_lookup_denied_is_error(
    aws, create_load_balancer, create_listener, run_checks
):
    lb = create_load_balancer("payments-public")
    arn = create_listener(lb, "HTTPS", 443, policy=MODERN_POLICY)
    deny(aws, "elbv2", "DescribeSSLPolicies")

    [finding] = run_checks(TLS)

    assert finding.status == Status.ERROR
    assert finding.resource_id == arn
    assert finding.evidence["operation"] == "elbv2:DescribeSSLPolicies"


def test_redirect_to_https_passes(create_load_balancer, create_listener, run_checks):
    lb = create_load_balancer("payments-public")
    arn = create_listener(lb, "HTTP", 80, action=redirect("HTTPS"))

    [finding] = run_checks(REDIRECT)

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    assert finding.evidence["default_actions"] == [
        {
            "type": "redirect",
            "redirect_protocol": "HTTPS",
            "redirect_port": "443",
            "redirect_status_code": "HTTP_301",
        }
    ]


def test_plain_http_fails(create_load_balancer, create_listener, run_checks):
    lb = create_load_balancer("statements-public")
    create_listener(lb, "HTTP", 80)

    [finding] = run_checks(REDIRECT)

    assert finding.status == Status.FAIL
    assert "fixed-response" in finding.message


def test_redirect_keeping_protocol_fails(
    create_load_balancer, create_listener, run_checks
):
    lb = create_load_balancer("statements-public")
    create_listener(lb, "HTTP", 80, action=redirect("#{protocol}"))

    [finding] = run_checks(REDIRECT)

    assert finding.status == Status.FAIL
    assert "'#{protocol}'" in finding.message


def test_https_listener_is_ignored_by_redirect_check(
    create_load_balancer, create_listener, run_checks
):
    lb = create_load_balancer("payments-public")
    create_listener(lb, "HTTPS", 443, policy=MODERN_POLICY)

    [finding] = run_checks(REDIRECT)

    assert finding.status == Status.NOT_APPLICABLE


@pytest.mark.parametrize("check_id", [TLS, REDIRECT])
def test_listing_denied_is_error(aws, create_load_balancer, run_checks, check_id):
    create_load_balancer("payments-public")
    deny(aws, "elbv2", "DescribeLoadBalancers")

    [finding] = run_checks(check_id)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


@pytest.mark.parametrize("check_id", [TLS, REDIRECT])
def test_listeners_denied_is_error_per_load_balancer(
    aws, create_load_balancer, run_checks, check_id
):
    lb = create_load_balancer("payments-public")
    deny(aws, "elbv2", "DescribeListeners")

    [finding] = run_checks(check_id)

    assert finding.status == Status.ERROR
    assert finding.resource_id == lb
