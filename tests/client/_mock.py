"""A scripted ``httpx.MockTransport``: replies (or exceptions) served in order, requests kept;
and ``Driven``, which calls a sync or an async client the same way."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httpx

KEY = "mock-secret-key-1234"
URL = "http://127.0.0.1:9/api"


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "message": "Success", "data": data, "timestamp": 1})


def fail(status: int, error: str, **extra: Any) -> httpx.Response:
    headers = extra.pop("headers", None)
    body = {"success": False, "error": error, "timestamp": 1, **extra}
    return httpx.Response(status, json=body, headers=headers)


def items(*rows: dict[str, Any]) -> httpx.Response:
    return ok({"items": list(rows), "count": len(rows)})


def task_row(task_id: int = 1, **fields: Any) -> dict[str, Any]:
    row = {
        "id": task_id,
        "type": "T",
        "status": "pending",
        "params": {"k": "v"},
        "result": None,
        "error_message": None,
        "priority": 0,
        "progress": 0,
        "attempts": 0,
        "claimed_by": None,
        "claimed_at": None,
        "completed_at": None,
        "created_at": "2026-11-23 06:18:29",
    }
    row.update(fields)
    return row


def type_row(type_id: int, name: str) -> dict[str, Any]:
    return {
        "id": type_id,
        "name": name,
        "version": "1",
        "param_schema": {"type": "object"},
        "is_active": 1,
        "created_at": "2026-11-23 06:18:29",
        "updated_at": "2026-11-23 06:18:29",
    }


NOTHING = ("500", "There is no active transaction")


class Script:
    """Serves the queued replies in order; raises the queued exceptions; records requests."""

    def __init__(self, *replies: httpx.Response | Exception) -> None:
        self.replies: deque[httpx.Response | Exception] = deque(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        reply = self.replies.popleft()
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        return self(request)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


class Driven:
    """A sync or async client whose methods answer at once, so one test serves both.

    An async client's coroutines run to the end on the test's event loop (``runner``); its async
    iterators (``iter_tasks``) are read to the end and given back as a plain iterator.
    """

    def __init__(self, client: Any, runner: asyncio.Runner | None) -> None:
        self.client = client
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.client, name)
        if self._runner is None or not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.settle(value(*args, **kwargs))

        return call

    def settle(self, result: Any) -> Any:
        """``result`` itself, or for an async client what it stands for: awaited, or read out."""
        if self._runner is None:
            return result
        if inspect.iscoroutine(result):
            return self._runner.run(result)
        if isinstance(result, AsyncIterator):
            return iter(self._runner.run(_read_out(result)))
        return result

    def close(self) -> None:
        self.settle(self.client.aclose() if self._runner is not None else self.client.close())

    def __repr__(self) -> str:
        return repr(self.client)


async def _read_out(rows: AsyncIterator[Any]) -> list[Any]:
    return [row async for row in rows]
