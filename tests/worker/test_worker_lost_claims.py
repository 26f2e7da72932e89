"""A claim carried out by the server whose reply the worker never read (garbled, lost after the
request went out, a transport raising, a stop cancelling it in flight): the worker finds the
task claimed under its id and runs it (or fails it back at a stop) long before the claim timeout."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any, cast

import httpx
import pytest

from taskmanager import (
    AsyncTaskManagerClient,
    Task,
    TaskManagerClient,
    TaskManagerNotFoundError,
    TaskStatus,
    TaskSummary,
)
from taskmanager._worker import Worker, WorkerStats
from taskmanager._worker_lost_claims import LostClaims
from taskmanager.server import LocalServer

from .conftest import config_for
from .worker_fakes import RecordingSleep

T = "Test.LostClaim"

# What the transport does with a request it was told to spoil, after forwarding it.
Spoil = Callable[[httpx.Response], httpx.Response]


def _garble(response: httpx.Response) -> httpx.Response:
    return httpx.Response(
        200, content=b'{"success": true, "data": {"id": ', headers={"content-type": "application/json"}
    )


def _drop(response: httpx.Response) -> httpx.Response:
    raise httpx.ReadError("connection dropped after the request was sent")


def _raise(response: httpx.Response) -> httpx.Response:
    raise RuntimeError("event hook broke")


SPOILERS = {"garbled": _garble, "dropped": _drop, "raised": _raise}


class SpoilingTransport(httpx.BaseTransport):
    """Forwards to the local server; the requests ``spoil(request, count)`` picks (``count``
    numbering the requests of that method and path kind) are forwarded, then spoiled."""

    def __init__(self, spoil: Callable[[httpx.Request, int], Spoil | None]) -> None:
        self._inner = httpx.HTTPTransport()
        self._spoil = spoil
        self._counts: dict[str, int] = {}
        self.seen: list[str] = []

    def _pick(self, request: httpx.Request) -> Spoil | None:
        kind = f"{request.method} {_kind(request.url.path)}"
        self.seen.append(kind)
        self._counts[kind] = self._counts.get(kind, 0) + 1
        return self._spoil(request, self._counts[kind])

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        spoil = self._pick(request)
        response = self._inner.handle_request(request)
        if spoil is None:
            return response
        response.read()
        response.close()
        return spoil(response)

    def close(self) -> None:
        self._inner.close()


def _kind(path: str) -> str:
    """``/api/tasks/7`` -> ``tasks/{id}``; ``/api/tasks/claim`` -> ``tasks/claim``."""
    parts = [part for part in path.split("/") if part and part != "api"]
    return "/".join("{id}" if part.isdigit() else part for part in parts)


def _claim_number(n: int, spoil: Spoil) -> Callable[[httpx.Request, int], Spoil | None]:
    return lambda request, count: spoil if request.url.path.endswith("/claim") and count == n else None


def _setup(plain: TaskManagerClient, count: int = 1) -> list[int]:
    plain.register_task_type(T, "1", {"type": "object"})
    return [plain.create_task(T, {"n": n}).id for n in range(count)]


def _worker(client: Any, ran: list[int], **kwargs: Any) -> Worker:
    worker = Worker(client, worker_id="w-lost", sleep=RecordingSleep(), **kwargs)

    def handle(task: Any) -> dict[str, int]:
        ran.append(task.id)
        return {"n": task.params["n"]}

    worker.add_handler(T, handle)
    return worker


@pytest.mark.parametrize("fault", sorted(SPOILERS))
def test_a_task_claimed_behind_a_lost_reply_runs_at_once(
    server: LocalServer, client: TaskManagerClient, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    """The claim's reply is garbled, dropped or raised after the server claimed the task: the
    worker looks the task up and runs it on this claim (attempts 1), not after the claim timeout."""
    (task_id,) = _setup(client)
    transport = SpoilingTransport(_claim_number(1, SPOILERS[fault]))
    ran: list[int] = []
    with TaskManagerClient(config_for(server), transport=transport) as spoilt:
        worker = _worker(spoilt, ran)
        with caplog.at_level(logging.INFO, logger="taskmanager.worker"):
            stats = worker.run(burst=True, handle_signals=False)
    task = client.get_task(task_id)
    assert (task.status, task.attempts, task.claimed_by, task.result) == (
        TaskStatus.COMPLETED,
        1,
        "w-lost",
        {"n": 0},
    )
    assert ran == [task_id]
    assert (stats.recovered, stats.claimed, stats.completed) == (1, 1, 1)
    assert "claim's reply never came" in caplog.text


def test_normal_claims_do_not_look_up_anything(server: LocalServer, client: TaskManagerClient) -> None:
    """Claims that answer (a task, or nothing) cost no listing."""
    _setup(client, 3)
    transport = SpoilingTransport(lambda request, count: None)
    with TaskManagerClient(config_for(server), transport=transport) as plain:
        stats = _worker(plain, []).run(burst=True, handle_signals=False)
    assert stats.completed == 3
    assert "GET tasks" not in transport.seen and "GET tasks/{id}" not in transport.seen


def test_a_garbled_lookup_is_tried_again_after_the_next_claim(
    server: LocalServer, client: TaskManagerClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The claim's reply and then the first listing are garbled: one warning, the next claim, a
    second lookup that finds the task; no lookup is sent twice in a row without a claim between."""
    (task_id,) = _setup(client)

    def spoil(request: httpx.Request, count: int) -> Spoil | None:
        path = request.url.path
        if (path.endswith("/claim") or (request.method == "GET" and path.endswith("/tasks"))) and count == 1:
            return _garble
        return None

    transport = SpoilingTransport(spoil)
    ran: list[int] = []
    with (
        TaskManagerClient(config_for(server), transport=transport) as spoilt,
        caplog.at_level(logging.WARNING, logger="taskmanager.worker"),
    ):
        stats = _worker(spoilt, ran).run(burst=True, handle_signals=False)
    task = client.get_task(task_id)
    assert (task.status, task.attempts, ran, stats.recovered) == (TaskStatus.COMPLETED, 1, [task_id], 1)
    lookups = [i for i, kind in enumerate(transport.seen) if kind == "GET tasks"]
    assert len(lookups) == 2 and "POST tasks/claim" in transport.seen[lookups[0] : lookups[1]]
    assert caplog.text.count("could not look up") == 1


def test_two_unknown_claims_in_a_row_find_both_tasks(server: LocalServer, client: TaskManagerClient) -> None:
    """Two claims in a row whose replies are lost, the lookup in between failing too: both tasks
    are found and run, each on its first attempt."""
    ids = _setup(client, 3)

    def spoil(request: httpx.Request, count: int) -> Spoil | None:
        path = request.url.path
        if path.endswith("/claim") and count in (1, 2):
            return _drop
        if request.method == "GET" and path.endswith("/tasks") and count == 1:
            return _drop
        return None

    ran: list[int] = []
    with TaskManagerClient(config_for(server), transport=SpoilingTransport(spoil)) as spoilt:
        stats = _worker(spoilt, ran, concurrency=1).run(burst=True, handle_signals=False)
    tasks = [client.get_task(i) for i in ids]
    assert [(t.status, t.attempts) for t in tasks] == [(TaskStatus.COMPLETED, 1)] * 3
    assert sorted(ran) == ids
    assert (stats.recovered, stats.claimed, stats.completed) == (2, 3, 3)


def test_a_task_completed_before_it_is_fetched_is_not_run(
    server: LocalServer, client: TaskManagerClient
) -> None:
    """The listed task is finished by someone else before the worker fetches it: not run again."""
    (task_id,) = _setup(client)

    def spoil(request: httpx.Request, count: int) -> Spoil | None:
        if request.url.path.endswith("/claim") and count == 1:
            return _drop
        return None

    class CompletingFirst(SpoilingTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "GET" and _kind(request.url.path) == "tasks/{id}":
                client.complete_task(task_id, worker_id="w-lost", result={"by": "someone else"})
            return super().handle_request(request)

    ran: list[int] = []
    with TaskManagerClient(config_for(server), transport=CompletingFirst(spoil)) as spoilt:
        stats = _worker(spoilt, ran).run(burst=True, handle_signals=False)
    task = client.get_task(task_id)
    assert (task.status, task.result, ran, stats.recovered) == (
        TaskStatus.COMPLETED,
        {"by": "someone else"},
        [],
        0,
    )


def test_a_task_held_under_the_same_id_by_no_one_here_is_left_alone(
    server: LocalServer, client: TaskManagerClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A task claimed under this worker id earlier (another process with the same id) is not
    taken up; only the one the lost claim took is, and the other is named in one warning. A
    second garbled claim (which found nothing) does not take it up either."""
    older, newer = _setup(client, 2)
    other = client.claim_task(T, worker_id="w-lost")
    assert other is not None and other.id == older
    server.advance(5)  # the lost claim comes later
    transport = SpoilingTransport(
        lambda request, count: _garble if request.url.path.endswith("/claim") and count <= 2 else None
    )
    ran: list[int] = []
    with (
        TaskManagerClient(config_for(server), transport=transport) as spoilt,
        caplog.at_level(logging.WARNING, logger="taskmanager.worker"),
    ):
        stats = _worker(spoilt, ran).run(burst=True, handle_signals=False)
    assert (ran, stats.recovered) == ([newer], 1)
    assert (client.get_task(older).status, client.get_task(newer).status) == (
        TaskStatus.CLAIMED,
        TaskStatus.COMPLETED,
    )
    assert caplog.text.count(f"task(s) {older} claimed under w-lost but not by this run") == 1
    assert transport.seen.count("GET tasks") == 2


def _run_stopped_twice(
    server: LocalServer, spoil: Callable[[Spoil], Callable[[httpx.Request, int], Spoil | None]]
) -> tuple[WorkerStats, list[int]]:
    """Run a worker whose transport spoils with ``spoil(hang)``: ``hang`` (the request already
    forwarded) stops the worker twice and holds the reply until the run has ended."""
    release = threading.Event()
    box: list[Worker] = []

    def hang(response: httpx.Response) -> httpx.Response:
        box[0].stop("test stop")
        box[0].stop("test stop again")
        release.wait(10)  # bounded: set as soon as the run ends
        raise httpx.ReadTimeout("no reply")

    ran: list[int] = []
    try:
        with TaskManagerClient(config_for(server), transport=SpoilingTransport(spoil(hang))) as spoilt:
            box.append(_worker(spoilt, ran))
            stats = box[0].run(handle_signals=False)
    finally:
        release.set()
    return stats, ran


def test_a_claim_cut_short_by_a_forced_stop_is_failed_back(
    server: LocalServer, client: TaskManagerClient
) -> None:
    """The server claimed the task, the reply hangs, the worker is stopped twice: the task is not
    run but failed back at once (pending again, attempts 1), and the stop stays bounded."""
    (task_id,) = _setup(client)
    stats, ran = _run_stopped_twice(server, lambda hang: _claim_number(1, hang))
    task = client.get_task(task_id)
    assert (task.status, task.attempts, task.claimed_by, ran) == (TaskStatus.PENDING, 1, None, [])
    assert "released for a retry" in (task.error_message or "")
    assert stats.recovered == 1


class AsyncSpoilingTransport(httpx.AsyncBaseTransport):
    """The async twin of ``SpoilingTransport``, for claims only."""

    def __init__(
        self, spoil: Callable[[int], str | None], on_hang: Callable[[], None] = lambda: None
    ) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._spoil = spoil
        self._on_hang = on_hang
        self._claims = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        what = None
        if request.url.path.endswith("/claim"):
            self._claims += 1
            what = self._spoil(self._claims)
        response = await self._inner.handle_async_request(request)
        if what is None:
            return response
        await response.aread()
        await response.aclose()
        if what == "hang":
            self._on_hang()
            await asyncio.sleep(30)  # cancelled by the forced stop
        return _garble(response)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.anyio
async def test_async_client_garbled_claim_reply_is_recovered(server: LocalServer) -> None:
    """The same recovery with an AsyncTaskManagerClient and an async handler."""
    async with AsyncTaskManagerClient(config_for(server)) as plain:
        await plain.register_task_type(T, "1", {"type": "object"})
        task_id = (await plain.create_task(T, {"n": 4})).id
        spoilt_transport = AsyncSpoilingTransport(lambda n: "garble" if n == 1 else None)
        async with AsyncTaskManagerClient(config_for(server), transport=spoilt_transport) as spoilt:
            worker = Worker(spoilt, worker_id="w-lost", sleep=RecordingSleep())
            ran: list[int] = []

            @worker.handler(T)
            async def handle(task: Any) -> dict[str, int]:
                ran.append(task.id)
                return {"n": task.params["n"]}

            stats = await worker.arun(burst=True)
        task = await plain.get_task(task_id)
    assert (task.status, task.attempts, task.result, ran, stats.recovered) == (
        TaskStatus.COMPLETED,
        1,
        {"n": 4},
        [task_id],
        1,
    )


@pytest.mark.anyio
async def test_async_claim_cancelled_by_a_forced_stop_is_failed_back(server: LocalServer) -> None:
    """An async claim the server carried out, cancelled in flight by a forced stop: failed back."""
    async with AsyncTaskManagerClient(config_for(server)) as plain:
        await plain.register_task_type(T, "1", {"type": "object"})
        task_id = (await plain.create_task(T, {"n": 4})).id
        box: list[Worker] = []

        def stop_twice() -> None:
            box[0].stop("test stop")
            box[0].stop("test stop again")

        transport = AsyncSpoilingTransport(lambda n: "hang" if n == 1 else None, on_hang=stop_twice)
        async with AsyncTaskManagerClient(config_for(server), transport=transport) as spoilt:
            worker = Worker(spoilt, worker_id="w-lost", sleep=RecordingSleep())
            box.append(worker)
            worker.add_handler(T, lambda task: None)
            stats = await worker.arun()
        task = await plain.get_task(task_id)
    assert (task.status, task.attempts, task.claimed_by, stats.recovered) == (TaskStatus.PENDING, 1, None, 1)
    assert "released for a retry" in (task.error_message or "")


def test_a_stop_during_the_lookup_fails_the_task_back(server: LocalServer, client: TaskManagerClient) -> None:
    """The claim's reply is garbled; the lookup hangs and the worker is stopped twice meanwhile:
    the stop is not held, and a last bounded lookup fails the task back (attempts 1)."""
    (task_id,) = _setup(client)

    def spoil(hang: Spoil) -> Callable[[httpx.Request, int], Spoil | None]:
        def pick(request: httpx.Request, count: int) -> Spoil | None:
            if request.url.path.endswith("/claim") and count == 1:
                return _garble
            if request.method == "GET" and request.url.path.endswith("/tasks") and count == 1:
                return hang
            return None

        return pick

    stats, ran = _run_stopped_twice(server, spoil)
    task = client.get_task(task_id)
    assert (task.status, task.attempts, ran, stats.recovered) == (TaskStatus.PENDING, 1, [], 1)
    assert "released for a retry" in (task.error_message or "")


class ListingFake:
    """A WorkerClient stand-in for the lookup alone: ``rows`` claimed tasks, all created in one
    second (the pager's worst case), and ``get_task`` answering from ``tasks``."""

    def __init__(self, rows: list[TaskSummary], tasks: dict[int, Task]) -> None:
        self.rows = rows
        self.tasks = tasks
        self.listed: list[tuple[int, int]] = []
        self.fetched: list[int] = []

    async def list_tasks(
        self, *, status: TaskStatus, task_type: str, limit: int, offset: int
    ) -> list[TaskSummary]:
        self.listed.append((limit, offset))
        return self.rows[offset : offset + limit]

    async def get_task(self, task_id: int) -> Task:
        self.fetched.append(task_id)
        if task_id not in self.tasks:
            raise TaskManagerNotFoundError(f"task {task_id} not found")
        return self.tasks[task_id]


SECOND = dt.datetime(2026, 12, 2, 12, 0, 0, tzinfo=dt.UTC)


def _row(task_id: int, claimed_by: str) -> TaskSummary:
    return TaskSummary(task_id, T, TaskStatus.CLAIMED, 0, 0, 1, claimed_by, SECOND, None)


def _task(task_id: int, claimed_by: str, *, minute: int = 0, status: TaskStatus = TaskStatus.CLAIMED) -> Task:
    claimed_at = SECOND + dt.timedelta(minutes=minute)
    return Task(task_id, T, status, {"n": task_id}, None, None, 0, 0, 1, claimed_by, claimed_at, None, SECOND)


def _lost(fake: ListingFake, owed: int = 1) -> LostClaims:
    lost = LostClaims(cast(Any, fake), worker_id="w-lost", types=[T])
    for _ in range(owed):
        lost.note("test", sent_at=0.0)
    return lost


@pytest.mark.anyio
async def test_thousands_of_claimed_rows_are_read_only_up_to_a_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """5000 tasks claimed by others, all in one second: the lookup reads a bounded number of
    rows, finds nothing, says it stopped, and does not look again."""
    fake = ListingFake([_row(i, "w-other") for i in range(1, 5001)], {})
    lost = _lost(fake)
    with caplog.at_level(logging.WARNING, logger="taskmanager.worker"):
        found = await lost.find(held=lambda task_id: False, limit=4, timeout=5.0)
    assert found == [] and lost.owed == 0
    assert sum(limit for limit, _offset in fake.listed) <= 2000 and len(fake.listed) <= 20
    assert "stopped after" in caplog.text


@pytest.mark.anyio
async def test_many_rows_under_our_id_are_fetched_up_to_a_bound() -> None:
    """300 tasks claimed under this id (a fixed id reused): at most ten are fetched; one lost
    claim takes up one task, the most recently claimed."""
    tasks = {i: _task(i, "w-lost", minute=i % 7) for i in range(1, 301)}
    fake = ListingFake([_row(i, "w-lost") for i in range(1, 301)], tasks)
    lost = _lost(fake)
    found = await lost.find(held=lambda task_id: False, limit=4, timeout=5.0)
    assert len(fake.fetched) == 10
    assert [claimed.id for claimed in found] == [max(fake.fetched, key=lambda i: (i % 7, -i))]


@pytest.mark.anyio
async def test_rows_gone_finished_or_held_are_not_taken_up() -> None:
    """A listed task that 404s, one finished meanwhile, one re-claimed by another worker, one
    this run holds: none is taken up; the one left is, with its params."""
    rows = [_row(i, "w-lost") for i in range(1, 6)]
    tasks = {
        2: _task(2, "w-lost", status=TaskStatus.COMPLETED),
        3: _task(3, "w-other"),
        4: _task(4, "w-lost"),
        5: _task(5, "w-lost"),
    }
    fake = ListingFake(rows, tasks)
    lost = _lost(fake, owed=2)
    found = await lost.find(held=lambda task_id: task_id == 4, limit=4, timeout=5.0)
    assert [(claimed.id, claimed.params) for claimed in found] == [(5, {"n": 5})]
    assert 4 not in fake.fetched and lost.owed == 0


def test_a_task_taken_up_keeps_the_age_of_its_claim(server: LocalServer, client: TaskManagerClient) -> None:
    """The claim timeout of a task found after a lost reply runs from when that claim was sent:
    the backoff spent before the lookup is not handed to the handler as time left."""
    _setup(client)
    paused: list[float] = []

    async def sleep(seconds: float) -> None:
        paused.append(seconds)
        server.advance(seconds)
        await asyncio.sleep(0)

    seen: list[float] = []
    with TaskManagerClient(
        config_for(server), transport=SpoilingTransport(_claim_number(1, _drop))
    ) as spoilt:
        worker = Worker(spoilt, worker_id="w-lost", sleep=sleep, clock=server.clock, claim_timeout=300)
        worker.add_handler(T, lambda task: seen.append(task.time_left))
        stats = worker.run(burst=True, handle_signals=False)
    assert stats.recovered == 1 and paused and paused[0] > 0
    assert seen == [pytest.approx(300 - paused[0])]
