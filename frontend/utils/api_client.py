"""The only way the frontend talks to the backend: one method per endpoint. A plain
`requests` client with no Streamlit in it; `frontend.utils.backend` keeps the session's
shared client (`current_client()`) and the backend facts pages share.

Every failure leaves this module as an `AppError` subclass with zh-TW text; pages never
see a `requests` exception. Reads (GET) are retried by urllib3 on 500/502/503/504 and on
connection errors.

Calls that change something are retried here, each attempt with what makes a repeat
harmless, and then the outcome is asked of the backend instead of guessed:

- a task is created (`POST /api/process`, `/api/upload`, `/api/upload/stream`) with an
  `Idempotency-Key`: a repeat returns the task the first attempt created. When every
  attempt failed, or one timed out, `GET /api/tasks?idempotency_key=` says whether the task
  exists; if it does, it is returned as if the answer had arrived.
- a cancel or delete whose answer was lost is done already when its retry hears 409 "task
  already cancelled" or 404 "no such task": that is success, not an error.

What cannot be settled raises `UnconfirmedError`: the action may have happened, so the page
keeps its key and asks again later.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from frontend.utils.errors import (
    AppError,
    NotFoundError,
    UnconfirmedError,
    backend_error,
    make_error,
)
from frontend.utils.formatting import format_size
from frontend.utils.models import BackendStatus, DownloadedFile
from frontend.utils.vocabulary import Vocabulary

logger = logging.getLogger(__name__)

RETRY_STATUSES = (500, 502, 503, 504)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
UPLOAD_CHUNK_BYTES = 256 * 1024
VOCABULARY_PATH = "/api/vocabulary"
VOCABULARY_TTL_S = 300.0  # it changes only when the backend is upgraded
_PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# file format -> (media type, file name when the backend gives none)
RESULT_FORMATS = {"json": ("application/json", "result.json"), "xlsx": (XLSX_MIME, "result.xlsx")}

ProgressCallback = Callable[[int, int], None]


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
    """The download's name from a Content-Disposition header (RFC 6266), ``fallback``
    without one. Invisible format characters (Unicode category Cf: bidi controls such as
    U+202E, zero-width characters) are removed, as the backend removes them, so a name
    cannot show as another (報價單 + U+202E + xcs.csv as 報價單vsc.scx), even from an older
    backend; a name left empty gives ``fallback``."""
    if not header:
        return fallback
    match = re.search(r"filename\*=UTF-8''([^;]+)", header, re.IGNORECASE)
    if match:
        name = unquote(match.group(1))
    else:
        match = re.search(r'filename="?([^";]+)"?', header, re.IGNORECASE)
        name = match.group(1) if match else ""
    name = "".join(char for char in name if unicodedata.category(char) != "Cf")
    return name if name.strip() else fallback


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_read_timeout(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ReadTimeout):
        return True
    # Retries exhausted on read timeouts surface as ConnectionError(MaxRetryError(...)).
    reason = exc.args[0] if exc.args else None
    return isinstance(reason, MaxRetryError) and isinstance(reason.reason, ReadTimeoutError)


def _never_sent(exc: requests.RequestException) -> bool:
    """The connection could not be made (refused, no route, connect timeout): the request
    cannot have reached the backend."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one too


def _problem_code(response: requests.Response) -> str | None:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def new_idempotency_key() -> str:
    """A key for one user action: every attempt of that action sends the same one."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class _Attempts:
    """How the attempts of one call went: the answer worth reading, if any came, else the
    last failure; and whether an attempt before that answer may have reached the backend
    (it may have acted, and its answer was lost)."""

    response: requests.Response | None = None
    error: requests.RequestException | None = None
    busy: requests.Response | None = None  # the last 5xx answer
    reached: bool = False


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
        """`retries`, `backoff_factor`: reads are retried by urllib3; a call that changes
        something is sent at most `1 + retries` times, waiting `backoff_factor * 2**n`
        seconds between attempts."""
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
            allowed_methods=READ_METHODS,
            raise_on_status=False,
            respect_retry_after_header=False,  # never freeze a page for a server-chosen time
        )
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=20)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        # Calls that change something: one try per send; `_attempts` decides about retries.
        self._once = requests.Session()
        self._once.headers.update(self._session.headers)
        once = HTTPAdapter(max_retries=0, pool_maxsize=20)
        self._once.mount("http://", once)
        self._once.mount("https://", once)
        self._max_attempts = 1 + max(retries, 0)
        self._backoff_factor = backoff_factor

    def close(self) -> None:
        self._session.close()
        self._once.close()

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
        if _never_sent(exc):
            return make_error("connection_error", details={"url": self.base_url})
        return make_error("connection_lost", details={"url": self.base_url})

    def _attempts(self, method: str, path: str, **kwargs: Any) -> _Attempts:
        """Send a call that changes something until an answer worth reading comes back:
        again after a connection error or a 5xx, at most `_max_attempts` times. Not again
        after a read timeout: the backend may still be at it, and another wait would cost a
        whole read timeout more; the caller asks the backend what became of it instead.
        Every attempt must be harmless to repeat (an idempotency key, a cancel or a DELETE)."""
        url = f"{self.base_url}{path}"
        kwargs.setdefault("timeout", self.timeout)
        reached, error, busy = False, None, None
        for attempt in range(self._max_attempts):
            if attempt:
                time.sleep(self._backoff_factor * 2 ** (attempt - 1))
            try:
                response = self._once.request(method, url, **kwargs)
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                    requests.exceptions.InvalidSchema) as exc:  # fmt: skip
                raise make_error("invalid_url", details={"url": self.base_url}) from exc
            except requests.RequestException as exc:
                logger.info("%s %s, attempt %d: %r", method, path, attempt + 1, exc)
                error, busy = exc, None
                if not _never_sent(exc):
                    reached = True
                if _is_read_timeout(exc):
                    break
                continue
            if response.status_code in RETRY_STATUSES:
                logger.info("%s %s, attempt %d: %d", method, path, attempt + 1,
                            response.status_code)  # fmt: skip
                error, busy, reached = None, response, True
                continue
            return _Attempts(response=response, reached=reached)
        return _Attempts(error=error, busy=busy, reached=reached)

    def _failure(self, attempts: _Attempts) -> AppError:
        """What went wrong with the last attempt, in the user's terms."""
        if attempts.busy is not None:
            try:
                self._raise_for_problem(attempts.busy)
            except AppError as exc:
                return exc
        assert attempts.error is not None
        return self._transport_error(attempts.error)

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
        return f"/api/tasks/{quote(task_id, safe='')}"

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

    def create_process_task(
        self, data: str, delay: int, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """POST /api/process. Pass the action's `idempotency_key` (one per user action, kept
        until its task is known): sending it again returns the same task."""
        return self._create("/api/process", idempotency_key, json={"data": data, "delay": delay})

    def upload_file(
        self,
        filename: str,
        content: bytes,
        on_progress: ProgressCallback | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """POST /api/upload/stream: the raw bytes in chunks, reporting bytes sent (from 0
        again if an attempt is repeated)."""
        body = _ProgressBody(content, on_progress, UPLOAD_CHUNK_BYTES)
        headers = {
            "X-Filename": quote(filename, safe=""),
            "Content-Type": "application/octet-stream",
        }
        return self._create(
            "/api/upload/stream",
            idempotency_key,
            upload_size=len(content),
            # An empty body is sent as such (the backend answers empty_file), not chunked.
            data=body if content else b"",
            headers=headers,
            timeout=self.upload_timeout,
        )

    def upload_file_multipart(
        self, filename: str, content: bytes, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """POST /api/upload (multipart): no progress; kept for completeness and scripts."""
        files = {"file": (filename, content, "application/octet-stream")}
        return self._create(
            "/api/upload",
            idempotency_key,
            upload_size=len(content),
            files=files,
            timeout=self.upload_timeout,
        )

    def find_task_by_key(self, idempotency_key: str) -> dict[str, Any] | None:
        """GET /api/tasks?idempotency_key=: the task an action created, if it created one."""
        listing = self._get_json(
            "/api/tasks", params={"idempotency_key": idempotency_key, "limit": 1}
        )
        items = listing.get("items") if isinstance(listing, dict) else None
        if not isinstance(items, list):
            raise make_error("invalid_response")
        return items[0] if items else None

    def _create(
        self,
        path: str,
        idempotency_key: str | None,
        *,
        upload_size: int | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Create a task, retrying with the same key; when no answer came, ask the backend
        whether the key has a task. Raises the real cause when it has none (nothing reached
        the backend, it refused, the file is over the limit, the connection kept dropping),
        and `UnconfirmedError` when that cannot be known yet."""
        key = idempotency_key or new_idempotency_key()
        attempts = self._attempts(
            "POST", path, headers={**(headers or {}), IDEMPOTENCY_HEADER: key}, **kwargs
        )
        if attempts.response is not None:
            self._raise_for_problem(attempts.response)
            return self._json(attempts.response)
        failure = self._failure(attempts)
        if not attempts.reached:
            raise failure  # no attempt got to the backend: nothing was created
        try:
            task = self.find_task_by_key(key)
        except AppError as exc:
            raise UnconfirmedError(failure) from exc
        if task is not None:
            logger.info("POST %s: the answer was lost, task %s exists", path, task["task_id"])
            return task
        if attempts.error is not None and _is_read_timeout(attempts.error):
            raise UnconfirmedError(failure)  # the backend may still be at it
        if upload_size is not None and attempts.error is not None:
            limit = self._upload_limit()
            if limit is not None and upload_size > limit:
                # The backend refused it while it was being sent, before its 413 could be read.
                raise backend_error(
                    self._known_vocabulary(),
                    "file_too_large",
                    f"檔案有 {format_size(upload_size)}，超過上限 {format_size(limit)}。",
                    status=413,
                    details={"size_bytes": upload_size, "max_bytes": limit},
                )
        if failure.code == "connection_lost":
            failure = make_error(
                "connection_lost",
                "連線在收到後端的回應之前就中斷了（已自動重試），後端確認沒有建立任務。",
                details=failure.details,
            )
        raise failure

    def _upload_limit(self) -> int | None:
        try:
            return int(self.get_config()["max_upload_bytes"])
        except (AppError, KeyError, TypeError, ValueError):
            return None

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
        """POST /api/tasks/{id}/cancel: the cancelled task. When an attempt's answer was
        lost, that attempt may have cancelled it: the retry's 409 with the task now
        cancelled is success."""
        attempts = self._attempts("POST", f"{self._task_path(task_id)}/cancel")
        response = attempts.response
        if response is not None:
            if attempts.reached and _problem_code(response) == "task_not_cancellable":
                try:
                    task = self.get_task(task_id)
                except AppError:
                    task = None
                if task is not None and task["status"] == "cancelled":
                    return task
            self._raise_for_problem(response)
            return self._json(response)
        failure = self._failure(attempts)
        if attempts.reached:
            try:
                task = self.get_task(task_id)
            except NotFoundError:
                raise
            except AppError as exc:
                raise UnconfirmedError(failure) from exc
            if task["status"] == "cancelled":
                return task
        raise failure

    def delete_task(self, task_id: str) -> None:
        """DELETE /api/tasks/{id}. When an attempt's answer was lost, that attempt may have
        deleted it: the retry's 404 is success."""
        attempts = self._attempts("DELETE", self._task_path(task_id))
        response = attempts.response
        if response is not None:
            if attempts.reached and _problem_code(response) == "task_not_found":
                return
            self._raise_for_problem(response)
            return
        failure = self._failure(attempts)
        if attempts.reached:
            try:
                self.get_task(task_id)
            except NotFoundError:
                return
            except AppError as exc:
                raise UnconfirmedError(failure) from exc
        raise failure

    def download_result(
        self, task_id: str, file_format: str = "json", timezone: str | None = None
    ) -> DownloadedFile:
        """GET /api/tasks/{id}/result: the JSON report, or with `file_format="xlsx"` the
        Excel workbook of a completed analysis, its times in the IANA zone `timezone`
        (UTC when None)."""
        mime, fallback = RESULT_FORMATS[file_format]
        params: dict[str, str] | None = None
        if file_format != "json":
            params = {"format": file_format}
            if timezone:
                params["tz"] = timezone
        response = self._request(
            "GET",
            f"{self._task_path(task_id)}/result",
            params=params,
            headers={"Accept": f"{mime}, application/problem+json"},
        )
        if mime not in response.headers.get("content-type", ""):
            # e.g. a backend too old to know ?format= sends its JSON under an .xlsx name
            raise make_error("invalid_response", status=response.status_code)
        name = _content_disposition_name(response.headers.get("content-disposition"), fallback)
        return DownloadedFile(name, response.content)
