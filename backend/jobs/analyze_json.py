"""JSON: an array of records, JSON Lines, or an object holding arrays, streamed value by value.

What becomes a table, as users would expect:
- an array → one table, one row per element (an object's keys are columns; any other
  element is a row with a single column 「值」);
- JSON Lines (one value per line) → the same;
- an object → one table per member whose value is an array (``{"data": [...]}`` is the
  usual API export); without such a member, the object itself is a one-row table;
- a lone scalar → JobError("invalid_file_format").
Nested values are stringified as JSON. Only the top-level structure is streamed: memory is
bounded by the largest single element, which is capped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from backend.jobs.analyze_stats import Progress, TableStats
from backend.jobs.context import JobError
from backend.jobs.encoding import DecodedText

BATCH_ROWS = 2_000
MAX_VALUE_CHARS = 64 << 20
SCALAR_COLUMN = "值"
WHITESPACE = re.compile(r"[ \t\n\r]*")
DECODER = json.JSONDecoder()


class JsonStream:
    """A cursor over decoded text that parses one JSON value at a time."""

    def __init__(self, text: DecodedText) -> None:
        self.text = text
        self._chunks = text.chunks()
        self.buffer = ""
        self.position = 0
        self.eof = False
        self._dropped_lines = 0

    def _read_more(self) -> bool:
        if self.eof:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self.eof = True
            return False
        if self.position > (1 << 20):
            self._dropped_lines += self.buffer.count("\n", 0, self.position)
            self.buffer = self.buffer[self.position :]
            self.position = 0
        self.buffer += chunk
        return True

    def peek(self) -> str | None:
        """The next non-blank character (not consumed), or None at the end."""
        if self.position < len(self.buffer) and self.buffer[self.position] not in " \t\r\n":
            return self.buffer[self.position]
        while True:
            self.position = WHITESPACE.match(self.buffer, self.position).end()  # type: ignore[union-attr]
            if self.position < len(self.buffer):
                return self.buffer[self.position]
            if not self._read_more():
                return None

    def take(self, char: str) -> None:
        if self.peek() != char:
            raise self._error(f"預期「{char}」")
        self.position += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = DECODER.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as error:
                if self._grow():
                    continue
                raise self._error("內容不完整或有語法錯誤", error.pos) from None
            except RecursionError:
                raise JobError("invalid_file_format", "JSON 的巢狀層數過深，無法分析。") from None
            if end == len(self.buffer) and self._grow():
                continue  # a number at the end of the buffer may go on in the next chunk
            self.position = end
            return value

    def _grow(self) -> bool:
        """Read at least as much again as the pending value holds (linear total work)."""
        pending = len(self.buffer) - self.position
        if pending > MAX_VALUE_CHARS:
            raise JobError(
                "invalid_file_format",
                "JSON 中單一筆資料過大（超過 64 MB），無法分析；請改用陣列或 JSON Lines 格式。",
            )
        grown = False
        while len(self.buffer) - self.position < max(2 * pending, 1) and self._read_more():
            grown = True
        return grown

    def _error(self, reason: str, position: int | None = None) -> JobError:
        at = self.position if position is None else position
        line = self._dropped_lines + self.buffer.count("\n", 0, at) + 1
        return JobError("invalid_file_format", f"JSON 格式錯誤（第 {line:,} 行附近）：{reason}。")


def analyze_json(
    text: DecodedText, table_name: str, progress: Progress
) -> tuple[list[dict], list[str]]:
    stream = JsonStream(text)
    first = stream.peek()
    if first is None:
        raise JobError("empty_file", "檔案是空的，沒有任何資料。")
    warnings: list[str] = []
    if first == "[":
        tables = [_rows_table(table_name, _array_items(stream), stream, progress)]
    elif first == "{":
        tables = _object_tables(stream, table_name, progress, warnings)
    else:
        value = stream.value()
        if stream.peek() is None:
            raise JobError("invalid_file_format", "JSON 內容只有單一數值，不是表格資料。")
        tables = [_rows_table(table_name, _prepend(value, _lines_after(stream)), stream, progress)]
    if stream.peek() is not None:
        raise stream._error("資料結尾之後還有多餘的內容")
    if not any(table.columns for table in tables):
        raise JobError("empty_file", "JSON 檔中沒有任何資料。")
    results, notes = [], []
    for table in tables:
        results.append(table.result())
        notes += table.warnings()
    return results, warnings + notes


def _array_items(stream: JsonStream) -> Iterator[Any]:
    stream.take("[")
    if stream.peek() == "]":
        stream.position += 1
        return
    while True:
        yield stream.value()
        separator = stream.peek()
        if separator == "]":
            stream.position += 1
            return
        stream.take(",")


def _object_tables(
    stream: JsonStream, table_name: str, progress: Progress, warnings: list[str]
) -> list[TableStats]:
    first = stream.value() if _is_json_lines(stream) else None
    if first is not None:
        return [_rows_table(table_name, _prepend(first, _lines_after(stream)), stream, progress)]
    stream.take("{")
    tables: list[TableStats] = []
    fields: dict[str, Any] = {}
    while stream.peek() != "}":
        if tables or fields:
            stream.take(",")
        key = stream.value()
        stream.take(":")
        if stream.peek() == "[":
            tables.append(_rows_table(str(key), _array_items(stream), stream, progress))
        else:
            fields[str(key)] = stream.value()
    stream.position += 1
    if not tables:
        return [_rows_table(table_name, iter([fields]), stream, progress)]
    if fields:
        warnings.append(f"已略過最上層不是陣列的欄位：{'、'.join(list(fields)[:10])}。")
    return tables


def _is_json_lines(stream: JsonStream) -> bool:
    """Whether the first line is a complete object followed by more values."""
    start = stream.position
    end = stream.buffer.find("\n", start)
    if end == -1:
        return False
    try:
        json.loads(stream.buffer[start:end])
    except (json.JSONDecodeError, RecursionError):
        return False
    rest = stream.buffer[end:].strip()
    return bool(rest) and rest[0] in "{["


def _lines_after(stream: JsonStream) -> Iterator[Any]:
    """The values after the first of a JSON Lines file (any blank-separated values)."""
    while stream.peek() is not None:
        yield stream.value()


def _prepend(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def _rows_table(
    name: str, rows: Iterator[Any], stream: JsonStream, progress: Progress
) -> TableStats:
    table = TableStats(name, [])
    index: dict[str, int] = {}
    batch: list[dict] = []
    for row in rows:
        batch.append(row if isinstance(row, dict) else {SCALAR_COLUMN: row})
        if len(batch) >= BATCH_ROWS:
            _add_rows(table, index, batch)
            batch = []
            progress.at(stream.text.fraction(), f"正在讀取 JSON 資料（{table.rows:,} 筆）")
    _add_rows(table, index, batch)
    return table


def _add_rows(table: TableStats, index: dict[str, int], rows: list[dict]) -> None:
    if not rows:
        return
    for row in rows:
        for key in row:
            if key not in index:
                index[key] = len(table.columns)
                table.add_column(str(key) or f"欄位 {len(table.columns) + 1}")
    columns = [string_column([row.get(key) for row in rows]) for key in index]
    table.add_batch(columns)


def string_column(values: list[Any]) -> pa.Array:
    """JSON values as a string array; pyarrow converts a column of one scalar type at once."""
    try:
        array = pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        array = None  # mixed types
    if array is not None and pa.types.is_string(array.type):
        return pc.if_else(pc.equal(array, ""), None, array)
    if array is not None and (
        pa.types.is_integer(array.type)
        or pa.types.is_floating(array.type)  # shortest round-trip text, 2.0 becomes "2"
        or pa.types.is_boolean(array.type)
        or pa.types.is_null(array.type)
    ):
        return array.cast(pa.string())
    return pa.array([cell_text(value) for value in values], pa.string())


def cell_text(value: Any) -> str | None:
    """A JSON value as the string cell the statistics expect (None/"" are empty cells)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)
