"""Shared pieces of the benchmark scripts: result rows, medians, a local server in a subprocess."""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"
TASK_TYPE = "bench.cycle"
PARAM_SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}, "run": {"type": "string"}}}


@dataclass
class Row:
    """One line of the results table."""

    section: str
    case: str
    value: float | None
    unit: str
    ratio: float | None = None  # against the baseline named in ``baseline``
    baseline: str = ""
    target: str = ""  # e.g. "<= 1.10", ">= 0.95"
    note: str = ""
    samples: list[float] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if not self.target or self.ratio is None:
            return ""
        op, limit = self.target.split()
        ok = self.ratio <= float(limit) if op == "<=" else self.ratio >= float(limit)
        return "ok" if ok else "MISSED"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        return data


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def paired_ratio(values: list[float], baseline: list[float]) -> float:
    """Median of the per-round ratios ``values[i] / baseline[i]``.

    Each round measures both sides back to back, so load from other processes (this machine is
    shared) hits both alike; the ratio of two medians taken minutes apart would not cancel it.
    """
    return median([v / b for v, b in zip(values, baseline, strict=True) if b])


def per_call_seconds(call: Callable[[], object], calls: int) -> float:
    """CPU seconds per call over one batch of ``calls`` calls.

    Process CPU time, not wall time: the calls do no I/O (a MockTransport answers), and CPU time
    leaves out the moments another process had the core, which on a busy machine dwarf the
    differences being measured.
    """
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) / calls


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, timeout: float = 20.0) -> None:
    """Poll ``GET {url}/health`` until it answers 200 (bounded)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"local server at {url} did not become healthy: {last!r}")


@contextlib.contextmanager
def server_process(claim_timeout: int | None = None) -> Iterator[str]:
    """Run ``python -m taskmanager.server`` on a free loopback port with a temp db; yield the API base."""
    with tempfile.TemporaryDirectory(prefix="tm-bench-") as tmp:
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "taskmanager.server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            os.path.join(tmp, "bench.db"),
            "--api-key",
            API_KEY,
        ]
        if claim_timeout is not None:
            cmd += ["--claim-timeout", str(claim_timeout)]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{port}/api"
        try:
            try:
                wait_healthy(url)
            except RuntimeError:
                proc.kill()
                _, err = proc.communicate(timeout=10)
                raise RuntimeError(
                    f"{' '.join(cmd)} failed: {err.decode(errors='replace')[-2000:]}"
                ) from None
            yield url
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            if proc.stderr is not None:
                proc.stderr.close()


def register_type(url: str, name: str = TASK_TYPE) -> int:
    """Register the benchmark task type with plain httpx; return its id."""
    headers = {"X-API-Key": API_KEY}
    with httpx.Client(base_url=url, headers=headers, timeout=10.0) as client:
        reply = client.post(
            "/task-types/register", json={"name": name, "version": "1.0.0", "param_schema": PARAM_SCHEMA}
        )
        reply.raise_for_status()
        return int(reply.json()["data"]["id"])
