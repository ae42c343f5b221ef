"""Cells and tables of a write-only openpyxl workbook, safe for untrusted text.

Every string cell is stored as a plain string, never as a formula, so text
from AWS such as ``=HYPERLINK(...)`` keeps its exact characters and a
spreadsheet never evaluates it. Cells share prebuilt style arrays, because
styling each of 100,000 rows one attribute at a time is where openpyxl spends
most of its time.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from auditbook.attestations import ATTESTATION_EXPIRED, ATTESTED, EVIDENCE_MISSING
from auditbook.render import FALLBACK_DATE, atomic_target
from auditbook.render.sheetxml import DataWorkbook, SheetRows, splice_rows
from auditbook.render.text import (
    EXCEL_CELL_MAX_CHARS,
    looks_like_formula,
    truncate,
    xml_safe,
)
from auditbook.report import NOT_COLLECTED
from auditbook.riskexceptions import EXCEPTED

DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

# Fill and font colour per status: light fills with dark text stay readable
# in print, and the status word carries the meaning in greyscale.
STATUS_COLOURS = {
    "PASS": ("C6EFCE", "006100"),
    "FAIL": ("FFC7CE", "9C0006"),
    "ERROR": ("FFEB9C", "9C5700"),
    "NOT_APPLICABLE": ("E7E6E6", "3A3838"),
    NOT_COLLECTED: ("FFFFFF", "3A3838"),
    EXCEPTED: ("E9D5FF", "581C87"),
    ATTESTED: ("CCFBF1", "134E4A"),
    ATTESTATION_EXPIRED: ("FFEDD5", "7C2D12"),
    EVIDENCE_MISSING: ("FEE2E2", "7F1D1D"),
}

# OOXML's own escape for a character in a string is _xHHHH_ (ECMA-376 Part 1,
# 22.9.2.19 ST_Xstring). Office requires a carriage return to be written as
# _x000D_, because XML parsers turn a raw one into a line feed. It also
# requires the underscore of a literal _xHHHH_ to be written as _x005F_, so
# Excel shows the text as typed ([MS-OI29500] 2.1.1747). openpyxl decodes
# neither escape when it reads a workbook.
_OOXML_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)|\r")


@dataclass(frozen=True)
class Column:
    """A column of a data sheet: header, width in characters, wrapped or not."""

    header: str
    width: float
    wrap: bool = False


class Styles:
    """The cell styles of one workbook, created once and shared by every cell."""

    def __init__(self) -> None:
        self.header_font = Font(bold=True, color="FFFFFF")
        self.header_fill = PatternFill("solid", fgColor="374151")
        self.title_font = Font(bold=True, size=14)
        self.bold = Font(bold=True)
        self.top = Alignment(vertical="top")
        self.wrap = Alignment(vertical="top", wrap_text=True)
        self.status_fills = {
            status: PatternFill("solid", fgColor=fill)
            for status, (fill, _) in STATUS_COLOURS.items()
        }
        self.status_fonts = {
            status: Font(bold=True, color=colour)
            for status, (_, colour) in STATUS_COLOURS.items()
        }
        self._arrays: dict[tuple, StyleArray] = {}
        self._ids: dict[tuple, int] = {}

    def array(
        self,
        sheet: WriteOnlyWorksheet,
        wrap: bool,
        status: str | None,
        number_format: str | None,
        quote_prefix: bool,
    ) -> StyleArray:
        """Return the style of a cell with these properties, built on first use.

        Setting a style on a cell makes openpyxl hash the style object for
        every cell, which dominates the time of a 100,000-row sheet. A cell
        built from a finished style array skips that.
        """
        key = (wrap, status, number_format, quote_prefix)
        if key not in self._arrays:
            template = WriteOnlyCell(sheet)
            template.alignment = self.wrap if wrap else self.top
            if status in self.status_fills:
                template.fill = self.status_fills[status]
                template.font = self.status_fonts[status]
            if number_format:
                template.number_format = number_format
            template.quotePrefix = quote_prefix
            # NOTE: _style is openpyxl's private style array (3.1); Cell's
            # public style_array argument takes it.
            self._arrays[key] = template._style
            # style_id registers the style with the workbook, so its
            # stylesheet lists it even when only sheetxml rows use it.
            self._ids[key] = template.style_id
        return self._arrays[key]

    def style_id(
        self,
        sheet: WriteOnlyWorksheet,
        wrap: bool,
        status: str | None,
        number_format: str | None,
        quote_prefix: bool,
    ) -> int:
        """Return the workbook's index of the style :meth:`array` describes."""
        key = (wrap, status, number_format, quote_prefix)
        if key not in self._ids:
            self.array(sheet, wrap, status, number_format, quote_prefix)
        return self._ids[key]


def excel_text(value: str) -> str:
    """Return text that an ``.xlsx`` cell can hold and Excel shows as the original.

    Characters XML rejects become visible escapes such as ``\\x07``, a
    carriage return and a literal ``_xHHHH_`` are escaped the OOXML way, and
    text over Excel's cell limit is cut with a marker.
    """
    text = xml_safe(value)
    text = _OOXML_ESCAPE.sub(lambda m: "_x000D_" if m[0] == "\r" else "_x005F_", text)
    return truncate(text, EXCEL_CELL_MAX_CHARS, "the evidence run")


def csv_text(value: str) -> str:
    """Return text for a CSV field that a spreadsheet never evaluates.

    CSV has no cell types. Text that the workbook stores with a quote prefix,
    because it starts like a formula, therefore gets a leading apostrophe,
    the usual defence against CSV injection (CWE-1236). A spreadsheet then
    reads the field as text and shows the apostrophe.
    """
    return f"'{value}" if looks_like_formula(value) else value


def make_cell(
    sheet: WriteOnlyWorksheet,
    value: Any,
    styles: Styles,
    wrap: bool = False,
    status: str | None = None,
) -> Cell:
    """Build a cell for ``sheet.append``, typed and styled, from a Python value.

    A string becomes a plain string cell through :func:`excel_text`, a
    datetime gets a date format, and a ``status`` such as ``"FAIL"`` gets its
    fill and font.
    """
    number_format = DATETIME_FORMAT if isinstance(value, datetime) else None
    formula_like = isinstance(value, str) and looks_like_formula(value)
    style = styles.array(sheet, wrap, status, number_format, formula_like)
    cell = Cell(sheet, row=1, column=1, style_array=style)

    if isinstance(value, str):
        cell.value = excel_text(value)
        # openpyxl types a string that starts with "=" as a formula, so the
        # cell is typed back to a string. quotePrefix keeps Excel from reading
        # it as a formula when someone edits the cell.
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


def start_table(
    sheet: WriteOnlyWorksheet, columns: Sequence[Column], styles: Styles
) -> None:
    """Set a data sheet's column widths and frozen header, and write the header.

    A write-only sheet takes widths and frozen panes only before its first row.
    """
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    sheet.append(header_cells(sheet, [column.header for column in columns], styles))


def finish_table(
    sheet: WriteOnlyWorksheet,
    columns: Sequence[Column],
    rows: int,
    status_columns: Iterable[int] = (),
) -> None:
    """Add the autofilter, print titles, page setup and status colours of a table.

    Args:
        rows: the number of data rows written below the header.
        status_columns: 1-based columns whose cells contain a status or verdict.
    """
    last_column = get_column_letter(len(columns))
    last_row = rows + 1
    sheet.auto_filter.ref = f"A1:{last_column}{last_row}"
    sheet.print_title_rows = "1:1"
    set_landscape(sheet)

    # Conditional formats colour a status cell that someone edits. The fills
    # written with each cell show in viewers that ignore conditional formats.
    for index in status_columns:
        letter = get_column_letter(index)
        cells = f"{letter}2:{letter}{max(last_row, 2)}"
        for status, (fill, colour) in STATUS_COLOURS.items():
            sheet.conditional_formatting.add(
                cells,
                CellIsRule(
                    operator="equal",
                    formula=[f'"{status}"'],
                    fill=PatternFill("solid", fgColor=fill, bgColor=fill),
                    font=Font(bold=True, color=colour),
                ),
            )


def set_landscape(sheet: WriteOnlyWorksheet) -> None:
    """Print the sheet on A4 landscape, one page wide."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def write_rows(
    sheet: WriteOnlyWorksheet,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    styles: Styles,
    status_columns: Sequence[int] = (),
) -> int:
    """Write the data rows of a table below its header and return their number.

    The rows go to :mod:`auditbook.render.sheetxml`, not through openpyxl,
    and :func:`save_workbook` splices them in. Cells are typed and styled as
    :func:`make_cell` does it. ``sheet`` belongs to a :class:`DataWorkbook`,
    and nothing is appended to it after this call.
    """
    data = sheet.parent.rows_for(sheet)
    for values in rows:
        cells = []
        for index, (column, value) in enumerate(zip(columns, values, strict=True), 1):
            status = value if index in status_columns else None
            cells.append(_typed_value(sheet, value, styles, column.wrap, status))
        data.append(cells)
    return data.count


def _typed_value(
    sheet: WriteOnlyWorksheet,
    value: Any,
    styles: Styles,
    wrap: bool,
    status: str | None,
) -> tuple[Any, int]:
    number_format = DATETIME_FORMAT if isinstance(value, datetime) else None
    formula_like = False
    if isinstance(value, str):
        formula_like = looks_like_formula(value)
        value = excel_text(value)
    return value, styles.style_id(sheet, wrap, status, number_format, formula_like)


def bold_cell(sheet: WriteOnlyWorksheet, text: str, styles: Styles) -> Cell:
    """Build a bold text cell, for labels."""
    cell = make_cell(sheet, text, styles)
    cell.font = styles.bold
    return cell


def header_cells(
    sheet: WriteOnlyWorksheet, headers: Sequence[str], styles: Styles
) -> list[Cell]:
    """Build the cells of a header row: white bold text on dark grey."""
    cells = []
    for header in headers:
        cell = make_cell(sheet, header, styles)
        cell.font = styles.header_font
        cell.fill = styles.header_fill
        cells.append(cell)
    return cells


class FixedTimeZipFile(zipfile.ZipFile):
    """A zip file whose entries all carry one fixed time, for repeatable bytes.

    It also puts each sheet's :class:`SheetRows` into that sheet's part.
    """

    def __init__(
        self,
        path: Path,
        when: datetime,
        data_rows: dict[WriteOnlyWorksheet, SheetRows] | None = None,
    ) -> None:
        super().__init__(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self.fixed_time = max(when, FALLBACK_DATE).timetuple()[:6]
        self.data_rows = data_rows or {}

    def _entry(self, name: str) -> zipfile.ZipInfo:
        entry = zipfile.ZipInfo(name, self.fixed_time)
        entry.compress_type = self.compression
        entry.external_attr = 0o600 << 16
        return entry

    def writestr(self, zinfo_or_arcname, data, *args: Any, **kwargs: Any) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = self._entry(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename, arcname=None, *args: Any, **kwargs: Any) -> None:
        # openpyxl copies each write-only sheet from a temporary file. Sheets
        # with data rows hold only their header there, so they are read whole.
        name = arcname or Path(filename).name
        entry = self._entry(name)
        rows = self._rows_of(name)
        if rows is None:
            entry.file_size = os.path.getsize(filename)
            with open(filename, "rb") as source, self.open(entry, "w") as target:
                shutil.copyfileobj(source, target, 1 << 20)
            return

        part = Path(filename).read_bytes()
        entry.file_size = len(part) + rows.size()
        with self.open(entry, "w") as target:
            splice_rows(part, rows, target)

    def _rows_of(self, name: str) -> SheetRows | None:
        # A sheet's path is known only once ExcelWriter numbers the sheets.
        for sheet, rows in self.data_rows.items():
            if sheet.path.lstrip("/") == name:
                return rows
        return None


def save_workbook(workbook: DataWorkbook, path: Path, when: datetime) -> None:
    """Save a workbook with every zip entry dated ``when``, replacing ``path``.

    openpyxl's ``Workbook.save`` stamps the current time as the modified date
    and on every zip entry, so its writer is driven directly instead.
    """
    try:
        with atomic_target(path) as target:
            archive = FixedTimeZipFile(target, when, workbook.data_rows)
            try:
                ExcelWriter(workbook, archive).save()
            finally:
                archive.close()
    finally:
        for rows in workbook.data_rows.values():
            rows.close()
