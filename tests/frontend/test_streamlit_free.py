"""The client and the pure formatting import without Streamlit, so that scripts and tests
can use them alone. Each import runs in a fresh interpreter: in this one, other tests have
imported Streamlit already."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

STREAMLIT_FREE = [
    "frontend.utils.api_client",
    "frontend.utils.models",
    "frontend.utils.errors",
    "frontend.utils.formatting",
    "frontend.utils.vocabulary",
    "frontend.utils.tasks",
    "frontend.utils.uploads",
    "frontend.utils.validation",
    "frontend.components.analysis.labels",
    "frontend.components.analysis.values",
    "frontend.components.analysis.tables",
    "frontend.components.analysis.warnings",
]

CHECK = """
import importlib, sys
importlib.import_module(sys.argv[1])
print(sorted(name for name in sys.modules if name.split(".")[0] == "streamlit"))
"""


def _streamlit_modules_after_import(module: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CHECK, module],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("module", STREAMLIT_FREE)
def test_imports_without_streamlit(module: str) -> None:
    assert _streamlit_modules_after_import(module) == "[]"


def test_the_check_sees_streamlit_when_it_is_imported() -> None:
    """The same check on the Streamlit glue finds Streamlit: the test above can fail."""
    assert "'streamlit'" in _streamlit_modules_after_import("frontend.utils.backend")
