"""Streaming column statistics shared by every file format of the analyze job.

Every reader hands batches of *string* columns to :class:`TableStats`, with empty cells
already turned into nulls. The type of a column is decided over the whole file: a column
stays numeric while every non-empty cell parses as a number, and turns into text the first
time one does not.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

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


class Progress:
    """Maps work done (a fraction) to a slice of 0..100 and reports it, throttled.

    Reports when progress moved by ``step`` percent or ``interval`` seconds went by, so a
    cancel is noticed quickly without flooding the context. Never goes backwards.
    """

    def __init__(
        self,
        ctx: JobContext,
        start: float = 0.0,
        end: float = 100.0,
        step: float = 0.5,
        interval: float = 0.25,
    ) -> None:
        self.ctx = ctx
        self.start = start
        self.end = end
        self.step = step
        self.interval = interval
        self._last_value = -1.0
        self._last_time = 0.0
        self.value = start

    def sub(self, start_fraction: float, end_fraction: float) -> Progress:
        """A progress over a part of this one's slice (sharing nothing but the context)."""
        span = self.end - self.start
        child = Progress(
            self.ctx,
            self.start + span * start_fraction,
            self.start + span * end_fraction,
            self.step,
            self.interval,
        )
        child._last_value = self._last_value
        return child

    def at(self, fraction: float, message: str, force: bool = False) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        value = max(self.value, round(self.start + (self.end - self.start) * fraction, 2))
        self.value = value
        now = time.monotonic()
        if force or value - self._last_value >= self.step or now - self._last_time >= self.interval:
            self._last_value = value
            self._last_time = now
            self.ctx.report(value, message)
        else:
            self.ctx.check_cancelled()


def finite_or_none(value: float | int | None) -> float | int | None:
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

    def add(self, values: pl.Series) -> None:
        n = len(values) - values.null_count()
        if n == 0:
            return
        batch_mean = float(values.mean())  # type: ignore[arg-type]
        batch_m2 = float(values.var(ddof=0)) * n  # type: ignore[arg-type]
        batch_min = values.min()
        batch_max = values.max()
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total
        self.m2 += batch_m2 + delta * delta * self.count * n / total
        self.count = total
        self.minimum = batch_min if self.minimum is None else min(self.minimum, batch_min)  # type: ignore[type-var]
        self.maximum = batch_max if self.maximum is None else max(self.maximum, batch_max)  # type: ignore[type-var]

    def as_float(self) -> None:
        if self.minimum is not None:
            self.minimum = float(self.minimum)
            self.maximum = float(self.maximum)  # type: ignore[arg-type]

    def std(self) -> float | None:
        if self.count < 2:
            return None
        return math.sqrt(max(self.m2, 0.0) / (self.count - 1))


class TopCounter:
    """Counts of text values, kept as polars frames and merged in bulk.

    Past ``cap`` distinct values the rarest are dropped, so counts become lower bounds
    (``approximate``) but memory stays bounded.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.approximate = False
        self._merged = pl.DataFrame(schema={"value": pl.String, "count": pl.Int64})
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = 0

    def add(self, values: pl.Series) -> None:
        counts = values.drop_nulls().value_counts(name="count")
        if counts.height == 0:
            return
        counts = counts.select(
            pl.col(values.name).alias("value"), pl.col("count").cast(pl.Int64)
        )
        self._pending.append(counts)
        self._pending_rows += counts.height
        if self._pending_rows > self.cap:
            self._compact()

    def _compact(self) -> None:
        if not self._pending:
            return
        merged = (
            pl.concat([self._merged, *self._pending])
            .group_by("value")
            .agg(pl.col("count").sum())
        )
        self._pending = []
        self._pending_rows = 0
        if merged.height > self.cap:
            self.approximate = True
            merged = merged.sort(["count", "value"], descending=[True, False]).head(self.cap // 2)
        self._merged = merged

    def reset(self) -> None:
        self.__init__(self.cap)  # type: ignore[misc]

    def top(self, k: int = TOP_VALUES) -> list[list[str | int]]:
        self._compact()
        best = self._merged.sort(["count", "value"], descending=[True, False]).head(k)
        return [[value, count] for value, count in best.iter_rows()]


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

    def add(self, values: pl.Series) -> None:
        nulls = values.null_count()
        self.nulls += nulls
        if nulls == len(values):
            return
        if self.kind in ("empty", "integer"):
            parsed = parse_numbers(values, pl.Int64)
            if parsed is not None:
                self._add_numeric(parsed, nulls, "integer")
                return
        if self.kind in ("empty", "integer", "float"):
            parsed = parse_numbers(values, pl.Float64)
            if parsed is not None:
                self._add_numeric(parsed, nulls, "float")
                return
            self._become_text()
        self._add_text(values)

    def _add_numeric(self, parsed: pl.Series, source_nulls: int, kind: str) -> None:
        self.nulls += parsed.null_count() - source_nulls  # NA markers and NaN
        if kind == "float" and self.kind == "integer":
            self.numeric.as_float()
        if self.kind != "float":
            self.kind = kind
        self.numeric.add(parsed)

    def _become_text(self) -> None:
        if self.numeric.count > 0:
            self.needs_rescan = True
        self.kind = "text"
        self.numeric = NumericAccumulator()

    def _add_text(self, values: pl.Series) -> None:
        self.kind = "text"
        if self.counter is None:
            self.counter = TopCounter(self.distinct_cap)
        self.counter.add(values)

    def add_text_only(self, values: pl.Series) -> None:
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


def parse_numbers(values: pl.Series, dtype: type[pl.DataType]) -> pl.Series | None:
    """Parse a string Series as numbers, or None if some non-empty cell is not a number.

    NA markers and NaN become nulls; surrounding spaces are allowed.
    """
    parsed = values.cast(dtype, strict=False)
    failed = parsed.null_count() - values.null_count()
    if failed:
        stripped = values.str.strip_chars()
        parsed = stripped.cast(dtype, strict=False)
        is_marker = stripped.is_in(NA_MARKERS)
        if (parsed.is_null() & values.is_not_null() & ~is_marker).any():
            return None
    if dtype == pl.Float64:
        mean = parsed.mean()
        if mean is not None and math.isnan(mean):  # type: ignore[arg-type]
            parsed = parsed.fill_nan(None)
    return parsed


class TableStats:
    """Statistics of one table, fed batch by batch with string columns."""

    def __init__(self, name: str, column_names: Sequence[str]) -> None:
        self.name = name
        self.rows = 0
        self.columns: list[ColumnStats] = []
        self.preview: list[list[str | None]] = []
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

    def add_batch(self, columns: Sequence[pl.Series]) -> None:
        """``columns`` in the order of ``self.columns``, strings with nulls for empty cells."""
        if not columns:
            return
        height = len(columns[0])
        self._keep_preview(columns, height)
        for stats, values in zip(self.columns, columns, strict=True):
            stats.add(values)
        self.rows += height

    def _keep_preview(self, columns: Sequence[pl.Series], height: int) -> None:
        wanted = PREVIEW_ROWS - len(self.preview)
        if wanted <= 0:
            return
        heads = [values.head(wanted).to_list() for values in columns]
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

    def _preview_row(self, row: list[str | None]) -> dict:
        return {
            column.name: typed_cell(value, column.kind)
            for column, value in zip(self.columns, row, strict=True)
        }


def typed_cell(value: str | None, kind: str) -> str | int | float | None:
    """A preview cell as the JSON value a user expects for the column's final type."""
    if value is None or kind not in ("integer", "float"):
        return value
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
