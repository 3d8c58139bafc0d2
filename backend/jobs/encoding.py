"""Text encoding detection for uploaded files, tuned for files from Excel on Taiwanese Windows.

Candidates, in order: a BOM (UTF-8, UTF-16, UTF-32), BOM-less UTF-16 (NUL-byte pattern),
UTF-8, then CP950 (Big5 with Microsoft's extensions such as 裏). The file is scanned chunk
by chunk: pure-ASCII chunks are skipped cheaply, so Chinese that only appears after the first
megabytes still decides the encoding; the scan stops after a few MB of non-ASCII evidence.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

from backend.jobs.context import JobError

SCAN_CHUNK = 1 << 20
NON_ASCII_EVIDENCE = 4 << 20  # bytes of non-ASCII chunks to decode before deciding

BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
]

MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "PNG 圖片"),
    (b"\xff\xd8\xff", "JPEG 圖片"),
    (b"GIF87a", "GIF 圖片"),
    (b"GIF89a", "GIF 圖片"),
    (b"%PDF", "PDF 文件"),
    (b"PK\x03\x04", "ZIP 壓縮檔（或 Excel .xlsx 檔）"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "舊版 Office 檔案（例如 .xls 或加密的 Excel 檔）"),
    (b"\x1f\x8b", "gzip 壓縮檔"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip 壓縮檔"),
    (b"Rar!\x1a\x07", "RAR 壓縮檔"),
]


EMPTY_FILE_MESSAGE = "檔案是空的，沒有任何資料。"


@dataclass(frozen=True)
class Encoding:
    codec: str  # Python codec for the bytes after the BOM
    name: str  # what the user is told
    bom_length: int


def detect_encoding(path: str, kind_label: str) -> Encoding:
    """Detect the text encoding of ``path`` or raise JobError (binary, undecodable, empty)."""
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
        if not head:
            raise JobError("empty_file", EMPTY_FILE_MESSAGE)
        found = _from_bom(head)
        if found:
            return found
        utf16 = _bomless_utf16(head)
        if utf16:
            return utf16
        _refuse_binary(head, kind_label)
        f.seek(0)
        return _utf8_or_cp950(f)


def _from_bom(head: bytes) -> Encoding | None:
    for bom, codec, name in BOMS:
        if head.startswith(bom):
            return Encoding(codec, name, len(bom))
    return None


def _bomless_utf16(head: bytes) -> Encoding | None:
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    even_zeros = sample[0::2].count(0) / (len(sample) / 2)
    odd_zeros = sample[1::2].count(0) / (len(sample) / 2)
    if odd_zeros > 0.3 and even_zeros < 0.05:
        return Encoding("utf-16-le", "utf-16-le", 0)
    if even_zeros > 0.3 and odd_zeros < 0.05:
        return Encoding("utf-16-be", "utf-16-be", 0)
    return None


def _refuse_binary(head: bytes, kind_label: str) -> None:
    for magic, label in MAGIC:
        if head.startswith(magic):
            raise JobError(
                "invalid_file_format",
                f"檔案內容看起來是{label}，不是{kind_label}，請確認上傳的檔案。",
            )
    if _looks_binary(head):
        raise JobError(
            "invalid_file_format", f"檔案內容是二進位資料，不是{kind_label}，請確認上傳的檔案。"
        )


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    controls = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13, 27))
    return controls > max(8, len(head) // 100)


def _utf8_or_cp950(f: io.BufferedReader) -> Encoding:
    # ASCII chunks are fed to the decoder too (its ASCII fast path is cheap) so that a
    # multi-byte sequence split between chunks is judged correctly.
    utf8 = codecs.getincrementaldecoder("utf-8")()
    evidence = 0
    first_non_ascii: int | None = None
    offset = 0
    try:
        while evidence < NON_ASCII_EVIDENCE:
            chunk = f.read(SCAN_CHUNK)
            if not chunk:
                utf8.decode(b"", final=True)
                break
            if not chunk.isascii():
                first_non_ascii = offset if first_non_ascii is None else first_non_ascii
                evidence += len(chunk)
            utf8.decode(chunk)
            offset += len(chunk)
        return Encoding("utf-8", "utf-8", 0)
    except UnicodeDecodeError:
        pass
    if first_non_ascii is not None and _decodes(f, first_non_ascii, "cp950"):
        return Encoding("cp950", "cp950", 0)
    raise JobError(
        "invalid_file_format",
        "無法辨識檔案的文字編碼（支援 UTF-8、UTF-16 與 Big5／CP950），"
        "請用 Excel 或記事本另存為 UTF-8 後再上傳。",
    )


def _decodes(f: io.BufferedReader, start: int, codec: str) -> bool:
    """Whether the bytes from ``start`` (just after ASCII, so aligned) decode for a while."""
    f.seek(start)
    decoder = codecs.getincrementaldecoder(codec)()
    read = 0
    while read < NON_ASCII_EVIDENCE:
        chunk = f.read(SCAN_CHUNK)
        if not chunk:
            break
        read += len(chunk)
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            return False
    try:
        decoder.decode(b"", final=not chunk)
    except UnicodeDecodeError:
        return False
    return True


class CountingReader(io.RawIOBase):
    """A raw binary file that skips the BOM and counts the bytes read, for byte progress.

    pyarrow reads it from its own threads; ``consumed`` is only ever read for progress, so a
    slightly stale value is harmless.
    """

    def __init__(self, path: str, skip: int = 0) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._file.seek(skip)
        self.size = max(os.path.getsize(path) - skip, 1)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._file.readinto(buffer)
        self.consumed += n
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self.consumed += len(data)
        return data

    def fraction(self) -> float:
        return min(self.consumed / self.size, 1.0)

    def close(self) -> None:
        self._file.close()
        super().close()


class DecodedText:
    """Decoded text chunks of a file, with the share of its bytes read so far."""

    def __init__(self, path: str, encoding: Encoding, chunk_size: int = 1 << 20) -> None:
        self.encoding = encoding
        self._raw = CountingReader(path, encoding.bom_length)
        self._chunk_size = chunk_size

    def fraction(self) -> float:
        return self._raw.fraction()

    def chunks(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding.codec)()
        position = self.encoding.bom_length
        try:
            while True:
                data = self._raw.read(self._chunk_size)
                try:
                    text = decoder.decode(data, final=not data)
                except UnicodeDecodeError as error:
                    raise undecodable(self.encoding, position + error.start) from None
                position += len(data)
                if text:
                    yield text
                if not data:
                    return
        finally:
            self._raw.close()


def undecodable(encoding: Encoding, position: int | None = None) -> JobError:
    where = f"在第 {position:,} 位元組附近" if position is not None else "中有內容"
    return JobError(
        "invalid_file_format",
        f"檔案{where}無法以 {encoding.name} 解碼，檔案可能損毀或混用了不同的編碼。"
        "請另存為 UTF-8 後再上傳。",
    )
