"""The warnings of an analysis result as text: those about the whole file (not repeated
from a table), and the sentence on rows left out of the statistics. Pure: no Streamlit."""

from __future__ import annotations

from collections import Counter
from typing import Any

from frontend.components.analysis.values import format_number


def file_warnings(result: dict[str, Any]) -> list[str]:
    """The warnings about the whole file: the top-level list repeats every table's own
    warnings (shown with that table), what is left concerns no table."""
    owned = Counter(
        warning for table in result.get("tables") or [] for warning in table.get("warnings") or []
    )
    left = []
    for warning in result.get("warnings") or []:
        if owned[warning] > 0:
            owned[warning] -= 1
        else:
            left.append(warning)
    return left


EXCLUDED_REASONS = {"total": "合計", "subtotal": "小計", "footer": "附註", "note": "備註"}


def excluded_caption(table: dict[str, Any], unit: str = "行") -> str | None:
    """「另有 3 列未列入統計：合計 1 列（第 52 行）、備註 2 列（第 53、55 行）。」 for the
    table's ``excluded_rows``, or None without any; ``unit``: 行 for text files, 列 for
    sheet rows."""
    excluded = table.get("excluded_rows") or []
    if not excluded:
        return None
    parts = []
    for reason, kind in EXCLUDED_REASONS.items():
        lines = [row.get("line") for row in excluded if row.get("reason") == reason]
        if not lines:
            continue
        shown = "、".join(format_number(line) for line in lines[:5] if line is not None)
        more = "…" if len(lines) > 5 else ""
        where = f"（第 {shown}{more} {unit}）" if shown else ""
        parts.append(f"{kind} {format_number(len(lines))} 列{where}")
    return f"另有 {format_number(len(excluded))} 列未列入統計：{'、'.join(parts)}。"
