"""Upload bodies for the soak test: valid files of each format, and hostile requests.

Sizes assume MAX_UPLOAD_MB=1: valid files stay under it, "too large" ones go over it.
"""

from __future__ import annotations

import contextlib
import io
import random
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import openpyxl

from tests.backend.filegen import sample_frame

LIMIT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Payload:
    filename: str
    body: bytes


def _xlsx(rows: int, seed: int) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    frame = sample_frame(rows, seed)
    sheet.append(frame.columns)
    for row in frame.iter_rows():
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def valid_payloads(seed: int) -> list[Payload]:
    """Files the upload routes accept; the last two fail in the analysis (a failed task)."""
    payloads = [
        Payload("報價單.csv", sample_frame(1500, seed).write_csv().encode()),
        Payload("訂單-大.csv", sample_frame(12_000, seed + 1).write_csv().encode()),
        Payload("big5.csv", sample_frame(3000, seed + 2).write_csv().encode("cp950")),
        Payload("分頁.txt", sample_frame(2500, seed + 3).write_csv(separator="\t").encode()),
        Payload("records.json", sample_frame(800, seed + 4).write_json().encode()),
        Payload("notes.txt", "這是一段文字，用來測試純文字分析。\n".encode() * 2000),
        Payload("book.xlsx", _xlsx(600, seed + 5)),
        Payload("broken.json", b'{"a": [1, 2, {"b": '),
        Payload("corrupt.xlsx", b"PK\x03\x04" + random.Random(seed).randbytes(5000)),
    ]
    assert all(0 < len(p.body) < LIMIT_BYTES - 64 * 1024 for p in payloads)
    return payloads


@dataclass(frozen=True)
class Hostile:
    """A refused upload: the request to send and the problem code it must get back."""

    name: str
    path: str
    code: str
    request: Callable[[], dict[str, Any]]  # keyword arguments for requests.post


MULTIPART = "/api/upload"
STREAM = "/api/upload/stream"
_TOO_LARGE = b"id,value\n" + b"1,2\n" * (LIMIT_BYTES // 4 + 50_000)
_GARBAGE = random.Random(7).randbytes(20_000)
_PNG = b"\x89PNG\r\n\x1a\n" + random.Random(8).randbytes(4000)


def _file(filename: str, body: bytes) -> Callable[[], dict[str, Any]]:
    return lambda: {"files": {"file": (filename, body)}}


def _raw_multipart(disposition: str, body: bytes, close: bool = True) -> Callable[[], dict]:
    data = f"--B\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + body
    if close:
        data += b"\r\n--B--\r\n"
    return lambda: {"data": data, "headers": {"Content-Type": "multipart/form-data; boundary=B"}}


def _stream(filename: str | None, body: bytes, chunked: bool = False) -> Callable[[], dict]:
    def build() -> dict[str, Any]:
        headers = {} if filename is None else {"X-Filename": filename}
        data: bytes | Iterator[bytes] = body
        if chunked:  # no Content-Length: the limit is found while the body arrives
            data = (body[i : i + 65536] for i in range(0, len(body), 65536))
        return {"data": data, "headers": headers}

    return build


HOSTILE = [
    Hostile("empty", MULTIPART, "empty_file", _file("empty.csv", b"")),
    Hostile("wrong extension", MULTIPART, "unsupported_file_type", _file("setup.exe", b"MZ\x90")),
    Hostile("no extension", MULTIPART, "unsupported_file_type", _file("README", b"text")),
    Hostile("too large", MULTIPART, "file_too_large", _file("big.csv", _TOO_LARGE)),
    Hostile("path traversal", MULTIPART, "invalid_filename", _file("../../etc/x.csv", b"a\n1\n")),
    Hostile("backslash path", MULTIPART, "invalid_filename", _file("..\\..\\x.csv", b"a\n1\n")),
    Hostile("reserved name", MULTIPART, "invalid_filename", _file("CON.csv", b"a\n1\n")),
    Hostile("long name", MULTIPART, "invalid_filename", _file("x" * 300 + ".csv", b"a\n1\n")),
    Hostile("garbage .csv", MULTIPART, "invalid_file_format", _file("data.csv", _GARBAGE)),
    Hostile("png .csv", MULTIPART, "invalid_file_format", _file("photo.csv", _PNG)),
    Hostile("csv .xlsx", MULTIPART, "invalid_file_format", _file("t.xlsx", b"a,b\n1,2\n")),
    Hostile("text .json", MULTIPART, "invalid_file_format", _file("t.json", b"hello")),
    Hostile(
        "no file field",
        MULTIPART,
        "missing_file",
        lambda: {"files": {"other": ("a.csv", b"a\n1\n")}},
    ),
    Hostile("empty filename", MULTIPART, "missing_file", _file("", b"a\n1\n")),
    Hostile(
        "truncated multipart",
        MULTIPART,
        "upload_incomplete",
        _raw_multipart('form-data; name="file"; filename="a.csv"', b"a\n1\n", close=False),
    ),
    Hostile(
        "filename* charset",
        MULTIPART,
        "invalid_filename",
        _raw_multipart("form-data; name=\"file\"; filename*=KOI8-R''a.csv", b"a\n1\n"),
    ),
    Hostile(
        "filename* NUL",
        MULTIPART,
        "invalid_filename",
        _raw_multipart("form-data; name=\"file\"; filename*=UTF-8''a%00b.csv", b"a\n1\n"),
    ),
    Hostile("stream empty", STREAM, "empty_file", _stream("empty.csv", b"")),
    Hostile("stream no name", STREAM, "invalid_filename", _stream(None, b"a\n1\n")),
    Hostile("stream bad UTF-8 name", STREAM, "invalid_filename", _stream("%FF%FE.csv", b"a\n1\n")),
    Hostile(
        "stream traversal",
        STREAM,
        "invalid_filename",
        _stream("..%2F..%2Fetc%2Fpasswd.csv", b"a\n1\n"),
    ),
    Hostile("stream NUL name", STREAM, "invalid_filename", _stream("a%00.csv", b"a\n1\n")),
    Hostile("stream wrong extension", STREAM, "unsupported_file_type", _stream("a.sh", b"ls\n")),
    Hostile("stream too large", STREAM, "file_too_large", _stream("big.csv", _TOO_LARGE)),
    Hostile(
        "stream too large chunked",
        STREAM,
        "file_too_large",
        _stream("big.csv", _TOO_LARGE, chunked=True),
    ),
    Hostile("stream garbage .csv", STREAM, "invalid_file_format", _stream("d.csv", _GARBAGE)),
]


def abort_upload(host: str, port: int, path: str, rng: random.Random) -> None:
    """Send the head and part of a body that announces more, then hang up: the server
    must drop the partial file."""
    length = 900_000  # under the limit, so the server starts reading
    if path == STREAM:
        head = f"X-Filename: cut.csv\r\nContent-Length: {length}\r\n"
        first = b"a,b\n" * 25_000
    else:
        head = f"Content-Type: multipart/form-data; boundary=B\r\nContent-Length: {length}\r\n"
        first = b'--B\r\nContent-Disposition: form-data; name="file"; filename="cut.csv"\r\n\r\n'
        first += b"a,b\n" * 25_000
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{head}\r\n".encode() + first)
        sock.settimeout(rng.uniform(0.05, 0.3))
        with contextlib.suppress(TimeoutError):  # a short wait: the server begins writing the file
            sock.recv(1)
