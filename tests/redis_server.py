"""Start a real redis-server on a free loopback port, for tests that need Redis shared by processes.

The API, the Celery workers and the test itself are separate processes, so they must meet in a
real server: an in-process fake (fakeredis) cannot share its state with a worker process. Each
server gets its own data directory with the append-only file on and fsynced on every write, so a
restart (`RedisServer.restart`) brings back everything that was written before it, like a
production Redis restarted with AOF on; `maxmemory-policy noeviction` makes a full server refuse
writes instead of silently dropping task records.

redis-server comes from the system packages (`apt-get install redis-server`; .ci/run installs it
when it is missing). `redis_server_path()` says whether it is there, so that a fixture can skip
or fail as the suite requires.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from tests.servers import free_port


def redis_server_path() -> str | None:
    """Path of the redis-server executable, or None when it is not installed."""
    return shutil.which("redis-server")


def ping(port: int, timeout: float = 1.0) -> bool:
    """True when a Redis server on 127.0.0.1:port answers PING with PONG.

    Speaks the protocol over a plain socket, so it needs no client library; a server still
    loading its AOF answers -LOADING and counts as not ready, one with a password -NOAUTH
    and counts as ready.
    """
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
            # A server with requirepass answers -NOAUTH: up, just asking for the password.
            return reply.startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


@dataclass
class RedisServer:
    """One redis-server process; it can be stopped, killed and started again on the same port."""

    port: int
    data_dir: Path
    log_path: Path
    process: subprocess.Popen
    appendfsync: str = "always"
    extra_args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """redis:// URL of database 0, for the API, the workers and redis-py alike."""
        return f"redis://127.0.0.1:{self.port}/0"

    def log(self) -> str:
        """Everything the server (in all its runs) wrote to its log."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def running(self) -> bool:
        """True while the current process has not exited."""
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Stop the server; SIGTERM lets it fsync the AOF and close its clients' connections.

        Falls back to SIGKILL when it has not exited after `timeout` seconds. Does nothing
        when the process has already exited.
        """
        if self.process.poll() is not None:
            return
        self.thaw()  # a process stopped by freeze() would not act on SIGTERM
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """kill -9: no shutdown at all; with appendfsync always every acknowledged write is kept."""
        self.stop(signal.SIGKILL)

    def start(self, timeout: float = 15) -> None:
        """Start the server again (after stop or kill) on the same port with the same data."""
        if self.running():
            raise RuntimeError(f"redis-server on port {self.port} is still running")
        self.process = _spawn(self.port, self.data_dir, self.log_path, self.appendfsync,
                              self.extra_args)  # fmt: skip
        _wait_ready(self, timeout)

    def restart(self, downtime: float = 0.0, sig: int = signal.SIGTERM) -> None:
        """Stop (SIGTERM by default, SIGKILL for a crash), stay down `downtime` seconds, start.

        The port and the data directory stay the same, so clients configured with `url`
        can reconnect by themselves and find the data of before the restart.
        """
        self.stop(sig)
        if downtime > 0:
            time.sleep(downtime)
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its connections open but answers nothing (a hung broker).

        The kernel still accepts new connections into the listen backlog, so clients see a
        server that connects and then never replies: the case that only socket timeouts,
        health checks and keepalives detect.
        """
        if self.running():
            self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT: resume a server stopped by `freeze`."""
        if self.running():
            self.process.send_signal(signal.SIGCONT)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _spawn(
    port: int, data_dir: Path, log_path: Path, appendfsync: str, extra_args: list[str]
) -> subprocess.Popen:
    executable = redis_server_path()
    if executable is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    args = [
        executable,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--daemonize", "no",
        "--supervised", "no",
        "--dir", str(data_dir),
        "--save", "",
        "--appendonly", "yes",
        "--appendfsync", appendfsync,
        "--maxmemory-policy", "noeviction",
        "--logfile", "",
        *extra_args,
    ]  # fmt: skip
    with open(log_path, "ab") as log:
        return subprocess.Popen(args, cwd=data_dir, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)  # fmt: skip


def _wait_ready(server: RedisServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"redis-server exited early:\n{server.log()}")
        if ping(server.port, timeout=0.5):
            return
        time.sleep(0.05)
    server.process.kill()
    server.process.wait()
    raise RuntimeError(f"redis-server not ready after {timeout}s:\n{server.log()}")


def start_redis(
    workdir: Path,
    port: int | None = None,
    *,
    appendfsync: str = "always",
    extra_args: list[str] | None = None,
    timeout: float = 15,
) -> RedisServer:
    """Start redis-server on 127.0.0.1 (a free port unless given) and wait until it answers PING.

    Data (the AOF) goes to workdir/redis-PORT/ and the log to workdir/redis-PORT.log; both are
    kept across `restart`. `appendfsync` is "always" so that even `kill` loses nothing that was
    acknowledged ("everysec" is Redis's default); `extra_args` are more redis-server options,
    such as ["--maxmemory", "10mb"].
    """
    port = port or free_port()
    data_dir = workdir / f"redis-{port}"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"redis-{port}.log"
    extra = list(extra_args or [])
    server = RedisServer(
        port=port,
        data_dir=data_dir,
        log_path=log_path,
        process=_spawn(port, data_dir, log_path, appendfsync, extra),
        appendfsync=appendfsync,
        extra_args=extra,
    )
    _wait_ready(server, timeout)
    return server
