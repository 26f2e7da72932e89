"""However a run ends (an error out of the claim loop, a cancelled ``arun()``, Ctrl+C out of a
helper task), the tasks in flight are failed back on the server, never left ``claimed``."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest

from taskmanager import TaskManagerClient, TaskStatus
from taskmanager._errors import TaskManagerAuthError
from taskmanager._worker import Worker
from taskmanager.server import LocalServer

from .conftest import config_for
from .worker_fakes import RecordingSleep

T = "Test.RunEnds"
WAIT = 10  # upper bound for every wait below; none is expected to take more than a moment


class KeyRevokedOnClaim:
    """A ``TaskManagerClient`` whose claims after the first ``claims`` answer as a wrong key would."""

    def __init__(self, client: TaskManagerClient, claims: int) -> None:
        self._client = client
        self._claims = claims

    def claim_task(self, *args: Any, **kwargs: Any) -> Any:
        if self._claims <= 0:
            raise TaskManagerAuthError("Invalid API key", status_code=401)
        self._claims -= 1
        return self._client.claim_task(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _tasks(client: TaskManagerClient, n: int) -> list[int]:
    client.register_task_type(T, "1.0.0", {"type": "object"})
    return [client.create_task(T, {"n": k}).id for k in range(n)]


def _assert_failed_back(client: TaskManagerClient, ids: list[int], why: str) -> None:
    tasks = [client.get_task(task_id) for task_id in ids]
    # Failed back at attempt 1 of the server's 3: pending again, with the reason.
    assert [t.status for t in tasks] == [TaskStatus.PENDING] * len(ids)
    assert all(why in (t.error_message or "") for t in tasks), [t.error_message for t in tasks]


def test_an_auth_error_on_a_claim_fails_back_the_tasks_in_flight(
    client: TaskManagerClient, server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A 401 on a claim ends the run with TaskManagerAuthError, after failing back what runs."""
    ids = _tasks(client, 3)
    release = threading.Event()
    with TaskManagerClient(config_for(server)) as worker_client:
        worker = Worker(
            KeyRevokedOnClaim(worker_client, claims=2),
            worker_id="w-401",
            concurrency=3,
            sleep=RecordingSleep(),
        )
        worker.add_handler(T, lambda task: release.wait(WAIT))
        try:
            with caplog.at_level(logging.ERROR, "taskmanager.worker"), pytest.raises(TaskManagerAuthError):
                worker.run(burst=True, handle_signals=False)
        finally:
            release.set()
    _assert_failed_back(client, ids[:2], "the run ended by TaskManagerAuthError")
    assert client.get_task(ids[2]).status is TaskStatus.PENDING  # never claimed
    assert (worker.stats.claimed, worker.stats.failed, worker.stats.lost) == (2, 2, 0)
    assert "failing back the 2 task(s) in flight: 1, 2" in caplog.text


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_cancelled_arun_fails_back_the_tasks_in_flight(
    kind: str, client: TaskManagerClient, server: LocalServer
) -> None:
    """Cancelling arun() (asyncio.wait_for, a TaskGroup) fails back its tasks, then re-raises."""
    ids = _tasks(client, 3)
    loop = asyncio.get_running_loop()
    started: list[int] = []
    both = asyncio.Event()
    release = threading.Event()

    def note(task: Any) -> None:
        started.append(task.id)
        if len(started) == 2:
            both.set()

    def sync_handler(task: Any) -> None:
        loop.call_soon_threadsafe(note, task)
        release.wait(WAIT)

    async def async_handler(task: Any) -> None:
        note(task)
        await asyncio.sleep(WAIT)

    with TaskManagerClient(config_for(server)) as worker_client:
        worker = Worker(worker_client, worker_id="w-cancel", concurrency=2, grace_period=WAIT)
        worker.add_handler(T, sync_handler if kind == "sync" else async_handler)
        run = asyncio.ensure_future(worker.arun())
        try:
            await asyncio.wait_for(both.wait(), WAIT)
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(run, WAIT)
        finally:
            release.set()
    _assert_failed_back(client, sorted(started), "the run ended by CancelledError")
    assert (worker.stats.claimed, worker.stats.failed, worker.stats.lost) == (2, 2, 0)
    assert client.get_task(next(i for i in ids if i not in started)).status is TaskStatus.PENDING


# In a process of its own: an exception escaping the event loop is how that process ends.
SPAWNS_AN_INTERRUPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from taskmanager import TaskManagerClient, TaskManagerConfig
    from taskmanager._worker import Worker

    url, key = sys.argv[1], sys.argv[2]
    exc = KeyboardInterrupt() if sys.argv[3] == "KeyboardInterrupt" else SystemExit(4)
    other_started = asyncio.Event()

    async def helper():
        raise exc

    async def handler(task):
        if task.params["n"] == 0:
            await asyncio.wait_for(other_started.wait(), 10)
            asyncio.get_running_loop().create_task(helper())
        else:
            other_started.set()
        await asyncio.sleep(10)

    client = TaskManagerClient(TaskManagerConfig(api_url=url, api_key=key, retry_attempts=0))
    worker = Worker(client, worker_id="w-ki", concurrency=2, grace_period=10)
    worker.add_handler("Test.RunEnds", handler)
    try:
        worker.run(handle_signals=False)
    except BaseException as raised:
        s = worker.stats
        seen = {"raised": type(raised).__name__, "claimed": s.claimed, "failed": s.failed, "lost": s.lost}
        print(json.dumps(seen))
        raise
    """
)


@pytest.mark.parametrize("exc", ["KeyboardInterrupt", "SystemExit"])
def test_ctrl_c_out_of_a_handler_s_helper_task_fails_back_the_tasks_in_flight(
    exc: str, client: TaskManagerClient, server: LocalServer
) -> None:
    """KeyboardInterrupt/SystemExit out of a task a handler spawned escapes the loop: run()
    raises it, after failing back both tasks in flight."""
    ids = _tasks(client, 2)
    proc = subprocess.run(
        [sys.executable, "-c", SPAWNS_AN_INTERRUPT, server.url, server.api_key, exc],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"raised": exc, "claimed": 2, "failed": 2, "lost": 0}
    tasks = [client.get_task(task_id) for task_id in ids]
    assert [t.status for t in tasks] == [TaskStatus.PENDING] * 2
    assert all("stopped" in (t.error_message or "") for t in tasks), [t.error_message for t in tasks]
