"""Benchmark: the analyze job against DuckDB, polars and pandas computing the same statistics.

    python bench/bench_analyze.py [--size-mb 200] [--repeat 3] [--only analyze,duckdb]

Generates bench/data/sample_<size>mb.csv (ints, floats, zh-TW text, empty cells) and its
Big5 (CP950) twin bench/data/sample_<size>mb_big5.csv if missing. Each contender runs in its
own fresh subprocess, in alternating order, ``--repeat`` times; the figures are medians of
the work itself (imports excluded), CPU time and the process's peak RSS (VmHWM).

Every contender computes what the analyze result holds for each column: non-empty count,
min, max, and for numbers mean, sample standard deviation and a 20-bin histogram, for text
the five most frequent values.

- ``analyze``: ``backend.jobs.analyze.analyze_file`` (also records progress reports: the
  largest gap between two and whether they only go up).
- ``duckdb``: one table read by DuckDB's CSV reader, then SQL aggregates (histogram via
  ``equi_width_bins``). DuckDB cannot read CP950 offline, so UTF-8 only.
- ``polars``: eager ``read_csv``, ``describe``, histogram, ``value_counts``. UTF-8 only.
- ``pandas``: ``read_csv`` (``encoding="cp950"`` for Big5), ``describe``, ``numpy.histogram``,
  ``value_counts``.

Targets (issue 7): UTF-8 wall time no more than DuckDB's, Big5 at least 1.5x faster than
pandas, peak RSS at most 300 MB, progress reported at least every 2 % and never going down.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT))

BINS = 20
TOP = 5
# (contender, file variant): the runs of one round, in order.
RUNS = [
    ("analyze", "utf8"),
    ("duckdb", "utf8"),
    ("polars", "utf8"),
    ("pandas", "utf8"),
    ("analyze", "big5"),
    ("pandas", "big5"),
]
TARGET_RSS_MB = 300
TARGET_PROGRESS_GAP = 2.0  # percentage points


# --- contenders (each runs in its own process) -----------------------------------------


def run_analyze(path: str, encoding: str) -> dict:
    from backend.jobs.analyze import analyze_file
    from backend.jobs.context import RecordingContext

    ctx = RecordingContext()
    started = time.perf_counter()
    result = analyze_file(ctx, path, Path(path).name)
    seconds = time.perf_counter() - started
    progress = [value for value, _ in ctx.reports]
    table = result["tables"][0]
    return {
        "seconds": seconds,
        "rows": table["rows"],
        "types": {c["name"]: c["type"] for c in table["columns"]},
        "encoding": result["encoding"],
        "reports": len(progress),
        "max_gap": max((b - a for a, b in itertools.pairwise([0.0, *progress, 100.0])), default=0),
        "monotonic": progress == sorted(progress),
    }


def run_duckdb(path: str, encoding: str) -> dict:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')")
    schema = con.execute("DESCRIBE t").fetchall()
    numeric = [n for n, t, *_ in schema if t in ("BIGINT", "DOUBLE", "INTEGER")]
    aggregates = []
    for name, *_ in schema:
        q = f'"{name}"'
        aggregates += [f"count({q})", f"min({q})", f"max({q})"]
        if name in numeric:
            aggregates += [f"avg({q})", f"stddev_samp({q})"]
    (figures,) = con.execute(f"SELECT count(*), {', '.join(aggregates)} FROM t").fetchall()
    for name in numeric:
        q = f'"{name}"'
        con.execute(
            f"WITH b AS (SELECT min({q}) lo, max({q}) hi FROM t) "
            f"SELECT histogram({q}, equi_width_bins(b.lo, b.hi, {BINS}, false)) FROM t, b "
            f"GROUP BY b.lo, b.hi"
        ).fetchall()
    for name, *_ in schema:
        if name not in numeric:
            q = f'"{name}"'
            con.execute(
                f"SELECT {q}, count(*) c FROM t WHERE {q} IS NOT NULL GROUP BY {q} "
                f"ORDER BY c DESC, {q} LIMIT {TOP}"
            ).fetchall()
    return {"seconds": time.perf_counter() - started, "rows": figures[0]}


def run_polars(path: str, encoding: str) -> dict:
    import polars as pl

    started = time.perf_counter()
    frame = pl.read_csv(path, infer_schema_length=10_000)
    frame.describe()
    for name, dtype in frame.schema.items():
        if dtype.is_numeric():
            frame[name].hist(bin_count=BINS)
        else:
            frame[name].drop_nulls().value_counts(sort=True).head(TOP)
    return {"seconds": time.perf_counter() - started, "rows": frame.height}


def run_pandas(path: str, encoding: str) -> dict:
    import numpy as np
    import pandas as pd

    started = time.perf_counter()
    frame = pd.read_csv(path, encoding="cp950" if encoding == "big5" else "utf-8")
    frame.describe()
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column):
            np.histogram(column.dropna(), bins=BINS)
        else:
            column.value_counts().head(TOP)
    return {"seconds": time.perf_counter() - started, "rows": len(frame)}


CONTENDERS = {"analyze": run_analyze, "duckdb": run_duckdb, "polars": run_polars,
              "pandas": run_pandas}  # fmt: skip


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak RSS of this process. VmHWM rather than getrusage: ru_maxrss survives exec, so a
    child would inherit the peak of the parent that generated the file."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def worker(kind: str, path: str, encoding: str) -> None:
    cpu = cpu_seconds()
    figures = CONTENDERS[kind](path, encoding)
    figures["cpu_seconds"] = cpu_seconds() - cpu
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures, ensure_ascii=False))


# --- driver ----------------------------------------------------------------------------


def measure(kind: str, path: Path, encoding: str) -> dict:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--file", str(path), "--encoding", encoding],
        check=False, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(f"{kind} on {path.name} failed:\n{completed.stderr[-2000:]}")
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["process_seconds"] = time.perf_counter() - started
    return figures


def ensure_file(size_mb: int) -> Path:
    """The generated UTF-8 sample (other benchmarks use it too)."""
    return ensure_files(size_mb)["utf8"]


def ensure_files(size_mb: int) -> dict[str, Path]:
    utf8 = DATA / f"sample_{size_mb}mb.csv"
    big5 = DATA / f"sample_{size_mb}mb_big5.csv"
    DATA.mkdir(parents=True, exist_ok=True)
    if not utf8.exists():
        from tests.backend.filegen import write_big_csv

        print(f"generating {utf8.relative_to(ROOT)} ...", flush=True)
        write_big_csv(utf8, size_mb)
    if not big5.exists():
        print(f"generating {big5.relative_to(ROOT)} ...", flush=True)
        part = big5.with_suffix(".part")
        with open(utf8, encoding="utf-8", newline="") as source, open(part, "wb") as out:
            while chunk := source.read(1 << 22):
                out.write(chunk.encode("cp950"))
        part.replace(big5)
    return {"utf8": utf8, "big5": big5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", help="comma-separated contenders (default: all)")
    parser.add_argument("--worker", choices=sorted(CONTENDERS))
    parser.add_argument("--file")
    parser.add_argument("--encoding", default="utf8")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.file, args.encoding)
        return

    files = ensure_files(args.size_mb)
    for variant, path in files.items():
        print(f"{variant}: {path.relative_to(ROOT)} ({path.stat().st_size / 1e6:.1f} MB)")
    wanted = set(args.only.split(",")) if args.only else set(CONTENDERS)
    runs = [run for run in RUNS if run[0] in wanted]
    results: dict[tuple[str, str], list[dict]] = {run: [] for run in runs}
    for i in range(args.repeat):
        order = runs if i % 2 == 0 else list(reversed(runs))
        for kind, variant in order:
            figures = measure(kind, files[variant], variant)
            results[(kind, variant)].append(figures)
            extra = ""
            if kind == "analyze":
                extra = (f"  reports {figures['reports']}  max gap {figures['max_gap']:.2f} %"
                         f"{'' if figures['monotonic'] else '  NOT MONOTONIC'}")  # fmt: skip
            print(
                f"round {i + 1} {kind:8s} {variant:5s} {figures['seconds']:6.2f} s  "
                f"cpu {figures['cpu_seconds']:5.2f} s  process {figures['process_seconds']:5.2f} s"
                f"  peak RSS {figures['peak_rss_mb']:6.1f} MB  rows {figures['rows']:,}{extra}",
                flush=True,
            )
    report(results)


def report(results: dict[tuple[str, str], list[dict]]) -> None:
    def median(run: tuple[str, str], key: str) -> float:
        return statistics.median(f[key] for f in results[run])

    print("\nmedians (work only; process = whole subprocess incl. imports)")
    for run, figures in results.items():
        print(
            f"  {run[0]:8s} {run[1]:5s} {median(run, 'seconds'):6.2f} s  "
            f"cpu {median(run, 'cpu_seconds'):5.2f} s  process {median(run, 'process_seconds'):5.2f} s"
            f"  peak RSS {max(f['peak_rss_mb'] for f in figures):6.1f} MB"
        )
    ours = ("analyze", "utf8")
    if ours in results:
        for other in ("duckdb", "polars", "pandas"):
            if (other, "utf8") in results:
                ratio = median(ours, "seconds") / median((other, "utf8"), "seconds")
                whole = median(ours, "process_seconds") / median((other, "utf8"), "process_seconds")
                target = "  (target <= 1.00)" if other == "duckdb" else ""
                print(f"UTF-8: analyze / {other} = {ratio:.2f} (processes {whole:.2f}){target}")
    ours_big5, pandas_big5 = ("analyze", "big5"), ("pandas", "big5")
    if ours_big5 in results and pandas_big5 in results:
        speedup = median(pandas_big5, "seconds") / median(ours_big5, "seconds")
        print(f"Big5: pandas(cp950) / analyze = {speedup:.2f}x faster (target >= 1.50)")
    analyze_runs = [f for run, figures in results.items() if run[0] == "analyze" for f in figures]
    if analyze_runs:
        peak = max(f["peak_rss_mb"] for f in analyze_runs)
        gap = max(f["max_gap"] for f in analyze_runs)
        monotonic = all(f["monotonic"] for f in analyze_runs)
        print(
            f"analyze: peak RSS {peak:.0f} MB (target <= {TARGET_RSS_MB}), largest progress gap "
            f"{gap:.2f} % (target <= {TARGET_PROGRESS_GAP}), monotonic: {monotonic}"
        )


if __name__ == "__main__":
    main()
