"""Every recorded reply of the real server, decoded by the client's own code.

The client builds requests with the generated bindings but decodes replies itself
(``taskmanager._wire``), so tests/generated/test_transcript_parsing.py alone does not cover what
users get. Here each reply of tests/fixtures/transcripts.jsonl is served (``httpx.MockTransport``)
to the client method that sends that request, through the sync and the async client, and must
come out as the expected model with real Python types, the expected typed error (status, message,
details, method, path), ``None`` for the claim's "nothing to claim" 500, or a not-found error for
an empty ``{items: [], count: 0}`` lookup. A change on the wire thus fails both layers' tests.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import attrs
import httpx
import pytest

from taskmanager import (
    AsyncTaskManagerClient,
    ClaimedTask,
    CompletionOutcome,
    CompletionStatus,
    CreatedTask,
    Health,
    ProgressUpdate,
    Task,
    TaskClaimedByAnotherWorkerError,
    TaskManagerAPIError,
    TaskManagerAuthError,
    TaskManagerClient,
    TaskManagerConfig,
    TaskManagerError,
    TaskManagerNotFoundError,
    TaskManagerServerError,
    TaskManagerValidationError,
    TaskNotClaimedError,
    TaskStatus,
    TaskSummary,
    TaskType,
)
from taskmanager._dedupe import canonical_params, dedupe_key

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts.jsonl"
RECORDS: list[dict[str, Any]] = [
    json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()
]
BY_CASE = {record["case"]: record for record in RECORDS}

URL = "http://127.0.0.1:9/api"
KEY = "transcript-secret-key-5678"
WORKER = "w-transcripts"
# Not UTC, so that a timestamp read without the configured zone would fail the comparison.
ZONE = dt.timezone(dt.timedelta(hours=1))
NAME = "PrismQ.Script.Generate"
SCHEMA = {"type": "object"}
PARAMS = {"topic": "Hello", "n": 3}
LOCAL_KEY = dedupe_key(NAME, canonical_params(PARAMS))
CLAIM_TYPE_ID = 7

# Exchanges no client method makes: the document download (raw, not an API reply) and the
# OPTIONS preflight.
SKIPPED = {"basics.openapi", "basics.options_tasks"}


class Op(NamedTuple):
    """A client method call and the request it must send (path relative to the API base)."""

    method_name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    http_method: str
    path: str


OPS: dict[str, Op] = {
    "health": Op("health_check", (), {}, "GET", "/health"),
    "register": Op("register_task_type", (NAME, "1.0.0", SCHEMA), {}, "POST", "/task-types/register"),
    "list_types": Op("list_task_types", (), {}, "GET", "/task-types"),
    "get_type": Op("get_task_type", (NAME,), {}, "GET", f"/task-types/{NAME}"),
    "create": Op("create_task", (NAME, PARAMS), {}, "POST", "/tasks"),
    "list_tasks": Op("list_tasks", (), {}, "GET", "/tasks"),
    "claim": Op("claim_task", (CLAIM_TYPE_ID,), {"worker_id": WORKER}, "POST", "/tasks/claim"),
    "get_task": Op("get_task", (1,), {}, "GET", "/tasks/1"),
    "complete": Op("complete_task", (1,), {"worker_id": WORKER}, "POST", "/tasks/1/complete"),
    "progress": Op("update_progress", (1, 50), {"worker_id": WORKER}, "POST", "/tasks/1/progress"),
}

# (recorded method, recorded path pattern, operation), in the server's routing order.
ROUTES = [
    ("GET", r"/health", "health"),
    ("POST", r"/task-types/register", "register"),
    ("GET", r"/task-types", "list_types"),
    ("GET", r"/task-types/[^/]+", "get_type"),
    ("POST", r"/tasks", "create"),
    ("GET", r"/tasks/?", "list_tasks"),
    ("POST", r"/tasks/claim", "claim"),
    ("GET", r"/tasks/[^/]+", "get_task"),
    ("POST", r"/tasks/[^/]+/complete", "complete"),
    ("POST", r"/tasks/[^/]+/progress", "progress"),
]
# Requests to routes the server does not have (GET /nope, PUT /tasks, DELETE /tasks/1): any
# method can meet their replies (a 401 before routing, a 404 "Endpoint not found").
STAND_IN = "list_tasks"


def _operation(record: dict[str, Any]) -> str:
    request = record["request"]
    for method, pattern, op in ROUTES:
        if request["method"] == method and re.fullmatch(pattern, request["path"]):
            return op
    return STAND_IN


def _op_for(record: dict[str, Any]) -> Op:
    """The operation that meets ``record``'s reply; a read of task N asks for task N (the client
    refuses a reply that holds another task)."""
    name = _operation(record)
    task = re.fullmatch(r"/tasks/([1-9][0-9]{0,17})", record["request"]["path"])
    if name == "get_task" and task:
        return Op("get_task", (int(task[1]),), {}, "GET", f"/tasks/{task[1]}")
    return OPS[name]


DECODED = [record for record in RECORDS if record["case"] not in SKIPPED]


# ------------------------------------------------------------------------------ expectations
# Written from the recorded JSON with plain rules, independently of taskmanager._wire.


def _when(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZONE)


def _object(value: Any) -> dict[str, Any] | None:
    # PHP sends an empty object as [].
    return {} if value == [] else value


def _task(item: dict[str, Any]) -> Task:
    return Task(
        id=int(item["id"]),
        type=item["type"],
        status=TaskStatus(item["status"]),
        params=_object(item["params"]),
        result=_object(item["result"]),
        error_message=item["error_message"],
        priority=int(item["priority"]),
        progress=int(item["progress"]),
        attempts=int(item["attempts"]),
        claimed_by=item["claimed_by"],
        claimed_at=_when(item["claimed_at"]),
        completed_at=_when(item["completed_at"]),
        created_at=_when(item["created_at"]),
    )


def _summary(item: dict[str, Any]) -> TaskSummary:
    return TaskSummary(
        id=int(item["id"]),
        type=item["type"],
        status=TaskStatus(item["status"]),
        priority=int(item["priority"]),
        progress=int(item["progress"]),
        attempts=int(item["attempts"]),
        claimed_by=item["claimed_by"],
        created_at=_when(item["created_at"]),
        completed_at=_when(item["completed_at"]),
    )


def _task_type(item: dict[str, Any]) -> TaskType:
    return TaskType(
        id=int(item["id"]),
        name=item["name"],
        version=item["version"],
        param_schema=item["param_schema"],
        is_active={0: False, 1: True}[item["is_active"]],
        created=None,
        created_at=_when(item["created_at"]),
        updated_at=_when(item["updated_at"]),
    )


def _expected_success(op: str, data: Any) -> Any:
    """The model a 200 reply must become (claimed_at, the client's clock, is checked apart)."""
    if op == "health":
        return Health(
            ok=data["status"] == "healthy" and data["database"] == "connected",
            status=data["status"],
            database=data["database"],
            server_time=dt.datetime.fromtimestamp(data["timestamp"], dt.UTC),
        )
    if op == "register":
        return TaskType(
            id=int(data["id"]),
            name=data["name"],
            version=data["version"],
            param_schema=SCHEMA,
            created="created" in data,
        )
    if op == "get_type":
        return _task_type(data["items"][0])
    if op == "list_types":
        return [_task_type(item) for item in data["items"]]
    if op == "create":
        if data.get("deduplicated"):
            # The duplicate reply has no type and no key: the client fills in what it sent.
            return CreatedTask(int(data["id"]), NAME, TaskStatus(data["status"]), LOCAL_KEY, created=False)
        return CreatedTask(
            int(data["id"]), data["type"], TaskStatus(data["status"]), data["dedupe_key"], created=True
        )
    if op == "list_tasks":
        return [_summary(item) for item in data["items"]]
    if op == "claim":
        return ClaimedTask(
            id=int(data["id"]),
            type=data["type"],
            params=data["params"],
            attempts=int(data["attempts"]),
            priority=int(data["priority"]),
            worker_id=WORKER,
            claimed_at=dt.datetime.min.replace(tzinfo=dt.UTC),  # replaced before comparing
            task_type_id=CLAIM_TYPE_ID,
        )
    if op == "get_task":
        return _task(data["items"][0])
    if op == "complete":
        return CompletionOutcome(int(data["id"]), CompletionStatus(data["status"]), data["message"])
    if op == "progress":
        return ProgressUpdate(int(data["id"]), int(data["progress"]), data["message"])
    raise AssertionError(f"no expectation for {op}")


class Failure(NamedTuple):
    """What a raised error must carry."""

    cls: type[TaskManagerError]
    message: str
    status_code: int
    details: tuple[str, ...]
    response_data: Any


def _expected_error_class(status: int, message: str) -> type[TaskManagerAPIError]:
    if status == 400:
        return (
            TaskNotClaimedError if message == "Task is not in claimed state" else TaskManagerValidationError
        )
    return {
        401: TaskManagerAuthError,
        403: TaskClaimedByAnotherWorkerError,
        404: TaskManagerNotFoundError,
        500: TaskManagerServerError,
    }[status]


def _expected(record: dict[str, Any]) -> Any:
    """The model, None, or the Failure that the recorded reply must produce."""
    op = _operation(record)
    status = record["response"]["status"]
    body = record["response"]["json"]
    if status == 200:
        data = body["data"]
        if op in ("get_type", "get_task") and data == {"items": [], "count": 0}:
            return Failure(TaskManagerNotFoundError, "", 200, (), None)  # message checked apart
        return _expected_success(op, data)
    if op == "claim" and status == 500 and body["error"] == "There is no active transaction":
        return None
    # The pre-routing body (no "success") is {"error": "Unauthorized", "message": "...", ...}.
    message = body["error"] if "success" in body else f"{body['error']}: {body['message']}"
    return Failure(
        _expected_error_class(status, body["error"]),
        message,
        status,
        tuple(body.get("details", ())),
        body,
    )


# ------------------------------------------------------------------------------ running a reply


def _config() -> TaskManagerConfig:
    # No retries: each recorded reply is decoded exactly once.
    return TaskManagerConfig(api_url=URL, api_key=KEY, retry_attempts=0, server_timezone=ZONE)


class Replay:
    """Serves one recorded reply to every request and keeps the requests."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.reply = record["response"]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(
            self.reply["status"], headers=self.reply["headers"], content=self.reply["body"].encode("utf-8")
        )


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except TaskManagerError as err:
        return err


def _run_sync(record: dict[str, Any], op: Op) -> tuple[Any, list[httpx.Request]]:
    replay = Replay(record)
    with TaskManagerClient(_config(), transport=httpx.MockTransport(replay)) as client:
        return _outcome(lambda: getattr(client, op.method_name)(*op.args, **op.kwargs)), replay.requests


def _run_async(record: dict[str, Any], op: Op) -> tuple[Any, list[httpx.Request]]:
    replay = Replay(record)

    async def main() -> Any:
        async with AsyncTaskManagerClient(_config(), transport=httpx.MockTransport(replay)) as client:
            try:
                return await getattr(client, op.method_name)(*op.args, **op.kwargs)
            except TaskManagerError as err:
                return err

    return anyio.run(main), replay.requests


def _generated_values(value: Any) -> list[str]:
    """Names of any objects from the generated package inside a result (there must be none)."""
    found = []
    if type(value).__module__.startswith("taskmanager_api"):
        found.append(type(value).__qualname__)
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            found += _generated_values(getattr(value, field.name))
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _generated_values(key) + _generated_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found += _generated_values(item)
    return found


def _check_real_types(value: Any) -> None:
    """Ids and counters are ints (never bools or strings), times tz-aware, statuses enums."""
    if isinstance(value, list):
        for item in value:
            _check_real_types(item)
        return
    for field in attrs.fields(type(value)):
        item = getattr(value, field.name)
        if field.name in ("id", "task_id", "priority", "progress", "attempts", "task_type_id"):
            assert type(item) is int, (field.name, item)
        elif field.name == "ok":
            assert type(item) is bool, (field.name, item)
        elif field.name in ("is_active", "created"):  # None: the reply does not say
            assert item is None or type(item) is bool, (field.name, item)
        elif isinstance(item, dt.datetime):
            assert item.tzinfo is not None, field.name
        elif field.name == "status" and not isinstance(value, Health):  # Health.status is text
            assert isinstance(item, enum.Enum), (field.name, item)
        elif field.name in ("params", "result", "param_schema"):
            assert item is None or type(item) is dict, (field.name, item)


def _check(record: dict[str, Any], op: Op, outcome: Any, requests: list[httpx.Request]) -> None:
    expected = _expected(record)
    (request,) = requests  # one request each: no lookups, no retries
    assert request.method == op.http_method
    assert request.url.path == "/api" + op.path
    assert _generated_values(outcome) == []
    if isinstance(expected, Failure):
        assert isinstance(outcome, TaskManagerError), outcome
        assert type(outcome) is expected.cls
        assert (outcome.method, outcome.path, outcome.status_code) == (
            op.http_method,
            op.path,
            expected.status_code,
        )
        if expected.status_code == 200:  # an empty single-item lookup
            assert "not found" in outcome.message
        else:
            assert outcome.message == expected.message
        assert outcome.details == expected.details
        assert outcome.response_data == expected.response_data
        for text in (str(outcome), repr(outcome)):
            assert KEY not in text
        return
    assert not isinstance(outcome, BaseException), repr(outcome)
    if isinstance(outcome, ClaimedTask):
        assert outcome.claimed_at.tzinfo is not None
        assert abs(dt.datetime.now(dt.UTC) - outcome.claimed_at) < dt.timedelta(minutes=5)
        outcome = attrs.evolve(outcome, claimed_at=expected.claimed_at)
    assert outcome == expected
    if outcome is not None:
        _check_real_types(outcome)


@pytest.mark.parametrize("record", DECODED, ids=[record["case"] for record in DECODED])
def test_recorded_reply_decodes_to_the_expected_result(record: dict[str, Any]) -> None:
    """The recorded reply becomes the expected model, None or typed error, in both clients."""
    op = _op_for(record)
    sync_outcome, sync_requests = _run_sync(record, op)
    _check(record, op, sync_outcome, sync_requests)
    async_outcome, async_requests = _run_async(record, op)
    _check(record, op, async_outcome, async_requests)


def test_the_fixture_is_complete() -> None:
    """All 170 recorded exchanges are here with unique names; only the two named ones are skipped."""
    assert len(RECORDS) == 170
    assert len(BY_CASE) == len(RECORDS)
    assert BY_CASE.keys() >= SKIPPED
    assert len(DECODED) == 168
    # Every client operation meets at least one recorded reply.
    assert {_operation(record) for record in DECODED} == set(OPS)


# (case, attribute, value): literal values a user acts on, beside the rule-based expectations.
FIELD_CHECKS: list[tuple[str, str, Any]] = [
    ("basics.health", "server_time", dt.datetime(2026, 11, 23, 6, 18, 28, tzinfo=dt.UTC)),
    ("basics.health", "ok", True),
    ("types.register_new", "id", 1),
    ("types.register_new", "created", True),
    ("types.register_again_new_version", "id", 1),
    ("types.register_again_new_version", "created", False),
    ("types.get_type", "is_active", True),
    ("types.get_type", "created_at", dt.datetime(2026, 11, 23, 6, 18, 28, tzinfo=ZONE)),
    ("create.create_new", "id", 1),
    ("create.create_new", "created", True),
    ("create.create_new", "dedupe_key", "3d104aa0dce5b41a08d080dfd16efe80652ed10529f6fa26587e06056adb5c60"),
    ("create.create_duplicate", "id", 1),
    ("create.create_duplicate", "created", False),
    ("create.create_duplicate", "is_new_work", True),
    ("lifecycle.create_a_again_after_done", "status", TaskStatus.COMPLETED),
    ("lifecycle.create_a_again_after_done", "is_new_work", False),
    ("lifecycle.claim_a", "params", {"k": "a"}),
    ("timeout.claim_w5_after_timeout", "attempts", 5),
    ("lifecycle.progress_50", "task_id", 1),
    ("lifecycle.progress_50", "progress", 50),
    ("lifecycle.complete_ok", "status", CompletionStatus.COMPLETED),
    ("lifecycle.fail_b1", "status", CompletionStatus.RETRY),
    ("lifecycle.fail_b3", "status", CompletionStatus.FAILED),
    ("lifecycle.get_completed", "result", {"out": "ü/x", "n": 1}),
    ("lifecycle.get_completed", "claimed_by", "w1"),
    ("lifecycle.get_completed", "completed_at", dt.datetime(2026, 11, 23, 5, 18, 29, tzinfo=dt.UTC)),
    ("lifecycle.get_b_final", "error_message", "boom 3"),
]


@pytest.mark.parametrize(
    ("case", "attribute", "value"), FIELD_CHECKS, ids=[f"{c}:{a}" for c, a, _ in FIELD_CHECKS]
)
def test_key_values(case: str, attribute: str, value: Any) -> None:
    """The values a caller acts on, with their Python types."""
    record = BY_CASE[case]
    outcome, _ = _run_sync(record, _op_for(record))
    got = getattr(outcome, attribute)
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize(
    ("case", "cls"),
    [
        ("types.list_types", TaskManagerServerError),
        ("claim.claim_empty", type(None)),
        ("basics.get_task_missing", TaskManagerNotFoundError),
        ("basics.get_type_missing", TaskManagerNotFoundError),
        ("lifecycle.complete_again", TaskNotClaimedError),
        ("timeout.complete_w1_after_lost", TaskClaimedByAnotherWorkerError),
        ("create.create_empty_object", TaskManagerValidationError),
        ("basics.auth_missing_create", TaskManagerAuthError),
    ],
)
def test_key_outcomes(case: str, cls: type) -> None:
    """The outcomes callers branch on, named literally."""
    record = BY_CASE[case]
    outcome, _ = _run_sync(record, _op_for(record))
    assert type(outcome) is cls
