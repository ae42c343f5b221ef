"""Placeholder tokens that keep evidence out of Markdown processing.

A generated or control page carries a token paragraph where evidence belongs.
Markdown renders it as ``<p>TOKEN</p>``, and only then is the token swapped
for HTML built from the evidence run. A string from AWS therefore never reaches
Markdown or a Jinja template as source.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

# A function that takes the page's link helper and returns the HTML.
Renderer = Callable[[Any], str]


class Placeholders:
    """The tokens of one build, each tied to a page and the function that renders it."""

    def __init__(self) -> None:
        # A random prefix per build, so that no control document can contain
        # a token by accident. Tokens never reach the output, which stays
        # deterministic.
        self._prefix = f"auditbook-placeholder-{secrets.token_hex(8)}"
        self._pattern = re.compile(
            rf"<p>({re.escape(self._prefix)}-\d+)</p>|({re.escape(self._prefix)}-\d+)"
        )
        self._renderers: dict[str, dict[str, Renderer]] = {}
        self._count = 0

    def add(self, page_uri: str, renderer: Renderer) -> str:
        """Issue a token for a page and remember how to render it."""
        token = f"{self._prefix}-{self._count}"
        self._count += 1
        self._renderers.setdefault(page_uri, {})[token] = renderer
        return token

    def substitute(self, page_uri: str, html: str, links: Any) -> tuple[str, list[str]]:
        """Replace the page's tokens in rendered HTML with their HTML.

        Inserted HTML is never scanned again, so a token inside evidence
        stays text.

        Returns:
            The new HTML, and the tokens that were not found in it (a block
            that Markdown swallowed, for example inside a raw HTML element).
        """
        renderers = self._renderers.get(page_uri)
        if not renderers:
            return html, []

        found: set[str] = set()

        def replace(match: re.Match[str]) -> str:
            token = match[1] or match[2]
            renderer = renderers.get(token)
            if renderer is None:
                return match[0]
            found.add(token)
            return renderer(links)

        html = self._pattern.sub(replace, html)
        missing = [token for token in renderers if token not in found]
        return html, missing
