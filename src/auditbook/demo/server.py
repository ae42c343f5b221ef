"""The demo's moto server on 127.0.0.1, with the demo extensions in front."""

from __future__ import annotations

import logging
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from auditbook.demo.extensions import DemoExtensions, DemoState

logger = logging.getLogger(__name__)


class DemoServer:
    """A threaded moto server bound to a free port on 127.0.0.1."""

    def __init__(self, state: DemoState) -> None:
        self.state = state
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Start serving and return the endpoint URL."""
        app = DemoExtensions(
            DomainDispatcherApplication(create_backend_app), self.state
        )
        self._server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="auditbook-demo", daemon=True
        )
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
