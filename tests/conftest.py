"""Shared fixtures: fake credentials, moto, and running checks through the collector."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from auditbook.checks.registry import load_checks
from auditbook.collect import Collector
from auditbook.config import Settings
from auditbook.models import Finding

REGION = "eu-west-2"


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every test at fake credentials, never at a real account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def aws() -> boto3.Session:
    """Return a boto3 session whose calls go to moto's in-process AWS."""
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Return default settings rooted in a temporary folder."""
    return Settings(
        root=tmp_path,
        controls_dir=tmp_path / "controls",
        evidence_dir=tmp_path / "evidence",
    )


Runner = Callable[..., list[Finding]]


class StubbedSession:
    """A boto3 session that returns given clients for some service and region.

    Tests pass it to ``run_checks(session=...)`` so that a botocore ``Stubber``
    returns the responses moto lacks, while every other client still reaches
    moto through the wrapped session.
    """

    def __init__(
        self, session: boto3.Session, clients: dict[tuple[str, str], Any]
    ) -> None:
        self.session = session
        self.clients = clients

    def client(self, service_name: str, region_name: str | None = None, **kwargs):
        """Return the stubbed client for the service and region, else a new one."""
        stubbed = self.clients.get((service_name, region_name))
        if stubbed is not None:
            return stubbed
        return self.session.client(service_name, region_name=region_name, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


@pytest.fixture
def run_checks(aws: boto3.Session, settings: Settings) -> Runner:
    """Return a function that collects the named checks and returns their findings."""
    registry = load_checks()

    def run(
        *check_ids: str,
        regions: tuple[str, ...] = (REGION,),
        settings: Settings = settings,
        session: boto3.Session | StubbedSession | None = None,
    ) -> list[Finding]:
        specs = [registry[check_id] for check_id in check_ids]
        collector = Collector(settings, specs, session=session or aws, regions=regions)
        return collector.run().findings

    return run


def deny(
    session: boto3.Session,
    service: str,
    operation: str,
    code: str = "AccessDenied",
    status: int = 403,
) -> None:
    """Make every client of the session fail an operation as AWS would.

    The botocore ``before-call`` event short-circuits the request with an
    error response shaped like AWS's own, so the client raises ClientError.
    """

    def respond(**_: object) -> tuple[AWSResponse, dict]:
        response = AWSResponse("https://127.0.0.1", status, {}, None)
        parsed = {
            "Error": {"Code": code, "Message": f"User is not authorized: {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return response, parsed

    session.events.register(f"before-call.{service}.{operation}", respond)
