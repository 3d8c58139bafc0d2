"""The HTTP contract, run against both stores (memory and sqlite)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backend.service import create_task
from tests.backend.conftest import assert_problem, wait_for


def test_health_reports_store_and_counts(client: TestClient, store_kind: str) -> None:
    body = client.get("/").json()
    deadline = time.monotonic() + 3
    while store_kind == "celery" and not body["workers_online"] and time.monotonic() < deadline:
        time.sleep(0.1)  # the store was emptied for this test: the worker's next beat
        body = client.get("/").json()
    assert body["status"] == "ok"
    if store_kind == "celery":
        assert (body["store"], body["runner"]) == ("redis", "celery")
        assert body["workers_online"] == 1 and body["queue_length"] == 0
    else:
        assert (body["store"], body["runner"]) == (store_kind, "local")
        assert body["workers_online"] is None and body["queue_length"] is None
    assert body["tasks"] == {
        "pending": 0,
        "processing": 0,
        "completed": 0,
        "failed": 0,
        "cancelled": 0,
    }
    assert body["version"]


def test_public_config(make_client) -> None:
    client = make_client(max_upload_mb=3, allowed_extensions=".csv,.json")
    body = client.get("/api/config").json()
    assert body["max_upload_mb"] == 3
    assert body["max_upload_bytes"] == 3 * 1024 * 1024
    assert body["allowed_extensions"] == [".csv", ".json"]
    assert body["auth_required"] is False


def test_openapi_documents_every_route_in_chinese(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) >= 10
    for operation in operations:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in operation["summary"]), operation["summary"]
    assert client.get("/docs").status_code == 200
    upload = schema["paths"]["/api/upload"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]


@pytest.mark.slow
def test_process_runs_through_the_stages(client: TestClient) -> None:
    response = client.post("/api/process", json={"data": "報價單", "delay": 1})
    assert response.status_code == 202
    task = response.json()
    assert response.headers["location"] == f"/api/tasks/{task['task_id']}"
    assert task["kind"] == "process" and task["status"] == "pending" and task["progress"] == 0
    seen_progress, seen_messages = [], []
    while task["status"] not in {"completed", "failed", "cancelled"}:
        time.sleep(0.05)
        task = client.get(f"/api/task/{task['task_id']}").json()
        seen_progress.append(task["progress"])
        seen_messages.append(task["message"])
    assert task["status"] == "completed", task
    assert task["result"] == {"processed_data": "已處理: 報價單"}
    assert task["progress"] == 100 and task["error"] is None
    assert seen_progress == sorted(seen_progress), "progress went down"
    for stage in ("正在載入資料", "正在處理資料", "正在生成結果"):
        assert stage in seen_messages
    assert task["message"] == "處理完成"
    assert task["created_at"].endswith("Z") and task["finished_at"] >= task["started_at"]


def test_cancel_a_running_task_takes_effect_quickly(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_concurrent_tasks=1)  # the other task waits for the cancelled one
    task_id = client.post("/api/process", json={"data": "x", "delay": 30}).json()["task_id"]
    wait_for(client, task_id, {"processing"})
    response = client.delete(f"/api/task/{task_id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["message"] == "任務已取消"
    # the slot is free again (the job process was stopped): a new task runs to the end,
    # long before the 30 s the cancelled one would have taken
    other = client.post("/api/process", json={"data": "y", "delay": 0}).json()["task_id"]
    assert wait_for(client, other, timeout=20)["status"] == "completed"
    task = client.get(f"/api/task/{task_id}").json()
    assert task["status"] == "cancelled" and task["finished_at"]  # and it stayed cancelled
    assert_problem(client.delete(f"/api/task/{task_id}/cancel"), 409, "task_not_cancellable")


@pytest.mark.slow
def test_cancel_a_pending_task_never_runs_it(make_client) -> None:
    client = make_client(max_concurrent_tasks=1)
    first = client.post("/api/process", json={"data": "a", "delay": 30}).json()["task_id"]
    second = client.post("/api/process", json={"data": "b", "delay": 0}).json()["task_id"]
    wait_for(client, first, {"processing"})
    assert client.get(f"/api/task/{second}").json()["status"] == "pending"
    assert client.delete(f"/api/task/{second}/cancel").json()["status"] == "cancelled"
    client.delete(f"/api/task/{first}/cancel")
    time.sleep(0.5)
    task = client.get(f"/api/task/{second}").json()
    assert task["status"] == "cancelled" and task["started_at"] is None and task["result"] is None


@pytest.mark.slow
def test_concurrency_limit_keeps_the_rest_pending(make_client) -> None:
    client = make_client(max_concurrent_tasks=2)
    ids = [
        client.post("/api/process", json={"data": str(i), "delay": 30}).json()["task_id"]
        for i in range(3)
    ]
    wait_for(client, ids[0], {"processing"})
    wait_for(client, ids[1], {"processing"})
    time.sleep(0.5)
    assert client.get(f"/api/task/{ids[2]}").json()["status"] == "pending"
    assert client.get("/").json()["tasks"]["processing"] == 2
    for task_id in ids:
        client.delete(f"/api/task/{task_id}/cancel")


def test_unknown_task_is_404_everywhere(client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/task/nope"),
        ("DELETE", "/api/task/nope/cancel"),
        ("DELETE", "/api/task/nope"),
        ("GET", "/api/task/nope/result"),
    ]:
        assert_problem(client.request(method, path), 404, "task_not_found")


def test_delete_only_finished_tasks(client: TestClient) -> None:
    task_id = client.post("/api/process", json={"data": "x", "delay": 30}).json()["task_id"]
    wait_for(client, task_id, {"processing"})
    assert_problem(client.delete(f"/api/task/{task_id}"), 409, "task_not_finished")
    client.delete(f"/api/task/{task_id}/cancel")
    response = client.delete(f"/api/task/{task_id}")
    assert response.status_code == 204 and response.content == b""
    assert_problem(client.get(f"/api/task/{task_id}"), 404, "task_not_found")


def test_result_download(client: TestClient) -> None:
    task_id = client.post("/api/process", json={"data": "結果", "delay": 0}).json()["task_id"]
    wait_for(client, task_id)
    response = client.get(f"/api/task/{task_id}/result")
    assert response.status_code == 200
    assert response.json() == {"processed_data": "已處理: 結果"}
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" in response.headers["content-disposition"]


def test_result_of_unfinished_task_is_409(client: TestClient) -> None:
    task_id = client.post("/api/process", json={"data": "x", "delay": 30}).json()["task_id"]
    assert_problem(client.get(f"/api/task/{task_id}/result"), 409, "task_not_finished")
    client.delete(f"/api/task/{task_id}/cancel")
    assert_problem(client.get(f"/api/task/{task_id}/result"), 409, "task_not_finished")


def test_list_filters_and_pages_newest_first(client: TestClient) -> None:
    ids = []
    for i in range(4):
        ids.append(client.post("/api/process", json={"data": str(i), "delay": 0}).json()["task_id"])
        time.sleep(0.01)
    for task_id in ids:
        wait_for(client, task_id)
    running = client.post("/api/process", json={"data": "long", "delay": 30}).json()["task_id"]
    body = client.get("/api/tasks").json()
    assert body["total"] == 5
    assert [t["task_id"] for t in body["items"]] == [running, *reversed(ids)]
    page = client.get("/api/tasks", params={"limit": 2, "offset": 1}).json()
    assert [t["task_id"] for t in page["items"]] == [ids[3], ids[2]] and page["total"] == 5
    done = client.get("/api/tasks", params={"status": "completed", "kind": "process"}).json()
    assert done["total"] == 4
    assert client.get("/api/tasks", params={"kind": "analyze"}).json() == {"items": [], "total": 0}
    assert_problem(client.get("/api/tasks", params={"status": "bogus"}), 422, "validation_error")
    assert_problem(client.get("/api/tasks", params={"limit": 0}), 422, "validation_error")
    client.delete(f"/api/task/{running}/cancel")


@pytest.mark.slow
def test_validation_errors_are_chinese(client: TestClient) -> None:
    body = assert_problem(client.post("/api/process", json={"delay": 5}), 422, "validation_error")
    assert body["errors"][0]["field"] == "data" and body["errors"][0]["message"] == "此欄位為必填"
    body = assert_problem(
        client.post("/api/process", json={"data": "x", "delay": 99999}), 422, "validation_error"
    )
    assert "不可大於 3600" in body["detail"]
    assert_problem(
        client.post("/api/process", json={"data": "", "delay": 1}), 422, "validation_error"
    )
    assert_problem(
        client.post(
            "/api/process", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
        "validation_error",
    )
    assert client.get("/").json()["tasks"]["pending"] == 0


# JSON has its own types: a boolean, a string or a number with a decimal point is not an
# integer, and a number is not text. Pydantic's lax mode would read false as 0 and "5" as 5.
WRONG_TYPES = [
    ({"data": "x", "delay": False}, "delay", "必須是整數"),
    ({"data": "x", "delay": True}, "delay", "必須是整數"),
    ({"data": "x", "delay": "5"}, "delay", "必須是整數"),
    ({"data": "x", "delay": "0"}, "delay", "必須是整數"),
    ({"data": "x", "delay": 5.0}, "delay", "必須是整數"),
    ({"data": "x", "delay": 2.5}, "delay", "必須是整數"),
    ({"data": "x", "delay": None}, "delay", "必須是整數"),
    ({"data": "x", "delay": [1]}, "delay", "必須是整數"),
    ({"data": 5, "delay": 0}, "data", "必須是文字"),
    ({"data": False, "delay": 0}, "data", "必須是文字"),
    ({"data": 1.5, "delay": 0}, "data", "必須是文字"),
]


@pytest.mark.parametrize("store_kind", ["memory"])
@pytest.mark.parametrize(("body", "field", "message"), WRONG_TYPES)
def test_json_types_are_strict(client: TestClient, body: dict, field: str, message: str) -> None:
    problem = assert_problem(client.post("/api/process", json=body), 422, "validation_error")
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [(field, message)]
    assert problem["detail"] == f"請求內容不符合規格：{field}：{message}"
    assert client.get("/api/tasks").json()["total"] == 0  # nothing was started


@pytest.mark.parametrize("store_kind", ["memory"])
def test_strict_json_still_takes_the_right_types(client: TestClient) -> None:
    response = client.post("/api/process", json={"data": "x", "delay": 0})
    assert response.status_code == 202, response.text
    wait_for(client, response.json()["task_id"])
    # Query parameters are text on the wire and stay lax: "2" is the integer 2.
    page = client.get("/api/tasks", params={"limit": "2", "offset": "0"}).json()
    assert page["total"] == 1 and len(page["items"]) == 1


def test_404_and_405_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/no/such/path"), 404, "not_found")
    response = client.put("/api/tasks")
    assert_problem(response, 405, "method_not_allowed")
    # RFC 9110: a 405 lists every allowed method, also when two routes share the path
    assert response.headers["allow"] == "GET"
    allowed = client.put("/api/task/x").headers["allow"]
    assert allowed == "GET, DELETE"


def test_unexpected_errors_become_a_plain_500(make_client) -> None:
    client = make_client()
    app: FastAPI = client.app

    def broken() -> None:
        raise RuntimeError("secret internal detail /srv/app/db.py")

    app.add_api_route("/api/broken", broken)
    body = assert_problem(client.get("/api/broken"), 500, "internal_error")
    assert "secret" not in str(body)
    assert client.get("/").status_code == 200


@pytest.mark.slow
def test_timeout_fails_the_task(make_client) -> None:
    client = make_client(task_timeout_s=1)
    task_id = client.post("/api/process", json={"data": "x", "delay": 10}).json()["task_id"]
    task = wait_for(client, task_id, timeout=10)
    assert task["status"] == "failed"
    assert task["error"]["code"] == "task_timeout"
    assert "1 秒" in task["error"]["message"]


def _run_test_job(client: TestClient, kind: str) -> str:
    app = client.app
    task = create_task(app.state.store, kind, {}, runner_id=app.state.runner.pending_runner_id)
    app.state.runner.submit(task.task_id)
    return task.task_id


def test_a_job_exception_fails_the_task_and_is_logged(client: TestClient, job_log) -> None:
    task = wait_for(client, _run_test_job(client, "raise_unexpected"))
    assert task["status"] == "failed"
    assert task["error"] == {
        "code": "job_failed",
        "message": "處理時發生未預期的錯誤，已記錄在伺服器日誌。",
    }
    assert "boom" not in str(task)
    assert "ValueError: boom" in job_log()  # the traceback reaches the server log


def test_a_worker_that_dies_fails_the_task(client: TestClient) -> None:
    task = wait_for(client, _run_test_job(client, "die_hard"))
    assert task["status"] == "failed" and task["error"]["code"] == "job_failed"
    assert client.get("/").status_code == 200


@pytest.mark.slow
def test_cancel_kills_a_job_that_ignores_it(client: TestClient) -> None:
    task_id = _run_test_job(client, "ignore_cancel")
    wait_for(client, task_id, {"processing"})
    client.delete(f"/api/task/{task_id}/cancel")
    # the slot is freed even though the job never checks for cancellation
    other = client.post("/api/process", json={"data": "y", "delay": 0}).json()["task_id"]
    assert wait_for(client, other, timeout=10)["status"] == "completed"
    assert client.get(f"/api/task/{task_id}").json()["status"] == "cancelled"


def test_api_key_guards_every_api_route(make_client) -> None:
    client = make_client(api_key="s3cret-key")
    for method, path in [("GET", "/api/config"), ("GET", "/api/tasks"), ("POST", "/api/process"),
                         ("GET", "/api/task/x"), ("POST", "/api/upload/stream")]:  # fmt: skip
        response = client.request(method, path)
        assert_problem(response, 401, "invalid_api_key")
        assert response.headers["www-authenticate"] == "ApiKey"
    assert_problem(client.get("/api/tasks", headers={"X-API-Key": "wrong"}), 401, "invalid_api_key")
    assert_problem(
        client.get("/api/tasks", headers={"X-API-Key": "s3cret-ke"}), 401, "invalid_api_key"
    )
    assert client.get("/api/tasks", headers={"X-API-Key": "s3cret-key"}).status_code == 200
    assert client.get("/").status_code == 200  # health stays open
    assert client.get("/api/config", headers={"X-API-Key": "s3cret-key"}).json()["auth_required"]


def test_cors_allows_only_configured_origins(make_client) -> None:
    client = make_client(cors_origins="http://localhost:8501")
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-API-Key",
    }
    ok = client.options("/api/process", headers={"Origin": "http://localhost:8501", **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "http://localhost:8501"
    evil = client.options("/api/process", headers={"Origin": "http://evil.example", **preflight})
    assert "access-control-allow-origin" not in evil.headers
    plain = client.get("/", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in plain.headers


@pytest.mark.slow
def test_finished_tasks_expire_after_the_ttl(make_client) -> None:
    client = make_client(task_ttl_s=1, heartbeat_s=0.2)
    task_id = client.post("/api/process", json={"data": "x", "delay": 0}).json()["task_id"]
    wait_for(client, task_id)
    deadline = time.monotonic() + 5
    while client.get(f"/api/task/{task_id}").status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert_problem(client.get(f"/api/task/{task_id}"), 404, "task_not_found")


def test_result_file_is_named_in_chinese(client: TestClient) -> None:
    from urllib.parse import unquote

    task_id = client.post("/api/process", json={"data": "x", "delay": 0}).json()["task_id"]
    wait_for(client, task_id)
    disposition = client.get(f"/api/task/{task_id}/result").headers["content-disposition"]
    assert unquote(disposition.split("UTF-8''")[1]) == "長時間處理_結果.json"


@pytest.mark.slow
def test_tasks_are_found_by_file_name(client: TestClient) -> None:
    from urllib.parse import quote

    ids = {}
    for name in ("月報_Sales.csv", "ＳＡＬＥＳ季報.csv", "客戶名單.csv"):
        response = client.post(
            "/api/upload/stream", content=b"a,b\n1,2\n", headers={"X-Filename": quote(name)}
        )
        ids[name] = response.json()["task_id"]
    for task_id in ids.values():
        wait_for(client, task_id)
    client.post("/api/process", json={"data": "sales", "delay": 0})  # no file name

    def found(**params) -> tuple[list[str], int]:
        body = client.get("/api/tasks", params=params).json()
        return [task["filename"] for task in body["items"]], body["total"]

    assert found(q="sales") == (["ＳＡＬＥＳ季報.csv", "月報_Sales.csv"], 2)
    assert found(q="  Sales ", limit=1, offset=1) == (["月報_Sales.csv"], 2)
    assert found(q="報", status="completed", kind="analyze")[1] == 2
    assert found(q="名單", status="failed") == ([], 0)
    assert found(q="%") == ([], 0)
    assert found(q="")[1] == 4  # an empty search is no filter
    assert_problem(client.get("/api/tasks", params={"q": "x" * 201}), 422, "validation_error")
