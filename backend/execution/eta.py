"""Remaining time of a running task, estimated from its own progress reports.

The rate of progress (percent per second) is smoothed with an exponential moving average
for unevenly spaced samples (A. Eckner, "Algorithms for Unevenly Spaced Time Series:
Moving Averages and Other Rolling Operators", 2019, section on the EMA with weight
``exp(-dt / tau)``): each interval between two reports adds its mean rate, weighted by its
length, and older intervals fade with the time constant ``TAU_S``. Progress is rounded and
reports are throttled, so the rate of a single interval jitters; the average does not.

The running weight is kept beside the running sum, so the average is bias-corrected (the
correction Adam uses for its moment estimates, Kingma & Ba, 2015): while less than
``TAU_S`` of history exists it is the plain time-weighted mean of the intervals seen, not
pulled toward an arbitrary starting value. The remaining time is then ``(100 - progress) /
rate``: never negative, and unknown (None) until at least ``MIN_SAMPLES`` reports spanning
``MIN_SPAN_S`` have been seen, or while the job has not advanced at all.

No web framework and no store here: the supervisor feeds an estimator per task and stores
its answer with the progress (`TaskStore.set_progress`), and the API counts the stored
answer down by the time passed since that report (`remaining_at`).
"""

from __future__ import annotations

import math

TAU_S = 10.0
MIN_SAMPLES = 3
MIN_SPAN_S = 1.0
_MIN_RATE = 1e-9  # percent per second; below it the job is stalled and the end unknown


class EtaEstimator:
    """Feed it ``add(now, progress)`` for every report of one task (``now`` in seconds of a
    monotonic clock, ``progress`` 0-100); each call returns the current estimate."""

    def __init__(
        self,
        tau_s: float = TAU_S,
        min_samples: int = MIN_SAMPLES,
        min_span_s: float = MIN_SPAN_S,
    ) -> None:
        self.tau_s = tau_s
        self.min_samples = min_samples
        self.min_span_s = min_span_s
        self.samples = 0
        self._first_t: float | None = None
        self._anchor: tuple[float, float] | None = None  # where the open interval starts
        self._progress = 0.0
        self._weighted_rate = 0.0
        self._weight = 0.0

    def add(self, now: float, progress: float) -> float | None:
        progress = min(max(progress, self._progress, 0.0), 100.0)  # never goes back
        self.samples += 1
        self._progress = progress
        if self._anchor is None:
            self._first_t = now
            self._anchor = (now, progress)
            return None
        start_t, start_progress = self._anchor
        elapsed = now - start_t
        if elapsed > 0:  # reports at the same instant join the next interval
            decay = math.exp(-elapsed / self.tau_s)
            rate = (progress - start_progress) / elapsed
            self._weighted_rate = self._weighted_rate * decay + rate * (1 - decay)
            self._weight = self._weight * decay + (1 - decay)
            self._anchor = (now, progress)
        return self.estimate(now)

    @property
    def rate(self) -> float | None:
        """The smoothed rate in percent per second, or None before the first interval."""
        return self._weighted_rate / self._weight if self._weight > 0 else None

    def estimate(self, now: float) -> float | None:
        """Seconds left, or None while too little has been seen or the job stands still."""
        if self._first_t is None or self.samples < self.min_samples:
            return None
        if now - self._first_t < self.min_span_s:
            return None
        rate = self.rate
        if rate is None or rate < _MIN_RATE:
            return None
        return (100.0 - self._progress) / rate


def remaining_at(eta_s: float | None, reported_at: float, now: float) -> float | None:
    """The estimate ``eta_s`` made at ``reported_at``, counted down to ``now`` (both Unix
    times), never below 0; a clock behind the reporter's does not add time."""
    if eta_s is None:
        return None
    return max(0.0, eta_s - max(0.0, now - reported_at))
