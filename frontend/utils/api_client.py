"""The only way the frontend talks to the backend: one method per endpoint, and the
session's client (`current_client()`) with the backend facts pages share.

Every failure leaves this module as an `AppError` subclass with zh-TW text; pages never
see a `requests` exception. Safe calls (GET, DELETE) are retried on 500/502/503/504 and
on connection errors; uploads and task creation are never sent twice.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests
import streamlit as st
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from frontend.utils.config import get_settings
from frontend.utils.errors import AppError, backend_error, make_error
from frontend.utils.session_state import AppSessionState
from frontend.utils.vocabulary import Vocabulary

logger = logging.getLogger(__name__)

RETRY_STATUSES = (500, 502, 503, 504)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
UPLOAD_CHUNK_BYTES = 256 * 1024
VOCABULARY_PATH = "/api/vocabulary"
VOCABULARY_TTL_S = 300.0  # it changes only when the backend is upgraded
_PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# file format -> (media type, file name when the backend gives none)
RESULT_FORMATS = {"json": ("application/json", "result.json"), "xlsx": (XLSX_MIME, "result.xlsx")}

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class DownloadedFile:
    filename: str
    content: bytes


@dataclass(frozen=True)
class RunnerStatus:
    """Where the backend runs tasks, as `GET /` says: "local" (in the API's own processes)
    or "celery" (Celery workers), and with Celery the workers online and the tasks waiting
    for one. A backend that predates the field runs tasks locally."""

    runner: str = "local"
    workers_online: int | None = None
    queue_length: int | None = None

    @classmethod
    def from_health(cls, health: dict[str, Any]) -> RunnerStatus:
        def count(key: str) -> int | None:
            value = health.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        runner = health.get("runner")
        return cls(
            runner=runner if isinstance(runner, str) and runner else "local",
            workers_online=count("workers_online"),
            queue_length=count("queue_length"),
        )

    @property
    def waiting_for_workers(self) -> bool:
        """Tasks are queued and no worker is online to take them."""
        return self.workers_online == 0 and bool(self.queue_length)


@dataclass(frozen=True)
class BackendStatus:
    ok: bool
    health: dict[str, Any] | None = None
    error: AppError | None = None


class _ProgressBody:
    """An upload body with a known length (so requests sends Content-Length, not chunked)
    that reports how many bytes went out. A bare generator would make requests add
    `Transfer-Encoding: chunked` even next to an explicit Content-Length."""

    def __init__(self, data: bytes, on_progress: ProgressCallback | None, chunk: int) -> None:
        self._data = memoryview(data)
        self._on_progress = on_progress
        self._chunk = chunk
        self.sent = 0

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[bytes]:
        self.sent = 0
        total = len(self._data)
        for start in range(0, total, self._chunk):
            piece = self._data[start : start + self._chunk]
            yield bytes(piece)
            # Resumed only once the previous piece went to the socket.
            self.sent += len(piece)
            if self._on_progress is not None:
                self._on_progress(self.sent, total)


def _content_disposition_name(header: str | None, fallback: str) -> str:
    if not header:
        return fallback
    match = re.search(r"filename\*=UTF-8''([^;]+)", header, re.IGNORECASE)
    if match:
        return unquote(match.group(1))
    match = re.search(r'filename="?([^";]+)"?', header, re.IGNORECASE)
    return match.group(1) if match else fallback


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_read_timeout(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ReadTimeout):
        return True
    # Retries exhausted on read timeouts surface as ConnectionError(MaxRetryError(...)).
    reason = exc.args[0] if exc.args else None
    return isinstance(reason, MaxRetryError) and isinstance(reason.reason, ReadTimeoutError)


class APIClient:
    """Thread-safe enough to share between sessions: it holds no per-user state."""

    def __init__(
        self,
        base_url: str,
        api_key: str = "",
        timeout: tuple[float, float] = (3.05, 10.0),
        *,
        retries: int = 3,
        backoff_factor: float = 0.2,
        upload_read_timeout: float = 120.0,
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise make_error("invalid_url", details={"url": base_url})
        self._vocabulary_copy: tuple[float, Vocabulary] | None = None
        self._vocabulary_lock = threading.Lock()
        self.base_url = base_url.strip().rstrip("/")
        self.timeout = timeout
        self.upload_timeout = (timeout[0], upload_read_timeout)
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json, application/problem+json"
        if api_key:
            self._session.headers["X-API-Key"] = api_key
        retry = Retry(
            total=retries,
            connect=retries,
            read=1,  # a read timeout already cost a full read_timeout; retry it once only
            status=retries,
            other=0,
            backoff_factor=backoff_factor,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=IDEMPOTENT_METHODS,
            raise_on_status=False,
            respect_retry_after_header=False,  # never freeze a page for a server-chosen time
        )
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=20)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def close(self) -> None:
        self._session.close()

    # --- transport -----------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, timeout: tuple[float, float] | None = None, **kwargs: Any
    ) -> requests.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self._session.request(method, url, timeout=timeout or self.timeout, **kwargs)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:  # fmt: skip
            raise make_error("invalid_url", details={"url": self.base_url}) from exc
        except requests.RequestException as exc:
            raise self._transport_error(exc) from exc
        self._raise_for_problem(response)
        return response

    def _transport_error(self, exc: requests.RequestException) -> AppError:
        logger.info("Request to %s failed: %r", self.base_url, exc)
        if _is_read_timeout(exc):
            return make_error("timeout_error", details={"url": self.base_url})
        return make_error("connection_error", details={"url": self.base_url})

    def _raise_for_problem(self, response: requests.Response) -> None:
        """A problem+json answer as the AppError for its code, in the backend's words."""
        if response.ok:
            return
        status = response.status_code
        body: Any = None
        if "json" in response.headers.get("content-type", ""):
            try:
                body = response.json()
            except ValueError:
                body = None
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            raise make_error(
                body["code"],
                _text(body.get("detail")),
                title=_text(body.get("title")),
                details={k: v for k, v in body.items() if k not in _PROBLEM_FIELDS},
                status=status,
            )
        if status in (502, 503, 504):
            raise make_error("service_unavailable", status=status)
        if status == 413 and not response.request.path_url.endswith(VOCABULARY_PATH):
            # A proxy in front of the backend refused the upload without a problem body.
            raise backend_error(self._known_vocabulary(), "file_too_large", status=status)
        raise make_error("http_error", status=status)

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise make_error("invalid_response", status=response.status_code) from exc

    def _get_json(self, path: str, **kwargs: Any) -> Any:
        return self._json(self._request("GET", path, **kwargs))

    @staticmethod
    def _task_path(task_id: str) -> str:
        return f"/api/task/{quote(task_id, safe='')}"

    # --- endpoints -------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """GET / (no authentication); `RunnerStatus.from_health` reads its runner fields."""
        return self._get_json("/", timeout=(self.timeout[0], min(self.timeout[1], 5.0)))

    def check_backend_connection(self) -> BackendStatus:
        try:
            return BackendStatus(ok=True, health=self.health())
        except AppError as exc:
            return BackendStatus(ok=False, error=exc)

    def get_config(self) -> dict[str, Any]:
        return self._get_json("/api/config")

    def vocabulary(self) -> Vocabulary:
        """GET /api/vocabulary: every closed vocabulary with its zh-TW labels, kept for
        VOCABULARY_TTL_S; an older copy is used while the backend cannot be reached."""
        with self._vocabulary_lock:
            cached = self._vocabulary_copy
        if cached is not None and time.monotonic() - cached[0] < VOCABULARY_TTL_S:
            return cached[1]
        try:
            fresh = self._get_json(VOCABULARY_PATH)
        except AppError:
            if cached is None:
                raise
            return cached[1]
        with self._vocabulary_lock:
            self._vocabulary_copy = (time.monotonic(), fresh)
        return fresh

    def _known_vocabulary(self) -> Vocabulary:
        try:
            return self.vocabulary()
        except AppError:
            return {}

    def create_process_task(self, data: str, delay: int) -> dict[str, Any]:
        return self._json(
            self._request("POST", "/api/process", json={"data": data, "delay": delay})
        )

    def upload_file(
        self, filename: str, content: bytes, on_progress: ProgressCallback | None = None
    ) -> dict[str, Any]:
        """POST /api/upload/stream: the raw bytes in chunks, reporting bytes sent."""
        body = _ProgressBody(content, on_progress, UPLOAD_CHUNK_BYTES)
        headers = {
            "X-Filename": quote(filename, safe=""),
            "Content-Type": "application/octet-stream",
        }
        try:
            response = self._session.post(
                f"{self.base_url}/api/upload/stream",
                # An empty body is sent as such (the backend answers empty_file), not chunked.
                data=body if content else b"",
                headers=headers,
                timeout=self.upload_timeout,
            )
        except requests.RequestException as exc:
            raise self._upload_error(exc, body.sent) from exc
        self._raise_for_problem(response)
        return self._json(response)

    def upload_file_multipart(self, filename: str, content: bytes) -> dict[str, Any]:
        """POST /api/upload (multipart): no progress; kept for completeness and scripts."""
        files = {"file": (filename, content, "application/octet-stream")}
        return self._json(
            self._request("POST", "/api/upload", files=files, timeout=self.upload_timeout)
        )

    def _upload_error(self, exc: requests.RequestException, sent: int) -> AppError:
        """The backend may refuse an upload (e.g. too large) and drop the connection while
        we are still sending: a backend that still answers GET / tells that apart from one
        that is down."""
        if _is_read_timeout(exc):
            return make_error("timeout_error", details={"url": self.base_url})
        if isinstance(exc, requests.ConnectionError) and self.check_backend_connection().ok:
            logger.info("Upload dropped after %d bytes by a running backend: %r", sent, exc)
            return make_error("upload_rejected")
        return self._transport_error(exc)

    def get_task(self, task_id: str) -> dict[str, Any]:
        return self._get_json(self._task_path(task_id))

    def list_tasks(
        self,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        offset: int = 0,
        q: str | None = None,
    ) -> dict[str, Any]:
        """GET /api/tasks, newest first; `q` keeps the tasks whose file name contains it."""
        params = {
            "status": status,
            "kind": kind,
            "q": q.strip() or None if q else None,
            "limit": limit,
            "offset": offset,
        }
        return self._get_json(
            "/api/tasks", params={k: v for k, v in params.items() if v is not None}
        )

    def cancel_task(self, task_id: str) -> dict[str, Any]:
        return self._json(self._request("DELETE", f"{self._task_path(task_id)}/cancel"))

    def delete_task(self, task_id: str) -> None:
        self._request("DELETE", self._task_path(task_id))

    def download_result(self, task_id: str, file_format: str = "json") -> DownloadedFile:
        """GET /api/task/{id}/result: the JSON report, or with `file_format="xlsx"` the
        Excel workbook of a completed analysis."""
        mime, fallback = RESULT_FORMATS[file_format]
        response = self._request(
            "GET",
            f"{self._task_path(task_id)}/result",
            params={"format": file_format} if file_format != "json" else None,
            headers={"Accept": f"{mime}, application/problem+json"},
        )
        if mime not in response.headers.get("content-type", ""):
            # e.g. a backend too old to know ?format= sends its JSON under an .xlsx name
            raise make_error("invalid_response", status=response.status_code)
        name = _content_disposition_name(response.headers.get("content-disposition"), fallback)
        return DownloadedFile(name, response.content)


@st.cache_resource(show_spinner=False, max_entries=16)
def get_api_client(base_url: str, api_key: str) -> APIClient:
    """One client per (base URL, API key), shared by every session that uses them."""
    settings = get_settings()
    return APIClient(
        base_url, api_key, timeout=(settings.connect_timeout_s, settings.read_timeout_s)
    )


def current_client() -> APIClient:
    """The shared client for this session's URL and key; raises AppError(invalid_url)."""
    state = AppSessionState()
    return get_api_client(state.api_base_url, state.api_key)


@st.cache_data(ttl=30, show_spinner=False, max_entries=16)
def _cached_config(base_url: str, api_key: str) -> dict[str, Any]:
    return get_api_client(base_url, api_key).get_config()


def backend_config() -> dict[str, Any]:
    """GET /api/config (upload limits, ...), shared for 30 s by sessions with the same key."""
    state = AppSessionState()
    return _cached_config(state.api_base_url, state.api_key)


def clear_connection_caches() -> None:
    _cached_config.clear()


def backend_vocabulary() -> Vocabulary:
    """The backend's labels for this session's backend; ``{}`` (every value shown as it is)
    when they cannot be had."""
    try:
        return current_client().vocabulary()
    except AppError as exc:
        logger.info("No vocabulary from the backend: %s", exc.code)
        return {}
