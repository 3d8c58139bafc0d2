"""The reader interface: what every file format hands the statistics.

A reader is a function ``read(source) -> Iterator[TableFeed]``. It may set file-level facts
on the source (encoding, delimiter, a prose summary, warnings about the whole file); each
table it finds comes as a :class:`TableFeed` whose ``batches`` can be read again (a column
that turns out to be text after thousands of numbers is counted in a second pass).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from backend.jobs.analyze.encoding import Encoding
from backend.jobs.analyze.progress import Progress
from backend.jobs.context import JobContext


@dataclass
class Source:
    """The uploaded file being analysed, and what was learnt about it as a whole.

    ``format``: "csv" | "tsv" | "txt" | "json" | "xlsx"; ``size``: bytes; ``notes``: zh-TW
    warnings about the whole file (encoding, sheets skipped).
    """

    ctx: JobContext
    path: str
    filename: str
    format: str
    size: int
    progress: Progress
    encoding: Encoding | None = None
    delimiter: str | None = None
    text: dict | None = None  # prose statistics, when the file is not a table
    notes: list[str] = field(default_factory=list)


@dataclass
class Batch:
    """One array per selected column (nulls for empty cells; strings or typed values) and
    the share of the source (0..1) read once this batch is processed."""

    columns: list[pa.Array]
    fraction: float
    prepared: Any = (
        None  # the ``prepare`` hook's result (opaque to readers), when the reader ran it
    )
    lines: list[int] | None = None  # each row's 1-based line or sheet row, when known


# Work on a batch's columns that needs no state, handed to readers that parse on worker
# threads so it runs there too (``TableStats.prepare``).
Prepare = Callable[[list[pa.Array]], object]


@dataclass
class TableFeed:
    """One table: its column names and a way to read its rows in batches.

    ``batches(columns, prepare)`` yields :class:`Batch` es holding the given column indices
    (all when None), in that order; a reader that parses on worker threads may run
    ``prepare`` there and put its result in ``Batch.prepared``. ``preview``: the first rows
    in file order, when the batches do not come in that order. ``locate``: lines of excluded
    rows (see ``stats.TableStats``) whose batches carried none. ``notes`` (zh-TW) may grow while the batches are read.
    """

    name: str
    names: list[str]
    batches: Callable[[list[int] | None, Prepare | None], Iterator[Batch]]
    preview: Sequence[Sequence[object]] | None = None
    notes: list[str] = field(default_factory=list)
    # Lines of rows the batches gave no ``lines`` for: (row index, cells) -> 1-based lines.
    locate: Callable[[list[tuple[int, Sequence[str | None]]]], list[int | None]] | None = None
    unit: str = "行"  # what a line is called in warnings (行, or 列 for sheet rows)


class Reader(Protocol):
    def __call__(self, source: Source) -> Iterator[TableFeed]: ...
