"""Start a real Celery worker as a process, for tests that run the API and workers apart.

`start_worker` runs `python -m celery -A tests.celery_test_app worker` from the repository
root, as production does (the test app is the production worker plus the test job kinds),
and waits until Celery says the worker is ready to consume. The worker's processes are read
from /proc (psutil is not installed): every process it starts inherits a marker in its
environment (the fork server from the worker, job processes from the fork server), so a
process that outlived its parent and was re-parented is still found and can be cleaned up.

`enqueue` creates a task of any registered kind straight in the Redis store and sends its
Celery message, as the API does for the kinds it can create over HTTP.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.processes import MARKER_ENV, Proc, marked
from tests.servers import ROOT

TEST_APP = "tests.celery_test_app"
# A `sitecustomize` that shifts the wall clock of the process (see `start_worker`).
SKEWED_CLOCK_DIR = ROOT / "tests" / "scale" / "skewed_clock"


@dataclass
class Worker:
    """One `celery worker` process (threads pool) and the processes it started."""

    name: str
    process: subprocess.Popen
    log_path: Path
    marker: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def running(self) -> bool:
        return self.process.poll() is None

    def processes(self) -> list[Proc]:
        """The worker and everything it started that is still alive (resource tracker,
        fork server, job processes), found by the marker even after re-parenting."""
        return marked(self.marker)

    def fork_server(self) -> Proc | None:
        """multiprocessing's fork server, the worker's child that forks every job process."""
        for proc in self.processes():
            if proc.ppid == self.pid and "multiprocessing.forkserver" in proc.cmdline:
                return proc
        return None

    def job_processes(self) -> list[Proc]:
        """The job processes running now: the fork server's children."""
        server = self.fork_server()
        if server is None:
            return []
        return [proc for proc in self.processes() if proc.ppid == server.pid]

    def wait_log(self, pattern: str, timeout: float = 15) -> re.Match[str]:
        """Wait until a line of the log matches the regular expression `pattern`."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.log(), re.MULTILINE)
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no log line /{pattern}/:\n{self.log()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (Celery's warm shutdown), SIGKILL after `timeout` s; then any process the
        worker left behind is killed, so a test never leaks one."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.kill_leftovers()

    def kill(self) -> None:
        """kill -9 of the worker process alone: what it started must die by itself."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def kill_leftovers(self) -> list[Proc]:
        """SIGKILL every process of this worker still alive; returns those it found."""
        leftovers = self.processes()
        for proc in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
        return leftovers


def start_worker(
    workdir: Path,
    name: str,
    *,
    app: str = TEST_APP,
    timeout: float = 60,
    queues: str | None = None,
    clock_offset_s: float = 0.0,
    **settings: object,
) -> Worker:
    """`python -m celery -A app worker --loglevel INFO -n name@%h [-Q queues]` with settings
    given as environment variables (upper-cased), run from the repository root.

    `clock_offset_s` makes `time.time()` of the worker and of every process it starts run that
    many seconds ahead of this machine's clock (negative: behind), as on a PC whose clock is
    off: SKEWED_CLOCK_DIR's `sitecustomize` comes first on its PYTHONPATH.

    Settings not given come from the environment and the repository's `.env`, as for a
    worker started by hand, so tests pass every setting they rely on. Returns once the log
    says `name@host ready.` (the consumer is taking messages); the log is in
    workdir/worker-name.log.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    marker = f"{name}-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "UPLOAD_DIR": str(workdir / "uploads"),
        "TASK_RUNNER": "celery",
        "PYTHONPATH": str(ROOT),
        **{key.upper(): str(value) for key, value in settings.items()},
        MARKER_ENV: marker,
    }
    if clock_offset_s:
        env["PYTHONPATH"] = os.pathsep.join([str(SKEWED_CLOCK_DIR), str(ROOT)])
        env["TEST_CLOCK_OFFSET_S"] = repr(float(clock_offset_s))
    log_path = workdir / f"worker-{name}.log"
    command = [sys.executable, "-m", "celery", "-A", app, "worker", "--loglevel", "INFO",
               "-n", f"{name}@%h", *(["-Q", queues] if queues else [])]  # fmt: skip
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    worker = Worker(name, process, log_path, marker, env)
    ready = re.compile(rf"^.*\b{re.escape(name)}@\S+ ready\.$", re.MULTILINE)
    deadline = time.monotonic() + timeout
    while not ready.search(worker.log()):
        if process.poll() is not None or time.monotonic() > deadline:
            worker.stop(timeout=5)
            raise RuntimeError(f"worker {name} did not become ready:\n{worker.log()}")
        time.sleep(0.05)
    return worker


def enqueue(
    redis_url: str, kind: str, params: dict[str, Any] | None = None, queue: str | None = None
) -> str:
    """Create a task of `kind` in the Redis store and send its message; returns its id.

    For the test kinds, which the API cannot create (its routes make only `process` and
    `analyze` tasks): the same two steps as `POST /api/process` with TASK_RUNNER=celery.
    `queue` sends the message to that queue instead of the default one, so that only the
    worker consuming it (`start_worker(queues=...)`) takes the task.
    """
    from backend.config import Settings
    from backend.execution.celery_queue import TASK_NAME, make_celery_app
    from backend.service import create_task
    from backend.store.redis import RedisStore

    store = RedisStore(redis_url)
    try:
        task = create_task(store, kind, params or {}, runner_id="")
    finally:
        store.close()
    app = make_celery_app(Settings(_env_file=None, task_store=redis_url, task_runner="celery"))
    try:
        routing = {"queue": queue} if queue else {}
        app.send_task(TASK_NAME, args=[task.task_id], task_id=task.task_id, **routing)
    finally:
        app.close()
    return task.task_id
