"""OpenDocument (.ods), legacy Excel (.xls) and binary Excel (.xlsb) workbooks, and workbooks
whose content is not what their extension says.

.ods files are written here by hand (an OpenDocument package is a zip of XML), .xlsb files
by tests/backend/xlsb_writer.py, password-protected workbooks by
tests/backend/encrypted_workbooks.py, all at test time; .xls files come from
tests/backend/analyze/fixtures (see its README). Expected values are the ones written into the
files, never what the reader under test returns.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import statistics
import struct
import zipfile
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

import openpyxl
import pytest
from fastapi.testclient import TestClient

from backend.api.receiving import sniff
from backend.errors import AppError
from backend.jobs.analyze import analyze_file, extent
from backend.jobs.analyze.xlsx import MAX_CELLS
from backend.jobs.context import JobError, RecordingContext
from tests.backend import encrypted_workbooks
from tests.backend.conftest import wait_for
from tests.backend.xlsb_writer import record, write_xlsb

FIXTURES = Path(__file__).parent / "fixtures"

# What make_xls_fixtures.py wrote into report.xls, and write_ods below into report .ods files.
REPORT_TITLE = "113年5月銷售月報"
REPORT_HEADER = ["品名", "數量", "單價", "日期"]
REPORT_ROWS = [
    ("茶", 3, 12.5, dt.date(2024, 5, 1)),
    ("咖啡", 5, 40.25, dt.date(2024, 5, 9)),
    ("許功蓋", 7, 8.0, dt.date(2024, 5, 31)),
    ("裏見", 10, 99.75, dt.date(2024, 6, 2)),
]
STAFF = [("王小明", 3), ("陳美玲", 5), ("林志豪", 10)]


def analyze(path: Path, filename: str) -> dict:
    result = analyze_file(RecordingContext(), str(path), filename)
    json.dumps(result, allow_nan=False)
    return result


def refused(path: Path, filename: str) -> JobError:
    with pytest.raises(JobError) as caught:
        analyze_file(RecordingContext(), str(path), filename)
    assert caught.value.message and not caught.value.message.isascii()  # zh-TW for users
    assert "可能已損毀" not in caught.value.message
    return caught.value


def columns(table: dict) -> dict[str, dict]:
    return {c["name"]: c for c in table["columns"]}


# --- writing .ods by hand ---------------------------------------------------------------

OFFICE = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"'
)
MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def ods_cell(value: object) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, bool):
        flag = "true" if value else "false"
        return (
            f'<table:table-cell office:value-type="boolean" office:boolean-value="{flag}">'
            f"<text:p>{flag.upper()}</text:p></table:table-cell>"
        )
    if isinstance(value, (int, float)):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value!r}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    if isinstance(value, dt.date):
        return (
            f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}">'
            f"<text:p>{value.isoformat()}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p>'
        "</table:table-cell>"
    )


def ods_table(name: str, rows: list[list[object]], tail: str = "") -> str:
    body = "".join(
        "<table:table-row>" + "".join(ods_cell(v) for v in row) + "</table:table-row>"
        for row in rows
    )
    # As LibreOffice saves: the empty rest of the sheet as one repeated empty row.
    empty_rest = (
        '<table:table-row table:number-rows-repeated="1048000">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    return (
        f'<table:table table:name="{escape(name)}">'
        '<table:table-column table:number-columns-repeated="1024"/>'
        f"{body}{tail}{empty_rest}</table:table>"
    )


def write_ods(path: Path, tables: list[str], prolog: str = "") -> Path:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<office:document-content {OFFICE}>'
        f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )  # stored, first: as the OpenDocument package format requires
        archive.writestr("META-INF/manifest.xml", MANIFEST)
        archive.writestr("content.xml", content)
    return path


def report_ods(path: Path) -> Path:
    report = [[REPORT_TITLE], [], REPORT_HEADER, *[list(row) for row in REPORT_ROWS]]
    staff = [["姓名", "年資"], *[list(row) for row in STAFF]]
    return write_ods(
        path, [ods_table("月報", report), ods_table("員工", staff), ods_table("空白", [])]
    )


def report_xlsb(path: Path) -> Path:
    report = [[REPORT_TITLE], [], REPORT_HEADER, *[list(row) for row in REPORT_ROWS]]
    staff = [["姓名", "年資"], *[list(row) for row in STAFF]]
    return write_xlsb(path, {"月報": report, "員工": staff, "空白": []})


def report_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "月報"
    for row in [[REPORT_TITLE], [], REPORT_HEADER, *[list(row) for row in REPORT_ROWS]]:
        sheet.append(row)
    staff = book.create_sheet("員工")
    for row in [["姓名", "年資"], *[list(row) for row in STAFF]]:
        staff.append(row)
    book.create_sheet("空白")
    book.save(path)
    return path


def assert_report(result: dict) -> None:
    """The two tables of the report workbook, with the values written into it."""
    assert [t["name"] for t in result["tables"]] == ["月報", "員工"]
    report, staff = result["tables"]
    cols = columns(report)
    assert list(cols) == REPORT_HEADER and report["rows"] == len(REPORT_ROWS)
    quantities = [row[1] for row in REPORT_ROWS]
    prices = [row[2] for row in REPORT_ROWS]
    days = [row[3] for row in REPORT_ROWS]
    assert cols["數量"]["type"] == "integer"
    assert (cols["數量"]["min"], cols["數量"]["max"]) == (min(quantities), max(quantities))
    assert cols["數量"]["mean"] == pytest.approx(statistics.mean(quantities))
    assert cols["單價"]["type"] == "float"
    assert cols["單價"]["mean"] == pytest.approx(statistics.mean(prices))
    assert cols["單價"]["std"] == pytest.approx(statistics.stdev(prices), rel=1e-6)
    assert cols["日期"]["type"] == "date"
    assert (cols["日期"]["min"], cols["日期"]["max"]) == (
        min(days).isoformat(), max(days).isoformat()
    )  # fmt: skip
    assert sorted(v for v, _ in cols["品名"]["top"]) == sorted(row[0] for row in REPORT_ROWS)
    first = report["preview"][0]
    assert (first["品名"], first["數量"]) == REPORT_ROWS[0][:2]
    staff_cols = columns(staff)
    assert staff["rows"] == len(STAFF)
    assert staff_cols["年資"]["mean"] == pytest.approx(statistics.mean(y for _, y in STAFF))
    warnings = " ".join(result["warnings"])
    assert "標題" in warnings and "第 3 列" in warnings  # the title row above the header
    assert "工作表「空白」沒有資料" in warnings


# --- reading each format ----------------------------------------------------------------


@pytest.mark.parametrize("stored_as", ["upload.bin", "upload.ods"])
def test_ods_report_with_title_rows_dates_and_several_sheets(
    tmp_path: Path, stored_as: str
) -> None:
    path = report_ods(tmp_path / stored_as)
    result = analyze(path, "月報.ods")
    assert result["format"] == "ods" and result["encoding"] is None
    assert_report(result)
    assert not any("副檔名" in w for w in result["warnings"])


@pytest.mark.parametrize("stored_as", ["upload.bin", "upload.xls"])
def test_xls_report_with_title_rows_dates_and_several_sheets(
    tmp_path: Path, stored_as: str
) -> None:
    path = tmp_path / stored_as
    shutil.copy(FIXTURES / "report.xls", path)
    result = analyze(path, "月報.xls")
    assert result["format"] == "xls"
    assert_report(result)


@pytest.mark.parametrize("stored_as", ["upload.bin", "upload.xlsb"])
def test_xlsb_report_with_title_rows_dates_and_several_sheets(
    tmp_path: Path, stored_as: str
) -> None:
    path = report_xlsb(tmp_path / stored_as)
    result = analyze(path, "月報.xlsb")
    assert result["format"] == "xlsb" and result["encoding"] is None
    assert_report(result)
    assert not any("副檔名" in w for w in result["warnings"])


def test_xlsb_shared_strings_booleans_and_large_integers(tmp_path: Path) -> None:
    # Repeated text is written as shared strings (BrtCellIsst), 2**40 as a BrtCellReal.
    rows = [
        ["代號", "合格", "件數"],
        ["甲", True, 2**40],
        ["乙", False, 3],
        ["甲", True, -7],
    ]
    path = write_xlsb(tmp_path / "upload.xlsb", {"檢驗": rows})
    table = analyze(path, "檢驗.xlsb")["tables"][0]
    cols = columns(table)
    assert table["rows"] == 3 and cols["合格"]["type"] == "boolean"
    assert dict(cols["代號"]["top"]) == {"甲": 2, "乙": 1}
    assert (cols["件數"]["min"], cols["件數"]["max"]) == (-7, 2**40)


def test_ods_hidden_text_numbers_and_booleans(tmp_path: Path) -> None:
    rows = [
        ["代號", "合格", "備註"],
        ["A01", True, "甲"],
        ["A02", False, None],
        ["A03", True, "乙"],
    ]
    path = write_ods(tmp_path / "upload.bin", [ods_table("檢驗", rows)])
    table = analyze(path, "檢驗.ods")["tables"][0]
    cols = columns(table)
    assert table["rows"] == 3 and cols["合格"]["type"] == "boolean"
    assert cols["備註"]["nulls"] == 1
    assert sorted(v for v, _ in cols["代號"]["top"]) == ["A01", "A02", "A03"]


# --- content that is not what the extension says ---------------------------------------


def xlsx_with_far_cell(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "資料"
    for row in (["名稱", "數量"], ["甲", 1], ["乙", 2]):
        sheet.append(row)
    sheet["XFD1048576"] = " "
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("make", "filename", "real", "label"),
    [
        (report_ods, "月報.xlsx", "ods", "OpenDocument 試算表"),
        (report_ods, "月報.xls", "ods", "OpenDocument 試算表"),
        (lambda p: shutil.copy(FIXTURES / "report.xls", p), "月報.xlsx", "xls", "舊版 Excel"),
        (lambda p: shutil.copy(FIXTURES / "report.xls", p), "月報.ods", "xls", "舊版 Excel"),
        (report_xlsx, "月報.xls", "xlsx", "Excel 活頁簿（.xlsx）"),
        (report_xlsx, "月報.ods", "xlsx", "Excel 活頁簿（.xlsx）"),
        (report_xlsb, "月報.xlsx", "xlsb", "Excel 二進位活頁簿（.xlsb）"),
        (report_xlsb, "月報.xls", "xlsb", "Excel 二進位活頁簿（.xlsb）"),
    ],
)
def test_a_renamed_workbook_is_read_by_its_content_and_said(
    tmp_path: Path, make, filename: str, real: str, label: str
) -> None:
    # Stored under the extension it was uploaded with, as the upload routes do.
    path = tmp_path / f"upload{Path(filename).suffix}"
    make(path)
    result = analyze(path, filename)
    assert result["format"] == real
    assert_report(result)
    extension = Path(filename).suffix
    assert any(
        f"副檔名是 {extension}" in w and label in w and "已依實際格式讀取" in w
        for w in result["warnings"]
    )


def test_an_xlsx_with_a_far_cell_renamed_xls_is_read_in_bounded_memory(tmp_path: Path) -> None:
    path = xlsx_with_far_cell(tmp_path / "upload.xls")
    result = analyze(path, "s.xls")
    table = result["tables"][0]
    assert result["format"] == "xlsx" and table["rows"] == 2
    assert columns(table)["數量"]["mean"] == 1.5
    assert any("XFD1048576" in w for w in result["warnings"])


PDF = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256)) * 8
)
HTML = "<html><head><meta charset='utf-8'></head><body><table><tr><td>品名</td></tr></table>"


def docx(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")


@pytest.mark.parametrize(
    ("body", "filename", "said"),
    [
        ("品名,數量\n茶,3\n".encode(), "其實是CSV.xlsx", "文字（例如 CSV）"),
        ("品名\t數量\n茶\t3\n".encode("cp950"), "匯出.xls", "文字（例如 CSV）"),
        (PDF, "報表.xls", "PDF 文件"),
        (PDF, "報表.ods", "PDF 文件"),
        (HTML.encode(), "網銀匯出.xls", "HTML 網頁"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "圖片.xlsb", "PNG 圖片"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "壞掉.xls", "已損毀"),
        (b"PK\x03\x04" + b"\x00" * 200, "壞掉.ods", "已損毀"),
    ],
)
def test_what_is_not_a_workbook_is_refused_naming_what_it_is(
    tmp_path: Path, body: bytes, filename: str, said: str
) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(body)
    error = refused(path, filename)
    assert error.code == "invalid_file_format" and said in error.message


def test_a_word_document_renamed_xlsx_is_named(tmp_path: Path) -> None:
    path = tmp_path / "upload.xlsx"
    docx(path)
    error = refused(path, "報告.xlsx")
    assert "Word 文件" in error.message


def encrypted_xlsx(path: Path) -> None:
    encrypted_workbooks.encrypt_ooxml(report_xlsx(path.with_name("plain.xlsx")), path)


def encrypted_xlsb(path: Path) -> None:
    encrypted_workbooks.encrypt_ooxml(report_xlsb(path.with_name("plain.xlsb")), path)


def encrypted_ods(path: Path) -> None:
    report_ods(path.with_name("plain.ods"))
    with zipfile.ZipFile(path.with_name("plain.ods")) as plain:
        content = plain.read("content.xml").decode()
    encrypted_workbooks.encrypted_ods(path, content)


def encrypted_xls(path: Path) -> None:
    stream, *_ = encrypted_workbooks.encrypted_xls_stream()
    encrypted_workbooks.write_cfb(path, "Workbook", stream)


@pytest.mark.parametrize(
    ("make", "filename"),
    [
        (encrypted_xls, "p.xls"),
        (encrypted_xlsx, "p.xlsx"),
        (encrypted_xlsb, "p.xlsb"),
        (encrypted_ods, "p.ods"),
        (encrypted_xlsx, "p.xls"),  # renamed as well
        (encrypted_xlsb, "p.xlsx"),
    ],
)
def test_password_protected_workbooks_are_refused_clearly(
    tmp_path: Path, make, filename: str
) -> None:
    path = tmp_path / "upload.bin"
    make(path)
    error = refused(path, filename)
    assert error.code == "invalid_file_format" and "受密碼保護" in error.message


@pytest.mark.slow
def test_the_encrypted_fixtures_are_what_msoffcrypto_calls_encrypted(tmp_path: Path) -> None:
    # An independent reader: msoffcrypto-tool opens each as encrypted, accepts the password
    # (the .xls's RC4 verifier, the .xlsx's Agile one) and refuses another one.
    import msoffcrypto

    for make, name in [(encrypted_xls, "p.xls"), (encrypted_xlsx, "p.xlsx")]:
        path = tmp_path / name
        make(path)
        verify = {"verify_password": True} if name.endswith(".xlsx") else {}  # .xls: always
        with open(path, "rb") as f:
            office = msoffcrypto.OfficeFile(f)
            assert office.is_encrypted()
            office.load_key(password=encrypted_workbooks.PASSWORD, **verify)
            with pytest.raises(msoffcrypto.exceptions.InvalidKeyError):
                office.load_key(password="wrong", **verify)
    plain, decrypted = tmp_path / "plain.xlsx", tmp_path / "decrypted.xlsx"
    with open(tmp_path / "p.xlsx", "rb") as f, open(decrypted, "wb") as out:
        office = msoffcrypto.OfficeFile(f)
        office.load_key(password=encrypted_workbooks.PASSWORD)
        office.decrypt(out)
    assert decrypted.read_bytes() == plain.read_bytes()


# --- corrupt files and bombs ------------------------------------------------------------


@pytest.mark.parametrize("name", ["report.xls", "report.ods"])
def test_truncated_workbooks(tmp_path: Path, name: str) -> None:
    whole = tmp_path / name
    if name.endswith(".ods"):
        report_ods(whole)
    else:
        shutil.copy(FIXTURES / name, whole)
    data = whole.read_bytes()
    cut = tmp_path / "upload.bin"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(JobError) as caught:
        analyze_file(RecordingContext(), str(cut), name)
    assert caught.value.code == "invalid_file_format" and "損毀" in caught.value.message


def test_ods_without_content_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("styles.xml", "<styles/>")
    error = refused(path, "x.ods")
    assert "OpenDocument 試算表" in error.message and "損毀" in error.message


def test_ods_entity_bomb_is_refused(tmp_path: Path) -> None:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    prolog = '<!DOCTYPE lolz [<!ENTITY lol0 "lol">' + lol + "]>"
    path = write_ods(tmp_path / "upload.bin", [ods_table("表", [["a"], ["&lol9;"]])], prolog)
    error = refused(path, "bomb.ods")
    assert "DTD" in error.message


@pytest.mark.slow
def test_ods_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = report_ods(tmp_path / "upload.bin")
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("Pictures/huge.xml", "w") as huge,
    ):
        for _ in range(200):
            huge.write(b" " * (1 << 20))
    assert path.stat().st_size < 1_000_000
    assert "壓縮" in refused(path, "bomb.ods").message


def test_ods_repeated_rows_of_values_are_refused_before_loading(tmp_path: Path) -> None:
    # 1,000,000 repeated rows of 100 repeated values: 10^8 cells from a few hundred bytes.
    bomb = (
        '<table:table-row table:number-rows-repeated="1000000">'
        '<table:table-cell table:number-columns-repeated="100" office:value-type="float" '
        'office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>'
    )
    path = write_ods(tmp_path / "upload.bin", [ods_table("表", [["a"]], tail=bomb)])
    assert extent.ods_extents(str(path)) == [1_000_001 * 100]
    error = refused(path, "bomb.ods")
    assert "範圍過大" in error.message and f"{1_000_001 * 100:,}" in error.message


def test_ods_repeated_empty_rows_do_not_count(tmp_path: Path) -> None:
    path = report_ods(tmp_path / "upload.bin")
    report_cells = (3 + len(REPORT_ROWS)) * len(REPORT_HEADER)
    assert extent.ods_extents(str(path)) == [report_cells, (1 + len(STAFF)) * 2, 0]


def test_xls_whose_ranges_exceed_the_limit_is_refused_before_loading() -> None:
    # far-cells.xls: two sheets, each with values in A1 and IV65536.
    path = FIXTURES / "far-cells.xls"
    assert extent.xls_extents(str(path)) == [65536 * 256, 65536 * 256]
    assert MAX_CELLS < 2 * 65536 * 256
    error = refused(path, "far.xls")
    assert "範圍過大" in error.message and f"{2 * 65536 * 256:,}" in error.message


def test_xlsb_far_cell_is_refused_before_loading(tmp_path: Path) -> None:
    def row(index: int) -> bytes:
        return record(0x0000, struct.pack("<I", index) + b"\x00" * 13)

    def number(column: int) -> bytes:  # BrtCellReal: column, style, value
        return record(0x0005, struct.pack("<IId", column, 0, 1.0))

    sheet = row(0) + number(0) + row(1_048_575) + number(16_383)
    path = tmp_path / "upload.bin"
    with (
        zipfile.ZipFile(report_xlsb(tmp_path / "report.xlsb")) as old,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            data = sheet if info.filename == "xl/worksheets/sheet1.bin" else old.read(info)
            new.writestr(info, data)
    assert extent.xlsb_extents(str(path))["xl/worksheets/sheet1.bin"] == 1_048_576 * 16_384
    error = refused(path, "far.xlsb")
    assert "範圍過大" in error.message


# --- the upload check -------------------------------------------------------------------


@pytest.mark.parametrize("extension", [".xlsx", ".xls", ".xlsb", ".ods"])
@pytest.mark.parametrize(
    "head", [b"PK\x03\x04" + b"\x00" * 100, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]
)
def test_the_upload_check_lets_any_workbook_container_through(extension: str, head: bytes) -> None:
    sniff(head, extension)  # the analysis decides by content; no AppError here


@pytest.mark.parametrize(
    ("extension", "head", "said"),
    [
        (".xls", "品名\t數量\n茶\t3\n".encode(), "文字（例如 CSV）"),
        (".ods", "品名,數量\n".encode(), "OpenDocument（.ods）試算表"),
        (".xls", HTML.encode(), "HTML 網頁"),
        (".xls", PDF, "PDF 文件"),
    ],
)
def test_the_upload_check_names_what_is_not_a_workbook(
    extension: str, head: bytes, said: str
) -> None:
    with pytest.raises(AppError) as caught:
        sniff(head, extension)
    assert caught.value.code == "invalid_file_format" and said in caught.value.detail


@pytest.mark.parametrize("store_kind", ["memory"])
def test_ods_and_xls_uploads_are_analysed(client: TestClient, tmp_path: Path) -> None:
    config = client.get("/api/config").json()
    assert {".ods", ".xls", ".xlsb"} <= set(config["allowed_extensions"])
    bodies = {
        "月報.ods": report_ods(tmp_path / "r.ods").read_bytes(),
        "月報.xls": (FIXTURES / "report.xls").read_bytes(),
        "其實是ods.xlsx": (tmp_path / "r.ods").read_bytes(),
    }
    for name, body in bodies.items():
        response = client.post(
            "/api/upload/stream", content=body, headers={"X-Filename": quote(name)}
        )
        assert response.status_code == 202, response.text
        task = wait_for(client, response.json()["task_id"])
        assert task["status"] == "completed", task
        assert [t["name"] for t in task["result"]["tables"]] == ["月報", "員工"]
