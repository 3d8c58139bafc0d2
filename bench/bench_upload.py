"""Benchmark 1: upload throughput and server memory, beside bare Starlette endpoints.

    python bench/bench_upload.py [--size-mb 1024] [--rounds 3]

Each endpoint receives the same file several times, interleaved so machine noise hits all
of them alike; the median MB/s is reported with its ratio to the bare file-writing endpoint.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

import requests
from common import DATA, post_file, reset_peak, start_backend, start_reference, vm_kib

BOUNDARY = "----BenchBoundary9f8e7d6c5b4a"


def make_file(size_mb: int) -> Path:
    path = DATA / f"upload-{size_mb}mb.csv"
    if path.exists() and path.stat().st_size == size_mb * 1024 * 1024:
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    line = "123456,7890.25,台北市信義區,報價單品項說明\n".encode()
    block = (line * (1024 * 1024 // len(line) + 1))[: 1024 * 1024]
    with open(path, "wb") as f:
        f.writelines(block for _ in range(size_mb))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    file_path = make_file(args.size_mb)
    size = file_path.stat().st_size
    workdir = Path(tempfile.mkdtemp(prefix="bench-upload-", dir=DATA))
    backend = start_backend(workdir / "backend", max_upload_mb=args.size_mb + 1, max_concurrent_tasks=1,
                            log_level="WARNING")  # fmt: skip
    reference = start_reference(workdir / "reference")
    prefix = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.csv"\r\n'
              "Content-Type: text/csv\r\n\r\n").encode()  # fmt: skip
    suffix = f"\r\n--{BOUNDARY}--\r\n".encode()
    cases = {
        "bare write (Starlette)": (reference, "/write", {}, b"", b""),
        "bare discard (ceiling)": (reference, "/discard", {}, b"", b""),
        "/api/upload/stream": (backend, "/api/upload/stream", {"X-Filename": "bench.csv"}, b"", b""),
        "/api/upload (multipart)": (backend, "/api/upload",
                                    {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}, prefix, suffix),
    }  # fmt: skip
    speeds: dict[str, list[float]] = {name: [] for name in cases}
    rss_growth: dict[str, int] = dict.fromkeys(cases, 0)
    try:
        for _ in range(args.rounds):
            for name, (server, path, headers, pre, post) in cases.items():
                os.sync()  # start every case without the previous one's dirty pages to flush
                pid = server.process.pid
                before = vm_kib(pid, "VmRSS")
                reset_peak(pid)
                status, seconds = post_file(server.port, path, file_path, headers, pre, post)
                assert status in (200, 202), f"{name}: HTTP {status}"
                rss_growth[name] = max(rss_growth[name], vm_kib(pid, "VmHWM") - before)
                speeds[name].append(size / seconds / 1e6)
                if server is backend:
                    # Do not let the analysis of this file run during the next measurements.
                    for task in requests.get(f"{backend.url}/api/tasks", timeout=10).json()[
                        "items"
                    ]:
                        requests.post(
                            f"{backend.url}/api/tasks/{task['task_id']}/cancel", timeout=10
                        )
                        requests.delete(f"{backend.url}/api/tasks/{task['task_id']}", timeout=10)
    finally:
        backend.stop()
        reference.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    writer = statistics.median(speeds["bare write (Starlette)"])
    print(
        f"\nUpload of {size / 2**20:.0f} MiB, median of {args.rounds} rounds (same run, same machine)"
    )
    print(f"{'endpoint':28} {'MB/s':>8} {'vs bare write':>14} {'peak RSS growth':>16}")
    for name, values in speeds.items():
        mbps = statistics.median(values)
        print(f"{name:28} {mbps:8.0f} {mbps / writer:13.2f}x {rss_growth[name] / 1024:13.1f} MB")
    print("targets: stream >= 0.85x, multipart >= 0.75x, RSS growth < 64 MB")


if __name__ == "__main__":
    main()
