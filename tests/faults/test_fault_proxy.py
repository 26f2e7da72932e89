"""The fault-injecting proxy itself, against a tiny stdlib HTTP target."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from ._proxy import ALL_KINDS, FORWARDING_KINDS, FaultKind, FaultProxy, wait_until


class _Target(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.seen: list[tuple[str, str, bytes]] = []
        self.lock = threading.Lock()


class _EchoHandler(BaseHTTPRequestHandler):
    server: _Target
    protocol_version = "HTTP/1.1"

    def _echo(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.seen.append((self.command, self.path, body))
        status = 404 if self.path.startswith("/missing") else 200
        payload = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "body": body.decode(),
                "x": self.headers.get("X-Test"),
            }
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _echo

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def target() -> Iterator[_Target]:
    server = _Target()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _url(server: _Target) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _one(
    target: _Target, fault: FaultKind | None, timeout: float = 5.0, **kwargs: float
) -> tuple[FaultProxy, object]:
    """Send one POST through a proxy scripted with ``fault``; return the proxy and the outcome."""
    with FaultProxy(_url(target), script=[fault], **kwargs) as proxy:  # type: ignore[arg-type]
        with httpx.Client(timeout=timeout) as client:
            try:
                outcome: object = client.post(proxy.url + "/api/tasks", json={"a": 1})
            except httpx.HTTPError as exc:
                outcome = exc
        return proxy, outcome


def test_passes_requests_through_unchanged(target: _Target) -> None:
    """Without faults, method, path, body, headers and status reach each side unchanged."""
    with FaultProxy(_url(target), rate=0.0) as proxy, httpx.Client() as client:
        ok = client.post(proxy.url + "/api/tasks?x=1", content=b'{"k": "v"}', headers={"X-Test": "yes"})
        missing = client.get(proxy.url + "/missing")
        again = client.get(proxy.url + "/api/health")  # same keep-alive connection
    assert ok.status_code == 200
    assert ok.json() == {"method": "POST", "path": "/api/tasks?x=1", "body": '{"k": "v"}', "x": "yes"}
    assert missing.status_code == 404
    assert again.json()["path"] == "/api/health"
    assert [s[:2] for s in target.seen] == [
        ("POST", "/api/tasks?x=1"),
        ("GET", "/missing"),
        ("GET", "/api/health"),
    ]
    assert proxy.requests == 3 and proxy.injected == 0 and proxy.counts == {}
    assert all(e.forwarded and e.fault is None for e in proxy.events)


def test_passes_chunked_request_bodies(target: _Target) -> None:
    """A chunked request body is reassembled before forwarding."""
    with FaultProxy(_url(target)) as proxy, httpx.Client() as client:
        reply = client.post(proxy.url + "/x", content=iter([b"ab", b"cd", b"ef"]))
    assert reply.json()["body"] == "abcdef"


def test_reset_before_forwarding(target: _Target) -> None:
    """A reset-before fault breaks the connection and the target never sees the request."""
    proxy, outcome = _one(target, FaultKind.RESET_BEFORE)
    assert isinstance(outcome, httpx.TransportError)
    assert target.seen == []
    assert proxy.counts == {"reset_before": 1}
    assert proxy.events[0].forwarded is False


def test_reset_after_forwarding(target: _Target) -> None:
    """A reset-after fault lets the target do the work, then the client gets no reply."""
    proxy, outcome = _one(target, FaultKind.RESET_AFTER)
    assert isinstance(outcome, httpx.TransportError)
    assert [s[:2] for s in target.seen] == [("POST", "/api/tasks")]
    assert proxy.counts == {"reset_after": 1}
    assert proxy.events[0].forwarded is True


@pytest.mark.parametrize(("fault", "status"), [(FaultKind.STATUS_502, 502), (FaultKind.STATUS_503, 503)])
def test_gateway_errors(target: _Target, fault: FaultKind, status: int) -> None:
    """502/503 faults answer a gateway page without forwarding."""
    proxy, outcome = _one(target, fault)
    assert isinstance(outcome, httpx.Response)
    assert outcome.status_code == status
    assert outcome.headers["content-type"].startswith("text/html")
    assert target.seen == []
    assert proxy.counts == {fault.value: 1}


def test_html_error_page(target: _Target) -> None:
    """The HTML fault answers 200 with an HTML body that is not JSON."""
    _proxy, outcome = _one(target, FaultKind.HTML)
    assert isinstance(outcome, httpx.Response)
    assert outcome.status_code == 200
    assert outcome.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        outcome.json()
    assert target.seen == []


def test_truncated_body(target: _Target) -> None:
    """The truncate fault forwards, then sends half the promised body and closes."""
    proxy, outcome = _one(target, FaultKind.TRUNCATE)
    assert isinstance(outcome, httpx.RemoteProtocolError)
    assert len(target.seen) == 1
    assert proxy.counts == {"truncate": 1}


def test_delay_past_client_timeout_then_forwards(target: _Target) -> None:
    """The delay fault outlasts the client's timeout; the request still reaches the target."""
    with FaultProxy(_url(target), script=[FaultKind.DELAY], delay=1.0) as proxy:
        with httpx.Client(timeout=0.1) as client, pytest.raises(httpx.ReadTimeout):
            client.post(proxy.url + "/slow", json={})
        assert target.seen == []  # the client gave up before the proxy forwarded anything
        assert wait_until(lambda: len(target.seen) == 1, timeout=5.0)
    assert proxy.counts == {"delay": 1}


def test_seeded_decisions_repeat_and_count(target: _Target) -> None:
    """The same seed gives the same fault sequence; counts add up to what was injected."""

    def run(seed: int) -> list[FaultKind | None]:
        kinds = [k for k in ALL_KINDS if k is not FaultKind.DELAY]
        with FaultProxy(_url(target), rate=0.3, seed=seed, kinds=kinds) as proxy, httpx.Client() as client:
            for i in range(60):
                with contextlib.suppress(httpx.TransportError):
                    client.get(proxy.url + f"/r{i}")
            events = proxy.events
            assert sum(proxy.counts.values()) == proxy.injected == sum(e.fault is not None for e in events)
            forwarded = sum(e.forwarded for e in events)
        assert [e.path for e in events] == [f"/r{i}" for i in range(60)]
        assert forwarded == sum(e.fault is None or e.fault in FORWARDING_KINDS for e in events)
        return [e.fault for e in events]

    first, second, other = run(11), run(11), run(12)
    assert first == second
    assert first != other
    assert 5 <= sum(f is not None for f in first) <= 35  # about 30 % of 60
    assert len({f for f in first if f is not None}) >= 3


def test_should_fault_limits_injection(target: _Target) -> None:
    """Requests the predicate excludes always pass, even at rate 1."""
    only_claims = lambda method, path: path.endswith("/claim")  # noqa: E731
    proxy = FaultProxy(_url(target), rate=1.0, kinds=[FaultKind.STATUS_503], should_fault=only_claims)
    with proxy, httpx.Client() as client:
        assert client.get(proxy.url + "/tasks").status_code == 200
        assert client.post(proxy.url + "/tasks/claim").status_code == 503
    assert proxy.counts == {"status_503": 1}


def test_can_be_turned_off(target: _Target) -> None:
    """set_enabled(False) stops injection without restarting the proxy."""
    with FaultProxy(_url(target), rate=1.0, kinds=[FaultKind.STATUS_502]) as proxy, httpx.Client() as client:
        assert client.get(proxy.url + "/a").status_code == 502
        proxy.set_enabled(False)
        assert client.get(proxy.url + "/b").status_code == 200
    assert proxy.injected == 1


def test_upstream_down_is_a_plain_502(target: _Target) -> None:
    """A target that refuses connections gives a 502 that is not counted as an injected fault."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    with FaultProxy(f"http://127.0.0.1:{dead_port}") as proxy, httpx.Client() as client:
        assert client.get(proxy.url + "/x").status_code == 502
    assert proxy.upstream_errors == 1 and proxy.injected == 0


def test_stop_is_clean_and_prompt(target: _Target) -> None:
    """Stopping wakes a delayed request, closes the port and leaves no proxy threads behind."""
    before = set(threading.enumerate())
    proxy = FaultProxy(_url(target), rate=1.0, kinds=[FaultKind.DELAY], delay=30.0).start()
    port = proxy.port
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/x", timeout=60.0)
        except httpx.HTTPError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    assert wait_until(lambda: proxy.requests == 0 and len(threading.enumerate()) > len(before) + 2)
    started = time.monotonic()
    proxy.stop()
    caller.join(timeout=10.0)
    assert time.monotonic() - started < 5.0
    assert not caller.is_alive() and len(errors) == 1
    assert set(threading.enumerate()) <= before
    assert target.seen == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/x", timeout=1.0)
    proxy.stop()  # a second stop is harmless


def test_refuses_non_loopback_targets() -> None:
    """The proxy never forwards off the machine."""
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("http://example.com:80")
