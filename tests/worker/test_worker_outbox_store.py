"""The outbox file: rows it cannot use are set aside (kept, never deleted), files that are not an
outbox are refused before anything runs."""

from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from contextlib import closing
from pathlib import Path

import pytest

from taskmanager import TaskManagerValidationError
from taskmanager._worker import Worker
from taskmanager._worker_outbox_store import FileStore, Outcome

from .worker_fakes import FakeClient, RecordingSleep

T = "Test.OutboxFile"
WAIT = 10

# Rows an earlier process (or a hand, or a disk) could have left, each unusable in its own way:
# (task_id, worker_id, task_type, ok, result, error, counted) as SQL expressions.
BAD_ROWS = {
    "result-not-json": "7, 'w-old', 'T', 1, '{not json', NULL, 1",
    "result-too-deep": f"8, 'w-old', 'T', 1, '{'[' * 100_000}{']' * 100_000}', NULL, 1",
    "result-not-an-object": "9, 'w-old', 'T', 1, '[1,2]', NULL, 1",
    "task-id-text": "'abc', 'w-old', 'T', 1, '{}', NULL, 1",
    "task-id-real": "10.5, 'w-old', 'T', 0, NULL, 'boom', 1",
    "task-id-negative": "-5, 'w-old', 'T', 0, NULL, 'boom', 1",
    "worker-id-not-utf8": "11, CAST(X'FF' AS TEXT), 'T', 0, NULL, 'boom', 1",
    "worker-id-empty": "14, ' ', 'T', 0, NULL, 'boom', 1",
    "ok-not-a-flag": "12, 'w-old', 'T', 'yes', NULL, NULL, 1",
    "error-not-text": "13, 'w-old', 'T', 0, NULL, X'FF', 1",
}


def _insert(path: Path, values: str) -> None:
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(f"INSERT INTO outcomes VALUES ({values}, 0)")


def _rows(path: Path, table: str) -> int:
    with closing(sqlite3.connect(path)) as db:
        count: int = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        return count


# What the quarantine table says of some of them (the reason column).
REASONS = {"worker-id-not-utf8": "is not UTF-8 text", "worker-id-empty": "worker id ' ' is empty"}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_bad_row_is_set_aside_and_the_good_ones_delivered(
    tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker starts, logs the bad row once, keeps it in the file's quarantine table, counts
    it, delivers the good saved outcome and goes on claiming."""
    values = BAD_ROWS[case]
    path = tmp_path / "outbox.db"
    FileStore(path).close()
    _insert(path, values)
    fake = FakeClient()
    saved = fake.add(T, {"n": 1})
    saved.status, saved.claimed_by = "claimed", "w-old"
    _insert(path, f"{saved.id}, 'w-old', '{T}', 1, '{{\"n\": 1}}', NULL, 1")
    fresh = fake.add(T, {"n": 2})
    worker = Worker(fake, worker_id="w-new", sleep=RecordingSleep(), outbox=path)
    worker.add_handler(T, lambda task: {"n": task.params["n"]})
    with caplog.at_level(logging.WARNING, logger="taskmanager.worker"):
        stats = worker.run(burst=True, handle_signals=False)
    assert [(task.status, task.result) for task in (saved, fresh)] == [
        ("completed", {"n": 1}),
        ("completed", {"n": 2}),
    ]
    assert (stats.completed, stats.quarantined, stats.lost, stats.outbox_pending) == (2, 1, 0, 0)
    set_aside = [r.getMessage() for r in caplog.records if "quarantined_outcomes" in r.getMessage()]
    assert len(set_aside) == 1, set_aside
    assert (_rows(path, "outcomes"), _rows(path, "quarantined_outcomes")) == (0, 1)
    with closing(sqlite3.connect(path)) as db:
        kept = db.execute("SELECT CAST(result AS BLOB), reason FROM quarantined_outcomes").fetchone()
    original = values.split(", ")[4]
    assert kept[0] == (None if original == "NULL" else original.strip("'").encode())
    assert REASONS.get(case, "") in kept[1] and kept[1]
    # The next start finds nothing more to set aside: quarantined once, not on every start.
    again = Worker(fake, worker_id="w-new", sleep=RecordingSleep(), outbox=path)
    again.add_handler(T, lambda task: {})
    assert again.run(burst=True, handle_signals=False).quarantined == 0
    assert _rows(path, "quarantined_outcomes") == 1


def _text_file(path: Path) -> None:
    path.write_text("not a database at all\n" * 100)


def _other_outcomes_table(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE outcomes (id INTEGER, what TEXT)")


def _extra_column(path: Path) -> None:
    FileStore(path).close()
    with closing(sqlite3.connect(path)) as db:
        db.execute("ALTER TABLE outcomes ADD COLUMN note TEXT")


def _someone_elses_database(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE users (name TEXT)")


@pytest.mark.parametrize("make", [_text_file, _other_outcomes_table, _extra_column, _someone_elses_database])
def test_a_file_that_is_not_an_outbox_is_refused_before_claiming(tmp_path: Path, make: object) -> None:
    """Not SQLite, or SQLite with another schema: run() raises one TaskManagerValidationError
    naming the file, before any claim, and leaves the file as it was."""
    path = tmp_path / "outbox.db"
    make(path)  # type: ignore[operator]
    before = path.read_bytes()
    fake = FakeClient()
    fake.add(T, {})
    worker = Worker(fake, sleep=RecordingSleep(), outbox=path)
    worker.add_handler(T, lambda task: {})
    with pytest.raises(TaskManagerValidationError, match="outbox") as caught:
        worker.run(burst=True, handle_signals=False)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert fake.calls == [] and fake.tasks[1].status == "pending"
    assert path.read_bytes() == before


def test_store_reads_back_what_it_saved(tmp_path: Path) -> None:
    """A round trip through the file keeps every field (the saved flag set)."""
    path = tmp_path / "outbox.db"
    store = FileStore(path)
    done = Outcome(task_id=3, task_type=T, worker_id="w", ok=True, result={"a": [1, 2.5, None]})
    failed = Outcome(task_id=4, task_type=T, worker_id="w", ok=False, error="boom", counted=False)
    store.put(done)
    store.put(failed)
    store.close()
    store = FileStore(path)
    try:
        assert store.saved() == [
            Outcome(task_id=3, task_type=T, worker_id="w", ok=True, result={"a": [1, 2.5, None]}, saved=True),
            Outcome(task_id=4, task_type=T, worker_id="w", ok=False, error="boom", counted=False, saved=True),
        ]
    finally:
        store.close()


def test_a_second_running_worker_on_the_same_file_is_refused(tmp_path: Path) -> None:
    """While one worker runs on a file, another one started on it (same process here) is refused
    at start, before it claims or replays anything; once the first ends, the file is free again."""
    path = tmp_path / "outbox.db"
    fake = FakeClient()
    fake.add(T, {"n": 1})
    running, release = threading.Event(), threading.Event()

    def hold(task: object) -> dict[str, int]:
        running.set()
        assert release.wait(WAIT)
        return {"n": 1}

    first = Worker(fake, worker_id="w-first", concurrency=1, sleep=RecordingSleep(), outbox=path)
    first.add_handler(T, hold)
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(first.run(burst=True, handle_signals=False)))
    thread.start()
    try:
        assert running.wait(WAIT)
        fake.add(T, {"n": 2})
        second = Worker(fake, worker_id="w-second", sleep=RecordingSleep(), outbox=path)
        second.add_handler(T, lambda task: {})
        calls = len(fake.calls)
        with pytest.raises(TaskManagerValidationError, match="in use by another running worker") as caught:
            second.run(burst=True, handle_signals=False)
        assert "\n" not in str(caught.value) and str(path) in str(caught.value)
        assert len(fake.calls) == calls and fake.tasks[2].status == "pending"
    finally:
        release.set()
        thread.join(WAIT)
    assert not thread.is_alive() and len(results) == 1
    fake.add(T, {"n": 3})
    assert second.run(burst=True, handle_signals=False).completed == 1


_HOLDER = textwrap.dedent(
    """
    import sys, threading
    from taskmanager._worker_outbox_store import FileStore
    store = FileStore(sys.argv[1])
    print("holding", flush=True)
    threading.Event().wait()
    """
)


def test_a_lock_left_by_a_killed_worker_does_not_block_the_next_start(tmp_path: Path) -> None:
    """Another process holding the file refuses this one; once that process is killed
    (SIGKILL: no clean-up ran), the next worker starts on the file at once."""
    path = tmp_path / "outbox.db"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        fake = FakeClient()
        fake.add(T, {})
        worker = Worker(fake, sleep=RecordingSleep(), outbox=path)
        worker.add_handler(T, lambda task: {})
        with pytest.raises(TaskManagerValidationError, match="in use by another running worker"):
            worker.run(burst=True, handle_signals=False)
        assert fake.calls == []
    finally:
        holder.kill()
        holder.communicate(timeout=WAIT)
    assert holder.returncode == -signal.SIGKILL
    assert worker.run(burst=True, handle_signals=False).completed == 1
