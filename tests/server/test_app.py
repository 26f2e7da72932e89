"""Endpoint behaviour of the local server over HTTP, beyond the recorded transcripts."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from taskmanager.server import LocalServer, ManualClock

from .conftest import API_KEY

FREE = {"type": "object"}


def data(response: httpx.Response) -> Any:
    body = response.json()
    assert body["success"] is True, body
    return body["data"]


def error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["success"] is False, body
    return response.status_code, body["error"]


def register(client: httpx.Client, name: str = "PrismQ.T", schema: Any = FREE) -> Any:
    return data(
        client.post("/task-types/register", json={"name": name, "version": "1", "param_schema": schema})
    )


def create(client: httpx.Client, params: Any, name: str = "PrismQ.T") -> Any:
    return data(client.post("/tasks", json={"type": name, "params": params}))


def claim(client: httpx.Client, worker: str = "w1", **extra: Any) -> httpx.Response:
    return client.post("/tasks/claim", json={"worker_id": worker, "task_type_id": 1, **extra})


def complete(client: httpx.Client, task: int | str, worker: str = "w1", **body: Any) -> httpx.Response:
    return client.post(f"/tasks/{task}/complete", json={"worker_id": worker, "success": True, **body})


def get(client: httpx.Client, task: int | str) -> list[Any]:
    result = data(client.get(f"/tasks/{task}"))
    assert result["count"] == len(result["items"])
    return list(result["items"])


# -- transport, routing, auth --------------------------------------------------------------


def test_auth_is_checked_before_routing(server: LocalServer) -> None:
    """No or a wrong key: 401 with the text/html JSON body, even for unknown paths."""
    for headers in ({}, {"X-API-Key": "nope"}):
        reply = httpx.get(server.base_url + "/nope", headers=headers)
        assert reply.status_code == 401
        assert reply.headers["content-type"] == "text/html; charset=UTF-8"
        assert list(reply.json()) == ["error", "message", "timestamp"]
        assert reply.json()["timestamp"] == "2026-11-23T06:18:28+00:00"


def test_open_endpoints_and_options(server: LocalServer) -> None:
    """Health and openapi.json need no key; OPTIONS is 200 with an empty text/html body."""
    assert httpx.get(server.url + "/health").status_code == 200
    document = httpx.get(server.url + "/openapi.json")
    assert document.status_code == 200 and "openapi" in document.json()
    options = httpx.options(server.url + "/tasks")
    assert (options.status_code, options.text, options.headers["content-type"]) == (
        200,
        "",
        "text/html; charset=UTF-8",
    )


def test_api_is_stripped_anywhere_and_trailing_slashes(client: httpx.Client, server: LocalServer) -> None:
    """Every "/api" in the path is removed before routing; a trailing slash is ignored."""
    headers = {"X-API-Key": API_KEY}
    for path in ("/tasks", "/api/tasks", "/api/api/tasks/", "/tasks/api"):
        assert httpx.get(server.base_url + path, headers=headers).status_code == 200, path
    assert error(client.get("/task-types/api.Widget")) == (404, "Endpoint not found")


@pytest.mark.parametrize(("method", "path"), [("PUT", "/tasks"), ("DELETE", "/tasks/1"), ("GET", "/")])
def test_unknown_endpoints(client: httpx.Client, method: str, path: str) -> None:
    """Unknown paths and methods are 404 Endpoint not found."""
    assert error(client.request(method, path)) == (404, "Endpoint not found")


def test_response_headers(client: httpx.Client) -> None:
    """The real server's CORS and cache headers come with every reply."""
    reply = client.get("/health")
    assert reply.headers["cache-control"] == "no-store, no-cache, must-revalidate, max-age=0"
    assert reply.headers["access-control-allow-origin"] == "*"
    assert reply.headers["access-control-allow-headers"] == "Content-Type, Authorization, X-API-Key"


def test_invalid_json_bodies(client: httpx.Client) -> None:
    """Bodies PHP cannot decode are 400 Invalid JSON in request body, on every POST."""
    register(client)
    for path in ("/tasks", "/tasks/claim", "/task-types/register", "/tasks/1/complete", "/tasks/1/progress"):
        for body in (b"", b"{", b'{"a": NaN}', b'"\\ud800"'):
            assert error(client.post(path, content=body)) == (400, "Invalid JSON in request body")


# -- task types ----------------------------------------------------------------------------


def test_register_updates_by_folded_name(client: httpx.Client) -> None:
    """Names compare case- and accent-insensitively; an update answers an integer id."""
    assert register(client, "PrismQ.Café")["id"] == "1"
    updated = register(client, "prismq.cafe")
    assert updated == {"id": 1, "name": "prismq.cafe", "version": "1", "updated": True}
    assert data(client.get("/task-types/PRISMQ.CAFE"))["items"][0]["name"] == "PrismQ.Café"


def test_register_checks(client: httpx.Client) -> None:
    """Missing fields, schema without type, schema strings."""
    body: dict[str, Any] = {"name": "X", "version": "1", "param_schema": '{"type": "object"}'}
    assert data(client.post("/task-types/register", json=body))["created"] is True
    for schema, message in (
        ({}, "Missing required field: param_schema"),
        ({"properties": {}}, 'JSON schema must have a "type" property'),
        ('"just a string"', 'JSON schema must have a "type" property'),
        ("{nope", "Invalid JSON schema format"),
    ):
        body = {"name": "Y", "version": "1", "param_schema": schema}
        assert error(client.post("/task-types/register", json=body)) == (400, message)
    assert error(client.post("/task-types/register", json={"name": "0", "version": "1"})) == (
        400,
        "Missing required field: name",
    )


def test_schema_round_trips_the_php_way(client: httpx.Client) -> None:
    """A stored schema comes back as PHP re-encodes it: {} becomes []."""
    register(client, schema={"type": "object", "properties": {}, "x": 1.0})
    item = data(client.get("/task-types/PrismQ.T"))["items"][0]
    assert item["param_schema"] == {"type": "object", "properties": [], "x": 1}
    assert item["is_active"] == 1


def test_list_types_is_the_deliberate_difference(client: httpx.Client) -> None:
    """GET /task-types lists types with usage counts (the real server answers 500)."""
    register(client, "B.Type")
    register(client, "A.Type")
    create(client, {"a": 1}, "B.Type")
    listed = data(client.get("/task-types"))
    assert [(i["name"], i["usage_count"]) for i in listed["items"]] == [("A.Type", 0), ("B.Type", 1)]
    assert listed["count"] == 2
    by_usage = data(client.get("/task-types", params={"sort_by": "usage_count", "sort_order": "desc"}))
    assert by_usage["items"][0]["name"] == "B.Type"
    assert data(client.get("/task-types", params={"active_only": "true"}))["count"] == 2
    assert error(client.get("/task-types", params={"sort_by": "nope"}))[0] == 400


# -- creating ------------------------------------------------------------------------------


def test_create_validation_details(client: httpx.Client) -> None:
    """Request-field problems are listed in details."""
    reply = client.post("/tasks", json={})
    assert reply.json()["details"] == ["Task type is required", "Task parameters are required"]
    reply = client.post("/tasks", json={"type": "PrismQ.T", "params": {"0": "a"}})
    assert reply.json()["details"] == ["Field 'params' must be of type object"]


def test_duplicates_across_statuses(client: httpx.Client) -> None:
    """A duplicate of a finished task returns the old task with an integer id."""
    register(client)
    first = create(client, {"k": "a"})
    assert data(claim(client))["id"] == 1
    data(complete(client, 1))
    again = create(client, {"k": "a"})
    assert again == {
        "id": 1,
        "status": "completed",
        "deduplicated": True,
        "message": "Task already exists (deduplicated)",
    }
    assert first["id"] == "1" and len(first["dedupe_key"]) == 64


def test_dedupe_key_uses_trimmed_name_as_sent(client: httpx.Client) -> None:
    """The type is found case-insensitively but hashed as sent, so spellings differ in key."""
    register(client)
    one = create(client, {"a": 1}, " PrismQ.T ")
    two = create(client, {"a": 1}, "prismq.t")
    assert one["type"] == "PrismQ.T" and two["type"] == "prismq.t"
    assert one["dedupe_key"] == hashlib.sha256(b'PrismQ.T\0{"a":1}').hexdigest()
    assert one["dedupe_key"] != two["dedupe_key"]


def test_infinite_params_are_stored_null(client: httpx.Client) -> None:
    """Params PHP cannot encode (1e400) are stored null and share one dedupe key per type."""
    register(client)
    one = client.post("/tasks", content=b'{"type": "PrismQ.T", "params": {"a": 1e400}}')
    two = client.post("/tasks", content=b'{"type": "PrismQ.T", "params": {"b": -1e400}}')
    assert data(one)["dedupe_key"] == hashlib.sha256(b"PrismQ.T\0").hexdigest()
    assert data(two)["deduplicated"] is True
    assert get(client, 1)[0]["params"] is None


def test_create_errors(client: httpx.Client) -> None:
    """Unknown type 404; parameter validation 400 with the joined messages."""
    assert error(client.post("/tasks", json={"type": "Nope", "params": {"a": 1}})) == (
        404,
        "Task type not found",
    )
    register(client, schema={"type": "object", "required": ["a", "b"]})
    assert error(client.post("/tasks", json={"type": "PrismQ.T", "params": {"c": 1}})) == (
        400,
        "Parameter validation failed: Missing required property: .a, Missing required property: .b",
    )


# -- claiming ------------------------------------------------------------------------------


def test_claim_order_and_validation(client: httpx.Client, clock: ManualClock) -> None:
    """sort_by/sort_order pick the task; bad values are 400 with the allowed values."""
    register(client)
    for i in range(4):
        create(client, {"i": i})
        clock.advance(1)  # one second each: created_at decides (ties have no order)
    assert data(claim(client, sort_by="id", sort_order="desc"))["id"] == 4
    assert data(claim(client))["id"] == 1
    assert data(claim(client, sort_by="created_at", sort_order="DESC"))["id"] == 3
    assert error(claim(client, sort_by="name")) == (
        400,
        "Invalid sort_by field. Allowed values: created_at, priority, id, attempts",
    )
    assert error(claim(client, sort_order="UP")) == (400, "Invalid sort_order. Allowed values: ASC, DESC")
    assert error(claim(client, task_type_id="abc"))[1] == "task_type_id must be a positive integer"
    assert error(claim(client, type_pattern="Other.%")) == (500, "There is no active transaction")
    assert data(claim(client, type_pattern="prismq.%"))["id"] == 2
    assert error(claim(client)) == (500, "There is no active transaction")


def test_claim_timeout_releases_without_max_attempts(
    client: httpx.Client, server: LocalServer, clock: ManualClock
) -> None:
    """An expired claim goes to the next claimer with attempts + 1, past max attempts."""
    register(client)
    create(client, {"k": "t"})
    assert data(claim(client, "w1"))["attempts"] == 1
    server.advance(5)
    assert error(claim(client, "w2")) == (500, "There is no active transaction")
    for attempt, worker in enumerate(("w2", "w3", "w4", "w5"), start=2):
        server.advance(1)
        assert data(claim(client, worker))["attempts"] == attempt
        server.advance(5)
    assert error(client.post("/tasks/1/progress", json={"worker_id": "w1", "progress": 5})) == (
        403,
        "Task is claimed by another worker",
    )
    task = get(client, 1)[0]
    assert (task["status"], task["claimed_by"], task["attempts"]) == ("claimed", "w5", 5)
    assert data(complete(client, 1, "w5", success=False, error="x"))["status"] == "failed"


def test_expired_claim_can_still_be_completed_by_its_owner(client: httpx.Client, server: LocalServer) -> None:
    """Expiry only matters when someone claims: until then the owner may complete."""
    register(client)
    create(client, {"k": 1})
    data(claim(client))
    server.advance(3600)
    assert data(complete(client, 1))["status"] == "completed"


def test_progress_does_not_extend_the_claim(client: httpx.Client, server: LocalServer) -> None:
    """Progress updates leave claimed_at alone."""
    register(client)
    create(client, {"k": 1})
    data(claim(client))
    server.advance(4)
    data(client.post("/tasks/1/progress", json={"worker_id": "w1", "progress": 10}))
    server.advance(2)
    assert data(claim(client, "w2"))["attempts"] == 2


# -- completing ----------------------------------------------------------------------------


def test_failure_retries_until_max_attempts(client: httpx.Client) -> None:
    """Failures go back to pending (keeping error and completed_at) until max attempts."""
    register(client)
    create(client, {"k": "b"})
    for attempt in (1, 2):
        data(claim(client, f"w{attempt}"))
        reply = data(complete(client, 1, f"w{attempt}", success=False, error=f"boom {attempt}"))
        assert reply == {"id": "1", "status": "pending (retry)", "message": "Task completed"}
        task = get(client, 1)[0]
        assert (task["status"], task["claimed_by"], task["error_message"]) == (
            "pending",
            None,
            f"boom {attempt}",
        )
        assert task["completed_at"] is not None
    data(claim(client, "w3"))
    assert data(complete(client, 1, "w3", success=0))["status"] == "failed"
    assert get(client, 1)[0]["claimed_by"] == "w3"


def test_success_truthiness_and_empty_result(client: httpx.Client) -> None:
    """success "false" is a success (PHP truthiness) and result {} is stored as null."""
    register(client)
    create(client, {"k": 1})
    data(claim(client))
    assert data(complete(client, 1, success="false", result={}))["status"] == "completed"
    assert get(client, 1)[0]["result"] is None


def test_ownership_and_ids_as_numbers(client: httpx.Client) -> None:
    """403 for another worker, 400 when not claimed, 404 unknown; ids compare as numbers."""
    register(client)
    create(client, {"k": 1})
    assert error(complete(client, 1)) == (400, "Task is not in claimed state")
    data(claim(client))
    assert error(complete(client, 1, "w2")) == (403, "Task is claimed by another worker")
    assert error(complete(client, "abc")) == (404, "Task not found")
    for alias in ("01", "1abc", "1.0"):
        assert get(client, alias)[0]["id"] == 1
    assert get(client, "1.5") == []
    reply = data(client.post("/tasks/01/progress", json={"worker_id": "w1", "progress": 100}))
    assert reply == {"id": "01", "progress": 100, "message": "Task progress updated successfully"}
    assert data(complete(client, "01", result={"out": "ü/x", "n": 1.0}))["id"] == "01"
    assert '"result":{"out":"ü/x","n":1}' in client.get("/tasks/1").text
    assert error(complete(client, 1)) == (400, "Task is not in claimed state")


def test_complete_and_progress_field_checks(client: httpx.Client) -> None:
    """Missing success/worker_id, progress type and range messages."""
    register(client)
    assert error(client.post("/tasks/1/complete", json={})) == (400, "Missing required field: worker_id")
    assert error(client.post("/tasks/1/complete", json={"success": True})) == (
        400,
        "Missing required field: worker_id",
    )
    for progress, detail in (
        (-1, "Field 'progress' must be at least 0"),
        (101, "Field 'progress' must be at most 100"),
        ("5", "Field 'progress' must be of type integer"),
        (5.0, "Field 'progress' must be of type integer"),
        (True, "Field 'progress' must be of type integer"),
        (None, "Progress must be between 0 and 100"),
    ):
        reply = client.post("/tasks/1/progress", json={"worker_id": "w", "progress": progress})
        assert reply.json()["details"] == [detail]
    assert client.post("/tasks/1/progress", json={}).json()["details"] == [
        "Worker ID is required",
        "Progress must be between 0 and 100",
    ]


# -- listing -------------------------------------------------------------------------------


def test_list_filters_and_paging(client: httpx.Client, server: LocalServer) -> None:
    """Newest first, status/type filters (LIKE with %), limit/offset the PHP way."""
    register(client)
    register(client, "Other.T")
    create(client, {"i": 1})
    server.advance(1)
    create(client, {"i": 2})
    create(client, {"i": 3}, "Other.T")
    ids = [item["id"] for item in data(client.get("/tasks"))["items"]]
    assert set(ids[:2]) == {2, 3} and ids[2] == 1  # 2 and 3 share a second: either order
    assert data(client.get("/tasks", params={"type": "PrismQ.T"}))["count"] == 2
    assert data(client.get("/tasks", params={"type": "%.T"}))["count"] == 3
    assert data(client.get("/tasks", params={"status": "claimed"}))["count"] == 0
    assert data(client.get("/tasks", params={"status": "nope"}))["count"] == 0
    page = [i["id"] for i in data(client.get("/tasks", params={"limit": "1", "offset": "1"}))["items"]]
    assert page in ([2], [3])
    assert data(client.get("/tasks", params={"limit": "abc"}))["count"] == 0
    assert data(client.get("/tasks", params={"limit": "2abc"}))["count"] == 2
    status, message = error(client.get("/tasks", params={"limit": "-1"}))
    assert status == 500 and message.endswith("near '-1 OFFSET 0' at line 1")
    assert error(client.get("/tasks", params={"offset": "-2"}))[1].endswith("near '-2' at line 1")
    item = data(client.get("/tasks", params={"limit": "1"}))["items"][0]
    assert list(item) == [
        "id",
        "type",
        "status",
        "priority",
        "progress",
        "attempts",
        "claimed_by",
        "created_at",
        "completed_at",
    ]


def test_replies_are_php_json(client: httpx.Client) -> None:
    """Unicode and slashes are not escaped in replies; the envelope key order is PHP's."""
    register(client, "Uni/Ť")
    text = client.post("/tasks", json={"type": "Uni/Ť", "params": {"s": "ü/"}}).text
    assert '"type":"Uni/Ť"' in text
    assert list(json.loads(text)) == ["success", "message", "data", "timestamp"]


# -- ids out of SQLite's range, field check order ----------------------------------------


@pytest.mark.parametrize(
    "task_id", [str(2**63 - 1), str(2**63), str(2**64), "9" * 40, "1e18", "1e400", "-1", "0"]
)
def test_ids_out_of_range_are_not_found_on_every_endpoint(client: httpx.Client, task_id: str) -> None:
    """An id no SQLite row can have is the usual not-found reply, never a 500."""
    register(client)
    create(client, {"a": 1})
    assert data(client.get(f"/tasks/{task_id}")) == {"items": [], "count": 0}
    body = {"worker_id": "w1", "progress": 5}
    assert error(client.post(f"/tasks/{task_id}/progress", json=body)) == (404, "Task not found")
    assert error(complete(client, task_id)) == (404, "Task not found")


@pytest.mark.parametrize("type_id", [2**63 - 1, 2**63, 2**70, 1e300, "1e400", str(2**64)])
def test_claim_with_a_type_id_beyond_sqlite_finds_nothing(client: httpx.Client, type_id: Any) -> None:
    register(client)
    create(client, {"a": 1})
    response = client.post("/tasks/claim", json={"worker_id": "w1", "task_type_id": type_id})
    assert error(response) == (500, "There is no active transaction")


@pytest.mark.parametrize("body", [[], [1, 2], {}, "x", 5])
def test_complete_without_fields_names_worker_id_first(client: httpx.Client, body: Any) -> None:
    """Like the real server: worker_id is checked before success."""
    assert error(client.post("/tasks/1/complete", json=body)) == (400, "Missing required field: worker_id")
    only_worker = client.post("/tasks/1/complete", json={"worker_id": "w1"})
    assert error(only_worker) == (400, "Missing required field: success")


# -- order of same-second tasks ----------------------------------------------------------------


def _orders(seed: int, queries: int = 8) -> list[list[int]]:
    clock = ManualClock(1_800_000_000)
    with (
        LocalServer(api_key="k", clock=clock, tie_seed=seed) as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": "k"}) as http,
    ):
        register(http)
        for i in range(12):
            if i == 6:
                clock.advance(1)
            create(http, {"i": i})
        orders = []
        for _ in range(queries):
            items = data(http.get("/tasks"))["items"]
            seconds = [item["created_at"] for item in items]
            assert seconds == sorted(seconds, reverse=True)  # seconds are still newest first
            orders.append([item["id"] for item in items])
        return orders


def test_same_second_tasks_come_in_a_varying_seeded_order() -> None:
    """Like MariaDB with no tie-breaker: each query orders a second's tasks anew; a seed replays it."""
    orders = _orders(seed=7)
    assert len({tuple(order) for order in orders}) > 1
    assert all(set(order[:6]) == {7, 8, 9, 10, 11, 12} for order in orders)
    assert _orders(seed=7) == orders
    assert _orders(seed=8) != orders


def test_the_tie_seed_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKMANAGER_TIE_SEED", "42")
    assert LocalServer().tie_seed == 42
    assert "tie_seed=42" in repr(LocalServer())
    assert LocalServer(tie_seed=5).tie_seed == 5


def _claim_orders(seed: int, **policy: Any) -> list[int]:
    """The ids that 12 claims with ``policy`` take from 12 tasks created in one second."""
    with (
        LocalServer(api_key="k", clock=ManualClock(1_800_000_000), tie_seed=seed) as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": "k"}) as http,
    ):
        register(http)
        for i in range(12):
            create(http, {"i": i})
        return [data(claim(http, **policy))["id"] for _ in range(12)]


@pytest.mark.parametrize(
    "policy",
    [{}, {"sort_order": "DESC"}, {"sort_by": "priority", "sort_order": "DESC"}, {"sort_by": "attempts"}],
)
def test_claims_take_same_second_tasks_in_a_varying_seeded_order(policy: dict[str, str]) -> None:
    """Like the real server's claim (no tie-breaker): ties go in a seeded order, not by id."""
    orders = {seed: _claim_orders(seed, **policy) for seed in range(4)}
    assert all(sorted(order) == list(range(1, 13)) for order in orders.values())  # each once
    assert len({tuple(order) for order in orders.values()}) > 1
    assert all(order not in (sorted(order), sorted(order, reverse=True)) for order in orders.values())
    assert _claim_orders(2, **policy) == orders[2]  # a seed replays it


def test_claims_by_id_and_across_seconds_keep_their_order(clock: ManualClock) -> None:
    """sort_by id is strict, and an older second is claimed first whatever the seed."""
    with (
        LocalServer(api_key="k", clock=clock, tie_seed=3) as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": "k"}) as http,
    ):
        register(http)
        for i in range(9):
            create(http, {"i": i})
            if i % 3 == 2:
                clock.advance(1)
        assert [data(claim(http, sort_by="id", sort_order="DESC"))["id"] for _ in range(2)] == [9, 8]
        seconds = [data(claim(http))["id"] for _ in range(7)]
    assert sorted(seconds[:3]) == [1, 2, 3] and sorted(seconds[3:6]) == [4, 5, 6] and seconds[6] == 7


# -- replies nested deeper than json_encode allows ---------------------------------------------


def _nested(levels: int) -> Any:
    value: Any = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"n": value}
    return value


def test_a_reply_nested_past_512_levels_is_200_with_an_empty_body(client: httpx.Client) -> None:
    """Like PHP's json_encode (false past 512 levels, echoed as nothing): a result stored 510
    levels deep is accepted, but the task's reply would nest 514 levels, so it is empty."""
    register(client)
    create(client, _nested(508))  # the claim reply nests it 2 levels deeper: 510, fine
    assert data(claim(client))["params"] == _nested(508)
    assert data(complete(client, 1, result=_nested(510)))["status"] == "completed"
    reply = client.get("/tasks/1")
    assert (reply.status_code, reply.content) == (200, b"")
    assert reply.headers["content-type"] == "application/json"
    # one level less fits: 4 envelope levels + 508
    create(client, {"other": 1})
    assert data(claim(client))["id"] == 2
    assert data(complete(client, 2, result=_nested(508)))["status"] == "completed"
    assert get(client, 2)[0]["result"] == _nested(508)


def test_a_claim_whose_reply_is_too_deep_still_claims(client: httpx.Client) -> None:
    """The task is claimed (the transaction is done) before the reply fails to encode."""
    register(client)
    create(client, _nested(511))
    reply = claim(client)
    assert (reply.status_code, reply.content) == (200, b"")
    assert data(client.get("/tasks?limit=5"))["items"][0]["status"] == "claimed"
    assert error(claim(client)) == (500, "There is no active transaction")


# -- which field each endpoint names first ----------------------------------------------------


@pytest.mark.parametrize("body", [[], [1, 2], {}, "x"])
@pytest.mark.parametrize(
    ("path", "status", "first"),
    [
        ("/task-types/register", 400, "Missing required field: name"),
        ("/tasks", 400, ["Task type is required", "Task parameters are required"]),
        ("/tasks/claim", 400, ["Worker ID is required"]),
        ("/tasks/99999/progress", 400, ["Worker ID is required", "Progress must be between 0 and 100"]),
        ("/tasks/99999/complete", 400, "Missing required field: worker_id"),
    ],
)
def test_a_body_without_fields_names_each_endpoints_first_check(
    client: httpx.Client, body: Any, path: str, status: int, first: str | list[str]
) -> None:
    """PHP indexes whatever json_decode gave, so a list has no fields: the first check answers
    (recorded for each field alone; their order, and body checks before the task lookup, inferred)."""
    reply = client.post(path, json=body)
    assert reply.status_code == status
    assert (reply.json().get("details") or reply.json()["error"]) == first


def test_claim_checks_its_fields_in_order(client: httpx.Client) -> None:
    register(client)
    steps = [
        ({"task_type_id": 0, "sort_by": "x", "sort_order": "UP"}, "Validation failed"),
        ({"worker_id": "w", "sort_by": "x"}, "Missing required field: task_type_id"),
        ({"worker_id": "w", "task_type_id": 0, "sort_by": "x"}, "task_type_id must be a positive integer"),
        ({"worker_id": "w", "task_type_id": 1, "sort_by": "x", "sort_order": "UP"}, "Invalid sort_by field."),
        ({"worker_id": "w", "task_type_id": 1, "sort_order": "UP"}, "Invalid sort_order."),
    ]
    for body, message in steps:
        assert error(client.post("/tasks/claim", json=body))[1].startswith(message), body
