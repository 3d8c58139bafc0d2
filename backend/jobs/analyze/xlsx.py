"""Excel (.xlsx): safety checks on the zip and its XML, then one table per sheet.

python-calamine (Rust) reads a 100k-row sheet in ~1.5 s where openpyxl takes ~25 s. It loads
a whole sheet at once, so before handing it the file we refuse, from the zip central
directory alone, archives that would inflate to more than we are willing to hold (zip bombs),
and refuse any DTD in the XML parts (entity bombs) with defusedxml.
"""

from __future__ import annotations

import datetime as dt
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pyarrow as pa
import python_calamine
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, XMLParser, fromstring

from backend.jobs.analyze.dialect import Record, find_table
from backend.jobs.analyze.source import Batch, Source, TableFeed
from backend.jobs.analyze.stats import PREVIEW_ROWS
from backend.jobs.context import JobContext, JobError

MAX_MEMBERS = 10_000
MAX_TOTAL_UNCOMPRESSED = 512 << 20  # calamine holds a whole sheet in memory
MAX_RATIO = 100  # real sheets compress 5-30x; bombs compress 1000x and more
RATIO_CHECK_FROM = 1 << 20  # tiny members may compress oddly without harm
MAX_PROLOG_BYTES = 1 << 20  # XML read before the root element, looking for a DTD
BATCH_ROWS = 5_000
HEAD_ROWS = 200  # rows the header row is looked for in
# Share of a sheet's progress given to calamine loading it (measured: ~40% of the time);
# calamine cannot tell how far it is, so progress jumps over the load.
LOAD_SHARE = 0.4
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

NOT_XLSX = "檔案不是有效的 Excel（.xlsx）檔案，可能已損毀、受密碼保護，或其實是其他格式。"


def read_xlsx(source: Source) -> Iterator[TableFeed]:
    """The reader for .xlsx: one table per worksheet with data, its header row found with
    the same rules as delimited text (``dialect.find_table``)."""
    check_zip(source.path)
    source.progress.at(0.02, "已檢查 Excel 檔案結構", force=True)
    workbook = _open_workbook(source.path)
    sheets = []
    for meta in workbook.sheets_metadata:
        if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
            source.notes.append(f"「{meta.name}」不是一般工作表（例如圖表工作表），已略過。")
            continue
        sheets.append(meta)
    bounds = _progress_bounds(sheet_sizes(source.path, [meta.name for meta in sheets]))
    found = 0
    for meta, (start, end) in zip(sheets, bounds, strict=True):
        span = (0.02 + 0.98 * start, 0.02 + 0.98 * end)
        source.progress.at(span[0], f"正在載入工作表「{meta.name}」", force=True)
        sheet = _in_thread(source.ctx, lambda name=meta.name: workbook.get_sheet_by_name(name))
        feed = _sheet_feed(sheet, meta.name, span)
        if feed is None:
            source.notes.append(f"工作表「{meta.name}」沒有資料，已略過。")
            continue
        if meta.visible != python_calamine.SheetVisibleEnum.Visible:
            feed.notes.insert(0, f"工作表「{meta.name}」是隱藏的工作表，仍一併分析。")
        found += 1
        yield feed
    if not found:
        raise JobError("empty_file", "Excel 檔中的工作表都沒有資料。")


def _sheet_feed(
    sheet: python_calamine.CalamineSheet, name: str, span: tuple[float, float]
) -> TableFeed | None:
    head_rows = []
    rows = sheet.iter_rows()
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
    total = max(sheet.height - first_data, 1)

    def batches(columns: list[int] | None) -> Iterator[Batch]:
        wanted = list(range(kept + len(table.empty_names))) if columns is None else columns
        batch: list[list[Any]] = []
        done = 0
        for index, row in enumerate(sheet.iter_rows()):
            if index < first_data or not any(_cell(value) is not None for value in row):
                continue
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                done += len(batch)
                yield Batch(_arrays(batch, wanted, kept), _fraction(span, done / total))
                batch = []
        if batch:
            yield Batch(_arrays(batch, wanted, kept), span[1])

    notes = list(table.notes)
    preview = [
        [row[i] if i < len(row) else None for i in range(kept)] + [None] * len(table.empty_names)
        for row in head_rows[first_data:]
        if any(_cell(value) is not None for value in row)
    ]
    return TableFeed(name, table.names + table.empty_names, batches, preview[:PREVIEW_ROWS], notes)


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


def sheet_sizes(path: str, sheets: list[str]) -> list[int]:
    """Uncompressed XML size of each sheet, to weigh progress; equal weights if unknown."""
    try:
        with zipfile.ZipFile(path) as archive:
            ids = {
                sheet.get("name"): sheet.get(f"{{{REL_NS}}}id")
                for sheet in fromstring(archive.read("xl/workbook.xml")).iter(f"{{{MAIN_NS}}}sheet")
            }
            targets = {
                rel.get("Id"): rel.get("Target", "").lstrip("/").removeprefix("xl/")
                for rel in fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            }
            sizes = {info.filename: info.file_size for info in archive.infolist()}
            return [max(sizes.get(f"xl/{targets.get(ids.get(name))}", 0), 1) for name in sheets]
    except Exception:  # noqa: BLE001 - only a progress weight; the sheets were checked already
        return [1] * len(sheets)


def _progress_bounds(sizes: list[int]) -> list[tuple[float, float]]:
    total = sum(sizes) or 1
    bounds, start = [], 0.0
    for size in sizes:
        bounds.append((start, start + size / total))
        start += size / total
    return bounds


def check_zip(path: str) -> None:
    """Refuse corrupt archives, zip bombs and XML with a DTD, before anything is inflated."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_sizes(members)
            names = {member.filename for member in members}
            if "xl/workbook.xml" not in names:
                raise JobError("invalid_file_format", NOT_XLSX)
            for member in members:
                _check_xml_prolog(archive, member)
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
        raise JobError("invalid_file_format", NOT_XLSX) from None


def _check_sizes(members: Sequence[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_MEMBERS:
        raise JobError("invalid_file_format", "Excel 檔內含的檔案數量異常，拒絕處理。")
    total = sum(member.file_size for member in members)
    suspicious = any(
        member.file_size > RATIO_CHECK_FROM
        and member.file_size > MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if total > MAX_TOTAL_UNCOMPRESSED or suspicious:
        raise JobError(
            "invalid_file_format",
            "Excel 檔解壓縮後的大小異常（可能是壓縮炸彈），為了安全拒絕處理。",
        )


class _RootReached(Exception):
    pass


class _StopAtRoot:
    """An ElementTree target that stops parsing at the first element: the prolog is done."""

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        raise _RootReached

    def close(self) -> None:
        return None


def _check_xml_prolog(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
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
            "Excel 檔內含不安全的 XML 宣告（DTD／ENTITY），為了安全拒絕處理。",
        ) from None
    except ParseError:
        raise JobError("invalid_file_format", NOT_XLSX) from None
    raise JobError("invalid_file_format", NOT_XLSX)


def _looks_like_xml(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").startswith(b"<")


def _open_workbook(path: str) -> python_calamine.CalamineWorkbook:
    try:
        return python_calamine.CalamineWorkbook.from_path(path)
    except Exception:  # noqa: BLE001 - calamine raises many error types for bad files
        raise JobError("invalid_file_format", NOT_XLSX) from None


def _in_thread(ctx: JobContext, load: Callable[[], Any]) -> Any:
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
    if "error" in outcome:
        raise JobError("invalid_file_format", NOT_XLSX)
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
