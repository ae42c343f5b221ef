"""Tests of the demo data-layer seed: every data check finds both verdicts."""

from __future__ import annotations

from collections import defaultdict

import boto3
import pytest
from moto import mock_aws

from auditbook.checks.registry import load_checks
from auditbook.collect import Collector
from auditbook.config import Settings
from auditbook.demo import environment, seed_data, seed_network
from auditbook.models import Status

DATA_SERVICES = ("s3", "rds", "kms", "dynamodb", "elasticache", "secretsmanager")
FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": environment.DEMO_REGIONS[0],
    "AWS_RETRY_MODE": "standard",
    "AWS_MAX_ATTEMPTS": "2",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
}


@pytest.fixture(scope="module")
def demo_findings(tmp_path_factory):
    """Seed both demo accounts' networks and data stores in moto, then collect.

    Seeding and collecting take several seconds, so the module shares one run.
    The fixtures of ``tests/conftest.py`` are per test, so this one sets the
    same fake credentials itself.
    """
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        for name, value in FAKE_ENVIRONMENT.items():
            monkeypatch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
            monkeypatch.delenv(name, raising=False)

        production = boto3.Session(region_name=environment.DEMO_REGIONS[0])
        sandbox = environment._assume(
            production, environment.SANDBOX_ACCOUNT, environment.SANDBOX_ROLE
        )
        for session, account_id, variant in (
            (production, environment.PRODUCTION_ACCOUNT, "production"),
            (sandbox, environment.SANDBOX_ACCOUNT, "sandbox"),
        ):
            seed_network.seed(session, account_id, variant)
            seed_data.seed(session, account_id, variant)

        specs = [
            spec
            for check_id, spec in load_checks().items()
            if check_id.split(".")[1] in DATA_SERVICES
        ]
        root = tmp_path_factory.mktemp("demo")
        settings = Settings(
            root=root,
            accounts=environment.DEMO_ACCOUNTS,
            regions=environment.DEMO_REGIONS,
        )
        collector = Collector(
            settings, specs, session=production, regions=environment.DEMO_REGIONS
        )
        return collector.run().findings


def test_every_data_check_passes_and_fails(demo_findings):
    statuses = defaultdict(set)
    for finding in demo_findings:
        statuses[finding.check_id].add(finding.status)

    assert len(statuses) == 13
    for check_id, seen in statuses.items():
        assert Status.PASS in seen, check_id
        assert Status.FAIL in seen, check_id
        assert Status.ERROR not in seen, check_id


def test_account_block_by_variant(demo_findings):
    verdicts = {
        f.account_id: f.status
        for f in demo_findings
        if f.check_id == "aws.s3.account_public_access_block"
    }

    assert verdicts == {
        environment.PRODUCTION_ACCOUNT: Status.PASS,
        environment.SANDBOX_ACCOUNT: Status.FAIL,
    }


def test_public_web_assets_only_in_sandbox(demo_findings):
    web_assets = {
        f.account_id: f
        for f in demo_findings
        if f.check_id == "aws.s3.bucket_not_public" and "web-assets" in f.resource_id
    }

    production = web_assets[environment.PRODUCTION_ACCOUNT]
    assert production.status == Status.PASS
    assert production.evidence["policy_neutralised_by"]["level"] == "account"
    assert web_assets[environment.SANDBOX_ACCOUNT].status == Status.FAIL


def test_stores_outside_approved_regions(demo_findings):
    regions = {
        (f.check_id, f.region)
        for f in demo_findings
        if f.status != Status.NOT_APPLICABLE
    }

    assert ("aws.s3.default_encryption", "us-east-1") in regions
    assert ("aws.dynamodb.kms_encryption", "us-east-1") in regions


def test_unknown_variant_rejected(aws):
    with pytest.raises(ValueError, match="variant 'staging' is invalid"):
        seed_data.seed(aws, environment.PRODUCTION_ACCOUNT, "staging")


def test_missing_network_reported(aws):
    with pytest.raises(LookupError, match="run seed_network before seed_data"):
        seed_data.seed(aws, environment.PRODUCTION_ACCOUNT, "production")
