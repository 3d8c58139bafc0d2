"""JSON: an array of records, JSON Lines, or an object holding arrays, streamed value by value.

What becomes a table, as users would expect:
- an array → one table, one row per element (an object's keys are columns; any other
  element is a row with a single column 「值」);
- JSON Lines (one value per line) → the same;
- an object → one table per member whose value is an array (``{"data": [...]}`` is the
  usual API export); without such a member, the object itself is a one-row table;
- a lone scalar → JobError("invalid_file_format").
Nested objects flatten into dotted column names (``{"a": {"b": 1}}`` gives column ``a.b``);
lists inside a row are kept as JSON text. ``NaN``/``Infinity`` (which JSON does not have, but
Python and JavaScript write) are read as empty cells, with a warning that counts them. Only
the top-level structure is streamed: memory is bounded by the largest single element,
which is capped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from backend.jobs.analyze.encoding import DecodedText
from backend.jobs.analyze.source import Batch, Prepare, Source, TableFeed
from backend.jobs.analyze.types import MAX_INTEGER_DIGITS
from backend.jobs.context import JobError

BATCH_ROWS = 2_000
MAX_VALUE_CHARS = 64 << 20
SCALAR_COLUMN = "值"
WHITESPACE = re.compile(r"[ \t\n\r]*")
LONG_INTEGER = 10**MAX_INTEGER_DIGITS  # integers this large are identifiers, kept as text


class JsonStream:
    """A cursor over decoded text that parses one JSON value at a time."""

    def __init__(self, text: DecodedText) -> None:
        self.text = text
        self._chunks = text.chunks()
        self.buffer = ""
        self.position = 0
        self.eof = False
        self._dropped_lines = 0
        self.constants = 0  # NaN, Infinity, -Infinity: not JSON, read as empty cells
        self.value_line = 1  # 1-based line where the last value read starts
        self._line = 1  # line at buffer position _line_at (newlines counted once, in order)
        self._line_at = 0
        # Columns with integers of more than 15 digits (kept as text) -> an example.
        self.long_integers: dict[str, str] = {}
        self._decoder = json.JSONDecoder(parse_constant=self._constant)

    def _constant(self, name: str) -> None:
        self.constants += 1

    def _read_more(self) -> bool:
        if self.eof:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self.eof = True
            return False
        if self.position > (1 << 20):
            self._count_lines()
            self._line_at -= self.position
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

    def _count_lines(self) -> None:
        self._line += self.buffer.count("\n", self._line_at, self.position)
        self._line_at = self.position

    def value(self) -> Any:
        self.peek()
        self._count_lines()
        self.value_line = self._line
        while True:
            try:
                value, end = self._decoder.raw_decode(self.buffer, self.position)
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


def read_json(source: Source) -> Iterator[TableFeed]:
    """The reader for .json: one table per array (see the module docstring)."""
    assert source.encoding is not None
    table_name = source.filename.rsplit(".", 1)[0] or source.filename
    walk = _Walk(source, table_name)
    seen: list[list[str]] = []
    for index, (name, rows) in enumerate(walk.tables()):
        names: list[str] = []
        seen.append(names)
        feed = TableFeed(name=name, names=names, batches=lambda columns, prepare: iter(()))
        if name != table_name:
            feed.notes.append(f"表格「{name}」取自 JSON 物件中「{name}」欄位的陣列。")
        feed.batches = _batches_of(source, table_name, index, rows, names, walk, feed.notes)
        yield feed
    if walk.skipped:
        source.notes.append(f"已略過最上層不是陣列的欄位：{'、'.join(walk.skipped[:10])}。")
    if all(not feed_names for feed_names in seen):
        raise JobError("empty_file", "JSON 檔中沒有任何資料。")
    if walk.constants:
        source.notes.append(
            f"JSON 中有 {walk.constants:,} 個 NaN 或 Infinity（不是標準 JSON 的寫法），"
            "已視為空白，不列入統計。"
        )


def _batches_of(
    source: Source,
    table_name: str,
    index: int,
    rows: Iterator[Any],
    names: list[str],
    walk: _Walk,
    notes: list[str],
) -> Callable[[list[int] | None, Prepare | None], Iterator[Batch]]:
    first = [rows]

    def batches(columns: list[int] | None, prepare: Prepare | None = None) -> Iterator[Batch]:
        if first:
            items = first.pop()
            stream = walk.stream
        else:  # a second pass: walk the file again up to this table
            again = _Walk(source, table_name)
            items = next(r for i, (_, r) in enumerate(again.tables()) if i == index)
            stream = again.stream
        stream.long_integers = {}
        yield from _row_batches(items, names, columns, stream)
        if columns is None and stream.long_integers:
            notes.append(_long_integer_note(stream.long_integers))
        nested = [name for name in names if "." in name]
        if columns is None and nested:
            shown = "、".join(f"「{name}」" for name in nested[:3])
            notes.append(f"巢狀的物件已攤平成以「.」連接的欄名（例如 {shown}）。")

    return batches


class _Walk:
    """The tables of a JSON file in order, streamed."""

    def __init__(self, source: Source, table_name: str) -> None:
        assert source.encoding is not None
        self.stream = JsonStream(DecodedText(source.path, source.encoding, chunk_size=256 * 1024))
        self.table_name = table_name
        self.skipped: list[str] = []

    @property
    def constants(self) -> int:
        return self.stream.constants

    def tables(self) -> Iterator[tuple[str, Iterator[Any]]]:
        stream = self.stream
        first = stream.peek()
        if first is None:
            raise JobError("empty_file", "檔案是空的，沒有任何資料。")
        if first == "[":
            yield self.table_name, _array_items(stream)
        elif first == "{":
            yield from self._object_tables()
        else:
            value = stream.value()
            if stream.peek() is None:
                raise JobError("invalid_file_format", "JSON 內容只有單一數值，不是表格資料。")
            yield self.table_name, _prepend(value, _lines_after(stream))
        if stream.peek() is not None:
            raise stream._error("資料結尾之後還有多餘的內容")

    def _object_tables(self) -> Iterator[tuple[str, Iterator[Any]]]:
        stream = self.stream
        if _is_json_lines(stream):
            yield self.table_name, _prepend(stream.value(), _lines_after(stream))
            return
        stream.take("{")
        fields: dict[str, Any] = {}
        found = False
        while stream.peek() != "}":
            if found or fields:
                stream.take(",")
            key = stream.value()
            stream.take(":")
            if stream.peek() == "[":
                found = True
                items = _array_items(stream)
                yield str(key), items
                for _ in items:  # the caller may not have read it all
                    pass
            else:
                fields[str(key)] = stream.value()
        stream.position += 1
        if not found:
            yield self.table_name, iter([fields])
        elif fields:
            self.skipped = list(fields)


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


def flatten(row: dict, prefix: str = "", into: dict | None = None) -> dict:
    """Nested objects as dotted keys: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    flat: dict = {} if into is None else into
    for key, value in row.items():
        name = f"{prefix}{key}" if str(key) else f"{prefix}欄位"
        if isinstance(value, dict) and value:
            flatten(value, f"{name}.", flat)
        else:
            flat[str(name)] = value
    return flat


def _row_batches(
    rows: Iterator[Any], names: list[str], columns: list[int] | None, stream: JsonStream
) -> Iterator[Batch]:
    index = {name: i for i, name in enumerate(names)}
    batch: list[dict] = []
    lines: list[int] = []  # where each record starts
    for row in rows:
        batch.append(flatten(row) if isinstance(row, dict) else {SCALAR_COLUMN: row})
        lines.append(stream.value_line)
        if len(batch) >= BATCH_ROWS:
            yield _batch(batch, names, index, columns, stream, lines)
            batch, lines = [], []
    if batch:
        yield _batch(batch, names, index, columns, stream, lines)


def _batch(
    rows: list[dict], names: list[str], index: dict[str, int], columns: list[int] | None,
    stream: JsonStream, lines: list[int],
) -> Batch:  # fmt: skip
    for row in rows:
        for key in row:
            if key not in index:
                index[key] = len(names)
                names.append(key)
    wanted = range(len(names)) if columns is None else columns
    arrays = []
    for i in wanted:
        found: list[str] = []
        arrays.append(string_column([row.get(names[i]) for row in rows], found))
        if found:
            stream.long_integers.setdefault(names[i], found[0])
    return Batch(arrays, stream.text.fraction(), None, lines)


def _long_integer_note(columns: dict[str, str]) -> str:
    shown = "、".join(
        f"「{name}」（例如 {example}）" for name, example in list(columns.items())[:5]
    )
    return (
        f"欄位{shown}有超過 {MAX_INTEGER_DIGITS} 位數的整數，已當作識別碼（編號）以文字保留原樣："
        "這麼長的數字超出數值能精確表示的範圍，當作數值會被四捨五入。"
    )


def string_column(values: list[Any], long_integers: list[str] | None = None) -> pa.Array:
    """JSON values as one array: numbers and booleans typed as JSON typed them (a number
    whose every value is whole, 2.0 included, as integers), strings as strings; a column of
    mixed types as text. pyarrow converts a column of one scalar type at once.

    A column holding an integer of more than MAX_INTEGER_DIGITS digits (beyond int64, or
    past what a float64 holds exactly) is text, every value as JSON wrote it: such numbers
    are identifiers. The first such integer is appended to ``long_integers``. Only a failed
    conversion or a huge value costs a look at the values one by one."""
    try:
        array = pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        array = None  # mixed types, or an integer beyond int64
    if array is None or (
        (pa.types.is_integer(array.type) or pa.types.is_floating(array.type))
        and _reaches(array, LONG_INTEGER)
    ):
        long = next(
            (v for v in values if type(v) is int and not -LONG_INTEGER < v < LONG_INTEGER), None
        )
        if long is not None:
            if long_integers is not None:
                long_integers.append(str(long))
            return pa.array([cell_text(value) for value in values], pa.string())
    if array is not None and pa.types.is_string(array.type):
        return pc.if_else(pc.equal(array, ""), None, array)
    if array is not None and pa.types.is_floating(array.type):
        finite = pc.is_finite(array)
        whole = pc.equal(pc.floor(array), array)
        if pc.all(pc.and_(finite, whole)).as_py() is not False:
            try:
                return array.cast(pa.int64())
            except (pa.ArrowInvalid, OverflowError):
                return array
        return array
    if array is not None and (pa.types.is_integer(array.type) or pa.types.is_boolean(array.type)):
        return array
    if array is not None and pa.types.is_null(array.type):
        return array.cast(pa.string())
    return pa.array([cell_text(value) for value in values], pa.string())


def _reaches(numbers: pa.Array, limit: int) -> bool:
    extremes = pc.min_max(numbers)
    low, high = extremes["min"].as_py(), extremes["max"].as_py()
    return low is not None and (high >= limit or low <= -limit)


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
