"""Every example runs to completion against its embedded server, so that none of them rots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from taskmanager.server import LocalServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXPECTED = {
    "01_register_task_type.py": "registering again updates it: created=False, same id: True",
    "02_create_tasks.py": "same params again -> task 1, created=False",
    "03_claim_and_complete.py": "nothing left: claim_task returns None",
    "04_worker.py": "done: WorkerStats(claimed=7, completed=4, failed=3",
    "05_web_enqueue_then_wait.py": "'status': 'completed', 'result': {'deleted_runs': 96}",
}


def test_every_example_is_listed() -> None:
    """A new example file must be added to the list below (and so be run)."""
    assert sorted(p.name for p in EXAMPLES.glob("[0-9]*.py")) == sorted(EXPECTED)


def _run_example(name: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMANAGER_")}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--burst"]
        if name == "04_worker.py"
        else [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, **env_vars},
        cwd=EXAMPLES.parent,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str) -> None:
    """The example exits 0 and prints what it demonstrates."""
    proc = _run_example(name)
    assert EXPECTED[name] in proc.stdout, proc.stdout[-2000:]


def test_claim_example_reruns_against_a_shared_server() -> None:
    """Against TASKMANAGER_API_URL, after the create example and once more, claiming still works."""
    with LocalServer() as server:
        env = {"TASKMANAGER_API_URL": server.url, "TASKMANAGER_API_KEY": server.api_key}
        _run_example("02_create_tasks.py", **env)
        outputs = [_run_example("03_claim_and_complete.py", **env).stdout for _ in range(2)]
    for out in outputs:
        assert "embedded local server" not in out
        assert "nothing left: claim_task returns None" in out, out
