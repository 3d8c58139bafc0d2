"""APIClient against the real backend, plus small stub servers for what the backend never
does on purpose: answer 503, hang, or drop the connection in the middle of an upload."""

from __future__ import annotations

import io
import json
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import openpyxl
import pytest

from backend.errors import ERRORS
from frontend.utils import api_client
from frontend.utils.api_client import APIClient
from frontend.utils.errors import (
    ACTIONS,
    CLIENT_ERRORS,
    AppError,
    AuthError,
    BackendTimeoutError,
    BackendUnavailableError,
    ConflictError,
    FileError,
    NotFoundError,
    ValidationError,
    backend_error,
)
from tests.frontend.conftest import API_KEY, MAX_UPLOAD_MB, wait_task
from tests.servers import Server, free_port

CSV = "編號,城市,金額\n1,臺北市,100\n2,高雄市,250.5\n".encode()


def _is_zh(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# --- stub servers ------------------------------------------------------------------------

Reply = tuple[int, dict[str, str], bytes]


@contextmanager
def stub_server(respond: Callable[[BaseHTTPRequestHandler], Reply]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            status, headers, body = respond(self)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _reply

        def log_message(self, *args: Any) -> None:
            pass

    class QuietServer(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # clients that time out on purpose hang up mid-reply

    server = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _json_reply(status: int, body: object, content_type: str = "application/json") -> Reply:
    return status, {"Content-Type": content_type}, json.dumps(body).encode()


# --- the real backend: every endpoint -------------------------------------------------------


def test_health_and_config(client: APIClient) -> None:
    assert client.health()["status"] == "ok"
    assert client.check_backend_connection().ok
    config = client.get_config()
    assert config["max_upload_bytes"] == MAX_UPLOAD_MB * 1024 * 1024
    assert ".csv" in config["allowed_extensions"]


def test_process_task_lifecycle(client: APIClient) -> None:
    task = client.create_process_task("範例資料", 0)
    assert task["kind"] == "process"
    assert task["status"] in {"pending", "processing"}
    done = wait_task(client, task["task_id"])
    assert done["status"] == "completed"
    assert done["result"] == {"processed_data": "已處理: 範例資料"}

    listed = client.list_tasks(status="completed", kind="process", limit=500)
    assert task["task_id"] in [item["task_id"] for item in listed["items"]]
    assert listed["total"] >= 1

    report = client.download_result(task["task_id"])
    assert report.filename == "長時間處理_結果.json"
    assert json.loads(report.content) == done["result"]

    client.delete_task(task["task_id"])
    with pytest.raises(NotFoundError):
        client.get_task(task["task_id"])


@pytest.mark.slow
def test_upload_stream_reports_progress_and_analyses(client: APIClient) -> None:
    content = CSV + b"".join(f"{i},臺中市,{i}\n".encode() for i in range(3, 40_000))
    assert len(content) > 3 * 256 * 1024  # several chunks
    seen: list[tuple[int, int]] = []
    task = client.upload_file("報價單.csv", content, lambda sent, total: seen.append((sent, total)))
    assert task["kind"] == "analyze"
    assert task["filename"] == "報價單.csv"
    assert task["size_bytes"] == len(content)
    sent = [s for s, _ in seen]
    assert sent == sorted(sent) and len(sent) >= 4
    assert seen[-1] == (len(content), len(content))
    done = wait_task(client, task["task_id"])
    assert done["status"] == "completed", done["error"]
    assert done["result"]["tables"][0]["rows"] == 39_999


def test_excel_report_and_search_by_file_name(client: APIClient) -> None:
    task = client.upload_file("客戶報表.csv", CSV)
    wait_task(client, task["task_id"])
    report = client.download_result(task["task_id"], "xlsx", "Asia/Taipei")
    assert report.filename == "客戶報表_分析報告.xlsx"
    summary = openpyxl.load_workbook(io.BytesIO(report.content))["摘要"]
    assert "分析完成時間（Asia/Taipei）" in [row[0].value for row in summary.iter_rows()]
    found = client.list_tasks(q="  報表  ", kind="analyze")
    assert task["task_id"] in [item["task_id"] for item in found["items"]]
    assert all("報表" in item["filename"] for item in found["items"])
    assert client.list_tasks(q="沒有這個檔名")["total"] == 0
    assert client.list_tasks(q="   ")["total"] == client.list_tasks()["total"]  # no filter


@pytest.mark.slow
def test_a_report_in_another_format_than_asked_is_refused() -> None:
    """A backend that does not know ?format=xlsx would send its JSON report instead."""
    paths: list[str] = []

    def respond(request: BaseHTTPRequestHandler) -> Reply:
        paths.append(request.path)
        return _json_reply(200, {"tables": []})

    with stub_server(respond) as url, pytest.raises(AppError) as caught:
        APIClient(url).download_result("t1", "xlsx")
    assert caught.value.code == "invalid_response"
    assert paths == ["/api/tasks/t1/result?format=xlsx"]


def test_upload_multipart(client: APIClient) -> None:
    task = client.upload_file_multipart("銷售.csv", CSV)
    assert task["filename"] == "銷售.csv"
    wait_task(client, task["task_id"])


def test_cancel_running_task(client: APIClient) -> None:
    task = client.create_process_task("x", 30)
    cancelled = client.cancel_task(task["task_id"])
    assert cancelled["status"] == "cancelled"


# --- the real backend: every error code it can be made to answer ------------------------------


def test_every_backend_code_has_zh_tw_text(client: APIClient) -> None:
    """The backend words each code (title, detail); the frontend says what to do about it."""
    errors = client.vocabulary()["errors"]
    assert set(ERRORS) == set(errors)
    assert set(errors) <= set(ACTIONS)
    for code in errors:
        error = backend_error(client.vocabulary(), code)
        assert error.code == code
        assert _is_zh(error.title) and _is_zh(error.message) and _is_zh(error.action), code
    for code, text in CLIENT_ERRORS.items():
        assert _is_zh(text["title"]) and _is_zh(text["detail"]) and _is_zh(ACTIONS[code]), code


@pytest.mark.slow
def test_invalid_api_key(auth_backend: Server) -> None:
    assert APIClient(auth_backend.url, API_KEY).get_config()["auth_required"] is True
    for key in ("", "wrong"):
        with pytest.raises(AuthError) as caught:
            APIClient(auth_backend.url, key).get_config()
        assert caught.value.code == "invalid_api_key"
        assert caught.value.status == 401
        assert _is_zh(caught.value.message)
    # Health needs no key: the sidebar can tell "down" from "wrong key".
    assert APIClient(auth_backend.url, "wrong").check_backend_connection().ok


def test_not_found_when_url_has_api_suffix(backend: Server) -> None:
    with pytest.raises(NotFoundError) as caught:
        APIClient(f"{backend.url}/api").health()
    assert caught.value.code == "not_found"
    assert "設定" in caught.value.action


def test_method_not_allowed(client: APIClient) -> None:
    with pytest.raises(AppError) as caught:
        client._request("DELETE", "/api/tasks")
    assert caught.value.code == "method_not_allowed"
    assert caught.value.status == 405


def test_validation_error_carries_field_errors(client: APIClient) -> None:
    with pytest.raises(ValidationError) as caught:
        client.create_process_task("", 99_999)
    error = caught.value
    assert error.code == "validation_error"
    assert error.status == 422
    fields = {item["field"] for item in error.details["errors"]}
    assert fields == {"data", "delay"}
    assert "長度至少" in error.message


def test_task_not_found(client: APIClient) -> None:
    for call in (client.get_task, client.cancel_task, client.delete_task, client.download_result):
        with pytest.raises(NotFoundError) as caught:
            call("no-such-task")
        assert caught.value.code == "task_not_found"


def test_conflicts(client: APIClient) -> None:
    running = client.create_process_task("x", 30)
    try:
        with pytest.raises(ConflictError) as caught:
            client.delete_task(running["task_id"])
        assert caught.value.code == "task_not_finished"
        with pytest.raises(ConflictError) as caught:
            client.download_result(running["task_id"])
        assert caught.value.code == "task_not_finished"
    finally:
        client.cancel_task(running["task_id"])
    with pytest.raises(ConflictError) as caught:
        client.cancel_task(running["task_id"])
    assert caught.value.code == "task_not_cancellable"
    assert "取消" in caught.value.message


def test_missing_file(client: APIClient) -> None:
    with pytest.raises(FileError) as caught:
        client._request("POST", "/api/upload", data={"note": "沒有檔案"})
    assert caught.value.code == "missing_file"


@pytest.mark.parametrize(
    ("filename", "content", "code", "status"),
    [
        ("a/b.csv", CSV, "invalid_filename", 400),
        ("CON.csv", CSV, "invalid_filename", 400),
        ("報表.exe", CSV, "unsupported_file_type", 415),
        ("空的.csv", b"", "empty_file", 400),
        ("大.csv", b"1\n" * (MAX_UPLOAD_MB * 1024 * 1024), "file_too_large", 413),
        ("假的.xlsx", b"not a zip file", "invalid_file_format", 422),
        ("圖.csv", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "invalid_file_format", 422),
    ],
)
def test_upload_errors(
    client: APIClient, filename: str, content: bytes, code: str, status: int
) -> None:
    with pytest.raises(FileError) as caught:
        client.upload_file(filename, content)
    assert caught.value.code == code
    assert caught.value.status == status
    assert _is_zh(caught.value.message)


@pytest.mark.slow
def test_analysis_failure_is_a_task_error(client: APIClient) -> None:
    task = client.upload_file("壞掉.json", b'[{"a": 1}, {"a": ')
    done = wait_task(client, task["task_id"])
    assert done["status"] == "failed"
    assert done["error"]["code"] in client.vocabulary()["errors"]


# --- transport failures -----------------------------------------------------------------------


@pytest.mark.slow
def test_retries_idempotent_call_on_503() -> None:
    calls: list[str] = []

    def respond(request: BaseHTTPRequestHandler) -> Reply:
        calls.append(request.command)
        if len(calls) <= 2:
            return 503, {"Content-Type": "text/plain"}, b"busy"
        return _json_reply(200, {"task_id": "t1", "status": "completed"})

    with stub_server(respond) as url:
        task = APIClient(url, backoff_factor=0.01).get_task("t1")
    assert task["task_id"] == "t1"
    assert calls == ["GET", "GET", "GET"]


@pytest.mark.slow
def test_gives_up_after_retries_with_zh_message() -> None:
    calls: list[str] = []

    def respond(request: BaseHTTPRequestHandler) -> Reply:
        calls.append(request.command)
        return 503, {"Content-Type": "text/html"}, b"<h1>Service Unavailable</h1>"

    with stub_server(respond) as url, pytest.raises(BackendUnavailableError) as caught:
        APIClient(url, backoff_factor=0.01).list_tasks()
    assert caught.value.code == "service_unavailable"
    assert caught.value.status == 503
    assert len(calls) == 4  # first try + 3 retries


@pytest.mark.slow
def test_task_creation_is_retried_with_one_idempotency_key() -> None:
    """A 503 to a POST that creates a task is retried with the same key each time; when every
    attempt failed, the backend is asked about the key before the cause is reported."""
    calls: list[tuple[str, str, str | None]] = []

    def respond(request: BaseHTTPRequestHandler) -> Reply:
        calls.append((request.command, request.path, request.headers.get("Idempotency-Key")))
        if request.command == "GET":
            return _json_reply(200, {"items": [], "total": 0})
        return 503, {"Content-Type": "text/plain"}, b"busy"

    with stub_server(respond) as url:
        client = APIClient(url, backoff_factor=0.01)
        with pytest.raises(BackendUnavailableError) as caught:
            client.create_process_task("x", 1, idempotency_key="action-1")
        assert caught.value.code == "service_unavailable"
        with pytest.raises(BackendUnavailableError):
            client.upload_file("a.csv", CSV, idempotency_key="action-2")
    assert calls == [
        *[("POST", "/api/process", "action-1")] * 4,
        ("GET", "/api/tasks?idempotency_key=action-1&limit=1", None),
        *[("POST", "/api/upload/stream", "action-2")] * 4,
        ("GET", "/api/tasks?idempotency_key=action-2&limit=1", None),
    ]


def test_without_a_key_each_call_gets_its_own(client: APIClient) -> None:
    first = client.create_process_task("沒有金鑰", 0)
    second = client.create_process_task("沒有金鑰", 0)
    assert first["task_id"] != second["task_id"]
    with_key = client.create_process_task("有金鑰", 0, idempotency_key="same-action")
    again = client.create_process_task("有金鑰", 0, idempotency_key="same-action")
    assert again["task_id"] == with_key["task_id"]
    assert client.find_task_by_key("same-action")["task_id"] == with_key["task_id"]
    assert client.find_task_by_key("no-such-action") is None


@pytest.mark.slow
def test_problem_json_from_any_server_keeps_code_and_detail() -> None:
    body = {
        "type": "x",
        "title": "t",
        "status": 500,
        "detail": "伺服器忙線中。",
        "code": "internal_error",
    }

    reply = _json_reply(500, body, "application/problem+json")
    with stub_server(lambda _r: reply) as url, pytest.raises(AppError) as caught:
        APIClient(url, backoff_factor=0.01).get_config()
    assert caught.value.code == "internal_error"
    assert caught.value.message == "伺服器忙線中。"


@pytest.mark.slow
def test_a_code_the_frontend_does_not_know_is_shown_in_the_backends_words() -> None:
    body = {"title": "新的錯誤", "status": 400, "detail": "後端新增的說明。", "code": "brand_new"}
    reply = _json_reply(400, body, "application/problem+json")
    with stub_server(lambda _r: reply) as url, pytest.raises(AppError) as caught:
        APIClient(url).get_config()
    assert (caught.value.code, caught.value.title) == ("brand_new", "新的錯誤")
    assert caught.value.message == "後端新增的說明。"
    assert _is_zh(caught.value.action)


@pytest.mark.slow
def test_bare_413_from_a_proxy_is_worded_from_the_vocabulary(vocabulary: dict) -> None:
    def respond(request: BaseHTTPRequestHandler) -> Reply:
        if request.path == "/api/vocabulary":
            return _json_reply(200, vocabulary)
        return 413, {"Content-Type": "text/html"}, b"<h1>413 Request Entity Too Large</h1>"

    with stub_server(respond) as url, pytest.raises(FileError) as caught:
        APIClient(url).upload_file("大.csv", CSV)
    assert caught.value.code == "file_too_large"
    assert caught.value.status == 413
    assert caught.value.title == vocabulary["errors"]["file_too_large"]["title"]
    assert caught.value.message == vocabulary["errors"]["file_too_large"]["detail"]


def test_vocabulary_needs_the_key(auth_backend: Server) -> None:
    assert APIClient(auth_backend.url, API_KEY).vocabulary()["statuses"]["completed"] == "已完成"
    with pytest.raises(AuthError):
        APIClient(auth_backend.url, "wrong").vocabulary()


@pytest.mark.slow
def test_vocabulary_is_kept_and_outlives_a_backend_going_down(
    vocabulary: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    up = [True]

    def respond(request: BaseHTTPRequestHandler) -> Reply:
        calls.append(request.path)
        if not up[0]:
            return 503, {"Content-Type": "text/plain"}, b"busy"
        return _json_reply(200, vocabulary)

    with stub_server(respond) as url:
        client = APIClient(url, backoff_factor=0.01)
        assert client.vocabulary() == client.vocabulary() == vocabulary
        assert calls == ["/api/vocabulary"]
        monkeypatch.setattr(api_client, "VOCABULARY_TTL_S", 0)
        up[0] = False
        assert client.vocabulary() == vocabulary  # the copy it had
        assert len(calls) == 1 + 4  # asked again (first try + 3 retries), then kept the copy
        with pytest.raises(BackendUnavailableError):
            APIClient(url, backoff_factor=0.01).vocabulary()  # no copy to fall back on


@pytest.mark.slow
def test_non_json_success_is_invalid_response() -> None:
    html = (200, {"Content-Type": "text/html"}, b"<html></html>")
    with stub_server(lambda _r: html) as url, pytest.raises(AppError) as caught:
        APIClient(url).health()
    assert caught.value.code == "invalid_response"


@pytest.mark.slow
def test_timeout() -> None:
    calls: list[str] = []

    def respond(request: BaseHTTPRequestHandler) -> Reply:
        calls.append(request.path)
        time.sleep(1.5)
        return _json_reply(200, {})

    with stub_server(respond) as url:
        with pytest.raises(BackendTimeoutError) as caught:
            APIClient(url, timeout=(1, 0.3), backoff_factor=0.01).get_task("t")
        asked = len(calls)
    assert caught.value.code == "timeout_error"
    assert asked == 2  # one retry of a read timeout, not four
    assert _is_zh(caught.value.message)


def test_connection_refused() -> None:
    client = APIClient(f"http://127.0.0.1:{free_port()}", backoff_factor=0.01)
    with pytest.raises(BackendUnavailableError) as caught:
        client.health()
    assert caught.value.code == "connection_error"
    assert "./run.sh" in caught.value.action  # how to start the backend
    assert not client.check_backend_connection().ok
    with pytest.raises(BackendUnavailableError):
        client.upload_file("a.csv", CSV)


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://host", "", "http://"])
def test_invalid_url(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        APIClient(url)
    assert caught.value.code == "invalid_url"


class _DropUploads(socketserver.BaseRequestHandler):
    """A backend that resets the connection during every upload, and answers the questions
    the client then asks: no task has the upload's key, and what the upload limit is."""

    max_upload_bytes = 0
    vocabulary: ClassVar[dict] = {}

    def handle(self) -> None:
        request_line = self.request.recv(65536)
        if request_line.startswith(b"GET"):
            if b"/api/tasks" in request_line:
                body = json.dumps({"items": [], "total": 0}).encode()
            elif b"/api/vocabulary" in request_line:
                body = json.dumps(self.vocabulary).encode()
            else:
                body = json.dumps({"max_upload_bytes": self.max_upload_bytes}).encode()
            self.request.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )
            return
        # Abort with RST (linger 0) while the client is still sending.
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.request.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("limit", "code"),
    [(4 * 1024 * 1024, "file_too_large"), (64 * 1024 * 1024, "connection_lost")],
)
def test_upload_dropped_mid_way_says_why(vocabulary: dict, limit: int, code: str) -> None:
    """Over the limit, the drop was the backend refusing the file; within it, the connection
    was lost: never "usually because the file is too large" when it is not."""
    handler = type(
        "Handler", (_DropUploads,), {"max_upload_bytes": limit, "vocabulary": vocabulary}
    )
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = APIClient(f"http://127.0.0.1:{server.server_address[1]}", backoff_factor=0.01)
        with pytest.raises(AppError) as caught:
            client.upload_file("大.csv", b"1\n" * (4 * 1024 * 1024), idempotency_key="k")
        assert caught.value.code == code
        assert "通常" not in caught.value.message
        if code == "connection_lost":
            assert "後端確認沒有建立任務" in caught.value.message
        else:
            assert caught.value.message == "檔案有 8.0 MB，超過上限 4.0 MB。"
            assert caught.value.title == vocabulary["errors"]["file_too_large"]["title"]
    finally:
        server.shutdown()
        server.server_close()


def test_upload_with_api_key(auth_backend: Server) -> None:
    client = APIClient(auth_backend.url, API_KEY)
    task = client.upload_file("金鑰.csv", CSV)
    assert wait_task(client, task["task_id"])["status"] == "completed"
    with pytest.raises(AuthError):
        APIClient(auth_backend.url, "wrong").upload_file("金鑰.csv", CSV)
