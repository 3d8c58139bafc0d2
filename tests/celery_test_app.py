"""`celery -A tests.celery_test_app worker`: the production worker that also knows the test jobs.

The test job kinds (every function of `tests.backend.jobs_for_tests`, the same names as
TEST_JOBS in tests/backend/conftest.py) are registered in `backend.jobs.JOBS` before the
worker starts, so its Supervisor can run them and its fork server preloads them. Tasks of
these kinds cannot be created over HTTP (only `process` and `analyze` can): tests put them
straight into the store, see `tests.celery_worker.enqueue`.
"""

from __future__ import annotations

import inspect

from backend.jobs import JOBS
from backend.worker import app
from tests.backend import jobs_for_tests

TEST_JOBS = {
    name: f"{jobs_for_tests.__name__}:{name}"
    for name, function in vars(jobs_for_tests).items()
    if inspect.isfunction(function) and function.__module__ == jobs_for_tests.__name__
}
JOBS.update(TEST_JOBS)

__all__ = ["TEST_JOBS", "app"]
