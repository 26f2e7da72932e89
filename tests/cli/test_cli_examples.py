"""Every example runs to completion against its embedded server, so that none of them rots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str) -> None:
    """The example exits 0 and prints what it demonstrates."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMANAGER_")}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--burst"]
        if name == "04_worker.py"
        else [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=EXAMPLES.parent,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert EXPECTED[name] in proc.stdout, proc.stdout[-2000:]
