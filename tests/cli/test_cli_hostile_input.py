"""Hostile input typed on the command line: JSON nested 100,000 deep, an integer of thousands of
digits, a file that is not UTF-8 (one line, exit 2, JSON with --json, never a traceback); and the
API key typed where something else was expected (never printed back)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from taskmanager import TaskManagerClient, TaskManagerConfig, set_testing
from taskmanager._cli import main
from taskmanager.server import LocalServer

T = "Test.Cli.Hostile"
KEY = "hostile-input-key-7"
DEEP = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
LONG_INT = '{"a": ' + "9" * 5000 + "}"
TOO_DEEP = "nested more than 508 levels deep"  # the facade's own limit for params and schemas
TOO_LONG = "an integer of more than 4300 digits"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture
def client(server: LocalServer) -> Iterator[TaskManagerClient]:
    with TaskManagerClient(TaskManagerConfig(api_url=server.url, api_key=KEY, retry_attempts=0)) as c:
        c.register_task_type(T, "1.0", {"type": "object"})
        yield c


@pytest.fixture
def cli(server: LocalServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("TASKMANAGER_API_URL", server.url)
    monkeypatch.setenv("TASKMANAGER_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)

    def run(*args: str, input: str | bytes | None = None) -> Result:
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    return run


def _usage_error(result: Result, as_json: bool) -> str:
    """The one error line (or the JSON error's text), after checking exit 2 and its shape."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.stdout == "", result.output
    if as_json:
        error = json.loads(result.stderr)
        assert set(error) == {"error", "status_code"} and error["status_code"] is None
        return str(error["error"])
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.mark.parametrize("as_json", [False, True])
@pytest.mark.parametrize(("text", "reason"), [(DEEP, TOO_DEEP), (LONG_INT, TOO_LONG)])
def test_json_options_refuse_deep_nesting_and_long_integers(
    cli: Any, client: TaskManagerClient, tmp_path: Path, text: str, reason: str, as_json: bool
) -> None:
    """--params (inline, @file, @-), --result and types register --schema: exit 2 and one line
    saying why, as for any other bad value; nothing is sent."""
    path = tmp_path / "value.json"
    path.write_text(text, encoding="utf-8")
    flag = ["--json"] if as_json else []
    task_id = client.create_task(T, {"n": 1}).id
    assert client.claim_task(T, "w1") is not None
    for args, stdin, option in (
        (["tasks", "create", T, "--params", text], None, "--params"),
        (["tasks", "create", T, "--params", f"@{path}"], None, f"--params ({path})"),
        (["tasks", "create", T, "--params", "@-"], text, "--params (-)"),
        (["tasks", "complete", str(task_id), "--worker-id", "w1", "--result", text], None, "--result"),
        (["types", "register", "Test.Cli.Other", "--schema", str(path)], None, f"--schema ({path})"),
    ):
        error = _usage_error(cli(*args, *flag, input=stdin), as_json)
        assert f"Invalid value for {option}: {reason}" in error, error
    assert [t.id for t in client.list_tasks()] == [task_id]  # nothing created
    assert client.get_task(task_id).status.value == "claimed"  # nor completed
    assert [t.name for t in client.list_task_types()] == [T]  # nor registered


@pytest.mark.parametrize("as_json", [False, True])
def test_json_files_that_are_not_utf8_are_a_usage_error(cli: Any, tmp_path: Path, as_json: bool) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    flag = ["--json"] if as_json else []
    for args in (
        ["tasks", "create", T, "--params", f"@{path}"],
        ["types", "register", T, "--schema", str(path)],
    ):
        error = _usage_error(cli(*args, *flag), as_json)
        assert "not UTF-8 text (byte 13)" in error, error


@pytest.mark.parametrize("option", ["--schema", "--mapping"])
@pytest.mark.parametrize(("text", "reason"), [(DEEP, TOO_DEEP), (LONG_INT, TOO_LONG)])
def test_migrate_json_files_refuse_deep_nesting_and_long_integers(
    cli: Any, tmp_path: Path, option: str, text: str, reason: str
) -> None:
    legacy = tmp_path / "legacy.db"
    with contextlib.closing(sqlite3.connect(legacy)) as conn, conn:  # committed, then closed
        conn.execute("CREATE TABLE task_queue (task_type TEXT, parameters TEXT)")
    path = tmp_path / "file.json"
    path.write_text(text, encoding="utf-8")
    for flag in ([], ["--json"]):
        error = _usage_error(cli("migrate", str(legacy), option, str(path), "--dry-run", *flag), bool(flag))
        assert f"cannot be read: {reason}" in error, error


# ------------------------------------------------------------------------------ the key typed elsewhere


@pytest.mark.parametrize("as_json", [False, True])
def test_no_error_quotes_the_key(cli: Any, tmp_path: Path, as_json: bool) -> None:
    """The key (from the environment or --api-key) typed as a type name, a URL, a file name: the
    API's error, a bad setting and a server that cannot start all show it as <redacted>."""
    flag = ["--json"] if as_json else []
    wrong = "wrong-key-typed-twice"
    for args, code in (
        (["types", "get", KEY], 1),
        (["tasks", "claim", KEY], 1),
        (["types", "get", wrong, "--api-key", wrong], 1),  # 401 naming the path
        (["health", "--api-url", KEY], 2),
        (["health", f"--api-key={wrong}", "--api-url", wrong], 2),
        (["serve", "--port", "0", "--db", str(tmp_path / "missing" / KEY)], 1),
    ):
        result = cli(*args, *(flag if args[0] != "serve" else []))
        assert result.exit_code == code, (args, result.output)
        shown = result.stdout + result.stderr
        assert "Traceback" not in shown and KEY not in shown and wrong not in shown, (args, shown)
        assert "<redacted>" in shown, (args, shown)
        if as_json and args[0] != "serve":
            assert set(json.loads(result.stderr)) == {"error", "status_code"}, (args, shown)


def test_warnings_on_stderr_do_not_quote_the_key(cli: Any) -> None:
    """-v's retry warnings name the request's path, which holds what was typed as a type name."""
    set_testing(True)
    try:
        result = cli("types", "get", KEY, "-v", "--api-url", "http://127.0.0.1:9/api")
    finally:
        set_testing(False)
    assert result.exit_code == 1 and "retry 1 of" in result.stderr, result.stderr
    assert KEY not in result.stderr and "GET /task-types/<redacted>" in result.stderr, result.stderr


def test_a_key_too_short_to_be_real_is_not_searched_for(cli: Any) -> None:
    """A key of fewer than 8 characters would garble every message it occurs in: it is left alone."""
    result = cli("types", "get", "Test.Cli.abc", "--api-key", "abc")
    assert result.exit_code == 1 and "GET /task-types/Test.Cli.abc -> 401" in result.stderr, result.stderr
