"""The main path through the local server: register, create, claim, progress, complete, read."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from taskmanager.server import LocalServer, ManualClock


def _data(response: httpx.Response) -> Any:
    body = response.json()
    assert body["success"] is True, body
    return body["data"]


def test_happy_path(client: httpx.Client, server: LocalServer) -> None:
    """A task goes pending -> claimed -> completed with the real server's replies."""
    assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/api")
    assert _data(client.get("/health"))["status"] == "healthy"
    registered = _data(
        client.post(
            "/task-types/register",
            json={"name": "PrismQ.T", "version": "1", "param_schema": {"type": "object"}},
        )
    )
    assert registered == {"id": "1", "name": "PrismQ.T", "version": "1", "created": True}
    created = _data(client.post("/tasks", json={"type": "PrismQ.T", "params": {"a": 1}}))
    assert created["id"] == "1" and created["status"] == "pending"
    claimed = _data(client.post("/tasks/claim", json={"worker_id": "w", "task_type_id": 1}))
    assert (claimed["id"], claimed["params"], claimed["attempts"]) == (1, {"a": 1}, 1)
    assert _data(client.post("/tasks/1/progress", json={"worker_id": "w", "progress": 40}))["id"] == "1"
    done = _data(
        client.post("/tasks/1/complete", json={"worker_id": "w", "success": True, "result": {"r": 2}})
    )
    assert done == {"id": "1", "status": "completed", "message": "Task completed"}
    task = _data(client.get("/tasks/1"))["items"][0]
    assert (task["status"], task["result"], task["progress"]) == ("completed", {"r": 2}, 40)
    listed = _data(client.get("/tasks"))
    assert listed["count"] == 1 and listed["items"][0]["id"] == 1


def test_manual_clock_only_moves_forward() -> None:
    """advance() and set() move the clock; going backwards is refused."""
    clock = ManualClock(100)
    assert clock() == 100.0
    assert clock.advance(2.5) == 102.5
    clock.set(200)
    assert clock() == 200.0
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(199)


def test_local_server_lifecycle() -> None:
    """Start/close work repeatedly, the repr hides the key, advance() needs a ManualClock."""
    server = LocalServer(api_key="secret-key-value")
    assert "stopped" in repr(server)
    with pytest.raises(RuntimeError):
        _ = server.url
    with server:
        assert "secret-key-value" not in repr(server)
        assert httpx.get(server.url + "/health").status_code == 200
        with pytest.raises(TypeError):
            server.advance(1)
        with pytest.raises(RuntimeError):
            server.start()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{server._port or 1}/api/health", timeout=1)
    assert "stopped" in repr(server)


def test_ipv6_loopback() -> None:
    """A server bound to ::1 answers on a bracketed URL."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with LocalServer(host="::1") as server:
        assert server.url.startswith("http://[::1]:")
        assert httpx.get(server.url + "/health").status_code == 200
