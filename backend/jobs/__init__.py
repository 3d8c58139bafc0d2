"""Job registry: a job kind is one plain function and one line here.

Functions are named as "module:function" and imported inside the job process, so the
API process never loads the heavy analysis libraries.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

JOBS: dict[str, str] = {
    "process": "backend.jobs.staged_demo:process_data",  # URL /api/process, as the guide has it
    "analyze": "backend.jobs.analyze:analyze_file",
}


def load_job(spec: str) -> Callable[..., dict[str, Any]]:
    """Import a job from its "module:function" spec (inside the job process)."""
    module_name, _, function_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), function_name)
