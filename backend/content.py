"""What a file's first bytes say it is: magic numbers and the text-or-binary verdict.

Shared by the upload check (API process) and the analysis (worker process), so both give
the same verdict on the same bytes. Pure functions, standard library only.
"""

from __future__ import annotations

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
