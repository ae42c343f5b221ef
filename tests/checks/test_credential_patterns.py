"""Tests of the credential patterns shared by the Lambda and ECS secret checks.

Every token below is fake: it has the documented shape of its kind and no
meaning anywhere.
"""

from __future__ import annotations

import pytest

from auditbook.checks.credential_patterns import (
    CredentialMatch,
    find_credentials,
    find_credentials_in_pairs,
    split_name,
)

FAKE_ACCESS_KEY_ID = "AKIA" + "EXAMPLE0FAKE0KEY"
FAKE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
FAKE_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJwYXltZW50cy1hcGkifQ"
    ".c2lnbmF0dXJlLW5vdC1yZWFs"
)


def rule_of(name: str, value: str) -> str | None:
    matches = find_credentials({name: value})
    return matches[0].rule if matches else None


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("DB_PASSWORD", "hunter2-but-longer", "name:PASSWORD"),
        ("dbPassword", "hunter2", "name:PASSWORD"),
        ("REDIS_PASS", "correct-horse", "name:PASS"),
        ("MYSQL_PWD", "battery-staple", "name:PWD"),
        ("JWT_SECRET", "a-long-signing-secret", "name:SECRET"),
        ("CLIENT_SECRET", "abc123", "name:SECRET"),
        ("AUTH_TOKEN", "opaque-session-value", "name:TOKEN"),
        ("PARTNER_API_KEY", "k-123456", "name:API_KEY"),
        ("partnerApiKey", "k-123456", "name:API_KEY"),
        ("SENDGRID_APIKEY", "k-123456", "name:APIKEY"),
        ("SAML_PRIVATE_KEY", "base64data", "name:PRIVATE_KEY"),
        ("SERVICE_ACCESS_KEY", "x9y8z7", "name:ACCESS_KEY"),
        ("GCP_CREDENTIALS", "{}x", "name:CREDENTIALS"),
    ],
)
def test_credential_names_match(name, value, rule):
    assert rule_of(name, value) == rule


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (FAKE_ACCESS_KEY_ID, "value:aws-access-key-id"),
        ("ASIA" + "EXAMPLE0FAKE0KEY", "value:aws-access-key-id"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEfake\n-----END RSA PRIVATE KEY-----",
            "value:private-key",
        ),
        ("-----BEGIN PRIVATE KEY-----\nMIIEfake", "value:private-key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn", "value:private-key"),
        ("ghp_" + "a" * 36, "value:github-token"),
        ("github_pat_" + "A1b2C3d4" * 4, "value:github-token"),
        ("xoxb-" + "1234567890-abcdefghij", "value:slack-token"),
        (
            "https://hooks.slack.com/services/T000FAKE/B000FAKE/notarealwebhook",
            "value:slack-webhook-url",
        ),
        ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "value:stripe-key"),
        ("rk_test_" + "4eC39HqLyjWDarjtT1zdp7dc", "value:stripe-key"),
        ("whsec_" + "abcdefghijklmnopqrstuvwxyz", "value:stripe-webhook-secret"),
        ("AIza" + "SyFakeFakeFakeFakeFakeFakeFakeFake12", "value:google-api-key"),
        ("npm_" + "a1B2" * 9, "value:npm-token"),
        (FAKE_JWT, "value:jwt"),
        ("postgres://app:s3cret@db.internal:5432/payments", "value:url-with-password"),
        ("amqp://guest:guest@mq.internal/", "value:url-with-password"),
    ],
)
def test_credential_values_match_under_any_name(value, rule):
    assert rule_of("UPSTREAM_CONFIG", value) == rule


def test_value_rule_wins_over_name_rule():
    assert rule_of("GITHUB_TOKEN", "ghp_" + "b" * 36) == "value:github-token"


def test_secret_key_counts_beside_access_key_id():
    matches = find_credentials(
        {"KEY_ONE": FAKE_ACCESS_KEY_ID, "KEY_TWO": FAKE_SECRET_KEY}
    )

    assert matches == [
        CredentialMatch("KEY_ONE", "value:aws-access-key-id"),
        CredentialMatch("KEY_TWO", "value:aws-secret-access-key"),
    ]


def test_secret_key_alone_is_not_flagged():
    assert find_credentials({"BUILD_SIGNATURE": FAKE_SECRET_KEY}) == []


def test_commit_hash_beside_access_key_is_not_flagged():
    commit = "0123456789abcdef0123456789abcdef01234567"

    matches = find_credentials({"KEY_ONE": FAKE_ACCESS_KEY_ID, "GIT_SHA": commit})

    assert [m.variable for m in matches] == ["KEY_ONE"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (
            "SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-2:123456789012:secret:payments/db-AbCdEf",
        ),
        ("DB_PASSWORD", "arn:aws:ssm:eu-west-2:123456789012:parameter/payments/db"),
        ("PASSWORD_PARAM", "/payments/prod/db-password"),
        ("DB_PASSWORD", "/payments/prod/db-password"),
        ("DB_PASSWORD", "{{resolve:secretsmanager:payments/db:SecretString:password}}"),
        ("DB_PASSWORD", "${DB_PASSWORD}"),
        ("SECRET_NAME", "payments/db"),
        ("TOKEN_URL", "https://auth.example.com/oauth2/token"),
        ("PASSWORD_MIN_LENGTH", "14"),
        ("TOKEN_TTL", "3600"),
        ("SESSION_TOKEN", ""),
        ("USE_AUTH_TOKEN", "true"),
        ("PASSENGER_COUNT", "4"),
        ("BYPASS_CACHE", "yes-please"),
        ("TOKENIZER_MODEL", "bert-base"),
        ("AWS_ACCESS_KEY_ID", "not-a-key-id"),
        ("STRIPE_PUBLISHABLE_KEY", "pk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
        ("DATABASE_URL", "postgres://db.internal:5432/payments"),
        ("DATABASE_URL", "postgres://app:${DB_PASSWORD}@db.internal/payments"),
        ("LOG_LEVEL", "INFO"),
    ],
)
def test_non_secrets_are_not_flagged(name, value):
    assert find_credentials({name: value}) == []


def test_matches_never_carry_values():
    [match] = find_credentials({"DB_PASSWORD": "hunter2-but-longer"})

    assert match.to_evidence() == {"variable": "DB_PASSWORD", "rule": "name:PASSWORD"}
    assert "hunter2" not in repr(match)


def test_ecs_pairs_are_checked():
    pairs = [
        {"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "DB_HOST", "value": "db.internal"},
        {"name": "EMPTY"},
    ]

    matches = find_credentials_in_pairs(pairs)

    assert [m.variable for m in matches] == ["DB_PASSWORD"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("DB_PASSWORD", ["DB", "PASSWORD"]),
        ("dbPassword", ["DB", "PASSWORD"]),
        ("APIKey", ["API", "KEY"]),
        ("OAuthToken", ["O", "AUTH", "TOKEN"]),
        ("stripe-api.key", ["STRIPE", "API", "KEY"]),
    ],
)
def test_split_name(name, words):
    assert split_name(name) == words
