"""Read CloudTrail log files from the trail's S3 archive, one record at a time.

CloudTrail delivers gzipped JSON files ``{"Records": [...]}`` under
``AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/``. Only the
days of the audit period are listed, and each file is decompressed and parsed
as a stream (ijson), so a day of any size never sits in memory at once.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import ijson
from botocore.exceptions import BotoCoreError, ClientError

from auditbook.errors import AwsCallError

logger = logging.getLogger(__name__)


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
) -> Iterator[dict[str, Any]]:
    """Yield every CloudTrail record of one account and region for the given days.

    Raises:
        AwsCallError: a listing or a read failed.
    """
    for day in days:
        day_prefix = f"{account_prefix}CloudTrail/{region}/{day:%Y/%m/%d}/"
        for key in _keys(s3, bucket, day_prefix):
            yield from _read_file(s3, bucket, key)


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


def _read_file(s3: Any, bucket: str, key: str) -> Iterator[dict[str, Any]]:
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
    except (OSError, EOFError, ijson.JSONError) as exc:
        # A corrupt file is logged and skipped: its neighbours are still evidence.
        logger.warning(
            "skipping unreadable CloudTrail file s3://%s/%s: %s", bucket, key, exc
        )
    finally:
        body.close()


def records_from_stream(stream: Any) -> Iterator[dict[str, Any]]:
    """Yield the records of one CloudTrail JSON document read from a binary stream."""
    yield from ijson.items(stream, "Records.item", use_float=True)
