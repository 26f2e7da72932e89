"""The README's Python snippets run as written (against a local server), so that they cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
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


def _tree_parents(text: str) -> dict[str, str | None]:
    """Class name -> parent name, read from an error tree drawn with box-drawing characters."""
    parents: dict[str, str | None] = {}
    stack: list[str] = []  # stack[d] is the last class seen at depth d
    for line in text.splitlines():
        match = re.match(r"^([ │├└─]*)([A-Za-z]\w*)(?:\s|$)", line)
        if match is None:
            continue
        depth = len(match.group(1)) // 4  # each level indents by "│   " or "├── "
        name = match.group(2)
        assert name not in parents, f"{name} listed twice"
        assert depth <= len(stack), f"{name} is indented past its parent"
        del stack[depth:]
        parents[name] = stack[-1] if stack else None
        stack.append(name)
    return parents


def _real_parents() -> dict[str, str | None]:
    """Every public error class -> the error class it derives from (None for the root)."""
    import taskmanager

    values = {name: getattr(taskmanager, name) for name in taskmanager.__all__}
    classes = {
        name: value
        for name, value in values.items()
        if isinstance(value, type) and issubclass(value, taskmanager.TaskManagerError)
    }
    found: dict[str, str | None] = {}
    for name, cls in classes.items():
        bases = [base.__name__ for base in cls.__bases__ if base.__name__ in classes]
        assert len(bases) <= 1, f"{name} derives from several error classes: {bases}"
        found[name] = bases[0] if bases else None
    return found


def test_error_trees_list_every_public_error_with_its_parent() -> None:
    """The README's error tree and the errors module's docstring tree both list exactly the public
    error classes, each under the class it really derives from."""
    from taskmanager import _errors

    fenced = re.findall(r"^```(\w*)\n(.*?)^```$", README.read_text("utf-8"), re.S | re.M)
    readme_blocks = [body for _lang, body in fenced if "├──" in body]
    assert len(readme_blocks) == 1, f"{len(readme_blocks)} README blocks draw a tree"
    docstring = textwrap.dedent((_errors.__doc__ or "").split("The tree::", 1)[1].split("\n\n")[1])
    real = _real_parents()
    assert "TaskManagerUnsupportedError" in real  # the class the README once left out
    assert _tree_parents(readme_blocks[0]) == real
    assert _tree_parents(docstring) == real
