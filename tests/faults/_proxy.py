"""A fault-injecting HTTP proxy for tests (loopback only).

It sits between a client and a target HTTP server, forwards each request on a fresh upstream
connection and, at a configurable rate, breaks the exchange in one of the ways real networks and
front-end servers do::

    with FaultProxy("http://127.0.0.1:8080", rate=0.1, seed=7, delay=1.0) as proxy:
        client = TaskManagerClient(api_url=proxy.url + "/api", api_key=...)
        ...
    print(proxy.counts)  # {"reset_before": 3, "truncate": 2, ...}

Fault kinds (``FaultKind``) and whether the target saw the request:

- ``reset_before``: the client connection is reset; nothing is forwarded.
- ``reset_after``: the request is forwarded (the target did the work), then the client connection
  is reset instead of answering.
- ``status_502`` / ``status_503``: a gateway error page is answered; nothing is forwarded.
- ``delay``: the request waits ``delay`` seconds (meant to exceed the client's timeout), then is
  forwarded anyway, as a slow front end would; the answer goes to whoever is still listening.
- ``truncate``: the request is forwarded; the answer is cut in half (``Content-Length`` promises
  the whole body) and the connection closed.
- ``html``: a ``200 OK`` HTML error page (a PHP fatal error as a misconfigured server shows it)
  is answered; nothing is forwarded.

Decisions come from ``random.Random(seed)``, drawn in arrival order under a lock, so a run with
the same seed and the same request order injects the same faults. ``script`` replaces the random
draw with a fixed sequence (``None`` entries pass through), for tests that need one exact fault.
"""

from __future__ import annotations

import contextlib
import enum
import http.client
import io
import random
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["FaultKind", "FaultProxy", "ProxyEvent"]

# Headers that describe one hop, not the message; never forwarded either way.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_MAX_LINE = 65536


class FaultKind(enum.StrEnum):
    RESET_BEFORE = "reset_before"
    RESET_AFTER = "reset_after"
    STATUS_502 = "status_502"
    STATUS_503 = "status_503"
    DELAY = "delay"
    TRUNCATE = "truncate"
    HTML = "html"


ALL_KINDS: tuple[FaultKind, ...] = tuple(FaultKind)

# Faults after which the target may have done the work although the client never saw the reply.
FORWARDING_KINDS = frozenset({FaultKind.RESET_AFTER, FaultKind.DELAY, FaultKind.TRUNCATE})

_PAGES = {
    FaultKind.STATUS_502: (
        502,
        "Bad Gateway",
        b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
        b"</center><hr><center>nginx</center></body></html>\n",
    ),
    FaultKind.STATUS_503: (
        503,
        "Service Unavailable",
        b"<html><head><title>503 Service Temporarily Unavailable</title></head><body><center>"
        b"<h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>\n",
    ),
    FaultKind.HTML: (
        200,
        "OK",
        b"<br />\n<b>Fatal error</b>:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused "
        b"in /var/www/html/src/Database.php:21\n<br />\n",
    ),
}


@dataclass(frozen=True)
class ProxyEvent:
    """One request the proxy saw: what it did with it and whether the target received it."""

    method: str
    path: str
    fault: FaultKind | None
    forwarded: bool


@dataclass
class _Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    keep_alive: bool


class _ClientGone(Exception):
    """The client closed its connection between requests (the normal end of a keep-alive)."""


def _read_request(rfile: io.BufferedIOBase) -> _Request:
    read_line, read = rfile.readline, rfile.read
    line = read_line(_MAX_LINE + 1)
    if not line:
        raise _ClientGone
    method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers: list[tuple[str, str]] = []
    while True:
        raw = read_line(_MAX_LINE + 1)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    lower = {name.lower(): value for name, value in headers}
    if lower.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(read_line(_MAX_LINE + 1).split(b";")[0].strip(), 16)
            if size == 0:
                while read_line(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(read(size))
            read_line(_MAX_LINE + 1)
        body = b"".join(chunks)
    else:
        body = read(int(lower.get("content-length", "0") or 0))
    connection = lower.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return _Request(method, target, headers, body, keep_alive)


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN, as a crashed or killed peer would."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _head(status: int, reason: str, headers: Iterable[tuple[str, str]], length: int, close: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {length}")
    lines.append("Connection: close" if close else "Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = False  # server_close() joins every handler thread: a clean shutdown
    block_on_close = True
    proxy: FaultProxy


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.proxy._serve_connection(self.connection, self.rfile)


class FaultProxy:
    """A threaded HTTP/1.1 proxy on 127.0.0.1 that injects faults into a share of the requests.

    ``target`` is the target's base URL (``http://127.0.0.1:PORT``, any path is ignored).
    ``rate`` is the share of requests that get a fault, ``kinds`` the faults to choose among
    (uniformly), ``delay`` the seconds a ``delay`` fault waits. ``should_fault(method, path)``
    limits faults to some requests (the others always pass and draw nothing from the generator).
    """

    def __init__(
        self,
        target: str,
        *,
        rate: float = 0.0,
        kinds: Sequence[FaultKind] = ALL_KINDS,
        seed: int = 0,
        delay: float = 1.0,
        script: Sequence[FaultKind | None] | None = None,
        should_fault: Callable[[str, str], bool] | None = None,
        upstream_timeout: float = 30.0,
    ) -> None:
        parts = urlsplit(target)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the fault proxy only forwards to loopback targets, not {parts.hostname!r}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, not {rate!r}")
        if not kinds:
            raise ValueError("kinds must name at least one fault")
        self._target_host = parts.hostname
        self._target_port = parts.port or 80
        self.rate = rate
        self.kinds = tuple(FaultKind(kind) for kind in kinds)
        self.delay = delay
        self._rng = random.Random(seed)
        self._script = list(script) if script is not None else None
        self._should_fault = should_fault
        self._upstream_timeout = upstream_timeout
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._events: list[ProxyEvent] = []
        self._enabled = True
        self.upstream_errors = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        if self._server is not None:
            raise RuntimeError("the proxy is already running")
        server = _Server(("127.0.0.1", 0), _Handler, bind_and_activate=True)
        server.proxy = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fault-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut open connections, wake delayed requests and join every thread."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        server.server_close()
        assert self._thread is not None
        self._thread.join()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what the tests read -----------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of the proxy, without a path: ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, target_url: str) -> str:
        """The same URL (path kept) reached through the proxy instead of directly."""
        parts = urlsplit(target_url)
        return parts._replace(netloc=f"127.0.0.1:{self.port}").geturl()

    @property
    def events(self) -> list[ProxyEvent]:
        with self._lock:
            return list(self._events)

    @property
    def counts(self) -> dict[str, int]:
        """Injected faults by kind (only kinds that occurred)."""
        with self._lock:
            return dict(Counter(e.fault.value for e in self._events if e.fault is not None))

    @property
    def injected(self) -> int:
        with self._lock:
            return sum(1 for e in self._events if e.fault is not None)

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self._events)

    def set_enabled(self, enabled: bool) -> None:
        """Turn fault injection off (plain forwarding) or back on, e.g. for a final check."""
        with self._lock:
            self._enabled = enabled

    # -- the work ----------------------------------------------------------------------------

    def _decide(self, method: str, path: str) -> FaultKind | None:
        with self._lock:
            if not self._enabled:
                return None
            if self._should_fault is not None and not self._should_fault(method, path):
                return None
            if self._script is not None:
                return self._script.pop(0) if self._script else None
            # Always draw both numbers so one decision never shifts the ones after it.
            roll = self._rng.random()
            kind = self._rng.choice(self.kinds)
            return kind if roll < self.rate else None

    def _record(self, request: _Request, fault: FaultKind | None, forwarded: bool) -> None:
        with self._lock:
            self._events.append(ProxyEvent(request.method, request.target, fault, forwarded))

    def _forward(self, request: _Request) -> tuple[int, str, list[tuple[str, str]], bytes]:
        # A fresh upstream connection per request: a stale keep-alive can never make the proxy
        # resend a request the target may already have processed.
        conn = http.client.HTTPConnection(
            self._target_host, self._target_port, timeout=self._upstream_timeout
        )
        try:
            headers = {name: value for name, value in request.headers if name.lower() not in _HOP_BY_HOP}
            headers["Connection"] = "close"
            conn.request(request.method, request.target, body=request.body or None, headers=headers)
            response = conn.getresponse()
            body = response.read()
            kept = [
                (name, value)
                for name, value in response.getheaders()
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length"
            ]
            return response.status, response.reason, kept, body
        finally:
            conn.close()

    def _serve_connection(self, sock: socket.socket, rfile: io.BufferedIOBase) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            if self._stopping.is_set():
                return
            self._sockets.add(sock)
        try:
            while not self._stopping.is_set():
                try:
                    request = _read_request(rfile)
                except (_ClientGone, OSError, ValueError):
                    return
                try:
                    if not self._answer(sock, request):
                        return
                except OSError:
                    return  # the client went away while we answered
        finally:
            with self._lock:
                self._sockets.discard(sock)

    def _answer(self, sock: socket.socket, request: _Request) -> bool:
        """Handle one request; False when the connection must end."""
        fault = self._decide(request.method, request.target)
        close = not request.keep_alive
        if fault is FaultKind.RESET_BEFORE:
            self._record(request, fault, forwarded=False)
            _reset(sock)
            return False
        if fault in _PAGES:
            self._record(request, fault, forwarded=False)
            status, reason, body = _PAGES[fault]
            head = _head(status, reason, [("Content-Type", "text/html; charset=UTF-8")], len(body), close)
            sock.sendall(head + body)
            return not close
        if fault is FaultKind.DELAY and self._stopping.wait(self.delay):
            self._record(request, fault, forwarded=False)
            return False
        try:
            status, reason, headers, body = self._forward(request)
        except (OSError, http.client.HTTPException):
            with self._lock:
                self.upstream_errors += 1
            self._record(request, fault, forwarded=False)
            page = b"upstream unavailable\n"
            sock.sendall(_head(502, "Bad Gateway", [("Content-Type", "text/plain")], len(page), True) + page)
            return False
        self._record(request, fault, forwarded=True)
        if fault is FaultKind.RESET_AFTER:
            _reset(sock)
            return False
        if fault is FaultKind.TRUNCATE:
            sock.sendall(_head(status, reason, headers, len(body), close=True) + body[: len(body) // 2])
            return False
        try:
            sock.sendall(_head(status, reason, headers, len(body), close) + body)
        except OSError:
            return False  # a delayed answer whose client already gave up
        return not close


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes (bounded; returns the last result)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
