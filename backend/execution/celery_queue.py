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

The store must be a `QueueStore`: besides the tasks, it counts the workers online
(`RunnerRegistry`) and grants the lock of the lost-message check (`LockProvider`); the Redis
store is one. `queue_store` says so at start instead of failing on the first use.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol, runtime_checkable

import redis
from celery import Celery

from backend.config import Settings
from backend.errors import ERRORS
from backend.redis_client import connect
from backend.service import finish_task
from backend.store.base import FAILED, PENDING, LockProvider, RunnerRegistry, TaskStore

logger = logging.getLogger(__name__)

TASK_NAME = "workbench.run_task"
QUEUE = "workbench"
# Runner ids of worker processes start with this, so "workers online" can be counted.
WORKER_PREFIX = "worker:"
# The lock one process per period takes to check for lost messages (`resend_lost`).
LOST_MESSAGE_LOCK = "lost_message_check"


@runtime_checkable
class QueueStore(TaskStore, RunnerRegistry, LockProvider, Protocol):
    """What TASK_RUNNER=celery needs of the store: the tasks, the runners online (workers
    online) and a lock every process shares (one lost-message check per period)."""


def queue_store(store: TaskStore) -> QueueStore:
    """`store` as a `QueueStore`; raises TypeError at start if it lacks a capability
    (the settings allow TASK_RUNNER=celery only with TASK_STORE=redis://...)."""
    if not isinstance(store, QueueStore):
        raise TypeError(
            f"TASK_RUNNER=celery needs a store that counts runners and grants locks "
            f"(RunnerRegistry, LockProvider), such as TASK_STORE=redis://...; "
            f"the {store.name!r} store does not"
        )
    return store


def connect_broker(settings: Settings) -> redis.Redis:
    """A client of the broker (CELERY_BROKER_URL), to see which messages it holds."""
    return connect(settings.broker_url)


def lost_message_age_s(settings: Settings) -> float:
    """How long a waiting task goes unseen by the broker before its message is sent again
    (20 heartbeats: 100 s by default)."""
    return 20 * settings.heartbeat_s


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


# kombu's Redis transport keeps a queue as a list (one per priority step) and messages a
# worker has taken but not acknowledged in a hash; both hold the message as JSON text.
_PRIORITY_SEP = "\x06\x16"
_UNACKED = "unacked"


def _ids_in_broker(broker: redis.Redis) -> set[str]:
    """Task ids of every message the broker still holds: queued, or taken and unacked."""
    ids: set[str] = set()
    queues = [QUEUE, *(f"{QUEUE}{_PRIORITY_SEP}{step}" for step in (3, 6, 9))]
    for queue in queues:
        for raw in broker.lrange(queue, 0, -1):
            ids.add(json.loads(raw).get("headers", {}).get("id", ""))
    for raw in broker.hvals(_UNACKED):
        ids.add(json.loads(raw)[0].get("headers", {}).get("id", ""))
    return ids


def resend_lost(
    app: Celery,
    store: QueueStore,
    broker: redis.Redis,
    *,
    older_than_s: float,
    now: float | None = None,
) -> list[str]:
    """Send again the message of every waiting task the broker no longer holds.

    A message can be lost: a broker restarted without persistence (or losing the last
    second of its append-only file), or a worker killed between taking a message and
    recording it as unacknowledged. Its task would wait `pending` forever. Tasks waiting in
    the queue (`pending`, no `runner_id`) for longer than `older_than_s` seconds whose id is in
    neither the queue nor the unacknowledged messages are sent again. A duplicate does
    nothing (the `pending -> processing` transition happens once). One process per period
    does the check (the store's `try_lock`). Returns the ids sent again.

    `now` is a time of the store's clock (`store.now()` by default), the clock that stamped
    the tasks' created_at: this machine's may be minutes off.
    """
    now = store.now() if now is None else now
    if not store.try_lock(LOST_MESSAGE_LOCK, older_than_s / 2):
        return []
    waiting: list[str] = []
    offset = 0
    while True:
        tasks, _ = store.list(status=PENDING, limit=500, offset=offset)
        waiting += [
            t.task_id for t in tasks if not t.runner_id and t.created_at < now - older_than_s
        ]
        if len(tasks) < 500:
            break
        offset += 500
    if not waiting:
        return []
    held = _ids_in_broker(broker)
    lost = [task_id for task_id in waiting if task_id not in held]
    for task_id in lost:
        app.send_task(TASK_NAME, args=[task_id], task_id=task_id)
    if lost:
        logger.warning(
            "Sent %d waiting task(s) again: the broker had lost their messages", len(lost)
        )
    return lost


class CeleryRunner:
    """The API side of TASK_RUNNER=celery: sends task ids to the queue; runs nothing itself.

    `store` must be a `QueueStore` (see `queue_store`)."""

    name = "celery"
    pending_runner_id = ""  # a queued task is held by no process until a worker takes it

    def __init__(self, settings: Settings, store: QueueStore) -> None:
        self.settings = settings
        self.store = store
        self.app = make_celery_app(settings)
        self._broker = connect_broker(settings)
        self.lost_after_s = lost_message_age_s(settings)

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
        resend_lost(self.app, self.store, self._broker, older_than_s=self.lost_after_s)

    def describe(self) -> dict[str, Any]:
        """Workers online: those that beat within the stale window, by the store's clock
        (it stamped the beats), so a worker whose clock is off is counted all the same."""
        since = self.store.now() - self.settings.stale_after_s
        return {
            "runner": self.name,
            "workers_online": len(self.store.live_runners(since, prefix=WORKER_PREFIX)),
            "queue_length": self.store.counts()[PENDING],
        }

    def stop(self) -> None:
        """Queued tasks belong to the queue, not to this process: nothing to interrupt."""
        self._broker.close()
