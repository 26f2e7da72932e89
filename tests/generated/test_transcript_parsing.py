"""Every recorded reply of the real server parses into the generated typed models.

tests/fixtures/transcripts.jsonl holds exchanges recorded against the real server. Each reply is
fed to the generated ``_parse_response`` of the operation that was called, and must come out as
that operation's envelope (2xx) or as the error model of its status: never ``None``, never a
model with every field UNSET, and never with a field left in ``additional_properties`` (which is
where a misdescribed field ends up).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import httpx
import pytest
from taskmanager_api import AuthenticatedClient
from taskmanager_api.api.health import health_check
from taskmanager_api.api.task_types import get_task_type, list_task_types, register_task_type
from taskmanager_api.api.tasks import (
    claim_task,
    complete_task,
    create_task,
    get_task,
    list_tasks,
    update_task_progress,
)
from taskmanager_api.models import (
    AuthErrorBody,
    ClaimTaskEnvelope,
    ClaimTaskRequest,
    CompleteTaskEnvelope,
    CreateTaskEnvelope,
    CreateTaskRequest,
    ErrorEnvelope,
    GetTaskEnvelope,
    GetTaskTypeEnvelope,
    HealthCheckEnvelope,
    HealthStatus,
    JsonObject,
    ListTasksEnvelope,
    ListTaskTypesEnvelope,
    RegisterTaskTypeEnvelope,
    TaskClaimed,
    TaskCompleted,
    TaskCreated,
    TaskItems,
    TaskListItems,
    TaskProgressUpdated,
    TaskTypeItems,
    TaskTypeRegistered,
    UpdateTaskProgressEnvelope,
)
from taskmanager_api.types import UNSET, Unset

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts.jsonl"
RECORDS: list[dict[str, Any]] = [
    json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()
]

# Recorded exchanges whose reply no client operation parses. The document download returns the
# published description itself (raw, no envelope; the fixture keeps only a placeholder), and the
# OPTIONS preflight answers an empty text/html body to a method no operation sends.
SKIPPED = {"basics.openapi", "basics.options_tasks"}

# (method, path pattern, operation module, envelope, payload) in the server's routing order.
ROUTES: list[tuple[str, str, ModuleType, type, type]] = [
    ("GET", r"/health", health_check, HealthCheckEnvelope, HealthStatus),
    ("POST", r"/task-types/register", register_task_type, RegisterTaskTypeEnvelope, TaskTypeRegistered),
    ("GET", r"/task-types", list_task_types, ListTaskTypesEnvelope, TaskTypeItems),
    ("GET", r"/task-types/[^/]+", get_task_type, GetTaskTypeEnvelope, TaskTypeItems),
    ("POST", r"/tasks", create_task, CreateTaskEnvelope, TaskCreated),
    ("GET", r"/tasks/?", list_tasks, ListTasksEnvelope, TaskListItems),
    ("POST", r"/tasks/claim", claim_task, ClaimTaskEnvelope, TaskClaimed),
    ("GET", r"/tasks/[^/]+", get_task, GetTaskEnvelope, TaskItems),
    ("POST", r"/tasks/[^/]+/complete", complete_task, CompleteTaskEnvelope, TaskCompleted),
    ("POST", r"/tasks/[^/]+/progress", update_task_progress, UpdateTaskProgressEnvelope, TaskProgressUpdated),
]

# Requests to routes the server does not have (GET /nope, PUT /tasks, DELETE /tasks/1). A client
# meets the same replies from any operation (a 401 before routing; a 404 "Endpoint not found",
# e.g. for a type name containing "api"), and every operation declares both: list_tasks stands in.
UNROUTED_STAND_IN = ("GET", r"/tasks/?", list_tasks, ListTasksEnvelope, TaskListItems)

# Endpoint errors use the error envelope; replies refused before routing use the auth-shaped body.
ERROR_MODEL: dict[int, type] = {
    400: ErrorEnvelope,
    403: ErrorEnvelope,
    404: ErrorEnvelope,
    500: ErrorEnvelope,
    401: AuthErrorBody,
    413: AuthErrorBody,
    429: AuthErrorBody,
}


def _route(record: dict[str, Any]) -> tuple[str, str, ModuleType, type, type]:
    request = record["request"]
    for route in ROUTES:
        method, pattern = route[0], route[1]
        if request["method"] == method and re.fullmatch(pattern, request["path"]):
            return route
    return UNROUTED_STAND_IN


def _client(transport: httpx.MockTransport | None = None) -> AuthenticatedClient:
    """The construction the facade uses: the key goes in X-API-Key with no prefix."""
    return AuthenticatedClient(
        base_url="http://127.0.0.1:9/api",
        token="test-key",
        prefix="",
        auth_header_name="X-API-Key",
        raise_on_unexpected_status=True,
        httpx_args={"transport": transport} if transport is not None else {},
    )


def _recorded_response(record: dict[str, Any]) -> httpx.Response:
    reply = record["response"]
    return httpx.Response(reply["status"], headers=reply["headers"], content=reply["body"].encode("utf-8"))


def _parse(record: dict[str, Any]) -> Any:
    module = _route(record)[2]
    return module._parse_response(client=_client(), response=_recorded_response(record))


def _models(value: Any) -> Iterator[Any]:
    """Every generated model instance inside a parsed value (depth first)."""
    if attrs.has(type(value)):
        yield value
        for field in attrs.fields(type(value)):
            if field.name != "additional_properties":
                yield from _models(getattr(value, field.name))
    elif isinstance(value, list):
        for item in value:
            yield from _models(item)


PARSED = [record for record in RECORDS if record["case"] not in SKIPPED]
BY_CASE = {record["case"]: record for record in RECORDS}


def test_the_fixture_is_complete() -> None:
    """All 170 recorded exchanges are present, with unique names; only the two named ones are skipped."""
    assert len(RECORDS) == 170
    assert len(BY_CASE) == len(RECORDS)
    assert BY_CASE.keys() >= SKIPPED
    assert len(PARSED) == 168
    assert BY_CASE["basics.options_tasks"]["response"]["body"] == ""


@pytest.mark.parametrize("record", PARSED, ids=[record["case"] for record in PARSED])
def test_recorded_reply_parses_into_its_typed_model(record: dict[str, Any]) -> None:
    """The reply becomes the operation's envelope or the status's error model, losing nothing."""
    status = record["response"]["status"]
    recorded = record["response"]["json"]
    _, _, _, envelope, payload = _route(record)

    parsed = _parse(record)

    if status == 200:
        assert isinstance(parsed, envelope)
        assert parsed.success is True
        assert isinstance(parsed.data, payload)
        assert parsed.data.to_dict() == recorded["data"]
    else:
        assert isinstance(parsed, ERROR_MODEL[status])
        assert parsed.error == recorded["error"]
        if isinstance(parsed, ErrorEnvelope):
            assert parsed.success is False
            assert isinstance(parsed.timestamp, int)
            assert parsed.details == recorded.get("details", UNSET)
        else:
            assert parsed.message == recorded["message"]
            assert isinstance(parsed.timestamp, str)
    # Lossless: serialising the model gives back exactly what the server sent.
    assert parsed.to_dict() == recorded
    for model in _models(parsed):
        # A declared field never lands in additional_properties; free-form objects are JsonObject.
        if not isinstance(model, JsonObject):
            assert model.additional_properties == {}, type(model).__name__
        values = [getattr(model, field.name) for field in attrs.fields(type(model))]
        assert not all(isinstance(value, Unset) for value in values), type(model).__name__


# (case, attribute path in the parsed reply, expected value): the fields a client acts on.
FIELD_CHECKS: list[tuple[str, str, Any]] = [
    ("basics.health", "data.status", "healthy"),
    ("basics.health", "data.database", "connected"),
    ("basics.health", "data.timestamp", 1795414708),
    ("types.register_new", "data.id", "1"),
    ("types.register_new", "data.created", True),
    ("types.register_new", "data.updated", UNSET),
    ("types.register_again_new_version", "data.id", 1),
    ("types.register_again_new_version", "data.updated", True),
    ("types.register_again_new_version", "data.created", UNSET),
    ("types.get_type", "data.count", 1),
    ("types.get_type", "data.items[0].id", 1),
    ("types.get_type", "data.items[0].name", "PrismQ.Script.Generate"),
    ("types.get_type", "data.items[0].is_active", 1),
    ("types.get_type", "data.items[0].created_at", "2026-11-23 06:18:28"),
    ("types.get_type", "data.items[0].param_schema.required", ["topic"]),
    ("basics.get_type_missing", "data.items", []),
    ("basics.get_type_missing", "data.count", 0),
    ("basics.get_task_missing", "data.items", []),
    ("basics.get_task_missing", "data.count", 0),
    ("create.create_new", "data.id", "1"),
    ("create.create_new", "data.type_", "PrismQ.Script.Generate"),
    ("create.create_new", "data.status", "pending"),
    (
        "create.create_new",
        "data.dedupe_key",
        "3d104aa0dce5b41a08d080dfd16efe80652ed10529f6fa26587e06056adb5c60",
    ),
    ("create.create_new", "data.deduplicated", UNSET),
    ("create.create_duplicate", "data.id", 1),
    ("create.create_duplicate", "data.status", "pending"),
    ("create.create_duplicate", "data.deduplicated", True),
    ("create.create_duplicate", "data.type_", UNSET),
    ("create.create_duplicate", "data.dedupe_key", UNSET),
    ("lifecycle.create_a_again_after_done", "data.status", "completed"),
    ("lifecycle.create_a_again_after_done", "data.deduplicated", True),
    ("lifecycle.claim_a", "data.id", 1),
    ("lifecycle.claim_a", "data.type_", "PrismQ.Script.Generate"),
    ("lifecycle.claim_a", "data.params", {"k": "a"}),
    ("lifecycle.claim_a", "data.attempts", 1),
    ("lifecycle.claim_a", "data.priority", 0),
    ("timeout.claim_w5_after_timeout", "data.attempts", 5),
    ("lifecycle.progress_50", "data.id", "1"),
    ("lifecycle.progress_50", "data.progress", 50),
    ("lifecycle.complete_ok", "data.id", "1"),
    ("lifecycle.complete_ok", "data.status", "completed"),
    ("lifecycle.fail_b1", "data.status", "pending (retry)"),
    ("lifecycle.fail_b3", "data.status", "failed"),
    ("lifecycle.get_completed", "data.items[0].result", {"out": "ü/x", "n": 1}),
    ("lifecycle.get_completed", "data.items[0].error_message", None),
    ("lifecycle.get_completed", "data.items[0].claimed_by", "w1"),
    ("lifecycle.get_completed", "data.items[0].completed_at", "2026-11-23 06:18:29"),
    ("lifecycle.get_b_final", "data.items[0].status", "failed"),
    ("lifecycle.get_b_final", "data.items[0].error_message", "boom 3"),
    ("lifecycle.get_b_final", "data.items[0].result", None),
    ("claim.list_after_claims", "data.count", 6),
    ("claim.list_after_claims", "data.items[5].id", 6),
    ("claim.list_after_claims", "data.items[5].type_", "PrismQ.Other"),
    ("claim.list_after_claims", "data.items[0].claimed_by", "w1"),
    ("claim.list_after_claims", "data.items[0].completed_at", None),
    ("lifecycle.list_limit_0", "data.items", []),
    ("claim.claim_empty", "error", "There is no active transaction"),
    ("claim.claim_empty", "success", False),
    ("types.list_types", "error", "Invalid select field: COALESCE(t.usage_count, 0) as usage_count"),
    ("create.create_empty_object", "error", "Validation failed"),
    ("create.create_empty_object", "details", ["Field 'params' must be of type object"]),
    ("create.create_unknown_type", "error", "Task type not found"),
    ("create.create_unknown_type", "details", UNSET),
    ("lifecycle.progress_wrong_worker", "error", "Task is claimed by another worker"),
    ("lifecycle.complete_again", "error", "Task is not in claimed state"),
    ("basics.unknown_path", "error", "Endpoint not found"),
    ("basics.auth_missing_create", "error", "Unauthorized"),
    ("basics.auth_missing_create", "timestamp", "2026-11-23T06:18:28+00:00"),
]


def _read(value: Any, path: str) -> Any:
    """Follow an attribute path like ``data.items[0].name``; JsonObject is read as a dict."""
    for step in path.split("."):
        name, _, index = step.partition("[")
        value = value[name] if isinstance(value, JsonObject) else getattr(value, name)
        if index:
            value = value[int(index.rstrip("]"))]
    return value.to_dict() if isinstance(value, JsonObject) else value


@pytest.mark.parametrize(
    ("case", "path", "expected"),
    FIELD_CHECKS,
    ids=[f"{case}:{path}" for case, path, _ in FIELD_CHECKS],
)
def test_key_fields_hold_the_recorded_values(case: str, path: str, expected: Any) -> None:
    """The fields a client acts on carry the server's values with the server's types."""
    value = _read(_parse(BY_CASE[case]), path)
    assert value == expected
    assert type(value) is type(expected)


def test_an_undocumented_status_is_not_silently_none() -> None:
    """A status no operation declares raises instead of parsing to None (raise_on_unexpected_status)."""
    from taskmanager_api import errors

    response = httpx.Response(418, json={"success": False, "error": "teapot", "timestamp": 1})
    with pytest.raises(errors.UnexpectedStatus):
        create_task._parse_response(client=_client(), response=response)


def _replay(record: dict[str, Any], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _recorded_response(record)

    return httpx.MockTransport(handler)


def test_sync_call_sends_the_key_and_parses_the_reply() -> None:
    """sync_detailed builds the request under the /api base with X-API-Key and returns the typed reply."""
    seen: list[httpx.Request] = []
    client = _client(_replay(BY_CASE["create.create_new"], seen))
    params = {"topic": "Hello", "style": "formal", "n": 3}
    body = CreateTaskRequest(type_="PrismQ.Script.Generate", params=JsonObject.from_dict(params))
    with client:
        reply = create_task.sync_detailed(client=client, body=body)
    assert isinstance(reply.parsed, CreateTaskEnvelope)
    assert reply.parsed.data.id == "1"
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", "http://127.0.0.1:9/api/tasks")
    assert request.headers["X-API-Key"] == "test-key"
    sent = json.loads(request.content)
    assert sent == {"type": "PrismQ.Script.Generate", "params": params}
    # Parameter key order is kept: the server's dedupe key depends on it.
    assert list(sent["params"]) == ["topic", "style", "n"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_async_call_parses_the_claim_500_as_error_envelope() -> None:
    """asyncio_detailed parses the 500 an empty queue answers into ErrorEnvelope."""
    seen: list[httpx.Request] = []
    client = _client(_replay(BY_CASE["claim.claim_empty"], seen))
    async with client:
        body = ClaimTaskRequest(worker_id="w1", task_type_id=1)
        reply = await claim_task.asyncio_detailed(client=client, body=body)
    assert reply.status_code == 500
    assert isinstance(reply.parsed, ErrorEnvelope)
    assert reply.parsed.error == "There is no active transaction"
    (request,) = seen
    assert str(request.url) == "http://127.0.0.1:9/api/tasks/claim"
    assert json.loads(request.content) == {"worker_id": "w1", "task_type_id": 1}
    assert request.headers["X-API-Key"] == "test-key"
