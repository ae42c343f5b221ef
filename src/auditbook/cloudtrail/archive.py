"""Read CloudTrail log files from the trail's S3 archive, one record at a time.

CloudTrail delivers gzipped JSON files ``{"Records": [...]}`` under
``AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/``. Only the
days of the audit period are listed, and each file is decompressed and parsed
as a stream (ijson), so a day of any size never sits in memory at once. A
file that is not gzipped CloudTrail JSON is skipped, and its key is returned
to the caller, which marks the excerpt as incomplete.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import ijson
from botocore.exceptions import BotoCoreError, ClientError
from ijson.common import ObjectBuilder

from auditbook.errors import AwsCallError

logger = logging.getLogger(__name__)

# CloudTrail records nest a few levels deep, requestParameters most. A record
# nested deeper than this was not written by CloudTrail, and code that walks
# it recursively, str() included, could exhaust the stack.
MAX_RECORD_DEPTH = 64

_OPENING = ("start_map", "start_array")
_CLOSING = ("end_map", "end_array")


class UnreadableLogFile(ValueError):
    """A log file's JSON is not a list of CloudTrail records."""


def days_between(start: date, end: date) -> list[date]:
    """Return every day from start to end, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def account_prefixes(
    list_prefixes: Callable[[str], list[str]], prefix: str, account_id: str
) -> list[str]:
    """Return the key prefixes that hold the account's logs in the bucket.

    An organisation trail adds the organisation id after ``AWSLogs/``; the
    ids present are found by listing with a delimiter rather than guessed.

    Args:
        list_prefixes: returns the common prefixes one level under a prefix.
        prefix: the trail's key prefix, before ``AWSLogs/``.
        account_id: the account whose logs are wanted.

    Raises:
        AwsCallError: the bucket cannot be listed.
    """
    base = f"{prefix.strip('/')}/AWSLogs/" if prefix.strip("/") else "AWSLogs/"
    prefixes = []
    for common in list_prefixes(base):
        name = common[len(base) :].strip("/")
        if name == account_id:
            prefixes.append(f"{base}{account_id}/")
        elif name.startswith("o-"):
            prefixes.append(f"{base}{name}/{account_id}/")
    return prefixes


def iter_records(
    s3: Any,
    bucket: str,
    account_prefix: str,
    region: str,
    days: list[date],
    skipped: list[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield every CloudTrail record of one account and region for the given days.

    Args:
        skipped: receives the key of every file that could not be read
            whole; the records read from it before the fault are yielded.

    Raises:
        AwsCallError: a listing or a read failed.
    """
    for day in days:
        day_prefix = f"{account_prefix}CloudTrail/{region}/{day:%Y/%m/%d}/"
        for key in _keys(s3, bucket, day_prefix):
            yield from _read_file(s3, bucket, key, skipped)


def _keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                if item["Key"].endswith(".json.gz"):
                    yield item["Key"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise AwsCallError(code, "s3:ListObjectsV2", str(exc)) from exc
    except BotoCoreError as exc:
        raise AwsCallError(type(exc).__name__, "s3:ListObjectsV2", str(exc)) from exc


def _read_file(
    s3: Any, bucket: str, key: str, skipped: list[str] | None
) -> Iterator[dict[str, Any]]:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise AwsCallError(code, "s3:GetObject", str(exc)) from exc
    except BotoCoreError as exc:
        raise AwsCallError(type(exc).__name__, "s3:GetObject", str(exc)) from exc

    try:
        with gzip.GzipFile(fileobj=body) as stream:
            yield from records_from_stream(stream)
    except (OSError, EOFError, ijson.JSONError, UnreadableLogFile) as exc:
        # A corrupt file is skipped: its neighbours are still evidence.
        logger.warning(
            "skipping unreadable CloudTrail file s3://%s/%s: %s", bucket, key, exc
        )
        if skipped is not None:
            skipped.append(key)
    finally:
        body.close()


def records_from_stream(stream: Any) -> Iterator[dict[str, Any]]:
    """Yield the records of one CloudTrail JSON document read from a binary stream.

    The document is ``{"Records": [...]}``. Other top-level keys are ignored.

    Raises:
        ijson.JSONError: the stream is not JSON.
        UnreadableLogFile: an item of ``Records`` is not an object, or nests
            deeper than :data:`MAX_RECORD_DEPTH`.
    """
    # ijson.items would track the path of every value, which costs memory
    # quadratic in the nesting depth; the basic events carry no path.
    outer_depth = 0
    in_records = False
    key = None
    builder: ObjectBuilder | None = None
    depth = 0

    for event, value in ijson.basic_parse(stream, use_float=True):
        if builder is not None:
            builder.event(event, value)
            if event in _OPENING:
                depth += 1
                if depth > MAX_RECORD_DEPTH:
                    raise UnreadableLogFile(
                        f"a record nests deeper than {MAX_RECORD_DEPTH} levels"
                    )
            elif event in _CLOSING:
                depth -= 1
                if depth == 0:
                    yield builder.value
                    builder = None
            continue

        if in_records:
            if event == "end_array":
                in_records = False
                outer_depth -= 1
            elif event == "start_map":
                builder = ObjectBuilder()
                builder.event(event, value)
                depth = 1
            else:
                raise UnreadableLogFile(
                    f"an item of Records is a JSON {event.removeprefix('start_')}, "
                    "not an object"
                )
            continue

        if event in _OPENING:
            outer_depth += 1
            in_records = event == "start_array" and outer_depth == 2
            in_records = in_records and key == "Records"
        elif event in _CLOSING:
            outer_depth -= 1
        elif event == "map_key" and outer_depth == 1:
            key = value
