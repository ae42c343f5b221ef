"""Inject AWS faults into a boto3 session with botocore event hooks.

The hooks return an HTTP error response in place of the server's, inside
botocore's retry loop, in the service's own protocol. botocore parses it as
it would parse AWS's response, and its retry handler sees it, so a throttled
call is retried and may recover exactly as against AWS.

Faults are chosen by service, operation, region (read from the request's
SigV4 credential scope) and attempt number (from the ``amz-sdk-request``
header), never by call order, so every run injects the same faults whatever
the thread scheduling.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

# Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261204/eu-west-2/ec2/aws4_request
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_ATTEMPT = re.compile(r"attempt=(\d+)")

# The code and HTTP status each protocol's services return when a client
# calls too fast. EC2 and S3 return 503 with their own codes, IAM and the
# other Query services return "Throttling", and JSON services return
# "ThrottlingException". botocore's standard retry mode retries all of them.
THROTTLING = {
    "ec2": ("RequestLimitExceeded", 503),
    "query": ("Throttling", 400),
    "json": ("ThrottlingException", 400),
    "rest-json": ("ThrottlingException", 429),
    "rest-xml": ("SlowDown", 503),
}

# What a call to a region that the account has not enabled returns. The
# region rejects the account's credentials, so EC2 returns AuthFailure, Query
# services InvalidClientTokenId and JSON services UnrecognizedClientException.
REGION_NOT_ENABLED = {
    "ec2": ("AuthFailure", 401),
    "query": ("InvalidClientTokenId", 403),
    "json": ("UnrecognizedClientException", 400),
    "rest-json": ("UnrecognizedClientException", 403),
    "rest-xml": ("InvalidAccessKeyId", 403),
}

# The code each protocol's services return for a denied action.
ACCESS_DENIED = {
    "ec2": ("UnauthorizedOperation", 403),
    "query": ("AccessDenied", 403),
    "json": ("AccessDeniedException", 400),
    "rest-json": ("AccessDeniedException", 403),
    "rest-xml": ("AccessDenied", 403),
}


class _RawBody:
    """The ``raw`` of an AWSResponse: a stream that yields one body."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any):
        yield self._body


def error_response(
    protocol: str, code: str, status: int, message: str, url: str
) -> AWSResponse:
    """Build an HTTP error response as a service of ``protocol`` sends it.

    Raises:
        ValueError: the protocol has no error format here.
    """
    text = escape(message)
    headers = {"x-amzn-RequestId": "fault-injection"}
    if protocol == "ec2":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{code}</Code><Message>{text}</Message></Error></Errors>"
            "<RequestID>fault-injection</RequestID></Response>"
        )
        headers["Content-Type"] = "text/xml;charset=UTF-8"
    elif protocol == "query":
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{text}</Message></Error>"
            "<RequestId>fault-injection</RequestId></ErrorResponse>"
        )
        headers["Content-Type"] = "text/xml"
    elif protocol == "rest-xml":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{text}</Message><RequestId>fault-injection</RequestId></Error>"
        )
        headers["Content-Type"] = "application/xml"
    elif protocol == "json":
        body = json.dumps({"__type": code, "message": message})
        headers["Content-Type"] = "application/x-amz-json-1.1"
    elif protocol == "rest-json":
        body = json.dumps({"message": message})
        headers["Content-Type"] = "application/json"
        headers["x-amzn-ErrorType"] = code
    else:
        raise ValueError(f"no error format for protocol {protocol!r}")
    return AWSResponse(url, status, headers, _RawBody(body.encode()))


@dataclass(frozen=True)
class Fault:
    """One injected fault, and whether the call fails for good or recovers."""

    kind: str
    fatal: bool = True


@dataclass
class FaultPlan:
    """Which calls fail, and how.

    Attributes:
        denied_services: boto3 service names whose every call is denied.
        denied_operations: ``service:Operation`` names that are denied.
        disabled_region: a region the account has not enabled.
        throttled_once: ``service:Operation`` names throttled on their first
            attempt only, so botocore's retry recovers them.
        throttled_always: ``service:Operation`` names throttled on every
            attempt, so they fail after the retries.
        timeouts: ``(service:Operation, region)`` pairs whose every attempt
            times out while reading the response.
    """

    denied_services: frozenset[str] = frozenset()
    denied_operations: frozenset[str] = frozenset()
    disabled_region: str | None = None
    throttled_once: frozenset[str] = frozenset()
    throttled_always: frozenset[str] = frozenset()
    timeouts: frozenset[tuple[str, str]] = frozenset()

    def fault_for(self, name: str, region: str, attempt: int) -> Fault | None:
        """Return the fault for one attempt of a call, or None to let it through."""
        service = name.split(":", 1)[0]
        if region == self.disabled_region:
            return Fault("region")
        if service in self.denied_services or name in self.denied_operations:
            return Fault("denied")
        if (name, region) in self.timeouts:
            return Fault("timeout")
        if name in self.throttled_always:
            return Fault("throttled")
        if name in self.throttled_once and attempt == 1:
            return Fault("throttled", fatal=False)
        return None


@dataclass
class FaultInjector:
    """Install a :class:`FaultPlan` on boto3 sessions and record what it did.

    ``scope`` is called in the calling thread at each fault and returns what
    the test attributes the fault to, such as the check being run.
    """

    plan: FaultPlan
    scope: Callable[[], Any] = lambda: None
    injected: Counter = field(default_factory=Counter)
    fatal_scopes: dict[Any, set[str]] = field(default_factory=dict)
    _current: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, session: Any) -> None:
        """Register the hooks on a boto3 session, for every client it creates."""
        session.events.register("before-call.*.*", self._remember_operation)
        session.events.register("before-send.*.*", self._answer)

    def _remember_operation(self, model: Any, **_: Any) -> None:
        # before-send carries only the request, so the operation model is kept
        # for it; both events run in the calling thread.
        self._current.model = model

    def _answer(self, request: Any, **_: Any) -> AWSResponse | None:
        model = self._current.model
        service_model = model.service_model
        name = f"{service_model.service_name}:{model.name}"
        scope = _SCOPE.search(_header(request, "Authorization"))
        region = scope.group(1) if scope else ""
        attempt_match = _ATTEMPT.search(_header(request, "amz-sdk-request"))
        attempt = int(attempt_match.group(1)) if attempt_match else 1

        fault = self.plan.fault_for(name, region, attempt)
        if fault is None:
            return None
        with self._lock:
            self.injected[(fault.kind, name)] += 1
            if fault.fatal:
                self.fatal_scopes.setdefault(self.scope(), set()).add(name)

        if fault.kind == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        protocol = service_model.resolved_protocol
        table = {
            "region": REGION_NOT_ENABLED,
            "denied": ACCESS_DENIED,
            "throttled": THROTTLING,
        }[fault.kind]
        code, status = table[protocol]
        message = f"injected {fault.kind} fault for {name} in {region}"
        return error_response(protocol, code, status, message, request.url)


def _header(request: Any, name: str) -> str:
    value = request.headers.get(name) or ""
    return value.decode() if isinstance(value, bytes) else value


def injected_codes() -> set[str]:
    """Return every error code the injector can produce."""
    codes = {"ReadTimeoutError"}
    for table in (THROTTLING, REGION_NOT_ENABLED, ACCESS_DENIED):
        codes.update(code for code, _ in table.values())
    return codes


class ScopeTracker:
    """Record which check scope each failed AWS call reached.

    A scope is ``(check_id, account_id, region)`` as the collector runs it,
    with ``global`` for account-scope checks. Cached failures reach every
    check that reads them, so the tracker wraps both ``run_check``, to know
    the check running in a thread, and ``AccountSession.call``, to see each
    failure a check receives.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.failures: dict[tuple[str, str, str], set[tuple[str, str]]] = {}

    def current(self) -> tuple[str, str, str] | None:
        """Return the scope running in the calling thread, or None."""
        return getattr(self._local, "scope", None)

    def install(self, monkeypatch: Any) -> None:
        """Wrap the collector's functions for the rest of the test."""
        from auditbook import collect
        from auditbook.checks.context import AccountSession
        from auditbook.errors import AwsCallError

        run_check = collect.run_check
        call = AccountSession.call

        def tracked_run_check(spec: Any, context: Any) -> Any:
            self._local.scope = (spec.check_id, context.account_id, context.region)
            try:
                return run_check(spec, context)
            finally:
                self._local.scope = None

        def tracked_call(session: Any, *args: Any, **params: Any) -> Any:
            try:
                return call(session, *args, **params)
            except AwsCallError as exc:
                scope = self.current()
                if scope is not None:
                    with self._lock:
                        self.failures.setdefault(scope, set()).add(
                            (exc.operation, exc.code)
                        )
                raise

        monkeypatch.setattr(collect, "run_check", tracked_run_check)
        monkeypatch.setattr(AccountSession, "call", tracked_call)
