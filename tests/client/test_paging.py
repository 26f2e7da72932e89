"""iter_tasks paging over listings whose order within one second varies between queries."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from taskmanager import AsyncTaskManagerClient, TaskManagerClient, TaskManagerConfig
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
