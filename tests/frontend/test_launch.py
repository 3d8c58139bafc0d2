"""`streamlit run frontend/app.py` as users start it: a real server and a real browser.

AppTest imports the pages in-process, so it cannot catch a wrong import path or a
frontend/.streamlit/config.toml that Streamlit does not read; this test can.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.servers import Server, start_frontend

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs /usr/bin/chromium")


@pytest.fixture
def frontend(backend: Server, tmp_path: Path) -> Iterator[Server]:
    server = start_frontend(tmp_path, backend.url)
    yield server
    server.stop()


def test_started_from_the_repository_root(frontend: Server) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(frontend.url)
            page.wait_for_selector("h1", timeout=30_000)
            assert page.locator("h1").first.inner_text() == "資料處理工作台"
            assert page.get_by_text("後端已連線").is_visible()

            page.locator('[data-testid="stSidebarNav"]').get_by_text("檔案上傳").click()
            instructions = page.locator('[data-testid="stFileUploaderDropzoneInstructions"]')
            instructions.wait_for(timeout=30_000)
            # server.maxUploadSize = 10 from frontend/.streamlit/config.toml (Streamlit's
            # default is 200), so the script-level config file was read.
            assert "10MB" in (instructions.text_content() or "")
        finally:
            browser.close()
    assert "Traceback" not in frontend.log()
