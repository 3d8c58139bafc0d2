"""Settings from the environment and .env; housekeeping of expired tasks and stray files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from backend.execution.housekeeping import Housekeeper
from backend.store import MemoryStore, Task
from backend.store.base import COMPLETED


def _housekeeper(store: MemoryStore, upload_dir: Path, ttl_s: float) -> Housekeeper:
    return Housekeeper(
        store, runner_id="me", upload_dir=upload_dir, heartbeat_s=1, stale_after_s=3, ttl_s=ttl_s
    )


def test_expired_tasks_and_their_files_are_removed(tmp_path: Path) -> None:
    store = MemoryStore()
    files = {}
    for task_id in ("old", "fresh", "running"):
        files[task_id] = tmp_path / f"{task_id}.csv"
        files[task_id].write_text("a,b\n")
        store.add(
            Task(task_id=task_id, kind="analyze", runner_id="me", file_path=str(files[task_id]))
        )
    store.mark_started("old", "me")
    store.finish("old", COMPLETED, message="done")
    store.mark_started("running", "me")
    _housekeeper(store, tmp_path, ttl_s=3600).remove_expired(time.time() + 3601)
    assert store.get("old") is None and not files["old"].exists()
    assert store.get("fresh") is not None and files["fresh"].exists()
    assert store.get("running") is not None and files["running"].exists()


def test_stray_files_are_removed_after_a_grace_period(tmp_path: Path) -> None:
    store = MemoryStore()
    store.add(Task(task_id="known", kind="analyze", runner_id="me"))
    names = ["known.csv", "orphan.csv", "crashed.csv.part", "recent-orphan.csv"]
    for name in names:
        (tmp_path / name).write_text("x")
    old = time.time() - 7200
    for name in names[:3]:
        os.utime(tmp_path / name, (old, old))
    _housekeeper(store, tmp_path, ttl_s=86400).remove_stray_files(time.time())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["known.csv", "recent-orphan.csv"]


class _SlowStore(MemoryStore):
    """A store whose heartbeat waits (a client retrying through an outage) or fails."""

    def __init__(self) -> None:
        super().__init__()
        self.beat_delay = 0.0
        self.beat_fails = False

    def heartbeat(self, runner_id: str) -> None:
        if self.beat_fails:
            raise ConnectionError("store down")
        time.sleep(self.beat_delay)
        super().heartbeat(runner_id)


@pytest.mark.slow
def test_no_sweep_right_after_the_store_was_unreachable(tmp_path: Path) -> None:
    """While the store was down nobody could beat: a live worker's task must not be taken
    for interrupted when it comes back, only once a whole stale window has passed."""
    store = _SlowStore()
    before_outage = time.time() - 10
    store.add(
        Task(task_id="busy", kind="process", runner_id="worker:b", heartbeat_at=before_outage)
    )
    store.mark_started("busy", "worker:b")
    with store._lock:
        store._tasks["busy"].heartbeat_at = before_outage
    keeper = Housekeeper(store, runner_id="api", upload_dir=tmp_path, heartbeat_s=0.1,
                         stale_after_s=0.3, ttl_s=3600)  # fmt: skip
    store.beat_fails = True
    with pytest.raises(ConnectionError):
        keeper.run_once()
    store.beat_fails = False
    store.beat_delay = 0.15  # the first beat after the outage still waited on retries
    keeper.run_once()
    store.beat_delay = 0.0
    keeper.run_once()
    assert store.get("busy").status == "processing"  # worker:b gets its window to beat
    store.heartbeat("worker:b")
    time.sleep(0.35)
    store.heartbeat("worker:b")
    keeper.run_once()
    assert store.get("busy").status == "processing"  # it did beat: alive
    time.sleep(0.35)
    keeper.run_once()
    task = store.get("busy")  # it stopped beating: now it is interrupted
    assert task.status == "failed" and task.error["code"] == "interrupted"


def test_a_partial_upload_of_a_dead_process_is_removed_at_once(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    from backend.files import partial_name

    host = socket.gethostname().split(".", 1)[0]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    names = {
        "dead": f"t1.csv.{host}-{dead.stdout.strip()}.part",
        "alive": partial_name("t2", ".csv"),  # this process: still receiving
        "elsewhere": f"t3.csv.other-host-{dead.stdout.strip()}.part",
        "old-style": "t4.csv.part",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"a,b\n")
    keeper = Housekeeper(MemoryStore(), runner_id="me", upload_dir=tmp_path, heartbeat_s=1,
                         stale_after_s=3, ttl_s=3600)  # fmt: skip
    keeper.run_once()
    left = {path.name for path in tmp_path.iterdir()}
    assert names["dead"] not in left
    assert {names["alive"], names["elsewhere"], names["old-style"]} <= left
