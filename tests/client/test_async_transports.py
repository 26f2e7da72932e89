"""The async client behaves alike on httpx's own pool and on aiohttp's (``http_backend``).

Every scenario runs against real loopback servers, once per backend, and compares what the
caller sees: the result, or the error's class, ``request_sent`` and status, and how many times
the request reached the server (retried or not).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import sys
import threading
from collections.abc import Awaitable, Iterator
from typing import Any

import httpx
import pytest
from faults._proxy import FaultKind, FaultProxy, ProxyEvent, wait_until

from taskmanager import (
    AsyncTaskManagerClient,
    TaskManagerConfig,
    TaskManagerConnectionError,
    TaskManagerError,
    TaskManagerEventLoopError,
    TaskManagerTimeoutError,
    TaskManagerValidationError,
    TaskStatus,
    Worker,
)
from taskmanager._http_pool import new_pool
from taskmanager._worker import AsyncWorkerTask
from taskmanager.server import LocalServer

pytest.importorskip("httpx_aiohttp")

BACKENDS = ("httpx", "aiohttp")
CHOOSES_HTTP_BACKEND = True  # --http-backend leaves these tests alone
KEY = "transport-test-key"
T = "Transport.Test"
SCHEMA = {"type": "object"}

Outcome = tuple[Any, ...]


def client_for(url: str, backend: str, **config: Any) -> AsyncTaskManagerClient:
    return AsyncTaskManagerClient(TaskManagerConfig(api_url=url, api_key=KEY, http_backend=backend, **config))


def outcome_of(coro: Awaitable[Any]) -> Outcome:
    """What the caller sees: the error's class, request_sent and status; or "ok"."""

    async def main() -> Outcome:
        try:
            await coro
        except TaskManagerError as exc:
            return (type(exc), getattr(exc, "request_sent", None), exc.status_code)
        return ("ok",)

    return asyncio.run(main())


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer(api_key=KEY) as srv:
        yield srv


def _seed(url: str) -> tuple[int, int]:
    """A task type and one task of it; their ids."""

    async def main() -> tuple[int, int]:
        async with client_for(url, "httpx") as client:
            type_id = (await client.register_task_type(T, "1.0.0", SCHEMA)).id
            return type_id, (await client.create_task(T, {"n": 1})).id

    return asyncio.run(main())


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_operation_on_a_real_server(server: LocalServer, backend: str) -> None:
    """Each call works the same way."""
    name = "Transport.Odd-name_1"

    async def main() -> list[Any]:
        async with client_for(server.url, backend) as client:
            seen: list[Any] = [(await client.health_check()).ok]
            await client.register_task_type(name, "1.0.0", SCHEMA)
            seen.append((await client.get_task_type(name)).name)
            created = await client.create_task(name, {"b": [1, 2], "a": "é"})
            again = await client.create_task(name, {"a": "é", "b": [1, 2]})
            seen.append((created.created, again.created, again.id == created.id))
            claimed = await client.claim_task(name, worker_id="w1")
            assert claimed is not None
            seen.append((await client.update_progress(claimed.id, 50, worker_id="w1")).progress)
            await client.complete_task(claimed.id, worker_id="w1", result={"ok": "ü"})
            task = await client.get_task(claimed.id)
            seen.append((task.status, task.result))
            seen.append(await client.claim_task(name, worker_id="w1"))
            seen.append([row.id for row in await client.list_tasks(type=name)])
            return seen

    assert asyncio.run(main()) == [
        True,
        name,
        (True, False, True),
        50,
        (TaskStatus.COMPLETED, {"ok": "ü"}),
        None,
        [1],
    ]


FAULTS = [
    FaultKind.RESET_BEFORE,
    FaultKind.RESET_AFTER,
    FaultKind.STATUS_502,
    FaultKind.DELAY,
    FaultKind.TRUNCATE,
    FaultKind.HTML,
]


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_looks_the_same_on_both(server: LocalServer, fault: FaultKind) -> None:
    """One fault on a get, no retries: the same error class, request_sent and status."""
    _, task_id = _seed(server.url)
    seen = {}
    for backend in BACKENDS:
        with FaultProxy(server.url, script=[fault], delay=1.5) as proxy:
            client = client_for(proxy.url_for(server.url), backend, retry_attempts=0, timeout=0.5)
            seen[backend] = outcome_of(_then_close(client, client.get_task(task_id)))
    assert seen["aiohttp"] == seen["httpx"]
    assert seen["httpx"] != ("ok",) and issubclass(seen["httpx"][0], TaskManagerError)


async def _then_close(client: AsyncTaskManagerClient, call: Awaitable[Any]) -> Any:
    try:
        return await call
    finally:
        await client.aclose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_lost_claim_reply_is_not_retried(server: LocalServer, backend: str, no_sleep: None) -> None:
    """The server took the claim, the reply was lost: one request only, request_sent True."""
    type_id, task_id = _seed(server.url)
    with FaultProxy(server.url, script=[FaultKind.RESET_AFTER]) as proxy:
        client = client_for(proxy.url_for(server.url), backend, retry_attempts=3)
        result = outcome_of(_then_close(client, client.claim_task(type_id, worker_id="w1")))
        claims = [e for e in proxy.events if e.path.endswith("/tasks/claim")]
    assert result == (TaskManagerConnectionError, True, None)
    assert len(claims) == 1 and claims[0].forwarded
    client = client_for(server.url, "httpx")
    assert asyncio.run(_then_close(client, client.get_task(task_id))).status is TaskStatus.CLAIMED


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_timed_out_claim_is_not_retried(server: LocalServer, backend: str, no_sleep: None) -> None:
    type_id, _ = _seed(server.url)
    with FaultProxy(server.url, script=[FaultKind.DELAY], delay=1.5) as proxy:
        client = client_for(proxy.url_for(server.url), backend, retry_attempts=3, timeout=0.5)
        result = outcome_of(_then_close(client, client.claim_task(type_id, worker_id="w1")))

        def claims() -> list[ProxyEvent]:
            return [e for e in proxy.events if e.path.endswith("/tasks/claim")]

        # The delayed claim is recorded when it reaches the server, after any retry would have.
        assert wait_until(lambda: bool(claims()), timeout=10)
        assert [e.fault for e in claims()] == [FaultKind.DELAY]
    assert result == (TaskManagerTimeoutError, True, None)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_gateway_error_is_retried_then_succeeds(server: LocalServer, backend: str, no_sleep: None) -> None:
    _, task_id = _seed(server.url)
    with FaultProxy(server.url, script=[FaultKind.STATUS_503, FaultKind.RESET_BEFORE]) as proxy:
        client = client_for(proxy.url_for(server.url), backend, retry_attempts=3)
        task = asyncio.run(_then_close(client, client.get_task(task_id)))
        gets = [e for e in proxy.events if e.path.endswith(f"/tasks/{task_id}")]
    assert task.id == task_id
    assert [e.fault for e in gets] == [FaultKind.STATUS_503, FaultKind.RESET_BEFORE, None]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_refused_connection_was_never_sent(backend: str, no_sleep: None) -> None:
    client = client_for(f"http://127.0.0.1:{_closed_port()}/api", backend, retry_attempts=2)
    assert outcome_of(_then_close(client, client.claim_task(1, worker_id="w1"))) == (
        TaskManagerConnectionError,
        False,
        None,
    )


@contextlib.contextmanager
def raw_server(reply: bytes) -> Iterator[str]:
    """A loopback server that reads one request per connection and answers ``reply`` as is."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                    conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.mark.parametrize(
    "reply",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"succ',
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]",
        b"",
    ],
    ids=["not-http", "short-body", "not-an-envelope", "closed"],
)
def test_a_broken_reply_looks_the_same_on_both(reply: bytes) -> None:
    seen = {}
    with raw_server(reply) as url:
        for backend in BACKENDS:
            client = client_for(url, backend, retry_attempts=0)
            seen[backend] = outcome_of(_then_close(client, client.get_task(1)))
    assert seen["aiohttp"] == seen["httpx"]
    assert seen["httpx"] != ("ok",) and issubclass(seen["httpx"][0], TaskManagerError)


@pytest.mark.parametrize("backend", BACKENDS)
def test_another_open_event_loop_is_refused(server: LocalServer, backend: str) -> None:
    client = client_for(server.url, backend)
    first = asyncio.new_event_loop()
    try:
        first.run_until_complete(client.health_check())
        with pytest.raises(TaskManagerEventLoopError) as info:
            asyncio.run(client.claim_task(1, worker_id="w1"))
        assert info.value.request_sent is False
        assert first.run_until_complete(client.health_check()).ok
    finally:
        first.run_until_complete(client.aclose())
        first.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_client_serves_asyncio_run_in_turn(server: LocalServer, backend: str) -> None:
    """Each asyncio.run() gets a fresh pool of the same kind; the old one's sockets are closed
    (an unclosed aiohttp session or socket warns when collected, and warnings are errors here)."""
    client = client_for(server.url, backend)

    async def check() -> type:
        assert (await client.health_check()).ok
        return type(client._pool.current)

    kinds = [asyncio.run(check()) for _ in range(3)]
    asyncio.run(client.aclose())
    gc.collect()
    assert len(set(kinds)) == 1
    assert (kinds[0] is httpx.AsyncClient) is (backend == "httpx")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_async_worker_on_either_backend(server: LocalServer, backend: str) -> None:
    async def main() -> tuple[int, list[Any]]:
        async with client_for(server.url, backend) as client:
            await client.register_task_type(T, "1.0.0", SCHEMA)
            ids = [(await client.create_task(T, {"n": n})).id for n in range(6)]
            worker = Worker(client, worker_id="w-transport", concurrency=3)

            @worker.handler(T)
            async def double(task: AsyncWorkerTask) -> dict[str, Any]:
                return {"double": task.params["n"] * 2}

            stats = await worker.arun(burst=True)
            return stats.completed, [(await client.get_task(i)).result for i in ids]

    assert asyncio.run(main()) == (6, [{"double": 2 * n} for n in range(6)])


def test_the_backend_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx unless asked; asked by config or environment; a transport passed in wins."""
    url = "http://127.0.0.1:9/api"

    def pool(config: TaskManagerConfig, transport: httpx.AsyncBaseTransport | None = None) -> Any:
        return new_pool(httpx.AsyncClient, config, {}, transport)

    assert TaskManagerConfig().http_backend == "httpx"
    assert type(pool(TaskManagerConfig(api_url=url))) is httpx.AsyncClient
    assert TaskManagerConfig.from_env({"TASKMANAGER_HTTP_BACKEND": "aiohttp"}).http_backend == "aiohttp"
    monkeypatch.setenv("TASKMANAGER_HTTP_BACKEND", "aiohttp")
    assert AsyncTaskManagerClient(api_url=url).config.http_backend == "aiohttp"
    assert type(pool(TaskManagerConfig.from_env(api_url=url))) is not httpx.AsyncClient
    mock = httpx.MockTransport(lambda request: httpx.Response(204))
    assert pool(TaskManagerConfig(api_url=url, http_backend="aiohttp"), mock)._transport is mock
    with pytest.raises(TaskManagerValidationError, match="http_backend"):
        TaskManagerConfig(http_backend="curl")


def test_without_the_extra_the_choice_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused when the config is made, before any call; httpx is unaffected."""
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)  # as if not installed
    with pytest.raises(TaskManagerValidationError, match=r"taskmanager\[aiohttp\]"):
        client_for("http://127.0.0.1:9/api", "aiohttp")
    assert client_for("http://127.0.0.1:9/api", "httpx").config.http_backend == "httpx"


def test_tls_settings_are_the_same_on_aiohttp() -> None:
    """A loopback plain-HTTP pool gets the context that trusts no CA; https keeps full verification."""
    import ssl

    def context(url: str) -> ssl.SSLContext:
        pool: Any = new_pool(
            httpx.AsyncClient, TaskManagerConfig(api_url=url, http_backend="aiohttp"), {}, None
        )
        return pool._transport.ssl_context  # type: ignore[no-any-return]

    loopback, remote = context("http://127.0.0.1:9/api"), context("https://x.example/api")
    assert loopback.verify_mode == ssl.CERT_REQUIRED and loopback.check_hostname
    assert loopback.cert_store_stats()["x509_ca"] == 0
    assert remote.verify_mode == ssl.CERT_REQUIRED and remote.cert_store_stats()["x509_ca"] > 0
