"""Starting the server from a shell: ``python -m taskmanager.server`` and ``taskmanager serve``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from taskmanager._cli import main

# The two ways to start it: the module and the ``taskmanager serve`` command.
COMMANDS = {
    "module": [sys.executable, "-m", "taskmanager.server"],
    "cli": [sys.executable, "-c", "from taskmanager._cli import main; main()", "serve"],
}


@contextmanager
def _running(
    args: list[str], env: dict[str, str], how: str = "module"
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [*COMMANDS[how], "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # printed once the socket is bound
        match = re.search(r"(http://127\.0\.0\.1:\d+/api)", first)
        assert match, first + (proc.stderr.read() if proc.stderr else "")
        yield proc, match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("how", sorted(COMMANDS))
def test_generated_key_is_printed_once(tmp_path: Path, how: str) -> None:
    """Without --api-key or the env var a key is generated, printed once, and required."""
    env = {k: v for k, v in os.environ.items() if k != "TASKMANAGER_API_KEY"}
    with _running(["--db", str(tmp_path / "a.db")], env, how) as (proc, url):
        assert proc.stdout is not None
        line = proc.stdout.readline()
        key = line.rsplit(" ", 1)[-1].strip()
        assert line.startswith("API key") and len(key) >= 20
        assert httpx.get(url + "/tasks").status_code == 401
        assert httpx.get(url + "/tasks", headers={"X-API-Key": key}).status_code == 200
    assert proc.returncode == 0  # SIGTERM stops it cleanly


def test_env_key_is_used_and_not_printed(tmp_path: Path) -> None:
    """TASKMANAGER_API_KEY is the key when --api-key is not given; it is never echoed."""
    env = {**os.environ, "TASKMANAGER_API_KEY": "from-env-123"}
    with _running(["--db", str(tmp_path / "b.db"), "--claim-timeout", "7"], env, "cli") as (proc, url):
        assert httpx.get(url + "/tasks", headers={"X-API-Key": "from-env-123"}).status_code == 200
        proc.terminate()
        rest, _ = proc.communicate(timeout=10)
    assert "from-env-123" not in rest
    assert (tmp_path / "b.db").exists()


def test_serve_command_options() -> None:
    """``taskmanager serve --help`` documents the server options."""
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--db", "--api-key", "--claim-timeout", "--max-attempts"):
        assert option in result.output
