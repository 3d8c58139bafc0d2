"""A process whose wall clock is off: put this folder first on its PYTHONPATH and set
TEST_CLOCK_OFFSET_S to the seconds its clock should run ahead (negative: behind).

Python imports `sitecustomize` at start-up (the `site` module), before the program's own
imports, so everything in the process (Celery, kombu, redis-py, logging, the backend) reads
the shifted `time.time` / `time.time_ns`, and so does every Python process it starts with the
same environment (the fork server, job processes). `time.monotonic` is left alone: it has no
epoch to be wrong about. `datetime.now()` reads the C clock and is not shifted; nothing the
liveness judgement uses does.
"""

from __future__ import annotations

import os
import time

OFFSET_S = float(os.environ.get("TEST_CLOCK_OFFSET_S") or 0)

if OFFSET_S:
    _real_time, _real_time_ns = time.time, time.time_ns

    def _shifted_time() -> float:
        return _real_time() + OFFSET_S

    def _shifted_time_ns() -> int:
        return _real_time_ns() + round(OFFSET_S * 1e9)

    time.time = _shifted_time
    time.time_ns = _shifted_time_ns
