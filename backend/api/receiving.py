"""Streaming uploads: checked while they arrive, written once, under a generated name.

Both upload routes feed bytes into an `UploadSink`, which enforces the size limit on the
fly, sniffs the first bytes against the extension, writes to `<task_id><ext>.part` and
renames on success. Any failure removes the partial file.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import decode_rfc2231
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from backend.errors import AppError
from backend.files import clean_filename, format_character_names, partial_name

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

from backend.sniff import OLE2_MAGIC, ZIP_MAGIC, binary_label, text_label

if TYPE_CHECKING:  # python-multipart defines its callback table for type checkers only
    from python_multipart.multipart import MultipartCallbacks

MAX_FILENAME_CHARS = 255
WORKBOOK_EXTENSIONS = {
    ".xlsx": "Excel（.xlsx）活頁簿",
    ".xlsb": "Excel（.xlsb）活頁簿",
    ".xls": "Excel（.xls）活頁簿",
    ".ods": "OpenDocument（.ods）試算表",
}
SNIFF_BYTES = 8192
# Slack for the multipart envelope (boundaries, part headers) around the file itself.
MULTIPART_OVERHEAD = 64 * 1024

_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{i}" for p in ("COM", "LPT") for i in range(10)
}
_FORBIDDEN_CHARS = set('<>:"|?*')
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# One `;`-separated header part; a `;` inside a double-quoted string does not end it.
_HEADER_PART = re.compile(r'(?:"(?:[^"\\]|\\.|\\$)*(?:"|$)|[^;"])+', re.DOTALL)
# The two charsets RFC 8187 §3.2.1 requires recipients to support.
_EXT_CHARSETS = {"utf-8", "iso-8859-1"}
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _bad_name(reason: str) -> AppError:
    return AppError("invalid_filename", f"檔名不合法：{reason}。")


@dataclass(frozen=True)
class CheckedName:
    """An upload's file name as accepted: ``name`` is what is stored and shown (invisible
    format characters removed, see `backend.files.clean_filename`), ``extension`` its
    extension in lower case, ``notes`` the zh-TW sentences saying what was changed."""

    name: str
    extension: str
    notes: tuple[str, ...] = ()


def check_filename(name: str, allowed_extensions: list[str]) -> CheckedName:
    """Clean ``name`` and check it; raise invalid_filename or unsupported_file_type.

    Every check, the extension's included, sees the cleaned name, so 報價單 + U+202E + xcs.csv
    is the .csv file 報價單xcs.csv it really is, not the 報價單vsc.scx it shows as.
    """
    cleaned, removed = clean_filename(name or "")
    notes: tuple[str, ...] = ()
    if removed:
        what = f"看不見的格式字元 {format_character_names(removed)}"
        if not cleaned.strip():
            raise _bad_name(f"只有{what}，沒有可用的檔名")
        if not cleaned.rpartition(".")[0].strip() and "." in cleaned:
            raise _bad_name(f"去掉{what}後只剩副檔名「{cleaned}」")
        note = (
            f"檔名含有{what}，可能讓檔名顯示得與實際不同（例如副檔名被倒過來顯示），"
            f"已移除；檔案以「{cleaned}」儲存與下載。"
        )
        notes = (note,)
    extension = validate_filename(cleaned, allowed_extensions)
    return CheckedName(cleaned, extension, notes)


def validate_filename(name: str, allowed_extensions: list[str]) -> str:
    """Return the file's extension (lower case) or raise invalid_filename/unsupported_file_type.

    ``name`` is taken as it is: `check_filename` removes invisible format characters first.
    """
    name = unicodedata.normalize("NFC", name or "")
    if not name.strip():
        raise _bad_name("未提供檔名")
    if len(name) > MAX_FILENAME_CHARS:
        raise _bad_name(f"長度 {len(name)} 個字元，上限為 {MAX_FILENAME_CHARS}")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise _bad_name("含有控制字元（例如 NUL）")
    if "/" in name or "\\" in name or name.strip() in {".", ".."}:
        raise _bad_name("不可包含路徑（/、\\ 或 ..）")
    if _FORBIDDEN_CHARS & set(name):
        raise _bad_name('不可包含 < > : " | ? * 等字元')
    if name.endswith((".", " ")):
        raise _bad_name("不可以句點或空白結尾")
    if name.split(".", 1)[0].strip().upper() in _WINDOWS_RESERVED:
        raise _bad_name("使用了 Windows 保留名稱（如 CON、NUL、COM1）")
    extension = os.path.splitext(name)[1].lower()
    if extension not in allowed_extensions:
        shown = extension or "（無副檔名）"
        raise AppError(
            "unsupported_file_type",
            f"不支援 {shown} 檔案，允許的類型：{'、'.join(allowed_extensions)}。",
        )
    return extension


def sniff(head: bytes, extension: str) -> None:
    """Refuse content that plainly is not what the extension says. Any workbook container
    (zip or OLE2) passes under any workbook extension: the analysis reads it by content."""
    if extension in WORKBOOK_EXTENSIONS:
        if not head.startswith((ZIP_MAGIC, OLE2_MAGIC)):
            what = binary_label(head) or text_label(head)
            if what is None and head.strip():
                raise AppError(
                    "invalid_file_format",
                    f"這個檔案的內容是文字（例如 CSV），不是 {WORKBOOK_EXTENSIONS[extension]}；"
                    "若它是 CSV，請把副檔名改成 .csv 再上傳。",
                )
            shown = f"內容是 {what}，" if what else ""
            raise AppError(
                "invalid_file_format",
                f"這個檔案{shown}不是有效的 {WORKBOOK_EXTENSIONS[extension]}。",
            )
        return
    what = binary_label(head)
    if what:
        raise AppError(
            "invalid_file_format", f"檔案內容是 {what}，不是 {extension} 文字檔，請確認檔案。"
        )
    if extension == ".json":
        text = head.lstrip(b"\xef\xbb\xbf").lstrip()
        if head.startswith(_UTF16_BOMS):
            text = head[2:].replace(b"\x00", b"").lstrip()
        if text and text[:1] not in (b"[", b"{"):
            raise AppError("invalid_file_format", "檔案不是有效的 JSON：內容必須以 [ 或 { 開頭。")


def too_large(max_bytes: int) -> AppError:
    return AppError(
        "file_too_large", f"檔案超過上限 {max_bytes / 1024 / 1024:g} MB，請分割後再上傳。"
    )


class UploadSink:
    """Receives an upload's bytes; `commit()` makes the file visible, `discard()` removes it."""

    def __init__(self, upload_dir: Path, task_id: str, extension: str, max_bytes: int) -> None:
        self.extension = extension
        self.max_bytes = max_bytes
        self.path = upload_dir / f"{task_id}{extension}"
        self._partial = upload_dir / partial_name(task_id, extension)
        self._file = open(self._partial, "wb")  # noqa: SIM115 - closed in commit/discard
        self._head = b""
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise too_large(self.max_bytes)
        if len(self._head) < SNIFF_BYTES:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
            if len(self._head) >= SNIFF_BYTES:
                sniff(self._head, self.extension)
        self._file.write(chunk)
        self._digest.update(chunk)

    def sha256(self) -> str:
        """Hex digest of the bytes received (identifies a repeated upload)."""
        return self._digest.hexdigest()

    def commit(self) -> Path:
        if self.size == 0:
            raise AppError("empty_file")
        if len(self._head) < SNIFF_BYTES:  # a short file was not sniffed while it arrived
            sniff(self._head, self.extension)
        self._file.close()
        os.replace(self._partial, self.path)
        return self.path

    @contextmanager
    def discarded_on_error(self) -> Iterator[UploadSink]:
        """Remove the partial file if the block raises (anything, a cancel included)."""
        try:
            yield self
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        self._file.close()
        self._partial.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)


def declared_length(request: Request) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


def filename_from_header(request: Request) -> str:
    raw = request.headers.get("x-filename")
    if raw is None:
        raise AppError("invalid_filename", "請在 X-Filename 標頭提供檔名（URL 編碼的 UTF-8）。")
    try:
        return unquote(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise AppError("invalid_filename", "X-Filename 必須是 URL 編碼的 UTF-8 檔名。") from exc


async def body_chunks(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives, empty chunks skipped; a client that goes away
    mid-body raises upload_incomplete."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect as exc:
        raise AppError("upload_incomplete") from exc


async def receive_stream(request: Request, sink: UploadSink) -> None:
    """Raw body upload: every chunk goes straight to the sink (removed on any error)."""
    with sink.discarded_on_error():
        async for chunk in body_chunks(request):
            sink.write(chunk)


def _lower_keys(options: dict[bytes, bytes]) -> dict[bytes, bytes]:
    """Parameter names are case-insensitive (RFC 9110 §5.6.6)."""
    return {key.lower(): value for key, value in options.items()}


def part_filename(disposition: bytes) -> str:
    """The file name a multipart part's Content-Disposition gives, or "" when it gives none.

    RFC 7578 §4.2 names the file in the `filename` parameter; RFC 6266 §4.3 lets the
    RFC 8187 (formerly RFC 5987) extended `filename*` parameter carry a non-ASCII name, and
    when both are present `filename*` wins. A plain `filename` that some clients send
    percent-encoded is decoded as well (see `_plain_filename`). The installed
    python-multipart's `parse_options_header` drops every `name*` parameter, so
    `filename*` is taken from the raw header here.
    """
    header = disposition.decode("latin-1")  # header bytes, one character each
    for part in _HEADER_PART.findall(header):
        key, equals, value = part.partition("=")
        if equals and key.strip().lower() == "filename*":
            return _extended_filename(value.strip())
    _, options = parse_options_header(disposition)
    return _plain_filename(_lower_keys(options).get(b"filename", b""))


def _extended_filename(value: str) -> str:
    """Decode an RFC 8187 §3.2 ext-value: charset "'" [ language ] "'" value-chars."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]  # not allowed by the grammar, but unambiguous
    charset, _language, encoded = decode_rfc2231(value)
    if charset is None or not encoded.isascii() or _STRAY_PERCENT.search(encoded):
        raise _bad_name("filename* 格式錯誤，應為 UTF-8'' 加上 URL 編碼的檔名")
    if charset.lower() not in _EXT_CHARSETS:
        raise _bad_name(f"filename* 的字元集「{charset[:40]}」不支援，請使用 UTF-8 或 ISO-8859-1")
    try:
        return unquote(encoded, encoding=charset, errors="strict")
    except UnicodeDecodeError as exc:
        raise _bad_name(f"filename* 不是有效的 {charset} 編碼") from exc


def _plain_filename(raw: bytes) -> str:
    """A plain `filename` (RFC 7578 §4.2): UTF-8, or ASCII percent-encoding of a UTF-8 name.

    Decoding happens only when the name is ASCII, contains %XX escapes and decodes to valid
    UTF-8 with at least one non-ASCII character, so literal names such as `100%.csv` or
    `sale%50.csv` stay as they are.
    """
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AppError("invalid_filename", "檔名必須是 UTF-8 編碼。") from exc
    if name.isascii() and _PERCENT_ESCAPE.search(name):
        try:
            decoded = unquote(name, encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            return name  # not percent-encoded UTF-8: a literal name
        if not decoded.isascii():
            return decoded
    return name


SinkFactory = Callable[[str], UploadSink]  # extension -> sink


class _MultipartFile:
    """Finds the `file` part of a multipart body and streams its data into a sink."""

    def __init__(self, make_sink: SinkFactory, allowed_extensions: list[str]) -> None:
        self._make_sink = make_sink
        self._allowed = allowed_extensions
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._current: UploadSink | None = None
        self.sink: UploadSink | None = None
        self.checked: CheckedName | None = None
        self.finished = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._add("_header_field", data[start:end]),
            "on_header_value": lambda data, start, end: self._add("_header_value", data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _add(self, attr: str, data: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + data)

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        if _lower_keys(options).get(b"name") != b"file" or self.sink is not None:
            self._current = None  # other fields are ignored
            return
        name = part_filename(disposition)
        if not name:  # browsers send filename="" when no file was chosen
            raise AppError("missing_file")
        self.checked = check_filename(name, self._allowed)
        self.sink = self._current = self._make_sink(self.checked.extension)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current is not None:
            self._current.write(data[start:end])

    def _part_end(self) -> None:
        self._current = None

    def _end(self) -> None:
        self.finished = True


async def receive_multipart(
    request: Request, make_sink: SinkFactory, allowed_extensions: list[str]
) -> tuple[CheckedName, UploadSink]:
    """Multipart upload parsed as it streams: the file is written once, never spooled.
    Returns the file's checked name (see `check_filename`) and the sink holding it."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise AppError("missing_file", "請以 multipart/form-data 格式上傳，檔案放在 file 欄位。")
    target = _MultipartFile(make_sink, allowed_extensions)
    parser = MultipartParser(boundary, target.callbacks())
    try:
        try:
            async for chunk in body_chunks(request):
                parser.write(chunk)
        except AppError:
            raise
        except Exception as exc:  # the parser's own errors: a malformed body
            raise AppError("upload_incomplete", "multipart 內容格式錯誤，請重新上傳。") from exc
        if target.sink is None or target.checked is None:
            raise AppError("missing_file")
        if not target.finished:
            raise AppError("upload_incomplete")
    except AppError:
        if target.sink is not None:
            target.sink.discard()
        raise
    return target.checked, target.sink
