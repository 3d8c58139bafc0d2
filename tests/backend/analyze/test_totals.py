"""Total, subtotal, note and footer rows: left out of every statistic, listed with their line.

Each test builds report-style files of one kind in several variants (label word and width,
where the label is, encoding, what follows the table) and checks the figures against those
computed from the data rows alone with Python's statistics module.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
from pathlib import Path

import openpyxl
import pytest

from tests.backend.analyze.test_real_world_files import analyze, columns

LABELS = [
    ("合計", "total"), ("小計", "subtotal"), ("總計", "total"), ("總和", "total"),
    ("共計", "total"), ("累計", "total"), ("Total", "total"), ("TOTAL", "total"),
    ("Grand total", "total"), ("Subtotal", "subtotal"), ("ＴＯＴＡＬ", "total"),
    ("合　計", "total"), ("合計：", "total"), (" 合 計 ", "total"), ("總計:", "total"),
]  # fmt: skip


def sales(n: int, seed: int = 0) -> list[tuple[str, str, int, int]]:
    rng = random.Random(seed)
    return [
        (
            f"113/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}",
            rng.choice(["台北店", "台中店", "高雄店"]),
            rng.randint(1, 9),
            rng.randint(100, 5000),
        )
        for _ in range(n)
    ]


@pytest.mark.parametrize(("label", "reason"), LABELS)
@pytest.mark.parametrize("where", [0, 1])  # the label under the date or under the store
def test_labelled_total_row_is_left_out(
    tmp_path: Path, label: str, reason: str, where: int
) -> None:
    data = sales(50)
    quantity, amount = sum(r[2] for r in data), sum(r[3] for r in data)
    total = ["", "", str(quantity), str(amount)]
    total[where] = label
    lines = ["日期,門市,數量,金額", *(",".join(map(str, r)) for r in data), ",".join(total)]
    result = analyze(tmp_path, "\r\n".join(lines) + "\r\n", "sales.csv", "cp950")
    table = result["tables"][0]
    cols = columns(result)
    assert table["rows"] == 50
    assert cols["日期"]["type"] == "date"
    assert cols["金額"]["max"] == max(r[3] for r in data)
    assert cols["金額"]["mean"] == pytest.approx(statistics.mean(r[3] for r in data))
    assert cols["數量"]["mean"] == pytest.approx(statistics.mean(r[2] for r in data))
    assert table["excluded_rows"] == [{"line": 52, "reason": reason}]
    note = next(w for w in table["warnings"] if "第 52 行" in w)
    assert "相符" in note and "50 列" in note
    top = dict(map(tuple, cols["門市"]["top"]))
    assert label.strip() not in top and sum(top.values()) == 50


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp950"])
@pytest.mark.parametrize(
    "after",
    [
        ["備註：金額含稅"],
        ["", "備註：金額含稅"],
        ["資料來源：公司 ERP 系統"],
        ["※ 金額單位：新台幣元"],
        ["", "製表人：王小明", "列印日期：113/12/01"],
    ],
)
def test_total_row_and_lines_under_the_table(
    tmp_path: Path, encoding: str, after: list[str]
) -> None:
    """The 合計 row and the notes under it are left out; the ROC date column stays dates."""
    data = sales(50, seed=1)
    amount = sum(r[3] for r in data)
    lines = ["日期,門市,數量,金額", *(",".join(map(str, r)) for r in data)]
    lines.append(f"合計,,{sum(r[2] for r in data)},{amount}")
    lines += after
    result = analyze(tmp_path, "\r\n".join(lines) + "\r\n", "report.csv", encoding)
    table = result["tables"][0]
    cols = columns(result)
    assert table["rows"] == 50
    assert cols["日期"]["type"] == "date"
    dates = sorted(dt.date(int(d[:3]) + 1911, int(d[4:6]), int(d[7:])) for d, *_ in data)
    assert cols["日期"]["min"] == dates[0].isoformat()
    assert cols["日期"]["max"] == dates[-1].isoformat()
    assert cols["金額"]["mean"] == pytest.approx(amount / 50)
    note_lines = [53 + i for i, text in enumerate(after) if text]
    expected = [{"line": 52, "reason": "total"}] + [
        {"line": line, "reason": "note" if after[line - 53][:1] in "備※" else "footer"}
        for line in note_lines
    ]
    assert table["excluded_rows"] == expected
    for line in note_lines:
        assert any(f"第 {line} 行" in w and "不是資料" in w for w in table["warnings"])
    assert not any("仍計入資料" in w for w in table["warnings"])


@pytest.mark.parametrize("sections", [2, 3, 5])
def test_subtotals_inside_and_a_grand_total(tmp_path: Path, sections: int) -> None:
    rng = random.Random(sections)
    lines = ["區域,門市,數量,金額"]
    data: list[tuple[int, int]] = []
    expected = []
    for s in range(sections):
        part = [(rng.randint(1, 20), rng.randint(100, 9000)) for _ in range(rng.randint(2, 6))]
        lines += [f"區{s},店{i},{q},{a}" for i, (q, a) in enumerate(part)]
        lines.append(f"小計,,{sum(q for q, _ in part)},{sum(a for _, a in part)}")
        expected.append({"line": len(lines), "reason": "subtotal"})
        data += part
    lines.append(f"總計,,{sum(q for q, _ in data)},{sum(a for _, a in data)}")
    expected.append({"line": len(lines), "reason": "total"})
    result = analyze(tmp_path, "\n".join(lines) + "\n", "areas.csv")
    table = result["tables"][0]
    cols = columns(result)
    assert table["rows"] == len(data)
    assert cols["金額"]["mean"] == pytest.approx(statistics.mean(a for _, a in data))
    assert cols["金額"]["max"] == max(a for _, a in data)
    assert cols["數量"]["std"] == pytest.approx(statistics.stdev(q for q, _ in data))
    assert table["excluded_rows"] == expected
    assert sum("相符" in w for w in table["warnings"]) == sections + 1


def test_a_labelled_total_that_does_not_add_up_says_so(tmp_path: Path) -> None:
    text = "品項,數量,金額\n甲,1,100\n乙,2,200\n丙,3,300\n合計,6,650\n"
    table = analyze(tmp_path, text, "wrong.csv")["tables"][0]
    assert table["rows"] == 3 and table["excluded_rows"] == [{"line": 5, "reason": "total"}]
    note = next(w for w in table["warnings"] if "第 5 行" in w)
    assert "「數量」與上方 3 列的加總相符" in note
    assert "「金額」" in note and "不符" in note and "650" in note and "600" in note


@pytest.mark.parametrize("label_column", ["", "門市"])
def test_unlabelled_total_row_by_its_figures(tmp_path: Path, label_column: str) -> None:
    """A last row whose label is blank and whose figures are the sums of the rows above."""
    data = [("台北", 3, 1500.5), ("台中", 2, 990.25), ("高雄", 7, 4210.75), ("花蓮", 1, 80.0)]
    head = f"{label_column or '門市'},數量,金額"
    rows = [f"{s},{q},{a}" for s, q, a in data]
    total = f",{sum(q for _, q, _ in data)},{sum(a for *_, a in data)}"
    table = analyze(tmp_path, "\n".join([head, *rows, total]) + "\n", "u.csv")["tables"][0]
    cols = columns({"tables": [table]})
    assert table["rows"] == 4 and table["excluded_rows"] == [{"line": 6, "reason": "total"}]
    assert cols["金額"]["max"] == 4210.75
    assert cols["金額"]["mean"] == pytest.approx(statistics.mean(a for *_, a in data))


@pytest.mark.parametrize(
    "text",
    [
        # a month sequence and a running total: 1 + 2 = 3 and 10 + 20 = 30, yet data
        "月,數量,累計\n1,10,10\n2,20,30\n3,30,60\n4,5,65\n",
        # words that contain a label but are data
        "項目,金額\n合計表,100\n累計營收成長率,200\n小計算機,300\n",
        # a last row with one cell filled that fits its column
        "姓名,分數,備註\n小明,90,\n小華,85,\n小美,,\n",
        # equal rows: the third is not the sum of the first two (label cell filled)
        "名,a,b\nx,1,1\ny,1,1\nz,2,2\n",
    ],
)
def test_rows_that_are_data(tmp_path: Path, text: str) -> None:
    table = analyze(tmp_path, text, "data.csv")["tables"][0]
    assert table["excluded_rows"] == []
    assert table["rows"] == text.count("\n") - 1


def test_total_row_in_an_excel_sheet(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "銷售"
    sheet.append(["2024 年銷售報表"])
    sheet.append([])
    sheet.append(["日期", "門市", "數量", "金額"])
    data = [(dt.date(2024, 1, i + 1), f"店{i % 3}", i + 1, (i + 1) * 125.5) for i in range(30)]
    for row in data:
        sheet.append(list(row))
    sheet.append(["合計", None, "=SUM(C4:C33)", "=SUM(D4:D33)"])
    sheet["C34"].value = sum(r[2] for r in data)  # openpyxl stores no computed values
    sheet["D34"].value = sum(r[3] for r in data)
    sheet.append([])
    sheet.append(["備註：金額含稅"])
    path = tmp_path / "r.xlsx"
    workbook.save(path)
    result = analyze(tmp_path, path.read_bytes(), "report.xlsx")
    table = result["tables"][0]
    cols = columns(result)
    assert table["rows"] == 30 and cols["日期"]["type"] == "date"
    assert cols["金額"]["mean"] == pytest.approx(statistics.mean(r[3] for r in data))
    assert table["excluded_rows"] == [
        {"line": 34, "reason": "total"},
        {"line": 36, "reason": "note"},
    ]
    assert any("第 34 列" in w and "相符" in w for w in table["warnings"])


@pytest.mark.parametrize("layout", ["array", "object", "lines"])
def test_total_record_in_json(tmp_path: Path, layout: str) -> None:
    records = [{"門市": f"店{i}", "金額": 100 * (i + 1)} for i in range(4)]
    records.append({"門市": "合計", "金額": sum(r["金額"] for r in records)})
    if layout == "lines":
        text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
        line = 5
    else:
        body = ",\n".join(json.dumps(r, ensure_ascii=False) for r in records)
        text = f"[\n{body}\n]\n" if layout == "array" else f'{{"data": [\n{body}\n]}}\n'
        line = 6
    result = analyze(tmp_path, text, "sales.json")
    table = result["tables"][0]
    assert table["rows"] == 4 and columns(result)["金額"]["mean"] == 250
    assert table["excluded_rows"] == [{"line": line, "reason": "total"}]


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("合計(含稅)", "total"), ("合計（含稅）", "total"), ("小計（北區）", "subtotal"),
        ("總計(元)", "total"), ("合計 (A+B)", "total"), ("台北小計", "subtotal"),
        ("北區 小計", "subtotal"), ("5月份合計", "total"), ("本月合計", "total"),
        ("合計 NT$", "total"), ("合計：4筆", "total"), ("【合計】", "total"),
    ],
)  # fmt: skip
def test_labels_with_words_around_them(tmp_path: Path, label: str, reason: str) -> None:
    """A remark after the word (含稅 makes the figures differ from the sum) or a name
    before it (台北小計) is still a label; a tax-inclusive total cannot be found by sums."""
    amounts = [45000, 5000, 12000, 4500]
    rows = [f"113/01/0{i + 1},北,品{i},{a}" for i, a in enumerate(amounts)]
    text = "\n".join(["日期,地區,品項,金額", *rows, f"{label},,,{round(sum(amounts) * 1.05)}"])
    table = analyze(tmp_path, text + "\n", "tax.csv")["tables"][0]
    cols = columns({"tables": [table]})
    assert table["rows"] == 4 and table["excluded_rows"] == [{"line": 6, "reason": reason}]
    assert cols["金額"]["max"] == 45000 and cols["金額"]["mean"] == statistics.mean(amounts)


def test_subtotals_named_by_their_section_and_month_totals(tmp_path: Path) -> None:
    text = (
        "日期,地區,品項,金額\n113/01/01,台北,a,45000\n113/01/02,台北,b,5000\n,台北小計,,50000\n"
        "113/01/03,高雄,c,12000\n113/01/04,高雄,d,4500\n,高雄小計,,16500\n,總計,,66500\n"
    )
    table = analyze(tmp_path, text, "areas.csv")["tables"][0]
    assert table["rows"] == 4 and columns({"tables": [table]})["金額"]["mean"] == 16625
    assert table["excluded_rows"] == [
        {"line": 4, "reason": "subtotal"},
        {"line": 7, "reason": "subtotal"},
        {"line": 8, "reason": "total"},
    ]
    assert sum("相符" in w for w in table["warnings"]) == 3
    months = (
        "月份,品項,金額\n1月,a,10\n1月,b,20\n1月合計,,30\n2月,a,5\n2月,b,5\n2月合計,,10\n總計,,40\n"
    )
    table = analyze(tmp_path, months, "months.csv")["tables"][0]
    assert table["rows"] == 4 and columns({"tables": [table]})["金額"]["mean"] == 10
    reasons = [row["reason"] for row in table["excluded_rows"]]
    assert reasons == ["subtotal", "subtotal", "total"]
    assert not any("不符" in w for w in table["warnings"])


@pytest.mark.parametrize(
    "text",
    [
        # the same unit price: 陳美玲's 2, 160 is the sum of the two rows above, yet data
        "姓名,數量,金額,備註\n王小明,1,80,不要辣\n李大華,1,80,加飯\n陳美玲,2,160,\n林志強,1,80,少飯\n",
        # the last employee with two cells filled, one of them text in a date column
        (
            "姓名,到職日,分機,薪資,部門,職稱\n王,113/01/01,12,50000,業務,專員\n"
            "李,113/02/01,13,52000,行政,專員\n陳美玲,待確認,,,,\n"
        ),
    ],
)
def test_data_rows_that_look_like_totals_or_footers(tmp_path: Path, text: str) -> None:
    table = analyze(tmp_path, text, "data.csv")["tables"][0]
    assert table["excluded_rows"] == [] and table["rows"] == text.count("\n") - 1


@pytest.mark.parametrize("label", ["累計", "合計", "小計"])
def test_a_label_used_as_a_category_is_data(tmp_path: Path, label: str) -> None:
    """Long format (當月 and 累計 rows by month): the label is a category value."""
    amounts = [(100, 100), (150, 250), (120, 370), (90, 460)]
    rows = [f"{m + 1},{kind},{value}" for m, pair in enumerate(amounts)
            for kind, value in zip(("當月", label), pair, strict=True)]  # fmt: skip
    result = analyze(tmp_path, "月份,類型,金額\n" + "\n".join(rows) + "\n", "long.csv")
    table = result["tables"][0]
    values = [value for pair in amounts for value in pair]
    assert table["rows"] == 8 and table["excluded_rows"] == []
    assert columns(result)["金額"]["mean"] == pytest.approx(statistics.mean(values))
    assert any(f"「{label}」出現 4 次" in w for w in table["warnings"])
