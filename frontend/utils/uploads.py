"""This tab's file uploads: each file recorded before its first byte is sent, then sent by a
thread of the queue's own, one file after another, each outcome recorded as it happens.

Why a thread: a Streamlit script run ends at every click and page switch, and an upload sent
from it would end with it (one file's task created but never shown, the rest never sent).
The thread does not care about reruns; pages only read the queue. It never touches `st`.

Each file has its own idempotency key, kept until the backend has the file: sending it again
(a second click, a retry, a resend after a reload) returns the task the first send created.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from frontend.utils.api_client import new_idempotency_key
from frontend.utils.errors import (
    AppError,
    BackendTimeoutError,
    BackendUnavailableError,
    UnconfirmedError,
    make_error,
)

logger = logging.getLogger(__name__)

QUEUED, SENDING, SENT, FAILED, UNSENT = "queued", "sending", "sent", "failed", "unsent"
IN_FLIGHT = frozenset({QUEUED, SENDING})
# How long a file that may have reached the backend is asked about (by its key) before the
# page stops asking and only offers to send it again.
CONFIRM_FOR_S = 600.0


class Uploader(Protocol):
    """What the queue needs of the API client."""

    def upload_file(
        self, filename: str, content: bytes, on_progress: Any = None, *, idempotency_key: str
    ) -> dict[str, Any]: ...


@dataclass
class UploadItem:
    """One file the user picked to upload, and what became of it.

    `unsent` files were not sent, or not confirmed: `error` says why (None: interrupted by a
    reload before they were sent), `unconfirmed_since` is set while the backend may have
    received them and is asked by key. `content` is kept until the backend has the file or
    refused it; a file restored from the URL after a reload has none (the browser must
    pick it again)."""

    key: str
    name: str
    size: int
    file_id: str | None = None
    state: str = QUEUED
    sent_bytes: int = 0
    task_id: str | None = None
    error: AppError | None = None
    unconfirmed_since: float | None = None
    content: bytes | None = dataclasses.field(default=None, repr=False)
    adopted: bool = False  # the page tracks its task
    batch: int = 0  # the click (or resend) that queued it last

    @property
    def unconfirmed(self) -> bool:
        return self.unconfirmed_since is not None

    @property
    def resendable(self) -> bool:
        return self.state == UNSENT and self.content is not None


class UploadQueue:
    """The uploads of one browser tab (kept in its session state)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[UploadItem] = []
        self._thread: threading.Thread | None = None
        self._batches = 0

    # --- reading (copies: the thread keeps changing the originals) ------------------------

    def items(self) -> list[UploadItem]:
        with self._lock:
            return [dataclasses.replace(item) for item in self._items]

    def in_flight(self) -> list[UploadItem]:
        return [item for item in self.items() if item.state in IN_FLIGHT]

    def unsent(self) -> list[UploadItem]:
        return [item for item in self.items() if item.state == UNSENT]

    def to_confirm(self, now: float | None = None) -> list[UploadItem]:
        """Files the backend may have received: to be asked about by their key."""
        now = time.monotonic() if now is None else now
        return [
            item
            for item in self.unsent()
            if item.unconfirmed_since is not None and now - item.unconfirmed_since < CONFIRM_FOR_S
        ]

    def by_file_id(self, file_id: str) -> UploadItem | None:
        return next((i for i in self.items() if i.file_id == file_id), None)

    def new_batch(self) -> int:
        with self._lock:
            self._batches += 1
            return self._batches

    # --- changing ---------------------------------------------------------------------------

    def submit(self, file_id: str, name: str, content: bytes, batch: int = 0) -> bool:
        """Queue a picked file, unless it is already on its way or sent. A file picked once
        (one `file_id`) is one action, with one key, however often it is submitted; a file
        restored from the URL, picked again, gets its old key back. Returns whether the file
        was queued."""
        with self._lock:
            item = next((i for i in self._items if i.file_id == file_id), None)
            if item is None:
                item = next(
                    (
                        i
                        for i in self._items
                        if i.file_id is None
                        and i.state == UNSENT
                        and (i.name, i.size) == (name, len(content))
                    ),
                    None,
                )
            if item is not None and item.state in (*IN_FLIGHT, SENT):
                return False
            if item is None:
                item = UploadItem(new_idempotency_key(), name, len(content))
                self._items.append(item)
            item.file_id, item.content = file_id, content
            self._queue(item, batch)
            return True

    def resend_unsent(self) -> int:
        """Queue again every unsent file whose content is still here (same key each)."""
        batch = self.new_batch()
        with self._lock:
            ready = [i for i in self._items if i.resendable]
            for item in ready:
                self._queue(item, batch)
            return len(ready)

    def restore(self, key: str, name: str, size: int) -> None:
        """A file this tab was sending before a reload: its content is gone, its key may
        already have a task; it is asked about, and can be picked and sent again."""
        with self._lock:
            if any(i.key == key for i in self._items):
                return
            self._items.append(
                UploadItem(key, name, size, state=UNSENT, unconfirmed_since=time.monotonic())
            )

    def confirm(self, key: str, task: dict[str, Any]) -> None:
        """The backend has a task for this key after all (asked after a lost answer)."""
        with self._lock:
            for item in self._items:
                if item.key == key and item.state == UNSENT:
                    self._finish(item, SENT, task_id=task["task_id"])

    def mark_adopted(self, key: str) -> None:
        with self._lock:
            for item in self._items:
                if item.key == key:
                    item.adopted = True

    def forget(self, keys: Iterable[str]) -> None:
        """Drop finished files from the list (never one that is on its way)."""
        keys = set(keys)
        with self._lock:
            self._items = [i for i in self._items if i.key not in keys or i.state in IN_FLIGHT]

    def _queue(self, item: UploadItem, batch: int) -> None:
        item.state, item.sent_bytes, item.error = QUEUED, 0, None
        item.unconfirmed_since, item.batch = None, batch

    # --- sending ----------------------------------------------------------------------------

    def start(self, client: Uploader) -> None:
        """Send the queued files, unless a thread already does."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            if not any(i.state == QUEUED for i in self._items):
                return
            self._thread = threading.Thread(
                target=self._send_all, args=(client,), name="upload-queue", daemon=True
            )
            self._thread.start()

    def wait(self, timeout: float) -> None:
        """Wait until every queued file is sent, or `timeout` seconds."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    @property
    def sending(self) -> bool:
        with self._lock:
            return self._thread is not None and self._thread.is_alive()

    def _send_all(self, client: Uploader) -> None:
        while True:
            with self._lock:
                item = next((i for i in self._items if i.state == QUEUED), None)
                if item is None:
                    return
                item.state, item.sent_bytes = SENDING, 0
                content = item.content or b""
            self._send(client, item, content)

    def _send(self, client: Uploader, item: UploadItem, content: bytes) -> None:
        def on_progress(sent: int, _total: int) -> None:
            item.sent_bytes = sent  # one assignment: readers see the old or the new value

        try:
            task = client.upload_file(item.name, content, on_progress, idempotency_key=item.key)
        except UnconfirmedError as exc:
            outcome: dict[str, Any] = {"error": exc, "unconfirmed_since": time.monotonic()}
            state = UNSENT
        except (BackendUnavailableError, BackendTimeoutError) as exc:
            outcome, state = {"error": exc}, UNSENT  # nothing was created; can be sent again
        except AppError as exc:
            outcome, state = {"error": exc}, FAILED  # the backend refused the file
        except Exception:  # the thread must record every outcome, whatever happens
            logger.exception("Upload of a file failed unexpectedly")
            outcome, state = {"error": make_error("unknown_error")}, UNSENT
        else:
            outcome, state = {"task_id": task["task_id"]}, SENT
        with self._lock:
            self._finish(item, state, **outcome)

    def _finish(self, item: UploadItem, state: str, **outcome: Any) -> None:
        item.state = state
        item.task_id = outcome.get("task_id", item.task_id)
        item.error = outcome.get("error")
        item.unconfirmed_since = outcome.get("unconfirmed_since")
        if state in (SENT, FAILED):
            item.content = None  # the backend has the file, or will never take it


def current_batches(items: list[UploadItem]) -> list[UploadItem]:
    """Every file of the batches still on their way, whatever became of it so far: a
    progress list that keeps its length until its batch is done."""
    batches = {item.batch for item in items if item.state in IN_FLIGHT}
    return [item for item in items if item.batch in batches]
