"""Benchmark 2: GET /api/tasks/{id} latency under 50 pollers while two 200 MB analyses run.

    python bench/bench_latency.py [--size-mb 200] [--pollers 50] [--analyses 6]

Phase "idle": the pollers run with nothing else going on. Phase "busy": two analyses run at
all times (the slots are first held by sleeping tasks while the uploads queue up, then
released), and only samples taken while two analyses are processing count.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
from pathlib import Path

import requests
from bench_analyze import ensure_file
from common import DATA, post_file, start_backend


async def poller(port: int, task_id: str, stop_at: float, rate_hz: float, samples: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET /api/tasks/{task_id} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    await asyncio.sleep(random.random() / rate_hz)  # spread the pollers over the period
    next_at = time.perf_counter()
    try:
        while next_at < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            samples.append((started, time.perf_counter() - started))
            next_at += 1 / rate_hz
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    finally:
        writer.close()


async def load(port: int, task_id: str, pollers: int, seconds: float, rate_hz: float) -> list:
    samples: list[tuple[float, float]] = []
    stop_at = time.perf_counter() + seconds
    await asyncio.gather(
        *(poller(port, task_id, stop_at, rate_hz, samples) for _ in range(pollers))
    )
    return samples


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def summary(label: str, latencies: list[float]) -> str:
    ms = [v * 1000 for v in latencies]
    return (f"{label:34} n={len(ms):5d}  p50={percentile(ms, 50):6.1f} ms  "
            f"p99={percentile(ms, 99):6.1f} ms  max={max(ms):6.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--rate", type=float, default=2.0, help="requests per second per poller")
    parser.add_argument("--analyses", type=int, default=6)
    parser.add_argument("--idle-seconds", type=float, default=10)
    args = parser.parse_args()
    csv_path = ensure_file(args.size_mb)
    workdir = Path(tempfile.mkdtemp(prefix="bench-latency-", dir=DATA))
    backend = start_backend(workdir, max_upload_mb=args.size_mb + 10, max_concurrent_tasks=2,
                            log_level="WARNING")  # fmt: skip
    api = backend.url
    try:
        target = requests.post(
            f"{api}/api/process", json={"data": "poll me", "delay": 0}, timeout=10
        ).json()["task_id"]
        asyncio.run(load(backend.port, target, args.pollers, 2, args.rate))  # warm-up, not counted
        idle = asyncio.run(load(backend.port, target, args.pollers, args.idle_seconds, args.rate))

        holders = [requests.post(f"{api}/api/process", json={"data": "hold", "delay": 3600}, timeout=10).json()["task_id"]
                   for _ in range(2)]  # fmt: skip
        for _ in range(args.analyses):
            status, _ = post_file(
                backend.port, "/api/upload/stream", csv_path, {"X-Filename": "bench.csv"}
            )
            assert status == 202, status
        timeline: list[tuple[float, int]] = []  # (when, tasks processing)

        async def busy_phase() -> list:
            done = asyncio.Event()
            samples: list[tuple[float, float]] = []

            async def watch() -> None:
                loop = asyncio.get_running_loop()
                while not done.is_set():
                    counts = await loop.run_in_executor(
                        None, lambda: requests.get(api, timeout=10).json()["tasks"]
                    )
                    timeline.append((time.perf_counter(), counts["processing"]))
                    if counts["processing"] + counts["pending"] == 0:
                        done.set()
                    await asyncio.sleep(0.1)

            for holder in holders:  # release the slots: the queued analyses start now
                requests.post(f"{api}/api/tasks/{holder}/cancel", timeout=10)
            watcher = asyncio.create_task(watch())
            stop_at = time.perf_counter() + 600
            pollers = [asyncio.create_task(poller(backend.port, target, stop_at, args.rate, samples))
                       for _ in range(args.pollers)]  # fmt: skip
            await done.wait()
            for task in pollers:
                task.cancel()
            await asyncio.gather(*pollers, return_exceptions=True)
            await watcher
            return samples

        busy = asyncio.run(busy_phase())
        tasks = requests.get(f"{api}/api/tasks", params={"kind": "analyze"}, timeout=10).json()[
            "items"
        ]
        failed = [t for t in tasks if t["status"] != "completed"]
        assert not failed, failed[0]
    finally:
        backend.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    def both_running(at: float) -> bool:
        before = [entry for entry in timeline if entry[0] <= at]
        return bool(before) and before[-1][1] == 2

    during = [latency for started, latency in busy if both_running(started)]
    window = sum(1 for entry in timeline if entry[1] == 2) * 0.1
    print(
        f"\nGET /api/tasks/{{id}}: {args.pollers} pollers x {args.rate:g} req/s (same run, same machine)"
    )
    print(summary("idle (nothing running)", [v for _, v in idle]))
    print(summary(f"two analyses running (~{window:.0f} s)", during))
    print(
        f"ratio p99 busy/idle: {percentile(during, 99) / percentile([v for _, v in idle], 99):.2f}x"
    )
    print("target: p99 under 50 ms while two analyses run")


if __name__ == "__main__":
    main()
