"""Upload validation: every bad input is refused with its code, and nothing is left behind."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.backend.conftest import assert_problem, wait_for

CSV = "品名,數量,單價\n許功蓋,3,12.5\n".encode()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def stream(client: TestClient, name: str, body: bytes, **headers: str):
    return client.post(
        "/api/upload/stream", content=body, headers={"X-Filename": quote(name), **headers}
    )


def multipart(client: TestClient, name: str, body: bytes):
    """Built by hand so the file name reaches the server byte for byte (httpx escapes some)."""
    return multipart_with(client, f'filename="{name}"', body)


def multipart_with(client: TestClient, filename_params: str, body: bytes):
    """A multipart upload whose Content-Disposition ends with `filename_params` verbatim."""
    boundary = "----TestBoundary7MA4YWxkTrZu0gW"
    payload = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; {filename_params}\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + body
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        "/api/upload",
        content=payload,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )


def assert_nothing_left(client: TestClient, upload_dir: Path) -> None:
    assert client.get("/api/tasks").json()["total"] == 0
    assert list(upload_dir.iterdir()) == [], list(upload_dir.iterdir())


@pytest.mark.parametrize("send", [stream, multipart])
def test_a_good_upload_creates_an_analyze_task(client: TestClient, upload_dir: Path, send) -> None:
    response = send(client, "報價單 2026.csv", CSV)
    assert response.status_code == 202, response.text
    task = response.json()
    assert task["kind"] == "analyze" and task["filename"] == "報價單 2026.csv"
    assert task["size_bytes"] == len(CSV)
    stored = list(upload_dir.iterdir())
    assert len(stored) == 1 and stored[0].name == f"{task['task_id']}.csv"
    assert stored[0].read_bytes() == CSV
    wait_for(client, task["task_id"])


BAD_NAMES = [
    ("../../etc/passwd.csv", "invalid_filename"),
    ("..\\..\\boot.csv", "invalid_filename"),
    ("a\x00b.csv", "invalid_filename"),
    ("CON.csv", "invalid_filename"),
    ("lpt1.txt", "invalid_filename"),
    ("x" * 1000 + ".csv", "invalid_filename"),
    ("報價單.csv.", "invalid_filename"),
    ("a<b>.csv", "invalid_filename"),
    ("", "invalid_filename"),
]


@pytest.mark.parametrize(("name", "code"), BAD_NAMES)
@pytest.mark.parametrize("send", [stream, multipart])
def test_bad_file_names(client: TestClient, upload_dir: Path, send, name: str, code: str) -> None:
    response = send(client, name, CSV)
    if send is multipart and name == "":
        assert_problem(response, 400, "missing_file")  # an empty name means no file was chosen
    else:
        assert_problem(response, 400, code)
    assert_nothing_left(client, upload_dir)
    assert not (upload_dir.parent.parent / "etc").exists()


@pytest.mark.parametrize("send", [stream, multipart])
@pytest.mark.parametrize("name", ["virus.exe", "report.pdf", "noextension", "data.CSV.zip"])
def test_wrong_extension(client: TestClient, upload_dir: Path, send, name: str) -> None:
    body = assert_problem(send(client, name, CSV), 415, "unsupported_file_type")
    assert ".csv" in body["detail"]
    assert_nothing_left(client, upload_dir)


def test_extension_check_is_case_insensitive(client: TestClient) -> None:
    assert stream(client, "DATA.CSV", CSV).status_code == 202


@pytest.mark.parametrize("send", [stream, multipart])
def test_empty_file(client: TestClient, upload_dir: Path, send) -> None:
    assert_problem(send(client, "空的.csv", b""), 400, "empty_file")
    assert_nothing_left(client, upload_dir)


@pytest.mark.parametrize("send", [stream, multipart])
def test_file_over_the_limit(make_client, upload_dir: Path, send) -> None:
    client = make_client(max_upload_mb=1)
    body = assert_problem(send(client, "big.csv", b"a,b\n" * 300_000), 413, "file_too_large")
    assert "1 MB" in body["detail"]
    assert_nothing_left(client, upload_dir)


def test_file_exactly_at_the_limit_is_accepted(make_client) -> None:
    client = make_client(max_upload_mb=1)
    body = b"a,b\n" + b"1,2\n" * (1024 * 1024 // 4 - 1)
    assert len(body) == 1024 * 1024
    assert stream(client, "edge.csv", body).status_code == 202


def test_oversize_stream_without_length_is_cut_off(make_client, upload_dir: Path) -> None:
    client = make_client(max_upload_mb=1)
    sent = []

    def chunks():
        for _ in range(64):
            sent.append(1)
            yield b"a" * 65536

    response = client.post("/api/upload/stream", content=chunks(), headers={"X-Filename": "x.csv"})
    assert_problem(response, 413, "file_too_large")
    assert_nothing_left(client, upload_dir)


@pytest.mark.parametrize("send", [stream, multipart])
@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("圖片.csv", PNG),
        ("壓縮.txt", b"PK\x03\x04" + b"\x00" * 100),
        ("binary.csv", b"abc\x00\x01\x02" * 100),
        ("not-excel.xlsx", CSV),
        ("not-json.json", b"hello, world"),
        ("old-excel.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100),
    ],
)
def test_content_that_is_not_what_the_extension_says(
    client: TestClient, upload_dir: Path, send, name: str, body: bytes
) -> None:
    assert_problem(send(client, name, body), 422, "invalid_file_format")
    assert_nothing_left(client, upload_dir)


@pytest.mark.parametrize("send", [stream, multipart])
@pytest.mark.parametrize(
    ("name", "body", "said"),
    [
        ("其實是CSV.xlsx", CSV, "副檔名改成 .csv"),  # the usual mistake: a renamed export
        ("圖片.xlsx", PNG, "內容是 PNG 圖片"),
        ("圖片.csv", PNG, "檔案內容是 PNG 圖片，不是 .csv"),
    ],
)
def test_a_refusal_says_what_the_content_is(
    client: TestClient, send, name: str, body: bytes, said: str
) -> None:
    problem = assert_problem(send(client, name, body), 422, "invalid_file_format")
    assert said in problem["detail"]


def test_utf16_text_with_bom_is_not_mistaken_for_binary(client: TestClient) -> None:
    body = "名稱\t數量\n許功蓋\t1\n".encode("utf-16")
    assert stream(client, "unicode.txt", body).status_code == 202


QUOTE_CSV = "%E5%A0%B1%E5%83%B9%E5%96%AE.csv"  # 報價單.csv, percent-encoded UTF-8


@pytest.mark.slow
@pytest.mark.parametrize(
    ("filename_params", "expected"),
    [
        (f"filename*=UTF-8''{QUOTE_CSV}", "報價單.csv"),
        (f"filename*=utf-8'zh-TW'{QUOTE_CSV}", "報價單.csv"),
        (f"filename=\"quote.csv\"; filename*=UTF-8''{QUOTE_CSV}", "報價單.csv"),
        (f"FILENAME*=UTF-8''{QUOTE_CSV}; filename=\"quote.csv\"", "報價單.csv"),
        (f'filename="{QUOTE_CSV}"', "報價單.csv"),
        ("filename*=ISO-8859-1''caf%E9%20cr%E8me.csv", "café crème.csv"),
        ("filename*=iso-8859-1'fr'na%EFve.csv", "naïve.csv"),
    ],
    ids=[
        "ext-only",
        "ext-language",
        "both-ext-last",
        "both-ext-first",
        "percent",
        "latin1",
        "latin1-language",
    ],
)
def test_multipart_extended_and_percent_encoded_names(
    client: TestClient, upload_dir: Path, filename_params: str, expected: str
) -> None:
    response = multipart_with(client, filename_params, CSV)
    assert response.status_code == 202, response.text
    task = response.json()
    assert task["filename"] == expected
    assert [p.name for p in upload_dir.iterdir()] == [f"{task['task_id']}.csv"]
    assert wait_for(client, task["task_id"])["filename"] == expected  # as the store recorded it


@pytest.mark.parametrize("name", ["100%.csv", "sale%50.csv", "%E5%A0.csv", "50%25 off.csv"])
def test_multipart_literal_percent_names_are_kept(client: TestClient, name: str) -> None:
    response = multipart(client, name, CSV)
    assert response.status_code == 202, response.text
    assert wait_for(client, response.json()["task_id"])["filename"] == name


@pytest.mark.parametrize(
    ("filename_params", "detail"),
    [
        (
            f"filename*={QUOTE_CSV}",
            "檔名不合法：filename* 格式錯誤，應為 UTF-8'' 加上 URL 編碼的檔名。",
        ),
        (
            "filename*=UTF-8''100%.csv",
            "檔名不合法：filename* 格式錯誤，應為 UTF-8'' 加上 URL 編碼的檔名。",
        ),
        (
            "filename*=Big5''%B3%F8%BB%F9.csv",
            "檔名不合法：filename* 的字元集「Big5」不支援，請使用 UTF-8 或 ISO-8859-1。",
        ),
        ("filename*=UTF-8''%FF%FE.csv", "檔名不合法：filename* 不是有效的 UTF-8 編碼。"),
        (
            "filename=\"ok.csv\"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd.csv",
            "檔名不合法：不可包含路徑（/、\\ 或 ..）。",
        ),
    ],
    ids=["no-charset", "stray-percent", "unknown-charset", "bad-utf8", "decoded-path"],
)
def test_multipart_malformed_extended_names_are_refused(
    client: TestClient, upload_dir: Path, filename_params: str, detail: str
) -> None:
    body = assert_problem(multipart_with(client, filename_params, CSV), 400, "invalid_filename")
    assert body["detail"] == detail
    assert_nothing_left(client, upload_dir)


def test_stream_without_filename_header(client: TestClient, upload_dir: Path) -> None:
    response = client.post("/api/upload/stream", content=CSV)
    body = assert_problem(response, 400, "invalid_filename")
    assert "X-Filename" in body["detail"]
    truncated_utf8 = client.post(
        "/api/upload/stream", content=CSV, headers={"X-Filename": "%E5%A0"}
    )
    assert_problem(truncated_utf8, 400, "invalid_filename")
    assert_nothing_left(client, upload_dir)


def test_multipart_without_a_file_field(client: TestClient, upload_dir: Path) -> None:
    assert_problem(client.post("/api/upload", data={"other": "x"}), 400, "missing_file")
    assert_problem(
        client.post("/api/upload", content=b"raw", headers={"content-type": "text/csv"}),
        400,
        "missing_file",
    )
    assert_nothing_left(client, upload_dir)


def test_truncated_multipart_body(client: TestClient, upload_dir: Path) -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\na,b\n1,2\n"  # no closing boundary
    )
    response = client.post(
        "/api/upload", content=body, headers={"content-type": "multipart/form-data; boundary=XyZ"}
    )
    assert_problem(response, 400, "upload_incomplete")
    assert_nothing_left(client, upload_dir)


def test_upload_needs_the_api_key(make_client, upload_dir: Path) -> None:
    client = make_client(api_key="k")
    assert_problem(stream(client, "a.csv", CSV), 401, "invalid_api_key")
    assert list(upload_dir.iterdir()) == []
