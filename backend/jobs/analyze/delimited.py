"""Delimited text (csv, tsv, tabular txt): the layout from a sample, then text columns in
batches.

The layout (dialect, preamble, header, width) is decided on parsed records of the first
SAMPLE_BYTES (``backend.jobs.analyze.dialect``), a sample grown (up to MAX_SAMPLE_BYTES)
until it holds a few whole records or the whole file, so a cell longer than the sample does
not hide the data. The file is then read by pyarrow's CSV parser with that dialect, every
column as text (the statistics decide what the text means):

* UTF-8 and the legacy encodings (CP950, GB18030, Shift-JIS, Windows-125x) are parsed as raw
  bytes: their multi-byte characters never contain a byte below 0x40, so delimiters, quotes
  and newlines are what they seem. Legacy-encoded columns come as bytes; a column's batch
  is decoded only when it is not plain ASCII, and then only its distinct values. This is
  what makes a Big5 file as fast as a UTF-8 one (Python's CP950 codec alone takes longer
  than the whole analysis).
* The quote-free part of such a file is cut at newlines and parsed on two threads
  (``backend.jobs.analyze.split``); from the first quote on, pyarrow's streaming reader
  takes over, which bounds memory with ``block_size`` even on an unbalanced quote.
* UTF-16/32, and legacy files whose delimiter or escape character is a byte a multi-byte
  character can contain (``|``, ``\\``), are transcoded to UTF-8 on the way.
* Space-aligned columns, and spaces after delimiters, are read with Python's csv module.
* pyarrow needs a block to hold a whole row: blocks are at least twice the longest record
  of the sample (in UTF-8 bytes at most), and a row longer than a block elsewhere in the
  file makes the table be read again with blocks that hold rows up to MAX_SAMPLE_BYTES.
* Trailing fields the layout dropped (no name, no value in the sample) are parsed and
  watched: a value there makes the table be read again with those columns kept.

Rows whose field count differs from the table's are kept: the parser hands them to
``_Ragged``, which pads short rows with empty cells and keeps the first fields of long ones,
and the warning says how many rows, which, and what the extra fields held. pyarrow hands a
row over only as UTF-8 text, so a legacy file read raw is read again through the
transcoding path at its first such row (and so is a UTF-8 file with a bad byte past what
``detect_encoding`` checked, its bad bytes then replaced and counted).
"""

from __future__ import annotations

import codecs
import csv
import io
import mmap
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from backend.jobs.analyze.dialect import (
    FIELD_LIMIT,
    MAX_RECORD,
    Layout,
    sample_too_small,
    sniff,
)
from backend.jobs.analyze.encoding import (
    DECODE_ERROR_HANDLER,
    EMPTY_FILE_MESSAGE,
    ByteStream,
    CountingReader,
    DecodedText,
    Encoding,
    replaced_so_far,
)
from backend.jobs.analyze.prose import analyze_prose
from backend.jobs.analyze.source import Batch, Prepare, Source, TableFeed
from backend.jobs.analyze.split import Piece, QuoteFreeSplitter, RawScan, map_in_order
from backend.jobs.context import JobContext, JobError

SAMPLE_BYTES = 256 * 1024
MAX_SAMPLE_BYTES = MAX_RECORD  # the sample grows (x4 at a time) up to this
DEFAULT_DELIMITERS = {"csv": ",", "tsv": "\t", "txt": None}
MIN_BLOCK = 512 << 10  # a row must fit in a block
MAX_BLOCK = 4 << 20  # the block size a file's size asks for, at most
ROW_BLOCK = 2 * MAX_SAMPLE_BYTES  # blocks when a row did not fit: rows up to the sample size
UTF8_BYTES = 4  # UTF-8 bytes a character takes at most
PYTHON_BATCH_ROWS = 20_000
RAGGED_BATCH_ROWS = 20_000
EXAMPLES = 5
MAX_SHORT_ROWS = 10_000  # short rows remembered, to tell which the statistics left out


class NeedsTranscoding(Exception):
    """Raw bytes met a row pyarrow cannot hand over as text (a ragged row of a legacy
    file, a bad byte in a UTF-8 one): the table must be read again through the transcoding
    path."""


def read_sample(path: str, encoding: Encoding, size: int = SAMPLE_BYTES) -> tuple[str, bool]:
    """The first ``size`` bytes decoded, NUL bytes removed, and whether that is the whole
    file."""
    with open(path, "rb") as f:
        f.seek(encoding.bom_length)
        data = f.read(size + 1)
    complete = len(data) <= size
    data = data[:size]
    if encoding.ascii_compatible:
        data = data.replace(b"\x00", b"")
    text = codecs.getincrementaldecoder(encoding.codec)(errors=DECODE_ERROR_HANDLER).decode(
        data, final=complete
    )
    return text, complete


def read_delimited(source: Source) -> Iterator[TableFeed]:
    """The reader for csv, tsv and txt: one table, or prose statistics on ``source.text``."""
    assert source.encoding is not None
    layout = _sniff_growing(source)
    if layout is None:
        text = DecodedText(source.path, source.encoding)
        source.text = analyze_prose(text, source.progress)
        source.notes += _nul_note(text.nul_bytes)
        return
    source.delimiter = layout.delimiter
    table = DelimitedTable(source, layout)
    if not layout.has_data:
        table.notes.append("檔案只有標題列，沒有任何資料列。")
    yield TableFeed(
        name=Path(source.filename).stem or source.filename,
        names=table.names,
        batches=table.batches,
        preview=layout.rows,
        notes=table.notes,
        locate=table.locate,
    )


def _sniff_growing(source: Source) -> Layout | None:
    """The layout from a sample that holds a few whole records (``sample_too_small``) or
    the whole file: SAMPLE_BYTES first, then four times as much, up to MAX_SAMPLE_BYTES.
    Raises JobError("invalid_file_format") when even that holds no whole data record."""
    assert source.encoding is not None
    size = SAMPLE_BYTES
    while True:
        sample, complete = read_sample(source.path, source.encoding, size)
        if size == SAMPLE_BYTES and not sample.strip():
            raise JobError("empty_file", EMPTY_FILE_MESSAGE)
        layout = sniff(sample, complete, DEFAULT_DELIMITERS[source.format])
        if not sample_too_small(sample, complete, layout):
            return layout
        if size >= MAX_SAMPLE_BYTES:
            if layout is not None and not layout.has_data:
                raise JobError(
                    "invalid_file_format",
                    f"檔案開頭 {MAX_SAMPLE_BYTES >> 20} MB 內找不到任何完整的資料列"
                    '（可能有欄位過長，或引號（"）沒有成對），無法分析。請檢查檔案內容。',
                )
            return layout
        size = min(size * 4, MAX_SAMPLE_BYTES)


def _nul_note(count: int) -> list[str]:
    if not count:
        return []
    return [f"檔案中有 {count:,} 個 NUL 位元組（\\0，通常來自匯出錯誤），已移除後再分析。"]


@dataclass
class _Ragged:
    """Rows whose field count is not the table's, parsed by the dialect and kept."""

    layout: Layout
    rows: list[list[str]] = field(default_factory=list)
    short: int = 0
    long: int = 0
    examples: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    stray_quotes: int = 0  # rows split back into lines (a quote that opened no field)
    stray_examples: list[str] = field(default_factory=list)
    short_rows: set[tuple[str, ...]] = field(default_factory=set)  # padded, the first ones
    spare_values: bool = False  # a value in a field the layout dropped (Layout.spare_names)

    def handle(self, row: pacsv.InvalidRow) -> str:
        """pyarrow's invalid_row_handler (called from its threads, one collector each)."""
        lines = self._stray_quote_lines(row.text)
        if lines:
            self.stray_quotes += 1
            if len(self.stray_examples) < EXAMPLES:
                self.stray_examples.append(row.text.splitlines()[0][:10_000])
            for fields in lines:
                self.add(fields)
            return "skip"
        self.add(self.layout.dialect.parse(row.text)[0] if row.text.strip() else [])
        if len(self.examples) < EXAMPLES:
            self.examples.append(row.text[:10_000])
        return "skip"

    def _stray_quote_lines(self, text: str) -> list[list[str]] | None:
        """A record that spans lines and does not fit the table, whose lines each fit it on
        their own: a stray quote (``12" pipe``, a quote left at a line's end) opened a field
        that swallowed the line break. Its lines, parsed one by one; None otherwise."""
        quote = self.layout.dialect.quotechar
        lines = text.splitlines()
        if len(lines) < 2 or not quote or quote not in text:
            return None
        parsed = []
        for line in lines:
            records = self.layout.dialect.parse(line)
            if len(records) != 1 or not self._fits(records[0]):
                return None
            parsed.append(records[0])
        return parsed

    def _fits(self, fields: list[str]) -> bool:
        width = self.layout.width
        return len(fields) == width or (
            len(fields) > width and not any(cell.strip() for cell in fields[width:])
        )

    def add(self, fields: list[str]) -> None:
        width = self.layout.width
        if not fields:
            return
        if len(fields) < width:
            self.short += 1
            fields = fields + [""] * (width - len(fields))
            if len(self.short_rows) < MAX_SHORT_ROWS:
                self.short_rows.add(tuple(fields))
        elif len(fields) > width:
            extra = [cell for cell in fields[width:] if cell.strip()]
            if not extra:
                fields = fields[:width]  # a trailing delimiter: nothing lost
            else:
                self.long += 1
                if len(self.extras) < EXAMPLES:
                    self.extras.append("、".join(extra[:3]))
                fields = fields[:width]
        kept = len(self.layout.names)
        if kept < width and any(cell.strip() for cell in fields[kept:]):
            self.spare_values = True
        self.rows.append(fields)

    def merge(self, other: _Ragged) -> None:
        self.short += other.short
        self.long += other.long
        self.examples += other.examples[: EXAMPLES - len(self.examples)]
        self.stray_quotes += other.stray_quotes
        self.stray_examples += other.stray_examples[: EXAMPLES - len(self.stray_examples)]
        self.extras += other.extras[: EXAMPLES - len(self.extras)]
        self.short_rows |= other.short_rows
        self.rows += other.rows
        self.spare_values = self.spare_values or other.spare_values

    def take(self, columns: list[int], kept: int) -> list[pa.Array] | None:
        """The rows so far as arrays of the selected columns; the collector is emptied."""
        if not self.rows:
            return None
        rows, self.rows = self.rows, []
        return [
            pa.array([row[i] or None for row in rows], pa.string())
            if i < kept
            else pa.nulls(len(rows), pa.string())
            for i in columns
        ]


class DelimitedTable:
    """Reads one delimited table in batches of the selected columns."""

    def __init__(self, source: Source, layout: Layout) -> None:
        assert source.encoding is not None
        self.source = source
        self.encoding = source.encoding
        self.layout = layout
        self.kept = len(layout.names)
        self.names = layout.names + layout.empty_names  # the feed's names (may grow)
        self.notes: list[str] = list(layout.notes)
        self.transcode = not self._raw_safe()
        self.retried = False  # read again once already (NeedsTranscoding)
        self.block_floor = _row_floor(layout.longest)
        # pyarrow has no skip-initial-space option: those dialects go to Python's csv module.
        self.python = layout.dialect.aligned or layout.dialect.skipinitialspace
        self._ragged: tuple[_Ragged, int] | None = None  # and where its note is

    def _raw_safe(self) -> bool:
        dialect = self.layout.dialect
        if self.encoding.codec == "utf-8":
            return True
        special = [dialect.delimiter, dialect.quotechar, dialect.escapechar]
        return self.encoding.ascii_compatible and all(ord(c) < 0x40 for c in special if c)

    @property
    def legacy_raw(self) -> bool:
        return not self.transcode and self.encoding.codec != "utf-8"

    def batches(self, columns: list[int] | None, prepare: Prepare | None = None) -> Iterator[Batch]:
        """Batches of the ``columns`` (indices into names + empty names; None: all);
        ``prepare`` runs on the parsing threads (see :class:`TableFeed`)."""
        selected = (
            list(range(self.kept + len(self.layout.empty_names))) if columns is None else columns
        )
        # The first pass watches the fields the layout dropped for a value.
        self.watch = columns is None and self.kept < self.layout.width
        self.spare_seen = False
        ragged = _Ragged(self.layout)
        quote = self.layout.dialect.quotechar.encode() if self.encoding.ascii_compatible else b""
        scan = RawScan(quote, drop_nul=self.encoding.ascii_compatible)
        replaced = replaced_so_far()
        if not self.layout.has_data:
            return
        if self.python:
            yield from self._python_batches(selected, ragged, scan)
        else:
            try:
                yield from self._arrow_batches(selected, ragged, scan, prepare)
            except NeedsTranscoding:
                if columns is not None:
                    raise
                self.transcode = True
                raise
        if columns is None:
            self._report(ragged, scan, replaced_so_far() - replaced)

    # --- pyarrow ---------------------------------------------------------------------

    def _names(self) -> list[str]:
        extra = [f"\x00extra{i}" for i in range(self.layout.width - self.kept)]
        return self.layout.names + extra

    def _options(
        self, selected: list[int], ragged: _Ragged, block_size: int, from_start: bool
    ) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
        dialect = self.layout.dialect
        names = self._names()
        include = [names[i] for i in selected if i < self.kept]
        if self.watch:
            include += names[self.kept :]
        text_type = pa.binary() if self.legacy_raw else pa.string()
        read = pacsv.ReadOptions(
            block_size=block_size,
            skip_rows=self.layout.skip_lines if from_start else 0,
            column_names=names,
            encoding="utf8",
            use_threads=self.source.ctx.threads > 1,
        )
        parse = pacsv.ParseOptions(
            delimiter=dialect.delimiter,
            quote_char=dialect.quotechar or False,
            double_quote=True,
            escape_char=dialect.escapechar or False,
            newlines_in_values=True,
            ignore_empty_lines=True,
            # pyarrow decodes a row as UTF-8 before the handler sees it, and the error of
            # a legacy row escapes as an "ignored" exception: raw legacy text raises on
            # the first ragged row instead, and is read again through the transcoder.
            invalid_row_handler=None if self.legacy_raw else ragged.handle,
        )
        convert = pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, text_type),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            include_columns=include,
        )
        return read, parse, convert

    def _arrow_batches(
        self, selected: list[int], ragged: _Ragged, scan: RawScan, prepare: Prepare | None
    ) -> Iterator[Batch]:
        start = self.encoding.bom_length
        end = Path(self.source.path).stat().st_size
        size = max(end - start, 1)
        if not self.transcode:
            splitter = QuoteFreeSplitter(self.source.path, start, end, self._block(size), scan)

            def parse(piece: Piece) -> tuple[list[Batch], _Ragged]:
                own = _Ragged(self.layout)
                read, options, convert = self._options(
                    selected, own, len(piece.data) + 1, piece.first
                )
                read.use_threads = False  # the pool already keeps the cores busy
                table = pacsv.read_csv(
                    pa.BufferReader(piece.data), read_options=read, parse_options=options,
                    convert_options=convert,
                )  # fmt: skip
                # Decoding legacy text and the ``prepare`` work here too, while the data is
                # hot in this core's cache, keeps them off the thread that adds figures.
                fraction = min((piece.end - start) / size, 0.999)
                parsed = []
                for record_batch in table.to_batches():
                    columns = self._columns(record_batch.columns, selected)
                    work = prepare(columns) if prepare is not None else None
                    parsed.append(Batch(columns, fraction, work))
                return parsed, own

            pieces = map_in_order(self.source.ctx, iter(splitter), parse)
            try:
                for piece, (parsed, own) in pieces:
                    ragged.merge(own)
                    self._check_spare()
                    yield from parsed
                    fraction = min((piece.end - start) / size, 0.999)
                    yield from self._ragged_batch(ragged, selected, fraction)
            except (pa.ArrowException, ValueError, OSError) as error:
                raise self._parse_error(error) from None
            finally:
                pieces.close()
            if splitter.stopped_at is None:
                return
            start_at = splitter.stopped_at
        else:
            start_at = start
        reader: io.RawIOBase
        counting = _ScanningReader(self.source.path, start_at, scan)
        reader = _Transcoder(counting, self.encoding) if self.transcode else counting
        done = start_at - start
        from_start = start_at == start
        block_size = self._block(counting.size)
        options = self._options(selected, ragged, block_size, from_start)
        try:
            stream = self._open(reader, options)
            for batch in _threaded(self.source.ctx, stream, self._parse_error):
                fraction = min((done + counting.fraction() * counting.size) / size, 0.999)
                arrays = self._columns(batch.columns, selected)
                self._check_spare()
                yield Batch(arrays, fraction)
                yield from self._ragged_batch(ragged, selected, fraction, RAGGED_BATCH_ROWS)
            yield from self._ragged_batch(ragged, selected, 0.999)
        finally:
            counting.close()

    def _ragged_batch(
        self, ragged: _Ragged, selected: list[int], fraction: float, at_least: int = 1
    ) -> Iterator[Batch]:
        if self.watch and ragged.spare_values:
            raise self._read_again(values=True)
        if len(ragged.rows) >= at_least:
            arrays = ragged.take(selected, self.kept)
            if arrays:
                yield Batch(arrays, fraction)

    def _columns(self, arrays: list[pa.Array], selected: list[int]) -> list[pa.Array]:
        """Parsed arrays as text, with null columns for names without data."""
        height = len(arrays[0]) if arrays else 0
        parsed = iter(arrays)
        out = []
        for i in selected:
            if i >= self.kept:
                out.append(pa.nulls(height, pa.string()))
                continue
            values = next(parsed)
            out.append(self._text(values) if pa.types.is_binary(values.type) else values)
        if self.watch and any(values.null_count < len(values) for values in parsed):
            self.spare_seen = True  # set on a parsing thread, acted on by the consumer
        return out

    def _check_spare(self) -> None:
        if self.watch and self.spare_seen:
            raise self._read_again(values=True)

    def _block(self, size: int) -> int:
        """pyarrow's block size for ``size`` bytes: what the size asks for, and at least
        what the longest row seen needs."""
        return max(_block_size(size), self.block_floor)

    def _read_again(self, values: bool = False) -> NeedsTranscoding:
        """Prepare the one second reading the analysis allows (``batches`` switches it to
        the transcoding path, which raises nothing that asks for a third): blocks that hold
        rows up to MAX_SAMPLE_BYTES, and the dropped trailing columns kept (``values``: a
        value was found in them)."""
        self.retried = True
        self.block_floor = ROW_BLOCK
        spare = self.layout.spare_names
        if spare:
            self.layout.names.extend(spare)
            self.names.extend(spare)
            for row in self.layout.rows:
                row.extend([""] * len(spare))
            self.kept = len(self.layout.names)
            if self.layout.drop_note in self.notes:
                self.notes.remove(self.layout.drop_note)
            shown = "、".join(f"「{name}」" for name in spare)
            found = "但後面的資料列在這裡有值，" if values else ""
            self.notes.append(
                f"最後 {len(spare)} 欄沒有欄名，檔案開頭也沒有值，{found}已保留並命名為{shown}。"
            )
            self.layout.spare_names = []
        self.watch = False
        return NeedsTranscoding()

    def _text(self, values: pa.Array) -> pa.Array:
        """A legacy-encoded column as text: ASCII as is, otherwise a dictionary array of its
        distinct values decoded."""
        as_string = values.view(pa.string())
        if pc.all(pc.string_is_ascii(as_string)).as_py() is not False:
            return as_string
        # Dictionary-encoded: the statistics count a text column by its indices and decode
        # (take) only the columns they must parse.
        encoded = pc.dictionary_encode(values)
        return pa.DictionaryArray.from_arrays(
            encoded.indices, self.encoding.decode_array(encoded.dictionary)
        )

    def _open(self, reader: io.RawIOBase, options: tuple) -> pacsv.CSVStreamingReader:
        read, parse, convert = options
        try:
            return pacsv.open_csv(
                reader, read_options=read, parse_options=parse, convert_options=convert
            )
        except Exception as error:  # noqa: BLE001 - every parser failure becomes a JobError
            raise self._parse_error(error) from None

    def _parse_error(self, error: BaseException) -> BaseException:
        text = str(error)
        if isinstance(error, (NeedsTranscoding, JobError)):
            return error
        # Raw bytes pyarrow cannot take as text: a ragged row of a legacy file, or a bad
        # byte in a UTF-8 file past what detect_encoding checked (decoded with U+FFFD).
        raw_text_failed = ("Expected" in text and "columns, got" in text) or "invalid UTF8" in text
        if raw_text_failed and not self.transcode:
            return self._read_again()
        if "straddling" in text:
            if not self.retried and self._quotes_balanced():
                return self._read_again()  # a row longer than the blocks: bigger ones
            return JobError(
                "invalid_file_format",
                f'無法解析檔案：有引號（"）沒有成對，或單一資料列過長（超過 {MAX_SAMPLE_BYTES >> 20} MB）。'
                "請檢查檔案中的引號是否成對。",
            )
        if "Empty CSV" in text:
            return JobError("empty_file", EMPTY_FILE_MESSAGE)
        if isinstance(error, (pa.ArrowException, ValueError, OSError)):
            return JobError("invalid_file_format", "CSV 檔案格式錯誤，無法解析。請確認檔案內容。")
        return error

    def _quotes_balanced(self) -> bool:
        """Whether the file holds an even number of quote characters: then a row longer
        than a block is a long row worth bigger blocks, not an unclosed quote swallowing
        the rest of the file (which the error reports). Counted in the raw bytes, once,
        only after a row did not fit."""
        quote = self.layout.dialect.quotechar
        if not quote or not self.encoding.ascii_compatible:
            return True
        needle = quote.encode()
        count = 0
        with open(self.source.path, "rb") as f:
            while chunk := f.read(16 << 20):
                count += chunk.count(needle)
        return count % 2 == 0

    # --- Python's csv module (space-aligned columns, spaces after delimiters) ---------

    def _python_batches(
        self, selected: list[int], ragged: _Ragged, scan: RawScan
    ) -> Iterator[Batch]:
        raw = CountingReader(
            self.source.path, self.encoding.bom_length, drop_nul=self.encoding.ascii_compatible
        )
        # CountingReader is a raw binary stream; the stub asks for a buffered one.
        text = io.TextIOWrapper(
            raw,  # type: ignore[type-var]
            encoding=self.encoding.codec,
            errors=DECODE_ERROR_HANDLER,
            newline="",
        )
        width = self.layout.width
        try:
            lines = iter(text)
            for _ in range(self.layout.skip_lines):
                next(lines, None)
            rows: list[list[str]] = []
            for fields in self._python_records(lines):
                if not fields:
                    continue
                if self.watch and any(cell.strip() for cell in fields[self.kept :]):
                    raise self._read_again(values=True)
                if len(fields) != width:
                    ragged.add(fields)
                    if len(ragged.examples) < EXAMPLES:
                        ragged.examples.append(self.layout.dialect.delimiter.join(fields))
                    continue
                rows.append(fields)
                if len(rows) >= PYTHON_BATCH_ROWS:
                    yield self._python_batch(rows, selected, raw.fraction())
                    rows = []
                    yield from self._ragged_batch(ragged, selected, raw.fraction())
            if rows:
                yield self._python_batch(rows, selected, 0.999)
            yield from self._ragged_batch(ragged, selected, 0.999)
        finally:
            scan.nul_bytes += raw.nul_bytes
            text.close()

    def _python_records(self, lines: Iterator[str]) -> Iterator[list[str]]:
        try:
            yield from self.layout.dialect.reader(lines)
        except csv.Error:
            raise JobError(
                "invalid_file_format",
                f'無法解析檔案：有欄位超過 {FIELD_LIMIT >> 20} MB，通常是引號（"）沒有成對；'
                "請檢查檔案中的引號是否成對。",
            ) from None

    def _python_batch(self, rows: list[list[str]], selected: list[int], fraction: float) -> Batch:
        arrays = [
            pa.array([row[i] or None for row in rows], pa.string())
            if i < self.kept
            else pa.nulls(len(rows), pa.string())
            for i in selected
        ]
        return Batch(arrays, fraction)

    # --- warnings ------------------------------------------------------------------------

    def _ragged_note(self, ragged: _Ragged, left_out: set[tuple[str, ...]]) -> str | None:
        """The sentence on rows of another field count; short rows the statistics left out
        (notes under the table, ``left_out`` as padded fields) are not among them."""
        short = ragged.short - len(left_out & ragged.short_rows)
        count = short + ragged.long
        if not count:
            return None
        delimiter = self.layout.dialect.delimiter
        gone = {delimiter.join(row).rstrip(delimiter) for row in left_out}
        where = self._where([e for e in ragged.examples if e.rstrip(delimiter) not in gone])
        parts = []
        if short:
            parts.append(f"{short:,} 列欄位較少，缺少的欄位視為空白")
        if ragged.long:
            extras = "、".join(f"「{e[:30]}」" for e in ragged.extras[:3])
            parts.append(f"{ragged.long:,} 列欄位較多，多出的欄位未列入統計（內容例如 {extras}）")
        return (
            f"有 {count:,} 列的欄位數與表格的 {self.layout.width} 欄不符{where}，"
            f"這些列仍計入資料：{'；'.join(parts)}。"
        )

    def _report(self, ragged: _Ragged, scan: RawScan, replaced: int) -> None:
        note = self._ragged_note(ragged, set())
        if note:
            self._ragged = (ragged, len(self.notes))
            self.notes.append(note)
        if ragged.stray_quotes:
            where = self._where(ragged.stray_examples)
            self.notes.append(
                f'有 {ragged.stray_quotes:,} 處引號（"）沒有成對{where}，使資料列跨到下一行、'
                "欄位數不符；已把這些引號當作一般文字，逐行讀取。"
            )
        elif scan.odd_quotes():
            self.notes.append(
                '檔案中的引號（"）沒有成對，可能有欄位少了結尾的引號，'
                "使後面的幾列被併入同一個欄位；請檢查相關資料列。"
            )
        self.notes += _nul_note(scan.nul_bytes)
        if replaced:
            from backend.jobs.analyze.encoding import encoding_warnings, first_undecodable_line

            line = first_undecodable_line(self.source.path, self.encoding)
            self.source.notes += encoding_warnings(self.encoding, replaced, line)

    def locate(self, rows: list[tuple[int, Sequence[str | None]]]) -> list[int | None]:
        """1-based lines of rows given by (index among the data rows, cells): found by their
        text in the file (as written, or without the trailing delimiters of a short row),
        else counted from the header (exact unless blank lines or quoted line breaks come
        before them)."""
        delimiter = self.layout.dialect.delimiter if not self.layout.dialect.single_column else ""
        texts = [delimiter.join(cell or "" for cell in cells) for _, cells in rows]
        found = locate_lines(self.source.path, self.encoding, texts)
        retry = [i for i, line in enumerate(found) if line is None]
        if retry:
            trimmed = [texts[i].rstrip(delimiter) if delimiter else texts[i] for i in retry]
            for i, line in zip(
                retry, locate_lines(self.source.path, self.encoding, trimmed), strict=False
            ):
                found[i] = line
        if self._ragged is not None:  # rows left out are no longer "counted as data"
            ragged, at = self._ragged
            width = self.layout.width
            left_out = {tuple((c or "") for c in cells[:width]) for _, cells in rows}
            note = self._ragged_note(ragged, left_out)
            if note is None:
                del self.notes[at]
                self._ragged = None
            else:
                self.notes[at] = note
        return [
            line if line is not None else self.layout.skip_lines + index + 1
            for (index, _), line in zip(rows, found, strict=False)
        ]

    def _where(self, examples: list[str]) -> str:
        """ "（例如第 3、7 行）" for the lines where these row texts start, or ""."""
        lines = locate_lines(self.source.path, self.encoding, examples)
        located = [str(line) for line in lines if line is not None]
        return f"（例如第 {'、'.join(located)} 行）" if located else ""


def _block_size(size: int) -> int:
    return min(max(size // 128, MIN_BLOCK), MAX_BLOCK)


def _row_floor(longest: int) -> int:
    """The smallest block for rows of ``longest`` characters: twice their UTF-8 bytes at
    most, a power of two between MIN_BLOCK and ROW_BLOCK."""
    need = 2 * UTF8_BYTES * longest
    if need <= MIN_BLOCK:
        return MIN_BLOCK
    return min(1 << (need - 1).bit_length(), ROW_BLOCK)


_DONE = object()


def _threaded(
    ctx: JobContext,
    stream: pacsv.CSVStreamingReader,
    error_of: Callable[[BaseException], BaseException],
) -> Iterator[pa.RecordBatch]:
    """Parse in a producer thread (pyarrow releases the GIL) while the caller computes;
    a one-thread job parses on the calling thread, batch by batch."""
    if ctx.threads <= 1:
        try:
            for batch in stream:
                ctx.check_cancelled()
                yield batch
        except Exception as error:  # noqa: BLE001 - the same hand-over as the producer's
            raise error_of(error) from None
        return
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
                raise error_of(item) from None
            yield item
    finally:
        stop.set()
        producer.join(timeout=10)


class _ScanningReader(CountingReader):
    """A CountingReader from ``start`` that shows what pyarrow reads to a RawScan (quotes
    counted, NUL bytes dropped), called from pyarrow's reading thread."""

    def __init__(self, path: str, start: int, scan: RawScan) -> None:
        super().__init__(path, start)
        self.scan = scan

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        out = self.scan.feed(data)
        if data and not out:
            return self.read(size)
        return out


class _Transcoder(ByteStream):
    """UTF-8 bytes of a file in another encoding, decoded on the way (pyarrow parses UTF-8)."""

    def __init__(self, raw: CountingReader, encoding: Encoding) -> None:
        super().__init__()
        self._raw = raw
        self._decoder = encoding.decoder()
        self._pending = b""
        self._eof = False

    def read(self, size: int = -1) -> bytes:
        want = size if size and size > 0 else 1 << 20
        while len(self._pending) < want and not self._eof:
            data = self._raw.read(1 << 20)
            self._eof = not data
            self._pending += self._decoder.decode(data, final=self._eof).encode("utf-8")
        out, self._pending = self._pending[:want], self._pending[want:]
        return out

    def close(self) -> None:
        self._raw.close()
        super().close()


def locate_lines(path: str, encoding: Encoding, texts: list[str]) -> list[int | None]:
    """1-based line numbers of rows given by their text, searched in order in the raw bytes."""
    newline = "\n".encode(encoding.codec)
    ends = (newline, "\r".encode(encoding.codec))
    found: list[int | None] = []
    if Path(path).stat().st_size == 0:
        return [None] * len(texts)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = encoding.bom_length
        line = 1
        for text in texts:
            try:
                needle = text.encode(encoding.codec)
            except UnicodeEncodeError:
                found.append(None)
                continue
            position = _find_row(data, needle, ends, start, newline)
            if position is None:
                found.append(None)
                continue
            line += data[start:position].count(newline)
            found.append(line)
            # The next row starts after this one (a repeated text is found again further on).
            line += needle.count(newline)
            start = position + len(needle)
    return found


def _find_row(
    data: mmap.mmap, needle: bytes, ends: tuple[bytes, bytes], start: int, newline: bytes
) -> int | None:
    position = data.find(needle, start)
    while position != -1:
        after = position + len(needle)
        at_line_start = position == 0 or data[position - len(newline) : position] in ends
        at_line_end = after >= len(data) or any(data[after : after + len(e)] == e for e in ends)
        if at_line_start and at_line_end:
            return position
        position = data.find(needle, position + 1)
    return None
