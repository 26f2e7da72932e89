"""Section 1: client overhead per call on one ``httpx.MockTransport``.

The facade, the generated layer and a plain ``httpx.Client`` send the same request and get the
same canned reply (the real server's envelopes); the difference between them is client work only.
"""

from __future__ import annotations

import hashlib
import json
import typing
from collections.abc import Callable
from typing import Any

import httpx
from bench_common import API_KEY, Compare, Row, median, per_call_seconds

URL = "http://127.0.0.1:9/api"  # never contacted: MockTransport answers
TYPE = "bench.cycle"
PARAMS = {"n": 41, "run": "overhead", "tags": ["a", "b"], "nested": {"k": "v", "x": 1.5}}
CLAIM = {"worker_id": "bench-worker", "task_type_id": 1, "sort_by": "id", "sort_order": "ASC"}
_TASK = {
    "id": 7,
    "type": TYPE,
    "status": "completed",
    "params": PARAMS,
    "result": {"ok": True},
    "error_message": None,
    "priority": 0,
    "progress": 100,
    "attempts": 1,
    "claimed_by": "bench-worker",
    "claimed_at": "2026-11-23 10:00:00",
    "completed_at": "2026-11-23 10:00:01",
    "created_at": "2026-11-23 09:59:59",
}
_TYPE = {
    "id": 1,
    "name": TYPE,
    "version": "1.0.0",
    "param_schema": {"type": "object"},
    "is_active": 1,
    "created_at": "2026-11-23 09:00:00",
    "updated_at": "2026-11-23 09:00:00",
}


def _php_key(task_type: str, params: dict[str, Any]) -> str:
    # The key the server would send for these params (keys sorted, as the client sends them):
    # a wrong canned key would make the facade log a mismatch on every call and skew its figure.
    from taskmanager.server._phpjson import encode

    ordered = json.loads(json.dumps(params, sort_keys=True))
    return hashlib.sha256(f"{task_type}\0{encode(ordered)}".encode()).hexdigest()


_DEDUPE_KEY = _php_key(TYPE, PARAMS)


def _envelope(data: object) -> bytes:
    return json.dumps({"success": True, "message": "Success", "data": data, "timestamp": 1795420800}).encode()


_REPLIES = {
    ("POST", "/api/tasks"): _envelope(
        {
            "id": "7",
            "type": TYPE,
            "status": "pending",
            "dedupe_key": _DEDUPE_KEY,
            "message": "Task created successfully",
        }
    ),
    ("POST", "/api/tasks/claim"): _envelope(
        {
            "id": 7,
            "type": TYPE,
            "params": PARAMS,
            "attempts": 1,
            "priority": 0,
            "message": "Task claimed successfully",
        }
    ),
    ("GET", "/api/tasks/7"): _envelope({"items": [_TASK], "count": 1}),
    ("GET", f"/api/task-types/{TYPE}"): _envelope({"items": [_TYPE], "count": 1}),
}


def _handler(request: httpx.Request) -> httpx.Response:
    body = _REPLIES[(request.method, request.url.path)]
    return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


def _raw_calls(transport: httpx.MockTransport) -> tuple[dict[str, Callable[[], object]], Callable[[], None]]:
    client = httpx.Client(base_url=URL, headers={"X-API-Key": API_KEY}, transport=transport)

    def data(reply: httpx.Response) -> Any:
        reply.raise_for_status()
        return reply.json()["data"]

    calls: dict[str, Callable[[], object]] = {
        "create": lambda: data(client.post("/tasks", json={"type": TYPE, "params": PARAMS})),
        "claim": lambda: data(client.post("/tasks/claim", json=CLAIM)),
        "get": lambda: data(client.get("/tasks/7"))["items"][0],
    }
    return calls, client.close


def _generated_calls(
    transport: httpx.MockTransport,
) -> tuple[dict[str, Callable[[], object]], Callable[[], None]]:
    from taskmanager_api.api.tasks import claim_task, create_task, get_task
    from taskmanager_api.client import AuthenticatedClient

    client = AuthenticatedClient(
        base_url=URL,
        token=API_KEY,
        prefix="",
        auth_header_name="X-API-Key",
        httpx_args={"transport": transport},
    )
    # The request models' names follow the document; take them from the signatures.
    create_body = typing.get_type_hints(create_task.sync_detailed)["body"]
    claim_body = typing.get_type_hints(claim_task.sync_detailed)["body"]
    calls: dict[str, Callable[[], object]] = {
        "create": lambda: (
            create_task.sync_detailed(
                client=client, body=create_body.from_dict({"type": TYPE, "params": PARAMS})
            ).parsed
        ),
        "claim": lambda: claim_task.sync_detailed(client=client, body=claim_body.from_dict(CLAIM)).parsed,
        "get": lambda: get_task.sync_detailed(7, client=client).parsed,
    }
    return calls, lambda: client.get_httpx_client().close()


def _facade_calls(
    transport: httpx.MockTransport,
) -> tuple[dict[str, Callable[[], object]], Callable[[], None]]:
    from taskmanager import TaskManagerClient

    client = TaskManagerClient(api_url=URL, api_key=API_KEY, transport=transport)
    calls: dict[str, Callable[[], object]] = {
        "create": lambda: client.create_task(TYPE, PARAMS),
        "claim": lambda: client.claim_task(1, worker_id="bench-worker"),
        "get": lambda: client.get_task(7),
    }
    return calls, client.close


def run(quick: bool = False) -> list[Row]:
    calls_per_batch, batches = (100, 5) if quick else (100, 41)
    transport = httpx.MockTransport(_handler)
    layers: dict[str, tuple[dict[str, Callable[[], object]], Callable[[], None]]] = {
        "raw httpx": _raw_calls(transport)
    }
    missing: dict[str, str] = {}
    for name, build in (("generated", _generated_calls), ("facade", _facade_calls)):
        try:
            layers[name] = build(transport)
        except Exception as exc:  # a layer not built yet is reported, not fatal to the other sections
            missing[name] = f"{type(exc).__name__}: {exc}"
    try:
        samples: dict[tuple[str, str], list[float]] = {}
        for op in ("create", "claim", "get"):
            for calls, _ in layers.values():
                per_call_seconds(calls[op], 100)  # warm-up: connection pool, caches, lazy imports
            for batch in range(batches):
                names = list(layers)
                # Rotate the order so drift (CPU frequency, GC) does not favour one layer.
                names = names[batch % len(names) :] + names[: batch % len(names)]
                for name in names:
                    seconds = per_call_seconds(layers[name][0][op], calls_per_batch)
                    samples.setdefault((name, op), []).append(seconds * 1e6)
    finally:
        for _, close in layers.values():
            close()
    rows: list[Row] = []
    for op in ("create", "claim", "get"):
        for name in ("raw httpx", "generated", "facade"):
            if name in missing:
                rows.append(Row("1 overhead", f"{op}: {name}", None, "us CPU/call", note=missing[name]))
                continue
            versus = (
                []
                if name == "raw httpx"
                else [Compare.of("raw httpx", samples[(name, op)], samples[("raw httpx", op)])]
            )
            rows.append(
                Row(
                    "1 overhead",
                    f"{op}: {name}",
                    median(samples[(name, op)]),
                    "us CPU/call",
                    versus=versus,
                    targets={0: "<= 1.05"} if name == "facade" else {},
                    samples=samples[(name, op)],
                )
            )
    return rows
