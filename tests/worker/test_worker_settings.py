"""Every bad Worker argument is refused at construction with TaskManagerValidationError."""

from __future__ import annotations

import asyncio
import math
import pathlib
from typing import Any

import pytest

from taskmanager import (
    AsyncTaskManagerClient,
    TaskManagerClient,
    TaskManagerConfig,
    TaskManagerValidationError,
)
from taskmanager._worker import Worker

from .worker_fakes import AsyncFakeClient, FakeClient

BAD: list[tuple[str, Any]] = [
    *[("concurrency", v) for v in (0, -1, 1.5, "4", True, None, 10**6, 2**80)],
    *[
        (name, v)
        for name in ("poll_interval", "claim_timeout", "down_cap")
        for v in (0, -1, math.nan, math.inf, -math.inf, 1e308, "5", True, None)
    ],
    *[("grace_period", v) for v in (-1, math.nan, math.inf, 1e308, "30", None, False)],
    *[("max_attempts", v) for v in (0, -3, 2.0, "3", True, 2**64)],
    *[("worker_id", v) for v in ("", "   ", "\ud800", 7, b"w")],
    *[("outbox", v) for v in (b"outbox.db", 3, "", "\udcff.db", ["x"])],
    ("sleep", "no"),
    ("sleep", 5),
    ("clock", None),
    ("clock", 1.0),
    ("policy", "nonsense"),
]


@pytest.mark.parametrize(("name", "value"), BAD, ids=[f"{n}={v!r}"[:60] for n, v in BAD])
def test_bad_argument_is_refused_at_construction(name: str, value: Any) -> None:
    """nan/inf/negative/oversized seconds, non-int counts, unusable ids and paths: all refused."""
    with pytest.raises(TaskManagerValidationError) as caught:
        Worker(FakeClient(), **{name: value})
    assert name in str(caught.value)
    assert len(str(caught.value)) < 400


def test_good_arguments_are_kept(tmp_path: pathlib.Path) -> None:
    """Sensible values (ints for seconds, a PathLike outbox, grace 0) are taken as given."""

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    worker = Worker(
        FakeClient(),
        concurrency=8,
        poll_interval=1,
        claim_timeout=600,
        grace_period=0,
        down_cap=60,
        max_attempts=5,
        worker_id="w-1",
        outbox=tmp_path / "o.db",
        sleep=sleep,
    )
    assert (worker.concurrency, worker.poll_interval, worker.claim_timeout) == (8, 1.0, 600.0)
    assert (worker.grace_period, worker.down_cap, worker.max_attempts) == (0.0, 60.0, 5)
    assert (worker.worker_id, worker.outbox) == ("w-1", str(tmp_path / "o.db"))


@pytest.mark.parametrize("max_tasks", [0, -1, 1.5, "2", True])
def test_bad_max_tasks_is_refused(max_tasks: Any) -> None:
    """run(max_tasks=...) takes a positive int only."""
    worker = Worker(FakeClient())
    worker.add_handler("T", lambda task: {})
    with pytest.raises(TaskManagerValidationError, match="max_tasks"):
        worker.run(max_tasks=max_tasks, handle_signals=False)


@pytest.mark.parametrize(
    ("where", "why"),
    [
        (":memory:", "not a file"),
        ("a\0b.db", "NUL"),
        ("{tmp}", "directory"),
        ("{tmp}/missing/outbox.db", "folder"),
        ("/dev/null", "regular file"),
    ],
    ids=["memory", "nul", "directory", "missing-folder", "device"],
)
def test_outbox_that_cannot_be_a_file_is_refused_at_construction(
    tmp_path: pathlib.Path, where: str, why: str
) -> None:
    """Paths SQLite would take but that keep nothing (":memory:", a device), or that cannot be
    opened at all, are refused when the Worker is built, in one sentence naming the outbox."""
    path = where.format(tmp=tmp_path)
    with pytest.raises(TaskManagerValidationError, match=why) as caught:
        Worker(FakeClient(), outbox=path)
    message = str(caught.value)
    assert message.startswith("outbox ") and "\n" not in message and len(message) < 300
    assert not (tmp_path / "missing").exists()


class _ClaimsOnly:
    def claim_task(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.mark.parametrize(
    ("client", "missing"),
    [
        (5, "claim_task"),
        (None, "claim_task"),
        ("http://127.0.0.1:8080/api", "claim_task"),
        (TaskManagerConfig(api_url="http://127.0.0.1:9/api", api_key="a-config-key"), "claim_task"),
        (_ClaimsOnly(), "update_progress"),
    ],
    ids=["int", "None", "url", "config", "claims-only"],
)
def test_what_is_not_a_client_is_refused_at_construction(client: Any, missing: str) -> None:
    """An int, None, a URL, a config, an object lacking a method the worker calls: refused when
    the Worker is built, naming what it lacks (run() used to fail with an AttributeError)."""
    with pytest.raises(TaskManagerValidationError, match="client must be a TaskManagerClient") as caught:
        Worker(client)
    assert f"no {missing}()" in str(caught.value) and "a-config-key" not in str(caught.value)


def test_every_client_kind_is_taken() -> None:
    """Both clients and any object offering their methods (a wrapper, a test double)."""
    sync = TaskManagerClient(api_url="http://127.0.0.1:9/api", api_key="k")
    async_client = AsyncTaskManagerClient(api_url="http://127.0.0.1:9/api", api_key="k")
    try:
        for client in (sync, async_client, FakeClient(), AsyncFakeClient(FakeClient())):
            assert Worker(client).client is client
    finally:
        sync.close()
        asyncio.run(async_client.aclose())


@pytest.mark.parametrize("register", ["add_handler", "decorator"])
def test_a_handler_that_is_not_callable_is_refused(register: str) -> None:
    """A TaskManagerValidationError, and still a TypeError for code that caught that."""
    worker = Worker(FakeClient())
    with pytest.raises(
        TaskManagerValidationError, match=r"the handler for 'A\.B' must be a callable"
    ) as caught:
        if register == "add_handler":
            worker.add_handler("A.B", 5)  # type: ignore[arg-type]
        else:
            worker.handler("A.B")(5)  # type: ignore[type-var]
    assert isinstance(caught.value, TypeError) and worker.task_types == []


def test_run_without_handlers_is_refused_with_a_typed_error() -> None:
    """A TaskManagerValidationError, and still the RuntimeError it was."""
    worker = Worker(FakeClient())
    with pytest.raises(TaskManagerValidationError, match="no handlers registered") as caught:
        worker.run(handle_signals=False)
    assert isinstance(caught.value, RuntimeError)
    with pytest.raises(TaskManagerValidationError, match="no handlers registered"):
        asyncio.run(worker.arun(burst=True))


def test_a_second_run_while_running_is_refused_with_a_typed_error() -> None:
    async def scenario() -> None:
        worker = Worker(AsyncFakeClient(FakeClient()), poll_interval=0.01)
        worker.add_handler("T", lambda task: {})
        first = asyncio.create_task(worker.arun())
        for _ in range(1000):  # until the first run has started
            if worker._running:
                break
            await asyncio.sleep(0.001)
        with pytest.raises(TaskManagerValidationError, match="already running") as caught:
            await worker.arun()
        assert isinstance(caught.value, RuntimeError)
        worker.stop()
        await asyncio.wait_for(first, 10)

    asyncio.run(scenario())
