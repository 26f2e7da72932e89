"""The command line against a local server: output, --json, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from taskmanager import set_testing
from taskmanager._cli import main
from taskmanager.server import LocalServer

T = "Test.Cli.Resize"
SCHEMA = {"type": "object", "properties": {"image": {"type": "string"}}, "required": ["image"]}


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer(api_key="cli-key") as srv:
        yield srv


@pytest.fixture
def cli(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TASKMANAGER_API_URL", server.url)
    monkeypatch.setenv("TASKMANAGER_API_KEY", server.api_key)
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def schema_file(tmp_path: Path) -> str:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA))
    return str(path)


@pytest.fixture
def registered(cli: Any, schema_file: str) -> str:
    assert cli("types", "register", T, "--schema", schema_file).exit_code == 0
    return T


def test_health_table_and_json(cli: Any) -> None:
    """health prints a table, or JSON with --json."""
    table = cli("health")
    assert table.exit_code == 0 and "healthy" in table.output and "connected" in table.output
    data = json.loads(cli("health", "--json").output)
    assert (data["ok"], data["status"], data["database"]) == (True, "healthy", "connected")


def test_types_register_get_list(cli: Any, schema_file: str) -> None:
    """types register creates then updates; get shows the schema; list includes it."""
    first = cli("types", "register", T, "--schema", schema_file, "--version", "2.0.0")
    assert first.exit_code == 0 and first.output.startswith(f"registered task type {T} 2.0.0")
    assert cli("types", "register", T, "--schema", schema_file).output.startswith("updated")
    got = cli("types", "get", T)
    assert got.exit_code == 0 and '"required": [' in got.output
    listed = json.loads(cli("types", "list", "--json").output)
    assert [t["name"] for t in listed] == [T]


def test_tasks_create_shows_dedupe(cli: Any, registered: str, tmp_path: Path) -> None:
    """Creating the same params twice (inline JSON, then @file) gives the same task."""
    first = cli("tasks", "create", registered, "--params", '{"image": "a.png"}')
    assert first.exit_code == 0 and first.output.strip() == f"task 1 {registered}: created"
    params_file = tmp_path / "params.json"
    params_file.write_text('{"image": "a.png"}')
    again = cli("tasks", "create", registered, "--params", f"@{params_file}")
    assert again.output.strip() == f"task 1 {registered}: already exists (pending); it will run"
    data = json.loads(
        cli("tasks", "create", registered, "--params", "@-", "--json", input='{"image": "b"}').output
    )
    assert (data["id"], data["status"], data["created"]) == (2, "pending", True)


def test_claim_complete_fail_cycle(cli: Any, registered: str) -> None:
    """claim, progress through complete and fail, with the server's outcome printed."""
    for image in ("a", "b"):
        cli("tasks", "create", registered, "--params", json.dumps({"image": image}))
    claimed = json.loads(cli("tasks", "claim", registered, "--worker-id", "w1", "--json").output)
    assert (claimed["id"], claimed["attempts"], claimed["worker_id"]) == (1, 1, "w1")
    done = cli("tasks", "complete", "1", "--worker-id", "w1", "--result", '{"ok": true}')
    assert (done.exit_code, done.output.strip()) == (0, "task 1: completed")
    assert cli("tasks", "claim", registered, "--worker-id", "w1", "--policy", "lifo").exit_code == 0
    failed = cli("tasks", "fail", "2", "--worker-id", "w1", "--error", "broken image")
    assert failed.output.strip() == "task 2: pending (retry)"
    task = json.loads(cli("tasks", "get", "2", "--json").output)
    assert (task["status"], task["error_message"]) == ("pending", "broken image")
    shown = cli("tasks", "get", "1")
    assert "completed" in shown.output and '{"ok":true}' in shown.output


def test_claim_with_nothing_to_claim_exits_zero(cli: Any, registered: str) -> None:
    """An empty queue is not an error: 'nothing to claim', or null with --json."""
    assert cli("tasks", "claim", registered).output.strip() == "nothing to claim"
    assert cli("tasks", "claim", registered, "--json").output.strip() == "null"


def test_tasks_list_filters(cli: Any, registered: str) -> None:
    """tasks list filters by status and limits the rows."""
    for image in ("a", "b", "c"):
        cli("tasks", "create", registered, "--params", json.dumps({"image": image}))
    cli("tasks", "claim", registered, "--worker-id", "w1")
    pending = json.loads(cli("tasks", "list", "--status", "pending", "--json").output)
    assert sorted(t["id"] for t in pending) == [2, 3]
    table = cli("tasks", "list", "--limit", "1")
    assert table.exit_code == 0 and len(table.output.strip().splitlines()) == 3  # header, rule, one row


def test_stats_counts_and_workers(cli: Any, registered: str) -> None:
    """stats counts tasks by status and type, and lists workers holding claims."""
    for image in ("a", "b", "c"):
        cli("tasks", "create", registered, "--params", json.dumps({"image": image}))
    cli("tasks", "claim", registered, "--worker-id", "w-busy")
    data = json.loads(cli("stats", "--json").output)
    assert data["total"] == 3
    assert data["by_status"] == {"pending": 2, "claimed": 1, "completed": 0, "failed": 0}
    assert data["by_type"] == {registered: {"pending": 2, "claimed": 1, "completed": 0, "failed": 0}}
    assert data["workers"] == {"w-busy": 1}
    table = cli("stats").output
    assert "w-busy" in table and registered in table


def test_api_errors_exit_1_with_one_line(cli: Any, registered: str) -> None:
    """Server errors: exit 1 and the server's message on one line."""
    missing = cli("tasks", "get", "999")
    assert missing.exit_code == 1
    unknown_type = cli("tasks", "create", "No.Such.Type", "--params", '{"a": 1}')
    assert unknown_type.exit_code == 1
    assert "Task type not found" in unknown_type.output and len(unknown_type.output.strip().splitlines()) == 1
    cli("tasks", "create", registered, "--params", '{"image": "a"}')
    cli("tasks", "claim", registered, "--worker-id", "w1")
    stolen = cli("tasks", "complete", "1", "--worker-id", "w2")
    assert stolen.exit_code == 1 and "Task is claimed by another worker" in stolen.output
    invalid = cli("tasks", "create", registered, "--params", '{"image": 5}')
    assert invalid.exit_code == 1 and "Parameter validation failed" in invalid.output


def test_wrong_key_exits_1(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong API key is an API error (401), and the key is not printed."""
    monkeypatch.setenv("TASKMANAGER_API_KEY", "wrong-secret-key")
    result = cli("tasks", "list")
    assert result.exit_code == 1 and "wrong-secret-key" not in result.output


def test_unreachable_server_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """No server at the URL: exit 1 with a one-line connection error."""
    set_testing(True)
    try:
        result = CliRunner().invoke(main, ["health", "--api-url", "http://127.0.0.1:9/api", "--api-key", "k"])
    finally:
        set_testing(False)
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["tasks", "get", "abc"],
        ["tasks", "list", "--limit", "0"],
        ["tasks", "list", "--status", "running"],
        ["tasks", "create", "X", "--params", "{not json"],
        ["tasks", "create", "X", "--params", "[1, 2]"],
        ["tasks", "create", "X", "--params", "@/no/such/file.json"],
        ["tasks", "complete", "1"],
        ["worker", "run", "no_colon_here"],
        ["nosuchcommand"],
    ],
)
def test_usage_errors_exit_2(cli: Any, args: list[str]) -> None:
    """Bad options, unreadable or invalid JSON input: exit code 2."""
    assert cli(*args).exit_code == 2


def test_input_refused_before_sending_exits_2(cli: Any, registered: str) -> None:
    """Params the client refuses to send (an empty object cannot travel) are a usage error."""
    result = cli("tasks", "create", registered, "--params", "{}")
    assert result.exit_code == 2


def test_worker_run_module_attr(
    cli: Any, registered: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """worker run MODULE:ATTR --burst runs a handler mapping from the current directory."""
    (tmp_path / "cli_handlers_mod.py").write_text(
        textwrap.dedent(
            """
            def resize(task):
                return {"resized": task.params["image"]}

            HANDLERS = {"Test.Cli.Resize": resize}
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    for image in ("a", "b"):
        cli("tasks", "create", registered, "--params", json.dumps({"image": image}))
    result = cli("worker", "run", "cli_handlers_mod:HANDLERS", "--burst", "--concurrency", "2")
    assert result.exit_code == 0, result.output
    assert json.loads(cli("tasks", "get", "2", "--json").output)["result"] == {"resized": "b"}
    counters = result.output.strip().splitlines()[-1].split()
    assert counters[:3] == ["2", "2", "0"]  # claimed, completed, failed


def test_worker_run_rejects_non_worker(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A TARGET that is not a Worker, a factory or a mapping is a usage error."""
    (tmp_path / "cli_not_worker_mod.py").write_text("VALUE = 42\n")
    monkeypatch.chdir(tmp_path)
    result = cli("worker", "run", "cli_not_worker_mod:VALUE")
    assert result.exit_code == 2 and "is not a Worker" in result.output


def test_stats_watch_redraws_until_ctrl_c(cli: Any, registered: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """stats --watch draws, waits, draws again; Ctrl+C ends it with exit 0."""
    import taskmanager._cli as cli_module

    waits: list[float] = []

    def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "_watch_sleep", fake_sleep)
    result = cli("stats", "--watch", "--interval", "0.5", "--json")
    assert result.exit_code == 0 and waits == [0.5, 0.5]
    decoder, text, totals = json.JSONDecoder(), result.output, []
    while text.strip():
        document, end = decoder.raw_decode(text.lstrip())
        totals.append(document["total"])
        text = text.lstrip()[end:]
    assert totals == [0, 0]
