"""A small, strict HTTP/1.1 server (keep-alive, one thread per connection) in front of ``App``.

``http.server`` would do, but its header parsing (the email package) is lenient and costs more
than the whole request handling; this reads the request line and headers directly, refuses what
RFC 9112 says to refuse, and writes each response with a single ``sendall``.

A request is judged on its head before a byte of its body is read: a missing or wrong key is
answered 401, a declared body over the limit 413, and only then is ``100 Continue`` sent. Every
read has a deadline, so a client that sends slowly cannot hold a thread for long, and the limits
below bound the connections and the bytes held in memory at once.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import re
import socket
import socketserver
import threading
import time
from http import HTTPStatus
from typing import Any

from ._app import App, Response

__all__ = ["ACCESS_LOGGER", "LIMITS", "HTTPServer"]

logger = logging.getLogger("taskmanager.server")
ACCESS_LOGGER = "taskmanager.server.access"
_access = logging.getLogger(ACCESS_LOGGER)

MAX_CONNECTIONS = 128  # open connections; past it an idle one or a head still arriving is closed, else 503
MAX_BODY = 16 * 1024 * 1024  # bytes of one request body (413 past it)
MAX_BUFFERED = 64 * 1024 * 1024  # bytes of request bodies held at once, all connections (503)
MAX_LINE = 8192  # bytes of the request line or of one header line (414 / 431)
MAX_HEAD = 65536  # bytes of the request line and all headers (431)
MAX_HEADERS = 100  # header lines (431)
HEAD_TIMEOUT = 10.0  # seconds to receive a whole request head once its first byte came
BODY_TIMEOUT = 60.0  # seconds to receive a whole body
IDLE_TIMEOUT = 60.0  # seconds a kept-alive connection may wait for its next request
SEND_TIMEOUT = 30.0  # seconds to hand a response to a client that does not read
# After an early refusal (a 413, a 401 before the body): discard what still comes, at most this
# long / this much, then close. A close with unread bytes sends a reset, and a client still
# writing the body may then lose the answer already sent (asyncio drops a connection whose write
# failed before reading what came), so the rest of a body is read like a web server in front of
# PHP would (nginx's lingering close, a buffered FastCGI body): as much as a client can send in
# the window, not a first megabyte only.
_LINGER = (2.0, 256 * 1024 * 1024)

LIMITS = {
    "connections": MAX_CONNECTIONS,
    "body bytes": MAX_BODY,
    "buffered body bytes": MAX_BUFFERED,
    "request or header line bytes": MAX_LINE,
    "head bytes": MAX_HEAD,
    "headers": MAX_HEADERS,
    "head seconds": HEAD_TIMEOUT,
    "body seconds": BODY_TIMEOUT,
    "idle keep-alive seconds": IDLE_TIMEOUT,
    "send seconds": SEND_TIMEOUT,
}

# Headers the real server sends with every reply (no X-Powered-By: that is PHP's own).
_FIXED_HEADERS = (
    b"Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\n"
    b"Access-Control-Allow-Origin: *\r\n"
    b"Access-Control-Allow-Methods: GET, POST, PUT, DELETE, OPTIONS\r\n"
    b"Access-Control-Allow-Headers: Content-Type, Authorization, X-API-Key\r\n"
)
_REASONS = {status.value: status.phrase for status in HTTPStatus}
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET = re.compile(rb"[!-~]+")  # visible ASCII only: raw bytes >= 0x80 are not a valid target
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
_DIGITS = re.compile(r"[0-9]{1,19}")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,8}")
_VERSIONS = (b"HTTP/1.1", b"HTTP/1.0")
# Names that must appear once: a second X-API-Key must never authenticate.
_SINGLE = ("x-api-key", "host", "content-type")


class _Refuse(Exception):
    """Answer ``status`` and close the connection."""

    def __init__(self, status: int, headers: bytes = b"") -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers


class _Gone(Exception):
    """The client went away, or ran out of time: nothing to answer."""


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


class _Budget:
    """Bytes of request bodies held in memory, across all connections."""

    def __init__(self, total: int) -> None:
        self._free = total
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if size > self._free:
                return False
            self._free -= size
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self._free += size


class _Reader:
    """Buffered reads from a socket, each bounded by a deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Gone("timed out")
        self._sock.settimeout(remaining)
        try:
            data = self._sock.recv(65536)
        except (TimeoutError, OSError) as err:
            raise _Gone(str(err)) from None
        if not data:
            raise _Gone("closed")
        self._buffer += data

    def wait_for_data(self, deadline: float) -> bool:
        """Whether a byte of a next request arrived before the deadline (False: closed/idle)."""
        if self._buffer:
            return True
        try:
            self._fill(deadline)
        except _Gone:
            return False
        return True

    def line(self, limit: int, deadline: float, too_long: int) -> bytes:
        """One line without its line end (CRLF, or a bare LF as RFC 9112 allows)."""
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end >= 0:
                if end > limit:
                    raise _Refuse(too_long)
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self._buffer) > limit:
                raise _Refuse(too_long)
            start = len(self._buffer)
            self._fill(deadline)

    def exact(self, size: int, deadline: float) -> bytes:
        """``size`` bytes, copied once out of the read buffer (through a view, not a slice that
        would be a third copy of a body): the body budget bounds memory to about twice itself."""
        while len(self._buffer) < size:
            self._fill(deadline)
        with memoryview(self._buffer) as view:
            data = bytes(view[:size])
        del self._buffer[:size]
        return data


class _Request:
    __slots__ = ("body_size", "chunked", "headers", "keep_alive", "method", "target")

    def __init__(self) -> None:
        self.method = ""
        self.target = ""
        self.headers: dict[str, str] = {}
        self.keep_alive = True
        self.chunked = False
        self.body_size = 0


def _parse_head(reader: _Reader, deadline: float) -> _Request:
    """Read and check a request head (RFC 9112 sections 3 and 5); raise _Refuse on any fault."""
    line = reader.line(MAX_LINE, deadline, 414)
    used = len(line)
    while not line:  # RFC 9112 2.2: ignore at least one empty line before a request
        line = reader.line(MAX_LINE, deadline, 414)
        used += len(line) + 2
        if used > MAX_HEAD:
            raise _Refuse(400)
    parts = line.split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not _TARGET.fullmatch(parts[1]):
        raise _Refuse(400)
    if parts[2] not in _VERSIONS:
        raise _Refuse(400)
    request = _Request()
    request.method = parts[0].decode("ascii")
    request.target = parts[1].decode("ascii")
    version = parts[2]
    headers = request.headers
    count = 0
    while True:
        header = reader.line(MAX_LINE, deadline, 431)
        if not header:
            break
        count += 1
        used += len(header) + 2
        if count > MAX_HEADERS or used > MAX_HEAD:
            raise _Refuse(431)
        name, sep, value = header.partition(b":")
        # No space before the colon, no obs-fold (a line starting with whitespace): RFC 9112 5.
        if not sep or not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
            raise _Refuse(400)
        key = name.decode("ascii").lower()
        text = value.strip(b" \t").decode("latin-1")
        if key in headers:
            if key in _SINGLE:
                raise _Refuse(400)
            if key == "content-length":
                if headers[key] != text:
                    raise _Refuse(400)
                continue
            headers[key] = f"{headers[key]}, {text}"
        else:
            headers[key] = text
    if version == b"HTTP/1.1" and "host" not in headers:
        raise _Refuse(400)  # RFC 9112 3.2
    connection = headers.get("connection", "").lower()
    if version == b"HTTP/1.1":
        request.keep_alive = "close" not in connection
    else:
        request.keep_alive = "keep-alive" in connection
    coding = headers.get("transfer-encoding")
    length = headers.get("content-length")
    if coding is not None:
        if length is not None or version != b"HTTP/1.1":
            raise _Refuse(400)  # RFC 9112 6.1: both framings at once, or chunked on HTTP/1.0
        if coding.lower() != "chunked":
            raise _Refuse(501)
        request.chunked = True
    elif length is not None:
        if not _DIGITS.fullmatch(length):
            raise _Refuse(400)  # RFC 9110 8.6: 1*DIGIT, nothing else (no sign, "_" or spaces)
        request.body_size = int(length)
    return request


class _Handler(socketserver.BaseRequestHandler):
    server: HTTPServer
    request: socket.socket

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = _Reader(self.request)
        # When the last answer began to be sent: the connection is idle (or discarding a refused
        # body) since then, so connections are ordered by when they were answered, not by when
        # each handler thread next got to run.
        self.sent_at: float | None = None

    def handle(self) -> None:
        try:
            while self._one_request():
                pass
        except _Gone:
            return
        except _Refuse as refusal:
            if refusal.status == 413:
                with contextlib.suppress(_Gone):
                    self._send("POST", self.server.app.too_large(), keep_alive=False)
            else:
                self._send_plain(refusal.status, refusal.headers)
            self._linger()

    def _one_request(self) -> bool:
        server = self.server
        server.mark(self.request, idle=True, at=self.sent_at)
        if not self.reader.wait_for_data(time.monotonic() + IDLE_TIMEOUT):
            return False
        server.mark(self.request, idle=False, head=True)
        request = _parse_head(self.reader, time.monotonic() + HEAD_TIMEOUT)
        server.mark(self.request, idle=False)
        refusal = server.app.precheck(request.method, request.target, request.headers)
        if refusal is None and request.body_size > MAX_BODY:
            refusal = server.app.too_large()
        has_body = request.chunked or request.body_size > 0
        if refusal is None and has_body and not server.app.reads_body(request.method, request.target):
            # No key is needed here, so no byte of the body is read or buffered: answer, close.
            refusal = server.app.handle(request.method, request.target, request.headers, b"")
        if refusal is not None:
            self._send(request.method, refusal, keep_alive=request.keep_alive and not has_body)
            _access.info(
                '%s "%s %s" %d answered before the body',
                self.client_address[0],
                request.method,
                request.target,
                refusal.status,
            )
            if has_body:
                self._linger()
                return False
            return request.keep_alive
        started = time.monotonic()
        body = self._read_body(request)
        try:
            response = server.app.handle(request.method, request.target, request.headers, body)
        finally:
            server.budget.give(len(body))
        self._send(request.method, response, keep_alive=request.keep_alive)
        if _access.isEnabledFor(logging.INFO):
            # Method, target (visible ASCII only, checked above), status, sizes: never a header.
            _access.info(
                '%s "%s %s" %d %d %d %.1fms',
                self.client_address[0],
                request.method,
                request.target,
                response.status,
                len(body),
                len(response.body),
                (time.monotonic() - started) * 1000,
            )
        return request.keep_alive

    def _read_body(self, request: _Request) -> bytes:
        """The body, taken from the shared budget (the caller gives it back)."""
        expects = request.headers.get("expect", "").lower() == "100-continue"
        if not request.chunked:
            if request.body_size == 0:
                return b""
            if not self.server.budget.take(request.body_size):
                raise _Refuse(503, b"Retry-After: 1\r\n")
            try:
                if expects:
                    self._sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                return self.reader.exact(request.body_size, time.monotonic() + BODY_TIMEOUT)
            except BaseException:
                self.server.budget.give(request.body_size)
                raise
        if expects:
            self._sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        deadline = time.monotonic() + BODY_TIMEOUT
        chunks: list[bytes] = []
        total = 0
        try:
            while True:
                size_line = self.reader.line(MAX_LINE, deadline, 400)
                size_text = size_line.split(b";", 1)[0].rstrip(b" \t")
                if not _HEX.fullmatch(size_text):
                    raise _Refuse(400)  # RFC 9112 7.1: 1*HEXDIG, so no sign, "0x" or spaces
                size = int(size_text, 16)
                if size == 0:
                    for _ in range(MAX_HEADERS + 1):  # trailer fields, ignored
                        if not self.reader.line(MAX_LINE, deadline, 431):
                            return b"".join(chunks)
                    raise _Refuse(431)
                if total + size > MAX_BODY:
                    raise _Refuse(413)
                if not self.server.budget.take(size):
                    raise _Refuse(503, b"Retry-After: 1\r\n")
                total += size
                chunks.append(self.reader.exact(size, deadline))
                if self.reader.line(2, deadline, 400):
                    raise _Refuse(400)  # chunk data must end with CRLF
        except BaseException:
            self.server.budget.give(total)
            raise

    def _sendall(self, data: bytes) -> None:
        self.request.settimeout(SEND_TIMEOUT)
        self.sent_at = time.monotonic()
        try:
            self.request.sendall(data)
        except OSError as err:
            raise _Gone(str(err)) from None

    def _send(self, method: str, response: Response, *, keep_alive: bool) -> None:
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
        self._sendall(head + payload)

    def _send_plain(self, status: int, extra: bytes = b"") -> None:
        with contextlib.suppress(_Gone):
            self._sendall(
                _status_line(status)
                + b"Date: "
                + _DATE.get()
                + b"\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n"
                + extra
                + b"\r\n"
            )

    def _linger(self) -> None:
        """Close after an early answer without a reset: stop sending, discard what still comes.

        Meanwhile the connection may be closed for a newcomer, like one still sending its head.
        """
        sock = self.request
        self.server.mark(sock, idle=False, head=True, at=self.sent_at)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER[0]
            discarded = 0
            while discarded < _LINGER[1]:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                sock.settimeout(remaining)
                data = sock.recv(65536)
                if not data:
                    break
                discarded += len(data)


class HTTPServer(socketserver.ThreadingTCPServer):
    """Threaded HTTP/1.1 server with bounded connections; ``close()`` ends idle ones too."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self.budget = _Budget(MAX_BUFFERED)
        # Open connections -> monotonic time they became idle, or were admitted (None while a
        # request is served).
        self._connections: dict[socket.socket, float | None] = {}
        # Connections whose request head is still arriving -> when its first byte came.
        self._heads: dict[socket.socket, float] = {}
        self._connections_lock = threading.Lock()
        self._closing = False
        super().__init__(address, _Handler)

    def mark(
        self, connection: socket.socket, *, idle: bool, head: bool = False, at: float | None = None
    ) -> None:
        """Note a connection idle (waiting for a request), reading a head, or serving one.

        A head's time is when its connection last became idle (for a new one, when it was
        admitted, in the order connections were accepted), not when a handler thread first saw
        its bytes: which thread runs first is up to the scheduler, the order of arrival is not.
        For the same reason a connection that was answered becomes idle (or starts discarding a
        refused body) ``at`` the time its answer began to be sent, not when its thread calls this.
        """
        with self._connections_lock:
            if connection not in self._connections:
                return
            since = self._connections[connection]
            now = time.monotonic() if at is None else at
            if idle:
                self._connections[connection] = now if since is None else since
                self._heads.pop(connection, None)
                return
            self._connections[connection] = None
            if head:
                self._heads[connection] = now if since is None else since
            else:
                self._heads.pop(connection, None)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Admit a connection while under the cap; at the cap close, to make room, the one idle,
        reading its head (not yet known to hold the key) or discarding a refused body for the
        longest time, else 503.

        So clients that send a head slowly, or nothing at all, cannot hold every connection:
        each newcomer takes the place of the oldest of them.
        """
        victim: socket.socket | None = None
        with self._connections_lock:
            if self._closing:
                return False
            if len(self._connections) >= MAX_CONNECTIONS:
                idle = [(since, sock) for sock, since in self._connections.items() if since is not None]
                idle.extend((since, sock) for sock, since in self._heads.items())
                if not idle:
                    _refuse_busy(request)  # a few bytes: they fit the socket's send buffer
                    return False
                victim = min(idle, key=lambda item: item[0])[1]
                del self._connections[victim]
                self._heads.pop(victim, None)
            self._connections[request] = time.monotonic()  # idle until its handler reads a head
        if victim is not None:
            _drop(victim)
        return True

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.pop(request, None)
            self._heads.pop(request, None)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.exception("unexpected error on a connection from %s", client_address)

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


def _refuse_busy(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.settimeout(0.5)
        sock.sendall(
            _status_line(503)
            + b"Content-Type: text/plain\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        )


def _drop(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
