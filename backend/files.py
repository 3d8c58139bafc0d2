"""Where uploaded files live: generated names inside UPLOAD_DIR, removed with their task."""

from __future__ import annotations

import logging
import os

from backend.store.base import Task

logger = logging.getLogger(__name__)

# An upload being received is written as `<task_id><ext>.part` and renamed once complete;
# the housekeeper removes leftovers with this suffix.
PARTIAL_SUFFIX = ".part"


def remove_task_file(task: Task) -> None:
    """Remove the task's stored upload, if any (already gone is fine)."""
    if not task.file_path:
        return
    try:
        os.remove(task.file_path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        # e.g. Windows, while a job still has it open: its supervisor removes it once the
        # job has stopped (see Supervisor.conclude); the stray-file sweep is the backstop.
        logger.warning("Could not remove %s yet: %s", task.file_path, exc)
