"""Streaming column statistics shared by every file format of the analyze job.

Readers hand :class:`TableStats` batches of pyarrow arrays, one per column, with empty cells
as nulls. A cell array is either typed by the reader (numbers, booleans, dates from Excel or
JSON) or text, whose meaning ``backend.jobs.analyze.types`` decides. The kind of a column is
decided over the whole file: it stays a number, date or boolean column while every non-empty
cell is one, and turns into text the first time one is not (its text values are then counted
again in a second pass, see ``TableStats.columns_to_rescan``).

All the work is done with pyarrow compute kernels on whole arrays: converting them to
another library first cost more than the statistics themselves.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from backend.jobs.analyze import totals, types

PREVIEW_ROWS = 20
MAX_KEPT_ROWS = 10_000  # excluded label rows whose cells are kept until the table's end
TOP_VALUES = 5
HISTOGRAM_BINS = 20  # at most; fewer when an integer column holds fewer values
FINE_BINS = 2048  # resolution kept while streaming, merged into HISTOGRAM_BINS at the end
MERGE_ROWS = 200_000  # numbers merged into a column's figures at a time

# Total number of distinct text values kept in memory for one table, shared by its columns.
DISTINCT_BUDGET = 2_000_000
MIN_DISTINCT_PER_COLUMN = 20_000

KINDS = ("integer", "float", "date", "datetime", "time", "boolean", "text")
NUMERIC = ("integer", "float")
# What a text batch may still turn out to be, given the column's kind so far.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "empty": ("number", "date", "time", "boolean"),
    "integer": ("integer",),  # numbers, tried as integers first
    "float": ("float",),
    "date": ("date",),
    "datetime": ("date",),
    "time": ("time",),
    "boolean": ("boolean",),
}
SHOWN_OFFSETS = 5  # UTC offsets named in a date-time column's note, at most
FORMAT_LABELS = {
    types.THOUSANDS: "千分位（例如 1,234）",
    types.PERCENT: "百分比（例如 12.5%，數值以 % 為單位）",
    types.CURRENCY: "貨幣符號（例如 NT$1,200）",
    types.ACCOUNTING: "會計負數（例如 (1,234) 代表 -1234）",
    types.FULLWIDTH: "全形數字（例如 １２３）",
}


def finite_or_none(value: float | None) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Histogram:
    """Exact bin counts of a stream of numbers, in one pass.

    Values are counted on a fine grid anchored at 0 with bin width ``w`` (a power of two, so
    integers fall on bin edges once ``w >= 1``); when the values span more than FINE_BINS
    bins, ``w`` doubles and neighbouring bins merge, which keeps every count exact because
    ``floor(v / 2w) == floor(floor(v / w) / 2)``. At the end, whole fine bins are grouped
    into at most HISTOGRAM_BINS bins, so the final counts are exact too. Non-finite values
    are left out.
    """

    def __init__(self) -> None:
        self.width: float | None = None
        self.first = 0  # index of counts[0] on the grid
        self.counts = np.zeros(0, dtype=np.int64)

    def add(self, values: pa.Array, low: float, high: float) -> None:
        """``values``: numbers without nulls or NaN; ``low``/``high``: their finite extremes."""
        array = values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        if not np.isfinite(array).all():
            array = array[np.isfinite(array)]
        if array.size == 0:
            return
        if self.width is None:
            self.width = _initial_width(low, high)
            self.first = math.floor(low / self.width)
        self._cover(low, high)
        index = np.floor(array / self.width).astype(np.int64) - self.first
        np.clip(index, 0, len(self.counts) - 1, out=index)  # float rounding at the edges
        self.counts += np.bincount(index, minlength=len(self.counts))

    def _cover(self, low: float, high: float) -> None:
        assert self.width is not None
        while True:
            first = min(self.first, math.floor(low / self.width))
            last = max(self.first + len(self.counts) - 1, math.floor(high / self.width))
            if last - first < FINE_BINS or not math.isfinite(self.width * 2):
                break
            self._merge_pairs()
        if first < self.first or last >= self.first + len(self.counts):
            grown = np.zeros(last - first + 1, dtype=np.int64)
            start = self.first - first
            grown[start : start + len(self.counts)] = self.counts
            self.counts, self.first = grown, first

    def _merge_pairs(self) -> None:
        assert self.width is not None
        first = self.first // 2
        last = (self.first + len(self.counts) - 1) // 2
        merged = np.zeros(last - first + 1, dtype=np.int64)
        np.add.at(
            merged, np.arange(self.first, self.first + len(self.counts)) // 2 - first, self.counts
        )
        self.counts, self.first, self.width = merged, first, self.width * 2

    def result(self, integer: bool) -> dict | None:
        """``{"edges": [n + 1 floats], "counts": [n ints]}``, or None without values.

        Bins are half-open ``[edge_i, edge_i+1)``; the last bin holds the maximum.
        """
        if self.width is None or not self.counts.any():
            return None
        used = np.nonzero(self.counts)[0]
        counts = self.counts[used[0] : used[-1] + 1]
        first = self.first + used[0]
        # Integers get bins of whole units: a group is a multiple of one unit's fine bins.
        unit = math.ceil(1 / self.width) if integer and self.width < 1 else 1
        group = max(1, math.ceil(len(counts) / HISTOGRAM_BINS))
        group = math.ceil(group / unit) * unit
        start = (first // group) * group  # bins aligned on the grid
        while math.ceil((first - start + len(counts)) / group) > HISTOGRAM_BINS:
            group += unit  # the alignment cost one bin too many
            start = (first // group) * group
        padded = np.zeros(math.ceil((first - start + len(counts)) / group) * group, np.int64)
        padded[first - start : first - start + len(counts)] = counts
        binned = padded.reshape(-1, group).sum(axis=1)
        edges = [(start + i * group) * self.width for i in range(len(binned) + 1)]
        return {"edges": [float(edge) for edge in edges], "counts": binned.tolist()}


def _initial_width(low: float, high: float) -> float:
    """A power of two: the span over FINE_BINS, but not so fine that ``v / width`` loses
    integer precision (2**52) for the largest value."""
    magnitude = max(abs(low), abs(high), 1e-300)
    span = high - low if high > low else max(magnitude, 1.0)
    width = 2.0 ** math.floor(math.log2(span / FINE_BINS))
    return max(width, 2.0 ** math.ceil(math.log2(magnitude / 2**52)))


@dataclass
class NumericAccumulator:
    """Count, mean and sum of squared deviations merged batch by batch (Chan et al., "Updating
    formulae and a pairwise algorithm for computing sample variances", 1979), extremes and
    a histogram.

    Merging per-batch moments keeps the sample standard deviation within ~1e-12 of a
    two-pass computation, unlike a running sum of squares.
    """

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float | int | None = None
    maximum: float | int | None = None
    histogram: Histogram = field(default_factory=Histogram)
    nans: int = 0  # NaN cells, left out of every figure (pandas calls them NA)
    # Batches are merged a few at a time: each merge costs a dozen kernel calls, whatever
    # the batch's size, and the numbers themselves are small next to the text they came from.
    pending: list[pa.Array] = field(default_factory=list)
    pending_rows: int = 0

    def add(self, values: pa.Array) -> None:
        """Add a batch of numbers (nulls for empty cells)."""
        if self.pending and self.pending[0].type != values.type:
            self.flush()
        self.pending.append(values)
        self.pending_rows += len(values)
        if self.pending_rows >= MERGE_ROWS:
            self.flush()

    def flush(self) -> None:
        """Merge the pending batches; done before any figure is read."""
        if not self.pending:
            return
        values = self.pending[0] if len(self.pending) == 1 else pa.concat_arrays(self.pending)
        self.pending = []
        self.pending_rows = 0
        self.nans += self._merge(values)

    def _merge(self, values: pa.Array) -> int:
        n = len(values) - values.null_count
        if n == 0:
            return 0
        # Arrow's mean and variance take integers as they are (double accumulators), so
        # no float copy of an integer column is made.
        batch_mean = pc.mean(values).as_py()
        nans = 0
        if math.isnan(batch_mean):  # rare: "nan" cells parse as NaN, which pandas calls NA
            values = pc.if_else(pc.is_nan(values), None, values)
            nans = n - (len(values) - values.null_count)
            n -= nans
            if n == 0:
                return nans
            batch_mean = pc.mean(values).as_py()
        batch_m2 = pc.variance(values, ddof=0).as_py() * n
        extremes = pc.min_max(values)
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total
        self.m2 += batch_m2 + delta * delta * self.count * n / total
        self.count = total
        low, high = extremes["min"].as_py(), extremes["max"].as_py()
        self.minimum = low if self.minimum is None else min(self.minimum, low)
        self.maximum = high if self.maximum is None else max(self.maximum, high)
        if math.isfinite(low) and math.isfinite(high):
            self.histogram.add(pc.drop_null(values), low, high)
        else:
            finite = pc.filter(values, pc.is_finite(values))
            if len(finite):
                bounds = pc.min_max(finite)
                self.histogram.add(finite, bounds["min"].as_py(), bounds["max"].as_py())
        return nans

    def as_float(self) -> None:
        self.flush()
        if self.minimum is not None and self.maximum is not None:
            self.minimum = float(self.minimum)
            self.maximum = float(self.maximum)

    def std(self) -> float | None:
        self.flush()
        if self.count < 2:
            return None
        return math.sqrt(max(self.m2, 0.0) / (self.count - 1))


COUNTS_SCHEMA = pa.schema([("value", pa.string()), ("count", pa.int64())])
# Text cells that look like numbers written with a decimal comma (12,5 or 1.234,5) or like
# dates of any order of fields; a text column this much of which looks so is worth a note
# (whole numbers fit beside them); dots only in day.month.year or year.month.day, not in
# version numbers such as 1.2.3.
DECIMAL_COMMA = r"^\s*[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+\s*%?\s*$"
COMMA_NUMBER = r"^\s*[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?\s*%?\s*$"
DATE_LIKE = (
    r"^\s*(\d{1,4}[/-]\d{1,2}[/-]\d{1,4}|\d{1,2}\.\d{1,2}\.\d{4}|\d{4}\.\d{1,2}\.\d{1,2})"
    r"(\s+\d{1,2}:\d{2}(:\d{2})?)?\s*$"
)
LOOKS_TYPED_SHARE = 0.9


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
        self.add_counts(count_values(values))

    def add_counts(self, counts: pa.Table) -> None:
        """Merge a batch's :func:`count_values`."""
        if counts.num_rows == 0:
            return
        self._pending.append(counts)
        self._pending_rows += counts.num_rows
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

    def matching(self, pattern: str) -> tuple[float, str | None]:
        """The share (0-1) of counted cells whose value matches the RE2 ``pattern``, and
        the most frequent such value (None when none does)."""
        self._compact()
        total = pc.sum(self._merged["count"]).as_py() or 0
        if not total:
            return 0.0, None
        hits = self._merged.filter(pc.match_substring_regex(self._merged["value"], pattern))
        if not hits.num_rows:
            return 0.0, None
        example = _most_frequent(hits, 1)["value"][0].as_py()
        return pc.sum(hits["count"]).as_py() / total, example

    def top(self, k: int = TOP_VALUES) -> list[list[str | int]]:
        self._compact()
        best = _most_frequent(self._merged, k)
        return [[row["value"], row["count"]] for row in best.to_pylist()]


def count_values(values: pa.Array) -> pa.Table:
    """How often each non-null value of a text array (plain or dictionary-encoded) occurs:
    a table in COUNTS_SCHEMA."""
    if pa.types.is_dictionary(values.type):
        indices = values.indices.drop_null().to_numpy(zero_copy_only=False)
        counts = np.bincount(indices, minlength=len(values.dictionary))
        present = np.flatnonzero(counts)
        return pa.Table.from_arrays(
            [values.dictionary.take(present).cast(pa.string()), pa.array(counts[present])],
            schema=COUNTS_SCHEMA,
        )
    counts = pc.value_counts(values)
    distinct = counts.field("values")
    if counts.null_count or distinct.null_count:
        counts = counts.filter(distinct.is_valid())
        distinct = counts.field("values")
    return pa.Table.from_arrays(
        [distinct.cast(pa.string()), counts.field("counts")], schema=COUNTS_SCHEMA
    )


def _most_frequent(counts: pa.Table, k: int) -> pa.Table:
    """The k most frequent values; ties broken by value so the result is deterministic."""
    return counts.sort_by([("count", "descending"), ("value", "ascending")]).slice(0, k)


def _typed_kind(dtype: pa.DataType) -> str | None:
    """The kind of an array a reader already typed, or None for text."""
    if pa.types.is_integer(dtype):
        return "integer"
    if pa.types.is_floating(dtype):
        return "float"
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_timestamp(dtype):
        return "datetime"
    if pa.types.is_time(dtype):
        return "time"
    return None


def _merged_kind(old: str, new: str) -> str | None:
    """The kind of a column whose cells so far were ``old`` and now ``new``; None: text."""
    if old == "empty" or old == new:
        return new
    if {old, new} == {"integer", "float"}:
        return "float"
    if {old, new} == {"date", "datetime"}:
        return "datetime"
    return None


@dataclass
class Prepared:
    """The part of adding one column's batch that needs no state, so it can run on another
    thread ahead of :meth:`ColumnStats.add`: the text cells parsed against what the column
    could still be (``kinds``, the :data:`CANDIDATES` of its kind when the work started), or
    the cells' counts once the column is text."""

    kinds: tuple[str, ...] | None = None  # parsed against these (None: not parsed)
    parsed: types.Parsed | None = None
    counts: pa.Table | None = None
    labels: dict[int, str] = field(default_factory=dict)  # rows holding a total label


def prepare_column(values: pa.Array, kind: str) -> Prepared | None:
    """Thread-safe work ahead of ``ColumnStats.add(values)`` for a column of ``kind``.

    A column's kind only ever narrows (empty, then one kind, then text), so work prepared
    for the kind it had earlier is still right when the batch is added: a parse against a
    wider set of candidates finds the same kind or one the column's kind rejects.
    """
    if values.null_count == len(values):
        return None
    if kind == "text":
        counts = count_values(_as_text(values))
        # Labels are looked for among the distinct values, which are counted anyway.
        found = totals.labels_in_counts(counts)
        return Prepared(counts=counts, labels=totals.label_rows(values) if found else {})
    plain = _plain(values)
    if _typed_kind(plain.type) is not None:
        return None
    kinds = CANDIDATES[kind]
    parsed = types.parse(plain, kinds)
    # A label cell makes a number or date column fail to parse: only then is it looked for.
    return Prepared(kinds=kinds, parsed=parsed, labels={} if parsed else totals.label_rows(values))


@dataclass
class ColumnStats:
    """One column's kind and figures, fed batch by batch."""

    name: str
    distinct_cap: int
    kind: str = "empty"  # "empty" until a non-empty cell is seen, then one of KINDS
    nulls: int = 0
    numeric: NumericAccumulator = field(default_factory=NumericAccumulator)
    # Dates, times of day or date-times (naive, in UTC when ``offsets`` has any).
    earliest: dt.date | dt.datetime | dt.time | None = None
    latest: dt.date | dt.datetime | dt.time | None = None
    # UTC offsets the date-times were written with ("Z", "+08:00"); "" for date-times or
    # dates without one (their zone is unknown), once a cell had one.
    offsets: set[str] = field(default_factory=set)
    naive_dates: bool = False  # some dates or date-times carried no offset
    counter: TopCounter | None = None
    formats: set[str] = field(default_factory=set)
    percent: bool | None = None  # every cell so far carried "%" (or none did)
    currency: str | None = None
    currency_symbols: frozenset[str] = frozenset()
    # Became text after other cells were already seen: text counts need a second pass.
    needs_rescan: bool = False
    # The reader types its cells (JSON, Excel): numbers arriving as text are worth saying.
    typed_source: bool = False
    # Every cell so far written as Excel displays a long number it rounded (4.71009E+12):
    # None before any number; the cells counted, their distinct values and one as written.
    excel_rounded: bool | None = None
    rounded_cells: int = 0
    rounded_values: np.ndarray | None = None
    rounded_example: str | None = None

    def add(self, values: pa.Array, prepared: Prepared | None = None) -> None:
        """``values``: the column's cells in this batch, nulls for empty cells; ``prepared``:
        :func:`prepare_column`'s work on them, if any."""
        nulls = values.null_count
        self.nulls += nulls
        if nulls == len(values):
            return
        if self.kind == "text":
            self._add_text(values, prepared.counts if prepared else None)
            return
        values = _plain(values)
        kind = _typed_kind(values.type)
        if kind is not None:
            parsed: types.Parsed | None = types.Parsed(kind, values)
        elif prepared is not None and prepared.kinds is not None:
            parsed = prepared.parsed
        else:
            parsed = types.parse(values, CANDIDATES[self.kind])
        if parsed is None and kind is None and _only_na(values):
            self.nulls += len(values) - nulls  # a batch of N/A alone fits any kind
            return
        merged = _merged_kind(self.kind, parsed.kind) if parsed else None
        if parsed is None or merged is None or not self._same_units(parsed):
            self._become_text()
            self._add_text(values)
            return
        if merged == "float" and self.kind == "integer":
            self.numeric.as_float()
        self.kind = merged
        if merged in NUMERIC:
            self._track_rounding(parsed, values)
        self.formats |= parsed.formats
        if self.typed_source and kind is None and merged in NUMERIC:
            self.formats.add(types.STORED_AS_TEXT)
        self.nulls += parsed.values.null_count - nulls  # NA markers
        if merged in NUMERIC:
            values = parsed.values
            if merged == "float" and parsed.kind == "integer":
                # Whole numbers in a float column (work prepared before the column turned
                # float, or cells such as "6" among "0.5"): figures come out as floats,
                # whichever batch was parsed first.
                values = pc.cast(values, pa.float64(), safe=False)
            self.numeric.add(values)
        elif merged == "boolean":
            self._count(parsed.values)
        else:
            self._add_dates(parsed.values, parsed.offsets)

    def _track_rounding(self, parsed: types.Parsed, cells: pa.Array) -> None:
        """Keep count of cells and distinct values while every batch is Excel-rounded."""
        if self.excel_rounded is False:
            return
        if not parsed.excel_rounded:
            self.excel_rounded, self.rounded_values = False, None
            return
        self.excel_rounded = True
        numbers = pc.drop_null(parsed.values).to_numpy(zero_copy_only=False)
        self.rounded_cells += len(numbers)
        distinct = np.unique(numbers)
        if self.rounded_values is not None:
            distinct = np.union1d(self.rounded_values, distinct)
        self.rounded_values = distinct
        if self.rounded_example is None:
            self.rounded_example = pc.utf8_trim_whitespace(pc.drop_null(cells))[0].as_py()

    def _rounding_warning(self, table: str) -> str | None:
        """The zh-TW sentence on codes Excel rounded, with how many may have collapsed:
        the cells minus their distinct values (each such cell repeats a value another cell
        has, so at least that many different codes may have become one)."""
        if not self.excel_rounded or self.rounded_values is None:
            return None
        cells, distinct = self.rounded_cells, len(self.rounded_values)
        collapsed = cells - distinct
        counted = (
            f"{cells:,} 格只有 {distinct:,} 個不同的值，可能有 {collapsed:,} 個不同的代碼"
            "被併成相同的值。"
            if collapsed
            else f"{cells:,} 格的值各不相同，但都只剩 6 位以內的有效數字。"
        )
        return (
            f"「{table}」的欄位「{self.name}」的值都以科學記號書寫（例如 {self.rounded_example}），"
            "看起來是被 Excel 四捨五入顯示的代碼（條碼、帳號等），原本的後幾位數已遺失；"
            f"{counted}請在 Excel 把這一欄設為「文字」格式後重新匯出。"
        )

    def _same_units(self, parsed: types.Parsed) -> bool:
        percent = types.PERCENT in parsed.formats
        if self.percent is not None and percent != self.percent and parsed.kind in NUMERIC:
            return False
        symbols = self.currency_symbols | parsed.symbols
        currency = types.one_currency(symbols)
        if currency is False:
            return False  # adding NT$ to US$ would be wrong, in one batch or across two
        if parsed.kind in NUMERIC:
            self.percent = percent
            self.currency_symbols, self.currency = symbols, currency
        return True

    def _add_dates(self, values: pa.Array, offsets: frozenset[str] = frozenset()) -> None:
        """Dates, date-times or times of day (``offsets``: see ``types.Parsed``); date-times
        with an offset arrive in UTC and are kept as naive UTC."""
        if self.kind != "time":
            self.offsets |= offsets
            self.naive_dates = self.naive_dates or not offsets or "" in offsets
        extremes = pc.min_max(values)
        low, high = extremes["min"].as_py(), extremes["max"].as_py()
        if low is None:
            return
        if isinstance(low, dt.datetime) and low.tzinfo is not None:
            low = low.astimezone(dt.UTC).replace(tzinfo=None)
            high = high.astimezone(dt.UTC).replace(tzinfo=None)
        if self.kind == "datetime" and type(low) is dt.date:  # date cells beside date-times
            low = dt.datetime.combine(low, dt.time())
            high = dt.datetime.combine(high, dt.time())
        if self.earliest is not None and type(self.earliest) is not type(low):
            self.earliest = dt.datetime.combine(self.earliest, dt.time())  # type: ignore[arg-type]
            self.latest = dt.datetime.combine(self.latest, dt.time())  # type: ignore[arg-type]
        self.earliest = low if self.earliest is None else min(self.earliest, low)
        self.latest = high if self.latest is None else max(self.latest, high)

    def _aware(self) -> bool:
        """Some date-time had a UTC offset: the column's figures are in UTC."""
        return any(self.offsets)

    def _moment(self, value: dt.date | dt.datetime | dt.time | None) -> str | None:
        """An extreme as ISO 8601: "2024-05-01", "08:30:00", "2024-05-01T08:30:00", and
        "2024-05-01T00:30:00+00:00" (UTC, said so) in a column with UTC offsets."""
        if value is None:
            return None
        if isinstance(value, dt.datetime) and self._aware():
            return value.replace(tzinfo=dt.UTC).isoformat()
        return value.isoformat()

    def _dates_warning(self, table: str) -> str | None:
        """ROC years converted; UTC offsets converted (and dates or date-times without an
        offset beside them, taken as UTC); in zh-TW, or None."""
        where = f"「{table}」的欄位「{self.name}」"
        sentences = []
        if types.ROC in self.formats:
            sentences.append(
                f"{where}是民國紀年日期（例如 113/05/01），已換算為西元日期（民國年 + 1911）。"
            )
        if self._aware():
            written = sorted(offset for offset in self.offsets if offset)
            shown = "、".join(written[:SHOWN_OFFSETS])
            if len(written) > SHOWN_OFFSETS:
                shown += f" 等 {len(written)} 種"
            sentences.append(
                f"{where}的時間帶有時區（{shown}），已統一換算為 UTC；"
                "最小值與最大值以 UTC 表示（標示 +00:00）。"
            )
            if self.naive_dates:
                sentences.append(
                    f"{where}另有部分日期或時間沒有註明時區，無法得知是哪個時區，"
                    "已照寫的時間當作 UTC 統計；若它們是當地時間，最小值與最大值可能相差"
                    "幾個小時。"
                )
        return "".join(sentences) or None

    def _become_text(self) -> None:
        if self.kind != "empty":
            self.needs_rescan = True  # nulls and counts are recomputed in the rescan
        self.kind = "text"
        self.numeric = NumericAccumulator()
        self.formats = set()
        self.percent = self.currency = None
        self.currency_symbols = frozenset()
        self.earliest = self.latest = None
        self.offsets, self.naive_dates = set(), False
        self.counter = None
        self.excel_rounded, self.rounded_values = None, None
        self.rounded_cells = 0

    def _counter(self) -> TopCounter:
        if self.counter is None:
            self.counter = TopCounter(self.distinct_cap)
        return self.counter

    def _count(self, values: pa.Array) -> None:
        self._counter().add(
            values.cast(pa.string()) if pa.types.is_boolean(values.type) else values
        )

    def _add_text(self, values: pa.Array, counts: pa.Table | None = None) -> None:
        self.kind = "text"
        if counts is None:
            self._count(_as_text(values))
        else:
            self._counter().add_counts(counts)

    def add_text_only(self, values: pa.Array) -> None:
        """Second pass, from the start, of a column that turned text: counts and nulls."""
        self.nulls += values.null_count
        if values.null_count < len(values):
            self._count(_as_text(values))

    def result(self) -> dict:
        numeric = self.kind in NUMERIC
        dates = self.kind in ("date", "datetime", "time")
        stats = self.numeric
        stats.flush()
        low = self._moment(self.earliest) if dates else None
        high = self._moment(self.latest) if dates else None
        return {
            "name": self.name,
            "type": "text" if self.kind == "empty" else self.kind,
            "nulls": self.nulls + (stats.nans if numeric else 0),
            "min": finite_or_none(stats.minimum) if numeric else low,
            "max": finite_or_none(stats.maximum) if numeric else high,
            "mean": finite_or_none(stats.mean) if numeric and stats.count else None,
            "std": finite_or_none(stats.std()) if numeric else None,
            "top": self.counter.top()
            if self.counter and self.kind in ("text", "boolean")
            else None,
            "histogram": stats.histogram.result(self.kind == "integer") if numeric else None,
            "unit": "%" if numeric and self.percent else (self.currency if numeric else None),
            "formats": sorted(self.formats),
        }

    def warning(self, table: str) -> str | None:
        """One zh-TW sentence on what was converted for the user, or None."""
        if self.kind in NUMERIC:
            labels = dict(FORMAT_LABELS)
            if self.currency:
                bare = "$" in self.currency_symbols and self.currency != "$"
                labels[types.CURRENCY] = (
                    f"貨幣符號（{self.currency}，數值不含幣別"
                    + (f"；沒有註明幣別的「$」視為 {self.currency}" if bare else "")
                    + "）"
                )
            shown = [labels[name] for name in sorted(self.formats) if name in labels]
            sentences = []
            if shown:
                sentences.append(
                    f"「{table}」的欄位「{self.name}」以{'、'.join(shown)}書寫，已轉為數值。"
                )
            if types.STORED_AS_TEXT in self.formats:
                sentences.append(
                    f'「{table}」的欄位「{self.name}」的值是以文字儲存的數字（例如 "100"），'
                    "已當作數值統計；若它們是代碼（郵遞區號、編號），請把統計結果當作參考。"
                )
            rounded = self._rounding_warning(table)
            if rounded:
                sentences.append(rounded)
            if sentences:
                return "".join(sentences)
        if self.kind == "text" and self.counter is not None:
            return self._looks_typed(table)
        if self.kind in ("date", "datetime"):
            return self._dates_warning(table)
        return None

    def _looks_typed(self, table: str) -> str | None:
        """A text column whose cells nearly all look like numbers or dates, yet are not
        read as such (decimal commas; mixed or day-first date formats): say so, rather
        than let a number column pass as text unremarked."""
        assert self.counter is not None
        where = f"「{table}」的欄位「{self.name}」"
        share, _ = self.counter.matching(COMMA_NUMBER)
        _, example = self.counter.matching(DECIMAL_COMMA)
        if share >= LOOKS_TYPED_SHARE and example is not None:
            return (
                f"{where}看起來是以逗號作小數點的數字（例如「{example}」），已當作文字，"
                "沒有數值統計；若要當數值分析，請改用「.」作小數點後再匯出。"
            )
        share, example = self.counter.matching(DATE_LIKE)
        if share >= LOOKS_TYPED_SHARE:
            return (
                f"{where}看起來是日期（例如「{example}」），但格式不一致或無法確定年、月、日"
                "的順序，已當作文字；若要當日期分析，請統一寫成 2024/05/01 的格式。"
            )
        return None


def _only_na(values: pa.Array) -> bool:
    """Whether every non-empty text cell is an NA marker (N/A, -, NULL, ...)."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return False
    return types.without_na(values).null_count == len(values)


def _plain(values: pa.Array) -> pa.Array:
    """A dictionary-encoded array decoded; any other as it is."""
    return values.dictionary_decode() if pa.types.is_dictionary(values.type) else values


def _as_text(values: pa.Array) -> pa.Array:
    """Text cells for counting: strings (plain or dictionary-encoded) as they are, numbers
    and booleans as the file would show them."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    if pa.types.is_dictionary(values.type):
        return values
    if pa.types.is_floating(values.type) or pa.types.is_integer(values.type):
        return pa.array([_number_text(v) for v in values.to_pylist()], pa.string())
    if pa.types.is_boolean(values.type):
        return pc.if_else(values, "TRUE", "FALSE")
    return values.cast(pa.string())


def _number_text(value: float | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


class TableStats:
    """Statistics of one table, fed batch by batch, and the warnings that concern it.

    Rows that are not data (total, subtotal, note and footer rows, see
    ``backend.jobs.analyze.totals``) are taken out of each batch before any figure sees them
    and listed in ``excluded``; a batch's trailing rows with few cells filled are held back
    until what follows them shows whether they are data or lines under the table.
    """

    def __init__(
        self, name: str, column_names: Sequence[str], typed_source: bool = False,
        unit: str = "行",
    ) -> None:  # fmt: skip
        """``typed_source``: the reader types cells itself (JSON, Excel), so numbers that
        arrive as text are noted; ``unit``: what a line of the source is called (行, 列)."""
        self.name = name
        self.typed_source = typed_source
        self.unit = unit
        self.rows = 0
        self.read = 0  # rows handed over, data and excluded alike
        self.columns: list[ColumnStats] = []
        self.preview: list[list[object]] = []
        self.preview_given = False
        self.notes: list[str] = []  # decisions the reader made for the user, zh-TW
        self.excluded: list[totals.Excluded] = []
        self.sums = totals.Sums()
        self._held: tuple[list[pa.Array], list[int] | None, int] | None = None
        self._section_nulls: set[int] = set()  # columns with an empty cell in the section
        for column_name in column_names:
            self.add_column(column_name)

    def _distinct_cap(self) -> int:
        return max(MIN_DISTINCT_PER_COLUMN, DISTINCT_BUDGET // max(len(self.columns) + 1, 1))

    def add_column(self, name: str) -> ColumnStats:
        """Add a column (JSON keys may appear late); earlier rows count as empty cells."""
        column = ColumnStats(
            name, self._distinct_cap(), nulls=self.rows, typed_source=self.typed_source
        )
        self.columns.append(column)
        for row in self.preview:
            row.append(None)
        return column

    def set_preview(self, rows: Sequence[Sequence[object]]) -> None:
        """The first rows in file order, when batches do not come in that order."""
        self.preview = [list(row) for row in rows[:PREVIEW_ROWS]]
        self.preview_given = True

    def prepare(self, columns: Sequence[pa.Array]) -> list[Prepared | None]:
        """:func:`prepare_column` for each of a batch's columns; safe on another thread
        while earlier batches are being added (columns not added yet count as empty)."""
        kinds = [column.kind for column in self.columns]
        kinds += ["empty"] * (len(columns) - len(kinds))
        return [prepare_column(values, kind) for values, kind in zip(columns, kinds, strict=False)]

    def add_batch(
        self,
        columns: Sequence[pa.Array],
        prepared: Sequence[Prepared | None] | None = None,
        lines: Sequence[int] | None = None,
    ) -> None:
        """``columns`` in the order of ``self.columns``, with nulls for empty cells;
        ``prepared``: :meth:`prepare`'s work on them, if done; ``lines``: each row's line in
        the source (1-based), when the reader knows it."""
        if not columns or not len(columns[0]):
            return
        if len(columns) < len(self.columns):
            # Columns named after this batch was read (JSON keys that appear late, known
            # once later batches were read ahead): empty in these rows.
            height = len(columns[0])
            missing = len(self.columns) - len(columns)
            columns = [*columns, *(pa.nulls(height, pa.string()) for _ in range(missing))]
            if prepared is not None:
                prepared = [*prepared, *([None] * missing)]
        first = self.read
        self.read += len(columns[0])
        if self._held is not None:
            held, self._held = self._held, None
            self._resolve_held(*held, final=False)
        work = list(prepared) if prepared is not None else self.prepare(columns)
        self._add_rows(list(columns), work, lines, first, hold=True)

    def finish(self) -> None:
        """The end of the table: rows still held back are notes, footers or data."""
        if self._held is not None:
            held, self._held = self._held, None
            self._resolve_held(*held, final=True)
        self._settle_labels()

    # --- rows that are not data --------------------------------------------------------

    def _add_rows(
        self, columns: list[pa.Array], work: list[Prepared | None],
        lines: Sequence[int] | None, first: int, hold: bool,
    ) -> None:  # fmt: skip
        height = len(columns[0])
        labelled: dict[int, tuple[str, str, int]] = {}  # row: reason, label, its column
        for index, (values, prepared) in enumerate(zip(columns, work, strict=False)):
            for row, reason in (prepared.labels if prepared else {}).items():
                labelled.setdefault(row, (reason, _cell_text(values, row), index))
        end = height
        if hold:
            end = self._sparse_tail(columns, labelled)
            if end < height:
                self._held = (
                    [values.slice(end) for values in columns],
                    list(lines[end:]) if lines is not None else None,
                    first + end,
                )
        if end == height and not labelled:
            self._add_data(columns, work, first, lines)
            return
        body = [values.slice(0, end) for values in columns]
        if not labelled:
            body_work = work if end == height else self.prepare(body)
            self._add_data(body, body_work, first, lines)
            return
        # Labelled rows split the body into data segments, each added in turn so that a
        # subtotal is compared with the rows since the previous one.
        start = 0
        for row in sorted(r for r in labelled if r < end):
            if row > start:
                segment = [values.slice(start, row - start) for values in body]
                segment_lines = _part(lines, start, row)
                self._add_data(segment, self.prepare(segment), first + start, segment_lines)
            reason, label, column = labelled[row]
            self._exclude_labelled(body, row, first, reason, label, column, lines)
            start = row + 1
        if start < end:
            segment = [values.slice(start, end - start) for values in body]
            self._add_data(segment, self.prepare(segment), first + start, _part(lines, start, end))

    def _sparse_tail(self, columns: list[pa.Array], labelled: dict) -> int:
        """Where the batch's trailing rows with few cells filled begin (its height: none)."""
        height = len(columns[0])
        width = len(columns)
        end = height
        while end > 0 and height - end < totals.MAX_HELD_ROWS and (end - 1) not in labelled:
            filled = sum(1 for values in columns if _cell_text(values, end - 1).strip())
            if width < 2 or (filled > 1 and filled >= (width + 1) // 2):
                break
            end -= 1
        return end

    def _resolve_held(
        self, columns: list[pa.Array], lines: list[int] | None, first: int, final: bool
    ) -> None:
        """Held-back rows: at the end of the table, its trailing notes and footers are
        excluded; what comes before them (or everything, when data rows followed) is data."""
        height = len(columns[0])
        end = height
        if final:
            while end > 0 and self._is_note_row(columns, end - 1):
                end -= 1
        if end:
            part = [values.slice(0, end) for values in columns]
            self._add_rows(part, self.prepare(part), lines, first, hold=False)
        for row in range(end, height):
            cells = [_cell_text(values, row) for values in columns]
            text = next(cell for cell in cells if cell.strip())
            self.excluded.append(
                totals.Excluded(
                    first + row, totals.note_reason(text), totals.quote(text),
                    cells=cells, line=lines[row] if lines is not None else None,
                )
            )  # fmt: skip

    def _is_note_row(self, columns: list[pa.Array], row: int) -> bool:
        """A row under the table that starts like a note, or whose only cell is one its
        column's kind rejects (text in a date or number column)."""
        filled = sum(1 for values in columns if _cell_text(values, row).strip())
        for values, column in zip(columns, self.columns, strict=False):
            cell = _cell_text(values, row)
            if not cell.strip():
                continue
            if totals.looks_like_note(cell):
                return True
            if filled == 1 and column.kind in CANDIDATES and column.kind != "empty":
                one = values.slice(row, 1)
                text = pa.array([cell], pa.string())
                if (
                    _typed_kind(_plain(one).type) is None
                    and types.without_na(text).null_count == 0  # N/A fits any column
                    and not types.parse(text, CANDIDATES[column.kind])
                ):
                    return True
        return False

    def _exclude_labelled(
        self, body: list[pa.Array], row: int, first: int, reason: str, label: str,
        column: int, lines: Sequence[int] | None,
    ) -> None:  # fmt: skip
        """A labelled total row: excluded, its figures compared with the rows it covers
        (a subtotal: those since the previous total row; a total: all of them, or those
        since the previous total row when it adds up to them, as 1月合計 does)."""
        cells = self._numbers_of_row(body, row)
        sums, covered = self.sums.covered(reason)
        later = reason == totals.TOTAL and self.sums.subtotals > 0  # a total after others
        if later and not totals.matches(cells, sums) and totals.matches(cells, self.sums.section):
            sums, covered = self.sums.section, self.sums.section_rows
        names = [column.name for column in self.columns]
        check = totals.figures_check(cells, sums, covered, names)
        keep = len(self.excluded) < MAX_KEPT_ROWS
        self.excluded.append(
            totals.Excluded(
                first + row, reason, totals.quote(label), check,
                [_cell_text(values, row) for values in body],
                lines[row] if lines is not None else None,
                data_before=self.rows, covered=self.sums.section_rows, column=column,
                slices=[values.slice(row, 1) for values in body] if keep else None,
            )
        )  # fmt: skip
        self.sums.close_section()
        self._section_nulls = set()

    def _settle_labels(self) -> None:
        """At the table's end: a total row with data rows or another total after it is a
        subtotal (5月份合計);
        a label met three times or more in one column, each time after at most one data
        row (月份, 類型: 當月, 累計 in long format), is a category, and its rows are data."""
        labelled = [row for row in self.excluded if row.slices is not None]
        groups: dict[tuple[int, str], list[totals.Excluded]] = {}
        for row in labelled:
            groups.setdefault((row.column, (row.label or "").strip()), []).append(row)
        for (column, label), rows in groups.items():
            if len(rows) < 3 or any(row.covered > 1 for row in rows):
                continue
            gone = {id(row) for row in rows}
            self.excluded = [row for row in self.excluded if id(row) not in gone]
            width = len(rows[0].slices or [])
            arrays = [
                pa.concat_arrays([(row.slices or [])[i] for row in rows]) for i in range(width)
            ]
            self._add_counted(arrays, self.prepare(arrays))
            name = self.columns[column].name if column < len(self.columns) else ""
            self.notes.append(
                f"「{self.name}」的欄位「{name}」中「{label}」出現 {len(rows):,} 次，"
                "每次只跟在一列資料之後，看起來是分類的值而不是合計列，已當作資料列入統計。"
            )
        ends = [row for row in self.excluded if row.reason == totals.TOTAL and row.data_before]
        for row in ends:  # data after it, or a total after it: it closed a section only
            if row.data_before < self.rows or row is not ends[-1]:
                row.reason = totals.SUBTOTAL
        for row in self.excluded:
            row.slices = None

    def _numbers_of_row(self, columns: list[pa.Array], row: int) -> dict[int, float]:
        """The row's cells in the table's number columns, as numbers (when they are)."""
        found = {}
        for index, (values, column) in enumerate(zip(columns, self.columns, strict=False)):
            if column.kind not in NUMERIC and column.kind != "empty":
                continue
            one = _plain(values.slice(row, 1))
            if one.null_count:
                continue
            if pa.types.is_integer(one.type) or pa.types.is_floating(one.type):
                found[index] = float(one[0].as_py())
                continue
            parsed = types.parse(one.cast(pa.string()), ("number",))
            if parsed is not None and parsed.values[0].is_valid:
                found[index] = float(parsed.values[0].as_py())
        return found

    def _numbers(self, columns: list[pa.Array], work: list[Prepared | None]) -> dict[int, pa.Array]:
        """The batch's numeric columns as float arrays (nulls for empty cells)."""
        found = {}
        for index, (values, prepared) in enumerate(zip(columns, work, strict=False)):
            column = self.columns[index] if index < len(self.columns) else None
            if column is None or column.kind not in ("empty", *NUMERIC):
                continue
            plain = _plain(values)
            if pa.types.is_integer(plain.type) or pa.types.is_floating(plain.type):
                found[index] = plain
            elif prepared and prepared.parsed and prepared.parsed.kind in NUMERIC:
                found[index] = prepared.parsed.values
        return found

    def _add_data(
        self, columns: list[pa.Array], work: list[Prepared | None], first: int,
        lines: Sequence[int] | None,
    ) -> None:  # fmt: skip
        """Data rows, less the unlabelled total rows among them (see ``totals``)."""
        height = len(columns[0]) if columns else 0
        if not height:
            return
        numbers = self._numbers(columns, work)
        if len(numbers) >= 2:
            found = self._unlabelled_total(columns, numbers)
            if found is not None:
                row, reason, covered = found
                if row:
                    head = [values.slice(0, row) for values in columns]
                    self._add_data(head, self.prepare(head), first, _part(lines, 0, row))
                self.excluded.append(
                    totals.Excluded(
                        first + row, reason, None,
                        f"其數值等於上方 {covered:,} 列的加總（沒有合計字樣，依數值判斷）",
                        [_cell_text(values, row) for values in columns],
                        lines[row] if lines is not None else None,
                        data_before=self.rows, covered=covered,
                    )
                )  # fmt: skip
                self.sums.close_section()
                self._section_nulls = set()
                rest = [values.slice(row + 1) for values in columns]
                if len(rest[0]):
                    tail = _part(lines, row + 1, height)
                    self._add_data(rest, self.prepare(rest), first + row + 1, tail)
                return
        self._add_counted(columns, work)
        self.sums.add(numbers, height)
        for index, values in enumerate(columns):
            if values.null_count:
                self._section_nulls.add(index)

    def _unlabelled_total(
        self, columns: list[pa.Array], numbers: dict[int, pa.Array]
    ) -> tuple[int, str, int] | None:
        """The first row of the batch that is an unlabelled total row, as (row, reason,
        rows covered), or None. Only rows with an empty cell in a column that every row of
        the section has filled are tried: the first empty cell of each such column."""
        candidates = set()
        for index, values in enumerate(columns):
            if index in self._section_nulls or not values.null_count:
                continue
            position = pc.index(values.is_null(), True).as_py()
            if position is not None and position >= 0:
                candidates.add(position)
        if not candidates:
            return None
        # A total row has figures only: the cells of the other columns are all empty.
        others = [values for i, values in enumerate(columns) if i not in numbers]
        candidates = {row for row in candidates if all(not v[row].is_valid for v in others)}
        if not candidates:
            return None
        arrays = {i: _float_numpy(values) for i, values in numbers.items()}
        for row in sorted(candidates):
            match = totals.sum_match(arrays, self.sums, row)
            if match is not None:
                return (row, *match)
        return None

    def _add_counted(self, columns: Sequence[pa.Array], work: Sequence[Prepared | None]) -> None:
        height = len(columns[0])
        if not self.preview_given:
            self._keep_preview(columns, height)
        for stats, values, prepared in zip(self.columns, columns, work, strict=True):
            stats.add(values, prepared)
        self.rows += height

    def excluded_rows(self) -> set[int]:
        """Indices (among the rows as read) of the rows left out."""
        return {row.row for row in self.excluded}

    # ---------------------------------------------------------------------------------

    def _keep_preview(self, columns: Sequence[pa.Array], height: int) -> None:
        wanted = PREVIEW_ROWS - len(self.preview)
        if wanted <= 0:
            return
        heads = [values.slice(0, wanted).to_pylist() for values in columns]
        for i in range(min(wanted, height)):
            self.preview.append([head[i] for head in heads])

    def columns_to_rescan(self) -> list[int]:
        return [i for i, column in enumerate(self.columns) if column.needs_rescan]

    def start_rescan(self) -> list[ColumnStats]:
        """The columns that turned text, reset for a second pass over their values."""
        columns = [self.columns[i] for i in self.columns_to_rescan()]
        for column in columns:
            column.nulls = 0
            column.counter = None
        return columns

    def warnings(self) -> list[str]:
        notes = list(self.notes)
        notes += totals.warnings(self.name, self.excluded, self.unit)
        for column in self.columns:
            note = column.warning(self.name)
            if note:
                notes.append(note)
            if column.counter is not None and column.counter.approximate:
                notes.append(
                    f"「{self.name}」的欄位「{column.name}」相異值超過 "
                    f"{column.counter.cap:,} 個，最常見值的次數為近似值。"
                )
        return notes

    def result(self) -> dict:
        listed = self.excluded[: totals.MAX_LISTED]
        preview = self.preview
        if self.preview_given and self.excluded:  # the reader's first rows, as read
            left_out = self.excluded_rows()
            preview = [row for i, row in enumerate(preview) if i not in left_out]
        return {
            "name": self.name,
            "rows": self.rows,
            "columns": [column.result() for column in self.columns],
            "preview": self._preview_rows(preview),
            "excluded_rows": [{"line": row.line, "reason": row.reason} for row in listed],
            "warnings": self.warnings(),
        }

    def _preview_rows(self, rows: list[list[object]]) -> list[dict]:
        """The preview as JSON values of each column's final kind, column by column (one
        parse of a column's text cells, not one per cell: wide tables have thousands)."""
        shown = [
            _preview_column([row[i] for row in rows], column.kind)
            for i, column in enumerate(self.columns)
        ]
        names = [column.name for column in self.columns]
        return [dict(zip(names, cells, strict=True)) for cells in zip(*shown, strict=True)]


def _preview_column(cells: list[object], kind: str) -> list[object]:
    """:func:`typed_cell` of each cell, the text cells of a typed column parsed at once."""
    text = [i for i, cell in enumerate(cells) if isinstance(cell, str) and cell.strip()]
    out = list(cells)
    if kind in CANDIDATES and kind != "empty" and len(text) > 1:
        parsed = types.parse(pa.array([cells[i] for i in text], pa.string()), CANDIDATES[kind])
        if parsed is not None:
            for i, value in zip(text, parsed.values.to_pylist(), strict=True):
                out[i] = _json_value(value)
            done = set(text)
            return [out[i] if i in done else typed_cell(cell, kind) for i, cell in enumerate(cells)]
    return [typed_cell(cell, kind) for cell in cells]


def _json_value(cell: object) -> object:
    if isinstance(cell, (dt.date, dt.datetime, dt.time)):
        return cell.isoformat()
    return finite_or_none(cell) if isinstance(cell, float) else cell


def _part(lines: Sequence[int] | None, start: int, end: int) -> list[int] | None:
    return list(lines[start:end]) if lines is not None else None


def _cell_text(values: pa.Array, row: int) -> str:
    """One cell as text ("" when empty)."""
    value = values[row].as_py()
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def _float_numpy(values: pa.Array) -> np.ndarray:
    """Numbers as float64, NaN for empty cells."""
    as_float = pc.cast(values, pa.float64(), safe=False)
    return as_float.to_numpy(zero_copy_only=False)


def typed_cell(value: object, kind: str) -> object:
    """A preview cell as the JSON value a user expects for the column's final type."""
    if (
        value is None
        or value == ""
        or (kind != "text" and isinstance(value, str) and not value.strip())
    ):
        return None  # an empty cell, whichever way the reader gave it
    if isinstance(value, (dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.date):
        if kind == "datetime":  # midnight, as Excel stores a date in a date-time column
            return dt.datetime.combine(value, dt.time()).isoformat()
        return value.isoformat()
    if kind == "text" or kind == "empty":
        if isinstance(value, (int, float, bool)):
            return _as_text(pa.array([value]))[0].as_py()
        return value
    if not isinstance(value, str):
        if kind == "integer" and isinstance(value, float) and value.is_integer():
            return int(value)  # Excel stores every number as a float
        return finite_or_none(value) if isinstance(value, float) else value
    parsed = types.parse(pa.array([value], pa.string()), CANDIDATES.get(kind, ()))
    if parsed is None:
        return value
    return _json_value(parsed.values[0].as_py())


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
