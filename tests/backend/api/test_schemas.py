"""The typed contract matches what the jobs really return: every analysis result validates
as AnalysisResult and comes out of the model unchanged (no field dropped or retyped)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from backend.api.schemas import AnalysisResult, ProcessResult, TaskPublic
from backend.jobs.analyze import analyze_file
from backend.jobs.context import RecordingContext
from backend.jobs.staged_demo import process_data
from backend.store.base import Task

CSV = '名稱,金額,日期,比率,備註\n甲,"NT$1,200",113/05/01,12.5%,\n乙,300,113/05/02,7%,急件\n'


def _xlsx(path: Path) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["報表"])
    workbook.active.append(["數量", "是否"])
    workbook.active.append([3, True])
    workbook.active.append([4.5, False])
    workbook.save(path)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("a.csv", CSV.encode("cp950")),
        ("a.tsv", "a\tb\n1\t2\n".encode("utf-16")),
        ("a.json", b'{"data": [{"a": {"b": 1}, "c": "x"}, {"a": {"b": NaN}, "c": null}]}'),
        ("a.txt", "只是一段文字，\n沒有表格。\n".encode()),
        ("a.xlsx", None),
    ],
)
def test_analysis_results_fit_the_model_exactly(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content if content is not None else _xlsx(tmp_path / "x.xlsx"))
    raw = json.loads(json.dumps(analyze_file(RecordingContext(), str(path), name)))
    task = Task(task_id="t", kind="analyze", runner_id="o", status="completed", result=raw)
    public = TaskPublic.from_task(task)
    assert isinstance(public.result, AnalysisResult)
    assert public.model_dump(mode="json")["result"] == raw


def test_process_results_fit_their_model() -> None:
    raw = process_data(RecordingContext(), "資料", delay=0)
    task = Task(task_id="t", kind="process", runner_id="o", status="completed", result=raw)
    public = TaskPublic.from_task(task)
    assert isinstance(public.result, ProcessResult)
    assert public.model_dump(mode="json")["result"] == raw
