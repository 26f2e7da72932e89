"""Every public client operation, runnable on the sync or the async client over a MockTransport."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import httpx

from taskmanager import AsyncTaskManagerClient, TaskManagerClient, TaskManagerConfig

URL = "http://127.0.0.1:9/api"  # never contacted: the transport is a MockTransport
KEY = "hostile-secret-key"
KINDS = ("sync", "async")


def _iter(client: Any) -> Any:
    if isinstance(client, AsyncTaskManagerClient):

        async def collect() -> list[Any]:
            return [row async for row in client.iter_tasks()]

        return collect()
    return list(client.iter_tasks())


# One call of each public method that raises on failure, with arguments the client accepts.
# (health_check answers every failure with an unhealthy Health instead: see HEALTH.)
HEALTH: Callable[[Any], Any] = lambda c: c.health_check()  # noqa: E731
OPS: dict[str, Callable[[Any], Any]] = {
    "register_task_type": lambda c: c.register_task_type("T", "1", {"type": "object"}),
    "get_task_type": lambda c: c.get_task_type("T"),
    "list_task_types": lambda c: c.list_task_types(),
    "create_task": lambda c: c.create_task("T", {"a": 1}),
    "claim_task_by_id": lambda c: c.claim_task(1, worker_id="w"),
    "claim_task_by_name": lambda c: c.claim_task("T", worker_id="w"),
    "update_progress": lambda c: c.update_progress(1, 5, worker_id="w"),
    "complete_task": lambda c: c.complete_task(1, worker_id="w", result={"ok": True}),
    "fail_task": lambda c: c.fail_task(1, worker_id="w", error="boom"),
    "get_task": lambda c: c.get_task(1),
    "list_tasks": lambda c: c.list_tasks(),
    "iter_tasks": _iter,
    "wait_for_task": lambda c: c.wait_for_task(1, timeout=0),
}


def config(**overrides: Any) -> TaskManagerConfig:
    values: dict[str, Any] = {"api_url": URL, "api_key": KEY, "retry_attempts": 0, **overrides}
    return TaskManagerConfig(**values)


def run(kind: str, op: Callable[[Any], Any], handler: Callable[[httpx.Request], httpx.Response]) -> Any:
    """Run ``op`` on a fresh client of ``kind`` whose every request goes to ``handler``."""
    if kind == "sync":
        with TaskManagerClient(config(), transport=httpx.MockTransport(handler)) as client:
            return op(client)

    async def main() -> Any:
        async def answer(request: httpx.Request) -> httpx.Response:
            return handler(request)

        async with AsyncTaskManagerClient(config(), transport=httpx.MockTransport(answer)) as client:
            result = op(client)
            return await result if inspect.isawaitable(result) else result

    return asyncio.run(main())


class Recorder:
    """Answers every request with one fixed reply and keeps the requests."""

    def __init__(
        self, status: int = 200, content: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        self.status, self.content, self.headers = status, content, headers or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, content=self.content, headers=self.headers)
