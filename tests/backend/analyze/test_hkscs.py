"""Big5-HKSCS (Hong Kong) files, told apart from Big5 files with Taiwan's 造字.

Expected values are the texts the files were encoded from (Python's big5hkscs and cp950
codecs), never what the analysis returns.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.jobs.analyze import analyze_file
from backend.jobs.context import RecordingContext
from backend.vocabulary import ENCODING_LABELS

FIXTURES = Path(__file__).parent / "fixtures"

# Everyday Cantonese characters that CP950 lacks and Big5-HKSCS has (checked below), with a
# non-BMP one (𠵱, U+20D71) and the place names 深水埗 and 鰂魚涌.
HONG_KONG_ONLY = "㗎啲嘅咗嚟喺嘢哋埗鰂𠵱"


def analyze(tmp_path: Path, data: bytes, filename: str = "hk.csv") -> dict:
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    result = analyze_file(RecordingContext(threads=2), str(path), filename)
    assert analyze_file(RecordingContext(threads=1), str(path), filename) == result
    json.dumps(result, allow_nan=False)
    return result


def top_values(result: dict, name: str) -> list[str]:
    column = next(c for c in result["tables"][0]["columns"] if c["name"] == name)
    return [value for value, _ in column["top"]]


def test_the_characters_are_hkscs_only() -> None:
    for character in HONG_KONG_ONLY:
        with pytest.raises(UnicodeEncodeError):
            character.encode("cp950")
        assert character.encode("big5hkscs").decode("big5hkscs") == character
    assert ord("𠵱") > 0xFFFF


HONG_KONG_FILES = [
    # (rows of 姓名,說話,金額 — the 說話 cells carry the HKSCS characters)
    [
        ("陳大文", "佢哋喺度食緊嘢啦", 100),
        ("李小明", "我哋嚟咗㗎喇", 200),
        ("張三", "啲嘢好正嘅", 300),
    ],
    [("何家明", "深水埗同鰂魚涌", 150), ("黃美玲", "𠵱家嚟緊", 250), ("周大衛", "佢哋喺度", 350)],
    # ASCII rows first, the Hong Kong text later in the file
    [
        *((f"客戶{i}", "ok", i) for i in range(200)),
        ("梁先生", "啲嘢嚟咗", 9),
        ("吳小姐", "嘅㗎", 8),
    ],
]


@pytest.mark.parametrize("rows", HONG_KONG_FILES)
def test_hong_kong_text_is_read_as_big5_hkscs_and_said(
    tmp_path: Path, rows: list[tuple[str, str, int]]
) -> None:
    text = "姓名,說話,金額\n" + "".join(f"{n},{s},{a}\n" for n, s, a in rows)
    result = analyze(tmp_path, text.encode("big5hkscs"))
    assert result["encoding"] == "big5hkscs" and "big5hkscs" in ENCODING_LABELS
    table = result["tables"][0]
    assert table["rows"] == len(rows)
    assert sorted(top_values(result, "說話")) == sorted({s for _, s, _ in rows})
    column = next(c for c in table["columns"] if c["name"] == "金額")
    assert column["mean"] == pytest.approx(sum(a for *_, a in rows) / len(rows))
    preview = [row["說話"] for row in table["preview"]]
    assert preview == [s for _, s, _ in rows][: len(preview)]
    notes = [w for w in result["warnings"] if "HKSCS" in w]
    assert len(notes) == 1 and "Big5-HKSCS" in notes[0] and "造字" in notes[0]
    assert not any("無法以" in w or "\ufffd" in w for w in result["warnings"])


def test_every_cell_decodes_exactly(tmp_path: Path) -> None:
    cells = ["佢哋喺度", "我哋嚟咗㗎", "啲嘢好正嘅", "深水埗", "鰂魚涌", "𠵱家", "許功蓋", "裏見"]
    text = "說話\n" + "".join(f"{cell}\n" for cell in cells)
    result = analyze(tmp_path, text.encode("big5hkscs"))
    assert result["encoding"] == "big5hkscs"
    preview = [row["說話"] for row in result["tables"][0]["preview"]]
    assert preview == cells


def test_a_combining_sequence_pair_decodes_to_two_code_points(tmp_path: Path) -> None:
    # HKSCS 0x8862 is Ê with a macron: two code points, as Python's big5hkscs decodes it.
    combining = bytes.fromhex("8862").decode("big5hkscs")
    assert combining == "\u00ca\u0304"
    data = "代號,說話\n1,啲嘢好正\n2,嚟咗未呀\n".encode("big5hkscs") + b"3,\x88\x62\n"
    result = analyze(tmp_path, data)
    assert result["encoding"] == "big5hkscs"
    assert [row["說話"] for row in result["tables"][0]["preview"]] == [
        "啲嘢好正",
        "嚟咗未呀",
        combining,
    ]


def test_cp950_signs_keep_their_windows_reading(tmp_path: Path) -> None:
    # ‧ (A145) and ～ (A1E3) decode differently in Python's big5hkscs; CP950 is what the file's
    # Windows wrote, and only the pairs CP950 lacks take the HKSCS reading.
    assert "‧".encode("cp950").decode("big5hkscs") != "‧"
    data = ("姓名,說話\n約翰‧史密斯,".encode("cp950") + "啲嘢".encode("big5hkscs")
            + "～\n李小明,".encode("cp950") + "嚟咗㗎".encode("big5hkscs") + b"\n")  # fmt: skip
    result = analyze(tmp_path, data)
    assert result["encoding"] == "big5hkscs"
    preview = result["tables"][0]["preview"]
    assert [row["姓名"] for row in preview] == ["約翰‧史密斯", "李小明"]
    assert [row["說話"] for row in preview] == ["啲嘢～", "嚟咗㗎"]


def test_the_shared_case_with_one_user_defined_character_stays_cp950(tmp_path: Path) -> None:
    result = analyze(tmp_path, (FIXTURES / "big5-user-defined-char.csv").read_bytes())
    table = result["tables"][0]
    assert result["encoding"] == "cp950" and table["rows"] == 3
    amounts = next(c for c in table["columns"] if c["name"] == "金額")
    assert amounts["mean"] == 200
    names = [row["姓名"] for row in table["preview"]]
    assert names[1] == "林\ue000華"  # FA40: the first 造字 code point, as Windows maps it
    assert any("造字" in w and "第 3 行" in w for w in result["warnings"])
    # The other reading is said, not taken.
    hkscs = bytes.fromhex("fa40").decode("big5hkscs")
    assert any(hkscs in w and "Big5-HKSCS" in w for w in result["warnings"])


# Microsoft's code page 950 end-user-defined ranges: FA40-FEFE -> U+E000-, 8E40-A0FE -> U+E311-.
WINDOWS_EUDC = {b"\xfa\x40": "\ue000", b"\xfa\x41": "\ue001", b"\xfa\x42": "\ue002",
                b"\x8e\x40": "\ue311"}  # fmt: skip


@pytest.mark.parametrize(
    "pairs",
    [
        [b"\xfa\x40"],  # a lone 造字 in the first user-defined area
        [b"\x8e\x40"],  # a lone pair in the second one (an HKSCS character too)
        [b"\xfa\x40", b"\xfa\x41", b"\xfa\x42"],  # several, all where Taiwan's 造字 go first
    ],
)
def test_user_defined_characters_stay_cp950(tmp_path: Path, pairs: list[bytes]) -> None:
    rows = "".join(f"王小明{i},{i}\n" for i in range(10)).encode("cp950")
    data = "姓名,金額\n".encode("cp950") + rows
    for index, pair in enumerate(pairs):
        data += "陳".encode("cp950") + pair + f",{index}\n".encode()
    result = analyze(tmp_path, data)
    assert result["encoding"] == "cp950"
    names = [row["姓名"] for row in result["tables"][0]["preview"]][10:]
    assert names == ["陳" + WINDOWS_EUDC[pair] for pair in pairs]
    assert any("造字" in w and "私人使用區" in w for w in result["warnings"])


def test_a_pair_neither_reading_knows_keeps_cp950(tmp_path: Path) -> None:
    # 0x8140 is a 造字 code in CP950 and not an HKSCS character: no HKSCS evidence at all.
    with pytest.raises(UnicodeDecodeError):
        b"\x81\x40".decode("big5hkscs")
    data = "姓名,說話\n陳大文,".encode("cp950") + "啲嘢嚟咗".encode("big5hkscs") + b"\x81\x40\n"
    result = analyze(tmp_path, data)
    assert result["encoding"] == "cp950"
    assert not any("判斷為香港" in w for w in result["warnings"])
