"""AWS Lambda checks."""

from __future__ import annotations

from collections.abc import Iterator

from auditbook.checks.context import CheckContext
from auditbook.checks.credential_patterns import find_credentials
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status


@check(
    "aws.lambda.no_plaintext_secrets",
    title="Lambda functions keep secrets out of environment variables",
    service="lambda",
    scope=Scope.REGION,
    resource_type="function",
    severity=Severity.HIGH,
    proves=(
        "No environment variable of the function looks like a credential by "
        "name or value pattern."
    ),
    permissions=["lambda:ListFunctions"],
)
def no_plaintext_secrets(ctx: CheckContext) -> Iterator[Finding]:
    # ListFunctions returns each function's environment variables, so no
    # GetFunctionConfiguration call is needed.
    functions = ctx.call("lambda", "list_functions").get("Functions", [])

    for function in functions:
        name = function["FunctionName"]
        arn = function["FunctionArn"]
        environment = function.get("Environment") or {}

        # The Lambda API reference documents Environment.Error in place of
        # Environment.Variables when reading the variables fails, so the
        # function cannot be judged.
        error = environment.get("Error")
        if error:
            exc = AwsCallError(
                error.get("ErrorCode") or "EnvironmentError",
                "lambda:ListFunctions",
                error.get("Message") or "environment variables were not returned",
            )
            yield ctx.error(exc, resource_id=arn)
            continue

        variables = environment.get("Variables") or {}
        matches = find_credentials(variables)
        evidence = {
            "function": name,
            "variable_names": sorted(variables),
            "suspected_secrets": [match.to_evidence() for match in matches],
        }

        if matches:
            names = ", ".join(match.variable for match in matches)
            status = Status.FAIL
            message = (
                f"Function {name} has environment variables that look like "
                f"credentials: {names}."
            )
        elif variables:
            status = Status.PASS
            message = (
                f"No environment variable of function {name} looks like a credential."
            )
        else:
            status = Status.PASS
            message = f"Function {name} has no environment variables."

        yield ctx.finding(arn, status, message, evidence)
