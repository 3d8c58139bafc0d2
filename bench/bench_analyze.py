"""Benchmark: analyze_file against pandas.read_csv + describe() on the same generated CSV.

    python bench/bench_analyze.py [--size-mb 200] [--repeat 3]

Generates bench/data/sample_<size>mb.csv (ints, floats, zh-TW text, empty cells) if missing,
then runs each contender in its own fresh subprocess, alternating, ``--repeat`` times. Prints
wall time of the work itself (imports excluded), peak RSS of the process, the ratio, and the
largest gap between two progress reports of analyze_file.
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


def run_analyze(path: str) -> dict:
    from backend.jobs.analyze import analyze_file
    from backend.jobs.context import RecordingContext

    ctx = RecordingContext()
    rss_before = peak_rss_mb()
    cpu = cpu_seconds()
    started = time.perf_counter()
    result = analyze_file(ctx, path, Path(path).name)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    progress = [value for value, _ in ctx.reports]
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_after_imports_mb": rss_before,
        "rows": result["tables"][0]["rows"],
        "reports": len(progress),
        "max_gap": max(b - a for a, b in itertools.pairwise(progress)),
        "monotonic": progress == sorted(progress),
    }


def run_pandas(path: str) -> dict:
    import pandas as pd

    rss_before = peak_rss_mb()
    cpu = cpu_seconds()
    started = time.perf_counter()
    frame = pd.read_csv(path)
    frame.describe()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - cpu,
        "rss_after_imports_mb": rss_before,
        "rows": len(frame),
    }


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak RSS of this process. VmHWM rather than getrusage: ru_maxrss survives exec, so a
    child would inherit the peak of the parent that generated the file."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def worker(kind: str, path: str) -> None:
    figures = run_analyze(path) if kind == "analyze" else run_pandas(path)
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))


def measure(kind: str, path: Path) -> dict:
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--file", str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    figures["process_seconds"] = time.perf_counter() - started
    return figures


def ensure_file(size_mb: int) -> Path:
    path = DATA / f"sample_{size_mb}mb.csv"
    if not path.exists():
        from tests.backend.filegen import write_big_csv

        DATA.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ...", flush=True)
        write_big_csv(path, size_mb)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", choices=["analyze", "pandas"])
    parser.add_argument("--file")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.file)
        return

    path = ensure_file(args.size_mb)
    print(f"file: {path.relative_to(ROOT)} ({path.stat().st_size / 1e6:.1f} MB)")
    runs: dict[str, list[dict]] = {"analyze": [], "pandas": []}
    for i in range(args.repeat):
        for kind in ("analyze", "pandas"):
            figures = measure(kind, path)
            runs[kind].append(figures)
            extra = ""
            if kind == "analyze":
                extra = f"  reports {figures['reports']}  max progress gap {figures['max_gap']:.2f}"
            print(
                f"run {i + 1} {kind:8s} {figures['seconds']:6.2f} s  "
                f"cpu {figures['cpu_seconds']:5.2f} s  "
                f"(process {figures['process_seconds']:5.2f} s)  "
                f"peak RSS {figures['peak_rss_mb']:7.1f} MB "
                f"(after imports {figures['rss_after_imports_mb']:6.1f} MB){extra}",
                flush=True,
            )
    analyze_s = statistics.median(f["seconds"] for f in runs["analyze"])
    pandas_s = statistics.median(f["seconds"] for f in runs["pandas"])
    best_ratio = min(f["seconds"] for f in runs["analyze"]) / min(
        f["seconds"] for f in runs["pandas"]
    )
    print(
        f"median: analyze_file {analyze_s:.2f} s, pandas read_csv+describe {pandas_s:.2f} s, "
        f"ratio {analyze_s / pandas_s:.2f} (best-of ratio {best_ratio:.2f}; <1 means faster)"
    )
    analyze_cpu = statistics.median(f["cpu_seconds"] for f in runs["analyze"])
    pandas_cpu = statistics.median(f["cpu_seconds"] for f in runs["pandas"])
    print(f"median CPU time: analyze_file {analyze_cpu:.2f} s, pandas {pandas_cpu:.2f} s")
    print(
        f"peak RSS: analyze_file {max(f['peak_rss_mb'] for f in runs['analyze']):.0f} MB, "
        f"pandas {max(f['peak_rss_mb'] for f in runs['pandas']):.0f} MB; "
        f"max progress gap {max(f['max_gap'] for f in runs['analyze']):.2f} %"
    )


if __name__ == "__main__":
    main()
