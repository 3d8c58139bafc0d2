"""Benchmark: GET /api/tasks/{id} latency with the sqlite store while uploads keep arriving.

    python bench/bench_status_uploads.py [--pollers 50] [--uploaders 8] [--seconds 15]

Every upload inserts a task into the sqlite store; an insert can wait on the database lock.
If a route did that on the event loop, every poller would wait with it. Phase "idle": the
pollers alone; phase "uploads": the same pollers while ``--uploaders`` clients upload a
64 KB CSV back to back (streaming route), each upload then analysed (up to 4 at a time).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import threading
import time
from pathlib import Path

import requests
from bench_latency import load, percentile, summary
from common import DATA, post_file, start_backend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--rate", type=float, default=2.0, help="requests per second per poller")
    parser.add_argument("--uploaders", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-status-", dir=DATA))
    sample = workdir / "small.csv"
    sample.write_text("id,名稱,金額\n" + "".join(f"{i},品項{i},{i * 3}\n" for i in range(4000)))
    backend = start_backend(workdir, task_store=f"sqlite:///{workdir}/tasks.db",
                            max_concurrent_tasks=4, log_level="WARNING")  # fmt: skip
    uploads = 0
    try:
        target = requests.post(
            f"{backend.url}/api/process", json={"data": "poll me", "delay": 0}, timeout=10
        ).json()["task_id"]
        asyncio.run(load(backend.port, target, args.pollers, 2, args.rate))  # warm-up
        idle = asyncio.run(load(backend.port, target, args.pollers, args.seconds, args.rate))
        stop = threading.Event()

        def uploader() -> None:
            nonlocal uploads
            while not stop.is_set():
                status, _ = post_file(backend.port, "/api/upload/stream", sample,
                                      {"X-Filename": "small.csv"})  # fmt: skip
                assert status == 202, status
                uploads += 1

        threads = [threading.Thread(target=uploader) for _ in range(args.uploaders)]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        busy = asyncio.run(load(backend.port, target, args.pollers, args.seconds, args.rate))
        elapsed = time.perf_counter() - started
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        backend.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nGET /api/tasks/{{id}}, sqlite store: {args.pollers} pollers x {args.rate:g} req/s")
    print(summary("idle", [v for _, v in idle]))
    print(summary(f"{uploads / elapsed:.0f} uploads/s arriving", [v for _, v in busy]))
    ratio = percentile([v for _, v in busy], 99) / percentile([v for _, v in idle], 99)
    print(f"ratio p99 uploads/idle: {ratio:.2f}x")


if __name__ == "__main__":
    main()
