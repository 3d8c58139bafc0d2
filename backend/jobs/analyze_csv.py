"""Delimited text (csv, tsv, tabular txt): sniffing, then streaming statistics.

How the file is read, fastest first (figures: 200 MB generated CSV, 2-core machine shared
with other work, so noisy; bench/bench_analyze.py):

* Numeric columns are typed by the reader. The columns whose cells in the 256 KB sample are
  all plain numbers are read as int64/float64 by pyarrow (about the cost of reading them as
  strings), instead of strings cast afterwards (the cast cost ~1 CPU-s, more than parsing).
  A later cell that does not fit makes pyarrow fail; the file is then read again with that
  column demoted (int64 -> float64 -> text), at most MAX_TYPED_ATTEMPTS times before every
  column is read as text, the parse that cannot break.
* The quote-free part of a UTF-8/CP950 file is cut at newlines and parsed by ``read_csv``
  on two threads (analyze_csv_split); from the first double quote (or an over-long row) on,
  pyarrow's streaming reader takes over from that offset. It reads through a Python file
  object, transcodes CP950/UTF-16 itself, skips ragged rows through ``invalid_row_handler``
  and bounds memory with ``block_size`` even on an unbalanced quote (it fails with
  "straddling object" instead of buffering the rest of the file); it parses in a producer
  thread while the main thread computes.

Statistics use pyarrow compute on the arrays (a polars conversion cost more than the
statistics). Measured, 5 interleaved runs: analyze_file median 1.65 s (best 1.56 s, ~2.6
CPU-s, 200-220 MB peak RSS) against pandas.read_csv + describe() median 2.10 s (best 1.40 s,
~2.0 CPU-s, 658 MB: it holds the whole file). Before these two changes: 1.9 s and 2.4-2.9
CPU-s against pandas' 1.47 s.
"""

from __future__ import annotations

import contextlib
import csv
import io
import mmap
import queue
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from backend.jobs.analyze_csv_split import (
    SPLITTABLE_CODECS,
    Piece,
    QuoteFreeSplitter,
    RawScan,
    parse_in_order,
)
from backend.jobs.analyze_stats import Progress, TableStats, unique_names
from backend.jobs.context import JobContext, JobError
from backend.jobs.encoding import EMPTY_FILE_MESSAGE, CountingReader, Encoding, undecodable

DELIMITERS = [",", ";", "\t", "|"]
SAMPLE_BYTES = 256 * 1024
MAX_PREAMBLE_LINES = 10
BAD_ROW_EXAMPLES = 5
MIN_BLOCK = 512 << 10  # a row must fit in a block
MAX_BLOCK = 4 << 20
QUOTED = re.compile(r'"[^"]*"')
# Passes with numeric columns typed before every column is read as text (see analyze_delimited).
MAX_TYPED_ATTEMPTS = 2
CONVERSION_ERROR = re.compile(
    r"In CSV column #(\d+): .*CSV conversion error to \w+: invalid value '(.*)'", re.DOTALL
)


@dataclass
class Layout:
    delimiter: str
    preamble_lines: int  # lines before the header (report titles, blank lines)
    header: list[str]
    has_data: bool  # False when the whole file is the header
    utf8_growth: float = 1.0  # UTF-8 bytes per byte of the file, from the sample


@dataclass
class BadRows:
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def handle(self, row: pacsv.InvalidRow) -> str:
        # Called from pyarrow's threads; a lost increment would only blur a warning.
        self.count += 1
        if len(self.examples) < BAD_ROW_EXAMPLES:
            self.examples.append(row.text[:10_000])
        return "skip"

    def merge(self, other: BadRows) -> None:
        """Add a later piece's bad rows (examples stay in file order for locate_lines)."""
        self.count += other.count
        self.examples += other.examples[: BAD_ROW_EXAMPLES - len(self.examples)]


def read_sample(path: str, encoding: Encoding) -> tuple[str, bool]:
    """The first SAMPLE_BYTES decoded (a cut character is dropped) and whether that is all."""
    with open(path, "rb") as f:
        f.seek(encoding.bom_length)
        data = f.read(SAMPLE_BYTES + 1)
    complete = len(data) <= SAMPLE_BYTES
    data = data[:SAMPLE_BYTES]
    try:
        text = data.decode(encoding.codec) if complete else _decode_prefix(data, encoding)
    except UnicodeDecodeError as error:
        raise undecodable(encoding, encoding.bom_length + error.start) from None
    return text, complete


def _decode_prefix(data: bytes, encoding: Encoding) -> str:
    import codecs

    return codecs.getincrementaldecoder(encoding.codec)().decode(data, final=False)


def sniff_layout(
    sample: str, complete: bool, default_delimiter: str | None, encoding: Encoding
) -> Layout | None:
    """Delimiter, preamble and header of a sample; None when it does not look like a table.

    With ``default_delimiter`` (csv/tsv) a table is always returned, one column if need be.
    """
    lines = sample.splitlines()
    if not complete and lines:
        lines = lines[:-1]  # cut in the middle
    unquoted = [QUOTED.sub("", line) for line in lines]
    meaningful = [line for line in unquoted if line.strip()][:500]
    if not meaningful:
        return None
    best: tuple[float, int, str] | None = None
    for delimiter in DELIMITERS:
        counts = [line.count(delimiter) for line in meaningful]
        mode, _ = Counter(c for c in counts if c).most_common(1)[0] if any(counts) else (0, 0)
        if mode == 0:
            continue
        consistency = sum(1 for c in counts if c == mode) / len(counts)
        preferred = delimiter == default_delimiter
        score = (consistency + (0.05 if preferred else 0.0), mode, delimiter)
        if best is None or score[:2] > best[:2]:
            best = score
    if best is None or (default_delimiter is None and not _tabular_enough(best, meaningful)):
        if default_delimiter is None:
            return None
        delimiter, mode = default_delimiter, 0
    else:
        delimiter, mode = best[2], best[1]
    preamble = _preamble_lines(unquoted, delimiter, mode)
    rest = (
        "\n".join(lines[preamble:]) if not complete else "\n".join(sample.splitlines()[preamble:])
    )
    rows = csv.reader(io.StringIO(rest), delimiter=delimiter)
    header = next(rows, None)
    if header is None:
        return None
    has_data = not complete or any(any(cell.strip() for cell in row) for row in rows)
    growth = len(sample.encode("utf-8")) / max(len(sample.encode(encoding.codec)), 1)
    return Layout(delimiter, preamble, header, has_data, growth)


def _tabular_enough(best: tuple[float, int, str], lines: list[str]) -> bool:
    consistency, mode, delimiter = best
    return len(lines) >= 2 and consistency >= 0.8 and (mode >= 2 or delimiter != ",")


def _preamble_lines(unquoted: list[str], delimiter: str, mode: int) -> int:
    """Leading lines with fewer delimiters than the table (a report title above the header)."""
    if mode == 0:
        return next((i for i, line in enumerate(unquoted) if line.strip()), 0)
    for i, line in enumerate(unquoted[: MAX_PREAMBLE_LINES + 1]):
        if line.count(delimiter) >= mode:
            return i
    return 0


def analyze_delimited(
    ctx: JobContext,
    path: str,
    table_name: str,
    encoding: Encoding,
    layout: Layout,
    progress: Progress,
    sample: str = "",
) -> tuple[dict, list[str]]:
    """Stream the file once (again if a column typed numeric turned out not to be); a table
    and warnings."""
    names = unique_names(layout.header)
    warnings: list[str] = []
    if layout.preamble_lines:
        warnings.append(f"已略過標題列之前的 {layout.preamble_lines} 行說明文字。")
    if not layout.has_data:
        warnings.append("檔案只有標題列，沒有任何資料列。")
        return TableStats(table_name, names).result(), warnings

    first_pass = progress.sub(0.0, 0.99)
    types = numeric_types(sample, layout, names)
    for attempt in range(MAX_TYPED_ATTEMPTS + 1):
        if attempt == MAX_TYPED_ATTEMPTS:
            types = {}  # every column as text, the parse that cannot break
        try:
            table, scan, bad_rows = _first_pass(
                ctx, path, table_name, encoding, layout, names, types, first_pass
            )
            break
        except _TypeBroken as broken:
            types = broken.demote(types)
            first_pass.at(0.0, "部分欄位的型別與開頭不同，正在重新讀取", force=True)
    first_pass.at(1.0, "資料讀取完成", force=True)
    if table.rows == 0 and bad_rows.count == 0:
        warnings.append("檔案只有標題列，沒有任何資料列。")

    rescan = table.columns_to_rescan()
    if rescan:
        _count_text_again(ctx, path, encoding, layout, names, table, rescan, progress)
    warnings += _bad_row_warnings(path, encoding, bad_rows, len(names))
    if scan.odd_quotes():
        warnings.append(
            '檔案中的雙引號（"）沒有成對，可能有欄位少了結尾的引號，'
            "使後面的幾列被併入同一個欄位；請檢查相關資料列。"
        )
    warnings += table.warnings()
    return table.result(), warnings


def _first_pass(
    ctx: JobContext,
    path: str,
    table_name: str,
    encoding: Encoding,
    layout: Layout,
    names: list[str],
    types: dict[str, pa.DataType],
    progress: Progress,
) -> tuple[TableStats, RawScan, BadRows]:
    """Statistics of the whole file with ``types`` for the numeric-looking columns; raises
    _TypeBroken when one of them holds something else further down."""
    table = TableStats(table_name, names)
    bad_rows = BadRows()
    scan = RawScan(encoding.codec)
    ints = [name for name, dtype in types.items() if pa.types.is_integer(dtype)]
    size = _data_size(path, encoding)
    batches = _all_batches(ctx, path, encoding, layout, names, types, bad_rows, scan)
    with contextlib.closing(batches):
        for batch, fraction in batches:
            if ints and scan.hex_prefix:
                raise _TypeBroken(ints)
            table.add_batch(batch.columns)
            progress.at(fraction, _reading_message(size, fraction))
    if ints and scan.hex_prefix:  # read ahead of the batches, but to be sure
        raise _TypeBroken(ints)
    return table, scan, bad_rows


def _data_size(path: str, encoding: Encoding) -> int:
    return max(Path(path).stat().st_size - encoding.bom_length, 1)


def _all_batches(
    ctx: JobContext,
    path: str,
    encoding: Encoding,
    layout: Layout,
    names: list[str],
    types: dict[str, pa.DataType],
    bad_rows: BadRows,
    scan: RawScan,
) -> Iterator[tuple[pa.RecordBatch, float]]:
    """Batches of the whole file, each with the share of the file it brings us to: the
    quote-free start split and parsed in parallel, the rest (if any) streamed."""
    size = _data_size(path, encoding)
    start = encoding.bom_length
    if encoding.codec in SPLITTABLE_CODECS:
        splitter = QuoteFreeSplitter(path, start, _block_size(size), scan)
        pieces = parse_in_order(
            ctx, iter(splitter), lambda piece: _parse_piece(piece, encoding, layout, names, types)
        )
        try:
            for piece, (parsed, piece_bad_rows) in pieces:
                bad_rows.merge(piece_bad_rows)
                fraction = min((piece.end - encoding.bom_length) / size, 0.999)
                for batch in parsed.to_batches():
                    yield batch, fraction
        except (pa.ArrowException, ValueError, OSError) as error:
            raise _parse_error(error, encoding, names) from None
        finally:
            pieces.close()
        if splitter.stopped_at is None:
            return
        start = splitter.stopped_at
    reader = _ScanningReader(path, encoding, start, scan)
    done = start - encoding.bom_length
    from_header = start == encoding.bom_length
    rest = stream_batches(ctx, reader, encoding, layout, names, None, bad_rows, types, from_header)
    for batch, fraction in rest:
        yield batch, (done + fraction * reader.size) / size


def _parse_piece(
    piece: Piece,
    encoding: Encoding,
    layout: Layout,
    names: list[str],
    types: dict[str, pa.DataType],
) -> tuple[pa.Table, BadRows]:
    """Parse whole rows (on a pool thread); the piece's own BadRows keeps examples in order."""
    bad_rows = BadRows()
    read, parse, convert = _csv_options(
        encoding, layout, names, None, bad_rows, len(piece.data) + 1, types, piece.first
    )
    read.use_threads = False  # the pool already keeps the cores busy
    source = pa.BufferReader(piece.data)
    parsed = pacsv.read_csv(source, read_options=read, parse_options=parse, convert_options=convert)
    return parsed, bad_rows


def numeric_types(sample: str, layout: Layout, names: list[str]) -> dict[str, pa.DataType]:
    """int64/float64 for the columns whose every cell in the sample is a plain number.

    The reader converts those itself, which costs about what producing strings does, where
    casting strings afterwards cost more than parsing the file. Whatever the sample does not
    show (an NA marker, padded numbers, text further down) makes the reader fail on that
    column and the file is read again with it demoted (_TypeBroken). Hexadecimal, which the
    reader's int64 accepts but pandas leaves as text, is watched for in the raw bytes.
    """
    complete_rows = sample[: sample.rfind("\n") + 1]
    if not complete_rows:
        return {}
    read = pacsv.ReadOptions(
        skip_rows=layout.preamble_lines, column_names=names, skip_rows_after_names=1
    )
    parse = pacsv.ParseOptions(
        delimiter=layout.delimiter, newlines_in_values=True, invalid_row_handler=lambda _: "skip"
    )
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        rows = pacsv.read_csv(io.BytesIO(complete_rows.encode()), read, parse, convert)
    except (pa.ArrowException, ValueError):
        return {}  # the sample cut a quoted field, say: read everything as text
    types = {}
    for name, values in zip(names, rows.columns, strict=True):
        dtype = _plain_number_type(values)
        if dtype is not None:
            types[name] = dtype
    return types


def _plain_number_type(values: pa.ChunkedArray) -> pa.DataType | None:
    if values.null_count == len(values):
        return None
    for dtype in (pa.int64(), pa.float64()):
        try:
            values.cast(dtype)
        except pa.ArrowInvalid:
            continue
        if (
            dtype == pa.int64()
            and pc.any(pc.match_substring(values, "x", ignore_case=True)).as_py()
        ):
            continue  # hexadecimal
        return dtype
    return None


class _TypeBroken(Exception):
    """A column read as numbers holds something else further down: read the file again."""

    def __init__(self, columns: list[str], value: str | None = None) -> None:
        super().__init__(columns)
        self.columns = columns
        self.value = value  # the cell that broke it; None means "make it text"

    def demote(self, types: dict[str, pa.DataType]) -> dict[str, pa.DataType]:
        """int64 becomes float64 if the cell is a number (1.5 after integers), else text."""
        demoted = dict(types)
        for name in self.columns:
            if demoted.get(name) == pa.int64() and _is_float(self.value):
                demoted[name] = pa.float64()
            else:
                demoted.pop(name, None)
        return demoted


def _is_float(value: str | None) -> bool:
    if value is None:
        return False
    try:
        pa.array([value]).cast(pa.float64())  # the reader's parser, not Python's
    except pa.ArrowInvalid:
        return False
    return True


def _reading_message(size: int, fraction: float) -> str:
    return f"正在讀取資料（{size * fraction / 1e6:,.1f} / {size / 1e6:,.1f} MB）"


def _count_text_again(
    ctx: JobContext,
    path: str,
    encoding: Encoding,
    layout: Layout,
    names: list[str],
    table: TableStats,
    rescan: list[int],
    progress: Progress,
) -> None:
    """Columns that looked numeric at first but hold text later: count their values again."""
    columns = [table.columns[i] for i in rescan]
    for column in columns:
        assert column.counter is not None
        column.counter.reset()
    second_pass = progress.sub(0.99, 1.0)
    reader = CountingReader(path, encoding.bom_length)
    include = [column.name for column in columns]
    for batch, fraction in stream_batches(ctx, reader, encoding, layout, names, include, BadRows()):
        for column, values in zip(columns, batch.columns, strict=True):
            column.add_text_only(values)
        second_pass.at(fraction, "部分欄位後段出現文字，正在重新統計文字值")


def stream_batches(
    ctx: JobContext,
    reader: CountingReader,
    encoding: Encoding,
    layout: Layout,
    names: list[str],
    include: list[str] | None,
    bad_rows: BadRows,
    types: dict[str, pa.DataType] | None = None,
    from_header: bool = True,
) -> Iterator[tuple[pa.RecordBatch, float]]:
    """Record batches of string columns (nulls for empty cells), parsed in a producer thread,
    each with the share of the file it brings us to.

    Blocks are about 1/128 of the file (0.5-4 MB): progress moves often, memory stays bounded,
    and a row must fit in a block, which is what turns an unbalanced quote into an error.
    pyarrow reads ~35 blocks ahead of what it hands out, so the bytes read by the file are
    not the bytes processed; but it emits one batch per block of UTF-8 text, so batches
    processed x block size, scaled by how much UTF-8 grows when transcoded, is.
    """
    block_size = _block_size(reader.size)
    options = _csv_options(
        encoding, layout, names, include, bad_rows, block_size, types or {}, from_header
    )
    raw_per_batch = block_size / layout.utf8_growth
    try:
        stream = _open(reader, options, encoding, names)
        for done, batch in enumerate(_threaded(ctx, stream, encoding, names), start=1):
            yield batch, min(reader.fraction(), done * raw_per_batch / reader.size, 0.999)
    finally:
        reader.close()


def _block_size(size: int) -> int:
    return min(max(size // 128, MIN_BLOCK), MAX_BLOCK)


def _unbalanced_quotes() -> JobError:
    return JobError(
        "invalid_file_format",
        '無法解析檔案：有雙引號（"）沒有成對，或單一資料列過長（超過 512 KB）。'
        "請檢查檔案中的引號是否成對。",
    )


def _csv_options(
    encoding: Encoding,
    layout: Layout,
    names: list[str],
    include: list[str] | None,
    bad_rows: BadRows,
    block_size: int,
    types: dict[str, pa.DataType],
    from_header: bool = True,
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    """Options for text from the start of the file (``from_header``) or from a row start."""
    read = pacsv.ReadOptions(
        block_size=block_size,
        skip_rows=layout.preamble_lines if from_header else 0,
        column_names=names,
        skip_rows_after_names=1 if from_header else 0,
        encoding="utf8" if encoding.codec == "utf-8" else encoding.codec,
    )
    parse = pacsv.ParseOptions(
        delimiter=layout.delimiter,
        newlines_in_values=True,
        invalid_row_handler=bad_rows.handle,
    )
    convert = pacsv.ConvertOptions(
        column_types={name: types.get(name, pa.string()) for name in names},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        include_columns=include,
    )
    return read, parse, convert


def _open(
    reader: CountingReader,
    options: tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions],
    encoding: Encoding,
    names: list[str],
) -> pacsv.CSVStreamingReader:
    """The reader; it parses the first block already, which may break a typed column."""
    read, parse, convert = options
    try:
        return pacsv.open_csv(
            reader, read_options=read, parse_options=parse, convert_options=convert
        )
    except Exception as error:  # noqa: BLE001 - every parser failure becomes a JobError
        raise _parse_error(error, encoding, names) from None


def _parse_error(
    error: BaseException, encoding: Encoding, names: list[str] | None = None
) -> Exception:
    text = str(error)
    conversion = CONVERSION_ERROR.match(text)
    if conversion and names is not None:
        return _TypeBroken([names[int(conversion.group(1))]], conversion.group(2))
    if isinstance(error, UnicodeDecodeError) or "UTF8" in text or "UTF-8" in text:
        return undecodable(encoding)
    if "straddling" in text:
        return _unbalanced_quotes()
    if "Empty CSV" in text:
        return JobError("empty_file", EMPTY_FILE_MESSAGE)
    if isinstance(error, (pa.ArrowException, ValueError, OSError)):
        return JobError("invalid_file_format", "CSV 檔案格式錯誤，無法解析。請確認檔案內容。")
    return error


_DONE = object()


def _threaded(
    ctx: JobContext, stream: pacsv.CSVStreamingReader, encoding: Encoding, names: list[str]
) -> Iterator[pa.RecordBatch]:
    """Parse in a producer thread (pyarrow releases the GIL) while the caller computes."""
    batches: queue.Queue[object] = queue.Queue(maxsize=3)
    stop = threading.Event()

    def put(item: object) -> None:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for batch in stream:
                if stop.is_set():
                    return
                put(batch)
            put(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed over to the consumer
            put(error)

    producer = threading.Thread(target=produce, name="csv-reader", daemon=True)
    producer.start()
    try:
        while True:
            try:
                item = batches.get(timeout=0.2)
            except queue.Empty:
                ctx.check_cancelled()
                continue
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise _parse_error(item, encoding, names) from None
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        producer.join(timeout=10)


class _ScanningReader(CountingReader):
    """A CountingReader from ``start`` that shows what pyarrow reads to a RawScan (called
    from pyarrow's reading thread)."""

    def __init__(self, path: str, encoding: Encoding, start: int, scan: RawScan) -> None:
        super().__init__(path, start)
        self.scan = scan

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = super().readinto(buffer)
        if n:
            self.scan.feed(bytes(memoryview(buffer)[:n]))
        return n

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.scan.feed(data)
        return data


def _bad_row_warnings(path: str, encoding: Encoding, bad_rows: BadRows, columns: int) -> list[str]:
    if not bad_rows.count:
        return []
    lines = locate_lines(path, encoding, bad_rows.examples)
    located = [str(line) for line in lines if line is not None]
    where = f"，例如第 {'、'.join(located)} 行" if located else ""
    if not located and bad_rows.examples:
        where = f"，例如：「{bad_rows.examples[0][:50]}」"
    return [f"有 {bad_rows.count:,} 列的欄位數與標題列（{columns} 欄）不符，已略過{where}。"]


def locate_lines(path: str, encoding: Encoding, texts: list[str]) -> list[int | None]:
    """1-based line numbers of rows given by their text, searched in order in the raw bytes."""
    newline = "\n".encode(encoding.codec)
    ends = (newline, "\r".encode(encoding.codec))
    found: list[int | None] = []
    with open(path, "rb") as f:
        if Path(path).stat().st_size == 0:
            return [None] * len(texts)
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            start = encoding.bom_length
            line = 1
            for text in texts:
                position = _find_row(data, newline + text.encode(encoding.codec), ends, start)
                if position is None:
                    found.append(None)
                    continue
                line += data[start : position + len(newline)].count(newline)
                found.append(line)
                start = position + len(newline)
    return found


def _find_row(data: mmap.mmap, needle: bytes, ends: tuple[bytes, bytes], start: int) -> int | None:
    position = data.find(needle, start)
    while position != -1:
        after = position + len(needle)
        if after >= len(data) or any(data[after : after + len(end)] == end for end in ends):
            return position
        position = data.find(needle, position + 1)
    return None
