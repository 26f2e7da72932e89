"""Claims and creates under concurrency: one task to one worker, one task per dedupe key."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from taskmanager.server import LocalServer

KEY = "k"


def _setup(url: str, tasks: int) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}) as http:
        http.post(
            "/task-types/register", json={"name": "C.T", "version": "1", "param_schema": {"type": "object"}}
        ).raise_for_status()
        for i in range(tasks):
            assert http.post("/tasks", json={"type": "C.T", "params": {"i": i}}).status_code == 200


def _claim_all(url: str, worker: str, claimed: list[tuple[str, int]], lock: threading.Lock) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=30) as http:
        for _ in range(1000):  # bounded: 400 tasks in all
            reply = http.post("/tasks/claim", json={"worker_id": worker, "task_type_id": 1})
            if reply.status_code == 500:
                return  # nothing left to claim
            assert reply.status_code == 200, reply.text
            with lock:
                claimed.append((worker, reply.json()["data"]["id"]))


def test_eight_threads_claim_400_tasks_exactly_once(tmp_path: Path) -> None:
    """Every task is handed out once; no worker gets a task another one holds."""
    with LocalServer(api_key=KEY, db=tmp_path / "c.db") as server:
        _setup(server.url, 400)
        claimed: list[tuple[str, int]] = []
        lock = threading.Lock()
        threads = [
            threading.Thread(target=_claim_all, args=(server.url, f"w{n}", claimed, lock)) for n in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        counts = Counter(task for _, task in claimed)
        assert sorted(counts) == list(range(1, 401))
        assert set(counts.values()) == {1}
        assert len({worker for worker, _ in claimed}) > 1


def test_identical_concurrent_creates_make_one_task() -> None:
    """Ten simultaneous identical creates: one created, nine deduplicated, no errors."""
    with LocalServer(api_key=KEY) as server:
        _setup(server.url, 0)
        barrier = threading.Barrier(10)

        def create(_: int) -> dict[str, object]:
            with httpx.Client(base_url=server.url, headers={"X-API-Key": KEY}) as http:
                barrier.wait(timeout=10)
                reply = http.post("/tasks", json={"type": "C.T", "params": {"same": True}})
                assert reply.status_code == 200, reply.text
                return dict(reply.json()["data"])

        with ThreadPoolExecutor(10) as pool:
            replies = list(pool.map(create, range(10)))
        assert sum(1 for r in replies if r.get("deduplicated")) == 9
        assert {str(r["id"]) for r in replies} == {"1"}
