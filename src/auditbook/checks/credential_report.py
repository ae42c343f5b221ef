"""The IAM credential report: request it, wait for it, parse its CSV.

IAM builds the report asynchronously. ``GenerateCredentialReport`` returns
``STARTED`` or ``INPROGRESS`` until the report exists and ``COMPLETE`` after.
IAM builds a new report at most every four hours and serves the latest one in
between, so a report can be up to four hours old.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from auditbook.checks.context import CheckContext
from auditbook.errors import AwsCallError

logger = logging.getLogger(__name__)

ROOT_USER = "<root_account>"

# The IAM actions fetch_credential_report calls.
CREDENTIAL_REPORT_PERMISSIONS = [
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
]

# NOTE: the poll budget (about 12 seconds) is a guess. IAM documents no
# generation time, and a report for thousands of users can take longer.
POLL_ATTEMPTS = 5
POLL_INTERVAL_SECONDS = 3.0

# Values the report writes in place of a date: "N/A" (never used, or no such
# credential), "no_information" (IAM has no record of use) and "not_supported"
# (the column does not apply, as for the root user's password dates).
NOT_A_DATE = frozenset({"N/A", "no_information", "not_supported", ""})


@dataclass(frozen=True)
class CredentialReport:
    """A parsed credential report.

    Attributes:
        generated_time: when IAM built the report, ISO 8601.
        rows: one dict per line, keyed by the report's column names.
    """

    generated_time: str
    rows: tuple[dict[str, str], ...]

    def root(self) -> dict[str, str] | None:
        """Return the root user's row, or ``None`` when the report has none."""
        for row in self.rows:
            if row.get("user") == ROOT_USER:
                return row
        return None

    def users(self) -> list[dict[str, str]]:
        """Return the IAM users' rows, without the root user's."""
        return [row for row in self.rows if row.get("user") != ROOT_USER]


def fetch_credential_report(ctx: CheckContext) -> CredentialReport:
    """Request the credential report, wait until it is ready and parse it.

    Raises:
        AwsCallError: a call failed, or the report is still not ready after
            the poll budget (code ``ReportNotReady``).
    """
    state = ctx.call("iam", "generate_credential_report").get("State")
    polls = 0
    while state != "COMPLETE":
        if polls == POLL_ATTEMPTS:
            raise AwsCallError(
                "ReportNotReady",
                "iam:GenerateCredentialReport",
                f"the credential report was still {state} after {polls} polls "
                f"{POLL_INTERVAL_SECONDS:g} seconds apart; run the collection again",
            )
        if polls:
            time.sleep(POLL_INTERVAL_SECONDS)
        state = _poll_generation(ctx)
        polls += 1

    response = ctx.call("iam", "get_credential_report")
    generated = response.get("GeneratedTime")
    return CredentialReport(
        generated_time=generated.isoformat() if generated else "",
        rows=tuple(csv.DictReader(io.StringIO(_report_text(response["Content"])))),
    )


def _poll_generation(ctx: CheckContext) -> str | None:
    # The context caches every response, so it would return the first
    # STARTED state forever. Polling calls the client directly instead.
    client = ctx.account.client("iam", ctx.api_region)
    try:
        response = client.generate_credential_report()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code") or "ClientError"
        raise AwsCallError(
            code, "iam:GenerateCredentialReport", error.get("Message") or str(exc)
        ) from exc
    except BotoCoreError as exc:
        raise AwsCallError(
            type(exc).__name__, "iam:GenerateCredentialReport", str(exc)
        ) from exc

    state = response.get("State")
    logger.debug("credential report of account %s is %s", ctx.account_id, state)
    return state


def _report_text(content: Any) -> str:
    # botocore decodes the base64 blob into bytes. A client that bypasses
    # botocore's parser may hand over the base64 text, or the CSV itself.
    if isinstance(content, bytes | bytearray):
        return bytes(content).decode("utf-8")
    if content.startswith("user,"):
        return content
    try:
        return base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("the credential report is neither CSV nor base64") from exc


def parse_report_date(value: str | None) -> datetime | None:
    """Return a report date as a datetime, or ``None`` for N/A and similar."""
    if value is None or value in NOT_A_DATE:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        logger.warning("credential report date %r is not ISO 8601", value)
        return None


def elapsed_since(moment: datetime) -> timedelta:
    """Return the time from a moment until now, reading a naive moment as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return datetime.now(UTC) - moment
