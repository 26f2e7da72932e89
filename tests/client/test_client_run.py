"""How a client drives an operation: a StopIteration out of the transport or an event hook is
an error of that code, never taken for the operation's end (which would return None)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from taskmanager import AsyncTaskManagerClient, TaskManagerClient, TaskManagerConfig

from ._mock import KEY, URL, Driven, Script

pytestmark = pytest.mark.usefixtures("no_sleep")

CALLS: dict[str, Callable[[Any], Any]] = {
    "get_task": lambda c: c.get_task(1),
    "claim_task": lambda c: c.claim_task("T"),
    "complete_task": lambda c: c.complete_task(1, {"a": 1}, worker_id="w"),
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_stop_iteration_from_the_transport_is_not_a_result(kind: str, call: str) -> None:
    """Sync and async alike: a RuntimeError naming it, after the one request."""
    script = Script(StopIteration())
    config = TaskManagerConfig(api_url=URL, api_key=KEY, retry_attempts=0)
    with asyncio.Runner() as runner:
        if kind == "sync":
            client = Driven(TaskManagerClient(config, transport=httpx.MockTransport(script)), None)
        else:
            transport = httpx.MockTransport(script.handle_async)
            client = Driven(AsyncTaskManagerClient(config, transport=transport), runner)
        try:
            with pytest.raises(RuntimeError, match="StopIteration"):
                CALLS[call](client)
        finally:
            client.close()
    assert len(script.requests) == 1
