"""backend.jobs.analyze.types: what a column's cells mean (numbers, text)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.backend.analyze.helpers import (
    analyze,
    assert_matches_pandas,
    column,
    stored,
)


def test_types_and_empty_columns(tmp_path: Path) -> None:
    data = "i,f,t,e,mixed\n1,1.5,x,,1\n2,2,y,,2\n3,NaN,x,,三\n,N/A,,,\n"
    table = analyze(stored(tmp_path, data.encode()), "types.csv")["tables"][0]
    types = {c["name"]: c["type"] for c in table["columns"]}
    assert types == {"i": "integer", "f": "float", "t": "text", "e": "text", "mixed": "text"}
    f = column(table, "f")
    assert f["nulls"] == 2 and f["mean"] == 1.75 and f["top"] is None
    assert column(table, "e") == {
        "name": "e", "type": "text", "nulls": 4, "min": None, "max": None,
        "mean": None, "std": None, "top": None, "histogram": None, "unit": None, "formats": [],
    }  # fmt: skip
    assert column(table, "t")["top"] == [["x", 2], ["y", 1]]
    assert column(table, "mixed")["top"] == [["1", 1], ["2", 1], ["三", 1]]  # ties by value
    assert column(table, "i")["std"] == 1.0


def test_hexadecimal_stays_text(tmp_path: Path) -> None:
    table = analyze(stored(tmp_path, b"code\n0x1F\n0x20\n"), "hex.csv")["tables"][0]
    assert column(table, "code")["type"] == "text"


@pytest.mark.slow
def test_a_column_numeric_at_first_and_text_later_is_text_with_exact_counts(
    tmp_path: Path,
) -> None:
    rows = "".join(f"{i % 7},{i}\n" for i in range(300_000))
    data = "code,n\n" + rows + "A-1,1\n"
    result = analyze(stored(tmp_path, data.encode()), "late_text.csv")
    code = column(result["tables"][0], "code")
    assert code["type"] == "text" and code["mean"] is None
    expected = pd.read_csv(stored(tmp_path, data.encode(), "x.csv"), dtype=str)["code"]
    counts = expected.value_counts()
    assert code["top"] == [[value, int(counts[value])] for value in ["0", "1", "2", "3", "4"]]


@pytest.mark.slow
def test_hexadecimal_anywhere_does_not_change_numeric_figures(tmp_path: Path) -> None:
    rows = "".join(f"{i},{'10x20 cm' if i == 250_000 else '一般'}\n" for i in range(300_000))
    data = ("n,size\n" + rows).encode()
    table = analyze(stored(tmp_path, data), "hex_text.csv")["tables"][0]
    assert column(table, "n")["type"] == "integer" and column(table, "n")["max"] == 299_999
    assert_matches_pandas(table, pd.read_csv(stored(tmp_path, data, "x.csv")))
