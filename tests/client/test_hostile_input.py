"""Hostile arguments are refused with TaskManagerValidationError before anything is sent, sync and async."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from taskmanager import TaskManagerClient, TaskManagerError, TaskManagerValidationError

from ._hostile_ops import KEY, KINDS, Recorder, run

MAX_DEPTH = 508  # levels of objects/arrays the client sends (the value itself is level 1)


def _nested_dict(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"a": value}
    return value


def _nested_list_in_dict(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels - 1):
        value = [value]
    return {"k": value}


def _cyclic_dict() -> dict[str, Any]:
    value: dict[str, Any] = {"k": 1}
    value["self"] = value
    return value


def _cyclic_list() -> dict[str, Any]:
    items: list[Any] = [1]
    items.append(items)
    return {"k": items}


def _refused(kind: str, op: Callable[[Any], Any]) -> TaskManagerValidationError:
    """Run ``op``; it must raise TaskManagerValidationError with no request sent. Returns the error."""
    handler = Recorder(500)
    with pytest.raises(TaskManagerValidationError) as caught:
        run(kind, op, handler)
    assert handler.requests == []
    assert caught.value.status_code is None
    message = str(caught.value)
    assert len(message) < 700, message
    assert KEY not in message
    return caught.value


def _sent(kind: str, op: Callable[[Any], Any]) -> list[Any]:
    """Run ``op`` against a server answering 500; the request must go out. Returns the JSON bodies."""
    handler = Recorder(500, b'{"success":false,"error":"stop here"}')
    with pytest.raises(TaskManagerError):  # the 500, not a refusal
        run(kind, op, handler)
    assert handler.requests
    return [json.loads(r.content) if r.content else None for r in handler.requests]


# One call for each place a JSON value goes: create's params, a completion's result, a schema.
def _value_ops(value: Any) -> dict[str, Callable[[Any], Any]]:
    return {
        "params": lambda c: c.create_task("T", value),
        "result": lambda c: c.complete_task(1, worker_id="w", result=value),
        "param_schema": lambda c: c.register_task_type("T", "1", {"type": "object", "x": value}),
    }


_PLACES = sorted(_value_ops(None))


# -- depth and cycles ---------------------------------------------------------------------------

_TOO_DEEP = {
    f"dict-{MAX_DEPTH + 1}": lambda: _nested_dict(MAX_DEPTH + 1),
    "dict-1000": lambda: _nested_dict(1000),
    "dict-50000": lambda: _nested_dict(50000),
    f"list-{MAX_DEPTH + 1}": lambda: _nested_list_in_dict(MAX_DEPTH + 1),
    "list-5000": lambda: _nested_list_in_dict(5000),
    "cyclic-dict": _cyclic_dict,
    "cyclic-list": _cyclic_list,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("place", _PLACES)
@pytest.mark.parametrize("value", sorted(_TOO_DEEP))
def test_too_deep_or_cyclic_values_are_refused(kind: str, place: str, value: str) -> None:
    """Params, results and schemas nested deeper than 508 levels, or containing themselves, are refused."""
    built = _TOO_DEEP[value]()
    if place == "param_schema":
        built = built.get("a", built)  # one level goes to the wrapping schema
    error = _refused(kind, _value_ops(built)[place])
    assert "nested more than 508 levels" in str(error)
    assert str(error).startswith(place)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("place", _PLACES)
def test_deepest_allowed_value_is_sent(kind: str, place: str) -> None:
    """A value exactly 508 levels deep is sent, whole."""
    value = _nested_dict(MAX_DEPTH if place != "param_schema" else MAX_DEPTH - 1)
    bodies = _sent(kind, _value_ops(value)[place])
    key = {"params": "params", "result": "result", "param_schema": "param_schema"}[place]
    sent = bodies[0][key]
    assert (sent["x"] if place == "param_schema" else sent) == value


def test_deepest_allowed_params_round_trip_through_the_local_server(
    taskmanager_client: TaskManagerClient,
) -> None:
    """Params 508 levels deep are created, claimed and read back whole; one level more is refused."""
    client = taskmanager_client
    client.register_task_type("Deep.Params", "1", {"type": "object"})
    params = _nested_dict(MAX_DEPTH)
    created = client.create_task("Deep.Params", params)
    claimed = client.claim_task("Deep.Params", worker_id="w")
    assert claimed is not None and claimed.id == created.id and claimed.params == params
    client.complete_task(claimed.id, worker_id="w", result=_nested_dict(MAX_DEPTH))
    assert client.get_task(created.id).result == _nested_dict(MAX_DEPTH)
    with pytest.raises(TaskManagerValidationError):
        client.create_task("Deep.Params", _nested_dict(MAX_DEPTH + 1))


# -- numbers too big to send, or to print ---------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("place", _PLACES)
@pytest.mark.parametrize("number", [10**5000, -(10**5000), 2**64], ids=["1e5000", "-1e5000", "2**64"])
def test_huge_integers_are_refused_with_a_short_message(kind: str, place: str, number: int) -> None:
    """An int beyond signed 64-bit is refused; the message does not print its thousands of digits."""
    error = _refused(kind, _value_ops({"x": number})[place])
    assert "outside signed 64-bit" in str(error)


_HUGE = 10**5000
_BAD_NUMBERS: dict[str, Callable[[Any], Any]] = {
    "get_task": lambda c: c.get_task(_HUGE),
    "get_task-2**63": lambda c: c.get_task(2**63),
    "wait_for_task": lambda c: c.wait_for_task(_HUGE, timeout=0),
    "update_progress-id": lambda c: c.update_progress(_HUGE, 5, worker_id="w"),
    "update_progress-value": lambda c: c.update_progress(1, _HUGE, worker_id="w"),
    "update_progress-bool": lambda c: c.update_progress(1, True, worker_id="w"),
    "complete_task-id": lambda c: c.complete_task(_HUGE, worker_id="w"),
    "complete_task-success": lambda c: c.complete_task(1, worker_id="w", success=1),
    "fail_task-id": lambda c: c.fail_task(2**63, worker_id="w", error="e"),
    "claim_task-id": lambda c: c.claim_task(_HUGE, worker_id="w"),
    "claim_task-2**63": lambda c: c.claim_task([1, 2**63], worker_id="w"),
    "list_tasks-limit": lambda c: c.list_tasks(limit=_HUGE),
    "list_tasks-offset": lambda c: c.list_tasks(offset=2**63),
    "list_tasks-limit-bool": lambda c: c.list_tasks(limit=True),
    "list_tasks-limit-float": lambda c: c.list_tasks(limit=5.0),
    "list_task_types-flag": lambda c: c.list_task_types(active_only="false"),
    "wait-timeout-inf": lambda c: c.wait_for_task(1, timeout=float("inf")),
    "wait-timeout-nan": lambda c: c.wait_for_task(1, timeout=float("nan")),
    "wait-timeout-huge": lambda c: c.wait_for_task(1, timeout=_HUGE),
    "wait-timeout-negative": lambda c: c.wait_for_task(1, timeout=-1),
    "wait-timeout-bool": lambda c: c.wait_for_task(1, timeout=True),
    "wait-poll-inf": lambda c: c.wait_for_task(1, poll_interval=float("inf")),
    "wait-poll-nan": lambda c: c.wait_for_task(1, poll_interval=float("nan")),
    "wait-poll-huge": lambda c: c.wait_for_task(1, poll_interval=1e300),
    "wait-poll-zero": lambda c: c.wait_for_task(1, poll_interval=0),
    "wait-poll-bool": lambda c: c.wait_for_task(1, poll_interval=True),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", sorted(_BAD_NUMBERS))
def test_numeric_arguments_out_of_range_are_refused(kind: str, case: str) -> None:
    """Ids beyond 64-bit, inf/nan/huge/negative/bool seconds, non-bool flags: refused before sending."""
    _refused(kind, _BAD_NUMBERS[case])


def test_iter_tasks_refuses_a_huge_page_size() -> None:
    """iter_tasks(page_size=10**5000) is refused when iteration starts, with a short message."""
    _refused("sync", lambda c: list(c.iter_tasks(page_size=_HUGE)))


# -- lone surrogates --------------------------------------------------------------------------------

_S = "bad\ud800name"
_SURROGATES: dict[str, Callable[[Any], Any]] = {
    "register-name": lambda c: c.register_task_type(_S, "1", {"type": "object"}),
    "register-version": lambda c: c.register_task_type("T", _S, {"type": "object"}),
    "get_task_type": lambda c: c.get_task_type(_S),
    "create_task-type": lambda c: c.create_task(_S, {"a": 1}),
    "create_task-key": lambda c: c.create_task("T", {_S: 1}),
    "claim_task-type": lambda c: c.claim_task(_S, worker_id="w"),
    "claim_task-types": lambda c: c.claim_task(["T", _S], worker_id="w"),
    "claim_task-worker": lambda c: c.claim_task(1, worker_id=_S),
    "progress-worker": lambda c: c.update_progress(1, 5, worker_id=_S),
    "progress-message": lambda c: c.update_progress(1, 5, worker_id="w", message=_S),
    "complete-worker": lambda c: c.complete_task(1, worker_id=_S),
    "complete-error": lambda c: c.complete_task(1, worker_id="w", success=False, error=_S),
    "complete-result": lambda c: c.complete_task(1, worker_id="w", result={"r": _S}),
    "fail_task-error": lambda c: c.fail_task(1, worker_id="w", error=_S),
    "list_tasks-type": lambda c: c.list_tasks(type=_S),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", sorted(_SURROGATES))
def test_lone_surrogates_are_refused(kind: str, case: str) -> None:
    """A lone surrogate in any text argument is refused (UTF-8 cannot carry it), not a UnicodeEncodeError."""
    error = _refused(kind, _SURROGATES[case])
    assert "surrogate" in str(error)


# -- names the server can store but never serve -----------------------------------------------------

_UNSERVABLE = [
    "My Task",
    "a/b",
    "Café",
    "x?y",
    "50%",
    "#",
    "a#b",
    "tab\there",
    "nul\x00",
    "new\nline",
    " T",
    "T ",
    ".",
    "..",
    "api.Widget",
    "apiary",
    "a+b",
    "a:b",
    "emoji\U0001f40e",
    "a%2Eb",
    "a\\b",
    "a@b",
]
_NAME_OPS: dict[str, Callable[[str], Callable[[Any], Any]]] = {
    "register": lambda n: lambda c: c.register_task_type(n, "1", {"type": "object"}),
    "get_task_type": lambda n: lambda c: c.get_task_type(n),
    "create_task": lambda n: lambda c: c.create_task(n, {"a": 1}),
    "claim_task": lambda n: lambda c: c.claim_task(n, worker_id="w"),
    "claim_task-list": lambda n: lambda c: c.claim_task(["Good.Name", n], worker_id="w"),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("op", sorted(_NAME_OPS))
@pytest.mark.parametrize("name", _UNSERVABLE)
def test_names_the_server_cannot_serve_are_refused(kind: str, op: str, name: str) -> None:
    """A type name that would be percent-encoded in the path, or mangled by the server, is refused."""
    error = _refused(kind, _NAME_OPS[op](name))
    assert "letters, digits" in str(error) or "directory" in str(error) or "'/api'" in str(error)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["PrismQ.YouTube.Video.Scrape", "a-b_c~d.9", "API.Upper", "my.api", "..."])
def test_servable_names_go_into_the_path_as_they_are(kind: str, name: str) -> None:
    """Names of ASCII letters, digits and . _ - ~ are sent unencoded: the server finds them."""
    handler = Recorder(500, b'{"success":false,"error":"stop"}')
    with pytest.raises(TaskManagerError):
        run(kind, lambda c: c.get_task_type(name), handler)
    assert handler.requests[0].url.raw_path == f"/api/task-types/{name}".encode()


@pytest.mark.parametrize("kind", KINDS)
def test_list_filter_may_hold_any_text(kind: str) -> None:
    """list_tasks(type=) travels in the query string, which the server decodes: spaces and % are fine."""
    handler = Recorder(200, b'{"success":true,"data":{"items":[],"count":0}}')
    assert run(kind, lambda c: c.list_tasks(type="My Task%"), handler) == []
    assert handler.requests[0].url.params["type"] == "My Task%"


# -- odd objects ----------------------------------------------------------------------------------


class OddStr(str):
    """A str whose own __str__, __eq__ and __hash__ lie."""

    def __str__(self) -> str:
        return "something else"

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0


class OddInt(int):
    def __int__(self) -> int:
        raise RuntimeError("no")

    def __index__(self) -> int:
        raise RuntimeError("no")


class OddFloat(float):
    def __float__(self) -> float:
        return 99.0


class Color(enum.IntEnum):
    RED = 1


class Shade(enum.StrEnum):
    DARK = "dark"


class RaisingMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        yield "a"

    def __len__(self) -> int:
        return 1


class BrokenIterMapping(RaisingMapping):
    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("iteration fails")


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr fails")


class HugeRepr:
    def __repr__(self) -> str:
        return "x" * 10_000_000


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("place", _PLACES)
@pytest.mark.parametrize(
    "value",
    [
        {"d": decimal.Decimal("1.5")},
        {"t": dt.datetime(2026, 1, 1)},
        {"u": uuid.UUID(int=1)},
        {"b": b"bytes"},
        {"m": memoryview(b"x")},
        {("tuple", "key"): 1},
        {1.5: "float key"},
        {None: "none key"},
        {"o": BadRepr()},
        {"o": HugeRepr()},
        {BadRepr(): 1},
        {"g": (i for i in range(3))},
        {"r": range(3)},
        {"f": lambda: 1},
        {"ok": 1, "m": RaisingMapping()},
        {"ok": 1, "m": BrokenIterMapping()},
        {OddStr("a"): 1, OddStr("a") + "": 2, "a": 3},
    ],
    ids=lambda v: type(next(iter(v.values()))).__name__ + "/" + type(next(iter(v))).__name__,
)
def test_values_json_cannot_carry_are_refused(kind: str, place: str, value: dict[Any, Any]) -> None:
    """Decimal, datetime, bytes, odd keys, objects whose repr fails, mappings that raise: refused, short."""
    _refused(kind, _value_ops(value)[place])


@pytest.mark.parametrize("kind", KINDS)
def test_subclasses_are_sent_as_their_plain_value(kind: str) -> None:
    """str/int/float subclasses and enums are sent as the base value, whatever their own methods say."""
    params = {OddStr("k"): OddStr("v"), "e": Color.RED, "s": Shade.DARK, "f": OddFloat(1.5), "i": OddInt(5)}
    bodies = _sent(kind, lambda c: c.create_task(OddStr("T"), params))
    assert bodies[0] == {"type": "T", "params": {"e": 1, "f": 1.5, "i": 5, "k": "v", "s": "dark"}}


@pytest.mark.parametrize("kind", KINDS)
def test_odd_str_arguments_are_used_as_their_plain_value(kind: str) -> None:
    """A str subclass as worker_id, message or error is sent as its own characters."""
    bodies = _sent(kind, lambda c: c.update_progress(1, 5, worker_id=OddStr("w1"), message=OddStr("m")))
    assert bodies[0] == {"worker_id": "w1", "progress": 5, "message": "m"}


@pytest.mark.parametrize("kind", KINDS)
def test_nul_and_control_characters_in_values_are_sent_escaped(kind: str) -> None:
    """NUL and control characters in params and texts are valid JSON and are sent, not refused."""
    bodies = _sent(kind, lambda c: c.create_task("T", {"s": "a\x00b\x1f"}))
    assert bodies[0]["params"] == {"s": "a\x00b\x1f"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "case",
    [
        lambda c: c.create_task("T", {"a": 1}, on_duplicate=BadRepr()),
        lambda c: c.create_task("T", {"a": 1}, on_duplicate="never"),
        lambda c: c.list_tasks(status=BadRepr()),
        lambda c: c.list_tasks(status=["pending"]),
        lambda c: c.claim_task(BadRepr(), worker_id="w"),
        lambda c: c.claim_task([BadRepr()], worker_id="w"),
        lambda c: c.get_task(BadRepr()),
        lambda c: c.update_progress(1, 5, worker_id="w", message=b"bytes"),
        lambda c: c.create_task("T", "x" * 10_000_000),
        lambda c: c.create_task("x" * 10_000_000 + " ", {"a": 1}),
    ],
    ids=[
        "on_duplicate-badrepr",
        "on_duplicate-unknown",
        "status-badrepr",
        "status-list",
        "claim-badrepr",
        "claim-list-badrepr",
        "task_id-badrepr",
        "message-bytes",
        "params-huge-str",
        "type-huge-name",
    ],
)
def test_odd_arguments_get_short_refusals(kind: str, case: Callable[[Any], Any]) -> None:
    """Arguments whose repr fails or is huge are refused with a short message."""
    _refused(kind, case)


@pytest.mark.parametrize("name", ["My Task", "Café", "a/b", "api.Widget", "\ud800"], ids=repr)
def test_worker_refuses_a_handler_it_could_never_claim(name: str) -> None:
    """Worker.handler and add_handler refuse a type name the server cannot serve (no endless polling)."""
    from taskmanager import Worker

    with TaskManagerClient(api_url="http://127.0.0.1:9/api", api_key=KEY) as client:
        worker = Worker(client)
        with pytest.raises(TaskManagerValidationError):
            worker.add_handler(name, lambda task: {})
        with pytest.raises(TaskManagerValidationError):
            worker.handler(name)(lambda task: {})
        assert worker.task_types == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "case",
    [
        lambda c: c.claim_task("T", worker_id="w", policy=BadRepr()),
        lambda c: c.complete_task(1, worker_id="w", status=BadRepr()),
    ],
    ids=["policy", "completion-status"],
)
def test_unprintable_policy_and_status_are_refused(kind: str, case: Callable[[Any], Any]) -> None:
    """A policy or completion status whose repr raises is refused, not a leaked RuntimeError."""
    _refused(kind, case)
