"""Both clients against scripted replies (httpx.MockTransport): behaviour, retries, safety.

Every test runs twice, with TaskManagerClient and with AsyncTaskManagerClient (its coroutines
run on one event loop per test, see ``Driven``). Tests of what only the async client has
(event loops, its pool) are in test_async_client.py.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import taskmanager._async_client
import taskmanager._client
from taskmanager import (
    AsyncTaskManagerClient,
    ClaimPolicy,
    CompletionStatus,
    DuplicateTaskError,
    TaskClaimedByAnotherWorkerError,
    TaskFailedError,
    TaskManagerAuthError,
    TaskManagerClient,
    TaskManagerConfig,
    TaskManagerConnectionError,
    TaskManagerNotFoundError,
    TaskManagerProtocolError,
    TaskManagerRateLimitError,
    TaskManagerServerError,
    TaskManagerValidationError,
    TaskNotClaimedError,
    TaskStatus,
    WaitTimeoutError,
)
from taskmanager._dedupe import dedupe_key

from ._mock import KEY, URL, Driven, Script, fail, items, ok, task_row, type_row

pytestmark = pytest.mark.usefixtures("no_sleep")

CLAIMED = {
    "id": 4,
    "type": "T",
    "params": {"k": "v"},
    "attempts": 1,
    "priority": 0,
    "message": "Task claimed",
}


class Side:
    """One of the two clients, as the tests build and call it."""

    def __init__(self, name: str, runner: asyncio.Runner | None) -> None:
        self.name = name
        self.runner = runner
        self.client_class: type[Any] = TaskManagerClient if runner is None else AsyncTaskManagerClient
        self.http_class: type[Any] = httpx.Client if runner is None else httpx.AsyncClient
        self.made: list[Driven] = []

    def drive(self, client: Any) -> Driven:
        driven = Driven(client, self.runner)
        self.made.append(driven)
        return driven

    def make(self, script: Script, **config: Any) -> Driven:
        cfg = TaskManagerConfig(api_url=URL, api_key=KEY, **config)
        return self.drive(self.client_class(cfg, transport=httpx.MockTransport(script)))

    def close_http(self, http: Any) -> None:
        Driven(http, self.runner).close()


Make = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    """Each test runs with TaskManagerClient, then with AsyncTaskManagerClient on one event loop."""
    if request.param == "sync":
        built = Side("sync", None)
        yield built
        for client in built.made:
            client.close()
        return
    with asyncio.Runner() as runner:
        built = Side("async", runner)
        yield built
        for client in built.made:
            client.close()


@pytest.fixture
def make(side: Side) -> Make:
    """``make(script, **config)``: a client of this side on the scripted transport."""
    return side.make


@pytest.fixture
def waits(side: Side, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry and poll waits the client asked for (none of them is slept)."""
    asked: list[float] = []
    if side.runner is None:
        monkeypatch.setattr(taskmanager._client, "sleep", asked.append)
    else:

        async def asleep(seconds: float) -> None:
            asked.append(seconds)

        monkeypatch.setattr(taskmanager._async_client, "asleep", asleep)
    return asked


def created(task_id: str = "7", params: dict[str, Any] | None = None) -> httpx.Response:
    key = dedupe_key("T", params or {"a": 1})
    return ok({"id": task_id, "type": "T", "status": "pending", "dedupe_key": key, "message": "Task created"})


def dedup(task_id: int = 7, status: str = "pending") -> httpx.Response:
    return ok({"id": task_id, "status": status, "deduplicated": True, "message": "Task already exists"})


# ------------------------------------------------------------------------------ create


def test_create_sends_canonical_params_with_the_key(make: Make) -> None:
    """Params go out with keys sorted at every level, with the key header; created is True."""
    params = {"b": {"y": 1, "x": [{"q": 1, "p": 2}]}, "a": 1}
    script = Script(created(params=params))
    task = make(script).create_task("T", params)
    assert script.requests[0].content == b'{"type":"T","params":{"a":1,"b":{"x":[{"p":2,"q":1}],"y":1}}}'
    assert script.requests[0].headers["x-api-key"] == KEY
    assert (task.id, task.type, task.status, task.created, task.is_new_work) == (
        7,
        "T",
        TaskStatus.PENDING,
        True,
        True,
    )
    assert task.dedupe_key == dedupe_key("T", params)


def test_create_duplicate_of_finished_task_is_not_new_work(make: Make) -> None:
    """A duplicate of a completed task says created False and is_new_work False."""
    task = make(Script(dedup(status="completed"))).create_task("T", {"a": 1})
    assert (task.id, task.created, task.status, task.is_new_work) == (7, False, TaskStatus.COMPLETED, False)
    assert (task.type, task.dedupe_key) == ("T", dedupe_key("T", {"a": 1}))


def test_create_on_duplicate_raise(make: Make) -> None:
    """on_duplicate="raise" raises DuplicateTaskError with the existing id and status."""
    with pytest.raises(DuplicateTaskError) as info:
        make(Script(dedup(status="failed"))).create_task("T", {"a": 1}, on_duplicate="raise")
    assert (info.value.task_id, info.value.status) == (7, TaskStatus.FAILED)


@pytest.mark.parametrize("lost", [httpx.ReadError("connection reset"), httpx.ReadTimeout("slow")])
def test_create_after_lost_reply_cannot_know(make: Make, lost: Exception) -> None:
    """When the first reply was lost and the retry finds the task, created is None."""
    script = Script(lost, dedup())
    task = make(script).create_task("T", {"a": 1})
    assert task.created is None
    assert len(script.requests) == 2


def test_create_after_refused_connection_knows(make: Make) -> None:
    """A retry after a connection that was never made knows the task existed before: created False."""
    script = Script(httpx.ConnectError("refused"), dedup())
    assert make(script).create_task("T", {"a": 1}).created is False


def test_create_duplicate_entry_race_resolved_by_retry(make: Make) -> None:
    """The 500 duplicate-entry race is retried; the task was made by someone else: created False."""
    race = fail(
        500,
        "SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry 'x' for key 'unique_dedupe'",
    )
    script = Script(race, dedup())
    task = make(script).create_task("T", {"a": 1})
    assert task.created is False
    assert len(script.requests) == 2


def test_create_warns_about_mismatched_dedupe_key(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    """A server key different from the local one is logged as a warning."""
    reply = ok(
        {"id": "7", "type": "T", "status": "pending", "dedupe_key": "0" * 64, "message": "Task created"}
    )
    with caplog.at_level(logging.WARNING, logger="taskmanager"):
        task = make(Script(reply)).create_task("T", {"a": 1})
    assert task.dedupe_key == "0" * 64
    assert "differs" in caplog.text


@pytest.mark.parametrize(
    "params", [{}, {"0": "a"}, {"a": float("nan")}, {"a": {1, 2}}, {"a": 2**64}, {3: "x"}]
)
def test_create_refuses_bad_params_before_sending(make: Make, params: Any) -> None:
    """Bad params raise TaskManagerValidationError and nothing is sent."""
    script = Script()
    with pytest.raises(TaskManagerValidationError):
        make(script).create_task("T", params)
    assert script.requests == []


def test_create_priority_is_not_pretended(make: Make) -> None:
    """A priority argument warns that the server ignores it, and is not sent."""
    script = Script(created())
    with pytest.warns(UserWarning, match="priority is ignored"):
        make(script).create_task("T", {"a": 1}, priority=5)
    assert "priority" not in script.bodies()[0]


# ------------------------------------------------------------------------------ claim


def test_claim_nothing_available_is_none_and_not_retried(make: Make) -> None:
    """The real server's 500 "no active transaction" means None, after exactly one request."""
    script = Script(fail(500, "There is no active transaction"))
    assert make(script).claim_task(1, worker_id="w1") is None
    assert len(script.requests) == 1


def test_claim_documented_404_is_none(make: Make) -> None:
    """The documented 404 "No available tasks" also means None."""
    assert make(Script(fail(404, "No available tasks"))).claim_task(1, worker_id="w1") is None


def test_claim_returns_the_task_with_policy_sort(make: Make) -> None:
    """A claim sends the policy's sort and returns a typed ClaimedTask."""
    script = Script(ok(CLAIMED))
    claimed = make(script).claim_task(3, worker_id="w1", policy=ClaimPolicy.PRIORITY)
    assert script.bodies() == [
        {"worker_id": "w1", "task_type_id": 3, "sort_by": "priority", "sort_order": "DESC"}
    ]
    assert claimed is not None
    assert (claimed.id, claimed.params, claimed.attempts, claimed.worker_id, claimed.task_type_id) == (
        4,
        {"k": "v"},
        1,
        "w1",
        3,
    )
    assert claimed.claimed_at.tzinfo is not None


def test_claim_default_worker_id_from_config(make: Make) -> None:
    """Without worker_id the config's is used."""
    script = Script(ok(CLAIMED))
    claimed = make(script, worker_id="cfg-worker").claim_task(1)
    assert claimed is not None and claimed.worker_id == "cfg-worker"
    assert script.bodies()[0]["worker_id"] == "cfg-worker"


def test_claim_resolves_names_once(make: Make) -> None:
    """A type name is looked up once, then the id is reused."""
    script = Script(items(type_row(5, "T")), ok(CLAIMED), ok(CLAIMED))
    client = make(script)
    client.claim_task("T", worker_id="w1")
    client.claim_task("T", worker_id="w1")
    assert script.paths() == ["GET /api/task-types/T", "POST /api/tasks/claim", "POST /api/tasks/claim"]
    assert [b["task_type_id"] for b in script.bodies()[1:]] == [5, 5]


def test_name_cache_refreshed_when_the_server_no_longer_knows_the_type(make: Make) -> None:
    """A lookup that finds nothing drops the cached id; the next claim by name looks it up again."""
    script = Script(items(type_row(5, "T")), ok(CLAIMED), items(), items(type_row(9, "T")), ok(CLAIMED))
    client = make(script)
    client.claim_task("T", worker_id="w1")
    with pytest.raises(TaskManagerNotFoundError):
        client.get_task_type("T")
    client.claim_task("T", worker_id="w1")
    assert script.paths() == [
        "GET /api/task-types/T",
        "POST /api/tasks/claim",
        "GET /api/task-types/T",
        "GET /api/task-types/T",
        "POST /api/tasks/claim",
    ]
    assert [b["task_type_id"] for b in script.bodies() if b] == [5, 9]


@pytest.mark.parametrize("task_type", [1.5, b"T", {"T": 1}, object(), [], [1, None], [True]])
def test_claim_refuses_what_is_not_a_type_reference(make: Make, task_type: Any) -> None:
    """task_type must be a name, a positive id or a list of them; anything else is refused unsent."""
    script = Script()
    with pytest.raises(TaskManagerValidationError):
        make(script).claim_task(task_type, worker_id="w1")
    assert script.requests == []


def test_claim_unknown_name_is_not_found(make: Make) -> None:
    """An unregistered name raises TaskManagerNotFoundError."""
    with pytest.raises(TaskManagerNotFoundError):
        make(Script(items())).claim_task("Nope", worker_id="w1")


def test_claim_skips_an_unknown_name_among_known_types(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    """One unknown name does not block the others: they are claimed, with one warning per name."""
    missing = fail(404, "Task type not found")
    script = Script(
        missing, items(type_row(5, "T")), ok(CLAIMED),  # first claim: one warning
        missing, ok(CLAIMED),  # the name is looked up again, but not warned about again
        items(type_row(6, "Late")), ok(CLAIMED),  # registered meanwhile: it resolves
        items(),  # get_task_type: gone again, the cached id is dropped
        missing, ok(CLAIMED),  # so it is warned about once more
    )  # fmt: skip
    client = make(script)
    with caplog.at_level(logging.WARNING, logger="taskmanager"):
        assert client.claim_task(["Late", "T"], worker_id="w1") is not None
        assert client.claim_task(["Late", "T"], worker_id="w1") is not None
        assert len(caplog.records) == 1
        assert client.claim_task(["Late", "T"], worker_id="w1") is not None
        with pytest.raises(TaskManagerNotFoundError):
            client.get_task_type("Late")
        assert client.claim_task(["Late", "T"], worker_id="w1") is not None
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2 and all(
        "cannot claim: task type 'Late' not found" in m and "'T'" not in m for m in warned
    )
    assert [b["task_type_id"] for b in script.bodies() if b] == [5, 5, 6, 5]


def test_claim_with_no_known_type_is_not_found(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    """When no requested name is known, nothing is claimed: TaskManagerNotFoundError names them all."""
    script = Script(fail(404, "Task type not found"), items())
    with (
        caplog.at_level(logging.WARNING, logger="taskmanager"),
        pytest.raises(TaskManagerNotFoundError) as info,
    ):
        make(script).claim_task(["A", "B"], worker_id="w1")
    assert "'A', 'B' not found" in str(info.value)
    assert script.paths() == ["GET /api/task-types/A", "GET /api/task-types/B"]
    assert caplog.records == []


def test_claim_rotates_between_types(make: Make) -> None:
    """With several types, each call starts from the next type, and empty types are skipped."""
    nothing = fail(500, "There is no active transaction")
    script = Script(ok(CLAIMED), nothing, ok(CLAIMED), nothing, nothing)
    client = make(script)
    client.claim_task([1, 2], worker_id="w1")  # starts at 1: claimed
    client.claim_task([1, 2], worker_id="w1")  # starts at 2: empty, then 1
    assert client.claim_task([1, 2], worker_id="w1") is None  # starts at 1: both empty
    assert [b["task_type_id"] for b in script.bodies()] == [1, 2, 1, 1, 2]


def test_claim_retries_only_when_surely_not_sent(make: Make) -> None:
    """Connect errors and 503 are retried; a lost reply and other 500s are not."""
    script = Script(httpx.ConnectError("refused"), fail(503, "busy"), ok(CLAIMED))
    assert make(script).claim_task(1, worker_id="w1") is not None
    assert len(script.requests) == 3
    lost = Script(httpx.ReadError("reset"))
    with pytest.raises(TaskManagerConnectionError):
        make(lost).claim_task(1, worker_id="w1")
    assert len(lost.requests) == 1
    deadlock = Script(fail(500, "SQLSTATE[40001]: Deadlock found"))
    with pytest.raises(TaskManagerServerError):
        make(deadlock).claim_task(1, worker_id="w1")
    assert len(deadlock.requests) == 1


# ------------------------------------------------------------------------------ progress / complete


def test_progress_and_its_validation(make: Make) -> None:
    """Progress is an int 0..100, checked before sending; the reply becomes a ProgressUpdate."""
    script = Script(ok({"id": "4", "progress": 50, "message": "Task progress updated successfully"}))
    client = make(script)
    update = client.update_progress(4, 50, worker_id="w1", message="half")
    assert (update.task_id, update.progress) == (4, 50)
    assert script.bodies() == [{"worker_id": "w1", "progress": 50, "message": "half"}]
    for bad in (101, -1, 50.5, True, "50"):
        with pytest.raises(TaskManagerValidationError):
            client.update_progress(4, bad, worker_id="w1")  # type: ignore[arg-type]
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("completed", CompletionStatus.COMPLETED),
        ("failed", CompletionStatus.FAILED),
        ("pending (retry)", CompletionStatus.RETRY),
    ],
)
def test_completion_outcomes(make: Make, status: str, expected: CompletionStatus) -> None:
    """The reply's status becomes the outcome: completed, failed for good, or retry."""
    outcome = make(Script(ok({"id": "4", "status": status, "message": "Task completed"}))).fail_task(
        4, worker_id="w1", error="boom"
    )
    assert (outcome.task_id, outcome.status) == (4, expected)


def test_complete_refuses_non_bool_success(make: Make) -> None:
    """success must be a real bool (the server would read the string "false" as success)."""
    script = Script()
    with pytest.raises(TaskManagerValidationError):
        make(script).complete_task(4, worker_id="w1", success="false")  # type: ignore[arg-type]
    assert script.requests == []


def test_retried_completion_verified_by_get(make: Make) -> None:
    """A retry after a lost reply that finds the task completed by this worker is a success."""
    script = Script(
        httpx.ReadError("reset"),
        fail(400, "Task is not in claimed state"),
        items(task_row(4, status="completed", claimed_by="w1", result={"ok": 1})),
    )
    outcome = make(script).complete_task(4, worker_id="w1", result={"ok": 1})
    assert outcome.status is CompletionStatus.COMPLETED
    assert script.paths() == ["POST /api/tasks/4/complete", "POST /api/tasks/4/complete", "GET /api/tasks/4"]


def test_retried_failure_back_to_pending_verified(make: Make) -> None:
    """A retried failure report that finds the task pending again with our error is a RETRY outcome."""
    script = Script(
        httpx.WriteError("broken pipe"),
        fail(400, "Task is not in claimed state"),
        items(task_row(4, status="pending", claimed_by=None, error_message="boom", attempts=1)),
    )
    outcome = make(script).fail_task(4, worker_id="w1", error="boom")
    assert outcome.status is CompletionStatus.RETRY


def test_retried_completion_not_ours_raises(make: Make) -> None:
    """If the GET shows someone else's completion, the not-claimed error stands."""
    script = Script(
        fail(502, "Bad Gateway"),
        fail(400, "Task is not in claimed state"),
        items(task_row(4, status="completed", claimed_by="w2")),
    )
    with pytest.raises(TaskNotClaimedError):
        make(script).complete_task(4, worker_id="w1")


def test_first_completion_not_claimed_raises_without_checking(make: Make) -> None:
    """Without an earlier lost attempt, "not in claimed state" is raised as is."""
    script = Script(fail(400, "Task is not in claimed state"))
    with pytest.raises(TaskNotClaimedError):
        make(script).complete_task(4, worker_id="w1")
    assert len(script.requests) == 1


def test_claimed_by_another_worker(make: Make) -> None:
    """403 becomes TaskClaimedByAnotherWorkerError with the server's message."""
    with pytest.raises(TaskClaimedByAnotherWorkerError, match="claimed by another worker"):
        make(Script(fail(403, "Task is claimed by another worker"))).complete_task(4, worker_id="w1")


# ------------------------------------------------------------------------------ reads


def test_get_task_types_and_zone(make: Make) -> None:
    """get_task parses ints, enums and zone-aware datetimes (server zone from config)."""
    row = task_row(3, status="claimed", claimed_by="w1", claimed_at="2026-11-23 06:18:30", attempts="2")
    task = make(Script(items(row)), server_timezone="Europe/Prague").get_task(3)
    assert (task.id, task.status, task.attempts, task.claimed_by) == (3, TaskStatus.CLAIMED, 2, "w1")
    assert task.claimed_at is not None and task.claimed_at.utcoffset() is not None
    assert str(task.claimed_at) == "2026-11-23 06:18:30+01:00"


def test_get_task_empty_is_not_found(make: Make) -> None:
    """The server's 200 with no items is TaskManagerNotFoundError."""
    with pytest.raises(TaskManagerNotFoundError):
        make(Script(items())).get_task(99)


def test_iter_tasks_pages_through_everything(make: Make) -> None:
    """iter_tasks pages with limit/offset until a short page, yielding each id once.

    No page ends inside a second: each next page starts at the last second of the one before.
    """
    third, second, first = (task_row(i, created_at=f"2026-11-23 06:18:3{i}") for i in (3, 2, 1))
    script = Script(items(third, second), items(second, first), items(first))
    rows = list(make(script).iter_tasks(status="pending", page_size=2))
    assert [r.id for r in rows] == [3, 2, 1]
    assert [r.url.params.get("offset") for r in script.requests] == ["0", "1", "2"]
    assert script.requests[0].url.params["status"] == "pending"


def test_list_tasks_refuses_negative_limit(make: Make) -> None:
    """A negative limit (a SQL error on the server) is refused locally."""
    with pytest.raises(TaskManagerValidationError):
        make(Script()).list_tasks(limit=-1)


def test_wait_for_task_polls_until_done(make: Make) -> None:
    """wait_for_task polls until completed and returns the task."""
    script = Script(
        items(task_row(1)), items(task_row(1, status="claimed")), items(task_row(1, status="completed"))
    )
    task = make(script).wait_for_task(1, timeout=60, poll_interval=0.01)
    assert task.status is TaskStatus.COMPLETED
    assert len(script.requests) == 3


def test_wait_for_task_failure_and_timeout(make: Make) -> None:
    """A failed task raises TaskFailedError; still pending at the deadline raises WaitTimeoutError."""
    with pytest.raises(TaskFailedError) as failed:
        make(Script(items(task_row(1, status="failed", error_message="boom")))).wait_for_task(1)
    assert failed.value.task.error_message == "boom"
    with pytest.raises(WaitTimeoutError) as waited:
        make(Script(items(task_row(1)))).wait_for_task(1, timeout=0)
    assert waited.value.task_id == 1


@pytest.mark.parametrize(
    ("timeout", "poll_interval"), [(None, 1.0), ("5", 1.0), (5, "1"), (5, None), (-1, 1.0)]
)
def test_wait_for_task_refuses_bad_durations(make: Make, timeout: Any, poll_interval: Any) -> None:
    """Durations that are not non-negative numbers are refused before any request."""
    script = Script()
    with pytest.raises(TaskManagerValidationError):
        make(script).wait_for_task(1, timeout=timeout, poll_interval=poll_interval)
    assert script.requests == []


def test_list_task_types_real_server_bug_is_a_server_error(make: Make) -> None:
    """The real server's listing 500 is a TaskManagerServerError, raised without retrying."""
    script = Script(fail(500, "Invalid select field: COALESCE(t.usage_count, 0) as usage_count"))
    with pytest.raises(TaskManagerServerError, match="Invalid select field"):
        make(script).list_task_types()
    assert len(script.requests) == 1


def test_register_created_then_updated(make: Make) -> None:
    """register_task_type tells created (string id) from updated (int id)."""
    script = Script(
        ok({"id": "1", "name": "T", "version": "1", "created": True}),
        ok({"id": 1, "name": "T", "version": "2", "updated": True}),
    )
    client = make(script)
    first = client.register_task_type("T", "1", {"type": "object"})
    second = client.register_task_type("T", "2", {"type": "object"})
    assert (first.id, first.created, second.id, second.created) == (1, True, 1, False)


# ------------------------------------------------------------------------------ errors and retries


def test_auth_error(make: Make) -> None:
    """401 (pre-routing body) becomes TaskManagerAuthError and is not retried."""
    body = {
        "error": "Unauthorized",
        "message": "Invalid or missing API key.",
        "timestamp": "2026-11-23T06:18:28+00:00",
    }
    script = Script(httpx.Response(401, json=body))
    with pytest.raises(TaskManagerAuthError) as info:
        make(script).get_task(1)
    assert info.value.status_code == 401
    assert len(script.requests) == 1


def test_rate_limit_retry_honours_retry_after(make: Make, waits: list[float]) -> None:
    """A 429 is retried after the server's Retry-After."""
    script = Script(fail(429, "Too Many Requests", headers={"Retry-After": "3"}), items(task_row(1)))
    assert make(script).get_task(1).id == 1
    assert waits == [3.0]


def test_retry_after_beyond_the_max_delay_is_left_to_the_caller(make: Make, waits: list[float]) -> None:
    """A Retry-After longer than retry_max_delay raises at once, carrying the hint, instead of blocking."""
    script = Script(fail(429, "Too Many Requests", headers={"Retry-After": "3600"}))
    with pytest.raises(TaskManagerRateLimitError) as info:
        make(script, retry_max_delay=60).get_task(1)
    # The hint is capped at 300 s (an hour asked for is shown as the cap): still above the max delay.
    assert (info.value.retry_after, len(script.requests), waits) == (300.0, 1, [])


def test_unavailable_retry_honours_retry_after(make: Make, waits: list[float]) -> None:
    """A 503 with Retry-After (e.g. maintenance) is retried after the server's delay, a claim too."""
    script = Script(fail(503, "Service Unavailable", headers={"Retry-After": "2"}), ok(CLAIMED))
    assert make(script).claim_task(1, worker_id="w1") is not None
    assert waits == [2.0]
    with pytest.raises(TaskManagerServerError) as info:
        make(Script(fail(503, "down", headers={"Retry-After": "7"})), retry_attempts=0).get_task(1)
    assert info.value.retry_after == 7.0


def test_retries_stop_at_retry_attempts(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    """retry_attempts bounds the retries; each retry is logged at WARNING."""
    script = Script(*[fail(502, "Bad Gateway") for _ in range(3)])
    with caplog.at_level(logging.WARNING, logger="taskmanager"), pytest.raises(TaskManagerServerError):
        make(script, retry_attempts=2).get_task(1)
    assert len(script.requests) == 3
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING]


@pytest.mark.parametrize(
    "reply",
    [  # built for each run: a response is read once
        lambda: httpx.Response(200, text="<html>maintenance</html>"),
        lambda: httpx.Response(200, content=b'{"success":true,"data":{"items":[{"id":1'),
        lambda: ok({"rows": []}),
        lambda: ok({"items": [task_row(1, status="exploded")], "count": 1}),
    ],
)
def test_protocol_errors(make: Make, reply: Callable[[], httpx.Response]) -> None:
    """HTML, truncated JSON, wrong shapes and unknown values are TaskManagerProtocolError."""
    with pytest.raises(TaskManagerProtocolError) as info:
        make(Script(reply())).get_task(1)
    assert (info.value.method, info.value.path) == ("GET", "/tasks/1")


# ------------------------------------------------------------------------------ transport and secrecy


def test_key_never_shown(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    """The key appears in no log line, error text or repr, even at DEBUG."""
    script = Script(items(task_row(1)), fail(404, "Task not found"))
    client = make(script)
    with caplog.at_level(logging.DEBUG, logger="taskmanager"):
        client.get_task(1)
        with pytest.raises(TaskManagerNotFoundError) as info:
            client.complete_task(1, worker_id="w1")
    assert "request GET /tasks/1" in caplog.text
    for text in (caplog.text, str(info.value), repr(info.value), repr(client), repr(client.config)):
        assert KEY not in text


def test_no_output_where_the_application_configures_no_logging(side: Side) -> None:
    """The "taskmanager" logger has a NullHandler: retry warnings are not printed by Python's
    last-resort handler; applications decide what to show."""
    health = "c.health_check()" if side.runner is None else "asyncio.run(c.health_check())"
    code = (
        "import asyncio, socket, taskmanager; taskmanager.set_testing(True)\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]\n"
        f"c = taskmanager.{side.client_class.__name__}(api_url=f'http://127.0.0.1:{{port}}/api', "
        "api_key='k')\n"
        f"if not {health}:\n    print('failed')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (result.stdout, result.stderr) == ("failed\n", "")


def test_plain_http_warning_only_off_loopback(side: Side) -> None:
    """The key over plain HTTP to a non-loopback host warns; loopback and HTTPS do not."""
    with pytest.warns(UserWarning, match="unencrypted"):
        side.drive(side.client_class(api_url="http://tasks.example.com/api", api_key="k"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for url in (
            "http://127.0.0.1:8080/api",
            "http://localhost/api",
            "http://[::1]:80/api",
            "https://x.example/api",
        ):
            side.drive(side.client_class(api_url=url, api_key="k"))


def test_own_http_client_gets_the_key_and_stays_open(side: Side) -> None:
    """A caller's httpx.Client (or AsyncClient) is used as is (key added per request) and not closed."""
    script = Script(
        ok({"status": "healthy", "timestamp": 1795414708, "database": "connected"}), items(task_row(1))
    )
    http = side.http_class(transport=httpx.MockTransport(script))
    client = Driven(side.client_class(api_url=URL, api_key=KEY, http_client=http), side.runner)
    health = client.health_check()
    client.get_task(1)
    client.close()
    assert health.ok and health.server_time.year == 2026
    assert [r.headers["x-api-key"] for r in script.requests] == [KEY, KEY]
    assert not http.is_closed
    side.close_http(http)


def test_pool_timeouts_and_tls_defaults() -> None:
    """The client's own pool has the configured timeout on every phase and verifies TLS.

    (Sync client only: the async client's pool is tested in test_async_client.py.)
    """
    import ssl

    with TaskManagerClient(
        TaskManagerConfig(api_url="https://x.example/api", api_key="k", timeout=7)
    ) as client:
        http = client._http
        assert http.timeout == httpx.Timeout(7.0)
        context = http._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_plain_http_loopback_skips_the_ca_bundle_but_not_verification() -> None:
    """Plain-HTTP loopback pools trust no CA yet still verify; every other URL keeps httpx's default.

    (Sync client only: test_async_client.py::test_transport_choices is the async one.)
    """
    import ssl

    from taskmanager._http_setup import tls_verify

    for url in ("http://127.0.0.1:8080/api", "http://localhost/api", "http://[::1]:9/api"):
        context = tls_verify(TaskManagerConfig(api_url=url))
        assert isinstance(context, ssl.SSLContext), url
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert context.cert_store_stats()["x509_ca"] == 0
    for url in ("https://127.0.0.1/api", "https://x.example/api", "http://x.example/api"):
        assert tls_verify(TaskManagerConfig(api_url=url)) is True, url
    with httpx.Client() as http, pytest.raises(TaskManagerValidationError, match="not both"):
        TaskManagerClient(api_url=URL, http_client=http, transport=httpx.MockTransport(Script()))
    with TaskManagerClient(TaskManagerConfig(api_url=URL, api_key=KEY)) as client:
        pool_context = client._http._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert pool_context.verify_mode == ssl.CERT_REQUIRED
        assert pool_context.cert_store_stats()["x509_ca"] == 0


def test_no_key_no_header(side: Side) -> None:
    """Without a key (health needs none) no key header is sent."""
    script = Script(ok({"status": "healthy", "timestamp": 1795414708, "database": "connected"}))
    client = side.drive(
        side.client_class(TaskManagerConfig(api_url=URL), transport=httpx.MockTransport(script))
    )
    assert client.health_check().ok
    assert "x-api-key" not in script.requests[0].headers


def test_env_fallback(side: Side, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without arguments the client reads TASKMANAGER_API_URL and TASKMANAGER_API_KEY."""
    monkeypatch.setenv("TASKMANAGER_API_URL", "http://127.0.0.1:1/api")
    monkeypatch.setenv("TASKMANAGER_API_KEY", "env-key")
    client = side.drive(side.client_class())
    assert (client.config.api_url, client.config.api_key) == ("http://127.0.0.1:1/api", "env-key")


def test_call_on_a_closed_client_is_a_typed_error(side: Side) -> None:
    """A call after close() (or aclose()) raises TaskManagerConnectionError (nothing sent), not
    httpx's RuntimeError."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"success": True, "data": {}})

    client = Driven(
        side.client_class(
            api_url="http://127.0.0.1:9/api", api_key="k", transport=httpx.MockTransport(handler)
        ),
        side.runner,
    )
    client.close()
    with pytest.raises(TaskManagerConnectionError, match="client is closed") as info:
        client.health_check()
    assert info.value.request_sent is False
    assert (info.value.method, info.value.path) == ("GET", "/health")
    assert sent == []


def test_version_is_written_in_one_place() -> None:
    """The package metadata, the User-Agent and __version__ agree; pyproject does not repeat it."""
    import importlib.metadata
    from pathlib import Path

    import taskmanager
    from taskmanager._http_setup import USER_AGENT

    assert importlib.metadata.version("taskmanager") == taskmanager.__version__
    assert f"taskmanager-python/{taskmanager.__version__}" == USER_AGENT
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{taskmanager.__version__}"' not in pyproject


def test_default_worker_id_is_unique_per_client() -> None:
    """Without a configured id a client claims as host-pid-random, like the worker, never host-pid."""
    import os
    import re

    from taskmanager._operations import ClientState

    config = TaskManagerConfig(api_url=URL, api_key=KEY)
    first, second = ClientState(config).worker_id, ClientState(config).worker_id
    assert re.fullmatch(rf"[\w.-]+-{os.getpid()}-[0-9a-f]{{6}}", first)
    assert first != second
    assert ClientState(TaskManagerConfig(api_url=URL, api_key=KEY, worker_id="w9")).worker_id == "w9"


# ------------------------------------------------------------------------ first written for the async client


def test_create_and_duplicate(make: Make) -> None:
    """Create sends canonical params; a duplicate of a finished task raises when asked to."""
    key = dedupe_key("T", {"a": 1, "b": 2})
    script = Script(
        ok({"id": "7", "type": "T", "status": "pending", "dedupe_key": key, "message": "Task created"}),
        ok({"id": 7, "status": "completed", "deduplicated": True, "message": "Task already exists"}),
    )
    client = make(script)
    task = client.create_task("T", {"b": 2, "a": 1})
    assert (task.id, task.created, task.dedupe_key) == (7, True, key)
    with pytest.raises(DuplicateTaskError) as info:
        client.create_task("T", {"a": 1, "b": 2}, on_duplicate="raise")
    assert (info.value.task_id, info.value.status) == (7, TaskStatus.COMPLETED)
    assert script.requests[0].content == b'{"type":"T","params":{"a":1,"b":2}}'


def test_claim_resolve_rotate_and_nothing(make: Make) -> None:
    """Names resolve once, types rotate, and "no active transaction" is None without retry."""
    nothing = fail(500, "There is no active transaction")
    script = Script(items(type_row(5, "T")), ok(CLAIMED), nothing, nothing)
    client = make(script)
    claimed = client.claim_task(["T", 6], worker_id="w1")
    assert claimed is not None and claimed.task_type_id == 5
    assert client.claim_task(["T", 6], worker_id="w1") is None
    assert [b["task_type_id"] for b in script.bodies()[1:]] == [5, 6, 5]


def test_claim_lost_reply_not_retried(make: Make) -> None:
    """A claim whose reply was lost is not sent again."""
    script = Script(httpx.RemoteProtocolError("closed"))
    with pytest.raises(TaskManagerConnectionError):
        make(script).claim_task(1, worker_id="w1")
    assert len(script.requests) == 1


def test_retried_completion_verified(make: Make) -> None:
    """A completion retried after a 5xx that finds the task done by this worker succeeds."""
    script = Script(
        fail(503, "busy"),
        fail(400, "Task is not in claimed state"),
        items(task_row(4, status="failed", claimed_by="w1")),
    )
    outcome = make(script).fail_task(4, worker_id="w1", error="boom")
    assert outcome.status is CompletionStatus.FAILED


def test_claim_skips_an_unknown_name(make: Make) -> None:
    """Among several types an unknown name is skipped; alone it is TaskManagerNotFoundError."""
    script = Script(items(), items(type_row(5, "T")), ok(CLAIMED), items())
    client = make(script)
    claimed = client.claim_task(["Nope", "T"], worker_id="w1")
    assert claimed is not None and claimed.task_type_id == 5
    with pytest.raises(TaskManagerNotFoundError):
        client.claim_task("Nope", worker_id="w1")


def test_reads_progress_and_paging(make: Make) -> None:
    """Progress, get, list paging and wait, one after the other on one client."""
    script = Script(
        ok({"id": "4", "progress": 10, "message": "ok"}),
        items(task_row(4)),
        items(task_row(2), task_row(1)),
        items(task_row(2), task_row(1)),  # one second filled the page: read again, larger
        items(task_row(4, status="failed", error_message="x")),
    )
    client = make(script)
    assert client.update_progress(4, 10, worker_id="w1").progress == 10
    assert client.get_task(4).id == 4
    assert [row.id for row in client.iter_tasks(page_size=2)] == [2, 1]
    with pytest.raises(TaskFailedError):
        client.wait_for_task(4)


def test_errors_and_validation(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    """Not found, server errors after retries, and local refusals on one client."""
    script = Script(items(), *[fail(502, "Bad Gateway")] * 2)
    client = make(script, retry_attempts=1)
    with pytest.raises(TaskManagerNotFoundError):
        client.get_task_type("Nope")
    with caplog.at_level(logging.DEBUG, logger="taskmanager"):
        health = client.health_check()
    assert not health and "502" in str(health) and health.status == "error"
    with pytest.raises(TaskManagerValidationError):
        client.create_task("T", {})
    assert len(script.requests) == 3
    assert KEY not in caplog.text
