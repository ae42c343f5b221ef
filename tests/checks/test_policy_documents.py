"""Tests of policy document parsing in the shapes AWS APIs return."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from auditbook.checks.policy_documents import (
    admin_statements,
    condition_values,
    load_policy_document,
    service_principals,
)

ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def test_dict_document_returned_as_is():
    document = {"Statement": [ADMIN]}

    assert load_policy_document(document) is document


def test_json_string_document_loaded():
    assert load_policy_document(json.dumps({"Statement": [ADMIN]})) == {
        "Statement": [ADMIN]
    }


def test_url_encoded_document_loaded():
    encoded = quote(json.dumps({"Statement": ADMIN}))

    assert load_policy_document(encoded) == {"Statement": ADMIN}


def test_non_object_document_rejected():
    with pytest.raises(ValueError, match="JSON object"):
        load_policy_document("[]")


def test_single_statement_object_is_admin():
    assert admin_statements({"Statement": ADMIN}) == [ADMIN]


def test_action_list_with_wildcard_is_admin():
    statement = {"Effect": "Allow", "Action": ["s3:*", "*"], "Resource": ["*"]}

    assert admin_statements({"Statement": [statement]}) == [statement]


def test_wildcard_on_one_resource_is_not_admin():
    statement = {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::reports"}

    assert admin_statements({"Statement": [statement]}) == []


def test_service_principals_collected():
    document = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}},
            {
                "Effect": "Allow",
                "Principal": {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]},
            },
            {"Effect": "Deny", "Principal": {"Service": "ecs-tasks.amazonaws.com"}},
            {"Effect": "Allow", "Principal": "*"},
        ]
    }

    assert service_principals(document) == ["ec2.amazonaws.com", "lambda.amazonaws.com"]


def test_condition_key_matched_ignoring_case():
    statement = {"Condition": {"Bool": {"AWS:MultiFactorAuthPresent": False}}}

    values = condition_values(statement, ("Bool",), "aws:MultiFactorAuthPresent")

    assert values == ["false"]


def test_condition_absent_returns_none():
    statement = {"Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-2"}}}

    assert (
        condition_values(statement, ("StringNotEquals",), "aws:RequestedRegion") is None
    )
