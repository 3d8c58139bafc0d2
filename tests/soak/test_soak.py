"""Soak and faults: real uvicorn (--workers 2, sqlite store) under a random mix of clients,
one worker killed with SIGKILL midway, the master stopped and started again.

Checked at the end: no 5xx and no lost connection outside the fault windows; every task
final, in one final state, never seen active again once seen final; an upload file only
for a completed task; no traceback in the server log; no process left behind.

Run it alone with `pytest -m soak -s` (-s shows the figures).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import processes
from tests.servers import Server, start_backend
from tests.soak.clients import FINAL, Call, Client, Ledger
from tests.soak.payloads import valid_payloads

SEED = 20261129
CLIENTS = 6
LOAD_S = 60.0
KILL_AT_S = 20.0
RESTART_AT_S = 40.0
DRAIN_S = 25.0
HEARTBEAT_S = 0.5  # a killed worker's tasks are interrupted after three missed beats
MARGIN_S = 1.0  # a fault window ends this long after the server is whole again
LINGER_S = 15.0  # a killed worker is replaced, and its job processes gone, within this
STARTUP_DONE = "Application startup complete."
# Why a task may fail here; anything else (job_failed, task_timeout) is a bug.
EXPECTED_FAILURES = {"interrupted", "invalid_file_format"}


@dataclass
class Window:
    name: str
    start: float
    end: float

    def overlaps(self, call: Call) -> bool:
        return call.sent <= self.end and call.received >= self.start


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


class Cluster:
    """The server under test (one master, two workers) and the faults done to it."""

    def __init__(self, workdir: Path, t0: float) -> None:
        self.run_id = uuid.uuid4().hex
        self.workdir, self.t0 = workdir, t0
        self.settings: dict[str, object] = {
            "task_store": f"sqlite:///{workdir / 'tasks.db'}",
            "heartbeat_s": HEARTBEAT_S,
            "max_concurrent_tasks": 3,
            "task_timeout_s": 30,
            "max_upload_mb": 1,
            processes.MARKER_ENV.lower(): self.run_id,
        }
        self.windows: list[Window] = []
        self.findings: list[str] = []  # process-level problems
        self.master: Server | None = None

    def start(self) -> None:
        self.master = start_backend(self.workdir / "srv", workers=2, **self.settings)

    @property
    def upload_dir(self) -> Path:
        return self.workdir / "srv" / "uploads"  # where start_backend puts UPLOAD_DIR

    def _at(self, moment: float) -> str:
        return f"+{moment - self.t0:.2f}s"

    def kill_worker(self) -> None:
        """kill -9 the worker with the most job processes; uvicorn starts another."""
        assert self.master is not None
        procs = processes.marked(self.run_id)
        workers = processes.uvicorn_workers(self.master.process.pid, procs)
        if len(workers) != 2:
            self.findings.append(f"expected 2 uvicorn workers, found {workers}")
            if not workers:
                return
        victim = max(workers, key=lambda w: len(processes.descendants(w.pid, procs)))
        doomed = {p.pid: p.cmdline for p in processes.descendants(victim.pid, procs)}
        master, ready = self.master, self.master.log().count(STARTUP_DONE)
        start = time.monotonic()
        os.kill(victim.pid, signal.SIGKILL)
        # uvicorn starts another worker; the fork server and job processes under the killed
        # one lose their pipes and must go too (within LINGER_S).
        replaced: float | None = None
        gone: float | None = None
        while time.monotonic() < start + LINGER_S and not (replaced and gone):
            now = time.monotonic()
            if replaced is None and master.log().count(STARTUP_DONE) > ready:
                replaced = now
            if gone is None and not processes.alive_of(set(doomed)):
                gone = now
            time.sleep(0.05)
        if replaced is None:
            self.findings.append(f"uvicorn did not replace the killed worker in {LINGER_S} s")
        if gone is None:
            left = [f"{pid} {doomed[pid][:90]}" for pid in processes.alive_of(set(doomed))]
            self.findings.append(f"the killed worker's processes alive {LINGER_S} s later: {left}")
        whole = max(replaced or time.monotonic(), start + 3 * HEARTBEAT_S)  # tasks swept too
        self.windows.append(Window("kill -9 worker", start, whole + MARGIN_S))

        def after(moment: float | None) -> str:
            return "never" if moment is None else f"after {moment - start:.1f}s"

        print(f"[soak] {self._at(start)} kill -9 worker {victim.pid}: replaced {after(replaced)}, "
              f"its {len(doomed)} child processes gone {after(gone)}")  # fmt: skip

    def stop(self, reason: str) -> None:
        """SIGTERM the master; then nothing of this server may be left running."""
        assert self.master is not None
        self.master.stop(timeout=30)
        if self.master.process.returncode == -signal.SIGKILL:
            self.findings.append(f"{reason}: the master ignored SIGTERM for 30 s")
        if not wait_until(lambda: not processes.marked(self.run_id), 5):
            left = processes.marked(self.run_id)
            self.findings.append(
                f"{reason}: processes alive after the master exited: "
                + "; ".join(f"{p.pid} {p.cmdline[:90]}" for p in left)
            )
            self.kill_leftovers()

    def restart_master(self) -> None:
        assert self.master is not None
        start, port = time.monotonic(), self.master.port
        self.stop("restart")
        stopped = time.monotonic()
        self.master = start_backend(self.workdir / "srv", port=port, workers=2, **self.settings)
        self.windows.append(Window("master restart", start, time.monotonic() + MARGIN_S))
        print(f"[soak] {self._at(start)} master stopped in {stopped - start:.1f}s, "
              f"serving again after {time.monotonic() - start:.1f}s")  # fmt: skip

    def close(self) -> None:
        """Whatever happened: the master stopped, and every process of this run gone."""
        if self.master is not None:
            self.master.stop()
        self.kill_leftovers()

    def kill_leftovers(self) -> None:
        for proc in processes.marked(self.run_id):
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)


def all_tasks(client: Client) -> list[dict[str, Any]] | None:
    """Every task in the store, page by page (None if the server did not answer)."""
    tasks: list[dict[str, Any]] = []
    while True:
        params = {"limit": 500, "offset": len(tasks)}
        response, call = client.request("list", "GET", "/api/tasks", {200: None}, params=params)
        if response is None or response.status_code != 200:
            return None
        page = response.json()
        for task in page["items"]:
            client.ledger.saw(task, call, "final list")
        tasks += page["items"]
        if len(tasks) >= page["total"] or not page["items"]:
            return tasks


def drain(client: Client, timeout: float) -> list[dict[str, Any]]:
    """Wait for every task to end; returns the store's tasks as last listed."""
    deadline = time.monotonic() + timeout
    tasks: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        tasks = all_tasks(client) or tasks
        if tasks and all(task["status"] in FINAL for task in tasks):
            break
        time.sleep(0.3)
    return tasks


def transition_problems(ledger: Ledger) -> tuple[list[str], list[str]]:
    """Tasks seen in two final states, and tasks seen active after a final state was seen
    (by an answer sent after that final answer arrived: concurrent answers may cross)."""
    several, reopened = [], []
    for task_id, seen in ledger.sightings.items():
        finals = [s for s in seen if s.status in FINAL]
        if len({s.status for s in finals}) > 1:
            several.append(f"{task_id}: {sorted({(s.via, s.status) for s in finals})}")
        if finals:
            first = min(finals, key=lambda s: s.received)
            later = [s for s in seen if s.status not in FINAL and s.sent > first.received]
            if later:
                reopened.append(
                    f"{task_id}: {first.status} ({first.via}) at {ledger.at(first.received)}, "
                    f"then {later[0].status} ({later[0].via}) at {ledger.at(later[0].sent)}"
                )
    return several, reopened


def file_problems(
    upload_dir: Path, tasks: dict[str, dict[str, Any]], ledger: Ledger
) -> tuple[list[str], list[str]]:
    """Upload files that should not be there, and completed uploads whose file is gone."""
    stray = []
    kept = set()
    for path in sorted(upload_dir.iterdir()):
        task_id = path.name.split(".", 1)[0]
        task = tasks.get(task_id)
        if task is not None and task["status"] == "completed" and not path.name.endswith(".part"):
            kept.add(task_id)
            continue
        if task is None:
            state = "deleted" if task_id in ledger.delete_sent else "no such task"
        else:
            error = (task.get("error") or {}).get("code")
            state = f"{task['status']}{f' ({error})' if error else ''}"
        modified = ledger.at(time.monotonic() - (time.time() - path.stat().st_mtime))
        stray.append(f"{path.name}: task {state}, written {modified}; {ledger.history(task_id)}")
    missing = [
        task_id
        for task_id, task in tasks.items()
        if task["kind"] == "analyze" and task["status"] == "completed" and task_id not in kept
    ]
    return stray, missing


def tracebacks(log: str, ledger: Ledger) -> list[str]:
    """Each traceback as its log line, its last frame and exception, and what the clients
    saw of the task it names."""
    lines = log.splitlines()
    found = []
    for index, line in enumerate(lines):
        if "Traceback" in line:
            end = index + 1
            while end < len(lines) and lines[end].startswith((" ", "\t")):
                end += 1
            frames = [i for i in range(index, end) if lines[i].lstrip().startswith("File ")]
            context = [lines[max(index - 1, 0)], *lines[frames[-1] if frames else index : end + 1]]
            task = re.search(r"Task ([0-9a-f]{32})", context[0])
            if task:
                context.append(f"  task {task[1]}: {ledger.history(task[1])}")
            found.append("\n".join(context))
    return found


def p99_ms(calls: list[Call]) -> float:
    durations = [(c.received - c.sent) * 1000 for c in calls if c.status is not None]
    if len(durations) < 2:
        return float("nan")
    return statistics.quantiles(durations, n=100)[98]


def figures(ledger: Ledger, cluster: Cluster, tasks: list[dict[str, Any]]) -> str:
    calls = ledger.calls
    inside = [c for c in calls if c.is_error and any(w.overlaps(c) for w in cluster.windows)]
    outside = [c for c in calls if c.is_error and c not in inside]
    by_class = Counter(
        f"{c.status // 100}xx" if c.status else ("no answer" if c.failure else "hung up")
        for c in calls
    )
    actions = Counter(c.action.split(":")[0] for c in calls)
    finals = Counter(t["status"] for t in tasks)
    failures = Counter((t.get("error") or {}).get("code") for t in tasks if t["status"] == "failed")
    kinds = Counter(ledger.accepted.values())
    unacknowledged = sum(t["task_id"] not in ledger.accepted for t in tasks)

    def errors(found: list[Call]) -> str:
        return f"{len(found)} {dict(Counter(c.failure or c.status for c in found))}"

    windows = "; ".join(
        f"{w.name} {ledger.at(w.start)}–{ledger.at(w.end)}" for w in cluster.windows
    )
    return "\n".join([
        f"seed {SEED}, {CLIENTS} clients + 1 poller, {LOAD_S:.0f}s of load",
        f"requests: {len(calls)} {dict(actions)}",
        f"answers: {dict(by_class)}",
        (f"tasks: {len(ledger.accepted)} accepted {dict(kinds)}, {len(tasks)} in the store "
         f"at the end, {len(ledger.deleted)} deleted, {unacknowledged} created without a 202"),
        f"final states: {dict(finals)}; failed by code: {dict(failures)}",
        f"fault windows: {windows}",
        f"errors (5xx or no answer) inside fault windows: {errors(inside)}",
        f"errors outside fault windows: {errors(outside)}",
        (f"p99: status poll {p99_ms([c for c in calls if c.action == 'poll']):.0f} ms, "
         f"all requests {p99_ms(calls):.0f} ms"),
    ])  # fmt: skip


@pytest.mark.soak
@pytest.mark.timeout(240)
def test_soak_with_a_killed_worker_and_a_restart(tmp_path: Path) -> None:
    t0 = time.monotonic()
    print(f"\n[soak] seed {SEED}")
    ledger = Ledger(t0)
    payloads = valid_payloads(SEED)
    cluster = Cluster(tmp_path, t0)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        cluster.start()
        assert cluster.master is not None
        clients = [
            Client(cluster.master.url, ledger, random.Random(SEED + n), payloads)
            for n in range(CLIENTS + 1)
        ]
        threads = [threading.Thread(target=c.run, args=(stop,)) for c in clients[1:]]
        threads.append(threading.Thread(target=clients[0].watch, args=(stop,)))
        for thread in threads:
            thread.start()
        load_start = time.monotonic()
        time.sleep(max(0.0, load_start + KILL_AT_S - time.monotonic()))
        cluster.kill_worker()
        time.sleep(max(0.0, load_start + RESTART_AT_S - time.monotonic()))
        cluster.restart_master()
        time.sleep(max(0.0, load_start + LOAD_S - time.monotonic()))
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

        tasks = drain(clients[0], DRAIN_S)
        by_id = {task["task_id"]: task for task in tasks}
        vanished = []
        for task_id in set(ledger.accepted) - set(by_id) - set(ledger.delete_sent):
            clients[0].poll(task_id)
            vanished.append(task_id)
        time.sleep(1.0)  # a runner removes a cancelled job's file within a poll (0.2 s)
        cluster.stop("end")
        log = cluster.master.log()  # one file across the restart: same port, same folder
        stray, missing = file_problems(cluster.upload_dir, by_id, ledger)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        cluster.close()

    summary = figures(ledger, cluster, tasks)
    print("[soak] " + summary.replace("\n", "\n[soak] "))
    several, reopened = transition_problems(ledger)
    windows = cluster.windows
    checks = {
        "5xx or no answer outside the fault windows": [
            f"{c.action} -> {c.status or c.failure} at {ledger.at(c.sent)}"
            for c in ledger.calls
            if c.is_error and not any(w.overlaps(c) for w in windows)
        ],
        "answers that break the API contract": ledger.violations,
        "tasks still active after the drain": [
            f"{t['task_id']} {t['kind']} {t['status']}" for t in tasks if t["status"] not in FINAL
        ],
        "tasks seen in more than one final state": several,
        "tasks seen active after being seen final": reopened,
        "accepted tasks gone without a delete": vanished,
        "failures with an unexpected code": [
            f"{t['task_id']} {t['kind']}: {t['error']}"
            for t in tasks
            if t["status"] == "failed" and t["error"]["code"] not in EXPECTED_FAILURES
        ],
        "files left in UPLOAD_DIR (only completed tasks may keep one)": stray,
        "completed uploads whose file is gone": missing,
        "tracebacks in the server log": tracebacks(log, ledger),
        "processes": cluster.findings,
    }
    failed = {name: found for name, found in checks.items() if found}
    for name, found in failed.items():
        print(f"[soak] FAILED {name} ({len(found)}):")
        for item in found[:10]:
            print("[soak]   " + item.replace("\n", "\n[soak]     "))
    assert not failed, f"{', '.join(failed)}\n{summary}"
