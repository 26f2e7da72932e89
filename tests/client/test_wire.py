"""Pure wire helpers: error replies of every shape, transport errors, timestamps, conversions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from taskmanager import (
    TaskManagerAuthError,
    TaskManagerConnectionError,
    TaskManagerNotFoundError,
    TaskManagerProtocolError,
    TaskManagerRateLimitError,
    TaskManagerServerError,
    TaskManagerTimeoutError,
    TaskManagerValidationError,
    TaskNotClaimedError,
    _wire,
)
from taskmanager._policies import ClaimPolicy

CALL = _wire.get_task(1)


def test_requests_built_by_generated_bindings() -> None:
    """Request specs come out with method, path and body as the server expects them."""
    create = _wire.create_task("T", {"a": 1, "b": {"c": 2}})
    assert (create.op, create.method, create.path, create.json) == (
        "create",
        "POST",
        "/tasks",
        {"type": "T", "params": {"a": 1, "b": {"c": 2}}},
    )
    claim = _wire.claim_task(3, "w1", ClaimPolicy.LIFO)
    assert claim.json == {"worker_id": "w1", "task_type_id": 3, "sort_by": "id", "sort_order": "DESC"}
    assert claim.op == "claim"
    done = _wire.complete_task(5, "w1", False, None, "boom")
    assert (done.path, done.json) == (
        "/tasks/5/complete",
        {"worker_id": "w1", "success": False, "error": "boom"},
    )
    progress = _wire.update_progress(5, 10, "w1", None)
    assert (progress.op, progress.path, progress.json) == (
        "progress",
        "/tasks/5/progress",
        {"worker_id": "w1", "progress": 10},
    )
    assert _wire.list_task_types(False).params == {}
    assert _wire.list_task_types(True).params == {"active_only": True}
    listing = _wire.list_tasks(None, "PrismQ.%", 10, 20)
    assert listing.params == {"type": "PrismQ.%", "limit": 10, "offset": 20}


@pytest.mark.parametrize(
    ("status", "body", "cls", "message", "details"),
    [
        (
            400,
            b'{"success":false,"error":"Validation failed","details":["Worker ID is required"]}',
            TaskManagerValidationError,
            "Validation failed",
            ("Worker ID is required",),
        ),
        (400, b'{"success":false,"error":"Task is not in claimed state","timestamp":1}', TaskNotClaimedError,
         "Task is not in claimed state", ()),
        (
            401,
            b'{"error":"Unauthorized","message":"Invalid or missing API key.","timestamp":"x"}',
            TaskManagerAuthError,
            "Unauthorized: Invalid or missing API key.",
            (),
        ),
        (500, b"", TaskManagerServerError, "HTTP 500 with an empty body", ()),
        (502, b"<html><body>Bad Gateway</body></html>", TaskManagerServerError,
         "<html><body>Bad Gateway</body></html>", ()),
        (404, b"[1, 2]", TaskManagerNotFoundError, "[1, 2]", ()),
        (404, b"  ", TaskManagerNotFoundError, "HTTP 404 with an unreadable body", ()),
    ],
)  # fmt: skip
def test_error_reply_shapes(
    status: int, body: bytes, cls: type, message: str, details: tuple[str, ...]
) -> None:
    """Envelope, pre-routing body, empty and HTML error replies all map to a typed error."""
    error = _wire.error_from_reply(CALL, status, {}, body)
    assert type(error) is cls
    assert (error.message, error.details, error.method, error.path, error.status_code) == (
        message,
        details,
        "GET",
        "/tasks/1",
        status,
    )


def test_rate_limit_reads_retry_after() -> None:
    """A 429 carries the Retry-After header's seconds."""
    error = _wire.error_from_reply(
        CALL, 429, {"retry-after": "4"}, b'{"error":"Too Many Requests","message":"x"}'
    )
    assert isinstance(error, TaskManagerRateLimitError)
    assert error.retry_after == 4.0


@pytest.mark.parametrize(
    ("exc", "cls", "sent"),
    [
        (httpx.ConnectError("refused"), TaskManagerConnectionError, False),
        (httpx.ConnectTimeout("slow"), TaskManagerTimeoutError, False),
        (httpx.ReadTimeout("slow"), TaskManagerTimeoutError, True),
        (httpx.RemoteProtocolError("closed"), TaskManagerConnectionError, True),
        (httpx.ReadError("reset"), TaskManagerConnectionError, True),
    ],
)
def test_transport_errors(exc: Exception, cls: type, sent: bool) -> None:
    """httpx failures become connection/timeout errors that say whether the request went out."""
    error = _wire.transport_error(CALL, exc)
    assert type(error) is cls
    assert isinstance(error, TaskManagerConnectionError)
    assert error.request_sent is sent
    assert (error.method, error.path) == ("GET", "/tasks/1")


def test_timestamps_get_the_server_zone() -> None:
    """Zone-less server timestamps take the configured zone; ISO offsets are kept."""
    prague = dt.timezone(dt.timedelta(hours=1))
    assert _wire.parse_datetime("2026-11-23 06:18:29", prague) == dt.datetime(
        2026, 11, 23, 6, 18, 29, tzinfo=prague
    )
    parsed = _wire.parse_datetime("2026-11-23T06:18:28+00:00", prague)
    assert parsed is not None and parsed.utcoffset() == dt.timedelta(0)
    assert _wire.parse_datetime(None, prague) is None
    rfc = _wire.parse_datetime("Mon, 23 Nov 2026 06:18:28 GMT", dt.UTC)
    assert rfc == dt.datetime(2026, 11, 23, 6, 18, 28, tzinfo=dt.UTC)


def _data(**fields: Any) -> Any:
    return fields


def test_string_ids_become_ints() -> None:
    """Ids sent as "7" and as 7 both become int 7."""
    outcome = _wire.to_outcome(_data(id="7", status="pending (retry)", message="Task completed"))
    assert outcome.task_id == 7
    assert outcome.status.value == "pending (retry)"


@pytest.mark.parametrize("bad_id", [None, "seven", True, 1.5])
def test_wrong_shapes_are_protocol_errors(bad_id: Any) -> None:
    """A value of the wrong type in a reply raises TaskManagerProtocolError, not TypeError."""
    call = _wire.complete_task(1, "w", True, None, None)
    with pytest.raises(TaskManagerProtocolError) as info:
        _wire.convert(call, _wire.to_outcome, _data(id=bad_id, status="completed", message="m"))
    assert (info.value.method, info.value.path) == ("POST", "/tasks/1/complete")


def test_unknown_status_is_a_protocol_error() -> None:
    """A status the client does not know is a protocol error."""
    call = _wire.complete_task(1, "w", True, None, None)
    with pytest.raises(TaskManagerProtocolError):
        _wire.convert(call, _wire.to_outcome, _data(id=1, status="exploded", message="m"))


def test_nothing_to_claim_recognised_by_message_only() -> None:
    """The 500 "no active transaction" and the documented 404 mean nothing to claim; other 500s do not."""
    call = _wire.claim_task(1, "w", ClaimPolicy.FIFO)
    assert _wire.is_nothing_to_claim(
        _wire.error_from_reply(call, 500, {}, b'{"success":false,"error":"There is no active transaction"}')
    )
    assert _wire.is_nothing_to_claim(
        _wire.error_from_reply(call, 404, {}, b'{"success":false,"error":"No available tasks"}')
    )
    assert not _wire.is_nothing_to_claim(
        _wire.error_from_reply(call, 500, {}, b'{"success":false,"error":"SQLSTATE[40001]"}')
    )
    assert not _wire.is_nothing_to_claim(
        _wire.error_from_reply(call, 404, {}, b'{"success":false,"error":"Endpoint not found"}')
    )


def test_register_reply_without_a_flag_does_not_guess() -> None:
    """created is True for {"created": true}, False for {"updated": true}, None when neither is sent."""
    base = {"id": 1, "name": "T", "version": "1"}
    assert _wire.to_registered({**base, "created": True}, {}).created is True
    assert _wire.to_registered({**base, "updated": True}, {}).created is False
    assert _wire.to_registered(base, {}).created is None


@pytest.mark.parametrize("flag", ["deduplicated", "duplicate"])
def test_duplicate_flag_under_either_name(flag: str) -> None:
    """The server's "deduplicated" and the document's "duplicate" both mean the task existed."""
    task, server_key = _wire.to_created({"id": 7, "status": "pending", flag: True}, "T", "k" * 64, False)
    assert (task.id, task.created, task.dedupe_key, server_key) == (7, False, "k" * 64, None)


def test_a_repeated_claim_is_the_same_request_and_any_change_shows() -> None:
    """Claims are built once per (type, worker, policy): the same arguments give the same request,
    and changing any one of them changes the body sent."""
    from taskmanager import _wire as wire

    first = wire.claim_task(3, "w1", ClaimPolicy.FIFO)
    assert wire.claim_task(3, "w1", ClaimPolicy.FIFO) == first
    assert (first.method, first.path) == ("POST", "/tasks/claim")
    assert first.json == {"worker_id": "w1", "task_type_id": 3, "sort_by": "id", "sort_order": "ASC"}
    variants = [
        wire.claim_task(4, "w1", ClaimPolicy.FIFO),
        wire.claim_task(3, "w2", ClaimPolicy.FIFO),
        wire.claim_task(3, "w1", ClaimPolicy.LIFO),
        wire.claim_task(3, "w1", ClaimPolicy.PRIORITY),
    ]
    assert [v.json for v in variants] == [
        {**first.json, "task_type_id": 4},
        {**first.json, "worker_id": "w2"},
        {**first.json, "sort_order": "DESC"},
        {**first.json, "sort_by": "priority", "sort_order": "DESC"},
    ]
