"""backend.jobs.analyze.stats: column statistics (distinct-value cap, finite figures)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from backend.jobs.analyze import stats as analyze_stats
from tests.backend.analyze.helpers import (
    analyze,
    column,
    stored,
)


@pytest.mark.slow
def test_distinct_values_past_the_cap_are_approximate_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analyze_stats, "DISTINCT_BUDGET", 30_000)  # 10,000 per column here
    monkeypatch.setattr(analyze_stats, "MIN_DISTINCT_PER_COLUMN", 10_000)
    rows = "".join(f"名稱{i},{'常見' if i % 3 == 0 else f'罕見{i}'}\n" for i in range(300_000))
    data = ("id,類別\n" + rows).encode()
    result = analyze(stored(tmp_path, data), "distinct.csv")
    category = column(result["tables"][0], "類別")
    assert category["top"][0] == ["常見", 100_000]  # frequent values survive the pruning
    assert any("近似值" in warning for warning in result["warnings"])


def test_no_nan_or_infinity_in_results(tmp_path: Path) -> None:
    data = b"x,y\ninf,1\n-inf,2\n1,inf\n"
    table = analyze(stored(tmp_path, data), "inf.csv")["tables"][0]
    for stats in table["columns"]:
        assert all(
            v is None or math.isfinite(v)
            for v in (stats["min"], stats["max"], stats["mean"], stats["std"])
        )
