"""Shared benchmark plumbing: servers, a raw-socket HTTP client, memory readings."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT))  # run as a script: `python bench/bench_x.py`

from tests.servers import Server, free_port, start_backend  # noqa: E402 (needs ROOT on sys.path)

__all__ = ["DATA", "ROOT", "Server", "free_port", "start_backend", "start_reference", "vm_kib"]


def start_reference(workdir: Path) -> Server:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_WRITE_DIR": str(workdir / "written")}
    log_path = workdir / "reference.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.reference_app:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    return Server(url, process, log_path, env)


def vm_kib(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak since start) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> None:
    """Linux >= 4.0: writing 5 to clear_refs resets VmHWM to the current RSS."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def post_file(port: int, path: str, file_path: Path, headers: dict[str, str],
              prefix: bytes = b"", suffix: bytes = b"") -> tuple[int, float]:  # fmt: skip
    """POST a file with sendfile(2) so the client costs almost nothing; returns (status, seconds)."""
    size = file_path.stat().st_size + len(prefix) + len(suffix)
    head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {size}\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock, open(file_path, "rb") as f:
        sock.sendall(head.encode() + prefix)
        sock.sendfile(f)
        if suffix:
            sock.sendall(suffix)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    elapsed = time.perf_counter() - started
    return int(response.split(b" ", 2)[1]), elapsed
