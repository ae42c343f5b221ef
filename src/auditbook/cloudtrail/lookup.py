"""Read CloudTrail events through the LookupEvents API.

LookupEvents covers the last 90 days of management events in one region and
accepts about two requests per second per account and region. Requests are
spaced to stay under that rate; throttling that still happens is retried by
botocore's retry mode.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from auditbook.errors import AwsCallError

logger = logging.getLogger(__name__)

# LookupEvents' documented limit is 2 requests per second per account and region.
MIN_INTERVAL_SECONDS = 0.5
MAX_LOOKUP_DAYS = 90


class RateLimiter:
    """Space calls at least ``interval`` seconds apart."""

    def __init__(self, interval: float, clock=time.monotonic, sleep=time.sleep) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next call is allowed."""
        with self._lock:
            now = self._clock()
            if now < self._next:
                self._sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


def iter_events(
    client: Any,
    start: datetime,
    end: datetime,
    attribute: dict[str, str] | None,
    limiter: RateLimiter,
) -> Iterator[dict[str, Any]]:
    """Yield the CloudTrail records LookupEvents returns, newest first.

    Raises:
        AwsCallError: a request failed after retries.
    """
    params: dict[str, Any] = {"StartTime": start, "EndTime": end, "MaxResults": 50}
    if attribute:
        params["LookupAttributes"] = [attribute]

    while True:
        limiter.wait()
        try:
            response = client.lookup_events(**params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            raise AwsCallError(code, "cloudtrail:LookupEvents", str(exc)) from exc
        except BotoCoreError as exc:
            raise AwsCallError(
                type(exc).__name__, "cloudtrail:LookupEvents", str(exc)
            ) from exc

        for event in response.get("Events", []):
            record = _record(event)
            if record is not None:
                yield record

        token = response.get("NextToken")
        if not token:
            return
        params["NextToken"] = token


def _record(event: dict[str, Any]) -> dict[str, Any] | None:
    text = event.get("CloudTrailEvent")
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        logger.warning(
            "skipping event %s: CloudTrailEvent is not JSON", event.get("EventId")
        )
        return None
    return record if isinstance(record, dict) else None
