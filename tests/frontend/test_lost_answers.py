"""The API client when answers are lost: a real backend behind tests/lossy_proxy.py, which
lets the backend act and then resets the connection before its answer reaches the client.

Each test counts the tasks on the backend: a retried action must leave exactly one, and the
client must report what the backend did, not what the lost answer suggests.
"""

from __future__ import annotations

import time

import pytest

from frontend.utils.api_client import APIClient, new_idempotency_key
from frontend.utils.errors import (
    AppError,
    BackendUnavailableError,
    ConflictError,
    NotFoundError,
    UnconfirmedError,
)
from tests.lossy_proxy import LossyProxy
from tests.servers import Server, free_port

CSV = "編號,城市\n1,臺北市\n2,高雄市\n".encode()
TASK = r"/api/tasks/[^/]+"


@pytest.fixture
def client(proxy: LossyProxy) -> APIClient:
    return APIClient(proxy.url, backoff_factor=0.01)


def _total(client: APIClient) -> int:
    return int(client.list_tasks(limit=1)["total"])


def _statuses(proxy: LossyProxy, method: str, path: str) -> list[tuple[int | None, bool]]:
    return [(e.status, e.dropped) for e in proxy.seen(method, path)]


# --- creating a task --------------------------------------------------------------------------


@pytest.mark.slow
def test_lost_answer_to_a_staged_job_is_retried_with_its_key(
    client: APIClient, proxy: LossyProxy, direct: APIClient
) -> None:
    proxy.drop_answer("POST", "/api/process")
    task = client.create_process_task("遺失的回應", 30, idempotency_key=new_idempotency_key())
    assert _statuses(proxy, "POST", "/api/process") == [(202, True), (200, False)]
    assert _total(direct) == 1
    assert direct.get_task(task["task_id"])["status"] in ("pending", "processing")


@pytest.mark.parametrize(
    ("path", "send"),
    [
        ("/api/process", lambda c, key: c.create_process_task("都遺失", 30, idempotency_key=key)),
        ("/api/upload/stream", lambda c, key: c.upload_file("都遺失.csv", CSV, idempotency_key=key)),
        ("/api/upload", lambda c, key: c.upload_file_multipart("都遺失.csv", CSV, idempotency_key=key)),
    ],
    ids=["process", "upload-stream", "upload-multipart"],
)  # fmt: skip
def test_every_answer_lost_then_the_key_finds_the_task(
    client: APIClient, proxy: LossyProxy, direct: APIClient, path: str, send
) -> None:
    proxy.drop_answer("POST", path, times=None)
    key = new_idempotency_key()
    task = send(client, key)
    assert [dropped for _, dropped in _statuses(proxy, "POST", path)] == [True] * 4
    assert [e.headers["idempotency-key"] for e in proxy.seen("POST", path)] == [key] * 4
    assert proxy.seen("GET", "/api/tasks")  # asked what became of it
    assert _total(direct) == 1
    assert direct.find_task_by_key(key)["task_id"] == task["task_id"]


@pytest.mark.slow
def test_read_timeout_is_settled_by_asking(
    own_backend: Server, proxy: LossyProxy, direct: APIClient
) -> None:
    """The answer comes too late: not sent again (the backend may still be at it), asked."""
    client = APIClient(proxy.url, backoff_factor=0.01, upload_read_timeout=0.5)
    proxy.drop_answer("POST", "/api/upload/stream", hold_s=1.5)
    task = client.upload_file("慢.csv", CSV, idempotency_key=new_idempotency_key())
    assert len(proxy.seen("POST", "/api/upload/stream")) == 1
    assert direct.get_task(task["task_id"])["filename"] == "慢.csv"
    assert _total(direct) == 1


def test_nobody_to_ask_is_unconfirmed_and_the_key_still_settles_it(
    client: APIClient, proxy: LossyProxy, direct: APIClient
) -> None:
    proxy.drop_answer("POST", "/api/process", times=None)
    proxy.drop_answer("GET", "/api/tasks", times=None)
    key = new_idempotency_key()
    with pytest.raises(UnconfirmedError) as caught:
        client.create_process_task("問不到", 30, idempotency_key=key)
    assert caught.value.code == "connection_lost"
    assert "還無法確認" in caught.value.action
    proxy.clear_rules()
    # The page keeps the key: asking later, or sending the action again, finds the one task.
    found = client.find_task_by_key(key)
    again = client.create_process_task("問不到", 30, idempotency_key=key)
    assert found is not None and again["task_id"] == found["task_id"]
    assert _total(direct) == 1


def test_nothing_sent_when_the_backend_is_down() -> None:
    client = APIClient(f"http://127.0.0.1:{free_port()}", backoff_factor=0.01)
    with pytest.raises(BackendUnavailableError) as caught:
        client.upload_file("a.csv", CSV, idempotency_key=new_idempotency_key())
    assert caught.value.code == "connection_error"
    assert not isinstance(caught.value, UnconfirmedError)  # nothing can have been created


@pytest.mark.slow
def test_a_different_request_under_a_used_key_is_refused(
    client: APIClient, direct: APIClient
) -> None:
    key = new_idempotency_key()
    client.create_process_task("第一個", 30, idempotency_key=key)
    with pytest.raises(AppError) as caught:
        client.create_process_task("第二個", 30, idempotency_key=key)
    assert caught.value.code == "idempotency_key_reused"
    assert _total(direct) == 1


# --- cancel and delete ------------------------------------------------------------------------


def test_lost_answer_to_cancel_and_delete_is_success(
    client: APIClient, proxy: LossyProxy, direct: APIClient
) -> None:
    task = direct.create_process_task("取消", 60)
    proxy.drop_answer("POST", f"{TASK}/cancel")
    cancelled = client.cancel_task(task["task_id"])
    assert cancelled["status"] == "cancelled"
    assert _statuses(proxy, "POST", f"{TASK}/cancel") == [(200, True), (409, False)]

    proxy.drop_answer("DELETE", TASK)
    assert client.delete_task(task["task_id"]) is None
    assert _statuses(proxy, "DELETE", TASK) == [(204, True), (404, False)]
    assert _total(direct) == 0


def test_every_answer_to_cancel_and_delete_lost(
    client: APIClient, proxy: LossyProxy, direct: APIClient
) -> None:
    task = direct.create_process_task("取消", 60)
    proxy.drop_answer("POST", f"{TASK}/cancel", times=None)
    proxy.drop_answer("DELETE", TASK, times=None)
    assert client.cancel_task(task["task_id"])["status"] == "cancelled"
    client.delete_task(task["task_id"])
    assert _total(direct) == 0


@pytest.mark.slow
def test_without_a_lost_answer_409_and_404_are_still_errors(
    client: APIClient, direct: APIClient
) -> None:
    task = direct.create_process_task("已取消", 60)
    direct.cancel_task(task["task_id"])
    with pytest.raises(ConflictError) as caught:
        client.cancel_task(task["task_id"])
    assert "取消" in caught.value.message
    direct.delete_task(task["task_id"])
    with pytest.raises(NotFoundError):
        client.delete_task(task["task_id"])


@pytest.mark.slow
def test_throttled_upload_takes_its_time(own_backend: Server, direct: APIClient) -> None:
    """The proxy's throttle, which the page tests use to interrupt uploads, holds."""
    with LossyProxy(own_backend.url, bytes_per_s=100_000) as slow:
        client = APIClient(slow.url)
        started = time.monotonic()
        client.upload_file("慢慢來.csv", CSV * 10_000, idempotency_key=new_idempotency_key())
        elapsed = time.monotonic() - started
    # About 300 KB at 100 KB/s: at least 2 s (a busy machine can only add to it).
    assert elapsed > 2.0, elapsed
    assert _total(direct) == 1
