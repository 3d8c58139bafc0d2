"""User actions through the real pages (AppTest) against a real backend behind
tests/lossy_proxy.py: lost answers, repeated clicks, reruns during uploads, a reload, and
page state kept across page switches.

Each test counts the tasks on the backend, reads what the page shows, and checks that the
page tracks every task the backend has.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from frontend.utils.api_client import APIClient, new_idempotency_key
from tests.frontend.conftest import button, page_text, wait_for
from tests.lossy_proxy import LossyProxy
from tests.servers import Server

UPLOAD_PAGE = "app_pages/file_upload.py"
LONG_PAGE = "app_pages/long_task.py"
TASKS_PAGE = "app_pages/task_management.py"
TASK = r"/api/tasks/[^/]+"


def csv(rows: int, seed: int = 0) -> bytes:
    return (
        "編號,城市,金額\n" + "".join(f"{i},臺北市,{i * 3 + seed}\n" for i in range(rows))
    ).encode()


@pytest.fixture
def at(make_app: Callable[..., AppTest], proxy: LossyProxy, direct: APIClient) -> AppTest:
    """The app, its session pointed at the proxy."""
    return make_app(proxy.url).run()


def backend_tasks(client: APIClient) -> dict[str, dict[str, Any]]:
    return {task["task_id"]: task for task in client.list_tasks(limit=500)["items"]}


def tracked(at: AppTest) -> set[str]:
    """Every task this tab's pages show: the upload page's and the long-task page's."""
    watched = at.session_state["watched_tasks"]
    return set(watched.get("upload", [])) | set(watched.get("long", []))


def no_error_shown(at: AppTest) -> None:
    errors = [e.value for e in at.error] + [e.value for e in at.sidebar.error]
    assert not errors, errors
    assert not at.exception


# --- lost answers ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("times", [1, None], ids=["first-answer-lost", "every-answer-lost"])
def test_lost_answer_to_an_upload(
    at: AppTest, proxy: LossyProxy, direct: APIClient, times: int | None
) -> None:
    proxy.drop_answer("POST", "/api/upload/stream", times=times)
    at.switch_page(UPLOAD_PAGE).run()
    at.file_uploader[0].set_value([("遺失回應.csv", csv(20), "text/csv")]).run()
    button(at, "開始上傳並分析").click().run()
    wait_for(at, lambda at: any("已完成" in e.label for e in at.expander))
    no_error_shown(at)
    assert "上傳失敗" not in page_text(at) and "大小上限" not in page_text(at)
    tasks = backend_tasks(direct)
    assert len(tasks) == 1
    assert tracked(at) == set(tasks)
    assert proxy.seen("POST", "/api/upload/stream")[0].dropped


@pytest.mark.slow
@pytest.mark.parametrize("times", [1, None], ids=["first-answer-lost", "every-answer-lost"])
def test_lost_answer_to_a_staged_job(
    at: AppTest, proxy: LossyProxy, direct: APIClient, times: int | None
) -> None:
    proxy.drop_answer("POST", "/api/process", times=times)
    at.switch_page(LONG_PAGE).run()
    at.number_input(key="long_delay").set_value(1)
    button(at, "開始處理").click().run()
    no_error_shown(at)
    assert "無法連線" not in page_text(at)
    tasks = backend_tasks(direct)
    assert len(tasks) == 1
    assert tracked(at) == set(tasks)
    assert at.query_params["task"] == next(iter(tasks))
    wait_for(at, lambda at: bool(at.code))
    assert at.code[0].value == "已處理: 範例資料"


@pytest.mark.slow
def test_job_nobody_could_confirm_is_asked_about_until_found(
    at: AppTest, proxy: LossyProxy, direct: APIClient
) -> None:
    """The answer is lost and the backend cannot be asked either: the page says it does
    not know yet, keeps the key, and a second click creates nothing new."""
    proxy.drop_answer("POST", "/api/process", times=None)
    proxy.drop_answer("GET", "/api/tasks", times=None)
    at.switch_page(LONG_PAGE).run()
    at.number_input(key="long_delay").set_value(30)
    button(at, "開始處理").click().run()
    assert not at.exception
    assert "還不確定任務是否已經建立" in at.warning[0].value
    assert "（與後端的連線中斷）" in at.warning[0].value
    assert not at.error
    key = at.query_params["action"]
    button(at, "開始處理").click().run()  # impatient: same key, still one task
    assert len(backend_tasks(direct)) == 1

    proxy.clear_rules()
    wait_for(at, lambda at: bool(tracked(at)))
    tasks = backend_tasks(direct)
    assert len(tasks) == 1 and tracked(at) == set(tasks)
    assert direct.find_task_by_key(key)["task_id"] in tasks
    assert "action" not in at.query_params
    assert not [w for w in at.warning if "還不確定" in w.value]


def test_lost_answer_to_cancel_is_success(
    at: AppTest, proxy: LossyProxy, direct: APIClient
) -> None:
    at.switch_page(LONG_PAGE).run()
    at.number_input(key="long_delay").set_value(60)
    button(at, "開始處理").click().run()
    task_id = at.query_params["task"]
    proxy.drop_answer("POST", f"{TASK}/cancel")
    button(at, "取消任務").click().run()
    no_error_shown(at)
    assert "已取消任務。" in [m.value for m in at.success]
    assert direct.get_task(task_id)["status"] == "cancelled"
    assert [(e.status, e.dropped) for e in proxy.seen("POST", f"{TASK}/cancel")] == [
        (200, True),
        (409, False),
    ]


@pytest.mark.slow
def test_lost_answer_to_delete_is_success(
    at: AppTest, proxy: LossyProxy, direct: APIClient
) -> None:
    done = direct.create_process_task("刪除", 0)
    deadline = time.monotonic() + 10
    while direct.get_task(done["task_id"])["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    at.switch_page(TASKS_PAGE).run()
    proxy.drop_answer("DELETE", TASK)
    button(at, "確定刪除").click().run()
    no_error_shown(at)
    assert "已刪除任務。" in [m.value for m in at.success]
    assert backend_tasks(direct) == {}
    assert [(e.status, e.dropped) for e in proxy.seen("DELETE", TASK)] == [
        (204, True),
        (404, False),
    ]


# --- repeated clicks ------------------------------------------------------------------------------


@pytest.mark.slow
def test_start_clicked_twice_makes_one_task(at: AppTest, direct: APIClient) -> None:
    at.switch_page(LONG_PAGE).run()
    at.number_input(key="long_delay").set_value(30)
    button(at, "開始處理").click().run()
    button(at, "開始處理").click().run()
    no_error_shown(at)
    assert "這個任務已經送出，沒有重複建立" in page_text(at)
    tasks = backend_tasks(direct)
    assert len(tasks) == 1 and tracked(at) == set(tasks)

    # Other data is another action.
    at.text_area(key="long_data").set_value("另一份資料")
    button(at, "開始處理").click().run()
    assert len(backend_tasks(direct)) == 2


@pytest.mark.slow
def test_upload_clicked_twice_makes_one_task_per_file(at: AppTest, direct: APIClient) -> None:
    at.switch_page(UPLOAD_PAGE).run()
    files = [("一.csv", csv(10, 1), "text/csv"), ("二.csv", csv(10, 2), "text/csv")]
    at.file_uploader[0].set_value(files).run()
    button(at, "開始上傳並分析").click().run()
    button(at, "開始上傳並分析").click().run()
    wait_for(at, lambda at: len(tracked(at)) == 2)
    no_error_shown(at)
    tasks = backend_tasks(direct)
    assert sorted(t["filename"] for t in tasks.values()) == ["一.csv", "二.csv"]
    assert tracked(at) == set(tasks)
    button(at, "開始上傳並分析").click().run()  # the same picked files, much later
    assert "有 2 個檔案已經送出，不會重複上傳" in page_text(at)
    assert len(backend_tasks(direct)) == 2


# --- uploads through reruns -----------------------------------------------------------------------


@pytest.mark.slow
def test_five_files_survive_a_removed_file_and_a_page_switch(
    make_app: Callable[..., AppTest], own_backend: Server, direct: APIClient
) -> None:
    names = [f"第{i}份.csv" for i in range(1, 6)]
    files = [(name, csv(4_000, i), "text/csv") for i, name in enumerate(names)]
    with LossyProxy(own_backend.url, bytes_per_s=150_000) as slow:  # about 2 s a file
        at = make_app(slow.url).run()
        at.switch_page(UPLOAD_PAGE).run()
        at.file_uploader[0].set_value(files).run()
        button(at, "開始上傳並分析").click().run()
        bars = [p.proto.text for p in at.get("progress")]
        assert len(bars) == 5 and "等待上傳「第5份.csv」" in bars[-1], bars
        time.sleep(1)
        at.file_uploader[0].set_value(files[1:]).run()  # the first one removed mid-upload
        assert not at.exception
        at.switch_page(TASKS_PAGE).run()
        assert "上傳進度" in [h.value for h in at.sidebar.subheader]
        assert any("切換頁面不會中斷" in p.proto.text for p in at.sidebar.get("progress"))
        time.sleep(2)
        at.switch_page(UPLOAD_PAGE).run()
        wait_for(at, lambda at: len(tracked(at)) == 5, timeout=30)
    no_error_shown(at)
    tasks = backend_tasks(direct)
    assert sorted(t["filename"] for t in tasks.values()) == sorted(names)
    assert tracked(at) == set(tasks)
    assert "uploads" not in at.query_params


@pytest.mark.slow
def test_files_that_could_not_be_sent_are_listed_with_a_resend_button(
    at: AppTest, proxy: LossyProxy, direct: APIClient
) -> None:
    proxy.drop_answer("POST", "/api/upload/stream", nth=2, times=None, forward=False)
    at.switch_page(UPLOAD_PAGE).run()
    files = [(f"送{i}.csv", csv(10, i), "text/csv") for i in range(3)]
    at.file_uploader[0].set_value(files).run()
    button(at, "開始上傳並分析").click().run()
    wait_for(at, lambda at: any("有 2 個檔案還沒有送到後端" in w.value for w in at.warning))
    warning = next(w.value for w in at.warning if "還沒有送到後端" in w.value)
    assert "「送1.csv」" in warning and "「送2.csv」" in warning
    assert "後端確認沒有建立任務" in warning
    assert len(backend_tasks(direct)) == 1 and tracked(at) == set(backend_tasks(direct))

    proxy.clear_rules()
    button(at, "送出未送出的檔案").click().run()
    wait_for(at, lambda at: len(tracked(at)) == 3)
    tasks = backend_tasks(direct)
    assert sorted(t["filename"] for t in tasks.values()) == ["送0.csv", "送1.csv", "送2.csv"]
    assert tracked(at) == set(tasks)
    assert not [w for w in at.warning if "還沒有送到後端" in w.value]


@pytest.mark.slow
def test_a_reload_during_an_upload_finds_its_files_by_key(
    make_app: Callable[..., AppTest], proxy: LossyProxy, direct: APIClient
) -> None:
    """After a reload only the URL is left: a file whose key has a task is tracked, one
    without is asked about and can be picked again, and sending it uses its old key."""
    sent_key, lost_key = new_idempotency_key(), new_idempotency_key()
    sent = direct.upload_file("已送出.csv", csv(10), idempotency_key=sent_key)
    lost = csv(10, 7)
    at = make_app(proxy.url)
    at.query_params["uploads"] = [
        f"{sent_key}:{len(csv(10))}:已送出.csv",
        f"{lost_key}:{len(lost)}:沒送出.csv",
    ]
    at.run()
    at.switch_page(UPLOAD_PAGE).run()
    wait_for(at, lambda at: sent["task_id"] in tracked(at))
    checking = next(i.value for i in at.info if "正在向後端確認" in i.value)
    assert "「沒送出.csv」" in checking and "已送出.csv" not in checking
    assert "重新整理頁面前還在上傳" in checking and "不會重複建立任務" in checking

    at.file_uploader[0].set_value([("沒送出.csv", lost, "text/csv")]).run()
    button(at, "開始上傳並分析").click().run()
    wait_for(at, lambda at: len(tracked(at)) == 2)
    tasks = backend_tasks(direct)
    assert tracked(at) == set(tasks) and len(tasks) == 2
    assert direct.find_task_by_key(lost_key)["filename"] == "沒送出.csv"


# --- page state across page switches and reloads --------------------------------------------------


@pytest.mark.slow
def test_task_management_keeps_filters_selection_and_result(
    at: AppTest, make_app: Callable[..., AppTest], proxy: LossyProxy, direct: APIClient
) -> None:
    for name in ("一月營收.csv", "二月營收.csv", "客戶名單.csv"):
        direct.upload_file(name, csv(5), idempotency_key=new_idempotency_key())
    wait_until = time.monotonic() + 15
    while {t["status"] for t in backend_tasks(direct).values()} != {"completed"}:
        assert time.monotonic() < wait_until
        time.sleep(0.2)
    second = next(t for t in backend_tasks(direct).values() if t["filename"] == "二月營收.csv")

    at.switch_page(TASKS_PAGE).run()
    at.text_input(key="tasks_q").set_value("營收").run()
    at.selectbox(key="tasks_status").set_value("completed").run()
    at.selectbox(key="tasks_kind").set_value("analyze").run()
    at.selectbox(key="tasks_selected").set_value(second["task_id"]).run()
    button(at, "檢視結果").click().run()

    def kept(at: AppTest) -> None:
        assert at.text_input(key="tasks_q").value == "營收"
        assert at.selectbox(key="tasks_status").value == "completed"
        assert at.selectbox(key="tasks_kind").value == "analyze"
        assert at.selectbox(key="tasks_selected").value == second["task_id"]
        assert "二月營收.csv 的結果" in page_text(at)
        assert "共 2 個任務" in page_text(at)

    kept(at)
    at.switch_page(UPLOAD_PAGE).run()
    at.switch_page(TASKS_PAGE).run()
    assert not at.exception
    kept(at)
    params = dict(at.query_params)
    assert params["q"] == "營收" and params["selected"] == second["task_id"]

    reloaded = make_app(proxy.url)  # a reload: a new session with the same URL
    reloaded.switch_page(TASKS_PAGE)
    for name, value in params.items():
        reloaded.query_params[name] = value
    reloaded.run()
    kept(reloaded)
