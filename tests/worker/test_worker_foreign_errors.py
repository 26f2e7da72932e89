"""A custom httpx transport raising an exception that is not httpx's (RuntimeError, ValueError,
an OSError subclass) while the worker reports: the outcome is kept and sent again (the request
may have reached the server), the log names the exception, and sending ends in a bounded way."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from taskmanager import TaskManagerClient, TaskStatus
from taskmanager._worker import Worker, WorkerStats
from taskmanager.server import LocalServer

from .conftest import config_for
from .worker_fakes import RecordingSleep

T = "Test.Foreign"


class RaisingTransport(httpx.BaseTransport):
    """Forwards to the local server; ``decide(request, count)`` says whether to raise, and
    whether before or after the request was sent ("before" / "after" / None)."""

    def __init__(self, exc: Exception, decide: Callable[[httpx.Request, int], str | None]) -> None:
        self._inner = httpx.HTTPTransport()
        self._exc = exc
        self._decide = decide
        self.completions = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        when = None
        if request.url.path.endswith("/complete"):
            self.completions += 1
            when = self._decide(request, self.completions)
        if when == "before":
            raise self._exc
        response = self._inner.handle_request(request)
        if when == "after":
            response.read()
            response.close()
            raise self._exc
        return response

    def close(self) -> None:
        self._inner.close()


def _run(
    server: LocalServer,
    plain: TaskManagerClient,
    transport: RaisingTransport,
    caplog: pytest.LogCaptureFixture,
) -> tuple[WorkerStats, int]:
    plain.register_task_type(T, "1", {"type": "object"})
    task_id = plain.create_task(T, {"n": 1}).id
    with TaskManagerClient(config_for(server), transport=transport) as client:
        worker = Worker(client, sleep=RecordingSleep(), max_attempts=1)
        worker.add_handler(T, lambda task: {"ok": True})
        with caplog.at_level(logging.INFO, logger="taskmanager.worker"):
            stats = worker.run(burst=True, handle_signals=False)
    return stats, task_id


@pytest.mark.parametrize(
    "exc", [RuntimeError("hook broke"), ValueError("hook refused"), ConnectionResetError("raw socket")]
)
@pytest.mark.parametrize("when", ["before", "after"])
def test_a_completion_whose_send_raised_once_is_delivered(
    server: LocalServer,
    client: TaskManagerClient,
    caplog: pytest.LogCaptureFixture,
    exc: Exception,
    when: str,
) -> None:
    """Raised once, before or after the request went out: the task ends completed, nothing lost,
    and the log names the exception's type."""
    transport = RaisingTransport(exc, lambda request, count: when if count == 1 else None)
    stats, task_id = _run(server, client, transport, caplog)
    task = client.get_task(task_id)
    assert (task.status, task.result) == (TaskStatus.COMPLETED, {"ok": True})
    assert (stats.completed, stats.lost, stats.refused) == (1, 0, 0)
    assert any(type(exc).__name__ in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert not any("internal error" in r.getMessage() for r in caplog.records)


def test_a_completion_whose_every_send_raises_ends_bounded(
    server: LocalServer, client: TaskManagerClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Every completion and failure raises: a bounded number of sends, then the outcome is
    counted ``refused`` and logged with the task id; the run ends."""
    transport = RaisingTransport(RuntimeError("always"), lambda request, count: "before")
    stats, task_id = _run(server, client, transport, caplog)
    assert client.get_task(task_id).status is TaskStatus.CLAIMED  # nothing ever reached the server
    assert (stats.completed, stats.refused, stats.lost) == (0, 1, 0)
    assert transport.completions <= 9
    refused = [r.getMessage() for r in caplog.records if "every outcome was refused" in r.getMessage()]
    assert len(refused) == 1 and f"task {task_id}" in refused[0] and "RuntimeError" in refused[0]
