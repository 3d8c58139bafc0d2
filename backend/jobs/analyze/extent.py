"""How many cells python-calamine will hold for a workbook that is not .xlsx, found before
calamine is handed the file.

calamine keeps a sheet as a dense range, from its first to its last cell with a value
(about 32 bytes a cell): one stray value far away (row 1,048,576 of an .xlsb, a row that an
.ods repeats a million times) would size it by millions of cells. It reads every sheet of
an .xls or .ods when the file is opened, and an .xlsb sheet when it is asked for. These
scans find each sheet's range from the file's own records, in bounded memory, so that such
a workbook is refused with a clear message instead of filling the memory.

Each returns the cell count (rows × columns of the range calamine builds) of every sheet.
Sources of the record layouts: [MS-XLS] 2.4 (BIFF8 records), [MS-XLSB] 2.1.4 and 2.4
(BIFF12 records), OpenDocument 1.2 part 1 §9.1 (table rows and cells, their repeat counts).
"""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from typing import IO

from backend.sniff import Ole2File

CHUNK = 1 << 20

# --- .xls (BIFF5/BIFF8 in an OLE2 file) -------------------------------------------------

BIFF_BOF = 0x0809
BIFF_EOF = 0x000A
BIFF_FILEPASS = 0x002F
# Cell records calamine keeps (blank cells are not kept): Number, Label, RString, BoolErr,
# Rk, LabelSst, Formula; each starts with its row and column. MulRk holds a run of cells.
BIFF_CELLS = frozenset({0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD, 0x0006})
BIFF_MULRK = 0x00BD


class EncryptedWorkbook(Exception):
    """The workbook is protected by a password (BIFF FilePass record, [MS-XLS] 2.4.117)."""


def xls_extents(path: str, check_cancelled: Callable[[], None] = lambda: None) -> list[int]:
    """Cell counts of the worksheets of an .xls, in file order; raises EncryptedWorkbook,
    ValueError/struct.error for a broken file."""
    with Ole2File(path) as ole2:
        names = {name.lower(): name for name in ole2.streams}
        stream = ole2.read(names.get("workbook") or names["book"])
    extents: list[int] = []
    depth = 0
    bounds: list[int] | None = None  # min row, max row, min column, max column
    position, end = 0, len(stream) - 4
    unpack = struct.unpack_from
    records = 0
    while position <= end:
        kind, size = unpack("<HH", stream, position)
        body = position + 4
        position = body + size
        if kind in BIFF_CELLS or kind == BIFF_MULRK:
            if size < 4 or position > len(stream):
                continue
            row, first = unpack("<HH", stream, body)
            last = unpack("<H", stream, position - 2)[0] if kind == BIFF_MULRK else first
            if bounds is None:
                bounds = [row, row, first, last]
            else:
                bounds[0], bounds[1] = min(bounds[0], row), max(bounds[1], row)
                bounds[2], bounds[3] = min(bounds[2], first), max(bounds[3], last)
        elif kind == BIFF_BOF:
            depth += 1
        elif kind == BIFF_EOF:
            depth -= 1
            if depth == 0 and extents is not None:
                if bounds is not None:
                    extents.append((bounds[1] - bounds[0] + 1) * (bounds[3] - bounds[2] + 1))
                bounds = None
        elif kind == BIFF_FILEPASS and size >= 2 and unpack("<H", stream, body)[0] != 0:
            raise EncryptedWorkbook
        records += 1
        if records % 100_000 == 0:
            check_cancelled()
    return extents


# --- .xlsb (BIFF12 records in a zip) ----------------------------------------------------

XLSB_ROW = 0x0000  # BrtRowHdr: the row the following cells are in
XLSB_CELLS = range(0x0002, 0x000C)  # BrtCellRk ... BrtFmlaError (BrtCellBlank not kept)


def xlsb_extents(path: str, check_cancelled: Callable[[], None] = lambda: None) -> dict[str, int]:
    """Cell counts of each worksheet part (``xl/worksheets/*.bin``) of an .xlsb."""
    extents = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = info.filename
            sheet = name.startswith("xl/worksheets/") and name.endswith(".bin")
            if sheet and "binaryIndex" not in name:
                with archive.open(info) as stream:
                    extents[name] = _xlsb_sheet_extent(stream, check_cancelled)
    return extents


def _xlsb_records(
    stream: IO[bytes], check_cancelled: Callable[[], None]
) -> Iterator[tuple[int, bytes]]:
    data = b""
    position = 0
    while True:
        check_cancelled()
        chunk = stream.read(CHUNK)
        data = data[position:] + chunk
        position = 0
        while True:
            start = position
            kind, position = _varint(data, position, 2)
            size, position = _varint(data, position, 4) if kind >= 0 else (-1, position)
            if kind < 0 or size < 0 or position + size > len(data):
                position = start
                break
            yield kind, data[position : position + min(size, 8)]
            position += size
        if not chunk:
            return


def _varint(data: bytes, position: int, width: int) -> tuple[int, int]:
    """A BIFF12 record type (up to 2 bytes) or size (up to 4), 7 bits a byte; -1 when the
    data ends first."""
    value = 0
    for index in range(width):
        if position >= len(data):
            return -1, position
        byte = data[position]
        position += 1
        if width == 2:
            value |= byte << (8 * index)  # record types keep their high bits
        else:
            value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, position
    return value, position


def _xlsb_sheet_extent(stream: IO[bytes], check_cancelled: Callable[[], None]) -> int:
    row = 0
    bounds: list[int] | None = None
    for kind, head in _xlsb_records(stream, check_cancelled):
        if kind == XLSB_ROW and len(head) >= 4:
            row = struct.unpack_from("<I", head)[0]
        elif kind in XLSB_CELLS and len(head) >= 4:
            column = struct.unpack_from("<I", head)[0]
            if bounds is None:
                bounds = [row, row, column, column]
            else:
                bounds[0], bounds[1] = min(bounds[0], row), max(bounds[1], row)
                bounds[2], bounds[3] = min(bounds[2], column), max(bounds[3], column)
    return 0 if bounds is None else (bounds[1] - bounds[0] + 1) * (bounds[3] - bounds[2] + 1)


# --- .ods (content.xml in a zip) --------------------------------------------------------

ODS_TAG = re.compile(
    rb"<(/?)table:(table|table-row|table-cell|covered-table-cell)(?=[\s/>])([^>]*?)(/?)>"
)
ODS_ROWS = re.compile(rb'table:number-rows-repeated="([0-9]{1,10})"')
ODS_COLUMNS = re.compile(rb'table:number-columns-repeated="([0-9]{1,10})"')
ODS_VALUE = re.compile(rb"office:value-type=")
ODS_MAX_ROWS = 1_048_576  # calamine caps repeated rows at Excel's limits
ODS_MAX_COLUMNS = 16_384


def ods_extents(path: str, check_cancelled: Callable[[], None] = lambda: None) -> list[int]:
    """Cell counts of the tables in an .ods's content.xml, in document order.

    A cell counts as a value when it has an ``office:value-type`` or any content (text);
    empty cells repeated across a row and empty rows repeated down the sheet (LibreOffice
    writes a million of those after the data) do not widen the range.
    """
    extents: list[int] = []
    rows = last_row = columns = 0  # rows so far, last row with a value, widest row
    row_repeat = column = 0
    row_has_value = False
    with zipfile.ZipFile(path) as archive, archive.open("content.xml") as stream:
        carry = b""
        while True:
            check_cancelled()
            chunk = stream.read(CHUNK)
            data = carry + chunk
            cut = data.rfind(b">") + 1 if chunk else len(data)
            body, carry = data[:cut], data[cut:]
            for match in ODS_TAG.finditer(body):
                closing, tag, attributes, empty = match.groups()
                if tag == b"table-cell" or tag == b"covered-table-cell":
                    if closing:
                        continue
                    repeat = ODS_COLUMNS.search(attributes)
                    count = int(repeat.group(1)) if repeat else 1
                    if not empty or ODS_VALUE.search(attributes):
                        row_has_value = True
                        columns = max(columns, min(column + count, ODS_MAX_COLUMNS))
                    column += count
                elif tag == b"table-row":
                    if not closing:
                        repeat = ODS_ROWS.search(attributes)
                        row_repeat = int(repeat.group(1)) if repeat else 1
                        column, row_has_value = 0, False
                    if closing or empty:
                        rows = min(rows + row_repeat, ODS_MAX_ROWS)
                        if row_has_value:
                            last_row = rows
                elif closing:  # </table:table>
                    extents.append(last_row * columns)
                    rows = last_row = columns = 0
            if not chunk:
                break
    return extents
