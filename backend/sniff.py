"""What a file's first bytes say it is: magic numbers and the text-or-binary verdict.

Shared by the upload check (API process) and the analysis (job process), so both give
the same verdict on the same bytes. Standard library only: pure functions of the first
bytes, and ``sniff_container``, which reads a zip's or an OLE2 file's directory to tell which
workbook (or other document) it holds.
"""

from __future__ import annotations

import mmap
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Self

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
    (b"MZ", "Windows 執行檔"),
    (b"\x7fELF", "執行檔"),
]
TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# Control bytes other than TAB, LF, FF, CR and ESC. Text may hold a few (a stray NUL from a
# broken export); binary formats are full of them.
_CONTROLS = bytes(c for c in range(32) if c not in (9, 10, 12, 13, 27))
MAX_CONTROL_SHARE = 0.01
MIN_CONTROLS = 8
MIN_LINE_EVIDENCE = 512  # bytes of UTF-16 after which a line break must have appeared


def magic_label(head: bytes) -> str | None:
    """What a known binary format's magic number says the file is (zh-TW), or None."""
    return next((label for magic, label in MAGIC if head.startswith(magic)), None)


def utf16_without_bom(head: bytes) -> str | None:
    """ "utf-16-le"/"utf-16-be" when every other byte is NUL, as in BOM-less UTF-16 text, and
    the text has lines (a longer head without any line break is binary that looks alike)."""
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    half = len(sample) / 2
    even_zeros = sample[0::2].count(0) / half
    odd_zeros = sample[1::2].count(0) / half
    if odd_zeros > 0.3 and even_zeros < 0.05:
        codec, newline = "utf-16-le", b"\n\x00"
    elif even_zeros > 0.3 and odd_zeros < 0.05:
        codec, newline = "utf-16-be", b"\x00\n"
    else:
        return None
    units = (sample[i : i + 2] for i in range(0, min(len(sample), 16384), 2))
    if len(sample) >= MIN_LINE_EVIDENCE and newline not in set(units):
        return None
    return codec


def control_bytes(data: bytes) -> int:
    """How many control bytes (NUL included) that text does not normally hold."""
    return len(data) - len(data.translate(None, _CONTROLS))


def binary_label(head: bytes) -> str | None:
    """Why ``head`` (the first KBs of a file) is not text, in zh-TW, or None if it is text.

    Decided by magic numbers and by the share of control bytes (more than 1 %, and at least
    8), never by a single byte: a text file with a stray NUL gets the same verdict wherever
    the NUL sits; the analysis removes such bytes and says so.
    """
    label = magic_label(head)
    if label:
        return label
    if head.startswith(TEXT_BOMS) or utf16_without_bom(head):
        return None
    if control_bytes(head) > max(MIN_CONTROLS, len(head) * MAX_CONTROL_SHARE):
        return "二進位資料"
    return None


# --- containers: what a workbook-like file really is ----------------------------------

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The workbook formats the analysis reads, by container content; the zh-TW name users read.
WORKBOOK_LABELS = {
    "xlsx": "Excel 活頁簿（.xlsx）",
    "xlsb": "Excel 二進位活頁簿（.xlsb）",
    "ods": "OpenDocument 試算表（.ods）",
    "xls": "舊版 Excel 活頁簿（.xls）",
}
# Other documents that come in the same containers, named so a refusal can say what they are.
_OTHER_ZIP_KINDS = [
    ("word/document.xml", "Word 文件（.docx）"),
    ("ppt/presentation.xml", "PowerPoint 簡報（.pptx）"),
]
_OTHER_OLE2_KINDS = [
    ("worddocument", "舊版 Word 文件（.doc）"),
    ("powerpoint document", "舊版 PowerPoint 簡報（.ppt）"),
]
_OPENDOCUMENT_KINDS = {
    "application/vnd.oasis.opendocument.text": "OpenDocument 文字文件（.odt）",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument 簡報（.odp）",
}
MAX_OLE2_DIRECTORY_SECTORS = 4096  # a real workbook's directory takes a few sectors


@dataclass(frozen=True)
class Container:
    """What a zip or OLE2 (Compound File Binary) file holds, judged by its members.

    ``kind``: "xlsx" | "xlsb" | "ods" | "xls" (readable workbooks), "encrypted" (an Office
    file protected by a password: OOXML packages are then OLE2 files with an
    ``EncryptedPackage`` stream, ODF packages have ``encryption-data`` in their manifest),
    "broken" (the container itself cannot be read) or "other"; ``label``: zh-TW name.
    """

    kind: str
    label: str


def sniff_container(path: str) -> Container | None:
    """The container ``path`` is (zip or OLE2, by magic number and members), or None when it
    is neither. Reads the zip central directory or the OLE2 directory only, never a whole
    member; standard library only (zip: ECMA-376 / OpenDocument 1.2 part 3; OLE2: [MS-CFB])."""
    with open(path, "rb") as f:
        head = f.read(len(OLE2_MAGIC))
    if head.startswith(ZIP_MAGIC):
        return _zip_container(path)
    if head == OLE2_MAGIC:
        return _ole2_container(path)
    return None


def _zip_container(path: str) -> Container:
    try:
        with zipfile.ZipFile(path) as archive:
            names = {info.filename for info in archive.infolist()}
            mimetype = ""
            if "mimetype" in names:
                mimetype = archive.read("mimetype")[:200].decode("ascii", "replace").strip()
            encrypted_odf = False
            if "META-INF/manifest.xml" in names:
                with archive.open("META-INF/manifest.xml") as manifest:
                    encrypted_odf = b"encryption-data" in manifest.read(4 << 20)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError,
            RuntimeError, EOFError, OSError, ValueError):  # fmt: skip
        return Container("broken", "ZIP 壓縮檔")
    if "xl/workbook.xml" in names:
        return Container("xlsx", WORKBOOK_LABELS["xlsx"])
    if "xl/workbook.bin" in names:
        return Container("xlsb", WORKBOOK_LABELS["xlsb"])
    if mimetype.startswith("application/vnd.oasis.opendocument.spreadsheet"):
        if encrypted_odf:
            return Container("encrypted", "受密碼保護的 OpenDocument 試算表")
        return Container("ods", WORKBOOK_LABELS["ods"])
    if mimetype in _OPENDOCUMENT_KINDS:
        return Container("other", _OPENDOCUMENT_KINDS[mimetype])
    for member, label in _OTHER_ZIP_KINDS:
        if member in names:
            return Container("other", label)
    if "content.xml" in names and not mimetype:  # an ODF package without its mimetype member
        return Container("ods", WORKBOOK_LABELS["ods"])
    return Container("other", "ZIP 壓縮檔")


def _ole2_container(path: str) -> Container:
    streams = ole2_streams(path)
    if streams is None:
        return Container("broken", "舊版 Office 檔案（OLE2）")
    names = {name.lower() for name in streams}
    if "encryptedpackage" in names:
        return Container("encrypted", "受密碼保護（加密）的 Excel 檔")
    if "workbook" in names or "book" in names:
        return Container("xls", WORKBOOK_LABELS["xls"])
    for stream, label in _OTHER_OLE2_KINDS:
        if stream in names:
            return Container("other", label)
    return Container("other", "舊版 Office 檔案（OLE2）")


@dataclass(frozen=True)
class Ole2Stream:
    """One stream of an OLE2 file: its first sector and size in bytes ([MS-CFB] 2.6)."""

    start: int
    size: int


class Ole2File:
    """A minimal, bounded reader of OLE2 (Compound File Binary) files: the directory and
    the bytes of a stream ([MS-CFB] 2.2-2.6). Raises ValueError on any inconsistency
    (chains that loop or leave the file, sizes beyond the file)."""

    def __init__(self, path: str) -> None:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size < 512:
                raise ValueError("not an OLE2 file")
            # Mapped, not read: only the directory and the streams asked for are touched.
            self._data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        data = self._data
        if data[: len(OLE2_MAGIC)] != OLE2_MAGIC:
            raise ValueError("not an OLE2 file")
        shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
        if shift not in (9, 12) or mini_shift != 6:
            raise ValueError("bad sector size")
        self.sector = 1 << shift
        self._sectors = (len(data) - 512) // self.sector + 1
        fat_count, directory_start = struct.unpack_from("<II", data, 0x2C)
        self._mini_cutoff, minifat_start, _, difat_start, difat_count = struct.unpack_from(
            "<IIIII", data, 0x38
        )
        difat = list(struct.unpack_from("<109I", data, 0x4C))
        sector, seen = difat_start, 0
        while sector < 0xFFFFFFFA and seen <= difat_count:
            block = self._sector(sector)
            entries = struct.unpack_from(f"<{self.sector // 4}I", block)
            difat += entries[:-1]
            sector, seen = entries[-1], seen + 1
        fat_sectors = [s for s in difat if s < 0xFFFFFFFA][:fat_count]
        self._fat: list[int] = []
        for s in fat_sectors:
            self._fat += struct.unpack_from(f"<{self.sector // 4}I", self._sector(s))
        self.streams: dict[str, Ole2Stream] = {}
        directory = self._chain_bytes(directory_start, limit=MAX_OLE2_DIRECTORY_SECTORS)
        root: Ole2Stream | None = None
        for offset in range(0, len(directory) - 127, 128):
            entry = directory[offset : offset + 128]
            length, kind = struct.unpack_from("<HB", entry, 0x40)
            if kind not in (2, 5) or not 2 <= length <= 64:
                continue
            name = entry[: length - 2].decode("utf-16-le", "replace")
            start, size = struct.unpack_from("<IQ", entry, 0x74)
            size = size & 0xFFFFFFFF if self.sector == 512 else size
            if size > len(data):
                raise ValueError("stream larger than the file")
            if kind == 5:
                root = Ole2Stream(start, size)
            else:
                self.streams.setdefault(name, Ole2Stream(start, size))
        self._mini_stream = b""
        self._minifat: list[int] = []
        if root is not None and root.size:
            self._mini_stream = self._chain_bytes(root.start)[: root.size]
            minifat = self._chain_bytes(minifat_start) if minifat_start < 0xFFFFFFFA else b""
            self._minifat = list(struct.unpack_from(f"<{len(minifat) // 4}I", minifat))

    def close(self) -> None:
        self._data.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sector(self, index: int) -> bytes:
        if index >= self._sectors - 1 and 512 + (index + 1) * self.sector > len(self._data):
            raise ValueError("sector beyond the end of the file")
        start = 512 + index * self.sector
        return self._data[start : start + self.sector]

    def _chain_bytes(self, start: int, limit: int | None = None) -> bytes:
        parts, sector, seen = [], start, 0
        while sector < 0xFFFFFFFA:
            seen += 1
            if seen > min(limit or self._sectors, self._sectors) or sector >= len(self._fat):
                raise ValueError("sector chain loops or leaves the file")
            parts.append(self._sector(sector))
            sector = self._fat[sector]
        return b"".join(parts)

    def read(self, name: str) -> bytes:
        """The bytes of stream ``name`` (KeyError when there is none)."""
        stream = self.streams[name]
        if stream.size >= self._mini_cutoff:
            return self._chain_bytes(stream.start)[: stream.size]
        parts: list[bytes] = []
        sector, seen = stream.start, 0
        while sector < 0xFFFFFFFA and len(parts) * 64 < stream.size:
            seen += 1
            if seen > len(self._minifat) or sector >= len(self._minifat):
                raise ValueError("mini sector chain loops or leaves the stream")
            parts.append(self._mini_stream[sector * 64 : sector * 64 + 64])
            sector = self._minifat[sector]
        data = b"".join(parts)[: stream.size]
        if len(data) < stream.size:
            raise ValueError("stream shorter than its size")
        return data


def ole2_streams(path: str) -> dict[str, Ole2Stream] | None:
    """The streams of an OLE2 file by name, or None when its structure is broken."""
    try:
        with Ole2File(path) as ole2:
            return ole2.streams
    except (ValueError, struct.error, OSError):
        return None


def text_label(head: bytes) -> str | None:
    """What text that is not a table is, in zh-TW: HTML pages and Excel 2003 XML
    spreadsheets, which many systems export under an .xls name; None for other text."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:4096].lower()
    if text.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")) or (
        text.startswith(b"<") and b"<html" in text
    ):
        return "HTML 網頁（許多系統匯出的「.xls」其實是網頁）"
    if text.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in text:
        return "Excel 2003 XML 試算表"
    return None
