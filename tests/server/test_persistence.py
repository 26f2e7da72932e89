"""A file database keeps everything across a restart."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import httpx

from taskmanager.server import LocalServer


def test_state_survives_a_restart(tmp_path: Path) -> None:
    """Types, tasks, claims and results are all there after stopping and starting again."""
    db = tmp_path / "tm.db"
    headers = {"X-API-Key": "k"}
    with LocalServer(api_key="k", db=db) as first, httpx.Client(base_url=first.url, headers=headers) as http:
        http.post(
            "/task-types/register", json={"name": "P.T", "version": "1", "param_schema": {"type": "object"}}
        )
        for i in range(3):
            http.post("/tasks", json={"type": "P.T", "params": {"i": i}})
        http.post("/tasks/claim", json={"worker_id": "w", "task_type_id": 1, "sort_by": "id"})
        http.post("/tasks/1/complete", json={"worker_id": "w", "success": True, "result": {"r": 1}})
        http.post("/tasks/claim", json={"worker_id": "w", "task_type_id": 1, "sort_by": "id"})
    second = LocalServer(api_key="k2", db=db)
    with second, httpx.Client(base_url=second.url, headers={"X-API-Key": "k2"}) as http:
        tasks = {t["id"]: t for t in http.get("/tasks").json()["data"]["items"]}
        assert {i: t["status"] for i, t in tasks.items()} == {1: "completed", 2: "claimed", 3: "pending"}
        assert http.get("/tasks/1").json()["data"]["items"][0]["result"] == {"r": 1}
        again = http.post("/tasks", json={"type": "P.T", "params": {"i": 0}}).json()["data"]
        assert again["deduplicated"] is True
        created = http.post("/tasks", json={"type": "P.T", "params": {"i": 9}}).json()["data"]
        assert created["id"] == "4"
    with closing(sqlite3.connect(db)) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
