"""The PrismQ seed snippets, run as their authors wrote them (import line and URL/key changed only).

Each test retells one snippet of the seeds (the client specification, the YouTube worker
integration and the migration guide) in its own words, against the local server.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from taskmanager import (
    TaskManagerAPIError,
    TaskManagerClient,
    TaskManagerConfig,
    TaskNotClaimedError,
    TaskStatus,
    Worker,
)
from taskmanager.server import LocalServer

from .conftest import KEY

CHANNEL_SCHEMA = {
    "type": "object",
    "properties": {"channel_url": {"type": "string"}, "top_n": {"type": "integer"}},
    "required": ["channel_url"],
}


@pytest.fixture
def tm_client(server: LocalServer) -> Any:
    """`TaskManagerClient(TaskManagerConfig(api_key=...))`, the URL pointed at the local server."""
    config = TaskManagerConfig(api_url=server.url, api_key=KEY)
    with TaskManagerClient(config) as client:
        yield client


def test_register_then_result_id(tm_client: TaskManagerClient) -> None:
    """Registering a type returns something whose ["id"] is the new type's id."""
    result = tm_client.register_task_type(name="test_task", version="1.0", param_schema={"type": "object"})
    assert result["id"] == tm_client.get_task_type("test_task").id


def test_registration_loop_of_the_migration_guide(tm_client: TaskManagerClient) -> None:
    """register_task_type(**definition) for each type; result['id'] collected into task_type_ids."""
    task_types = {
        "youtube_channel_scrape": {
            "name": "PrismQ.YouTube.Channel.Scrape",
            "version": "1.0.0",
            "param_schema": {"type": "object", "properties": {"channel_url": {"type": "string"}}},
        },
        "youtube_video_scrape": {
            "name": "PrismQ.YouTube.Video.Scrape",
            "version": "1.0.0",
            "param_schema": {"type": "object", "properties": {"video_url": {"type": "string"}}},
        },
    }
    task_type_ids = []
    for _key, task_type_def in task_types.items():
        result = tm_client.register_task_type(**task_type_def)  # type: ignore[arg-type]
        task_type_ids.append(result["id"])
    assert len(set(task_type_ids)) == 2
    assert tm_client.get_task_type("PrismQ.YouTube.Video.Scrape")["id"] == task_type_ids[1]


def test_create_then_task_id(tm_client: TaskManagerClient) -> None:
    """create_task(task_type=..., params=...) then task['id'] names the created task."""
    tm_client.register_task_type("PrismQ.YouTube.Channel.Scrape", "1.0.0", CHANNEL_SCHEMA)
    task = tm_client.create_task(
        task_type="PrismQ.YouTube.Channel.Scrape", params={"channel_url": "https://youtube.com/@example"}
    )
    message = f"Task created: {task['id']}"
    assert message == f"Task created: {tm_client.get_task(task['id']).id}"


def test_worker_loop_of_pattern_1(tm_client: TaskManagerClient) -> None:
    """Claim with a worker id, read task['params'], complete with status= and no worker id."""
    tm_client.register_task_type(name="youtube_channel_scrape", version="1.0", param_schema=CHANNEL_SCHEMA)
    good = tm_client.create_task(
        "youtube_channel_scrape", {"channel_url": "https://youtube.com/@a", "top_n": 2}
    )
    bad = tm_client.create_task("youtube_channel_scrape", {"channel_url": "https://youtube.com/@gone"})
    db: list[dict[str, Any]] = []

    def scrape_youtube_channel(params: dict[str, Any]) -> list[dict[str, Any]]:
        if params["channel_url"].endswith("gone"):
            raise RuntimeError("channel not found")
        return [{"idea": n} for n in range(params.get("top_n", 1))]

    for _ in range(10):  # the seed's `while True`, bounded: it ends once nothing is left
        task = tm_client.claim_task(task_type="youtube_channel_scrape", worker_id="youtube-worker-001")
        if not task:
            break
        try:
            results = scrape_youtube_channel(task["params"])
            db.extend(results)
            tm_client.complete_task(
                task_id=task["id"], result={"ideas_found": len(results)}, status="completed"
            )
        except Exception as e:
            tm_client.complete_task(task_id=task["id"], result={"error": str(e)}, status="failed")
    done, failed = tm_client.get_task(good.id), tm_client.get_task(bad.id)
    assert (done.status, done.result, done.claimed_by) == (
        TaskStatus.COMPLETED,
        {"ideas_found": 2},
        "youtube-worker-001",
    )
    assert (failed.status, failed.error_message) == (
        TaskStatus.FAILED,
        "channel not found",
    )  # 3 attempts used
    assert len(db) == 2


def test_get_task_status(tm_client: TaskManagerClient) -> None:
    """get_task_status(task_id)['status'] follows the task."""
    tm_client.register_task_type("cleanup_runs", "1.0", {"type": "object"})
    task_id = tm_client.create_task("cleanup_runs", {"max_age_hours": 24})["id"]
    assert tm_client.get_task_status(task_id)["status"] == "pending"
    tm_client.claim_task("cleanup_runs")
    tm_client.complete_task(task_id, {"removed": 3})
    status = tm_client.get_task_status(task_id)
    assert (status["status"], status["result"], status.get("error_message")) == (
        "completed",
        {"removed": 3},
        None,
    )


def test_health_check_against_a_dead_port(capsys: pytest.CaptureFixture[str]) -> None:
    """`if client.health_check():` is false and `print(health)` shows why, when nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = TaskManagerClient(TaskManagerConfig(api_url=f"http://127.0.0.1:{port}/api", retry_attempts=0))
    reachable = bool(client.health_check())
    health = client.health_check()
    print(health)
    client.close()
    assert reachable is False
    assert "connection failed" in capsys.readouterr().out


def test_health_check_when_up(tm_client: TaskManagerClient) -> None:
    """Against a healthy server health_check() is truthy."""
    assert tm_client.health_check()


def test_string_strategies(tm_client: TaskManagerClient) -> None:
    """strategy="LIFO" / "PRIORITY" / "FIFO" as strings: the claim order follows."""
    tm_client.register_task_type("PrismQ.Script.Generate", "1.0.0", {"type": "object"})
    ids = [tm_client.create_task("PrismQ.Script.Generate", {"topic": t}).id for t in ("a", "b", "c")]
    lifo = tm_client.claim_task("PrismQ.Script.Generate", worker_id="w", policy="LIFO")
    fifo = tm_client.claim_task("PrismQ.Script.Generate", worker_id="w", policy="FIFO")
    assert (lifo and lifo["id"], fifo and fifo["id"]) == (ids[2], ids[0])
    assert tm_client.claim_task("PrismQ.Script.Generate", worker_id="w", policy="PRIORITY") is not None
    for strategy in ("FIFO", "LIFO", "PRIORITY", "lifo"):
        assert Worker(tm_client, policy=strategy).policy.name == strategy.upper()


def test_env_file_set_up(server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TASKMANAGER_API_URL/KEY in a .env: TaskManagerClient() with no arguments uses them."""
    (tmp_path / ".env").write_text(
        f"# TaskManager API Configuration\nTASKMANAGER_API_URL={server.url}\nTASKMANAGER_API_KEY={KEY}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TASKMANAGER_ENV_FILE")
    client = TaskManagerClient()
    result = client.register_task_type(
        name="PrismQ.YouTube.Channel.Scrape", version="1.0.0", param_schema=CHANNEL_SCHEMA
    )
    client.close()
    assert result["name"] == "PrismQ.YouTube.Channel.Scrape"


def test_env_file_in_prismq_wd(server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guides' PrismQ_WD/.env, named by TASKMANAGER_ENV_FILE."""
    (tmp_path / "PrismQ_WD").mkdir()
    env = tmp_path / "PrismQ_WD" / ".env"
    env.write_text(f"TASKMANAGER_API_URL={server.url}\nTASKMANAGER_API_KEY={KEY}\n", encoding="utf-8")
    monkeypatch.setenv("TASKMANAGER_ENV_FILE", str(env))
    with TaskManagerClient() as client:
        assert client.health_check() and client.list_tasks() == []


def test_wait_inside_except_timeout_error(tm_client: TaskManagerClient) -> None:
    """`except TimeoutError:` around a wait catches the client's wait timeout."""
    tm_client.register_task_type("channel_scrape", "1.0", {"type": "object"})
    task_id = tm_client.create_task("channel_scrape", {"channel_url": "https://youtube.com/@TechChannel"})[
        "id"
    ]
    try:
        tm_client.wait_for_task(task_id, timeout=0)
        outcome = "completed"
    except TimeoutError:
        outcome = "timed out"
    assert outcome == "timed out"


def test_api_error_in_a_mock() -> None:
    """The seed's own mocks build TaskManagerAPIError(status_code, message, response_data)."""
    error = TaskManagerAPIError(500, "Internal error", {"success": False})
    with pytest.raises(TaskManagerAPIError) as info:
        raise error
    assert (info.value.status_code, info.value.message, info.value.response_data) == (
        500,
        "Internal error",
        {"success": False},
    )


def test_hybrid_pattern_2_claim_then_report_back(tm_client: TaskManagerClient) -> None:
    """Pull a task into a local queue (task['type'], ['params'], ['priority']), report back by tm id."""
    tm_client.register_task_type("youtube_scrape", "1.0", {"type": "object"})
    tm_client.create_task("youtube_scrape", {"video": "v1"})
    local_queue: list[dict[str, Any]] = []
    task = tm_client.claim_task(task_type="youtube_scrape")
    assert task
    local_queue.append(
        {
            "task_type": task["type"],
            "payload": task["params"],
            "priority": task["priority"],
            "tm_task_id": task["id"],
        }
    )
    local_task = local_queue.pop()
    outcome = tm_client.complete_task(task_id=local_task["tm_task_id"], result={"ok": True})
    assert outcome.status.value == "completed"


def test_reporting_a_task_that_came_from_a_local_queue_fails(tm_client: TaskManagerClient) -> None:
    """Seed 000's hybrid report: completing a task nobody claimed is refused (completion needs the claim)."""
    tm_client.register_task_type("PrismQ.YouTube.Channel.Scrape", "1.0.0", CHANNEL_SCHEMA)
    task = tm_client.create_task("PrismQ.YouTube.Channel.Scrape", {"channel_url": "https://youtube.com/@x"})
    with pytest.raises(TaskNotClaimedError):
        tm_client.complete_task(
            task_id=task.id, worker_id="youtube-worker-001", success=True, result={"n": 1}, error=None
        )
