"""Rows that are not data: total and subtotal rows inside or under a table, and notes or
footers below it.

Reports exported from accounting and ERP systems end with a 合計 row, often have 小計 rows
inside, and a 「備註：金額含稅」 or 「資料來源：…」 line under the table. Counted as data, a
total row doubles a column's mean and becomes its maximum; a note line turns a date column
into text. Such rows are left out of every statistic and listed in the table's
``excluded_rows`` (``[{"line", "reason"}]``, reasons ``total``, ``subtotal``, ``footer``,
``note``), each said in a zh-TW warning.

* A *labelled* total row has a cell that reads 合計, 小計, 總計, 總和, 共計, 累計, Total,
  Subtotal or Grand total (full- or half-width, any case, with or without spaces or a
  colon), with at most a few words before a Chinese label (台北小計, 5月份合計) and after it
  what is summed or a bracketed remark (合計金額, 合計(含稅), 合計：4筆): :func:`total_label`.
  A total row followed by data or by another total closed a section: it is a subtotal. A
  label met three times or more in one column, each time after at most one data row (當月,
  累計 by month in long format), is a category value, and its rows are data.
* An *unlabelled* total row has, in at least two numeric columns, the sum of the data rows
  above it (or of those since the previous subtotal), covering at least two rows; it has
  figures only (every other cell empty), and an empty cell where every row it covers has a
  value (the label cell left blank). The last two conditions keep rows of sequences
  (月 1, 2, 3: 1 + 2 = 3), running totals and orders at one unit price (1, 80; 1, 80; 2,
  160) from being taken for totals.
* A *footer* or *note* is a row under the last data row with few cells filled (at most
  one, or fewer than half the columns) that starts like a note (備註, 註, 說明, 資料來源,
  製表, ※, Note, Source, …), or whose only cell does not fit its column's kind (text in a
  date or number column).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from backend.jobs.analyze import types

TOTAL, SUBTOTAL, FOOTER, NOTE = "total", "subtotal", "footer", "note"
REASONS = (TOTAL, SUBTOTAL, FOOTER, NOTE)
# Label words, compared after NFKC, case folding and removing spaces; what follows them in
# the same cell may only be a colon, a few words of what is summed, or a bracketed remark.
LABELS = {
    "合計": TOTAL, "總計": TOTAL, "總和": TOTAL, "共計": TOTAL, "累計": TOTAL,
    "總合計": TOTAL, "總共": TOTAL, "合共": TOTAL, "小計": SUBTOTAL,
    "total": TOTAL, "grandtotal": TOTAL, "totals": TOTAL, "sum": TOTAL,
    "subtotal": SUBTOTAL, "sub-total": SUBTOTAL,
}  # fmt: skip
_WORDS = "|".join(sorted((re.escape(k) for k in LABELS), key=len, reverse=True))
_CJK_WORDS = "|".join(
    sorted((re.escape(k) for k in LABELS if not k.isascii()), key=len, reverse=True)
)
# What may follow the word: a colon, what is summed or counted, a bracketed remark.
_AFTER = (
    r"[:]?(?:金額|數量|筆數|件數|人數|amount|qty|quantity|元|nt\$|ntd|\$|\d+(?:筆|件|項|人))?"
    r"[:]?(?:\(.{0,20}\)|【.{0,20}】|\[.{0,20}\])?[:]?"
)
LABEL = re.compile(
    rf"^(?:(?P<label>{_WORDS})|.{{1,12}}?(?P<named>{_CJK_WORDS})){_AFTER}$"
)  # words before the label (台北小計, 5月份合計) only for the Chinese ones
# A cheap first test, on whole arrays, that a cell may hold a label: it starts (in UTF-8)
# with a character a label can start with, or a space. Read off the cells' first bytes with
# numpy: a regex, or Arrow's string kernels, cost more than everything else a text batch
# needs.
_FIRST = "合總总共累小ＴｔＳｓＧｇ（【「《＊※\u3000TtSsGg[(<* \t"


# A bit per 24-bit code (a cell's first three bytes): set for the UTF-8 of the characters
# above, followed by any bytes when the character is shorter (a range of codes each).
def _first_bits() -> np.ndarray:
    codes = np.zeros(1 << 24, dtype=bool)
    for char in _FIRST:
        encoded = char.encode("utf-8")
        width = 8 * (3 - len(encoded))
        start = int.from_bytes(encoded, "big") << width
        codes[start : start + (1 << width)] = True
    return np.packbits(codes, bitorder="little")


FIRST_BITS = _first_bits()
INNER_WORDS = [tuple(char.encode("utf-8")) for char in "計和共"]
CODE_MASKS = np.array([0, 0xFF0000, 0xFFFF00, 0xFFFFFF], dtype=np.int32)  # by cell length
# How a note or footer under a table starts.
NOTE_START = re.compile(r"^[\s*＊※#]*(?:備註|附註|註|注意|說明|note|remark|[*＊※])", re.IGNORECASE)
FOOTER_START = re.compile(
    r"^[\s*＊※#]*(?:資料來源|來源|製表|列印|印表|頁次|第\s*\d+\s*頁|單位|source|printed|page)",
    re.IGNORECASE,
)
MAX_HELD_ROWS = 1_000  # sparse rows held back at a batch's end, waiting for what follows
MAX_LISTED = 1_000  # excluded rows listed in the result (all are counted)
MAX_ONE_BY_ONE = 8  # excluded rows said one sentence each; more are said by reason


BRACKETS = {"[": "]", "【": "】", "(": ")", "「": "」", "<": ">", "《": "》"}


def _fold(text: str) -> str:
    """NFKC, case folded, without spaces, and out of a bracket pair around the whole."""
    folded = "".join(unicodedata.normalize("NFKC", text).casefold().split()).strip("*※")
    if len(folded) > 2 and BRACKETS.get(folded[0]) == folded[-1]:
        folded = folded[1:-1]
    return folded


def total_label(cell: str | None) -> str | None:
    """``total`` or ``subtotal`` when ``cell`` reads as a total row's label, else None.

    ``"合計"``, ``"合　計："``, ``"ＴＯＴＡＬ"``, ``"Grand Total"``, ``"小計（北區）"`` are
    labels; ``"合計金額"`` too; ``"合計表"``, ``"累計營收成長率"`` or a sentence are not.
    """
    if not cell or len(cell) > 40:
        return None
    match = LABEL.match(_fold(cell))
    return LABELS[match.group("label") or match.group("named")] if match else None


def label_rows(values: pa.Array) -> dict[int, str]:
    """Rows of a text column (plain or dictionary-encoded) whose cell is a total label, with
    its reason. Costs a look at each cell's first bytes (or each distinct value's)."""
    if pa.types.is_dictionary(values.type):
        words = _labels_among(values.dictionary)
        if not words:
            return {}
        hits = pc.is_in(values.indices, value_set=pa.array(sorted(words), values.indices.type))
        reasons = {i: words[i] for i in words}
        indices = np.flatnonzero(hits.fill_null(False).to_numpy(zero_copy_only=False))
        return {int(row): reasons[values.indices[int(row)].as_py()] for row in indices}
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return {}
    found = {}
    for row in np.flatnonzero(_maybe_labels(values)):
        reason = total_label(values[int(row)].as_py())
        if reason:
            found[int(row)] = reason
    return found


def _maybe_labels(values: pa.Array) -> np.ndarray:
    """Which cells may be labels: a numpy boolean array. A cell may when it starts with a
    character a label starts with (FIRST_BITS), or holds 計, 和 or 共 (合計, 總和, 總共 after
    other words), or the letters "tal" or "sum" in any case."""
    starts, lengths, data = types._cells(values)
    if not len(data):
        return np.zeros(len(values), dtype=bool)
    padded = np.concatenate([data, np.zeros(3, np.uint8)])  # cells of one or two bytes
    at = starts.astype(np.intp)
    code = np.take(padded, at).astype(np.int32) << 16
    code |= np.take(padded, at + 1).astype(np.int32) << 8
    code |= np.take(padded, at + 2)
    code &= np.take(CODE_MASKS, np.minimum(lengths, 3))
    maybe = ((FIRST_BITS[code >> 3] >> (code & 7)) & 1) == 1
    # Three-byte sequences anywhere in the data, mapped back to the cells holding them.
    b0, b1, b2 = padded[:-2], padded[1:-1], padded[2:]
    hit = np.zeros(len(b0), dtype=bool)
    for word in INNER_WORDS:
        hit |= (b0 == word[0]) & (b1 == word[1]) & (b2 == word[2])
    low0, low1, low2 = b0 | 0x20, b1 | 0x20, b2 | 0x20
    hit |= (low0 == ord("t")) & (low1 == ord("a")) & (low2 == ord("l"))
    hit |= (low0 == ord("s")) & (low1 == ord("u")) & (low2 == ord("m"))
    positions = np.flatnonzero(hit)
    if len(positions):
        cell = np.searchsorted(at, positions, side="right") - 1
        inside = (cell >= 0) & (positions + 3 <= at[cell] + lengths[cell])
        maybe[cell[inside]] = True
    return maybe & (lengths > 0)


def _labels_among(dictionary: pa.Array) -> dict[int, str]:
    """Indices of the distinct values that are labels, with their reasons."""
    if not (pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type)):
        return {}
    words = {}
    for index in np.flatnonzero(_maybe_labels(dictionary)):
        reason = total_label(dictionary[int(index)].as_py())
        if reason:
            words[int(index)] = reason
    return words


def labels_in_counts(counts: pa.Table) -> bool:
    """Whether a text column's value counts (``stats.COUNTS_SCHEMA``) hold a label."""
    values = counts["value"].combine_chunks() if counts.num_rows else None
    return values is not None and bool(_labels_among(values))


def note_reason(cell: str) -> str:
    """``note`` or ``footer`` for the text of a line under a table."""
    return NOTE if NOTE_START.match(cell.strip()) else FOOTER


def looks_like_note(cell: str) -> bool:
    """Whether a cell starts as a note or a footer does (備註：…, 資料來源：…)."""
    text = cell.strip()
    return bool(NOTE_START.match(text) or FOOTER_START.match(text))


@dataclass
class Excluded:
    """A row left out of the statistics: ``row``, its 0-based index among the table's rows
    as read (data and excluded alike); ``line``: 1-based line in the file or sheet row, once
    known; ``reason``: one of REASONS; ``label``: the label cell's text; ``check``: for a
    total row, how its figures compare with the sum of the rows it covers (zh-TW)."""

    row: int
    reason: str
    label: str | None = None
    check: str | None = None
    cells: Sequence[str | None] = field(default_factory=list)
    line: int | None = None
    data_before: int = 0  # data rows of the table before it
    covered: int = 0  # data rows since the previous excluded total (its section)
    column: int = 0  # where its label is
    slices: list[pa.Array] | None = None  # its cells, one-row arrays, while it may be data


@dataclass
class Sums:
    """Running sums of a table's numeric columns: of every data row (``grand``), and of the
    data rows since the last subtotal (``section``), with how many rows each covers."""

    grand: dict[int, float] = field(default_factory=dict)
    section: dict[int, float] = field(default_factory=dict)
    grand_rows: int = 0
    section_rows: int = 0
    subtotals: int = 0

    def add(self, numbers: dict[int, pa.Array], rows: int) -> None:
        """Add ``rows`` data rows: per column index, their numbers (nulls for empty)."""
        for column, values in numbers.items():
            total = pc.sum(values).as_py() or 0
            self.grand[column] = self.grand.get(column, 0) + total
            self.section[column] = self.section.get(column, 0) + total
        self.grand_rows += rows
        self.section_rows += rows

    def close_section(self) -> None:
        self.section = {}
        self.section_rows = 0
        self.subtotals += 1

    def covered(self, reason: str) -> tuple[dict[int, float], int]:
        """The sums and row count a total row of ``reason`` covers."""
        if reason == SUBTOTAL or not self.subtotals:
            return self.section, self.section_rows
        return self.grand, self.grand_rows


def close(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray | bool:
    """Equal as a report's figures are: exactly for whole numbers, to 1e-9 relative for
    sums of decimals (float rounding); NaN (an empty cell) is never equal."""
    return np.isclose(a, b, rtol=1e-9, atol=1e-9)


def sum_match(numbers: dict[int, np.ndarray], sums: Sums, row: int) -> tuple[str, int] | None:
    """Whether row ``row`` of a batch is an unlabelled total: in at least two of the
    ``numbers`` columns (NaN for empty) it equals the non-zero sum of the data rows it
    covers (those since the last subtotal, or, after a subtotal, all of them), at least
    two rows. ``sums`` holds the rows before the batch. (reason, rows covered) or None."""
    if len(numbers) < 2:
        return None
    section_hits = grand_hits = 0
    for column, values in numbers.items():
        value = values[row]
        if np.isnan(value):
            continue
        before = float(np.nansum(values[:row]))
        section = sums.section.get(column, 0) + before
        grand = sums.grand.get(column, 0) + before
        section_hits += bool(section != 0 and close(value, section))
        grand_hits += bool(sums.subtotals and grand != 0 and close(value, grand))
    if grand_hits >= 2 and sums.grand_rows + row >= 2:
        return TOTAL, sums.grand_rows + row
    if section_hits >= 2 and sums.section_rows + row >= 2:
        return (SUBTOTAL if sums.subtotals else TOTAL), sums.section_rows + row
    return None


def matches(cells: dict[int, float], sums: dict[int, float]) -> bool:
    """Whether every number of a row equals the sum of its column."""
    return bool(cells) and all(close(value, sums.get(c, 0)) for c, value in cells.items())


def figures_check(
    cells: dict[int, float], sums: dict[int, float], rows: int, names: list[str]
) -> str:
    """zh-TW: whether a labelled total row's figures match the sums of the rows it covers,
    column by column."""
    if not cells or rows == 0:
        return "列中沒有可與上方各列加總比對的數值"
    matched = [names[c] for c, value in cells.items() if close(value, sums.get(c, 0))]
    wrong = [
        (names[c], v, sums.get(c, 0)) for c, v in cells.items() if not close(v, sums.get(c, 0))
    ]
    if not wrong:
        return f"其數值與上方 {rows:,} 列的加總相符"
    name, value, expected = wrong[0]
    parts = []
    if matched:
        parts.append("、".join(f"「{n}」" for n in matched[:3]) + f"與上方 {rows:,} 列的加總相符")
    parts.append(
        "、".join(f"「{n}」" for n, _, _ in wrong[:3])
        + f"與上方 {rows:,} 列的加總不符（例如「{name}」：列中為 {_figure(value)}，"
        f"加總為 {_figure(expected)}）"
    )
    return "；".join(parts)


def _figure(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


REASON_LABELS = {
    TOTAL: "合計列",
    SUBTOTAL: "小計列",
    FOOTER: "表格下方的附註或資料來源",
    NOTE: "表格下方的備註",
}


def warnings(table: str, excluded: list[Excluded], unit: str) -> list[str]:
    """zh-TW sentences naming each excluded row's line, in file order; grouped by reason
    when there are many."""
    if len(excluded) <= MAX_ONE_BY_ONE:
        return [_sentence(table, row, unit) for row in sorted(excluded, key=_order)]
    notes = []
    for reason in REASONS:
        rows = sorted((row for row in excluded if row.reason == reason), key=_order)
        if not rows:
            continue
        lines = "、".join(f"{row.line:,}" for row in rows[:10] if row.line)
        more = "…" if len(rows) > 10 else ""
        where = f"（第 {lines}{more} {unit}）" if lines else ""
        notes.append(
            f"「{table}」有 {len(rows):,} 列是{REASON_LABELS[reason]}{where}，"
            "已排除，不列入任何統計。"
        )
    return notes


def _order(row: Excluded) -> tuple[int, int]:
    return (row.line if row.line is not None else 1 << 62, row.row)


def _sentence(table: str, row: Excluded, unit: str) -> str:
    where = f"第 {row.line:,} {unit}" if row.line else "有一列"
    text = f"「{row.label}」" if row.label else ""
    label = REASON_LABELS[row.reason]
    if row.reason in (TOTAL, SUBTOTAL):
        check = f"；{row.check}" if row.check else ""
        return f"「{table}」{where}{text}是{label}，已排除，不列入任何統計{check}。"
    return f"「{table}」{where}{text}是{label}，不是資料，已排除，不列入統計。"


def quote(cell: str, limit: int = 30) -> str:
    text = " ".join(cell.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
