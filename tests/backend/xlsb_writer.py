"""Writes small binary Excel workbooks (.xlsb) for tests, from the record layouts of
[MS-XLSB] (no project dependency writes .xlsb).

An .xlsb is an OPC zip like .xlsx whose parts are BIFF12 record streams instead of XML:
each record is a type and a size (7-bit varints, [MS-XLSB] 2.1.4) and a body. Written
here: ``xl/workbook.bin`` (2.1.7.61: the sheet list), one ``xl/worksheets/sheetN.bin``
per sheet (2.1.7.62: rows and cells), ``xl/sharedStrings.bin`` (2.1.7.45),
``xl/styles.bin`` (2.1.7.50: cell formats, so that a date cell is a number with a date
number format) and the package's content types and relationships.

The styles part holds only the cell formats (BrtBeginCellXFs/BrtXF); fonts, fills and
borders are left out, which python-calamine (the reader under test) does not need.
"""

from __future__ import annotations

import datetime as dt
import struct
import zipfile
from pathlib import Path

# Record types ([MS-XLSB] 2.3, the record enumeration).
ROW_HEADER = 0x0000  # BrtRowHdr
CELL_RK = 0x0002  # BrtCellRk: a 30-bit integer
CELL_BOOL = 0x0004  # BrtCellBool
CELL_REAL = 0x0005  # BrtCellReal: an IEEE double
CELL_STRING = 0x0006  # BrtCellSt: an inline string
CELL_SHARED_STRING = 0x0007  # BrtCellIsst: an index into the shared strings
SST_ITEM = 0x0013  # BrtSSTItem
XF = 0x002F  # BrtXF
BEGIN_SHEET, END_SHEET = 0x0081, 0x0082
BEGIN_BOOK, END_BOOK = 0x0083, 0x0084
BEGIN_BUNDLE_SHEETS, END_BUNDLE_SHEETS = 0x008F, 0x0090
BEGIN_SHEET_DATA, END_SHEET_DATA = 0x0091, 0x0092
SHEET_DIMENSION = 0x0094  # BrtWsDim
WORKBOOK_PROPERTIES = 0x0099  # BrtWbProp
BUNDLE_SHEET = 0x009C  # BrtBundleSh
CALC_PROPERTIES = 0x009D  # BrtCalcProp
BEGIN_SST, END_SST = 0x009F, 0x00A0
BEGIN_STYLE_SHEET, END_STYLE_SHEET = 0x0116, 0x0117
BEGIN_CELL_XFS, END_CELL_XFS = 0x0269, 0x026A

DATE_STYLE = 1  # index of the cell format below with the built-in date format 14 (m/d/yyyy)
EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 0 of the 1900 date system, past its 1900 leap bug
RK_MIN, RK_MAX = -(1 << 29), (1 << 29) - 1  # integers a BrtCellRk holds exactly

Cell = str | int | float | bool | dt.date | None


def varint(value: int) -> bytes:
    """``value`` as 7-bit groups, low first, high bit set on all but the last byte."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def record(kind: int, body: bytes = b"") -> bytes:
    """One BIFF12 record ([MS-XLSB] 2.1.4): type and size as varints, then the body."""
    return varint(kind) + varint(len(body)) + body


def wide_string(text: str) -> bytes:
    """An XLWideString ([MS-XLSB] 2.5.168): character count (u32), then UTF-16LE."""
    data = text.encode("utf-16-le")
    return struct.pack("<I", len(data) // 2) + data


def _cell(column: int, value: Cell, strings: dict[str, int]) -> bytes:
    """The cell record of ``value`` in ``column`` (0-based); b"" for None (no record)."""
    if value is None:
        return b""
    head = struct.pack("<II", column, 0)  # column, then the style (cell format 0)
    if isinstance(value, bool):
        return record(CELL_BOOL, head + bytes([value]))
    if isinstance(value, int):
        if RK_MIN <= value <= RK_MAX:  # RkNumber: fX100 = 0, fInt = 1, the value << 2
            return record(CELL_RK, head + struct.pack("<i", (value << 2) | 2))
        return record(CELL_REAL, head + struct.pack("<d", float(value)))
    if isinstance(value, float):
        return record(CELL_REAL, head + struct.pack("<d", value))
    if isinstance(value, dt.date):
        if isinstance(value, dt.datetime):
            raise TypeError("only dates (no times) are written")
        serial = (value - EXCEL_EPOCH).days
        return record(CELL_REAL, struct.pack("<IId", column, DATE_STYLE, float(serial)))
    if isinstance(value, str):
        if value in strings:  # repeated text goes to the shared strings, as Excel does
            return record(CELL_SHARED_STRING, head + struct.pack("<I", strings[value]))
        return record(CELL_STRING, head + wide_string(value))
    raise TypeError(f"cannot write {type(value).__name__}")


def sheet_part(rows: list[list[Cell]], strings: dict[str, int]) -> bytes:
    """A worksheet part ([MS-XLSB] 2.1.7.62) with ``rows`` from A1: BrtWsDim, then one
    BrtRowHdr per row followed by its cells."""
    width = max((len(row) for row in rows), default=1)
    dimension = struct.pack("<IIII", 0, max(len(rows) - 1, 0), 0, max(width - 1, 0))
    body = bytearray(record(BEGIN_SHEET) + record(SHEET_DIMENSION, dimension))
    body += record(BEGIN_SHEET_DATA)
    for index, row in enumerate(rows):
        # rw, ixfe, miyRw (height in twips: 15 pt), flags (3 bytes), ccolspan = 0
        body += record(ROW_HEADER, struct.pack("<IIH3xI", index, 0, 300, 0))
        for column, value in enumerate(row):
            body += _cell(column, value, strings)
    return bytes(body + record(END_SHEET_DATA) + record(END_SHEET))


def _workbook_part(names: list[str]) -> bytes:
    body = bytearray(record(BEGIN_BOOK))
    # flags (1900 date system), brtcolorTab, strName of the VBA project: none
    body += record(WORKBOOK_PROPERTIES, struct.pack("<II", 0, 0) + wide_string(""))
    body += record(BEGIN_BUNDLE_SHEETS)
    for index, name in enumerate(names, 1):
        # hsState (visible), iTabID, strRelID, strName
        head = struct.pack("<II", 0, index)
        body += record(BUNDLE_SHEET, head + wide_string(f"rId{index}") + wide_string(name))
    body += record(END_BUNDLE_SHEETS)
    # recalcID, fAutoRecalc, cCalcCount, xnumDelta, cUserThreads, flags
    body += record(CALC_PROPERTIES, struct.pack("<IIIdiH", 0, 1, 100, 0.001, 1, 0))
    return bytes(body + record(END_BOOK))


def _shared_strings_part(strings: dict[str, int]) -> bytes:
    body = bytearray(record(BEGIN_SST, struct.pack("<II", len(strings), len(strings))))
    for text in strings:  # in index order (dicts keep insertion order)
        body += record(SST_ITEM, b"\x00" + wide_string(text))  # RichStr without runs
    return bytes(body + record(END_SST))


def _styles_part() -> bytes:
    def xf(number_format: int) -> bytes:
        # ixfeParent, iFmt, iFont, iFill, ixBorder, trot, indent, alignment, flags
        return record(XF, struct.pack("<HHHHHBBHH", 0, number_format, 0, 0, 0, 0, 0, 0, 0))

    formats = [xf(0), xf(14)]  # General; the built-in date format (DATE_STYLE)
    body = record(BEGIN_CELL_XFS, struct.pack("<I", len(formats))) + b"".join(formats)
    return record(BEGIN_STYLE_SHEET) + body + record(END_CELL_XFS) + record(END_STYLE_SHEET)


RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006"


def write_xlsb(path: Path, sheets: dict[str, list[list[Cell]]]) -> Path:
    """Write an .xlsb at ``path`` with one worksheet per item of ``sheets`` (name -> rows,
    each a list of cells from column A; None leaves a cell empty). Integers within
    ±2**29 are BrtCellRk records, other numbers BrtCellReal, dates BrtCellReal serials in
    the 1900 date system with a date format; a string that occurs more than once is a
    shared string (BrtCellIsst), others are inline (BrtCellSt). Returns ``path``."""
    counts: dict[str, int] = {}
    for rows in sheets.values():
        for row in rows:
            for value in row:
                if isinstance(value, str):
                    counts[value] = counts.get(value, 0) + 1
    strings = {text: i for i, text in enumerate(t for t, n in counts.items() if n > 1)}
    names = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.bin" '
        'ContentType="application/vnd.ms-excel.worksheet"/>'
        for i in range(1, len(names) + 1)
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<Types xmlns="{PACKAGE}/content-types">'
        '<Default Extension="bin" '
        'ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f"{overrides}"
        '<Override PartName="/xl/styles.bin" ContentType="application/vnd.ms-excel.styles"/>'
        '<Override PartName="/xl/sharedStrings.bin" '
        'ContentType="application/vnd.ms-excel.sharedStrings"/>'
        "</Types>"
    )
    root_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<Relationships xmlns="{PACKAGE}/relationships">'
        f'<Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.bin"/>'
        "</Relationships>"
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{i}" Type="{RELS}/worksheet" Target="worksheets/sheet{i}.bin"/>'
        for i in range(1, len(names) + 1)
    )
    n = len(names)
    workbook_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<Relationships xmlns="{PACKAGE}/relationships">{sheet_rels}'
        f'<Relationship Id="rId{n + 1}" Type="{RELS}/styles" Target="styles.bin"/>'
        f'<Relationship Id="rId{n + 2}" Type="{RELS}/sharedStrings" '
        'Target="sharedStrings.bin"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", root_rels)
        archive.writestr("xl/workbook.bin", _workbook_part(names))
        archive.writestr("xl/_rels/workbook.bin.rels", workbook_rels)
        for i, rows in enumerate(sheets.values(), 1):
            archive.writestr(f"xl/worksheets/sheet{i}.bin", sheet_part(rows, strings))
        archive.writestr("xl/styles.bin", _styles_part())
        archive.writestr("xl/sharedStrings.bin", _shared_strings_part(strings))
    return path
