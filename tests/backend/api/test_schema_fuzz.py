"""Schemathesis against the live app: what `/openapi.json` promises, a real uvicorn process
keeps, with authentication off and on.

Every Schemathesis check is on for every operation (examples, coverage, fuzzing and
stateful phases), except where a check cannot apply; those are listed in EXCLUDED with the
reason. The run uses a fixed seed so CI is repeatable; set FUZZ_SEED to explore others and
FUZZ_EXAMPLES to search longer.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import start_backend

pytestmark = pytest.mark.slow  # every operation of the schema fuzzed, about a minute

API_KEY = "fuzz-key-0123456789"
SEED = os.environ.get("FUZZ_SEED", "20261129")
MAX_EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "60")
MAX_SECONDS = 30  # per auth mode: about a minute in all

CHECKS = [
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
    "positive_data_acceptance", "missing_required_header", "unsupported_method",
    "allow_header_conformance", "use_after_free", "ensure_resource_availability",
    "ignored_auth", "object_level_authorization",
]  # fmt: skip

# (method, path) -> checks that cannot apply there, and why.
EXCLUDED = {
    # An upload's body is "any bytes" in the schema, and the file name travels in the
    # multipart part's Content-Disposition (RFC 7578), which OpenAPI cannot describe. The
    # server sniffs the content against the extension (a PNG sent as .csv is a 422), so a
    # schema-valid upload can be refused, and the reverse cannot be stated either.
    ("POST", "/api/upload"): ["positive_data_acceptance", "negative_data_rejection"],
    # The same content rule; and `X-Filename` is percent-decoded UTF-8, checked after
    # decoding (no path, control or Windows-forbidden characters, no reserved name), which
    # the header's documented pattern (a name ending in an allowed extension) cannot state
    # exactly: "a.%63sv" is a valid .csv name that the pattern does not match.
    ("POST", "/api/upload/stream"): ["positive_data_acceptance", "negative_data_rejection"],
}


def config_toml() -> str:
    lines = [f"max-time = {MAX_SECONDS}"]
    lines += [f"checks.{check}.enabled = true" for check in CHECKS]
    for (method, path), checks in EXCLUDED.items():
        lines += ["", "[[operations]]", f'include-path = "{path}"', f'include-method = "{method}"']
        lines += [f"checks.{check}.enabled = false" for check in checks]
    return "\n".join(lines) + "\n"


def test_every_check_is_listed() -> None:
    """A Schemathesis upgrade that adds a check must not leave it off silently."""
    import schemathesis.specs.openapi.checks  # noqa: F401 - registers the OpenAPI checks
    from schemathesis.checks import CHECKS as REGISTRY

    assert set(REGISTRY.get_all_names()) == set(CHECKS)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("auth", ["off", "on"])
def test_the_schema_tells_the_truth(tmp_path: Path, auth: str) -> None:
    key = API_KEY if auth == "on" else ""
    server = start_backend(tmp_path, api_key=key, max_concurrent_tasks=1, log_level="WARNING")
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_toml(), encoding="utf-8")
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
        f"{server.url}/openapi.json", "--max-examples", MAX_EXAMPLES, "--seed", SEED,
        "--no-color",
    ]  # fmt: skip
    if key:
        command += ["-H", f"X-API-Key: {key}"]
    try:
        run = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=280, cwd=tmp_path
        )
    finally:
        server.stop()
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    tested = re.search(r"Tested: (\d+)", report)
    generated = re.search(r"(\d+) generated", report)
    assert tested and int(tested.group(1)) >= 15, report[-3000:]  # every operation
    assert generated and int(generated.group(1)) > 300, report[-3000:]
