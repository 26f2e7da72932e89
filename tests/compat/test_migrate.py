"""`taskmanager migrate`: a legacy task_queue moves to the TaskManager; the old file is untouched."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from taskmanager import TaskManagerClient, TaskStatus
from taskmanager._cli import main
from taskmanager._migrate import (
    MigrationInputError,
    migrate_rows,
    read_legacy_queue,
    read_mapping,
    read_schema_file,
)
from taskmanager.server import LocalServer

CHANNEL = "PrismQ.YouTube.Channel.Scrape"
VIDEO = "PrismQ.YouTube.Video.Scrape"

# The registration dict of the old migration guide: old name -> new definition.
SCHEMAS = {
    "youtube_channel_scrape": {
        "name": CHANNEL,
        "version": "1.0.0",
        "param_schema": {
            "type": "object",
            "properties": {"channel_url": {"type": "string"}},
            "required": ["channel_url"],
        },
    },
    "youtube_video_scrape": {
        "name": VIDEO,
        "version": "1.0.0",
        "param_schema": {
            "type": "object",
            "properties": {"video_url": {"type": "string"}},
            "required": ["video_url"],
        },
    },
}

ROWS: list[tuple[str, Any, str]] = [
    ("youtube_channel_scrape", {"channel_url": "https://youtube.com/@a"}, "queued"),  # created
    ("youtube_channel_scrape", {"channel_url": "https://youtube.com/@b", "top_n": 5}, "pending"),  # created
    ("youtube_video_scrape", {"video_url": "https://youtu.be/v"}, "queued"),  # created
    ("youtube_channel_scrape", {"channel_url": "https://youtube.com/@a"}, "queued"),  # duplicate of row 1
    ("youtube_channel_scrape", {"top_n": 5}, "queued"),  # the schema refuses it: no channel_url
    ("youtube_video_scrape", {"video_url": "https://youtu.be/w"}, "completed"),  # skipped
    ("youtube_channel_scrape", {"channel_url": "https://youtube.com/@c"}, "failed"),  # skipped
    ("youtube_channel_scrape", "{'channel_url': 'https://youtube.com/@d'}", "queued"),  # str(dict): created
    ("youtube_video_scrape", "not json", "queued"),  # refused before sending
]


def build_legacy_db(path: Path) -> Path:
    """The old queue's table, as the old worker API created and filled it."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE task_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, task_type TEXT NOT NULL, "
        "parameters TEXT NOT NULL, priority INTEGER DEFAULT 5, status TEXT DEFAULT 'queued', "
        "claimed_by TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
    )
    for n, (task_type, params, status) in enumerate(ROWS):
        text = params if isinstance(params, str) else json.dumps(params)
        stamp = f"2025-11-12T08:00:{n:02d}"
        conn.execute(
            "INSERT INTO task_queue (task_type, parameters, priority, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (task_type, text, 5 + n % 3, status, stamp, stamp),
        )
    conn.commit()
    conn.close()
    return path


def digest(folder: Path) -> dict[str, str]:
    """Every file of the folder and its bytes' hash (a -journal or -wal file would show too)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    (tmp_path / "old").mkdir()
    return build_legacy_db(tmp_path / "old" / "worker_queue.db")


@pytest.fixture
def schema_file(tmp_path: Path) -> Path:
    path = tmp_path / "schemas.json"
    path.write_text(json.dumps(SCHEMAS), encoding="utf-8")
    return path


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["migrate", *args, "--json"])


def summary(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_migrate_into_local_mode_twice(legacy: Path, schema_file: Path, tmp_path: Path) -> None:
    """First run: 4 created, 1 already there, 2 skipped, 2 refused (with reasons); then nothing new."""
    before = digest(legacy.parent)
    target = tmp_path / "data" / "queue.db"
    first = run_cli(str(legacy), "--schema", str(schema_file), "--local", str(target))
    assert first.exit_code == 1, first.output  # rows were refused: the run says so
    report = summary(first)
    assert report["registered"] == [CHANNEL, VIDEO]
    assert (report["rows"], report["created"], report["already_there"]) == (9, 4, 1)
    assert (report["skipped_by_status"], report["duplicates_in_old_queue"]) == (2, 1)
    refused = {r["row"]: r for r in report["refused"]}
    assert sorted(refused) == [5, 9]
    assert refused[5]["type"] == CHANNEL and "channel_url" in refused[5]["reason"]
    assert "neither JSON nor a Python dict" in refused[9]["reason"]

    second = summary(run_cli(str(legacy), "--schema", str(schema_file), "--local", str(target)))
    assert (second["created"], second["already_there"], len(second["refused"])) == (0, 5, 2)
    assert digest(legacy.parent) == before

    with TaskManagerClient.local(target) as client:
        tasks = client.list_tasks(limit=100)
        assert sorted((t.type, t.status) for t in tasks) == sorted(
            [(CHANNEL, TaskStatus.PENDING)] * 3 + [(VIDEO, TaskStatus.PENDING)]
        )
        claimed = client.claim_task(CHANNEL)  # oldest first: row 1's params
        assert claimed is not None and claimed["params"] == {"channel_url": "https://youtube.com/@a"}


def test_dry_run_changes_nothing(legacy: Path, schema_file: Path, tmp_path: Path) -> None:
    """--dry-run reads and checks, creates no file and no task."""
    before = digest(legacy.parent)
    target = tmp_path / "q.db"
    result = run_cli(str(legacy), "--schema", str(schema_file), "--local", str(target), "--dry-run")
    report = summary(result)
    assert report["dry_run"] is True and report["created"] == 0
    assert (report["skipped_by_status"], len(report["refused"]), report["duplicates_in_old_queue"]) == (
        2,
        1,
        1,
    )
    assert not target.exists()
    assert digest(legacy.parent) == before


def test_migrate_against_the_api_with_map_and_statuses(legacy: Path) -> None:
    """Against a server URL: --map names the new types, --status picks which rows move."""
    with LocalServer(api_key="k") as server, TaskManagerClient(api_url=server.url, api_key="k") as client:
        for definition in SCHEMAS.values():
            client.register_task_type(definition["name"], definition["version"], definition["param_schema"])
        args = ["--api-url", server.url, "--api-key", "k", "--status", "completed", "--status", "FAILED"]
        maps = ["--map", f"youtube_channel_scrape={CHANNEL}", "--map", f"youtube_video_scrape={VIDEO}"]
        result = run_cli(str(legacy), *args, *maps)
        assert result.exit_code == 0, result.output
        report = summary(result)
        assert (report["created"], report["skipped_by_status"], report["refused"]) == (2, 7, [])
        assert sorted(t.type for t in client.list_tasks()) == [CHANNEL, VIDEO]


def test_unmapped_type_is_refused_by_the_server(legacy: Path) -> None:
    """Without a mapping the old names are sent as they are; the server's not-found is the reason."""
    with LocalServer(api_key="k") as server, TaskManagerClient(api_url=server.url, api_key="k") as client:
        rows, columns = read_legacy_queue(legacy)
        assert {"task_type", "parameters", "priority", "status", "created_at", "updated_at"} <= set(columns)
        report = migrate_rows(client, rows, mapping={}, statuses=None)
    assert report.created == 0 and len(report.refused) == 9
    assert all("not found" in reason.lower() or "JSON" in reason for _, _, reason in report.refused)


def test_legacy_queue_without_status_column(tmp_path: Path) -> None:
    """A table with no status column: every row moves."""
    path = tmp_path / "plain.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE task_queue (task_type TEXT, parameters TEXT, created_at TEXT)")
    conn.execute("INSERT INTO task_queue VALUES ('t', '{\"a\": 1}', '2025-01-01')")
    conn.commit()
    conn.close()
    rows, _ = read_legacy_queue(path)
    assert [(r.task_type, r.params, r.status) for r in rows] == [("t", {"a": 1}, None)]
    assert migrate_rows(None, rows, mapping={}, dry_run=True).to_create == 1


@pytest.mark.parametrize(
    "setup",
    ["CREATE TABLE other (x)", "CREATE TABLE task_queue (name TEXT, parameters TEXT)"],
)
def test_unusable_legacy_files_are_clear_errors(tmp_path: Path, setup: str) -> None:
    """No task_queue table, or no type column: a MigrationInputError naming what is missing."""
    path = tmp_path / "x.db"
    conn = sqlite3.connect(path)
    conn.execute(setup)
    conn.close()
    with pytest.raises(MigrationInputError, match="task_queue"):
        read_legacy_queue(path)
    not_sqlite = tmp_path / "text.db"
    not_sqlite.write_text("hello, not a database" * 100)
    with pytest.raises(MigrationInputError):
        read_legacy_queue(not_sqlite)


def test_mapping_and_schema_files(tmp_path: Path) -> None:
    """Mapping files (old=new lines or JSON) and the schema file shapes."""
    lines = tmp_path / "map.txt"
    lines.write_text(f"# old=new\nyoutube_channel_scrape={CHANNEL}\n\n", encoding="utf-8")
    as_json = tmp_path / "map.json"
    as_json.write_text(json.dumps({"youtube_video_scrape": VIDEO}), encoding="utf-8")
    assert read_mapping(lines) == {"youtube_channel_scrape": CHANNEL}
    assert read_mapping(as_json) == {"youtube_video_scrape": VIDEO}
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([{"name": CHANNEL, "version": "2", "param_schema": {"type": "object"}}]))
    definitions, implied = read_schema_file(listed)
    assert [(d.name, d.version) for d in definitions] == [(CHANNEL, "2")] and implied == {}
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"x": {"version": 1}}))
    with pytest.raises(MigrationInputError, match="param_schema"):
        read_schema_file(broken)


def test_bad_map_option_is_a_usage_error(legacy: Path) -> None:
    """--map without '=' exits 2 and sends nothing."""
    result = CliRunner().invoke(main, ["migrate", str(legacy), "--map", "nonsense", "--dry-run"])
    assert result.exit_code == 2 and "OLD=NEW" in result.output


def test_hostile_params_are_refused_rows_not_crashes(tmp_path: Path) -> None:
    """Params nested 100,000 deep, a JSON list, binary junk or a 5000-digit integer: each row is
    refused with a reason."""
    path = tmp_path / "hostile.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE task_queue (task_type TEXT, parameters BLOB, status TEXT)")
    deep, long_int = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", '{"a": ' + "9" * 5000 + "}"
    for params in (deep, "[1, 2]", b"\xff\xfe", "{'a': __import__('os')}", None, long_int):
        conn.execute("INSERT INTO task_queue VALUES ('t', ?, 'queued')", (params,))
    conn.execute("INSERT INTO task_queue VALUES (NULL, '{\"a\": 1}', 'queued')")
    conn.commit()
    conn.close()
    rows, _ = read_legacy_queue(path)
    report = migrate_rows(None, rows, mapping={}, dry_run=True)
    assert report.to_create == 0 and len(report.refused) == 7
    reasons = [why for _, _, why in report.refused]
    assert "nested more than 508 levels deep" in reasons[0] and "list" in reasons[1] and "UTF-8" in reasons[2]
    assert "neither JSON" in reasons[3] and "not text" in reasons[4]
    assert "an integer of more than 4300 digits" in reasons[5] and reasons[6] == "no task type"
