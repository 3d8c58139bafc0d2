"""backend.jobs.analyze.big5: what bytes hold when read as Big5."""

from __future__ import annotations

import pytest

from backend.jobs.analyze.big5 import read_big5


@pytest.mark.parametrize(
    ("data", "common", "low", "plausible", "euc_like", "latin_like"),
    [
        # 許功蓋: second bytes 0x5C; 裏: CP950's ETEN extension; a run of high trail bytes
        ("許功蓋,裏\n中文".encode("cp950"), 6, 3, True, False, False),
        ("說明,備註\n測試,成功\n".encode("cp950"), 8, 1, True, False, False),
        ("新,1\n".encode("cp950"), 1, 1, True, False, False),  # 新 is B7 73: "·s" after ","
        ("한국,서울\n김철수\n".encode("cp949"), 6, 0, True, True, False),  # 한: C7D1, kana
        ("苹果,北京,上海,广州\n".encode("gbk"), 5, 0, False, True, False),  # 3 次常用字
        ("25°C,77°F\n".encode("cp1252"), 2, 2, True, False, True),
        ("Привет,мир\n".encode("cp1251"), 0, 0, False, False, False),
        (b"a\xa4\x40b\xa4", 1, 1, True, False, False),  # a lead byte at the very end
    ],
)
def test_what_bytes_hold_when_read_as_big5(
    data: bytes, common: int, low: int, plausible: bool, euc_like: bool, latin_like: bool
) -> None:
    reading = read_big5(data)
    assert reading.common == common and reading.distinct_low_trail == low
    assert reading.plausible is plausible
    assert reading.euc_like is euc_like and reading.latin_like is latin_like
