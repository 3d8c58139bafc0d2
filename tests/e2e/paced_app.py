"""The real app, with the "analyze" job paced by the test (tests/e2e/paced.py); test-only.

Started as `uvicorn tests.e2e.paced_app:app`; importing it changes the job registry of the
process that imports it, so only that backend process does.
"""

from __future__ import annotations

from backend.jobs import JOBS

JOBS["analyze"] = "tests.e2e.paced:paced_analyze_file"

from backend.main import app  # noqa: E402 - the job kind is swapped before the app is built

__all__ = ["app"]
