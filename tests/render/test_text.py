"""Text helpers that make untrusted strings safe to show and keep them readable."""

from __future__ import annotations

from datetime import datetime

import pytest

from auditbook.render.sheets import excel_text
from auditbook.render.text import (
    EXCEL_CELL_MAX_CHARS,
    format_timestamp,
    looks_like_formula,
    parse_timestamp,
    strip_check_blocks,
    truncate,
    visible,
    xml_safe,
)


def test_xml_safe_escapes_only_illegal() -> None:
    assert xml_safe("a\x00b\x07c\x1fd") == "a\\x00b\\x07c\\x1fd"
    assert xml_safe("tab\tline\ncr\r") == "tab\tline\ncr\r"
    assert xml_safe("lone \ud800 surrogate") == "lone \\ud800 surrogate"
    assert xml_safe("right\u202eto left") == "right\u202eto left"


def test_visible_escapes_invisible_characters() -> None:
    assert visible("name\u202eevil") == "name\\u202eevil"
    assert visible("zero\u200bwidth") == "zero\\u200bwidth"
    assert visible("bom\ufeff") == "bom\\ufeff"
    assert visible("c1\x85") == "c1\\x85"
    assert visible("bell\x07") == "bell\\x07"
    assert visible("tab\tand\nnewline") == "tab\tand\nnewline"
    assert visible("café ünïcode") == "café ünïcode"


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\tcmd", "\rcmd"],
)
def test_formula_prefixes_detected(text: str) -> None:
    assert looks_like_formula(text)


@pytest.mark.parametrize("text", ["sg-0123", " =1", "arn:aws:iam::1:root", ""])
def test_plain_text_not_formula(text: str) -> None:
    assert not looks_like_formula(text)


def test_truncate_states_length_and_place() -> None:
    cut = truncate("x" * 100, 60, "the workbook")

    assert len(cut) <= 60
    assert cut.startswith("xxx")
    assert cut.endswith("[cut: 100 characters in full, see the workbook]")
    assert truncate("short", 60, "the workbook") == "short"


def test_excel_text_escapes_for_ooxml() -> None:
    assert excel_text("\r=1") == "_x000D_=1"
    assert excel_text("literal _x0041_ stays") == "literal _x005F_x0041_ stays"
    assert excel_text("bell\x07") == "bell\\x07"
    assert len(excel_text("y" * 50_000)) <= EXCEL_CELL_MAX_CHARS


def test_parse_timestamp_to_naive_utc() -> None:
    assert parse_timestamp("2026-12-04T16:30:00+01:00") == datetime(2026, 12, 4, 15, 30)
    assert parse_timestamp("2026-12-04T15:30:00Z") == datetime(2026, 12, 4, 15, 30)
    assert parse_timestamp("not a time") is None
    assert parse_timestamp("") is None


def test_format_timestamp_keeps_unparsed() -> None:
    assert format_timestamp("2026-12-04T15:30:00+00:00") == "2026-12-04 15:30:00 UTC"
    assert format_timestamp("yesterday") == "yesterday"


def test_strip_check_blocks_keeps_other_fences() -> None:
    body = "\n".join(
        [
            "Intro.",
            "```auditbook",
            "aws.iam.root_mfa_enabled",
            "```",
            "Middle.",
            "````python",
            "```auditbook",
            "inside another fence",
            "```",
            "````",
            "~~~auditbook",
            "aws.ec2.sg_no_public_ssh",
            "~~~",
            "End.",
        ]
    )

    stripped = strip_check_blocks(body)

    assert stripped.splitlines() == [
        "Intro.",
        "Middle.",
        "````python",
        "```auditbook",
        "inside another fence",
        "```",
        "````",
        "End.",
    ]
