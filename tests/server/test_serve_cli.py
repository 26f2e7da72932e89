"""Starting the server from a shell: ``python -m taskmanager.server`` and ``taskmanager serve``."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from taskmanager._cli import main
from taskmanager.server import LocalServer
from taskmanager.server.__main__ import main as server_main

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


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_cli_start_failures_are_one_line_exit_1(taken_port: int, tmp_path: Path) -> None:
    """A port in use or a database that cannot be opened: exit 1, one line, no traceback."""
    runner = CliRunner()
    busy = runner.invoke(main, ["serve", "--port", str(taken_port), "--db", ":memory:", "--api-key", "k"])
    assert busy.exit_code == 1
    assert busy.output.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{taken_port}: Address already in use"
    ]
    no_db = runner.invoke(main, ["serve", "--port", "0", "--db", str(tmp_path / "no" / "x.db")])
    assert no_db.exit_code == 1 and "cannot open the database" in no_db.output
    assert len(no_db.output.strip().splitlines()) == 1


def test_module_start_failure_exits_1(taken_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    """python -m taskmanager.server reports a port in use on stderr and returns 1."""
    assert server_main(["--port", str(taken_port), "--db", ":memory:", "--api-key", "k"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "python -m taskmanager.server: error: "
        f"cannot listen on 127.0.0.1:{taken_port}: Address already in use"
    )


@pytest.mark.parametrize("option", ["--claim-timeout", "--max-attempts", "--port"])
def test_nonsense_numbers_are_usage_errors(
    option: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A negative timeout, attempt count or port exits 2 before anything starts."""

    def must_not_start(**_: object) -> None:
        raise AssertionError("the server was started")

    monkeypatch.setattr("taskmanager.server.serve", must_not_start)
    monkeypatch.setattr("taskmanager.server.__main__.serve", must_not_start)
    assert CliRunner().invoke(main, ["serve", option, "-1"]).exit_code == 2
    with pytest.raises(SystemExit) as stopped:
        server_main([option, "-1"])
    assert stopped.value.code == 2 and option in capsys.readouterr().err


def test_local_server_refuses_nonsense_settings() -> None:
    """LocalServer(claim_timeout=0) is refused when it starts."""
    with pytest.raises(ValueError, match="claim_timeout"), LocalServer(claim_timeout=0):
        pass
