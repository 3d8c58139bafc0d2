"""Job functions that misbehave on purpose, registered by the tests through the real registry."""

from __future__ import annotations

import os
import time

from backend.jobs.context import JobContext, JobError


def raise_unexpected(ctx: JobContext) -> dict:
    ctx.report(10, "即將出錯")
    raise ValueError("boom: an unexpected bug inside a job")


def die_hard(ctx: JobContext) -> dict:
    ctx.report(10, "即將結束程序")
    os._exit(3)  # like a segfault or the OOM killer: no exception, no message


def ignore_cancel(ctx: JobContext) -> dict:
    """A job stuck in a long call that never reaches a cancellation point."""
    ctx.report(1, "卡住了")
    time.sleep(600)
    return {}


def finish_quickly(ctx: JobContext) -> dict:
    ctx.report(50, "快完成了")
    return {"done": True}


def fail_expectedly(ctx: JobContext) -> dict:
    ctx.report(50, "即將失敗")
    raise JobError("invalid_file_format", "測試用的預期失敗。")


def spin_forever(ctx: JobContext) -> dict:
    """CPU-bound and deaf to cancellation: only the supervisor's kill can stop it."""
    ctx.report(1, "全速運算中")
    while True:
        pass


def read_after_cancel(ctx: JobContext, path: str) -> dict:
    """Reads its upload only once a cancel has removed it: the error a cancel causes."""
    ctx.report(10, "等待檔案")
    deadline = time.monotonic() + 10
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.005)
    with open(path, "rb") as file:  # FileNotFoundError: the cancel won
        return {"size": len(file.read())}


def steady(ctx: JobContext, duration: float = 5.0) -> dict:
    """Constant speed: progress follows the clock, from 0 to 100 % in `duration` seconds."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < duration:
        ctx.report(elapsed * 100 / duration, "等速處理中")
        time.sleep(0.05)
    ctx.report(100, "處理完成")
    return {"duration": duration}


def where_am_i(ctx: JobContext) -> dict:
    """Says which process ran it: the supervisor must run jobs in a child process."""
    ctx.report(50, "回報程序")
    return {"pid": os.getpid()}
