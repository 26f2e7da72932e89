"""A worker with an AsyncTaskManagerClient run more than once, each run its own event loop."""

from __future__ import annotations

import asyncio
import gc

import httpx
import pytest

from taskmanager import AsyncTaskManagerClient, TaskManagerClient, TaskManagerEventLoopError, TaskStatus
from taskmanager._worker import Worker, WorkerTask
from taskmanager.server import LocalServer

from .conftest import config_for
from .worker_fakes import RecordingSleep

T = "Test.Worker.Loops"
SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
# Enough waits for any backing off the runs below do; without the stop a refused run would
# back off for ever.
STOP_AFTER_SLEEPS = 30


def double(task: WorkerTask) -> dict[str, int]:
    return {"double": task.params["n"] * 2}


def test_one_async_client_serves_two_runs(client: TaskManagerClient, server: LocalServer) -> None:
    """run() twice (two asyncio.run()) with one async client claims and completes both times."""
    client.register_task_type(T, "1.0.0", SCHEMA)
    async_client = AsyncTaskManagerClient(config_for(server))
    sleep = RecordingSleep()
    worker = Worker(async_client, worker_id="w-loops", concurrency=2, sleep=sleep)
    sleep.actions[STOP_AFTER_SLEEPS] = worker.stop
    worker.add_handler(T, double)
    for batch in ((1, 2), (3, 4, 5)):
        ids = [client.create_task(T, {"n": n}).id for n in batch]
        before = worker.completed
        worker.run(burst=True, handle_signals=False)
        assert worker.completed - before == len(batch)
        assert [client.get_task(i).result for i in ids] == [{"double": n * 2} for n in batch]
    asyncio.run(async_client.aclose())
    gc.collect()  # a socket of the first run's pool left open would warn here (an error in tests)


def test_a_refused_client_stops_the_worker(client: TaskManagerClient, server: LocalServer) -> None:
    """A client (with the caller's own pool) still tied to another open event loop.

    run() raises TaskManagerEventLoopError at the first claim, as for a wrong key, instead of
    backing off as if the API were down.
    """
    client.register_task_type(T, "1.0.0", SCHEMA)
    task_id = client.create_task(T, {"n": 1}).id
    first = asyncio.new_event_loop()
    http = httpx.AsyncClient()
    try:
        async_client = AsyncTaskManagerClient(config_for(server), http_client=http)
        sleep = RecordingSleep()
        worker = Worker(async_client, worker_id="w-loops", sleep=sleep)
        sleep.actions[STOP_AFTER_SLEEPS] = worker.stop
        worker.add_handler(T, double)
        assert first.run_until_complete(worker.arun(burst=True)).completed == 1
        client.create_task(T, {"n": 2})
        with pytest.raises(TaskManagerEventLoopError) as info:
            worker.run(burst=True, handle_signals=False)
        assert info.value.request_sent is False
        assert worker.claimed == 1
        assert client.get_task(task_id).status is TaskStatus.COMPLETED
    finally:
        first.run_until_complete(http.aclose())
        first.close()
