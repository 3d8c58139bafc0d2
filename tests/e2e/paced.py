"""An analyze job that holds its progress until the test has seen it (test-only).

`uvicorn tests.e2e.paced_app:app` is the real app with one change: the "analyze" job kind
runs `paced_analyze_file`, the real `analyze_file` whose progress reports stop at each of
HOLD_AT (percent) until the test creates the file of that name in E2E_PACE_DIR. A test that
must see the progress bar move thus sees it at every hold, however fast the machine or
however slow its browser's polls, instead of hoping a big file outlasts a poll. Nothing
outside tests/ reads E2E_PACE_DIR.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from backend.jobs.analyze import analyze_file
from backend.jobs.context import JobContext

HOLD_AT = (30, 60)
HOLD_LIMIT_S = 120  # a test that never releases a hold does not keep the job forever
# Above the supervisor's report throttle (MIN_REPORT_INTERVAL_S), so the held value is sent.
_THROTTLE_S = 0.15


def release(pace_dir: Path, step: int) -> None:
    """Let the paced job go on past the hold at ``step`` percent."""
    (pace_dir / str(step)).touch()


class _Paced:
    """The job's context, holding at each of HOLD_AT until its release file exists."""

    def __init__(self, ctx: JobContext, pace_dir: Path) -> None:
        self.threads = ctx.threads
        self._ctx = ctx
        self._pace_dir = pace_dir
        self._holds = list(HOLD_AT)

    def check_cancelled(self) -> None:
        self._ctx.check_cancelled()

    def is_cancelled(self) -> bool:
        return self._ctx.is_cancelled()

    def report(self, progress: float, message: str | None = None) -> None:
        if self._holds and self._holds[0] <= progress < 100:
            step = self._holds.pop(0)
            time.sleep(_THROTTLE_S)
            self._ctx.report(progress, message)
            deadline = time.monotonic() + HOLD_LIMIT_S
            while not (self._pace_dir / str(step)).exists() and time.monotonic() < deadline:
                self._ctx.check_cancelled()
                time.sleep(0.05)
            return
        self._ctx.report(progress, message)


def paced_analyze_file(ctx: JobContext, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """`analyze_file`, paced when E2E_PACE_DIR is set (it always is for this app)."""
    pace_dir = os.environ.get("E2E_PACE_DIR")
    if pace_dir:
        ctx = _Paced(ctx, Path(pace_dir))
    return analyze_file(ctx, *args, **kwargs)
