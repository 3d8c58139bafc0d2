"""The backend's closed vocabularies (`GET /api/vocabulary`) and the one lookup for their
zh-TW labels.

A vocabulary is the response as it came: ``{"statuses": {"pending": "等待中", ...},
"errors": {code: {"status", "title", "detail", "task_only"}}, "encodings": ..., ...}``, or
``{}`` when it could not be fetched; then every value is shown as it is. A value missing
from the vocabulary the backend sent is a label the frontend cannot show: it is logged and
recorded, and the tests fail on it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

Vocabulary = Mapping[str, Mapping[str, Any]]

# Process-wide on purpose: a diagnostic of the frontend against its backend, not user data.
_missing: set[tuple[str, str]] = set()
_missing_lock = threading.Lock()


def term(vocabulary: Vocabulary, name: str, value: str) -> Any | None:
    """The entry for `value` in the section `name`, or None: recorded as a miss unless
    there is no vocabulary at all (the backend could not be asked)."""
    if not vocabulary:
        return None
    section = vocabulary.get(name) or {}
    if value in section:
        return section[value]
    with _missing_lock:
        first_time = (name, value) not in _missing
        _missing.add((name, value))
    if first_time:
        logger.warning("The backend's vocabulary %r has no label for %r", name, value)
    return None


def label(vocabulary: Vocabulary, name: str, value: str, default: str | None = None) -> str:
    """The zh-TW label of `value` in the section `name` ("statuses", "encodings", ...);
    without one, `default` or the value itself."""
    found = term(vocabulary, name, value)
    if isinstance(found, str):
        return found
    return value if default is None else default


def missing_labels() -> set[tuple[str, str]]:
    """Every (section, value) met so far that the backend's vocabulary has no label for."""
    with _missing_lock:
        return set(_missing)


def clear_missing_labels() -> None:
    with _missing_lock:
        _missing.clear()
