"""The main path through the local server: register, create, claim, progress, complete, read."""

from __future__ import annotations

from typing import Any

import httpx

from taskmanager.server import LocalServer


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
