"""Completion notices, report downloads, the remaining time and the file-name search, through
AppTest against a real backend process."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator

import pytest
from streamlit.testing.v1 import AppTest

from frontend.utils.api_client import APIClient
from tests.frontend.conftest import button, page_text, wait_for, wait_task
from tests.servers import Server, start_backend

QUOTES_CSV = "品名,單價,報價日期\n螺絲,12.5,2024-01-05\n螺帽,3,2024-03-18\n墊片,0.5,2024-02-29\n"


def _toasts(at: AppTest) -> list[tuple[str, str]]:
    return [(toast.value, toast.icon) for toast in at.toast]


def _notice_links(at: AppTest) -> list[tuple[str, str]]:
    return [(link.proto.page, link.proto.query_string) for link in at.sidebar.page_link]


@pytest.fixture(scope="module")
def one_slot_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One task at a time: a long task started first keeps an upload's analysis waiting,
    so the test can leave the page before the analysis finishes."""
    server = start_backend(tmp_path_factory.mktemp("one_slot"), max_concurrent_tasks=1)
    yield server
    server.stop()


# --- completion notices -------------------------------------------------------------------


@pytest.mark.slow
def test_a_finish_on_another_page_is_announced_once(app: AppTest) -> None:
    app.switch_page("app_pages/long_task.py").run()
    app.number_input(key="long_delay").set_value(2)
    button(app, "開始處理").click().run()
    task_id = app.query_params["task"]
    assert app.query_params["notify"] == task_id  # a reload finds it again

    app.switch_page("app_pages/home.py").run()
    assert "任務通知" in [h.value for h in app.sidebar.subheader]
    assert app.sidebar.get("progress")  # followed in the sidebar while it runs
    wait_for(app, lambda at: bool(at.toast))
    assert _toasts(app) == [
        ("長時間任務處理完成  \n可從側邊欄「任務通知」開啟結果。", ":material/check_circle:")
    ]
    assert "notify" not in app.query_params
    assert _notice_links(app) == [("long_task", f"task={task_id}")]
    assert not app.sidebar.get("progress")  # nothing runs: nothing is polled

    app.run()
    assert not app.toast  # announced once
    assert _notice_links(app) == [("long_task", f"task={task_id}")]  # the link stays...

    app.switch_page("app_pages/long_task.py").run()  # ...until the result is seen
    assert not app.exception
    assert app.success[0].value.startswith("處理完成")
    assert not app.sidebar.page_link


@pytest.mark.slow
def test_a_finish_seen_on_its_own_page_is_not_toasted(app: AppTest) -> None:
    app.switch_page("app_pages/long_task.py").run()
    app.number_input(key="long_delay").set_value(1)
    button(app, "開始處理").click().run()
    wait_for(app, lambda at: bool(at.code))
    assert not app.toast
    assert not app.sidebar.page_link
    assert "notify" not in app.query_params
    app.switch_page("app_pages/home.py").run()
    assert not app.toast


def test_a_task_cancelled_by_the_user_is_not_announced(app: AppTest, client: APIClient) -> None:
    app.switch_page("app_pages/long_task.py").run()
    app.number_input(key="long_delay").set_value(60)
    button(app, "開始處理").click().run()
    task_id = app.query_params["task"]
    app.switch_page("app_pages/task_management.py").run()
    app.selectbox(key="tasks_selected").set_value(task_id).run()
    button(app, "取消任務").click().run()
    assert "已取消任務。" in [m.value for m in app.success]
    app.run()
    assert not app.toast and not app.sidebar.page_link
    assert client.get_task(task_id)["status"] == "cancelled"


@pytest.mark.slow
def test_a_finish_during_a_reload_is_announced_from_the_url(
    make_app: Callable[..., AppTest], backend: Server, client: APIClient
) -> None:
    """The reloaded tab has a new session: only ?notify= remembers the task."""
    task = client.upload_file("截斷.json", b'[{"a": 1}, {"a": ')
    wait_task(client, task["task_id"])
    at = make_app(backend.url)
    at.query_params["notify"] = task["task_id"]
    at.run()
    assert not at.exception
    assert _toasts(at) == [
        ("「截斷.json」分析失敗  \n可從側邊欄「任務通知」開啟結果。", ":material/error:")
    ]
    assert "notify" not in at.query_params
    link = f"tasks={task['task_id']}&open={task['task_id']}"
    assert _notice_links(at) == [("file_upload", link)]

    again = make_app(backend.url).run()  # the next reload: the URL no longer has it
    assert not again.toast


@pytest.mark.slow
def test_uploads_left_during_their_analysis_are_announced_and_opened(
    make_app: Callable[..., AppTest], one_slot_backend: Server
) -> None:
    client = APIClient(one_slot_backend.url)
    blocker = client.create_process_task("佔用", 3)
    at = make_app(one_slot_backend.url).run()
    at.switch_page("app_pages/file_upload.py").run()
    files = [("報價單.csv", QUOTES_CSV.encode(), "text/csv"), ("第二份.csv", b"a\n1\n", "text/csv")]
    at.file_uploader[0].set_value(files).run()
    button(at, "開始上傳並分析").click().run()
    wait_for(at, lambda at: len(at.session_state["watched_tasks"].get("upload", [])) == 2)
    first, _ = at.session_state["watched_tasks"]["upload"]
    assert client.get_task(first)["status"] == "pending"

    at.switch_page("app_pages/task_management.py").run()
    # On a loaded machine the first may already be announced by this very run.
    toasts: list[str] = [toast.value for toast in at.toast]

    def both_announced(at: AppTest) -> bool:
        toasts.extend(toast.value for toast in at.toast)
        return len(at.sidebar.page_link) == 2

    wait_for(at, both_announced, timeout=30)
    assert sorted(t.split("  \n")[0] for t in toasts) == [
        "「報價單.csv」分析完成",
        "「第二份.csv」分析完成",
    ]
    assert ("file_upload", f"tasks={first}&open={first}") in _notice_links(at)
    assert wait_task(client, blocker["task_id"])["status"] == "completed"

    # Following the first one's link: the upload page opens that result, not the newest.
    at.switch_page("app_pages/file_upload.py")
    at.query_params.update({"tasks": first, "open": first})
    at.run()
    assert not at.exception
    expanded = {e.label.split("（")[0]: e.proto.expanded for e in at.expander if ".csv" in e.label}
    assert expanded == {"報價單.csv": True, "第二份.csv": False}
    assert "open" not in at.query_params
    assert not at.sidebar.page_link  # both seen on their page
    assert [b.label for b in at.download_button][:2] == ["下載 JSON 報告", "下載 Excel 報告"]


# --- report downloads ----------------------------------------------------------------------


@pytest.mark.slow
def test_excel_report_beside_the_json_one_fetched_once(app: AppTest, backend: Server) -> None:
    app.switch_page("app_pages/file_upload.py").run()
    app.file_uploader[0].set_value([("報價單.csv", QUOTES_CSV.encode(), "text/csv")]).run()
    button(app, "開始上傳並分析").click().run()
    wait_for(app, lambda at: bool(at.download_button))
    task_id = app.session_state["watched_tasks"]["upload"][0]
    json_button, excel_button = app.download_button
    assert (json_button.label, excel_button.label) == ("下載 JSON 報告", "下載 Excel 報告")
    assert excel_button.proto.url  # the workbook is ready to download, not fetched on click
    report = app.session_state["result_excel_files"][task_id]
    assert report.filename.endswith(".xlsx") and report.filename.startswith("報價單")
    assert report.content[:2] == b"PK"  # a zip container, as every .xlsx

    for _ in range(3):
        app.run()
    app.switch_page("app_pages/task_management.py").run()
    app.selectbox(key="tasks_selected").set_value(task_id).run()
    button(app, "檢視結果").click().run()
    assert [b.label for b in app.download_button] == ["下載 JSON 報告", "下載 Excel 報告"]
    fetched = re.findall(rf"GET /api/tasks/{task_id}/result\?format=xlsx[ &]", backend.log())
    assert len(fetched) == 1, backend.log()[-2000:]


def test_no_excel_report_for_a_long_task(app: AppTest) -> None:
    app.switch_page("app_pages/long_task.py").run()
    app.number_input(key="long_delay").set_value(0)
    button(app, "開始處理").click().run()
    wait_for(app, lambda at: bool(at.download_button))
    assert [b.label for b in app.download_button] == ["下載 JSON 報告"]


# --- remaining time and search ---------------------------------------------------------------


@pytest.mark.slow
def test_remaining_time_beside_the_progress_and_in_the_table(
    app: AppTest, client: APIClient
) -> None:
    app.switch_page("app_pages/long_task.py").run()
    app.number_input(key="long_delay").set_value(30)
    button(app, "開始處理").click().run()
    task_id = app.query_params["task"]
    try:
        wait_for(app, lambda at: "約剩" in at.get("progress")[-1].proto.text, timeout=20)
        assert re.search(r"　·　約剩 \d+ 秒$", app.get("progress")[-1].proto.text)
        app.switch_page("app_pages/task_management.py").run()
        table = app.dataframe[0].value
        assert table["剩餘時間"].tolist()[0].startswith("約剩")
        assert "約剩" in app.get("progress")[-1].proto.text  # the selected task's bar
    finally:
        client.cancel_task(task_id)


@pytest.mark.slow
def test_search_by_file_name(app: AppTest, client: APIClient) -> None:
    tag = uuid.uuid4().hex[:6]  # other tests upload files into the same backend
    names = (f"一月報表{tag}.csv", f"二月報表{tag}.CSV", f"客戶清單{tag}.csv")
    for name in names:
        wait_task(client, client.upload_file(name, QUOTES_CSV.encode())["task_id"])
    app.switch_page("app_pages/task_management.py").run()
    assert app.text_input(key="tasks_q").label == "搜尋檔名"
    app.text_input(key="tasks_q").set_value(f"  報表{tag}.csv ").run()  # any case, trimmed
    assert not app.exception
    assert sorted(app.dataframe[0].value["名稱"]) == sorted(names[:2])
    options = app.selectbox(key="tasks_selected").options  # "name　created at"
    assert sorted(option.split("　")[0] for option in options) == sorted(names[:2])

    app.selectbox(key="tasks_status").set_value("failed").run()
    assert f"沒有檔名包含「報表{tag}.csv」且符合條件的任務。" in [m.value for m in app.info]
    app.selectbox(key="tasks_status").set_value("").run()
    app.text_input(key="tasks_q").set_value("沒有這個檔").run()
    assert "沒有檔名包含「沒有這個檔」的任務。" in [m.value for m in app.info]
    assert "共 0 個任務" in page_text(app)
