from __future__ import annotations

import pytest

from auditbook.checks.ecs import is_root_user
from auditbook.checks.registry import load_checks
from auditbook.collect import Collector
from auditbook.models import Status
from tests.conftest import REGION, deny

NON_ROOT = "aws.ecs.non_root_user"
READONLY = "aws.ecs.readonly_root_filesystem"
LIMITS = "aws.ecs.resource_limits"
SECRETS = "aws.ecs.no_plaintext_secrets"
ECS_CHECKS = (NON_ROOT, READONLY, LIMITS, SECRETS)

SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:payments/db-AbCdEf"


def container(name: str = "app", **settings) -> dict:
    definition = {"name": name, "image": f"example.com/{name}:1.4.2", "memory": 512}
    definition.update(settings)
    return {key: value for key, value in definition.items() if value is not None}


def hardened(name: str = "app", **overrides) -> dict:
    settings = {
        "user": "1000:1000",
        "readonlyRootFilesystem": True,
        "privileged": False,
        "cpu": 256,
        "memory": 512,
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": SECRET_ARN}],
    }
    settings.update(overrides)
    return container(name, **settings)


def register(aws, family: str, *containers: dict, **task_settings) -> str:
    response = aws.client("ecs").register_task_definition(
        family=family, containerDefinitions=list(containers), **task_settings
    )
    return response["taskDefinition"]["taskDefinitionArn"]


def test_hardened_task_definition_passes_every_check(aws, run_checks):
    arn = register(aws, "payments-api", hardened())

    findings = run_checks(*ECS_CHECKS)

    assert {f.check_id: f.status for f in findings} == {
        check_id: Status.PASS for check_id in ECS_CHECKS
    }
    assert {f.resource_id for f in findings} == {arn}
    assert {f.evidence["task_definition"] for f in findings} == {"payments-api:1"}


def test_missing_user_fails(aws, run_checks):
    register(aws, "statement-renderer", hardened(user=None))

    [finding] = run_checks(NON_ROOT)

    assert finding.status == Status.FAIL
    assert finding.evidence["root_containers"] == ["app"]
    assert "runs app as root" in finding.message


def test_uid_zero_fails(aws, run_checks):
    register(aws, "statement-renderer", hardened(), hardened("sidecar", user="0:0"))

    [finding] = run_checks(NON_ROOT)

    assert finding.status == Status.FAIL
    assert finding.evidence["root_containers"] == ["sidecar"]


def test_privileged_container_fails(aws, run_checks):
    register(aws, "log-shipper", hardened(privileged=True))

    [finding] = run_checks(NON_ROOT)

    assert finding.status == Status.FAIL
    assert finding.evidence["privileged_containers"] == ["app"]
    assert "privileged" in finding.message


@pytest.mark.parametrize(
    ("user", "root"),
    [
        (None, True),
        ("", True),
        ("root", True),
        ("0", True),
        ("0:0", True),
        ("root:root", True),
        ("0:1000", True),
        ("1000", False),
        ("1000:0", False),
        ("app", False),
        ("nobody:nogroup", False),
        ("rootless", False),
    ],
)
def test_root_user_values(user, root):
    assert is_root_user(user) is root


def test_writable_root_filesystem_fails(aws, run_checks):
    register(
        aws,
        "payments-api",
        hardened(),
        hardened("sidecar", readonlyRootFilesystem=False),
        hardened("migrator", readonlyRootFilesystem=None),
    )

    [finding] = run_checks(READONLY)

    assert finding.status == Status.FAIL
    assert finding.evidence["writable_containers"] == ["sidecar", "migrator"]


def test_task_level_limits_pass(aws, run_checks):
    register(
        aws,
        "payments-api",
        container(memory=None, memoryReservation=256),
        cpu="512",
        memory="1024",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
    )

    [finding] = run_checks(LIMITS)

    assert finding.status == Status.PASS
    assert finding.evidence["task_cpu"] == "512"
    assert finding.evidence["task_memory"] == "1024"


def test_container_level_limits_pass(aws, run_checks):
    register(aws, "payments-api", container(cpu=256), container("sidecar", cpu=128))

    [finding] = run_checks(LIMITS)

    assert finding.status == Status.PASS


def test_soft_memory_limit_fails(aws, run_checks):
    register(
        aws,
        "batch-worker",
        container(cpu=256),
        container("sidecar", cpu=128, memory=None, memoryReservation=128),
    )

    [finding] = run_checks(LIMITS)

    assert finding.status == Status.FAIL
    assert "no memory limit for the task or for sidecar" in finding.message
    assert "CPU" not in finding.message


def test_missing_cpu_fails(aws, run_checks):
    register(aws, "batch-worker", container())

    [finding] = run_checks(LIMITS)

    assert finding.status == Status.FAIL
    assert "no CPU limit for the task or for app" in finding.message


def test_plaintext_password_fails(aws, run_checks):
    register(
        aws,
        "statement-renderer",
        container(
            environment=[
                {"name": "DB_PASSWORD", "value": "fake-plaintext-password"},
                {"name": "DB_HOST", "value": "db.internal"},
            ]
        ),
    )

    [finding] = run_checks(SECRETS)

    assert finding.status == Status.FAIL
    assert finding.evidence["suspected_secrets"] == [
        {"container": "app", "variable": "DB_PASSWORD", "rule": "name:PASSWORD"}
    ]
    assert "app/DB_PASSWORD" in finding.message
    assert "fake-plaintext-password" not in repr(finding.to_dict())


def test_injected_secrets_pass(aws, run_checks):
    register(
        aws,
        "payments-api",
        hardened(environment=[{"name": "SECRET_ARN", "value": SECRET_ARN}]),
    )

    [finding] = run_checks(SECRETS)

    assert finding.status == Status.PASS
    assert finding.evidence["containers"][0]["secret_names"] == ["DB_PASSWORD"]
    assert finding.evidence["containers"][0]["environment_names"] == ["SECRET_ARN"]


def test_inactive_revision_is_skipped(aws, run_checks):
    register(aws, "payments-api", container())
    newest = register(aws, "payments-api", hardened())
    aws.client("ecs").deregister_task_definition(taskDefinition="payments-api:1")

    [finding] = run_checks(NON_ROOT)

    assert finding.status == Status.PASS
    assert finding.resource_id == newest


@pytest.mark.parametrize("check_id", ECS_CHECKS)
def test_no_task_definition_is_not_applicable(run_checks, check_id):
    [finding] = run_checks(check_id)

    assert finding.status == Status.NOT_APPLICABLE
    assert finding.region == REGION


def test_listing_denied_is_error(aws, run_checks):
    register(aws, "payments-api", hardened())
    deny(aws, "ecs", "ListTaskDefinitions")

    findings = run_checks(*ECS_CHECKS)

    assert [f.status for f in findings] == [Status.ERROR] * 4
    assert {f.evidence["error_code"] for f in findings} == {"AccessDenied"}


def test_describe_denied_is_error_per_task_definition(aws, run_checks):
    arn = register(aws, "payments-api", hardened())
    deny(aws, "ecs", "DescribeTaskDefinition")

    [finding] = run_checks(NON_ROOT)

    assert finding.status == Status.ERROR
    assert finding.resource_id == arn
    assert finding.evidence["operation"] == "ecs:DescribeTaskDefinition"


def test_checks_share_one_describe_per_task_definition(aws, settings):
    register(aws, "payments-api", hardened())
    register(aws, "statement-renderer", container())
    registry = load_checks()
    specs = [registry[check_id] for check_id in ECS_CHECKS]

    result = Collector(settings, specs, session=aws, regions=(REGION,)).run()

    assert len(result.findings) == 8
    assert result.api_calls["ecs:ListTaskDefinitions"] == 1
    assert result.api_calls["ecs:DescribeTaskDefinition"] == 2
