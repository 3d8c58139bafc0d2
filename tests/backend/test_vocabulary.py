"""Every closed vocabulary the backend can send has a zh-TW label, served by /api/vocabulary."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backend.errors import ERRORS
from backend.jobs import JOBS
from backend.jobs.analyze import FORMATS
from backend.jobs.analyze import types as value_types
from backend.jobs.analyze.dialect import DELIMITERS, SINGLE_COLUMN
from backend.jobs.analyze.encoding import BOMS, FALLBACK_GUESSES, GUESSES
from backend.jobs.analyze.stats import KINDS
from backend.store.base import STATUSES
from backend.vocabulary import (
    COLUMN_TYPE_LABELS,
    DELIMITER_LABELS,
    ENCODING_LABELS,
    FILE_FORMAT_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    VALUE_FORMAT_LABELS,
    TaskStatus,
)


def test_every_encoding_the_analysis_reports_has_a_label() -> None:
    reported = {"utf-8", "cp950", "utf-16-le", "utf-16-be"}  # strict checks, BOM-less UTF-16
    reported |= {name for _, _, name in BOMS} | set(GUESSES.values()) | set(FALLBACK_GUESSES)
    assert reported <= set(ENCODING_LABELS), reported - set(ENCODING_LABELS)


def test_every_other_analysis_vocabulary_has_labels() -> None:
    assert set(FORMATS.values()) <= set(FILE_FORMAT_LABELS)
    assert set(KINDS) == set(COLUMN_TYPE_LABELS)
    assert {*DELIMITERS, SINGLE_COLUMN} <= set(DELIMITER_LABELS)
    written = {
        value_types.THOUSANDS, value_types.PERCENT, value_types.CURRENCY,
        value_types.ACCOUNTING, value_types.FULLWIDTH, value_types.ROC, value_types.GREGORIAN,
    }  # fmt: skip
    assert written <= set(VALUE_FORMAT_LABELS)


def test_statuses_and_kinds_are_one_list() -> None:
    assert tuple(TaskStatus) == STATUSES
    assert set(STATUS_LABELS) == set(TaskStatus)
    product_jobs = {kind for kind, spec in JOBS.items() if spec.startswith("backend.jobs.")}
    assert product_jobs == set(KIND_LABELS)  # the tests register a few jobs of their own


def test_the_api_serves_every_vocabulary(client: TestClient) -> None:
    body = client.get("/api/vocabulary").json()
    assert body["statuses"] == {"pending": "等待中", "processing": "處理中",
                                "completed": "已完成", "failed": "失敗", "cancelled": "已取消"}  # fmt: skip
    assert set(body["errors"]) == set(ERRORS)
    assert body["errors"]["task_not_found"]["status"] == 404
    assert body["errors"]["interrupted"]["task_only"] is True
    assert body["encodings"]["cp950"] == "Big5（CP950）"
    assert body["delimiters"]["\t"] == "定位字元（Tab）"
    for name in ("kinds", "file_formats", "column_types", "value_formats"):
        assert body[name] and all(isinstance(label, str) and label for label in body[name].values())
