import re

import pytest

from auditbook.checks.metric_filters import (
    AllOf,
    AnyOf,
    Condition,
    FilterPatternError,
    conditions,
    coverage,
    parse_filter_pattern,
)
from auditbook.checks.monitored_events import (
    CONSOLE_LOGIN_FAILURES,
    IAM_POLICY_CHANGES,
    IAM_POLICY_EVENTS,
    ROOT_USAGE,
    SECURITY_GROUP_CHANGES,
)

# The CIS AWS Foundations Benchmark patterns, as AWS documents them.
CIS_ROOT = (
    '{ ($.userIdentity.type = "Root") && ($.userIdentity.invokedBy NOT EXISTS) '
    '&& ($.eventType != "AwsServiceEvent") }'
)
CIS_CONSOLE = (
    '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'
)
CIS_SECURITY_GROUPS = (
    "{ ($.eventName = AuthorizeSecurityGroupIngress) || "
    "($.eventName = AuthorizeSecurityGroupEgress) || "
    "($.eventName = RevokeSecurityGroupIngress) || "
    "($.eventName = RevokeSecurityGroupEgress) || "
    "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }"
)


def iam_pattern(names=IAM_POLICY_EVENTS, separator="||"):
    terms = [f"($.eventName={name})" for name in names]
    return "{" + separator.join(terms) + "}"


def test_parse_cis_root_pattern():
    expression = parse_filter_pattern(CIS_ROOT)

    assert expression == AllOf(
        (
            Condition("$.userIdentity.type", "=", "Root"),
            Condition("$.userIdentity.invokedBy", "NOT EXISTS"),
            Condition("$.eventType", "!=", "AwsServiceEvent"),
        )
    )


@pytest.mark.parametrize(
    "pattern",
    [
        CIS_ROOT,
        '{($.userIdentity.type="Root")&&($.userIdentity.invokedBy NOT EXISTS)'
        '&&($.eventType!="AwsServiceEvent")}',
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }',
        "{\n  $.userIdentity.type = Root\n  && $.userIdentity.invokedBy   NOT   EXISTS"
        "\n  && $.eventType != AwsServiceEvent\n}",
        '{ (($.userIdentity.type = "Root")) && (($.userIdentity.invokedBy NOT EXISTS)'
        ' && ($.eventType != "AwsServiceEvent")) }',
    ],
    ids=["cis", "no-spaces", "no-parentheses", "newlines-unquoted", "nested"],
)
def test_root_pattern_spacing_variants_cover(pattern):
    result = coverage(pattern, ROOT_USAGE)

    assert result.covered, result.reason
    assert result.missed == ()


def test_spacing_does_not_change_parse():
    compact = '{($.userIdentity.type="Root")&&($.eventType!="AwsServiceEvent")}'
    spaced = (
        '{ ( $.userIdentity.type  =  "Root" )  &&  '
        '( $.eventType != "AwsServiceEvent" ) }'
    )

    assert parse_filter_pattern(compact) == parse_filter_pattern(spaced)


def test_single_quotes_rejected():
    with pytest.raises(FilterPatternError, match="single quotes"):
        parse_filter_pattern("{ $.userIdentity.type = 'Root' }")


def test_single_quotes_do_not_cover():
    result = coverage("{ $.userIdentity.type = 'Root' }", ROOT_USAGE)

    assert not result.covered
    assert "use double quotes" in result.reason


def test_double_equals_rejected():
    # The CloudWatch Logs User Guide lists = and != as the equality operators.
    with pytest.raises(FilterPatternError, match="'==' is not"):
        parse_filter_pattern('{ $.userIdentity.type == "Root" }')


def test_double_equals_does_not_cover():
    result = coverage('{ $.userIdentity.type == "Root" }', ROOT_USAGE)

    assert not result.covered
    assert result.error is not None


def test_root_without_service_exclusion_covers():
    assert coverage('{ $.userIdentity.type = "Root" }', ROOT_USAGE).covered


def test_root_limited_to_api_calls_misses_sign_in():
    pattern = '{ $.userIdentity.type = "Root" && $.eventType = "AwsApiCall" }'

    result = coverage(pattern, ROOT_USAGE)

    assert not result.covered
    assert result.missed == ("a root console sign-in",)


def test_root_pattern_case_sensitive():
    result = coverage('{ $.userIdentity.type = "root" }', ROOT_USAGE)

    assert not result.covered


def test_console_failures_cis_covers():
    assert coverage(CIS_CONSOLE, CONSOLE_LOGIN_FAILURES).covered


def test_console_failures_by_response_covers():
    pattern = "{$.eventName=ConsoleLogin&&$.responseElements.ConsoleLogin=Failure}"

    assert coverage(pattern, CONSOLE_LOGIN_FAILURES).covered


def test_console_failures_iam_users_only_misses_root():
    pattern = CIS_CONSOLE[:-1] + " && ($.userIdentity.type = IAMUser) }"

    result = coverage(pattern, CONSOLE_LOGIN_FAILURES)

    assert result.missed == ("a failed root sign-in",)


def test_security_group_cis_covers():
    assert coverage(CIS_SECURITY_GROUPS, SECURITY_GROUP_CHANGES).covered


def test_security_group_wildcards_cover():
    pattern = (
        "{ $.eventName = *SecurityGroupIngress || $.eventName = *SecurityGroupEgress "
        "|| $.eventName = CreateSecurityGroup || $.eventName = DeleteSecurityGroup }"
    )

    assert coverage(pattern, SECURITY_GROUP_CHANGES).covered


def test_security_group_ingress_only_fails():
    pattern = "{ $.eventName = AuthorizeSecurityGroupIngress }"

    result = coverage(pattern, SECURITY_GROUP_CHANGES)

    assert not result.covered
    assert "RevokeSecurityGroupEgress" in result.missed
    assert len(result.missed) == 5


def test_iam_cis_covers():
    result = coverage(iam_pattern(), IAM_POLICY_CHANGES)

    assert result.covered, result.reason


def test_iam_with_event_source_covers():
    pattern = "{($.eventSource=iam.amazonaws.com) && (" + iam_pattern()[1:-1] + ")}"

    assert coverage(pattern, IAM_POLICY_CHANGES).covered


def test_iam_missing_one_event_fails():
    pattern = iam_pattern([n for n in IAM_POLICY_EVENTS if n != "DetachGroupPolicy"])

    result = coverage(pattern, IAM_POLICY_CHANGES)

    assert not result.covered
    assert result.missed == ("DetachGroupPolicy",)
    assert result.reason == "does not match DetachGroupPolicy"


def test_iam_pattern_with_and_fails():
    # && between event names can never match, because an event has one name.
    result = coverage(iam_pattern(separator="&&"), IAM_POLICY_CHANGES)

    assert len(result.missed) == len(IAM_POLICY_EVENTS)


def test_iam_limited_to_users_fails():
    # The sample changes alternate between an IAM user and an assumed role.
    grouped = "{(" + iam_pattern()[1:-1] + ")&&($.userIdentity.type=IAMUser)}"

    result = coverage(grouped, IAM_POLICY_CHANGES)

    assert result.missed == IAM_POLICY_EVENTS[1::2]


def test_iam_limit_without_parentheses_binds_last():
    # && binds tighter than ||, so the limit applies to the last name only.
    ungrouped = iam_pattern()[:-1] + "&&($.userIdentity.type=IAMUser)}"

    result = coverage(ungrouped, IAM_POLICY_CHANGES)

    assert result.missed == ("DetachGroupPolicy",)


def test_different_event_pattern_fails():
    result = coverage(CIS_SECURITY_GROUPS, IAM_POLICY_CHANGES)

    assert not result.covered
    assert len(result.missed) == len(IAM_POLICY_EVENTS)


def test_root_pattern_for_other_class_fails():
    result = coverage(CIS_ROOT, CONSOLE_LOGIN_FAILURES)

    assert result.missed == ("a failed IAM user sign-in",)


def test_catch_all_pattern_fails():
    result = coverage("{ $.eventName = * }", IAM_POLICY_CHANGES)

    assert not result.covered
    assert result.missed == ()
    assert result.matched_unrelated == ("ec2:DescribeInstances",)
    assert result.reason == (
        "also matches unrelated events such as ec2:DescribeInstances"
    )


def test_and_binds_tighter_than_or():
    expression = parse_filter_pattern("{ $.a = 1 || $.b = 2 && $.c = 3 }")

    assert expression == AnyOf(
        (
            Condition("$.a", "=", "1"),
            AllOf((Condition("$.b", "=", "2"), Condition("$.c", "=", "3"))),
        )
    )


def test_conditions_flattens_in_order():
    names = [c.selector for c in conditions(parse_filter_pattern(CIS_ROOT))]

    assert names == ["$.userIdentity.type", "$.userIdentity.invokedBy", "$.eventType"]


def test_escaped_quote_in_value():
    [condition] = conditions(parse_filter_pattern(r'{ $.message = "say \"hi\"" }'))

    assert condition.value == 'say "hi"'


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ("{ $.latency >= 500 }", {"latency": 500}, True),
        ("{ $.latency > 500 }", {"latency": 500}, False),
        ("{ $.latency < 1e3 }", {"latency": 999.5}, True),
        ("{ $.code = 400 }", {"code": 400.0}, True),
        ("{ $.code != 400 }", {"code": 500}, True),
        ("{ $.code != 400 }", {}, False),
        ("{ $.users = 1 }", {"users": [1, 2]}, False),
        ("{ $.users != 1 }", {"users": [1, 2]}, False),
        ("{ $.users[1] = 2 }", {"users": [1, 2]}, True),
        ("{ $.list[0].id = 7 }", {"list": [{"id": 7}]}, True),
        ("{ $.flag IS TRUE }", {"flag": True}, True),
        ("{ $.flag IS FALSE }", {"flag": True}, False),
        ("{ $.thing IS NULL }", {"thing": None}, True),
        ("{ $.thing IS NULL }", {}, False),
        ("{ $.thing NOT EXISTS }", {}, True),
        ("{ $.thing NOT EXISTS }", {"thing": None}, False),
        ("{ $.ip != 123.123.* }", {"ip": "10.0.0.1"}, True),
        ("{ $.ip = 123.123.* }", {"ip": "123.123.9.9"}, True),
        ('{ $.name = "*Policy" }', {"name": "PutUserPolicy"}, True),
        ('{ $.name = "*User*" }', {"name": "PutUserPolicy"}, True),
        ('{ $.name = "Put*Policy" }', {"name": "PutUserPolicy"}, False),
        ("{ $.account = 111122223333 }", {"account": "111122223333"}, True),
    ],
)
def test_condition_semantics(pattern, event, expected):
    assert parse_filter_pattern(pattern).matches(event) is expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "empty"),
        ("ConsoleLogin", "only JSON filter patterns"),
        ('{ $.eventName = "ConsoleLogin" ', "ends where '}'"),
        ("{ ($.a = 1 }", "expected ')'"),
        ("{ $.a = 1 } extra", "unexpected 'extra'"),
        ("{ eventName = x }", "expected a selector"),
        ("{ $.a > big }", "compares numbers"),
        ("{ $.a IS MAYBE }", "NOT EXISTS, IS NULL"),
        ("{ $.a = %^[a-z]+$% }", "regular-expression"),
        ("{ $.a = 1 & $.b = 2 }", "unexpected character '&'"),
    ],
)
def test_invalid_patterns_raise(pattern, message):
    with pytest.raises(FilterPatternError, match=re.escape(message)):
        parse_filter_pattern(pattern)


def test_error_reports_position():
    with pytest.raises(FilterPatternError) as raised:
        parse_filter_pattern("{ $.a == 1 }")

    assert raised.value.position == 6
    assert "at character 7" in str(raised.value)
