"""Starting the server from a shell: ``python -m taskmanager.server`` and ``taskmanager serve``."""

from __future__ import annotations

import contextlib
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


# -- the generated key is kept with the database ---------------------------------------------------


def _no_env_key() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "TASKMANAGER_API_KEY"}


def _second_line(args: list[str]) -> tuple[str, str]:
    """(second line of output, url) of a server started with ``args``, stopped right after."""
    with _running(args, _no_env_key()) as (proc, url):
        assert proc.stdout is not None
        return proc.stdout.readline().strip(), url


def test_a_restart_keeps_the_generated_key_and_does_not_print_it(tmp_path: Path) -> None:
    db = tmp_path / "kept.db"
    first, _ = _second_line(["--db", str(db)])
    key = first.rsplit(" ", 1)[-1]
    assert first.startswith("API key (generated") and len(key) >= 20
    kept = Path(str(db) + ".key")
    assert kept.read_text().strip() == key and kept.stat().st_mode & 0o777 == 0o600
    with _running(["--db", str(db)], _no_env_key()) as (proc, url):
        assert proc.stdout is not None
        second = proc.stdout.readline()
        assert key not in second and "--show-key" in second
        assert httpx.get(url + "/tasks", headers={"X-API-Key": key}).status_code == 200
    shown, _ = _second_line(["--db", str(db), "--show-key"])
    assert shown.endswith(key)


def test_a_key_file_others_may_read_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "loose.db"
    Path(str(db) + ".key").write_text("some-key\n")
    os.chmod(str(db) + ".key", 0o644)
    env_key = os.environ.pop("TASKMANAGER_API_KEY", None)
    try:
        assert server_main(["--port", "0", "--db", str(db)]) == 1
    finally:
        if env_key is not None:
            os.environ["TASKMANAGER_API_KEY"] = env_key
    err = capsys.readouterr().err.strip()
    assert err.endswith("may be read by others: chmod 600 it") and len(err.splitlines()) == 1


# -- refusing a database it cannot write; logging ------------------------------------------------------


@contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable, also for root (the immutable attribute), and undo it after."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("cannot make a file immutable here")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_database_it_cannot_write_is_refused_at_start(tmp_path: Path, what: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "ro.db"
    with LocalServer(db=db):  # creates it
        pass
    for leftover in folder.glob("ro.db-*"):
        leftover.unlink()
    with _read_only(db if what == "file" else folder):
        # A subprocess with a timeout: a server that wrongly starts must not hang the test.
        try:
            done = subprocess.run(
                [*COMMANDS["module"], "--port", "0", "--db", str(db), "--api-key", "k"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except subprocess.TimeoutExpired as expired:
            raise AssertionError("the server started on a database it cannot write") from expired
    assert done.returncode == 1
    err = done.stderr.strip()
    assert "cannot open the database" in err and "for writing" in err and len(err.splitlines()) == 1


def test_server_errors_and_the_access_log_go_to_stderr(tmp_path: Path) -> None:
    """A 500 leaves its traceback on stderr; --access-log adds a line per request, never the key."""
    env = {**os.environ, "TASKMANAGER_API_KEY": "secret-key-abc"}
    db = tmp_path / "log.db"
    with _running(["--db", str(db), "--access-log"], env) as (proc, url):
        headers = {"X-API-Key": "secret-key-abc"}
        assert httpx.get(url + "/tasks?limit=1", headers=headers).status_code == 200
        assert httpx.get(url + "/tasks", headers={"X-API-Key": "wrong"}).status_code == 401
        # break the database under the running server: the next write is a 500
        import sqlite3

        with contextlib.closing(sqlite3.connect(db)) as other:  # closed: Python 3.13 warns of an open one
            other.execute("DROP TABLE tasks")
            other.commit()
        register = {"name": "A.B", "version": "1", "param_schema": {"type": "object"}}
        assert httpx.post(url + "/task-types/register", json=register, headers=headers).status_code == 200
        reply = httpx.post(url + "/tasks", json={"type": "A.B", "params": {"a": 1}}, headers=headers)
        assert reply.status_code == 500
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert '"GET /api/tasks?limit=1 HTTP' not in err  # the version is not part of the line
    assert '"GET /api/tasks?limit=1" 200' in err and '"GET /api/tasks" 401' in err
    assert "Traceback" in err and "no such table: tasks" in err
    assert "secret-key-abc" not in err
