"""Replies no server should send still end in a typed error, from every operation, sync and async."""

from __future__ import annotations

import json
from typing import Any

import pytest

from taskmanager import (
    Health,
    Task,
    TaskManagerError,
    TaskManagerProtocolError,
    TaskManagerRateLimitError,
    TaskManagerServerError,
    TaskManagerValidationError,
)

from ._hostile_ops import HEALTH, KEY, KINDS, OPS, Recorder, run

DEEP_LIST = b"[" * 50000 + b"]" * 50000
DEEP_OBJECT = b'{"a":' * 50000 + b"1" + b"}" * 50000


def _envelope(data: Any) -> bytes:
    return json.dumps({"success": True, "message": "Success", "data": data, "timestamp": 1}).encode()


def _nested(levels: int) -> Any:
    """An object nested ``levels`` deep: {"a": {"a": ... 1}}."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def _task(**fields: Any) -> dict[str, Any]:
    row = {
        "id": 1,
        "type": "T",
        "status": "completed",
        "params": {"k": "v"},
        "result": None,
        "error_message": None,
        "priority": 0,
        "progress": 100,
        "attempts": 1,
        "claimed_by": "w",
        "claimed_at": None,
        "completed_at": None,
        "created_at": "2026-11-23 06:18:29",
    }
    row.update(fields)
    return row


def _get_reply(**fields: Any) -> bytes:
    return _envelope({"items": [_task(**fields)], "count": 1})


# Bodies a PHP server cannot write. Each reaches json decoding on every operation.
_UNWRITABLE = {
    "deep-list": DEEP_LIST,
    "deep-object": DEEP_OBJECT,
    "deep-data": b'{"success":true,"data":' + b"[" * 5000 + b"]" * 5000 + b"}",
    "bad-utf8": b'{"success":true,"message":"\xff\xfe","data":{}}',
    "utf16": _envelope({"items": [], "count": 0}).decode().encode("utf-16"),
    "nan": b'{"success":true,"data":NaN}',
    "infinity-in-task": _get_reply(result={"x": 1}).replace(b'"x": 1', b'"x": -Infinity'),
    "nan-in-task": _get_reply(result={"x": 1}).replace(b'"x": 1', b'"x": NaN'),
    "lone-surrogate": _get_reply(error_message="\ud800"),  # json.dumps writes it as a \\ud800 escape
    "too-deep-task": _get_reply(params=_nested(509)),
    "overflowing-float": _get_reply(result={"x": 1}).replace(b'"x": 1', b'"x": 1e400'),
    "non-ascii-digit-id": _get_reply(id="\u0663"),  # ARABIC-INDIC DIGIT THREE, which int() reads as 3
    "id-beyond-int64": _get_reply(id=2**64),
    "negative-id": _get_reply(id=-1),  # no row of an auto-increment column has it
    "zero-id": _get_reply(id=0),
    "five-thousand-digit-id": _get_reply(result={"x": 1}).replace(b'"x": 1', b'"x": ' + b"9" * 5000),
    "huge-timestamp": _get_reply(created_at="x" * 100_000),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("body", sorted(_UNWRITABLE))
def test_unwritable_success_reply_is_a_protocol_error(kind: str, op: str, body: str) -> None:
    """A 200 whose JSON no server writes (too deep, not UTF-8, NaN, lone surrogate) is a ProtocolError."""
    handler = Recorder(200, _UNWRITABLE[body])
    with pytest.raises(TaskManagerProtocolError) as caught:
        run(kind, OPS[op], handler)
    assert caught.value.status_code == 200
    assert len(str(caught.value)) < 600
    assert KEY not in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [200, 429, 500])
@pytest.mark.parametrize("body", sorted(_UNWRITABLE))
def test_unwritable_reply_makes_health_unhealthy(kind: str, status: int, body: str) -> None:
    """health_check answers a reply no server writes, 2xx included, with a falsy Health and its
    reason: it never raises for what the server sent."""
    health = run(kind, HEALTH, Recorder(status, _UNWRITABLE[body]))
    assert isinstance(health, Health)
    assert not health
    assert not health.ok
    assert health.reason
    assert isinstance(health.error, TaskManagerProtocolError if status == 200 else TaskManagerError)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize(
    ("status", "error"),
    [(500, TaskManagerServerError), (429, TaskManagerRateLimitError), (400, TaskManagerValidationError)],
)
@pytest.mark.parametrize("body", [DEEP_LIST, DEEP_OBJECT], ids=["deep-list", "deep-object"])
def test_deep_error_reply_keeps_its_status_class(
    kind: str, op: str, status: int, error: type[TaskManagerError], body: bytes
) -> None:
    """An error status whose body is nested 50,000 deep is that status's error, quoting the body's start."""
    handler = Recorder(status, body)
    with pytest.raises(error) as caught:
        run(kind, OPS[op], handler)
    assert caught.value.status_code == status
    assert caught.value.response_data is None
    assert 0 < len(caught.value.message) <= 200


@pytest.mark.parametrize("kind", KINDS)
def test_deepest_reply_the_server_can_write_is_read(kind: str) -> None:
    """A reply nested 512 levels (PHP's json_encode limit) is read; params 508 deep sit at level 512."""
    params = _nested(508)
    handler = Recorder(200, _get_reply(params=params))
    task = run(kind, OPS["get_task"], handler)
    assert isinstance(task, Task)
    assert task.params == params


@pytest.mark.parametrize("kind", KINDS)
def test_error_text_from_the_server_is_bounded(kind: str) -> None:
    """A 500 whose error text is 5 MB keeps 2,000 characters in the message and all of it in response_data."""
    text = "x" * 5_000_000
    body = json.dumps({"success": False, "error": text, "details": ["d" * 10_000] * 1000}).encode()
    with pytest.raises(TaskManagerServerError) as caught:
        run(kind, OPS["get_task"], Recorder(500, body))
    assert len(caught.value.message) < 2100
    assert caught.value.message.startswith("x" * 2000)
    assert len(caught.value.details) <= 100
    assert all(len(d) < 2100 for d in caught.value.details)
    assert caught.value.response_data["error"] == text


@pytest.mark.parametrize("kind", KINDS)
def test_huge_protocol_error_body_is_quoted_from_its_start(kind: str) -> None:
    """A protocol error quotes the first 200 characters of the body, whatever its declared charset."""
    body = b"<html>" + b"\xff" * 1_000_000
    handler = Recorder(200, body, headers={"Content-Type": "text/html; charset=no-such-charset"})
    with pytest.raises(TaskManagerProtocolError) as caught:
        run(kind, OPS["get_task"], handler)
    assert "<html>" in caught.value.message
    assert len(caught.value.message) < 1000


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("task_id", [-5, 0])
def test_claim_reply_naming_an_id_no_task_can_have_is_a_protocol_error(kind: str, task_id: int) -> None:
    """A claimed task with id -5 or 0 could never be reported: refused as a garbled reply."""
    claimed = {"id": task_id, "type": "T", "params": {"k": "v"}, "attempts": 1, "priority": 0}
    with pytest.raises(TaskManagerProtocolError, match="an id of 1 or more"):
        run(kind, OPS["claim_task_by_id"], Recorder(200, _envelope(claimed)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("data", "said"),
    [
        (
            {"items": [{k: v for k, v in _task().items() if k != "status"}], "count": 1},
            "the field 'status' is missing",
        ),
        ({"items": [None], "count": 1}, "where an object was expected"),
        ({"items": ["task"], "count": 1}, "where an object was expected"),
        ({"items": [[1, 2]], "count": 1}, "where an object was expected"),
    ],
    ids=["missing-field", "null-item", "string-item", "list-item"],
)
def test_a_reply_of_the_wrong_shape_is_described_in_the_reply_s_terms(
    kind: str, data: Any, said: str
) -> None:
    with pytest.raises(TaskManagerProtocolError, match=said) as caught:
        run(kind, OPS["get_task"], Recorder(200, _envelope(data)))
    assert "subscriptable" not in caught.value.message.split("(")[0]


@pytest.mark.parametrize("kind", KINDS)
def test_an_integer_too_long_to_read_is_named_without_python_s_advice(kind: str) -> None:
    body = _get_reply(result={"x": 1}).replace(b'"x": 1', b'"x": ' + b"9" * 5000)
    with pytest.raises(TaskManagerProtocolError, match=r"an integer of more than \d+ digits") as caught:
        run(kind, OPS["get_task"], Recorder(200, body))
    assert "set_int_max_str_digits" not in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_a_read_answered_with_another_task_is_a_protocol_error(kind: str) -> None:
    with pytest.raises(TaskManagerProtocolError, match="a read of task 1 holds task 2"):
        run(kind, OPS["get_task"], Recorder(200, _get_reply(id=2)))
