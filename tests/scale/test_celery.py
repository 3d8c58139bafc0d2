"""TASK_RUNNER=celery with real processes: API processes and Celery workers around one Redis.

Every test gets its own redis-server (AOF on), so a test may restart or lose it without
touching any other. Heartbeats are test-short (HEARTBEAT_S=0.5: a dead worker's tasks are
`interrupted` 1.5 s after its last beat). Every process a test starts is stopped by the
`cluster` fixture, and whatever a worker left behind is killed by its marker.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import connect

from backend.store.redis import RedisStore
from tests.celery_worker import Worker, enqueue, start_worker
from tests.processes import Proc, alive
from tests.redis_server import RedisServer, start_redis
from tests.servers import Server, start_backend

HEARTBEAT_S = 0.5
FINAL = {"completed", "failed", "cancelled"}
ACTIVE = {"pending", "processing"}


@dataclass
class Cluster:
    """API processes and workers sharing one Redis and one upload folder."""

    root: Path
    redis: RedisServer
    apis: list[Server] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    overrides: dict[str, object] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def settings(self) -> dict[str, object]:
        return {
            "task_store": self.redis.url,
            "task_runner": "celery",
            "upload_dir": self.root / "uploads",
            "heartbeat_s": HEARTBEAT_S,
            "max_concurrent_tasks": 2,
            "api_key": "",
            **self.overrides,
        }

    def start_api(self, name: str) -> Server:
        api = start_backend(self.root / name, **self.settings)
        with self._lock:
            self.apis.append(api)
        return api

    def start_worker(self, name: str, **options: Any) -> Worker:
        """A worker with the cluster's settings; `options` go to `start_worker` (queues,
        clock_offset_s, more settings)."""
        worker = start_worker(self.root / name, name, **{**self.settings, **options})
        with self._lock:
            self.workers.append(worker)
        return worker

    def start(self, apis: int, workers: int) -> None:
        """Start them all at once (a worker takes ~2 s to be ready)."""
        starts: list[Callable[[], object]] = [
            *(lambda i=i: self.start_api(f"api{i}") for i in range(1, apis + 1)),
            *(lambda i=i: self.start_worker(f"w{i}") for i in range(1, workers + 1)),
        ]
        with ThreadPoolExecutor(len(starts)) as pool:
            for future in [pool.submit(start) for start in starts]:
                future.result()
        self.apis.sort(key=lambda api: api.log_path.parent.name)
        self.workers.sort(key=lambda worker: worker.name)

    def stop(self) -> None:
        """Workers, then APIs, then Redis; each is stopped even when another one fails to."""
        with ExitStack() as stack:
            stack.callback(self.redis.stop)
            for process in [*self.apis, *self.workers]:
                stack.callback(process.stop)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path, start_redis(tmp_path))
    try:
        yield cluster
    finally:
        cluster.stop()


def start_process(url: str, data: str, delay: int) -> str:
    response = requests.post(f"{url}/api/process", json={"data": data, "delay": delay}, timeout=20)
    assert response.status_code == 202, response.text
    return response.json()["task_id"]


def get_task(url: str, task_id: str) -> dict[str, Any]:
    response = requests.get(f"{url}/api/task/{task_id}", timeout=20)
    assert response.status_code == 200, response.text
    return response.json()


def wait_until(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll until `predicate()` is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)


def wait_final(url: str, task_id: str, timeout: float) -> dict[str, Any]:
    return wait_until(
        lambda: (task := get_task(url, task_id))["status"] in FINAL and task,
        timeout,
        f"task {task_id} final",
    )


def running_job(cluster: Cluster, timeout: float = 10) -> tuple[Worker, Proc]:
    """The one job process running on any worker, and its worker."""

    def find() -> tuple[Worker, Proc] | None:
        jobs = [(worker, job) for worker in cluster.workers for job in worker.job_processes()]
        assert len(jobs) <= 1, jobs
        return jobs[0] if jobs else None

    return wait_until(find, timeout, "a job process on a worker")


def watch(url: str, task_id: str, timeout: float) -> list[dict[str, Any]]:
    """Every task update the WebSocket sends until it closes normally."""
    updates = []
    deadline = time.monotonic() + timeout
    with connect(url.replace("http://", "ws://") + f"/ws/task/{task_id}", open_timeout=10) as ws:
        try:
            while True:
                updates.append(json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic()))))
        except ConnectionClosedOK:
            return updates


@pytest.mark.timeout(90)
def test_progress_on_one_api_of_a_job_submitted_on_another(cluster: Cluster) -> None:
    cluster.start(apis=2, workers=2)
    api1, api2 = cluster.apis
    home = requests.get(f"{api2.url}/", timeout=5).json()
    assert (home["runner"], home["workers_online"]) == ("celery", 2), home

    task_id = start_process(api1.url, "跨 API 觀看", delay=3)
    updates = watch(api2.url, task_id, timeout=30)

    progress = [update["progress"] for update in updates]
    print(f"\n[ws] {len(updates)} updates on API-2, progress {progress}")
    assert updates[-1]["status"] == "completed", updates[-1]
    assert updates[-1]["result"] == {"processed_data": "已處理: 跨 API 觀看"}
    assert progress == sorted(progress), progress
    assert len(set(progress)) >= 5, progress
    assert {update["status"] for update in updates[:-1]} <= ACTIVE


def cancel_running(cluster: Cluster, api: Server, kind: str) -> float:
    """Start a job of `kind`, cancel it through `api` once it runs; returns how long after
    the cancel response its job process was gone."""
    task_id = enqueue(cluster.redis.url, kind)
    wait_until(lambda: get_task(api.url, task_id)["progress"] >= 1, 15, f"{kind} running")
    worker, job = running_job(cluster)

    response = requests.delete(f"{api.url}/api/task/{task_id}/cancel", timeout=5)
    cancelled_at = time.monotonic()
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    wait_until(lambda: not alive(job.pid), 5, f"job process {job.pid} gone", interval=0.005)
    gone_after = time.monotonic() - cancelled_at
    print(f"\n[cancel] {kind}: job process {job.pid} on {worker.name} gone {gone_after:.3f} s "
          "after the cancel response")  # fmt: skip

    time.sleep(2 * HEARTBEAT_S)  # the supervisor has concluded: nothing overwrote the cancel
    task = get_task(api.url, task_id)
    assert (task["status"], task["error"]) == ("cancelled", None), task
    assert worker.job_processes() == []
    return gone_after


@pytest.mark.timeout(90)
def test_cancel_on_either_api_stops_a_job_deaf_to_cancellation_within_a_second(
    cluster: Cluster,
) -> None:
    cluster.start(apis=2, workers=2)
    api1, api2 = cluster.apis
    # CPU-bound, then stuck in a long call: neither job ever reaches a cancellation point.
    assert cancel_running(cluster, api2, "spin_forever") <= 1.0
    assert cancel_running(cluster, api1, "ignore_cancel") <= 1.0
    assert all(worker.running() for worker in cluster.workers)


@pytest.mark.timeout(90)
def test_task_cancelled_while_no_worker_runs_never_runs(cluster: Cluster) -> None:
    cluster.start(apis=1, workers=0)
    [api] = cluster.apis
    task_id = start_process(api.url, "沒有 worker", delay=2)
    home = requests.get(f"{api.url}/", timeout=5).json()
    assert (home["workers_online"], home["queue_length"]) == (0, 1), home
    response = requests.delete(f"{api.url}/api/task/{task_id}/cancel", timeout=5)
    assert response.status_code == 200, response.text

    worker = cluster.start_worker("late")
    done = re.compile(rf"Task workbench\.run_task\[{task_id}\] succeeded")
    jobs_seen: list[Proc] = []
    deadline = time.monotonic() + 15
    while not done.search(worker.log()):
        assert time.monotonic() < deadline, worker.log()
        jobs_seen += worker.job_processes()
        time.sleep(0.02)
    settle_until = time.monotonic() + 4 * HEARTBEAT_S
    while time.monotonic() < settle_until:
        jobs_seen += worker.job_processes()
        time.sleep(0.02)

    worker.wait_log(rf"Task workbench\.run_task\[{task_id}\] received")
    assert jobs_seen == []
    task = get_task(api.url, task_id)
    assert (task["status"], task["started_at"], task["progress"]) == ("cancelled", None, 0), task
    home = requests.get(f"{api.url}/", timeout=5).json()
    assert (home["workers_online"], home["queue_length"]) == (1, 0), home


@pytest.mark.timeout(90)
def test_killed_worker_interrupts_its_task_and_leaves_no_process(cluster: Cluster) -> None:
    cluster.start(apis=1, workers=2)
    [api] = cluster.apis
    task_id = start_process(api.url, "worker 被砍", delay=30)
    victim, job = running_job(cluster)
    [survivor] = [worker for worker in cluster.workers if worker is not victim]
    started = {proc.pid for proc in victim.processes()} - {victim.pid}
    assert job.pid in started

    store = RedisStore(cluster.redis.url)
    try:
        held = store.get(task_id)
    finally:
        store.close()
    assert held is not None and held.status == "processing" and held.heartbeat_at, held
    beat_age = time.time() - held.heartbeat_at

    killed_at = time.monotonic()
    victim.kill()
    wait_until(lambda: not alive(job.pid), 5, "the job process died with its worker", 0.005)
    job_gone = time.monotonic() - killed_at
    task = wait_final(api.url, task_id, timeout=10)
    interrupted_after = time.monotonic() - killed_at
    wait_until(lambda: not victim.processes(), 5, "every process of the killed worker gone")
    all_gone = time.monotonic() - killed_at
    print(f"\n[kill -9] last heartbeat {beat_age:.2f} s before the kill; job process gone "
          f"{job_gone:.3f} s, task failed {interrupted_after:.2f} s, all {len(started)} processes "
          f"gone {all_gone:.2f} s after it (limit {3 * HEARTBEAT_S + 1.5:.1f} s)")  # fmt: skip
    assert (task["status"], task["error"]["code"]) == ("failed", "interrupted"), task
    assert interrupted_after <= 3 * HEARTBEAT_S + 1.5

    wait_until(
        lambda: requests.get(f"{api.url}/", timeout=5).json()["workers_online"] == 1,
        5,
        "the killed worker no longer counted",
    )
    second = start_process(api.url, "還有人在", delay=1)
    assert wait_final(api.url, second, timeout=15)["status"] == "completed"
    assert survivor.running()


def reconnected_at(worker: Worker, since: float) -> float:
    """The Unix time of the worker's first broker connection after the Unix time `since`."""
    for stamp in re.findall(r"^\[([\d-]+ [\d:,]+): INFO/MainProcess\] Connected to ", worker.log(),
                            re.MULTILINE):  # fmt: skip
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if at >= since:
            return at
    raise AssertionError(f"{worker.name} never reconnected:\n{worker.log()}")


@pytest.mark.timeout(120)
def test_everything_reconnects_after_a_redis_restart(cluster: Cluster) -> None:
    cluster.start(apis=1, workers=2)
    [api] = cluster.apis
    store = RedisStore(cluster.redis.url)
    try:
        # Two slots per worker: four jobs run, two wait in the queue.
        before = [start_process(api.url, f"重啟前 {n}", delay=4) for n in range(6)]
        wait_until(lambda: store.counts()["processing"] == 4, 15, "four jobs running")
        time.sleep(1)

        down_at, down_wall = time.monotonic(), time.time()
        cluster.redis.restart()
        up_at, up_wall = time.monotonic(), time.time()
        wait_until(lambda: requests.get(f"{api.url}/", timeout=20).ok, 20, "GET / after restart")
        api_back = time.monotonic() - up_at
        after = [start_process(api.url, f"重啟後 {n}", delay=2) for n in range(2)]
        wait_until(
            lambda: all(store.get(task_id).status in FINAL for task_id in before + after),
            45,
            "every task final",
            interval=0.2,
        )
        all_final = time.monotonic() - up_at
        # Once those are done, four jobs at once need both workers' two slots: each worker's
        # consumer takes messages again by itself.
        spread = [start_process(api.url, f"兩個 worker {n}", delay=2) for n in range(4)]
        for task_id in spread:
            wait_final(api.url, task_id, timeout=20)

        tasks = {task_id: store.get(task_id) for task_id in before + after + spread}
        # A worker may connect a moment before this process sees the server answer PING.
        reconnects = ", ".join(
            f"{worker.name} {max(0.0, reconnected_at(worker, down_wall) - up_wall):.2f} s"
            for worker in cluster.workers
        )
        print(f"\n[redis restart] down {up_at - down_at:.2f} s; GET / answered {api_back:.2f} s "
              f"after; workers reconnected: {reconnects}; every task final {all_final:.2f} s "
              f"after the restart")  # fmt: skip
        for task_id, task in tasks.items():
            indexes = [s for s in FINAL | ACTIVE if store.client.zscore(f"wb:status:{s}", task_id)]
            assert indexes == [task.status] == ["completed"], (task_id, indexes, task)
        assert len({tasks[task_id].runner_id for task_id in spread}) == 2, [
            tasks[t] for t in spread
        ]
        home = requests.get(f"{api.url}/", timeout=5).json()
        assert (home["workers_online"], home["queue_length"]) == (2, 0), home
    finally:
        store.close()


@pytest.mark.timeout(90)
def test_a_busy_worker_survives_redis_being_down_for_a_second(cluster: Cluster) -> None:
    """Celery 5.7.0 failed this: the worker logged "Unrecoverable error: AttributeError(...
    'hostname')" when the connection dropped under a running job and exited once the job
    ended, so nothing consumed the queue any more (hence celery<5.7 in requirements.txt)."""
    # Heartbeats long enough that the one-second outage cannot interrupt the job by itself.
    cluster.overrides["heartbeat_s"] = 2
    cluster.start(apis=1, workers=1)
    [api] = cluster.apis
    [worker] = cluster.workers
    running = start_process(api.url, "停機時執行中", delay=4)
    wait_until(lambda: get_task(api.url, running)["status"] == "processing", 15, "job running")

    cluster.redis.stop()
    time.sleep(1)
    cluster.redis.start()

    assert wait_final(api.url, running, timeout=30)["status"] == "completed"
    later = start_process(api.url, "停機之後", delay=1)
    try:
        assert wait_final(api.url, later, timeout=12)["status"] == "completed"
    finally:
        print(f"\n[redis down 1 s] worker alive: {worker.running()}; "
              f"'Unrecoverable error' logged: {'Unrecoverable error' in worker.log()}")  # fmt: skip
