"""Local mode: a client backed by the embedded server on a SQLite file, stopped with the client."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskmanager import (
    AsyncTaskManagerClient,
    TaskManagerClient,
    TaskManagerConfig,
    TaskManagerConnectionError,
    TaskStatus,
    Worker,
)

TYPE = "PrismQ.Test.Local.Work"


def test_worker_restarted_on_the_same_file_processes_the_rest(tmp_path: Path) -> None:
    """A worker handles some tasks, stops, starts again on the same file and handles the rest."""
    db = tmp_path / "q.db"
    seen: list[int] = []

    def handler(task: Any) -> dict[str, Any]:
        seen.append(task.params["n"])
        return {"double": task.params["n"] * 2}

    with TaskManagerClient.local(db) as client:
        client.register_task_type(TYPE, "1.0.0", {"type": "object", "required": ["n"]})
        ids = [client.create_task(TYPE, {"n": n}).id for n in range(6)]
        worker = Worker(client, concurrency=1, poll_interval=0.05)
        worker.add_handler(TYPE, handler)
        assert worker.run(max_tasks=2, handle_signals=False).completed == 2
        url = client.config.api_url
    with pytest.raises(httpx.ConnectError):  # the server stopped with the client
        httpx.get(url + "/health", timeout=2)
    assert len(seen) == 2

    with TaskManagerClient.local(db) as again:  # a new process would do the same
        worker = Worker(again, concurrency=2, poll_interval=0.05)
        worker.add_handler(TYPE, handler)
        assert worker.run(burst=True, handle_signals=False).completed == 4
        tasks = [again.get_task(task_id) for task_id in ids]
    assert sorted(seen) == list(range(6))
    assert all(t.status is TaskStatus.COMPLETED for t in tasks)
    assert [t.result for t in tasks] == [{"double": n * 2} for n in range(6)]


def test_local_creates_the_folder_and_keeps_other_settings(tmp_path: Path) -> None:
    """data/queue.db in a folder that does not exist yet; config's worker id and retries are kept."""
    config = TaskManagerConfig(worker_id="local-w", retry_attempts=0, timeout=5)
    with TaskManagerClient.local(tmp_path / "data" / "queue.db", config=config) as client:
        assert client.health_check()
        assert (client.config.worker_id, client.config.retry_attempts) == ("local-w", 0)
        assert client.config.api_url.startswith("http://127.0.0.1:")
    assert (tmp_path / "data" / "queue.db").is_file()


def test_local_on_an_unusable_path_is_a_typed_error(tmp_path: Path) -> None:
    """A path whose folder is a file: TaskManagerConnectionError naming the path, nothing left running."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(TaskManagerConnectionError, match="cannot start the local server"):
        TaskManagerClient.local(tmp_path / "file" / "q.db")


def test_async_local_client(tmp_path: Path) -> None:
    """AsyncTaskManagerClient.local works the same and stops its server on aclose()."""

    async def main() -> str:
        async with AsyncTaskManagerClient.local(tmp_path / "a.db") as client:
            await client.register_task_type(TYPE, "1.0.0", {"type": "object"})
            created = await client.create_task(TYPE, {"n": 1})
            claimed = await client.claim_task(TYPE, worker_id="aw")
            assert claimed is not None and claimed["id"] == created["id"]
            await client.complete_task(claimed["id"], {"ok": True})
            assert (await client.get_task(created.id)).status is TaskStatus.COMPLETED
            return client.config.api_url

    url = asyncio.run(main())
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health", timeout=2)
    with TaskManagerClient.local(tmp_path / "a.db") as sync:  # the same file, read by the sync client
        assert sync.list_tasks(status="completed")[0].type == TYPE
