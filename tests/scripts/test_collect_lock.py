"""Two concurrent collections into one evidence folder: one runs, one stops.

The first ``auditbook collect`` reaches moto through a gate that holds its
requests, so it is certainly inside the store's lock while the second one
starts. The second must stop at once with a clear message, and the first
must then finish normally.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from auditbook.evidence import EvidenceStore
from tests.site.conftest import write_config

CONTROL = """\
---
id: NET-01
title: No SSH open to the internet
layer: network
severity: high
owner: Network Engineering
---

```auditbook
aws.ec2.sg_no_public_ssh
```
"""

# Hop-by-hop and length headers that the gate sets itself.
_SKIPPED_HEADERS = {"connection", "content-length", "transfer-encoding"}


class Gate:
    """An HTTP proxy on 127.0.0.1 that delays every request until it is opened."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.reached = threading.Event()
        self.opened = threading.Event()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                gate.forward(self)

            do_GET = do_POST

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the gate's endpoint URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        """Wait until the gate opens, then relay the request to moto."""
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        self.reached.set()
        self.opened.wait(timeout=120)

        connection = http.client.HTTPConnection(*self.upstream, timeout=60)
        connection.request(handler.command, handler.path, body, dict(handler.headers))
        response = connection.getresponse()
        content = response.read()
        connection.close()

        handler.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in _SKIPPED_HEADERS:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)


@pytest.fixture
def moto_server() -> Iterator[tuple[str, int]]:
    """Run a moto server on a free port of 127.0.0.1 and return its address."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # The server shares moto's state with every earlier test in this process,
    # so start from an empty account.
    reset = http.client.HTTPConnection(host, port, timeout=30)
    reset.request("POST", "/moto-api/reset")
    reset.getresponse().read()
    reset.close()
    yield host, port
    server.stop()


@pytest.fixture
def gate(moto_server: tuple[str, int]) -> Iterator[Gate]:
    """Run a gate in front of the moto server; it is opened when the test ends."""
    gate = Gate(moto_server)
    gate.thread.start()
    yield gate
    gate.opened.set()
    gate.server.shutdown()
    gate.server.server_close()


def collect(project: Path, endpoint: str) -> subprocess.Popen[str]:
    """Start ``auditbook collect`` for the project against an endpoint."""
    environment = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "auditbook"),
            "--config",
            str(project / "mkdocs.yml"),
            "collect",
            "--regions",
            "eu-west-2",
        ],
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_collect_one_stops_at_lock(tmp_path, moto_server, gate):
    (tmp_path / "controls").mkdir()
    (tmp_path / "controls" / "NET-01.md").write_text(CONTROL)
    (tmp_path / "site_src").mkdir()
    write_config(tmp_path, {"regions": ["eu-west-2"], "cloudtrail": {"source": "off"}})

    first = collect(tmp_path, gate.url)
    try:
        deadline = time.monotonic() + 60
        while not gate.reached.wait(timeout=0.1):
            assert first.poll() is None, first.communicate()[1]
            assert time.monotonic() < deadline, "the first collection sent no request"

        started = time.monotonic()
        second = collect(tmp_path, f"http://{moto_server[0]}:{moto_server[1]}")
        _, second_errors = second.communicate(timeout=60)
        elapsed = time.monotonic() - started

        gate.opened.set()
        first_output, first_errors = first.communicate(timeout=120)
    finally:
        gate.opened.set()
        if first.poll() is None:
            first.kill()

    assert second.returncode == 2
    assert "another auditbook run is writing to" in second_errors
    assert "wait for it to finish" in second_errors
    assert elapsed < 30
    assert first.returncode == 0, first_errors
    assert first_output.startswith("evidence run ")
    assert len(EvidenceStore(tmp_path / "evidence").run_ids()) == 1
