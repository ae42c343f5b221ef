"""Data rows of the workbook written as SpreadsheetML, beside openpyxl.

openpyxl's write-only mode builds and serialises an element tree for every
cell. With openpyxl 3.1.5 on CPython 3.11, the workbook of
benchmarks/render.py (100,000 findings) took 29 s that way on a 2-core
machine, and 10 s with the data rows written here. Each table's data rows go
into a temporary file as worksheet XML, in the form openpyxl writes them
(inline strings, the same style ids), and are spliced into the sheet's part
when the workbook is saved. openpyxl still writes everything else: the
header row, column widths, frozen panes, autofilter, conditional formats,
page setup, styles and the package parts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

# The end tag of a sheet's rows: the data rows go before it, and openpyxl
# writes the sheet's settings after it.
SHEET_DATA_END = b"</sheetData>"


class DataWorkbook(Workbook):
    """A write-only workbook that keeps the data rows written for each sheet."""

    def __init__(self) -> None:
        super().__init__(write_only=True)
        self.data_rows: dict[WriteOnlyWorksheet, SheetRows] = {}

    def rows_for(self, sheet: WriteOnlyWorksheet) -> SheetRows:
        """Return the data rows of a sheet, created empty on first use."""
        if sheet not in self.data_rows:
            self.data_rows[sheet] = SheetRows()
        return self.data_rows[sheet]


class SheetRows:
    """Rows after a sheet's header row, as ``<row>`` elements in a temporary file.

    Row numbers start at 2, below the header row that openpyxl writes.
    """

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile()
        self.count = 0
        self._letters: list[str] = []

    def append(self, cells: Sequence[tuple[Any, int]]) -> None:
        """Append one row of ``(value, style id)`` pairs, one a column.

        Values are strings already made safe for a cell, numbers, datetimes
        without a time zone, or None for an empty cell.

        Raises:
            TypeError: a value has a type that a cell cannot hold.
        """
        while len(self._letters) < len(cells):
            self._letters.append(get_column_letter(len(self._letters) + 1))
        number = self.count + 2
        parts = [f'<row r="{number}">']
        for letter, (value, style_id) in zip(self._letters, cells, strict=False):
            parts.append(cell_xml(f"{letter}{number}", value, style_id))
        parts.append("</row>")
        self.file.write("".join(parts).encode("utf-8"))
        self.count += 1

    def size(self) -> int:
        """Return the number of bytes written."""
        return self.file.tell()

    def copy_to(self, target: IO[bytes]) -> None:
        """Copy the rows' XML to ``target`` in blocks."""
        self.file.seek(0)
        while block := self.file.read(1 << 20):
            target.write(block)

    def close(self) -> None:
        """Remove the temporary file."""
        self.file.close()


def cell_xml(reference: str, value: Any, style_id: int) -> str:
    """Return the ``<c>`` element of one cell, as openpyxl writes it.

    Raises:
        TypeError: the value is not text, a number, a datetime or None.
    """
    if value is None or value == "":
        return f'<c r="{reference}" s="{style_id}" t="inlineStr"/>'
    if isinstance(value, str):
        text = _escape(value)
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return (
            f'<c r="{reference}" s="{style_id}" t="inlineStr">'
            f"<is><t{space}>{text}</t></is></c>"
        )
    if isinstance(value, bool):
        return f'<c r="{reference}" s="{style_id}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{reference}" s="{style_id}" t="n"><v>{value!r}</v></c>'
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise TypeError(
                f"invalid cell value {value!r}: Excel stores no time zone, so "
                "convert it to naive UTC first"
            )
        serial = to_excel(value)
        return f'<c r="{reference}" s="{style_id}" t="n"><v>{serial!r}</v></c>'
    raise TypeError(
        f"invalid cell value {value!r}: a cell contains text, a number or a "
        f"datetime, not {type(value).__name__}"
    )


def _escape(text: str) -> str:
    # Text content needs only these three escapes, because quotes matter only
    # inside attributes.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def splice_rows(part: bytes, rows: SheetRows, target: IO[bytes]) -> None:
    """Write a sheet part from openpyxl to ``target`` with the data rows inside.

    ``part`` is small: the header row and the sheet's settings, because the
    data rows never passed through openpyxl.

    Raises:
        ValueError: the part has no ``</sheetData>``, so no header row.
    """
    head, end, tail = part.partition(SHEET_DATA_END)
    if not end:
        raise ValueError(
            "invalid sheet part: it has no </sheetData>, so no header row to "
            "put the data rows after"
        )
    target.write(head)
    rows.copy_to(target)
    target.write(end)
    target.write(tail)
