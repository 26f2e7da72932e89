"""The worker end to end: the real client against the local server, time moved by a ManualClock."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from taskmanager import AsyncTaskManagerClient, TaskManagerClient, TaskStatus
from taskmanager._worker import AsyncWorkerTask, Worker, WorkerTask
from taskmanager.server import LocalServer, ManualClock

from .conftest import CLAIM_TIMEOUT, config_for
from .worker_fakes import RecordingSleep

T = "Test.Worker.Echo"
SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


@pytest.fixture
def echo_type(client: TaskManagerClient) -> str:
    client.register_task_type(T, "1.0.0", SCHEMA)
    return T


def test_burst_worker_completes_tasks_on_the_server(client: TaskManagerClient, echo_type: str) -> None:
    """Every created task ends completed with the handler's result; progress is stored."""
    ids = [client.create_task(echo_type, {"n": n}).id for n in range(6)]
    worker = Worker(client, worker_id="w-e2e", concurrency=3, sleep=RecordingSleep())

    @worker.handler(echo_type)
    def square(task: WorkerTask) -> dict[str, int]:
        assert task.report_progress(50, "half")
        return {"square": task.params["n"] ** 2}

    stats = worker.run(burst=True, handle_signals=False)
    assert (stats.claimed, stats.completed, stats.failed) == (6, 6, 0)
    tasks = [client.get_task(i) for i in ids]
    assert [t.status for t in tasks] == [TaskStatus.COMPLETED] * 6
    assert [t.result for t in tasks] == [{"square": n * n} for n in range(6)]
    assert {t.progress for t in tasks} == {50}
    assert {t.claimed_by for t in tasks} == {"w-e2e"}


def test_failures_are_retried_until_max_attempts(client: TaskManagerClient, echo_type: str) -> None:
    """A handler that always raises: the server retries it up to max attempts, then it is failed."""
    task_id = client.create_task(echo_type, {"n": 1}).id
    worker = Worker(client, worker_id="w-fail", sleep=RecordingSleep())
    worker.add_handler(echo_type, lambda task: 1 / 0)
    stats = worker.run(burst=True, handle_signals=False)
    task = client.get_task(task_id)
    assert (task.status, task.attempts, task.error_message) == (
        TaskStatus.FAILED,
        3,
        "ZeroDivisionError: division by zero",
    )
    assert (stats.claimed, stats.failed) == (3, 3)


def test_claim_lost_after_timeout_and_reclaim(
    client: TaskManagerClient, echo_type: str, server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler outliving the claim timeout: another worker re-claims, this one counts claim_lost."""
    task_id = client.create_task(echo_type, {"n": 7}).id
    worker = Worker(
        client,
        worker_id="w-slow",
        concurrency=1,
        claim_timeout=CLAIM_TIMEOUT,
        clock=server.clock,
        sleep=RecordingSleep(),
    )
    seen: list[float] = []

    @worker.handler(echo_type)
    def slow(task: WorkerTask) -> dict[str, int]:
        seen.append(task.time_left)
        server.advance(CLAIM_TIMEOUT + 1)
        seen.append(task.time_left)
        other = client.claim_task(echo_type, worker_id="w-fast")
        assert other is not None and other.id == task.id
        return {"by": "slow"}

    with caplog.at_level(logging.WARNING, logger="taskmanager.worker"):
        stats = worker.run(burst=True, handle_signals=False)
    assert seen == [CLAIM_TIMEOUT, 0.0]
    assert (stats.claim_lost, stats.completed) == (1, 0)
    task = client.get_task(task_id)
    assert (task.status, task.claimed_by, task.result) == (TaskStatus.CLAIMED, "w-fast", None)
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "claim lost" in messages and f"of its {CLAIM_TIMEOUT}s claim" in messages


def test_poison_guard_on_a_task_that_timed_out_too_often(
    client: TaskManagerClient, echo_type: str, server: LocalServer
) -> None:
    """The server re-releases timed-out claims past max attempts; the worker fails such a task unrun."""
    task_id = client.create_task(echo_type, {"n": 9}).id
    for _ in range(3):  # three workers that hung until their claims expired
        assert client.claim_task(echo_type, worker_id="w-hung") is not None
        server.advance(CLAIM_TIMEOUT + 1)
    ran: list[int] = []
    worker = Worker(client, worker_id="w-guard", max_attempts=3, sleep=RecordingSleep())
    worker.add_handler(echo_type, lambda task: ran.append(task.id))
    stats = worker.run(burst=True, handle_signals=False)
    task = client.get_task(task_id)
    assert ran == []
    assert (stats.poisoned, task.status, task.attempts) == (1, TaskStatus.FAILED, 4)
    assert "poison guard" in (task.error_message or "")


@pytest.mark.anyio
async def test_async_worker_with_async_client(async_client: AsyncTaskManagerClient) -> None:
    """An async handler on an AsyncTaskManagerClient completes tasks and reports progress."""
    await async_client.register_task_type(T, "1.0.0", SCHEMA)
    ids = [(await async_client.create_task(T, {"n": n})).id for n in range(4)]
    worker = Worker(async_client, worker_id="w-async", sleep=RecordingSleep())

    @worker.handler(T)
    async def double(task: AsyncWorkerTask) -> dict[str, Any]:
        assert await task.report_progress(10)
        return {"double": task.params["n"] * 2}

    stats = await worker.arun(burst=True)
    assert stats.completed == 4
    results = [(await async_client.get_task(i)).result for i in ids]
    assert results == [{"double": 2 * n} for n in range(4)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_api_down_then_back(no_retry_waits: None, caplog: pytest.LogCaptureFixture) -> None:
    """With no server the worker keeps backing off; when one starts it claims; one log line each way."""
    port = _free_port()
    holder: dict[str, LocalServer] = {}

    def start_server() -> None:
        srv = LocalServer(api_key="k", port=port, clock=ManualClock()).start()
        holder["server"] = srv
        with TaskManagerClient(config_for(srv)) as setup:
            setup.register_task_type(T, "1.0.0", SCHEMA)
            setup.create_task(T, {"n": 1})

    with TaskManagerClient(api_url=f"http://127.0.0.1:{port}/api", api_key="k") as client:
        worker = Worker(client, worker_id="w-down", poll_interval=1.0, down_cap=8.0)
        worker._rng.random = lambda: 0.0  # type: ignore[method-assign]  # exact delays
        worker._sleep = RecordingSleep({4: start_server})
        worker.add_handler(T, lambda task: {"ok": True})
        try:
            with caplog.at_level(logging.INFO, logger="taskmanager.worker"):
                stats = worker.run(burst=True, handle_signals=False)
        finally:
            if "server" in holder:
                holder["server"].close()
    assert worker._sleep.delays == [1.0, 2.0, 4.0, 8.0]
    assert stats.completed == 1
    messages = [r.getMessage() for r in caplog.records]
    assert sum("API calls failing" in m for m in messages) == 1
    assert sum("answering again" in m for m in messages) == 1


def test_undecodable_claim_reply_backs_off_and_carries_on(server: LocalServer, no_retry_waits: None) -> None:
    """Claim replies nested too deep to decode: the worker backs off, then claims and completes."""
    import httpx

    from taskmanager import TaskManagerClient

    from .conftest import config_for
    from .worker_fakes import RecordingSleep

    deep = ("[" * 50_000 + "]" * 50_000).encode()
    poisoned = {"left": 3}
    upstream = httpx.Client()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/claim") and poisoned["left"]:
            poisoned["left"] -= 1
            return httpx.Response(200, content=deep, headers={"content-type": "application/json"})
        reply = upstream.send(
            upstream.build_request(
                request.method, request.url, headers=request.headers, content=request.content
            )
        )
        return httpx.Response(reply.status_code, headers=reply.headers, content=reply.content)

    with (
        TaskManagerClient(config_for(server)) as direct,
        TaskManagerClient(config_for(server), transport=httpx.MockTransport(handler)) as client,
    ):
        direct.register_task_type("Test.Deep", "1.0.0", {"type": "object"})
        task_id = direct.create_task("Test.Deep", {"n": 1}).id
        sleep = RecordingSleep()
        worker = Worker(client, worker_id="w-deep", sleep=sleep, down_cap=5.0, poll_interval=1.0)
        worker.add_handler("Test.Deep", lambda task: {"ok": True})
        stats = worker.run(burst=True, handle_signals=False)
        assert poisoned["left"] == 0 and len(sleep.delays) >= 3 and max(sleep.delays) <= 5.0
        assert (stats.completed, direct.get_task(task_id).result) == (1, {"ok": True})
    upstream.close()
