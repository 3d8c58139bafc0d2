"""A proxy in front of a real server that loses answers on purpose, for tests.

It forwards each HTTP request to the server, lets the server act and answer, and then, for
the requests a rule picks (the Nth `POST /api/upload/stream`, say), resets the client's
connection instead of passing the answer on: the server did the work, the client never
hears of it. It can also throttle request bodies to a number of bytes per second, so that
an upload takes long enough to be interrupted.

One request per client connection (the proxy asks the server to close after answering, and
the server's `Connection: close` tells the client), which keeps the proxy small.
"""

from __future__ import annotations

import re
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

_HEAD_END = b"\r\n\r\n"
_PIECE = 16 * 1024


@dataclass
class DropRule:
    """Lose the answers of matching requests number `nth` to `nth + times - 1` (counted
    from 1 among matching requests; `times=None`: every one from `nth` on), `hold_s`
    seconds after the server answered (a client with a shorter read timeout gives up first).
    With `forward=False` the request is lost instead: the server never sees it."""

    method: str
    path: re.Pattern[str]
    nth: int = 1
    times: int | None = 1
    hold_s: float = 0.0
    forward: bool = True
    matched: int = 0

    def picks(self, method: str, path: str) -> bool:
        if method != self.method or not self.path.fullmatch(path):
            return False
        self.matched += 1
        last = None if self.times is None else self.nth + self.times - 1
        return self.matched >= self.nth and (last is None or self.matched <= last)


@dataclass(frozen=True)
class Exchange:
    """A request the proxy forwarded: the server's status, and whether the client got it."""

    method: str
    path: str
    status: int | None
    dropped: bool
    headers: dict[str, str] = field(default_factory=dict, compare=False)


class LossyProxy:
    def __init__(self, target_url: str, *, bytes_per_s: float | None = None) -> None:
        target = urlsplit(target_url)
        self.target = (target.hostname or "127.0.0.1", target.port or 80)
        self.bytes_per_s = bytes_per_s
        self.exchanges: list[Exchange] = []
        self._rules: list[DropRule] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._relay(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client or server hanging up mid-request is what these tests do

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- control -----------------------------------------------------------------------------

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def drop_answer(
        self,
        method: str,
        path: str,
        *,
        nth: int = 1,
        times: int | None = 1,
        hold_s: float = 0.0,
        forward: bool = True,
    ) -> DropRule:
        """Lose the answers of some requests to `method` `path` (a regular expression the
        whole path, without its query, must match); see `DropRule`."""
        rule = DropRule(method.upper(), re.compile(path), nth, times, hold_s, forward)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()

    def reset(self) -> None:
        """Nothing lost, nothing slowed, nothing seen yet."""
        with self._lock:
            self._rules.clear()
            self.exchanges.clear()
            self.bytes_per_s = None

    def seen(self, method: str, path: str) -> list[Exchange]:
        """The exchanges for `method` and a path matching the regular expression `path`."""
        pattern = re.compile(path)
        with self._lock:
            return [e for e in self.exchanges if e.method == method and pattern.fullmatch(e.path)]

    # --- relaying ----------------------------------------------------------------------------

    def _relay(self, client: socket.socket) -> None:
        head, rest = _read_head(client)
        if head is None:
            return
        request_line, headers = _parse_head(head)
        method, target = request_line.split(" ")[:2]
        path = urlsplit(target).path
        with self._lock:
            picked = [rule for rule in self._rules if rule.picks(method, path)]
        status = None
        if all(rule.forward for rule in picked):
            with socket.create_connection(self.target) as server:
                server.sendall(_with_close(head))
                self._send_body(client, server, headers, rest)
                answer = _read_all(server)
            status = _status(answer)
        with self._lock:
            self.exchanges.append(Exchange(method, path, status, bool(picked), headers))
        if picked:
            time.sleep(max(rule.hold_s for rule in picked))
            # RST, as a connection lost on the way looks: the client reads no answer at all.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        client.sendall(answer)

    def _send_body(
        self, client: socket.socket, server: socket.socket, headers: dict[str, str], rest: bytes
    ) -> None:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._send_chunked(client, server, rest)
            return
        remaining = int(headers.get("content-length") or 0)
        data = rest[:remaining]
        while True:
            if data:
                self._forward(server, data)
                remaining -= len(data)
            if remaining <= 0:
                return
            data = client.recv(min(_PIECE, remaining))
            if not data:
                raise ConnectionError("the client hung up mid-request")

    def _send_chunked(self, client: socket.socket, server: socket.socket, buffer: bytes) -> None:
        """Forward a chunked body up to and including its last (empty) chunk."""
        while True:
            while b"\r\n" not in buffer:
                buffer += _recv(client)
            size_line, buffer = buffer.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            need = size + 2  # the chunk and its CRLF (the trailer's CRLF when size is 0)
            while len(buffer) < need:
                buffer += _recv(client)
            self._forward(server, size_line + b"\r\n" + buffer[:need])
            buffer = buffer[need:]
            if size == 0:
                return

    def _forward(self, server: socket.socket, data: bytes) -> None:
        rate = self.bytes_per_s
        if not rate:
            server.sendall(data)
            return
        piece = max(1, int(rate / 20))  # about 20 sends a second
        for start in range(0, len(data), piece):
            server.sendall(data[start : start + piece])
            time.sleep(len(data[start : start + piece]) / rate)


def _recv(sock: socket.socket) -> bytes:
    data = sock.recv(_PIECE)
    if not data:
        raise ConnectionError("the client hung up mid-request")
    return data


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    buffer = b""
    while _HEAD_END not in buffer:
        try:
            data = sock.recv(_PIECE)
        except OSError:
            return None, b""
        if not data:
            return None, b""
        buffer += data
    head, rest = buffer.split(_HEAD_END, 1)
    return head + _HEAD_END, rest


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def _with_close(head: bytes) -> bytes:
    """The request head asking the server to close the connection after its answer."""
    lines = head[: -len(_HEAD_END)].split(b"\r\n")
    kept = [line for line in lines if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*kept, b"Connection: close"]) + _HEAD_END


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while data := sock.recv(_PIECE):
        chunks.append(data)
    return b"".join(chunks)


def _status(answer: bytes) -> int | None:
    match = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return int(match.group(1)) if match else None
