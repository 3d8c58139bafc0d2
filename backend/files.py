"""Where uploaded files live: generated names inside UPLOAD_DIR, removed with their task."""

from __future__ import annotations

import logging
import os
import re
import socket
import sys

from backend.store.base import Task

logger = logging.getLogger(__name__)

# An upload being received is written as `<task_id><ext>.<host>-<pid>.part` and renamed
# once complete. The writer in the name lets the housekeeper remove at once the partial
# file of a process that died mid-upload (kill -9); any other leftover goes after a grace.
PARTIAL_SUFFIX = ".part"
_WRITER = re.compile(r"\.(?P<host>[^.]+)-(?P<pid>\d+)\.part$")


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
