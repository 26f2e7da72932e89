"""Run one operation on a fresh client of each kind the bounds must hold for, against a URL."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from taskmanager import AsyncTaskManagerClient, TaskManagerClient, TaskManagerConfig

# The sync client (httpx.Client), the async client on httpx's own pool, and on aiohttp's.
KINDS = ("sync", "async", "aiohttp")


def config(url: str, **overrides: Any) -> TaskManagerConfig:
    values: dict[str, Any] = {"api_url": url, "api_key": "bounds-key", "retry_attempts": 0, **overrides}
    return TaskManagerConfig(**values)


def run(kind: str, url: str, op: Callable[[Any], Any], **overrides: Any) -> Any:
    """``op(client)`` on a new client of ``kind``; its result, or the exception it raised."""
    if kind == "sync":
        with TaskManagerClient(config(url, **overrides)) as client:
            return op(client)
    backend = "aiohttp" if kind == "aiohttp" else "httpx"

    async def main() -> Any:
        async with AsyncTaskManagerClient(config(url, http_backend=backend, **overrides)) as client:
            result = op(client)
            return await result if inspect.isawaitable(result) else result

    return asyncio.run(main())
