"""The task paths: plural, with actions as POSTs, and the guide's singular paths kept as
deprecated aliases that answer exactly like the path they repeat. Also how the OpenAPI
document groups the routes (one tag per router) and marks the aliases."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from backend.service import create_task
from tests.backend.conftest import assert_problem, wait_for


@pytest.fixture(params=["memory", "sqlite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Paths do not depend on the store: the two local ones are enough."""
    return request.param


META, TASKS, UPLOADS, DEMO = "服務資訊", "任務", "上傳與分析", "示範"

# (method, path) -> (tag, deprecated): every operation the document must list, no other.
OPERATIONS = {
    ("GET", "/"): (META, False),
    ("GET", "/api/config"): (META, False),
    ("GET", "/api/vocabulary"): (META, False),
    ("POST", "/api/process"): (DEMO, False),
    ("POST", "/api/upload"): (UPLOADS, False),
    ("POST", "/api/upload/stream"): (UPLOADS, False),
    ("GET", "/api/tasks"): (TASKS, False),
    ("GET", "/api/tasks/{task_id}"): (TASKS, False),
    ("POST", "/api/tasks/{task_id}/cancel"): (TASKS, False),
    ("DELETE", "/api/tasks/{task_id}"): (TASKS, False),
    ("GET", "/api/tasks/{task_id}/result"): (TASKS, False),
    ("GET", "/api/task/{task_id}"): (TASKS, True),
    ("DELETE", "/api/task/{task_id}/cancel"): (TASKS, True),
    ("DELETE", "/api/task/{task_id}"): (TASKS, True),
    ("GET", "/api/task/{task_id}/result"): (TASKS, True),
}

# alias -> the path it repeats, as templates over the task id.
ALIASES = {
    ("GET", "/api/task/{}"): ("GET", "/api/tasks/{}"),
    ("DELETE", "/api/task/{}/cancel"): ("POST", "/api/tasks/{}/cancel"),
    ("DELETE", "/api/task/{}"): ("DELETE", "/api/tasks/{}"),
    ("GET", "/api/task/{}/result"): ("GET", "/api/tasks/{}/result"),
}
PAIRS = list(ALIASES.items())

# Fields that differ between two tasks created one after the other.
PER_TASK = {"task_id", "created_at", "updated_at", "started_at", "finished_at"}


def _call(client: TestClient, route: tuple[str, str], task_id: str, **kwargs: Any) -> Any:
    method, template = route
    return client.request(method, template.format(task_id), **kwargs)


def _pending(client: TestClient) -> str:
    """A task that stays pending: stored, never submitted to the runner."""
    app = client.app
    task = create_task(
        app.state.store,
        "process",
        {"data": "x", "delay": 0},
        runner_id=app.state.runner.pending_runner_id,
    )
    return task.task_id


def _same_task_fields(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    assert {k: v for k, v in first.items() if k not in PER_TASK} == {
        k: v for k, v in second.items() if k not in PER_TASK
    }


def test_the_document_lists_each_operation_with_its_tag_and_marks_exactly_the_aliases(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    found = {
        (method.upper(), path): (operation["tags"], operation.get("deprecated", False))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    assert found == {key: ([tag], deprecated) for key, (tag, deprecated) in OPERATIONS.items()}
    tags = document["tags"]
    assert [tag["name"] for tag in tags] == [META, TASKS, UPLOADS, DEMO]
    for tag in tags:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in tag["description"]), tag


def test_each_alias_documents_the_same_contract_as_its_plural_path(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    operation_ids = set()
    for (alias_method, alias), (method, plural) in ALIASES.items():
        old = paths[alias.format("{task_id}")][alias_method.lower()]
        new = paths[plural.format("{task_id}")][method.lower()]
        assert old["responses"] == new["responses"]
        assert old.get("parameters") == new.get("parameters")
        assert "requestBody" not in old and "requestBody" not in new
        assert old["summary"] == f"{new['summary']}（舊路徑）"
        assert f"`{method} {plural.format('{task_id}')}`" in old["description"]
        operation_ids |= {old["operationId"], new["operationId"]}
    assert len(operation_ids) == 2 * len(ALIASES)


@pytest.mark.parametrize(("alias", "plural"), PAIRS)
def test_an_unknown_task_is_the_same_404_on_both_paths(
    client: TestClient, alias: tuple[str, str], plural: tuple[str, str]
) -> None:
    old = assert_problem(_call(client, alias, "nope"), 404, "task_not_found")
    new = assert_problem(_call(client, plural, "nope"), 404, "task_not_found")
    assert old == new


def test_both_paths_require_the_api_key(make_client) -> None:
    client = make_client(api_key="s3cret-key")
    for route in [*ALIASES, *ALIASES.values()]:
        response = _call(client, route, "x")
        assert_problem(response, 401, "invalid_api_key")
        assert response.headers["www-authenticate"] == "ApiKey"


def test_a_new_task_points_at_its_plural_path(client: TestClient) -> None:
    response = client.post(
        "/api/process", json={"data": "x", "delay": 0}, headers={"Idempotency-Key": "k1"}
    )
    assert response.status_code == 202
    task_id = response.json()["task_id"]
    assert response.headers["location"] == f"/api/tasks/{task_id}"
    assert client.get(response.headers["location"]).json()["task_id"] == task_id
    again = client.post(
        "/api/process", json={"data": "x", "delay": 0}, headers={"Idempotency-Key": "k1"}
    )
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == f"/api/tasks/{task_id}"
    wait_for(client, task_id)


def test_reading_a_task_is_the_same_on_both_paths(client: TestClient) -> None:
    task_id = _pending(client)
    old = client.get(f"/api/task/{task_id}")
    new = client.get(f"/api/tasks/{task_id}")
    assert old.status_code == new.status_code == 200
    assert old.json() == new.json()
    assert old.json()["status"] == "pending"


@pytest.mark.parametrize("first_by_alias", [True, False])
def test_cancel_is_the_same_on_both_paths(client: TestClient, first_by_alias: bool) -> None:
    alias, plural = ("DELETE", "/api/task/{}/cancel"), ("POST", "/api/tasks/{}/cancel")
    first, second = (alias, plural) if first_by_alias else (plural, alias)
    a, b = _pending(client), _pending(client)
    by_first, by_second = _call(client, first, a), _call(client, second, b)
    assert by_first.status_code == by_second.status_code == 200
    assert by_first.json()["status"] == "cancelled"
    _same_task_fields(by_first.json(), by_second.json())
    # A cancelled task cannot be cancelled again, on either path, whichever cancelled it.
    again_first = assert_problem(_call(client, first, b), 409, "task_not_cancellable")
    again_second = assert_problem(_call(client, second, a), 409, "task_not_cancellable")
    assert again_first == again_second
    for task_id in (a, b):
        assert client.get(f"/api/tasks/{task_id}").json()["status"] == "cancelled"


def test_the_wrong_method_on_a_cancel_path_is_a_405_that_names_the_right_one(
    client: TestClient,
) -> None:
    task_id = _pending(client)
    response = client.delete(f"/api/tasks/{task_id}/cancel")
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    response = client.post(f"/api/task/{task_id}/cancel")
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "DELETE"
    assert client.get(f"/api/tasks/{task_id}").json()["status"] == "pending"


@pytest.mark.parametrize("first_by_alias", [True, False])
def test_delete_is_the_same_on_both_paths(client: TestClient, first_by_alias: bool) -> None:
    alias, plural = ("DELETE", "/api/task/{}"), ("DELETE", "/api/tasks/{}")
    first, second = (alias, plural) if first_by_alias else (plural, alias)
    a, b = _pending(client), _pending(client)
    # Not finished: refused on both paths, and the tasks stay.
    refused = [
        assert_problem(_call(client, r, t), 409, "task_not_finished")
        for r, t in [(first, a), (second, b)]
    ]
    assert refused[0] == refused[1]
    for task_id in (a, b):
        client.post(f"/api/tasks/{task_id}/cancel")
    by_first, by_second = _call(client, first, a), _call(client, second, b)
    assert by_first.status_code == by_second.status_code == 204
    assert by_first.content == by_second.content == b""
    # Gone: deleting again is a 404 on either path, and so is reading it.
    gone = [
        assert_problem(_call(client, r, t), 404, "task_not_found")
        for r, t in [(first, b), (second, a)]
    ]
    assert gone[0] == gone[1]
    for task_id in (a, b):
        assert_problem(client.get(f"/api/task/{task_id}"), 404, "task_not_found")
        assert_problem(client.get(f"/api/tasks/{task_id}"), 404, "task_not_found")


def test_the_result_is_the_same_on_both_paths(client: TestClient) -> None:
    pending = _pending(client)
    not_yet = [
        assert_problem(client.get(f"/api/{p}/{pending}/result"), 409, "task_not_finished")
        for p in ("task", "tasks")
    ]
    assert not_yet[0] == not_yet[1]
    task_id = client.post("/api/process", json={"data": "報價單", "delay": 0}).json()["task_id"]
    assert wait_for(client, task_id)["status"] == "completed"
    old = client.get(f"/api/task/{task_id}/result")
    new = client.get(f"/api/tasks/{task_id}/result")
    assert old.status_code == new.status_code == 200
    assert old.content == new.content and old.json()["processed_data"] == "已處理: 報價單"
    for header in ("content-type", "content-disposition"):
        assert old.headers[header] == new.headers[header]
    # A demo task has no Excel report; an unknown format is refused: alike on both paths.
    for params, status, code in [({"format": "xlsx"}, 404, "not_found"),
                                 ({"format": "pdf"}, 422, "validation_error")]:  # fmt: skip
        answers = [
            assert_problem(client.get(f"/api/{p}/{task_id}/result", params=params), status, code)
            for p in ("task", "tasks")
        ]
        assert answers[0] == answers[1]


def _sheets(content: bytes) -> dict[str, list[tuple]]:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook}


def test_the_excel_report_takes_the_same_query_on_both_paths(client: TestClient) -> None:
    body = "品名,數量\n蘋果,3\n香蕉,5\n".encode()
    response = client.post(
        "/api/upload/stream", content=body, headers={"X-Filename": quote("報價單.csv")}
    )
    task_id = response.json()["task_id"]
    assert wait_for(client, task_id)["status"] == "completed"
    params = {"format": "xlsx", "tz": "Asia/Taipei"}
    old = client.get(f"/api/task/{task_id}/result", params=params)
    new = client.get(f"/api/tasks/{task_id}/result", params=params)
    assert old.status_code == new.status_code == 200
    for header in ("content-type", "content-disposition"):
        assert old.headers[header] == new.headers[header]
    assert (
        "%E5%A0%B1%E5%83%B9%E5%96%AE_%E5%88%86%E6%9E%90%E5%A0%B1%E5%91%8A.xlsx"
        in new.headers["content-disposition"]
    )
    old_sheets, new_sheets = _sheets(old.content), _sheets(new.content)
    assert old_sheets == new_sheets
    assert any(
        "Asia/Taipei" in str(cell) for rows in new_sheets.values() for row in rows for cell in row
    )


@pytest.mark.parametrize("path", ["/ws/task/{}", "/ws/tasks/{}"])
def test_the_websocket_answers_on_both_paths(client: TestClient, path: str) -> None:
    task_id = _pending(client)
    client.post(f"/api/tasks/{task_id}/cancel")
    with client.websocket_connect(path.format(task_id)) as websocket:
        assert websocket.receive_json() == client.get(f"/api/tasks/{task_id}").json()
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive_json()
    assert closed.value.code == 1000
    with (
        client.websocket_connect(path.format("nope")) as websocket,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        websocket.receive_json()
    assert closed.value.code == 4404


@pytest.mark.parametrize("path", ["/ws/task/{}", "/ws/tasks/{}"])
def test_the_websocket_wants_the_key_on_both_paths(make_client, path: str) -> None:
    client = make_client(api_key="s3cret-key")
    with (
        client.websocket_connect(path.format("x")) as websocket,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        websocket.receive_json()
    assert closed.value.code == 4401
