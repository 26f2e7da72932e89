"""Routing and handlers: the real server's API, reply for reply.

``App.handle`` is pure request -> response (no sockets), so the HTTP layer stays thin and the
handlers can be exercised directly. Every message, status code, envelope shape and id type here
follows what the real server was observed to send; see the package docstring for the few
deliberate differences.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast
from urllib.parse import parse_qsl

from ._phpjson import (
    NUMBER_PREFIX,
    InvalidJSON,
    Raw,
    as_php_array,
    decode,
    encode,
    encoded_too_deep,
    php_string,
    php_truthy,
    php_type,
    quote,
    reencode,
)
from ._schema import ValidationTooLong, validate
from ._store import SORT_COLUMNS, TYPE_SORT_COLUMNS, Store

__all__ = ["App", "Response"]

logger = logging.getLogger("taskmanager.server")

JSON = "application/json"
HTML = "text/html; charset=UTF-8"
_PUBLIC_PATHS = ("/health", "/openapi.json")
_UNAUTHORIZED = "Invalid or missing API key. Include X-API-Key header with your request."
_TOO_LARGE = "Request body exceeds the maximum allowed size."
_PHP_TRIM = " \t\n\r\0\x0b"
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = JSON


class _Fail(Exception):
    """An error reply from a handler: the error envelope with this status and message."""

    def __init__(self, status: int, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


class _PhpTypeError(Exception):
    """Where PHP would throw a TypeError in a handler: 500 with an empty body."""


def _missing(fields: Mapping[str, Any], name: str) -> bool:
    value = fields.get(name)
    return value is None or value == ""


def _text(value: Any) -> str:
    # PHP coerces scalars to strings where a string is expected; arrays are a TypeError.
    if isinstance(value, (list, dict)):
        raise _PhpTypeError
    return php_string(value)


def _php_intval(text: str) -> int:
    match = NUMBER_PREFIX.match(text)
    if match is None:
        return 0
    number = match.group(1)
    if any(c in number for c in ".eE"):
        value = float(number)  # "1e3" is 1000 for PHP 8's (int) cast; inf saturates
        return int(max(min(value, _INT64_MAX), -_INT64_MAX - 1))
    return max(min(int(number), _INT64_MAX), -_INT64_MAX - 1)


def _positive_id(value: Any) -> int | None:
    """task_type_id as the real server accepts it: a positive number or numeric string."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return min(value, _INT64_MAX + 1) if value > 0 else None
    if isinstance(value, str) and NUMBER_PREFIX.fullmatch(value.rstrip(" \t\n\r\v\f")):
        value = float(value)
    if isinstance(value, float):
        if value == float("inf"):
            return _INT64_MAX + 1  # no type has it: the claim finds nothing
        return min(int(value), _INT64_MAX + 1) if value >= 1 and value == int(value) else None
    return None


def _fmt(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp))


def _stored(text: str | None) -> Any:
    """A JSON column as the PHP code returns it: json_decode of what json_encode stored."""
    if text is None or text == "":
        return None
    try:
        return decode(text)
    except InvalidJSON:
        return None


def _raw(text: str | None) -> Raw:
    """A stored JSON column ready to splice into a reply (the stored text is PHP-encoded)."""
    if text is None or text == "":
        return Raw("null")
    return Raw(reencode(text))


@lru_cache(maxsize=256)
def _schema(text: str) -> Any:
    # Decoded once per stored schema text; the validator only reads it.
    return _stored(text)


class App:
    """The request handler of the local server."""

    def __init__(self, store: Store, api_key: str, openapi: Callable[[], bytes]) -> None:
        self.store = store
        self._key = api_key.encode("utf-8")
        self._openapi = openapi

    # -- envelopes ----------------------------------------------------------------------------

    def _success(self, data: Any) -> Response:
        body = data if type(data) is Raw else encode(data)
        now = self.store.now()
        text = f'{{"success":true,"message":"Success","data":{body},"timestamp":{now}}}'
        if encoded_too_deep(text):
            # json_encode gives false past 512 levels (a stored value nested ~510 deep plus the
            # envelope); PHP echoes false as nothing, after the 200 status was set.
            return Response(200, b"")
        return Response(200, text.encode())

    def _error(self, status: int, message: str, details: list[str] | None = None) -> Response:
        envelope: dict[str, Any] = {"success": False, "error": message, "timestamp": self.store.now()}
        if details is not None:
            envelope["details"] = details
        return Response(status, (encode(envelope) or "").encode())

    def _unauthorized(self) -> Response:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(self.store.now()))
        body = encode({"error": "Unauthorized", "message": _UNAUTHORIZED, "timestamp": stamp})
        return Response(401, (body or "").encode(), HTML)

    def too_large(self) -> Response:
        """413 for a body over the size limit, shaped like the real server's 401 (inferred message)."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(self.store.now()))
        body = encode({"error": "Request Too Large", "message": _TOO_LARGE, "timestamp": stamp})
        return Response(413, (body or "").encode(), HTML)

    # -- entry point --------------------------------------------------------------------------

    @staticmethod
    def _split(target: str) -> tuple[str, str]:
        raw_path, _, query = target.partition("?")
        return raw_path.partition("#")[0].replace("/api", "").rstrip("/") or "/", query

    def precheck(self, method: str, target: str, headers: Mapping[str, str]) -> Response | None:
        """The refusal a request gets from its head alone (a missing or wrong key), or None."""
        if method == "OPTIONS":
            return None
        path, _ = self._split(target)
        if path not in _PUBLIC_PATHS:
            given = headers.get("x-api-key")
            if given is None or not hmac.compare_digest(given.encode("latin-1"), self._key):
                return self._unauthorized()
        return None

    def reads_body(self, method: str, target: str) -> bool:
        """Whether a body can change the answer: not for OPTIONS or the open paths (no key)."""
        return method != "OPTIONS" and self._split(target)[0] not in _PUBLIC_PATHS

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response:
        """Answer one request. ``headers`` has lower-case names."""
        if method == "OPTIONS":
            return Response(200, b"", HTML)
        refusal = self.precheck(method, target, headers)
        if refusal is not None:
            return refusal
        path, query = self._split(target)
        try:
            return self._route(method, path, query, body)
        except _Fail as fail:
            return self._error(fail.status, fail.message, fail.details)
        except (_PhpTypeError, ValidationTooLong):
            # PHP's TypeError, and its time limit (where pattern matches run too long here),
            # end the script: 500 with an empty body.
            return Response(500, b"")
        except Exception as err:  # the real server reports internal errors in the envelope
            logger.exception("internal error on %s %s", method, path)
            return self._error(500, str(err) or type(err).__name__)

    def _route(self, method: str, path: str, query: str, body: bytes) -> Response:
        parts = path.split("/")[1:]
        if method == "GET":
            if path == "/health":
                return self._health()
            if path == "/openapi.json":
                return Response(200, self._openapi())
            if path == "/tasks":
                return self._list_tasks(query)
            if path == "/task-types":
                return self._list_types(query)
            if len(parts) == 2 and parts[0] == "tasks":
                return self._get_task(parts[1])
            if len(parts) == 2 and parts[0] == "task-types":
                return self._get_type(parts[1])
        elif method == "POST":
            if path == "/tasks":
                return self._create_task(self._json(body))
            if path == "/tasks/claim":
                return self._claim(self._json(body))
            if path == "/task-types/register":
                return self._register(self._json(body))
            if len(parts) == 3 and parts[0] == "tasks" and parts[1]:
                if parts[2] == "complete":
                    return self._complete(parts[1], self._json(body))
                if parts[2] == "progress":
                    return self._progress(parts[1], self._json(body))
        raise _Fail(404, "Endpoint not found")

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        try:
            data = decode(body)
        except InvalidJSON:
            raise _Fail(400, "Invalid JSON in request body") from None
        # PHP indexes whatever json_decode returned; anything but an array has no fields.
        return as_php_array(data) or {}

    # -- handlers -----------------------------------------------------------------------------

    def _health(self) -> Response:
        now = self.store.now()
        return self._success({"status": "healthy", "timestamp": now, "database": "connected"})

    def _register(self, data: dict[str, Any]) -> Response:
        for field in ("name", "version", "param_schema"):
            if not php_truthy(data.get(field)):
                raise _Fail(400, f"Missing required field: {field}")
        name = _text(data["name"]).strip(_PHP_TRIM)
        version = _text(data["version"]).strip(_PHP_TRIM)
        schema = data["param_schema"]
        if isinstance(schema, str):
            try:
                schema = decode(schema)
            except InvalidJSON:
                raise _Fail(400, "Invalid JSON schema format") from None
        fields = as_php_array(schema)
        if fields is None or fields.get("type") is None:
            raise _Fail(400, 'JSON schema must have a "type" property')
        type_id, created = self.store.register_type(name, version, encode(schema) or "null")
        if created:
            return self._success({"id": str(type_id), "name": name, "version": version, "created": True})
        return self._success({"id": type_id, "name": name, "version": version, "updated": True})

    @staticmethod
    def _type_item(row: tuple[Any, ...]) -> dict[str, Any]:
        return {
            "id": row[0],
            "name": row[1],
            "version": row[2],
            "param_schema": _stored(row[3]),
            "is_active": row[4],
            "created_at": _fmt(row[5]),
            "updated_at": _fmt(row[6]),
        }

    def _get_type(self, name: str) -> Response:
        # The path is matched literally: no URL decoding, like the real server.
        row = self.store.get_type(name)
        items = [] if row is None else [self._type_item(row)]
        return self._success({"items": items, "count": len(items)})

    def _list_types(self, query: str) -> Response:
        # Deliberate difference: the real server answers 500 here; this returns the intended list.
        args = dict(parse_qsl(query, keep_blank_values=True))
        sort_by = args.get("sort_by") or "name"
        if sort_by not in TYPE_SORT_COLUMNS:
            raise _Fail(400, "Invalid sort_by field. Allowed values: " + ", ".join(TYPE_SORT_COLUMNS))
        sort_order = (args.get("sort_order") or "ASC").upper()
        if sort_order not in ("ASC", "DESC"):
            raise _Fail(400, "Invalid sort_order. Allowed values: ASC, DESC")
        active_only = args.get("active_only", "").lower() in ("1", "true", "yes", "on")
        rows = self.store.list_types(
            active_only=active_only, sort_by=sort_by, descending=sort_order == "DESC"
        )
        items = [{**self._type_item(row), "usage_count": row[7]} for row in rows]
        return self._success({"items": items, "count": len(items)})

    def _create_task(self, data: dict[str, Any]) -> Response:
        details = []
        if _missing(data, "type"):
            details.append("Task type is required")
        elif not isinstance(data["type"], str):
            details.append("Field 'type' must be of type string")
        params = data.get("params")
        if _missing(data, "params"):
            details.append("Task parameters are required")
        elif php_type(params) != "object":
            details.append("Field 'params' must be of type object")
        if details:
            raise _Fail(400, "Validation failed", details)
        name = data["type"].strip(_PHP_TRIM)

        def prepare(row: tuple[Any, ...] | None) -> tuple[int, str | None, str]:
            if row is None:
                raise _Fail(404, "Task type not found")
            if not row[4]:
                raise _Fail(400, "Task type is not active")
            errors = validate(params, _schema(row[3]))
            if errors:
                raise _Fail(400, "Parameter validation failed: " + ", ".join(errors))
            # PHP's json_encode fails on INF: the key then hashes "" and the params are null.
            encoded = encode(params)
            key = hashlib.sha256(f"{name}\0{encoded or ''}".encode()).hexdigest()
            return int(row[0]), encoded, key

        task_id, status, created, key = self.store.create_task(name, prepare)
        if not created:
            return self._success(
                {
                    "id": task_id,
                    "status": status,
                    "deduplicated": True,
                    "message": "Task already exists (deduplicated)",
                }
            )
        return self._success(
            Raw(
                f'{{"id":"{task_id}","type":{quote(name)},"status":"pending","dedupe_key":"{key}",'
                '"message":"Task created successfully"}'
            )
        )

    def _claim(self, data: dict[str, Any]) -> Response:
        if _missing(data, "worker_id"):
            raise _Fail(400, "Validation failed", ["Worker ID is required"])
        worker_id = _text(data["worker_id"])
        if data.get("task_type_id") is None:
            raise _Fail(400, "Missing required field: task_type_id")
        type_id = _positive_id(data["task_type_id"])
        if type_id is None:
            raise _Fail(400, "task_type_id must be a positive integer")
        sort_by = data.get("sort_by")
        sort_by = "created_at" if sort_by is None else sort_by
        if sort_by not in SORT_COLUMNS:
            raise _Fail(400, "Invalid sort_by field. Allowed values: " + ", ".join(SORT_COLUMNS))
        sort_order = data.get("sort_order")
        sort_order = "ASC" if sort_order is None else _text(sort_order).upper()
        if sort_order not in ("ASC", "DESC"):
            raise _Fail(400, "Invalid sort_order. Allowed values: ASC, DESC")
        pattern = data.get("type_pattern")
        row = self.store.claim_task(
            type_id,
            worker_id,
            sort_by=sort_by,
            descending=sort_order == "DESC",
            type_pattern=_text(pattern) if php_truthy(pattern) else None,
        )
        if row is None:
            # The real server rolls back twice when nothing matches and reports the second one.
            raise _Fail(500, "There is no active transaction")
        return self._success(
            Raw(
                f'{{"id":{row[0]},"type":{quote(row[1])},"params":{_raw(row[2])},'
                f'"attempts":{row[3]},"priority":{row[4]},"message":"Task claimed successfully"}}'
            )
        )

    @staticmethod
    def _ownership(outcome: str) -> None:
        if outcome == "not_found":
            raise _Fail(404, "Task not found")
        if outcome == "not_claimed":
            raise _Fail(400, "Task is not in claimed state")
        if outcome == "other_worker":
            raise _Fail(403, "Task is claimed by another worker")

    def _progress(self, id_text: str, data: dict[str, Any]) -> Response:
        details = []
        if _missing(data, "worker_id"):
            details.append("Worker ID is required")
        progress = data.get("progress")
        if _missing(data, "progress"):
            details.append("Progress must be between 0 and 100")
        elif not isinstance(progress, int) or isinstance(progress, bool):
            details.append("Field 'progress' must be of type integer")
        elif progress < 0:
            details.append("Field 'progress' must be at least 0")
        elif progress > 100:
            details.append("Field 'progress' must be at most 100")
        if details:
            raise _Fail(400, "Validation failed", details)
        message = data.get("message")
        outcome = self.store.update_progress(
            id_text,
            _text(data["worker_id"]),
            cast(int, progress),
            None if message is None else _text(message),
        )
        self._ownership(outcome)
        return self._success(
            {"id": id_text, "progress": progress, "message": "Task progress updated successfully"}
        )

    def _complete(self, id_text: str, data: dict[str, Any]) -> Response:
        # The real server checks worker_id first: a body without fields names worker_id.
        for field in ("worker_id", "success"):
            if data.get(field) is None:
                raise _Fail(400, f"Missing required field: {field}")
        result = data.get("result")
        error = data.get("error")
        outcome = self.store.complete_task(
            id_text,
            _text(data["worker_id"]),
            # PHP truthiness: the string "false" is a success, 0 is a failure.
            success=php_truthy(data["success"]),
            # An empty result ({} or []) is stored as NULL.
            result_json=encode(result) if php_truthy(result) else None,
            error=None if error is None else _text(error),
        )
        self._ownership(outcome)
        return self._success(
            Raw(f'{{"id":{quote(id_text)},"status":"{outcome}","message":"Task completed"}}')
        )

    def _get_task(self, id_text: str) -> Response:
        row = self.store.get_task(id_text)
        items = []
        if row is not None:
            items.append(
                {
                    "id": row[0],
                    "type": row[1],
                    "status": row[2],
                    "params": _raw(row[3]),
                    "result": _raw(row[4]),
                    "error_message": row[5],
                    "priority": row[6],
                    "progress": row[7],
                    "attempts": row[8],
                    "claimed_by": row[9],
                    "claimed_at": _fmt(row[10]),
                    "completed_at": _fmt(row[11]),
                    "created_at": _fmt(row[12]),
                }
            )
        return self._success({"items": items, "count": len(items)})

    def _list_tasks(self, query: str) -> Response:
        args = dict(parse_qsl(query, keep_blank_values=True))
        limit = _php_intval(args.get("limit", "50"))
        offset = _php_intval(args.get("offset", "0"))
        # The real server interpolates LIMIT/OFFSET into the SQL: negatives are a syntax error.
        if limit < 0 or offset < 0:
            near = f"{limit} OFFSET {offset}" if limit < 0 else str(offset)
            raise _Fail(
                500,
                "SQLSTATE[42000]: Syntax error or access violation: 1064 You have an error in your "
                "SQL syntax; check the manual that corresponds to your MariaDB server version for "
                f"the right syntax to use near '{near}' at line 1",
            )
        rows = self.store.list_tasks(
            status=args.get("status") or None,
            type_name=args.get("type") or None,
            limit=limit,
            offset=offset,
        )
        items = [
            {
                "id": row[0],
                "type": row[1],
                "status": row[2],
                "priority": row[3],
                "progress": row[4],
                "attempts": row[5],
                "claimed_by": row[6],
                "created_at": _fmt(row[7]),
                "completed_at": _fmt(row[8]),
            }
            for row in rows
        ]
        return self._success({"items": items, "count": len(items)})
