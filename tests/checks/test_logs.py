from dataclasses import replace

from auditbook.config import Thresholds
from auditbook.models import Status
from tests.conftest import REGION, deny

ACCOUNT = "123456789012"
CHECK = "aws.logs.retention_set"


def make_log_group(aws, name, retention=None, region=REGION):
    logs = aws.client("logs", region_name=region)
    logs.create_log_group(logGroupName=name)
    if retention is not None:
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention)


def test_no_log_group_not_applicable(run_checks):
    [finding] = run_checks(CHECK)

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.message == (
        f"No log group exists in {REGION}, so there is nothing to evaluate."
    )


def test_long_retention_passes(aws, run_checks):
    make_log_group(aws, "CloudTrail/audit", retention=400)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.resource_id == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:CloudTrail/audit"
    )
    assert finding.message == (
        "Log group CloudTrail/audit keeps its events for 400 days, at least the "
        "required 365."
    )
    assert finding.evidence == {
        "log_group": "CloudTrail/audit",
        "retention_in_days": 400,
        "minimum_days": 365,
    }


def test_exact_minimum_passes(aws, run_checks):
    make_log_group(aws, "exactly-a-year", retention=365)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS


def test_short_retention_fails(aws, run_checks):
    make_log_group(aws, "/app/access", retention=14)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == (
        "Log group /app/access keeps its events for 14 days, fewer than the "
        "required 365."
    )


def test_no_retention_passes(aws, run_checks):
    make_log_group(aws, "/app/audit")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.evidence["retention_in_days"] is None
    assert "never expire" in finding.message


def test_threshold_option_applies(aws, run_checks, settings):
    make_log_group(aws, "/app/access", retention=30)
    lenient = replace(settings, thresholds=Thresholds(log_retention_days=30))

    [finding] = run_checks(CHECK, settings=lenient)

    assert finding.status == Status.PASS
    assert finding.evidence["minimum_days"] == 30


def test_one_finding_per_log_group(aws, run_checks):
    make_log_group(aws, "a", retention=400)
    make_log_group(aws, "b", retention=7)
    make_log_group(aws, "c", region="eu-west-1")

    findings = run_checks(CHECK, regions=("eu-west-1", REGION))

    by_name = {f.evidence["log_group"]: (f.region, f.status) for f in findings}
    assert by_name == {
        "a": (REGION, Status.PASS),
        "b": (REGION, Status.FAIL),
        "c": ("eu-west-1", Status.PASS),
    }


def test_access_denied_is_error(aws, run_checks):
    deny(aws, "logs", "DescribeLogGroups")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"
