"""Operations the demo needs that moto does not implement, served beside moto.

moto 5 has no IAM Access Analyzer ``ListAnalyzers``, no Shield
``GetSubscriptionState`` and no Security Hub ``GetEnabledStandards``. The
demo server puts this small WSGI layer in front of moto: a request for one of
these operations is answered from state the demo seeds here, in the response
shape AWS documents, and every other request goes to moto unchanged. The
collector cannot tell the difference, because it talks HTTP to one endpoint
either way.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.iam.models import get_account_id_from

# Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261204/eu-west-2/shield/aws4_request
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")

StartResponse = Callable[..., Any]


@dataclass
class DemoState:
    """The simulated state of the operations moto lacks, per account and region."""

    analyzers: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    shield_subscriptions: dict[str, str] = field(default_factory=dict)
    standards: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_analyzer(self, account_id: str, region: str, name: str) -> None:
        """Record an active account analyzer, as CreateAnalyzer would."""
        arn = f"arn:aws:access-analyzer:{region}:{account_id}:analyzer/{name}"
        summary = {
            "arn": arn,
            "name": name,
            "type": "ACCOUNT",
            "createdAt": "2026-01-05T09:00:00Z",
            "status": "ACTIVE",
        }
        with self._lock:
            self.analyzers.setdefault((account_id, region), []).append(summary)

    def enable_standard(self, account_id: str, region: str, standard: str) -> None:
        """Record a READY Security Hub standard subscription."""
        subscription = {
            "StandardsSubscriptionArn": (
                f"arn:aws:securityhub:{region}:{account_id}:subscription/{standard}"
            ),
            "StandardsArn": f"arn:aws:securityhub:{region}::standards/{standard}",
            "StandardsInput": {},
            "StandardsStatus": "READY",
        }
        with self._lock:
            self.standards.setdefault((account_id, region), []).append(subscription)

    def subscribe_shield(self, account_id: str) -> None:
        """Record an active Shield Advanced subscription."""
        with self._lock:
            self.shield_subscriptions[account_id] = "ACTIVE"


class DemoExtensions:
    """A WSGI layer that serves the operations moto lacks and passes the rest on."""

    def __init__(self, app: Callable, state: DemoState) -> None:
        self.app = app
        self.state = state

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable:
        match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if match:
            access_key, region, service = match.groups()
            body = self._answer(environ, access_key, region, service)
            if body is not None:
                payload = json.dumps(body).encode()
                start_response(
                    "200 OK",
                    [
                        ("Content-Type", "application/json"),
                        ("Content-Length", str(len(payload))),
                    ],
                )
                return [payload]
        return self.app(environ, start_response)

    def _answer(
        self, environ: dict[str, Any], access_key: str, region: str, service: str
    ) -> dict[str, Any] | None:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")

        if service == "access-analyzer" and method == "GET" and path == "/analyzer":
            account_id = get_account_id_from(access_key)
            return {"analyzers": self.state.analyzers.get((account_id, region), [])}
        if service == "securityhub" and method == "POST" and path == "/standards/get":
            account_id = get_account_id_from(access_key)
            subscriptions = self.state.standards.get((account_id, region), [])
            return {"StandardsSubscriptions": subscriptions}
        if service == "shield" and target.endswith(".GetSubscriptionState"):
            account_id = get_account_id_from(access_key)
            state = self.state.shield_subscriptions.get(account_id, "INACTIVE")
            return {"SubscriptionState": state}
        return None
