"""The context of a check: one account and region, and cached read-only AWS calls."""

from __future__ import annotations

import functools
import ipaddress
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from auditbook.errors import AwsCallError
from auditbook.models import Finding, Status

logger = logging.getLogger(__name__)

GLOBAL_REGION = "global"

# Services whose resources belong to the account rather than to a region, so
# one call per account serves every region.
GLOBAL_SERVICES = frozenset(
    {"iam", "organizations", "cloudfront", "route53", "shield", "sts"}
)


# Error codes that report an optional configuration or service that was
# never set up. Checks read them as a verdict, not as degraded evidence, so
# they are logged at DEBUG.
NOT_CONFIGURED_CODES = frozenset(
    {
        "NoSuchBucketPolicy",
        "NoSuchPublicAccessBlockConfiguration",
        "NoSuchTagSet",
        "ServerSideEncryptionConfigurationNotFoundError",
        # A service or setting that is simply not turned on: the checks turn
        # these into FAIL or NOT_APPLICABLE findings, not errors.
        "NoSuchEntity",
        "AWSOrganizationsNotInUseException",
        "InvalidAccessException",
    }
)


def route_s3control_to_ip_endpoint(client: Any) -> None:
    """Send an S3 Control client's requests for an IP-address endpoint to it.

    S3 Control puts the account id in front of the host name
    (``123456789012.s3-control.eu-west-2.amazonaws.com``). botocore 1.44 does
    the same to a custom endpoint, so a moto server on ``127.0.0.1`` would be
    called at ``123456789012.127.0.0.1``, a name that does not resolve.
    Requests to host names, AWS's included, are sent unchanged.
    """
    client.meta.events.register(
        "before-send.s3-control.*", _drop_account_prefix_from_ip_host
    )


def _drop_account_prefix_from_ip_host(request: Any, **_: Any) -> None:
    parts = urlsplit(request.url)
    prefix, _, host = (parts.hostname or "").partition(".")
    if not prefix.isdigit():
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    request.url = urlunsplit(parts._replace(netloc=netloc))


@functools.cache
def partition_of(region: str) -> str:
    """Return the ARN partition of a region, looked up once per region."""
    return boto3.Session().get_partition_for_region(region)


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class ApiCallCounter:
    """Count AWS API calls by ``service:Operation``, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        """Count every call the client makes from now on."""
        client.meta.events.register("before-call.*.*", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}:{model.name}"
        with self._lock:
            self.counts[name] += 1
        logger.debug("AWS call %s", name)

    @property
    def total(self) -> int:
        """Return the number of calls made so far."""
        return sum(self.counts.values())


@dataclass
class AccountSession:
    """Clients and cached responses for one AWS account.

    Every response is cached under its service, region, operation and
    parameters, so a listing call runs once per account and region however
    many checks read it. Failures are cached too, so every check that needs a
    denied call reports the same error code without calling again.
    """

    account_id: str
    session: boto3.Session
    home_region: str
    counter: ApiCallCounter
    botocore_config: Config
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _cache: dict[tuple, Any] = field(default_factory=dict)
    _locks: dict[tuple, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str, region: str) -> Any:
        """Return the boto3 client for a service and region, creating it once."""
        if service in GLOBAL_SERVICES or region == GLOBAL_REGION:
            region = self.home_region
        key = (service, region)

        # boto3 sessions are not thread-safe while creating clients, but the
        # clients they create are.
        with self._guard:
            if key not in self._clients:
                client = self.session.client(
                    service, region_name=region, config=self.botocore_config
                )
                self.counter.attach(client)
                if service == "s3control":
                    route_s3control_to_ip_endpoint(client)
                self._clients[key] = client
            return self._clients[key]

    def call(self, service: str, region: str, operation: str, **params: Any) -> Any:
        """Call a read-only operation once, following every page.

        Raises:
            AwsCallError: the call failed after botocore's retries.
        """
        if service in GLOBAL_SERVICES:
            region = GLOBAL_REGION
        key = (service, region, operation, _freeze(params))

        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                self._cache[key] = self._fetch(service, region, operation, params)
        result = self._cache[key]

        if isinstance(result, AwsCallError):
            raise result
        return result

    def _fetch(
        self, service: str, region: str, operation: str, params: dict[str, Any]
    ) -> Any:
        client = self.client(service, region)
        operation_name = client.meta.method_to_api_mapping.get(operation, operation)
        label = f"{service}:{operation_name}"

        try:
            if client.can_paginate(operation):
                paginator = client.get_paginator(operation)
                response = paginator.paginate(**params).build_full_result()
            else:
                response = getattr(client, operation)(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code") or "ClientError"
            logger.log(
                logging.DEBUG if code in NOT_CONFIGURED_CODES else logging.WARNING,
                "%s in account %s region %s failed: %s",
                label,
                self.account_id,
                region,
                code,
            )
            return AwsCallError(code, label, error.get("Message") or str(exc))
        except BotoCoreError as exc:
            code = type(exc).__name__
            logger.warning(
                "%s in account %s region %s failed: %s",
                label,
                self.account_id,
                region,
                code,
            )
            return AwsCallError(code, label, str(exc))

        response.pop("ResponseMetadata", None)
        return response


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass
class CheckContext:
    """One check's view: the account, the region and the settings.

    Attributes:
        check_id: the check being run.
        account: the account's session and cache.
        region: the region evaluated, or ``global`` for account-scope checks.
        settings: the collection settings (thresholds, approved regions).
        regions: every region collected in this run, for account-scope
            checks that look across regions.
    """

    check_id: str
    account: AccountSession
    region: str
    settings: Any
    regions: tuple[str, ...] = ()

    @property
    def account_id(self) -> str:
        """Return the 12-digit account id."""
        return self.account.account_id

    @property
    def api_region(self) -> str:
        """Return the region to send calls to: the home region for global scope."""
        if self.region == GLOBAL_REGION:
            return self.account.home_region
        return self.region

    @property
    def partition(self) -> str:
        """Return the ARN partition of the region, such as ``aws`` or ``aws-cn``."""
        return partition_of(self.api_region)

    def call(self, service: str, operation: str, **params: Any) -> Any:
        """Call a read-only operation in this context's region, cached per run."""
        return self.account.call(service, self.api_region, operation, **params)

    def call_in(self, region: str, service: str, operation: str, **params: Any) -> Any:
        """Call a read-only operation in another region, cached per run."""
        return self.account.call(service, region, operation, **params)

    def finding(
        self,
        resource_id: str,
        status: Status,
        message: str,
        evidence: dict[str, Any] | None = None,
        *,
        region: str | None = None,
    ) -> Finding:
        """Build a finding of this check in this account and region."""
        return Finding(
            check_id=self.check_id,
            account_id=self.account_id,
            region=region or self.region,
            resource_id=resource_id,
            status=status,
            message=message,
            evidence=evidence or {},
            observed_at=utc_now(),
        )

    @property
    def scope_id(self) -> str:
        """Return the id used for a finding about the whole scope."""
        if self.region == GLOBAL_REGION:
            return self.account_id
        return f"{self.account_id}/{self.region}"

    def error(
        self,
        exc: AwsCallError,
        resource_id: str | None = None,
        *,
        region: str | None = None,
    ) -> Finding:
        """Build the ERROR finding for a failed AWS call.

        ``region`` places the finding in the resource's region when it differs
        from the context's, as for an S3 bucket seen from the account scope.
        """
        target = resource_id or self.scope_id
        return self.finding(
            target,
            Status.ERROR,
            f"{exc.operation} failed with {exc.code}, so {target} was not evaluated.",
            {"error_code": exc.code, "operation": exc.operation, "detail": str(exc)},
            region=region,
        )
