"""Whatever a handler does, its task ends (failed, with a reason) and the worker carries on."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from taskmanager import TaskManagerClient, TaskManagerConnectionError, TaskManagerValidationError, TaskStatus
from taskmanager._worker import Worker, WorkerTask
from taskmanager.server import LocalServer

from .conftest import config_for
from .worker_fakes import AsyncFakeClient, FakeClient, RecordingSleep

T = "Test.Outcomes"
WAIT = 10


class OwnBaseException(BaseException):
    pass


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


class BrokenMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("cannot iterate")

    def __len__(self) -> int:
        return 1


def _raise(exc: BaseException) -> Any:
    raise exc


OUTCOMES = {
    "own BaseException": (lambda: _raise(OwnBaseException("mine")), "OwnBaseException: mine"),
    "GeneratorExit": (lambda: _raise(GeneratorExit()), "GeneratorExit"),
    "__str__ raises": (lambda: _raise(UnprintableError()), "UnprintableError: <str() raised RuntimeError>"),
    "Mapping whose iteration raises": (
        BrokenMapping,
        "the handler's result could not be read: RuntimeError: cannot iterate",
    ),
    "CancelledError of its own": (lambda: _raise(asyncio.CancelledError()), "CancelledError"),
}


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("case", list(OUTCOMES))
def test_odd_handler_outcome_fails_the_task_with_a_reason(case: str, kind: str) -> None:
    """Each odd outcome ends its task failed with a reason, counted; the next task still runs."""
    behave, reason = OUTCOMES[case]
    fake = FakeClient(max_attempts=1)
    fake.add(T, {"odd": True})
    fake.add(T, {"odd": False})
    client: Any = fake if kind == "sync" else AsyncFakeClient(fake)
    worker = Worker(client, worker_id="w1", concurrency=1, sleep=RecordingSleep())

    if kind == "sync":

        def handler(task: Any) -> Any:
            return behave() if task.params["odd"] else {"ok": True}
    else:

        async def handler(task: Any) -> Any:
            return behave() if task.params["odd"] else {"ok": True}

    worker.add_handler(T, handler)
    stats = worker.run(burst=True, handle_signals=False)
    assert [(t.status, t.error_message) for t in fake.tasks.values()] == [
        ("failed", reason),
        ("completed", None),
    ]
    assert (stats.failed, stats.completed) == (1, 1)


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


def _self_referencing() -> dict[str, Any]:
    value: dict[str, Any] = {"a": 1}
    value["self"] = value
    return value


@pytest.mark.parametrize("make", [lambda: _nested(2000), _self_referencing], ids=["2000 deep", "cyclic"])
def test_unsendable_result_fails_the_task(
    make: Any, client: TaskManagerClient, server: LocalServer, no_retry_waits: None
) -> None:
    """A result nested 2,000 levels or referring to itself fails its task (on the local server)."""
    client.register_task_type(T, "1.0.0", {"type": "object"})
    task_id = client.create_task(T, {"n": 1}).id
    with TaskManagerClient(config_for(server)) as worker_client:
        worker = Worker(worker_client, worker_id="w-odd", sleep=RecordingSleep())
        worker.add_handler(T, lambda task: make())
        stats = worker.run(burst=True, handle_signals=False)
    task = client.get_task(task_id)
    assert (stats.failed, stats.completed, stats.lost) == (3, 0, 0)  # the server's 3 attempts
    assert task.status is TaskStatus.FAILED
    assert "the handler's result" in (task.error_message or "")


def test_keyboard_interrupt_in_a_handler_stops_like_sigint() -> None:
    """KeyboardInterrupt in one handler: no new claims, the others finish, its task is failed."""
    fake = FakeClient(max_attempts=1)
    for n in range(4):
        fake.add(T, {"n": n})
    worker = Worker(fake, worker_id="w1", concurrency=3, grace_period=WAIT, sleep=RecordingSleep())
    started = threading.Barrier(3, timeout=WAIT)

    @worker.handler(T)
    def handle(task: WorkerTask) -> dict[str, int]:
        started.wait()
        if task.params["n"] == 0:
            raise KeyboardInterrupt
        deadline = threading.Event()
        while "stopping" not in repr(worker):  # the others run on until the stop is under way
            assert not deadline.wait(0.005) and started.n_waiting == 0
        return {"n": task.params["n"]}

    stats = worker.run(handle_signals=False)  # not burst: only the interrupt ends this run
    assert [(t.status, t.error_message) for t in fake.tasks.values()] == [
        ("failed", "KeyboardInterrupt"),
        ("completed", None),
        ("completed", None),
        ("pending", None),
    ]
    assert (stats.claimed, stats.completed, stats.failed) == (3, 2, 1)


def _report_progress_both_ways(*args: Any) -> tuple[FakeClient, list[object]]:
    """``report_progress(*args)`` from a sync handler, then from an async one (one task each):
    what each returned, or the type of what it raised."""
    fake = FakeClient()
    fake.add(T, {})
    worker = Worker(AsyncFakeClient(fake), worker_id="w1", concurrency=1, sleep=RecordingSleep())
    outcomes: list[object] = []

    def sync_handler(task: WorkerTask) -> None:
        try:
            outcomes.append(task.report_progress(*args))
        except BaseException as exc:
            outcomes.append(type(exc))

    async def async_handler(task: Any) -> None:
        try:
            outcomes.append(await task.report_progress(*args))
        except BaseException as exc:
            outcomes.append(type(exc))

    worker.add_handler(T, sync_handler)
    worker.run(burst=True, handle_signals=False)
    worker.add_handler(T, async_handler)
    fake.add(T, {})
    worker.run(burst=True, handle_signals=False)
    return fake, outcomes


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "abc", None, True])
def test_report_progress_refuses_what_is_not_a_finite_number(bad: Any) -> None:
    """report_progress(nan | inf | "abc" ...) raises TaskManagerValidationError, sync and async."""
    fake, raised = _report_progress_both_ways(bad)
    assert raised == [TaskManagerValidationError] * 2
    assert "progress" not in fake.calls


def test_sync_handler_raising_stop_iteration_fails_its_task() -> None:
    """StopIteration out of a sync handler fails its task (asyncio refuses it into a future)."""
    fake = FakeClient(max_attempts=1)
    fake.add(T, {"odd": True})
    fake.add(T, {"odd": False})
    worker = Worker(fake, worker_id="w1", concurrency=1, grace_period=0.1, sleep=RecordingSleep())
    worker.add_handler(T, lambda task: next(iter([])) if task.params["odd"] else {"ok": True})
    guard = threading.Timer(WAIT, lambda: (worker.stop(), worker.stop()))  # a wedged run fails, not hangs
    guard.start()
    try:
        stats = worker.run(burst=True, handle_signals=False)
    finally:
        guard.cancel()
    assert [(t.status, t.error_message) for t in fake.tasks.values()] == [
        ("failed", "RuntimeError: the call raised StopIteration"),
        ("completed", None),
    ]
    assert (stats.failed, stats.completed) == (1, 1)


class _RaisingFormat(str):
    def __format__(self, spec: str) -> str:
        raise RuntimeError("format")

    def __bool__(self) -> bool:
        raise RuntimeError("bool")


class StrSubclassError(Exception):
    def __str__(self) -> str:
        return _RaisingFormat("x")


class _NamelessMeta(type):
    def __getattribute__(cls, name: str) -> Any:
        if name == "__name__":
            raise OwnBaseException("no name")
        return super().__getattribute__(name)


class NamelessError(Exception, metaclass=_NamelessMeta):
    pass


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (StrSubclassError(), "StrSubclassError: x"),
        (NamelessError("boom"), "the handler failed; its error could not be described"),
    ],
    ids=["__str__ returns a hostile str subclass", "type name raises"],
)
def test_error_text_is_made_whatever_the_exception(exc: BaseException, reason: str) -> None:
    """An exception whose text or type name misbehaves still fails its task, with a reason."""
    fake = FakeClient(max_attempts=1)
    fake.add(T, {})
    worker = Worker(fake, worker_id="w1", concurrency=1, sleep=RecordingSleep())
    worker.add_handler(T, lambda task: _raise(exc))
    stats = worker.run(burst=True, handle_signals=False)
    assert [(t.status, t.error_message) for t in fake.tasks.values()] == [("failed", reason)]
    assert stats.failed == 1


class _RaisingMapping(Mapping[str, Any]):
    """A result whose item access raises ``exc`` (a BaseException subclass, say)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __getitem__(self, key: str) -> Any:
        raise self.exc

    def __iter__(self) -> Iterator[str]:
        return iter(["a"])

    def __len__(self) -> int:
        return 1


@pytest.mark.parametrize("nested", [False, True], ids=["top level", "nested"])
def test_result_raising_a_base_exception_when_read_fails_its_task(
    nested: bool, client: TaskManagerClient, server: LocalServer, no_retry_waits: None
) -> None:
    """A result Mapping raising a BaseException of its own when read fails its task, counted."""
    client.register_task_type(T, "1.0.0", {"type": "object"})
    task_id = client.create_task(T, {"n": 1}).id
    bad = _RaisingMapping(OwnBaseException("read"))
    with TaskManagerClient(config_for(server)) as worker_client:
        worker = Worker(worker_client, worker_id="w-odd", sleep=RecordingSleep())
        worker.add_handler(T, lambda task: {"nested": bad} if nested else bad)
        stats = worker.run(burst=True, handle_signals=False)
    task = client.get_task(task_id)
    assert (task.status, task.error_message) == (
        TaskStatus.FAILED,
        "the handler's result could not be read: OwnBaseException: read",
    )
    assert (stats.failed, stats.completed, stats.lost) == (3, 0, 0)


def test_keyboard_interrupt_reading_a_result_stops_like_sigint(
    client: TaskManagerClient, server: LocalServer, no_retry_waits: None
) -> None:
    """KeyboardInterrupt while a result is read: that task fails, the other in flight completes."""
    client.register_task_type(T, "1.0.0", {"type": "object"})
    ids = [client.create_task(T, {"n": n}).id for n in range(2)]
    started = threading.Barrier(2, timeout=WAIT)
    with TaskManagerClient(config_for(server)) as worker_client:
        worker = Worker(
            worker_client, worker_id="w-ki", concurrency=2, grace_period=WAIT, sleep=RecordingSleep()
        )

        @worker.handler(T)
        def handle(task: WorkerTask) -> Any:
            started.wait()
            if task.params["n"] == 0:
                return _RaisingMapping(KeyboardInterrupt())
            deadline = threading.Event()
            while "stopping" not in repr(worker):  # runs on until the stop is under way
                assert not deadline.wait(0.005)
            return {"n": 1}

        stats = worker.run(handle_signals=False)  # not burst: only the interrupt ends this run
    tasks = [client.get_task(i) for i in ids]
    assert [t.status for t in tasks] == [TaskStatus.PENDING, TaskStatus.COMPLETED]  # 0: retried later
    assert "KeyboardInterrupt" in (tasks[0].error_message or "")
    assert (stats.claimed, stats.completed, stats.failed) == (2, 1, 1)


@pytest.mark.parametrize(
    ("progress", "message", "sent"),
    [(10**400, None, 100), (-(10**400), None, 0), (50, "\ud800", None), (50, b"x", None)],
    ids=["huge int", "huge negative int", "lone surrogate message", "bytes message"],
)
def test_report_progress_checks_are_complete(progress: Any, message: Any, sent: int | None) -> None:
    """A huge int is clamped like any out-of-range number; a message UTF-8 cannot carry raises
    TaskManagerValidationError like one that is not a string (sync and async alike)."""
    fake, outcomes = _report_progress_both_ways(progress, message)
    if sent is None:
        assert outcomes == [TaskManagerValidationError] * 2
        assert "progress" not in fake.calls
    else:
        assert outcomes == [True, True]
        assert [t.progress for t in fake.tasks.values()] == [sent, sent]


def test_progress_is_not_sent_while_the_api_is_failing() -> None:
    """Once a report finds the API failing, the next reports return False without a call, so a
    handler reporting often does not wait through the client's retries of each one."""
    fake = FakeClient()
    fake.add(T, {})
    fake.progress_errors.append(TaskManagerConnectionError("connection refused", request_sent=False))
    worker = Worker(fake, worker_id="w1", concurrency=1, sleep=RecordingSleep())
    reported: list[bool] = []
    worker.add_handler(T, lambda task: reported.extend(task.report_progress(n * 20) for n in range(5)))
    stats = worker.run(burst=True, handle_signals=False)
    assert reported == [False] * 5
    assert fake.calls.count("progress") == 1
    assert stats.completed == 1


def test_an_async_handler_returning_a_coroutine_fails_its_task_and_closes_it() -> None:
    """``return other(task)`` in an async handler (an ``await`` left out): the task fails saying
    so, and the coroutine is closed (Python would warn of it, never awaited, when collected)."""

    async def other(task: Any) -> dict[str, Any]:
        return {"ok": True}

    async def handler(task: Any) -> Any:
        return other(task)

    fake = FakeClient(max_attempts=1)
    fake.add(T, {"n": 1})
    worker = Worker(AsyncFakeClient(fake), worker_id="w1", concurrency=1, sleep=RecordingSleep())
    worker.add_handler(T, handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stats = worker.run(burst=True, handle_signals=False)
        gc.collect()
    (task,) = fake.tasks.values()
    assert (task.status, stats.failed) == ("failed", 1)
    assert "returned a coroutine, never awaited" in (task.error_message or "")
    assert not [w for w in caught if "never awaited" in str(w.message)]
