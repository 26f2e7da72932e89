"""A small HTTP/1.1 server (keep-alive, one thread per connection) in front of ``App``.

``http.server`` would do, but its header parsing (the email package) and its separate writes for
headers and body cost more than the whole request handling; this reads the request line and
headers directly and writes each response with a single ``sendall``.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import socket
import socketserver
import threading
import time
from http import HTTPStatus
from typing import Any

from ._app import App

__all__ = ["HTTPServer"]

logger = logging.getLogger("taskmanager.server")

_MAX_LINE = 65536
_MAX_HEADERS = 100
_MAX_BODY = 64 * 1024 * 1024
# Headers the real server sends with every reply (no X-Powered-By: that is PHP's own).
_FIXED_HEADERS = (
    b"Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\n"
    b"Access-Control-Allow-Origin: *\r\n"
    b"Access-Control-Allow-Methods: GET, POST, PUT, DELETE, OPTIONS\r\n"
    b"Access-Control-Allow-Headers: Content-Type, Authorization, X-API-Key\r\n"
)
_REASONS = {status.value: status.phrase for status in HTTPStatus}


class _BadRequest(Exception):
    pass


class _DateCache:
    """The Date header, formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._value = email.utils.formatdate(now, usegmt=True).encode()
            self._second = now
        return self._value


_DATE = _DateCache()


def _status_line(status: int) -> bytes:
    return f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n".encode()


class _Handler(socketserver.StreamRequestHandler):
    disable_nagle_algorithm = True
    rbufsize = 65536
    timeout = 120  # seconds a kept-alive connection may sit idle before its thread lets go
    server: HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def handle(self) -> None:
        try:
            while self._one_request():
                pass
        except (ConnectionError, TimeoutError, OSError):
            return  # the client went away; nothing to answer

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(_MAX_LINE)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise _BadRequest from None
                if size == 0:
                    while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > _MAX_BODY:
                    raise _BadRequest
                chunks.append(self.rfile.read(size))
                self.rfile.readline(_MAX_LINE)
        length_text = headers.get("content-length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise _BadRequest from None
        if length < 0 or length > _MAX_BODY:
            raise _BadRequest
        body = self.rfile.read(length)
        if len(body) != length:
            raise ConnectionError("truncated body")
        return body

    def _one_request(self) -> bool:
        line = self.rfile.readline(_MAX_LINE)
        while line in (b"\r\n", b"\n"):
            line = self.rfile.readline(_MAX_LINE)
        if not line:
            return False
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
            self._send_raw(400, b"", b"text/plain", close=True)
            return False
        method, target, version = (p.decode("latin-1") for p in parts)
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADERS + 1):
            header = self.rfile.readline(_MAX_LINE)
            if header in (b"\r\n", b"\n", b""):
                break
            name, sep, value = header.partition(b":")
            if not sep:
                self._send_raw(400, b"", b"text/plain", close=True)
                return False
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        else:
            self._send_raw(431, b"", b"text/plain", close=True)
            return False
        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        if headers.get("expect", "").lower() == "100-continue":
            self.connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            body = self._read_body(headers)
        except _BadRequest:
            self._send_raw(400, b"", b"text/plain", close=True)
            return False
        response = self.server.app.handle(method, target, headers, body)
        payload = b"" if method == "HEAD" else response.body
        head = b"".join(
            (
                _status_line(response.status),
                b"Date: ",
                _DATE.get(),
                b"\r\n",
                _FIXED_HEADERS,
                b"Content-Type: ",
                response.content_type.encode(),
                b"\r\nContent-Length: ",
                str(len(response.body)).encode(),
                b"\r\n" if keep_alive else b"\r\nConnection: close\r\n",
                b"\r\n",
            )
        )
        self.connection.sendall(head + payload)
        return keep_alive

    def _send_raw(self, status: int, body: bytes, content_type: bytes, *, close: bool) -> None:
        self.connection.sendall(
            _status_line(status)
            + b"Content-Type: "
            + content_type
            + f"\r\nContent-Length: {len(body)}\r\n".encode()
            + (b"Connection: close\r\n" if close else b"")
            + b"\r\n"
            + body
        )


class HTTPServer(socketserver.ThreadingTCPServer):
    """Threaded HTTP/1.1 server; ``close()`` also ends idle keep-alive connections."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._closing = False
        super().__init__(address, _Handler)

    def track(self, connection: Any, *, add: bool) -> None:
        with self._connections_lock:
            if not add:
                self._connections.discard(connection)
            elif self._closing:
                _drop(connection)
            else:
                self._connections.add(connection)

    def close(self) -> None:
        """Drop open connections, wait for their threads and close the socket.

        Call ``shutdown()`` first when ``serve_forever()`` runs in another thread.
        """
        with self._connections_lock:
            self._closing = True
            connections = list(self._connections)
        for connection in connections:
            _drop(connection)
        self.server_close()


def _drop(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
