"""Where uploaded files live: generated names inside UPLOAD_DIR, removed with their task."""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import unicodedata

from backend.store.base import Task
from backend.vocabulary import FORMAT_CHARACTER_LABELS

logger = logging.getLogger(__name__)

# An upload being received is written as `<task_id><ext>.<host>-<pid>.part` and renamed
# once complete. The writer in the name lets the housekeeper remove at once the partial
# file of a process that died mid-upload (kill -9); any other leftover goes after a grace.
PARTIAL_SUFFIX = ".part"
_WRITER = re.compile(r"\.(?P<host>[^.]+)-(?P<pid>\d+)\.part$")


def clean_filename(name: str) -> tuple[str, list[str]]:
    """``name`` without its invisible format characters, and those removed.

    Removed: every character of Unicode general category Cf ("format"). These show no
    glyph but change how the text around them is shown or read: the bidirectional
    embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069 and the marks
    U+200E, U+200F and U+061C (Unicode UAX #9), zero-width spaces and joiners
    U+200B–U+200D, U+2060–U+2064, U+FEFF, the soft hyphen U+00AD, tag characters. With
    them 報價單 + U+202E + xcs.csv shows as 報價單vsc.scx, posing as another file (the
    "bidi spoofing" of Unicode UTS #39 and the Trojan Source CVE-2021-42574), and a name
    can look the same as another's. Chinese characters, letters, digits, spaces and
    visible punctuation stay; a ZWJ joining an emoji sequence goes too, leaving its
    emojis side by side.

    Returns ``(cleaned, removed)``: ``removed`` lists each removed code point once, in
    order of first appearance, as ``"U+202E"``; empty when nothing was removed (then
    ``cleaned`` is ``name``). Nothing is raised; a name that ends up empty is the caller's
    to refuse.
    """
    if name.isascii():  # the common case: no format character is ASCII
        return name, []
    kept: list[str] = []
    removed: dict[str, None] = {}
    for char in name:
        if unicodedata.category(char) == "Cf":
            removed[f"U+{ord(char):04X}"] = None
        else:
            kept.append(char)
    if not removed:
        return name, []
    return "".join(kept), list(removed)


def format_character_names(removed: list[str]) -> str:
    """The zh-TW names of code points from `clean_filename`, e.g.
    "U+202E（由右至左覆寫）、U+200B（零寬空格）"."""
    shown = []
    for code in removed:
        label = FORMAT_CHARACTER_LABELS.get(int(code.removeprefix("U+"), base=16))
        shown.append(f"{code}（{label}）" if label else code)
    return "、".join(shown)


def partial_name(task_id: str, extension: str) -> str:
    """The name of an upload being received by this process."""
    host = socket.gethostname().split(".", 1)[0] or "host"
    return f"{task_id}{extension}.{host}-{os.getpid()}{PARTIAL_SUFFIX}"


def writer_is_gone(name: str) -> bool:
    """True if `name` is a partial upload written by a process of this host that no longer
    exists. Unknown (another host, Windows, an old name): False, left to the grace period."""
    match = _WRITER.search(name)
    if match is None or sys.platform == "win32":
        return False
    if match["host"] != (socket.gethostname().split(".", 1)[0] or "host"):
        return False
    try:
        os.kill(int(match["pid"]), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):
        return False
    return False


def remove_task_file(task: Task) -> None:
    """Remove the task's stored upload, if any (already gone is fine)."""
    if task.file_path:
        remove_file(task.file_path)


def remove_file(path: str) -> None:
    """Remove an upload file; already gone is fine, other errors are logged, not raised."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        # e.g. Windows, while a job still has it open: its supervisor removes it once the
        # job has stopped (see Supervisor.conclude); the stray-file sweep is the backstop.
        logger.warning("Could not remove %s yet: %s", path, exc)
