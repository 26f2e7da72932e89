"""An async handler that swallows its cancellation (a retry loop with a broad ``except``) does
not hold a stop: after the grace period it is cancelled once, given a short wait, then
abandoned like a sync handler that never returns (its task failed back), and ``run()`` /
``arun()`` return; the handler is closed at the end of the run, so the loop's shutdown
(``asyncio.run``'s) does not wait for it either.

Every run here is in a thread joined with a deadline: a stop that hangs fails the test."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import textwrap
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from taskmanager import AsyncTaskManagerClient, TaskManagerClient, TaskStatus
from taskmanager._worker import Worker
from taskmanager.server import LocalServer

from .conftest import config_for, sigterm_once_started

T = "Test.Stubborn"
WAIT = 20  # upper bound for every wait below; a fixed run needs a few seconds at most


async def _swallow_forever(started: threading.Event, closed: threading.Event) -> None:
    started.set()
    try:
        while True:
            with contextlib.suppress(asyncio.CancelledError):  # the retry loop a broad except makes
                await asyncio.sleep(3600)
    finally:
        closed.set()  # reached only when the worker closes it at the end of the run


def _tasks(client: TaskManagerClient, n: int) -> list[int]:
    client.register_task_type(T, "1.0.0", {"type": "object"})
    return [client.create_task(T, {"n": k}).id for k in range(n)]


def _run_in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def body() -> None:
        try:
            out["stats"] = target()
        except BaseException as exc:  # reported by the assertions, not lost in the thread
            out["error"] = exc

    thread = threading.Thread(target=body, daemon=True)  # daemon: a hang must not hold pytest
    thread.start()
    return thread, out


def _assert_returned(thread: threading.Thread, out: dict[str, Any], worker: Worker) -> None:
    thread.join(WAIT)
    assert not thread.is_alive(), f"the run has not returned {WAIT}s after the stop: {worker!r}"
    assert "error" not in out, out["error"]


def _assert_abandoned(client: TaskManagerClient, task_id: int, worker_id: str) -> None:
    task = client.get_task(task_id)
    assert task.status is TaskStatus.PENDING, task  # failed back: attempt 1 of 3
    assert f"worker {worker_id} stopped (stop requested) before the handler finished" in (
        task.error_message or ""
    ), task.error_message


def test_run_returns_after_a_stop_with_a_handler_swallowing_cancellation(
    client: TaskManagerClient, server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """run(): the task is failed back with the documented text, counted, a warning names the
    task, and the handler is closed (its finally runs) before run() returns."""
    (task_id,) = _tasks(client, 1)
    started, closed = threading.Event(), threading.Event()
    with TaskManagerClient(config_for(server)) as worker_client:
        worker = Worker(worker_client, worker_id="w-swallow", concurrency=1, grace_period=0.2)
        worker.add_handler(T, lambda task: _swallow_forever(started, closed))
        with caplog.at_level(logging.WARNING, "taskmanager.worker"):
            thread, out = _run_in_thread(lambda: worker.run(handle_signals=False))
            assert started.wait(WAIT)
            worker.stop()  # from another thread than the run's
            _assert_returned(thread, out, worker)
    _assert_abandoned(client, task_id, "w-swallow")
    assert (out["stats"].claimed, out["stats"].failed, out["stats"].completed) == (1, 1, 0)
    assert worker.in_flight == 0
    assert closed.is_set()
    assert f"task {task_id} ({T}): the handler" in caplog.text
    assert "ignored its cancellation" in caplog.text


def test_arun_in_asyncio_run_returns_and_the_loop_shuts_down(
    client: TaskManagerClient, server: LocalServer
) -> None:
    """arun() on the caller's loop, with an async client: arun() returns, and so does the
    caller's asyncio.run(), whose shutdown would wait for the handler if it were left running."""
    (task_id,) = _tasks(client, 1)
    started, closed = threading.Event(), threading.Event()
    workers: list[Worker] = []

    async def main() -> Any:
        async with AsyncTaskManagerClient(config_for(server)) as worker_client:
            worker = Worker(worker_client, worker_id="w-swallow-a", concurrency=1, grace_period=0.2)
            worker.add_handler(T, lambda task: _swallow_forever(started, closed))
            workers.append(worker)
            return await worker.arun()

    thread, out = _run_in_thread(lambda: asyncio.run(main()))
    assert started.wait(WAIT)
    workers[0].stop()
    _assert_returned(thread, out, workers[0])
    _assert_abandoned(client, task_id, "w-swallow-a")
    assert (out["stats"].failed, out["stats"].lost) == (1, 0)
    assert closed.is_set()


def test_a_second_stop_ends_a_long_grace_period_with_a_handler_swallowing_cancellation(
    client: TaskManagerClient, server: LocalServer
) -> None:
    """A second stop ends the waiting at once, for a handler that ignores its cancellation too."""
    (task_id,) = _tasks(client, 1)
    started, closed = threading.Event(), threading.Event()
    with TaskManagerClient(config_for(server)) as worker_client:
        worker = Worker(worker_client, worker_id="w-swallow-2", concurrency=1, grace_period=3600)
        worker.add_handler(T, lambda task: _swallow_forever(started, closed))
        thread, out = _run_in_thread(lambda: worker.run(handle_signals=False))
        assert started.wait(WAIT)
        worker.stop()
        worker.stop()
        _assert_returned(thread, out, worker)
    _assert_abandoned(client, task_id, "w-swallow-2")
    assert closed.is_set()


def test_several_stubborn_handlers_each_get_what_they_did(
    client: TaskManagerClient, server: LocalServer
) -> None:
    """concurrency=3: a handler swallowing cancellation for ever and one whose ``finally``
    awaits a long time are failed back; one that swallows it once and returns soon after
    (within the short wait) completes with its result."""
    ids = _tasks(client, 3)
    started = [threading.Event() for _ in ids]
    closed = [threading.Event() for _ in ids]

    async def handler(task: Any) -> dict[str, Any]:
        n = task.params["n"]
        started[n].set()
        try:
            if n == 0:
                await _swallow_forever(threading.Event(), threading.Event())
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if n == 1:
                    await asyncio.sleep(0)  # swallowed once; done the moment after
                    return {"late": True}
                raise
            return {}
        finally:
            if n == 2:
                await asyncio.sleep(3600)  # a clean-up that never ends
            closed[n].set()

    with TaskManagerClient(config_for(server)) as worker_client:
        worker = Worker(worker_client, worker_id="w-swallow-3", concurrency=3, grace_period=0.2)
        worker.add_handler(T, handler)
        thread, out = _run_in_thread(lambda: worker.run(handle_signals=False))
        assert all(event.wait(WAIT) for event in started)
        worker.stop()
        _assert_returned(thread, out, worker)
    _assert_abandoned(client, ids[0], "w-swallow-3")
    late = client.get_task(ids[1])
    assert (late.status, late.result) == (TaskStatus.COMPLETED, {"late": True})
    _assert_abandoned(client, ids[2], "w-swallow-3")
    assert (out["stats"].claimed, out["stats"].completed, out["stats"].failed) == (3, 1, 2)
    assert [event.is_set() for event in closed] == [True, True, False]  # n=2: closed in its finally's wait


# Python itself reports the handler's coroutine when it is collected: it ignores GeneratorExit.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_handler_that_ignores_being_closed_too_does_not_hold_run(
    client: TaskManagerClient, server: LocalServer
) -> None:
    """``except BaseException: continue`` swallows the GeneratorExit of its closing too: run()
    returns all the same, the task failed back."""
    (task_id,) = _tasks(client, 1)
    started = threading.Event()
    # Set once the test is over: the coroutine then lets the GeneratorExit of its collection
    # through, wherever that happens (a later test would otherwise get Python's report of it).
    over = threading.Event()

    async def deaf(task: Any) -> None:
        started.set()
        while True:
            try:
                await asyncio.sleep(3600)
            except BaseException:  # the hostile handler under test
                if over.is_set():
                    raise
                continue

    try:
        with TaskManagerClient(config_for(server)) as worker_client:
            worker = Worker(worker_client, worker_id="w-deaf", concurrency=1, grace_period=0.2)
            worker.add_handler(T, deaf)
            thread, out = _run_in_thread(lambda: worker.run(handle_signals=False))
            assert started.wait(WAIT)
            worker.stop()
            _assert_returned(thread, out, worker)
        _assert_abandoned(client, task_id, "w-deaf")
    finally:
        over.set()


def test_asyncio_run_shutdown_ends_an_arun_left_running(
    client: TaskManagerClient, server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """An arun() left running when the caller's main() returns: asyncio.run's shutdown cancels
    every task at once (the handler's too); it ends, the tasks are failed back, and asyncio
    logs no error about a task that ended badly."""
    ids = _tasks(client, 2)
    started = [threading.Event(), threading.Event()]
    closed = threading.Event()

    async def handler(task: Any) -> None:
        await _swallow_forever(started[task.params["n"]], closed)

    with TaskManagerClient(config_for(server)) as worker_client:
        worker = Worker(worker_client, worker_id="w-left", concurrency=2, grace_period=0.2)
        worker.add_handler(T, handler)

        async def main() -> None:
            asyncio.get_running_loop().create_task(worker.arun())
            deadline = time.monotonic() + WAIT
            while not all(event.is_set() for event in started) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)  # polled: both handlers started
            assert all(event.is_set() for event in started)

        with caplog.at_level(logging.WARNING):
            thread, out = _run_in_thread(lambda: asyncio.run(main()))
            _assert_returned(thread, out, worker)
    for task_id in ids:
        task = client.get_task(task_id)
        assert task.status is TaskStatus.PENDING
        assert "worker w-left stopped (the run ended by CancelledError)" in (task.error_message or "")
    assert not [r for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.ERROR]


SCRIPT = textwrap.dedent(
    """
    import asyncio, json, logging
    from worker_fakes import FakeClient
    from taskmanager._worker import Worker

    logging.basicConfig(level=logging.WARNING)
    fake = FakeClient()
    fake.add("Test.Stubborn", {"n": 1})
    worker = Worker(fake, worker_id="w-sig", concurrency=1, grace_period=0.2)

    @worker.handler("Test.Stubborn")
    async def stubborn(task):
        print("started", flush=True)
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass

    stats = worker.run()
    print(json.dumps({"failed": stats.failed,
                      "tasks": [[t.status, t.error_message] for t in fake.tasks.values()]}), flush=True)
    """
)


def test_sigterm_with_a_handler_swallowing_cancellation_exits_zero() -> None:
    """SIGTERM in a real process: the task is failed back and the process exits 0."""
    returncode, out, err = sigterm_once_started(SCRIPT, timeout=WAIT)
    assert returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    ((status, error),) = report["tasks"]
    assert report["failed"] == 1
    assert status == "pending" and "SIGTERM received" in error and "before the handler finished" in error
    assert "ignored its cancellation" in err
