"""Section 2: create + claim + complete cycles per second on the local server, every stack side by side.

One ``python -m taskmanager.server`` process serves the whole section. For each concurrency the
stacks take turns, ``seconds`` each, in an order that rotates from round to round, so each
round puts every stack on the same server, database size and machine load:

- async (tasks on one event loop): raw ``aiohttp`` (the lean reference), raw ``httpx``, raw
  httpx on the aiohttp transport (httpx-aiohttp), the facade, the facade with
  ``http_backend="aiohttp"``; concurrency 1, 8, 32;
- sync (threads sharing one client, as an application shares it): raw ``http.client`` (the lean
  reference; one connection per thread, it cannot be shared), raw ``httpx.Client``, the facade;
  1 and 8 threads.

Each cycle also records the latency of each call, for p50/p95/p99 per operation.
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from bench_common import API_KEY, TASK_TYPE, Compare, Row, median, percentile, register_type, server_process

ASYNC_STACKS = ("raw aiohttp", "raw httpx", "raw httpx+aiohttp", "facade", "facade+aiohttp")
SYNC_STACKS = ("raw http.client", "raw httpx", "facade")
ASYNC_WIDTHS = (1, 8, 32)
SYNC_WIDTHS = (1, 8)
OPS = ("create", "claim", "complete")
# The seeds' latency targets (p95, ms).
P95_TARGET_MS = {"create": 500.0, "claim": 1000.0, "complete": 500.0}
HEADERS = {"X-API-Key": API_KEY}

_numbers = itertools.count()


def _create_body(run: str) -> dict[str, Any]:
    return {"type": TASK_TYPE, "params": {"n": next(_numbers), "run": run}}


def _claim_body(type_id: int, worker: str) -> dict[str, Any]:
    return {"worker_id": worker, "task_type_id": type_id, "sort_by": "id", "sort_order": "ASC"}


def _done_body(worker: str) -> dict[str, Any]:
    return {"worker_id": worker, "success": True, "result": {"ok": 1}}


Latencies = dict[str, list[float]]


# -- sync stacks: create / claim (-> id or None) / complete --------------------------------------


class _StdlibSync:
    """``http.client``, one keep-alive connection per thread."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host, self._port, self._prefix = parts.hostname or "127.0.0.1", parts.port, parts.path
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._headers = {**HEADERS, "Content-Type": "application/json"}

    def _post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
            self._all.append(conn)
        conn.request("POST", self._prefix + path, json.dumps(body), self._headers)
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read())

    def create(self, run: str) -> None:
        status, _ = self._post("/tasks", _create_body(run))
        if status != 200:
            raise RuntimeError(f"create: {status}")

    def claim(self, type_id: int, worker: str) -> int | None:
        status, reply = self._post("/tasks/claim", _claim_body(type_id, worker))
        return int(reply["data"]["id"]) if status == 200 else None

    def complete(self, task_id: int, worker: str) -> None:
        status, _ = self._post(f"/tasks/{task_id}/complete", _done_body(worker))
        if status != 200:
            raise RuntimeError(f"complete: {status}")

    def close(self) -> None:
        for conn in self._all:
            conn.close()


class _HttpxSync:
    def __init__(self, url: str) -> None:
        self._http = httpx.Client(base_url=url, headers=HEADERS, timeout=30.0)

    def create(self, run: str) -> None:
        self._http.post("/tasks", json=_create_body(run)).raise_for_status()

    def claim(self, type_id: int, worker: str) -> int | None:
        reply = self._http.post("/tasks/claim", json=_claim_body(type_id, worker))
        return int(reply.json()["data"]["id"]) if reply.status_code == 200 else None

    def complete(self, task_id: int, worker: str) -> None:
        self._http.post(f"/tasks/{task_id}/complete", json=_done_body(worker)).raise_for_status()

    def close(self) -> None:
        self._http.close()


class _FacadeSync:
    def __init__(self, url: str) -> None:
        from taskmanager import TaskManagerClient

        self._client = TaskManagerClient(api_url=url, api_key=API_KEY)

    def create(self, run: str) -> None:
        body = _create_body(run)
        self._client.create_task(body["type"], body["params"])

    def claim(self, type_id: int, worker: str) -> int | None:
        claimed = self._client.claim_task(type_id, worker_id=worker)
        return None if claimed is None else claimed.id

    def complete(self, task_id: int, worker: str) -> None:
        self._client.complete_task(task_id, worker_id=worker, result={"ok": 1})

    def close(self) -> None:
        self._client.close()


SYNC_MAKERS: dict[str, Callable[[str], Any]] = {
    "raw http.client": _StdlibSync,
    "raw httpx": _HttpxSync,
    "facade": _FacadeSync,
}


# -- async stacks ---------------------------------------------------------------------------------


class _AiohttpRaw:
    def __init__(self, url: str) -> None:
        import aiohttp

        self._url = url
        self._session = aiohttp.ClientSession(headers=HEADERS)

    async def _post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        async with self._session.post(self._url + path, json=body) as reply:
            return reply.status, json.loads(await reply.read())

    async def create(self, run: str) -> None:
        status, _ = await self._post("/tasks", _create_body(run))
        if status != 200:
            raise RuntimeError(f"create: {status}")

    async def claim(self, type_id: int, worker: str) -> int | None:
        status, reply = await self._post("/tasks/claim", _claim_body(type_id, worker))
        return int(reply["data"]["id"]) if status == 200 else None

    async def complete(self, task_id: int, worker: str) -> None:
        status, _ = await self._post(f"/tasks/{task_id}/complete", _done_body(worker))
        if status != 200:
            raise RuntimeError(f"complete: {status}")

    async def close(self) -> None:
        await self._session.close()


class _HttpxAsync:
    def __init__(self, url: str, aiohttp_transport: bool = False) -> None:
        transport = None
        if aiohttp_transport:
            from httpx_aiohttp import AiohttpTransport

            transport = AiohttpTransport()
        self._http = httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=30.0, transport=transport)

    async def create(self, run: str) -> None:
        (await self._http.post("/tasks", json=_create_body(run))).raise_for_status()

    async def claim(self, type_id: int, worker: str) -> int | None:
        reply = await self._http.post("/tasks/claim", json=_claim_body(type_id, worker))
        return int(reply.json()["data"]["id"]) if reply.status_code == 200 else None

    async def complete(self, task_id: int, worker: str) -> None:
        (await self._http.post(f"/tasks/{task_id}/complete", json=_done_body(worker))).raise_for_status()

    async def close(self) -> None:
        await self._http.aclose()


class _FacadeAsync:
    def __init__(self, url: str, backend: str = "httpx") -> None:
        from taskmanager import AsyncTaskManagerClient, TaskManagerConfig

        config = TaskManagerConfig(api_url=url, api_key=API_KEY, http_backend=backend)
        self._client = AsyncTaskManagerClient(config)

    async def create(self, run: str) -> None:
        body = _create_body(run)
        await self._client.create_task(body["type"], body["params"])

    async def claim(self, type_id: int, worker: str) -> int | None:
        claimed = await self._client.claim_task(type_id, worker_id=worker)
        return None if claimed is None else claimed.id

    async def complete(self, task_id: int, worker: str) -> None:
        await self._client.complete_task(task_id, worker_id=worker, result={"ok": 1})

    async def close(self) -> None:
        await self._client.aclose()


ASYNC_MAKERS: dict[str, Callable[[str], Any]] = {
    "raw aiohttp": _AiohttpRaw,
    "raw httpx": _HttpxAsync,
    "raw httpx+aiohttp": lambda url: _HttpxAsync(url, aiohttp_transport=True),
    "facade": _FacadeAsync,
    "facade+aiohttp": lambda url: _FacadeAsync(url, "aiohttp"),
}


# -- drivers ----------------------------------------------------------------------------------------


def _sync_cell(
    stack: str, url: str, type_id: int, threads: int, seconds: float
) -> tuple[float, int, Latencies]:
    client = SYNC_MAKERS[stack](url)
    counts, errors = [0] * threads, [0] * threads
    latencies: Latencies = {op: [] for op in OPS}
    run = f"{stack}-{threads}-{next(_numbers)}"
    deadline = time.perf_counter() + seconds

    def loop(slot: int) -> None:
        worker = f"bench-{run}-{slot}"
        clock = time.perf_counter
        while clock() < deadline:
            try:
                started = clock()
                client.create(run)
                created = clock()
                task_id = client.claim(type_id, worker)
                claimed = clock()
                latencies["create"].append(created - started)
                latencies["claim"].append(claimed - created)
                if task_id is None:  # another thread took it: counted as no cycle
                    continue
                client.complete(task_id, worker)
                latencies["complete"].append(clock() - claimed)
                counts[slot] += 1
            except Exception:  # counted and shown; one failed cycle must not end the run
                errors[slot] += 1

    try:
        started = time.perf_counter()
        pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        client.close()
    return sum(counts) / elapsed, sum(errors), latencies


def _async_cell(
    stack: str, url: str, type_id: int, tasks: int, seconds: float
) -> tuple[float, int, Latencies]:
    async def main() -> tuple[float, int, Latencies]:
        client = ASYNC_MAKERS[stack](url)
        counts, errors = [0] * tasks, [0] * tasks
        latencies: Latencies = {op: [] for op in OPS}
        run = f"{stack}-{tasks}-{next(_numbers)}"
        deadline = time.perf_counter() + seconds

        async def loop(slot: int) -> None:
            worker = f"bench-{run}-{slot}"
            clock = time.perf_counter
            while clock() < deadline:
                try:
                    started = clock()
                    await client.create(run)
                    created = clock()
                    task_id = await client.claim(type_id, worker)
                    claimed = clock()
                    latencies["create"].append(created - started)
                    latencies["claim"].append(claimed - created)
                    if task_id is None:
                        continue
                    await client.complete(task_id, worker)
                    latencies["complete"].append(clock() - claimed)
                    counts[slot] += 1
                except Exception:
                    errors[slot] += 1

        try:
            started = time.perf_counter()
            await asyncio.gather(*(loop(i) for i in range(tasks)))
            elapsed = time.perf_counter() - started
        finally:
            await client.close()
        return sum(counts) / elapsed, sum(errors), latencies

    return asyncio.run(main())


# -- rows ---------------------------------------------------------------------------------------------


def _available(stack: str) -> str:
    """Why a stack cannot run here ("" when it can): the aiohttp rows need the aiohttp extra."""
    if "aiohttp" not in stack:
        return ""
    try:
        import aiohttp  # noqa: F401
        import httpx_aiohttp  # noqa: F401
    except ImportError as exc:
        return f"needs the aiohttp extra ({exc})"
    return ""


Measure = Callable[[str, str, int, int, float], tuple[float, int, Latencies]]


def _mode(
    label: str,
    stacks: tuple[str, ...],
    width: int,
    cell: Measure,
    url: str,
    type_id: int,
    seconds: float,
    rounds: int,
) -> tuple[dict[str, list[float]], dict[str, int], dict[str, Latencies], dict[str, str]]:
    missing = {s: why for s in stacks if (why := _available(s))}
    live = [s for s in stacks if s not in missing]
    rates: dict[str, list[float]] = {s: [] for s in live}
    errors = dict.fromkeys(live, 0)
    latencies: dict[str, Latencies] = {s: {op: [] for op in OPS} for s in live}
    for r in range(rounds):
        order = live[r % len(live) :] + live[: r % len(live)]
        for stack in order:
            try:
                rate, errs, lat = cell(stack, url, type_id, width, seconds)
            except Exception as exc:  # a stack that cannot run is reported, the others still stand
                missing[stack] = f"{type(exc).__name__}: {exc}"
                continue
            rates[stack].append(rate)
            errors[stack] += errs
            for op in OPS:
                latencies[stack][op] += lat[op]
    return rates, errors, latencies, missing


def _versus(stack: str, rates: dict[str, list[float]], reference: str) -> list[Compare]:
    """Comparisons shown for ``stack``: the lean reference, then raw httpx on the same transport."""
    second = {"facade": "raw httpx", "facade+aiohttp": "raw httpx+aiohttp", "raw httpx+aiohttp": "raw httpx"}
    bases = [b for b in (reference, second.get(stack)) if b and b != stack and rates.get(b)]
    return [Compare.of(base, rates[stack], rates[base]) for base in bases]


def _targets(kind: str, stack: str) -> dict[int, str]:
    """Which comparison (index into ``_versus``) carries a target, and the target."""
    if kind == "async" and stack == "facade":
        return {1: ">= 0.90"}  # vs raw httpx
    if kind == "async" and stack == "facade+aiohttp":
        return {0: ">= 0.50", 1: ">= 0.90"}  # vs raw aiohttp, vs raw httpx on aiohttp
    if kind == "sync" and stack == "facade":
        return {1: ">= 0.90"}
    return {}


def run(quick: bool = False) -> list[Row]:
    seconds, rounds = (0.5, 1) if quick else (1.5, 3)
    plan: list[tuple[str, tuple[str, ...], tuple[int, ...], Measure, str]] = [
        ("async", ASYNC_STACKS, ASYNC_WIDTHS, _async_cell, "raw aiohttp"),
        ("sync", SYNC_STACKS, SYNC_WIDTHS, _sync_cell, "raw http.client"),
    ]
    rows: list[Row] = []
    latency_rows: list[Row] = []
    by_width: dict[tuple[str, str, int], list[float]] = {}
    with server_process() as url:
        type_id = register_type(url)
        for kind, stacks, widths, cell, reference in plan:
            unit_word = "c" if kind == "async" else "threads"
            for width in widths:
                rates, errors, latencies, missing = _mode(
                    kind, stacks, width, cell, url, type_id, seconds, rounds
                )
                for stack in stacks:
                    case = f"{kind} {unit_word}={width}: {stack}"
                    if stack in missing or not rates.get(stack):
                        rows.append(
                            Row("2 throughput", case, None, "cycles/s", note=missing.get(stack, "no data"))
                        )
                        continue
                    by_width[(kind, stack, width)] = rates[stack]
                    targets = _targets(kind, stack)
                    versus = _versus(stack, rates, reference)
                    note = f"{errors[stack]} failed cycles" if errors[stack] else ""
                    rows.append(
                        Row(
                            "2 throughput",
                            case,
                            median(rates[stack]),
                            "cycles/s",
                            versus=versus,
                            targets=targets,
                            note=note,
                            samples=rates[stack],
                            extra={"kind": kind, "stack": stack, "concurrency": width},
                        )
                    )
                    for op in OPS:
                        ms = [1000 * v for v in latencies[stack][op]]
                        latency_rows.append(
                            Row(
                                "2 latency",
                                f"{kind} {unit_word}={width}: {stack}: {op}",
                                percentile(ms, 95),
                                "ms p95",
                                targets={-1: f"<= {P95_TARGET_MS[op]:.0f}"},
                                extra={
                                    "kind": kind,
                                    "stack": stack,
                                    "concurrency": width,
                                    "op": op,
                                    "p50": percentile(ms, 50),
                                    "p95": percentile(ms, 95),
                                    "p99": percentile(ms, 99),
                                    "calls": len(ms),
                                },
                            )
                        )
    # Scaling rows: more in flight must not mean fewer cycles.
    for kind, stack, low, high in (
        ("async", "facade", 8, 32),
        ("async", "facade+aiohttp", 8, 32),
        ("sync", "raw httpx", 1, 8),
        ("sync", "facade", 1, 8),
    ):
        a, b = by_width.get((kind, stack, high)), by_width.get((kind, stack, low))
        if not a or not b:
            continue
        word = "c" if kind == "async" else "threads"
        rows.append(
            Row(
                "2 scaling",
                f"{kind} {stack}: {word}={high} vs {word}={low}",
                median(a),
                "cycles/s",
                versus=[Compare.of(f"own {word}={low}", a, b)],
                targets={0: ">= 1.00"},
                samples=a,
            )
        )
    return rows + latency_rows
