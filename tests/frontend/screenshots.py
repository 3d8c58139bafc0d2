"""Screenshots of every page against real servers, for looking at the UI (not a test).

    .venv/bin/python -m tests.frontend.screenshots [sample files...]

Starts a backend and the frontend on free ports, walks the main flows in headless Chromium
and writes PNGs to test-artifacts/screenshots/.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from tests.servers import ROOT, start_backend, start_frontend

OUT = ROOT / "test-artifacts" / "screenshots"
WIDTH = 1400
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def settle(page: Page, seconds: float = 1.5) -> None:
    """Wait for the page title, for Streamlit to stop running, then for charts."""
    page.wait_for_selector("h1", timeout=30_000)
    page.wait_for_timeout(500)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if page.locator('[data-testid="stStatusWidget"]').count() == 0:
            break
        page.wait_for_timeout(200)
    page.wait_for_timeout(int(seconds * 1000))


def go(page: Page, title: str, seconds: float = 1.5) -> None:
    """Follow a sidebar link: the session (and its watched tasks) survives, unlike goto."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    settle(page, seconds)


def shot(page: Page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport."""
    height = page.evaluate(
        "Math.max(...[...document.querySelectorAll('[data-testid=stMain],"
        " [data-testid=stAppViewContainer], [data-testid=stMainBlockContainer]')]"
        ".map(e => e.scrollHeight), 900)"
    )
    page.set_viewport_size({"width": WIDTH, "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(700)
    page.screenshot(path=str(OUT / f"{name}.png"))
    page.set_viewport_size({"width": WIDTH, "height": 900})
    print("wrote", OUT / f"{name}.png")


def main(samples: list[Path]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="shots-"))
    backend = start_backend(work / "backend", max_upload_mb=1)
    frontend = start_frontend(work / "frontend", backend.url)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(
                viewport={"width": WIDTH, "height": 900}, locale="zh-TW", timezone_id="Asia/Taipei"
            )
            page.goto(frontend.url)
            settle(page)
            shot(page, "01_home_empty")

            go(page, "檔案上傳")
            shot(page, "02_upload_empty")
            if samples:
                page.locator('input[type="file"]').set_input_files([str(s) for s in samples])
                settle(page)
                shot(page, "03_upload_selected")
                page.get_by_role("button", name="開始上傳並分析").click()
                settle(page, 8)
                shot(page, "04_upload_results")
                page.locator('[data-testid="stExpander"] summary').filter(
                    has_text=samples[0].name
                ).click()
                settle(page, 3)
                shot(page, "04b_upload_first_sample")

            go(page, "長時間任務")
            page.get_by_role("spinbutton", name="處理時間（秒）").fill("8")
            page.keyboard.press("Tab")
            page.get_by_role("button", name="開始處理").click()
            settle(page, 2.5)
            shot(page, "05_long_running")
            go(page, "任務管理")
            shot(page, "06_tasks")
            if samples:
                page.locator('[data-testid="stSelectbox"]').last.click()
                page.get_by_role("option").filter(has_text=samples[0].name).click()
                settle(page)
                page.get_by_role("button", name="檢視結果").click()
                settle(page, 3)
                shot(page, "06b_task_result")
            go(page, "長時間任務", seconds=9)
            shot(page, "07_long_done")

            page.get_by_role("button", name="開始新的任務").click()
            settle(page)
            page.get_by_role("spinbutton", name="處理時間（秒）").fill("30")
            page.keyboard.press("Tab")
            page.get_by_role("button", name="開始處理").click()
            settle(page, 2)
            page.reload()
            settle(page, 2)
            shot(page, "08_long_after_reload")
            page.get_by_role("button", name="取消任務").click()
            settle(page, 2)
            shot(page, "09_long_cancelled")

            go(page, "設定")
            shot(page, "10_settings")
            go(page, "首頁")
            shot(page, "11_home_with_tasks")

            backend.stop()
            page.get_by_role("button", name="檢查連線").click()
            settle(page, 3)
            shot(page, "12_backend_down")
            browser.close()
    finally:
        backend.stop()
        frontend.stop()


if __name__ == "__main__":
    main([Path(arg) for arg in sys.argv[1:]])
