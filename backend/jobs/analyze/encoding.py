"""Text encodings of uploaded files, tuned for files from Excel on Taiwanese Windows.

Detection (``detect_encoding``), in order:

1. a BOM: UTF-8, UTF-16, UTF-32; BOM-less UTF-16 by its NUL-byte pattern;
2. binary content refused by magic number or by the share of control bytes
   (``backend.sniff.binary_label``); a few stray NUL bytes are text, removed later;
3. UTF-8, checked strictly chunk by chunk (pure-ASCII chunks are cheap, so Chinese that
   only appears after the first megabytes still decides);
4. CP950 (Big5 with Microsoft's extensions such as 裏), the encoding of our users' Excel,
   whenever the bytes read as Traditional Chinese (``backend.jobs.analyze.big5``): however
   short the file or few its Chinese words, end-user-defined characters (造字) allowed.
   Only when the characters could as well be EUC or Latin text does charset-normalizer
   choose between those and Big5;
   Big5-HKSCS (Hong Kong) when the pairs CP950 cannot decode are several and all Hong Kong
   characters (``_big5``): read as Windows reads such a file, CP950 with the HKSCS
   characters for the pairs CP950 lacks;
5. otherwise the guess of charset-normalizer (a well-kept detector that comes with requests)
   among the legacy encodings suppliers abroad send: GB18030/GBK, Shift-JIS (CP932), CP949,
   Windows-1252/1250/1251, then other single-byte ones. A guess is reported to the user
   with a warning.

Decoding never fails on a bad byte: Big5 end-user-defined characters map to the Unicode
private-use area as Windows does (Microsoft code page 950 EUDC ranges: FA40-FEFE ->
U+E000-U+E310, 8E40-A0FE -> U+E311-U+EEB7, 8140-8DFE -> U+EEB8-U+F6B0, C6A1-C8FE ->
U+F6B1-U+F848); any other undecodable byte becomes U+FFFD. Both are counted, and the
analysis warns with the count and the first line.
"""

from __future__ import annotations

import codecs
import io
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from backend.jobs.analyze.big5 import read_big5, undecodable_pairs
from backend.jobs.context import JobError
from backend.sniff import binary_label, utf16_without_bom
from backend.vocabulary import ENCODING_LABELS

SCAN_CHUNK = 1 << 20
NON_ASCII_EVIDENCE = 4 << 20  # bytes of non-ASCII chunks to decode before deciding
GUESS_SAMPLE = 256 << 10  # bytes charset-normalizer looks at
# Undecodable CP950 characters tolerated before the file is rather not CP950 at all.
MAX_CP950_ERROR_SHARE = 0.01
MIN_CP950_ERRORS = 5  # a small file may hold a few 造字 among few characters
# The name of the codec error handler registered below (`_replace`), given as `errors=` to
# every decode: not an error table.
DECODE_ERROR_HANDLER = "analyze-replace"

BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
]
# charset-normalizer's candidates, and the codec we decode each with.
GUESSES = {
    "cp950": "cp950", "big5": "cp950", "big5hkscs": "cp950",
    "gb18030": "gb18030", "gb2312": "gb18030", "gbk": "gb18030",
    "cp932": "cp932", "shift_jis": "cp932", "euc_jp": "euc_jp",
    "cp949": "cp949", "euc_kr": "cp949",
    "cp1252": "cp1252", "cp1250": "cp1250", "cp1251": "cp1251",
}  # fmt: skip
GUESS_ORDER = ["cp950", "gb18030", "cp932", "cp949", "euc_jp", "cp1252", "cp1250", "cp1251"]
# The other single-byte encodings suppliers send (Greek, Cyrillic, Arabic, Hebrew, Thai,
# Turkish, Baltic, Vietnamese, ISO and Mac variants): candidates too, preferred last.
FALLBACK_GUESSES = [
    "cp1253", "iso8859_7", "koi8_r", "koi8_u", "cp866", "iso8859_5", "cp1256", "iso8859_6",
    "cp1255", "iso8859_8", "cp874", "cp1254", "iso8859_9", "cp1257", "cp1258", "iso8859_2",
    "iso8859_15", "mac_roman",
]  # fmt: skip
# big5hkscs decodes the Big5 EUDC rows (as Hong Kong characters), so a Big5 file with 造字
# still finds a Big5 candidate; we decode it as CP950 all the same.
PREFERENCE = [*GUESS_ORDER, *FALLBACK_GUESSES]  # among guesses that fit equally well
CANDIDATES = ["cp950", "big5hkscs", *PREFERENCE[1:]]
# What else text that reads as Big5 may be: EUC text (its characters fall on Big5's), or
# Latin text whose few accented letters happen to pair with the next ASCII letter.
EUC_RIVALS = ["gb18030", "cp949", "euc_jp"]
LATIN_RIVALS = ["cp1252", "cp1250", "cp1254", "cp1257"]
# (first lead byte, last lead byte, first trail row offset, first code point)
EUDC_RANGES = [
    (0xFA, 0xFE, 0, 0xE000),
    (0x8E, 0xA0, 0, 0xE311),
    (0x81, 0x8D, 0, 0xEEB8),
]
EMPTY_FILE_MESSAGE = "檔案是空的，沒有任何資料。"
# Big5-HKSCS and Taiwan's 造字 share the Big5 user-defined byte ranges. Windows' EUDC editor
# on Traditional Chinese Windows fills FA40-FEFE first (U+E000 up), so a Taiwanese office's
# 造字 are a few pairs there; Hong Kong text has many distinct HKSCS characters, most of the
# everyday Cantonese ones (㗎 9DEE, 啲 9DF8, 嘅 9DEF, 咗 9DF7, 嚟 91C1, 喺 9DF6) in 8740-A0FE.
HKSCS_CODEC = "cp950_hkscs"
HKSCS_MIN_DISTINCT = 3
TAIWAN_EUDC_FIRST = (0xFA40, 0xFEFE)
HKSCS_EXAMPLES = 5

_replaced = [0]  # characters replaced by the error handler, ever (jobs run one per process)
_replaced_lock = threading.Lock()  # reader threads decode concurrently


def _trail_index(trail: int) -> int | None:
    if 0x40 <= trail <= 0x7E:
        return trail - 0x40
    if 0xA1 <= trail <= 0xFE:
        return trail - 0xA1 + 63
    return None


def eudc_character(lead: int, trail: int) -> str | None:
    """The private-use character Windows gives a Big5 end-user-defined byte pair, or None."""
    index = _trail_index(trail)
    if index is None:
        return None
    for first, last, _, code in EUDC_RANGES:
        if first <= lead <= last:
            return chr(code + (lead - first) * 157 + index)
    if 0xC6 <= lead <= 0xC8 and (lead > 0xC6 or trail >= 0xA1):
        offset = index - 63 if lead == 0xC6 else 94 + (lead - 0xC7) * 157 + index
        return chr(0xF6B1 + offset)
    return None


def _replace(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    with _replaced_lock:
        _replaced[0] += 1
    data, start = error.object, error.start
    if error.encoding.replace("_", "").lower() in ("cp950", "big5") and start + 1 < len(data):
        character = eudc_character(data[start], data[start + 1])
        if character:
            return character, start + 2
    return "\ufffd", error.end


codecs.register_error(DECODE_ERROR_HANDLER, _replace)


def _hkscs_pair(error: UnicodeError) -> tuple[str, int] | None:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    pair = error.object[error.start : error.start + 2]
    if len(pair) == 2:
        try:
            return pair.decode("big5hkscs"), error.start + 2
        except UnicodeDecodeError:
            pass
    return None


def _hkscs_replace(error: UnicodeError) -> tuple[str, int]:
    return _hkscs_pair(error) or _replace(error)


def _hkscs_strict(error: UnicodeError) -> tuple[str, int]:
    found = _hkscs_pair(error)
    if found is None:
        raise error
    return found


codecs.register_error("analyze-hkscs", _hkscs_replace)
codecs.register_error("analyze-hkscs-strict", _hkscs_strict)


def _hkscs_errors(errors: str) -> str:
    return "analyze-hkscs-strict" if errors == "strict" else "analyze-hkscs"


class _HkscsDecoder(codecs.IncrementalDecoder):
    """CP950's decoder whose undecodable pairs are read as Big5-HKSCS when they are HKSCS
    characters (then as ``errors`` says), as Windows with Hong Kong support reads them."""

    def __init__(self, errors: str = "strict") -> None:
        super().__init__(errors)
        self._inner = codecs.getincrementaldecoder("cp950")(errors=_hkscs_errors(errors))

    def decode(self, data: bytes, final: bool = False) -> str:  # type: ignore[override]
        return self._inner.decode(data, final)

    def reset(self) -> None:
        self._inner.reset()

    def getstate(self) -> tuple[bytes, int]:
        return self._inner.getstate()

    def setstate(self, state: tuple[bytes, int]) -> None:
        self._inner.setstate(state)


def _hkscs_decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
    return codecs.decode(data, "cp950", _hkscs_errors(errors)), len(data)


_CP950 = codecs.lookup("cp950")
_HKSCS_INFO = codecs.CodecInfo(
    _CP950.encode,
    _hkscs_decode,  # type: ignore[arg-type]  # the stub wants a Buffer parameter; we get bytes
    incrementalencoder=_CP950.incrementalencoder,
    incrementaldecoder=_HkscsDecoder,
    name=HKSCS_CODEC,
)
codecs.register(lambda name: _HKSCS_INFO if name == HKSCS_CODEC else None)


def replaced_so_far() -> int:
    """How many characters the decoding error handler replaced in this process so far."""
    return _replaced[0]


@dataclass(frozen=True)
class Encoding:
    """``codec``: Python codec for the bytes after the BOM; ``name``: what the user is told;
    ``guessed``: found by charset-normalizer's statistics rather than by a strict check."""

    codec: str
    name: str
    bom_length: int
    guessed: bool = False
    # Big5 pairs CP950 cannot decode that both readings know, as (this reading's character,
    # the other reading's): the Hong Kong character and the 造字 code point, or the reverse.
    big5_alternatives: tuple[tuple[str, str], ...] = ()
    big5_undecodable: int = 0  # distinct such pairs

    @property
    def ascii_compatible(self) -> bool:
        """Whether ASCII bytes below 0x40 only ever mean themselves (delimiters, quotes,
        newlines): true for UTF-8 and the legacy encodings, whose multi-byte trail bytes
        are 0x40 and above; false for UTF-16/32."""
        return not self.codec.startswith(("utf-16", "utf-32"))

    def decode(self, data: bytes) -> str:
        """Whole bytes to text; a bad byte becomes a private-use or replacement character."""
        return data.decode(self.codec, errors=DECODE_ERROR_HANDLER)

    def decode_array(self, values: pa.Array) -> pa.Array:
        """A binary array's cells decoded into a string array of the same length (nulls
        kept), by one decode call over the cells joined with NUL, which the readers removed
        from the data; cell by cell when the join does not split back (a NUL in a cell, or a
        bad byte that swallowed the separator)."""
        if len(values) == 0:
            return pa.array([], pa.string())
        cells = values.fill_null(b"") if values.null_count else values
        whole = pa.ListArray.from_arrays(pa.array([0, len(cells)], pa.int32()), cells)
        joined = pc.binary_join(whole, b"\x00")[0].as_py()
        parts = self.decode(joined).split("\x00")
        if len(parts) != len(values):
            parts = [self.decode(cell) for cell in cells.to_pylist()]
        decoded = pa.array(parts, pa.string())
        if values.null_count:
            decoded = pc.if_else(values.is_valid(), decoded, pa.scalar(None, pa.string()))
        return decoded

    def decoder(self) -> codecs.IncrementalDecoder:
        return codecs.getincrementaldecoder(self.codec)(errors=DECODE_ERROR_HANDLER)

    def label(self) -> str:
        return ENCODING_LABELS.get(self.codec) or ENCODING_LABELS.get(self.name, self.name)


def detect_encoding(path: str, kind_label: str) -> Encoding:
    """The encoding of ``path``; raises JobError for empty, binary or undecodable files."""
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
        if not head:
            raise JobError("empty_file", EMPTY_FILE_MESSAGE)
        for bom, codec, name in BOMS:
            if head.startswith(bom):
                return Encoding(codec, name, len(bom))
        utf16 = utf16_without_bom(head)
        if utf16:
            return Encoding(utf16, utf16, 0)
        label = binary_label(head)
        if label:
            raise JobError(
                "invalid_file_format",
                f"檔案內容是 {label}，不是{kind_label}，請確認上傳的檔案。",
            )
        f.seek(0)
        return _scan(f)


def _scan(f: io.BufferedReader) -> Encoding:
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
    assert first_non_ascii is not None
    f.seek(first_non_ascii)
    return _legacy_encoding(f.read(NON_ASCII_EVIDENCE))


def _legacy_encoding(data: bytes) -> Encoding:
    """The encoding of non-UTF-8 ``data``: CP950 when it reads as Traditional Chinese,
    otherwise charset-normalizer's guess."""
    errors, bad, wide = _cp950_faults(data)
    sample = _whole_lines(data[: GUESS_SAMPLE + 1])
    reading = read_big5(sample)
    # Text in a single-byte encoding never decodes that far without a fault.
    long_and_clean = errors == 0 and len(data) >= GUESS_SAMPLE
    few_bad = bad <= max(MAX_CP950_ERROR_SHARE * wide, MIN_CP950_ERRORS)  # past the sample too
    if long_and_clean or (reading.plausible and few_bad):
        # Big5, unless its characters could as well be EUC or Latin text: then
        # charset-normalizer chooses between those and Big5, which loses a tie.
        rivals = EUC_RIVALS if reading.euc_like else LATIN_RIVALS if reading.latin_like else []
        if not rivals:
            return _big5(data, errors)
        codec = _guess_codec(sample, ["cp950", "big5hkscs", *rivals], [*rivals, "cp950"])
        if codec in (None, "cp950"):
            return _big5(data, errors)
        return Encoding(codec, codec, 0, guessed=True)
    codec = _guess_codec(sample)
    tolerated = errors <= max(MAX_CP950_ERROR_SHARE * wide, MIN_CP950_ERRORS)
    if tolerated and (codec == "cp950" or (codec is None and errors == 0)):
        return _big5(data, errors)
    if codec is None:
        raise JobError(
            "invalid_file_format",
            "無法辨識檔案的文字編碼（支援 UTF-8、UTF-16、Big5／CP950，以及常見的簡體中文、"
            "日文與西歐語系編碼），請用 Excel 或記事本另存為 UTF-8 後再上傳。",
        )
    return Encoding(codec, codec, 0, guessed=True)


def _big5(data: bytes, errors: int) -> Encoding:
    """Big5 ``data``: CP950, or Big5-HKSCS when the pairs CP950 cannot decode are at least
    HKSCS_MIN_DISTINCT distinct ones, all HKSCS characters, not all where Taiwan's 造字 go
    first (TAIWAN_EUDC_FIRST). Either way the other reading is kept for the user's note.
    ``errors``: what the CP950 decoder replaced in ``data`` (none: plain CP950 at once)."""
    if not errors:
        return Encoding("cp950", "cp950", 0)
    pairs = undecodable_pairs(data)
    if not len(pairs):
        return Encoding("cp950", "cp950", 0)
    readings = []
    for code in pairs.tolist():
        pair = bytes((code >> 8, code & 0xFF))
        try:
            readings.append(
                (code, pair.decode("big5hkscs"), pair.decode("cp950", DECODE_ERROR_HANDLER))
            )
        except UnicodeDecodeError:
            return Encoding("cp950", "cp950", 0)  # not HKSCS: 造字 or bad bytes
    first, last = TAIWAN_EUDC_FIRST
    hong_kong = len(readings) >= HKSCS_MIN_DISTINCT and any(
        not first <= code <= last for code, _, _ in readings
    )
    # Everyday Cantonese characters first: they make the better examples.
    readings.sort(key=lambda reading: first <= reading[0] <= last)
    if hong_kong:
        examples = tuple((hk, pua) for _, hk, pua in readings[:HKSCS_EXAMPLES])
        return Encoding(HKSCS_CODEC, "big5hkscs", 0, False, examples, len(readings))
    examples = tuple((pua, hk) for _, hk, pua in readings[:HKSCS_EXAMPLES])
    return Encoding("cp950", "cp950", 0, False, examples, len(readings))


def _cp950_faults(data: bytes) -> tuple[int, int, int]:
    """``data`` decoded as CP950: characters the error handler replaced (造字 and bad
    bytes), of which bad bytes (U+FFFD), and the non-ASCII characters."""
    before = replaced_so_far()
    text = codecs.getincrementaldecoder("cp950")(errors=DECODE_ERROR_HANDLER).decode(data)
    errors = replaced_so_far() - before
    wide = len(text) - len(text.encode("ascii", errors="ignore"))
    return errors, text.count("\ufffd"), wide


def _whole_lines(data: bytes) -> bytes:
    """``data`` up to GUESS_SAMPLE bytes, cut after a line break when longer: charset-normalizer
    finds no encoding at all for text that ends in half a character."""
    if len(data) <= GUESS_SAMPLE:
        return data
    end = data.rfind(b"\n", 0, GUESS_SAMPLE)
    return data[: end + 1] if end > 0 else data[:GUESS_SAMPLE]


def _guess_codec(
    data: bytes, candidates: list[str] = CANDIDATES, preference: list[str] = PREFERENCE
) -> str | None:
    from charset_normalizer import from_bytes

    matches = from_bytes(data, cp_isolation=candidates, explain=False)
    if not len(matches):
        return None
    best_chaos = min(match.chaos for match in matches)
    close = [match for match in matches if match.chaos <= best_chaos + 0.01]
    best_coherence = max(match.coherence for match in close)
    finalists = {
        GUESSES.get(match.encoding, match.encoding)
        for match in close
        if match.coherence >= best_coherence - 0.01
    }
    return next((codec for codec in preference if codec in finalists), None)


def encoding_warnings(encoding: Encoding, replaced: int, first_line: int | None) -> list[str]:
    """zh-TW sentences about a guessed encoding and about replaced characters; with
    ``replaced`` 0 (the notes given once the encoding is known) also about a Big5 file read as
    Big5-HKSCS or as CP950 with 造字 that Big5-HKSCS would read as Hong Kong characters."""
    notes = []
    if encoding.big5_alternatives and not replaced:
        notes.append(_big5_note(encoding))
    if encoding.guessed:
        notes.append(
            f"檔案不是 UTF-8 或 Big5，依內容推測為 {encoding.label()} 編碼並據此解讀；"
            "若文字看起來不對，請另存為 UTF-8 後再上傳。"
        )
    if replaced:
        where = f"，第一個在第 {first_line:,} 行" if first_line else ""
        what = " Big5 造字或無法辨識的字元" if encoding.codec == "cp950" else "無法解碼的字元"
        notes.append(
            f"有 {replaced:,} 個{what}無法以 {encoding.label()}解讀{where}，"
            "已以私人使用區字元或 � 代替，其餘內容照常分析。"
        )
    return notes


def _big5_note(encoding: Encoding) -> str:
    count = encoding.big5_undecodable
    shown = "、".join(f"「{this}」" for this, _ in encoding.big5_alternatives)
    if encoding.name == "big5hkscs":
        codes = "、".join(f"U+{ord(other[0]):04X}" for _, other in encoding.big5_alternatives)
        return (
            f"檔案中有 {count:,} 種 Big5（CP950）沒有的字（例如{shown}），都是香港增補字符集"
            "（HKSCS）的字，判斷為香港的 Big5-HKSCS 檔案並以此解讀；若它們其實是臺灣的造字"
            f"（使用者自訂字），依 CP950 會是私人使用區字元（{codes}），需要造字檔才能顯示。"
        )
    others = "、".join(f"「{other}」" for _, other in encoding.big5_alternatives)
    return (
        f"檔案中有 {count:,} 種 Big5 造字（使用者自訂字），依臺灣 Windows 的用法以私人使用區"
        f"字元代替（例如 U+{ord(encoding.big5_alternatives[0][0][0]):04X}）；這些位元組若依香港的"
        f" Big5-HKSCS 解讀會是{others}；香港檔案通常有多種 HKSCS 字，且不只在臺灣造字最先使用的 "
        "FA40–FEFE，這個檔案不足以判斷為香港檔案。若檔案來自香港，請另存為 UTF-8 後再上傳。"
    )


def first_undecodable_line(path: str, encoding: Encoding) -> int | None:
    """1-based line of the first byte ``encoding`` cannot decode strictly, or None."""
    decoder = codecs.getincrementaldecoder(encoding.codec)()
    newline = "\n".encode(encoding.codec)
    lines = 1
    with open(path, "rb") as f:
        f.seek(encoding.bom_length)
        while chunk := f.read(SCAN_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                state = decoder.getstate()[0]
                return lines + (state + chunk[: max(error.start - len(state), 0)]).count(newline)
            lines += chunk.count(newline)
    return None


class ByteStream(io.RawIOBase):
    """A readable raw stream defined by its ``read``; pyarrow may call either method."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class CountingReader(ByteStream):
    """A raw binary file that skips the BOM and counts the bytes read, for byte progress.

    With ``drop_nul`` NUL bytes are removed on the way (counted in ``nul_bytes``): a few
    stray NULs in a text file would otherwise end up inside values. pyarrow reads it from
    its own threads; ``consumed`` is only ever read for progress, so a slightly stale value
    is harmless.
    """

    def __init__(self, path: str, skip: int = 0, drop_nul: bool = False, end: int | None = None):
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._file.seek(skip)
        total = os.path.getsize(path) if end is None else end
        self.size = max(total - skip, 1)
        self._left = total - skip
        self.consumed = 0
        self.drop_nul = drop_nul
        self.nul_bytes = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._left
        data = self._file.read(min(size, max(self._left, 0)))
        self._left -= len(data)
        self.consumed += len(data)
        if self.drop_nul and b"\x00" in data:
            self.nul_bytes += data.count(b"\x00")
            data = data.replace(b"\x00", b"")
            if not data and self._left > 0:
                return self.read(size)
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
        self._raw = CountingReader(path, encoding.bom_length, drop_nul=encoding.ascii_compatible)
        self._chunk_size = chunk_size
        self.replaced = 0

    @property
    def nul_bytes(self) -> int:
        return self._raw.nul_bytes

    def fraction(self) -> float:
        return self._raw.fraction()

    def chunks(self) -> Iterator[str]:
        decoder = self.encoding.decoder()
        before = replaced_so_far()
        try:
            while True:
                data = self._raw.read(self._chunk_size)
                text = decoder.decode(data, final=not data)
                self.replaced = replaced_so_far() - before
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
