"""`taskmanager demo`: embedded by default, or against TASKMANAGER_API_URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from taskmanager import TaskManagerClient
from taskmanager._cli import main
from taskmanager._demo import run_demo
from taskmanager.server import LocalServer


@pytest.fixture
def no_api_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TASKMANAGER_API_URL", raising=False)
    monkeypatch.delenv("TASKMANAGER_API_KEY", raising=False)
    yield


def test_demo_embedded(no_api_env: None) -> None:
    """With no URL the demo starts its own server, dedupes, retries the flaky task, ends all completed."""
    result = CliRunner().invoke(main, ["demo", "--tasks", "5"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    lines = out.splitlines()
    assert "embedded local server" in out
    assert len([line for line in lines if line.startswith("photo-") and line.endswith("same task")]) == 3
    rows = [line.split() for line in lines if "photo-" in line and not line.endswith("same task")]
    assert [row[2] for row in rows] == ["completed"] * 5
    assert "failed on its first attempt and was retried by the server: completed after 2 attempts" in out
    assert "is_new_work=False" in out
    counters = lines[lines.index(next(line for line in lines if line.startswith("claimed"))) + 2].split()
    assert counters[:5] == ["6", "5", "1", "0", "0"]  # claimed, completed, failed, claim lost, poisoned


def test_demo_against_a_given_server_twice(no_api_env: None) -> None:
    """With a URL the demo uses that server; a second run creates a fresh batch."""
    lines: list[str] = []
    with LocalServer(api_key="demo-key") as server:
        url = server.url
        first = run_demo(api_url=server.url, api_key="demo-key", count=3, work_seconds=0, echo=lines.append)
        second = run_demo(api_url=server.url, api_key="demo-key", count=3, work_seconds=0, echo=lines.append)
        with TaskManagerClient(api_url=server.url, api_key="demo-key") as client:
            progress = {t.progress for t in client.list_tasks()}
    assert lines[0] == f"Server: {url}"
    assert (first.completed, second.completed) == (3, 3)
    assert any(line.startswith("Updated task type") for line in lines)
    assert progress == {100}  # every task reported its last step as 100 %
