"""All settings in one place, read from the environment and `.env`."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from backend.jobs.context import DEFAULT_THREADS


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    api_key: str = ""
    cors_origins: Annotated[list[str], NoDecode] = ["http://localhost:8501"]
    upload_dir: Path = Path("uploads")
    max_upload_mb: float = Field(10, gt=0)
    allowed_extensions: Annotated[list[str], NoDecode] = [
        ".csv", ".tsv", ".txt", ".xlsx", ".xls", ".xlsb", ".ods", ".json",
    ]  # fmt: skip
    task_store: str = "memory"
    # "local": jobs run in this API process's job processes; "celery": in Celery workers.
    task_runner: Literal["local", "celery"] = "local"
    # Celery's broker; empty means the Redis of TASK_STORE.
    celery_broker_url: str = ""
    max_concurrent_tasks: int = Field(2, ge=1, le=64)
    # Most threads one job works on; it gets fewer while other jobs run on the same machine.
    job_threads: int = Field(DEFAULT_THREADS, ge=1, le=16)
    task_timeout_s: float = Field(600, gt=0)
    task_ttl_s: float = Field(24 * 3600, gt=0)
    # How often a running process proves it is alive; three missed beats mean "interrupted".
    heartbeat_s: float = Field(5, gt=0)
    log_level: str = "INFO"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("allowed_extensions", mode="before")
    @classmethod
    def _parse_extensions(cls, value: object) -> object:
        value = _split_csv(value)
        if isinstance(value, list):
            return [ext.lower() if ext.startswith(".") else f".{ext.lower()}" for ext in value]
        return value

    @field_validator("api_key")
    @classmethod
    def _check_key(cls, value: str) -> str:
        # HTTP headers carry ASCII; a key with other characters could never be sent.
        if value and not (value.isascii() and value.isprintable() and " " not in value):
            raise ValueError("API_KEY must be printable ASCII without spaces")
        return value

    @field_validator("task_store")
    @classmethod
    def _check_store(cls, value: str) -> str:
        if value != "memory" and not value.startswith(("sqlite:///", "redis://", "rediss://")):
            raise ValueError(
                "TASK_STORE must be 'memory', sqlite:///tasks.db or redis://[:password@]host:port/db"
            )
        return value

    @model_validator(mode="after")
    def _check_runner(self) -> Settings:
        # Celery workers on other machines must see the same task list: only Redis is shared.
        if self.task_runner == "celery" and not self.task_store.startswith(("redis", "rediss")):
            raise ValueError("TASK_RUNNER=celery needs TASK_STORE=redis://...")
        return self

    @property
    def broker_url(self) -> str:
        return self.celery_broker_url or self.task_store

    @property
    def visibility_timeout_s(self) -> float:
        """How long the broker waits for an unacknowledged message before redelivering it.

        It counts from when a worker fetched the message, and after a reconnect a message can
        be fetched behind a running job, so: two runs plus six hours of queue wait
        (celery#5935: a shorter one runs long jobs twice). A redelivered message for a task
        already running or final does nothing; a dead worker's tasks are failed by the
        heartbeat sweep, not by this timeout.
        """
        return 2 * self.task_timeout_s + 6 * 3600

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def uploader_limit_mb(self) -> int:
        """The browser uploader's own cap, in MB (Streamlit's ``server.maxUploadSize``).

        Set above ``max_upload_mb`` (five times it, at most 100 MB more) so that a file
        somewhat too big still reaches the upload page, whose zh-TW check says why it
        cannot be sent, instead of Streamlit's English "File must be … or smaller" (which
        also counts a MB as 10^6 bytes, so the caps never matched exactly). Bounded
        because Streamlit keeps picked files in memory. ``run.sh`` and
        ``run_frontend.bat`` pass it to Streamlit.
        """
        limit = math.ceil(self.max_upload_mb)
        return limit + min(4 * limit, 100)

    @property
    def stale_after_s(self) -> float:
        return self.heartbeat_s * 3


@lru_cache
def get_settings() -> Settings:
    return Settings()
