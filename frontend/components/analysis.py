"""An analysis result (`analyze` task) as people like to read it.

Every figure comes from the whole file: per-column statistics, for numeric columns a
histogram whose counts the backend took over every row, for date, date-time and time
columns the range they span. The preview is only the first rows, so nothing is ever drawn from it.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import math
import re
import unicodedata
from collections import Counter
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from frontend.utils.formatting import format_duration
from frontend.utils.vocabulary import Vocabulary, label

NUMERIC_TYPES = frozenset({"integer", "float"})
# Columns whose minimum and maximum are ISO 8601 strings, shown with the range they span.
DATE_TYPES = frozenset({"date", "datetime", "time"})
UTC_SUFFIXES = ("+00:00", "Z")  # a date-time the backend converted to UTC
# Results stored before every column got one of the six types still carry this one.
RETIRED_COLUMN_TYPES = {"empty": "空白"}
BOOLEAN_WORDS = {"true": "是", "false": "否"}
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
SUMMARY_ROWS = 25  # columns listed before the summary table scrolls
TOP_VALUES_SHOWN = 2
TOP_VALUE_CHARS = 12
MAX_CELL_WIDTH = 260
NARROW_CHARS = frozenset(" ,.:;-'|()[]!iljft")
RIGHT_ALIGNED = ("nulls", "min", "max", "mean", "std")
CHARTS_PER_ROW = 2
CHARTS_SHOWN = 6  # more numeric columns go into an expander
MISSING = "—"
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]$~<>|:])")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_MARKDOWN_LINE_START = re.compile(r"^([#>+-]|\d+[.)](?=\s|$))")


def markdown_text(value: Any) -> str:
    """Text from the file (names, warnings) made literal in Markdown: "NT$" must not start
    a formula, "_" or "*" must not turn into emphasis, a leading "-" or "1." must not make
    a list, a line break must not end a list item."""
    text = _MARKDOWN_INLINE.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(value)))
    return _MARKDOWN_LINE_START.sub(lambda match: f"{match[1][:-1]}\\{match[1][-1]}", text)


# --- Labels -----------------------------------------------------------------------------


def format_label(vocabulary: Vocabulary, value: str | None) -> str:
    if not value:
        return MISSING
    key = value.lower().lstrip(".")
    return label(vocabulary, "file_formats", key, key.upper())


def _codec_name(name: str) -> str:
    """One spelling per codec: "UTF8", "utf_8" and "utf-8" are all "utf-8"."""
    with contextlib.suppress(LookupError):
        name = codecs.lookup(name).name
    return name.replace("_", "-")


def encoding_label(vocabulary: Vocabulary, value: str | None) -> str:
    """The zh-TW name of an encoding, however it is spelled ("ms950" is cp950); one without
    a label is shown by its own name."""
    if not value:
        return MISSING
    key = value.strip().lower()
    encodings = vocabulary.get("encodings") or {}
    if key not in encodings:
        key = {_codec_name(known): known for known in encodings}.get(_codec_name(key), key)
    return label(vocabulary, "encodings", key, _codec_name(key).upper())


def delimiter_label(vocabulary: Vocabulary, value: str | None) -> str:
    """The delimiter's name, with the character itself when it can be seen: "逗號（,）"."""
    if not value:
        return MISSING
    name = label(vocabulary, "delimiters", value, f"「{value}」")
    if value.isprintable() and not value.isspace() and value not in name:
        return f"{name}（{value}）"
    return name


def type_label(vocabulary: Vocabulary, value: str | None) -> str:
    if not value:
        return MISSING
    if value in RETIRED_COLUMN_TYPES:
        return RETIRED_COLUMN_TYPES[value]
    return label(vocabulary, "column_types", value)


def written_as_label(vocabulary: Vocabulary, formats: list[str] | None) -> str:
    names = list(formats or [])
    if "gregorian" in names and "roc" not in names:
        names.remove("gregorian")  # plain Gregorian dates are the default, not news
    shown = [label(vocabulary, "value_formats", name) for name in names]
    return "、".join(shown) if shown else MISSING


# --- Values -----------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def format_number(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return MISSING
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) >= 1e15 or abs(value) < 1e-3 else f"{value:,.2f}"


def with_unit(text: str, unit: str | None) -> str:
    """A formatted number with its unit: "12.5 %", "NT$1,200", "-NT$300"."""
    if not unit or text == MISSING:
        return text
    if unit == "%":
        return f"{text} %"
    if text.startswith("-"):
        return f"-{unit}{text[1:]}"
    return f"{unit}{text}"


def format_amount(value: Any, unit: str | None = None) -> str:
    """A computed figure (mean, deviation), rounded, with its unit."""
    return with_unit(format_number(value), unit)


def format_statistic(value: Any, unit: str | None = None) -> str:
    """A mean or a standard deviation: always two decimals ("2.00", not "2" beside
    "1.50"), so the figures of one table line up; extreme magnitudes as format_number."""
    if _is_number(value) and (value == 0 or 1e-3 <= abs(value) < 1e15):
        return with_unit(f"{value:,.2f}", unit)
    return format_amount(value, unit)


def format_exact(value: Any, unit: str | None = None, grouped: bool = True) -> str:
    """A value from the file (a minimum, a cell) with every digit Excel keeps (15)."""
    if not _is_number(value):
        return format_amount(value, unit)
    return with_unit(format(value, ",.15g" if grouped else ".15g"), unit)


def format_date(value: Any, column_type: str | None = "date") -> str:
    """An ISO date, date-time or time as people write it: "2024-05-01", "2024-05-01
    13:45:00", "08:30:00"; a date-time in UTC (the backend converts those written with an
    offset) says so: "2024-05-01 00:30:00 UTC". In a date-time column a bare date is
    midnight (Excel may store it as a whole day)."""
    if value is None or value == "":
        return MISSING
    text = str(value).replace("T", " ")
    for suffix in UTC_SUFFIXES:
        if column_type == "datetime" and text.endswith(suffix):
            text = text.removesuffix(suffix) + " UTC"
    if column_type == "datetime" and len(text) == len("2024-05-01"):
        text += " 00:00:00"
    return text


def column_extreme(column: dict[str, Any], key: str) -> str:
    value = column.get(key)
    if column.get("type") in DATE_TYPES:
        return format_date(value, column.get("type"))
    if _is_number(value):
        return format_exact(value, column.get("unit"))
    return MISSING if value is None else str(value)


def _value_text(value: Any, column_type: str | None) -> str:
    if column_type == "boolean":
        return BOOLEAN_WORDS.get(str(value).lower(), str(value))
    return str(value)


def _shortened(text: str, limit: int = TOP_VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _top_values(column: dict[str, Any]) -> str:
    """The two most frequent values, kept short so the summary fits a laptop screen; the
    charts below show more."""
    top = column.get("top") or []
    if not top:
        return MISSING
    shown = [
        f"{_shortened(_value_text(value, column.get('type')))}（{count:,}）"
        for value, count in top[:TOP_VALUES_SHOWN]
    ]
    return "、".join(shown)


def _type_cell(vocabulary: Vocabulary, column: dict[str, Any]) -> str:
    """The type, and how the file wrote the values when they were converted."""
    written_as = written_as_label(vocabulary, column.get("formats"))
    name = type_label(vocabulary, column.get("type"))
    return name if written_as == MISSING else f"{name}（{written_as}）"


def _nulls_text(nulls: Any, rows: int | None) -> str:
    text = format_number(nulls)
    if not rows or not _is_number(nulls) or nulls <= 0:
        return text
    share = nulls / rows
    return f"{text}（{'<1%' if share < 0.01 else f'{share:.0%}'}）"


def column_table(
    vocabulary: Vocabulary, columns: list[dict[str, Any]], rows: int | None = None
) -> pd.DataFrame:
    """The per-column statistics with zh-TW headers; every cell is text so that numbers,
    dates and words can share a column."""
    records = []
    for column in columns:
        numeric = column.get("type") in NUMERIC_TYPES
        unit = column.get("unit")
        cells = {
            "name": str(column.get("name", "")),
            "type": _type_cell(vocabulary, column),
            "nulls": _nulls_text(column.get("nulls"), rows),
            "min": column_extreme(column, "min"),
            "max": column_extreme(column, "max"),
            "mean": format_statistic(column.get("mean"), unit) if numeric else MISSING,
            "std": format_statistic(column.get("std"), unit) if numeric else MISSING,
            "top": _top_values(column),
        }
        records.append({COLUMN_HEADERS[key]: text for key, text in cells.items()})
    return pd.DataFrame(records, columns=list(COLUMN_HEADERS.values()))


def _char_width(char: str) -> float:
    if unicodedata.east_asian_width(char) in "WF":
        return 14.0
    if char in NARROW_CHARS:
        return 4.0
    return 8.5 if char.isupper() else 7.0


def _cell_width(text: str) -> int:
    """Pixels a cell needs at the grid's 14 px font, with the cell's padding."""
    return round(sum(map(_char_width, text))) + 20


def _column_table_config(table: pd.DataFrame) -> dict[str, Any]:
    """Each column as wide as its longest cell (the grid sizes columns from the first rows
    only, and a right-aligned cell cut short loses its start); figures aligned right; the
    names stay in view when a wide table scrolls sideways."""
    config = {}
    for key, header in COLUMN_HEADERS.items():
        widest = max([_cell_width(header), *map(_cell_width, table[header])])
        config[header] = st.column_config.TextColumn(
            header,
            width=min(widest, MAX_CELL_WIDTH),
            alignment="right" if key in RIGHT_ALIGNED else None,
            pinned=key == "name",
        )
    return config


def _preview_number(value: float, column: dict[str, Any]) -> str:
    """Grouped (and with its unit) as the file wrote it."""
    grouped = bool({"thousands", "currency"} & set(column.get("formats") or []))
    return format_exact(value, column.get("unit"), grouped)


def _cell_text(value: Any, column: dict[str, Any] | None) -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return ""  # an empty cell, as in Excel (Streamlit would print "None")
    if isinstance(value, bool):
        return "是" if value else "否"
    column_type = column.get("type") if column else None
    if column_type in NUMERIC_TYPES and _is_number(value):
        return _preview_number(value, column or {})
    if column_type in DATE_TYPES and isinstance(value, str):
        return format_date(value, column_type)
    return str(value)


def preview_frame(
    preview: list[dict[str, Any]], columns: list[dict[str, Any]]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The preview rows as text, numbers with their units and aligned right; with the
    column_config for st.dataframe. Text cells also keep mixed types out of Arrow."""
    by_name = {str(column.get("name", "")): column for column in columns}
    names = list(by_name)
    for row in preview:
        names.extend(name for name in row if name not in names)
    frame = pd.DataFrame(
        [[_cell_text(row.get(name), by_name.get(name)) for name in names] for row in preview],
        columns=names,
        index=pd.RangeIndex(1, len(preview) + 1, name="列"),
    )
    config = {
        name: st.column_config.TextColumn(name, alignment="right")
        for name, column in by_name.items()
        if column.get("type") in NUMERIC_TYPES
    }
    return frame, config


# --- Charts -----------------------------------------------------------------------------


def histogram_frame(column: dict[str, Any]) -> pd.DataFrame | None:
    """One row per bin of the backend's histogram {"edges": [n + 1], "counts": [n]}."""
    histogram = column.get("histogram") or {}
    edges, counts = histogram.get("edges") or [], histogram.get("counts") or []
    if not counts or len(edges) != len(counts) + 1:
        return None
    if not all(map(_is_number, [*edges, *counts])):
        return None
    unit = column.get("unit")
    last = len(counts) - 1
    return pd.DataFrame(
        [
            {
                "起": edges[i],
                "迄": edges[i + 1],
                "列數": int(count),
                "範圍": f"{format_amount(edges[i], unit)} ～ {format_amount(edges[i + 1], unit)}"
                + ("（含）" if i == last else "（不含）"),
            }
            for i, count in enumerate(counts)
        ]
    )


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
        [{"值": _value_text(value, column.get("type")), "次數": count} for value, count in top[:10]]
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


def _top_caption(column: dict[str, Any]) -> str:
    return markdown_text(f"空值 {format_number(column.get('nulls'))} 個")


def _chart_grid(columns: list[dict[str, Any]], make_chart: Any, caption: Any) -> None:
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


def _render_histograms(numeric: list[dict[str, Any]]) -> None:
    drawable = [column for column in numeric if histogram_frame(column) is not None]
    if not drawable:
        return
    st.markdown("##### 數值分布")
    st.caption(
        "依整個檔案的數值分成若干區間，長條高度是數值落在該區間的列數；滑鼠移到長條上可看範圍。"
    )
    _chart_grid(drawable[:CHARTS_SHOWN], histogram_chart, _numeric_caption)
    if len(drawable) > CHARTS_SHOWN:
        with st.expander(f"其餘 {len(drawable) - CHARTS_SHOWN} 個數值欄位的分布"):
            _chart_grid(drawable[CHARTS_SHOWN:], histogram_chart, _numeric_caption)


def _parse_date(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=None)


def _parse_time(value: Any) -> dt.datetime | None:
    """An ISO time of day as that time on one fixed day, so two can be subtracted."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.time.fromisoformat(value)
    except ValueError:
        return None
    return dt.datetime.combine(dt.date(2000, 1, 1), moment.replace(tzinfo=None))


def date_span(column: dict[str, Any]) -> str:
    """How long the dates of a column cover: whole days for dates (both ends counted, as a
    calendar does), days and hours or a duration for date-times, a duration for times of
    day."""
    parse = _parse_time if column.get("type") == "time" else _parse_date
    earliest, latest = parse(column.get("min")), parse(column.get("max"))
    if earliest is None or latest is None or latest < earliest:
        return MISSING
    delta = latest - earliest
    if column.get("type") == "date":
        return f"{delta.days + 1:,} 天"
    if delta.days >= 1:
        hours = delta.seconds // 3600
        return f"{delta.days:,} 天" + (f" {hours} 小時" if hours else "")
    return format_duration(delta.total_seconds())


def date_range_frame(columns: list[dict[str, Any]]) -> pd.DataFrame | None:
    """One row per date, date-time or time column with a known range: its earliest and
    latest value."""
    rows = [
        {
            "欄位": str(column.get("name", "")),
            "最早": column_extreme(column, "min"),
            "最晚": column_extreme(column, "max"),
            "涵蓋期間": date_span(column),
        }
        for column in columns
        if column.get("type") in DATE_TYPES and column.get("min") and column.get("max")
    ]
    return pd.DataFrame(rows) if rows else None


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


# --- Warnings ---------------------------------------------------------------------------


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


def render_warnings(warnings: list[str]) -> None:
    """One box, the sentences as a list when there are several."""
    if not warnings:
        return
    if len(warnings) == 1:
        body = markdown_text(warnings[0])
    else:
        body = "\n".join(f"- {markdown_text(warning)}" for warning in warnings)
    st.warning(body, icon=":material/warning:")


# --- Page parts -------------------------------------------------------------------------


TEXT_FORMATS = ("csv", "tsv", "txt", "json")  # lines; other formats have sheet rows


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

    _render_histograms(numeric)
    _render_date_ranges(columns)
    if with_top:
        with st.expander(f"文字與是/否欄位最常見的值（{len(with_top)} 個欄位）"):
            _chart_grid(with_top, top_values_chart, _top_caption)

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
