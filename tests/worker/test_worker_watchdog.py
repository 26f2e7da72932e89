"""An async handler that blocks the event loop (time.sleep in an async def) is warned about,
naming its task and handler, since signals and stop() wait for the loop meanwhile."""

from __future__ import annotations

import logging
import time

import pytest

from taskmanager._worker import AsyncWorkerTask

from .test_worker_runtime import T, make_worker
from .worker_fakes import FakeClient

WAIT = 10.0  # the handler gives up blocking after this, so a missing warning fails, not hangs


def _blocked_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in list(caplog.records) if "event loop has been blocked" in r.getMessage()]


def test_an_async_handler_blocking_the_loop_is_named(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeClient()
    task = fake.add(T, {})
    worker = make_worker(fake, concurrency=1)
    worker._blocked_loop_warning = 0.1
    seen: list[bool] = []

    async def blocks_the_loop(t: AsyncWorkerTask) -> dict[str, bool]:
        deadline = time.monotonic() + WAIT
        while not _blocked_lines(caplog) and time.monotonic() < deadline:
            time.sleep(0.01)  # blocking on purpose: the loop cannot run anything meanwhile
        seen.append(bool(_blocked_lines(caplog)))
        return {"ok": True}

    worker.add_handler(T, blocks_the_loop)
    with caplog.at_level(logging.WARNING, logger="taskmanager.worker"):
        stats = worker.run(burst=True, handle_signals=False)
    assert seen == [True] and stats.completed == 1
    lines = _blocked_lines(caplog)
    assert len(lines) == 1
    assert f"task {task.id} ({T})" in lines[0] and "blocks_the_loop" in lines[0]
    assert "sync handler" in lines[0]


def test_a_sync_handler_sleeping_is_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    """A sync handler runs in a thread: however long it takes, the loop is free."""
    fake = FakeClient()
    fake.add(T, {})
    worker = make_worker(fake, concurrency=1)
    worker._blocked_loop_warning = 0.1

    def sleeps(t: object) -> None:
        deadline = time.monotonic() + 0.5  # several watchdog intervals
        while time.monotonic() < deadline:
            time.sleep(0.01)

    worker.add_handler(T, sleeps)
    with caplog.at_level(logging.WARNING, logger="taskmanager.worker"):
        assert worker.run(burst=True, handle_signals=False).completed == 1
    assert _blocked_lines(caplog) == []
