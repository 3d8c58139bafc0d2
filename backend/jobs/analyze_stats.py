"""Streaming column statistics shared by every file format of the analyze job.

Every reader hands batches of *string* columns (pyarrow arrays) to :class:`TableStats`, with
empty cells already turned into nulls. All the work is done with pyarrow compute kernels on
the arrays the CSV reader produces: converting them to polars first cost more than the
statistics themselves. The type of a column is decided over the whole file: a column
stays numeric while every non-empty cell parses as a number, and turns into text the first
time one does not.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from backend.jobs.context import JobContext

PREVIEW_ROWS = 20
TOP_VALUES = 5

# Total number of distinct text values kept in memory for one table, shared by its columns.
DISTINCT_BUDGET = 2_000_000
MIN_DISTINCT_PER_COLUMN = 20_000

# Cells of a numeric column that mean "no value": pandas' default NA strings plus the dashes
# Taiwanese government open data uses. They count as nulls in numeric columns only; in text
# columns they stay visible as values (nulls there are the really empty cells).
NA_MARKERS = [
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null", "-", "--", "－",
]  # fmt: skip
NA_SET = pa.array(NA_MARKERS, pa.string())


class _Reporter:
    """The one place that talks to the context: keeps progress monotonic and throttled."""

    def __init__(self, ctx: JobContext, step: float, interval: float) -> None:
        self.ctx = ctx
        self.step = step
        self.interval = interval
        self.value = 0.0
        self._reported = -1.0
        self._reported_at = 0.0

    def report(self, value: float, message: str, force: bool) -> None:
        self.value = max(self.value, value)
        now = time.monotonic()
        due = self.value - self._reported >= self.step or now - self._reported_at >= self.interval
        if force or due:
            self._reported = self.value
            self._reported_at = now
            self.ctx.report(self.value, message)
        else:
            self.ctx.check_cancelled()


class Progress:
    """Maps work done (a fraction) to a slice of 0..100 and reports it.

    Reports when progress moved by ``step`` percent or ``interval`` seconds went by, so a
    cancel is noticed quickly without flooding the context. Never goes backwards, also
    across the sub-progresses made with :meth:`sub`.
    """

    def __init__(
        self,
        ctx: JobContext,
        start: float = 0.0,
        end: float = 100.0,
        step: float = 0.5,
        interval: float = 0.25,
        reporter: _Reporter | None = None,
    ) -> None:
        self.ctx = ctx
        self.start = start
        self.end = end
        self._reporter = reporter or _Reporter(ctx, step, interval)

    def sub(self, start_fraction: float, end_fraction: float) -> Progress:
        """A progress over a part of this one's slice."""
        span = self.end - self.start
        return Progress(
            self.ctx,
            self.start + span * start_fraction,
            self.start + span * end_fraction,
            reporter=self._reporter,
        )

    def at(self, fraction: float, message: str, force: bool = False) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        value = round(self.start + (self.end - self.start) * fraction, 2)
        self._reporter.report(value, message, force)


def finite_or_none(value: float | None) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class NumericAccumulator:
    """Count, mean and sum of squared deviations merged batch by batch (Chan et al.).

    Merging per-batch moments keeps the sample standard deviation within ~1e-12 of a
    two-pass computation, unlike a running sum of squares.
    """

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float | int | None = None
    maximum: float | int | None = None

    def add(self, values: pa.Array) -> int:
        """Add a batch of numbers; NaN are dropped. Returns how many NaN there were."""
        n = len(values) - values.null_count
        if n == 0:
            return 0
        # Arrow's mean and variance take integers as they are (double accumulators), so
        # no float copy of an integer column is made.
        as_float = values
        batch_mean = pc.mean(as_float).as_py()
        nans = 0
        if math.isnan(batch_mean):  # rare: "nan" cells parse as NaN, which pandas calls NA
            as_float = values = pc.if_else(pc.is_nan(values), None, values)
            nans = n - (len(values) - values.null_count)
            n -= nans
            if n == 0:
                return nans
            batch_mean = pc.mean(as_float).as_py()
        batch_m2 = pc.variance(as_float, ddof=0).as_py() * n
        extremes = pc.min_max(values)
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total
        self.m2 += batch_m2 + delta * delta * self.count * n / total
        self.count = total
        low, high = extremes["min"].as_py(), extremes["max"].as_py()
        self.minimum = low if self.minimum is None else min(self.minimum, low)
        self.maximum = high if self.maximum is None else max(self.maximum, high)
        return nans

    def as_float(self) -> None:
        if self.minimum is not None and self.maximum is not None:
            self.minimum = float(self.minimum)
            self.maximum = float(self.maximum)

    def std(self) -> float | None:
        if self.count < 2:
            return None
        return math.sqrt(max(self.m2, 0.0) / (self.count - 1))


COUNTS_SCHEMA = pa.schema([("value", pa.string()), ("count", pa.int64())])


class TopCounter:
    """Counts of text values, merged in bulk with pyarrow group-by.

    Past ``cap`` distinct values the rarest are dropped, so counts become lower bounds
    (``approximate``) but memory stays bounded.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.approximate = False
        self._merged = COUNTS_SCHEMA.empty_table()
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def add(self, values: pa.Array) -> None:
        counts = pc.value_counts(values)
        distinct = counts.field("values")
        if counts.null_count or distinct.null_count:
            counts = counts.filter(distinct.is_valid())
            distinct = counts.field("values")
        if len(counts) == 0:
            return
        self._pending.append(
            pa.Table.from_arrays([distinct, counts.field("counts")], schema=COUNTS_SCHEMA)
        )
        self._pending_rows += len(counts)
        if self._pending_rows > self.cap:
            self._compact()

    def _compact(self) -> None:
        if not self._pending:
            return
        merged = (
            pa.concat_tables([self._merged, *self._pending])
            .group_by("value")
            .aggregate([("count", "sum")])
            .rename_columns(["value", "count"])
        )
        self._pending = []
        self._pending_rows = 0
        if merged.num_rows > self.cap:
            self.approximate = True
            merged = _most_frequent(merged, self.cap // 2)
        self._merged = merged

    def reset(self) -> None:
        self.approximate = False
        self._merged = COUNTS_SCHEMA.empty_table()
        self._pending = []
        self._pending_rows = 0

    def top(self, k: int = TOP_VALUES) -> list[list[str | int]]:
        self._compact()
        best = _most_frequent(self._merged, k)
        return [[row["value"], row["count"]] for row in best.to_pylist()]


def _most_frequent(counts: pa.Table, k: int) -> pa.Table:
    """The k most frequent values; ties broken by value so the result is deterministic."""
    return counts.sort_by([("count", "descending"), ("value", "ascending")]).slice(0, k)


@dataclass
class ColumnStats:
    name: str
    distinct_cap: int
    kind: str = "empty"  # "empty" until a non-empty cell is seen, then integer/float/text
    nulls: int = 0
    numeric: NumericAccumulator = field(default_factory=NumericAccumulator)
    counter: TopCounter | None = None
    # Became text after numeric cells were already seen: text counts need a second pass.
    needs_rescan: bool = False

    def add(self, values: pa.Array) -> None:
        nulls = values.null_count
        self.nulls += nulls
        if nulls == len(values):
            return
        if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
            kind = "integer" if pa.types.is_integer(values.type) else "float"
            self._add_numeric(values, nulls, kind)  # typed by the reader
            return
        if self.kind in ("empty", "integer"):
            parsed = parse_numbers(values, pa.int64())
            if parsed is not None:
                self._add_numeric(parsed, nulls, "integer")
                return
        if self.kind in ("empty", "integer", "float"):
            parsed = parse_numbers(values, pa.float64())
            if parsed is not None:
                self._add_numeric(parsed, nulls, "float")
                return
            self._become_text()
        self._add_text(values)

    def _add_numeric(self, parsed: pa.Array, source_nulls: int, kind: str) -> None:
        self.nulls += parsed.null_count - source_nulls  # NA markers
        if kind == "float" and self.kind == "integer":
            self.numeric.as_float()
        if self.kind != "float":
            self.kind = kind
        self.nulls += self.numeric.add(parsed)

    def _become_text(self) -> None:
        if self.numeric.count > 0:
            self.needs_rescan = True
        self.kind = "text"
        self.numeric = NumericAccumulator()

    def _add_text(self, values: pa.Array) -> None:
        self.kind = "text"
        if self.counter is None:
            self.counter = TopCounter(self.distinct_cap)
        self.counter.add(values)

    def add_text_only(self, values: pa.Array) -> None:
        """Second pass: count text values again from the start; nulls are already known."""
        assert self.counter is not None
        self.counter.add(values)

    def result(self) -> dict:
        numeric = self.kind in ("integer", "float")
        stats = self.numeric
        return {
            "name": self.name,
            "type": self.kind,
            "nulls": self.nulls,
            "min": finite_or_none(stats.minimum) if numeric else None,
            "max": finite_or_none(stats.maximum) if numeric else None,
            "mean": finite_or_none(stats.mean) if numeric and stats.count else None,
            "std": finite_or_none(stats.std()) if numeric else None,
            "top": self.counter.top() if self.kind == "text" and self.counter else None,
        }


def parse_numbers(values: pa.Array, dtype: pa.DataType) -> pa.Array | None:
    """Parse a string array as numbers, or None if some non-empty cell is not a number.

    NA markers become nulls; surrounding spaces are allowed. Arrow's integer parser
    also accepts "0x1F", which must stay text, hence the look for an "x" in the raw bytes.
    """
    try:
        if pa.types.is_integer(dtype) and _has_x(values):
            raise pa.ArrowInvalid("maybe hexadecimal")
        parsed = values.cast(dtype)
    except pa.ArrowInvalid:
        return _parse_lenient(values, dtype)
    return parsed


def _has_x(values: pa.Array) -> bool:
    data = values.buffers()[2]
    if data is None:
        return False
    raw = data.to_pybytes()
    return b"x" in raw or b"X" in raw


def _parse_lenient(values: pa.Array, dtype: pa.DataType) -> pa.Array | None:
    stripped = pc.utf8_trim_whitespace(values)
    cleaned = pc.if_else(pc.is_in(stripped, value_set=NA_SET), None, stripped)
    if (
        pa.types.is_integer(dtype)
        and pc.any(pc.match_substring(cleaned, "x", ignore_case=True)).as_py()
    ):
        return None
    try:
        return cleaned.cast(dtype)
    except pa.ArrowInvalid:
        return None


class TableStats:
    """Statistics of one table, fed batch by batch with string columns."""

    def __init__(self, name: str, column_names: Sequence[str]) -> None:
        self.name = name
        self.rows = 0
        self.columns: list[ColumnStats] = []
        self.preview: list[list[str | float | None]] = []
        for column_name in column_names:
            self.add_column(column_name)

    def _distinct_cap(self) -> int:
        return max(MIN_DISTINCT_PER_COLUMN, DISTINCT_BUDGET // max(len(self.columns) + 1, 1))

    def add_column(self, name: str) -> ColumnStats:
        """Add a column (JSON keys may appear late); earlier rows count as empty cells."""
        column = ColumnStats(name, self._distinct_cap(), nulls=self.rows)
        self.columns.append(column)
        for row in self.preview:
            row.append(None)
        return column

    def add_batch(self, columns: Sequence[pa.Array]) -> None:
        """``columns`` in the order of ``self.columns``, strings with nulls for empty cells."""
        if not columns:
            return
        height = len(columns[0])
        self._keep_preview(columns, height)
        for stats, values in zip(self.columns, columns, strict=True):
            stats.add(values)
        self.rows += height

    def _keep_preview(self, columns: Sequence[pa.Array], height: int) -> None:
        wanted = PREVIEW_ROWS - len(self.preview)
        if wanted <= 0:
            return
        heads = [values.slice(0, wanted).to_pylist() for values in columns]
        for i in range(min(wanted, height)):
            self.preview.append([head[i] for head in heads])

    def columns_to_rescan(self) -> list[int]:
        return [i for i, column in enumerate(self.columns) if column.needs_rescan]

    def warnings(self) -> list[str]:
        notes = []
        for column in self.columns:
            if column.counter is not None and column.counter.approximate:
                notes.append(
                    f"「{self.name}」的欄位「{column.name}」相異值超過 "
                    f"{column.counter.cap:,} 個，最常見值的次數為近似值。"
                )
        return notes

    def result(self) -> dict:
        return {
            "name": self.name,
            "rows": self.rows,
            "columns": [column.result() for column in self.columns],
            "preview": [self._preview_row(row) for row in self.preview],
        }

    def _preview_row(self, row: list[str | float | None]) -> dict:
        return {
            column.name: typed_cell(value, column.kind)
            for column, value in zip(self.columns, row, strict=True)
        }


def typed_cell(value: str | float | None, kind: str) -> str | int | float | None:
    """A preview cell as the JSON value a user expects for the column's final type."""
    if value is None or kind not in ("integer", "float"):
        return value
    if not isinstance(value, str):  # typed by the reader
        return finite_or_none(value)
    text = value.strip()
    try:
        number: int | float = int(text) if kind == "integer" else float(text)
    except ValueError:
        return None  # an NA marker
    return finite_or_none(number)


def unique_names(raw: Sequence[str | None]) -> list[str]:
    """Column names as users see them: blanks named by position, duplicates suffixed like pandas."""
    names: list[str] = []
    seen: set[str] = set()
    for position, name in enumerate(raw, start=1):
        base = (name or "").strip() or f"欄位 {position}"
        candidate = base
        suffix = 1
        while candidate in seen:
            candidate = f"{base}.{suffix}"
            suffix += 1
        seen.add(candidate)
        names.append(candidate)
    return names
