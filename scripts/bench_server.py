"""Local server throughput: create + claim + complete cycles per second.

The server runs in its own process (``python -m taskmanager.server``, a temp SQLite file, a free
loopback port); ``clients`` threads each drive cycles over one keep-alive connection for
``seconds``, with ``http.client`` (light, shows the server's capacity) or raw ``httpx.Client``.
Anchor: the real PHP + MariaDB backend does about 190 cycles/s with one client and 270 with eight
on a 2-core machine.

    python scripts/bench_server.py                # 1 and 8 clients, 3 s each
    python scripts/bench_server.py --seconds 5 --clients 1 8 16
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import API_KEY, ROOT, free_port, register_type, wait_healthy

TYPE_NAME = "bench.server.cycle"
PHP_ANCHOR = {1: 190.0, 8: 270.0}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0.0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def server(db_dir: str | None = None) -> Iterator[tuple[str, int]]:
    """A ``python -m taskmanager.server`` process on a free port; yields (API base URL, pid)."""
    with tempfile.TemporaryDirectory(prefix="tm-bench-server-", dir=db_dir) as tmp:
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "taskmanager.server",
            "--port",
            str(port),
            "--db",
            os.path.join(tmp, "bench.db"),
            "--api-key",
            API_KEY,
        ]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{port}/api"
        try:
            try:
                wait_healthy(url)
            except RuntimeError:
                proc.kill()
                err = proc.communicate(timeout=10)[1].decode(errors="replace")
                raise RuntimeError(f"server did not start: {err[-2000:]}") from None
            yield url, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            if proc.stderr is not None:
                proc.stderr.close()


class _StdlibClient:
    """A minimal keep-alive JSON client on ``http.client``: far less CPU per call than httpx,
    so the figure shows what the server can do rather than what the client can send."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._prefix = parts.path
        self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        self._headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        self._conn.request("POST", self._prefix + path, json.dumps(body), self._headers)
        reply = self._conn.getresponse()
        return reply.status, json.loads(reply.read())

    def close(self) -> None:
        self._conn.close()


class _HttpxClient:
    def __init__(self, url: str) -> None:
        self._http = httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=30)

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        reply = self._http.post(path, json=body)
        return reply.status_code, reply.json()

    def close(self) -> None:
        self._http.close()


CLIENTS = {"httpx": _HttpxClient, "stdlib": _StdlibClient}


def _drive(
    client: str,
    url: str,
    type_id: int,
    run: str,
    stop_at: float,
    counts: list[int],
    errors: list[int],
    slot: int,
) -> None:
    worker = f"bench-{slot}"
    claim_body = {"worker_id": worker, "task_type_id": type_id, "sort_by": "id"}
    done_body = {"worker_id": worker, "success": True, "result": {"ok": True}}
    http = CLIENTS[client](url)
    try:
        n = 0
        while time.perf_counter() < stop_at:
            n += 1
            created, _ = http.post("/tasks", {"type": TYPE_NAME, "params": {"n": n, "run": run}})
            claimed, reply = http.post("/tasks/claim", claim_body)
            if created != 200 or claimed != 200:
                errors[slot] += 1
                continue
            completed, _ = http.post(f"/tasks/{reply['data']['id']}/complete", done_body)
            if completed == 200:
                counts[slot] += 1
            else:
                errors[slot] += 1
    finally:
        http.close()


def _cycles(url: str, type_id: int, clients: int, seconds: float, client: str, pid: int) -> dict[str, Any]:
    counts = [0] * clients
    cpu_before = _cpu_seconds(pid)
    errors = [0] * clients
    started = time.perf_counter()
    stop_at = started + seconds
    threads = [
        threading.Thread(
            target=_drive,
            args=(client, url, type_id, f"{uuid.uuid4().hex}-{i}", stop_at, counts, errors, i),
        )
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    server_cpu = _cpu_seconds(pid) - cpu_before
    rate = sum(counts) / elapsed
    return {
        "cycles_per_s": round(rate, 1),
        "clients": clients,
        "client": client,
        "completed": sum(counts),
        "errors": sum(errors),
        "seconds": round(elapsed, 2),
        "requests_per_s": round(3 * rate, 1),
        # Server CPU per cycle is steadier than the rate on a busy machine.
        "server_cpu_ms_per_cycle": round(1000 * server_cpu / max(sum(counts), 1), 3),
        "vs_php": round(rate / PHP_ANCHOR[clients], 2) if clients in PHP_ANCHOR else None,
    }


def measure(clients: int, seconds: float, client: str = "stdlib") -> dict[str, Any]:
    """Cycles per second with ``clients`` concurrent keep-alive clients against a fresh server.

    ``client`` is "stdlib" (``http.client``: the server's own capacity, the default) or "httpx"
    (raw ``httpx.Client``: on a 2-core machine its own CPU cost, ~0.5-0.8 ms a request, is most
    of each cycle, so that figure measures the client as much as the server).
    """
    with server() as (url, pid):
        type_id = register_type(url, TYPE_NAME)
        _cycles(url, type_id, clients, min(0.3, seconds), client, pid)  # warm up connections
        return _cycles(url, type_id, clients, seconds, client, pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--client", choices=sorted(CLIENTS), nargs="+", default=["httpx", "stdlib"])
    args = parser.parse_args(argv)
    print("| client | clients | cycles/s | requests/s | vs PHP backend | server CPU ms/cycle | errors |")
    print("|---|---|---|---|---|---|---|")
    for client in args.client:
        for clients in args.clients:
            result = measure(clients, args.seconds, client)
            anchor = PHP_ANCHOR.get(clients)
            versus = f"{result['vs_php']:.2f}x of {anchor:.0f}/s" if anchor else "-"
            print(
                f"| {client} | {clients} | {result['cycles_per_s']:.0f} | {result['requests_per_s']:.0f} "
                f"| {versus} | {result['server_cpu_ms_per_cycle']:.2f} | {result['errors']} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
