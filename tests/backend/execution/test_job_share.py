"""A job's share of the machine's cores (backend.execution.job_share), counted across real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from backend.execution.job_share import LOCK_SUFFIX, JobShare

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock(2) is POSIX")

HOLDER = """
import sys, time
from pathlib import Path
from backend.execution.job_share import JobShare
share = JobShare(Path(sys.argv[1]), cores=int(sys.argv[2]))
print(share.claim(int(sys.argv[3])), flush=True)
time.sleep(60)
"""


def hold(directory: Path, cores: int = 2, max_threads: int = 2) -> tuple[subprocess.Popen, int]:
    """Another job process on this machine: returns it and the threads it was given."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory), str(cores), str(max_threads)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


def test_a_job_alone_takes_its_threads_up_to_the_cores(tmp_path: Path) -> None:
    assert JobShare(tmp_path / "a", cores=2).claim(2) == 2
    assert JobShare(tmp_path / "b", cores=8).claim(2) == 2
    assert JobShare(tmp_path / "c", cores=1).claim(2) == 1
    assert JobShare(tmp_path / "d", cores=8).claim(1) == 1


def test_jobs_running_at_once_share_the_cores(tmp_path: Path) -> None:
    first, first_threads = hold(tmp_path, cores=2)
    try:
        assert first_threads == 2  # alone when it started
        assert JobShare(tmp_path, cores=2).claim(2) == 1
        assert JobShare(tmp_path / "x", cores=2).claim(2) == 2  # another folder, another count
        four = JobShare(tmp_path, cores=4)
        assert four.claim(4) == 1  # this, the first job and the one above: 4 // 3
        assert four.running() == 3
    finally:
        stop(first)


def test_a_killed_job_is_no_longer_counted_and_its_file_goes(tmp_path: Path) -> None:
    process, _ = hold(tmp_path)
    files = list(tmp_path.glob(f"*{LOCK_SUFFIX}"))
    assert len(files) == 1
    stop(process)  # kill -9: the lock ends with the process
    share = JobShare(tmp_path, cores=2)
    assert share.claim(2) == 2
    assert share.running() == 1
    assert not files[0].exists()


def test_release_leaves_the_count(tmp_path: Path) -> None:
    share = JobShare(tmp_path, cores=2)
    share.claim(2)
    assert share.running() == 1
    share.release()
    assert list(tmp_path.glob(f"*{LOCK_SUFFIX}")) == []
    assert JobShare(tmp_path, cores=2).running() == 0


def test_an_unusable_folder_gives_the_full_share(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert JobShare(blocker / "jobs", cores=2).claim(2) == 2
