"""The command line as a Celery/RQ/arq user types it: handlers with --type, one-line errors,
--burst against an API that is down, JSON everywhere alike, ``python -m taskmanager``, tasks wait."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from taskmanager import TaskManagerClient, TaskManagerConfig, Worker
from taskmanager._cli import main
from taskmanager.server import LocalServer

T = "Test.Cli.Habits"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer(api_key="cli-habits-key") as srv:
        yield srv


@pytest.fixture
def client(server: LocalServer) -> Iterator[TaskManagerClient]:
    with TaskManagerClient(
        TaskManagerConfig(api_url=server.url, api_key=server.api_key, retry_attempts=0)
    ) as c:
        c.register_task_type(T, "1.0", {"type": "object"})
        yield c


@pytest.fixture
def cli(server: LocalServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    monkeypatch.setenv("TASKMANAGER_API_URL", server.url)
    monkeypatch.setenv("TASKMANAGER_API_KEY", server.api_key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    yield run
    # The test's own modules leave sys.modules, and the clients they made are closed: a worker
    # module's client would otherwise keep its connection open until the interpreter exits.
    for name in set(sys.modules) - before:
        if Path(getattr(sys.modules[name], "__file__", None) or "/").is_relative_to(tmp_path):
            for value in vars(sys.modules.pop(name)).values():
                client = value.client if isinstance(value, Worker) else value
                if isinstance(client, TaskManagerClient):
                    client.close()


def _module(tmp_path: Path, name: str, code: str) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(code), encoding="utf-8")


def _one_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# ------------------------------------------------------------------------------ worker run TARGET


def test_plain_function_needs_type(cli: Any, tmp_path: Path) -> None:
    """A handler function without --type is a one-line usage error that names --type."""
    _module(tmp_path, "habits_handlers_a", "def resize(task):\n    return {'ok': True}\n")
    error = _one_line_error(cli("worker", "run", "habits_handlers_a:resize", "--burst"), 2)
    assert "--type NAME" in error and "habits_handlers_a:resize" in error


def test_plain_function_with_type_runs(cli: Any, tmp_path: Path, client: TaskManagerClient) -> None:
    """--type binds the function to the task type; the built worker runs it."""
    _module(tmp_path, "habits_handlers_b", "def resize(task):\n    return {'w': task.params['w'] * 2}\n")
    task_id = client.create_task(T, {"w": 21}).id
    result = cli("worker", "run", "habits_handlers_b:resize", "--type", T, "--burst", "--concurrency", "1")
    assert result.exit_code == 0, result.output
    assert client.get_task(task_id).result == {"w": 42}


def test_type_with_a_worker_target_is_refused(cli: Any, tmp_path: Path) -> None:
    _module(
        tmp_path,
        "habits_worker_a",
        """
        from taskmanager import TaskManagerClient, Worker
        worker = Worker(TaskManagerClient())
        worker.add_handler("X", lambda task: None)
        """,
    )
    assert "--type binds a handler" in _one_line_error(
        cli("worker", "run", "habits_worker_a:worker", "--type", T), 2
    )


def test_api_url_with_a_worker_target_is_refused(cli: Any, tmp_path: Path, server: LocalServer) -> None:
    """A Worker has its own client: --api-url on the command line would be ignored, so it is refused."""
    _module(
        tmp_path,
        "habits_worker_b",
        """
        from taskmanager import TaskManagerClient, Worker
        worker = Worker(TaskManagerClient())
        worker.add_handler("Test.Cli.Habits", lambda task: None)
        """,
    )
    error = _one_line_error(
        cli("worker", "run", "habits_worker_b:worker", "--burst", "--api-url", "http://127.0.0.1:1/api"), 2
    )
    assert "--api-url cannot apply" in error and server.url in error
    # from the environment only, it is the same URL the worker's client was made with: fine
    assert cli("worker", "run", "habits_worker_b:worker", "--burst").exit_code == 0


def test_a_worker_modules_client_is_closed_after_its_test(tmp_path: Path) -> None:
    """The cli fixture closes the clients of the modules a test imported: no socket is left open
    until the interpreter exits (it used to warn "unclosed socket" there)."""
    test = f"{Path(__file__).resolve()}::test_api_url_with_a_worker_target_is_refused"
    pytest_args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", test]
    proc = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", *pytest_args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-2000:]
    assert "ResourceWarning" not in proc.stdout + proc.stderr, proc.stderr[-2000:]


@pytest.mark.parametrize(
    ("code", "exit_code", "words"),
    [
        ("TaskManagerClient(api_url='ftp://nowhere')", 2, "api_url must be an http(s) URL"),
        ("with TaskManagerClient() as c:\n    c.get_task(999999)", 1, "not found"),
        ("raise ValueError('bad setting')", 2, "importing habits_import_"),
    ],
    ids=["config", "api", "other"],
)
def test_errors_while_importing_are_one_line(
    cli: Any, tmp_path: Path, code: str, exit_code: int, words: str
) -> None:
    name = f"habits_import_{exit_code}_{len(code)}"
    _module(tmp_path, name, f"from taskmanager import TaskManagerClient\n{code}\n")
    assert words in _one_line_error(cli("worker", "run", f"{name}:worker"), exit_code)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------ tasks, --json


def test_get_missing_task_says_not_found(cli: Any) -> None:
    error = _one_line_error(cli("tasks", "get", "999"), 1)
    assert "not found" in error and "-> 200" not in error and "200" not in error


def test_errors_are_json_on_stderr_with_json(cli: Any) -> None:
    result = cli("tasks", "get", "999", "--json")
    assert result.exit_code == 1 and result.stdout == ""
    error = json.loads(result.stderr)
    assert set(error) == {"error", "status_code"} and "not found" in error["error"]
    refused = cli("tasks", "create", T, "--params", "{not json", "--json")
    assert refused.exit_code == 2 and "not valid JSON" in json.loads(refused.stderr)["error"]
    assert json.loads(refused.stderr)["status_code"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tasks", "get", "1", "--json", "--bogus"], "No such option '--bogus'."),
        (["tasks", "get", "--json"], "Missing argument 'TASK_ID'."),
        (["tasks", "claim", T, "--policy", "newest", "--json"], "Invalid value for '--policy'"),
        (["tasks", "get", "abc", "--json"], "Invalid value for 'TASK_ID'"),
        (["tasks", "nosuch", "--json"], "No such command 'nosuch'."),
        (["--json", "health"], "No such option '--json'."),
        (["migrate", "--json", "missing.db"], "Invalid value for 'LEGACY_DB'"),
    ],
)
def test_usage_errors_found_while_parsing_are_json_with_json(cli: Any, args: list[str], message: str) -> None:
    """Click's own parse-time errors come out like the others with --json: one JSON object on
    stderr, exit 2, nothing on stdout."""
    result = cli(*args)
    assert result.exit_code == 2 and result.stdout == ""
    error = json.loads(result.stderr)
    assert set(error) == {"error", "status_code"} and error["status_code"] is None
    assert error["error"].startswith(message), error


def test_usage_errors_without_json_stay_click_text(cli: Any) -> None:
    """Without --json (or with it only after ``--``), a usage error is click's usage text."""
    for args in (["tasks", "get", "1", "--bogus"], ["tasks", "get", "--", "--json"]):
        result = cli(*args)
        assert result.exit_code == 2 and result.stderr.startswith("Usage: "), result.stderr


@pytest.mark.parametrize("as_json", [True, False])
def test_usage_errors_never_quote_the_key(cli: Any, server: LocalServer, as_json: bool) -> None:
    """A key typed where something else was expected is not repeated in the error (from the
    environment, --api-key or --api-key=)."""
    key = server.api_key
    flag = ["--json"] if as_json else []
    Path(".env").write_text("TASKMANAGER_API_KEY=dotenv-key-3\n", encoding="utf-8")  # the real variable wins
    for args in (
        ["tasks", "get", key, *flag],
        ["tasks", "claim", T, "--api-key", "other-key-1", "--policy", "other-key-1", *flag],
        ["tasks", "get", "--api-key=other-key-2", *flag, "--", "other-key-2"],
        ["tasks", "claim", T, "--policy", key, *flag],
        ["health", key, *flag],
        ["health", "dotenv-key-3", *flag],
    ):
        result = cli(*args)
        assert result.exit_code == 2, result.output
        shown = result.stdout + result.stderr
        assert key not in shown and "other-key" not in shown and "dotenv-key" not in shown, shown
        assert "<redacted>" in shown, shown
        if as_json:
            assert set(json.loads(result.stderr)) == {"error", "status_code"}


def test_migrate_errors_are_json_with_json(cli: Any, tmp_path: Path) -> None:
    """migrate --json reports its own refusals as JSON on stderr too (exit 2)."""
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    for args in (
        ["migrate", str(empty), "--json"],  # no task_queue table
        ["migrate", str(empty), "--status", "queued", "--all-statuses", "--json"],
        ["migrate", str(empty), "--map", "no-equals-sign", "--json"],
    ):
        result = cli(*args)
        assert result.exit_code == 2 and result.stdout == "", result.output
        error = json.loads(result.stderr)
        assert set(error) == {"error", "status_code"} and error["error"], error


def test_every_command_indents_json_alike(cli: Any, client: TaskManagerClient) -> None:
    task_id = client.create_task(T, {"i": 1}).id
    outputs = [
        cli("health", "--json"),
        cli("types", "get", T, "--json"),
        cli("types", "list", "--json"),
        cli("tasks", "create", T, "--params", '{"i": 2}', "--json"),
        cli("tasks", "get", str(task_id), "--json"),
        cli("tasks", "list", "--json"),
        cli("tasks", "claim", T, "--worker-id", "w", "--json"),
        cli("tasks", "complete", str(task_id), "--worker-id", "w", "--json"),
        cli("stats", "--json"),
    ]
    for result in outputs:
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert result.stdout == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def test_stats_json_has_zero_counts_everywhere(cli: Any, client: TaskManagerClient) -> None:
    client.create_task(T, {"i": 1})
    data = json.loads(cli("stats", "--json").stdout)
    assert data["by_status"] == {"pending": 1, "claimed": 0, "completed": 0, "failed": 0}
    assert data["by_type"] == {T: {"pending": 1, "claimed": 0, "completed": 0, "failed": 0}}


def test_tasks_wait_prints_the_result(cli: Any, client: TaskManagerClient) -> None:
    task_id = client.create_task(T, {"i": 1}).id
    claimed = client.claim_task(T, worker_id="w")
    assert claimed is not None
    client.complete_task(task_id, worker_id="w", result={"answer": 42})
    done = cli("tasks", "wait", str(task_id), "--timeout", "5")
    assert done.exit_code == 0 and json.loads(done.stdout) == {"answer": 42}
    assert json.loads(cli("tasks", "wait", str(task_id), "--json").stdout)["status"] == "completed"


def test_tasks_wait_fails_and_times_out(cli: Any, client: TaskManagerClient) -> None:
    failing = client.create_task(T, {"i": "fails"}).id
    for _ in range(3):
        claimed = client.claim_task(T, worker_id="w")
        assert claimed is not None and claimed.id == failing
        client.fail_task(claimed.id, worker_id="w", error="boom")
    failed = cli("tasks", "wait", str(failing), "--timeout", "5")
    assert "failed after 3 attempts: boom" in _one_line_error(failed, 1)
    pending = client.create_task(T, {"i": "pending"}).id
    timed_out = cli("tasks", "wait", str(pending), "--timeout", "0.3", "--interval", "0.1")
    assert "still pending" in _one_line_error(timed_out, 1)


def test_python_m_taskmanager_is_the_command(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "taskmanager", "tasks", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.startswith("Usage: taskmanager tasks")
    assert "wait" in proc.stdout


@contextlib.contextmanager
def _nothing_listening() -> Iterator[str]:
    yield f"http://127.0.0.1:{_closed_port()}/api"


@contextlib.contextmanager
def _accepts_never_answers() -> Iterator[str]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # never accepted: connects succeed, no byte ever comes back
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api"


@pytest.mark.parametrize(
    ("api", "api_wait", "bound", "reason", "min_lines"),
    [
        # one warning that it does not answer, then the error
        pytest.param(_nothing_listening, "1.5", 60, "connection failed", 2, id="nothing-listening"),
        # the probe's own timeout kept within --api-wait (not the client's 30 s): ends within 25 s
        pytest.param(_accepts_never_answers, "1", 25, "no reply in time", 1, id="accepts-never-answers"),
    ],
)
def test_burst_against_an_api_that_never_answers_ends(
    tmp_path: Path,
    api: Callable[[], contextlib.AbstractContextManager[str]],
    api_wait: str,
    bound: float,
    reason: str,
    min_lines: int,
) -> None:
    """--burst with an API that never answers (nothing listens, or a port accepts and never
    replies): exit 1 after --api-wait, at most one log line before the error, no traceback
    (python -m taskmanager)."""
    _module(tmp_path, "habits_down", "def resize(task):\n    return None\n")
    with api() as url:
        env = {**os.environ, "TASKMANAGER_API_URL": url, "TASKMANAGER_API_KEY": "k"}
        args = [sys.executable, "-m", "taskmanager", "worker", "run", "habits_down:resize", "--type", T]
        proc = subprocess.run(
            [*args, "--burst", "--api-wait", api_wait],
            capture_output=True,
            text=True,
            timeout=bound,
            env=env,
            cwd=tmp_path,
        )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert lines[-1].startswith("Error: the API at http://127.0.0.1:"), lines
    assert f"did not answer within {api_wait}s" in lines[-1] and reason in lines[-1], lines
    assert all("does not answer" in line for line in lines[:-1]), lines
    assert min_lines <= len(lines) <= 2, lines  # the warning, the error: nothing per retry
