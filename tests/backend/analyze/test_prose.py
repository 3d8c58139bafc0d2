"""backend.jobs.analyze.prose: plain text that is not a table."""

from __future__ import annotations

from pathlib import Path

from tests.backend.analyze.helpers import (
    analyze,
    stored,
)


def test_prose_txt_reports_text_statistics(tmp_path: Path) -> None:
    prose = "今天天氣很好。\nThe quick brown fox, jumps!\n\n我愛 Python 3\n"
    result = analyze(stored(tmp_path, prose.encode("cp950", errors="strict")), "note.txt")
    assert result["tables"] == [] and result["encoding"] == "cp950"
    # words: 6 CJK chars (。 is not a word) + 5 English tokens + 2 CJK + "Python" + "3"
    assert result["text"] == {"lines": 4, "characters": len(prose) - 4, "words": 15}
