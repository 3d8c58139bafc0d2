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
    boundary = "----TestBoundary7MA4YWxkTrZu0gW"
    payload = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
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


def test_utf16_text_with_bom_is_not_mistaken_for_binary(client: TestClient) -> None:
    body = "名稱\t數量\n許功蓋\t1\n".encode("utf-16")
    assert stream(client, "unicode.txt", body).status_code == 202


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
