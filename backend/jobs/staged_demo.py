"""The integration guide's staged demo job: a long task with named stages (kind "process",
started by POST /api/process as the guide has it)."""

from __future__ import annotations

import time

from backend.jobs.context import JobContext

# (progress where the stage starts, what the user reads)
STAGES = [
    (0, "正在初始化"),
    (20, "正在載入資料"),
    (40, "正在處理資料"),
    (80, "正在生成結果"),
]
TICK_S = 0.1  # cancellation is noticed within one tick


def _stage_at(progress: float) -> str:
    return next(message for start, message in reversed(STAGES) if progress >= start)


def process_data(ctx: JobContext, data: str, delay: float = 5) -> dict[str, str]:
    """Walk through the stages over ``delay`` seconds, reporting every TICK_S; returns
    ``{"processed_data": ...}``. Raises JobCancelled (via ``ctx.report``) when cancelled."""
    ticks = max(1, round(delay / TICK_S))
    started = time.monotonic()
    for tick in range(ticks):
        progress = tick * 100 / ticks
        ctx.report(progress, _stage_at(progress))
        # Sleep to the tick's planned time so the total stays `delay` whatever the overhead.
        time.sleep(max(0.0, started + (tick + 1) * delay / ticks - time.monotonic()))
    ctx.report(100, "處理完成")
    return {"processed_data": f"已處理: {data}"}
