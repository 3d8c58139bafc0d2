"""Browser end-to-end tests: the real backend and frontend as processes, driven by Chromium.

Chromium is the system one (Debian's `chromium`); nothing is downloaded. Without it the
tests are skipped with a message, unless E2E_REQUIRED=1 (CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ROOT, Server, start_backend, start_frontend

ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    executable = _chromium_path()
    if executable is None:
        message = (
            "找不到 Chromium，略過瀏覽器端對端測試。"
            "安裝方式：sudo apt-get install chromium fonts-noto-cjk，或設定 CHROMIUM_PATH。"
        )
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(message + "（E2E_REQUIRED=1：CI 必須執行端對端測試）", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """A backend with a 5 MB upload limit (below the browser uploader's 10 MB, so our own
    zh-TW check is what refuses bigger files) and a frontend pointed at it."""
    workdir = tmp_path_factory.mktemp("e2e")
    backend = start_backend(workdir / "backend", max_upload_mb=5)
    frontend = start_frontend(workdir / "frontend", backend.url)
    yield backend, frontend
    frontend.stop()
    backend.stop()


@pytest.fixture
def page(browser, stack):
    context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei", viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(20_000)
    # expect() waits as long as actions do (its own default is 5 s): on a loaded machine a
    # Streamlit page switch or rerun can take longer, and these are deadlines, not speeds.
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    yield page
    context.close()


VIEWPORT = {"width": 1366, "height": 900}
_CONTENT_HEIGHT = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    return main ? main.scrollHeight : document.body.scrollHeight;
}"""


def screenshot(page, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its main area, so the window is grown to fit."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = min(max(page.evaluate(_CONTENT_HEIGHT), VIEWPORT["height"]), 6000)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
    page.wait_for_timeout(500)  # let charts and tables lay out at the new size
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    return path
