"""Hostile clients against a server subprocess: its memory (VmRSS) and an unrelated client's replies.

Loopback only; every attacker sends a bounded number of bytes and every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

KEY = "dos-test-key"
pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")


def _rss_mb(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    assert match is not None
    return int(match.group(1)) / 1024


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], int]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "taskmanager.server", "--port", "0", "--db", ":memory:", "--api-key", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r":(\d+)/api", line)
        assert match, line
        yield process, int(match.group(1))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def _attack(port: int, head: bytes, total: int, stop: threading.Event) -> None:
    """Send ``head`` then up to ``total`` body bytes, until the server stops reading."""
    block = b"x" * (1024 * 1024)
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head)
        sent = 0
        while sent < total and not stop.is_set():
            sock.sendall(block)
            sent += len(block)


def _under_attack(
    port: int, heads: list[bytes], pid: int, probe: Callable[[], None]
) -> tuple[float, float, float]:
    """Run attackers (64 MB each) while probing; return (baseline MB, peak MB, slowest probe s)."""
    baseline = _rss_mb(pid)
    stop = threading.Event()
    threads = [threading.Thread(target=_attack, args=(port, h, 64 * 1024 * 1024, stop)) for h in heads]
    for thread in threads:
        thread.start()
    peak, slowest = baseline, 0.0
    deadline = time.monotonic() + 20
    try:
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
            started = time.monotonic()
            probe()
            slowest = max(slowest, time.monotonic() - started)
            peak = max(peak, _rss_mb(pid))
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    return baseline, max(peak, _rss_mb(pid)), slowest


def test_keyless_and_bad_chunk_attackers_do_not_grow_the_server(
    served: tuple[subprocess.Popen[str], int],
) -> None:
    """12 keyless 64 MB bodies and 4 chunk-size -1 bodies: RSS stays small, others are served."""
    process, port = served
    base = "POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    keyless = (base + "Content-Length: 67108864\r\n\r\n").encode()
    minus_one = (base + f"X-API-Key: {KEY}\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n").encode()
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}/api", headers={"X-API-Key": KEY}, timeout=10
    ) as other:

        def probe() -> None:
            assert other.get("/health").status_code == 200

        baseline, peak, slowest = _under_attack(port, [keyless] * 12 + [minus_one] * 4, process.pid, probe)
    print(f"keyless attack: RSS {baseline:.0f} -> {peak:.0f} MB, slowest /health {slowest:.2f} s")
    assert peak - baseline < 100, f"server RSS grew from {baseline:.0f} MB to {peak:.0f} MB"
    assert slowest < 5, f"an unrelated /health took {slowest:.1f} s"


def test_keyed_large_bodies_share_a_bounded_budget(served: tuple[subprocess.Popen[str], int]) -> None:
    """With the key, 12 declared 16 MB bodies: at most the buffer budget is held at once."""
    process, port = served
    from taskmanager.server import _http

    head = (
        f"POST /api/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: {KEY}\r\nContent-Length: {_http.MAX_BODY}\r\n\r\n"
    ).encode()
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}/api", headers={"X-API-Key": KEY}, timeout=10
    ) as other:

        def probe() -> None:
            assert other.get("/health").status_code == 200

        baseline, peak, slowest = _under_attack(port, [head] * 12, process.pid, probe)
    print(f"keyed attack: RSS {baseline:.0f} -> {peak:.0f} MB, slowest /health {slowest:.2f} s")
    budget_mb = _http.MAX_BUFFERED / 1024 / 1024
    assert peak - baseline < budget_mb * 2 + 50, f"server RSS grew from {baseline:.0f} MB to {peak:.0f} MB"
    assert slowest < 5, f"an unrelated /health took {slowest:.1f} s"


def test_slow_heads_on_every_connection_do_not_lock_others_out(
    served: tuple[subprocess.Popen[str], int],
) -> None:
    """Keyless clients that open more than the connection cap and never finish their heads:
    an unrelated client is still served (each newcomer replaces the oldest slow head)."""
    process, port = served
    from taskmanager.server import _http

    baseline = _rss_mb(process.pid)
    attackers: list[socket.socket] = []
    slowest, peak, statuses = 0.0, baseline, set()
    try:
        for _ in range(_http.MAX_CONNECTIONS + 8):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n")
            attackers.append(sock)
        deadline = time.monotonic() + 3  # well within the head timeout: the heads are all held
        while time.monotonic() < deadline:
            started = time.monotonic()
            with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=10) as other:
                statuses.add(other.get("/health").status_code)
            slowest = max(slowest, time.monotonic() - started)
            peak = max(peak, _rss_mb(process.pid))
    finally:
        for sock in attackers:
            sock.close()
    print(f"slow heads: RSS {baseline:.0f} -> {peak:.0f} MB, slowest /health {slowest:.2f} s")
    assert statuses == {200}, f"an unrelated client got {statuses}"
    assert slowest < 5, f"an unrelated /health took {slowest:.1f} s"
    assert peak - baseline < 100, f"server RSS grew from {baseline:.0f} MB to {peak:.0f} MB"
