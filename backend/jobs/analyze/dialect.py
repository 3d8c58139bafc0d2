"""How a delimited text file is laid out: dialect, preamble, header row, width.

Every decision is made on *parsed records* of a sample (Python's csv module, which knows
quoting), never by counting characters on physical lines, so a quoted line break, a ``;``
in free text or a trailing delimiter cannot fool it.

* The dialect (delimiter, quote and escape character) comes from CleverCSV, the reference
  implementation of "Wrangling messy CSV files by detecting row and type patterns" (van den
  Burg, Nazábal and Sutton, 2019), restricted to the delimiters people use. Excel's
  ``sep=X`` first line, when present, decides instead (and is neither header nor data).
* The choice must give consistent field counts over the records (``_consistent``);
  otherwise the extension's default delimiter, then a single column, is taken (or, for
  .txt, the file is prose).
* Title and note lines above the table (a report header) are skipped: leading records with
  at most one non-empty cell, or with fewer than half the table's fields.
* The first remaining record is the header unless it looks like the rest: when, in some
  column, it has the same type as the cells below (numbers, dates) and nowhere text above
  typed cells, the file has no header row; names are generated and the row is data.
* The width is the data records' most common field count. Trailing empty fields under a
  header without them (a trailing delimiter) are dropped; non-empty extra fields get
  generated column names.

Each decision made for the user becomes a zh-TW note.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from clevercsv import Detector

from backend.jobs.analyze import types
from backend.jobs.analyze.stats import unique_names
from backend.vocabulary import DELIMITER_LABELS

DELIMITERS = [",", ";", "\t", "|", ":", "#", "^", "~", " "]
DETECT_CHARS = 32 * 1024  # CleverCSV's cost grows with the sample; this is ~0.1 s
MAX_PREAMBLE = 20
MIN_CONSISTENCY = 0.5  # share of records with the common field count, exceeded
MIN_SPACE_CONSISTENCY = 0.9
PREVIEW_ROWS = 20
SEP_HINT = re.compile(r'^\ufeff?"?sep=(.)"?[ \t]*(?:\r\n|\r|\n|$)', re.IGNORECASE)
SINGLE_COLUMN = "\x1f"  # a delimiter no text holds: every record is one field
DELIMITER_NAMES = DELIMITER_LABELS  # as they read in a sentence


@dataclass(frozen=True)
class Dialect:
    """How fields are delimited and quoted. ``quotechar``/``escapechar`` "" for none;
    ``aligned``: columns padded with runs of spaces (delimiter " ", runs count as one);
    ``skipinitialspace``: spaces after a delimiter are not part of the field (``a, "b, c"``).
    """

    delimiter: str
    quotechar: str = '"'
    escapechar: str = ""
    aligned: bool = False
    skipinitialspace: bool = False

    @property
    def single_column(self) -> bool:
        return self.delimiter == SINGLE_COLUMN

    def reader(self, lines: Iterator[str]) -> Iterator[list[str]]:
        """Records of ``lines`` (Python's csv module)."""
        if self.aligned:
            lines = (line.lstrip(" ") for line in lines)
        return csv.reader(
            lines,
            delimiter=self.delimiter,
            quotechar=self.quotechar or '"',
            quoting=csv.QUOTE_MINIMAL if self.quotechar else csv.QUOTE_NONE,
            escapechar=self.escapechar or None,
            doublequote=True,
            skipinitialspace=self.aligned or self.skipinitialspace,
            strict=False,
        )

    def parse(self, text: str) -> list[list[str]]:
        return list(self.reader(io.StringIO(text, newline="")))


@dataclass
class Record:
    fields: list[str]
    first_line: int  # 0-based physical line where it starts
    lines: int  # physical lines it spans

    @property
    def blank(self) -> bool:
        return not any(cell.strip() for cell in self.fields)

    @property
    def filled(self) -> int:
        return sum(1 for cell in self.fields if cell.strip())


@dataclass
class Layout:
    """Where the table is in the file and how to read it.

    ``skip_lines``: physical lines before the first data record (hint, preamble, header);
    ``width``: fields per record the reader parses; ``names``: the columns kept, the first
    ``len(names)`` fields (plus ``empty_names``, columns with a name and no data);
    ``header_line``: 1-based line of the header row, None without one.
    """

    dialect: Dialect
    skip_lines: int
    width: int
    names: list[str]
    header_line: int | None
    preamble: int = 0
    hint: bool = False
    empty_names: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)  # first data records (preview)
    has_data: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def delimiter(self) -> str | None:
        return None if self.dialect.single_column else self.dialect.delimiter


def records(text: str, dialect: Dialect, complete: bool) -> list[Record]:
    """The records of ``text`` with their physical lines; a cut last record is dropped."""
    positions: list[int] = []  # lines pulled so far, after each record

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            positions.append(0)
            yield line

    found = []
    start = 0
    try:
        for fields in dialect.reader(lines()):
            end = len(positions)
            found.append(Record(fields, start, end - start))
            start = end
    except csv.Error:
        pass  # a cut quoted field at the end of the sample
    if not complete and found:
        found.pop()
    return found


def sniff(text: str, complete: bool, default_delimiter: str | None) -> Layout | None:
    """The layout of a delimited file from its first decoded ``text``; None: not a table
    (only when ``default_delimiter`` is None, i.e. .txt: the file is prose)."""
    hint = SEP_HINT.match(text)
    prose = default_delimiter is None
    body = text[hint.end() :] if hint else text
    if hint:
        dialect = Dialect(hint.group(1))
        found = records(body, dialect, complete)
        return _layout(found, dialect, hint=True)
    for dialect in _candidates(body, default_delimiter):
        variants = list(_variants(dialect))
        # Quoting the text plainly shows goes first: a consistent plain split would be wrong.
        evident = [variant for variant in variants if _evident(body, variant[0])]
        layout = _first_consistent(body, evident, complete, prose)
        if layout is not None:
            return layout
        found = records(body, dialect, complete)
        if dialect.single_column or _consistent(found, dialect, prose):
            return _layout(found, dialect, hint=False)
        # An unbalanced quote swallows the rest of the sample into one field: judge the
        # delimiter without quoting, and keep quoting for the reader, which then reports
        # the quote instead of reading the file as one column.
        unquoted = records(body, Dialect(dialect.delimiter, ""), complete)
        if dialect.quotechar and _consistent(unquoted, dialect, prose):
            return _layout(unquoted, dialect, hint=False)
        others = [variant for variant in variants if variant not in evident]
        layout = _first_consistent(body, others, complete, prose)
        if layout is not None:
            return layout
    return None


def _first_consistent(
    text: str, variants: list[tuple[Dialect, str]], complete: bool, prose: bool
) -> Layout | None:
    """The layout by the first of ``variants`` (dialect, zh-TW note) that ``text`` is
    consistent with, its note said first; None when none is."""
    for variant, note in variants:
        found = records(text, variant, complete)
        if _consistent(found, variant, prose):
            layout = _layout(found, variant, hint=False)
            if layout is not None:
                layout.notes.insert(0, note)
                return layout
    return None


def _evident(text: str, dialect: Dialect) -> bool:
    """Whether at least a fifth of the lines open a field the way ``dialect`` quotes and the
    plain dialect does not: ``, "`` for spaces after the delimiter, ``,'`` (and no double
    quote anywhere) for single quotes."""
    lines = text.splitlines()[:1000]
    quote, delimiter = dialect.quotechar, dialect.delimiter
    if quote == "'" and '"' in text:
        return False
    opening = delimiter + (" " if dialect.skipinitialspace else "") + quote
    hits = sum(1 for line in lines if opening in line)
    return hits >= max(2, len(lines) // 5)


def _variants(dialect: Dialect) -> Iterator[tuple[Dialect, str]]:
    """Quoting that CleverCSV's patterns can miss, tried when its dialect gives no
    consistent table: spaces after the delimiter before a quoted field (``a, "b, c"``), and
    single quotes (which apostrophes in the text hide from it). Each with its zh-TW note."""
    if dialect.single_column or dialect.aligned:
        return
    name = DELIMITER_NAMES.get(dialect.delimiter, f"「{dialect.delimiter}」")
    spaced = f"分隔符號（{name}）後面接著空白，已忽略欄位開頭的空白"
    for quote, skip in (('"', True), ("'", False), ("'", True)):
        if (quote, skip) == (dialect.quotechar, dialect.skipinitialspace):
            continue
        parts = [spaced] if skip else []
        if quote == "'":
            parts.append("欄位以單引號（'）括住")
        yield (
            Dialect(dialect.delimiter, quote, dialect.escapechar, skipinitialspace=skip),
            f"{'；'.join(parts)}。",
        )


def _candidates(text: str, default_delimiter: str | None) -> Iterator[Dialect]:
    """CleverCSV's dialect, then the extension's default, then one column (csv/tsv)."""
    detected = _detect(text)
    if detected is not None:
        yield detected
    if default_delimiter and (detected is None or detected.delimiter != default_delimiter):
        yield Dialect(default_delimiter)
    if default_delimiter is not None:
        yield Dialect(SINGLE_COLUMN)


def _detect(text: str) -> Dialect | None:
    sample = text[:DETECT_CHARS]
    if len(text) > DETECT_CHARS:
        cut = max(sample.rfind("\n"), sample.rfind("\r"))
        sample = sample[: cut + 1] if cut > 0 else sample
    present = [d for d in DELIMITERS if d in sample]
    if not present:
        return None
    found = Detector().detect(sample, delimiters=present)
    if found is None or not found.delimiter or found.delimiter not in DELIMITERS:
        return None
    aligned = found.delimiter == " " and "  " in sample
    return Dialect(found.delimiter, found.quotechar or '"', found.escapechar or "", aligned)


def _consistent(found: list[Record], dialect: Dialect, prose_possible: bool = False) -> bool:
    """Whether more than half of the records below any title lines share one field count
    of at least 2, the header's included; nine in ten for spaces, which prose is full of.
    ``prose_possible`` (a .txt): a lone line of several words is no table, so at least two
    records must share the count."""
    content = [r for r in found if not r.blank]
    start = 0
    while start < min(len(content) - 1, MAX_PREAMBLE) and len(content[start].fields) < 2:
        start += 1
    widths = [len(r.fields) for r in content[start:]]
    if not widths or widths[0] < 2:
        return False
    width, count = Counter(widths).most_common(1)[0]
    needed = MIN_SPACE_CONSISTENCY if dialect.delimiter == " " else MIN_CONSISTENCY
    if prose_possible and count < 2:
        return False
    return width >= 2 and count / len(widths) > needed


def _common_width(found: list[Record]) -> int:
    widths = [len(r.fields) for r in found if not r.blank]
    return Counter(widths).most_common(1)[0][0] if widths else 1


def _is_preamble(record: Record, width: int) -> bool:
    if record.blank:
        return True
    if width < 2:
        return False
    return record.filled <= 1 or len(record.fields) < max(2, (width + 1) // 2)


@dataclass
class TableStart:
    """Where a table starts among its first records, and its columns.

    ``header``: index of the header record (None without one); ``first``: index of the first
    data record; ``width``: data fields per record; ``names``: the columns kept (the first
    ``len(names)`` fields); ``empty_names``: header names beyond the data, with no data.
    """

    header: int | None
    first: int
    width: int
    names: list[str]
    empty_names: list[str]
    preamble: list[Record]
    data: list[Record]
    notes: list[str]


def find_table(found: list[Record], line_offset: int = 0, unit: str = "行") -> TableStart | None:
    """Preamble, header row and width of the records a file (or sheet) starts with; the same
    rules for delimited text and for Excel. ``line_offset``: lines before ``found[0]``."""
    content = [r for r in found if not r.blank]
    if not content:
        return None
    width = _common_width(content[1:] or content)
    start = 0
    while start < min(len(found), MAX_PREAMBLE) and _is_preamble(found[start], width):
        start += 1
    if start >= len(found) or start == MAX_PREAMBLE:
        start = next(i for i, r in enumerate(found) if not r.blank)
    notes = []
    preamble = [r for r in found[:start] if not r.blank]
    head = found[start]
    header_line = head.first_line + line_offset + 1
    if preamble:
        first = preamble[0].first_line + line_offset + 1
        last = preamble[-1].first_line + preamble[-1].lines + line_offset
        where = f"第 {first} {unit}" if first == last else f"第 {first}–{last} {unit}"
        notes.append(f"已略過表格上方的 {len(preamble)} {unit}標題或說明文字（{where}）。")
    data = [r for r in found[start + 1 :] if not r.blank]
    if data and not _looks_like_header(head.fields, [r.fields for r in data]):
        data = [head, *data]
        data_width = _common_width(data)
        notes.append(
            f"沒有標題列（第 {header_line} {unit}看起來就是資料），"
            "已自動命名欄位為「欄位 1」、「欄位 2」…。"
        )
        names = unique_names([None] * data_width)
        return TableStart(None, start, data_width, names, [], preamble, data, notes)
    data_width = _common_width(data) if data else len(head.fields)
    names, extra_notes = _names(head.fields, data, data_width)
    notes += extra_notes
    if preamble:
        notes.append(f"以第 {header_line} {unit}作為標題列。")
    kept = min(len(names), data_width)
    return TableStart(
        start, start + 1, data_width, names[:kept], names[kept:], preamble, data, notes
    )


def _layout(found: list[Record], dialect: Dialect, hint: bool) -> Layout | None:
    skipped = 1 if hint else 0  # physical lines
    notes = []
    if hint:
        name = DELIMITER_NAMES.get(dialect.delimiter, f"「{dialect.delimiter}」")
        notes.append(
            f"第 1 行的「sep={dialect.delimiter}」是 Excel 的分隔符號提示：已以{name}分隔欄位，"
            "該行不列為標題或資料。"
        )
    table = find_table(found, skipped)
    if table is None:
        return None
    if table.header is None:
        skip = found[table.first].first_line + skipped
        header_line = None
    else:
        head = found[table.header]
        skip = head.first_line + head.lines + skipped
        header_line = head.first_line + skipped + 1
    kept = len(table.names)
    blank = [""] * len(table.empty_names)
    rows = [_fit(r.fields, table.width)[:kept] + blank for r in table.data[:PREVIEW_ROWS]]
    return Layout(
        dialect=dialect,
        skip_lines=skip,
        width=table.width,
        names=table.names,
        header_line=header_line,
        preamble=len(table.preamble),
        hint=hint,
        empty_names=table.empty_names,
        rows=rows,
        has_data=bool(table.data),
        notes=notes + table.notes,
    )


def _fit(fields: list[str], width: int) -> list[str]:
    return fields[:width] + [""] * (width - len(fields))


def _names(header: list[str], data: list[Record], data_width: int) -> tuple[list[str], list[str]]:
    notes = []
    raw: list[str | None] = list(header)
    if data_width > len(raw):
        extra = [cell for r in data for cell in r.fields[len(raw) : data_width]]
        if any(cell.strip() for cell in extra):
            notes.append(
                f"標題列只有 {len(raw)} 欄，資料列有 {data_width} 欄，已為多出的欄位自動命名。"
            )
            raw += [None] * (data_width - len(raw))
        else:
            notes.append("資料列結尾多了分隔符號（多出空白欄位），已略過這些空白欄位。")
    elif len(raw) > data_width:
        while len(raw) > data_width and not (raw[-1] or "").strip():
            raw.pop()  # a trailing delimiter on the header only
        excess = len(raw) - data_width
        empty = [i for i, name in enumerate(raw) if not (name or "").strip()]
        if excess and len(empty) >= excess:
            # "DATE,,TIME" above rows of one field fewer: the empty name is a stray
            # delimiter; without it the names line up with the data again.
            dropped = empty[:excess]
            raw = [name for i, name in enumerate(raw) if i not in dropped]
            where = "、".join(f"第 {i + 1} 欄" for i in dropped)
            notes.append(
                f"標題列比資料列多 {excess} 欄，且{where}的欄名是空白，"
                "應是多打的分隔符號，已略過，讓欄名與資料對齊。"
            )
        elif excess:
            extra = "、".join(f"「{name}」" for name in raw[data_width:][:3])
            notes.append(
                f"標題列有 {len(raw)} 個欄名，但資料列只有 {data_width} 欄；"
                f"{extra}沒有對應的資料，列為空白欄位。請確認欄名是否與資料對齊。"
            )
    return unique_names(raw), notes


def _kind(cells: list[str]) -> str:
    """ "number", "date", "boolean" or "text" for a few sample cells (empties ignored)."""
    values = pa.array([c if c.strip() else None for c in cells], pa.string())
    if values.null_count == len(values):
        return "empty"
    parsed = types.parse(values, ("number", "date", "boolean"))
    return "text" if parsed is None else parsed.kind


def _looks_like_header(head: list[str], data: list[list[str]]) -> bool:
    """True unless the first record has the same types as the records below it."""
    sample = data[:200]
    typed_match = False
    for i, cell in enumerate(head):
        below = [row[i] for row in sample if i < len(row)]
        column = _kind(below)
        if column in ("empty", "text"):
            continue
        first = _kind([cell])
        if first == "empty":
            continue
        if first == "text":
            return True  # a name above numbers or dates
        typed_match = True
    return not typed_match
