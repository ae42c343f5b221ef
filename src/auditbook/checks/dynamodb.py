"""Amazon DynamoDB checks: encryption with a KMS key.

Every DynamoDB table is encrypted at rest. By default the key is an AWS-owned
key, which the account can neither see nor control, and DescribeTable then
returns no ``SSEDescription``. A table encrypted with the AWS-managed key
(aws/dynamodb) or a customer-managed key reports SSEType KMS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditbook.checks.context import CheckContext
from auditbook.checks.registry import Scope, check
from auditbook.errors import AwsCallError
from auditbook.models import Finding, Severity, Status

KMS = "KMS"
# SSE statuses in which a table is going back to the AWS-owned key.
KMS_LEAVING = frozenset({"DISABLING", "DISABLED"})


@check(
    "aws.dynamodb.kms_encryption",
    title="DynamoDB tables encrypt with a KMS key",
    service="dynamodb",
    scope=Scope.REGION,
    resource_type="table",
    severity=Severity.MEDIUM,
    proves=(
        "DescribeTable reports SSEType KMS for the table (the AWS-managed or a "
        "customer-managed key), not the AWS-owned default key."
    ),
    permissions=["dynamodb:ListTables", "dynamodb:DescribeTable"],
)
def kms_encryption(ctx: CheckContext) -> Iterator[Finding]:
    for name in ctx.call("dynamodb", "list_tables").get("TableNames", []):
        arn = _table_arn(ctx, name)
        try:
            table = ctx.call("dynamodb", "describe_table", TableName=name)["Table"]
        except AwsCallError as exc:
            yield ctx.error(exc, resource_id=arn)
            continue
        yield _encryption_finding(ctx, table)


def _encryption_finding(ctx: CheckContext, table: dict[str, Any]) -> Finding:
    name = table["TableName"]
    sse = table.get("SSEDescription") or {}
    sse_type = sse.get("SSEType")
    sse_status = sse.get("Status")
    evidence = {
        "table_name": name,
        "sse_type": sse_type,
        "sse_status": sse_status,
        "kms_master_key_arn": sse.get("KMSMasterKeyArn"),
    }

    if sse_type == KMS and sse_status not in KMS_LEAVING:
        status = Status.PASS
        key_arn = sse.get("KMSMasterKeyArn")
        key = f"KMS key {key_arn}" if key_arn else "a KMS key"
        message = f"Table {name} is encrypted with {key}."
    elif sse_type == KMS:
        status = Status.FAIL
        message = (
            f"Table {name} has KMS encryption in state {sse_status}, so it is "
            "returning to the AWS-owned key."
        )
    else:
        status = Status.FAIL
        message = f"Table {name} is encrypted with the default AWS-owned key."
    return ctx.finding(
        table.get("TableArn") or _table_arn(ctx, name), status, message, evidence
    )


def _table_arn(ctx: CheckContext, name: str) -> str:
    return f"arn:{ctx.partition}:dynamodb:{ctx.region}:{ctx.account_id}:table/{name}"
