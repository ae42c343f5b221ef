"""Worksheet XML written beside openpyxl, checked cell by cell."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from auditbook.render.sheetxml import SheetRows, cell_xml, splice_rows


def test_text_cell_escaped_inline() -> None:
    xml = cell_xml("B2", "<a> & </a>", 3)

    assert xml == (
        '<c r="B2" s="3" t="inlineStr"><is><t>&lt;a&gt; &amp; &lt;/a&gt;</t></is></c>'
    )


def test_edge_spaces_preserved() -> None:
    assert '<t xml:space="preserve"> x </t>' in cell_xml("A2", " x ", 1)


def test_empty_and_none_cells_keep_style() -> None:
    assert cell_xml("C9", "", 4) == '<c r="C9" s="4" t="inlineStr"/>'
    assert cell_xml("C9", None, 4) == '<c r="C9" s="4" t="inlineStr"/>'


def test_numbers_and_dates_numeric() -> None:
    assert cell_xml("D2", 7, 0) == '<c r="D2" s="0" t="n"><v>7</v></c>'
    assert cell_xml("D2", True, 0) == '<c r="D2" s="0" t="b"><v>1</v></c>'
    # 2026-12-04 12:00 is day 46360.5 counted from 1899-12-30.
    assert "<v>46360.5</v>" in cell_xml("J2", datetime(2026, 12, 4, 12), 2)


def test_unsupported_values_rejected() -> None:
    with pytest.raises(TypeError, match="time zone"):
        cell_xml("J2", datetime(2026, 12, 4, tzinfo=UTC), 2)
    with pytest.raises(TypeError, match="not dict"):
        cell_xml("K2", {"a": 1}, 2)


def test_rows_numbered_after_header() -> None:
    rows = SheetRows()
    rows.append([("a", 1), (2, 1)])
    rows.append([("b", 1), (3, 1)])

    part = b'<worksheet><sheetData><row r="1"/></sheetData><tail/></worksheet>'
    target = io.BytesIO()
    splice_rows(part, rows, target)
    rows.close()

    xml = target.getvalue().decode()
    assert rows.count == 2
    assert xml.index('<row r="1"/>') < xml.index('<row r="2">')
    assert xml.index('<row r="3">') < xml.index("</sheetData><tail/>")
    assert '<c r="B3" s="1" t="n"><v>3</v></c>' in xml


def test_splice_needs_header_row() -> None:
    rows = SheetRows()

    with pytest.raises(ValueError, match="header row"):
        splice_rows(b"<worksheet><sheetData/></worksheet>", rows, io.BytesIO())
    rows.close()
