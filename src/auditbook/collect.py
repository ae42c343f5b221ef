"""Collection: run the referenced checks in every account and region.

Regions run concurrently. Each account has one :class:`AccountSession` whose
cache makes every listing call once per account and region, whichever checks
need it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from auditbook.checks.context import (
    GLOBAL_REGION,
    AccountSession,
    ApiCallCounter,
    CheckContext,
    utc_now,
)
from auditbook.checks.registry import CheckSpec, Scope
from auditbook.config import Settings
from auditbook.errors import AwsCallError, CollectionError, ConfigError
from auditbook.models import Finding, Status

logger = logging.getLogger(__name__)

# The retry modes botocore accepts.
RETRY_MODES = ("legacy", "standard", "adaptive")

# Opt-in status values that mean a region can be called.
ENABLED_OPT_IN_STATUSES = ("opt-in-not-required", "opted-in")


@dataclass
class CollectionResult:
    """Everything one collection produced, ready for the evidence store."""

    findings: list[Finding]
    started_at: str
    finished_at: str
    caller: dict[str, str]
    accounts: list[str]
    regions: list[str]
    check_ids: list[str]
    api_calls: dict[str, int]
    account_errors: list[dict[str, str]] = field(default_factory=list)


def botocore_config() -> Config:
    """Return the client configuration: retries and timeouts.

    The retry mode follows ``AWS_RETRY_MODE`` when set and is otherwise
    ``adaptive``, which also slows the client down when AWS throttles.
    ``AWS_MAX_ATTEMPTS`` counts the first attempt and defaults to 8.

    Raises:
        ConfigError: either variable has a value botocore rejects.
    """
    mode = os.environ.get("AWS_RETRY_MODE", "adaptive")
    if mode not in RETRY_MODES:
        raise ConfigError(
            f"AWS_RETRY_MODE is {mode!r}; set it to one of {', '.join(RETRY_MODES)} "
            "or unset it"
        )
    text = os.environ.get("AWS_MAX_ATTEMPTS", "8")
    try:
        attempts = int(text)
    except ValueError:
        attempts = 0
    if attempts < 1:
        raise ConfigError(
            f"AWS_MAX_ATTEMPTS is {text!r}; set it to a whole number of at least 1, "
            "such as 8, or unset it"
        )
    return Config(
        retries={"mode": mode, "total_max_attempts": attempts},
        connect_timeout=10,
        read_timeout=30,
        max_pool_connections=20,
        user_agent_extra="auditbook",
    )


def run_check(spec: CheckSpec, context: CheckContext) -> list[Finding]:
    """Run one check in one scope and return its findings.

    A failed AWS call becomes an ERROR finding with the AWS error code, after
    whatever findings the check had already produced. A check that finds no
    resource records one NOT_APPLICABLE finding for its scope.
    """
    findings: list[Finding] = []
    try:
        for finding in spec.function(context):
            findings.append(finding)
    except AwsCallError as exc:
        findings.append(context.error(exc))
    except Exception as exc:  # noqa: BLE001 - a bug in one check must not stop the run
        logger.exception(
            "check %s failed in account %s region %s",
            spec.check_id,
            context.account_id,
            context.region,
        )
        findings.append(
            context.finding(
                context.scope_id,
                Status.ERROR,
                f"{spec.check_id} raised {type(exc).__name__}, so "
                f"{context.scope_id} was not evaluated.",
                {"error_code": f"InternalError:{type(exc).__name__}"},
            )
        )

    if not findings:
        what = spec.resource_type or "resource"
        where = "the account" if context.region == GLOBAL_REGION else context.region
        findings.append(
            context.finding(
                context.scope_id,
                Status.NOT_APPLICABLE,
                f"No {what} exists in {where}, so there is nothing to evaluate.",
            )
        )
    return findings


class Collector:
    """Collect findings for a set of checks across accounts and regions."""

    def __init__(
        self,
        settings: Settings,
        checks: Iterable[CheckSpec],
        session: boto3.Session | None = None,
        regions: Iterable[str] | None = None,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.progress = progress
        self.checks = sorted(checks, key=lambda spec: spec.check_id)
        self.session = session or boto3.Session()
        self.requested_regions = tuple(regions or settings.regions)
        self.counter = ApiCallCounter()
        self.config = botocore_config()
        self.account_sessions: list[AccountSession] = []
        self.home_region: str | None = None

    def run(self) -> CollectionResult:
        """Collect every check in every account and region.

        Raises:
            CollectionError: the caller's identity cannot be read, so no
                account can be collected.
        """
        started_at = utc_now()
        caller = self._caller_identity()
        home = self._home_region()
        self.home_region = home
        regions = self._regions(home)
        accounts, account_errors = self._account_sessions(caller, home)
        self.account_sessions = accounts
        logger.info(
            "collecting %d checks in %d accounts and %d regions",
            len(self.checks),
            len(accounts),
            len(regions),
        )

        units = [(account, GLOBAL_REGION) for account in accounts]
        units += [(account, region) for account in accounts for region in regions]
        findings: list[Finding] = []
        workers = max(1, min(self.settings.max_workers, len(units)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(self._run_unit, account, region, regions): (account, region)
                for account, region in units
            }
            for done, future in enumerate(as_completed(futures), start=1):
                account, region = futures[future]
                findings.extend(future.result())
                # On a terminal the progress line replaces these messages.
                logger.log(
                    logging.DEBUG if self.progress else logging.INFO,
                    "finished account %s region %s (%d of %d)",
                    account.account_id,
                    region,
                    done,
                    len(units),
                )
                if self.progress is not None:
                    self.progress(done, len(units), f"{account.account_id} {region}")

        for error in account_errors:
            findings.extend(self._account_error_findings(error))

        findings.sort(key=Finding.sort_key)
        logger.info(
            "collected %d findings with %d AWS API calls",
            len(findings),
            self.counter.total,
        )
        return CollectionResult(
            findings=findings,
            started_at=started_at,
            finished_at=utc_now(),
            caller=caller,
            accounts=[a.account_id for a in accounts]
            + [e["account_id"] for e in account_errors],
            regions=list(regions),
            check_ids=[spec.check_id for spec in self.checks],
            api_calls=dict(sorted(self.counter.counts.items())),
            account_errors=account_errors,
        )

    def _run_unit(
        self, account: AccountSession, region: str, regions: tuple[str, ...]
    ) -> list[Finding]:
        scope = Scope.ACCOUNT if region == GLOBAL_REGION else Scope.REGION
        findings: list[Finding] = []
        for spec in self.checks:
            if spec.scope != scope:
                continue
            context = CheckContext(
                check_id=spec.check_id,
                account=account,
                region=region,
                settings=self.settings,
                regions=regions,
            )
            logger.debug(
                "running %s in account %s region %s",
                spec.check_id,
                account.account_id,
                region,
            )
            findings.extend(run_check(spec, context))
        return findings

    def _caller_identity(self) -> dict[str, str]:
        client = self.session.client(
            "sts", region_name=self._home_region(), config=self.config
        )
        self.counter.attach(client)
        try:
            identity = client.get_caller_identity()
        except (ClientError, BotoCoreError) as exc:
            raise CollectionError(
                f"cannot read the caller identity ({exc}); check the AWS "
                "credentials and AWS_ENDPOINT_URL"
            ) from exc
        return {"account_id": identity["Account"], "arn": identity["Arn"]}

    def _home_region(self) -> str:
        return (
            self.settings.home_region
            or (self.requested_regions[0] if self.requested_regions else None)
            or self.session.region_name
            or "us-east-1"
        )

    def _regions(self, home: str) -> tuple[str, ...]:
        if self.requested_regions:
            return self.requested_regions

        client = self.session.client("ec2", region_name=home, config=self.config)
        self.counter.attach(client)
        try:
            response = client.describe_regions(AllRegions=True)
        except (ClientError, BotoCoreError) as exc:
            raise CollectionError(
                f"cannot list the enabled regions ({exc}); set 'regions' in "
                "mkdocs.yml or pass --regions"
            ) from exc
        enabled = [
            region["RegionName"]
            for region in response["Regions"]
            if region.get("OptInStatus", "opt-in-not-required")
            in ENABLED_OPT_IN_STATUSES
        ]
        return tuple(sorted(enabled))

    def _account_sessions(
        self, caller: dict[str, str], home: str
    ) -> tuple[list[AccountSession], list[dict[str, str]]]:
        targets = self.settings.accounts
        if not targets:
            return [self._account(caller["account_id"], self.session, home)], []

        sessions: list[AccountSession] = []
        errors: list[dict[str, str]] = []
        for target in targets:
            if target.role_name is None:
                if target.id != caller["account_id"]:
                    raise CollectionError(
                        f"account {target.id} has no role_name and is not the "
                        f"caller's account {caller['account_id']}; add role_name"
                    )
                sessions.append(self._account(target.id, self.session, home))
                continue
            try:
                session = self._assume_role(target.id, target.role_name, home)
            except AwsCallError as exc:
                logger.warning(
                    "cannot assume %s in account %s: %s",
                    target.role_name,
                    target.id,
                    exc.code,
                )
                errors.append(
                    {"account_id": target.id, "code": exc.code, "detail": str(exc)}
                )
                continue
            sessions.append(self._account(target.id, session, home))
        return sessions, errors

    def _assume_role(self, account_id: str, role_name: str, home: str) -> Any:
        partition = self.session.get_partition_for_region(home)
        role_arn = f"arn:{partition}:iam::{account_id}:role/{role_name}"
        client = self.session.client("sts", region_name=home, config=self.config)
        self.counter.attach(client)
        try:
            response = client.assume_role(
                RoleArn=role_arn, RoleSessionName="auditbook-collect"
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            raise AwsCallError(code, "sts:AssumeRole", str(exc)) from exc
        credentials = response["Credentials"]
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=home,
        )

    def _account(
        self, account_id: str, session: boto3.Session, home: str
    ) -> AccountSession:
        return AccountSession(
            account_id=account_id,
            session=session,
            home_region=home,
            counter=self.counter,
            botocore_config=self.config,
        )

    def _account_error_findings(self, error: dict[str, str]) -> list[Finding]:
        observed_at = utc_now()
        return [
            Finding(
                check_id=spec.check_id,
                account_id=error["account_id"],
                region=GLOBAL_REGION,
                resource_id=error["account_id"],
                status=Status.ERROR,
                message=(
                    f"sts:AssumeRole into account {error['account_id']} failed "
                    f"with {error['code']}, so it was not evaluated."
                ),
                evidence={"error_code": error["code"], "operation": "sts:AssumeRole"},
                observed_at=observed_at,
            )
            for spec in self.checks
        ]
