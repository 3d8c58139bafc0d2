"""Request and response models, and the one function that shapes a task for clients."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.execution.eta import remaining_at
from backend.store.base import PROCESSING, Task
from backend.vocabulary import TaskStatus

ColumnType = Literal["integer", "float", "date", "datetime", "time", "boolean", "text"]

MAX_PROCESS_DELAY_S = 3600


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return (
        datetime.fromtimestamp(timestamp, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


class TaskError(BaseModel):
    code: str = Field(
        examples=["invalid_file_format"], description="錯誤代碼（見 /api/vocabulary）"
    )
    message: str = Field(examples=["檔案內容與副檔名不符，或格式損壞。"])


class Histogram(BaseModel):
    """Bins ``[edges[i], edges[i+1])``, the last one closed; ``counts`` has one item fewer."""

    edges: list[float] = Field(examples=[[0.0, 500.0, 1000.0]])
    counts: list[int] = Field(examples=[[12, 3]])


class ColumnSummary(BaseModel):
    name: str = Field(examples=["金額"])
    type: ColumnType = Field(examples=["integer"])
    nulls: int = Field(ge=0, description="空白儲存格數", examples=[0])
    min: int | float | str | None = Field(
        None,
        description="數值欄位為數字；日期、日期時間與時間欄位為 ISO 8601 字串"
        "（帶時區的日期時間已換算為 UTC，結尾標示 +00:00）",
        examples=[1200],
    )
    max: int | float | str | None = Field(None, examples=[12500])
    mean: float | None = Field(None, examples=[5633.33])
    std: float | None = Field(None, description="樣本標準差", examples=[6030.2])
    top: list[tuple[str, int]] | None = Field(
        None, description="文字與是/否欄位最常見的值與次數", examples=[[["臺北市", 12]]]
    )
    histogram: Histogram | None = None
    unit: str | None = Field(None, description="數值的單位：% 或貨幣符號", examples=["NT$"])
    formats: list[str] = Field(
        default_factory=list, description="數值或日期原本的寫法（見 /api/vocabulary 的 value_formats）",
        examples=[["currency", "thousands"]],
    )  # fmt: skip


class ExcludedRow(BaseModel):
    """A row left out of every statistic: a total, a subtotal, or a line under the table."""

    line: int | None = Field(
        description="檔案中的行號（從 1 起算），Excel 為工作表列號", examples=[52]
    )
    reason: Literal["total", "subtotal", "footer", "note"] = Field(
        description="total 合計列、subtotal 小計列、footer 表格下方的附註或資料來源、note 備註",
        examples=["total"],
    )


class TableSummary(BaseModel):
    name: str = Field(examples=["客戶"])
    rows: int = Field(ge=0, description="資料列數，不含標題列與排除的列", examples=[3])
    columns: list[ColumnSummary]
    preview: list[dict[str, Any]] = Field(description="前 20 列，依欄位型別轉換")
    excluded_rows: list[ExcludedRow] = Field(
        default_factory=list, description="未列入統計的合計、小計、備註等列（最多 1,000 列）"
    )
    warnings: list[str] = Field(default_factory=list, description="與這個表格有關的說明")


class TextSummary(BaseModel):
    lines: int = Field(ge=0, examples=[12])
    characters: int = Field(ge=0, examples=[480])
    words: int = Field(ge=0, examples=[96])


class AnalysisResult(BaseModel):
    """What the analyze job found in an uploaded file."""

    format: str = Field(examples=["csv"], description="檔案格式（見 /api/vocabulary）")
    encoding: str | None = Field(None, examples=["cp950"], description="文字編碼；xlsx 為 null")
    delimiter: str | None = Field(None, examples=[","])
    text: TextSummary | None = Field(None, description="不是表格的文字檔的統計")
    tables: list[TableSummary] = Field(default_factory=list)
    warnings: list[str] = Field(
        default_factory=list, description="代替使用者做的每一個決定，一句一則（包含各表格的）"
    )


class ProcessResult(BaseModel):
    """What the staged demo job returns."""

    processed_data: str = Field(examples=["已處理: 範例資料"])


class TaskPublic(BaseModel):
    """A task as every client sees it, over HTTP and over the WebSocket alike."""

    task_id: str = Field(examples=["3f2b8c9e0d1a4b5c8e7f6a5b4c3d2e1f"])
    kind: str = Field(examples=["analyze"], description="任務種類：process 或 analyze")
    status: TaskStatus = Field(examples=["processing"])
    progress: float = Field(ge=0, le=100, examples=[42.5], description="0–100，只增不減")
    message: str = Field(examples=["正在處理資料"], description="目前階段（繁體中文）")
    eta_s: float | None = Field(
        None,
        ge=0,
        examples=[130.5],
        description="預估剩餘秒數，依這個任務本身的進度速度推算（平滑）；"
        "資料還不夠、進度停住或任務不在處理中時為 null",
    )
    created_at: str = Field(examples=["2026-11-28T06:00:00.000Z"])
    started_at: str | None = None
    updated_at: str
    finished_at: str | None = None
    filename: str | None = Field(None, examples=["報價單.csv"])
    size_bytes: int | None = Field(None, examples=[20480])
    result: AnalysisResult | ProcessResult | dict[str, Any] | None = Field(
        None, union_mode="left_to_right", description="analyze 與 process 任務的結果形狀如上"
    )
    error: TaskError | None = None

    @classmethod
    def from_task(cls, task: Task, now: float | None = None) -> TaskPublic:
        """``eta_s`` is counted down from the last progress report to ``now`` (a Unix time,
        the current one by default), so it stays current between reports."""
        eta_s = None
        if task.status == PROCESSING:
            left = remaining_at(task.eta_s, task.updated_at, time.time() if now is None else now)
            eta_s = round(left, 1) if left is not None else None
        return cls(
            task_id=task.task_id,
            kind=task.kind,
            status=TaskStatus(task.status),
            progress=task.progress,
            message=task.message,
            eta_s=eta_s,
            created_at=_iso(task.created_at),
            started_at=_iso(task.started_at),
            updated_at=_iso(task.updated_at),
            finished_at=_iso(task.finished_at),
            filename=task.filename,
            size_bytes=task.size_bytes,
            result=task.result,
            error=TaskError(**task.error) if task.error else None,
        )


def task_public(task: Task) -> dict[str, Any]:
    """The task as JSON-ready data (the WebSocket sends it as it is)."""
    return TaskPublic.from_task(task).model_dump(mode="json")


class TaskList(BaseModel):
    items: list[TaskPublic]
    total: int = Field(examples=[1])


class ProcessRequest(BaseModel):
    """The body of POST /api/process.

    Strict JSON types: ``"delay": false``, ``"5"`` or ``5.0`` is refused with 422 (type
    ``int_type``) instead of being read as 0 or 5, and ``"data": 1`` with ``string_type``:
    the schema says integer and string, and pydantic's lax mode would otherwise convert.
    Query parameters are not models and stay lax (they are text on the wire).
    """

    model_config = ConfigDict(strict=True)

    data: str = Field(min_length=1, max_length=10_000, examples=["範例資料"])
    delay: int = Field(5, ge=0, le=MAX_PROCESS_DELAY_S, description="處理時間（秒）", examples=[5])


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str = Field(examples=["0.1.0"])
    store: str = Field(examples=["memory"])
    tasks: dict[str, int] = Field(
        examples=[{"pending": 0, "processing": 1, "completed": 3, "failed": 0, "cancelled": 0}]
    )
    runner: Literal["local", "celery"] = Field(
        "local", description="執行任務的方式：local（API 行程內）或 celery（Celery worker）"
    )
    workers_online: int | None = Field(
        None, description="Celery：最近 3 次心跳內有回應的 worker 數；local 為 null"
    )
    queue_length: int | None = Field(
        None, description="Celery：佇列中等待 worker 的任務數；local 為 null"
    )


class PublicConfig(BaseModel):
    version: str
    max_upload_mb: float = Field(examples=[10])
    max_upload_bytes: int = Field(examples=[10485760])
    allowed_extensions: list[str] = Field(examples=[[".csv", ".xlsx", ".txt", ".json"]])
    max_concurrent_tasks: int = Field(examples=[2])
    task_timeout_s: float = Field(examples=[600])
    task_ttl_s: float = Field(examples=[86400])
    max_process_delay_s: int = Field(examples=[3600])
    auth_required: bool = Field(examples=[False])


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["urn:problem-type:task_not_found"])
    title: str = Field(examples=["找不到任務"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["找不到這個任務，可能已被刪除或已過期。"])
    code: str = Field(examples=["task_not_found"])


class ErrorTerm(BaseModel):
    status: int = Field(examples=[404], description="HTTP 狀態碼")
    title: str = Field(examples=["找不到任務"])
    detail: str = Field(examples=["找不到這個任務，可能已被刪除或已過期。"])
    task_only: bool = Field(description="只出現在任務的 error，不會是 HTTP 回應")


class Vocabulary(BaseModel):
    """Every closed vocabulary the API uses, each value with its zh-TW label."""

    statuses: dict[str, str] = Field(examples=[{"pending": "等待中", "completed": "已完成"}])
    kinds: dict[str, str] = Field(examples=[{"analyze": "檔案分析"}])
    stores: dict[str, str] = Field(examples=[{"sqlite": "SQLite 資料庫"}])
    runners: dict[str, str] = Field(examples=[{"celery": "Celery worker"}])
    errors: dict[str, ErrorTerm]
    encodings: dict[str, str] = Field(examples=[{"cp950": "Big5（CP950）"}])
    file_formats: dict[str, str] = Field(examples=[{"csv": "CSV"}])
    column_types: dict[str, str] = Field(examples=[{"integer": "整數"}])
    delimiters: dict[str, str] = Field(examples=[{",": "逗號"}])
    value_formats: dict[str, str] = Field(examples=[{"roc": "民國年"}])
