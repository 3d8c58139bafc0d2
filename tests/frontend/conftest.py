"""Fixtures for the frontend tests: real backend processes, AppTest helpers."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from frontend.utils.api_client import APIClient
from frontend.utils.config import get_settings
from frontend.utils.errors import ConflictError
from frontend.utils.vocabulary import Vocabulary
from tests.lossy_proxy import LossyProxy
from tests.servers import Server, start_backend

APP = Path(__file__).resolve().parents[2] / "frontend" / "app.py"
API_KEY = "k"
MAX_UPLOAD_MB = 1


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_backend(tmp_path_factory.mktemp("backend"), max_upload_mb=MAX_UPLOAD_MB)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def auth_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_backend(
        tmp_path_factory.mktemp("auth_backend"), max_upload_mb=MAX_UPLOAD_MB, api_key=API_KEY
    )
    yield server
    server.stop()


@pytest.fixture
def client(backend: Server) -> APIClient:
    return APIClient(backend.url)


@pytest.fixture(scope="session")
def vocabulary(backend: Server) -> Vocabulary:
    """The real backend's labels, as the pages get them."""
    return APIClient(backend.url).vocabulary()


@pytest.fixture(autouse=True)
def _settings_from_test_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A developer's .env must not leak into the tests' defaults."""
    monkeypatch.setenv("API_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("API_KEY", "")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def make_app() -> Callable[..., AppTest]:
    """An AppTest of the whole app, its session pointed at `url` (not yet run)."""

    def factory(url: str, api_key: str = "", **state: Any) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=30)
        at.session_state["api_base_url"] = url
        at.session_state["api_key"] = api_key
        for key, value in state.items():
            at.session_state[key] = value
        return at

    return factory


@pytest.fixture
def app(make_app: Callable[..., AppTest], backend: Server) -> AppTest:
    return make_app(backend.url).run()


def wait_for(
    at: AppTest, predicate: Callable[[AppTest], bool], timeout: float = 20, pause: float = 0.3
) -> AppTest:
    """Rerun the app (as the polling fragment would) until `predicate` holds."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert not at.exception, at.exception
        if predicate(at):
            return at
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met after {timeout}s; page text: {page_text(at)}")
        time.sleep(pause)


def wait_task(client: APIClient, task_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task = client.get_task(task_id)
        if task["status"] in {"completed", "failed", "cancelled"}:
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task still {task['status']} after {timeout}s")
        time.sleep(0.1)


def button(at: AppTest, label: str) -> Any:
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return matches[0]


def page_text(at: AppTest) -> str:
    """Every piece of text on the page, for `in` assertions."""
    parts: list[str] = []
    for kind in (
        "title", "header", "subheader", "markdown", "caption", "success", "info",
        "warning", "error", "code", "metric",
    ):  # fmt: skip
        for element in getattr(at, kind):
            parts.append(str(getattr(element, "label", "")))
            parts.append(str(element.value))
    for block in at.expander:
        parts.append(block.label)
    return "\n".join(parts)


def delete_all_tasks(client: APIClient) -> None:
    """Cancel what runs and delete every task, so a test counts only its own."""
    for task in client.list_tasks(limit=500)["items"]:
        if task["status"] in ("pending", "processing"):
            with contextlib.suppress(ConflictError):  # it may have finished meanwhile
                client.cancel_task(task["task_id"])
        client.delete_task(task["task_id"])


@pytest.fixture(scope="module")
def own_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A backend of the test module's own, so that its task count is exact."""
    server = start_backend(tmp_path_factory.mktemp("own_backend"), max_upload_mb=1)
    yield server
    server.stop()


@pytest.fixture
def direct(own_backend: Server) -> Iterator[APIClient]:
    """A client that talks to `own_backend` without the proxy; the backend starts empty."""
    client = APIClient(own_backend.url)
    delete_all_tasks(client)
    yield client
    delete_all_tasks(client)


@pytest.fixture
def proxy(own_backend: Server) -> Iterator[LossyProxy]:
    """A lossy proxy in front of `own_backend` (tests/lossy_proxy.py)."""
    with LossyProxy(own_backend.url) as proxy:
        yield proxy
