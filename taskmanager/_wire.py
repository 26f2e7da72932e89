"""Requests and replies on the wire: pure functions shared by the sync and async clients.

This is the only module that touches the generated bindings (``taskmanager_api``). Requests
are built with the generated ``_get_kwargs`` (paths, quoting, body layout). Replies are decoded
here, straight from JSON into the client's own models: the generated ``_parse_response``
builds a second set of objects that would then be converted again, which costs more per call
than the whole budget for client overhead, and every value is checked here anyway (ids sent
as strings or numbers, 0/1 flags, zone-less timestamps). So no generated type or error ever
reaches a caller. Error replies come in several shapes (the endpoint envelope, the
pre-routing ``{error, message}`` body, an empty 500, a proxy's HTML page), so they are decoded
by one tolerant function, ``error_from_reply``.

The generated modules are imported by name in ``_bindings`` (so mypy checks every model and
keyword used here) and loaded when the first request is built, not at import: they cost more
to import than the rest of the package together. The first request loads all of them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ._errors import (
    TaskManagerConnectionError,
    TaskManagerError,
    TaskManagerNotFoundError,
    TaskManagerProtocolError,
    TaskManagerTimeoutError,
    TaskManagerValidationError,
    make_status_error,
    server_message,
)
from ._json_input import integer_too_long
from ._models import (
    ClaimedTask,
    CompletionOutcome,
    CompletionStatus,
    CreatedTask,
    Health,
    ProgressUpdate,
    Task,
    TaskStatus,
    TaskSummary,
    TaskType,
)
from ._protocol import Call, Operation, Reply
from ._request_log import log_reply
from ._retry import parse_retry_after
from ._shown import shown

if TYPE_CHECKING:
    from taskmanager_api.types import Unset

    from ._policies import ClaimPolicy

__all__ = ["Call", "Reply", "answer", "error_from_reply", "transport_error"]

R = TypeVar("R")


class _FirstUse:
    """Stands in for ``_bindings`` until a request is first built, then makes way for it."""

    def __getattr__(self, name: str) -> Any:
        from . import _bindings

        globals()["gen"] = _bindings  # later lookups find the module itself
        return getattr(_bindings, name)


if TYPE_CHECKING:
    from . import _bindings as gen
else:
    gen = _FirstUse()


def _call(op: Operation, spec: dict[str, Any]) -> Call:
    """A Call from what a generated ``_get_kwargs`` returns."""
    return Call(op, spec["method"].upper(), spec["url"], spec.get("json"), spec.get("params"))


# ------------------------------------------------------------------------------ requests


def health_check() -> Call:
    return _call("read", gen.health_check._get_kwargs())


def register_task_type(name: str, version: str, param_schema: Mapping[str, Any]) -> Call:
    schema = gen.JsonObject.from_dict(param_schema)
    body = gen.RegisterTaskTypeRequest(name=name, version=version, param_schema=schema)
    return _call("register", gen.register_task_type._get_kwargs(body=body))


def get_task_type(name: str) -> Call:
    return _call("read", gen.get_task_type._get_kwargs(name))


def list_task_types(active_only: bool) -> Call:
    # The generated default sends "active_only=false", a string PHP may read as true: send the
    # parameter only when it is asked for.
    flag: bool | Unset = True if active_only else gen.UNSET
    return _call("read", gen.list_task_types._get_kwargs(active_only=flag))


def create_task(task_type: str, params: Mapping[str, Any]) -> Call:
    body = gen.CreateTaskRequest(type_=task_type, params=gen.JsonObject.from_dict(params))
    return _call("create", gen.create_task._get_kwargs(body=body))


# A worker sends the same claim again and again: built once per (type, worker, policy), it costs
# nothing after the first (building it through the generated model takes a few microseconds).
# The Call is immutable and nothing writes to its body.
@functools.lru_cache(maxsize=256)
def claim_task(task_type_id: int, worker_id: str, policy: ClaimPolicy) -> Call:
    body = gen.ClaimTaskRequest(
        worker_id=worker_id,
        task_type_id=task_type_id,
        sort_by=gen.ClaimSortBy(policy.sort_by),
        sort_order=gen.ClaimSortOrder(policy.sort_order),
    )
    return _call("claim", gen.claim_task._get_kwargs(body=body))


def update_progress(task_id: int, progress: int, worker_id: str, message: str | None) -> Call:
    body = gen.UpdateTaskProgressRequest(worker_id=worker_id, progress=progress)
    if message is not None:
        body.message = message
    return _call("progress", gen.update_task_progress._get_kwargs(task_id, body=body))


def complete_task(
    task_id: int, worker_id: str, success: bool, result: Mapping[str, Any] | None, error: str | None
) -> Call:
    body = gen.CompleteTaskRequest(worker_id=worker_id, success=success)
    if result is not None:
        body.result = gen.JsonObject.from_dict(result)
    if error is not None:
        body.error = error
    return _call("complete", gen.complete_task._get_kwargs(task_id, body=body))


def get_task(task_id: int) -> Call:
    return _call("read", gen.get_task._get_kwargs(task_id))


def list_tasks(status: TaskStatus | None, task_type: str | None, limit: int, offset: int) -> Call:
    spec = gen.list_tasks._get_kwargs(
        status=gen.UNSET if status is None else gen.ListTasksStatus(status.value),
        type_=gen.UNSET if task_type is None else task_type,
        limit=limit,
        offset=offset,
    )
    return _call("read", spec)


# ------------------------------------------------------------------------------ replies

# The server's encoder (PHP's json_encode) writes at most 512 levels of arrays and objects;
# a deeper reply did not come from it, and would exhaust Python's recursion limit here.
MAX_REPLY_DEPTH = 512
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    # PHP's encoder writes no infinity, so a literal that overflows (1e400) is not from it.
    value = float(text)
    if value - value != 0.0:
        raise ValueError(f"number {text[:40]} is beyond a double")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _depth_over(value: Any, limit: int) -> bool:
    """Whether arrays/objects nest deeper than ``limit`` (iterative: the value may be deep)."""
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if type(node) is dict:
            children: Any = node.values()
        elif type(node) is list:
            children = node
        else:
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children)
    return False


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if type(node) is str:
            if not node.isascii():
                try:
                    node.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif type(node) is dict:
            stack.extend(node)
            stack.extend(node.values())
        elif type(node) is list:
            stack.extend(node)
    return False


def loads(content: bytes) -> Any:
    """Decode a reply body as JSON the server could have written; ValueError for anything else.

    Strict UTF-8 (a BOM is tolerated), no NaN/Infinity literals, at most ``MAX_REPLY_DEPTH``
    levels, no unpaired surrogate escapes: PHP's encoder writes none of these. Every failure,
    RecursionError included, is a ValueError with a short reason.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 at byte {err.start}") from None
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_REPLY_DEPTH} levels") from None
    except ValueError as err:
        reason = integer_too_long(err)
        if reason is None:
            raise
        raise ValueError(f"{reason} (PHP writes 64-bit integers)") from None
    # Only a body with enough brackets can be too deep: the count is cheap, the walk is not.
    if content.count(b"[") + content.count(b"{") > MAX_REPLY_DEPTH and _depth_over(value, MAX_REPLY_DEPTH):
        raise ValueError(f"nested deeper than {MAX_REPLY_DEPTH} levels")
    if _SURROGATE_ESCAPE.search(content) and _has_lone_surrogate(value):
        raise ValueError("a string holds an unpaired UTF-16 surrogate")
    return value


def decode_success(call: Call, status_code: int, content: bytes) -> Any:
    """The ``data`` of a 2xx reply's success envelope; ProtocolError when it is not one."""
    try:
        body = loads(content)
    except ValueError as err:
        raise protocol_error(call, status_code, f"reply is not JSON ({err})", content) from err
    if type(body) is not dict or body.get("success") is not True or "data" not in body:
        raise protocol_error(call, status_code, "reply is not a success envelope", content)
    return body["data"]


def answer(
    call: Call, status_code: int, headers: Mapping[str, str], content: bytes, started: float | None = None
) -> Reply:
    """What one attempt's HTTP reply says: the success envelope's data, or the error.

    ``started`` is what ``log_request`` returned: when it is a time, the reply is logged too.
    """
    if started is not None:
        log_reply(call, status_code, content, started)
    if status_code < 300:
        try:
            return Reply(decode_success(call, status_code, content), None)
        except TaskManagerProtocolError as err:
            return Reply(None, err)
    if status_code < 400:
        return Reply(None, redirect_error(call, status_code, headers))
    return Reply(None, error_from_reply(call, status_code, headers, content))


def redirect_error(call: Call, status_code: int, headers: Mapping[str, str]) -> TaskManagerProtocolError:
    """A 3xx: no endpoint of this API redirects, so it is not an answer (a proxy, a wrong URL).

    The retry rules treat it like a lost reply (``_retry.is_redirect``): whatever sent it may or
    may not have passed the request on.
    """
    location = headers.get("location")
    where = f" to {shown(location[:200])}" if location else ""
    return TaskManagerProtocolError(
        f"HTTP {status_code} redirect{where} is not an answer from the TaskManager API "
        "(is api_url right? redirects are not followed)",
        method=call.method,
        path=call.path,
        status_code=status_code,
    )


def protocol_error(
    call: Call, status_code: int | None, why: str, content: bytes | None = None
) -> TaskManagerProtocolError:
    # Only the start is quoted, so only the start is decoded (the body may be large).
    snippet = None if content is None else content[:200].decode("utf-8", "replace")
    return TaskManagerProtocolError(
        f"{why}; body starts {snippet!r}" if snippet is not None else why,
        method=call.method,
        path=call.path,
        status_code=status_code,
    )


# What an error keeps of the server's words; ``response_data`` keeps the whole body.
_MAX_MESSAGE = 2000
_MAX_DETAILS = 100


def _said(value: Any) -> str:
    """A message or detail from an error body as text, cut to ``_MAX_MESSAGE`` characters."""
    text = value if type(value) is str else shown(value)
    if len(text) > _MAX_MESSAGE:
        return f"{text[:_MAX_MESSAGE]}... ({len(text) - _MAX_MESSAGE} more characters)"
    return text


def error_from_reply(
    call: Call, status_code: int, headers: Mapping[str, str], content: bytes
) -> TaskManagerError:
    """Map an HTTP error reply (any body) to the error class for its status and message."""
    body: Any = None
    message = ""
    details: tuple[str, ...] = ()
    try:
        body = loads(content) if content else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        text = body.get("message")
        if "success" in body or not isinstance(text, str):
            message = _said(error) if error is not None else ""
        else:
            # The pre-routing bodies (401/413/429): {error: "Unauthorized", message: "..."}.
            message = f"{_said(error)}: {_said(text)}" if error else _said(text)
        raw_details = body.get("details")
        if isinstance(raw_details, list):
            details = tuple(_said(d) for d in raw_details[:_MAX_DETAILS])
    elif content:
        message = content[:200].decode("utf-8", "replace").strip()
    if not message:
        message = f"HTTP {status_code} with {'an empty' if not content else 'an unreadable'} body"
    return make_status_error(
        status_code,
        message,
        method=call.method,
        path=call.path,
        details=details,
        response_data=body,
        retry_after=parse_retry_after(headers.get("retry-after")),
    )


def transport_error(call: Call, exc: Exception) -> TaskManagerError:
    """Map an ``httpx`` exception raised while sending ``call``; it becomes the error's ``__cause__``.

    The error is raised later, by the operation, once retries are over: its cause is set here so
    that the traceback still shows what httpx saw, as ``raise ... from exc`` would.
    """
    error = _transport_error(call, exc)
    error.__cause__ = exc
    return error


def _transport_error(call: Call, exc: Exception) -> TaskManagerError:
    import httpx

    kwargs: dict[str, Any] = {"method": call.method, "path": call.path}
    # Only a connection that was never made proves the server never saw the request.
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return TaskManagerTimeoutError(f"no reply in time ({text})", request_sent=not never_sent, **kwargs)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return TaskManagerValidationError(f"the API URL cannot be used ({text})", **kwargs)
    if isinstance(exc, httpx.TransportError):
        return TaskManagerConnectionError(
            f"connection failed ({text})", request_sent=not never_sent, **kwargs
        )
    return TaskManagerProtocolError(f"the reply could not be read ({text})", **kwargs)


def is_nothing_to_claim(error: TaskManagerError) -> bool:
    """A claim's error reply that means "no task to claim" (see ``_errors.SERVER_MESSAGES``)."""
    return server_message(error.status_code, error.message).nothing_to_claim


# ------------------------------------------------------------------------------ values


def convert(call: Call, fn: Callable[..., R], *args: Any) -> R:
    """Run a converter; any surprise in the decoded data becomes a TaskManagerProtocolError."""
    try:
        return fn(*args)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise protocol_error(call, 200, f"unexpected value in reply: {_surprise(err)}") from err


def _surprise(err: Exception) -> str:
    """What a converter's exception says about the reply, in the reply's terms."""
    if isinstance(err, KeyError):
        return f"the field {shown(err.args[0] if err.args else None)[:100]} is missing"
    why = str(err)
    if isinstance(err, TypeError) and ("subscriptable" in why or "indices must be" in why):
        # item["id"] on a list, a string or null: Python's words name the operation, not the data.
        return f"a list, string, number or null where an object was expected ({why})"
    if len(why) > 300:  # the text of a huge value from the reply
        why = why[:300] + "..."
    return why


def _int(value: Any) -> int:
    # Ids arrive as "7" in some replies and 7 in others; PHP's integers are signed 64-bit.
    if type(value) is int and _INT64_MIN <= value <= _INT64_MAX:
        return value
    if isinstance(value, str) and value.isascii() and value.strip().lstrip("-").isdigit():
        return _int(int(value))
    raise TypeError(f"expected a 64-bit integer, got {shown(value)}")


def _id(value: Any) -> int:
    # The database's auto-increment ids start at 1: no row has 0 or less, and such an id could
    # never be asked for again (``get_task(-1)`` is refused before sending).
    number = _int(value)
    if number < 1:
        raise ValueError(f"expected an id of 1 or more, got {number}")
    return number


def _str(value: Any) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _dict(value: Any) -> dict[str, Any] | None:
    if value is None or type(value) is dict:
        return value
    if isinstance(value, list) and not value:
        return {}  # PHP encodes an empty object as []
    raise TypeError(f"expected an object, got {value!r}")


def parse_datetime(value: Any, tz: dt.tzinfo) -> dt.datetime | None:
    """A server timestamp ("YYYY-MM-DD HH:MM:SS" in ``tz``, or ISO-8601 with an offset)."""
    if value is None or value == "":
        return None
    text = _str(value)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        # Rarer layouts (e.g. RFC 2822 dates from a proxy): dateutil copes, at an import cost.
        # python-dateutil ships no type information.
        from dateutil import parser as dateutil_parser  # type: ignore[import-untyped]

        try:
            parsed = dateutil_parser.parse(text)
        except (ValueError, OverflowError, OSError) as err:
            raise ValueError(f"unreadable timestamp {text!r}") from err
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _flag(value: Any) -> bool:
    # MySQL booleans arrive as 0/1.
    if isinstance(value, bool):
        return value
    if _int(value) not in (0, 1):
        raise ValueError(f"expected 0 or 1, got {value!r}")
    return bool(value)


def _status(value: Any) -> TaskStatus:
    return TaskStatus(_str(value))


def to_health(data: Any) -> Health:
    status, database = _str(data["status"]), _str(data["database"])
    try:
        server_time = dt.datetime.fromtimestamp(_int(data["timestamp"]), dt.UTC)
    except (OverflowError, OSError) as err:
        raise ValueError(f"timestamp out of range: {data['timestamp']!r}") from err
    return Health(
        ok=status == "healthy" and database == "connected",
        status=status,
        database=database,
        server_time=server_time,
    )


def to_registered(data: Any, param_schema: Mapping[str, Any]) -> TaskType:
    # A new type says {"created": true}, an existing one {"updated": true}; a reply with neither
    # does not say which, and the model must not guess.
    created: bool | None = None
    if data.get("created") is True:
        created = True
    elif data.get("updated") is True:
        created = False
    return TaskType(
        id=_id(data["id"]),
        name=_str(data["name"]),
        version=_str(data["version"]),
        param_schema=dict(param_schema),
        created=created,
    )


def _extra(item: Mapping[str, Any], model: type[Any]) -> dict[str, Any]:
    """The reply's fields that ``model`` does not declare: they become its read-only ``extra``."""
    known = _declared.get(model)
    if known is None:
        known = _declared[model] = frozenset(f.name for f in attrs.fields(model))
    return {key: value for key, value in item.items() if key not in known}


_declared: dict[type[Any], frozenset[str]] = {}


def _task_type(item: Any, tz: dt.tzinfo) -> TaskType:
    return TaskType(
        id=_id(item["id"]),
        name=_str(item["name"]),
        version=_str(item["version"]),
        param_schema=_dict(item["param_schema"]),
        is_active=_flag(item["is_active"]),
        created_at=parse_datetime(item["created_at"], tz),
        updated_at=parse_datetime(item["updated_at"], tz),
        extra=_extra(item, TaskType),
    )


def single(call: Call, data: Any, what: str) -> Any:
    """The one item of an ``{items, count}`` lookup; NotFound when the list is empty."""
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise protocol_error(call, 200, f"expected a list of items, got {items!r}")
    if not items:
        raise TaskManagerNotFoundError(
            f"{what} not found", method=call.method, path=call.path, status_code=200
        )
    return items[0]


def to_task_type(item: Any, tz: dt.tzinfo) -> TaskType:
    return _task_type(item, tz)


def to_task_types(data: Any, tz: dt.tzinfo) -> list[TaskType]:
    return [_task_type(item, tz) for item in data["items"]]


def to_created(data: Any, task_type: str, local_key: str, uncertain: bool) -> tuple[CreatedTask, str | None]:
    """The created task, plus the server's dedupe key when it sent one (to compare)."""
    # The server says "deduplicated"; its published document says "duplicate": accept either,
    # so that a server fixed to match its document is not taken to have created the task.
    existing = data.get("deduplicated") is True or data.get("duplicate") is True
    server_key = _opt_str(data.get("dedupe_key"))
    created: bool | None = True
    if existing:
        created = None if uncertain else False
    task = CreatedTask(
        id=_id(data["id"]),
        type=_str(data.get("type", task_type)),
        status=_status(data["status"]),
        dedupe_key=server_key or local_key,
        created=created,
    )
    return task, server_key


def to_claimed(data: Any, worker_id: str, task_type_id: int) -> ClaimedTask:
    task_id = _id(data["id"])
    return ClaimedTask(
        id=task_id,
        type=_str(data["type"]),
        params=_dict(data["params"]) or {},
        attempts=_int(data["attempts"]),
        priority=_int(data["priority"]),
        worker_id=worker_id,
        claimed_at=dt.datetime.now(dt.UTC),
        task_type_id=task_type_id,
    )


def to_progress(data: Any) -> ProgressUpdate:
    return ProgressUpdate(
        task_id=_id(data["id"]),
        progress=_int(data["progress"]),
        message=_str(data.get("message", "")),
    )


def to_outcome(data: Any) -> CompletionOutcome:
    return CompletionOutcome(
        task_id=_id(data["id"]), status=CompletionStatus(_str(data["status"])), message=_str(data["message"])
    )


def to_task(item: Any, tz: dt.tzinfo) -> Task:
    return Task(
        id=_id(item["id"]),
        type=_str(item["type"]),
        status=_status(item["status"]),
        params=_dict(item["params"]),
        result=_dict(item["result"]),
        error_message=_opt_str(item["error_message"]),
        priority=_int(item["priority"]),
        progress=_int(item["progress"]),
        attempts=_int(item["attempts"]),
        claimed_by=_opt_str(item["claimed_by"]),
        claimed_at=parse_datetime(item["claimed_at"], tz),
        completed_at=parse_datetime(item["completed_at"], tz),
        created_at=parse_datetime(item["created_at"], tz),
        extra=_extra(item, Task),
    )


def to_summaries(data: Any, tz: dt.tzinfo) -> list[TaskSummary]:
    return [
        TaskSummary(
            id=_id(item["id"]),
            type=_str(item["type"]),
            status=_status(item["status"]),
            priority=_int(item["priority"]),
            progress=_int(item["progress"]),
            attempts=_int(item["attempts"]),
            claimed_by=_opt_str(item["claimed_by"]),
            created_at=parse_datetime(item["created_at"], tz),
            completed_at=parse_datetime(item["completed_at"], tz),
            extra=_extra(item, TaskSummary),
        )
        for item in data["items"]
    ]
