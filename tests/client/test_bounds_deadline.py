"""``timeout`` bounds a whole request: a server dripping bytes cannot hold a call open longer."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpcore
import httpx
import pytest

from taskmanager import AsyncTaskManagerClient, TaskManagerClient, TaskManagerTimeoutError, WaitTimeoutError
from taskmanager._sync_deadline import DeadlineClient, _Backend, wrap_backend

from ._bounds_clients import KINDS, config, run
from ._bounds_server import drip, json_reply, serve
from ._mock import task_row

CHOOSES_HTTP_BACKEND = True  # each test names its clients
TIMEOUT = 2.0
# Generous: today a drip holds the call for as long as the server goes on (tens of seconds).
BOUND = TIMEOUT + 3.0

HEADER_DRIP = drip(b"HTTP/1.1 200 OK\r\nX-Slow: ")
BODY_DRIP = drip(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{")
DRIPS = {"headers": HEADER_DRIP, "body": BODY_DRIP}


def _timed(kind: str, url: str, op: Any, **overrides: Any) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(TaskManagerTimeoutError) as caught:
        run(kind, url, op, timeout=TIMEOUT, **overrides)
    return caught.value, time.monotonic() - started


@pytest.mark.parametrize("phase", sorted(DRIPS))
@pytest.mark.parametrize("kind", KINDS)
def test_drip_is_cut_at_the_timeout(kind: str, phase: str) -> None:
    """A reply dripped a byte every 0.5 s (status line and headers, or the body) ends in a
    TaskManagerTimeoutError about timeout seconds after the call, request_sent True."""
    with serve([DRIPS[phase]]) as server:
        error, took = _timed(kind, server.url, lambda c: c.get_task(1))
    assert took < BOUND, f"{kind}/{phase}: held for {took:.1f}s with timeout={TIMEOUT}"
    assert isinstance(error, TaskManagerTimeoutError)
    assert error.request_sent is True
    assert (error.method, error.path) == ("GET", "/tasks/1")


@pytest.mark.parametrize("kind", KINDS)
def test_dripped_claim_is_not_sent_again(kind: str) -> None:
    """A claim whose reply drips past the deadline may have claimed a task: it is not retried."""
    with serve([HEADER_DRIP, HEADER_DRIP, HEADER_DRIP]) as server:
        error, took = _timed(kind, server.url, lambda c: c.claim_task(7, worker_id="w"), retry_attempts=2)
        requests = list(server.requests)
    assert took < BOUND
    assert error.request_sent is True
    assert len(requests) == 1, requests


def _task(status: str, claimed_by: str | None) -> bytes:
    item = task_row(3, status=status, claimed_by=claimed_by, result={"ok": True})
    return json.dumps({"success": True, "data": {"items": [item], "count": 1}}).encode()


NOT_CLAIMED = json.dumps({"success": False, "error": "Task is not in claimed state"}).encode()


@pytest.mark.parametrize("kind", KINDS)
def test_dripped_completion_is_verified_like_a_lost_reply(kind: str, no_sleep: None) -> None:
    """A completion whose reply drips past the deadline is sent again; the retry's "not claimed"
    is checked with a GET, which shows the first attempt did the job: a verified outcome."""
    replies = [HEADER_DRIP, json_reply(400, NOT_CLAIMED), json_reply(200, _task("completed", "w"))]
    with serve(replies) as server:
        started = time.monotonic()
        outcome = run(
            kind,
            server.url,
            lambda c: c.complete_task(3, worker_id="w", result={"ok": True}),
            timeout=TIMEOUT,
            retry_attempts=2,
        )
        took = time.monotonic() - started
        requests = list(server.requests)
    assert took < BOUND + TIMEOUT
    assert outcome.message == "Task completed (verified)"
    assert [line.split()[:2] for line in requests] == [
        [b"POST", b"/api/tasks/3/complete"],
        [b"POST", b"/api/tasks/3/complete"],
        [b"GET", b"/api/tasks/3"],
    ]


def test_sync_pool_wraps_httpx_network_backend() -> None:
    """The sync client's own pool reaches httpcore's network backend through the two private
    attributes ``_sync_deadline`` relies on: when httpx renames them, this fails loudly."""
    with DeadlineClient() as client:
        transport = client._transport
        assert isinstance(transport, httpx.HTTPTransport)
        pool = transport._pool
        assert isinstance(pool, httpcore.ConnectionPool)
        assert isinstance(pool._network_backend, _Backend)
    assert wrap_backend(httpx.MockTransport(lambda request: httpx.Response(200))) is False


def test_env_proxy_transport_keeps_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy taken from the environment gets a transport that keeps the deadline too."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with DeadlineClient() as client:
        proxied = [t for t in client._mounts.values() if t is not None]
        assert proxied
        for transport in proxied:
            assert isinstance(transport._pool._network_backend, _Backend)  # type: ignore[attr-defined]


def test_own_sync_pool_body_drip_is_cut_between_chunks() -> None:
    """With an http_client of the caller's own (no socket deadline), a dripped body is still cut
    at the timeout: the clock is checked after each chunk."""
    with serve([BODY_DRIP]) as server:
        started = time.monotonic()
        with (
            httpx.Client(timeout=TIMEOUT) as http,
            TaskManagerClient(config(server.url, timeout=TIMEOUT), http_client=http) as client,
            pytest.raises(TaskManagerTimeoutError) as caught,
        ):
            client.get_task(1)
        took = time.monotonic() - started
    assert took < BOUND
    assert caught.value.request_sent is True


def test_own_async_pool_header_drip_is_cut() -> None:
    """The async client keeps the deadline on an http_client of the caller's own too."""

    async def main() -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            client = AsyncTaskManagerClient(config(server.url, timeout=TIMEOUT), http_client=http)
            async with client:
                await client.get_task(1)

    with serve([HEADER_DRIP]) as server:
        started = time.monotonic()
        with pytest.raises(TaskManagerTimeoutError):
            asyncio.run(main())
        took = time.monotonic() - started
    assert took < BOUND


@pytest.mark.parametrize("kind", KINDS)
def test_wait_for_task_is_bounded_by_its_own_timeout(kind: str) -> None:
    """A stalled poll is cut at the wait's timeout, not at the config's (longer) request timeout
    times every retry: WaitTimeoutError, its cause the poll's TaskManagerTimeoutError."""
    with serve([HEADER_DRIP] * 4) as server:
        started = time.monotonic()
        with pytest.raises(WaitTimeoutError) as caught:
            run(
                kind, server.url, lambda c: c.wait_for_task(1, timeout=TIMEOUT), timeout=8.0, retry_attempts=3
            )
        took = time.monotonic() - started
        requests = list(server.requests)
    assert took < BOUND, f"{kind}: the wait of {TIMEOUT} s took {took:.1f} s"
    assert caught.value.task_id == 1
    assert isinstance(caught.value.__cause__, TaskManagerTimeoutError)
    assert len(requests) == 1  # no retry started past the wait's end
