"""Date-times with UTC offsets and times of day, each with its right value asserted.

Expected figures come from Python's own ``datetime`` on the same cells: ``fromisoformat``
and ``astimezone(UTC)`` for offsets, ``strptime`` for clock times.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from fastapi.testclient import TestClient

from backend.api.report_xlsx import STATS_HEADERS, STATS_SHEET, SUMMARY_SHEET, analysis_workbook
from backend.api.schemas import AnalysisResult
from backend.vocabulary import COLUMN_TYPE_LABELS
from tests.backend.analyze.test_real_world_files import analyze, columns
from tests.backend.conftest import wait_for

UTC = dt.UTC


def csv_of(name: str, cells: list[str]) -> str:
    """A CSV with the column ``name`` holding ``cells`` and a numbered column beside."""
    return f"編號,{name}\n" + "".join(f"{i},{cell}\n" for i, cell in enumerate(cells))


def utc_of(cell: str) -> dt.datetime:
    """The cell as Python reads it, in UTC; one without an offset taken as UTC."""
    moment = dt.datetime.fromisoformat(cell)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def offset_written(cell: str) -> str | None:
    """The offset the cell was written with, as the note names it ("Z", "+05:30")."""
    if cell.endswith("Z"):
        return "Z"
    offset = dt.datetime.fromisoformat(cell).utcoffset()
    if offset is None:
        return None
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def note_about(result: dict, name: str) -> str:
    notes = [w for w in result["tables"][0]["warnings"] if f"欄位「{name}」" in w]
    assert len(notes) == 1, notes
    return notes[0]


# --- date-times with a UTC offset -------------------------------------------------------

OFFSET_COLUMNS = {
    "z": ["2024-05-01T08:30:00Z", "2024-05-01 23:59:59Z", "2024-04-30T00:00:00Z"],
    "taipei": ["2024-05-01T08:30:00+08:00", "2024-05-01T07:00:00+08:00",
               "2024-05-02T01:15:00+08:00"],
    "new_york": ["2024-05-01T08:30:00-05:00", "2024-05-01T20:00:00-05:00",
                 "2024-04-30T22:10:00-05:00"],
    "no_colon": ["2024-05-01T08:30:00+0530", "2024-05-01T02:00:00+0530",
                 "2024-05-01T05:29:59+0530"],
    "hours_only": ["2024-05-01T08:30:00+08", "2024-05-01T06:00:00-03", "2024-05-01T03:00:00+00"],
    "mixed": ["2024-05-01T08:30:00+08:00", "2024-05-01 08:30:00Z", "2024-05-01T08:30:00-05:00",
              "2024-05-01T08:30:00+0530", "2024-05-01T00:10:00+08:00"],
    "no_seconds": ["2024-05-01T08:30+08:00", "2024-05-01T23:45-05:00"],
    "fractions": ["2024-05-01T08:30:00.5+08:00", "2024-05-01T00:30:00.123456Z",
                  "2024-05-01T00:30:00.1234567Z", "2024-04-30T19:30:00.999-05:00"],
    "across_midnight": ["2024-01-01T01:00:00+08:00", "2023-12-31T20:00:00-05:00"],
}  # fmt: skip


@pytest.mark.parametrize("variant", OFFSET_COLUMNS)
def test_offsets_convert_to_utc(tmp_path: Path, variant: str) -> None:
    cells = OFFSET_COLUMNS[variant]
    result = analyze(tmp_path, csv_of("時間", cells), "offsets.csv")
    column = columns(result)["時間"]
    moments = [utc_of(cell) for cell in cells]
    assert column["type"] == "datetime"
    assert column["min"] == min(moments).isoformat()
    assert column["max"] == max(moments).isoformat()
    assert column["min"].endswith("+00:00") and column["max"].endswith("+00:00")
    assert "utc_offset" in column["formats"]
    assert column["nulls"] == 0
    note = note_about(result, "時間")
    written = sorted({offset_written(cell) for cell in cells})
    assert f"的時間帶有時區（{'、'.join(written)}），已統一換算為 UTC" in note
    assert "沒有註明時區" not in note
    preview = [row["時間"] for row in result["tables"][0]["preview"]]
    assert preview == [moment.isoformat() for moment in moments]
    AnalysisResult.model_validate(result)


def test_offsets_beside_empty_and_na_cells(tmp_path: Path) -> None:
    cells = ["2024-05-01T08:30:00+08:00", "", "N/A", "2024-05-03T08:30:00-05:00"]
    result = analyze(tmp_path, csv_of("時間", cells), "na.csv")
    column = columns(result)["時間"]
    present = [utc_of(cell) for cell in cells if cell not in ("", "N/A")]
    assert (column["min"], column["max"]) == (min(present).isoformat(), max(present).isoformat())
    assert column["nulls"] == 2


@pytest.mark.parametrize(
    "cells",
    [
        ["2024-05-01T08:30:00+08:00", "2024-05-01 09:00:00", "2024-05-01T23:00:00Z"],
        ["2024-05-01 23:30", "2024-05-01T20:00:00-05:00"],
        ["2024-05-02", "2024-05-01T20:00:00+08:00"],  # a bare date: midnight, zone unknown
    ],
)
def test_offsets_beside_naive_cells_take_those_as_utc_and_say_so(
    tmp_path: Path, cells: list[str]
) -> None:
    result = analyze(tmp_path, csv_of("時間", cells), "mixed.csv")
    column = columns(result)["時間"]
    moments = [utc_of(cell) for cell in cells]
    assert column["type"] == "datetime"
    assert (column["min"], column["max"]) == (min(moments).isoformat(), max(moments).isoformat())
    note = note_about(result, "時間")
    assert "已統一換算為 UTC" in note
    assert "沒有註明時區" in note and "當作 UTC" in note


@pytest.mark.slow
def test_naive_rows_then_offset_rows_in_later_batches(tmp_path: Path) -> None:
    """The first rows (the first batches) without offsets, later ones with: the same
    figures as Python gives, on one thread or two."""
    start = dt.datetime(2024, 1, 1)
    naive = [(start + dt.timedelta(minutes=7 * i)).isoformat(" ") for i in range(30_000)]
    aware = [
        (start + dt.timedelta(minutes=11 * i)).isoformat() + ("+08:00" if i % 2 else "-05:00")
        for i in range(30_000)
    ]
    cells = naive + aware
    result = analyze(tmp_path, csv_of("時間", cells), "batches.csv")
    column = columns(result)["時間"]
    moments = [utc_of(cell) for cell in cells]
    assert result["tables"][0]["rows"] == len(cells)
    assert column["type"] == "datetime"
    assert (column["min"], column["max"]) == (min(moments).isoformat(), max(moments).isoformat())
    note = note_about(result, "時間")
    assert "（+08:00、-05:00）" in note and "沒有註明時區" in note


@pytest.mark.parametrize(
    "cells",
    [
        ["2024-05-01T08:30:00+24:00"],  # no such offset
        ["2024-05-01T08:30:00+08:60"],
        ["2024-05-01T08:30:00+8:00"],  # ISO writes the hours with two digits
        ["2024-05-01T08:30:00+08:00", "2024-05-01T08:30:00 台北"],
        ["2024-05-01T08:30.5+08:00"],  # a fraction of a minute
    ],
)
def test_what_is_no_offset_stays_text(tmp_path: Path, cells: list[str]) -> None:
    column = columns(analyze(tmp_path, csv_of("時間", cells), "bad.csv"))["時間"]
    assert column["type"] == "text"
    assert sorted(value for value, _ in column["top"]) == sorted(cells)


def test_naive_fractional_seconds_are_kept(tmp_path: Path) -> None:
    cells = ["2024-05-01 08:30:00.25", "2024-05-01 08:30:00.125", "2024-05-01 08:29:59.999999"]
    column = columns(analyze(tmp_path, csv_of("時間", cells), "fraction.csv"))["時間"]
    moments = [dt.datetime.fromisoformat(cell) for cell in cells]
    assert column["type"] == "datetime" and "utc_offset" not in column["formats"]
    assert (column["min"], column["max"]) == (min(moments).isoformat(), max(moments).isoformat())


def test_roc_dates_with_offsets_get_both_notes(tmp_path: Path) -> None:
    cells = ["113/05/01 08:30:00+08:00", "113/05/02 08:30:00+08:00"]
    result = analyze(tmp_path, csv_of("時間", cells), "roc.csv")
    column = columns(result)["時間"]
    moments = [utc_of(cell.replace("113/05/0", "2024-05-0")) for cell in cells]
    assert (column["min"], column["max"]) == (min(moments).isoformat(), max(moments).isoformat())
    note = note_about(result, "時間")
    assert "民國紀年" in note and "（+08:00），已統一換算為 UTC" in note


# --- times of day -----------------------------------------------------------------------


def clock_of(cell: str) -> dt.time:
    """The time Python's strptime reads in the cell (上午/下午 as AM/PM)."""
    text = unicodedata.normalize("NFKC", cell).strip()
    text = text.replace("上午", "AM ").replace("下午", "PM ")
    layouts = ["%H:%M", "%H:%M:%S", "%H:%M:%S.%f", "%p %I:%M", "%p %I:%M:%S", "%I:%M %p",
               "%I:%M:%S %p", "%I:%M%p"]  # fmt: skip
    for layout in layouts:
        try:
            return dt.datetime.strptime(" ".join(text.split()), layout).time()
        except ValueError:
            continue
    raise AssertionError(cell)


TIME_COLUMNS = {
    "24_hour": ["08:30", "17:45", "00:00", "23:59", "12:05"],
    "one_digit_hour": ["8:30:15", "9:05", "0:00:01", "13:00:00"],
    "seconds": ["08:30:15", "17:45:59", "06:00:00"],
    "fractions": ["08:30:15.5", "08:30:15.25", "23:59:59.999999"],
    "zh_tw": ["下午 2:15", "上午 10:05", "上午 12:30", "下午 12:00", "下午 11:59:30"],
    "zh_tw_no_space": ["下午2:15", "上午9:00"],
    "am_pm": ["2:15 PM", "11:59 am", "12:00 PM", "12:01 AM", "9:30:10 pm"],
    "fullwidth": ["１４：３０", "０８：１５"],
}


@pytest.mark.parametrize("variant", TIME_COLUMNS)
def test_time_of_day_columns(tmp_path: Path, variant: str) -> None:
    cells = TIME_COLUMNS[variant]
    result = analyze(tmp_path, csv_of("時刻", cells), "times.csv")
    column = columns(result)["時刻"]
    clocks = [clock_of(cell) for cell in cells]
    assert column["type"] == "time"
    assert (column["min"], column["max"]) == (min(clocks).isoformat(), max(clocks).isoformat())
    assert column["mean"] is None and column["histogram"] is None and column["top"] is None
    preview = [row["時刻"] for row in result["tables"][0]["preview"]]
    assert preview == [clock.isoformat() for clock in clocks]
    assert not [w for w in result["warnings"] if "時刻" in w]
    AnalysisResult.model_validate(result)


@pytest.mark.slow
def test_time_column_over_many_batches_with_empty_cells(tmp_path: Path) -> None:
    cells = [
        "" if i % 13 == 0 else f"{(i * 7) % 24}:{(i * 11) % 60:02d}:{i % 60:02d}"
        for i in range(80_000)
    ]
    result = analyze(tmp_path, csv_of("時刻", cells), "many.csv")
    column = columns(result)["時刻"]
    clocks = [clock_of(cell) for cell in cells if cell]
    assert column["type"] == "time"
    assert column["nulls"] == cells.count("")
    assert (column["min"], column["max"]) == (min(clocks).isoformat(), max(clocks).isoformat())


def test_time_column_whose_first_rows_are_placeholders(tmp_path: Path) -> None:
    """Cells such as "-" are empty in a time column, also when the first thousands are."""
    cells = ["-"] * 3_000 + [f"{i % 24}:{i % 60:02d}" for i in range(3_000)]
    column = columns(analyze(tmp_path, csv_of("時刻", cells), "late.csv"))["時刻"]
    clocks = [clock_of(cell) for cell in cells if cell != "-"]
    assert column["type"] == "time"
    assert column["nulls"] == 3_000
    assert (column["min"], column["max"]) == (min(clocks).isoformat(), max(clocks).isoformat())


@pytest.mark.parametrize(
    "cells",
    [
        ["3:1", "2:0", "10:5"],  # ratios, scores
        ["3:1", "12:30", "08:45"],  # one ratio among times
        ["25:00", "08:30"],  # no such hour
        ["08:60", "08:30"],  # no such minute
        ["08:30:61"],
        ["下午 13:00", "下午 2:00"],  # a 12-hour clock has no 13
        ["上午 0:30"],
        ["08:30-17:30", "09:00-18:00"],  # ranges
        ["1:2:3"],
    ],
)
def test_what_is_no_clock_time_stays_text(tmp_path: Path, cells: list[str]) -> None:
    column = columns(analyze(tmp_path, csv_of("比數", cells), "ratios.csv"))["比數"]
    assert column["type"] == "text"
    assert sorted(value for value, _ in column["top"]) == sorted(set(cells))


@pytest.mark.slow
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_times_with_one_stray_text_cell_stay_text(tmp_path: Path, where: str) -> None:
    """Also when the stray cell comes after many batches of times (a second pass)."""
    cells = [f"{i % 24:02d}:{i % 60:02d}" for i in range(60_000)]
    position = {"first": 0, "middle": len(cells) // 2, "last": len(cells) - 1}[where]
    cells[position] = "休息"
    result = analyze(tmp_path, csv_of("時刻", cells), "stray.csv")
    column = columns(result)["時刻"]
    assert column["type"] == "text"
    assert column["min"] is None and column["max"] is None
    counts = {value: cells.count(value) for value in set(cells)}
    best = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5]
    assert column["top"] == [list(item) for item in best]
    assert column["nulls"] == 0


def test_times_and_dates_do_not_mix(tmp_path: Path) -> None:
    cells = ["08:30", "2024-05-01"]
    column = columns(analyze(tmp_path, csv_of("時刻", cells), "mix.csv"))["時刻"]
    assert column["type"] == "text"


def test_numbers_are_still_numbers(tmp_path: Path) -> None:
    """Numbers are tried first: the time parser never sees them."""
    cells = ["830", "1745", "0.5"]
    column = columns(analyze(tmp_path, csv_of("數", cells), "numbers.csv"))["數"]
    assert column["type"] == "float"
    assert (column["min"], column["max"]) == (0.5, 1745.0)


def test_excel_time_cells_are_a_time_column(tmp_path: Path) -> None:
    clocks = [dt.time(8, 30), dt.time(17, 45, 10), dt.time(0, 5)]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["上班", "數量"])
    for i, clock in enumerate(clocks):
        sheet.append([clock, i])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = analyze(tmp_path, buffer.getvalue(), "打卡.xlsx")
    column = columns(result)["上班"]
    assert column["type"] == "time"
    assert (column["min"], column["max"]) == (min(clocks).isoformat(), max(clocks).isoformat())
    assert [row["上班"] for row in result["tables"][0]["preview"]] == [
        clock.isoformat() for clock in clocks
    ]


# --- the Excel report -------------------------------------------------------------------


@pytest.mark.parametrize("zone", [None, "Asia/Taipei", "America/New_York"])
def test_excel_report_shows_times_and_offset_date_times_in_its_zone(
    tmp_path: Path, zone: str | None
) -> None:
    aware = ["2024-05-01T08:30:00+08:00", "2024-05-01T20:00:00-05:00", "2024-05-02T00:00:00Z"]
    clocks = ["08:30", "下午 5:45", "23:15:30"]
    text = "打卡,時刻,日期\n" + "".join(
        f"{a},{c},2024-05-0{i + 1}\n" for i, (a, c) in enumerate(zip(aware, clocks, strict=True))
    )
    result = analyze(tmp_path, text, "report.csv")
    timezone = ZoneInfo(zone) if zone else None
    workbook = openpyxl.load_workbook(
        io.BytesIO(
            analysis_workbook(
                result, filename="report.csv", size_bytes=1, finished_at=0, timezone=timezone
            )
        )
    )
    stats = workbook[STATS_SHEET]
    rows = {row[1]: dict(zip(STATS_HEADERS, row, strict=True)) for row in stats.iter_rows(
        min_row=2, values_only=True)}  # fmt: skip
    shown_in = timezone or UTC
    moments = [dt.datetime.fromisoformat(cell).astimezone(shown_in) for cell in aware]
    punch = rows["打卡"]
    assert punch["型別"] == COLUMN_TYPE_LABELS["datetime"]
    assert punch["最小值"] == min(moments).replace(tzinfo=None)
    assert punch["最大值"] == max(moments).replace(tzinfo=None)
    times = [clock_of(cell) for cell in clocks]
    clock = rows["時刻"]
    assert clock["型別"] == COLUMN_TYPE_LABELS["time"] == "時間"
    assert (clock["最小值"], clock["最大值"]) == (min(times), max(times))
    assert rows["日期"]["最小值"] == dt.datetime(2024, 5, 1)

    preview = workbook["預覽 " + result["tables"][0]["name"]]
    # A1 names the table, row 2 holds the column names, the cells start at row 3.
    cells = list(preview.iter_rows(min_row=3, values_only=True))
    assert [row[0] for row in cells] == [moment.replace(tzinfo=None) for moment in moments]
    assert [row[1] for row in cells] == times
    assert preview.cell(3, 2).number_format == "hh:mm:ss"

    summary = [value for row in workbook[SUMMARY_SHEET].iter_rows(values_only=True)
               for value in row if isinstance(value, str)]  # fmt: skip
    name = zone or "UTC"
    assert any(f"以 {name} 時間顯示" in value for value in summary)
    assert any("已統一換算為 UTC" in value for value in summary)


def test_excel_report_takes_naive_cells_beside_offsets_as_utc(tmp_path: Path) -> None:
    """As the analysis does (its minimum here is such a cell): the preview agrees."""
    cells = ["2024-05-01 00:10:00", "2024-05-01T08:30:00+08:00", "2024-05-02"]
    result = analyze(tmp_path, csv_of("打卡", cells), "mixed.csv")
    zone = ZoneInfo("Asia/Taipei")
    workbook = openpyxl.load_workbook(
        io.BytesIO(
            analysis_workbook(
                result, filename="mixed.csv", size_bytes=1, finished_at=None, timezone=zone
            )
        )
    )
    shown = [utc_of(cell).astimezone(zone).replace(tzinfo=None) for cell in cells]
    preview = workbook["預覽 " + result["tables"][0]["name"]]
    assert [row[1] for row in preview.iter_rows(min_row=3, values_only=True)] == shown
    stats = {row[1]: row for row in workbook[STATS_SHEET].iter_rows(min_row=2, values_only=True)}
    assert stats["打卡"][6:8] == (min(shown), max(shown))


def test_excel_report_without_offsets_says_nothing_about_zones(tmp_path: Path) -> None:
    result = analyze(tmp_path, "時刻,數量\n08:30,1\n09:45,2\n", "plain.csv")
    workbook = openpyxl.load_workbook(
        io.BytesIO(
            analysis_workbook(
                result, filename="plain.csv", size_bytes=1, finished_at=None,
                timezone=ZoneInfo("Asia/Taipei"),
            )
        )
    )  # fmt: skip
    summary = [value for row in workbook[SUMMARY_SHEET].iter_rows(values_only=True)
               for value in row if isinstance(value, str)]  # fmt: skip
    assert not any("時區" in value for value in summary)
    stats = workbook[STATS_SHEET]
    assert (stats.cell(2, 7).value, stats.cell(2, 8).value) == (dt.time(8, 30), dt.time(9, 45))


@pytest.fixture(params=["sqlite", "celery"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Through the API as users meet it: a result stored as JSON, and one a real Celery
    worker computed."""
    return request.param


@pytest.mark.slow
def test_api_result_and_report_of_times_and_offsets(client: TestClient) -> None:
    aware = ["2024-05-01T08:30:00+08:00", "2024-05-01T20:00:00-05:00", "2024-05-02T00:00:00Z"]
    clocks = ["08:30", "下午 5:45", "23:15:30"]
    body = "打卡,時刻\n" + "".join(f"{a},{c}\n" for a, c in zip(aware, clocks, strict=True))
    response = client.post(
        "/api/upload/stream", content=body.encode(), headers={"X-Filename": quote("打卡.csv")}
    )
    assert response.status_code == 202, response.text
    task = wait_for(client, response.json()["task_id"])
    assert task["status"] == "completed", task
    found = {c["name"]: c for c in task["result"]["tables"][0]["columns"]}
    moments = [dt.datetime.fromisoformat(cell).astimezone(UTC) for cell in aware]
    times = [clock_of(cell) for cell in clocks]
    assert found["打卡"]["type"] == "datetime"
    assert (found["打卡"]["min"], found["打卡"]["max"]) == (
        min(moments).isoformat(),
        max(moments).isoformat(),
    )
    assert found["時刻"]["type"] == "time"
    assert (found["時刻"]["min"], found["時刻"]["max"]) == (
        min(times).isoformat(),
        max(times).isoformat(),
    )

    response = client.get(
        f"/api/task/{task['task_id']}/result", params={"format": "xlsx", "tz": "Asia/Taipei"}
    )
    assert response.status_code == 200, response.text
    stats = openpyxl.load_workbook(io.BytesIO(response.content))[STATS_SHEET]
    rows = {row[1]: row for row in stats.iter_rows(min_row=2, values_only=True)}
    taipei = ZoneInfo("Asia/Taipei")
    assert rows["打卡"][6] == min(moments).astimezone(taipei).replace(tzinfo=None)
    assert rows["時刻"][6:8] == (min(times), max(times))
