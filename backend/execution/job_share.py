"""How many threads a job may keep busy: its share of this machine's cores.

A job alone on the machine works on up to ``JOB_THREADS`` threads, so one analysis ends
sooner. When several jobs run at once (a local runner with several slots, or several
Celery workers on one host) each takes ``cores // jobs running`` threads, at least one:
no more threads than cores (no time lost switching between them), and a one-thread job
needs no hand-over between threads, so it spends up to a tenth less CPU on the same file,
which is what a full machine needs. It is the idea of GNU make's jobserver (a
machine-wide budget of parallel work), applied once, when a job starts.

Jobs on one machine are counted through one locked file per job process in a folder under
the temporary directory. An flock(2) lock ends with its process, ``kill -9`` included,
so a dead job is never counted, and its file is removed by the next job that finds it
unlocked. A job's file is locked before it gets its visible name (rename keeps the
lock), so a half-created file is never taken for a dead one. Without flock (Windows)
every job takes ``JOB_THREADS``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from backend.jobs.context import usable_cores

LOCK_SUFFIX = ".job"


def default_directory() -> Path:
    """The machine-wide folder of job lock files: per user, under the temporary directory."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"workbench-jobs-{uid}"


class JobShare:
    """This process's entry in the machine-wide count of running jobs.

    ``claim()`` registers the calling process (once; the lock lasts until the process
    exits or ``release()``) and returns the number of threads it may use:
    ``max(1, min(max_threads, cores // running))``, where ``running`` counts this job too.
    """

    def __init__(self, directory: Path | None = None, cores: int | None = None) -> None:
        self.directory = directory or default_directory()
        self.cores = cores or usable_cores()
        self._fd: int | None = None
        self._path: Path | None = None

    def claim(self, max_threads: int) -> int:
        """Threads for a job that may use up to ``max_threads`` (>= 1); never raises: when
        the folder cannot be used the job gets ``max_threads``."""
        if fcntl is None:
            return max_threads
        try:
            if self._fd is None:
                self._register()
            running = self.running()
        except OSError:
            return max_threads
        return max(1, min(max_threads, self.cores // max(running, 1)))

    def running(self) -> int:
        """Jobs whose lock is held right now (this one included); removes dead jobs' files."""
        count = 0
        for path in self.directory.glob(f"*{LOCK_SUFFIX}"):
            if path == self._path:
                count += 1
                continue
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:
                continue  # removed meanwhile
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                count += 1  # a live job holds it
            else:
                path.unlink(missing_ok=True)  # its job is gone
            finally:
                os.close(fd)
        return count

    def release(self) -> None:
        """Leave the count (also happens by itself when the process exits)."""
        if self._fd is not None:
            if self._path is not None:
                self._path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = self._path = None

    def _register(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        partial = self.directory / f"{name}.tmp"
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path = self.directory / f"{name}{LOCK_SUFFIX}"
            os.replace(partial, path)
        except OSError:
            os.close(fd)
            partial.unlink(missing_ok=True)
            raise
        self._fd, self._path = fd, path
