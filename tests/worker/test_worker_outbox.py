"""Outcomes the API did not take are kept and delivered later, in this process or the next."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import select
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator, Mapping
from contextlib import closing
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from taskmanager import TaskManagerClient
from taskmanager._errors import (
    TaskManagerConnectionError,
    TaskManagerNotFoundError,
    TaskManagerRateLimitError,
)
from taskmanager._worker import Worker, WorkerStats

from .worker_fakes import FakeClient, RecordingSleep

T = "Test.Outbox"
WAIT = 10


class Outage:
    """Makes the fake's completions fail (connection refused) while ``down`` is set."""

    def __init__(self, fake: FakeClient) -> None:
        self.down = threading.Event()
        self.attempts = 0
        complete = fake.complete_task

        def complete_task(*args: Any, **kwargs: Any) -> Any:
            if self.down.is_set():
                self.attempts += 1
                raise TaskManagerConnectionError("connection refused", request_sent=False)
            return complete(*args, **kwargs)

        fake.complete_task = complete_task  # type: ignore[method-assign]


def test_outcome_is_retried_until_delivered_however_long_the_outage() -> None:
    """Twenty failed completion attempts in a row: the result is still delivered, counted late."""
    fake = FakeClient()
    fake.add(T, {})
    fake.complete_errors.extend([TaskManagerConnectionError("connection refused")] * 20)
    worker = Worker(fake, worker_id="w1", sleep=RecordingSleep(), down_cap=5.0, poll_interval=1.0)
    worker.add_handler(T, lambda task: {"ok": True})
    stats = worker.run(burst=True, handle_signals=False)
    assert (fake.tasks[1].status, fake.tasks[1].result) == ("completed", {"ok": True})
    assert fake.calls.count("complete") == 21
    assert (stats.completed, stats.delivered_late, stats.outbox_pending, stats.lost) == (1, 1, 0, 0)
    assert "delivered_late=1 outbox_pending=0 lost=0" in repr(worker)


@pytest.mark.parametrize(
    "error",
    [TaskManagerNotFoundError("Task not found", status_code=404)],
    ids=["404"],
)
def test_a_definitive_answer_ends_delivery(error: Exception) -> None:
    """404 (like 403 and 400) answers the outcome for good: no more attempts."""
    fake = FakeClient()
    fake.add(T, {})
    fake.complete_errors.append(error)
    worker = Worker(fake, worker_id="w1", sleep=RecordingSleep())
    worker.add_handler(T, lambda task: {"ok": True})
    stats = worker.run(burst=True, handle_signals=False)
    assert fake.calls.count("complete") == 1
    assert (stats.claim_lost, stats.completed, stats.outbox_pending, stats.lost) == (1, 0, 0, 0)


def test_retry_after_on_a_completion_is_capped() -> None:
    """A 429 with a day-long Retry-After on a completion waits at most down_cap."""
    fake = FakeClient()
    fake.add(T, {})
    fake.complete_errors.append(TaskManagerRateLimitError("slow down", status_code=429, retry_after=86_400))
    sleep = RecordingSleep()
    worker = Worker(fake, worker_id="w1", sleep=sleep, down_cap=5.0, poll_interval=1.0)
    worker.add_handler(T, lambda task: {"ok": True})
    assert worker.run(burst=True, handle_signals=False).completed == 1
    assert sleep.delays and max(sleep.delays) <= 5.0


async def _sleep_a_little(seconds: float) -> None:
    await asyncio.sleep(0.005)  # a real, short wait: the retries of an outage do not spin


def _stop_when(worker: Worker, condition: Any) -> threading.Thread:
    """Stop ``worker`` twice (no grace) once ``condition()`` holds; polls with a deadline."""

    def watch() -> None:
        deadline = _monotonic() + WAIT
        while not condition():
            assert _monotonic() < deadline, "the condition never held"
            threading.Event().wait(0.005)
        worker.stop("test stop")
        worker.stop("test stop")

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def _monotonic() -> float:
    import time

    return time.monotonic()


def test_file_outbox_keeps_outcomes_across_processes(tmp_path: Path) -> None:
    """Stopped during an outage, a worker leaves its outcome in the file; the next worker on the
    file delivers it first, under the worker id the claim was made with, then claims new work."""
    path = tmp_path / "outbox.db"
    fake = FakeClient()
    fake.add(T, {"n": 1})
    outage = Outage(fake)
    outage.down.set()
    first = Worker(fake, worker_id="w-first", sleep=_sleep_a_little, grace_period=0, outbox=path)
    first.add_handler(T, lambda task: {"n": task.params["n"]})
    watcher = _stop_when(first, lambda: outage.attempts >= 3)
    stats = first.run(handle_signals=False)
    watcher.join(WAIT)
    assert (stats.claimed, stats.completed, stats.outbox_pending, stats.lost) == (1, 0, 1, 0)
    assert fake.tasks[1].status == "claimed"
    with closing(sqlite3.connect(path)) as db:  # closed: Python 3.13 warns of an unclosed one
        assert db.execute("SELECT task_id, worker_id FROM outcomes").fetchall() == [(1, "w-first")]

    outage.down.clear()
    fake.add(T, {"n": 2})
    fake.calls.clear()
    second = Worker(fake, worker_id="w-second", concurrency=1, sleep=RecordingSleep(), outbox=path)
    second.add_handler(T, lambda task: {"n": task.params["n"]})
    stats = second.run(burst=True, handle_signals=False)
    assert fake.calls[0] == "complete"  # the saved outcome goes before any claim
    assert [(t.status, t.claimed_by, t.result) for t in fake.tasks.values()] == [
        ("completed", "w-first", {"n": 1}),
        ("completed", "w-second", {"n": 2}),
    ]
    assert stats == WorkerStats(claimed=1, completed=2, idle_polls=1, delivered_late=1)
    with closing(sqlite3.connect(path)) as db:  # closed: Python 3.13 warns of an unclosed one
        assert db.execute("SELECT COUNT(*) FROM outcomes").fetchone() == (0,)


def test_memory_outbox_counts_and_names_what_a_stop_loses(caplog: pytest.LogCaptureFixture) -> None:
    """Without a file, a stop during an outage logs the undelivered task ids and counts them lost."""
    fake = FakeClient()
    fake.add(T, {})
    outage = Outage(fake)
    outage.down.set()
    worker = Worker(fake, worker_id="w1", sleep=_sleep_a_little, grace_period=0)
    worker.add_handler(T, lambda task: {"ok": True})
    watcher = _stop_when(worker, lambda: outage.attempts >= 3)
    with caplog.at_level(logging.ERROR, logger="taskmanager.worker"):
        stats = worker.run(handle_signals=False)
    watcher.join(WAIT)
    assert (stats.completed, stats.outbox_pending, stats.lost) == (0, 0, 1)
    assert any("lost" in r.getMessage() and "task(s) 1" in r.getMessage() for r in caplog.records)


HUNG_API = textwrap.dedent(
    """
    import json, logging, threading
    from worker_fakes import FakeClient

    logging.basicConfig(level=logging.INFO)
    from taskmanager._worker import Worker

    fake = FakeClient()
    fake.add("Test.Hung", {})
    hung = threading.Event()
    complete, claim = fake.complete_task, fake.claim_task

    def hang(call):
        def wrapped(*args, **kwargs):
            if hung.is_set():
                threading.Event().wait()  # the API never answers
            return call(*args, **kwargs)
        return wrapped

    fake.complete_task, fake.claim_task = hang(complete), hang(claim)
    worker = Worker(fake, worker_id="w-hung", concurrency=2, grace_period=600, poll_interval=0.01)

    @worker.handler("Test.Hung")
    def handle(task):
        hung.set()
        print("started", flush=True)
        return {"ok": True}

    stats = worker.run()
    print(json.dumps({"lost": stats.lost, "completed": stats.completed}), flush=True)
    """
)


def _read_until(proc: subprocess.Popen[str], text: str) -> str:
    """Stderr lines up to the first holding ``text`` (bounded: WAIT seconds)."""
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = _monotonic() + WAIT
    while not any(text in line for line in lines):
        remaining = deadline - _monotonic()
        ready, _, _ = select.select([proc.stderr], [], [], max(remaining, 0))
        assert ready, f"{text!r} not logged within {WAIT}s: {lines}"
        line = proc.stderr.readline()
        assert line, f"the process ended before logging {text!r}: {lines}"
        lines.append(line)
    return "".join(lines)


def test_second_sigterm_ends_the_process_when_the_api_hangs() -> None:
    """With the claim and the completion hung, two SIGTERMs end the process; the outcome is
    logged as lost (no outbox file) rather than waited for."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HUNG_API], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        proc.send_signal(signal.SIGTERM)
        # Two signals sent at once may arrive as one: send the second once the first was seen.
        seen = _read_until(proc, "SIGTERM received")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        err = seen + err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == {"lost": 1, "completed": 0}
    assert "task(s) 1" in err


class _PlainMapping(Mapping[str, Any]):
    """A Mapping that is not a dict: the client sends it as a JSON object."""

    def __init__(self, items: dict[str, Any]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@pytest.mark.parametrize("on_file", [False, True], ids=["memory", "file"])
def test_a_file_outbox_sends_a_result_as_the_client_would(
    client: TaskManagerClient, tmp_path: Path, on_file: bool
) -> None:
    """Results the client can send (nested non-dict Mappings, tuples) are completed alike
    whether the outbox is in memory or in a file: saving one never turns it into a failure."""
    client.register_task_type(T, "1", {"type": "object"})
    results = [
        {"nested": MappingProxyType({"a": 1})},
        {"nested": _PlainMapping({"b": [1, 2.5]})},
        {"pair": (1, "\u00e9"), "deep": {"x": MappingProxyType({"y": None})}},
    ]
    ids = [client.create_task(T, {"i": i}).id for i in range(len(results))]
    outbox = tmp_path / "outbox.db" if on_file else None
    worker = Worker(client, worker_id="w-same", sleep=RecordingSleep(), outbox=outbox)
    worker.add_handler(T, lambda task: results[task.params["i"]])
    stats = worker.run(burst=True, handle_signals=False)
    assert (stats.completed, stats.failed, stats.lost) == (3, 0, 0)
    assert [client.get_task(i).result for i in ids] == [
        {"nested": {"a": 1}},
        {"nested": {"b": [1, 2.5]}},
        {"deep": {"x": {"y": None}}, "pair": [1, "\u00e9"]},
    ]
