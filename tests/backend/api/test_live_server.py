"""Against a real uvicorn process: streaming, aborted uploads, WebSocket, restarts and crashes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
import websockets

from tests.servers import Server, start_backend

pytestmark = pytest.mark.slow  # real uvicorn servers started, killed and restarted

FINAL = {"completed", "failed", "cancelled"}


@pytest.fixture
def server(tmp_path: Path):
    srv = start_backend(tmp_path / "srv", max_upload_mb=64)
    yield srv
    srv.stop()


def wait_for(url: str, task_id: str, statuses=FINAL, timeout: float = 30, headers=None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = requests.get(f"{url}/api/task/{task_id}", headers=headers, timeout=5).json()
        if task.get("status") in statuses:
            return task
        time.sleep(0.05)
    raise AssertionError(f"{task_id} never reached {statuses}: {task}")


def start_process(url: str, data: str, delay: int, headers: dict | None = None) -> str:
    response = requests.post(
        f"{url}/api/process", json={"data": data, "delay": delay}, headers=headers, timeout=5
    )
    assert response.status_code == 202, response.text
    return response.json()["task_id"]


def uploads(srv: Server) -> list[Path]:
    return sorted((Path(srv.env["UPLOAD_DIR"])).iterdir())


def test_streamed_upload_arrives_intact(server: Server) -> None:
    body = b"id,value\n" + b"".join(b"%d,%d.5\n" % (i, i) for i in range(2_000_000))
    assert len(body) > 20 * 1024 * 1024

    def chunks():
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    response = requests.post(
        f"{server.url}/api/upload/stream",
        data=chunks(),
        headers={"X-Filename": quote("大檔案.csv")},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    task = response.json()
    assert task["size_bytes"] == len(body)
    [stored] = uploads(server)
    assert hashlib.sha256(stored.read_bytes()).digest() == hashlib.sha256(body).digest()
    requests.delete(f"{server.url}/api/task/{task['task_id']}/cancel", timeout=5)


def test_oversize_chunked_upload_is_refused_and_removed(tmp_path: Path) -> None:
    srv = start_backend(tmp_path / "small", max_upload_mb=1)
    try:

        def chunks():
            for _ in range(200):
                yield b"x" * 65536

        response = requests.post(f"{srv.url}/api/upload/stream", data=chunks(),
                                 headers={"X-Filename": "big.csv"}, timeout=30)  # fmt: skip
        assert response.status_code == 413 and response.json()["code"] == "file_too_large"
        assert uploads(srv) == []
        assert requests.get(f"{srv.url}/api/tasks", timeout=5).json()["total"] == 0
    finally:
        srv.stop()


@pytest.mark.parametrize("path", ["/api/upload/stream", "/api/upload"])
def test_aborted_upload_leaves_nothing(server: Server, path: str) -> None:
    host, port = "127.0.0.1", server.port
    if path.endswith("stream"):
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nX-Filename: a.csv\r\n"
                "Content-Length: 10000000\r\n\r\n").encode()  # fmt: skip
        first = b"a,b\n" * 50_000
    else:
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 10000000\r\n\r\n").encode()  # fmt: skip
        first = (
            b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
            + b"a,b\n" * 50_000
        )
    with socket.create_connection((host, port)) as sock:
        sock.sendall(head + first)
        time.sleep(0.5)
        partial = uploads(server)
        assert len(partial) == 1 and partial[0].name.endswith(".part")  # it was being written
    deadline = time.monotonic() + 5
    while uploads(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uploads(server) == []
    assert requests.get(f"{server.url}/api/tasks", timeout=5).json()["total"] == 0
    assert requests.get(f"{server.url}/", timeout=5).json()["status"] == "ok"


async def _collect(url: str, headers=None) -> tuple[list[dict], int | None]:
    messages = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        try:
            async for raw in ws:
                messages.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        return messages, ws.close_code


def test_websocket_sends_current_state_then_changes_then_closes(server: Server) -> None:
    task_id = start_process(server.url, "ws", 2)
    ws_url = server.url.replace("http", "ws") + f"/ws/task/{task_id}"
    messages, code = asyncio.run(_collect(ws_url))
    assert code == 1000
    assert messages[0]["task_id"] == task_id and messages[0]["status"] in {"pending", "processing"}
    assert messages[-1]["status"] == "completed"
    assert messages[-1]["result"] == {"processed_data": "已處理: ws"}
    progress = [m["progress"] for m in messages]
    assert progress == sorted(progress) and len(messages) >= 5
    # A late subscriber gets the final state at once, then the close.
    messages, code = asyncio.run(_collect(ws_url))
    assert code == 1000 and [m["status"] for m in messages] == ["completed"]


def test_websocket_unknown_task_closes_4404(server: Server) -> None:
    messages, code = asyncio.run(_collect(server.url.replace("http", "ws") + "/ws/task/nope"))
    assert messages == [] and code == 4404


def test_websocket_and_api_key_never_logged(tmp_path: Path) -> None:
    srv = start_backend(tmp_path / "auth", api_key="topsecret-key-123")
    try:
        headers = {"X-API-Key": "topsecret-key-123"}
        task_id = start_process(srv.url, "k", 0, headers=headers)  # fmt: skip
        base = srv.url.replace("http", "ws") + f"/ws/task/{task_id}"
        assert asyncio.run(_collect(base))[1] == 4401
        assert asyncio.run(_collect(base + "?api_key=wrong"))[1] == 4401
        messages, code = asyncio.run(_collect(base + "?api_key=topsecret-key-123"))
        assert code == 1000 and messages[-1]["status"] == "completed"
        messages, code = asyncio.run(_collect(base, headers=headers))
        assert code == 1000
        requests.get(f"{srv.url}/api/tasks?api_key=topsecret-key-123", timeout=5)
        time.sleep(0.3)
    finally:
        srv.stop()
    log = srv.log()
    assert "/ws/task/" in log  # the connections were logged...
    assert "topsecret-key-123" not in log  # ...but never the key


def _sqlite_server(tmp_path: Path, name: str, db: Path, **settings) -> Server:
    settings = {
        "heartbeat_s": 0.5,
        **settings,
    }  # stale after 1.5 s: a loaded CI box still beats in time
    return start_backend(tmp_path / name, task_store=f"sqlite:///{db}", **settings)


def test_sqlite_store_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "tasks.db"
    first = _sqlite_server(tmp_path, "a", db)
    task_id = start_process(first.url, "持久", 0)
    wait_for(first.url, task_id)
    first.stop()
    second = _sqlite_server(tmp_path, "b", db)
    try:
        task = requests.get(f"{second.url}/api/task/{task_id}", timeout=5).json()
        assert task["status"] == "completed" and task["result"] == {
            "processed_data": "已處理: 持久"
        }
    finally:
        second.stop()


def test_a_killed_server_leaves_interrupted_tasks_not_stuck_ones(tmp_path: Path) -> None:
    db = tmp_path / "tasks.db"
    first = _sqlite_server(tmp_path, "a", db, max_concurrent_tasks=1)
    running = start_process(first.url, "a", 60)
    waiting = start_process(first.url, "b", 60)
    wait_for(first.url, running, {"processing"})
    first.kill()  # kill -9: no shutdown hook runs
    second = _sqlite_server(tmp_path, "b", db)
    try:
        for task_id in (running, waiting):
            task = wait_for(second.url, task_id, timeout=10)
            assert task["status"] == "failed", task
            assert task["error"]["code"] == "interrupted"
    finally:
        second.stop()


def test_one_worker_restarting_does_not_touch_another_workers_tasks(tmp_path: Path) -> None:
    """Two processes share one sqlite store, like `uvicorn --workers 2`."""
    db = tmp_path / "tasks.db"
    worker_a = _sqlite_server(tmp_path, "a", db)
    worker_b = _sqlite_server(tmp_path, "b", db)
    try:
        task_id = start_process(worker_a.url, "a", 3)
        wait_for(worker_a.url, task_id, {"processing"})
        worker_b.kill()
        worker_b = _sqlite_server(tmp_path, "b2", db)
        # worker B sees A's task progressing, and can cancel-check it, but never interrupts it
        seen = wait_for(worker_b.url, task_id, timeout=15)
        assert seen["status"] == "completed", seen
    finally:
        worker_a.stop()
        worker_b.stop()


def test_cancel_through_another_worker_stops_the_job(tmp_path: Path) -> None:
    db = tmp_path / "tasks.db"
    worker_a = _sqlite_server(tmp_path, "a", db)
    worker_b = _sqlite_server(tmp_path, "b", db)
    try:
        task_id = start_process(worker_a.url, "a", 60)
        wait_for(worker_a.url, task_id, {"processing"})
        response = requests.delete(f"{worker_b.url}/api/task/{task_id}/cancel", timeout=5)
        assert response.json()["status"] == "cancelled"
        time.sleep(1.5)
        # A noticed and freed its slot: its next task runs
        again = start_process(worker_a.url, "b", 0)
        assert wait_for(worker_a.url, again)["status"] == "completed"
        assert (
            requests.get(f"{worker_a.url}/api/task/{task_id}", timeout=5).json()["status"]
            == "cancelled"
        )
    finally:
        worker_a.stop()
        worker_b.stop()


def test_graceful_shutdown_marks_running_tasks_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "tasks.db"
    srv = _sqlite_server(tmp_path, "a", db)
    task_id = start_process(srv.url, "a", 60)
    wait_for(srv.url, task_id, {"processing"})
    srv.stop()
    again = _sqlite_server(
        tmp_path, "b", db, heartbeat_s=60
    )  # no sweep needed: it was marked at shutdown
    try:
        task = requests.get(f"{again.url}/api/task/{task_id}", timeout=5).json()
        assert task["status"] == "failed" and task["error"]["code"] == "interrupted"
    finally:
        again.stop()
