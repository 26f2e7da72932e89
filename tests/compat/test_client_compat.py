"""The seed client's calls on today's clients: aliases, defaults, and clear refusals."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from taskmanager import (
    AsyncTaskManagerClient,
    CompletionStatus,
    TaskManagerClient,
    TaskManagerConfig,
    TaskManagerUnsupportedError,
    TaskManagerValidationError,
    TaskStatus,
)
from taskmanager import _operations as ops
from taskmanager.server import LocalServer

TYPE = "PrismQ.Test.Compat.Run"


def dead_url() -> str:
    """The URL of a port that was just free: bound, then closed, so nothing listens there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


def test_health_check_against_a_dead_port_is_falsy_and_says_why() -> None:
    """No server: health_check returns (not raises) a falsy result whose text names the failure."""
    with TaskManagerClient(TaskManagerConfig(api_url=dead_url(), api_key="k", retry_attempts=0)) as client:
        health = client.health_check()
    assert not health
    assert (health.ok, health.status, health.server_time) == (False, "unreachable", None)
    assert "connection failed" in str(health) and "/health" in str(health)


def test_health_check_error_reply_is_falsy() -> None:
    """A 503 from /health is an unhealthy result with the server's words, not an exception."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"success": False, "error": "Database unavailable", "timestamp": 1})

    config = TaskManagerConfig(api_url="http://127.0.0.1:9/api", api_key="k", retry_attempts=0)
    with TaskManagerClient(config, transport=httpx.MockTransport(handler)) as client:
        health = client.health_check()
    assert not health and health.status == "error" and "Database unavailable" in str(health)


def test_health_check_truthy_when_healthy(client: TaskManagerClient) -> None:
    """A healthy local server gives a truthy Health."""
    health = client.health_check()
    assert health and health["status"] == "healthy" and health.reason is None


def test_health_check_on_a_closed_client_still_raises(server: LocalServer) -> None:
    """Using a closed client is a program error, not an unhealthy server."""
    client = TaskManagerClient(api_url=server.url, api_key=server.api_key)
    client.close()
    with pytest.raises(Exception, match="client is closed"):
        client.health_check()


def test_get_task_status_is_get_task(client: TaskManagerClient) -> None:
    """get_task_status returns the same Task as get_task."""
    client.register_task_type(TYPE, "1.0.0", {"type": "object"})
    created = client.create_task(TYPE, {"n": 1})
    assert client.get_task_status(created.id) == client.get_task(created.id)
    assert client.get_task_status(created.id)["status"] == "pending"


def test_complete_without_worker_id_uses_the_claimer(client: TaskManagerClient) -> None:
    """Claimed as "youtube-worker-001", completed with no worker_id: the server accepts it."""
    client.register_task_type(TYPE, "1.0.0", {"type": "object"})
    task_id = client.create_task(TYPE, {"n": 2}).id
    claimed = client.claim_task(TYPE, worker_id="youtube-worker-001")
    assert claimed is not None and claimed.id == task_id
    client.update_progress(task_id, 50)
    outcome = client.complete_task(task_id, {"ideas_found": 3}, status="completed")
    assert outcome.status is CompletionStatus.COMPLETED
    task = client.get_task(task_id)
    assert (task.claimed_by, task.result) == ("youtube-worker-001", {"ideas_found": 3})
    assert task_id not in client._state.claims  # forgotten once completed


def test_status_failed_fails_and_keeps_the_error(client: TaskManagerClient) -> None:
    """status="failed" fails the task; the result's "error" text becomes its error message."""
    client.register_task_type(TYPE, "1.0.0", {"type": "object"})
    task_id = client.create_task(TYPE, {"n": 3}).id
    client.claim_task(TYPE, worker_id="w-failing")
    outcome = client.complete_task(task_id=task_id, result={"error": "channel gone"}, status="FAILED")
    assert outcome.status is CompletionStatus.RETRY
    task = client.get_task(task_id)
    assert (task.status, task.error_message) == (TaskStatus.PENDING, "channel gone")


def test_without_a_claim_through_this_client_the_default_worker_id_is_used(client: TaskManagerClient) -> None:
    """A task claimed elsewhere under the client's default id completes without worker_id."""
    client.register_task_type(TYPE, "1.0.0", {"type": "object"})
    task_id = client.create_task(TYPE, {"n": 4}).id
    with TaskManagerClient(client.config) as other:  # same default worker id, separate memory
        assert other.claim_task(TYPE) is not None
    assert task_id not in client._state.claims
    assert client.fail_task(task_id, error="no").status is CompletionStatus.RETRY


@pytest.mark.parametrize(
    ("status", "success", "match"),
    [
        ("done", None, "completed"),
        ("failed", True, "contradicts"),
        ("completed", False, "contradicts"),
        (1, None, "must be"),
    ],
)
def test_bad_or_contradicting_status_is_refused_unsent(
    status: object, success: bool | None, match: str
) -> None:
    """An unknown status, or one that contradicts success=, is a validation error before sending."""
    with pytest.raises(TaskManagerValidationError, match=match):
        ops.completion_success(status, success)


def test_completion_status_spellings() -> None:
    """completed/failed in any case, the enums, and success= alone all work."""
    assert ops.completion_success("Completed", None) is True
    assert ops.completion_success(TaskStatus.FAILED, False) is False
    assert ops.completion_success(None, None) is True and ops.completion_success(None, False) is False


def test_remembered_claims_are_bounded() -> None:
    """The claim memory keeps the most recent claims only."""
    state = ops.ClientState(TaskManagerConfig(api_url="http://127.0.0.1:9/api", worker_id="dflt"))
    for task_id in range(1, ops.MAX_REMEMBERED_CLAIMS + 11):
        state.remember_claim(task_id, f"w{task_id}")
    assert len(state.claims) == ops.MAX_REMEMBERED_CLAIMS
    assert state.claimer(1, None) == "dflt" and state.claimer(
        ops.MAX_REMEMBERED_CLAIMS + 10, None
    ).startswith("w")
    assert state.claimer(1, "given") == "given"


def test_calls_the_api_cannot_do_say_so(client: TaskManagerClient) -> None:
    """claim without a type, cancel, per-type settings: one-line TaskManagerUnsupportedError."""
    cases = [
        lambda: client.claim_task(),
        lambda: client.claim_task(worker_id="w"),
        lambda: client.cancel_task(125),
        lambda: client.register_task_type(
            "cleanup_runs", "1.0", {"type": "object"}, max_attempts=3, timeout=300
        ),
    ]
    for call in cases:
        with pytest.raises(TaskManagerUnsupportedError, match="the TaskManager API does not support") as info:
            call()
        assert "\n" not in str(info.value) and isinstance(info.value, NotImplementedError)
    with pytest.raises(TaskManagerUnsupportedError, match=r"max_attempts, timeout"):
        cases[3]()


def test_priority_on_create_still_creates_with_a_warning(client: TaskManagerClient) -> None:
    """create_task(priority=...) creates the task and warns that the server ignores it."""
    client.register_task_type(TYPE, "1.0.0", {"type": "object"})
    with pytest.warns(UserWarning, match="priority is ignored"):
        task = client.create_task(TYPE, {"n": 5}, priority=7)
    assert task["created"] is True


def test_async_client_has_the_same_calls(server: LocalServer) -> None:
    """The async client: get_task_status, remembered worker id, status=, refusals, dead health."""

    async def main() -> None:
        config = TaskManagerConfig(api_url=server.url, api_key=server.api_key, retry_attempts=0)
        async with AsyncTaskManagerClient(config) as client:
            await client.register_task_type(TYPE, "1.0.0", {"type": "object"})
            task_id = (await client.create_task(TYPE, {"n": 6}))["id"]
            task = await client.claim_task(TYPE, worker_id="async-w", policy="lifo")
            assert task is not None and task["id"] == task_id
            outcome = await client.complete_task(task_id, {"ok": True}, status="completed")
            assert outcome.status is CompletionStatus.COMPLETED
            assert (await client.get_task_status(task_id)).claimed_by == "async-w"
            with pytest.raises(TaskManagerUnsupportedError):
                await client.cancel_task(task_id)
            with pytest.raises(TaskManagerUnsupportedError):
                await client.claim_task()
        dead = TaskManagerConfig(api_url=dead_url(), api_key="k", retry_attempts=0)
        async with AsyncTaskManagerClient(dead) as down:
            assert not await down.health_check()

    asyncio.run(main())
