"""Generators of realistic tabular files for the analyze tests and benchmark."""

from __future__ import annotations

import os

import numpy as np
import polars as pl

CITIES = [
    "臺北市",
    "新北市",
    "桃園市",
    "臺中市",
    "臺南市",
    "高雄市",
    "基隆市",
    "新竹市",
    "嘉義市",
    "宜蘭縣",
]
SURNAMES = list("陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴徐")
GIVEN = list("志明淑芬家豪怡君俊傑雅婷承恩宜蓁冠宇詩涵建宏美玲")


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    vocab = np.array([s + a + b for s in SURNAMES for a in GIVEN[:12] for b in GIVEN[12:]])
    return vocab[rng.integers(0, len(vocab), n)]


def sample_frame(n: int, seed: int = 0, offset: int = 0) -> pl.DataFrame:
    """Ints, floats, zh-TW text and some empty cells (as nulls)."""
    rng = np.random.default_rng(seed)
    qty = pl.Series("數量", rng.integers(-50, 1000, n))
    qty_missing = pl.Series(rng.random(n) < 0.05)
    amount = pl.Series("金額", np.round(rng.normal(1500.0, 700.0, n), 2))
    amount_missing = pl.Series(rng.random(n) < 0.02)
    note_pick = rng.integers(0, 4, n)
    notes = np.array(["", "急件", "已付款", "備註：含稅"])[note_pick]
    return pl.DataFrame(
        {
            "id": np.arange(offset + 1, offset + n + 1),
            "姓名": _names(rng, n),
            "城市": np.array(CITIES)[rng.integers(0, len(CITIES), n)],
            "數量": qty,
            "金額": amount,
            "比率": rng.random(n),
            "備註": notes,
        }
    ).with_columns(
        pl.when(qty_missing).then(None).otherwise(pl.col("數量")).alias("數量"),
        pl.when(amount_missing).then(None).otherwise(pl.col("金額")).alias("金額"),
        pl.when(pl.col("備註") == "").then(None).otherwise(pl.col("備註")).alias("備註"),
    )


def write_sample_csv(path: str | os.PathLike[str], rows: int, seed: int = 0) -> None:
    sample_frame(rows, seed).write_csv(path)


def write_big_csv(path: str | os.PathLike[str], size_mb: float, seed: int = 0) -> None:
    """Write about ``size_mb`` MB of sample rows, chunk by chunk, to keep memory small."""
    target = int(size_mb * 1024 * 1024)
    chunk_rows = 200_000
    tmp = f"{path}.part"
    with open(tmp, "wb") as out:
        written = 0
        chunk = 0
        while written < target:
            frame = sample_frame(chunk_rows, seed + chunk, offset=chunk * chunk_rows)
            data = frame.write_csv(include_header=chunk == 0).encode("utf-8")
            out.write(data)
            written += len(data)
            chunk += 1
    os.replace(tmp, path)
