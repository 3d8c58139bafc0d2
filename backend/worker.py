"""Celery worker for TASK_RUNNER=celery: `celery -A backend.worker worker`, from the repository root.

Run it on any machine that reaches the same Redis (TASK_STORE, CELERY_BROKER_URL) and sees
the same UPLOAD_DIR at the same path. Each message carries a task id; the worker runs the
job under the same `Supervisor` as the local runner (one child process per job, progress
into the store, cancel within a second, the timeout) and proves it is alive with the same
heartbeat, so a worker that dies has its tasks `interrupted` within three heartbeats. The
beats and the task times are stamped by Redis's clock, not this machine's, so the worker's
clock may be minutes off (see `backend.store.redis`).

The pool is `threads` (set in `backend.execution.celery_queue`): Celery's default prefork pool runs tasks
in daemon processes, which may not start the job's child process. It works on Windows too.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Any

from celery.exceptions import Reject
from celery.signals import worker_init, worker_shutdown, worker_shutting_down

from backend.config import get_settings
from backend.execution.celery_queue import (
    TASK_NAME,
    WORKER_PREFIX,
    connect_broker,
    lost_message_age_s,
    make_celery_app,
    queue_store,
    resend_lost,
)
from backend.execution.housekeeping import Housekeeper
from backend.execution.supervisor import Supervisor
from backend.store import make_store

logger = logging.getLogger("backend.worker")

settings = get_settings()
app = make_celery_app(settings)

# Set by worker_init in the worker's main process, where the threads pool runs tasks.
_supervisor: Supervisor | None = None
_housekeeper: Housekeeper | None = None


@app.task(name=TASK_NAME, ignore_result=True, acks_late=True)
def run_task(task_id: str) -> None:
    """Run one task to a final state. A worker that is stopping puts the message back."""
    if _supervisor is None or _supervisor.stopping.is_set():
        raise Reject("worker is stopping", requeue=True)
    _supervisor.run(task_id)


@worker_init.connect
def _start(sender: Any = None, **_: Any) -> None:
    global _supervisor, _housekeeper
    logging.getLogger("backend").setLevel(settings.log_level)
    pool = getattr(getattr(sender, "pool_cls", None), "__module__", "")
    if pool and not pool.endswith("thread"):
        logger.error("Use the threads pool (the default here): prefork cannot start job processes")
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    store = queue_store(make_store(settings.task_store))
    runner_id = f"{WORKER_PREFIX}{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    _supervisor = Supervisor(
        store,
        runner_id=runner_id,
        timeout_s=settings.task_timeout_s,
        job_threads=settings.job_threads,
    )
    _supervisor.warm_up()
    broker = connect_broker(settings)

    def upkeep() -> None:
        resend_lost(app, store, broker, older_than_s=lost_message_age_s(settings))

    _housekeeper = Housekeeper.for_settings(store, runner_id, settings, upkeep)
    _housekeeper.start()
    logger.info("Worker %s ready (store=%s)", runner_id, store.name)


@worker_shutting_down.connect
def _stopping(**_: Any) -> None:
    # Running jobs end `interrupted` at once, so a warm shutdown does not wait for them.
    if _supervisor is not None:
        _supervisor.stop()


@worker_shutdown.connect
def _stopped(**_: Any) -> None:
    if _housekeeper is not None:
        _housekeeper.stop()
