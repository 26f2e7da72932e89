"""Section 5: the worker's own cost, with a handler that returns at once.

For each client (sync, async) and concurrency (1, 8, 32), the same number of tasks is created
beforehand (a fresh task type per cell, by plain ``http.client``) and then drained either by
the facade's own claim + complete loop (threads or tasks sharing one client) or by a
``Worker`` on that client with ``burst=True``; the figure is tasks done per second. The two
alternate over the rounds, so both see the same server and load; the ratio says what the worker
adds on top of the calls it makes.

Two small rows show what an API call started on its own OS thread costs against handing it to
a thread that is already running (the sync client's calls from the worker's event loop).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from bench_common import API_KEY, Compare, Row, create_tasks, median, register_type, server_process

WIDTHS = (1, 8, 32)
_cells = itertools.count()


# -- the facade's own loop ----------------------------------------------------------------------


def _sync_loop(url: str, type_id: int, width: int) -> int:
    from taskmanager import TaskManagerClient

    done = [0] * width
    with TaskManagerClient(api_url=url, api_key=API_KEY) as client:

        def drain(slot: int) -> None:
            worker = f"bench-loop-{slot}"
            while (task := client.claim_task(type_id, worker_id=worker)) is not None:
                client.complete_task(task.id, worker_id=worker, result={})
                done[slot] += 1

        pool = [threading.Thread(target=drain, args=(i,)) for i in range(width)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    return sum(done)


def _async_loop(url: str, type_id: int, width: int) -> int:
    from taskmanager import AsyncTaskManagerClient

    async def main() -> int:
        done = [0] * width
        async with AsyncTaskManagerClient(api_url=url, api_key=API_KEY) as client:

            async def drain(slot: int) -> None:
                worker = f"bench-loop-{slot}"
                while (task := await client.claim_task(type_id, worker_id=worker)) is not None:
                    await client.complete_task(task.id, worker_id=worker, result={})
                    done[slot] += 1

            await asyncio.gather(*(drain(i) for i in range(width)))
        return sum(done)

    return asyncio.run(main())


# -- the Worker ---------------------------------------------------------------------------------


def _worker(client: Any, name: str, width: int) -> Any:
    from taskmanager import Worker

    worker = Worker(client, concurrency=width, poll_interval=0.05, worker_id=f"bench-worker-{name}")
    return worker


def _sync_worker(url: str, name: str, width: int) -> int:
    from taskmanager import TaskManagerClient

    with TaskManagerClient(api_url=url, api_key=API_KEY) as client:
        worker = _worker(client, name, width)

        @worker.handler(name)
        def handle(task: object) -> dict[str, Any]:
            return {}

        stats = worker.run(burst=True, handle_signals=False)
    return int(stats.completed)


def _async_worker(url: str, name: str, width: int) -> int:
    from taskmanager import AsyncTaskManagerClient

    async def main() -> int:
        async with AsyncTaskManagerClient(api_url=url, api_key=API_KEY) as client:
            worker = _worker(client, name, width)

            @worker.handler(name)
            async def handle(task: object) -> dict[str, Any]:
                return {}

            stats = await worker.arun(burst=True)
        return int(stats.completed)

    return asyncio.run(main())


# -- thread per call ----------------------------------------------------------------------------


def _thread_costs(calls: int) -> tuple[float, float]:
    """Microseconds per call: a new OS thread started and joined; a hand-off to a running thread."""

    def noop() -> None:
        return None

    started = time.perf_counter()
    for _ in range(calls):
        thread = threading.Thread(target=noop, daemon=True)
        thread.start()
        thread.join()
    fresh = (time.perf_counter() - started) / calls * 1e6

    jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
    results: queue.SimpleQueue[None] = queue.SimpleQueue()

    def serve() -> None:
        while (job := jobs.get()) is not None:
            job()
            results.put(None)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    started = time.perf_counter()
    for _ in range(calls):
        jobs.put(noop)
        results.get()
    pooled = (time.perf_counter() - started) / calls * 1e6
    jobs.put(None)
    server.join()
    return fresh, pooled


def run(quick: bool = False) -> list[Row]:
    tasks, rounds = (60, 1) if quick else (300, 3)
    logging.getLogger("taskmanager").setLevel(logging.ERROR)  # "nothing to claim" chatter
    kinds: dict[str, tuple[Callable[[str, int, int], int], Callable[[str, str, int], int]]] = {
        "sync": (_sync_loop, _sync_worker),
        "async": (_async_loop, _async_worker),
    }
    rows: list[Row] = []
    with server_process() as url:
        for kind, (loop, worker) in kinds.items():
            for width in WIDTHS:
                rates: dict[str, list[float]] = {"loop": [], "worker": []}
                failure = ""
                for r in range(rounds):
                    for which in ("loop", "worker") if r % 2 == 0 else ("worker", "loop"):
                        name = f"bench.worker.{next(_cells)}"
                        try:
                            type_id = register_type(url, name)
                            create_tasks(url, name, tasks)
                            started = time.perf_counter()
                            done = loop(url, type_id, width) if which == "loop" else worker(url, name, width)
                            elapsed = time.perf_counter() - started
                        except Exception as exc:  # reported in the table; the other cells still stand
                            failure = f"{which}: {type(exc).__name__}: {exc}"
                            continue
                        if done != tasks:
                            failure = f"{which} did {done} of {tasks} tasks"
                        rates[which].append(done / elapsed)
                label = "threads" if kind == "sync" else "c"
                rows.append(
                    Row(
                        "5 worker",
                        f"{kind} {label}={width}: facade claim+complete loop",
                        median(rates["loop"]),
                        "tasks/s",
                        samples=rates["loop"],
                    )
                )
                rows.append(
                    Row(
                        "5 worker",
                        f"{kind} {label}={width}: Worker",
                        median(rates["worker"]) if rates["worker"] else None,
                        "tasks/s",
                        versus=[Compare.of("facade loop", rates["worker"], rates["loop"])]
                        if rates["worker"] and rates["loop"]
                        else [],
                        targets={0: ">= 0.80"},
                        note=failure,
                        samples=rates["worker"],
                    )
                )
    fresh, pooled = _thread_costs(300 if quick else 3000)
    rows.append(Row("5 worker", "a call on a new OS thread (start + join)", fresh, "us/call"))
    rows.append(
        Row(
            "5 worker",
            "a call handed to a running thread",
            pooled,
            "us/call",
            versus=[
                Compare(
                    baseline="new thread",
                    value=fresh,
                    ratio=pooled / fresh,
                    rounds=pooled / fresh,
                    low=pooled / fresh,
                    high=pooled / fresh,
                )
            ],
        )
    )
    return rows
