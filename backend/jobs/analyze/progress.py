"""Progress of the analyze job: work done (a fraction) mapped to a slice of 0..100."""

from __future__ import annotations

import time

from backend.jobs.context import JobContext


class _Reporter:
    """The one place that talks to the context: keeps progress monotonic and throttled."""

    def __init__(self, ctx: JobContext, step: float, interval: float) -> None:
        self.ctx = ctx
        self.step = step
        self.interval = interval
        self.value = 0.0
        self._reported = -1.0
        self._reported_at = 0.0

    def report(self, value: float, message: str, force: bool) -> None:
        self.value = max(self.value, value)
        now = time.monotonic()
        due = self.value - self._reported >= self.step or now - self._reported_at >= self.interval
        if force or due:
            self._reported = self.value
            self._reported_at = now
            self.ctx.report(self.value, message)
        else:
            self.ctx.check_cancelled()


class Progress:
    """Maps work done (a fraction) to a slice of 0..100 and reports it.

    Reports when progress moved by ``step`` percent or ``interval`` seconds went by, so a
    cancel is noticed quickly without flooding the context. Never goes backwards, also
    across the sub-progresses made with :meth:`sub`.
    """

    def __init__(
        self,
        ctx: JobContext,
        start: float = 0.0,
        end: float = 100.0,
        step: float = 0.5,
        interval: float = 0.25,
        reporter: _Reporter | None = None,
    ) -> None:
        self.ctx = ctx
        self.start = start
        self.end = end
        self._reporter = reporter or _Reporter(ctx, step, interval)

    def sub(self, start_fraction: float, end_fraction: float) -> Progress:
        """A progress over a part of this one's slice."""
        span = self.end - self.start
        return Progress(
            self.ctx,
            self.start + span * start_fraction,
            self.start + span * end_fraction,
            reporter=self._reporter,
        )

    def at(self, fraction: float, message: str, force: bool = False) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        value = round(self.start + (self.end - self.start) * fraction, 2)
        self._reporter.report(value, message, force)
