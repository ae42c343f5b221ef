"""Text helpers shared by the PDF and workbook renderers.

Every string that came from AWS is untrusted. These helpers make such a string
safe to show without hiding what it contains. Invisible or illegal characters
become visible escapes, and over-long values are cut with a marker that gives
the original length. Text that a spreadsheet would read as a formula is
detected, so the workbook can store it as plain text.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from auditbook.controls import BLOCK_INFO

# Leading characters that make a spreadsheet treat text as a formula: "=",
# "+", "-" and "@", and tab and carriage return, which formula-injection
# guidance (CWE-1236) lists as well.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# The maximum number of characters in one Excel cell (Excel specifications and
# limits: "Total number of characters that a cell can contain: 32,767").
EXCEL_CELL_MAX_CHARS = 32_767

# Characters that XML 1.0 rejects: C0 controls other than tab, line feed and
# carriage return, lone surrogates, and the noncharacters U+FFFE and U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Characters that are invisible or reorder the text around them when shown:
# the XML-illegal set, DEL and C1 controls, zero-width characters, bidirectional
# marks, embeddings, overrides and isolates, and the byte order mark. A
# resource name that contains one could pass for another name when displayed.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e"
    "\u2060\u2066-\u2069\ufeff\ud800-\udfff\ufffe\uffff]"
)

_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def xml_safe(text: str) -> str:
    """Replace each character that XML 1.0 rejects with a visible escape.

    ``"bell\\x07"`` becomes the eight characters ``bell\\x07``: the value stays
    readable and its length changes, but nothing is dropped silently.
    """
    return _XML_ILLEGAL.sub(_escape_char, text)


def visible(text: str) -> str:
    """Replace invisible and reordering characters with visible escapes.

    Tab and line feed are kept. Right-to-left overrides and zero-width spaces
    are shown as ``\\u202e`` and ``\\u200b`` so a reader sees the real name.
    """
    return _INVISIBLE.sub(_escape_char, text)


def truncate(text: str, limit: int, where: str) -> str:
    """Cut a string to at most ``limit`` characters, ending with a marker.

    The marker states the original length and ``where`` the full value is,
    for example ``"the workbook"``. A string within the limit is unchanged.
    """
    if len(text) <= limit:
        return text
    marker = f" … [cut: {len(text):,} characters in full, see {where}]"
    keep = max(limit - len(marker), 0)
    return text[:keep] + marker


def looks_like_formula(text: str) -> bool:
    """Return True when a spreadsheet would read the text as a formula."""
    return text.startswith(FORMULA_PREFIXES)


def compact_json(value: Any) -> str:
    """Serialise a JSON value on one line with sorted keys."""
    return json.dumps(
        value,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


def parse_timestamp(text: str | None) -> datetime | None:
    """Parse an ISO 8601 timestamp into a naive UTC datetime, or return None.

    A timestamp without an offset is taken as UTC, which is how findings and
    run metadata record time. Spreadsheets have no time zones, so the result
    is naive.
    """
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def format_timestamp(text: str | None) -> str:
    """Format an ISO 8601 timestamp as ``2026-12-04 15:30:00 UTC`` for reading.

    A value that does not parse is returned unchanged, so nothing is hidden.
    """
    parsed = parse_timestamp(text)
    if parsed is None:
        return text or ""
    return f"{parsed:%Y-%m-%d %H:%M:%S} UTC"


def strip_check_blocks(body: str) -> str:
    """Remove the fenced blocks that name checks from a control's Markdown body.

    The blocks list check IDs for the collector and the site; the PDF shows the
    checks in its own "how it is tested" part instead. Other fenced blocks,
    and anything fenced inside them, are kept.
    """
    kept_lines: list[str] = []
    fence: str | None = None
    dropping = False

    for line in body.splitlines():
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence = match["fence"]
                dropping = match["info"] == BLOCK_INFO
            if not dropping:
                kept_lines.append(line)
            continue

        closes = match is not None and match["fence"].startswith(fence)
        if closes and not match["info"]:
            fence = None
            if dropping:
                dropping = False
                continue
        if not dropping:
            kept_lines.append(line)

    return "\n".join(kept_lines)
