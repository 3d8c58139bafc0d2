"""What a cell means: numbers as Excel displays them, dates (ROC calendar too), booleans.

Every function takes a pyarrow string array whose empty cells are already nulls and answers
for the *whole* array: either every non-empty cell is of one kind, and the parsed array comes
back with the display formats that were met, or ``None``. A column is of a kind only when all
its cells are; one cell that does not fit leaves the column text, which is never wrong.

Numbers (``parse_numbers``), after Unicode NFKC folds full-width characters (``１２３``,
``％``, ``＄``) to ASCII:

* plain: ``-12``, ``3.5``, ``1e3``;
* thousands-separated: ``1,234``, ``12,500.50`` (groups of three digits, as Excel writes);
* percentages: ``12.5%``; the figures stay in percent and the column says so (unit ``%``);
  a column is a percentage column only when every cell carries ``%``;
* currency-prefixed: ``NT$1,200``, ``$300``, ``¥500``, ``€``, ``£``; one currency a column;
* accounting negatives: ``(1,234)`` is -1234.

Identifiers stay text: a leading zero (``0912345678``, ``007``, postal codes, 統一編號) or
more than 15 integer digits, whatever their length (Excel itself keeps only 15 significant
digits, and a float64 holds 15-17: ``10000000000000000001`` would come out rounded), so
they are kept exactly as written. The extra check runs only when a cast failed or the values
are that large. Cells such as ``N/A`` or ``-`` (``NA_MARKERS``) are empty in numeric and
date columns.

A float column whose every cell is written as Excel displays a long number it rounded
(``4.71009E+12``: one digit, a point, at most five more, an exponent of 11 or more) is
flagged (``Parsed.excel_rounded``): such cells are usually codes (barcodes, account numbers)
whose last digits Excel's display dropped before the file was exported.

Dates (``parse_dates``): ``2024-05-01``, ``2024/5/1``, ``2024.05.01``, ``2024年5月1日``, and
ROC (民國) dates with a two- or three-digit year: ``113/05/01``, ``113/5/2``, ``113-05-01``,
``民國113年5月1日`` (ROC year + 1911 = Gregorian year, 中華民國曆法). An optional time
``13:45``, ``13:45:30``, ``下午 01:45:30`` (上午/下午 as Windows zh-TW writes AM/PM) makes a
datetime column; fractional seconds (``13:45:30.250``) are kept to the microsecond (as
Python's ``datetime.fromisoformat``, further digits cut off). A UTC offset after the time,
as ISO 8601 writes it (``Z``, ``+08:00``, ``+0800``, ``+08``, ``-05:00``), converts the cell
to UTC: such values are ``timestamp[tz=UTC]`` and ``Parsed.offsets`` says which offsets were
met (``""`` for cells without one in the same array, which are taken as they are, i.e. as UTC).

Times of day (``parse_times``): ``08:30``, ``8:30:15``, ``08:30:15.5``, ``下午 2:15``,
``上午 10:05``, ``2:15 PM``: every cell a valid clock time (hours 0-23, or 1-12 with
上午/下午/AM/PM; minutes and seconds two digits, 00-59), so ratios and scores such as
``3:1`` stay text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NA_MARKERS = [
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null", "-", "--", "－",
]  # fmt: skip
NA_SET = pa.array(NA_MARKERS, pa.string())
MAX_INTEGER_DIGITS = 15
# A digit string longer than MAX_INTEGER_DIGITS: an identifier, never a number.
LONG_DIGITS = rf"^\s*[+-]?\d{{{MAX_INTEGER_DIGITS + 1},}}\s*$"
# Excel's display of a rounded long number: 4.71009E+12 (at most 6 significant digits).
EXCEL_ROUNDED = r"^\s*[+-]?\d\.\d{0,5}E\+\d{2,}\s*$"
EXCEL_ROUNDED_MIN = 1e11  # Excel's General format shows 12 digits and more this way
ROC_OFFSET = 1911  # ROC year 1 is 1912

# Display formats a column's numbers or dates were written in (keys of FORMAT_LABELS in
# backend.jobs.analyze.stats).
THOUSANDS, PERCENT, CURRENCY, ACCOUNTING, FULLWIDTH = (
    "thousands", "percent", "currency", "accounting", "fullwidth",
)  # fmt: skip
ROC, GREGORIAN = "roc", "gregorian"
# Numbers a typed source (JSON, Excel) held as text ("100" rather than 100).
STORED_AS_TEXT = "stored_as_text"

NUMBER = (
    r"^(?P<sign>[+-])?(?P<open>\()?(?P<sign2>[+-])?(?P<cur>NT\$|NTD|US\$|\$|¥|€|£)?\s?"
    r"(?P<sign3>[+-])?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)"
    r"(?:[eE](?P<exp>[+-]?\d+))?(?P<pct>%)?(?P<close>\))?$"
)
# What may follow a clock time: fractional seconds, AM/PM, a UTC offset. One group in
# DATE (each group costs a string array per batch), matched again with TAIL_PARTS only
# where some cell has one.
TAIL = r"(?:\.\d+)?\s*(?:AM|PM|am|pm)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?"
TAIL_PARTS = (
    r"^(?:\.(?P<F>\d+))?\s*(?P<ap2>AM|PM|am|pm)?"
    r"\s*(?P<tz>Z|(?P<tz_sign>[+-])(?P<tz_h>\d{2})(?::?(?P<tz_m>\d{2}))?)?$"
)
TAIL_GROUPS = frozenset({"F", "ap2", "tz", "tz_sign", "tz_h", "tz_m"})
TIME = (
    r"(?:(?:\s+|T)(?P<ap>上午|下午|AM|PM|am|pm)?\s*(?P<H>\d{1,2}):(?P<M>\d{2})"
    r"(?::(?P<S>\d{2}))?(?P<tail>" + TAIL + "))?"
)
DATE = (
    r"^(?:(?P<roc>民國)\s*)?(?P<y>\d{2,4})"
    r"(?:[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})|\s*年\s*(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*日)"
    + TIME
    + "$"
)
TIME_OF_DAY = (
    r"^(?P<ap>上午|下午|AM|PM|am|pm)?\s*(?P<H>\d{1,2}):(?P<M>\d{2})"
    r"(?::(?P<S>\d{2})(?:\.(?P<F>\d+))?)?\s*(?P<ap2>AM|PM|am|pm)?$"
)
# A date-time written with a UTC offset (a column's `formats`): converted to UTC.
UTC_OFFSET = "utc_offset"
MICROSECONDS, MICROSECONDS_DIGITS = 1_000_000, 6
SAMPLE_CELLS = 1_000  # a column's first cells, tried as times before all of them are
# Seconds since 1970 of the first and the last second Python's datetime can hold.
FIRST_SECOND, LAST_SECOND = -62_135_596_800, 253_402_300_799
CURRENCY_NAMES = {"NTD": "NT$"}
TRUE_WORDS = ["true", "True", "TRUE"]
FALSE_WORDS = ["false", "False", "FALSE"]
BOOLEAN_SET = pa.array(TRUE_WORDS + FALSE_WORDS, pa.string())


@dataclass
class Parsed:
    """A string array read as one kind.

    ``kind``: "integer" | "float" | "date" | "datetime" | "time" | "boolean"; ``values``:
    int64, float64, date32, timestamp[s] (timestamp[us] with fractional seconds; with
    ``tz="UTC"`` when a cell had a UTC offset), time32[s] (time64[us]) or bool, null where
    the cell was empty or an NA marker;
    ``formats``: display formats met (THOUSANDS, PERCENT, ... ROC, GREGORIAN);
    ``currency``: the column's currency (see `one_currency`), if any cell had a symbol;
    ``symbols``: the symbols met, NTD written NT$;
    ``offsets``: the UTC offsets of date-times as "Z" or "+08:00" ("" for a cell without
    one beside them), empty when no cell had one.
    ``symbols``: the symbols met, NTD written NT$; ``excel_rounded``: every cell looks like
    a long number Excel displayed rounded (``4.71009E+12``, see EXCEL_ROUNDED).
    """

    kind: str
    values: pa.Array
    formats: set[str] = field(default_factory=set)
    currency: str | None = None
    symbols: frozenset[str] = frozenset()
    offsets: frozenset[str] = frozenset()
    excel_rounded: bool = False
    magnitude: float | None = None  # largest |value| of a number column, once computed


def parse(values: pa.Array, kinds: tuple[str, ...]) -> Parsed | None:
    """The first of ``kinds`` ("number", "date", "time", "boolean"; "integer" and "float"
    are numbers expected to be of that kind) that every cell fits, or None."""
    for kind in kinds:
        parsed = PARSERS[kind](values)
        if parsed is not None:
            return parsed
    return None


def without_na(values: pa.Array) -> pa.Array:
    """Trimmed cells with the NA markers turned into nulls."""
    stripped = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.is_in(stripped, value_set=NA_SET), None, stripped)


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(mask).as_py())


def _leading_zero(values: pa.Array) -> bool:
    """An identifier such as 0912345678, -007 or 0x1F: not a number. Looks at the first bytes
    of each cell (digits and signs are single bytes in UTF-8) without copying the cells."""
    starts, lengths, data = _cells(values)
    if not len(data):
        return False
    # One gather for every cell; an empty cell's "first byte" belongs to the next cell and
    # is masked out below, only for the few cells that start like an identifier.
    first = np.take(data, starts, mode="clip")
    rows = np.flatnonzero((first == ord("0")) | (first == ord("-")) | (first == ord("+")))
    rows = rows[lengths[rows] > 0]
    if not len(rows):
        return False
    starts, lengths, first = starts[rows], lengths[rows], first[rows]
    second = _byte_at(data, starts, lengths, 1)
    if np.any((first == ord("0")) & _digit_or_x(second)):
        return True
    rows = np.flatnonzero((first != ord("0")) & (second == ord("0")))  # a sign, then 0
    return bool(len(rows)) and bool(
        _digit_or_x(_byte_at(data, starts[rows], lengths[rows], 2)).any()
    )


def _digit_or_x(byte: np.ndarray) -> np.ndarray:
    return ((byte >= ord("0")) & (byte <= ord("9"))) | (byte == ord("x")) | (byte == ord("X"))


def _cells(values: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A string array's cells as (start offsets, byte lengths, data bytes), lengths 0 for
    null cells; views of Arrow's buffers, not copies."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.large_string())
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    _, offset_buffer, data_buffer = values.buffers()
    offsets: np.ndarray[Any, Any] = np.frombuffer(offset_buffer, dtype=width)[
        values.offset : values.offset + len(values) + 1
    ]
    starts = offsets[:-1]
    lengths = offsets[1:] - starts
    if values.null_count:
        lengths = np.where(values.is_valid().to_numpy(zero_copy_only=False), lengths, 0)
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer else np.empty(0, np.uint8)
    return starts, lengths, data


def _byte_at(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, index: int) -> np.ndarray:
    """Byte ``index`` of each cell, 0 where the cell is shorter."""
    if not len(data):
        return np.zeros(len(starts), dtype=np.uint8)
    return np.where(lengths > index, data[np.minimum(starts + index, len(data) - 1)], 0)


def _too_long(integers: pa.Array) -> bool:
    extremes = pc.min_max(integers)
    low, high = extremes["min"].as_py(), extremes["max"].as_py()
    limit = 10**MAX_INTEGER_DIGITS
    return low is not None and (high >= limit or low <= -limit)


class _Groups:
    """The named groups of a regex matched on every non-null cell; "" where a group is
    absent, null where the cell was."""

    def __init__(self, parts: pa.StructArray) -> None:
        self._fields = dict(
            zip(
                [parts.type.field(i).name for i in range(parts.type.num_fields)],
                parts.flatten(),
                strict=False,
            )
        )

    def __call__(self, name: str) -> pa.Array:
        return self._fields[name]


def _match(values: pa.Array, pattern: str) -> _Groups | None:
    parts = pc.extract_regex(values, pattern)
    if parts.null_count != values.null_count:
        return None
    return _Groups(parts)


def parse_numbers(values: pa.Array, likely: str | None = None) -> Parsed | None:
    """Numbers, plain or as displayed (see the module docstring), or None. ``likely``
    ("integer" or "float", what the column held so far) is tried first on the fast path."""
    if values.null_count == len(values):
        return None
    parsed = _plain_numbers(values, likely)
    if parsed is None:
        parsed = _displayed_numbers(values)
    if parsed is not None and parsed.kind == "float" and _magnitude(parsed) >= EXCEL_ROUNDED_MIN:
        cells = pc.drop_null(without_na(values))
        parsed.excel_rounded = bool(pc.all(pc.match_substring_regex(cells, EXCEL_ROUNDED)).as_py())
    return parsed


def _magnitude(parsed: Parsed) -> float:
    """The largest magnitude of the parsed numbers (0 without any), found once (one
    min_max pass, no copy) and kept on ``parsed``."""
    if parsed.magnitude is None:
        extremes = pc.min_max(parsed.values)
        low, high = extremes["min"].as_py(), extremes["max"].as_py()
        parsed.magnitude = 0.0 if low is None else max(abs(low), abs(high))
    return parsed.magnitude


def _long_digits(values: pa.Array) -> bool:
    """Whether some cell is a digit string of more than MAX_INTEGER_DIGITS digits."""
    return _any(pc.match_substring_regex(values, LONG_DIGITS))


def _plain_numbers(values: pa.Array, likely: str | None) -> Parsed | None:
    """The fast path: what Arrow's own parser takes (no spaces, separators or symbols)."""
    if _leading_zero(values):
        return None
    attempts = [("integer", pa.int64()), ("float", pa.float64())]
    # A failing cast to int64 costs as much as ten successful ones: skip the hopeless one.
    if likely == "float" or (likely is None and _any(pc.match_substring(values, "."))):
        attempts = attempts[1:]
    for kind, dtype in attempts:
        try:
            parsed = values.cast(dtype)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if kind == "integer" and _too_long(parsed):
            return None
        found = Parsed(kind, parsed)
        # Integers past int64 fail the first cast and pass this one, rounded: identifiers.
        big = kind == "float" and _magnitude(found) >= 10.0**MAX_INTEGER_DIGITS
        if big and _long_digits(values):
            return None
        return found
    return None


def _displayed_numbers(values: pa.Array) -> Parsed | None:
    formats: set[str] = set()
    if not _any(pc.invert(pc.string_is_ascii(values))):
        normalized = values
    else:
        normalized = pc.utf8_normalize(values, "NFKC")
        if _any(pc.not_equal(normalized, values)):
            formats.add(FULLWIDTH)
    cleaned = without_na(normalized)
    if cleaned.null_count == len(cleaned):
        return None
    parts = _match(cleaned, NUMBER)
    if parts is None:
        return None  # some cell is not a number
    opened = pc.equal(parts("open"), "(")
    closed = pc.equal(parts("close"), ")")
    if _any(pc.not_equal(opened, closed)):
        return None
    digits = parts("num")
    if _leading_zero(digits) and not _any(pc.match_substring(digits, ",")):
        return None
    percent = pc.equal(parts("pct"), "%")
    has_percent = _any(percent)
    if has_percent and not pc.all(percent).as_py():
        return None  # 12% beside 0.5: which unit? leave it to the user
    symbols = frozenset(
        CURRENCY_NAMES.get(symbol, symbol) for symbol in pc.unique(parts("cur")).to_pylist()
    ) - {"", None}
    currency = one_currency(symbols)
    if currency is False:
        return None  # adding NT$ to US$ would be wrong
    if _any(pc.match_substring(digits, ",")):
        formats.add(THOUSANDS)
    if has_percent:
        formats.add(PERCENT)
    if currency:
        formats.add(CURRENCY)
    if _any(opened):
        formats.add(ACCOUNTING)
    number = digits_only = pc.replace_substring(digits, ",", "")
    exponent = parts("exp")
    has_exponent = _any(pc.not_equal(exponent, ""))
    if has_exponent:
        number = pc.binary_join_element_wise(
            number, pc.if_else(pc.equal(exponent, ""), "0", exponent), "e"
        )
    negative = pc.or_(
        opened,
        pc.or_(
            pc.equal(parts("sign"), "-"),
            pc.or_(pc.equal(parts("sign2"), "-"), pc.equal(parts("sign3"), "-")),
        ),
    )
    is_float = has_exponent or _any(pc.match_substring(number, "."))
    dtype = pa.float64() if is_float else pa.int64()
    try:
        magnitude = number.cast(dtype)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not is_float and _too_long(magnitude):
        return None
    parsed = pc.if_else(negative, pc.negate(magnitude), magnitude)
    found = Parsed("float" if is_float else "integer", parsed, formats, currency, symbols)
    if is_float and _magnitude(found) >= 10.0**MAX_INTEGER_DIGITS and _long_digits(digits_only):
        return None  # a long identifier beside decimals: text, not a rounded float
    return found


def one_currency(symbols: frozenset[str]) -> str | Literal[False] | None:
    """The currency of a column whose cells carry ``symbols``: None without any, False
    when two differ. A bare "$" goes with one other dollar (NT$ in Taiwan, US$), since
    Excel shows NT$ amounts as "$"; beside "¥", "€" or "£" it is a second currency."""
    found = set(symbols)
    dollars = {symbol for symbol in found if symbol.endswith("$") and symbol != "$"}
    if "$" in found and len(dollars) == 1 and found == {"$", *dollars}:
        found.discard("$")
    if len(found) > 1:
        return False
    return found.pop() if found else None


def parse_dates(values: pa.Array) -> Parsed | None:
    """Dates or date-times, Gregorian or ROC, with or without a UTC offset (see the module
    docstring), or None."""
    if values.null_count == len(values):
        return None
    cleaned = _cleaned(values)
    if cleaned.null_count == len(cleaned):
        return None
    matched = _match(cleaned, DATE)
    if matched is None:
        return None
    parts = _DateParts(matched)
    year_text = parts("y")
    roc = pc.or_(pc.equal(parts("roc"), "民國"), pc.less(pc.utf8_length(year_text), 4))
    year = pc.add(year_text.cast(pa.int64()), pc.if_else(roc, ROC_OFFSET, 0))
    month = pc.if_else(pc.equal(parts("m"), ""), parts("m2"), parts("m"))
    day = pc.if_else(pc.equal(parts("d"), ""), parts("d2"), parts("d"))
    iso_date = pc.binary_join_element_wise(
        pc.utf8_lpad(year.cast(pa.string()), 4, "0"),
        pc.utf8_lpad(month, 2, "0"),
        pc.utf8_lpad(day, 2, "0"),
        "-",
    )
    hours = parts("H")
    has_time = _any(pc.not_equal(hours, ""))
    formats = set()
    if _any(roc):
        formats.add(ROC)
    if not pc.all(roc).as_py():
        formats.add(GREGORIAN)
    if not has_time:
        stamps = _strict_strptime(iso_date, "%Y-%m-%d")
        if stamps is None:
            return None
        return Parsed("date", stamps.cast(pa.date32()), formats)
    iso = _with_time(iso_date, parts)
    if iso is None:
        return None
    stamps = _strict_strptime(iso, "%Y-%m-%d %H:%M:%S")
    if stamps is None:
        return None
    if not parts.has_tail:
        return Parsed("datetime", stamps, formats)
    fraction = parts("F")
    if _any(pc.not_equal(fraction, "")):
        if _any(pc.and_(pc.not_equal(fraction, ""), pc.equal(parts("S"), ""))):
            return None  # 08:30.5: a fraction of a minute is no ISO time
        stamps = _with_fraction(stamps, fraction)
    if not _any(pc.not_equal(parts("tz"), "")):
        return Parsed("datetime", stamps, formats)
    converted = _to_utc(stamps, parts)
    if converted is None:
        return None
    stamps, offsets = converted
    return Parsed("datetime", stamps, formats | {UTC_OFFSET}, offsets=offsets)


class _DateParts:
    """DATE's groups, and those of its ``tail`` (TAIL_GROUPS), which are matched only when
    some cell has a tail: "" for every cell otherwise."""

    def __init__(self, parts: _Groups) -> None:
        self._parts = parts
        tail = parts("tail")
        self.has_tail = _any(pc.not_equal(tail, ""))
        self._tail = _Groups(pc.extract_regex(tail, TAIL_PARTS)) if self.has_tail else None

    def __call__(self, name: str) -> pa.Array:
        if name not in TAIL_GROUPS:
            return self._parts(name)
        return self._tail(name) if self._tail is not None else self._parts("tail")


def _cleaned(values: pa.Array) -> pa.Array:
    """Cells with full-width characters folded (NFKC: "１４：３０" is "14:30"), trimmed,
    NA markers as nulls."""
    normalized = values
    if _any(pc.invert(pc.string_is_ascii(values))):
        normalized = pc.utf8_normalize(values, "NFKC")
    return without_na(normalized)


def _strict_strptime(iso: pa.Array, layout: str) -> pa.Array | None:
    """Timestamps of ISO strings, or None when one is no real date: strptime rolls
    2024-02-30 over to March, so the text must come back unchanged."""
    stamps = pc.strptime(iso, format=layout, unit="s", error_is_null=True)
    if stamps.null_count != iso.null_count:
        return None
    if not pc.all(pc.equal(pc.strftime(stamps, format=layout), iso)).as_py():
        return None
    return stamps


def _number_or(text: pa.Array, default: str) -> pa.Array:
    """An optional group of digits as int64, ``default`` where it was absent."""
    return pc.if_else(pc.equal(text, ""), default, text).cast(pa.int64())


def _hours(parts: _Groups | _DateParts) -> pa.Array | None:
    """Hours (0-23 after 上午/下午/AM/PM, as written otherwise; 0 where a cell has no time)
    as int64, or None when a 12-hour time is out of range (下午 13:00, 上午 0:30)."""
    hours = _number_or(parts("H"), "0")
    marker = pc.if_else(pc.equal(parts("ap"), ""), parts("ap2"), parts("ap"))
    afternoon = pc.is_in(marker, value_set=pa.array(["下午", "PM", "pm"]))
    morning = pc.is_in(marker, value_set=pa.array(["上午", "AM", "am"]))
    twelve_hour = pc.or_(afternoon, morning)
    if _any(pc.and_(twelve_hour, pc.or_(pc.greater(hours, 12), pc.equal(hours, 0)))):
        return None  # 下午 13:00 is no time
    hours = pc.if_else(pc.and_(afternoon, pc.less(hours, 12)), pc.add(hours, 12), hours)
    return pc.if_else(pc.and_(morning, pc.equal(hours, 12)), 0, hours)


def _with_time(iso_date: pa.Array, parts: _DateParts) -> pa.Array | None:
    hours = _hours(parts)
    if hours is None:
        return None
    minutes = pc.if_else(pc.equal(parts("M"), ""), "00", parts("M"))
    seconds = pc.if_else(pc.equal(parts("S"), ""), "00", parts("S"))
    clock = pc.binary_join_element_wise(
        pc.utf8_lpad(hours.cast(pa.string()), 2, "0"), minutes, seconds, ":"
    )
    return pc.binary_join_element_wise(iso_date, clock, " ")


def _microseconds(fraction: pa.Array) -> pa.Array:
    """Fractional-second digits ("5", "123456789") as whole microseconds (500000, 123456),
    digits past the sixth cut off as Python's datetime.fromisoformat does; 0 where none."""
    padded = pc.utf8_rpad(fraction, MICROSECONDS_DIGITS, "0")
    digits = pc.utf8_slice_codeunits(padded, 0, MICROSECONDS_DIGITS)
    return digits.cast(pa.int64())


def _with_fraction(stamps: pa.Array, fraction: pa.Array) -> pa.Array:
    """timestamp[s] ``stamps`` plus their fractional seconds, as timestamp[us]."""
    micros = pc.add(pc.multiply(stamps.cast(pa.int64()), MICROSECONDS), _microseconds(fraction))
    return micros.cast(pa.timestamp("us"))


def _to_utc(stamps: pa.Array, parts: _DateParts) -> tuple[pa.Array, frozenset[str]] | None:
    """Naive ``stamps`` (the clock as written) moved to UTC by each cell's offset (none:
    taken as UTC), with the offsets met, "" for cells without one; None when an offset is
    no real one (+24:00, +08:60) or a moment leaves the years 1-9999."""
    zone = parts("tz")
    hours, minutes = _number_or(parts("tz_h"), "0"), _number_or(parts("tz_m"), "0")
    if _any(pc.or_(pc.greater(hours, 23), pc.greater(minutes, 59))):
        return None
    seconds = pc.add(pc.multiply(hours, 3600), pc.multiply(minutes, 60))
    seconds = pc.if_else(pc.equal(parts("tz_sign"), "-"), pc.negate(seconds), seconds)
    unit = stamps.type.unit
    scale = MICROSECONDS if unit == "us" else 1
    utc = pc.subtract(stamps.cast(pa.int64()), pc.multiply(seconds, scale))
    extremes = pc.min_max(utc)
    if (
        extremes["min"].as_py() < FIRST_SECOND * scale
        or extremes["max"].as_py() > (LAST_SECOND + 1) * scale - 1
    ):
        return None
    written = pc.binary_join_element_wise(
        pc.binary_join_element_wise(parts("tz_sign"), parts("tz_h"), ""),
        pc.if_else(pc.equal(parts("tz_m"), ""), "00", parts("tz_m")),
        ":",
    )
    written = pc.if_else(pc.equal(zone, ""), "", pc.if_else(pc.equal(zone, "Z"), "Z", written))
    offsets = frozenset(pc.unique(written).drop_null().to_pylist())
    return utc.cast(pa.timestamp(unit, tz="UTC")), offsets


def parse_times(values: pa.Array) -> Parsed | None:
    """Times of day in every cell (see the module docstring) as time32[s], or time64[us]
    with fractional seconds; None otherwise. Cheap checks come first: a column without a
    colon needs no regex, and a text column with colons is ruled out on its first
    SAMPLE_CELLS cells."""
    if values.null_count == len(values):
        return None
    if not _any(pc.match_substring(values, ":")) and not _any(pc.match_substring(values, "：")):
        return None
    if len(values) > SAMPLE_CELLS and _times(values.slice(0, SAMPLE_CELLS)) is None:
        return None
    parsed = _times(values)
    if parsed is None or parsed.values.null_count == len(parsed.values):
        return None
    return parsed


def _times(values: pa.Array) -> Parsed | None:
    """The cells as times of day (nulls where empty or NA), or None when one is no time."""
    cleaned = _cleaned(values)
    if cleaned.null_count == len(cleaned):
        return Parsed("time", pa.nulls(len(cleaned), pa.time32("s")))
    parts = _match(cleaned, TIME_OF_DAY)
    if parts is None:
        return None
    hours = _hours(parts)
    if hours is None:
        return None
    minutes, seconds = _number_or(parts("M"), "0"), _number_or(parts("S"), "0")
    late = pc.or_(pc.greater(minutes, 59), pc.greater(seconds, 59))
    if _any(pc.or_(pc.greater(hours, 23), late)):
        return None  # 25:00, 08:61
    of_day = pc.add(pc.add(pc.multiply(hours, 3600), pc.multiply(minutes, 60)), seconds)
    if _any(pc.not_equal(parts("F"), "")):
        micros = pc.add(pc.multiply(of_day, MICROSECONDS), _microseconds(parts("F")))
        return Parsed("time", micros.cast(pa.time64("us")))
    return Parsed("time", of_day.cast(pa.int32()).cast(pa.time32("s")))


def parse_booleans(values: pa.Array) -> Parsed | None:
    """TRUE/FALSE (any of the usual spellings) in every cell, or None."""
    if values.null_count == len(values):
        return None
    stripped = pc.utf8_trim_whitespace(values)
    if not pc.all(pc.is_in(pc.drop_null(stripped), value_set=BOOLEAN_SET)).as_py():
        return None
    return Parsed("boolean", pc.is_in(stripped, value_set=pa.array(TRUE_WORDS)).cast(pa.bool_()))


PARSERS = {
    "number": parse_numbers,
    "integer": lambda values: parse_numbers(values, "integer"),
    "float": lambda values: parse_numbers(values, "float"),
    "date": parse_dates,
    "time": parse_times,
    "boolean": parse_booleans,
}
