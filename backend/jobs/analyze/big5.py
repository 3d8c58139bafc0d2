"""Whether bytes read as Big5 (CP950) give Traditional Chinese, judged by the characters
they decode to.

Text in most other legacy encodings decodes as CP950 too, often without a single fault.
What tells real Big5 apart is which characters come out:

* Big5 orders its characters by use: the 5,401 常用字 (A440-C67E) come before the 7,652
  次常用字 (C940-F9D5). Taiwanese text is nearly all 常用字 and signs; Cyrillic,
  Greek, Thai or accented Latin read as Big5 give mostly 次常用字, undecodable pairs and
  end-user-defined codes.
* About 40% of Big5 characters have a second byte of 0x40-0x7E (許功蓋: 0x5C, a
  backslash). GB2312, EUC-KR and EUC-JP never do, yet their hanzi, hangul and kana rows
  fall on Big5 常用字: many distinct characters with hardly a low second byte are EUC
  text, and so are a few that all fall where GB2312's hanzi and EUC-KR's hangul are.
* Characters that each could be a Western letter or sign inside Latin words (25°C, 5µg,
  Ärger, ¡Hola) are no evidence either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

# Inclusive code ranges (lead byte << 8 | trail byte). The rest of CP950 is Greek letters,
# bopomofo and box drawing (A340-A3FE, F9DD-F9FE).
COMMON = ((0xA440, 0xC67E), (0xF9D6, 0xF9DC))  # 常用字, and the ETEN 碁銹裏墻恒粧嫺
SIGNS = ((0xA140, 0xA2FE),)  # full-width punctuation and forms, ○●★※℃
RARE = ((0xC6A1, 0xC8FE), (0xC940, 0xF9D5))  # kana and other extensions, 次常用字
USER_DEFINED = ((0x8140, 0xA0FE), (0xFA40, 0xFEFE))  # 造字 (and Big5-HKSCS characters)
# Per usual character (常用字 or sign): at most one 次常用字 in five characters, and a
# stray undecodable pair or byte among 20.
RARE_PER_USUAL = 0.25
BAD_PER_USUAL = 0.05
# Distinct characters too many to all lack a low second byte in Big5 (0.6 ** 10 < 1%),
# and the share of them that must have one.
EUC_DISTINCT = 10
MIN_LOW_TRAIL_SHARE = 0.1
# GB2312's hanzi and EUC-KR's hangul have lead bytes B0-F7 and trail bytes A1-FE; under a
# third of Big5 characters do (0.3 ** 5 < 0.3%).
EUC_ROWS = (0xB0, 0xF7)
EUC_ROWS_DISTINCT = 5
# Lead bytes that are a letter, or a sign written next to letters, in the Windows Latin
# code pages (¡ ª « ° µ · º » ¿ À-Æ in Windows-1252; ą ł ż ş ľ in Windows-1250, ...).
LATIN_LEADS = np.array(
    [
        any(
            (char := bytes([b]).decode(page, errors="replace")).isalpha() or char in "¡°µ·¿«»"
            for page in ("cp1252", "cp1250", "cp1254", "cp1257")
        )
        for b in range(256)
    ]
)


@dataclass(frozen=True)
class Big5Reading:
    """What bytes hold when read as Big5, character by character."""

    common: int = 0
    signs: int = 0
    rare: int = 0
    user_defined: int = 0
    bad: int = 0  # pairs CP950 cannot decode, and the bytes 0x80 and 0xFF
    distinct: int = 0  # distinct 常用字 and 次常用字
    distinct_low_trail: int = 0  # of those, with a second byte of 0x40-0x7E
    distinct_euc_rows: int = 0  # of those, where GB2312's hanzi and EUC-KR's hangul are
    latin_like: bool = False  # every 常用字 and sign could be Latin text (see _latin)

    @property
    def plausible(self) -> bool:
        """Traditional Chinese: 常用字 or signs, with few 次常用字, 造字 and faults."""
        usual = self.common + self.signs
        return (
            usual > 0
            and self.rare <= RARE_PER_USUAL * usual
            and self.user_defined <= usual
            and self.bad <= BAD_PER_USUAL * usual
        )

    @property
    def euc_like(self) -> bool:
        """Characters that look more like GB2312, EUC-KR or EUC-JP text read as Big5."""
        too_few_low = self.distinct_low_trail < MIN_LOW_TRAIL_SHARE * self.distinct
        return (self.distinct >= EUC_DISTINCT and too_few_low) or (
            self.distinct >= EUC_ROWS_DISTINCT and self.distinct_euc_rows == self.distinct
        )


def _pairs(raw: np.ndarray) -> np.ndarray:
    """Positions of the lead bytes of ``raw``'s double-byte characters, paired as a CP950
    decoder pairs its bytes."""
    # A lead byte is a byte 0x81-0xFE that the byte before does not lead: in a run of such
    # bytes, every other one from the run's first (what comes before a run is ASCII or a
    # low trail byte, never a lead).
    lead_capable = (raw >= 0x81) & (raw <= 0xFE)
    starts = lead_capable.copy()
    starts[1:] &= ~lead_capable[:-1]
    positions = np.arange(len(raw), dtype=np.int32)
    run_start = np.maximum.accumulate(np.where(starts, positions, 0))
    leads = np.flatnonzero(lead_capable & ((positions - run_start) & 1 == 0))
    return leads[leads + 1 < len(raw)]


def read_big5(data: bytes) -> Big5Reading:
    """``data``'s double-byte characters, paired as a CP950 decoder pairs its bytes."""
    raw = np.frombuffer(data, np.uint8)
    if not len(raw):
        return Big5Reading()
    leads = _pairs(raw)
    trails = raw[leads + 1]
    trail_at = np.zeros(len(raw), dtype=bool)
    trail_at[leads + 1] = True
    codes = (raw[leads].astype(np.int32) << 8) | trails
    valid = ((trails >= 0x40) & (trails <= 0x7E)) | ((trails >= 0xA1) & (trails <= 0xFE))
    common = valid & _within(codes, COMMON)
    signs = valid & _within(codes, SIGNS)
    rare = valid & _within(codes, RARE)
    usual = common | signs
    distinct = np.flatnonzero(np.bincount(codes[common | rare], minlength=1 << 16))
    lead, trail = distinct >> 8, distinct & 0xFF
    return Big5Reading(
        common=int(np.count_nonzero(common)),
        signs=int(np.count_nonzero(signs)),
        rare=int(np.count_nonzero(rare)),
        user_defined=int(np.count_nonzero(valid & _within(codes, USER_DEFINED))),
        bad=int(np.count_nonzero(~valid)) + int(np.count_nonzero((raw == 0x80) | (raw == 0xFF))),
        distinct=len(distinct),
        distinct_low_trail=int(np.count_nonzero(trail <= 0x7E)),
        distinct_euc_rows=int(
            np.count_nonzero((lead >= EUC_ROWS[0]) & (lead <= EUC_ROWS[1]) & (trail >= 0xA1))
        ),
        latin_like=bool(usual.any()) and bool(_latin(raw, leads[usual], trail_at).all()),
    )


@cache
def _cp950_decodes() -> np.ndarray:
    """Which of the 65,536 byte pairs Python's cp950 codec decodes (a lookup table)."""
    table = np.zeros(1 << 16, dtype=bool)
    for lead in range(0x81, 0xFF):
        for trail in (*range(0x40, 0x7F), *range(0xA1, 0xFF)):
            try:
                bytes((lead, trail)).decode("cp950")
            except UnicodeDecodeError:
                continue
            table[lead << 8 | trail] = True
    return table


def undecodable_pairs(data: bytes) -> np.ndarray:
    """The distinct well-formed byte pairs (lead 0x81-0xFE, trail 0x40-0x7E or 0xA1-0xFE,
    as ``lead << 8 | trail``) of ``data`` read as Big5 that CP950 cannot decode: 造字, or
    Big5-HKSCS characters. Sorted; stray single bytes are not pairs and not counted."""
    raw = np.frombuffer(data, np.uint8)
    if not len(raw):
        return np.zeros(0, dtype=np.int32)
    leads = _pairs(raw)
    trails = raw[leads + 1]
    codes = (raw[leads].astype(np.int32) << 8) | trails
    valid = ((trails >= 0x40) & (trails <= 0x7E)) | ((trails >= 0xA1) & (trails <= 0xFE))
    codes = codes[valid]
    return np.unique(codes[~_cp950_decodes()[codes]])


def _latin(raw: np.ndarray, leads: np.ndarray, trail: np.ndarray) -> np.ndarray:
    """Which of these lead bytes could be a Latin letter or sign inside Latin text: one of
    LATIN_LEADS followed by an ASCII letter, and then by another letter (Åsa, ¿Qué, Wrocław)
    or after an ASCII letter or digit that is no trail byte (25°C, 5µg, l·l)."""
    before = raw[np.maximum(leads - 1, 0)]
    after = raw[np.minimum(leads + 2, len(raw) - 1)]
    word_goes_on = _ascii_letter(after) & (leads + 2 < len(raw))
    digit_before = (before >= 0x30) & (before <= 0x39)
    before_on_its_own = (leads > 0) & ~trail[np.maximum(leads - 1, 0)]
    after_word = before_on_its_own & (_ascii_letter(before) | digit_before)
    return LATIN_LEADS[raw[leads]] & _ascii_letter(raw[leads + 1]) & (word_goes_on | after_word)


def _ascii_letter(values: np.ndarray) -> np.ndarray:
    folded = values | 0x20
    return (folded >= 0x61) & (folded <= 0x7A)


def _within(codes: np.ndarray, ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    inside = np.zeros(len(codes), dtype=bool)
    for first, last in ranges:
        inside |= (codes >= first) & (codes <= last)
    return inside
