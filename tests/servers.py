"""Start the real backend and frontend as processes on free ports, for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """kill -9: the process gets no chance to clean up."""
        self.stop(signal.SIGKILL)


def _wait_ready(url: str, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text(errors='replace')}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(
        f"server not ready after {timeout}s:\n{log_path.read_text(errors='replace')}"
    )


def start_backend(
    workdir: Path,
    port: int | None = None,
    *,
    workers: int | None = None,
    app: str = "backend.main:app",
    **settings: object,
) -> Server:
    """uvicorn backend.main:app with settings given as environment variables; ``workers``
    runs uvicorn's process manager with that many worker processes; ``app`` may name a
    test-only variant of the app (tests/e2e/paced_app.py)."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "UPLOAD_DIR": str(workdir / "uploads"),
        "PYTHONPATH": str(ROOT),
        **{key.upper(): str(value) for key, value in settings.items()},
    }
    log_path = workdir / f"backend-{port}.log"
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
    if workers is not None:
        command += ["--workers", str(workers)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, process, log_path, timeout=30)
    return Server(url, process, log_path, env)


def start_frontend(
    workdir: Path, backend_url: str, port: int | None = None, **settings: object
) -> Server:
    """streamlit run frontend/app.py pointed at a backend."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "API_BASE_URL": backend_url,
        "PYTHONPATH": str(ROOT),
        **{key.upper(): str(value) for key, value in settings.items()},
    }
    log_path = workdir / f"frontend-{port}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "frontend" / "app.py"),
             "--server.port", str(port), "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url + "/_stcore/health", process, log_path, timeout=60)
    return Server(url, process, log_path, env)
