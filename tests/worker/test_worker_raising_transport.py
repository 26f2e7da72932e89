"""A custom transport raising exceptions of its own (not httpx's) on some calls: what the task's
failure text says after sends kept raising, and how often progress reports that raise are logged."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

import httpx
import pytest

from taskmanager import TaskManagerClient, TaskStatus
from taskmanager._worker import Worker, WorkerTask
from taskmanager.server import LocalServer

from .conftest import config_for
from .worker_fakes import RecordingSleep

T = "Test.Raising"


class PathRaising(httpx.BaseTransport):
    """Forwards to the local server, except that a request whose path ends with ``suffix``
    raises ``RuntimeError`` (before it is sent) while ``raising(count)`` is true."""

    def __init__(self, suffix: str, raising: Callable[[int], bool]) -> None:
        self._inner = httpx.HTTPTransport()
        self._suffix = suffix
        self._raising = raising
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(self._suffix):
            self.count += 1
            if self._raising(self.count):
                raise RuntimeError("hook broke")
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def test_sends_that_kept_raising_are_named_as_such_in_the_failure(
    server: LocalServer, client: TaskManagerClient
) -> None:
    """The completion's first 3 sends raise: the failure sent instead says the result could not
    be sent and why, not that it was refused."""
    client.register_task_type(T, "1", {"type": "object"})
    task_id = client.create_task(T, {"n": 1}).id
    transport = PathRaising("/complete", lambda count: count <= 3)
    with TaskManagerClient(config_for(server), transport=transport) as raising:
        worker = Worker(raising, sleep=RecordingSleep())
        worker.add_handler(T, lambda task: {"ok": True})
        worker.run(max_tasks=1, handle_signals=False)
    task = client.get_task(task_id)
    assert (task.status, task.attempts) == (TaskStatus.PENDING, 1)  # failed back for a retry
    error = task.error_message or ""
    assert error.startswith("the handler's result could not be sent: 3 sends in a row raised RuntimeError")
    assert "refused" not in error


def test_progress_reports_that_raise_are_logged_once_per_episode(
    server: LocalServer, client: TaskManagerClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Five progress reports raise, then one goes through: one WARNING for the five, one when
    reports answer again, and the reports return False, then True."""
    client.register_task_type(T, "1", {"type": "object"})
    client.create_task(T, {"n": 1})
    transport = PathRaising("/progress", lambda count: count <= 5)
    ticks = itertools.count(step=100)  # past down_cap between calls: no report is skipped as "resting"
    with TaskManagerClient(config_for(server), transport=transport) as raising:
        worker = Worker(
            raising, sleep=RecordingSleep(), claim_timeout=2_000_000, clock=lambda: float(next(ticks))
        )
        answers: list[bool] = []

        @worker.handler(T)
        def report(task: WorkerTask) -> None:
            answers.extend(task.report_progress(10 * n) for n in range(6))

        with caplog.at_level(logging.DEBUG, logger="taskmanager.worker"):
            stats = worker.run(burst=True, handle_signals=False)
    assert stats.completed == 1 and transport.count == 6
    assert answers == [False] * 5 + [True]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert sum("update_progress raised" in m and "reply was lost" in m for m in warnings) == 1
    assert sum("update_progress answers again, after 5 call(s) in a row raised" in m for m in warnings) == 1
