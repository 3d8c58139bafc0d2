"""Every closed vocabulary the API speaks, in one place, with the zh-TW label users read.

Clients get all of it from `GET /api/vocabulary`, so no label is copied by hand: task
statuses and kinds, error codes (from `backend.errors`), text encodings, file formats,
column types, delimiters and the display formats numbers and dates were written in. A value
the backend can send without a label here is a bug (the tests check the encodings, formats
and types the analysis produces). No web framework and no heavy library here: job
processes and the analysis import it.
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    """A task's lifecycle: pending → processing → one final state."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


STATUS_LABELS = {
    TaskStatus.PENDING: "等待中",
    TaskStatus.PROCESSING: "處理中",
    TaskStatus.COMPLETED: "已完成",
    TaskStatus.FAILED: "失敗",
    TaskStatus.CANCELLED: "已取消",
}

KIND_LABELS = {"analyze": "檔案分析", "process": "長時間處理"}

STORE_LABELS = {
    "memory": "記憶體（後端重新啟動後清空）",
    "sqlite": "SQLite 資料庫",
    "redis": "Redis（多台機器共用）",
}

RUNNER_LABELS = {"local": "本機（API 行程內）", "celery": "Celery worker"}

FILE_FORMAT_LABELS = {
    "csv": "CSV",
    "tsv": "TSV（Tab 分隔）",
    "txt": "文字檔",
    "json": "JSON",
    "xlsx": "Excel（.xlsx）",
    "xlsb": "Excel 二進位活頁簿（.xlsb）",
    "xls": "舊版 Excel（.xls）",
    "ods": "OpenDocument 試算表（.ods）",
}

COLUMN_TYPE_LABELS = {
    "integer": "整數",
    "float": "小數",
    "date": "日期",
    "datetime": "日期時間",
    "time": "時間",
    "boolean": "是/否（布林）",
    "text": "文字",
}

# The `encoding` an analysis result reports: Python codec names, "-sig"/"-le"/"-be" kept.
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8（含 BOM）",
    "utf-16": "UTF-16（Unicode 文字）",
    "utf-16-le": "UTF-16 LE（Unicode 文字，無 BOM）",
    "utf-16-be": "UTF-16 BE（無 BOM）",
    "utf-32": "UTF-32",
    "cp950": "Big5（CP950）",
    "big5hkscs": "Big5-HKSCS（香港增補字符集）",
    "gb18030": "簡體中文 GB18030／GBK",
    "cp932": "日文 Shift-JIS（CP932）",
    "euc_jp": "日文 EUC-JP",
    "cp949": "韓文 CP949",
    "cp1252": "西歐語系 Windows-1252",
    "cp1250": "中歐語系 Windows-1250",
    "cp1251": "斯拉夫語系 Windows-1251",
    "cp1253": "希臘文 Windows-1253",
    "iso8859_7": "希臘文 ISO-8859-7",
    "koi8_r": "俄文 KOI8-R",
    "koi8_u": "烏克蘭文 KOI8-U",
    "cp866": "俄文 DOS（CP866）",
    "iso8859_5": "斯拉夫語系 ISO-8859-5",
    "cp1256": "阿拉伯文 Windows-1256",
    "iso8859_6": "阿拉伯文 ISO-8859-6",
    "cp1255": "希伯來文 Windows-1255",
    "iso8859_8": "希伯來文 ISO-8859-8",
    "cp874": "泰文（CP874／TIS-620）",
    "cp1254": "土耳其文 Windows-1254",
    "iso8859_9": "土耳其文 ISO-8859-9",
    "cp1257": "波羅的海語系 Windows-1257",
    "cp1258": "越南文 Windows-1258",
    "iso8859_2": "中歐語系 ISO-8859-2",
    "iso8859_15": "西歐語系 ISO-8859-15",
    "mac_roman": "Mac 西歐語系（Mac Roman）",
}

DELIMITER_LABELS = {
    ",": "逗號（,）",
    ";": "分號（;）",
    "\t": "定位字元（Tab）",
    "|": "直線（|）",
    ":": "冒號（:）",
    "#": "井字號（#）",
    "^": "插入符號（^）",
    "~": "波浪號（~）",
    " ": "空白",
    "\x1f": "（單一欄位）",
}

# How a column's numbers or dates were written (a column's `formats`).
VALUE_FORMAT_LABELS = {
    "thousands": "千分位",
    "percent": "百分比",
    "currency": "貨幣",
    "accounting": "會計負數",
    "fullwidth": "全形",
    "stored_as_text": "以文字儲存",
    "roc": "民國年",
    "gregorian": "西元年",
    "utc_offset": "時區已換算為 UTC",
}


# Invisible format characters (Unicode general category Cf) that file names lose, by code
# point, for the zh-TW note saying so; others are named only by their U+XXXX.
FORMAT_CHARACTER_LABELS = {
    0x00AD: "軟連字號",
    0x061C: "阿拉伯字母標記",
    0x200B: "零寬空格",
    0x200C: "零寬不連字",
    0x200D: "零寬連字",
    0x200E: "由左至右標記",
    0x200F: "由右至左標記",
    0x202A: "由左至右嵌入",
    0x202B: "由右至左嵌入",
    0x202C: "結束方向格式",
    0x202D: "由左至右覆寫",
    0x202E: "由右至左覆寫",
    0x2060: "字連接符",
    0x2061: "隱形函數符號",
    0x2062: "隱形乘號",
    0x2063: "隱形分隔號",
    0x2064: "隱形加號",
    0x2066: "由左至右隔離",
    0x2067: "由右至左隔離",
    0x2068: "第一強字元隔離",
    0x2069: "結束方向隔離",
    0xFEFF: "零寬不換行空格（BOM）",
}


def vocabulary() -> dict[str, dict[str, object]]:
    """Every vocabulary as ``{name: {value: label}}``; errors as ``{code: {status, title,
    detail}}``."""
    from backend.errors import ERRORS, TASK_ONLY_CODES

    return {
        "statuses": {status.value: label for status, label in STATUS_LABELS.items()},
        "kinds": dict(KIND_LABELS),
        "stores": dict(STORE_LABELS),
        "runners": dict(RUNNER_LABELS),
        "errors": {
            code: {
                "status": spec.status,
                "title": spec.title,
                "detail": spec.detail,
                "task_only": code in TASK_ONLY_CODES,
            }
            for code, spec in ERRORS.items()
        },
        "encodings": dict(ENCODING_LABELS),
        "file_formats": dict(FILE_FORMAT_LABELS),
        "column_types": dict(COLUMN_TYPE_LABELS),
        "delimiters": dict(DELIMITER_LABELS),
        "value_formats": dict(VALUE_FORMAT_LABELS),
    }
