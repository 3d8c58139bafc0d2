"""Idempotency-Key on every POST that creates a task (IETF HTTPAPI draft, as Stripe does):
a repeat returns the first task, a different request with the key is refused, keys go
with their task, and concurrent duplicates make one task. Runs on every store."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from backend.store import TaskStore
from backend.store.base import Task
from tests.backend.conftest import wait_for

CSV = "品名,數量\n蘋果,3\n香蕉,5\n".encode()


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _total(client: TestClient) -> int:
    return client.get("/api/tasks").json()["total"]


def test_a_repeated_job_request_returns_the_first_task(client: TestClient) -> None:
    key = _key()
    first = client.post("/api/process", json={"data": "x", "delay": 0}, headers=key)
    again = client.post("/api/process", json={"data": "x", "delay": 0}, headers=key)
    assert first.status_code == 202 and "idempotent-replayed" not in first.headers
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["task_id"] == first.json()["task_id"]
    assert again.headers["location"] == first.headers["location"]
    assert _total(client) == 1
    wait_for(client, first.json()["task_id"])
    # after it finished, a repeat still answers with the same task, now completed
    late = client.post("/api/process", json={"data": "x", "delay": 0}, headers=key)
    assert late.status_code == 200 and late.json()["status"] == "completed"
    assert _total(client) == 1


def test_a_lost_answer_is_found_by_its_key(client: TestClient) -> None:
    """The client lost the answer: it asks what became of its action before retrying."""
    key = _key()
    lookup = {"idempotency_key": key["Idempotency-Key"]}
    assert client.get("/api/tasks", params=lookup).json() == {"items": [], "total": 0}
    created = client.post("/api/process", json={"data": "x", "delay": 0}, headers=key).json()
    found = client.get("/api/tasks", params=lookup).json()
    assert found["total"] == 1 and found["items"][0]["task_id"] == created["task_id"]
    assert client.get("/api/tasks", params={**lookup, "kind": "analyze"}).json()["total"] == 0


def test_the_same_key_for_another_request_is_refused(client: TestClient) -> None:
    key = _key()
    assert client.post("/api/process", json={"data": "x", "delay": 0}, headers=key).is_success
    refused = client.post("/api/process", json={"data": "y", "delay": 0}, headers=key)
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "idempotency_key_reused" and "金鑰" in body["detail"]
    assert _total(client) == 1


def test_requests_without_a_key_are_never_merged(client: TestClient) -> None:
    for _ in range(2):
        assert client.post("/api/process", json={"data": "x", "delay": 0}).status_code == 202
    assert _total(client) == 2


def test_a_repeated_upload_keeps_one_task_and_one_file(
    client: TestClient, upload_dir: Path
) -> None:
    key = _key()
    files = {"file": ("報價單.csv", CSV, "text/csv")}
    first = client.post("/api/upload", files=files, headers=key)
    assert first.status_code == 202, first.text
    # the same file again, even through the streaming route, is the same request
    stream_headers = {**key, "X-Filename": "%E5%A0%B1%E5%83%B9%E5%96%AE.csv"}
    again = client.post("/api/upload/stream", content=CSV, headers=stream_headers)
    assert again.status_code == 200 and again.json()["task_id"] == first.json()["task_id"]
    assert _total(client) == 1
    assert wait_for(client, first.json()["task_id"])["status"] == "completed"
    assert [p.name for p in upload_dir.iterdir()] == [f"{first.json()['task_id']}.csv"]


def test_another_file_with_the_same_key_is_refused_and_left_nowhere(
    client: TestClient, upload_dir: Path
) -> None:
    key = _key()
    first = client.post("/api/upload", files={"file": ("a.csv", CSV, "text/csv")}, headers=key)
    other = client.post(
        "/api/upload", files={"file": ("a.csv", CSV + b"\xe8\x8a\xad,1\n", "text/csv")}, headers=key
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert _total(client) == 1
    wait_for(client, first.json()["task_id"])
    assert [p.name for p in upload_dir.iterdir()] == [f"{first.json()['task_id']}.csv"]


def test_a_key_is_freed_with_its_task(client: TestClient) -> None:
    key = _key()
    first = client.post("/api/process", json={"data": "x", "delay": 0}, headers=key).json()
    wait_for(client, first["task_id"])
    assert client.delete(f"/api/task/{first['task_id']}").status_code == 204
    again = client.post("/api/process", json={"data": "x", "delay": 0}, headers=key)
    assert again.status_code == 202 and again.json()["task_id"] != first["task_id"]


def test_a_malformed_key_is_a_validation_error(client: TestClient) -> None:
    for bad in ("has space", "x" * 256, "caf\u00e9"):  # é: HTTP clients send it as Latin-1
        response = client.post(
            "/api/process",
            json={"data": "x", "delay": 0},
            headers={"Idempotency-Key": bad.encode("latin-1")},
        )
        assert response.status_code == 422 and response.json()["code"] == "validation_error"
    assert _total(client) == 0


def test_concurrent_duplicates_make_one_task(client: TestClient) -> None:
    key = _key()
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        response = client.post("/api/process", json={"data": "x", "delay": 0}, headers=key)
        with lock:
            answers.append((response.status_code, response.json()["task_id"]))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({task_id for _, task_id in answers}) == 1
    assert sorted(status for status, _ in answers) == [200] * 7 + [202]
    assert _total(client) == 1


def test_the_store_lets_one_of_many_racing_adds_win(tmp_path: Path, make_client) -> None:
    store: TaskStore = make_client().app.state.store
    winners: list[str] = []
    start = threading.Barrier(10)

    def add(i: int) -> None:
        start.wait()
        stored = store.add(Task(task_id=f"t{i}", kind="process", runner_id="", idempotency_key="k"))
        winners.append(stored.task_id)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(winners)) == 1
    assert store.get_by_key("k").task_id == winners[0]
    assert store.list()[1] == 1
