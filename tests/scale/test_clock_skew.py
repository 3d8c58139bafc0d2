"""Machines whose clocks disagree: real Celery workers whose `time.time()` runs 2 minutes
ahead of or behind the API's and Redis's (tests/scale/skewed_clock/sitecustomize.py).

Liveness is judged on one clock, the Redis server's: heartbeats and task times are stamped
by Redis itself, and every sweep and the count of workers online compare them with Redis's
`TIME`. So a worker whose clock is off keeps its tasks (a worker behind used to have them
failed as 「任務已中斷」 by the next sweep; one ahead swept everyone else's), it is counted
online on every poll, and when it dies its tasks are still interrupted within the stale
window (beats stamped two minutes ahead used to look alive for two minutes).

The test process, the API and Redis share this machine's clock, so the test's own
`time.time()` is the Redis clock the stamped times must agree with.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
import requests

from backend.store.redis import RedisStore
from tests.celery_worker import Worker, enqueue
from tests.redis_server import start_redis
from tests.scale.test_celery import HEARTBEAT_S, Cluster, get_task, wait_final, wait_until

# Seconds each worker's clock runs ahead of the machine's (the API's and Redis's).
OFFSETS = {"behind": -120.0, "exact": 0.0, "ahead": 120.0}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """An empty cluster on its own redis-server, everything stopped at the end (as in
    tests/scale/test_celery.py)."""
    cluster = Cluster(tmp_path, start_redis(tmp_path))
    try:
        yield cluster
    finally:
        cluster.stop()


def start_skewed(cluster: Cluster, offsets: dict[str, float]) -> dict[str, Worker]:
    """One worker per entry, at once, each consuming only the queue `clock-<name>` (so a test
    knows which worker runs which task), with its clock shifted by the entry's seconds.
    Checks that each worker's clock really is shifted: the time its log gives the `ready.`
    line against this process's clock when the line was seen."""

    def start(name: str) -> tuple[Worker, float]:
        worker = cluster.start_worker(name, queues=f"clock-{name}", clock_offset_s=offsets[name])
        return worker, time.time()

    with ThreadPoolExecutor(len(offsets)) as pool:
        started = dict(zip(offsets, pool.map(start, offsets), strict=True))
    for name, (worker, seen_at) in started.items():
        stamp = worker.wait_log(rf"^\[([\d-]+ [\d:,]+): INFO/MainProcess\] {name}@\S+ ready\.$")
        logged_at = datetime.strptime(stamp[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        # The line was seen within moments of being written: the difference is the offset.
        assert abs(logged_at - seen_at - offsets[name]) < 30, (name, logged_at, seen_at)
    return {name: worker for name, (worker, _) in started.items()}


def workers_online(url: str) -> int:
    return requests.get(f"{url}/", timeout=5).json()["workers_online"]


def runner_pid(runner_id: str) -> int:
    """The process id in a worker's runner id, worker:<host>:<pid>:<random>."""
    return int(runner_id.split(":")[2])


@pytest.mark.timeout(120)
def test_workers_whose_clocks_are_off_keep_their_tasks_and_stay_counted(
    cluster: Cluster,
) -> None:
    cluster.start(apis=1, workers=0)
    [api] = cluster.apis
    workers = start_skewed(cluster, OFFSETS)
    window_start = time.time()
    # Two at once on each worker (two slots each), each spanning several stale windows.
    tasks = {
        enqueue(cluster.redis.url, "process", {"data": f"{name} {n}", "delay": 3},
                queue=f"clock-{name}"): (name, f"{name} {n}")
        for name in OFFSETS
        for n in range(2)
    }  # fmt: skip

    polls: list[int] = []
    failed: dict[str, dict] = {}
    while len(polls) < 8 or any(
        get_task(api.url, task_id)["status"] not in {"completed", "failed"} for task_id in tasks
    ):
        polls.append(workers_online(api.url))
        for task_id in tasks:
            if (task := get_task(api.url, task_id))["status"] == "failed":
                failed[task_id] = task
        assert len(polls) < 60, f"tasks not final after {len(polls)} polls: {polls}"
        time.sleep(HEARTBEAT_S)
    window_end = time.time()
    print(f"\n[clock skew] workers online over {len(polls)} polls, one per heartbeat: {polls}")
    assert failed == {}
    assert polls == [len(OFFSETS)] * len(polls)

    store = RedisStore(cluster.redis.url)
    try:
        stored = {task_id: store.get(task_id) for task_id in tasks}
    finally:
        store.close()
    for task_id, (name, data) in tasks.items():
        task, public = stored[task_id], get_task(api.url, task_id)
        assert (public["status"], public["error"]) == ("completed", None), (name, public)
        assert public["result"] == {"processed_data": "已處理: " + data}
        assert runner_pid(task.runner_id) == workers[name].pid, (name, task.runner_id)
        # Stamped by Redis, whose clock is this machine's: never the worker's skewed one.
        times = [task.created_at, task.started_at, task.heartbeat_at, task.finished_at]
        assert window_start <= times[0] <= times[1] <= times[2] <= times[3] <= window_end, (
            name,
            times,
        )
        assert task.updated_at == task.finished_at


@pytest.mark.timeout(120)
def test_a_dead_worker_whose_clock_runs_ahead_is_noticed_and_no_longer_counted(
    cluster: Cluster,
) -> None:
    cluster.start(apis=1, workers=0)
    [api] = cluster.apis
    offsets = {"ahead": OFFSETS["ahead"], "behind": OFFSETS["behind"]}
    workers = start_skewed(cluster, offsets)
    wait_until(lambda: workers_online(api.url) == 2, 10, "both workers counted")
    doomed = enqueue(cluster.redis.url, "process", {"data": "會被砍", "delay": 60},
                     queue="clock-ahead")  # fmt: skip
    survivor = enqueue(cluster.redis.url, "process", {"data": "還在跑", "delay": 6},
                       queue="clock-behind")  # fmt: skip
    for task_id in (doomed, survivor):
        wait_until(lambda t=task_id: get_task(api.url, t)["progress"] > 0, 15, f"{task_id} running")

    workers["ahead"].kill()
    killed_at = time.monotonic()
    # Its last beats were stamped by Redis, not two minutes into the future: they go stale
    # within the window (3 heartbeats), long before the two minutes would have passed.
    task = wait_final(api.url, doomed, timeout=30)
    noticed_after = time.monotonic() - killed_at
    assert (task["status"], task["error"]["code"]) == ("failed", "interrupted"), task
    wait_until(lambda: workers_online(api.url) == 1, 30, "the dead worker no longer counted")
    counted_after = time.monotonic() - killed_at
    print(f"\n[clock skew] the worker 2 min ahead killed: its task interrupted after "
          f"{noticed_after:.1f} s, no longer counted after {counted_after:.1f} s")  # fmt: skip
    polls = []
    while get_task(api.url, survivor)["status"] not in {"completed", "failed"}:
        polls.append(workers_online(api.url))
        time.sleep(HEARTBEAT_S)
    assert polls == [1] * len(polls)
    task = get_task(api.url, survivor)
    assert task["status"] == "completed", task
    assert task["result"] == {"processed_data": "已處理: 還在跑"}
    assert workers["behind"].running()
