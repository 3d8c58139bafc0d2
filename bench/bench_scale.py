"""Benchmark: scale-out with Redis and Celery (throughput per worker count, status latency per store).

    .venv/bin/python bench/bench_scale.py [--repeat 2] [--files 12] [--only throughput|latency]

Needs redis-server (``apt-get install redis-server``). Generates bench/data/sample_<size>mb.csv
if missing (the sample of bench_analyze.py); everything else lives in a temporary folder under
bench/data/ that is removed at the end. Writes the figures to bench/results/scale.json.

Throughput: one API process (TASK_STORE=redis, TASK_RUNNER=celery) and a fresh set of
``celery -A backend.worker worker`` processes per phase, each with MAX_CONCURRENT_TASKS=1,
so two workers are two cores' worth; ``--job-threads`` sets their JOB_THREADS (a job alone
on the machine works on up to that many threads, jobs running side by side on one each,
see backend/execution/job_share.py). ``--files`` copies of the same CSV are uploaded back to
back (streaming route) while the workers, already started and idle, consume a queue nobody
sends to; then Celery's remote control (``add_consumer``) opens the real queue to all of
them at once, and the time runs from the first analysis' ``started_at`` to the last
``finished_at``. So neither the workers' start-up nor receiving the uploads (the API's
work, about 0.7 CPU seconds per 200 MB; on one machine it would take the workers' CPU) is
counted as the workers' time.
The 1-worker and 2-worker phases alternate (``--repeat`` rounds, the order flipped every
round) and the figures are medians, so both see the same noise. The job CPU of a phase is
what the workers' fork servers collected from their reaped job processes; divided by the
analyses' run time it says how many cores one analysis keeps busy on its own. The machine's
busy CPU over the phase (/proc/stat) is split into the jobs, our other processes (API, Redis,
workers, this script) and everything else: job processes run at nice 5, so on a shared
machine anything else running takes its share first, and the phases say so.

Latency: ``GET /api/tasks/{id}`` of a finished task, open loop at ``--rate`` requests per
second for ``--seconds`` (each request timed from when it was due, so a slow answer cannot
hold back the next ones), while analyses keep running: the sqlite store with the local
runner (MAX_CONCURRENT_TASKS=2) beside the Redis store with one Celery worker
(MAX_CONCURRENT_TASKS=2). The queue is kept fed (uploads while fewer than four analyses are
waiting or running); the share of the window with two analyses running is reported. Redis
runs with its default ``appendfsync everysec``, sqlite with WAL and ``synchronous=NORMAL``
(neither syncs every write). The stores alternate over the rounds too.

Targets (scale-out issue): at least 1.6x the analyses per minute with two workers on a
two-core machine; Redis p99 no worse than sqlite's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import requests
from bench_analyze import ensure_file
from bench_latency import percentile
from celery import Celery
from common import DATA, ROOT, Server, start_backend

from backend.config import Settings
from backend.execution.celery_queue import QUEUE, make_celery_app
from backend.redis_client import connect
from tests.celery_worker import Worker, start_worker
from tests.redis_server import redis_server_path, start_redis

RESULTS = ROOT / "bench" / "results"
FINAL = {"completed", "failed", "cancelled"}
TARGET_RATIO = 1.6
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PHASE_TIMEOUT_S = 900


# --- plumbing --------------------------------------------------------------------------


def upload(port: int, csv_path: Path) -> str:
    """Stream a file to /api/upload/stream with sendfile(2); returns the new task's id."""
    head = (f"POST /api/upload/stream HTTP/1.1\r\nHost: bench\r\nX-Filename: bench.csv\r\n"
            f"Content-Length: {csv_path.stat().st_size}\r\nConnection: close\r\n\r\n")  # fmt: skip
    with socket.create_connection(("127.0.0.1", port)) as sock, open(csv_path, "rb") as f:
        sock.sendall(head.encode())
        sock.sendfile(f)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    status_line, _, rest = response.partition(b"\r\n")
    if b" 202 " not in status_line:
        raise RuntimeError(f"upload refused: {response[:500]!r}")
    return json.loads(rest.split(b"\r\n\r\n", 1)[1])["task_id"]


def children_cpu_s(pid: int) -> float:
    """cutime + cstime: the CPU of the children this process has reaped."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[13]) + int(fields[14])) / CLOCK_TICKS  # fields 16 and 17 of stat(5)


def own_cpu_s(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def wait_fork_server_idle(worker: Worker, timeout: float = 30) -> None:
    """The fork server is started in the background when the worker starts and then imports
    the job modules (pyarrow, ...); wait until it is up and has stopped using CPU, so that
    its start-up is not counted in the first analysis."""
    deadline = time.monotonic() + timeout
    last = -1.0
    while time.monotonic() < deadline:
        server = worker.fork_server()
        if server is not None:
            try:
                now = own_cpu_s(server.pid)
            except OSError:
                now = -1.0
            if now == last:
                return
            last = now
        time.sleep(0.5)
    raise RuntimeError(f"worker {worker.name}: fork server not idle after {timeout} s")


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def wait_final(api: Server, ids: list[str], timeout: float = PHASE_TIMEOUT_S) -> list[dict]:
    """The tasks ``ids`` once all are final, as the API shows them."""
    wanted = set(ids)
    deadline = time.monotonic() + timeout
    while True:
        listing = requests.get(f"{api.url}/api/tasks", params={"kind": "analyze", "limit": 200},
                               timeout=30).json()["items"]  # fmt: skip
        tasks = [task for task in listing if task["task_id"] in wanted]
        if len(tasks) == len(wanted) and all(task["status"] in FINAL for task in tasks):
            return tasks
        if time.monotonic() > deadline:
            raise RuntimeError("analyses not finished in time")
        time.sleep(0.2)


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = best = 0
    for _, step in events:
        running += step
        best = max(best, running)
    return best


def machine_busy_s() -> float:
    """CPU seconds all cores spent on anything but idle and I/O wait since boot (/proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def load_average() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


# --- throughput ------------------------------------------------------------------------


HOLD_QUEUE = "bench-hold"  # the workers' queue until a phase's uploads are all in


def open_queue(app: Celery, names: list[str]) -> None:
    """Tell the workers ``names`` to consume the real queue (Celery remote control)."""
    hostname = socket.gethostname()
    destination = [f"{name}@{hostname}" for name in names]
    replies = app.control.add_consumer(QUEUE, destination=destination, reply=True, timeout=10)
    if len(replies) != len(names):
        raise RuntimeError(f"add_consumer: {len(replies)} of {len(names)} workers answered")


@dataclass
class Cluster:
    root: Path
    redis_url: str
    api: Server
    redis_pid: int
    celery: Celery
    job_threads: int = 2

    def worker_settings(self, concurrency: int) -> dict[str, object]:
        return {
            "task_store": self.redis_url,
            "upload_dir": self.root / "uploads",
            "max_concurrent_tasks": concurrency,
            "max_upload_mb": 100_000,
            "task_timeout_s": 600,
            "api_key": "",
            "log_level": "WARNING",
            "job_threads": self.job_threads,
        }


def throughput_phase(cluster: Cluster, workers: int, csv_path: Path, files: int) -> dict:
    """``workers`` fresh workers (one slot each) analyse ``files`` uploads; returns figures."""
    started_workers: list[Worker] = []
    redis = connect(cluster.redis_url)
    try:
        # The workers start on a queue nobody sends to, so that their start-up (Celery, the
        # fork server importing pyarrow) is over before the uploads come, and receiving the
        # uploads (the API's work, about 0.7 CPU seconds per 200 MB) is over before the
        # workers take any: then all of them are told to consume the real queue at once.
        for i in range(workers):
            name = f"w{i + 1}-{time.monotonic_ns()}"
            settings = cluster.worker_settings(1)
            started_workers.append(
                start_worker(cluster.root / "workers", name, app="backend.worker",
                             queues=HOLD_QUEUE, **settings)
            )  # fmt: skip
        for worker in started_workers:
            wait_fork_server_idle(worker)
        first_submit = time.time()
        ids = [upload(cluster.api.port, csv_path) for _ in range(files)]
        upload_seconds = time.time() - first_submit
        fork_servers = [server for w in started_workers if (server := w.fork_server())]
        # Everything of ours but the jobs: API, redis-server, workers, fork servers, this.
        roles = {
            "api": [cluster.api.process.pid],
            "redis": [cluster.redis_pid],
            "bench": [os.getpid()],
            "workers": [w.pid for w in started_workers],
            "fork_servers": [server.pid for server in fork_servers],
        }
        cpu_before = sum(children_cpu_s(server.pid) for server in fork_servers)
        roles_before = {role: sum(map(own_cpu_s, pids)) for role, pids in roles.items()}
        busy_before = machine_busy_s()
        released = time.time()
        open_queue(cluster.celery, [w.name for w in started_workers])
        tasks = wait_final(cluster.api, ids)
        failed = [t for t in tasks if t["status"] != "completed"]
        if failed:
            raise RuntimeError(f"{len(failed)} analyses did not complete: {failed[0]['error']}")
        deadline = time.monotonic() + 10  # the fork servers reap the last job processes
        while any(w.job_processes() for w in started_workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        job_cpu = sum(children_cpu_s(server.pid) for server in fork_servers) - cpu_before
        busy = machine_busy_s() - busy_before
        roles_cpu = {
            role: sum(map(own_cpu_s, pids)) - roles_before[role] for role, pids in roles.items()
        }
        ours_cpu = sum(roles_cpu.values())
        wall = time.time() - released
        runs = [(epoch(t["started_at"]), epoch(t["finished_at"])) for t in tasks]
        first_start = min(start for start, _ in runs)
        elapsed = max(end for _, end in runs) - first_start
        run_seconds = [end - start for start, end in runs]
        per_runner: dict[str, int] = {}
        for task_id in ids:  # the worker that ran it (not shown by the API)
            runner_id = redis.hget(f"wb:task:{task_id}", "runner_id") or "?"
            per_runner[runner_id] = per_runner.get(runner_id, 0) + 1
        return {
            "workers": workers,
            "files": files,
            "seconds": elapsed,
            "upload_seconds": upload_seconds,
            "queue_open_seconds": first_start - released,  # until the first job started
            "analyses_per_min": files * 60 / elapsed,
            "run_seconds_median": statistics.median(run_seconds),
            "job_cpu_s_per_analysis": job_cpu / files,
            "cores_per_analysis": job_cpu / sum(run_seconds),
            "jobs_cores": job_cpu / elapsed,
            "machine_busy_cores": busy / wall,
            "ours_cores": ours_cpu / wall,  # API, redis, workers, this process
            "ours_cores_by_role": {role: cpu / wall for role, cpu in roles_cpu.items()},
            "others_cores": (busy - job_cpu - ours_cpu) / wall,  # the rest of the machine
            "max_parallel": max_overlap(runs),
            "tasks_per_worker": sorted(per_runner.values(), reverse=True),
        }
    finally:
        for worker in started_workers:
            worker.stop()
        for task_id in redis.zrange("wb:final", 0, -1):  # frees the uploads
            requests.delete(f"{cluster.api.url}/api/tasks/{task_id}", timeout=30)
        redis.close()


# --- latency ---------------------------------------------------------------------------


class OpenLoop:
    """GET one path at a fixed rate; each request goes out on an idle keep-alive connection
    (a new one if none is idle) and is timed from when it was due."""

    def __init__(self, port: int, path: str) -> None:
        self.port = port
        self.request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.errors: Counter[str] = Counter()  # what went wrong: a status line or an exception

    async def _exchange(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> bytes:
        reader, writer = conn
        writer.write(self.request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        return head

    async def _one(self, due: float, samples: list[float]) -> None:
        conn = None
        try:
            if self.idle:
                conn = self.idle.pop()
                try:
                    head = await self._exchange(conn)
                except (ConnectionError, asyncio.IncompleteReadError):
                    # The server closed it while idle (keep-alive timeout): send again on a
                    # new connection, as HTTP clients do.
                    conn[1].close()
                    conn = None
            if conn is None:
                conn = await asyncio.open_connection("127.0.0.1", self.port)
                head = await self._exchange(conn)
        except (OSError, asyncio.IncompleteReadError, IndexError) as exc:
            self.errors[type(exc).__name__] += 1
            if conn is not None:
                conn[1].close()
            return
        samples.append(time.perf_counter() - due)
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if not status.startswith("HTTP/1.1 200"):
            self.errors[status] += 1
        self.idle.append(conn)

    async def run(self, rate: float, seconds: float) -> list[float]:
        samples: list[float] = []
        pending = []
        start = time.perf_counter() + 0.05
        for i in range(int(rate * seconds)):
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            pending.append(asyncio.create_task(self._one(due, samples)))
        await asyncio.gather(*pending)
        return samples

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


class Feeder:
    """Keeps analyses queued: uploads one whenever fewer than ``active`` are pending or
    running, and records how many are processing every 0.1 s."""

    def __init__(self, api: Server, csv_path: Path, active: int = 4) -> None:
        self.api, self.csv_path, self.active = api, csv_path, active
        self.stop = threading.Event()
        self.timeline: list[tuple[float, int]] = []  # (perf_counter, tasks processing)
        self.counts = {"pending": 0, "processing": 0}
        self.error: BaseException | None = None
        self.threads = [threading.Thread(target=self._feed), threading.Thread(target=self._watch)]

    def _watch(self) -> None:
        while not self.stop.is_set():
            try:
                self.counts = requests.get(self.api.url, timeout=10).json()["tasks"]
                self.timeline.append((time.perf_counter(), self.counts["processing"]))
            except requests.RequestException:
                pass
            self.stop.wait(0.1)

    def _feed(self) -> None:
        try:
            while not self.stop.is_set():
                if self.counts["pending"] + self.counts["processing"] < self.active:
                    upload(self.api.port, self.csv_path)
                    self.counts = {**self.counts, "pending": self.counts["pending"] + 1}
                self.stop.wait(0.1)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            self.error = exc

    def __enter__(self) -> Self:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def wait_busy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.counts["processing"] < 2 or self.counts["pending"] < 1:
            if self.error or time.monotonic() > deadline:
                raise RuntimeError(f"analyses did not start: {self.error or self.counts}")
            time.sleep(0.1)

    def share_with_two_running(self, since: float, until: float) -> float:
        window = [n for at, n in self.timeline if since <= at <= until]
        return sum(1 for n in window if n >= 2) / max(len(window), 1)


def latency_phase(root: Path, store: str, csv_path: Path, args: argparse.Namespace) -> dict:
    """One API (and for Redis one worker) with two analysis slots, polled at ``args.rate``."""
    workdir = Path(tempfile.mkdtemp(prefix=f"latency-{store}-", dir=root))
    common = {"upload_dir": workdir / "uploads", "max_concurrent_tasks": 2, "api_key": "",
              "max_upload_mb": 100_000, "task_timeout_s": 600, "log_level": "WARNING"}  # fmt: skip
    redis = worker = api = None
    try:
        if store == "sqlite":
            api = start_backend(workdir, task_store=f"sqlite:///{workdir}/tasks.db",
                                task_runner="local", **common)  # fmt: skip
        else:
            redis = start_redis(workdir, appendfsync=args.appendfsync)
            worker = start_worker(workdir, "latency", app="backend.worker",
                                  task_store=redis.url, **common)  # fmt: skip
            api = start_backend(workdir, task_store=redis.url, task_runner="celery", **common)
            wait_fork_server_idle(worker)
        target = requests.post(f"{api.url}/api/process", json={"data": "poll me", "delay": 0},
                               timeout=10).json()["task_id"]  # fmt: skip
        deadline = time.monotonic() + 30
        target_url = f"{api.url}/api/tasks/{target}"
        while requests.get(target_url, timeout=10).json()["status"] != "completed":
            if time.monotonic() > deadline:
                raise RuntimeError("the polled task did not finish")
            time.sleep(0.1)
        loop = OpenLoop(api.port, f"/api/tasks/{target}")
        with Feeder(api, csv_path) as feeder:
            feeder.wait_busy()

            async def measure() -> tuple[list[float], float, float]:
                await loop.run(args.rate, 2)  # warm-up: connections opened, not counted
                started = time.perf_counter()
                samples = await loop.run(args.rate, args.seconds)
                ended = time.perf_counter()
                loop.close()
                return samples, started, ended

            samples, started, ended = asyncio.run(measure())
            if feeder.error:
                raise RuntimeError(f"feeding analyses failed: {feeder.error}")
        share = feeder.share_with_two_running(started, ended)
        active = requests.get(f"{api.url}/api/tasks", params={"kind": "analyze", "limit": 100},
                              timeout=10).json()["items"]  # fmt: skip
        for task in active:
            if task["status"] not in FINAL:
                requests.post(f"{api.url}/api/tasks/{task['task_id']}/cancel", timeout=10)
        failed = [t for t in active if t["status"] == "failed"]
        if failed:
            raise RuntimeError(f"an analysis failed: {failed[0]['error']}")
        ms = [v * 1000 for v in samples]
        return {
            "store": store,
            "requests": len(ms),
            "errors": sum(loop.errors.values()),
            "error_kinds": dict(loop.errors),
            "p50_ms": percentile(ms, 50),
            "p99_ms": percentile(ms, 99),
            "max_ms": max(ms),
            "share_two_running": share,
            "analyses_finished": sum(1 for t in active if t["status"] == "completed"),
        }
    finally:
        for process in (api, worker, redis):
            if process is not None:
                process.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# --- driver ----------------------------------------------------------------------------


def report(throughput: list[dict], latency: list[dict], args: argparse.Namespace) -> dict:
    summary: dict = {}
    if throughput:
        print(f"\nThroughput: {args.files} analyses per phase of {args.csv_name} "
              f"(TASK_RUNNER=celery, one slot per worker, JOB_THREADS={args.job_threads})")  # fmt: skip
        print("round workers  seconds  per min  run s/analysis  job CPU s  cores/analysis  "
              "max parallel  per worker  cores: jobs  ours  others")  # fmt: skip
        for r in throughput:
            print(f"{r['round']:5d} {r['workers']:7d} {r['seconds']:8.1f} {r['analyses_per_min']:8.1f} "
                  f"{r['run_seconds_median']:15.2f} {r['job_cpu_s_per_analysis']:10.2f} "
                  f"{r['cores_per_analysis']:15.2f} {r['max_parallel']:13d}  "
                  f"{'/'.join(map(str, r['tasks_per_worker'])):>10s}  {r['jobs_cores']:11.2f} "
                  f"{r['ours_cores']:5.2f} {r['others_cores']:7.2f}")  # fmt: skip
            roles = ", ".join(f"{k} {v:.2f}" for k, v in r["ours_cores_by_role"].items())
            print(f"{'':13s} ours: {roles}")
        for n in (1, 2):
            runs = [r for r in throughput if r["workers"] == n]
            summary[f"workers_{n}"] = {
                key: statistics.median(r[key] for r in runs)
                for key in ("seconds", "analyses_per_min", "run_seconds_median",
                            "job_cpu_s_per_analysis", "cores_per_analysis", "jobs_cores",
                            "machine_busy_cores", "ours_cores", "others_cores")
            }  # fmt: skip
        one, two = summary["workers_1"], summary["workers_2"]
        ratio = two["analyses_per_min"] / one["analyses_per_min"]
        summary["ratio"] = ratio
        print(f"median: 1 worker {one['analyses_per_min']:.1f}/min, 2 workers "
              f"{two['analyses_per_min']:.1f}/min, ratio {ratio:.2f}x "
              f"(target >= {TARGET_RATIO:.1f}x)")  # fmt: skip
        print(f"one analysis keeps {one['cores_per_analysis']:.2f} cores busy and takes "
              f"{one['job_cpu_s_per_analysis']:.2f} CPU s alone, {two['cores_per_analysis']:.2f} "
              f"cores and {two['job_cpu_s_per_analysis']:.2f} CPU s beside another; with one "
              f"worker, at that CPU, two cores allow at most {2 / one['cores_per_analysis']:.2f}x")  # fmt: skip
        print(f"cores used by the jobs {one['jobs_cores']:.2f} / {two['jobs_cores']:.2f} (1 / 2 "
              f"workers), by the API, redis and workers {one['ours_cores']:.2f} / "
              f"{two['ours_cores']:.2f}, by other processes on the machine "
              f"{one['others_cores']:.2f} / {two['others_cores']:.2f}")  # fmt: skip
        if max(one["others_cores"], two["others_cores"]) > 0.2:
            print("other processes were busy: job processes run at nice 5, so the figures are "
                  "disturbed; run again on a quiet machine")  # fmt: skip
    if latency:
        print(f"\nGET /api/tasks/{{id}}: open loop {args.rate:g} req/s for {args.seconds:g} s, "
              f"two analyses running (timed from when each request was due)")  # fmt: skip
        print("round store    requests errors  p50 ms  p99 ms  max ms  two running  finished")
        for r in latency:
            print(f"{r['round']:5d} {r['store']:8s} {r['requests']:8d} {r['errors']:6d} "
                  f"{r['p50_ms']:7.1f} {r['p99_ms']:7.1f} {r['max_ms']:7.1f} "
                  f"{r['share_two_running']:11.0%} {r['analyses_finished']:9d}")  # fmt: skip
        for r in latency:
            if r["error_kinds"]:
                print(f"round {r['round']} {r['store']} errors: {r['error_kinds']}")
        for store in ("sqlite", "redis"):
            runs = [r for r in latency if r["store"] == store]
            summary[store] = {key: statistics.median(r[key] for r in runs)
                              for key in ("p50_ms", "p99_ms", "max_ms")}  # fmt: skip
        ratio = summary["redis"]["p99_ms"] / summary["sqlite"]["p99_ms"]
        summary["p99_ratio_redis_sqlite"] = ratio
        for store in ("sqlite", "redis"):
            s = summary[store]
            print(f"median {store:6s}: p50 {s['p50_ms']:.1f} ms  p99 {s['p99_ms']:.1f} ms  "
                  f"max {s['max_ms']:.1f} ms")  # fmt: skip
        print(f"p99 redis/sqlite: {ratio:.2f} (target <= 1.00)")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=2, help="rounds; phases alternate (2)")
    parser.add_argument("--files", type=int, default=12, help="analyses per throughput phase (12)")
    parser.add_argument("--size-mb", type=int, default=200,
                        help="size of the generated sample CSV (200: about 2-4 s of CPU)")  # fmt: skip
    parser.add_argument("--file", type=Path, help="analyse this CSV instead of the sample")
    parser.add_argument("--rate", type=float, default=100, help="status requests per second (100)")
    parser.add_argument("--seconds", type=float, default=20, help="latency window (20)")
    parser.add_argument("--appendfsync", default="everysec", choices=["always", "everysec", "no"],
                        help="Redis AOF sync policy (everysec, Redis's default)")  # fmt: skip
    parser.add_argument(
        "--job-threads",
        type=int,
        default=2,
        help="the workers' JOB_THREADS: most threads of one analysis (2)",
    )
    parser.add_argument("--only", choices=["throughput", "latency"], help="run one part")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    args = parser.parse_args()
    if redis_server_path() is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    csv_path = args.file or ensure_file(args.size_mb)
    args.csv_name = f"{csv_path.name} ({csv_path.stat().st_size / 1e6:.0f} MB)"
    print(f"file: {args.csv_name}; cores: {os.cpu_count()}; load average: {load_average()}")
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = load_average()
    root = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=DATA))
    throughput: list[dict] = []
    latency: list[dict] = []
    redis = api = None
    try:
        if args.only != "latency":
            redis = start_redis(root / "redis", appendfsync=args.appendfsync)
            api = start_backend(root / "api", task_store=redis.url, task_runner="celery",
                                upload_dir=root / "uploads", max_upload_mb=100_000, api_key="",
                                log_level="WARNING")  # fmt: skip
            celery = make_celery_app(Settings(task_store=redis.url, task_runner="celery"))
            cluster = Cluster(root, redis.url, api, redis.process.pid, celery, args.job_threads)
        for i in range(args.repeat):
            if args.only != "latency":
                for workers in (1, 2) if i % 2 == 0 else (2, 1):
                    figures = throughput_phase(cluster, workers, csv_path, args.files)
                    throughput.append({"round": i + 1, **figures})
                    print(f"round {i + 1}: {workers} worker(s) {figures['seconds']:.1f} s, "
                          f"{figures['analyses_per_min']:.1f} analyses/min", flush=True)  # fmt: skip
            if args.only != "throughput":
                for store in ("sqlite", "redis") if i % 2 == 0 else ("redis", "sqlite"):
                    figures = latency_phase(root, store, csv_path, args)
                    latency.append({"round": i + 1, **figures})
                    print(f"round {i + 1}: {store} p50 {figures['p50_ms']:.1f} ms, "
                          f"p99 {figures['p99_ms']:.1f} ms", flush=True)  # fmt: skip
    finally:
        for process in (api, redis):
            if process is not None:
                process.stop()
        shutil.rmtree(root, ignore_errors=True)
    summary = report(throughput, latency, args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "started_at": started_at,
        "cores": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "file": args.csv_name,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "throughput": throughput,
        "latency": latency,
        "summary": summary,
    }, ensure_ascii=False, indent=2))  # fmt: skip
    print(f"\nresults: {args.out}")


if __name__ == "__main__":
    main()
