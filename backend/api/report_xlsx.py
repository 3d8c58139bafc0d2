"""The analysis result as an Excel workbook a person can hand on (``?format=xlsx``).

Sheets: 摘要 (the file and what was decided on the user's behalf), 欄位統計 (one row per
column of every table) and one 預覽 sheet per table (its first rows, under a first cell
that names the table in full, as a sheet name may be cut at Excel's 31 characters). Numbers
keep their type, with thousands separators and as many decimals as they need; dates,
date-times and times of day are Excel dates and times (a date-time with a UTC offset, as
the analysis gives a column that had offsets, is shown in the report's time zone, which the
摘要 sheet names, since an Excel date-time has no zone); column widths follow the longest
content, a CJK character counted twice as wide.

Written with XlsxWriter: the report is only ever written, never read back or edited, and
XlsxWriter writes faster than openpyxl with full control of number formats, widths and
frozen header rows. Every text cell goes through ``write_string``, so a value such as
``=HYPERLINK(...)`` from an uploaded file stays text and never becomes a formula (CSV
injection, OWASP).
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from backend.files import clean_filename
from backend.vocabulary import (
    COLUMN_TYPE_LABELS,
    DELIMITER_LABELS,
    ENCODING_LABELS,
    FILE_FORMAT_LABELS,
    VALUE_FORMAT_LABELS,
)

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SUMMARY_SHEET = "摘要"
STATS_SHEET = "欄位統計"
PREVIEW_PREFIX = "預覽 "

STATS_HEADERS = [
    "表格", "欄位", "型別", "有值筆數", "空白筆數", "空白比例", "最小值", "最大值",
    "平均值", "標準差", "單位", "原本寫法", "最常見的值（次數）",
]  # fmt: skip

MAX_SHEET_NAME = 31  # Excel's limit, in UTF-16 code units
MAX_CELL_TEXT = 32_767  # Excel's limit for one cell
MAX_COLUMNS = 16_384  # Excel's limit for one sheet
MAX_EXACT_INT = 2**53  # beyond this Excel (a double) would change the digits: kept as text
MAX_DECIMALS = 6
MIN_WIDTH, MAX_WIDTH = 6, 60
SUMMARY_VALUE_WIDTH = 80
TOP_VALUES_WIDTH = 50  # the most common values wrap within this width
ROW_HEIGHT_PT = 16.5  # one line of 11 pt text with CJK glyphs

_BOOLEAN_WORDS = {"true": "是", "false": "否", "True": "是", "False": "否"}
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def analysis_workbook(
    result: dict[str, Any],
    *,
    filename: str | None,
    size_bytes: int | None,
    finished_at: float | None,
    timezone: ZoneInfo | None = None,
) -> bytes:
    """The .xlsx file for one analysis ``result`` (the ``AnalysisResult`` shape);
    ``finished_at`` (Unix seconds) and date-times with a UTC offset are written in
    ``timezone`` (UTC when None)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            # Defence in depth: write() never guesses a formula, URL or number from text.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    writer = _ReportWriter(workbook, timezone)
    writer.summary(result, filename, size_bytes, finished_at, timezone)
    writer.column_stats(result.get("tables") or [])
    for table in result.get("tables") or []:
        writer.preview(table)
    workbook.close()
    return buffer.getvalue()


def display_width(text: str) -> int:
    """How many character cells ``text`` takes in a fixed-width view: East Asian wide and
    fullwidth characters count two (Unicode UAX #11), combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def sheet_name(name: str, taken: set[str]) -> str:
    """A valid, unused sheet name from ``name``: no []:*?/\\ or control characters, no
    invisible format characters (see `backend.files.clean_filename`), no leading or
    trailing apostrophe, at most 31 UTF-16 units (Excel's limits, "Excel specifications
    and limits"), unique ignoring case (as Excel compares them); a clash, also of two
    names alike in their first 31 units, gets " (2)", " (3)"... ``taken`` holds the
    `_sheet_keys` of each name in use and is updated. A cut name no longer says which table a
    preview sheet shows: its first cell does (see ``_ReportWriter.preview``)."""
    base = _SHEET_FORBIDDEN.sub("_", clean_filename(name)[0]).strip().strip("'").strip()
    base = base or "表格"
    candidate = _fit(base, MAX_SHEET_NAME)
    number = 2
    while _sheet_keys(candidate) & taken:
        suffix = f" ({number})"
        candidate = _fit(base, MAX_SHEET_NAME - len(suffix)).rstrip("' ") + suffix
        number += 1
    taken.update(_sheet_keys(candidate))
    return candidate


def _sheet_keys(name: str) -> set[str]:
    """What two sheet names must not share: Excel compares them ignoring case (and
    XlsxWriter refuses a name equal to another's ``lower()``); folding full-width forms
    (NFKC) and case (casefold, so ß is ss) as well errs on the safe side, at worst giving a
    name a " (2)" Excel would not have needed."""
    return {name.lower(), unicodedata.normalize("NFKC", name).casefold()}


def _fit(text: str, units: int) -> str:
    """``text`` cut to at most ``units`` UTF-16 code units, never inside a character."""
    out, used = [], 0
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > units:
            break
        out.append(char)
        used += size
    return "".join(out)


def _decimals(value: float) -> int:
    """Decimals needed to show ``value`` as written (its shortest repr), at most MAX_DECIMALS."""
    if not math.isfinite(value) or float(value).is_integer():
        return 0
    text = f"{value:.{MAX_DECIMALS}f}".rstrip("0")
    return min(len(text.partition(".")[2]), MAX_DECIMALS)


def _figure_decimals(value: float) -> int:
    """Decimals for a computed figure (mean, std): two, or three significant digits when
    it is below 1."""
    if not math.isfinite(value) or value == 0 or abs(value) >= 1:
        return 2
    return min(max(2, 2 - math.floor(math.log10(abs(value)))), MAX_DECIMALS)


def _number_format(decimals: int, unit: str | None = None) -> str:
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    if not unit:
        return pattern
    unit = unit.replace('"', "")
    return f'{pattern}"{unit}"' if unit == "%" else f'"{unit}"{pattern}'


def _shown(value: float, num_format: str) -> str:
    """About what Excel shows for ``value`` in ``num_format`` (for the column width)."""
    unquoted = re.sub(r'"[^"]*"', "", num_format)
    decimals = len(unquoted.partition(".")[2].rstrip("%"))
    if unquoted.endswith("%"):
        return f"{value * 100:.{decimals}f}%"
    grouping = "," if "," in unquoted else ""
    return f"{value:{grouping}.{decimals}f}" + "".join(re.findall(r'"([^"]*)"', num_format))


def _iso_to_datetime(
    text: str, timezone: ZoneInfo | None = None, naive_is_utc: bool = False
) -> datetime | None:
    """An ISO date or date-time Excel can hold (1900 to 9999), naive; one with a UTC offset
    (or any, with ``naive_is_utc``, as the analysis takes those beside offsets) as the
    clock shows it in ``timezone`` (UTC when None); else None."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None and naive_is_utc:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(timezone or UTC).replace(tzinfo=None)
        except OverflowError:  # past year 9999 in that zone
            return None
    return parsed if 1900 <= parsed.year <= 9999 else None


def _iso_to_time(text: str) -> time | None:
    """An ISO time of day ("08:30:00"), without a zone; else None."""
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is None else None


def _zone_name(timezone: tzinfo | None) -> str:
    return "UTC" if timezone is None or timezone is UTC else str(timezone)


def _has_offsets(tables: list[dict[str, Any]]) -> bool:
    """Some date-time column was written with UTC offsets (its figures are UTC)."""
    return any(
        "utc_offset" in (column.get("formats") or [])
        for table in tables
        for column in table.get("columns") or []
    )


class _ReportWriter:
    """Writes the sheets, tracking each column's widest content for its width."""

    def __init__(self, workbook: Workbook, timezone: ZoneInfo | None = None) -> None:
        self.workbook = workbook
        self.timezone = timezone
        self.taken: set[str] = set()
        self._formats: dict[tuple[tuple[str, Any], ...], Any] = {}
        self._widths: dict[int, dict[int, int]] = {}
        self._wrapped: dict[int, list[tuple[int, int, str]]] = {}
        self.plain = self.format()
        self.header = self.format(bold=True, bg_color="#DDEBF7", bottom=1, align="center")
        self.title = self.format(bold=True, font_size=14)
        self.label = self.format(bold=True)
        self.sub_label = self.format(indent=1)
        self.wrapped = self.format(text_wrap=True)

    def format(self, **properties: Any) -> Any:
        """A shared cell format; top-aligned unless said otherwise, as rows may grow tall."""
        properties.setdefault("valign", "top")
        key = tuple(sorted(properties.items()))
        if key not in self._formats:
            self._formats[key] = self.workbook.add_format(properties)
        return self._formats[key]

    def sheet(self, name: str, *, landscape: bool = True) -> Worksheet:
        """A new sheet that prints on A4, as wide as one page (as many pages down as needed)."""
        worksheet = self.workbook.add_worksheet(sheet_name(name, self.taken))
        worksheet.set_paper(9)
        worksheet.fit_to_pages(1, 0)
        if landscape:
            worksheet.set_landscape()
        self._widths[id(worksheet)] = {}
        self._wrapped[id(worksheet)] = []
        return worksheet

    # -- cells ---------------------------------------------------------------------------

    def _seen(self, worksheet: Worksheet, col: int, shown: str) -> None:
        widths = self._widths[id(worksheet)]
        longest = max((display_width(line) for line in shown.splitlines()), default=0)
        widths[col] = max(widths.get(col, 0), longest)

    def text(self, worksheet: Worksheet, row: int, col: int, value: str, fmt: Any = None) -> None:
        value = value[:MAX_CELL_TEXT]
        worksheet.write_string(row, col, value, fmt or self.plain)
        self._seen(worksheet, col, value)

    def wrapped_text(self, worksheet: Worksheet, row: int, col: int, value: str) -> None:
        """Text that wraps within its column; the row is made tall enough in `finish`."""
        self.text(worksheet, row, col, value, self.wrapped)
        self._wrapped[id(worksheet)].append((row, col, value[:MAX_CELL_TEXT]))

    def number(
        self, worksheet: Worksheet, row: int, col: int, value: float, num_format: str, **extra: Any
    ) -> None:
        if isinstance(value, int) and abs(value) > MAX_EXACT_INT:
            self.text(worksheet, row, col, str(value))
            return
        if isinstance(value, float) and not math.isfinite(value):
            self.text(worksheet, row, col, str(value))
            return
        worksheet.write_number(row, col, value, self.format(num_format=num_format, **extra))
        self._seen(worksheet, col, _shown(value, num_format))

    def moment(
        self, worksheet: Worksheet, row: int, col: int, value: datetime | date | time
    ) -> None:
        fraction = ".000" if isinstance(value, datetime | time) and value.microsecond else ""
        if isinstance(value, time):
            num_format = "hh:mm:ss" + fraction
        elif isinstance(value, datetime) and value.time() != datetime.min.time():
            num_format = "yyyy-mm-dd hh:mm:ss" + fraction
        else:
            num_format = "yyyy-mm-dd"
        worksheet.write_datetime(row, col, value, self.format(num_format=num_format))
        self._seen(worksheet, col, num_format)

    def cell(self, worksheet: Worksheet, row: int, col: int, value: Any, column: dict) -> None:
        """A value of ``column`` (a ColumnSummary) with the format its type calls for."""
        kind = column.get("type")
        if value is None:
            return
        if isinstance(value, bool):
            self.text(worksheet, row, col, "是" if value else "否")
        elif isinstance(value, int | float) and kind in ("integer", "float"):
            decimals = 0 if kind == "integer" else column["_decimals"]
            self.number(worksheet, row, col, value, _number_format(decimals, column.get("unit")))
        elif isinstance(value, int | float):
            self.number(worksheet, row, col, value, _number_format(_decimals(float(value))))
        elif isinstance(value, str) and kind in ("date", "datetime", "time"):
            moment: datetime | time | None
            if kind == "time":
                moment = _iso_to_time(value)
            else:
                utc = "utc_offset" in (column.get("formats") or [])
                moment = _iso_to_datetime(value, self.timezone, naive_is_utc=utc)
            if moment is None:
                self.text(worksheet, row, col, value)
            else:
                self.moment(worksheet, row, col, moment)
        else:
            self.text(worksheet, row, col, str(value))

    def finish(self, worksheet: Worksheet, fixed: dict[int, int] | None = None) -> None:
        """Set each column's width (``fixed`` ones as given) and the height of rows with
        wrapped text (Excel and LibreOffice do not grow a row by themselves on opening)."""
        widths: dict[int, int] = {}
        for col, width in self._widths[id(worksheet)].items():
            if fixed and col in fixed:
                widths[col] = fixed[col]
            else:
                widths[col] = min(max(width + 3, MIN_WIDTH), MAX_WIDTH)
            worksheet.set_column(col, col, widths[col])
        lines: dict[int, int] = {}
        for row, col, value in self._wrapped[id(worksheet)]:
            room = max(widths.get(col, MIN_WIDTH) - 1, 1)
            needed = sum(
                max(1, math.ceil(display_width(line) / room)) for line in value.split("\n")
            )
            lines[row] = max(lines.get(row, 1), needed)
        for row, count in lines.items():
            if count > 1:
                worksheet.set_row(row, ROW_HEIGHT_PT * count)

    def headers(self, worksheet: Worksheet, names: list[str], row: int = 0) -> None:
        """A bold header row at ``row``, frozen (with the rows above it) and repeated on
        every printed page; its filter buttons take about two characters more."""
        for col, name in enumerate(names):
            self.text(worksheet, row, col, name, self.header)
            self._seen(worksheet, col, name + "  ")
        worksheet.freeze_panes(row + 1, 0)
        worksheet.repeat_rows(0, row)

    # -- sheets --------------------------------------------------------------------------

    def summary(
        self,
        result: dict[str, Any],
        filename: str | None,
        size_bytes: int | None,
        finished_at: float | None,
        timezone: ZoneInfo | None = None,
    ) -> None:
        worksheet = self.sheet(SUMMARY_SHEET, landscape=False)
        worksheet.write_string(0, 0, "檔案分析報告", self.title)
        worksheet.set_row(0, 24)
        row = 2

        def line(label: str, value: Any, num_format: str | None = None, sub: bool = False) -> None:
            nonlocal row
            self.text(worksheet, row, 0, label, self.sub_label if sub else self.label)
            if isinstance(value, datetime):
                worksheet.write_datetime(
                    row, 1, value, self.format(num_format="yyyy-mm-dd hh:mm:ss", align="left")
                )
            elif isinstance(value, int | float):
                self.number(worksheet, row, 1, value, num_format or "#,##0", align="left")
            else:
                self.wrapped_text(worksheet, row, 1, str(value))
            row += 1

        line("檔案名稱", clean_filename(filename or "")[0] or "（未命名）")
        if size_bytes is not None:
            line("檔案大小", size_bytes, '#,##0" 位元組"')
        file_format = result.get("format")
        line(
            "檔案格式",
            FILE_FORMAT_LABELS.get(file_format, file_format) if file_format else "（不明）",
        )
        encoding = result.get("encoding")
        line("文字編碼", ENCODING_LABELS.get(encoding, encoding) if encoding else "（不適用）")
        delimiter = result.get("delimiter")
        if delimiter is not None:
            line("分隔符號", DELIMITER_LABELS.get(delimiter, delimiter))
        tables = result.get("tables") or []
        line("表格數", len(tables))
        for table in tables:
            line("表格", table["name"])
            line("資料列數", table["rows"], sub=True)
            line("欄位數", len(table["columns"]), sub=True)
        text = result.get("text")
        if text:
            line("文字行數", text["lines"])
            line("字元數", text["characters"])
            line("字數", text["words"])
        if finished_at is not None:
            zone = timezone or UTC
            moment = datetime.fromtimestamp(finished_at, zone).replace(tzinfo=None)
            line(f"分析完成時間（{_zone_name(zone)}）", moment)
        warnings = list(result.get("warnings") or [])
        if _has_offsets(tables):
            warnings.append(
                f"帶有時區的日期時間在「{STATS_SHEET}」與預覽工作表中以 {_zone_name(timezone)} "
                "時間顯示（Excel 的日期時間不含時區）。"
            )
        for table in tables:
            if len(table["columns"]) > MAX_COLUMNS:
                warnings.append(
                    f"「{table['name']}」有 {len(table['columns']):,} 個欄位，超過 Excel 每個工作表 "
                    f"{MAX_COLUMNS:,} 欄的上限：預覽工作表只列出前 {MAX_COLUMNS:,} 欄，"
                    "欄位統計則列出全部。"
                )
        row += 1
        self.text(worksheet, row, 0, "說明", self.label)
        if not warnings:
            self.text(worksheet, row, 1, "（沒有需要說明的地方）")
        for number, warning in enumerate(warnings, start=1):
            shown = f"{number}. {warning}"
            self.wrapped_text(worksheet, row, 1, shown)
            row += 1
        self.finish(worksheet, fixed={1: SUMMARY_VALUE_WIDTH})

    def column_stats(self, tables: list[dict[str, Any]]) -> None:
        worksheet = self.sheet(STATS_SHEET)
        self.headers(worksheet, STATS_HEADERS)
        row = 1
        for table in tables:
            for column in table["columns"]:
                self._column_row(worksheet, row, table, _with_decimals(column, table))
                row += 1
        if row == 1:
            self.text(worksheet, 1, 0, "（這個檔案沒有表格）")
        else:
            worksheet.autofilter(0, 0, row - 1, len(STATS_HEADERS) - 1)
        top_width = self._widths[id(worksheet)].get(12, 0) + 3
        self.finish(worksheet, fixed={12: min(max(top_width, MIN_WIDTH), TOP_VALUES_WIDTH)})

    def _column_row(self, worksheet: Worksheet, row: int, table: dict, column: dict) -> None:
        rows, nulls = table["rows"], column["nulls"]
        kind = column["type"]
        self.text(worksheet, row, 0, table["name"])
        self.text(worksheet, row, 1, column["name"])
        self.text(worksheet, row, 2, COLUMN_TYPE_LABELS.get(kind, kind))
        self.number(worksheet, row, 3, max(rows - nulls, 0), "#,##0")
        self.number(worksheet, row, 4, nulls, "#,##0")
        if rows:
            self.number(worksheet, row, 5, nulls / rows, "0.0%")
        self.cell(worksheet, row, 6, column.get("min"), column)
        self.cell(worksheet, row, 7, column.get("max"), column)
        unit = column.get("unit")
        for col, key in ((8, "mean"), (9, "std")):
            value = column.get(key)
            if value is not None:
                decimals = max(_figure_decimals(value), column["_decimals"])
                self.number(worksheet, row, col, value, _number_format(decimals, unit))
        if unit:
            self.text(worksheet, row, 10, unit)
        formats = column.get("formats") or []
        if formats:
            self.text(worksheet, row, 11, "、".join(VALUE_FORMAT_LABELS.get(f, f) for f in formats))
        top = column.get("top") or []
        if top:
            if kind == "boolean":  # the analysis counts them as "true" and "false"
                top = [(_BOOLEAN_WORDS.get(str(value), value), count) for value, count in top]
            shown = "、".join(f"{value}（{count:,}）" for value, count in top)
            self.wrapped_text(worksheet, row, 12, shown)

    def preview(self, table: dict[str, Any]) -> None:
        """A table's first rows. Its sheet's name may be cut (31 characters) or numbered
        to stay unique, so A1 names the table in full (`preview_title`); the column
        headers follow in row 2, the rows from row 3."""
        worksheet = self.sheet(PREVIEW_PREFIX + table["name"])
        records = table.get("preview") or []
        # Not counted in column A's width: the title runs on over the empty cells beside it.
        worksheet.write_string(0, 0, preview_title(table)[:MAX_CELL_TEXT], self.label)
        columns = [_with_decimals(column, table) for column in table["columns"][:MAX_COLUMNS]]
        self.headers(worksheet, [column["name"] for column in columns], row=1)
        for row, record in enumerate(records, start=2):
            for col, column in enumerate(columns):
                self.cell(worksheet, row, col, record.get(column["name"]), column)
        if columns:
            worksheet.autofilter(1, 0, 1 + max(len(records), 1), len(columns) - 1)
        self.finish(worksheet)


def preview_title(table: dict[str, Any]) -> str:
    """The first cell of a preview sheet: "表格：<the table's full name>（共 N 列…）"."""
    rows, shown = table["rows"], len(table.get("preview") or [])
    if shown < rows:
        return f"表格：{table['name']}（共 {rows:,} 列，這裡列出前 {shown:,} 列）"
    return f"表格：{table['name']}（共 {rows:,} 列）"


def _with_decimals(column: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    """The column with ``_decimals``: how many a float column's values need, judged from its
    minimum, maximum and previewed values, so one column reads with one format."""
    if column.get("type") != "float":
        return {**column, "_decimals": 0}
    values = [column.get("min"), column.get("max")]
    values += [record.get(column["name"]) for record in table.get("preview") or []]
    decimals = [
        _decimals(float(v))
        for v in values
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    return {**column, "_decimals": max(decimals, default=2)}
