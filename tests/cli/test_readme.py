"""The README's Python snippets run as written (against a local server), so that they cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from taskmanager.server import LocalServer

README = Path(__file__).resolve().parents[2] / "README.md"


def _snippet(marker: str) -> str:
    """The one ```python block of the README that contains ``marker``."""
    blocks = [b for b in re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), re.S) if marker in b]
    assert len(blocks) == 1, f"{len(blocks)} README snippets contain {marker!r}"
    return str(blocks[0])


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env, cwd=cwd)


def test_quick_start_and_worker_snippets(tmp_path: Path) -> None:
    """Quick start registers and creates; the worker snippet (in burst mode) completes the task."""
    quick_start = _snippet("with TaskManagerClient() as client:")
    worker = _snippet('@worker.handler("PrismQ.YouTube.Channel.Scrape")')
    assert worker.count("worker.run()") == 1
    code = quick_start + "\n" + worker.replace("worker.run()", "print(worker.run(burst=True))")
    with LocalServer() as server:
        env = {**os.environ, "TASKMANAGER_API_URL": server.url, "TASKMANAGER_API_KEY": server.api_key}
        proc = _run([sys.executable, "-c", code], env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    created, stats = proc.stdout.splitlines()
    assert created == "1 pending True"
    # idle_polls depends on timing (the worker polls while the handler runs)
    assert stats.startswith("WorkerStats(claimed=1, completed=1, failed=0, claim_lost=0, poisoned=0,")


def test_testing_your_own_worker_snippet(tmp_path: Path) -> None:
    """The plugin example of "Testing your own worker": passes, records its cassette with
    --record-mode=once, then replays with the network blocked; the cassette holds no key."""
    snippet = _snippet("def test_scrape(taskmanager_client):")
    (tmp_path / "test_readme_snippet.py").write_text(snippet, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMANAGER_")}
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio", "-W", "error"]

    recorded = _run([*base, "--record-mode=once", "."], env, tmp_path)
    assert recorded.returncode == 0, recorded.stdout[-2000:] + recorded.stderr[-2000:]
    assert "3 passed" in recorded.stdout
    cassette = tmp_path / "cassettes" / "test_readme_snippet" / "test_against_recorded_replies.yaml"
    text = cassette.read_text(encoding="utf-8")
    assert "x-api-key:\n      - <redacted>" in text and "https://taskmanager.test/api/tasks" in text
    assert "recording-key-" not in text and "127.0.0.1" not in text

    replayed = _run([*base, "--block-network", "-k", "recorded", "."], env, tmp_path)
    assert replayed.returncode == 0, replayed.stdout[-2000:] + replayed.stderr[-2000:]
    assert "1 passed" in replayed.stdout
    assert cassette.read_text(encoding="utf-8") == text
