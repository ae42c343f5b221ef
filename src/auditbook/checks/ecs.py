"""Amazon ECS checks: the container definitions of active task definitions.

All four checks read the same ListTaskDefinitions response and the same
DescribeTaskDefinition response per revision, fetched once per account and
region. Every ACTIVE revision is judged, not only the newest of a family,
because any active revision can still be run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.credential_patterns import find_credentials_in_pairs
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

TASK_DEFINITION_PERMISSIONS = ["ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition"]

# Values of a container's ``user`` that run it as root: the user name or uid
# alone, or followed by ``:group``.
ROOT_USERS = ("root", "0")

TaskDefinition = dict[str, Any]
# A judgement of one task definition: status, message and evidence.
Verdict = tuple[Status, str, dict[str, Any]]


@check(
    "aws.ecs.non_root_user",
    title="ECS containers run as a non-root user",
    service="ecs",
    scope=Scope.REGION,
    resource_type="task definition",
    severity=Severity.HIGH,
    proves=(
        "Every container of the active task definition sets a user other than "
        "root or uid 0, and none is privileged."
    ),
    permissions=TASK_DEFINITION_PERMISSIONS,
)
def non_root_user(ctx: CheckContext) -> Iterator[Finding]:
    yield from _judge_task_definitions(ctx, _judge_user)


@check(
    "aws.ecs.readonly_root_filesystem",
    title="ECS containers have a read-only root file system",
    service="ecs",
    scope=Scope.REGION,
    resource_type="task definition",
    severity=Severity.MEDIUM,
    proves=(
        "Every container of the active task definition sets "
        "readonlyRootFilesystem to true."
    ),
    permissions=TASK_DEFINITION_PERMISSIONS,
)
def readonly_root_filesystem(ctx: CheckContext) -> Iterator[Finding]:
    yield from _judge_task_definitions(ctx, _judge_root_filesystem)


@check(
    "aws.ecs.resource_limits",
    title="ECS tasks have CPU and memory limits",
    service="ecs",
    scope=Scope.REGION,
    resource_type="task definition",
    severity=Severity.MEDIUM,
    proves=(
        "The active task definition sets a CPU limit for the task or for every "
        "container, and a memory limit for the task or for every container."
    ),
    permissions=TASK_DEFINITION_PERMISSIONS,
)
def resource_limits(ctx: CheckContext) -> Iterator[Finding]:
    yield from _judge_task_definitions(ctx, _judge_limits)


@check(
    "aws.ecs.no_plaintext_secrets",
    title="ECS task definitions keep secrets out of plain environment variables",
    service="ecs",
    scope=Scope.REGION,
    resource_type="task definition",
    severity=Severity.HIGH,
    proves=(
        "No variable in a container's plain environment of the active task "
        "definition looks like a credential by name or value; secrets injected "
        "from Secrets Manager or Parameter Store are not judged."
    ),
    permissions=TASK_DEFINITION_PERMISSIONS,
)
def no_plaintext_secrets(ctx: CheckContext) -> Iterator[Finding]:
    yield from _judge_task_definitions(ctx, _judge_environment)


def _judge_task_definitions(
    ctx: CheckContext, judge: Callable[[str, TaskDefinition], Verdict]
) -> Iterator[Finding]:
    listing = ctx.call("ecs", "list_task_definitions", status="ACTIVE")

    for arn in listing.get("taskDefinitionArns", []):
        try:
            response = ctx.call("ecs", "describe_task_definition", taskDefinition=arn)
        except AwsCallError as exc:
            yield ctx.error(exc, resource_id=arn)
            continue

        task_definition = response.get("taskDefinition", {})
        label = _label(task_definition, arn)
        status, message, evidence = judge(label, task_definition)
        yield ctx.finding(arn, status, message, {"task_definition": label, **evidence})


def _judge_user(label: str, task_definition: TaskDefinition) -> Verdict:
    containers = task_definition.get("containerDefinitions", [])
    root = [c["name"] for c in containers if is_root_user(c.get("user"))]
    privileged = [c["name"] for c in containers if c.get("privileged")]
    evidence = {
        "containers": [
            {
                "name": c["name"],
                "user": c.get("user"),
                "privileged": bool(c.get("privileged")),
            }
            for c in containers
        ],
        "root_containers": root,
        "privileged_containers": privileged,
    }

    problems = []
    if root:
        problems.append(f"runs {_join(root)} as root")
    if privileged:
        problems.append(f"runs {_join(privileged)} privileged")
    if problems:
        message = f"Task definition {label} {' and '.join(problems)}."
        return Status.FAIL, message, evidence
    return (
        Status.PASS,
        f"Every container of task definition {label} runs as a non-root user "
        "without privileged mode.",
        evidence,
    )


def is_root_user(user: str | None) -> bool:
    """Return whether a container ``user`` value runs the container as root.

    A missing user runs the container as the image's ``USER``, which is root
    unless the image sets another, so it counts as root.
    """
    if not user:
        return True
    name = user.split(":", 1)[0].strip()
    return name in ROOT_USERS


def _judge_root_filesystem(label: str, task_definition: TaskDefinition) -> Verdict:
    containers = task_definition.get("containerDefinitions", [])
    writable = [
        c["name"] for c in containers if c.get("readonlyRootFilesystem") is not True
    ]
    evidence = {
        "containers": [
            {
                "name": c["name"],
                "readonly_root_filesystem": bool(c.get("readonlyRootFilesystem")),
            }
            for c in containers
        ],
        "writable_containers": writable,
    }

    if writable:
        return (
            Status.FAIL,
            f"Task definition {label} gives {_join(writable)} a writable root "
            "file system.",
            evidence,
        )
    return (
        Status.PASS,
        f"Every container of task definition {label} has a read-only root file system.",
        evidence,
    )


def _judge_limits(label: str, task_definition: TaskDefinition) -> Verdict:
    containers = task_definition.get("containerDefinitions", [])
    task_cpu = task_definition.get("cpu")
    task_memory = task_definition.get("memory")

    # memoryReservation is a soft limit that a container may exceed, so only
    # ``memory`` counts. Container cpu 0 means no CPU units are reserved.
    no_cpu = [c["name"] for c in containers if not c.get("cpu")]
    no_memory = [c["name"] for c in containers if not c.get("memory")]
    cpu_limited = bool(task_cpu) or not no_cpu
    memory_limited = bool(task_memory) or not no_memory
    evidence = {
        "task_cpu": task_cpu,
        "task_memory": task_memory,
        "containers": [
            {
                "name": c["name"],
                "cpu": c.get("cpu"),
                "memory": c.get("memory"),
                "memory_reservation": c.get("memoryReservation"),
            }
            for c in containers
        ],
    }

    problems = []
    if not cpu_limited:
        problems.append(f"no CPU limit for the task or for {_join(no_cpu)}")
    if not memory_limited:
        problems.append(f"no memory limit for the task or for {_join(no_memory)}")
    if problems:
        message = f"Task definition {label} sets {' and '.join(problems)}."
        return Status.FAIL, message, evidence
    return (
        Status.PASS,
        f"Task definition {label} sets CPU and memory limits.",
        evidence,
    )


def _judge_environment(label: str, task_definition: TaskDefinition) -> Verdict:
    containers = task_definition.get("containerDefinitions", [])
    matches = []
    for container in containers:
        for match in find_credentials_in_pairs(container.get("environment", [])):
            matches.append({"container": container["name"], **match.to_evidence()})

    evidence = {
        "containers": [
            {
                "name": c["name"],
                "environment_names": [v.get("name") for v in c.get("environment", [])],
                "secret_names": [s.get("name") for s in c.get("secrets", [])],
            }
            for c in containers
        ],
        "suspected_secrets": matches,
    }

    if matches:
        names = _join(f"{m['container']}/{m['variable']}" for m in matches)
        return (
            Status.FAIL,
            f"Task definition {label} has plain environment variables that look "
            f"like credentials: {names}.",
            evidence,
        )
    return (
        Status.PASS,
        f"No plain environment variable of task definition {label} looks like a "
        "credential.",
        evidence,
    )


def _label(task_definition: TaskDefinition, arn: str) -> str:
    family = task_definition.get("family")
    revision = task_definition.get("revision")
    if family and revision is not None:
        return f"{family}:{revision}"
    return arn.rsplit("/", 1)[-1]


def _join(names: Any) -> str:
    return ", ".join(str(name) for name in names)
