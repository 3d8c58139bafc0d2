"""Runs jobs in child processes under one supervision, whichever runner hands them over.

`Supervisor.run(task_id)` is the whole life of one job: the conditional `pending ->
processing` transition, a child process for the job, its progress relayed to the store
with an estimate of the time left (`backend.execution.eta`), cancellation (decided in the store,
noticed within POLL_S) and the timeout enforced, and the outcome recorded under the
clean-up rule of `backend.service`. Two runners hand tasks to it:

- `backend.execution.local.ProcessRunner` (TASK_RUNNER=local): a queue and `max_concurrent_tasks` supervisor
  threads inside the API process;
- `backend.execution.celery_queue.CeleryRunner` (TASK_RUNNER=celery): a Celery message carrying the task id,
  taken by a worker (`celery -A backend.worker worker`) that calls the same `Supervisor`.

Job work never runs in the API process: pure-Python parsing there would hold the GIL and
stall every request.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from backend.errors import ERRORS
from backend.execution.eta import EtaEstimator
from backend.execution.job_share import JobShare
from backend.files import remove_file, remove_task_file
from backend.jobs import JOBS, load_job
from backend.jobs.context import DEFAULT_THREADS, JobCancelled, JobError
from backend.service import finish_task
from backend.store.base import CANCELLED, COMPLETED, FAILED, PROCESSING, TaskStore

logger = logging.getLogger(__name__)

POLL_S = 0.2
# Progress messages are throttled in the job process: enough for a smooth bar, not a flood.
MIN_REPORT_INTERVAL_S = 0.1


class _JobProcessContext:
    """The JobContext a job sees inside its job process."""

    def __init__(self, conn: Connection, cancel_event: Any, threads: int) -> None:
        self.threads = threads
        self._conn = conn
        self._cancel = cancel_event
        self._last_sent = 0.0
        self._last_message: str | None = None

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled()

    def report(self, progress: float, message: str | None = None) -> None:
        self.check_cancelled()
        now = time.monotonic()
        changed_stage = message is not None and message != self._last_message
        if changed_stage or progress >= 100 or now - self._last_sent >= MIN_REPORT_INTERVAL_S:
            # Stamped here: the supervisor may read a backlog of reports at once. The
            # monotonic clock is the machine's, shared with the supervising process.
            progress = round(min(max(progress, 0.0), 100.0), 1)
            self._conn.send(("progress", progress, message, now))
            self._last_sent = now
            if message is not None:
                self._last_message = message


def _die_with_parent() -> None:
    """Linux: be killed when the parent dies, so a job never outlives its supervisor.

    The parent is the fork server, which exits as soon as the supervising process does
    (kill -9 included), so the chain ends every job of a dead API process or worker.
    prctl(PR_SET_PDEATHSIG, SIGKILL), see prctl(2). Elsewhere a no-op.
    """
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _job_process_main(
    job_spec: str, params: dict[str, Any], conn: Connection, cancel_event: Any, max_threads: int
) -> None:
    _die_with_parent()
    with contextlib.suppress(AttributeError, OSError):
        os.nice(5)  # keep the API process responsive on a busy machine
    # Counted among this machine's running jobs until the job ends (or this process dies:
    # then the next job to count removes the entry).
    share = JobShare()
    threads = share.claim(max_threads)
    try:
        context = _JobProcessContext(conn, cancel_event, threads)
        result = load_job(job_spec)(context, **params)
        outcome: tuple[Any, ...] = ("done", result)
    except JobCancelled:
        outcome = ("cancelled",)
    except JobError as exc:
        outcome = ("error", exc.code, exc.message, None)
    except BaseException:  # noqa: BLE001 - whatever happens must reach the supervisor
        outcome = ("error", "job_failed", ERRORS["job_failed"].detail, traceback.format_exc())
    share.release()
    try:
        conn.send(outcome)
    except OSError:
        pass  # the supervisor stopped listening (cancel, timeout, shutdown): nobody to tell
    finally:
        conn.close()


def _mp_context() -> (
    multiprocessing.context.ForkServerContext | multiprocessing.context.SpawnContext
):
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        # Job processes fork from a server that already imported this module, the jobs and
        # their libraries (no web framework: backend.errors is FastAPI-free), so a job starts in
        # ~20 ms; under spawn (Windows) a job process imports in ~0.1 s.
        ctx.set_forkserver_preload(
            ["backend.execution.supervisor", *{spec.partition(":")[0] for spec in JOBS.values()}]
        )
        return ctx
    return multiprocessing.get_context("spawn")


def _error(code: str, message: str | None = None) -> dict[str, str]:
    return {"code": code, "message": message or ERRORS[code].detail}


@dataclass
class Outcome:
    status: str
    message: str
    error: dict[str, str] | None = None
    result: dict[str, Any] | None = None


def interrupted() -> Outcome:
    return Outcome(FAILED, "伺服器關閉，任務已中斷", _error("interrupted"))


class Supervisor:
    """Runs one job at a time per calling thread; shared by the local and the Celery runner.

    `store` is the shared task store, `runner_id` this process's heartbeat identity,
    `timeout_s` the longest a job may run (seconds). `run` may be called from several
    threads at once. After `stop()`, running jobs end `interrupted` and new ones do not start.
    """

    # After a cancel, how long a job gets to stop at its next checkpoint before it is
    # terminated; the whole stop stays under a second (POLL_S + this + the kill).
    CANCEL_GRACE_S = 0.5

    def __init__(
        self,
        store: TaskStore,
        *,
        runner_id: str,
        timeout_s: float,
        job_threads: int = DEFAULT_THREADS,
    ) -> None:
        self.store = store
        self.runner_id = runner_id
        self.timeout_s = timeout_s
        self.job_threads = job_threads
        self.stopping = threading.Event()
        self._mp = _mp_context()

    def warm_up(self) -> None:
        """Start the fork server (and its imports) now, not on the first job."""
        if self._mp.get_start_method() == "forkserver":
            threading.Thread(target=multiprocessing.forkserver.ensure_running, daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()

    def run(self, task_id: str) -> None:
        """The whole life of one task; never raises (a failure is recorded as job_failed)."""
        try:
            self._run(task_id)
        except Exception:
            # Whatever happens, the task reaches a final state and the caller goes on.
            logger.exception("Supervisor error on task %s", task_id)
            self.conclude(task_id, Outcome(FAILED, "任務失敗", _error("job_failed")))

    def conclude(self, task_id: str, outcome: Outcome | None, file_path: str | None = None) -> None:
        """Record the outcome; None means the task was made final elsewhere (e.g. cancelled).

        Clean-up follows the clean-up rule in `backend.service`: whoever's transition wins
        removes the file. A supervisor with a failed or cancelled outcome removes the task's
        `file_path` before the transition, so a client that sees the final state never finds
        the file still there: whichever actor wins, such a task ends failed or cancelled
        (only a supervisor completes tasks). When the outcome loses (a cancel came first)
        nothing else is assumed, but once the job process has stopped the final state is
        read back: a winner on Windows cannot remove a file the job still had open.
        While the store is unreachable the outcome is retried: a finished job's result is
        never lost to an outage, and its task never stays `processing`. A supervisor that
        is stopping gives up; the sweep then interrupts the task once its beats stop.
        """
        while True:
            try:
                self._conclude(task_id, outcome, file_path)
                return
            except Exception as exc:  # noqa: BLE001 - e.g. redis.ConnectionError after retries
                if self.stopping.is_set():
                    logger.error("Outcome of task %s not recorded: %s", task_id, exc)
                    return
                logger.warning("Store unreachable, retrying the outcome of %s: %s", task_id, exc)
                self.stopping.wait(1.0)

    def _conclude(self, task_id: str, outcome: Outcome | None, file_path: str | None) -> None:
        if outcome is not None and outcome.status != COMPLETED and file_path:
            remove_file(file_path)
        if outcome is not None and finish_task(
            self.store,
            task_id,
            outcome.status,
            message=outcome.message,
            result=outcome.result,
            error=outcome.error,
        ):
            return
        task = self.store.get(task_id)
        if task is not None and task.is_final and task.status != COMPLETED:
            remove_task_file(task)

    def _run(self, task_id: str) -> None:
        if self.stopping.is_set():
            return
        task = self.store.mark_started(task_id, self.runner_id)
        if task is None:
            return  # cancelled, removed, or already taken (a redelivered message)
        if task.file_path and not os.path.exists(task.file_path):
            logger.error("Task %s: upload %s not found here", task_id, task.file_path)
            self.conclude(task_id, Outcome(FAILED, "任務失敗", _error("upload_not_shared")))
            return
        parent_conn, child_conn = self._mp.Pipe(duplex=False)
        cancel_event = self._mp.Event()
        process = self._mp.Process(
            target=_job_process_main,
            args=(JOBS[task.kind], task.params, child_conn, cancel_event, self.job_threads),
            name=f"job-{task.kind}-{task_id[:8]}",
            daemon=True,
        )
        process.start()
        child_conn.close()
        deadline = time.monotonic() + self.timeout_s
        try:
            outcome = self._watch(task_id, process, parent_conn, deadline)
        finally:
            parent_conn.close()
            self._stop_process(process, cancel_event)
        self.conclude(task_id, outcome, task.file_path)

    def _still_processing(self, task_id: str) -> bool:
        """The store's word on whether to go on; True while the store cannot be reached
        (the job keeps running through a short Redis restart)."""
        try:
            current = self.store.get(task_id)
        except Exception as exc:  # noqa: BLE001 - e.g. redis.ConnectionError after retries
            logger.warning("Store unreachable while watching task %s: %s", task_id, exc)
            return True
        return current is not None and current.status == PROCESSING

    def _watch(
        self, task_id: str, process: Any, conn: Connection, deadline: float
    ) -> Outcome | None:
        """Relay progress until the job ends; returns how it ended."""
        eta = EtaEstimator()
        while True:
            if self.stopping.is_set():
                return interrupted()
            if time.monotonic() > deadline:
                logger.warning("Task %s exceeded the %.0f s timeout", task_id, self.timeout_s)
                text = f"任務執行超過 {self.timeout_s:g} 秒上限，已被停止。"
                return Outcome(FAILED, "任務逾時", _error("task_timeout", text))
            try:
                # What `_JobProcessContext.report` and `_job_process_main` send: a tuple.
                message: tuple[Any, ...] | None = conn.recv() if conn.poll(POLL_S) else None
            except (EOFError, OSError):
                process.join(timeout=1)
                logger.error(
                    "Job process of task %s exited with code %s", task_id, process.exitcode
                )
                return Outcome(FAILED, "任務失敗", _error("job_failed"))
            if message is None:
                if not self._still_processing(task_id):
                    return None  # cancelled through the API, maybe by another process
            elif message[0] == "progress":
                _, progress, stage, reported_at = message
                eta_s = eta.add(reported_at, progress)
                try:
                    if self.store.set_progress(task_id, progress, stage, eta_s) is None:
                        return None  # no longer processing: cancelled meanwhile
                except Exception as exc:  # noqa: BLE001 - a lost progress report is harmless
                    logger.warning("Progress of task %s not recorded: %s", task_id, exc)
            elif message[0] == "error" and not self._still_processing(task_id):
                # Cancelled meanwhile: the cancel removed the upload the job was reading,
                # so its error is a consequence, not a fault worth a traceback.
                logger.info("Task %s stopped after it was cancelled (%s)", task_id, message[1])
                return None
            else:
                return self._outcome(task_id, message)

    @staticmethod
    def _outcome(task_id: str, message: tuple[Any, ...]) -> Outcome:
        kind = message[0]
        if kind == "done":
            return Outcome(COMPLETED, "處理完成", result=message[1])
        if kind == "cancelled":
            return Outcome(CANCELLED, "任務已取消")
        _, code, text, trace = message
        if trace:
            logger.error("Task %s failed with an unexpected error:\n%s", task_id, trace)
        else:
            logger.info("Task %s failed: %s %s", task_id, code, text)
        return Outcome(FAILED, "任務失敗", _error(code, text))

    @classmethod
    def _stop_process(cls, process: Any, cancel_event: Any) -> None:
        if not process.is_alive():
            process.join()
            return
        cancel_event.set()
        process.join(timeout=cls.CANCEL_GRACE_S)
        if process.is_alive():
            process.terminate()
            process.join(timeout=2)
        if process.is_alive():
            process.kill()
            process.join()
