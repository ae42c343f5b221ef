"""Elastic Load Balancing (application and network load balancers) checks.

Both checks judge listeners. They read one DescribeLoadBalancers response per
account and region, which the WAF load balancer check reuses, and one
DescribeListeners response per load balancer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

# Protocols whose listeners terminate TLS: HTTPS on application load
# balancers, TLS on network load balancers.
TLS_PROTOCOLS = ("HTTPS", "TLS")
# Protocol versions older than TLS 1.2 that a security policy must not offer,
# spelled as DescribeSSLPolicies returns them.
LEGACY_TLS_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1")


@check(
    "aws.elbv2.tls_min_1_2",
    title="Load balancer listeners reject TLS 1.0 and 1.1",
    service="elbv2",
    scope=Scope.REGION,
    resource_type="listener",
    severity=Severity.HIGH,
    proves=(
        "The security policy of the HTTPS or TLS listener offers neither TLSv1 "
        "nor TLSv1.1, as DescribeSSLPolicies reports its protocols."
    ),
    permissions=[
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeSSLPolicies",
    ],
)
def tls_min_1_2(ctx: CheckContext) -> Iterator[Finding]:
    for load_balancer in load_balancers(ctx):
        try:
            listeners = listeners_of(ctx, load_balancer)
        except AwsCallError as exc:
            yield ctx.error(exc, resource_id=load_balancer["LoadBalancerArn"])
            continue

        for listener in listeners:
            if listener.get("Protocol") in TLS_PROTOCOLS:
                yield _judge_tls_policy(ctx, load_balancer, listener)


@check(
    "aws.elbv2.http_redirects_to_https",
    title="HTTP listeners redirect to HTTPS",
    service="elbv2",
    scope=Scope.REGION,
    resource_type="listener",
    severity=Severity.MEDIUM,
    proves="The HTTP listener's default action redirects to the HTTPS protocol.",
    permissions=[
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeListeners",
    ],
)
def http_redirects_to_https(ctx: CheckContext) -> Iterator[Finding]:
    for load_balancer in load_balancers(ctx):
        try:
            listeners = listeners_of(ctx, load_balancer)
        except AwsCallError as exc:
            yield ctx.error(exc, resource_id=load_balancer["LoadBalancerArn"])
            continue

        for listener in listeners:
            if listener.get("Protocol") == "HTTP":
                yield _judge_http_redirect(ctx, load_balancer, listener)


def load_balancers(ctx: CheckContext) -> list[dict[str, Any]]:
    """Return the region's load balancers from the shared, cached listing."""
    return ctx.call("elbv2", "describe_load_balancers").get("LoadBalancers", [])


def listeners_of(ctx: CheckContext, load_balancer: dict[str, Any]) -> list[dict]:
    """Return a load balancer's listeners from a call cached for the run.

    Raises:
        AwsCallError: DescribeListeners failed.
    """
    arn = load_balancer["LoadBalancerArn"]
    response = ctx.call("elbv2", "describe_listeners", LoadBalancerArn=arn)
    return response.get("Listeners", [])


def _judge_tls_policy(
    ctx: CheckContext, load_balancer: dict[str, Any], listener: dict[str, Any]
) -> Finding:
    arn = listener["ListenerArn"]
    label = _listener_label(load_balancer, listener)
    policy_name = listener.get("SslPolicy")
    evidence: dict[str, Any] = {
        "listener": label,
        "protocol": listener.get("Protocol"),
        "ssl_policy": policy_name,
    }
    if not policy_name:
        return ctx.finding(
            arn,
            Status.FAIL,
            f"Listener {label} reports no security policy, so its TLS versions "
            "are unknown.",
            evidence,
        )

    try:
        protocols = _policy_protocols(ctx, policy_name)
    except AwsCallError as exc:
        return ctx.error(exc, resource_id=arn)

    legacy = [version for version in protocols if version in LEGACY_TLS_VERSIONS]
    evidence["ssl_protocols"] = protocols
    if legacy:
        return ctx.finding(
            arn,
            Status.FAIL,
            f"Listener {label} uses security policy {policy_name}, which offers "
            f"{', '.join(legacy)}.",
            evidence,
        )
    return ctx.finding(
        arn,
        Status.PASS,
        f"Listener {label} uses security policy {policy_name}, which offers only "
        f"{', '.join(protocols)}.",
        evidence,
    )


def _judge_http_redirect(
    ctx: CheckContext, load_balancer: dict[str, Any], listener: dict[str, Any]
) -> Finding:
    arn = listener["ListenerArn"]
    label = _listener_label(load_balancer, listener)
    actions = listener.get("DefaultActions", [])
    redirects = [a for a in actions if a.get("Type") == "redirect"]
    to_https = [
        a for a in redirects if a.get("RedirectConfig", {}).get("Protocol") == "HTTPS"
    ]
    evidence = {
        "listener": label,
        "default_actions": [_action_evidence(a) for a in actions],
    }

    if to_https:
        status = Status.PASS
        message = f"HTTP listener {label} redirects to HTTPS."
    elif redirects:
        status = Status.FAIL
        protocol = redirects[0].get("RedirectConfig", {}).get("Protocol")
        message = (
            f"HTTP listener {label} redirects with protocol {protocol!r}, not HTTPS."
        )
    else:
        status = Status.FAIL
        kinds = ", ".join(str(a.get("Type")) for a in actions) or "no action"
        message = (
            f"HTTP listener {label} serves its default action ({kinds}) without "
            "redirecting to HTTPS."
        )
    return ctx.finding(arn, status, message, evidence)


def _policy_protocols(ctx: CheckContext, policy_name: str) -> list[str]:
    response = ctx.call("elbv2", "describe_ssl_policies", Names=[policy_name])
    for policy in response.get("SslPolicies", []):
        if policy.get("Name") == policy_name:
            return list(policy.get("SslProtocols", []))
    raise AwsCallError(
        "SSLPolicyNotFound",
        "elbv2:DescribeSSLPolicies",
        f"security policy {policy_name!r} was not returned",
    )


def _listener_label(load_balancer: dict[str, Any], listener: dict[str, Any]) -> str:
    return f"{load_balancer.get('LoadBalancerName')}:{listener.get('Port')}"


def _action_evidence(action: dict[str, Any]) -> dict[str, Any]:
    evidence: dict[str, Any] = {"type": action.get("Type")}
    redirect = action.get("RedirectConfig")
    if redirect:
        evidence["redirect_protocol"] = redirect.get("Protocol")
        evidence["redirect_port"] = redirect.get("Port")
        evidence["redirect_status_code"] = redirect.get("StatusCode")
    return evidence
