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

            page.goto(f"{frontend.url}/file_upload")
            settle(page)
            shot(page, "02_upload_empty")
            if samples:
                page.locator('input[type="file"]').set_input_files([str(s) for s in samples])
                settle(page)
                shot(page, "03_upload_selected")
                page.get_by_role("button", name="開始上傳並分析").click()
                settle(page, 6)
                shot(page, "04_upload_results")

            page.goto(f"{frontend.url}/long_task")
            settle(page)
            page.get_by_role("spinbutton", name="處理時間（秒）").fill("8")
            page.keyboard.press("Tab")
            page.get_by_role("button", name="開始處理").click()
            settle(page, 2.5)
            shot(page, "05_long_running")
            page.goto(f"{frontend.url}/task_management")
            settle(page)
            shot(page, "06_tasks")
            page.goto(f"{frontend.url}/long_task")
            settle(page, 9)
            shot(page, "07_long_done")

            page.goto(f"{frontend.url}/settings")
            settle(page)
            shot(page, "08_settings")

            page.goto(frontend.url)
            settle(page)
            shot(page, "09_home_with_tasks")

            backend.stop()
            page.goto(frontend.url)
            settle(page, 3)
            shot(page, "10_backend_down")
            browser.close()
    finally:
        backend.stop()
        frontend.stop()


if __name__ == "__main__":
    main([Path(arg) for arg in sys.argv[1:]])
