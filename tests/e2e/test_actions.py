"""User actions that must survive double clicks, lost answers and reruns (issue 12), in a
real Chromium against the real frontend and backend, with tests/lossy_proxy.py between
them: the frontend talks to the proxy, which lets the backend act and then loses answers
or slows uploads down when a test asks it to.

Every test counts the tasks on the backend, looks at what the page shows, and checks that
the page tracks every task the backend has.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Page, expect

from frontend.utils.api_client import APIClient
from tests.e2e.conftest import VIEWPORT, screenshot
from tests.e2e.test_browser import MAIN, SIDEBAR, go_to, open_app, wait_idle
from tests.lossy_proxy import LossyProxy
from tests.servers import Server, start_backend, start_frontend

HUMAN_DOUBLE_CLICK_MS = 150  # a zero-gap double click is merged by the browser
TASK = r"/api/tasks/[^/]+"


@pytest.fixture(scope="module")
def lossy_stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Server, LossyProxy, Server]]:
    workdir = tmp_path_factory.mktemp("e2e-lossy")
    backend = start_backend(workdir / "backend", max_upload_mb=5)
    proxy = LossyProxy(backend.url).start()
    frontend = start_frontend(workdir / "frontend", proxy.url)
    yield backend, proxy, frontend
    frontend.stop()
    proxy.stop()
    backend.stop()


@pytest.fixture
def proxied(lossy_stack) -> Iterator[tuple[Server, LossyProxy, Server]]:
    """The module's stack with no task on the backend and nothing lost or slowed."""
    backend, proxy, frontend = lossy_stack
    _delete_all(backend)
    proxy.reset()
    yield backend, proxy, frontend
    proxy.reset()
    _delete_all(backend)


@pytest.fixture
def page(browser) -> Iterator[Page]:
    """A fresh browser tab (the shared `page` fixture would start the default stack too)."""
    context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei", viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def _tasks(backend: Server) -> list[dict]:
    return requests.get(f"{backend.url}/api/tasks", params={"limit": 500}, timeout=5).json()[
        "items"
    ]


def _delete_all(backend: Server) -> None:
    for task in _tasks(backend):
        if task["status"] in ("pending", "processing"):
            requests.post(f"{backend.url}/api/tasks/{task['task_id']}/cancel", timeout=5)
        requests.delete(f"{backend.url}/api/tasks/{task['task_id']}", timeout=5)


def _url_ids(page: Page, name: str) -> set[str]:
    values = parse_qs(urlsplit(page.url).query).get(name, [""])
    return {i for value in values for i in value.split(",") if i}


def _csv(path: Path, rows: int, seed: int = 0) -> Path:
    body = "".join(f"{i},臺北市,{i * 7 + seed}\n" for i in range(rows))
    path.write_text("編號,城市,金額\n" + body, encoding="utf-8")
    return path


def _double_click(page: Page, name: str) -> None:
    """Two clicks a human gap apart, where the button was when the first one landed (once
    the page has settled: a table drawn late would move the button)."""
    wait_idle(page)
    box = page.get_by_role("button", name=name).bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.wait_for_timeout(HUMAN_DOUBLE_CLICK_MS)
    page.mouse.click(x, y)


def _no_error_on_page(page: Page) -> None:
    alerts = page.locator(MAIN).locator('[data-testid="stAlertContentError"]')
    assert alerts.count() == 0, alerts.all_inner_texts()
    assert "Traceback" not in page.content()


# --- double clicks --------------------------------------------------------------------------------


def test_double_click_on_start_makes_one_task(page: Page, proxied) -> None:
    backend, _, frontend = proxied
    open_app(page, frontend, "long_task")
    page.get_by_role("textbox", name="要處理的資料").fill("連點兩下")
    page.get_by_role("spinbutton", name="處理時間（秒）").fill("30")
    _double_click(page, "開始處理")
    expect(page.locator(MAIN).locator('[data-testid="stProgress"]')).to_contain_text("處理中")
    wait_idle(page)
    tasks = _tasks(backend)
    assert len(tasks) == 1, tasks
    assert _url_ids(page, "task") == {tasks[0]["task_id"]}
    expect(page.get_by_text("這個任務已經送出，沒有重複建立")).to_be_visible()
    _no_error_on_page(page)
    screenshot(page, "20-連點兩下開始處理")


def test_double_click_on_upload_makes_one_task_per_file(
    page: Page, proxied, tmp_path: Path
) -> None:
    backend, _, frontend = proxied
    files = [_csv(tmp_path / "一月營收.csv", 200, 1), _csv(tmp_path / "二月營收.csv", 200, 2)]
    open_app(page, frontend, "file_upload")
    page.locator('input[type="file"]').set_input_files([str(f) for f in files])
    expect(page.locator(MAIN).locator('[data-testid="stDataFrame"]')).to_be_visible()
    _double_click(page, "開始上傳並分析")
    main = page.locator(MAIN)
    expect(main.get_by_text("有 2 個檔案已經送出，不會重複上傳")).to_be_visible()  # 2nd click
    # Both analyses may finish within one poll, so wait for the count, not for one button.
    expect(main.locator('[data-testid="stExpander"]').filter(has_text="已完成")).to_have_count(
        2, timeout=30_000
    )
    # Expanders that finish later may be drawn collapsed: at least one report is offered.
    expect(main.get_by_role("button", name="下載 JSON 報告").first).to_be_visible()
    wait_idle(page)
    tasks = _tasks(backend)
    assert sorted(t["filename"] for t in tasks) == ["一月營收.csv", "二月營收.csv"]
    assert _url_ids(page, "tasks") == {t["task_id"] for t in tasks}
    _no_error_on_page(page)
    screenshot(page, "21-連點兩下上傳")


# --- lost answers -----------------------------------------------------------------------------


def test_lost_answers_show_the_real_outcome(page: Page, proxied, tmp_path: Path) -> None:
    backend, proxy, frontend = proxied
    main = page.locator(MAIN)

    # An upload whose answer is lost: its analysis is shown, not "interrupted".
    proxy.drop_answer("POST", "/api/upload/stream")
    open_app(page, frontend, "file_upload")
    page.locator('input[type="file"]').set_input_files(str(_csv(tmp_path / "報價單.csv", 300)))
    page.get_by_role("button", name="開始上傳並分析").click()
    expect(main.get_by_role("button", name="下載 JSON 報告")).to_be_visible(timeout=30_000)
    wait_idle(page)
    _no_error_on_page(page)
    assert "大小上限" not in main.inner_text()
    tasks = _tasks(backend)
    assert len(tasks) == 1 and _url_ids(page, "tasks") == {tasks[0]["task_id"]}
    assert proxy.seen("POST", "/api/upload/stream")[0].dropped
    screenshot(page, "22-上傳的回應遺失")

    # A staged job whose every answer is lost: found by its key, shown running.
    proxy.drop_answer("POST", "/api/process", times=None)
    go_to(page, "長時間任務")
    page.get_by_role("spinbutton", name="處理時間（秒）").fill("60")
    page.get_by_role("button", name="開始處理").click()
    expect(main.locator('[data-testid="stProgress"]')).to_contain_text("處理中")
    wait_idle(page)
    _no_error_on_page(page)
    assert "無法連線" not in main.inner_text()
    job = next(t for t in _tasks(backend) if t["kind"] == "process")
    assert len(_tasks(backend)) == 2 and _url_ids(page, "task") == {job["task_id"]}
    screenshot(page, "23-建立任務的回應遺失")

    # A cancel whose answer is lost: the retry hears "already cancelled", which is success.
    proxy.drop_answer("POST", f"{TASK}/cancel")
    page.get_by_role("button", name="取消任務").click()
    expect(page.get_by_text("已取消任務。")).to_be_visible()
    expect(main.locator('[data-testid="stProgress"]')).to_contain_text("已取消")
    wait_idle(page)
    _no_error_on_page(page)
    assert (
        requests.get(f"{backend.url}/api/tasks/{job['task_id']}", timeout=5).json()["status"]
        == "cancelled"
    )
    screenshot(page, "24-取消的回應遺失")

    # A delete whose answer is lost: the retry hears "no such task", which is success.
    go_to(page, "任務管理")
    page.get_by_role("combobox", name="選擇任務").click()
    page.get_by_role("option", name=re.compile("^長時間處理")).click()
    proxy.drop_answer("DELETE", TASK)
    page.get_by_role("button", name="刪除任務").click()
    page.get_by_role("button", name="確定刪除").click()
    expect(page.get_by_text("已刪除任務。")).to_be_visible()
    wait_idle(page)
    _no_error_on_page(page)
    assert [t["task_id"] for t in _tasks(backend)] == [tasks[0]["task_id"]]
    assert [(e.status, e.dropped) for e in proxy.seen("DELETE", TASK)] == [
        (204, True),
        (404, False),
    ]
    screenshot(page, "25-刪除的回應遺失")


# --- uploads through reruns -----------------------------------------------------------------------


def test_five_files_survive_a_removed_file_and_a_page_switch(
    page: Page, proxied, tmp_path: Path
) -> None:
    backend, proxy, frontend = proxied
    names = [f"分店{i}營收.csv" for i in range(1, 6)]
    files = [_csv(tmp_path / name, 6_000, i) for i, name in enumerate(names)]  # 120 KB each
    proxy.bytes_per_s = 60_000  # about 2 s a file, 10 s in all
    open_app(page, frontend, "file_upload")
    page.locator('input[type="file"]').set_input_files([str(f) for f in files])
    expect(page.get_by_text(names[-1]).first).to_be_visible()
    page.get_by_role("button", name="開始上傳並分析").click()
    main = page.locator(MAIN)
    expect(main.get_by_text(f"等待上傳「{names[-1]}」")).to_be_visible()
    screenshot(page, "26-五個檔案上傳中")

    # A click: the first file removed from the uploader while the files are sent.
    chip = page.locator('[data-testid="stFileChip"]').filter(has_text=names[0])
    chip.locator('[data-testid="stFileChipDeleteBtn"]').click()
    expect(page.locator('[data-testid="stFileChip"]').filter(has_text=names[0])).to_have_count(0)

    # A page switch: the sidebar keeps showing the upload.
    go_to(page, "任務管理")
    sidebar = page.locator(SIDEBAR)
    expect(sidebar.get_by_role("heading", name="上傳進度")).to_be_visible()
    expect(sidebar.locator('[data-testid="stProgress"]').first).to_contain_text("切換頁面不會中斷")
    assert len(_tasks(backend)) < 5
    wait_idle(page)
    screenshot(page, "27-上傳中切換頁面")
    go_to(page, "檔案上傳")
    expect(main.locator('[data-testid="stExpander"]').filter(has_text="已完成")).to_have_count(
        5, timeout=60_000
    )
    wait_idle(page)
    tasks = _tasks(backend)
    assert sorted(t["filename"] for t in tasks) == sorted(names)
    assert _url_ids(page, "tasks") == {t["task_id"] for t in tasks}
    assert "uploads" not in page.url
    _no_error_on_page(page)
    screenshot(page, "28-五個檔案都有任務")


def test_files_not_sent_are_listed_with_a_resend_button(
    page: Page, proxied, tmp_path: Path
) -> None:
    backend, proxy, frontend = proxied
    names = ["北區.csv", "中區.csv", "南區.csv"]
    files = [_csv(tmp_path / name, 100, i) for i, name in enumerate(names)]
    proxy.drop_answer("POST", "/api/upload/stream", nth=2, times=None, forward=False)
    open_app(page, frontend, "file_upload")
    page.locator('input[type="file"]').set_input_files([str(f) for f in files])
    page.get_by_role("button", name="開始上傳並分析").click()
    main = page.locator(MAIN)
    unsent = main.locator('[data-testid="stAlert"]').filter(has_text="還沒有送到後端")
    # .first: while Streamlit reruns, the last run's box may still be on screen beside it
    expect(unsent.first).to_contain_text("有 2 個檔案還沒有送到後端", timeout=30_000)
    wait_idle(page)
    # On a busy machine the last run's box can outlast wait_idle: wait for it to go.
    expect(unsent).to_have_count(1, timeout=30_000)
    expect(unsent).to_contain_text("「中區.csv」")
    expect(unsent).to_contain_text("「南區.csv」")
    expect(main.get_by_role("button", name="送出未送出的檔案")).to_be_visible()
    wait_idle(page)
    assert [t["filename"] for t in _tasks(backend)] == ["北區.csv"]
    assert _url_ids(page, "tasks") == {t["task_id"] for t in _tasks(backend)}
    screenshot(page, "29-未送出的檔案")

    proxy.clear_rules()
    main.get_by_role("button", name="送出未送出的檔案").click()
    expect(main.locator('[data-testid="stExpander"]').filter(has_text="已完成")).to_have_count(
        3, timeout=30_000
    )
    expect(unsent).to_have_count(0)
    wait_idle(page)
    tasks = _tasks(backend)
    assert sorted(t["filename"] for t in tasks) == sorted(names)
    assert _url_ids(page, "tasks") == {t["task_id"] for t in tasks}


# --- page state ---------------------------------------------------------------------------------


def test_task_management_keeps_its_state_across_pages_and_a_reload(page: Page, proxied) -> None:
    backend, _, frontend = proxied
    client = APIClient(backend.url)
    for name in ("一月營收.csv", "二月營收.csv", "客戶名單.csv"):
        client.upload_file(name, "名稱,數量\n甲,1\n乙,2\n".encode())
    deadline = time.monotonic() + 20
    while {t["status"] for t in _tasks(backend)} != {"completed"}:
        assert time.monotonic() < deadline
        time.sleep(0.2)

    open_app(page, frontend, "task_management")
    main = page.locator(MAIN)
    page.get_by_role("searchbox", name="搜尋檔名").fill("營收")
    expect(main.get_by_text(re.compile(r"共 2 個任務"))).to_be_visible()
    page.get_by_role("combobox", name="狀態").click()
    page.get_by_role("option", name="已完成").click()
    page.get_by_role("combobox", name="種類").click()
    page.get_by_role("option", name="檔案分析").click()
    page.get_by_role("combobox", name="選擇任務").click()
    page.get_by_role("option", name=re.compile("^二月營收.csv")).click()
    page.get_by_role("button", name="檢視結果").click()
    expect(main.get_by_text("二月營收.csv 的結果")).to_be_visible()

    def kept() -> None:
        expect(page.get_by_role("searchbox", name="搜尋檔名")).to_have_value("營收")
        expect(page.get_by_role("combobox", name="狀態")).to_have_value("已完成")
        expect(page.get_by_role("combobox", name="種類")).to_have_value("檔案分析")
        expect(page.get_by_role("combobox", name="選擇任務")).to_have_value(
            re.compile("^二月營收.csv")
        )
        expect(main.get_by_text("二月營收.csv 的結果")).to_be_visible()
        expect(main.get_by_text(re.compile(r"共 2 個任務"))).to_be_visible()

    go_to(page, "檔案上傳")
    go_to(page, "任務管理")
    kept()
    wait_idle(page)
    screenshot(page, "30-任務管理切換頁面後保留篩選")
    page.reload()
    expect(main.get_by_role("heading", name="任務管理")).to_be_visible()
    kept()


def test_a_reload_during_an_upload_loses_no_file(page: Page, proxied, tmp_path: Path) -> None:
    """After a reload only the URL is left (?uploads= holds each unsent file's key): the
    files the tab was sending are asked about by key until the backend has them all."""
    backend, proxy, frontend = proxied
    names = ["東區.csv", "西區.csv", "南區.csv"]
    files = [_csv(tmp_path / name, 6_000, i) for i, name in enumerate(names)]
    proxy.bytes_per_s = 60_000  # about 2 s a file
    open_app(page, frontend, "file_upload")
    page.locator('input[type="file"]').set_input_files([str(f) for f in files])
    page.get_by_role("button", name="開始上傳並分析").click()
    main = page.locator(MAIN)
    expect(main.get_by_text(f"等待上傳「{names[-1]}」")).to_be_visible()
    assert "uploads=" in page.url

    page.reload()
    expect(main.get_by_role("heading", name="檔案上傳")).to_be_visible()
    checking = main.locator('[data-testid="stAlert"]').filter(has_text="正在向後端確認")
    expect(checking.first).to_contain_text(f"「{names[-1]}」")
    wait_idle(page)
    screenshot(page, "31-重新整理後向後端確認上傳")
    expect(main.locator('[data-testid="stExpander"]').filter(has_text="已完成")).to_have_count(
        3, timeout=60_000
    )
    expect(checking).to_have_count(0)
    wait_idle(page)
    tasks = _tasks(backend)
    assert sorted(t["filename"] for t in tasks) == sorted(names)
    assert _url_ids(page, "tasks") == {t["task_id"] for t in tasks}
    assert "uploads=" not in page.url
    _no_error_on_page(page)


def test_a_job_nobody_could_confirm_is_said_so_then_found(page: Page, proxied) -> None:
    """The answer is lost and the backend cannot be asked either: the page says it does not
    know yet (not "cannot connect"), and shows the task once the backend can say."""
    backend, proxy, frontend = proxied
    proxy.drop_answer("POST", "/api/process", times=None)
    proxy.drop_answer("GET", "/api/tasks", times=None)
    open_app(page, frontend, "long_task")
    page.get_by_role("spinbutton", name="處理時間（秒）").fill("60")
    page.get_by_role("button", name="開始處理").click()
    main = page.locator(MAIN)
    expect(main.get_by_text("還不確定任務是否已經建立")).to_be_visible()
    wait_idle(page)
    _no_error_on_page(page)
    assert len(_tasks(backend)) == 1
    screenshot(page, "32-建立任務的結果還不確定")

    proxy.clear_rules()
    expect(main.locator('[data-testid="stProgress"]')).to_contain_text("處理中", timeout=20_000)
    expect(main.get_by_text("還不確定任務是否已經建立")).to_have_count(0)
    wait_idle(page)
    tasks = _tasks(backend)
    assert len(tasks) == 1 and _url_ids(page, "task") == {tasks[0]["task_id"]}
    assert "action=" not in page.url
