"""TASK_RUNNER=celery: tasks go through a Celery queue to workers on any machine.

The API sends a Celery message that carries only the task id; a worker started with
`celery -A backend.worker worker` takes it and runs the job under the same `Supervisor` as
the local runner. The task store stays the only source of truth: no result backend,
cancellation decided in the store (never Celery's `revoke`, a broadcast lost when no
worker is online, celery#8888), and a message for a task that is no longer pending does
nothing, so a redelivered or duplicated message can never run a job twice.

Configuration for long CPU-bound jobs (Celery's "Optimizing" guide):

- `task_acks_late` with `worker_prefetch_multiplier=1`: a message is acknowledged only after
  its job ended, and a worker reserves no more messages than it has free slots;
- a broker visibility timeout longer than TASK_TIMEOUT_S plus a long queue wait, so a long
  job is not redelivered while it runs (celery#5935);
- the threads pool: jobs run in our own child processes anyway, which Celery's prefork pool
  forbids (its pool processes are daemons), and threads work on Windows too;
- JSON only, no results, and broker reconnection forever (a Redis restart is survivable).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Celery

from backend.config import Settings
from backend.errors import ERRORS
from backend.service import finish_task
from backend.store.base import FAILED, PENDING, TaskStore

logger = logging.getLogger(__name__)

TASK_NAME = "workbench.run_task"
QUEUE = "workbench"
# Owners of worker processes start with this, so "workers online" can be counted.
WORKER_PREFIX = "worker:"


def make_celery_app(settings: Settings) -> Celery:
    """The Celery app both the API (to send) and the workers (to consume) use."""
    app = Celery("workbench", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        worker_pool="threads",
        worker_concurrency=settings.max_concurrent_tasks,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # Jobs go on through a broker outage; their outcome is recorded in the store.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_acks_on_failure_or_timeout=True,
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # None: forever (the default gives up after 100)
        broker_connection_timeout=5,
        broker_transport_options={
            # Every process sharing the broker must use the same value: the shortest wins.
            "visibility_timeout": settings.visibility_timeout_s,
            # A hung or half-open connection is noticed (celery#10502) instead of waiting
            # forever; a BRPOP that timed out is retried.
            "socket_keepalive": True,
            "socket_connect_timeout": 5,
            "socket_timeout": 10,
            "retry_on_timeout": True,
            "health_check_interval": 10,
            # How often unacknowledged messages past their visibility timeout are restored.
            "unacked_restore_interval": 10,
            "unacked_restore_throttle": 1,
        },
        task_publish_retry=True,
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
    )
    return app


def resend_after_broker_restart(app: Celery, store: TaskStore, broker: Any) -> int:
    """Send again the message of every waiting task once the broker has restarted.

    A broker that restarted without persistence (or lost its last second of AOF) lost the
    messages of tasks still `pending` in the store, and they would wait forever. The broker's
    `run_id` changes with every restart; the first process to notice (an atomic GETSET in
    the store) sends every waiting task again. A duplicate of a message that survived does
    nothing (the `pending -> processing` transition happens once). Returns how many were sent.
    """
    run_id = broker.info("server")["run_id"]
    seen = store.client.getset(store.prefix + "broker_run_id", run_id)
    if seen is None or seen == run_id:
        return 0
    sent, offset = 0, 0
    while True:
        tasks, _ = store.list(status=PENDING, limit=200, offset=offset)
        for task in tasks:
            if not task.owner:  # waiting in the queue, not in a local runner
                app.send_task(TASK_NAME, args=[task.task_id], task_id=task.task_id)
                sent += 1
        if len(tasks) < 200:
            break
        offset += 200
    logger.warning("Broker restarted: sent %d waiting task(s) again", sent)
    return sent


class CeleryRunner:
    """The API side of TASK_RUNNER=celery: sends task ids to the queue; runs nothing itself."""

    name = "celery"
    pending_owner = ""  # a queued task is held by no process until a worker takes it

    def __init__(self, settings: Settings, store: TaskStore) -> None:
        from backend.store.redis import connect

        self.settings = settings
        self.store = store
        self.app = make_celery_app(settings)
        self._broker = connect(settings.broker_url)

    def start(self) -> None:
        pass

    def submit(self, task_id: str) -> None:
        """Enqueue the task; if the broker stays unreachable, the task fails (no file left)."""
        try:
            self.app.send_task(TASK_NAME, args=[task_id], task_id=task_id)
        except Exception as exc:  # noqa: BLE001 - kombu raises its own and redis-py errors
            logger.error("Could not enqueue task %s: %s", task_id, exc)
            error = {"code": "queue_unavailable", "message": ERRORS["queue_unavailable"].detail}
            finish_task(self.store, task_id, FAILED, message="任務失敗", error=error)

    def upkeep(self) -> None:
        resend_after_broker_restart(self.app, self.store, self._broker)

    def describe(self) -> dict[str, Any]:
        since = time.time() - self.settings.stale_after_s
        return {
            "runner": self.name,
            "workers_online": len(self.store.live_owners(since, prefix=WORKER_PREFIX)),
            "queue_length": self.store.counts()[PENDING],
        }

    def stop(self) -> None:
        """Queued tasks belong to the queue, not to this process: nothing to interrupt."""
        self._broker.close()
