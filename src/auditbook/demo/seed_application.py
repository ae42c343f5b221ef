"""Seed the demo account's applications: containers, functions and the edge.

Production runs a payments service whose newer parts are hardened and whose
older parts show the usual audit findings:

- ECR: ``payments-api`` scans on push, ``statement-renderer`` does not.
- ECS: ``payments-api`` is hardened. ``statement-renderer`` runs as root with
  a writable root file system and ``DB_PASSWORD`` in its plain environment.
  ``log-shipper`` is privileged and has no CPU or memory limit.
- Lambda: ``payments-webhook`` holds a Stripe-style key in plain text,
  ``statement-notifier`` references a Secrets Manager ARN, and
  ``edge-header-rewrite`` lies in us-east-1, outside the approved regions.
- Load balancers: ``payments-public`` redirects HTTP to HTTPS, uses a TLS 1.2+
  policy and has a WAF web ACL; ``statements-public`` serves plain HTTP, offers
  TLS 1.0 and has no web ACL; ``ledger-internal`` is internal.
- CloudFront: the statements site has a web ACL, the marketing site has none.
- Amazon Inspector scans everything in eu-west-2 and only EC2 in eu-west-1.
- A Shield Advanced subscription.

The sandbox has a few experiments and none of the production safeguards.
Every credential-like value is fake. Seeding calls mutating APIs, expects a
fresh simulated account such as a moto server, and is not idempotent.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from typing import Any

import boto3

logger = logging.getLogger(__name__)

PRIMARY_REGION = "eu-west-2"
RECOVERY_REGION = "eu-west-1"
# Lambda@Edge functions must be created in us-east-1, which is not approved.
EDGE_REGION = "us-east-1"
VARIANTS = ("production", "sandbox")

MODERN_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
LEGACY_TLS_POLICY = "ELBSecurityPolicy-2016-08"

# Fake tokens with the documented prefixes, split so that secret scanners do
# not mistake this file for a leak.
FAKE_STRIPE_KEY = "sk_live_" + "DEMOONLYnotARealStripeKey0000"
FAKE_GITHUB_TOKEN = "ghp_" + "DEMOONLYnotARealGitHubToken000000000"

REDIRECT_TO_HTTPS = {
    "Type": "redirect",
    "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
}
NOT_FOUND = {
    "Type": "fixed-response",
    "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"},
}
WAF_VISIBILITY = {
    "SampledRequestsEnabled": True,
    "CloudWatchMetricsEnabled": True,
}


def seed(session: boto3.Session, account_id: str, variant: str) -> None:
    """Create the demo applications in eu-west-2, eu-west-1 and us-east-1.

    Args:
        session: the session whose endpoint and credentials reach the simulator.
        account_id: the simulated account, used in ARNs and tags.
        variant: ``production`` or ``sandbox``.

    Raises:
        ValueError: the variant is not one of ``production`` or ``sandbox``.
    """
    if variant not in VARIANTS:
        raise ValueError(
            f"variant {variant!r} is invalid; expected one of {', '.join(VARIANTS)}"
        )

    if variant == "production":
        _seed_production(session, account_id)
    else:
        _seed_sandbox(session, account_id)
    logger.info("seeded the %s applications of account %s", variant, account_id)


def _seed_production(session: boto3.Session, account_id: str) -> None:
    tags = _tags(account_id, "production")
    secret_arn = (
        f"arn:aws:secretsmanager:{PRIMARY_REGION}:{account_id}:secret:"
        "payments/stripe-Q1w2E3"
    )

    ecr = session.client("ecr", region_name=PRIMARY_REGION)
    _create_repository(ecr, "payments-api", scan_on_push=True, tags=tags)
    _create_repository(ecr, "statement-renderer", scan_on_push=False, tags=tags)

    ecs = session.client("ecs", region_name=PRIMARY_REGION)
    ecs.create_cluster(clusterName="payments", tags=_ecs_tags(tags))
    _register_production_tasks(ecs, secret_arn)

    role_arn = _create_lambda_role(session, "payments-lambda-execution", tags)
    lambda_primary = session.client("lambda", region_name=PRIMARY_REGION)
    _create_function(
        lambda_primary,
        "payments-webhook",
        role_arn,
        {"STRIPE_API_KEY": FAKE_STRIPE_KEY, "LOG_LEVEL": "INFO"},
        tags,
    )
    _create_function(
        lambda_primary,
        "statement-notifier",
        role_arn,
        {"STRIPE_SECRET_ARN": secret_arn, "STATEMENT_BUCKET": "statements"},
        tags,
    )
    _create_function(
        session.client("lambda", region_name=EDGE_REGION),
        "edge-header-rewrite",
        role_arn,
        None,
        tags,
    )

    _seed_production_load_balancers(session, tags)
    _seed_cloudfront(session, tags)

    _enable_inspector(session, PRIMARY_REGION, account_id, ["EC2", "ECR", "LAMBDA"])
    _enable_inspector(session, RECOVERY_REGION, account_id, ["EC2"])

    # NOTE: moto 5.2 stores the subscription but does not implement
    # GetSubscriptionState, so the demo reports the Shield check as ERROR.
    session.client("shield", region_name=PRIMARY_REGION).create_subscription()


def _seed_sandbox(session: boto3.Session, account_id: str) -> None:
    tags = _tags(account_id, "sandbox")

    # A registry rule scans sandbox-* repositories on push. The load-test
    # harness was named outside that convention, so it is not scanned.
    ecr = session.client("ecr", region_name=PRIMARY_REGION)
    ecr.put_registry_scanning_configuration(
        scanType="BASIC",
        rules=[
            {
                "scanFrequency": "SCAN_ON_PUSH",
                "repositoryFilters": [
                    {"filter": "sandbox-*", "filterType": "WILDCARD"}
                ],
            }
        ],
    )
    _create_repository(ecr, "sandbox-tools", scan_on_push=False, tags=tags)
    _create_repository(ecr, "load-test-harness", scan_on_push=False, tags=tags)

    ecs = session.client("ecs", region_name=PRIMARY_REGION)
    ecs.create_cluster(clusterName="sandbox", tags=_ecs_tags(tags))
    ecs.register_task_definition(
        family="load-test",
        containerDefinitions=[
            {
                "name": "locust",
                "image": "locustio/locust:2.31.8",
                "memoryReservation": 512,
                "environment": [
                    {"name": "TARGET_HOST", "value": "https://preview.example.com"}
                ],
            }
        ],
    )

    role_arn = _create_lambda_role(session, "sandbox-lambda-execution", tags)
    _create_function(
        session.client("lambda", region_name=PRIMARY_REGION),
        "release-notes-bot",
        role_arn,
        {"GITHUB_TOKEN": FAKE_GITHUB_TOKEN, "REPOSITORY": "example/payments"},
        tags,
    )

    subnets = _public_subnets(session.client("ec2", region_name=PRIMARY_REGION))
    elbv2 = session.client("elbv2", region_name=PRIMARY_REGION)
    preview = _create_load_balancer(elbv2, "sandbox-preview", subnets, tags)
    _create_listener(elbv2, preview, "HTTP", 80, NOT_FOUND)


def _register_production_tasks(ecs: Any, secret_arn: str) -> None:
    ecs.register_task_definition(
        family="payments-api",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="512",
        memory="1024",
        containerDefinitions=[
            {
                "name": "api",
                "image": "payments-api:2.14.0",
                "user": "10001:10001",
                "readonlyRootFilesystem": True,
                "privileged": False,
                "cpu": 512,
                "memory": 1024,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "environment": [{"name": "DB_HOST", "value": "payments-db.internal"}],
                "secrets": [{"name": "STRIPE_API_KEY", "valueFrom": secret_arn}],
            }
        ],
    )
    ecs.register_task_definition(
        family="statement-renderer",
        cpu="1024",
        memory="2048",
        containerDefinitions=[
            {
                "name": "renderer",
                "image": "statement-renderer:0.9.3",
                "cpu": 1024,
                "memory": 2048,
                "environment": [
                    {"name": "DB_HOST", "value": "payments-db.internal"},
                    {"name": "DB_USER", "value": "renderer"},
                    {"name": "DB_PASSWORD", "value": "demo-only-not-a-password"},
                ],
            }
        ],
    )
    ecs.register_task_definition(
        family="log-shipper",
        containerDefinitions=[
            {
                "name": "fluent-bit",
                "image": "fluent/fluent-bit:3.1",
                "user": "0",
                "privileged": True,
                "readonlyRootFilesystem": True,
                "memoryReservation": 128,
            }
        ],
    )


def _seed_production_load_balancers(
    session: boto3.Session, tags: list[dict[str, str]]
) -> None:
    subnets = _public_subnets(session.client("ec2", region_name=PRIMARY_REGION))
    elbv2 = session.client("elbv2", region_name=PRIMARY_REGION)
    certificate_arn = session.client(
        "acm", region_name=PRIMARY_REGION
    ).request_certificate(
        DomainName="payments.example.com",
        SubjectAlternativeNames=["statements.example.com"],
        ValidationMethod="DNS",
    )["CertificateArn"]

    payments = _create_load_balancer(elbv2, "payments-public", subnets, tags)
    _create_listener(elbv2, payments, "HTTP", 80, REDIRECT_TO_HTTPS)
    _create_listener(
        elbv2, payments, "HTTPS", 443, NOT_FOUND, MODERN_TLS_POLICY, certificate_arn
    )

    statements = _create_load_balancer(elbv2, "statements-public", subnets, tags)
    _create_listener(elbv2, statements, "HTTP", 80, NOT_FOUND)
    _create_listener(
        elbv2, statements, "HTTPS", 443, NOT_FOUND, LEGACY_TLS_POLICY, certificate_arn
    )

    ledger = _create_load_balancer(
        elbv2, "ledger-internal", subnets, tags, scheme="internal"
    )
    _create_listener(
        elbv2, ledger, "HTTPS", 443, NOT_FOUND, MODERN_TLS_POLICY, certificate_arn
    )

    wafv2 = session.client("wafv2", region_name=PRIMARY_REGION)
    web_acl_arn = _create_web_acl(wafv2, "payments-edge", "REGIONAL", tags)
    wafv2.associate_web_acl(WebACLArn=web_acl_arn, ResourceArn=payments)


def _seed_cloudfront(session: boto3.Session, tags: list[dict[str, str]]) -> None:
    # Web ACLs for CloudFront live in us-east-1 with scope CLOUDFRONT.
    wafv2 = session.client("wafv2", region_name=EDGE_REGION)
    web_acl_arn = _create_web_acl(wafv2, "statements-site", "CLOUDFRONT", tags)

    cloudfront = session.client("cloudfront", region_name=PRIMARY_REGION)
    cloudfront.create_distribution(
        DistributionConfig=_distribution_config("statements-site", web_acl_arn)
    )
    cloudfront.create_distribution(
        DistributionConfig=_distribution_config("marketing-site", None)
    )


def _distribution_config(name: str, web_acl_arn: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "CallerReference": f"auditbook-demo-{name}",
        "Comment": f"{name} (demo)",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": name,
                    "DomainName": f"{name}-origin.s3.{PRIMARY_REGION}.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": name,
            "ViewerProtocolPolicy": "redirect-to-https",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
        },
    }
    if web_acl_arn:
        config["WebACLId"] = web_acl_arn
    return config


def _create_repository(
    ecr: Any, name: str, *, scan_on_push: bool, tags: list[dict[str, str]]
) -> None:
    ecr.create_repository(
        repositoryName=name,
        imageScanningConfiguration={"scanOnPush": scan_on_push},
        imageTagMutability="IMMUTABLE",
        tags=tags,
    )


def _create_lambda_role(
    session: boto3.Session, name: str, tags: list[dict[str, str]]
) -> str:
    iam = session.client("iam", region_name=PRIMARY_REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    logging_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/*",
            }
        ],
    }
    role_arn = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Tags=tags
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="write-logs",
        PolicyDocument=json.dumps(logging_policy),
    )
    return role_arn


def _create_function(
    client: Any,
    name: str,
    role_arn: str,
    variables: dict[str, str] | None,
    tags: list[dict[str, str]],
) -> None:
    settings: dict[str, Any] = {}
    if variables:
        settings["Environment"] = {"Variables": variables}
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="handler.handler",
        Code={"ZipFile": _handler_zip()},
        Tags={tag["Key"]: tag["Value"] for tag in tags},
        **settings,
    )


def _handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def _public_subnets(ec2: Any) -> list[str]:
    # The network seed tags the main VPC's public subnets web-a and web-b. A
    # load balancer needs subnets in two zones, so without them the default
    # VPC's subnets serve.
    tagged = ec2.describe_subnets(
        Filters=[{"Name": "tag:Name", "Values": ["web-a", "web-b"]}]
    )["Subnets"]
    if len({subnet["AvailabilityZone"] for subnet in tagged}) >= 2:
        return [subnet["SubnetId"] for subnet in tagged]

    default = ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}]
    )["Subnets"]
    return sorted(subnet["SubnetId"] for subnet in default)[:2]


def _create_load_balancer(
    elbv2: Any,
    name: str,
    subnets: list[str],
    tags: list[dict[str, str]],
    scheme: str = "internet-facing",
) -> str:
    response = elbv2.create_load_balancer(
        Name=name, Subnets=subnets, Scheme=scheme, Type="application", Tags=tags
    )
    return response["LoadBalancers"][0]["LoadBalancerArn"]


def _create_listener(
    elbv2: Any,
    load_balancer_arn: str,
    protocol: str,
    port: int,
    action: dict[str, Any],
    policy: str | None = None,
    certificate_arn: str | None = None,
) -> None:
    settings: dict[str, Any] = {}
    if policy:
        settings["SslPolicy"] = policy
        settings["Certificates"] = [{"CertificateArn": certificate_arn}]
    elbv2.create_listener(
        LoadBalancerArn=load_balancer_arn,
        Protocol=protocol,
        Port=port,
        DefaultActions=[action],
        **settings,
    )


def _create_web_acl(wafv2: Any, name: str, scope: str, tags: list[dict]) -> str:
    visibility = {**WAF_VISIBILITY, "MetricName": name}
    common_rules = {
        "Name": "aws-common-rules",
        "Priority": 0,
        "Statement": {
            "ManagedRuleGroupStatement": {
                "VendorName": "AWS",
                "Name": "AWSManagedRulesCommonRuleSet",
            }
        },
        "OverrideAction": {"None": {}},
        "VisibilityConfig": {**WAF_VISIBILITY, "MetricName": f"{name}-common"},
    }
    response = wafv2.create_web_acl(
        Name=name,
        Scope=scope,
        DefaultAction={"Allow": {}},
        VisibilityConfig=visibility,
        Rules=[common_rules],
        Tags=tags,
    )
    return response["Summary"]["ARN"]


def _enable_inspector(
    session: boto3.Session, region: str, account_id: str, resource_types: list[str]
) -> None:
    session.client("inspector2", region_name=region).enable(
        accountIds=[account_id], resourceTypes=resource_types
    )


def _tags(account_id: str, variant: str) -> list[dict[str, str]]:
    return [
        {"Key": "Environment", "Value": variant},
        {"Key": "Owner", "Value": f"payments-team-{account_id}"},
    ]


def _ecs_tags(tags: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"key": tag["Key"], "value": tag["Value"]} for tag in tags]
