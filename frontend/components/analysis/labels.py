"""The zh-TW names of what the backend reports by code: file formats, encodings (however
they are spelled), delimiters, column types and how the file wrote a column's values.
Pure: no Streamlit."""

from __future__ import annotations

import codecs
import contextlib

from frontend.components.analysis.values import MISSING
from frontend.utils.vocabulary import Vocabulary, label

RETIRED_COLUMN_TYPES = {"empty": "空白"}


def format_label(vocabulary: Vocabulary, value: str | None) -> str:
    if not value:
        return MISSING
    key = value.lower().lstrip(".")
    return label(vocabulary, "file_formats", key, key.upper())


def _codec_name(name: str) -> str:
    """One spelling per codec: "UTF8", "utf_8" and "utf-8" are all "utf-8"."""
    with contextlib.suppress(LookupError):
        name = codecs.lookup(name).name
    return name.replace("_", "-")


def encoding_label(vocabulary: Vocabulary, value: str | None) -> str:
    """The zh-TW name of an encoding, however it is spelled ("ms950" is cp950); one without
    a label is shown by its own name."""
    if not value:
        return MISSING
    key = value.strip().lower()
    encodings = vocabulary.get("encodings") or {}
    if key not in encodings:
        key = {_codec_name(known): known for known in encodings}.get(_codec_name(key), key)
    return label(vocabulary, "encodings", key, _codec_name(key).upper())


def delimiter_label(vocabulary: Vocabulary, value: str | None) -> str:
    """The delimiter's name, with the character itself when it can be seen: "逗號（,）"."""
    if not value:
        return MISSING
    name = label(vocabulary, "delimiters", value, f"「{value}」")
    if value.isprintable() and not value.isspace() and value not in name:
        return f"{name}（{value}）"
    return name


def type_label(vocabulary: Vocabulary, value: str | None) -> str:
    if not value:
        return MISSING
    if value in RETIRED_COLUMN_TYPES:
        return RETIRED_COLUMN_TYPES[value]
    return label(vocabulary, "column_types", value)


def written_as_label(vocabulary: Vocabulary, formats: list[str] | None) -> str:
    names = list(formats or [])
    if "gregorian" in names and "roc" not in names:
        names.remove("gregorian")  # plain Gregorian dates are the default, not news
    shown = [label(vocabulary, "value_formats", name) for name in names]
    return "、".join(shown) if shown else MISSING
