"""`taskmanager worker run ... --local PATH`: a worker on the embedded server over a file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from taskmanager import TaskManagerClient, TaskStatus
from taskmanager._cli import main

TYPE = "PrismQ.Test.Local.Cli"


def test_worker_run_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks queued in the file are done by `worker run --local`; the results are in the file."""
    (tmp_path / "local_handlers.py").write_text("def work(task):\n    return {'n': task.params['n'] + 1}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "local_handlers", raising=False)
    db = tmp_path / "data" / "queue.db"
    with TaskManagerClient.local(db) as client:
        client.register_task_type(TYPE, "1.0.0", {"type": "object"})
        ids = [client.create_task(TYPE, {"n": n}).id for n in range(3)]
    result = CliRunner().invoke(
        main, ["worker", "run", "local_handlers:work", "--type", TYPE, "--local", str(db), "--burst"]
    )
    assert result.exit_code == 0, result.output
    with TaskManagerClient.local(db) as client:
        tasks = [client.get_task(i) for i in ids]
    assert [(t.status, t.result) for t in tasks] == [(TaskStatus.COMPLETED, {"n": n + 1}) for n in range(3)]


def test_local_with_an_api_url_is_a_usage_error(tmp_path: Path) -> None:
    """--local and --api-url together are refused (exit 2)."""
    result = CliRunner().invoke(
        main,
        [
            "worker",
            "run",
            "os:getcwd",
            "--type",
            TYPE,
            "--local",
            str(tmp_path / "q.db"),
            "--api-url",
            "http://x/api",
        ],
    )
    assert result.exit_code == 2 and "--local" in result.output
