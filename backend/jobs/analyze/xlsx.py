"""Workbooks (.xlsx, .xlsb, .ods, .xls): safety checks, then one table per sheet.

The format is decided by the file's content (zip members, OLE2 streams:
``backend.sniff.sniff_container``), not by its extension: an .ods or .xls renamed .xlsx is
read as what it is, and the user is told so; text, a PDF or a Word file under a workbook's
extension is refused with a message that names what it is.

python-calamine (Rust) reads a 100k-row sheet in ~1.5 s where openpyxl takes ~25 s. It loads
a whole sheet at once, so before handing it the file we refuse, from the zip central
directory alone, archives that would inflate to more than we are willing to hold (zip bombs),
and refuse any DTD in the XML parts (entity bombs) with defusedxml. For .xlsx a scan of the
sheet XML finds stray far-off cells (read around with openpyxl); for the other formats the
record scans of ``extent`` refuse workbooks whose ranges would hold more than MAX_CELLS.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import struct
import tempfile
import threading
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pyarrow as pa
import python_calamine
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, XMLParser, fromstring

from backend.jobs.analyze import extent
from backend.jobs.analyze.dialect import Record, find_table
from backend.jobs.analyze.source import Batch, Prepare, Source, TableFeed
from backend.jobs.analyze.stats import PREVIEW_ROWS
from backend.jobs.context import JobContext, JobError
from backend.sniff import WORKBOOK_LABELS, Container, binary_label, sniff_container, text_label

MAX_MEMBERS = 10_000
MAX_TOTAL_UNCOMPRESSED = 512 << 20  # calamine holds a whole sheet in memory
MAX_RATIO = 100  # real sheets compress 5-30x; bombs compress 1000x and more
RATIO_CHECK_FROM = 1 << 20  # tiny members may compress oddly without harm
MAX_PROLOG_BYTES = 1 << 20  # XML read before the root element, looking for a DTD
BATCH_ROWS = 5_000
HEAD_ROWS = 200  # rows the header row is looked for in
SCAN_CHUNK = 1 << 20
MAX_ROW_XML = 64 << 20  # one row's XML, at most, before the scan gives up on row ends
MAX_CELLS = 20_000_000  # calamine holds a sheet's whole range in memory (~32 bytes a cell)
FAR_ROWS = 1_000  # a gap of empty rows (and larger than the data above) ends the data
FAR_COLUMNS = 100
CELL = re.compile(
    rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"[^>]*?(?:/>|>(.*?)</(?:\w+:)?c>)',
    re.DOTALL,
)
CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')
FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
VALUE = re.compile(rb"<(?:\w+:)?v>[^<]")
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

WORKBOOK_FORMATS = ("xlsx", "xlsb", "ods", "xls")
EXTENSIONS = {"xlsx": ".xlsx", "xlsb": ".xlsb", "ods": ".ods", "xls": ".xls"}
# The part a zip package of each format must have.
REQUIRED_MEMBER = {"xlsx": "xl/workbook.xml", "xlsb": "xl/workbook.bin", "ods": "content.xml"}
NOT_XLSX = "檔案不是有效的 Excel（.xlsx）活頁簿，內容已損毀，無法讀取。"
ENCRYPTED = (
    "這個活頁簿受密碼保護（已加密），無法分析；請在 Excel 或 LibreOffice 中移除密碼"
    "（Excel：檔案 > 資訊 > 保護活頁簿 > 以密碼加密，清除密碼）後另存，再上傳。"
)
MAX_XLS_BYTES = 256 << 20  # calamine reads an .xls whole; BIFF files are rarely over 50 MB


def not_valid(kind: str) -> str:
    """The zh-TW refusal of a file that is a ``kind`` workbook by its container but cannot
    be read (truncated, corrupt)."""
    return f"檔案不是有效的{WORKBOOK_LABELS[kind]}，內容已損毀，無法讀取。"


def read_workbook(source: Source) -> Iterator[TableFeed]:
    """The reader for every workbook extension: the format is the content's; a file whose
    content is another workbook format than its extension says is read as what it is, with
    a zh-TW note. Raises JobError("invalid_file_format") for anything else, naming it."""
    container = workbook_container(source.path)
    if container.kind != source.format:
        source.notes.append(
            f"檔案的副檔名是 {EXTENSIONS[source.format]}，但內容其實是{container.label}，"
            "已依實際格式讀取。"
        )
        source.format = container.kind
    if container.kind == "xlsx":
        yield from read_xlsx(source)
    else:
        yield from read_other_workbook(source)


def workbook_container(path: str) -> Container:
    """The workbook ``path`` holds, or JobError naming what it holds instead."""
    container = sniff_container(path)
    if container is not None and container.kind in WORKBOOK_FORMATS:
        return container
    if container is not None:
        if container.kind == "encrypted":
            raise JobError("invalid_file_format", ENCRYPTED)
        if container.kind == "broken":
            raise JobError(
                "invalid_file_format",
                f"檔案的開頭是{container.label}，但內容已損毀（可能未完整下載或上傳），無法讀取。",
            )
        raise JobError(
            "invalid_file_format",
            f"檔案內容是{container.label}，不是 Excel 或 OpenDocument 試算表，請確認上傳的檔案。",
        )
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    if not head.strip():
        raise JobError("empty_file", "檔案是空的，沒有任何資料。")
    label = binary_label(head)
    if label:
        raise JobError(
            "invalid_file_format",
            f"檔案內容是 {label}，不是 Excel 或 OpenDocument 試算表，請確認上傳的檔案。",
        )
    label = text_label(head)
    if label:
        raise JobError(
            "invalid_file_format",
            f"檔案內容是{label}，不是真正的 Excel 活頁簿；請用 Excel 開啟後另存為 .xlsx"
            "（或 CSV）再上傳。",
        )
    raise JobError(
        "invalid_file_format",
        "這個檔案的內容是文字（例如 CSV），不是 Excel 活頁簿；若它是 CSV，請把副檔名改成 .csv"
        " 再上傳。",
    )


def read_xlsx(source: Source) -> Iterator[TableFeed]:
    """The reader for .xlsx: one table per worksheet with data, its header row found with
    the same rules as delimited text (``dialect.find_table``)."""
    check_zip(source.path)
    source.progress.at(0.02, "已檢查 Excel 檔案結構", force=True)
    workbook = _open_workbook(source.path, "xlsx")
    sheets = _worksheets(source, workbook)
    members = sheet_members(source.path, [meta.name for meta in sheets])
    bounds = _progress_bounds(sheet_sizes(source.path, members))
    found = 0
    for meta, member, (start, end) in zip(sheets, members, bounds, strict=True):
        span = (0.02 + 0.98 * start, 0.02 + 0.98 * end)
        source.progress.at(span[0], f"正在檢查工作表「{meta.name}」", force=True)
        scan = scan_sheet(source.path, member, source.ctx.check_cancelled)
        if scan.rows * scan.columns > MAX_CELLS or scan.far:
            rows = _bounded_rows(source, member, meta.name, scan)
        else:
            source.progress.at(span[0], f"正在載入工作表「{meta.name}」", force=True)
            sheet = _in_thread(source.ctx, partial(workbook.get_sheet_by_name, meta.name))
            rows = sheet.iter_rows
        feed = _noted(source, meta, _sheet_feed(rows, meta.name, span, scan))
        if feed is None:
            continue
        found += 1
        yield feed
    if not found:
        raise JobError("empty_file", "Excel 檔中的工作表都沒有資料。")


def _worksheets(source: Source, workbook: python_calamine.CalamineWorkbook) -> list[Any]:
    """The workbook's worksheets' metadata; chart sheets and the like are skipped, noted."""
    sheets = []
    for meta in workbook.sheets_metadata:
        if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
            source.notes.append(f"「{meta.name}」不是一般工作表（例如圖表工作表），已略過。")
            continue
        sheets.append(meta)
    return sheets


def _noted(source: Source, meta: Any, feed: TableFeed | None) -> TableFeed | None:
    """A sheet's feed with what the user is told about it: an empty sheet is skipped (None),
    a hidden one analysed all the same."""
    if feed is None:
        source.notes.append(f"工作表「{meta.name}」沒有資料，已略過。")
        return None
    if meta.visible != python_calamine.SheetVisibleEnum.Visible:
        feed.notes.insert(0, f"工作表「{meta.name}」是隱藏的工作表，仍一併分析。")
    return feed


def _bounded_rows(
    source: Source, member: str | None, name: str, scan: SheetScan
) -> Callable[[], Iterator[list[Any]]]:
    """Rows of the sheet's main block read by openpyxl's streaming reader, never a range
    sized by the sheet's far-off cells; refused when even the main block is too large."""
    if scan.rows * scan.columns > MAX_CELLS:
        raise JobError(
            "invalid_file_format",
            f"工作表「{name}」的資料範圍過大（{scan.rows:,} 列 × {scan.columns:,} 欄），"
            "超出可分析的上限；請只保留需要的資料後再上傳。",
        )
    if scan.far:
        where = "、".join(scan.far_examples[:3])
        source.notes.append(
            f"工作表「{name}」在 {where} 有 {scan.far:,} 個遠離主要資料的儲存格"
            f"（主要資料在 A1:{_column_letters(scan.columns)}{scan.rows}），已略過這些儲存格。"
        )

    def rows() -> Iterator[list[Any]]:
        import openpyxl  # only for sheets calamine would load by their full range

        # A file object: openpyxl refuses a path whose extension is not .xlsx (an .xlsx
        # stored under the .xls name it was uploaded with).
        with open(source.path, "rb") as file:
            workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
            try:
                sheet = workbook[name]
                for row in sheet.iter_rows(
                    max_row=scan.rows, max_col=scan.columns, values_only=True
                ):
                    yield ["" if value is None else value for value in row]
            finally:
                workbook.close()

    return rows


def read_other_workbook(source: Source) -> Iterator[TableFeed]:
    """The reader for .xlsb, .ods and .xls (``source.format``, decided by content): the
    container's checks (zip bombs and DTDs; OLE2 size), a record scan that refuses ranges
    calamine would hold beyond MAX_CELLS, then one table per worksheet with data, with the
    same header, title-row, type and warning rules as .xlsx (no far-cell scan: a stray cell
    within the limits is read as an empty-rowed part of the sheet)."""
    kind, path = source.format, source.path
    check = source.ctx.check_cancelled
    if kind == "xls":
        if os.path.getsize(path) > MAX_XLS_BYTES:
            raise JobError(
                "invalid_file_format",
                f"舊版 Excel（.xls）檔超過 {MAX_XLS_BYTES >> 20} MB，無法分析；"
                "請用 Excel 另存為 .xlsx 後再上傳。",
            )
        try:
            cells = extent.xls_extents(path, check)
        except extent.EncryptedWorkbook:
            raise JobError("invalid_file_format", ENCRYPTED) from None
        except (ValueError, KeyError, struct.error, OSError):
            raise JobError("invalid_file_format", not_valid(kind)) from None
        _check_cells(sum(cells), "活頁簿各工作表合計")
    else:
        check_zip(path, kind)
        try:
            if kind == "ods":
                _check_cells(sum(extent.ods_extents(path, check)), "活頁簿各工作表合計")
            else:
                for size in extent.xlsb_extents(path, check).values():
                    _check_cells(size, "其中一個工作表")
        except (zipfile.BadZipFile, zlib.error, KeyError, ValueError, struct.error, OSError):
            raise JobError("invalid_file_format", not_valid(kind)) from None
    source.progress.at(0.02, f"已檢查{WORKBOOK_LABELS[kind]}的檔案結構", force=True)
    workbook = _open_workbook(path, kind)
    sheets = _worksheets(source, workbook)
    found = 0
    for index, meta in enumerate(sheets):
        span = (0.02 + 0.98 * index / len(sheets), 0.02 + 0.98 * (index + 1) / len(sheets))
        source.progress.at(span[0], f"正在載入工作表「{meta.name}」", force=True)
        sheet = _in_thread(source.ctx, partial(workbook.get_sheet_by_name, meta.name), kind)
        _check_cells(sheet.height * sheet.width, f"工作表「{meta.name}」")
        scan = SheetScan(rows=sheet.height, columns=sheet.width)
        feed = _noted(source, meta, _sheet_feed(sheet.iter_rows, meta.name, span, scan))
        if feed is None:
            continue
        found += 1
        yield feed
    if not found:
        raise JobError("empty_file", f"{WORKBOOK_LABELS[kind]}中的工作表都沒有資料。")


def _check_cells(cells: int, what: str) -> None:
    if cells > MAX_CELLS:
        raise JobError(
            "invalid_file_format",
            f"{what}的資料範圍過大（{cells:,} 個儲存格，上限 {MAX_CELLS:,}），超出可分析的上限；"
            "請只保留需要的資料（或刪除遠離資料的零星儲存格）後再上傳。",
        )


def _sheet_feed(
    iter_rows: Callable[[], Iterator[list[Any]]], name: str, span: tuple[float, float],
    scan: SheetScan,
) -> TableFeed | None:  # fmt: skip
    head_rows = []
    rows = iter_rows()
    for _ in range(HEAD_ROWS):
        row = next(rows, None)
        if row is None:
            break
        head_rows.append(row)
    records = [
        Record([_cell(value) or "" for value in row], index, 1)
        for index, row in enumerate(head_rows)
    ]
    table = find_table(records, unit="列")
    if table is None:
        return None
    first_data = table.first
    kept = len(table.names)
    total = max(scan.rows - first_data, 1)

    def batches(columns: list[int] | None, prepare: Prepare | None = None) -> Iterator[Batch]:
        wanted = list(range(kept + len(table.empty_names))) if columns is None else columns
        batch: list[list[Any]] = []
        lines: list[int] = []  # sheet rows (1-based): the rows calamine gives start at 1
        done = 0
        for index, row in enumerate(iter_rows()):
            if index < first_data or not any(_cell(value) is not None for value in row):
                continue
            batch.append(row)
            lines.append(index + 1)
            if len(batch) >= BATCH_ROWS:
                done += len(batch)
                fraction = _fraction(span, done / total)
                yield Batch(_arrays(batch, wanted, kept), fraction, None, lines)
                batch, lines = [], []
        if batch:
            yield Batch(_arrays(batch, wanted, kept), span[1], None, lines)

    notes = [f"工作表「{name}」：{note}" for note in table.notes]
    for column, count in sorted(scan.formulas_without_values.items()):
        label = table.names[column - 1] if 0 < column <= kept else _column_letters(column)
        notes.append(
            f"工作表「{name}」欄位「{label}」有 {count:,} 個公式儲存格沒有儲存計算結果"
            "（檔案可能由程式產生、從未在 Excel 中開啟），無法得知其值，統計時視為空白；"
            "請用 Excel 開啟並重新存檔後再上傳。"
        )
    preview = [
        [row[i] if i < len(row) else None for i in range(kept)] + [None] * len(table.empty_names)
        for row in head_rows[first_data:]
        if any(_cell(value) is not None for value in row)
    ]
    return TableFeed(
        name, table.names + table.empty_names, batches, preview[:PREVIEW_ROWS], notes, unit="列"
    )


def _fraction(span: tuple[float, float], share: float) -> float:
    return span[0] + (span[1] - span[0]) * min(share, 1.0)


def _arrays(rows: list[list[Any]], wanted: list[int], kept: int) -> list[pa.Array]:
    return [
        typed_array([row[i] if i < len(row) else None for row in rows])
        if i < kept
        else pa.nulls(len(rows), pa.string())
        for i in wanted
    ]


def typed_array(cells: list[Any]) -> pa.Array:
    """A column of calamine cells: typed when all its cells share a type (numbers, booleans,
    dates, date-times), otherwise text."""
    values = [None if value == "" else value for value in cells]
    kinds = {type(value) for value in values if value is not None}
    if kinds <= {int, float} and kinds:
        if all(v is None or (float(v).is_integer() and abs(v) < 2**53) for v in values):
            return pa.array([None if v is None else int(v) for v in values], pa.int64())
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if kinds == {bool}:
        return pa.array(values, pa.bool_())
    if kinds == {dt.date}:
        return pa.array(values, pa.date32())
    if kinds and kinds <= {dt.date, dt.datetime}:
        return pa.array(
            [v if v is None or isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time())
             for v in values],
            pa.timestamp("s"),
        )  # fmt: skip
    return pa.array([_cell(value) for value in values], pa.string())


def sheet_members(path: str, sheets: list[str]) -> list[str | None]:
    """The zip member holding each sheet's XML (from the workbook's relationships)."""
    try:
        with zipfile.ZipFile(path) as archive:
            ids = {
                sheet.get("name"): sheet.get(f"{{{REL_NS}}}id")
                for sheet in fromstring(archive.read("xl/workbook.xml")).iter(f"{{{MAIN_NS}}}sheet")
            }
            targets = {
                rel.get("Id"): rel.get("Target", "")
                for rel in fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            }
            names = {info.filename for info in archive.infolist()}
    except Exception:  # noqa: BLE001 - calamine reads what this cannot; checked already
        return [None] * len(sheets)
    members: list[str | None] = []
    for name in sheets:
        target = targets.get(ids.get(name)) or ""
        member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        members.append(member if member in names else None)
    return members


def sheet_sizes(path: str, members: list[str | None]) -> list[int]:
    """Uncompressed XML size of each sheet, to weigh progress; 1 if unknown."""
    with zipfile.ZipFile(path) as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
    return [max(sizes.get(member or "", 0), 1) for member in members]


@dataclass
class SheetScan:
    """What a sheet's XML says before any cell is loaded: where its cells are, and formula
    cells whose result was never stored (a workbook written by a program, never opened in
    Excel: the value is unknown, not empty).

    ``rows``/``columns``: 1-based extent of the main block of cells; ``far``: cells well
    beyond it (a stray keystroke at XFD1048576), as (reference, value) examples and count.
    """

    rows: int = 0
    columns: int = 0
    cells: int = 0
    far: int = 0
    far_examples: list[str] = field(default_factory=list)
    formulas_without_values: Counter[int] = field(default_factory=Counter)  # by column


def scan_sheet(
    path: str, member: str | None, check_cancelled: Callable[[], None] = lambda: None
) -> SheetScan:
    """Stream a sheet's XML once (bounded memory) and find its real extent."""
    scan = SheetScan()
    if member is None:
        return scan
    row_cells: Counter[int] = Counter()
    column_cells: Counter[int] = Counter()
    first_refs: dict[tuple[int, int], bytes] = {}
    with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
        carry = b""
        while True:
            check_cancelled()
            chunk = stream.read(SCAN_CHUNK)
            data = carry + chunk
            cut = data.rfind(b"</row>") + 6 if chunk else len(data)
            if cut < 6 and chunk and len(data) < MAX_ROW_XML:
                carry = data
                continue
            body, carry = data[:cut], data[cut:]
            formulas = b"<f" in body or b":f" in body
            for match in CELL.finditer(body):
                column, row = _column_index(match.group(1)), int(match.group(2))
                row_cells[row] += 1
                column_cells[column] += 1
                if len(first_refs) < 100_000:
                    first_refs.setdefault((row, column), match.group(0)[:200])
                content = match.group(3) or b""
                if formulas and FORMULA.search(content) and not VALUE.search(content):
                    scan.formulas_without_values[column] += 1
            if not chunk:
                break
    scan.cells = sum(row_cells.values())
    scan.rows = _main_extent(row_cells, FAR_ROWS)
    scan.columns = _main_extent(column_cells, FAR_COLUMNS)
    for row, column in first_refs:
        if row > scan.rows or column > scan.columns:
            scan.far_examples.append(f"{_column_letters(column)}{row}")
    if (
        scan.far_examples
        or max(row_cells, default=0) > scan.rows
        or max(column_cells, default=0) > scan.columns
    ):
        scan.far = _count_far(path, member, scan.rows, scan.columns)
    return scan


def _count_far(path: str, member: str, rows: int, columns: int) -> int:
    """Cells beyond the main block (a second pass, only for sheets that have any)."""
    far = 0
    with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
        carry = b""
        while chunk := stream.read(SCAN_CHUNK):
            data = carry + chunk
            cut = max(data.rfind(b">") + 1, 0)
            body, carry = data[:cut], data[cut:]
            for match in CELL_REF.finditer(body):
                if int(match.group(2)) > rows or _column_index(match.group(1)) > columns:
                    far += 1
    return far


def _main_extent(counts: Counter[int], far: int) -> int:
    """The last index before a gap larger than ``far`` and than everything before it."""
    last = 0
    for index in sorted(counts):
        if last and index - last > max(far, last):
            break
        last = index
    return last


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index


def _column_letters(index: int) -> str:
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _progress_bounds(sizes: list[int]) -> list[tuple[float, float]]:
    total = sum(sizes) or 1
    bounds, start = [], 0.0
    for size in sizes:
        bounds.append((start, start + size / total))
        start += size / total
    return bounds


def check_zip(path: str, kind: str = "xlsx") -> None:
    """Refuse corrupt archives, zip bombs and XML with a DTD, before anything is inflated
    (every zip workbook: .xlsx, .xlsb, .ods; ``kind`` names it in the messages)."""
    broken = not_valid(kind)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_sizes(members)
            names = {member.filename for member in members}
            if REQUIRED_MEMBER[kind] not in names:
                raise JobError("invalid_file_format", broken)
            for member in members:
                _check_xml_prolog(archive, member, broken)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,  # corrupt deflate stream
        NotImplementedError,  # unsupported compression
        RuntimeError,  # encrypted member
        EOFError,
        OSError,
        ValueError,
    ):
        raise JobError("invalid_file_format", broken) from None


def _check_sizes(members: Sequence[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_MEMBERS:
        raise JobError("invalid_file_format", "活頁簿檔內含的檔案數量異常，拒絕處理。")
    total = sum(member.file_size for member in members)
    suspicious = any(
        member.file_size > RATIO_CHECK_FROM
        and member.file_size > MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if total > MAX_TOTAL_UNCOMPRESSED or suspicious:
        raise JobError(
            "invalid_file_format",
            "活頁簿檔解壓縮後的大小異常（可能是壓縮炸彈），為了安全拒絕處理。",
        )


class _RootReached(Exception):
    pass


class _StopAtRoot:
    """An ElementTree target that stops parsing at the first element: the prolog is done."""

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        raise _RootReached

    def close(self) -> None:
        return None


def _check_xml_prolog(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, broken: str = NOT_XLSX
) -> None:
    """Feed the member to defusedxml until its root element: a DTD (where entity bombs live)
    can only come before it, and defusedxml refuses any with forbid_dtd=True.

    Every member whose content starts like XML is checked, whatever its name: a workbook's
    relationships may point a sheet at any file name.
    """
    parser = XMLParser(target=_StopAtRoot(), forbid_dtd=True)
    read = 0
    try:
        with archive.open(member) as stream:
            while read < MAX_PROLOG_BYTES:
                chunk = stream.read(16 * 1024)
                if not chunk or (read == 0 and not _looks_like_xml(chunk)):
                    return
                read += len(chunk)
                parser.feed(chunk)
    except _RootReached:
        return
    except DefusedXmlException:
        raise JobError(
            "invalid_file_format",
            "活頁簿檔內含不安全的 XML 宣告（DTD／ENTITY），為了安全拒絕處理。",
        ) from None
    except ParseError:
        raise JobError("invalid_file_format", broken) from None
    raise JobError("invalid_file_format", broken)


def _looks_like_xml(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").startswith(b"<")


def _open_workbook(path: str, kind: str) -> python_calamine.CalamineWorkbook:
    """calamine's workbook of ``path`` read as ``kind``: calamine picks its reader by the
    file name's extension, so a file stored under another one is opened through a link
    named for its real format (the open file stays valid once the link is gone)."""
    try:
        if path.lower().endswith(EXTENSIONS[kind]):
            return python_calamine.CalamineWorkbook.from_path(path)
        with tempfile.TemporaryDirectory(prefix="workbook-") as folder:
            link = os.path.join(folder, f"book{EXTENSIONS[kind]}")
            os.symlink(os.path.abspath(path), link)
            return python_calamine.CalamineWorkbook.from_path(link)
    except python_calamine.PasswordError:
        raise JobError("invalid_file_format", ENCRYPTED) from None
    except Exception:  # noqa: BLE001 - calamine raises many error types for bad files
        raise JobError("invalid_file_format", not_valid(kind)) from None


def _in_thread(ctx: JobContext, load: Callable[[], Any], kind: str = "xlsx") -> Any:
    """Run a long call (calamine releases the GIL) while still noticing a cancel."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = load()
        except Exception as error:  # noqa: BLE001 - re-raised as a JobError below
            outcome["error"] = error

    worker = threading.Thread(target=run, name="xlsx-loader", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(timeout=0.2)
        ctx.check_cancelled()
    if isinstance(outcome.get("error"), python_calamine.PasswordError):
        raise JobError("invalid_file_format", ENCRYPTED)
    if "error" in outcome:
        raise JobError("invalid_file_format", not_valid(kind))
    return outcome["value"]


def _cell(value: Any) -> str | None:
    """A calamine cell as the string the statistics expect; numbers keep integer form."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)
