"""Parallel parsing of the part of a delimited file that holds no quote character.

pyarrow's streaming reader parses one block at a time (one core); pandas too. Without any
quote in a piece of the file every newline ends a row, so the file can be cut at newlines
and the pieces parsed by ``pyarrow.csv.read_csv`` (which releases the GIL) on a small thread
pool, handed back in order so memory stays bounded (a few pieces in flight) and progress
follows the bytes. At the first piece that holds a quote (a quoted field may hold a
newline, and a stray quote would make any quote-parity cut unsafe) or a row longer than a
piece, splitting stops and the caller reads the rest with the streaming reader from that
offset, which handles quoting, unbalanced quotes and long rows.

Only ASCII-compatible encodings are split (UTF-8 and the legacy ones, whose multi-byte
trail bytes are 0x40 and above, so 0x0A and 0x22 never occur inside a character).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from backend.jobs.context import JobContext

FIRST_PIECE = 256 * 1024  # bytes

Item = TypeVar("Item")
T = TypeVar("T")


class RawScan:
    """What the reader learns from the raw bytes on the way: the number of quote characters
    (for an unbalanced-quote warning) and of NUL bytes removed."""

    def __init__(self, quote: bytes, drop_nul: bool = True) -> None:
        self.quote = quote
        self.quotes = 0
        self.nul_bytes = 0
        self.drop_nul = drop_nul

    def feed(self, data: bytes) -> bytes:
        """Count ``data``'s quotes; the same bytes without NULs."""
        if self.quote and data.find(self.quote) != -1:
            self.quotes += data.count(self.quote)
        if self.drop_nul and data.find(b"\x00") != -1:
            self.nul_bytes += data.count(b"\x00")
            data = data.replace(b"\x00", b"")
        return data

    def odd_quotes(self) -> bool:
        return self.quotes % 2 == 1


@dataclass
class Piece:
    data: bytes  # whole rows
    end: int  # file offset just after it
    first: bool  # holds the lines before the data (preamble, header)


class QuoteFreeSplitter:
    """Row-aligned pieces of a file from ``start`` to ``end`` for as long as they hold no
    quote character.

    Afterwards ``stopped_at`` is the offset where the streaming reader must take over, or
    None when the whole range was split.
    """

    def __init__(self, path: str, start: int, end: int, piece_size: int, scan: RawScan) -> None:
        self.path = path
        self.start = start
        self.end = end
        self.piece_size = piece_size
        self.scan = scan
        self.stopped_at: int | None = None

    def __iter__(self) -> Iterator[Piece]:
        position = self.start
        with open(self.path, "rb") as f:
            while position < self.end:
                f.seek(position)
                # The first piece is small: the columns' kinds are learnt from it quickly,
                # and the pieces after it are parsed only as what their columns can be.
                wanted = self.piece_size if position > self.start else FIRST_PIECE
                data = f.read(min(wanted, self.piece_size, self.end - position))
                if not data:
                    return
                at_end = position + len(data) >= self.end
                cut = len(data) if at_end else data.rfind(b"\n") + 1
                quoted = self.scan.quote and data.find(self.scan.quote, 0, cut) != -1
                if cut == 0 or quoted:
                    self.stopped_at = position
                    return
                piece = data[:cut] if cut < len(data) else data
                yield Piece(self.scan.feed(piece), position + cut, position == self.start)
                position += cut


def map_in_order(
    ctx: JobContext,
    items: Iterator[Item],
    work: Callable[[Item], T],
    in_flight: int | None = None,
) -> Generator[tuple[Item, T], None, None]:
    """``work`` on each item on a pool of ``ctx.threads`` threads, results in order, at
    most ``in_flight`` items (default: one more than the threads) ahead of the one being
    consumed. The first item is worked on and handed over alone, on the calling thread, so
    work on the later ones may rely on what the caller learnt from it. With one thread
    everything runs on the calling thread, in turn.

    ``items`` is consumed on the calling thread; the job's cancel is checked between items.
    """
    source = iter(items)
    # The first item alone (every item with one thread): the caller has used its result
    # (learnt the columns' kinds) before the work on the next ones starts.
    for item in source if ctx.threads <= 1 else itertools.islice(source, 1):
        result = work(item)
        ctx.check_cancelled()
        yield item, result
    if ctx.threads <= 1:
        return
    in_flight = in_flight or ctx.threads + 1
    pending: deque[tuple[Item, Future[T]]] = deque()
    executor = ThreadPoolExecutor(ctx.threads, thread_name_prefix="analyze")
    try:
        for item in source:
            pending.append((item, executor.submit(work, item)))
            if len(pending) >= in_flight:
                break
        while pending:
            item, future = pending.popleft()
            result = future.result()
            ctx.check_cancelled()
            next_item = next(source, None)
            if next_item is not None:
                pending.append((next_item, executor.submit(work, next_item)))
            yield item, result
    finally:
        for _, future in pending:
            future.cancel()
        executor.shutdown(wait=True)
