"""Both stores honour the same contract, including under concurrent updates."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from backend.execution.celery_queue import QueueStore
from backend.store import MemoryStore, SqliteStore, Task, TaskStore, make_store
from backend.store.base import (
    CANCELLED,
    COMPLETED,
    FAILED,
    PENDING,
    PROCESSING,
    ChangeFeed,
    LockProvider,
    RunnerRegistry,
)
from backend.store.redis import RedisStore


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TaskStore:
    if request.param == "memory":
        return MemoryStore()
    if request.param == "redis":
        return RedisStore(request.getfixturevalue("redis_url"))
    return SqliteStore(tmp_path / "tasks.db")


def add(store: TaskStore, task_id: str = "t1", runner_id: str = "me", **fields) -> Task:
    task = Task(
        task_id=task_id, kind="process", runner_id=runner_id, params={"data": "資料"}, **fields
    )
    store.add(task)
    return task


def beat_long_ago(store: TaskStore, task_id: str, seconds: float) -> None:
    """Make the last heartbeat of `task_id` `seconds` old by the store's clock, as if its
    holder had died that long ago, without waiting. The age cannot come with the task: the
    Redis store stamps a new task with its own clock, whatever time the task carries."""
    at = store.now() - seconds
    if isinstance(store, RedisStore):
        store.client.zadd(f"{store.prefix}active", {task_id: at}, xx=True)  # only if held
        store.client.hset(f"{store.prefix}task:{task_id}", "heartbeat_at", repr(at))
    elif isinstance(store, SqliteStore):
        store._conn().execute("UPDATE tasks SET heartbeat_at = ? WHERE task_id = ?", (at, task_id))
    else:
        with store._lock:
            store._tasks[task_id].heartbeat_at = at


def test_make_store_reads_the_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_store("memory").name == "memory"
    monkeypatch.chdir(tmp_path)
    relative = make_store("sqlite:///data/tasks.db")
    assert relative.name == "sqlite" and (tmp_path / "data" / "tasks.db").exists()
    absolute = make_store(f"sqlite:///{tmp_path}/b.db")  # four slashes: an absolute path
    assert isinstance(absolute, SqliteStore) and absolute.path == tmp_path / "b.db"


def test_round_trip_keeps_every_field(store: TaskStore) -> None:
    add(store, filename="報價單.csv", size_bytes=12, file_path="/x/t1.csv")
    task = store.get("t1")
    assert task.params == {"data": "資料"} and task.filename == "報價單.csv"
    assert task.status == PENDING and task.progress == 0 and task.version == 0
    assert store.get("missing") is None


def test_lifecycle_and_versions(store: TaskStore) -> None:
    add(store)
    started = store.mark_started("t1", "me")
    assert started.status == PROCESSING and started.started_at and started.version == 1
    assert store.mark_started("t1", "me") is None  # only once
    assert store.set_progress("t1", 40, "正在處理資料").progress == 40
    assert store.set_progress("t1", 30, None).progress == 40  # never goes down
    done = store.finish("t1", COMPLETED, message="處理完成", result={"n": 1})
    assert done.status == COMPLETED and done.progress == 100 and done.result == {"n": 1}
    assert store.set_progress("t1", 50, "x") is None
    assert store.finish("t1", FAILED, message="x", error={"code": "c", "message": "m"}) is None
    assert store.get("t1").status == COMPLETED


def test_every_time_a_store_records_is_read_from_its_own_clock(store: TaskStore) -> None:
    """Each time lies between `now()` just before and just after the call recording it."""

    def within(call, *names: str) -> Task:
        before = store.now()
        task = call()
        after = store.now()
        for name in names:
            assert before <= getattr(task, name) <= after, (name, before, task, after)
        assert store.get("t1") == task  # the copy returned is the one stored
        return task

    within(lambda: store.add(Task(task_id="t1", kind="process", runner_id="me")),
           "created_at", "updated_at", "heartbeat_at")  # fmt: skip
    within(lambda: store.mark_started("t1", "me"), "started_at", "heartbeat_at", "updated_at")
    within(lambda: store.set_progress("t1", 50, None), "updated_at")
    before = store.now()
    store.heartbeat("me")
    assert before <= store.get("t1").heartbeat_at <= store.now()
    within(lambda: store.finish("t1", COMPLETED, message="done"), "finished_at", "updated_at")


def test_exactly_one_final_state_under_races(store: TaskStore) -> None:
    for i in range(20):
        add(store, f"t{i}")
        store.mark_started(f"t{i}", "me")
    winners: list[tuple[str, str]] = []
    lock = threading.Lock()

    def race(status: str) -> None:
        for i in range(20):
            if store.finish(f"t{i}", status, message=status) is not None:
                with lock:
                    winners.append((f"t{i}", status))

    threads = [threading.Thread(target=race, args=(s,)) for s in (COMPLETED, FAILED, CANCELLED) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(task_id for task_id, _ in winners) == sorted(f"t{i}" for i in range(20))
    for task_id, status in winners:
        assert store.get(task_id).status == status


def test_progress_never_decreases_under_concurrent_writers(store: TaskStore) -> None:
    add(store)
    store.mark_started("t1", "me")
    observed: list[float] = []

    def writer(offset: int) -> None:
        for p in range(offset, 100, 4):
            store.set_progress("t1", p, None)

    def reader() -> None:
        for _ in range(200):
            observed.append(store.get("t1").progress)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)] + [
        threading.Thread(target=reader)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert observed == sorted(observed)
    assert store.get("t1").progress == 99


def test_list_counts_and_delete(store: TaskStore) -> None:
    for i in range(5):
        add(store, f"t{i}", created_at=1000 + i)
    store.mark_started("t4", "me")
    store.finish("t0", COMPLETED, message="done")
    items, total = store.list(limit=2, offset=1)
    assert [t.task_id for t in items] == ["t3", "t2"] and total == 5
    assert store.list(status=PROCESSING)[1] == 1
    assert store.counts() == {
        "pending": 3,
        "processing": 1,
        "completed": 1,
        "failed": 0,
        "cancelled": 0,
    }
    assert store.delete("t4") is None  # still running
    assert store.delete("t0").task_id == "t0"
    assert store.get("t0") is None and store.delete("t0") is None


def test_stale_heartbeats_fail_only_dead_runners(store: TaskStore) -> None:
    add(store, "alive", runner_id="a")
    add(store, "dead-pending", runner_id="b")
    add(store, "dead-running", runner_id="b")
    beat_long_ago(store, "dead-pending", 100)
    beat_long_ago(store, "dead-running", 100)
    store.mark_started("dead-running", "b")  # mark_started refreshes the beat...
    store.heartbeat("a")
    now = store.now()
    failed = store.fail_stale(now - 10, "任務已中斷", {"code": "interrupted", "message": "m"})
    assert [t.task_id for t in failed] == ["dead-pending"]
    later = store.now() + 100
    store.heartbeat("a")
    failed = store.fail_stale(later - 10, "任務已中斷", {"code": "interrupted", "message": "m"})
    # ...but runner b never beats again, so both of its tasks (and a's, now old) are failed
    assert {t.task_id for t in failed} == {"dead-running", "alive"}
    assert store.get("dead-running").error["code"] == "interrupted"


def test_expired_lists_final_tasks_past_their_ttl(store: TaskStore) -> None:
    add(store, "old")
    add(store, "running")
    store.mark_started("running", "me")
    store.finish("old", COMPLETED, message="done")
    assert [t.task_id for t in store.expired(store.now() + 1)] == ["old"]
    assert store.expired(store.now() - 60) == []


def test_list_filters_by_status_and_kind_and_paginates(store: TaskStore) -> None:
    for i in range(6):
        kind = "analyze" if i % 2 else "process"
        store.add(Task(task_id=f"t{i}", kind=kind, runner_id="me", created_at=1000 + i))
    store.mark_started("t5", "me")
    store.finish("t3", COMPLETED, message="done")
    items, total = store.list(kind="analyze")
    assert [t.task_id for t in items] == ["t5", "t3", "t1"] and total == 3
    items, total = store.list(status=PENDING, kind="analyze")
    assert [t.task_id for t in items] == ["t1"] and total == 1
    items, total = store.list(status=PENDING, limit=2, offset=1)
    assert [t.task_id for t in items] == ["t2", "t1"] and total == 4
    assert store.list(status=COMPLETED, kind="process") == ([], 0)
    store.delete("t3")
    assert store.list(kind="analyze")[1] == 2 and store.counts()[COMPLETED] == 0


def test_a_queued_task_is_held_by_no_process(store: TaskStore) -> None:
    """An empty runner_id: waiting in a shared queue, so no process's death interrupts it."""
    add(store, "queued", runner_id="")
    add(store, "local", runner_id="dead")
    beat_long_ago(store, "queued", 3600)
    beat_long_ago(store, "local", 3600)
    failed = store.fail_stale(
        store.now() - 10, "任務已中斷", {"code": "interrupted", "message": "m"}
    )
    assert [t.task_id for t in failed] == ["local"]
    started = store.mark_started("queued", "worker:w1")
    assert started.runner_id == "worker:w1" and started.status == PROCESSING
    assert store.fail_stale(store.now() - 10, "x", {"code": "interrupted", "message": "m"}) == []
    # once a worker holds it, the worker's death interrupts it
    assert [
        t.task_id for t in store.fail_stale(store.now() + 10, "x", {"code": "c", "message": "m"})
    ] == ["queued"]


def test_progress_carries_the_eta_and_a_final_state_clears_it(store: TaskStore) -> None:
    add(store, "done")
    assert store.get("done").eta_s is None
    store.mark_started("done", "me")
    assert store.set_progress("done", 10, None).eta_s is None  # not known yet
    assert store.set_progress("done", 20, "正在處理資料", eta_s=42.5).eta_s == 42.5
    assert store.get("done").eta_s == 42.5
    assert store.set_progress("done", 30, None, eta_s=None).eta_s is None  # unknown again
    store.set_progress("done", 40, None, eta_s=7.0)
    assert store.finish("done", COMPLETED, message="處理完成").eta_s is None
    assert store.get("done").eta_s is None
    assert store.set_progress("done", 90, None, eta_s=1.0) is None

    add(store, "stale", runner_id="gone")
    store.mark_started("stale", "gone")
    store.set_progress("stale", 50, None, eta_s=3.0)
    [failed] = store.fail_stale(store.now() + 10, "任務已中斷", {"code": "c", "message": "m"})
    assert failed.eta_s is None and store.get("stale").eta_s is None


def test_list_searches_file_names_ignoring_case(store: TaskStore) -> None:
    names = [
        "Sales_Report.CSV", "銷售報表.xlsx", "ｒｅｐｏｒｔ２０２４.csv", "straße.csv",
        "100%_done.csv", "a_b.json", None, "report-old.csv",
    ]  # fmt: skip
    for i, name in enumerate(names):
        kind = "analyze" if name else "process"
        store.add(
            Task(task_id=f"t{i}", kind=kind, runner_id="me", created_at=1000 + i, filename=name)
        )
    store.mark_started("t7", "me")

    def ids(**filters) -> tuple[list[str], int]:
        items, total = store.list(**filters)
        return [t.task_id for t in items], total

    assert ids(q="report") == (["t7", "t2", "t0"], 3)  # fullwidth letters fold too
    assert ids(q="REPORT", limit=1, offset=1) == (["t2"], 3)
    assert ids(q="report", offset=5) == ([], 3)
    assert ids(q="報表") == (["t1"], 1)
    assert ids(q="STRASSE") == (["t3"], 1)  # ß folds to ss
    assert ids(q="2024") == (["t2"], 1)  # fullwidth digits
    assert ids(q="%") == (["t4"], 1)  # no wildcard: % and _ are plain characters
    assert ids(q="_") == (["t5", "t4", "t0"], 3)
    assert ids(q="report", status=PROCESSING) == (["t7"], 1)
    assert ids(q="report", status=PENDING, kind="analyze") == (["t2", "t0"], 2)
    assert ids(q="report", kind="process") == ([], 0)
    assert ids(q="沒有這個檔") == ([], 0)
    assert ids(q=None)[1] == len(names)


def test_sqlite_brings_an_older_database_up_to_date(tmp_path: Path) -> None:
    """A file of the first release: its `owner` column becomes `runner_id` (the values kept)
    and the columns added since (eta_s, the idempotency key) are added."""
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the table as the first release made it
        conn.execute(
            "CREATE TABLE tasks (task_id TEXT PRIMARY KEY, kind TEXT NOT NULL, owner TEXT NOT "
            "NULL, params TEXT NOT NULL, status TEXT NOT NULL, progress REAL NOT NULL, message "
            "TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL, updated_at REAL NOT "
            "NULL, finished_at REAL, heartbeat_at REAL NOT NULL, filename TEXT, size_bytes "
            "INTEGER, file_path TEXT, result TEXT, error TEXT, version INTEGER NOT NULL)"
        )
        conn.execute(
            "INSERT INTO tasks VALUES ('old', 'analyze', 'me', '{}', 'processing', 5, '處理中', "
            "1, 1, 1, NULL, 1, '舊報表.csv', 10, NULL, NULL, NULL, 1)"
        )
    conn.close()
    stores = [SqliteStore(path), SqliteStore(path)]  # a second process opening it is fine
    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(tasks)")]
    conn.close()
    assert "owner" not in columns and columns[2] == "runner_id", columns
    assert {"eta_s", "idempotency_key", "request_hash"} <= set(columns)
    old = stores[0].get("old")
    assert (old.runner_id, old.eta_s, old.filename) == ("me", None, "舊報表.csv")
    assert stores[1].set_progress("old", 50, None, eta_s=12.0).eta_s == 12.0
    assert stores[0].list(q="舊")[1] == 1
    # The renamed column is the one heartbeats and the sweep read.
    stores[0].heartbeat("me")
    assert stores[0].get("old").heartbeat_at > 1
    [failed] = stores[1].fail_stale(stores[1].now() + 1, "任務已中斷", {"code": "interrupted"})
    assert (failed.task_id, failed.runner_id, failed.status) == ("old", "me", FAILED)
    add(stores[0], "new", runner_id="api:new")
    assert stores[1].get("new").runner_id == "api:new"
    assert SqliteStore(path).get("new").status == PENDING  # opening it again changes nothing


def test_the_capabilities_each_store_has(tmp_path: Path, redis_url: str) -> None:
    """What `isinstance` answers for the optional capabilities, the way callers ask."""
    redis_store = RedisStore(redis_url)
    assert isinstance(redis_store, ChangeFeed) and isinstance(redis_store, RunnerRegistry)
    assert isinstance(redis_store, LockProvider) and isinstance(redis_store, QueueStore)
    memory = MemoryStore()
    assert isinstance(memory, LockProvider)
    assert not isinstance(memory, ChangeFeed) and not isinstance(memory, RunnerRegistry)
    assert not isinstance(memory, QueueStore)
    sqlite = SqliteStore(tmp_path / "tasks.db")
    for capability in (ChangeFeed, RunnerRegistry, LockProvider, QueueStore):
        assert not isinstance(sqlite, capability), capability


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_a_lock_goes_to_one_caller_until_it_expires(
    kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "redis":
        store: LockProvider = RedisStore(request.getfixturevalue("redis_url"))
        name = f"test-{uuid.uuid4().hex}"  # (a contract-suite worker may share this Redis)
        assert store.try_lock(name, 30)
        assert not store.try_lock(name, 30)
        assert store.try_lock(name + "-other", 30)  # locks are independent
        ttl_ms = store.client.pttl(f"{store.prefix}lock:{name}")  # it expires by itself
        assert 0 < ttl_ms <= 30_000, ttl_ms
        return
    clock = [1000.0]
    monkeypatch.setattr("backend.store.memory.time.monotonic", lambda: clock[0])
    store = MemoryStore()
    assert store.try_lock("check", 30)
    clock[0] += 29.9
    assert not store.try_lock("check", 30)
    assert store.try_lock("other", 30)
    clock[0] += 0.2  # 30.1 s after it was taken: expired, never released
    assert store.try_lock("check", 30)
    assert not store.try_lock("check", 30)


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_racing_callers_get_a_lock_once(kind: str, request: pytest.FixtureRequest) -> None:
    store: LockProvider = (
        MemoryStore() if kind == "memory" else RedisStore(request.getfixturevalue("redis_url"))
    )
    name = f"race-{uuid.uuid4().hex}"  # (a contract-suite worker may share this Redis)
    won: list[bool] = []
    barrier = threading.Barrier(8)

    def take() -> None:
        barrier.wait()
        won.append(store.try_lock(name, 30))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [False] * 7 + [True]
