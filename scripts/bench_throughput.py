"""Section 2: create+claim+complete cycles per second against the local server (loopback).

The server runs in its own process (``python -m taskmanager.server``). Each client mode runs for a
fixed time, alternating with a plain-httpx loop that sends the same three requests, so both see the
same server and database state; the figure is the median over the runs and the ratio the median
of the per-round ratios.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from bench_common import API_KEY, TASK_TYPE, Row, median, paired_ratio, register_type, server_process

# Anchor from the real PHP + MariaDB backend on a 2-core machine (cycles/s).
PHP_ANCHOR = {1: 190.0, 8: 270.0}

_numbers = itertools.count()


def _params(run: str) -> dict[str, Any]:
    return {"n": next(_numbers), "run": run}


def _claim_body(type_id: int, worker: str) -> dict[str, Any]:
    return {"worker_id": worker, "task_type_id": type_id, "sort_by": "id", "sort_order": "ASC"}


# -- one cycle per client kind ------------------------------------------------------------------


def _raw_sync_cycle(client: httpx.Client, type_id: int, worker: str, run: str) -> bool:
    client.post("/tasks", json={"type": TASK_TYPE, "params": _params(run)}).raise_for_status()
    claim = client.post("/tasks/claim", json=_claim_body(type_id, worker))
    if claim.status_code != 200:  # nothing to claim (another thread took it)
        return False
    task_id = claim.json()["data"]["id"]
    done = client.post(
        f"/tasks/{task_id}/complete", json={"worker_id": worker, "success": True, "result": {"ok": 1}}
    )
    done.raise_for_status()
    return True


async def _raw_async_cycle(client: httpx.AsyncClient, type_id: int, worker: str, run: str) -> bool:
    (await client.post("/tasks", json={"type": TASK_TYPE, "params": _params(run)})).raise_for_status()
    claim = await client.post("/tasks/claim", json=_claim_body(type_id, worker))
    if claim.status_code != 200:
        return False
    task_id = claim.json()["data"]["id"]
    done = await client.post(
        f"/tasks/{task_id}/complete", json={"worker_id": worker, "success": True, "result": {"ok": 1}}
    )
    done.raise_for_status()
    return True


def _facade_sync_cycle(client: Any, type_id: int, worker: str, run: str) -> bool:
    client.create_task(TASK_TYPE, _params(run))
    claimed = client.claim_task(type_id, worker_id=worker)
    if claimed is None:
        return False
    client.complete_task(claimed.id, worker_id=worker, result={"ok": 1})
    return True


async def _facade_async_cycle(client: Any, type_id: int, worker: str, run: str) -> bool:
    await client.create_task(TASK_TYPE, _params(run))
    claimed = await client.claim_task(type_id, worker_id=worker)
    if claimed is None:
        return False
    await client.complete_task(claimed.id, worker_id=worker, result={"ok": 1})
    return True


# -- drivers ------------------------------------------------------------------------------------


def _drive_threads(
    cycle: Callable[[Any, int, str, str], bool],
    client: Any,
    type_id: int,
    threads: int,
    seconds: float,
    run: str,
) -> tuple[float, int]:
    counts = [0] * threads
    errors = [0] * threads
    deadline = time.monotonic() + seconds

    def loop(i: int) -> None:
        while time.monotonic() < deadline:
            try:
                counts[i] += cycle(client, type_id, f"bench-{run}-{i}", run)
            except Exception:  # counted and shown; one failed cycle must not end the run
                errors[i] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / (time.monotonic() - started), sum(errors)


async def _drive_tasks(
    cycle: Callable[[Any, int, str, str], Any],
    client: Any,
    type_id: int,
    concurrency: int,
    seconds: float,
    run: str,
) -> tuple[float, int]:
    counts = [0] * concurrency
    errors = [0] * concurrency
    deadline = time.monotonic() + seconds

    async def loop(i: int) -> None:
        while time.monotonic() < deadline:
            try:
                counts[i] += await cycle(client, type_id, f"bench-{run}-{i}", run)
            except Exception:
                errors[i] += 1

    started = time.monotonic()
    await asyncio.gather(*(loop(i) for i in range(concurrency)))
    return sum(counts) / (time.monotonic() - started), sum(errors)


def _sync_rate(
    kind: str, url: str, type_id: int, threads: int, seconds: float, run: str
) -> tuple[float, int]:
    if kind == "raw":
        with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=30.0) as raw:
            return _drive_threads(_raw_sync_cycle, raw, type_id, threads, seconds, run)
    from taskmanager import TaskManagerClient

    with TaskManagerClient(api_url=url, api_key=API_KEY) as facade:
        return _drive_threads(_facade_sync_cycle, facade, type_id, threads, seconds, run)


def _async_rate(
    kind: str, url: str, type_id: int, concurrency: int, seconds: float, run: str
) -> tuple[float, int]:
    async def main() -> tuple[float, int]:
        if kind == "raw":
            async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": API_KEY}, timeout=30.0) as raw:
                return await _drive_tasks(_raw_async_cycle, raw, type_id, concurrency, seconds, run)
        from taskmanager import AsyncTaskManagerClient

        async with AsyncTaskManagerClient(api_url=url, api_key=API_KEY) as facade:
            return await _drive_tasks(_facade_async_cycle, facade, type_id, concurrency, seconds, run)

    return asyncio.run(main())


def _server_capacity(seconds: float) -> list[Row]:
    try:
        from bench_server import measure
    except ImportError as exc:
        return [Row("2 throughput", "local server capacity", None, "cycles/s", note=f"ImportError: {exc}")]
    rows = []
    for clients in (1, 8):
        try:
            result = measure(clients, seconds)
        except Exception as exc:  # reported in the table; the other figures still stand
            rows.append(
                Row(
                    "2 throughput",
                    f"server own capacity, {clients} clients",
                    None,
                    "cycles/s",
                    note=repr(exc),
                )
            )
            continue
        rate = next(
            (float(v) for k, v in result.items() if "cycle" in k and isinstance(v, int | float)),
            None,
        )
        rows.append(
            Row(
                "2 throughput",
                f"server own capacity, {clients} client{'s' if clients > 1 else ''}",
                rate,
                "cycles/s",
                ratio=None if rate is None else rate / PHP_ANCHOR[clients],
                baseline=f"PHP backend {PHP_ANCHOR[clients]:.0f}/s",
                note=json.dumps(result, default=str)[:200],
            )
        )
    return rows


def _spread(values: list[float], baseline: list[float], errors: int) -> str:
    """The range of the per-round ratios (how far one round can be trusted), and any failures."""
    ratios = sorted(v / b for v, b in zip(values, baseline, strict=False) if b)
    text = f"rounds {ratios[0]:.2f}-{ratios[-1]:.2f}x" if ratios else ""
    return f"{text}; {errors} failed cycles" if errors else text


def run(quick: bool = False) -> list[Row]:
    seconds, runs = (1.0, 1) if quick else (1.0, 8)
    modes: list[tuple[str, int, Callable[[str, str, int, int, float, str], tuple[float, int]]]] = [
        ("sync", 1, _sync_rate),
        ("sync", 8, _sync_rate),
        ("async", 1, _async_rate),
        ("async", 8, _async_rate),
        ("async", 32, _async_rate),
    ]
    rows: list[Row] = []
    with server_process() as url:
        type_id = register_type(url)
        for label, width, measure_rate in modes:
            rates: dict[str, list[float]] = {"raw": [], "facade": []}
            errors: dict[str, int] = {"raw": 0, "facade": 0}
            failure = ""
            for i in range(runs):
                order = ["raw", "facade"] if i % 2 == 0 else ["facade", "raw"]
                for kind in order:
                    if kind == "facade" and failure:
                        continue
                    try:
                        rate, errs = measure_rate(
                            kind, url, type_id, width, seconds, f"{label}{width}{kind}{i}"
                        )
                    except Exception as exc:
                        failure = f"{type(exc).__name__}: {exc}"
                        continue
                    rates[kind].append(rate)
                    errors[kind] += errs
            unit_case = f"{label} {'threads' if label == 'sync' else 'concurrency'} {width}"
            raw = median(rates["raw"])
            rows.append(
                Row(
                    "2 throughput",
                    f"{unit_case}: raw httpx",
                    raw,
                    "cycles/s",
                    note=f"{errors['raw']} failed cycles" if errors["raw"] else "",
                    samples=rates["raw"],
                )
            )
            facade = median(rates["facade"]) if rates["facade"] else None
            rows.append(
                Row(
                    "2 throughput",
                    f"{unit_case}: facade",
                    facade,
                    "cycles/s",
                    ratio=None
                    if facade is None
                    else paired_ratio(rates["facade"], rates["raw"])
                    if len(rates["facade"]) == len(rates["raw"])
                    else facade / raw,
                    baseline="raw httpx",
                    target=">= 0.95",
                    note=failure or _spread(rates["facade"], rates["raw"], errors["facade"]),
                    samples=rates["facade"],
                )
            )
    rows += _server_capacity(seconds * 1.5)
    return rows
