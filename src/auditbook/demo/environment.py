"""Start, seed and stop the demo account's moto server."""

from __future__ import annotations

import importlib
import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import boto3

from auditbook.config import AccountTarget, Settings
from auditbook.demo.extensions import DemoState
from auditbook.demo.server import DemoServer

logger = logging.getLogger(__name__)

DEMO_DATA = Path(__file__).parent / "data"
DEMO_ORGANISATION = "Northwind Payments Ltd (simulated demo account)"
PRODUCTION_ACCOUNT = "123456789012"  # moto's default account
SANDBOX_ACCOUNT = "210987654321"
SANDBOX_ROLE = "AuditbookReadOnly"
# us-east-1 is collected but not approved, so the residency checks have
# something to find.
DEMO_REGIONS = ("eu-west-2", "eu-west-1", "us-east-1")
DEMO_ACCOUNTS = (
    AccountTarget(id=PRODUCTION_ACCOUNT, name="production"),
    AccountTarget(id=SANDBOX_ACCOUNT, name="sandbox", role_name=SANDBOX_ROLE),
)

# Seed modules, each with seed(session, account_id, variant).
SEED_MODULES = (
    "seed_identity",
    "seed_network",
    "seed_monitoring",
    "seed_data",
    "seed_application",
    "seed_observability",
    "seed_cloudtrail_logs",
)

# Fake credentials for the simulated account; they mean nothing outside it.
_DEMO_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "AKIADEMODEMODEMO0000",
    "AWS_SECRET_ACCESS_KEY": "demo-secret-not-a-credential",
    "AWS_DEFAULT_REGION": DEMO_REGIONS[0],
    "AWS_EC2_METADATA_DISABLED": "true",
}
_CLEARED = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


# Seed of moto's random generator for the demo's resource ids.
_ID_SEED = 20261204


def _seed_random_ids(endpoint: str) -> None:
    """Make moto generate the same resource ids in every demo build.

    moto draws ids such as ``sg-…`` from one random generator, which its
    ``/moto-api/seed`` endpoint seeds. With a fixed seed, two demo builds in a
    row hold the same resources, so the site's "Since last run" page compares
    them resource by resource.
    """
    request = urllib.request.Request(
        f"{endpoint}/moto-api/seed?a={_ID_SEED}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@contextmanager
def demo_environment(settings: Settings) -> Iterator[Settings]:
    """Run a seeded moto server on 127.0.0.1 and point boto3 at it.

    While the context is open, ``AWS_ENDPOINT_URL`` and fake credentials are
    set in this process, so the collector's default boto3 session reaches the
    server. The previous environment is restored on exit.

    Yields:
        The settings with the demo accounts and regions.
    """
    state = DemoState()
    server = DemoServer(state)
    endpoint = server.start()
    logger.info("demo moto server listening on %s", endpoint)
    _seed_random_ids(endpoint)

    saved = {name: os.environ.get(name) for name in (*_DEMO_ENVIRONMENT, *_CLEARED)}
    saved["AWS_ENDPOINT_URL"] = os.environ.get("AWS_ENDPOINT_URL")
    try:
        os.environ.update(_DEMO_ENVIRONMENT)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        for name in _CLEARED:
            os.environ.pop(name, None)

        seed_demo_accounts()
        seed_extension_state(state)
        yield demo_settings(settings)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()
        logger.info("demo moto server stopped")


def demo_settings(settings: Settings) -> Settings:
    """Return the settings of the demo: its accounts, regions and data files.

    The demo's attestations and exceptions ship with the package, so they
    never apply to a real account's evidence, and the organisation name says
    the account is simulated.
    """
    return replace(
        settings,
        organisation=DEMO_ORGANISATION,
        accounts=DEMO_ACCOUNTS,
        regions=DEMO_REGIONS,
        exceptions_file=DEMO_DATA / "exceptions.yml",
        attestations_override=DEMO_DATA / "manual",
        # The demo trail's bucket contains seeded log files, and moto has no
        # LookupEvents, so excerpts come from the S3 source.
        cloudtrail_source="s3",
        cloudtrail_bucket=None,
    )


def seed_demo_accounts() -> None:
    """Seed both demo accounts through the server's API."""
    production = boto3.Session(region_name=DEMO_REGIONS[0])
    sandbox = _assume(production, SANDBOX_ACCOUNT, SANDBOX_ROLE)

    for session, account_id, variant in (
        (production, PRODUCTION_ACCOUNT, "production"),
        (sandbox, SANDBOX_ACCOUNT, "sandbox"),
    ):
        for name in SEED_MODULES:
            module = importlib.import_module(f"auditbook.demo.{name}")
            logger.debug("seeding %s in %s account %s", name, variant, account_id)
            module.seed(session, account_id, variant)
        # moto creates a region's default VPC on first use. Creating them here
        # in a fixed order keeps their ids the same in every build, where the
        # concurrent collection would create them in any order.
        for region in DEMO_REGIONS:
            session.client("ec2", region_name=region).describe_vpcs()


def seed_extension_state(state: DemoState) -> None:
    """Seed the operations moto lacks: analyzers, standards and Shield.

    Production has analyzers in the two approved regions but not in
    us-east-1, the CIS standard where its Security Hub is enabled, and a
    Shield Advanced subscription; sandbox has none of them.
    """
    for region in DEMO_REGIONS[:2]:
        state.add_analyzer(PRODUCTION_ACCOUNT, region, f"account-analyzer-{region}")
    state.enable_standard(
        PRODUCTION_ACCOUNT, DEMO_REGIONS[0], "cis-aws-foundations-benchmark/v/3.0.0"
    )
    state.subscribe_shield(PRODUCTION_ACCOUNT)


def _assume(session: boto3.Session, account_id: str, role_name: str) -> boto3.Session:
    response = session.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role_name}",
        RoleSessionName="auditbook-demo-seed",
    )
    credentials = response["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=DEMO_REGIONS[0],
    )
