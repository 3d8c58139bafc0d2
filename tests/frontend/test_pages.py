"""Every page and the main flows, through AppTest against a real backend process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from frontend.utils.api_client import APIClient
from tests.frontend.conftest import API_KEY, MAX_UPLOAD_MB, button, page_text, wait_for, wait_task
from tests.servers import Server, free_port, start_backend

PAGES = [
    ("app_pages/home.py", "資料處理工作台"),
    ("app_pages/file_upload.py", "檔案上傳"),
    ("app_pages/long_task.py", "長時間任務"),
    ("app_pages/task_management.py", "任務管理"),
    ("app_pages/settings.py", "設定"),
]
BIG5_CSV = (
    "編號,城市,金額,備註\r\n1,臺北市,100,急件\r\n2,高雄市,250.5,\r\n3,臺中市,,已付款\r\n".encode(
        "big5"
    )
)


def _long_task_status(at: AppTest) -> str:
    progress = at.get("progress")
    return progress[-1].proto.text if progress else ""


# --- frame: every page, sidebar, backend down, API key ----------------------------------------


@pytest.mark.parametrize(("path", "title"), PAGES)
def test_every_page_renders(app: AppTest, path: str, title: str) -> None:
    app.switch_page(path).run()
    assert not app.exception
    assert app.title[0].value == title
    assert app.sidebar.subheader[0].value == "後端狀態"
    assert app.sidebar.success[0].value == "後端已連線"
    assert "檢查連線" in [b.label for b in app.sidebar.button]


def test_home_shows_counts_and_latest_tasks(app: AppTest, client: APIClient) -> None:
    task = client.create_process_task("首頁", 0)
    wait_task(client, task["task_id"])
    app.run()
    labels = [metric.label for metric in app.metric]
    assert labels == ["等待中", "處理中", "已完成", "失敗", "已取消"]
    assert int(app.metric[2].value.replace(",", "")) >= 1
    latest = app.dataframe[0].value
    assert list(latest.columns) == ["名稱", "種類", "狀態", "進度", "剩餘時間", "階段", "建立時間"]
    assert "長時間處理" in latest["種類"].tolist()
    assert "執行方式：本機（API 行程內）" in page_text(app)


def test_check_connection_button(app: AppTest) -> None:
    button(app, "檢查連線").click().run()
    assert "已重新檢查後端連線。" in [m.value for m in app.info]


@pytest.mark.slow
def test_backend_down_stops_every_page_but_settings(make_app: Callable[..., AppTest]) -> None:
    at = make_app(f"http://127.0.0.1:{free_port()}").run()
    assert not at.exception
    assert at.title[0].value == "無法連線到後端服務"
    assert at.sidebar.error[0].value == "無法連線到後端"
    text = page_text(at)
    assert "無法連線到後端" in text and "uvicorn backend.main:app" in text
    assert not at.metric  # the home page itself did not run
    at.switch_page("app_pages/long_task.py").run()
    assert at.title[0].value == "無法連線到後端服務"
    at.switch_page("app_pages/settings.py").run()
    assert at.title[0].value == "設定"


@pytest.mark.slow
def test_backend_going_down_while_watching_a_task(
    make_app: Callable[..., AppTest], tmp_path: Path
) -> None:
    server = start_backend(tmp_path / "b")
    try:
        at = make_app(server.url).run()
        at.switch_page("app_pages/long_task.py").run()
        at.number_input(key="long_delay").set_value(30)
        button(at, "開始處理").click().run()
        assert "處理中" in _long_task_status(at) or "等待中" in _long_task_status(at)
    finally:
        server.kill()
    at.run()
    assert not at.exception
    assert at.title[0].value == "無法連線到後端服務"


@pytest.mark.slow
def test_wrong_api_key(make_app: Callable[..., AppTest], auth_backend: Server) -> None:
    at = make_app(auth_backend.url, "wrong").run()
    assert not at.exception
    assert at.title[0].value == "需要正確的 API 金鑰"
    assert "API 金鑰無效" in page_text(at)
    assert at.sidebar.warning[0].value == "後端已連線，但無法使用 API"

    at = make_app(auth_backend.url, API_KEY).run()
    assert at.title[0].value == "資料處理工作台"


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_settings_save_test_and_reset(
    app: AppTest, backend: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from frontend.utils.config import get_settings

    monkeypatch.setenv("API_BASE_URL", backend.url)
    get_settings.cache_clear()
    app.switch_page("app_pages/settings.py").run()
    assert app.text_input(key="settings_api_base_url").value == backend.url
    assert app.text_input(key="settings_api_key").proto.type == 1  # password

    app.text_input(key="settings_api_base_url").set_value("localhost:8000")
    button(app, "儲存設定").click().run()
    assert "網址格式錯誤" in app.error[0].value
    assert app.session_state["api_base_url"] == backend.url  # not saved

    app.text_input(key="settings_api_base_url").set_value(backend.url + "/")
    # Out of range: refused in zh-TW, nothing saved.
    app.number_input(key="settings_max_wait_s").set_value(5)
    button(app, "儲存設定").click().run()
    assert "「最長等待時間（秒）」必須介於 10 到 86400 秒之間，目前填的是 5。" in app.error[0].value
    assert app.session_state["max_wait_s"] == 600
    app.number_input(key="settings_max_wait_s").set_value(120)
    app.number_input(key="settings_poll_interval_s").set_value(0.2)
    button(app, "測試連線").click().run()
    assert "「進度更新間隔（秒）」必須介於 0.5 到 30 秒之間，目前填的是 0.2。" in app.error[0].value

    app.number_input(key="settings_poll_interval_s").set_value(3.0)
    app.number_input(key="settings_max_wait_s").set_value(120)
    button(app, "儲存設定").click().run()
    assert not app.exception
    assert app.session_state["api_base_url"] == backend.url
    assert app.session_state["poll_interval_s"] == 3.0
    assert app.session_state["max_wait_s"] == 120
    messages = [m.value for m in app.success]
    assert "設定已儲存。" in messages
    assert any(m.startswith("連線成功") for m in messages)

    app.text_input(key="settings_api_base_url").set_value(f"http://127.0.0.1:{free_port()}")
    button(app, "測試連線").click().run()
    assert "連線測試失敗：無法連線到後端" in app.error[0].value
    assert app.session_state["api_base_url"] == backend.url  # testing does not save

    button(app, "重設為預設值").click().run()
    assert app.session_state["poll_interval_s"] == 1.5
    assert app.session_state["max_wait_s"] == 600
    assert app.number_input(key="settings_poll_interval_s").value == 1.5
    assert "已重設為預設值" in app.success[0].value


def test_settings_wrong_key_is_reported(
    make_app: Callable[..., AppTest], auth_backend: Server
) -> None:
    at = make_app(auth_backend.url, API_KEY).run()
    at.switch_page("app_pages/settings.py").run()
    at.text_input(key="settings_api_key").set_value("wrong")
    button(at, "測試連線").click().run()
    assert "連線測試失敗：API 金鑰無效" in at.error[0].value


# --- long task --------------------------------------------------------------------------------


@pytest.mark.slow
def test_long_task_runs_to_completion(app: AppTest) -> None:
    app.switch_page("app_pages/long_task.py").run()
    app.text_area(key="long_data").set_value("季報")
    app.number_input(key="long_delay").set_value(1)
    button(app, "開始處理").click().run()
    assert not app.exception
    task_id = app.query_params["task"]
    assert app.session_state["watched_tasks"]["long"] == [task_id]
    assert _long_task_status(app)  # a progress bar with the stage

    wait_for(app, lambda at: bool(at.code))
    assert app.code[0].value == "已處理: 季報"
    assert app.success[0].value.startswith("處理完成")
    assert "**已完成**" in _long_task_status(app)
    assert app.download_button[0].label == "下載 JSON 報告"

    button(app, "開始新的任務").click().run()
    assert "task" not in app.query_params
    assert "目前沒有追蹤中的任務" in page_text(app)


@pytest.mark.slow
def test_long_task_cancel(app: AppTest, client: APIClient) -> None:
    app.switch_page("app_pages/long_task.py").run()
    app.number_input(key="long_delay").set_value(60)
    button(app, "開始處理").click().run()
    task_id = app.query_params["task"]
    button(app, "取消任務").click().run()
    assert not app.exception
    assert "已取消任務。" in [m.value for m in app.success]
    assert "**已取消**" in _long_task_status(app)
    assert "任務已取消。" in [m.value for m in app.info]
    assert client.get_task(task_id)["status"] == "cancelled"


def test_long_task_empty_data_is_refused(app: AppTest) -> None:
    app.switch_page("app_pages/long_task.py").run()
    app.text_area(key="long_data").set_value("   ")
    button(app, "開始處理").click().run()
    assert "請輸入要處理的資料" in app.error[0].value
    assert "task" not in app.query_params


@pytest.mark.parametrize("delay", [-1, 3601, 99_999])
def test_long_task_delay_out_of_range_is_refused_in_chinese(app: AppTest, delay: int) -> None:
    """No min/max on the widget (Streamlit would answer in English and do nothing): the
    page refuses the value itself, and no task is created."""
    app.switch_page("app_pages/long_task.py").run()
    app.number_input(key="long_delay").set_value(delay)
    button(app, "開始處理").click().run()
    assert not app.exception
    expected = f"「處理時間（秒）」必須介於 0 到 3600 秒之間，目前填的是 {delay}。"
    assert expected in app.error[0].value, app.error[0].value
    assert "task" not in app.query_params


def test_long_task_resumes_from_url_after_reload(
    make_app: Callable[..., AppTest], backend: Server, client: APIClient
) -> None:
    task = client.create_process_task("重新整理", 60)
    try:
        at = make_app(backend.url)
        at.query_params["task"] = task["task_id"]
        at.run()
        at.switch_page("app_pages/long_task.py")
        at.query_params["task"] = task["task_id"]
        at.run()
        assert not at.exception
        assert at.session_state["watched_tasks"]["long"] == [task["task_id"]]
        assert "取消任務" in [b.label for b in at.button]
    finally:
        client.cancel_task(task["task_id"])


def test_long_task_offers_the_running_task(
    make_app: Callable[..., AppTest], backend: Server, client: APIClient
) -> None:
    task = client.create_process_task("別的分頁", 60)
    try:
        at = make_app(backend.url).run()
        at.switch_page("app_pages/long_task.py").run()
        button(at, "繼續追蹤這個任務").click().run()
        assert at.query_params["task"] == task["task_id"]
        assert "取消任務" in [b.label for b in at.button]
    finally:
        client.cancel_task(task["task_id"])


def test_long_task_unknown_id_in_url(make_app: Callable[..., AppTest], backend: Server) -> None:
    at = make_app(backend.url).run()
    at.switch_page("app_pages/long_task.py")
    at.query_params["task"] = "no-such-task"
    at.run()
    assert not at.exception
    assert "task" not in at.query_params
    assert "已停止追蹤" in page_text(at)
    at.run()
    assert "目前沒有追蹤中的任務" in page_text(at)


@pytest.mark.slow
def test_long_task_maximum_wait(app: AppTest, client: APIClient) -> None:
    app.switch_page("app_pages/long_task.py").run()
    app.number_input(key="long_delay").set_value(60)
    button(app, "開始處理").click().run()
    task_id = app.query_params["task"]
    app.session_state["max_wait_s"] = 0
    app.run()
    assert "已等待超過" in app.warning[0].value
    assert {"繼續等待", "取消任務"} <= {b.label for b in app.button}
    button(app, "繼續等待").click().run()
    assert not app.exception
    button(app, "取消任務").click().run()
    assert "**已取消**" in _long_task_status(app)
    assert client.get_task(task_id)["status"] == "cancelled"


@pytest.mark.slow
def test_long_task_timeout_is_explained(make_app: Callable[..., AppTest], tmp_path: Path) -> None:
    server = start_backend(tmp_path / "b", task_timeout_s=1)
    try:
        at = make_app(server.url).run()
        at.switch_page("app_pages/long_task.py").run()
        at.number_input(key="long_delay").set_value(10)
        button(at, "開始處理").click().run()
        wait_for(at, lambda at: bool(at.error))
        assert "任務失敗：任務逾時" in at.error[0].value
        assert "**失敗**" in _long_task_status(at)
    finally:
        server.stop()


# --- file upload --------------------------------------------------------------------------------


@pytest.mark.slow
def test_upload_validates_then_uploads_and_shows_the_analysis(
    app: AppTest, client: APIClient
) -> None:
    app.switch_page("app_pages/file_upload.py").run()
    assert f"{MAX_UPLOAD_MB:.1f} MB" in app.caption[0].value
    app.file_uploader[0].set_value(
        [
            ("報價單.csv", BIG5_CSV, "text/csv"),
            ("圖片.png", b"\x89PNG", "image/png"),
            ("太大.csv", b"1\n" * (MAX_UPLOAD_MB * 1024 * 1024), "text/csv"),
        ]
    ).run()
    checks = app.dataframe[0].value
    assert checks["檢查結果"].tolist()[0] == "可以上傳"
    assert checks["檢查結果"].tolist()[1].startswith("無法上傳：「圖片.png」是 .png 檔案")
    assert "超過上限 1.0 MB" in checks["檢查結果"].tolist()[2]
    assert "有 2 個檔案無法上傳" in app.warning[0].value

    button(app, "開始上傳並分析").click().run()
    assert not app.exception
    wait_for(app, lambda at: bool(at.session_state["watched_tasks"].get("upload")))
    task_id = app.session_state["watched_tasks"]["upload"][0]
    assert app.query_params["tasks"] == task_id

    wait_for(app, lambda at: any("已完成" in e.label for e in at.expander))
    assert app.expander[0].label.startswith("報價單.csv")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["檔案格式"] == "CSV"
    assert metrics["文字編碼"].startswith("Big5")
    assert metrics["資料列數"] == "3"
    assert metrics["欄位數"] == "4"
    columns = app.dataframe[1].value
    assert list(columns.columns)[:3] == ["欄位", "型別", "空值數"]
    assert columns["欄位"].tolist() == ["編號", "城市", "金額", "備註"]
    preview = app.dataframe[2].value
    assert preview["城市"].tolist() == ["臺北市", "高雄市", "臺中市"]
    assert preview["金額"].tolist()[2] == ""  # an empty cell, not "None"
    assert len(app.get("vega_lite_chart")) >= 2  # one per numeric column
    assert app.download_button[0].label == "下載 JSON 報告"

    app.switch_page("app_pages/task_management.py").run()
    uploaded = app.dataframe[-1].value
    assert uploaded["檔名"].tolist() == ["報價單.csv"]
    assert uploaded["狀態"].tolist() == ["已完成"]


def test_upload_rejected_by_backend_is_explained(app: AppTest) -> None:
    app.switch_page("app_pages/file_upload.py").run()
    app.file_uploader[0].set_value([("壞掉.json", b"not json", "application/json")]).run()
    button(app, "開始上傳並分析").click().run()
    assert not app.exception
    wait_for(app, lambda at: bool(at.error))
    assert "「壞掉.json」上傳失敗：檔案格式錯誤" in app.error[0].value
    assert "JSON" in app.error[0].value


def test_upload_all_invalid_disables_the_button(app: AppTest) -> None:
    app.switch_page("app_pages/file_upload.py").run()
    app.file_uploader[0].set_value([("a.exe", b"MZ", "application/octet-stream")]).run()
    assert button(app, "開始上傳並分析").disabled


def test_upload_page_resumes_tasks_from_url(
    make_app: Callable[..., AppTest], backend: Server, client: APIClient
) -> None:
    task = client.upload_file("舊的.csv", BIG5_CSV)
    wait_task(client, task["task_id"])
    at = make_app(backend.url).run()
    at.switch_page("app_pages/file_upload.py")
    at.query_params["tasks"] = task["task_id"]
    wait_for(at, lambda at: bool(at.expander))
    assert at.expander[0].label.startswith("舊的.csv")
    button(at, "清除清單").click().run()
    assert not at.expander
    assert "tasks" not in at.query_params


@pytest.mark.slow
def test_failed_analysis_is_explained(app: AppTest) -> None:
    app.switch_page("app_pages/file_upload.py").run()
    app.file_uploader[0].set_value([("截斷.json", b'[{"a": 1}, {"a": ', "application/json")]).run()
    button(app, "開始上傳並分析").click().run()
    wait_for(app, lambda at: any("失敗" in e.label for e in at.expander))
    assert app.error[0].value.startswith("**任務失敗：")


# --- task management ------------------------------------------------------------------------------


@pytest.mark.slow
def test_task_management_filter_view_cancel_delete(app: AppTest, client: APIClient) -> None:
    done = client.create_process_task("管理", 0)
    wait_task(client, done["task_id"])
    running = client.create_process_task("還在跑", 60)
    try:
        app.switch_page("app_pages/task_management.py").run()
        table = app.dataframe[0].value
        assert list(table.columns) == [
            "名稱", "種類", "狀態", "進度", "剩餘時間", "階段", "大小", "建立時間", "完成時間",
        ]  # fmt: skip
        assert app.toggle(key="tasks_auto").label == "自動更新"

        app.selectbox(key="tasks_status").set_value("processing").run()
        assert set(app.dataframe[0].value["狀態"]) == {"處理中"}
        app.selectbox(key="tasks_selected").set_value(running["task_id"]).run()
        assert button(app, "檢視結果").disabled
        button(app, "取消任務").click().run()
        assert "已取消任務。" in [m.value for m in app.success]
        assert client.get_task(running["task_id"])["status"] == "cancelled"

        app.selectbox(key="tasks_status").set_value("completed").run()
        app.selectbox(key="tasks_kind").set_value("process").run()
        app.selectbox(key="tasks_selected").set_value(done["task_id"]).run()
        button(app, "檢視結果").click().run()
        assert app.code[0].value == "已處理: 管理"
        assert app.download_button[0].label == "下載 JSON 報告"
        button(app, "確定刪除").click().run()
        assert "已刪除任務。" in [m.value for m in app.success]
        assert done["task_id"] not in [t["task_id"] for t in client.list_tasks(limit=500)["items"]]
    finally:
        if client.get_task(running["task_id"])["status"] != "cancelled":
            client.cancel_task(running["task_id"])


def test_task_management_empty_filter(app: AppTest) -> None:
    app.switch_page("app_pages/task_management.py").run()
    app.selectbox(key="tasks_kind").set_value("analyze").run()
    app.selectbox(key="tasks_status").set_value("cancelled").run()
    assert "沒有符合條件的任務。" in [m.value for m in app.info]


@pytest.mark.slow
def test_task_management_pages(app: AppTest, client: APIClient) -> None:
    created = []
    for _ in range(22):
        task = client.create_process_task("分頁", 60)
        client.cancel_task(task["task_id"])
        created.append(task["task_id"])
    app.switch_page("app_pages/task_management.py").run()
    app.selectbox(key="tasks_status").set_value("cancelled").run()
    assert len(app.dataframe[0].value) == 20
    app.number_input(key="tasks_page").set_value(2).run()
    assert not app.exception
    assert "第 2 / " in app.caption[0].value

    for task in client.list_tasks(status="cancelled", limit=500)["items"]:
        client.delete_task(task["task_id"])
    app.run()  # the page it was on no longer exists
    assert not app.exception
    assert "第 1 / 1 頁" in app.caption[0].value
    assert "沒有符合條件的任務。" in [m.value for m in app.info]
