"""Bad input never reaches the wire, and bad replies always become typed errors."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from taskmanager import (
    AsyncTaskManagerClient,
    ClaimedTask,
    CompletionOutcome,
    CreatedTask,
    Task,
    TaskManagerAPIError,
    TaskManagerAuthError,
    TaskManagerClient,
    TaskManagerConfig,
    TaskManagerError,
    TaskManagerNotFoundError,
    TaskManagerProtocolError,
    TaskManagerRateLimitError,
    TaskManagerServerError,
    TaskManagerValidationError,
    set_testing,
)

from ._strategies import keys, params

URL = "http://127.0.0.1:9/api"  # never contacted: every test here uses a MockTransport


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


class Recorder:
    """A MockTransport handler that records every request and answers with ``reply``."""

    def __init__(self, reply: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._reply = reply or (lambda request: httpx.Response(500))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._reply(request)


def _client(handler: Recorder, retries: int = 0) -> TaskManagerClient:
    config = TaskManagerConfig(api_url=URL, api_key="secret-key", retry_attempts=retries)
    return TaskManagerClient(config, transport=httpx.MockTransport(handler))


# -- refused before sending ---------------------------------------------------------------------

_poisons = st.one_of(
    st.sets(st.integers(), max_size=3),
    st.frozensets(st.text(max_size=3), max_size=3),
    st.binary(max_size=8),
    st.binary(max_size=8).map(bytearray),
    st.sampled_from([math.nan, math.inf, -math.inf, float("-nan")]),
    st.integers(min_value=2**63),
    st.integers(max_value=-(2**63) - 1),
    st.sampled_from([2**64, 2**63, -(2**63) - 1, 10**30]),
    st.one_of(
        st.integers(), st.tuples(st.integers()), st.none(), st.booleans(), st.floats(allow_nan=False)
    ).map(lambda key: {key: "value"}),
)


def _plant(value: Any, poison: Any, path: list[int]) -> Any:
    """Put ``poison`` somewhere inside ``value`` (``path`` picks the branch at each level)."""
    if not path or not isinstance(value, dict | list) or not value:
        return {"nested": poison} if isinstance(value, dict) or not path else poison
    if isinstance(value, dict):
        key = list(value)[path[0] % len(value)]
        return {**value, key: _plant(value[key], poison, path[1:])}
    index = path[0] % len(value)
    return [*value[:index], _plant(value[index], poison, path[1:]), *value[index + 1 :]]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=params, poison=_poisons, path=st.lists(st.integers(0, 10), max_size=4), top_key=keys)
def test_unsendable_params_are_refused_before_sending(
    base: dict[str, Any], poison: Any, path: list[int], top_key: str
) -> None:
    """Sets, bytes, NaN, infinities, ints beyond 64 bits, non-string keys: refused, nothing sent."""
    value = _plant(base, poison, path)
    if value is poison:
        value = {top_key or "k": poison}
    handler = Recorder()
    with _client(handler) as client, pytest.raises(TaskManagerValidationError) as caught:
        client.create_task("t", value)
    assert caught.value.status_code is None
    assert handler.requests == []


@pytest.mark.parametrize(
    "bad",
    [
        {"s": {1, 2}},
        {"b": b"x"},
        {"n": math.nan},
        {"i": math.inf},
        {"big": 2**64},
        {1: "int key"},
        {},
        {"0": "a"},
    ],
    ids=["set", "bytes", "nan", "inf", "int65", "int-key", "empty", "list-shaped"],
)
def test_async_client_refuses_the_same(bad: dict[Any, Any]) -> None:
    """The async client refuses the same params without sending."""
    import asyncio

    handler = Recorder()

    async def main() -> None:
        config = TaskManagerConfig(api_url=URL, api_key="secret-key", retry_attempts=0)
        async with AsyncTaskManagerClient(config, transport=httpx.MockTransport(handler)) as client:
            with pytest.raises(TaskManagerValidationError):
                await client.create_task("t", bad)

    asyncio.run(main())
    assert handler.requests == []


@settings(max_examples=50, deadline=None)
@given(poison=_poisons)
def test_unsendable_results_are_refused_before_sending(poison: Any) -> None:
    """A completion result the wire cannot carry is refused without a request."""
    handler = Recorder()
    with _client(handler) as client, pytest.raises(TaskManagerValidationError):
        client.complete_task(1, worker_id="w", result={"r": poison})
    assert handler.requests == []


# -- replies that are not what the server sends -------------------------------------------------

_TASK = {
    "id": 7,
    "type": "t",
    "status": "pending",
    "params": {"a": 1},
    "result": None,
    "error_message": None,
    "priority": 0,
    "progress": 0,
    "attempts": 0,
    "claimed_by": None,
    "claimed_at": None,
    "completed_at": None,
    "created_at": "2026-11-23 10:00:00",
}
# A good reply for each operation; the fuzz below breaks them.
_GOOD = {
    "create": {
        "id": "7",
        "type": "t",
        "status": "pending",
        "dedupe_key": "0" * 64,
        "message": "Task created",
    },
    "claim": {"id": 7, "type": "t", "params": {"a": 1}, "attempts": 1, "priority": 0, "message": "claimed"},
    "get": {"items": [_TASK], "count": 1},
    "complete": {"id": "7", "status": "completed", "message": "Task completed"},
}
_RESULT_TYPES = {
    "create": CreatedTask,
    "claim": ClaimedTask | None,
    "get": Task,
    "complete": CompletionOutcome,
}


def _call(client: TaskManagerClient, op: str) -> object:
    if op == "create":
        return client.create_task("t", {"a": 1})
    if op == "claim":
        return client.claim_task(1, worker_id="w")
    if op == "get":
        return client.get_task(7)
    return client.complete_task(7, worker_id="w", result={"ok": True})


def _envelope(data: Any) -> bytes:
    return json.dumps({"success": True, "message": "Success", "data": data, "timestamp": 1}).encode()


def _broken_data(op: str) -> st.SearchStrategy[Any]:
    """The operation's good payload with one field dropped or replaced by a wrong value."""
    good = _GOOD[op]
    inner = good["items"][0] if op == "get" else good
    wrong = st.one_of(st.none(), st.text(max_size=5), st.integers(), st.lists(st.integers(), max_size=2))

    def mutate(args: tuple[str, bool, Any]) -> Any:
        field, drop, value = args
        changed = {k: v for k, v in inner.items() if k != field}
        if not drop:
            changed[field] = value
        return {"items": [changed], "count": 1} if op == "get" else changed

    return st.tuples(st.sampled_from(sorted(inner)), st.booleans(), wrong).map(mutate)


_not_json = st.one_of(
    st.just(b""),
    st.just(b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    st.just(b"<br />\n<b>Fatal error</b>: Uncaught Error in /var/www/index.php:12"),
    st.binary(min_size=1, max_size=40).filter(lambda b: not b.strip().startswith((b"{", b"[", b'"'))),
)


@settings(max_examples=100, deadline=None)
@given(op=st.sampled_from(sorted(_GOOD)), body=_not_json, cut=st.integers(1, 60))
def test_non_json_success_replies_are_protocol_errors(op: str, body: bytes, cut: int) -> None:
    """A 200 whose body is HTML, empty, binary or truncated JSON is a TaskManagerProtocolError."""
    truncated = _envelope(_GOOD[op])[:cut]
    for content in (body, truncated):
        handler = Recorder(
            lambda r, c=content: httpx.Response(200, content=c, headers={"Content-Type": "text/html"})
        )
        with _client(handler) as client, pytest.raises(TaskManagerProtocolError) as caught:
            _call(client, op)
        assert caught.value.status_code == 200
        assert "secret-key" not in str(caught.value) + repr(caught.value)


@settings(max_examples=150, deadline=None)
@given(op=st.sampled_from(sorted(_GOOD)), data=st.data())
def test_wrong_shape_success_replies_are_typed(op: str, data: st.DataObject) -> None:
    """A 200 envelope with a missing or wrong field gives the right result type or a ProtocolError."""
    payload = data.draw(_broken_data(op))
    handler = Recorder(lambda r: httpx.Response(200, content=_envelope(payload)))
    with _client(handler) as client:
        try:
            result = _call(client, op)
        except TaskManagerProtocolError:
            return
        except TaskManagerError as exc:
            # A completion that looks refused may be checked with a GET (same junk reply); the
            # only other acceptable outcome is a typed API error.
            assert isinstance(exc, TaskManagerAPIError | TaskManagerProtocolError), repr(exc)
            return
    assert isinstance(result, _RESULT_TYPES[op])  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(
    op=st.sampled_from(sorted(_GOOD)),
    status=st.sampled_from([400, 401, 403, 404, 413, 422, 429, 500, 502, 503, 504]),
    body=st.one_of(
        _not_json,
        st.builds(
            lambda e: json.dumps({"success": False, "error": e, "timestamp": 1}).encode(),
            st.text(max_size=20),
        ),
        st.just(
            b'{"error": "Request Too Large", "message": "too big", "timestamp": "2026-11-23T06:18:28+00:00"}'
        ),
        st.recursive(
            st.none() | st.integers() | st.text(max_size=5),
            lambda c: st.lists(c) | st.dictionaries(st.text(max_size=3), c),
        ).map(lambda v: json.dumps(v).encode()),
    ),
)
def test_error_statuses_map_to_their_class(op: str, status: int, body: bytes) -> None:
    """Any body with an error status maps by status: 401 auth, 404 not found, 429 rate limit, 5xx server."""
    assume(
        not (op == "claim" and status == 500 and b"no active transaction" in body)
    )  # means "nothing to claim"
    handler = Recorder(lambda r: httpx.Response(status, content=body, headers={"Content-Type": "text/html"}))
    with _client(handler) as client, pytest.raises(TaskManagerError) as caught:
        _call(client, op)
    error = caught.value
    expected: type[TaskManagerError] = {
        401: TaskManagerAuthError,
        404: TaskManagerNotFoundError,
        429: TaskManagerRateLimitError,
    }.get(status, TaskManagerServerError if status >= 500 else TaskManagerAPIError)
    if op == "complete" and status in (400, 403):
        # A "not claimed" answer to a completion is checked against the task (the GET gets the
        # same junk): whatever comes back is still a typed error.
        assert isinstance(error, TaskManagerError)
    else:
        assert isinstance(error, expected), repr(error)
        assert error.status_code == status
    assert "secret-key" not in str(error) + repr(error)
