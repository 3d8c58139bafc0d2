"""An analysis result (`analyze` task) as people like to read it.

The backend gives whole-file statistics per column (min, mean, std, max, top values) and
only the first rows as a preview, so the charts draw those statistics; a histogram of 20
preview rows would pretend to show a distribution it does not know.
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

NUMERIC_TYPES = frozenset({"integer", "float"})
TYPE_LABELS = {
    "integer": "整數",
    "float": "小數",
    "text": "文字",
    "empty": "空白",
    "boolean": "是非",
    "date": "日期",
    "datetime": "日期時間",
}
FORMAT_LABELS = {"csv": "CSV", "xlsx": "Excel（.xlsx）", "txt": "文字檔", "json": "JSON"}
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8（含 BOM）",
    "utf-16": "UTF-16",
    "big5": "Big5",
    "cp950": "Big5（cp950）",
    "big5hkscs": "Big5-HKSCS",
    "ascii": "ASCII",
    "binary": "—",
}
COLUMN_HEADERS = {
    "name": "欄位",
    "type": "型別",
    "nulls": "空值數",
    "min": "最小值",
    "max": "最大值",
    "mean": "平均值",
    "std": "標準差",
    "top": "最常見的值（次數）",
}
CHARTS_PER_ROW = 2


def format_label(value: str | None) -> str:
    if not value:
        return "—"
    return FORMAT_LABELS.get(value.lower().lstrip("."), value)


def encoding_label(value: str | None) -> str:
    if not value:
        return "—"
    return ENCODING_LABELS.get(value.lower().replace("_", "-"), value)


def format_number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) >= 1e6 or abs(value) < 1e-3 else f"{value:,.2f}"


def _top_values(top: list[list[Any]] | None, limit: int = 3) -> str:
    if not top:
        return "—"
    shown = [f"{value}（{count:,}）" for value, count in top[:limit]]
    return "、".join(shown)


def column_table(columns: list[dict[str, Any]]) -> pd.DataFrame:
    """The per-column statistics with zh-TW headers; every cell is text so that numbers
    and words can share a column."""
    rows = []
    for column in columns:
        rows.append(
            {
                COLUMN_HEADERS["name"]: str(column.get("name", "")),
                COLUMN_HEADERS["type"]: TYPE_LABELS.get(
                    column.get("type", ""), column.get("type", "")
                ),
                COLUMN_HEADERS["nulls"]: format_number(column.get("nulls")),
                COLUMN_HEADERS["min"]: format_number(column.get("min")),
                COLUMN_HEADERS["max"]: format_number(column.get("max")),
                COLUMN_HEADERS["mean"]: format_number(column.get("mean")),
                COLUMN_HEADERS["std"]: format_number(column.get("std")),
                COLUMN_HEADERS["top"]: _top_values(column.get("top")),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMN_HEADERS.values()))


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""  # an empty cell, as in Excel (Streamlit would print "None")
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def preview_frame(
    preview: list[dict[str, Any]], columns: list[dict[str, Any]]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The preview rows as text exactly as in the file, numbers aligned right; with the
    column_config for st.dataframe. Text cells also keep mixed types out of Arrow."""
    names = [str(column.get("name", "")) for column in columns]
    for row in preview:
        names.extend(name for name in row if name not in names)
    frame = pd.DataFrame(
        [[_cell_text(row.get(name)) for name in names] for row in preview],
        columns=names,
        index=pd.RangeIndex(1, len(preview) + 1, name="列"),
    )
    numeric = {str(c.get("name")) for c in columns if c.get("type") in NUMERIC_TYPES}
    config = {
        name: st.column_config.TextColumn(name, alignment="right")
        for name in names
        if name in numeric
    }
    return frame, config


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def numeric_summary_chart(column: dict[str, Any]) -> alt.LayerChart | None:
    """Min to max as a line, mean ± one standard deviation as a band, the mean as a dot."""
    low, high, mean = column.get("min"), column.get("max"), column.get("mean")
    if not (_is_number(low) and _is_number(high) and _is_number(mean)):
        return None
    std = column.get("std") if _is_number(column.get("std")) else 0.0
    data = pd.DataFrame(
        [
            {
                "欄位": str(column.get("name", "")),
                "最小值": low,
                "最大值": high,
                "平均值": mean,
                "平均減標準差": max(low, mean - std),
                "平均加標準差": min(high, mean + std),
                "標準差": std,
            }
        ]
    )
    base = alt.Chart(data).encode(y=alt.Y("欄位:N", axis=None))
    tooltip = [
        alt.Tooltip("最小值:Q", format=",.2f"),
        alt.Tooltip("平均值:Q", format=",.2f"),
        alt.Tooltip("標準差:Q", format=",.2f"),
        alt.Tooltip("最大值:Q", format=",.2f"),
    ]
    span = base.mark_rule(strokeWidth=2, color="#8c96a8").encode(
        x=alt.X("最小值:Q", title=None, scale=alt.Scale(zero=False, nice=True)),
        x2="最大值:Q",
        tooltip=tooltip,
    )
    band = base.mark_bar(height=18, color="#7fb2e5", opacity=0.8).encode(
        x="平均減標準差:Q", x2="平均加標準差:Q", tooltip=tooltip
    )
    ends = (
        alt.Chart(data)
        .transform_fold(["最小值", "最大值"], as_=["統計", "值"])
        .mark_tick(thickness=2, size=22, color="#5b6577")
        .encode(x="值:Q", y=alt.Y("欄位:N", axis=None), tooltip=tooltip)
    )
    dot = base.mark_point(filled=True, size=90, color="#1f5fa8").encode(
        x="平均值:Q", tooltip=tooltip
    )
    return (span + band + ends + dot).properties(height=70)


def top_values_chart(column: dict[str, Any]) -> alt.Chart | None:
    top = column.get("top") or []
    if not top:
        return None
    data = pd.DataFrame([{"值": str(value), "次數": count} for value, count in top[:10]])
    return (
        alt.Chart(data)
        .mark_bar(color="#7fb2e5")
        .encode(
            x=alt.X("次數:Q", title="次數"),
            y=alt.Y("值:N", sort="-x", title=None),
            tooltip=["值:N", alt.Tooltip("次數:Q", format=",")],
        )
        .properties(height=max(60, 24 * len(data)))
    )


def _chart_grid(columns: list[dict[str, Any]], make_chart: Any, caption: Any) -> None:
    charts = [(column, make_chart(column)) for column in columns]
    charts = [(column, chart) for column, chart in charts if chart is not None]
    for start in range(0, len(charts), CHARTS_PER_ROW):
        cells = st.columns(CHARTS_PER_ROW)
        for cell, (column, chart) in zip(
            cells, charts[start : start + CHARTS_PER_ROW], strict=False
        ):
            with cell.container(border=True):
                st.markdown(f"**{column.get('name', '')}**")
                st.altair_chart(chart, width="stretch")
                st.caption(caption(column))


def _numeric_caption(column: dict[str, Any]) -> str:
    return (
        f"最小 {format_number(column.get('min'))}　平均 {format_number(column.get('mean'))}"
        f"　最大 {format_number(column.get('max'))}　標準差 {format_number(column.get('std'))}"
    )


def _top_caption(column: dict[str, Any]) -> str:
    return f"空值 {format_number(column.get('nulls'))} 個"


def render_table(table: dict[str, Any]) -> None:
    columns = table.get("columns") or []
    numeric = [c for c in columns if c.get("type") in NUMERIC_TYPES]
    text_with_top = [c for c in columns if c.get("type") not in NUMERIC_TYPES and c.get("top")]
    rows = table.get("rows") or 0

    a, b, c, d = st.columns(4)
    a.metric("資料列數", format_number(rows))
    b.metric("欄位數", format_number(len(columns)))
    c.metric("數值欄位", format_number(len(numeric)))
    d.metric("空值總數", format_number(sum(int(col.get("nulls") or 0) for col in columns)))

    st.markdown("##### 欄位摘要")
    st.dataframe(column_table(columns), hide_index=True, width="stretch")

    if numeric:
        st.markdown("##### 數值欄位")
        st.caption(
            "依整個檔案的統計值繪製：線段為最小值到最大值，色塊為平均值 ± 1 個標準差，圓點為平均值。"
        )
        _chart_grid(numeric, numeric_summary_chart, _numeric_caption)
    if text_with_top:
        with st.expander(f"文字欄位最常見的值（{len(text_with_top)} 個欄位）"):
            _chart_grid(text_with_top, top_values_chart, _top_caption)

    preview = table.get("preview") or []
    st.markdown(f"##### 資料預覽（前 {len(preview)} 列，共 {format_number(rows)} 列）")
    if preview:
        frame, config = preview_frame(preview, columns)
        st.dataframe(frame, width="stretch", column_config=config)
    else:
        st.caption("沒有可預覽的資料列。")


def render_analysis(result: dict[str, Any]) -> None:
    tables = result.get("tables") or []
    text_stats = result.get("text")

    a, b, c = st.columns(3)
    a.metric("檔案格式", format_label(result.get("format")))
    b.metric("文字編碼", encoding_label(result.get("encoding")))
    if tables or not text_stats:
        c.metric("資料表數", format_number(len(tables)))

    for warning in result.get("warnings") or []:
        st.warning(warning, icon=":material/warning:")

    if text_stats:
        st.markdown("##### 文字統計")
        x, y, z = st.columns(3)
        x.metric("行數", format_number(text_stats.get("lines")))
        y.metric("字元數", format_number(text_stats.get("characters")))
        z.metric("字數", format_number(text_stats.get("words")))

    if not tables:
        if not text_stats:
            st.info("這個檔案沒有可分析的表格資料。")
        return
    if len(tables) == 1:
        render_table(tables[0])
        return
    tabs = st.tabs([str(table.get("name") or f"資料表 {i + 1}") for i, table in enumerate(tables)])
    for tab, table in zip(tabs, tables, strict=True):
        with tab:
            render_table(table)
