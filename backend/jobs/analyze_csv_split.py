"""Parallel parsing of the part of a delimited file that holds no double quote.

pyarrow's streaming reader parses one block at a time (one core); pandas too. Without any
double quote in a piece of the file every newline ends a row, so the file can be cut at
newlines and the pieces parsed by ``pyarrow.csv.read_csv`` (which releases the GIL) on a
small thread pool, handed back in order so memory stays bounded (a few pieces in flight) and
progress follows the bytes. At the first piece that holds a quote (a quoted field may hold a
newline, and a stray quote would make any quote-parity cut unsafe) or a row longer than a
piece, splitting stops and the caller reads the rest with the streaming reader from that
offset, which handles quoting, unbalanced quotes and long rows as before.

CP950 splits safely too: 0x0A and 0x22 never occur as trail bytes. UTF-16 does not (a
newline is two bytes and may straddle a cut), so it always uses the streaming reader.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from backend.jobs.context import JobContext

SPLITTABLE_CODECS = ("utf-8", "cp950")
WORKERS = 2
IN_FLIGHT = 4  # pieces submitted ahead of the one being consumed

T = TypeVar("T")


class RawScan:
    """What the statistics need from the raw bytes: the number of double quotes (for an
    unbalanced-quote warning; ASCII-compatible codecs only) and whether "0x"/"0X" occurs
    anywhere (hexadecimal that pyarrow's int64 parser would accept).

    A one-byte ``find`` (memchr, ~10 GB/s) comes first; the slower count or search only
    runs on the pieces where it hits.
    """

    def __init__(self, codec: str) -> None:
        self.counting = codec in SPLITTABLE_CODECS
        self.quotes = 0
        prefixes = ("0x".encode(codec), "0X".encode(codec))
        self._hex = re.compile(b"|".join(re.escape(prefix) for prefix in prefixes))
        self._tail = b""  # a prefix may straddle two pieces
        self.hex_prefix = False

    def feed(self, data: bytes) -> None:
        if self.counting and data.find(b'"') != -1:
            self.quotes += data.count(b'"')
        if not self.hex_prefix and (data.find(b"x") != -1 or data.find(b"X") != -1):
            edge = self._tail + data[:8]
            self.hex_prefix = bool(self._hex.search(edge) or self._hex.search(data))
        self._tail = data[-8:]

    def odd_quotes(self) -> bool:
        return self.counting and self.quotes % 2 == 1


@dataclass
class Piece:
    data: bytes  # whole rows
    end: int  # file offset just after it
    first: bool  # holds the preamble and the header


class QuoteFreeSplitter:
    """Row-aligned pieces of a file from ``start`` for as long as they hold no double quote.

    Afterwards ``stopped_at`` is the offset where the streaming reader must take over, or
    None when the whole file was split.
    """

    def __init__(self, path: str, start: int, piece_size: int, scan: RawScan) -> None:
        self.path = path
        self.start = start
        self.piece_size = piece_size
        self.scan = scan
        self.stopped_at: int | None = None

    def __iter__(self) -> Iterator[Piece]:
        position = self.start
        with open(self.path, "rb") as f:
            while True:
                f.seek(position)
                data = f.read(self.piece_size)
                if not data:
                    return
                at_end = len(data) < self.piece_size
                cut = len(data) if at_end else data.rfind(b"\n") + 1
                if cut == 0 or data.find(b'"', 0, cut) != -1:
                    self.stopped_at = position
                    return
                piece = data[:cut] if cut < len(data) else data
                self.scan.feed(piece)
                yield Piece(piece, position + cut, position == self.start)
                position += cut


def parse_in_order(
    ctx: JobContext, pieces: Iterator[Piece], parse: Callable[[Piece], T]
) -> Iterator[tuple[Piece, T]]:
    """``parse`` each piece on a thread pool, results in file order, a few pieces ahead."""
    pending: deque[tuple[Piece, Future[T]]] = deque()
    executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="csv-split")
    try:
        source = iter(pieces)
        for piece in source:
            pending.append((piece, executor.submit(parse, piece)))
            if len(pending) >= IN_FLIGHT:
                break
        while pending:
            piece, future = pending.popleft()
            result = future.result()
            ctx.check_cancelled()
            next_piece = next(source, None)
            if next_piece is not None:
                pending.append((next_piece, executor.submit(parse, next_piece)))
            yield piece, result
    finally:
        for _, future in pending:
            future.cancel()
        executor.shutdown(wait=True)
