"""backend.jobs.analyze.json_file: JSON arrays, JSON Lines and objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.backend.analyze.helpers import (
    analyze,
    column,
    refused,
    stored,
)


def test_json_array_of_records(tmp_path: Path) -> None:
    records = [
        {"名稱": "甲", "數量": 1, "標籤": ["a", "b"], "有效": True},
        {"名稱": "乙", "數量": 2.5, "其他": {"x": 1}},
        {"名稱": "甲", "數量": None},
    ]
    data = json.dumps(records, ensure_ascii=False, indent=2).encode()
    result = analyze(stored(tmp_path, data), "records.json")
    table = result["tables"][0]
    assert result["format"] == "json" and table["rows"] == 3
    names = [c["name"] for c in table["columns"]]
    assert names == ["名稱", "數量", "標籤", "有效", "其他.x"]  # nested objects flatten
    assert column(table, "名稱")["top"] == [["甲", 2], ["乙", 1]]
    quantity = column(table, "數量")
    assert quantity["type"] == "float" and quantity["nulls"] == 1 and quantity["mean"] == 1.75
    assert column(table, "其他.x")["nulls"] == 2
    assert table["preview"][0]["標籤"] == '["a", "b"]'


def test_json_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": i, "城市": "臺南" if i % 2 else "嘉義"}, ensure_ascii=False)
        for i in range(10)
    ]
    result = analyze(stored(tmp_path, ("\n".join(lines) + "\n").encode()), "lines.json")
    table = result["tables"][0]
    assert table["rows"] == 10 and column(table, "id")["max"] == 9
    assert column(table, "城市")["top"] == [["嘉義", 5], ["臺南", 5]]


def test_json_object_with_arrays_and_flat_object(tmp_path: Path) -> None:
    data = {"status": "ok", "data": [{"a": 1}, {"a": 2}], "tags": ["x", "y", "x"]}
    result = analyze(stored(tmp_path, json.dumps(data).encode()), "api.json")
    assert [t["name"] for t in result["tables"]] == ["data", "tags"]
    assert column(result["tables"][1], "值")["top"] == [["x", 2], ["y", 1]]
    assert any("status" in warning for warning in result["warnings"])
    flat = analyze(stored(tmp_path, b'{"a": 1, "b": "x"}'), "one.json")["tables"][0]
    assert flat["rows"] == 1 and flat["preview"] == [{"a": 1, "b": "x"}]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'[{"a": 1}, {"a": 2]', "invalid_file_format"),
        (b'{"a": 1,,}', "invalid_file_format"),
        (b"42", "invalid_file_format"),
        (b"[1, 2] trailing", "invalid_file_format"),
        (b"[]", "empty_file"),
        (b"   \n ", "empty_file"),
    ],
)
def test_bad_json(tmp_path: Path, data: bytes, code: str) -> None:
    assert refused(stored(tmp_path, data), "bad.json").code == code


def test_deeply_nested_json(tmp_path: Path) -> None:
    depth = 100_000
    for data in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        error = refused(stored(tmp_path, data.encode()), "deep.json")
        assert error.code == "invalid_file_format"


@pytest.mark.parametrize("late_at", [2_000, 4_500, 8_999])
def test_json_keys_that_first_appear_late(tmp_path: Path, late_at: int) -> None:
    """A key first met thousands of records in (after batches were read ahead) is a column
    empty in the records before it."""
    records = [{"a": i} for i in range(9_000)]
    for record in records[late_at:]:
        record["z"] = record["a"] * 2
    path = stored(tmp_path, json.dumps(records).encode())
    table = analyze(path, "late.json")["tables"][0]
    z = column(table, "z")
    values = [r["z"] for r in records if "z" in r]
    assert table["rows"] == 9_000
    assert z["nulls"] == late_at and z["min"] == min(values) and z["max"] == max(values)
    assert z["mean"] == pytest.approx(sum(values) / len(values))
