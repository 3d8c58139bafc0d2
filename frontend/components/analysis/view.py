"""The analysis result on a page (Streamlit): the file's facts and warnings, then per table
its figures, column summary, charts, date ranges and preview; several tables as tabs."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from frontend.components.analysis import tables
from frontend.components.analysis.charts import (
    chart_grid,
    render_histograms,
    top_caption,
    top_values_chart,
)
from frontend.components.analysis.labels import delimiter_label, encoding_label, format_label
from frontend.components.analysis.tables import (
    COLUMN_HEADERS,
    cell_width,
    column_table,
    date_range_frame,
)
from frontend.components.analysis.values import NUMERIC_TYPES, format_number
from frontend.components.analysis.warnings import excluded_caption, file_warnings
from frontend.utils.formatting import markdown_text
from frontend.utils.vocabulary import Vocabulary

SUMMARY_ROWS = 25  # columns listed before the summary table scrolls
MAX_CELL_WIDTH = 260
RIGHT_ALIGNED = ("nulls", "min", "max", "mean", "std")
TEXT_FORMATS = ("csv", "tsv", "txt", "json")  # lines; other formats have sheet rows


def _column_table_config(table: pd.DataFrame) -> dict[str, Any]:
    """Each column as wide as its longest cell (the grid sizes columns from the first rows
    only, and a right-aligned cell cut short loses its start); figures aligned right; the
    names stay in view when a wide table scrolls sideways."""
    config = {}
    for key, header in COLUMN_HEADERS.items():
        widest = max([cell_width(header), *map(cell_width, table[header])])
        config[header] = st.column_config.TextColumn(
            header,
            width=min(widest, MAX_CELL_WIDTH),
            alignment="right" if key in RIGHT_ALIGNED else None,
            pinned=key == "name",
        )
    return config


def preview_frame(
    preview: list[dict[str, Any]], columns: list[dict[str, Any]]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The preview rows as text (`tables.preview_table`), with the column_config for
    st.dataframe that aligns the numbers right."""
    config = {
        name: st.column_config.TextColumn(name, alignment="right")
        for name in tables.numeric_columns(columns)
    }
    return tables.preview_table(preview, columns), config


def _render_date_ranges(columns: list[dict[str, Any]]) -> None:
    ranges = date_range_frame(columns)
    if ranges is None:
        return
    with_times = any(column.get("type") == "time" for column in columns)
    st.markdown("##### 日期與時間範圍" if with_times else "##### 日期範圍")
    st.caption(
        "每個日期與時間欄位在整個檔案中最早與最晚的值。"
        if with_times
        else "每個日期欄位在整個檔案中最早與最晚的值。"
    )
    st.dataframe(
        ranges,
        hide_index=True,
        width="content",
        column_config={
            "欄位": st.column_config.TextColumn("欄位", pinned=True),
            "涵蓋期間": st.column_config.TextColumn("涵蓋期間", alignment="right"),
        },
    )


def render_warnings(warnings: list[str]) -> None:
    """One box, the sentences as a list when there are several."""
    if not warnings:
        return
    if len(warnings) == 1:
        body = markdown_text(warnings[0])
    else:
        body = "\n".join(f"- {markdown_text(warning)}" for warning in warnings)
    st.warning(body, icon=":material/warning:")


def render_table(vocabulary: Vocabulary, table: dict[str, Any], unit: str = "行") -> None:
    columns = table.get("columns") or []
    numeric = [c for c in columns if c.get("type") in NUMERIC_TYPES]
    with_top = [c for c in columns if c.get("type") not in NUMERIC_TYPES and c.get("top")]
    rows = table.get("rows") or 0

    render_warnings(table.get("warnings") or [])

    a, b, c, d = st.columns(4)
    a.metric("資料列數", format_number(rows))
    b.metric("欄位數", format_number(len(columns)))
    c.metric("數值欄位", format_number(len(numeric)))
    d.metric("空值總數", format_number(sum(int(col.get("nulls") or 0) for col in columns)))
    excluded = excluded_caption(table, unit)
    if excluded:
        st.caption(excluded)

    st.markdown("##### 欄位摘要")
    if columns:
        summary = column_table(vocabulary, columns, rows)
        st.dataframe(
            summary,
            hide_index=True,
            width="stretch",
            height="content" if len(columns) <= SUMMARY_ROWS else (SUMMARY_ROWS + 1) * 35 + 3,
            column_config=_column_table_config(summary),
        )
    else:
        st.caption("這個資料表沒有欄位。")

    render_histograms(numeric)
    _render_date_ranges(columns)
    if with_top:
        with st.expander(f"文字與是/否欄位最常見的值（{len(with_top)} 個欄位）"):
            chart_grid(with_top, top_values_chart, top_caption)

    preview = table.get("preview") or []
    st.markdown(f"##### 資料預覽（前 {len(preview)} 列，共 {format_number(rows)} 列）")
    if preview:
        frame, config = preview_frame(preview, columns)
        st.dataframe(frame, width="stretch", column_config=config)
    else:
        st.caption("沒有可預覽的資料列。")


def _render_file_facts(
    vocabulary: Vocabulary, result: dict[str, Any], tables: list[dict[str, Any]]
) -> None:
    facts = [("檔案格式", format_label(vocabulary, result.get("format")))]
    if result.get("encoding"):
        facts.append(("文字編碼", encoding_label(vocabulary, result.get("encoding"))))
    if result.get("delimiter"):
        facts.append(("分隔符號", delimiter_label(vocabulary, result.get("delimiter"))))
    if len(tables) > 1 or result.get("format") == "xlsx" or not (tables or result.get("text")):
        facts.append(("資料表數", format_number(len(tables))))
    # Each as wide as its value (a metric in a fixed column cuts a long one short), wrapping
    # onto a second row on a narrow screen.
    with st.container(horizontal=True, gap="medium"):
        for name, value in facts:
            st.metric(name, value, width="content")


def render_analysis(vocabulary: Vocabulary, result: dict[str, Any]) -> None:
    tables = result.get("tables") or []
    text_stats = result.get("text")

    _render_file_facts(vocabulary, result, tables)
    render_warnings(file_warnings(result))

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
    unit = "行" if result.get("format") in TEXT_FORMATS else "列"
    if len(tables) == 1:
        render_table(vocabulary, tables[0], unit)
        return
    labels = [
        markdown_text(table.get("name") or f"資料表 {i + 1}") for i, table in enumerate(tables)
    ]
    for tab, table in zip(st.tabs(labels), tables, strict=True):
        with tab:
            render_table(vocabulary, table, unit)
