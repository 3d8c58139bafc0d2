"""How a delimited text file is laid out: dialect, preamble, header row, width.

Every decision is made on *parsed records* of a sample (Python's csv module, which knows
quoting), never by counting characters on physical lines, so a quoted line break, a ``;``
in free text or a trailing delimiter cannot fool it.

* The dialect (delimiter, quote and escape character) comes from CleverCSV, the reference
  implementation of "Wrangling messy CSV files by detecting row and type patterns" (van den
  Burg, Nazábal and Sutton, 2019), restricted to the delimiters people use. Excel's
  ``sep=X`` first line, when present, decides instead (and is neither header nor data).
* The choice must give consistent field counts over the records (``_consistent``; a
  record with trailing empty fields also fits the narrower width, so ``a,b,c,`` above
  ``1,2,3`` is a table); otherwise the extension's default delimiter, then a single column,
  is taken (or, for .txt, the file is prose).
* Very wide files, whose first DETECT_CHARS hold fewer than DETECT_LINES whole lines, are
  not given to CleverCSV (whose cost grows with its sample and which needs whole rows):
  the delimiter is the one whose first records agree best on a field count of at least 2.
* The caller grows the sample (``sample_too_small``) until it holds FEW_RECORDS data
  records or the whole file, so a cell longer than the sample cannot make a file look like
  a header without data. Python's csv module is given a field limit beyond any sample.
* Title and note lines above the table (a report header) are skipped: leading records with
  at most one non-empty cell, or with fewer than half the table's fields.
* The first remaining record is the header unless it looks like the rest: when, in some
  column, it has the same type as the cells below (numbers, dates) and nowhere text above
  typed cells, the file has no header row; names are generated and the row is data.
  Numbers can be names, though (``_numbers_as_names``): distinct years (``2022,2023``, ROC
  ``111,112``) or a run of consecutive integers (months ``1..12``, codes ``1001..1004``)
  above rows that are not such years or runs, and whose numbers lie outside the names'
  span, are a header; with a few numbers inside the span the evidence is split, and the
  row is kept as the header with a note saying so (a wrongly dropped header corrupts every
  figure; a wrongly kept one only names the columns badly). ``1,2,3`` above ``4,5,6`` stays
  data.
* The width is the data records' most common field count. Trailing empty fields under a
  header without them (a trailing delimiter) are dropped, and so are trailing columns with
  neither a name nor a value in the sample (every line ends in the delimiter); the reader
  keeps parsing them and keeps them after all should a value turn up later
  (``Layout.spare_names``). Non-empty extra fields get generated column names.

Each decision made for the user becomes a zh-TW note.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from clevercsv import Detector

from backend.jobs.analyze import types
from backend.jobs.analyze.stats import unique_names
from backend.jobs.context import JobError
from backend.vocabulary import DELIMITER_LABELS

DELIMITERS = [",", ";", "\t", "|", ":", "#", "^", "~", " "]
DETECT_CHARS = 32 * 1024  # CleverCSV's cost grows with the sample; this is ~0.1 s
DETECT_LINES = 3  # whole lines CleverCSV's sample must hold; fewer: a very wide file
WIDE_RECORDS = 10  # records compared per delimiter in a very wide file
FEW_RECORDS = 3  # data records a sample must hold, unless it is the whole file
SWALLOWED_LINES = 20  # lines of table rows inside one cut record: an unclosed quote
MAX_RECORD = 32 << 20  # characters: the longest record (and sample) the sniffer reads
# Python's csv module refuses fields over 128 KiB by default; a sample holds at most
# MAX_RECORD characters, so no field of it can reach this limit.
FIELD_LIMIT = 2 * MAX_RECORD
csv.field_size_limit(FIELD_LIMIT)
MIN_RUN = 3  # consecutive integers that can be names (two could be any two numbers)
NAME_OVERLAP = 0.25  # share of the numbers below inside numeric names' span: still a header
YEAR = re.compile(r"^(?:19|20)\d\d$|^2100$")
ROC_YEAR = range(30, 201)  # 民國 30-200 (1941-2111), two or three digits
PLAIN_INTEGER = re.compile(r"^[1-9]\d{0,8}$")
TRAILING_NOTE = "資料列結尾多了分隔符號（多出空白欄位），已略過這些空白欄位。"
MAX_PREAMBLE = 20
MIN_CONSISTENCY = 0.5  # share of records with the common field count, exceeded
MIN_SPACE_CONSISTENCY = 0.9
PREVIEW_ROWS = 20
SEP_HINT = re.compile(r'^\ufeff?"?sep=(.)"?[ \t]*(?:\r\n|\r|\n|$)', re.IGNORECASE)
GAP = re.compile(r" {2,}")
CLOCK_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?")
SINGLE_COLUMN = "\x1f"  # a delimiter no text holds: every record is one field
DELIMITER_NAMES = DELIMITER_LABELS  # as they read in a sentence


@dataclass(frozen=True)
class Dialect:
    """How fields are delimited and quoted. ``quotechar``/``escapechar`` "" for none;
    ``aligned``: columns padded with runs of spaces (delimiter " ", runs count as one);
    ``skipinitialspace``: spaces after a delimiter are not part of the field (``a, "b, c"``);
    ``gaps``: aligned columns separated by runs of at least two spaces, a single space
    being part of a field (``apple pie    3``); no quoting.
    """

    delimiter: str
    quotechar: str = '"'
    escapechar: str = ""
    aligned: bool = False
    skipinitialspace: bool = False
    gaps: bool = False

    @property
    def single_column(self) -> bool:
        return self.delimiter == SINGLE_COLUMN

    def reader(self, lines: Iterator[str]) -> Iterator[list[str]]:
        """Records of ``lines`` (Python's csv module)."""
        if self.gaps:
            return (GAP.split(line.strip(" \r\n")) for line in lines)
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
    chars: int = 0  # characters it spans, line ends included (0 when unknown)

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
    ``header_line``: 1-based line of the header row, None without one; ``spare_names``:
    names for the fields past ``names`` up to ``width`` (trailing columns without a name or
    a value in the sample), should a value turn up there; ``drop_note``: the note that
    said they were dropped; ``longest``: characters of the sample's longest record.
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
    spare_names: list[str] = field(default_factory=list)
    drop_note: str | None = None
    longest: int = 0

    @property
    def delimiter(self) -> str | None:
        return None if self.dialect.single_column else self.dialect.delimiter


def records(text: str, dialect: Dialect, complete: bool, limit: int | None = None) -> list[Record]:
    """The records of ``text`` with their physical lines; a cut last record is dropped
    (``complete``: ``text`` is the whole file). ``limit``: at most that many records.

    Raises JobError("invalid_file_format") if the csv module refuses the text (which its
    field limit, beyond any sample, leaves to nothing foreseen): a record is never lost
    silently."""
    ends: list[int] = []  # character offset after each line pulled so far

    def lines() -> Iterator[str]:
        at = 0
        for line in io.StringIO(text, newline=""):
            at += len(line)
            ends.append(at)
            yield line

    found = []
    start = start_char = 0
    try:
        for fields in dialect.reader(lines()):
            end = len(ends)
            found.append(Record(fields, start, end - start, ends[-1] - start_char))
            start, start_char = end, ends[-1]
            if limit is not None and len(found) >= limit:
                return found  # stopped early: the last record is whole
    except csv.Error as error:
        raise JobError(
            "invalid_file_format",
            f"無法解析檔案開頭第 {start + 1:,} 行起的資料（{error}）；請確認檔案內容與引號是否成對。",
        ) from None
    if not complete and found:
        found.pop()
    return found


def sample_too_small(text: str, complete: bool, layout: Layout | None) -> bool:
    """Whether a sample that is not the whole file holds too few records to decide on:
    fewer than FEW_RECORDS data records under its layout (a cell longer than the sample
    leaves a header alone), or, when it looks like prose, fewer than FEW_RECORDS + 1
    records under the dialect CleverCSV sees (a long quoted cell can hide a table)."""
    if complete:
        return False
    hint = SEP_HINT.match(text)
    body = text[hint.end() :] if hint else text
    if layout is not None:
        return len(layout.rows) < FEW_RECORDS
    dialect = _detect(body) or Dialect(",")
    content = [r for r in records(body, dialect, False, FEW_RECORDS + 1) if not r.blank]
    return len(content) < FEW_RECORDS + 1


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
            layout = _layout(found, dialect, hint=False)
            if layout is not None and not complete and _swallowed(body, layout):
                # An unclosed quote swallows the rest of the sample: judged as below.
                unquoted = records(body, Dialect(dialect.delimiter, ""), complete)
                return _layout(unquoted, dialect, hint=False) or layout
            return layout
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
    if dialect.gaps:
        return False  # a fallback only
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
    if dialect.aligned and not dialect.gaps:
        yield (
            Dialect(" ", "", aligned=True, gaps=True),
            "欄位以兩個以上的空白對齊分隔；欄位內的單一空白視為內容。",
        )
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


def _swallowed(body: str, layout: Layout) -> bool:
    """Whether the cut record at the end of the sample is an unclosed quote swallowing
    the table: its lines, split without quoting, are mostly (nine in ten of at least
    SWALLOWED_LINES) records of the table's width. A bigger sample would not help; the
    reader reports the quote."""
    dialect = layout.dialect
    if not dialect.quotechar or dialect.single_column or len(layout.rows) >= FEW_RECORDS:
        return False
    offset = sum(r.chars for r in records(body, dialect, False))
    plain = Dialect(dialect.delimiter, "", dialect.escapechar, dialect.aligned)
    lines = records(body[offset:], plain, False, SWALLOWED_LINES * 2)[1:]
    fitting = sum(1 for r in lines if len(r.fields) == layout.width)
    return len(lines) >= SWALLOWED_LINES and fitting >= MIN_SPACE_CONSISTENCY * len(lines)


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
    """CleverCSV's dialect of the first DETECT_CHARS (whole lines); for a very wide file,
    whose first DETECT_CHARS hold fewer than DETECT_LINES whole lines, the delimiter its
    first records agree on (``_widest_agreement``)."""
    sample = text[:DETECT_CHARS]
    if len(text) > DETECT_CHARS:
        cut = max(sample.rfind("\n"), sample.rfind("\r"))
        sample = sample[: cut + 1] if cut > 0 else sample
        if len(sample.splitlines()) < DETECT_LINES or cut <= 0:
            return _widest_agreement(text)
    return _clevercsv(sample)


@functools.lru_cache(maxsize=4)
def _clevercsv(sample: str) -> Dialect | None:
    present = [d for d in DELIMITERS if d in sample]
    if not present:
        return None
    found = Detector().detect(sample, delimiters=present)
    if found is None or not found.delimiter or found.delimiter not in DELIMITERS:
        return None
    if found.delimiter == ":" and ":" not in CLOCK_TIME.sub("", sample):
        return None  # every colon is in a time of day (08:30): a column of times
    aligned = found.delimiter == " " and "  " in sample
    return Dialect(found.delimiter, found.quotechar or '"', found.escapechar or "", aligned)


def _widest_agreement(text: str) -> Dialect | None:
    """The delimiter of a very wide file: the one under which the most of its first
    WIDE_RECORDS records (the first included, so a header matters) fit one field count of
    at least 2, the widest on a tie; None when none gives two fields. Costs one csv pass
    over those records per delimiter present in the first line."""
    first_line = text[: DETECT_CHARS * 4].splitlines()[0] if text else ""
    best: tuple[float, int, str] | None = None
    for delimiter in (d for d in DELIMITERS if d in first_line):
        found = [r for r in records(text, Dialect(delimiter), False, WIDE_RECORDS) if not r.blank]
        if not found:
            continue
        width, count = _best_width(found)
        if width < 2 or len(found[0].fields) < 2:
            continue
        score = (count / len(found), width, delimiter)
        if best is None or score[:2] > best[:2]:
            best = score
    if best is None:
        return None
    delimiter = best[2]
    return Dialect(delimiter, '"', "", delimiter == " " and "  " in first_line)


def _consistent(found: list[Record], dialect: Dialect, prose_possible: bool = False) -> bool:
    """Whether more than half of the records below any title lines share one field count
    of at least 2, the header's included; nine in ten for spaces, which prose is full of.
    ``prose_possible`` (a .txt): a lone line of several words is no table, so at least two
    records must share the count."""
    content = [r for r in found if not r.blank]
    start = 0
    while start < min(len(content) - 1, MAX_PREAMBLE) and len(content[start].fields) < 2:
        start += 1
    table = content[start:]
    if not table or len(table[0].fields) < 2:
        return False
    width, count = _best_width(table)
    needed = MIN_SPACE_CONSISTENCY if dialect.delimiter == " " else MIN_CONSISTENCY
    if prose_possible and count < 2:
        return False
    return width >= 2 and count / len(table) > needed


def _best_width(found: list[Record]) -> tuple[int, int]:
    """The field count most records fit, and how many fit it: a record fits its own count
    and, with trailing empty fields (a trailing delimiter), every count down to its last
    non-empty field. The widest wins a tie."""
    lengths = Counter(len(r.fields) for r in found)
    trailing = []  # (last non-empty field's count, field count) of records ending empty
    for r in found:
        if r.fields and not r.fields[-1].strip():
            used = len(r.fields)
            while used and not r.fields[used - 1].strip():
                used -= 1
            trailing.append((used, len(r.fields)))
    best = (0, 0)
    for width in set(lengths) | {used for used, _ in trailing}:
        count = lengths.get(width, 0) + sum(1 for used, n in trailing if used <= width < n)
        best = max(best, (count, width))
    return best[1], best[0]


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
    is_header, numbers_note = _header_decision(head.fields, [r.fields for r in data])
    if data and not is_header:
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
    if data and numbers_note:
        notes.append(numbers_note.format(where=f"第 {header_line} {unit}"))
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
    names = list(table.names)
    notes += table.notes
    drop_note = TRAILING_NOTE if TRAILING_NOTE in notes else None
    unnamed = _unnamed_empty_tail(table, found[table.header] if table.header is not None else None)
    if unnamed:
        drop_note = (
            f"每一行結尾都多了分隔符號：最後 {unnamed} 欄沒有欄名，前 {len(table.data):,} 列"
            "也沒有任何值，已略過這個空白欄位（若後面的資料列在這裡有值，會改為保留）。"
        )
        notes.append(drop_note)
        names = names[: len(names) - unnamed]
    spare: list[str] = []
    if not table.empty_names and table.width > len(names):
        spare = unique_names([*names, *[None] * (table.width - len(names))])[len(names) :]
    kept = len(names)
    blank = [""] * len(table.empty_names)
    rows = [_fit(r.fields, table.width)[:kept] + blank for r in table.data[:PREVIEW_ROWS]]
    return Layout(
        dialect=dialect,
        skip_lines=skip,
        width=table.width,
        names=names,
        header_line=header_line,
        preamble=len(table.preamble),
        hint=hint,
        empty_names=table.empty_names,
        rows=rows,
        has_data=bool(table.data),
        notes=notes,
        spare_names=spare,
        drop_note=drop_note if spare else None,
        longest=max((r.chars for r in found), default=0),
    )


def _unnamed_empty_tail(table: TableStart, head: Record | None) -> int:
    """How many of the table's last columns have neither a name (an empty header cell, or
    no header) nor a value in any data record; at least one column is left."""
    if table.empty_names:
        return 0
    count = 0
    while len(table.names) - count > 1:
        i = len(table.names) - count - 1
        if head is not None and i < len(head.fields) and head.fields[i].strip():
            break
        if any(i < len(r.fields) and r.fields[i].strip() for r in table.data):
            break
        count += 1
    return count


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
            shown = "、".join(f"「{name}」" for name in raw[data_width:][:3])
            notes.append(
                f"標題列有 {len(raw)} 個欄名，但資料列只有 {data_width} 欄；"
                f"{shown}沒有對應的資料，列為空白欄位。請確認欄名是否與資料對齊。"
            )
    return unique_names(raw), notes


def _kind(cells: list[str]) -> str:
    """ "number", "date", "boolean" or "text" for a few sample cells (empties ignored)."""
    values = pa.array([c if c.strip() else None for c in cells], pa.string())
    if values.null_count == len(values):
        return "empty"
    parsed = types.parse(values, ("number", "date", "boolean"))
    return "text" if parsed is None else parsed.kind


def _header_decision(head: list[str], data: list[list[str]]) -> tuple[bool, str | None]:
    """Whether the first record is a header, and the zh-TW note (with a ``{where}`` field
    for its line) when numbers were taken as names. A header unless the first record has
    the same types as the records below it, in some column and with nowhere text above
    typed cells; then still a header when those numbers look like names
    (``_numbers_as_names``)."""
    sample = data[:200]
    typed: list[int] = []  # columns with a typed cell above typed cells
    labelled = False  # a text cell above a text column (部門 above 業務, 行政)
    for i, cell in enumerate(head):
        below = [row[i] for row in sample if i < len(row)]
        column = _kind(below)
        if column in ("empty", "text"):
            labelled = labelled or (column == "text" and _kind([cell]) == "text")
            continue
        first = _kind([cell])
        if first == "empty":
            continue
        if first == "text":
            return True, None  # a name above numbers or dates
        typed.append(i)
    if not typed:
        return True, None
    return _numbers_as_names(head, sample, typed, labelled)


def _numbers_as_names(
    head: list[str], data: list[list[str]], columns: list[int], labelled: bool = False
) -> tuple[bool, str | None]:
    """Whether the first record's numbers in ``columns`` (typed cells above typed cells)
    are column names, and the note that says so.

    They are when they are distinct whole numbers that are years (1900-2100, or a run of
    ROC years 30-200) or a run of at least MIN_RUN consecutive integers (ascending or
    descending: months 1..12, codes), when fewer than half of the records below are such years or runs
    themselves (``1,2,3`` above ``4,5,6`` is data), and when no more than NAME_OVERLAP of
    the numbers below lie within the names' span. None inside: a header; a few: a header
    too, with a note that the evidence is split. ``labelled``: the first record also has a
    text cell above a text column (部門 above 業務, 行政), which a table without a header
    row never has there: then the names stand however many numbers below share their span,
    with that note (a wrongly dropped header corrupts every figure)."""
    cells = [head[i].strip() for i in columns]
    if not all(PLAIN_INTEGER.match(cell) for cell in cells):
        return False, None
    values = [int(cell) for cell in cells]
    if len(set(values)) < len(values):
        return False, None
    run = len(values) >= MIN_RUN and _is_run(values)
    years = all(YEAR.match(cell) for cell in cells)
    roc_years = run and all(value in ROC_YEAR for value in values)
    if not (years or run):
        return False, None
    below = [[row[i].strip() if i < len(row) else "" for i in columns] for row in data]
    if years:
        alike = sum(1 for row in below if any(row) and all(YEAR.match(c) for c in row if c))
    else:
        alike = sum(1 for row in below if _plain_run(row))
    # Months (1..12) or years beside a text cell above text are names even above rows of
    # runs of their own (國文 80, 81, 82 under 課程 1, 2, 3).
    named = labelled and (years or all(1 <= value <= 12 for value in values))
    if alike * 2 >= len(below) and not named:
        return False, None  # the first record looks like the rest
    numbers = []
    for k in range(len(columns)):
        column = pa.array([row[k] or None for row in below], pa.string())
        parsed = types.parse(column, ("number",))
        if parsed is not None:
            numbers += [v for v in parsed.values.to_pylist() if v is not None]
    low, high = min(values), max(values)
    inside = sum(1 for v in numbers if low <= v <= high)
    shown = "、".join(cells[:6]) + ("…" if len(cells) > 6 else "")
    kind = "年份" if years or roc_years else "月份、期別或代碼"
    if not inside:
        return True, f"{{where}}的 {shown} 是數字，但看起來是欄名（{kind}），已作為標題列。"
    if labelled or inside <= NAME_OVERLAP * len(numbers):
        return True, (
            f"{{where}}的 {shown} 可能是欄名（{kind}），也可能是資料（下方有些數值落在同一範圍）；"
            "已作為標題列。若它其實是資料，請在檔案最上方加一行欄名後重新上傳。"
        )
    return False, None


def _is_run(values: list[int]) -> bool:
    steps = {b - a for a, b in itertools.pairwise(values)}
    return steps == {1} or steps == {-1}


def _plain_run(row: list[str]) -> bool:
    return (
        len(row) >= 2
        and all(PLAIN_INTEGER.match(cell) for cell in row)
        and _is_run([int(cell) for cell in row])
    )
