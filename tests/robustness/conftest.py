"""Shared pieces of the robustness tests: a moto server and a project folder.

The server is the demo's moto server, bound to a free port on 127.0.0.1, with
its state emptied first. The collector reaches it over HTTP through
``AWS_ENDPOINT_URL``, the same code path it takes to AWS.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditbook.cli import main
from auditbook.demo.extensions import DemoState
from auditbook.demo.server import DemoServer

REPO = Path(__file__).parents[2]

# The environment of every collection against the server: fake credentials
# that mean nothing outside it, and two attempts per call so that retried
# faults stay quick.
SERVER_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "AWS_RETRY_MODE": "standard",
    "AWS_MAX_ATTEMPTS": "2",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_CONFIG_FILE": "/nonexistent",
}
CLEARED_ENVIRONMENT = ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


@contextlib.contextmanager
def moto_server() -> Iterator[DemoState]:
    """Run an empty moto server on 127.0.0.1 and point boto3 at it.

    Yields:
        The state of the operations the demo server adds to moto, such as
        access analyzers and Security Hub standards, for seeding.
    """
    state = DemoState()
    server = DemoServer(state)
    endpoint = server.start()
    environment = pytest.MonkeyPatch()
    try:
        # moto keeps its backends in this process, so another test may have
        # left resources behind.
        request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        for name, value in SERVER_ENVIRONMENT.items():
            environment.setenv(name, value)
        for name in CLEARED_ENVIRONMENT:
            environment.delenv(name, raising=False)
        environment.setenv("AWS_ENDPOINT_URL", endpoint)
        yield state
    finally:
        environment.undo()
        server.stop()


def write_project(
    root: Path, options: dict[str, Any], config_name: str = "mkdocs.yml"
) -> Path:
    """Write a project: the repository's controls and site pages, and a config.

    Args:
        root: the project folder; controls and pages are copied on first use.
        options: the auditbook plugin options.
        config_name: the file name of the MkDocs configuration.

    Returns:
        The path of the configuration.
    """
    if not (root / "controls").exists():
        shutil.copytree(REPO / "controls", root / "controls")
        shutil.copytree(REPO / "site_src", root / "site_src")
    config = {
        "site_name": "robustness",
        "docs_dir": "site_src",
        "theme": {"name": "material", "font": False},
        "extra_css": ["assets/auditbook.css"],
        "markdown_extensions": [
            "admonition",
            "attr_list",
            "tables",
            "pymdownx.details",
            "pymdownx.superfences",
        ],
        "plugins": ["search", {"auditbook": options}],
    }
    path = root / config_name
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class CliResult:
    """The exit code and output of one ``auditbook`` command."""

    code: int
    out: str
    err: str


def run_cli(*args: str) -> CliResult:
    """Run ``auditbook`` in this process and capture what it prints."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return CliResult(code, out.getvalue(), err.getvalue())
