"""The outbox file's reads and writes: off the event loop, and never a silent loss when they fail."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from taskmanager import _worker_outbox_store as store_module
from taskmanager._errors import TaskManagerConnectionError
from taskmanager._worker import Worker

from .test_worker_outbox import _sleep_a_little, _stop_when
from .worker_fakes import AsyncFakeClient, FakeClient, RecordingSleep

A = "Test.OutboxIo.A"
B = "Test.OutboxIo.B"
WAIT = 10.0
# Shorter than the file's busy timeout (5 s): a loop stalled by the locked write cannot see the
# second task run before the lock holder gives up waiting for it.
HOLD = 3.0


def _client(fake: FakeClient, kind: str) -> Any:
    return fake if kind == "sync" else AsyncFakeClient(fake)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_file_locked_by_another_process_does_not_stall_the_loop(tmp_path: Path, kind: str) -> None:
    """While an outside connection holds the file in BEGIN EXCLUSIVE, task A's outcome waits to
    be saved; task B (an async handler, on the loop) still runs to the end during the hold; once
    the lock goes, A's outcome is saved and delivered and nothing is lost."""
    path = tmp_path / "outbox.db"
    fake = FakeClient()
    fake.add(A, {})
    fake.add(B, {})
    b_started = threading.Event()
    locked = threading.Event()
    a_returned = threading.Event()
    b_done_during_hold = threading.Event()
    released = threading.Event()

    def hold_lock() -> None:
        with closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("BEGIN EXCLUSIVE")
            locked.set()
            b_done_during_hold.wait(HOLD)
            released.set()
            db.execute("ROLLBACK")

    holder = threading.Thread(target=hold_lock)

    def handle_a(task: Any) -> dict[str, Any]:
        assert b_started.wait(WAIT)
        holder.start()
        assert locked.wait(WAIT)
        a_returned.set()
        return {"a": 1}

    async def handle_b(task: Any) -> dict[str, Any]:
        b_started.set()
        deadline = time.monotonic() + WAIT
        while not a_returned.is_set():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.005)
        for _ in range(20):  # loop ticks while A's outcome waits for the file
            await asyncio.sleep(0.005)
        if not released.is_set():
            b_done_during_hold.set()
        return {"b": 1}

    worker = Worker(_client(fake, kind), worker_id="w1", concurrency=2, sleep=RecordingSleep(), outbox=path)
    worker.add_handler(A, handle_a)
    worker.add_handler(B, handle_b)
    stats = worker.run(burst=True, handle_signals=False)
    holder.join(WAIT)
    assert b_done_during_hold.is_set(), "the loop stalled while the outbox file was locked"
    assert [(t.status, t.result) for t in fake.tasks.values()] == [
        ("completed", {"a": 1}),
        ("completed", {"b": 1}),
    ]
    assert (stats.completed, stats.lost, stats.outbox_pending) == (2, 0, 0)
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT COUNT(*) FROM outcomes").fetchone() == (0,)


class _Outage:
    def __init__(self, fake: FakeClient, failures: int) -> None:
        self.failures = failures
        self.attempts = 0
        complete = fake.complete_task

        def complete_task(*args: Any, **kwargs: Any) -> Any:
            self.attempts += 1
            if self.failures < 0 or self.attempts <= self.failures:
                raise TaskManagerConnectionError("connection refused", request_sent=False)
            return complete(*args, **kwargs)

        fake.complete_task = complete_task  # type: ignore[method-assign]


def _failing_puts(
    monkeypatch: pytest.MonkeyPatch, times: int, message: str = "database is locked"
) -> list[int]:
    """FileStore.put raises ``sqlite3.OperationalError`` its first ``times`` calls (-1: always)."""
    calls: list[int] = []
    put = store_module.FileStore.put

    def failing(self: store_module.FileStore, outcome: store_module.Outcome) -> None:
        calls.append(outcome.task_id)
        if times < 0 or len(calls) <= times:
            raise sqlite3.OperationalError(message)
        put(self, outcome)

    monkeypatch.setattr(store_module.FileStore, "put", failing)
    return calls


def test_a_failed_save_is_counted_saved_again_and_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The file refuses the first save (locked past its timeout); the outcome is still sent, the
    failure is logged with the task id and counted ``unsaved``; delivered later, nothing is lost."""
    calls = _failing_puts(monkeypatch, 1)
    fake = FakeClient()
    fake.add(A, {})
    _Outage(fake, failures=3)
    worker = Worker(fake, worker_id="w1", sleep=_sleep_a_little, outbox=tmp_path / "outbox.db")
    worker.add_handler(A, lambda task: {"a": 1})
    with caplog.at_level(logging.INFO, logger="taskmanager.worker"):
        stats = worker.run(burst=True, handle_signals=False)
    assert fake.tasks[1].status == "completed"
    assert len(calls) >= 2  # saved again at a retry
    assert (stats.completed, stats.unsaved, stats.lost, stats.outbox_pending) == (1, 1, 0, 0)
    assert "task 1: could not save its outcome in the outbox file" in caplog.text
    assert "task 1: its outcome is saved in the outbox file" in caplog.text


def test_an_outcome_the_file_never_took_is_lost_at_the_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every save fails and the API is down until the stop: the outcome is neither delivered nor
    saved, so the stop counts it lost and names its id (not "kept in the file")."""
    _failing_puts(monkeypatch, -1)
    fake = FakeClient()
    fake.add(A, {})
    outage = _Outage(fake, failures=-1)
    path = tmp_path / "outbox.db"
    worker = Worker(fake, worker_id="w1", sleep=_sleep_a_little, grace_period=0, outbox=path)
    worker.add_handler(A, lambda task: {"a": 1})
    watcher = _stop_when(worker, lambda: outage.attempts >= 3)
    with caplog.at_level(logging.INFO, logger="taskmanager.worker"):
        stats = worker.run(handle_signals=False)
    watcher.join(WAIT)
    assert (stats.completed, stats.unsaved, stats.lost, stats.outbox_pending) == (0, 1, 1, 0)
    assert "1 outcome(s) lost (not delivered, and the outbox file" in caplog.text
    assert "task(s) 1;" in caplog.text
    assert caplog.text.count("could not save its outcome") == 1  # said once, not per retry
    assert "for the next start" not in caplog.text


def test_a_full_disk_costs_no_outcome_that_is_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real SQLITE_FULL (the file capped at its current size) on a large result: the outcome is
    still delivered, the failed save counted; nothing is lost."""
    init = store_module.FileStore.__init__

    def capped(self: store_module.FileStore, path: Any) -> None:
        init(self, path)
        (pages,) = self._db.execute("PRAGMA page_count").fetchone()
        self._db.execute(f"PRAGMA max_page_count={pages}")

    monkeypatch.setattr(store_module.FileStore, "__init__", capped)
    fake = FakeClient()
    fake.add(A, {})
    _Outage(fake, failures=2)
    worker = Worker(fake, worker_id="w1", sleep=_sleep_a_little, outbox=tmp_path / "outbox.db")
    worker.add_handler(A, lambda task: {"blob": "x" * 200_000})
    stats = worker.run(burst=True, handle_signals=False)
    assert fake.tasks[1].status == "completed"
    assert (stats.completed, stats.unsaved, stats.lost) == (1, 1, 0)


def test_a_file_deleted_while_running_counts_its_outcomes_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The outbox file is removed under the running worker: what it held cannot reach the next
    start, so the stop counts it lost instead of saying it is kept."""
    path = tmp_path / "outbox.db"
    fake = FakeClient()
    fake.add(A, {})
    outage = _Outage(fake, failures=-1)

    def handle(task: Any) -> dict[str, Any]:
        for name in ("outbox.db", "outbox.db-wal", "outbox.db-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        return {"a": 1}

    worker = Worker(fake, worker_id="w1", sleep=_sleep_a_little, grace_period=0, outbox=path)
    worker.add_handler(A, handle)
    watcher = _stop_when(worker, lambda: outage.attempts >= 3)
    with caplog.at_level(logging.INFO, logger="taskmanager.worker"):
        stats = worker.run(handle_signals=False)
    watcher.join(WAIT)
    assert (stats.completed, stats.lost, stats.outbox_pending) == (0, 1, 0)
    assert "was deleted while running): task(s) 1;" in caplog.text
