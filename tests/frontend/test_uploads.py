"""The upload queue's rules, with a stand-in for the API client: one key per picked file,
each outcome recorded as it happens, what may be sent again and what may not."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from frontend.utils.errors import AppError, UnconfirmedError, make_error
from frontend.utils.uploads import (
    FAILED,
    QUEUED,
    SENT,
    UNSENT,
    UploadQueue,
    current_batches,
)


class FakeClient:
    """Answers each upload with what `outcomes` says for its file name (a task by default),
    remembering every key it was sent."""

    def __init__(self, outcomes: dict[str, BaseException] | None = None) -> None:
        self.outcomes = outcomes or {}
        self.keys: list[tuple[str, str]] = []
        self.release = threading.Event()
        self.release.set()

    def upload_file(
        self, filename: str, content: bytes, on_progress: Any = None, *, idempotency_key: str
    ) -> dict[str, Any]:
        self.release.wait(5)
        self.keys.append((filename, idempotency_key))
        if on_progress is not None:
            on_progress(len(content), len(content))
        if filename in self.outcomes:
            raise self.outcomes[filename]
        return {"task_id": f"task-{idempotency_key}"}


def settle(queue: UploadQueue) -> list:
    queue.wait(5)
    assert not queue.sending
    return queue.items()


def test_each_file_is_sent_once_with_its_own_key() -> None:
    queue, client = UploadQueue(), FakeClient()
    batch = queue.new_batch()
    assert queue.submit("f1", "一.csv", b"1", batch)
    assert queue.submit("f2", "二.csv", b"22", batch)
    assert not queue.submit("f1", "一.csv", b"1", batch)  # the second click of a double click
    queue.start(client)
    items = settle(queue)
    assert [(i.name, i.state, i.size) for i in items] == [("一.csv", SENT, 1), ("二.csv", SENT, 2)]
    assert [name for name, _ in client.keys] == ["一.csv", "二.csv"]
    assert len({key for _, key in client.keys}) == 2
    assert all(i.task_id == f"task-{i.key}" and i.content is None for i in items)
    assert not queue.submit("f1", "一.csv", b"1", queue.new_batch())  # sent: not again


def test_outcomes_decide_what_can_be_sent_again() -> None:
    client = FakeClient(
        {
            "拒絕.csv": make_error("invalid_file_format", "壞掉的檔案"),
            "斷線.csv": make_error("connection_lost"),
            "未知.csv": UnconfirmedError(make_error("timeout_error")),
            "出錯.csv": RuntimeError("a bug"),
        }
    )
    queue = UploadQueue()
    batch = queue.new_batch()
    for name in ("拒絕.csv", "斷線.csv", "未知.csv", "出錯.csv"):
        queue.submit(name, name, b"x", batch)
    queue.start(client)
    items = {i.name: i for i in settle(queue)}
    assert items["拒絕.csv"].state == FAILED and items["拒絕.csv"].content is None
    for name in ("斷線.csv", "未知.csv", "出錯.csv"):
        assert items[name].state == UNSENT and items[name].resendable, name
    assert items["未知.csv"].unconfirmed and not items["斷線.csv"].unconfirmed
    assert items["出錯.csv"].error.code == "unknown_error"
    assert [i.name for i in queue.to_confirm()] == ["未知.csv"]

    client.outcomes.clear()
    assert queue.resend_unsent() == 3
    queue.start(client)
    items = {i.name: i for i in settle(queue)}
    assert {name: i.state for name, i in items.items()} == {
        "拒絕.csv": FAILED,
        "斷線.csv": SENT,
        "未知.csv": SENT,
        "出錯.csv": SENT,
    }
    sent_keys = [key for name, key in client.keys if name == "未知.csv"]
    assert len(sent_keys) == 2 and len(set(sent_keys)) == 1  # the same key both times


def test_a_restored_file_is_confirmed_or_picked_again_under_its_key() -> None:
    queue, client = UploadQueue(), FakeClient()
    queue.restore("key-a", "甲.csv", 3)
    queue.restore("key-b", "乙.csv", 2)
    queue.restore("key-a", "甲.csv", 3)  # the same URL read twice
    assert [(i.name, i.state, i.unconfirmed) for i in queue.items()] == [
        ("甲.csv", UNSENT, True),
        ("乙.csv", UNSENT, True),
    ]
    assert not any(i.resendable for i in queue.items())  # the browser must pick them again
    queue.confirm("key-a", {"task_id": "t-a"})
    assert queue.submit("new-id", "乙.csv", b"22", queue.new_batch())  # picked again
    queue.start(client)
    items = {i.name: i for i in settle(queue)}
    assert items["甲.csv"].task_id == "t-a" and items["甲.csv"].state == SENT
    assert client.keys == [("乙.csv", "key-b")]


def test_forget_leaves_files_on_their_way() -> None:
    queue, client = UploadQueue(), FakeClient()
    client.release.clear()  # the first upload waits
    batch = queue.new_batch()
    queue.submit("f1", "一.csv", b"1", batch)
    queue.submit("f2", "二.csv", b"2", batch)
    queue.start(client)
    deadline = time.monotonic() + 5
    while not queue.in_flight() or queue.items()[0].state == QUEUED:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    queue.forget(i.key for i in queue.items())
    assert len(queue.items()) == 2  # both still on their way
    assert [i.name for i in current_batches(queue.items())] == ["一.csv", "二.csv"]
    client.release.set()
    settle(queue)
    assert current_batches(queue.items()) == []
    queue.forget(i.key for i in queue.items())
    assert queue.items() == []


@pytest.mark.parametrize("error", [make_error("file_too_large"), make_error("empty_file")])
def test_a_refused_file_picked_again_is_sent_again(error: AppError) -> None:
    client = FakeClient({"大.csv": error})
    queue = UploadQueue()
    queue.submit("f1", "大.csv", b"x", queue.new_batch())
    queue.start(client)
    assert settle(queue)[0].state == FAILED
    client.outcomes.clear()
    assert queue.submit("f1", "大.csv", b"x", queue.new_batch())
    queue.start(client)
    assert settle(queue)[0].state == SENT
