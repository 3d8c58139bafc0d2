"""Plain-text (prose) statistics: lines, characters and words, streamed."""

from __future__ import annotations

import re

from backend.jobs.analyze.encoding import DecodedText
from backend.jobs.analyze.progress import Progress

# Words: Chinese and Japanese have no spaces between words and no cheap, dependable way to
# segment them, so each CJK character (Han, kana, Hangul syllable) counts as one word, like
# Word's "中文字" count; any other run of characters between whitespace, CJK characters and
# CJK punctuation counts as one word, like ``wc -w``. "我愛 Python 3" is 2 + 1 + 1 = 4 words.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
CJK_PUNCTUATION = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
WORD = re.compile(rf"[{CJK}]|[^\s{CJK}{CJK_PUNCTUATION}]+")
MAX_CARRY = 1 << 20


def analyze_prose(text: DecodedText, progress: Progress) -> dict:
    """``lines``: line count (a last line without a newline counts); ``characters``: every
    character except line breaks; ``words``: see WORD above."""
    lines = characters = words = 0
    carry = ""
    ends_with_newline = True
    for chunk in text.chunks():
        ends_with_newline = chunk.endswith(("\n", "\r"))
        newlines = chunk.count("\n")
        lines += newlines
        characters += len(chunk) - newlines - chunk.count("\r")
        # A word can straddle two chunks: keep the part after the last whitespace for later.
        chunk = carry + chunk
        cut = max(chunk.rfind(" "), chunk.rfind("\n"), chunk.rfind("\t"))
        if cut == -1 and len(chunk) < MAX_CARRY:
            carry = chunk
        else:
            words += len(WORD.findall(chunk, 0, cut + 1 if cut != -1 else len(chunk)))
            carry = chunk[cut + 1 :] if cut != -1 else ""
        progress.at(text.fraction(), "正在統計文字內容")
    words += len(WORD.findall(carry))
    if characters and not ends_with_newline:
        lines += 1
    return {"lines": lines, "characters": characters, "words": words}
