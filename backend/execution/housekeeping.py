"""Background upkeep: heartbeats, interrupted-task sweep, TTL expiry, stray upload files.

Every API process and every Celery worker runs one Housekeeper; the sweep and the expiry
are conditional transitions in the store, so any number of them may run at once.

Two clocks, never mixed: ages of tasks and heartbeats are judged by the store's clock
(`TaskStore.now()`, the one that stamped them), so a housekeeper on a machine whose clock is
minutes off neither interrupts live tasks nor keeps dead ones; its own schedule (the next
sweep, the next cleanup, how long a beat took) runs on `time.monotonic()`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from backend.config import Settings
from backend.errors import ERRORS
from backend.files import PARTIAL_SUFFIX, remove_task_file, writer_is_gone
from backend.service import settle
from backend.store.base import TaskStore

logger = logging.getLogger(__name__)


class Housekeeper:
    """Upkeep of one process, every `heartbeat_s` seconds (see the module docstring).

    `runner_id`: this process's heartbeat identity (the tasks it holds carry it);
    `stale_after_s`: a holder silent that long has died and its tasks are interrupted;
    `ttl_s`: final tasks older than that are deleted with their files.
    """

    def __init__(
        self,
        store: TaskStore,
        *,
        runner_id: str,
        upload_dir: Path,
        heartbeat_s: float,
        stale_after_s: float,
        ttl_s: float,
        upkeep: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.runner_id = runner_id
        self.upload_dir = upload_dir
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self.ttl_s = ttl_s
        self.upkeep = upkeep
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="housekeeper", daemon=True)
        # time.monotonic() values: this process's schedule, not a time of the store.
        self._last_cleanup = float("-inf")
        self._sweep_after = float("-inf")

    @classmethod
    def for_settings(
        cls, store: TaskStore, runner_id: str, settings: Settings, upkeep: Callable[[], None]
    ) -> Housekeeper:
        """The housekeeper of one API process or worker, with the timings of `settings`."""
        return cls(
            store,
            runner_id=runner_id,
            upload_dir=settings.upload_dir,
            heartbeat_s=settings.heartbeat_s,
            stale_after_s=settings.stale_after_s,
            ttl_s=settings.task_ttl_s,
            upkeep=upkeep,
        )

    def start(self) -> None:
        self.run_once()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self.run_once()
            except Exception:
                logger.exception("Housekeeping failed")

    def run_once(self) -> None:
        """Beat, then sweep, upkeep and (every minute at most) clean up; raises what the
        store raises."""
        started = time.monotonic()
        try:
            self.store.heartbeat(self.runner_id)
        except Exception:
            self._store_was_down()
            raise
        if time.monotonic() - started > self.heartbeat_s:
            self._store_was_down()  # our beat waited on retries: nobody could beat
        if time.monotonic() >= self._sweep_after:
            self.fail_interrupted(self.store.now())
        self.remove_orphaned_partials()
        if self.upkeep is not None:
            self.upkeep()
        if time.monotonic() - self._last_cleanup >= min(60.0, self.ttl_s / 4):
            self._last_cleanup = time.monotonic()
            self.remove_expired(self.store.now())
            # Upload files' ages: their modification times against this machine's clock.
            self.remove_stray_files(time.time())

    def _store_was_down(self) -> None:
        """While the store was unreachable no process could beat, so every heartbeat looks
        stale when it comes back. Sweep again only after a whole stale window with the
        store up, in which every live process has beaten again."""
        self._sweep_after = time.monotonic() + self.stale_after_s

    def fail_interrupted(self, now: float) -> None:
        """Active tasks whose runner stopped beating died with their process.

        `now` is a time of the store's clock (`store.now()`): heartbeats are stamped by the
        store, so this machine's clock plays no part in the judgement."""
        error = {"code": "interrupted", "message": ERRORS["interrupted"].detail}
        interrupted = self.store.fail_stale(now - self.stale_after_s, "任務已中斷", error)
        for task in interrupted:
            logger.warning(
                "Task %s was interrupted (runner %s stopped)", task.task_id, task.runner_id
            )
        settle(interrupted)

    def remove_expired(self, now: float) -> None:
        """Delete final tasks older than the TTL, with their files; `now` is `store.now()`."""
        for task in self.store.expired(now - self.ttl_s):
            if self.store.delete(task.task_id) is not None:
                remove_task_file(task)

    def remove_orphaned_partials(self) -> None:
        """Partial uploads whose receiving process died (kill -9 mid-upload): removed at
        once, as their task never came to exist."""
        for path in self.upload_dir.glob(f"*{PARTIAL_SUFFIX}"):
            if writer_is_gone(path.name):
                path.unlink(missing_ok=True)
                logger.info("Removed %s: its upload's process died", path.name)

    def remove_stray_files(self, now: float) -> None:
        """Files no task refers to: left by a crash mid-upload or mid-delete."""
        grace_s = max(3600.0, self.stale_after_s)
        for path in self.upload_dir.glob("*"):
            try:
                if not path.is_file() or now - path.stat().st_mtime < grace_s:
                    continue
                task_id = path.name.split(".", 1)[0]
                if path.name.endswith(PARTIAL_SUFFIX) or self.store.get(task_id) is None:
                    path.unlink(missing_ok=True)
                    logger.info("Removed stray upload file %s", path.name)
            except OSError:
                logger.warning("Could not inspect %s", path, exc_info=True)
