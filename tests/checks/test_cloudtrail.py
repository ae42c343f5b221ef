import pytest

from auditbook.checks.cloudtrail import recorded_management_events
from auditbook.demo import seed_monitoring
from auditbook.models import Status
from tests.conftest import REGION, deny

ACCOUNT = "123456789012"
CHECK = "aws.cloudtrail.multi_region_logging"
BUCKET = "audit-trail-logs-123456789012"


def make_trail(aws, name, *, multi_region=True, logging=True, region=REGION):
    s3 = aws.client("s3", region_name=region)
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": region}
        )
    cloudtrail = aws.client("cloudtrail", region_name=region)
    arn = cloudtrail.create_trail(
        Name=name, S3BucketName=BUCKET, IsMultiRegionTrail=multi_region
    )["TrailARN"]
    if logging:
        cloudtrail.start_logging(Name=name)
    return arn


def management(*read_only):
    fields = [{"Field": "eventCategory", "Equals": ["Management"]}]
    if read_only:
        fields.append({"Field": "readOnly", "Equals": list(read_only)})
    return {"Name": "management", "FieldSelectors": fields}


def test_no_trail_fails(run_checks):
    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.region == "global"
    assert finding.resource_id == ACCOUNT
    assert finding.message == f"Account {ACCOUNT} has no CloudTrail trail."


def test_single_region_trail_fails(aws, run_checks):
    make_trail(aws, "regional", multi_region=False)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.resource_id == ACCOUNT
    assert finding.message == (
        f"Account {ACCOUNT} has 1 trail, but none is multi-region."
    )
    assert finding.evidence["trail_count"] == 1
    assert finding.evidence["multi_region_trails"] == []


def test_multi_region_not_logging_fails(aws, run_checks):
    make_trail(aws, "org-trail", logging=False)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == "Multi-region trail org-trail is not logging."
    [report] = finding.evidence["multi_region_trails"]
    assert report["is_logging"] is False
    assert report["management_events"] == ["read", "write"]


def test_stopped_trail_fails(aws, run_checks):
    make_trail(aws, "org-trail")
    aws.client("cloudtrail").stop_logging(Name="org-trail")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert "is not logging" in finding.message


def test_write_only_selectors_fail(aws, run_checks):
    make_trail(aws, "org-trail")
    aws.client("cloudtrail").put_event_selectors(
        TrailName="org-trail",
        EventSelectors=[
            {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}
        ],
    )

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == (
        "Multi-region trail org-trail records only write management events."
    )
    [report] = finding.evidence["multi_region_trails"]
    assert report["selector_kind"] == "classic"
    assert report["management_events"] == ["write"]


def test_management_events_excluded_fails(aws, run_checks):
    make_trail(aws, "data-only")
    aws.client("cloudtrail").put_event_selectors(
        TrailName="data-only",
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False}],
    )

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert "records no management events" in finding.message


def test_not_logging_and_read_only_fails(aws, run_checks):
    make_trail(aws, "org-trail", logging=False)
    aws.client("cloudtrail").put_event_selectors(
        TrailName="org-trail", AdvancedEventSelectors=[management("true")]
    )

    [finding] = run_checks(CHECK)

    assert finding.message == (
        "Multi-region trail org-trail is not logging and records only read "
        "management events."
    )


def test_advanced_selectors_pass(aws, run_checks):
    arn = make_trail(aws, "org-trail")
    aws.client("cloudtrail").put_event_selectors(
        TrailName="org-trail", AdvancedEventSelectors=[management()]
    )

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    [report] = finding.evidence["multi_region_trails"]
    assert report["selector_kind"] == "advanced"


def test_advanced_read_and_write_selectors_pass(aws, run_checks):
    make_trail(aws, "org-trail")
    aws.client("cloudtrail").put_event_selectors(
        TrailName="org-trail",
        AdvancedEventSelectors=[management("true"), management("false")],
    )

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS


def test_advanced_write_only_fails(aws, run_checks):
    make_trail(aws, "org-trail")
    aws.client("cloudtrail").put_event_selectors(
        TrailName="org-trail", AdvancedEventSelectors=[management("false")]
    )

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert "only write" in finding.message


def test_logging_trail_passes(aws, run_checks):
    arn = make_trail(aws, "org-trail")
    aws.client("cloudtrail").put_event_selectors(
        TrailName="org-trail",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "ExcludeManagementEventSources": ["kms.amazonaws.com"],
            }
        ],
    )

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    assert finding.message == (
        "Multi-region trail org-trail is logging read and write management events."
    )
    [report] = finding.evidence["multi_region_trails"]
    assert report["excluded_event_sources"] == ["kms.amazonaws.com"]
    assert report["s3_bucket"] == BUCKET


def test_default_selectors_pass(aws, run_checks):
    make_trail(aws, "org-trail")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    [report] = finding.evidence["multi_region_trails"]
    assert report["selector_kind"] == "default"


def test_trail_from_other_region_passes(aws, run_checks):
    arn = make_trail(aws, "org-trail", region="eu-west-1")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    [report] = finding.evidence["multi_region_trails"]
    assert report["home_region"] == "eu-west-1"


def test_one_passing_trail_among_failing_passes(aws, run_checks):
    make_trail(aws, "stopped", logging=False)
    arn = make_trail(aws, "org-trail")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.resource_id == arn
    assert len(finding.evidence["multi_region_trails"]) == 2


def test_several_failing_trails_fail(aws, run_checks):
    make_trail(aws, "first", logging=False)
    make_trail(aws, "second", logging=False)

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == (
        f"None of the 2 multi-region trails in account {ACCOUNT} is logging read "
        "and write management events."
    )


def test_describe_denied_is_error(aws, run_checks):
    deny(aws, "cloudtrail", "DescribeTrails")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.resource_id == ACCOUNT
    assert finding.evidence["error_code"] == "AccessDenied"


def test_status_denied_is_error(aws, run_checks):
    make_trail(aws, "org-trail")
    deny(aws, "cloudtrail", "GetTrailStatus")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.resource_id == ACCOUNT
    assert finding.evidence["error_code"] == "AccessDenied"
    assert finding.evidence["operation"] == "cloudtrail:GetTrailStatus"
    [report] = finding.evidence["multi_region_trails"]
    assert report["error_code"] == "AccessDenied"


def test_selectors_denied_is_error(aws, run_checks):
    make_trail(aws, "org-trail")
    deny(aws, "cloudtrail", "GetEventSelectors")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.ERROR
    assert finding.evidence["operation"] == "cloudtrail:GetEventSelectors"


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        ({"EventSelectors": [{"ReadWriteType": "ReadOnly"}]}, {"read"}),
        (
            {
                "EventSelectors": [
                    {"ReadWriteType": "ReadOnly"},
                    {"ReadWriteType": "WriteOnly"},
                ]
            },
            {"read", "write"},
        ),
        ({"EventSelectors": [{"IncludeManagementEvents": True}]}, {"read", "write"}),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "readOnly", "NotEquals": ["true"]},
                        ]
                    }
                ]
            },
            {"write"},
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {
                                "Field": "eventSource",
                                "NotEquals": ["kms.amazonaws.com"],
                            },
                        ]
                    }
                ]
            },
            {"read", "write"},
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]},
                        ]
                    }
                ]
            },
            set(),
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Data"]},
                            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                        ]
                    }
                ]
            },
            set(),
        ),
    ],
)
def test_recorded_management_events(selectors, expected):
    assert recorded_management_events(selectors, has_custom_selectors=True) == expected


def test_empty_selectors_without_custom_flag_are_default():
    empty = {"EventSelectors": [], "AdvancedEventSelectors": []}

    assert recorded_management_events(empty, has_custom_selectors=False) == {
        "read",
        "write",
    }
    assert recorded_management_events(empty, has_custom_selectors=True) == set()


# The demo seed


def test_demo_production_trail_passes(aws, run_checks):
    seed_monitoring.seed(aws, ACCOUNT, "production")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.PASS
    assert finding.resource_id.endswith(":trail/organisation-audit")
    [report] = finding.evidence["multi_region_trails"]
    assert report["selector_kind"] == "classic"


def test_demo_sandbox_trail_fails(aws, run_checks):
    seed_monitoring.seed(aws, ACCOUNT, "sandbox")

    [finding] = run_checks(CHECK)

    assert finding.status == Status.FAIL
    assert finding.message == "Multi-region trail sandbox-all-regions is not logging."
    assert finding.evidence["trail_count"] == 2


def test_demo_guardduty_by_variant(aws, run_checks):
    seed_monitoring.seed(aws, ACCOUNT, "production")

    findings = run_checks("aws.guardduty.enabled", regions=(REGION, "eu-west-1"))

    by_region = {f.region: f.status for f in findings}
    assert by_region == {REGION: Status.PASS, "eu-west-1": Status.FAIL}
