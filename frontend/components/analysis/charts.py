"""The charts of an analysis result (Altair) and the Streamlit grid of cards they sit in:
a histogram per numeric column, the most frequent values of the others."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from frontend.components.analysis.tables import histogram_frame
from frontend.components.analysis.values import (
    format_exact,
    format_number,
    format_statistic,
    value_text,
)
from frontend.utils.formatting import markdown_text

CHARTS_PER_ROW = 2
CHARTS_SHOWN = 6  # more numeric columns go into an expander


def histogram_chart(column: dict[str, Any]) -> alt.Chart | None:
    data = histogram_frame(column)
    if data is None:
        return None
    unit = column.get("unit")
    x_title = f"數值範圍（{unit}）" if unit else "數值範圍"
    domain = [float(data["起"].iloc[0]), float(data["迄"].iloc[-1])]
    return (
        alt.Chart(data)
        .mark_bar(color="#4c8bd6", stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X(
                "起:Q",
                bin="binned",
                title=x_title,
                scale=alt.Scale(domain=domain, nice=False, zero=False),
                axis=alt.Axis(
                    labelOverlap=True,
                    labelFlush=True,
                    tickMinStep=1 if column.get("type") == "integer" else alt.Undefined,
                ),
            ),
            x2="迄:Q",
            y=alt.Y("列數:Q", title="列數", axis=alt.Axis(tickMinStep=1, format=",d")),
            tooltip=[
                alt.Tooltip("範圍:N", title="數值範圍"),
                alt.Tooltip("列數:Q", title="列數", format=","),
            ],
        )
        .properties(height=180)
    )


def top_values_chart(column: dict[str, Any]) -> alt.Chart | None:
    top = column.get("top") or []
    if not top:
        return None
    data = pd.DataFrame(
        [{"值": value_text(value, column.get("type")), "次數": count} for value, count in top[:10]]
    )
    return (
        alt.Chart(data)
        .mark_bar(color="#7fb2e5")
        .encode(
            x=alt.X("次數:Q", title="次數", axis=alt.Axis(tickMinStep=1, format=",d")),
            y=alt.Y("值:N", sort="-x", title=None),
            tooltip=["值:N", alt.Tooltip("次數:Q", format=",")],
        )
        .properties(height=alt.Step(24))
    )


def _chart_title(column: dict[str, Any]) -> str:
    name = f"**{markdown_text(column.get('name', ''))}**"
    unit = column.get("unit")
    return f"{name}（單位：{markdown_text(unit)}）" if unit else name


def _numeric_caption(column: dict[str, Any]) -> str:
    """Markdown: extremes on one line, mean and deviation on the next, so a narrow card
    never breaks a label such as 標準差 in two."""
    unit = column.get("unit")
    extremes = (
        f"最小 {format_exact(column.get('min'), unit)}　·　"
        f"最大 {format_exact(column.get('max'), unit)}"
    )
    spread = (
        f"平均 {format_statistic(column.get('mean'), unit)}　·　"
        f"標準差 {format_statistic(column.get('std'), unit)}"
    )
    return f"{markdown_text(extremes)}  \n{markdown_text(spread)}"


def top_caption(column: dict[str, Any]) -> str:
    return markdown_text(f"空值 {format_number(column.get('nulls'))} 個")


def chart_grid(columns: list[dict[str, Any]], make_chart: Any, caption: Any) -> None:
    charts = [(column, make_chart(column)) for column in columns]
    charts = [(column, chart) for column, chart in charts if chart is not None]
    per_row = min(CHARTS_PER_ROW, len(charts))
    for start in range(0, len(charts), per_row):
        cells = st.columns(per_row)
        for cell, (column, chart) in zip(cells, charts[start : start + per_row], strict=False):
            with cell.container(border=True):
                st.markdown(_chart_title(column))
                st.altair_chart(chart, width="stretch")
                st.caption(caption(column))


def render_histograms(numeric: list[dict[str, Any]]) -> None:
    drawable = [column for column in numeric if histogram_frame(column) is not None]
    if not drawable:
        return
    st.markdown("##### 數值分布")
    st.caption(
        "依整個檔案的數值分成若干區間，長條高度是數值落在該區間的列數；滑鼠移到長條上可看範圍。"
    )
    chart_grid(drawable[:CHARTS_SHOWN], histogram_chart, _numeric_caption)
    if len(drawable) > CHARTS_SHOWN:
        with st.expander(f"其餘 {len(drawable) - CHARTS_SHOWN} 個數值欄位的分布"):
            chart_grid(drawable[CHARTS_SHOWN:], histogram_chart, _numeric_caption)
