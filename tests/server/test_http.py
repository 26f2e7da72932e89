"""The HTTP layer of the local server: strict parsing, early refusals and bounded resources."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from taskmanager import AsyncTaskManagerClient, TaskManagerAPIError, TaskManagerClient, TaskManagerConfig
from taskmanager.server import LocalServer, _http

from .conftest import API_KEY


def _connect(server: LocalServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_reply(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Bytes until the end of the first response head (or EOF), within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\r\n\r\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no reply within {timeout} s: {data!r}")
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def _exchange(server: LocalServer, request: bytes) -> int:
    with _connect(server) as sock:
        sock.sendall(request)
        return _status(_read_reply(sock))


def _head(method: str, path: str, *headers: str, version: str = "HTTP/1.1") -> bytes:
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _closed_within(sock: socket.socket, timeout: float) -> bool:
    """Whether the server closes the connection (EOF or reset) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            return False
        except OSError:
            return True
    return False


KEY = f"X-API-Key: {API_KEY}"


def _wait_for_connections(server: LocalServer, done: Callable[[list[float | None]], bool]) -> None:
    """Poll (bounded) until the server's open connections (idle since / None if busy) fit ``done``."""
    http_server = server._server
    assert http_server is not None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with http_server._connections_lock:
            states = list(http_server._connections.values())
        if done(states):
            return
        time.sleep(0.01)
    raise AssertionError(f"connections never reached the expected state: {states}")


def _a_newcomer_closes_the_first(server: LocalServer, socks: list[socket.socket]) -> None:
    """A keyed request at the cap is served, and the server closed the first of ``socks`` for it,
    none of the others. Read from the server's connections: a refused connection that is being
    discarded has already ended its side of the stream, so EOF on the client would not tell."""
    http_server = server._server
    assert http_server is not None
    with httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}, timeout=5) as other:
        assert other.get("/tasks").status_code == 200
        with http_server._connections_lock:
            open_ports = {sock.getpeername()[1] for sock in http_server._connections}
    ports = [sock.getsockname()[1] for sock in socks]
    assert ports[0] not in open_ports and set(ports[1:]) <= open_ports, (ports, open_ports)


def _held_first(
    monkeypatch: pytest.MonkeyPatch, method: str, *, after: bool
) -> tuple[socket.socket, threading.Event]:
    """A socket to connect whose handler thread waits (for the event, 5 s at most) before or
    after each call of ``_Handler.<method>``: the other connections' threads run first."""
    first = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    first.bind(("127.0.0.1", 0))
    first.settimeout(5)
    first_port = first.getsockname()[1]
    release = threading.Event()
    original = getattr(_http._Handler, method)

    def held(handler: _http._Handler, *args: Any) -> Any:
        if handler.client_address[1] == first_port and not after:
            release.wait(5)
        result = original(handler, *args)
        if handler.client_address[1] == first_port and after:
            release.wait(5)
        return result

    monkeypatch.setattr(_http._Handler, method, held)
    return first, release


def _wait_for_heads(server: LocalServer, count: int) -> None:
    """Poll (bounded) until ``count`` connections are reading a request head."""
    http_server = server._server
    assert http_server is not None
    deadline = time.monotonic() + 5
    while len(http_server._heads) < count:
        assert time.monotonic() < deadline, f"{len(http_server._heads)} heads, never {count}"
        time.sleep(0.01)


# -- judged on the head, before the body -------------------------------------------------------


@pytest.mark.parametrize("expect", [True, False])
def test_wrong_key_is_answered_before_the_body(server: LocalServer, expect: bool) -> None:
    """401 comes at once for a 64 MB declared body, without 100 Continue and without the body."""
    headers = ["Content-Type: application/json", "Content-Length: 67108864"]
    if expect:
        headers.append("Expect: 100-continue")
    with _connect(server) as sock:
        sock.sendall(_head("POST", "/api/tasks", "X-API-Key: wrong", *headers))
        reply = _read_reply(sock)
        assert reply.startswith(b"HTTP/1.1 401 "), reply
        assert b"100 Continue" not in reply
        assert b"Connection: close" in reply


def test_declared_body_over_the_limit_is_413_at_once(server: LocalServer) -> None:
    too_big = _http.MAX_BODY + 1
    with _connect(server) as sock:
        sock.sendall(_head("POST", "/api/tasks", KEY, f"Content-Length: {too_big}", "Expect: 100-continue"))
        reply = _read_reply(sock)
        assert _status(reply) == 413 and b"100 Continue" not in reply


def test_100_continue_only_after_the_key_was_checked(server: LocalServer) -> None:
    body = b'{"name": "A.B", "version": "1", "param_schema": {"type": "object"}}'
    with _connect(server) as sock:
        sock.sendall(
            _head(
                "POST",
                "/api/task-types/register",
                KEY,
                f"Content-Length: {len(body)}",
                "Expect: 100-continue",
            )
        )
        assert _read_reply(sock).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        assert _status(_read_reply(sock)) == 200


def test_wrong_key_without_a_body_keeps_the_connection(server: LocalServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_head("GET", "/api/tasks", "X-API-Key: wrong") * 2)
        first = _read_reply(sock)
        assert _status(first) == 401 and b"Connection: close" not in first


# -- chunked bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size", [b"-1", b"+5", b"0x5", b" 5", b"5 5", b"", b"g", b"1" + b"0" * 20, b"FFFFFFFFF"]
)
def test_bad_chunk_sizes_are_400_at_once(server: LocalServer, size: bytes) -> None:
    """The connection stays open (no EOF): a lenient parser would wait to read to the end."""
    with _connect(server) as sock:
        sock.sendall(_head("POST", "/api/tasks", KEY, "Transfer-Encoding: chunked") + size + b"\r\nabcde\r\n")
        assert _status(_read_reply(sock)) == 400


def test_chunk_sizes_beyond_the_body_limit_are_413(server: LocalServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_head("POST", "/api/tasks", KEY, "Transfer-Encoding: chunked") + b"FFFFFFFF\r\nab")
        assert _status(_read_reply(sock)) == 413


def test_a_valid_chunked_body_is_read(server: LocalServer) -> None:
    body = b'{"name": "A.B", "version": "1", "param_schema": {"type": "object"}}'
    chunked = b"".join(
        (
            b"%x;ext=1\r\n" % len(body[:10]),
            body[:10],
            b"\r\n",
            b"%X\r\n" % len(body[10:]),
            body[10:],
            b"\r\n0\r\n",
        )
    )
    request = _head("POST", "/api/task-types/register", KEY, "Transfer-Encoding: chunked") + chunked
    assert _exchange(server, request + b"Trailer-Field: x\r\n\r\n") == 200


# -- strict request heads (RFC 9112) -------------------------------------------------------------

BAD_HEADS = {
    "content-length with underscore": _head("POST", "/api/tasks", KEY, "Content-Length: 1_0"),
    "content-length with plus": _head("POST", "/api/tasks", KEY, "Content-Length: +10"),
    "content-length negative": _head("POST", "/api/tasks", KEY, "Content-Length: -1"),
    "content-length hex": _head("POST", "/api/tasks", KEY, "Content-Length: 0x10"),
    "content-length list": _head("POST", "/api/tasks", KEY, "Content-Length: 2, 2"),
    "content-length huge": _head("POST", "/api/tasks", KEY, "Content-Length: " + "9" * 40),
    "two differing content-lengths": _head(
        "POST", "/api/tasks", KEY, "Content-Length: 2", "Content-Length: 3"
    ),
    "content-length and chunked": _head(
        "POST", "/api/tasks", KEY, "Content-Length: 2", "Transfer-Encoding: chunked"
    ),
    "space before colon": _head("GET", "/api/tasks", "X-API-Key : " + API_KEY),
    "obs-fold": _head("GET", "/api/tasks", KEY, "X-Other: a", " folded"),
    "unsupported version": _head("GET", "/api/health", version="HTTP/9.9"),
    "lower-case version": _head("GET", "/api/health", version="http/1.1"),
    "two api keys": _head("GET", "/api/tasks", KEY, KEY),
    "two hosts": _head("GET", "/api/health", "Host: other"),
    "no host": b"GET /api/health HTTP/1.1\r\n\r\n",
    "double space": b"GET  /api/health HTTP/1.1\r\nHost: x\r\n\r\n",
    "raw non-ascii target": b"GET /api/tasks/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    "control in value": _head("GET", "/api/health", "X-Other: a\x01b"),
    "chunked on http/1.0": _head("POST", "/api/tasks", KEY, "Transfer-Encoding: chunked", version="HTTP/1.0"),
}


@pytest.mark.parametrize("request_bytes", BAD_HEADS.values(), ids=BAD_HEADS.keys())
def test_malformed_heads_are_400(server: LocalServer, request_bytes: bytes) -> None:
    assert _exchange(server, request_bytes) == 400


def test_unknown_transfer_coding_is_501(server: LocalServer) -> None:
    assert _exchange(server, _head("POST", "/api/tasks", KEY, "Transfer-Encoding: gzip, chunked")) == 501


def test_whitespace_around_a_content_length_is_not_part_of_it(server: LocalServer) -> None:
    """Optional whitespace around a field value is the header syntax's, not the number's."""
    body = b'{"name": "A.B", "version": "1", "param_schema": {"type": "object"}}'
    head = _head("POST", "/api/task-types/register", KEY, f"Content-Length: \t{len(body)} ")
    same_twice = _head(
        "POST",
        "/api/task-types/register",
        KEY,
        f"Content-Length: {len(body)}",
        f"Content-Length: {len(body)}",
    )
    assert _exchange(server, head + body) == 200
    assert _exchange(server, same_twice + body) == 200


def test_huge_header_line_and_many_headers_are_431(server: LocalServer) -> None:
    assert _exchange(server, _head("GET", "/api/health", "X-Big: " + "a" * (_http.MAX_LINE + 1))) == 431
    many = [f"X-H{i}: v" for i in range(_http.MAX_HEADERS + 1)]
    assert _exchange(server, _head("GET", "/api/health", *many)) == 431
    assert (
        _exchange(server, ("GET /api/health?" + "a" * _http.MAX_LINE + " HTTP/1.1\r\n\r\n").encode()) == 414
    )


# -- slow and idle clients -------------------------------------------------------------------------


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_http, "HEAD_TIMEOUT", 1.0)
    monkeypatch.setattr(_http, "BODY_TIMEOUT", 1.0)
    monkeypatch.setattr(_http, "IDLE_TIMEOUT", 1.0)
    yield


def test_a_slow_head_is_cut_off(short_timeouts: None, server: LocalServer) -> None:
    """Slowloris: a byte every 0.2 s keeps each recv alive, but the head has a deadline."""
    with _connect(server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        deadline = time.monotonic() + 5
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                sock.sendall(b"X")
            except OSError:
                closed = True
                break
            closed = _closed_within(sock, 0.2)
        assert closed


def test_a_slow_body_is_cut_off(short_timeouts: None, server: LocalServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_head("POST", "/api/tasks", KEY, "Content-Length: 100") + b"{")
        assert _closed_within(sock, 5)


def test_an_idle_keep_alive_connection_is_closed(short_timeouts: None, server: LocalServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_head("GET", "/api/health"))
        assert _status(_read_reply(sock)) == 200
        assert _closed_within(sock, 5)


def test_connections_are_bounded(monkeypatch: pytest.MonkeyPatch, server: LocalServer) -> None:
    """At the cap an idle connection makes room; when all are busy a newcomer gets 503."""
    monkeypatch.setattr(_http, "MAX_CONNECTIONS", 6)
    idle = []
    for _ in range(6):
        sock = _connect(server)
        sock.sendall(_head("GET", "/api/health"))
        assert _status(_read_reply(sock)) == 200
        idle.append(sock)
    try:
        _wait_for_connections(server, lambda states: len(states) == 6 and None not in states)
        with httpx.Client(base_url=server.url, timeout=5) as other:
            assert other.get("/health").status_code == 200  # an idle one was closed for it
        assert sum(_closed_within(sock, 0.5) for sock in idle) >= 1
        for sock in idle:
            sock.close()
        _wait_for_connections(server, lambda states: not states)
        busy = []
        for _ in range(6):
            sock = _connect(server)
            # With the key, a body that never comes: busy, and not to be closed for a newcomer.
            sock.sendall(_head("POST", "/api/tasks", KEY, "Content-Length: 10"))
            busy.append(sock)
        _wait_for_connections(server, lambda states: len(states) == 6 and all(s is None for s in states))
        with _connect(server) as newcomer:
            newcomer.sendall(_head("GET", "/api/health"))
            assert _status(_read_reply(newcomer)) == 503
        for sock in busy:
            sock.close()
    finally:
        for sock in idle:
            with contextlib.suppress(OSError):
                sock.close()


def test_heads_that_never_end_cannot_hold_every_connection(
    monkeypatch: pytest.MonkeyPatch, server: LocalServer
) -> None:
    """Slow heads (no key seen yet) at the cap: each newcomer takes the place of the oldest."""
    monkeypatch.setattr(_http, "MAX_CONNECTIONS", 6)
    slow = []
    try:
        for _ in range(6):
            sock = _connect(server)
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")  # never finished
            slow.append(sock)
        _wait_for_connections(server, lambda states: len(states) == 6 and all(s is None for s in states))
        with contextlib.ExitStack() as stack:
            for _ in range(3):  # kept open: each one needs a place of its own
                other = stack.enter_context(
                    httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}, timeout=5)
                )
                assert other.get("/tasks").status_code == 200
            assert [_closed_within(sock, 2) for sock in slow[:3]] == [True] * 3  # the oldest went
            assert not _closed_within(slow[3], 0.2)
    finally:
        for sock in slow:
            sock.close()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("OPTIONS", "/api/tasks", 200), ("GET", "/api/health", 200), ("POST", "/api/health", 404)],
)
def test_a_body_where_no_key_is_needed_is_never_read(
    server: LocalServer, method: str, path: str, status: int
) -> None:
    """OPTIONS and the open paths answer from the head: a keyless body is not waited for or
    buffered (it would hold the shared body budget that keyed writes need)."""
    http_server = server._server
    assert http_server is not None
    with _connect(server) as sock:
        sock.sendall(_head(method, path, f"Content-Length: {_http.MAX_BODY}"))
        reply = _read_reply(sock)  # within its timeout, though no byte of the body was sent
        assert _status(reply) == status and b"Connection: close" in reply
        assert http_server.budget._free == _http.MAX_BUFFERED


def test_refused_bodies_being_discarded_cannot_hold_every_connection(
    monkeypatch: pytest.MonkeyPatch, server: LocalServer
) -> None:
    """Keyless bodies answered 401 and then discarded: each newcomer takes one's place."""
    monkeypatch.setattr(_http, "MAX_CONNECTIONS", 6)
    monkeypatch.setattr(_http, "_LINGER", (30.0, 1024 * 1024))
    http_server = server._server
    assert http_server is not None
    refused = []
    try:
        for _ in range(6):
            sock = _connect(server)
            sock.sendall(_head("POST", "/api/tasks", "Content-Length: 1000000") + b"x" * 1000)
            assert _status(_read_reply(sock)) == 401
            refused.append(sock)
        _wait_for_heads(server, 6)
        _a_newcomer_closes_the_first(server, refused)
    finally:
        for sock in refused:
            sock.close()


HELD_FIRST = {
    # The first connection's handler thread starts last, and only then reads its head.
    "slow head": ("setup", False, b"GET /api/health HTTP/1.1\r\nHost: x\r\n", None),
    # The first connection's handler thread stops right after sending its refusal, while the
    # others answer theirs and start discarding the body.
    "refused body": (
        "_sendall",
        True,
        _head("POST", "/api/tasks", "Content-Length: 1000000") + b"x" * 1000,
        401,
    ),
    "malformed head": ("_sendall", True, _head("POST", "/api/tasks", KEY, "Content-Length: 1_0") + b"x", 400),
}


@pytest.mark.parametrize(("method", "after", "request_bytes", "status"), HELD_FIRST.values(), ids=HELD_FIRST)
def test_the_first_connection_goes_first_whichever_thread_runs_first(
    monkeypatch: pytest.MonkeyPatch,
    server: LocalServer,
    method: str,
    after: bool,
    request_bytes: bytes,
    status: int | None,
) -> None:
    """At the cap the newcomer closes the connection accepted (or answered) first, even when its
    handler thread gets to run after the others' threads."""
    monkeypatch.setattr(_http, "MAX_CONNECTIONS", 3)
    monkeypatch.setattr(_http, "_LINGER", (30.0, 1024 * 1024))
    first, release = _held_first(monkeypatch, method, after=after)
    held = [first]
    try:
        first.connect(("127.0.0.1", server.port))
        for _ in range(2):
            held.append(_connect(server))
        for sock in held:
            sock.sendall(request_bytes)  # a head never finished, or a refused request
            if status is not None:
                assert _status(_read_reply(sock)) == status
        _wait_for_heads(server, 2)  # all but the first
        release.set()
        _wait_for_heads(server, 3)
        _a_newcomer_closes_the_first(server, held)
        if status is None:  # nothing was sent back to a slow head: EOF is the server's close
            assert _closed_within(first, 2)
    finally:
        release.set()
        for sock in held:
            sock.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_result_over_the_body_limit_is_answered_413_to_either_client(
    server: LocalServer, kind: str
) -> None:
    """The 413 comes before the body; the rest of the body is read, not reset, so a client still
    writing it reads the answer (the async client used to see only a reset connection)."""
    config = TaskManagerConfig(api_url=server.url, api_key=API_KEY, retry_attempts=0)
    big = {"s": "x" * (_http.MAX_BODY + 4 * 1024 * 1024)}
    with TaskManagerClient(config) as client:
        client.register_task_type("Big", "1", {"type": "object"})
        client.create_task("Big", {"i": 1})
        task = client.claim_task("Big", worker_id="w")
        assert task is not None
        if kind == "sync":
            with pytest.raises(TaskManagerAPIError) as refused:
                client.complete_task(task.id, big, worker_id="w")
        else:

            async def complete() -> None:
                async with AsyncTaskManagerClient(config) as other:
                    await other.complete_task(task.id, big, worker_id="w")

            with pytest.raises(TaskManagerAPIError) as refused:
                asyncio.run(complete())
        assert refused.value.status_code == 413
        assert client.get_task(task.id).status.value == "claimed"  # nothing was done with it


def test_a_body_is_held_twice_at_most_while_it_is_read() -> None:
    """A 16 MB body received in small pieces: the reader's memory peaks at about two copies of
    it (what the body budget allows for), not three (read buffer, slice and copy)."""
    size = 16 * 1024 * 1024
    ours, theirs = socket.socketpair()
    with ours, theirs:
        reader = _http._Reader(ours)
        head = b"POST /api/tasks HTTP/1.1\r\n\r\n"

        def send() -> None:
            theirs.sendall(head)
            for _ in range(size // 65536):
                theirs.sendall(b"x" * 65536)

        sender = threading.Thread(target=send)
        tracemalloc.start()
        try:
            sender.start()
            assert reader.line(_http.MAX_LINE, time.monotonic() + 30, 414) == head[:-4]
            assert reader.line(_http.MAX_LINE, time.monotonic() + 30, 431) == b""
            body = reader.exact(size, time.monotonic() + 30)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            sender.join(30)
    assert body == b"x" * size
    assert peak < 2.3 * size, f"peak {peak / size:.2f}x the body"
