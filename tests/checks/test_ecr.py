from __future__ import annotations

import pytest

from auditbook.checks.ecr import wildcard_matches
from auditbook.models import Status
from tests.conftest import REGION, deny

CHECK = "aws.ecr.image_scanning"


def create_repository(aws, name: str, scan_on_push: bool) -> str:
    response = aws.client("ecr").create_repository(
        repositoryName=name,
        imageScanningConfiguration={"scanOnPush": scan_on_push},
    )
    return response["repository"]["repositoryArn"]


def put_registry_scanning(aws, scan_type: str, rules: list[dict]) -> None:
    aws.client("ecr").put_registry_scanning_configuration(
        scanType=scan_type, rules=rules
    )


def test_scan_on_push_passes(aws, run_checks):
    arn = create_repository(aws, "payments-api", scan_on_push=True)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    assert finding.evidence["scan_on_push"] is True
    assert finding.evidence["registry_scan_type"] == "BASIC"


def test_no_scan_on_push_fails(aws, run_checks):
    arn = create_repository(aws, "statement-renderer", scan_on_push=False)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.resource_id == arn
    assert "statement-renderer" in finding.message
    assert finding.evidence["scan_on_push"] is False


def test_enhanced_scanning_passes_every_repository(aws, run_checks):
    create_repository(aws, "payments-api", scan_on_push=False)
    create_repository(aws, "statement-renderer", scan_on_push=False)
    put_registry_scanning(
        aws,
        "ENHANCED",
        [
            {
                "scanFrequency": "CONTINUOUS_SCAN",
                "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}],
            }
        ],
    )

    findings = run_checks(CHECK)

    assert [f.status for f in findings] == [Status.PASS, Status.PASS]
    assert {f.evidence["registry_scan_type"] for f in findings} == {"ENHANCED"}


def test_basic_registry_rule_counts_as_scan_on_push(aws, run_checks):
    create_repository(aws, "payments-api", scan_on_push=False)
    create_repository(aws, "sandbox-tools", scan_on_push=False)
    put_registry_scanning(
        aws,
        "BASIC",
        [
            {
                "scanFrequency": "SCAN_ON_PUSH",
                "repositoryFilters": [
                    {"filter": "payments-*", "filterType": "WILDCARD"}
                ],
            }
        ],
    )

    findings = run_checks(CHECK)

    by_name = {f.evidence["repository"]: f for f in findings}
    assert by_name["payments-api"].status == Status.PASS
    assert by_name["payments-api"].evidence["registry_scan_on_push_filters"] == [
        "payments-*"
    ]
    assert by_name["sandbox-tools"].status == Status.FAIL


def test_no_repository_is_not_applicable(run_checks):
    [finding] = run_checks(CHECK)

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.region == REGION


def test_describe_denied_is_error(aws, run_checks):
    create_repository(aws, "payments-api", scan_on_push=True)
    deny(aws, "ecr", "DescribeRepositories")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["error_code"] == "AccessDenied"


def test_registry_configuration_denied_is_error(aws, run_checks):
    create_repository(aws, "payments-api", scan_on_push=True)
    deny(aws, "ecr", "GetRegistryScanningConfiguration")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["operation"] == "ecr:GetRegistryScanningConfiguration"


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("*", "payments-api", True),
        ("payments-*", "payments-api", True),
        ("payments-*", "statement-renderer", False),
        ("*-api", "payments-api", True),
        ("payments-api", "payments-api", True),
        ("payments.api", "payments-api", False),
        ("team/*", "team/payments", True),
    ],
)
def test_wildcard_filter(pattern, name, expected):
    assert wildcard_matches(pattern, name) is expected
