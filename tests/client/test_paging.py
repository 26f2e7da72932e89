"""iter_tasks paging over listings whose order within one second varies between queries."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from taskmanager import AsyncTaskManagerClient, TaskManagerClient, TaskManagerConfig, TaskManagerProtocolError
from taskmanager._paging import TiePager
from taskmanager.server import LocalServer, ManualClock


@dataclass(frozen=True)
class _Row:
    id: int
    second: int


def _shuffled_listing(rows: list[_Row], seed: int) -> Iterator[tuple[int, int, list[_Row]]]:
    """Drive a pager over ``rows`` (newest second first), shuffling ties on every query."""
    rng = random.Random(seed)
    pager: TiePager[_Row] = TiePager(3, second=lambda r: r.second, identity=lambda r: r.id)
    while not pager.done:
        limit, offset = pager.next_page()
        ordered = sorted(rows, key=lambda r: (-r.second, rng.random()))
        yield limit, offset, pager.take(ordered[offset : offset + limit])


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("seconds", [[1] * 10, [3, 3, 3, 2, 2, 1], [5] * 7 + [4] * 2 + [1] * 4, [2, 1]])
def test_every_row_exactly_once_whatever_the_tie_order(seed: int, seconds: list[int]) -> None:
    rows = [_Row(i, s) for i, s in enumerate(seconds)]
    seen = [row for _, _, taken in _shuffled_listing(rows, seed) for row in taken]
    assert sorted(r.id for r in seen) == [r.id for r in rows]


def test_a_second_larger_than_a_page_grows_the_page() -> None:
    rows = [_Row(i, 1) for i in range(10)]
    limits = [limit for limit, _, _ in _shuffled_listing(rows, 0)]
    assert limits == [3, 6, 12]


def test_pages_never_end_inside_a_second() -> None:
    rows = [_Row(i, s) for i, s in enumerate([3, 3, 2, 2, 2, 1])]
    offsets = [offset for _, offset, _ in _shuffled_listing(rows, 0)]
    assert offsets == [0, 2, 2]  # each page starts where a second starts (the second read is larger)


# -- against the local server ----------------------------------------------------------------------


def _config(server: LocalServer) -> TaskManagerConfig:
    return TaskManagerConfig(api_url=server.url, api_key="k", retry_attempts=0)


@pytest.fixture(scope="module")
def thousand_tasks() -> Iterator[tuple[LocalServer, set[int]]]:
    """1,000 tasks created within two seconds; the server lists ties in a varying order."""
    clock = ManualClock(1_800_000_000)
    with LocalServer(api_key="k", clock=clock, tie_seed=1234) as server:
        ids = set()
        with TaskManagerClient(_config(server)) as client:
            client.register_task_type("PrismQ.Ties", "1", {"type": "object"})
            for i in range(1000):
                if i == 500:
                    clock.advance(1)
                ids.add(client.create_task("PrismQ.Ties", {"i": i}).id)
        yield server, ids


@pytest.mark.parametrize("page_size", [7, 100, 500])
def test_iter_tasks_yields_each_of_1000_same_second_tasks_once(
    thousand_tasks: tuple[LocalServer, set[int]], page_size: int
) -> None:
    server, ids = thousand_tasks
    with TaskManagerClient(_config(server)) as client:
        seen = [row.id for row in client.iter_tasks(type="PrismQ.Ties", page_size=page_size)]
    assert len(seen) == len(ids) and set(seen) == ids


def test_async_iter_tasks_yields_each_of_1000_same_second_tasks_once(
    thousand_tasks: tuple[LocalServer, set[int]],
) -> None:
    server, ids = thousand_tasks

    async def walk() -> list[int]:
        async with AsyncTaskManagerClient(_config(server)) as client:
            return [row.id async for row in client.iter_tasks(page_size=100)]

    seen = asyncio.run(walk())
    assert len(seen) == len(ids) and set(seen) == ids


# -- listings no real server gives ------------------------------------------------------------------


def _pager() -> TiePager[_Row]:
    return TiePager(3, second=lambda r: r.second, identity=lambda r: r.id)


def test_a_listing_that_ignores_the_offset_ends_in_a_protocol_error() -> None:
    """Every query answers the first page: after the first, nothing new comes, and the walk stops."""
    pager = _pager()
    first_page = [_Row(i, 10 - i) for i in range(3)]
    taken, pages = [], 0
    with pytest.raises(TaskManagerProtocolError, match="does not apply its offset") as refused:
        while not pager.done and pages < 100:
            pages += 1
            taken += pager.take(first_page)
    assert pages == 4  # one page yields, three in a row yield nothing
    assert [row.id for row in taken] == [0, 1]
    assert (refused.value.method, refused.value.path) == ("GET", "/tasks")


def test_a_page_longer_than_its_limit_is_a_protocol_error() -> None:
    pager = _pager()
    with pytest.raises(TaskManagerProtocolError, match="a page of 4 tasks was listed for limit=3"):
        pager.take([_Row(i, i) for i in range(4)])


def test_pages_of_repeats_that_later_yield_something_do_not_end_the_walk() -> None:
    """Tasks created during the walk repeat rows; fewer than three stale pages in a row are fine."""
    pager = _pager()
    stale = [_Row(0, 9), _Row(1, 8), _Row(2, 7)]
    assert [r.id for r in pager.take(stale)] == [0, 1]
    for _ in range(2):
        assert pager.take(stale) == []
    assert [r.id for r in pager.take([_Row(3, 6), _Row(4, 5), _Row(5, 4)])] == [3, 4]
    for _ in range(2):
        assert pager.take(stale) == []
    assert [r.id for r in pager.take([_Row(6, 3)])] == [6]
    assert pager.done


@pytest.mark.parametrize("client_class", [TaskManagerClient, AsyncTaskManagerClient])
def test_iter_tasks_over_a_listing_that_ignores_the_offset_stops(client_class: type) -> None:
    """Both clients: a few requests, then a TaskManagerProtocolError (no endless walk)."""
    requests: list[httpx.Request] = []

    def first_page_always(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        # Bounded: past 50 queries the listing ends (a walk that does not stop ends there, unrefused).
        limit = int(request.url.params["limit"]) if len(requests) <= 50 else 0
        items = [
            {
                "id": i + 1,
                "type": "t",
                "status": "pending",
                "priority": 0,
                "progress": 0,
                "attempts": 0,
                "claimed_by": None,
                "created_at": f"2026-11-23 10:{59 - i // 60:02d}:{59 - i % 60:02d}",
                "completed_at": None,
            }
            for i in range(limit)
        ]
        body = {"success": True, "data": {"items": items, "count": len(items)}, "timestamp": 1}
        return httpx.Response(200, json=body)

    config = TaskManagerConfig(api_url="http://127.0.0.1:9/api", api_key="k")
    transport = httpx.MockTransport(first_page_always)
    with pytest.raises(TaskManagerProtocolError, match="does not apply its offset"):
        if client_class is TaskManagerClient:
            with TaskManagerClient(config, transport=transport) as client:
                for _ in client.iter_tasks(page_size=10):
                    pass
        else:

            async def walk() -> None:
                async with AsyncTaskManagerClient(config, transport=transport) as client:
                    async for _ in client.iter_tasks(page_size=10):
                        pass

            asyncio.run(walk())
    assert len(requests) == 4
