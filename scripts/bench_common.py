"""Shared pieces of the benchmark scripts: result rows, medians, a local server in a subprocess."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"
TASK_TYPE = "bench.cycle"
PARAM_SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}, "run": {"type": "string"}}}


@dataclass
class Compare:
    """One figure set against a baseline measured in the same rounds."""

    baseline: str  # what it is compared with, e.g. "raw httpx"
    value: float  # the baseline's median
    ratio: float  # median / baseline median: what the shown medians say
    rounds: float  # median of the per-round ratios (both sides measured back to back)
    low: float  # range of the per-round ratios
    high: float

    @classmethod
    def of(cls, baseline: str, values: list[float], base: list[float]) -> Compare:
        pairs = [v / b for v, b in zip(values, base, strict=False) if b]
        mine, theirs = median(values), median(base)
        return cls(
            baseline,
            theirs,
            mine / theirs if theirs else float("nan"),
            median(pairs),
            min(pairs, default=float("nan")),
            max(pairs, default=float("nan")),
        )

    def cell(self) -> str:
        spread = f"rounds {self.rounds:.2f}x [{self.low:.2f}-{self.high:.2f}]"
        return f"{self.baseline} {fmt(self.value)}: **{self.ratio:.2f}x** ({spread})"


@dataclass
class Row:
    """One line of the results table.

    ``versus`` holds the comparisons shown side by side (the lean reference, raw httpx, ...).
    ``targets`` maps an index into ``versus`` to a target such as ">= 0.90" (index -1: the
    value itself, e.g. a latency). A verdict is decided by the ratio of the medians shown, so
    it can never contradict them; the median of the per-round ratios is shown next to it, and
    a verdict that it disagrees with is flagged.
    """

    section: str
    case: str
    value: float | None
    unit: str
    versus: list[Compare] = field(default_factory=list)
    targets: dict[int, str] = field(default_factory=dict)
    note: str = ""
    samples: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def _meets(target: str, ratio: float) -> bool:
        op, limit = target.split()
        return ratio <= float(limit) if op == "<=" else ratio >= float(limit)

    def target_text(self) -> str:
        return "; ".join(
            (self.unit if i < 0 else f"vs {self.versus[i].baseline}") + f" {t}"
            for i, t in self.targets.items()
            if i < len(self.versus)
        )

    @property
    def verdict(self) -> str:
        if self.value is None:
            return ""
        parts = []
        for i, target in self.targets.items():
            if i < 0:
                parts.append("ok" if self._meets(target, self.value) else "MISSED")
                continue
            if i >= len(self.versus):
                continue
            compare = self.versus[i]
            ok = self._meets(target, compare.ratio)
            text = "ok" if ok else "MISSED"
            if self._meets(target, compare.rounds) != ok:
                text += " (per-round: " + ("MISSED" if ok else "ok") + ")"
            parts.append(text)
        return "; ".join(parts)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["targets"] = {str(k): v for k, v in self.targets.items()}
        data["verdict"] = self.verdict
        return data


def fmt(value: float | None) -> str:
    if value is None or value != value:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


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


def _post(
    url: str, path: str, body: dict[str, Any], conn: http.client.HTTPConnection | None = None
) -> tuple[int, Any]:
    parts = urlsplit(url)
    own = conn is None
    conn = conn or http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
        conn.request("POST", parts.path + path, json.dumps(body), headers)
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        if own:
            conn.close()


def create_tasks(url: str, name: str, count: int, threads: int = 4) -> None:
    """Create ``count`` tasks of type ``name`` with plain ``http.client`` (fast: the figures
    that follow are about draining them)."""
    numbers = iter(range(count))  # shared: next() on it is atomic under the GIL
    parts = urlsplit(url)

    def producer() -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            for n in numbers:
                status, _ = _post(url, "/tasks", {"type": name, "params": {"n": n, "run": name}}, conn)
                if status != 200:
                    raise RuntimeError(f"create: {status}")
        finally:
            conn.close()

    pool = [threading.Thread(target=producer) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
