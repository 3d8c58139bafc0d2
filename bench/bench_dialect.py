"""Benchmark: how often CSV readers get a file's structure right on a messy-CSV corpus.

    python bench/bench_dialect.py --corpus /work/corpora/pollock [--limit N]
        [--only NAME_SUBSTRING] [--contenders ours,duckdb,clevercsv,sniffer,pandas]
        [--show-failures ours] [--jobs 2] [--timeout 60]

For every file each contender reports (delimiter, number of columns, number of data rows);
the script prints, per contender, the share of files where each of the three is right and
the share of files it failed on outright (exception, crash or timeout; such a file counts
as wrong in the three metrics too), and writes the per-file results to
bench/results/dialect_<corpus>.json. ``--show-failures NAME`` lists that contender's misses
and counts them by file family and kind (e.g. "rows -1").

Contenders, each with its documented auto-detection and otherwise default settings:

* ours: ``backend.jobs.analyze.analyze_file`` (delimiter, columns and rows of its first
  table; a file analysed as prose counts as 0 columns and 0 rows).
* duckdb: ``read_csv`` for the shape, ``sniff_csv`` for the delimiter.
* clevercsv: ``Detector().detect`` on the whole text, ``read_table`` with that dialect and
  ``Detector().has_header``.
* sniffer: ``csv.Sniffer().sniff`` and ``has_header``, then ``csv.reader``.
* pandas: ``read_csv(sep=None, engine="python")``, its sniffing mode.

For the readers that return raw records (clevercsv, sniffer): columns = the most common
record width, rows = non-empty records minus one when a header was detected.

Ground truth (Pollock layout: ``csv/``, ``clean/`` and ``parameters/`` side by side, found in
the corpus directory or its immediate subdirectories, e.g. ``polluted_files/``):

* delimiter: ``parameters/<file>_parameters.json``; a multi-character delimiter such as
  ", " is compared by its first non-space character. An empty one (no payload) leaves the
  delimiter undefined and the file out of the delimiter metric.
* columns and rows: the clean file, read the way Pollock's own evaluation reads it
  (pollock/metrics.py: ``csv.reader`` with delimiter ",", quote '"', doubled quotes,
  utf-8-sig; its first row is the header, the others are the records). Columns = the width
  of the clean rows (the parameters' n_columns is 0 for a header-only file, so the clean
  file wins); data rows = clean rows minus the header row. Pollock's evaluation always
  treats the first clean row as the header; where the parameters say header_lines = 0
  (file_no_header) the clean file has no header row and every clean row is a data row.
  Multi-line headers are already merged into one clean row, preamble and footnote lines
  and extra tables are absent from it.
* A file whose clean file is missing, unreadable or ragged has "shape unknown": it is left
  out of the row metric only (columns then come from the parameters' n_columns).

Every (contender, file) pair runs in a pool of worker subprocesses (``--jobs``, 2 by
default) with a per-file timeout, so a crash or a hang costs one result, not the run.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

CONTENDERS = ["ours", "duckdb", "clevercsv", "sniffer", "pandas"]
SAMPLE_CHARS = 1 << 20  # text given to the sniffers: whole files for Pollock's (<= 45 KB)
WORKER_RECYCLE = 1000  # tasks before a worker process is replaced (like maxtasksperchild)
MAX_SHOWN_FAILURES = 40


# --------------------------------------------------------------------------- ground truth


@dataclass
class Truth:
    file: str  # path relative to the corpus directory
    delimiter: str | None  # None: undefined (no payload)
    n_columns: int
    n_rows: int | None  # None: shape unknown


def dataset_dirs(corpus: Path) -> list[Path]:
    """Directories with Pollock's csv/, clean/ and parameters/ layout: corpus or its children."""
    candidates = [corpus, *sorted(p for p in corpus.iterdir() if p.is_dir())]
    found = [d for d in candidates if all((d / sub).is_dir() for sub in ("csv", "clean"))]
    if not found:
        raise SystemExit(f"no csv/ + clean/ directories in {corpus} or its subdirectories")
    return found


def load_truth(corpus: Path, dataset: Path, csv_path: Path) -> Truth:
    """Ground truth of one polluted file from its parameters and its clean version."""
    params_path = dataset / "parameters" / f"{csv_path.name}_parameters.json"
    params = json.loads(params_path.read_text()) if params_path.exists() else {}
    delimiter = params.get("delimiter") or None
    n_columns = int(params.get("n_columns") or 0)
    n_rows = None
    clean_rows = _read_clean(dataset / "clean" / csv_path.name)
    if clean_rows is not None and len({len(row) for row in clean_rows}) <= 1:
        n_columns = len(clean_rows[0]) if clean_rows else 0
        has_header = params.get("header_lines", 1) > 0
        n_rows = max(len(clean_rows) - (1 if has_header else 0), 0)
    return Truth(str(csv_path.relative_to(corpus)), delimiter, n_columns, n_rows)


def _read_clean(path: Path) -> list[list[str]] | None:
    """Rows of a clean file as Pollock's evaluation parses them; None when unreadable."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return list(csv.reader(f, delimiter=",", quotechar='"', doublequote=True))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


# --------------------------------------------------------------------------- contenders


def run_ours(path: str) -> dict:
    """Our product's analysis: delimiter and shape of the first table it finds."""
    from backend.jobs.analyze import analyze_file
    from backend.jobs.context import RecordingContext

    result = analyze_file(RecordingContext(), path, Path(path).name)
    tables = result["tables"]
    if not tables:
        return {"delimiter": None, "n_columns": 0, "n_rows": 0, "note": "analysed as text"}
    return {
        "delimiter": result["delimiter"],
        "n_columns": len(tables[0]["columns"]),
        "n_rows": tables[0]["rows"],
        "note": " | ".join(result.get("warnings") or [])[:500] or None,
    }


def run_duckdb(path: str) -> dict:
    """DuckDB's CSV auto-detection: read_csv defaults for the shape, sniff_csv for the delimiter."""
    import duckdb

    con = duckdb.connect(config={"threads": 1})
    try:
        relation = con.read_csv(path)
        n_rows = relation.aggregate("count(*)").fetchall()[0][0]
        quoted = path.replace("'", "''")
        delimiter = con.sql(f"SELECT Delimiter FROM sniff_csv('{quoted}')").fetchall()[0][0]
        return {"delimiter": delimiter, "n_columns": len(relation.columns), "n_rows": n_rows}
    finally:
        con.close()


def run_clevercsv(path: str) -> dict:
    """CleverCSV: dialect detection on the whole text, read_table, has_header."""
    import clevercsv
    from clevercsv.encoding import get_encoding

    encoding = get_encoding(path)
    with open(path, encoding=encoding, newline="") as f:
        text = f.read(SAMPLE_CHARS)
    detector = clevercsv.Detector()
    dialect = detector.detect(text)
    if dialect is None:
        raise RuntimeError("no dialect detected")
    rows = clevercsv.read_table(path, dialect=dialect, encoding=encoding)
    return _shape_of_records(dialect.delimiter, rows, detector.has_header(text))


def run_sniffer(path: str) -> dict:
    """Python's csv.Sniffer (sniff + has_header), then csv.reader with the sniffed dialect."""
    text = _decode(Path(path).read_bytes())
    sample = text[:SAMPLE_CHARS]
    sniffer = csv.Sniffer()
    dialect = sniffer.sniff(sample)
    has_header = sniffer.has_header(sample)
    rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    return _shape_of_records(dialect.delimiter, rows, has_header)


def run_pandas(path: str) -> dict:
    """pandas.read_csv(sep=None, engine="python"): pandas sniffs the delimiter itself."""
    import pandas as pd

    try:
        return _pandas_read(pd, path, None)
    except UnicodeDecodeError:
        return _pandas_read(pd, path, "latin-1")


def _pandas_read(pd, path: str, encoding: str | None) -> dict:
    """One pandas attempt; the sniffed dialect is only reachable through the parser engine."""
    with pd.read_csv(path, sep=None, engine="python", encoding=encoding, iterator=True) as reader:
        frame = reader.read()
        dialect = getattr(getattr(reader._engine, "data", None), "dialect", None)
    delimiter = getattr(dialect, "delimiter", None)
    return {"delimiter": delimiter, "n_columns": frame.shape[1], "n_rows": frame.shape[0]}


def _decode(data: bytes) -> str:
    """Text for the tools that need it: UTF-8, else Latin-1 (which never fails)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _shape_of_records(delimiter: str, rows: list[list[str]], has_header: bool) -> dict:
    """Shape from raw records: most common width; non-empty records minus the header."""
    records = [row for row in rows if row]
    widths = Counter(len(row) for row in records)
    n_columns = widths.most_common(1)[0][0] if widths else 0
    n_rows = max(len(records) - (1 if has_header else 0), 0)
    return {"delimiter": delimiter, "n_columns": n_columns, "n_rows": n_rows}


RUNNERS = {
    "ours": run_ours,
    "duckdb": run_duckdb,
    "clevercsv": run_clevercsv,
    "sniffer": run_sniffer,
    "pandas": run_pandas,
}


def measure(contender: str, path: str) -> dict:
    """Run one contender on one file; an exception becomes an error entry."""
    started = time.perf_counter()
    try:
        result = RUNNERS[contender](path)
        result["error"] = None
    except Exception as exc:  # noqa: BLE001 - any failure of the tool is a result
        code = getattr(exc, "code", None)
        kind = type(exc).__name__ + (f"({code})" if isinstance(code, str) else "")
        result = {"error": f"{kind}: {exc}"[:300]}
    result["seconds"] = round(time.perf_counter() - started, 4)
    return result


# --------------------------------------------------------------------------- worker pool


def worker_main() -> None:
    """Worker subprocess: one JSON task per stdin line, one JSON result per line back."""
    warnings.simplefilter("ignore")
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the tools print must not corrupt the protocol
    for line in sys.stdin:
        task = json.loads(line)
        replies.write(json.dumps(measure(task["contender"], task["path"])) + "\n")


class Worker:
    """A worker subprocess that can be given a task with a timeout, and replaced if it hangs."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.done = 0

    def start(self) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "POLARS_MAX_THREADS": "1"}
        self.lines = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            cwd=ROOT,
            env=env,
        )
        self.done = 0
        threading.Thread(target=self._pump, args=(self.process, self.lines), daemon=True).start()

    @staticmethod
    def _pump(process: subprocess.Popen, lines: queue.Queue) -> None:
        """Forward the worker's reply lines; None marks its end."""
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    def stop(self) -> None:
        """End this worker's process (only ever the one this object started)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def run(self, contender: str, path: str, timeout: float) -> dict:
        """Result of one task; a timeout or a crash restarts the process and is an error."""
        if self.process is None or self.done >= WORKER_RECYCLE:
            self.stop()
            self.start()
        try:
            self.process.stdin.write(json.dumps({"contender": contender, "path": path}) + "\n")
            self.process.stdin.flush()
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            return {"error": f"Timeout: no answer within {timeout:g} s", "seconds": timeout}
        except OSError:  # the worker died before reading the task
            line = None
        if line is None:
            code = self.process.wait()
            self.stop()
            return {"error": f"Crash: worker exited with code {code}", "seconds": None}
        self.done += 1
        return json.loads(line)


def run_all(tasks: list[tuple[str, str]], jobs: int, timeout: float) -> dict:
    """Run (contender, path) tasks on ``jobs`` workers; returns {(contender, path): result}."""
    pending: queue.Queue[tuple[str, str]] = queue.Queue()
    for task in tasks:
        pending.put(task)
    results: dict[tuple[str, str], dict] = {}
    lock = threading.Lock()

    def serve() -> None:
        worker = Worker()
        try:
            while True:
                try:
                    contender, path = pending.get_nowait()
                except queue.Empty:
                    return
                result = worker.run(contender, path, timeout)
                with lock:
                    results[(contender, path)] = result
                    if len(results) % 500 == 0:
                        print(f"  {len(results)}/{len(tasks)} done", file=sys.stderr)
        finally:
            worker.stop()

    threads = [threading.Thread(target=serve) for _ in range(max(1, jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --------------------------------------------------------------------------- scoring


def norm_delimiter(value: str | None) -> str | None:
    """One character for comparison: "\\t" -> tab, ", " -> ",", empty -> None."""
    if value is None:
        return None
    text = {"\\t": "\t", "tab": "\t", "(empty)": ""}.get(value, value)
    if len(text) > 1:
        text = (text.strip() or text)[0]
    return text or None


def check(truth: Truth, result: dict) -> dict:
    """Right/wrong per metric; None where the truth is undefined (left out of that metric)."""
    failed = result.get("error") is not None
    delimiter_ok = None
    if truth.delimiter is not None:
        got = None if failed else norm_delimiter(result.get("delimiter"))
        want = norm_delimiter(truth.delimiter)
        delimiter_ok = not failed and (got == want or (got is None and truth.n_columns == 1))
    rows_ok = None
    if truth.n_rows is not None:
        rows_ok = not failed and result.get("n_rows") == truth.n_rows
    return {
        "delimiter": delimiter_ok,
        "columns": not failed and result.get("n_columns") == truth.n_columns,
        "rows": rows_ok,
        "failed": failed,
    }


def summarise(entries: list[dict], contenders: list[str]) -> dict:
    """Per contender: % right for each metric over the files where it is defined, % failed."""
    summary = {}
    for contender in contenders:
        checks = [entry["checks"][contender] for entry in entries]
        row = {}
        for metric in ("delimiter", "columns", "rows", "failed"):
            values = [c[metric] for c in checks if c[metric] is not None]
            row[metric] = 100 * sum(values) / len(values) if values else None
        times = [entry["results"][contender].get("seconds") or 0 for entry in entries]
        row["ms_per_file"] = 1000 * sum(times) / len(times) if times else None
        summary[contender] = row
    return summary


def failure_kind(truth: Truth, result: dict, checks: dict) -> str:
    """A short label for what went wrong, to group failures: error kind or the deltas."""
    if checks["failed"]:
        return result["error"].split(":", 1)[0]
    parts = []
    if checks["delimiter"] is False:
        parts.append(f"delimiter {truth.delimiter!r}->{result.get('delimiter')!r}")
    if not checks["columns"]:
        parts.append(f"columns {result['n_columns'] - truth.n_columns:+d}")
    if checks["rows"] is False:
        parts.append(f"rows {result['n_rows'] - truth.n_rows:+d}")
    return ", ".join(parts)


# --------------------------------------------------------------------------- report


def print_table(summary: dict, entries: list[dict]) -> None:
    """The comparison table, one line per contender."""
    known = sum(entry["truth"]["n_rows"] is not None for entry in entries)
    defined = sum(entry["truth"]["delimiter"] is not None for entry in entries)
    print(
        f"{len(entries)} files; shape known for {known} (shape unknown: {len(entries) - known});"
        f" delimiter defined for {defined}"
    )
    print(f"{'contender':<11}{'delimiter':>10}{'columns':>9}{'rows':>8}{'failed':>8}{'ms/file':>9}")
    for contender, row in summary.items():
        cells = [
            "-" if row[m] is None else f"{row[m]:.1f}%"
            for m in ("delimiter", "columns", "rows", "failed")
        ]
        ms = "-" if row["ms_per_file"] is None else f"{row['ms_per_file']:.0f}"
        print(f"{contender:<11}{cells[0]:>10}{cells[1]:>9}{cells[2]:>8}{cells[3]:>8}{ms:>9}")


def print_failures(entries: list[dict], contender: str) -> None:
    """Up to MAX_SHOWN_FAILURES wrong files of one contender, then the failures by kind."""
    wrong = []
    for entry in entries:
        checks = entry["checks"][contender]
        if checks["failed"] or False in (checks["delimiter"], checks["columns"], checks["rows"]):
            wrong.append(entry)
    print(f"\n{contender}: wrong on {len(wrong)} of {len(entries)} files")
    for entry in wrong[:MAX_SHOWN_FAILURES]:
        truth, result = entry["truth"], entry["results"][contender]
        want = f"{truth['delimiter']!r} {truth['n_columns']} cols {truth['n_rows']} rows"
        if result.get("error"):
            got = result["error"][:100]
        else:
            got = f"{result['delimiter']!r} {result['n_columns']} cols {result['n_rows']} rows"
        print(f"  {entry['file']}\n      truth {want}\n      got   {got}")
    kinds = Counter(
        (re.sub(r"\d+", "N", Path(entry["file"]).stem), entry["kinds"][contender])
        for entry in wrong
    )
    print(f"\n{contender}: failures by file family and kind")
    for (family, kind), count in kinds.most_common(25):
        print(f"  {count:>5}  {family:<40} {kind}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, help="corpus directory (Pollock layout)")
    parser.add_argument("--limit", type=int, help="only the first N files (sorted by name)")
    parser.add_argument("--only", help="only files whose name contains this substring")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--show-failures", metavar="CONTENDER", help="list that one's misses")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per file and tool")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main()
        return
    if args.corpus is None:
        parser.error("--corpus is required")
    contenders = [name.strip() for name in args.contenders.split(",") if name.strip()]
    unknown = set(contenders) - set(RUNNERS)
    if unknown:
        parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")

    corpus = args.corpus.resolve()
    files = [
        (dataset, path)
        for dataset in dataset_dirs(corpus)
        for path in sorted((dataset / "csv").iterdir())
        if path.is_file() and (args.only is None or args.only in path.name)
    ][: args.limit]
    truths = {path: load_truth(corpus, dataset, path) for dataset, path in files}

    started = time.perf_counter()
    tasks = [(contender, str(path)) for _, path in files for contender in contenders]
    results = run_all(tasks, args.jobs, args.timeout)
    elapsed = time.perf_counter() - started

    entries = []
    for _, path in files:
        truth = truths[path]
        entry = {
            "file": truth.file,
            "truth": asdict(truth),
            "results": {},
            "checks": {},
            "kinds": {},
        }
        for contender in contenders:
            result = results[(contender, str(path))]
            entry["results"][contender] = result
            entry["checks"][contender] = check(truth, result)
            entry["kinds"][contender] = failure_kind(truth, result, entry["checks"][contender])
        entries.append(entry)
    summary = summarise(entries, contenders)

    print_table(summary, entries)
    print(f"wall time {elapsed:.0f} s with {args.jobs} worker(s)")
    if args.show_failures:
        if args.show_failures not in contenders:
            parser.error(f"--show-failures {args.show_failures}: not among the contenders")
        print_failures(entries, args.show_failures)

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"dialect_{corpus.name}.json"
    report = {
        "corpus": str(corpus),
        "contenders": contenders,
        "wall_seconds": round(elapsed, 1),
        "summary": summary,
        "files": entries,
    }
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(f"per-file results: {out}")


if __name__ == "__main__":
    main()
