"""What only the async client has: event loops and its pool; and the checks that it is the sync
client awaited (same code, signatures and docstrings).

The behaviour both clients share (results, retries, safety) is tested once for both, in
test_client.py.
"""

from __future__ import annotations

import ast
import asyncio
import gc
import inspect
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskmanager import (
    AsyncTaskManagerClient,
    TaskManagerClient,
    TaskManagerConfig,
    TaskManagerConnectionError,
    TaskManagerEventLoopError,
    TaskManagerValidationError,
    TaskStatus,
    _wire,
)
from taskmanager.server import LocalServer

from ._mock import KEY, URL, Script, items, ok, type_row

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_sleep")]

CLAIMED = {
    "id": 4,
    "type": "T",
    "params": {"k": "v"},
    "attempts": 1,
    "priority": 0,
    "message": "Task claimed",
}
CALL = _wire.health_check()
PACKAGE = Path(__file__).resolve().parents[2] / "taskmanager"


def make(script: Script, **config: Any) -> AsyncTaskManagerClient:
    cfg = TaskManagerConfig(api_url=URL, api_key=KEY, **config)
    return AsyncTaskManagerClient(cfg, transport=httpx.MockTransport(script))


# How each client gets its connection pool differs by design (the async one builds a pool per
# event loop): those methods, and the first two statements of _send that fetch the pool, are
# left out. Everything else must be the same code, awaited.
POOL_METHODS = {"__init__", "close", "aclose", "release_connections"}
RENAMED = {
    "asleep": "sleep",
    "AsyncIterator": "Iterator",
    "AsyncTaskManagerClient": "TaskManagerClient",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "aclose": "close",
}


class _Unasync(ast.NodeTransformer):
    """Rewrite async code as the sync code it should equal: no await, no async def/for."""

    def visit_Await(self, node: ast.Await) -> ast.AST:
        return self.visit(node.value)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        new = ast.FunctionDef(**{field: getattr(node, field) for field in node._fields})
        new.name = RENAMED.get(node.name, node.name)
        return self.generic_visit(new)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> ast.AST:
        return self.generic_visit(ast.For(**{field: getattr(node, field) for field in node._fields}))

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = RENAMED.get(node.id, node.id)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        node.attr = RENAMED.get(node.attr, node.attr)
        return self.generic_visit(node)


def _methods(source: str, unasync: bool) -> dict[str, str]:
    """Each method of the client class in ``source`` as a syntax dump without docstrings."""
    tree = ast.parse(source)
    if unasync:
        tree = _Unasync().visit(tree)
    [klass] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name.endswith("Client")]
    found: dict[str, str] = {}
    for node in klass.body:
        if not isinstance(node, ast.FunctionDef) or node.name in POOL_METHODS:
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        if node.name == "_send":
            body = body[2:]  # how the pool is fetched, then the closed-client check
        node.body = body
        found[node.name] = ast.dump(node)
    return found


def _client_source(name: str) -> str:
    return (PACKAGE / name).read_text(encoding="utf-8")


def test_async_client_is_the_sync_client_awaited() -> None:
    """Every method the two clients share is the same code, awaited (no drifting twins).

    The retry loop is in neither: both run _retry.send, a pure generator; _send is one attempt.
    """
    sync = _methods(_client_source("_client.py"), unasync=False)
    awaited = _methods(_client_source("_async_client.py"), unasync=True)
    assert sync.keys() == awaited.keys()
    assert {"_run", "_send", "create_task", "iter_tasks"} <= sync.keys()
    for name in sync:
        assert sync[name] == awaited[name], name


def test_the_twin_check_sees_a_change_in_logic() -> None:
    """The comparison above is not blind: one changed constant in _send is a difference."""
    source = _client_source("_async_client.py")
    changed = source.replace("self._base + call.path", "call.path")
    assert changed != source
    sync = _methods(_client_source("_client.py"), unasync=False)
    assert _methods(changed, unasync=True)["_send"] != sync["_send"]
    assert _methods(source, unasync=True)["_send"] == sync["_send"]


def test_same_docstrings() -> None:
    """Each method both clients have says the same in both (written twice so that IDEs show it)."""
    shared = 0
    for name, method in inspect.getmembers(TaskManagerClient, inspect.isfunction):
        twin = getattr(AsyncTaskManagerClient, name, None)
        if name.startswith("_") or twin is None or twin is method:
            continue
        shared += 1
        assert inspect.getdoc(twin) == inspect.getdoc(method), name
    assert shared >= 15


def test_same_public_methods_and_signatures() -> None:
    """Every public sync method has an async twin with the same parameters."""
    renamed = {"close": "aclose"}
    for name, method in inspect.getmembers(TaskManagerClient, inspect.isfunction):
        if name.startswith("_"):
            continue
        twin = getattr(AsyncTaskManagerClient, renamed.get(name, name))
        assert inspect.signature(method).parameters.keys() == inspect.signature(twin).parameters.keys(), name


def test_a_second_event_loop_is_refused_before_sending() -> None:
    """A client used from another event loop, still open, raises and sends nothing.

    httpx's pooled connection belongs to the first loop; reused from a second one, the claim
    went out and its reply was lost to a raw "RuntimeError: Event loop is closed".
    """
    with LocalServer(api_key=KEY) as server:
        client = AsyncTaskManagerClient(api_url=server.url, api_key=KEY)
        first = asyncio.new_event_loop()
        try:
            first.run_until_complete(client.register_task_type("T", "1", {"type": "object"}))
            task = first.run_until_complete(client.create_task("T", {"a": 1}))
            for call in (client.claim_task("T", worker_id="w1"), client.aclose()):
                with pytest.raises(TaskManagerConnectionError, match="another event loop") as info:
                    asyncio.run(call)
                assert info.value.request_sent is False
            assert first.run_until_complete(client.get_task(task.id)).status is TaskStatus.PENDING
        finally:
            first.run_until_complete(client.aclose())
            first.close()


def test_one_client_serves_asyncio_run_in_turn() -> None:
    """After asyncio.run() closes its loop, the next asyncio.run() gets a fresh pool.

    Nothing of the first loop's pool is left to warn (pytest turns warnings into errors, and
    collecting the garbage here brings out an unclosed socket).
    """
    with LocalServer(api_key=KEY) as server:
        client = AsyncTaskManagerClient(api_url=server.url, api_key=KEY)
        asyncio.run(client.register_task_type("T", "1", {"type": "object"}))
        task = asyncio.run(client.create_task("T", {"a": 1}))
        claimed = asyncio.run(client.claim_task("T", worker_id="w1"))
        assert claimed is not None and claimed.id == task.id
        asyncio.run(client.complete_task(task.id, worker_id="w1", result={"ok": 1}))
        assert asyncio.run(client.get_task(task.id)).status is TaskStatus.COMPLETED
        asyncio.run(client.aclose())
        gc.collect()


def test_mock_transport_follows_to_a_new_loop() -> None:
    """An httpx.MockTransport keeps no connections: the client takes it along to the next loop."""
    health = {"status": "healthy", "timestamp": 1795414708, "database": "connected"}
    script = Script(ok(health), items(type_row(5, "T")))
    client = make(script)
    assert asyncio.run(client.health_check()).ok
    assert asyncio.run(client.get_task_type("T")).id == 5
    asyncio.run(client.aclose())
    assert script.paths() == ["GET /api/health", "GET /api/task-types/T"]


def test_a_pool_passed_in_is_not_replaced() -> None:
    """With the caller's http_client or real transport, a closed first loop still means a refusal."""
    health = {"status": "healthy", "timestamp": 1795414708, "database": "connected"}
    http = httpx.AsyncClient(transport=httpx.MockTransport(Script(ok(health))))
    own_http = AsyncTaskManagerClient(api_url=URL, api_key=KEY, http_client=http)
    asyncio.run(own_http.health_check())
    own_transport = AsyncTaskManagerClient(api_url=URL, api_key=KEY, transport=httpx.AsyncHTTPTransport())
    asyncio.run(own_transport.aclose())  # binds it to that loop too
    for client in (own_http, own_transport):
        with pytest.raises(TaskManagerEventLoopError, match="passed in") as info:
            asyncio.run(client.health_check())
        assert (info.value.request_sent, info.value.path) == (False, "/health")
    asyncio.run(http.aclose())


async def test_transport_choices() -> None:
    """http_client and transport together are refused; a loopback HTTP pool skips the CA bundle."""
    import ssl

    http = httpx.AsyncClient()
    with pytest.raises(TaskManagerValidationError, match="not both"):
        AsyncTaskManagerClient(api_url=URL, http_client=http, transport=httpx.MockTransport(Script()))
    await http.aclose()
    async with AsyncTaskManagerClient(api_url=URL, api_key=KEY) as client:
        context = (await client._pool.acquire(CALL))._transport._pool._ssl_context  # type: ignore[union-attr]
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert context.cert_store_stats()["x509_ca"] == 0
    async with AsyncTaskManagerClient(api_url="https://x.example/api", api_key=KEY) as client:
        context = (await client._pool.acquire(CALL))._transport._pool._ssl_context  # type: ignore[union-attr]
        assert context.verify_mode == ssl.CERT_REQUIRED and context.cert_store_stats()["x509_ca"] > 0


def test_release_connections_inside_the_loop_then_another_loop() -> None:
    """release_connections() closes the loop's pool inside it; the next loop builds its own.

    The first loop is still open when the second runs: without the release that call would be
    refused; after it the client is free to move.
    """
    with LocalServer(api_key=KEY) as server:
        client = AsyncTaskManagerClient(api_url=server.url, api_key=KEY)
        first = asyncio.new_event_loop()
        try:
            first.run_until_complete(client.register_task_type("T", "1", {"type": "object"}))
            pool = client._pool.current
            assert pool is not None and not pool.is_closed
            with pytest.raises(TaskManagerEventLoopError):
                asyncio.run(client.release_connections())  # only the pool's own loop can close it
            first.run_until_complete(client.release_connections())
            assert pool.is_closed and client._pool.current is None
            first.run_until_complete(client.release_connections())  # twice is harmless
            task = asyncio.run(client.create_task("T", {"a": 1}))
            assert client._pool.current is None  # that asyncio.run() released its own pool
            # The client now belongs to no loop: the first one may use it again.
            assert first.run_until_complete(client.get_task(task.id)).id == task.id
            first.run_until_complete(client.aclose())
        finally:
            first.close()
        gc.collect()


def test_a_loop_closed_without_release_gets_a_new_pool() -> None:
    """A loop closed by loop.close() alone strands its pool: the next loop drops it and builds anew.

    Nothing can close those sockets any more (only their loop could), so the garbage collector
    does, with a ResourceWarning; no request of the old loop can be waiting, so nothing is lost.
    """
    with LocalServer(api_key=KEY) as server:
        client = AsyncTaskManagerClient(api_url=server.url, api_key=KEY)
        first = asyncio.new_event_loop()
        first.run_until_complete(client.register_task_type("T", "1", {"type": "object"}))
        stranded = client._pool.current
        first.close()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            task = asyncio.run(client.create_task("T", {"a": 1}))
            assert client._pool.current is not stranded
            del stranded
            gc.collect()
        assert task.created is True
        asyncio.run(client.aclose())


def test_closed_client_stays_closed_on_a_new_loop() -> None:
    """After aclose() no loop builds a new pool: every call is the closed-client error."""
    script = Script(ok({"status": "healthy", "timestamp": 1795414708, "database": "connected"}))
    client = make(script)
    asyncio.run(client.health_check())
    asyncio.run(client.aclose())
    with pytest.raises(TaskManagerConnectionError, match="client is closed"):
        asyncio.run(client.health_check())
    assert len(script.requests) == 1
