"""A completion the server (or a proxy before it) refuses for good ends in a bounded, counted way:
413 fails the task as too large; another 4xx the client has no class for, or a refusal of even the
plainest failure, is given up and counted ``refused``, never retried or carried over forever."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from taskmanager import TaskManagerClient, TaskStatus
from taskmanager._errors import make_status_error
from taskmanager._worker import Worker
from taskmanager.server import LocalServer

from .conftest import CLAIM_TIMEOUT, config_for
from .worker_fakes import RecordingSleep

T = "Test.Refusals"
WAIT = 20  # a run that retries forever is stopped after this, so the test fails instead of hanging
BIGGER_THAN_THE_SERVER_TAKES = 17 * 1024 * 1024  # the local server answers 413 past 16 MiB


class RefusingOutcomes:
    """A ``TaskManagerClient`` whose completions and failures are answered ``status``."""

    def __init__(self, client: TaskManagerClient, status: int) -> None:
        self._client = client
        self._status = status
        self.refused: list[str] = []

    def _refuse(self, what: str) -> Any:
        self.refused.append(what)
        raise make_status_error(self._status, f"HTTP {self._status} from a proxy", method="POST")

    def complete_task(self, *args: Any, **kwargs: Any) -> Any:
        return self._refuse("complete" if kwargs.get("success", True) else "fail")

    def fail_task(self, *args: Any, **kwargs: Any) -> Any:
        return self._refuse("fail")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _run_guarded(worker: Worker) -> Any:
    guard = threading.Timer(WAIT, lambda: (worker.stop(), worker.stop()))
    guard.start()
    try:
        return worker.run(burst=True, handle_signals=False)
    finally:
        guard.cancel()


def _rows(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:  # closed: Python 3.13 warns of an open one
        count: int = db.execute("SELECT count(*) FROM outcomes").fetchone()[0]
    return count


@pytest.mark.parametrize("on_file", [False, True], ids=["memory", "file"])
def test_a_result_too_large_for_the_server_fails_the_task(
    on_file: bool, client: TaskManagerClient, server: LocalServer, tmp_path: Path
) -> None:
    """413 to a completion: the task is failed with a short reason (the server's own retries run)."""
    client.register_task_type(T, "1.0.0", {"type": "object"})
    task_id = client.create_task(T, {"n": 1}).id
    outbox = tmp_path / "outbox.db" if on_file else None
    with TaskManagerClient(config_for(server)) as worker_client:
        worker = Worker(worker_client, worker_id="w-big", sleep=RecordingSleep(), outbox=outbox)
        worker.add_handler(T, lambda task: {"blob": "x" * BIGGER_THAN_THE_SERVER_TAKES})
        stats = _run_guarded(worker)
    task = client.get_task(task_id)
    assert (task.status, task.error_message) == (
        TaskStatus.FAILED,
        "the handler's result was too large for the server (HTTP 413)",
    )
    assert (stats.failed, stats.completed, stats.lost, stats.outbox_pending) == (3, 0, 0, 0)
    if outbox is not None:
        assert _rows(outbox) == 0


@pytest.mark.parametrize("status", [405, 409, 410, 418, 422])
def test_an_outcome_refused_for_good_is_given_up_counted_and_not_kept(
    status: int,
    client: TaskManagerClient,
    server: LocalServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each refusal is tried a bounded number of times (the result, its failure, a plain failure),
    then given up: counted refused, not lost, logged with the task id, nothing left in the file;
    the task is released by the server when its claim times out."""
    client.register_task_type(T, "1.0.0", {"type": "object"})
    task_id = client.create_task(T, {"n": 1}).id
    outbox = tmp_path / "outbox.db"
    with TaskManagerClient(config_for(server)) as worker_client:
        refusing = RefusingOutcomes(worker_client, status)
        worker = Worker(refusing, worker_id="w-refused", sleep=RecordingSleep(), outbox=outbox)
        worker.add_handler(T, lambda task: {"ok": True})
        with caplog.at_level(logging.ERROR, "taskmanager.worker"):
            stats = _run_guarded(worker)
    assert refusing.refused == ["complete", "fail", "fail"]
    assert (stats.refused, stats.lost, stats.completed, stats.failed, stats.outbox_pending) == (1, 0, 0, 0, 0)
    assert f"task {task_id} ({T}): every outcome was refused" in caplog.text
    assert _rows(outbox) == 0
    assert client.get_task(task_id).status is TaskStatus.CLAIMED
    server.advance(CLAIM_TIMEOUT + 1)
    again = client.claim_task(T, worker_id="w-next")
    assert again is not None and again.id == task_id
