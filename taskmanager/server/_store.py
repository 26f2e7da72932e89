"""SQLite storage for the local server.

One connection guarded by one lock: every operation is a short transaction run while holding
the lock, so a claim (select + update) is atomic and identical creates cannot race. That also
makes ``:memory:`` work (several connections to ``:memory:`` would be several databases).
Timestamps are stored as whole unix seconds, like the real server's DATETIME columns.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["SORT_COLUMNS", "Store", "fold_name", "mysql_number"]

# Claim sort keys the real server accepts.
SORT_COLUMNS = ("created_at", "priority", "id", "attempts")
TYPE_SORT_COLUMNS = ("id", "name", "version", "created_at", "updated_at", "usage_count")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS task_types (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    version TEXT NOT NULL,
    param_schema TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type_id INTEGER NOT NULL REFERENCES task_types(id),
    status TEXT NOT NULL,
    params TEXT,
    dedupe_key TEXT NOT NULL UNIQUE,
    priority INTEGER NOT NULL DEFAULT 0,
    progress INTEGER NOT NULL DEFAULT 0,
    progress_message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    claimed_at INTEGER,
    completed_at INTEGER,
    created_at INTEGER NOT NULL,
    result TEXT,
    error_message TEXT
);
-- Partial indexes: a row is in the pending (claimed) ones only while it is pending (claimed),
-- so finishing a task touches few pages; each orders by its claim sort key, then id (rowid).
CREATE INDEX IF NOT EXISTS tasks_pending_id ON tasks (type_id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS tasks_pending_created ON tasks (type_id, created_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS tasks_pending_priority ON tasks (type_id, priority)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS tasks_claimed ON tasks (type_id, claimed_at) WHERE status = 'claimed';
CREATE INDEX IF NOT EXISTS tasks_created ON tasks (created_at);
"""

_TASK_COLUMNS = (
    "t.id, tt.name, t.status, t.params, t.result, t.error_message, t.priority, t.progress, "
    "t.attempts, t.claimed_by, t.claimed_at, t.completed_at, t.created_at"
)
_SUMMARY_COLUMNS = (
    "t.id, tt.name, t.status, t.priority, t.progress, t.attempts, t.claimed_by, t.created_at, t.completed_at"
)
_MYSQL_NUMBER = re.compile(r"[ \t\n\r\v\f]*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")


def fold_name(name: str) -> str:
    """The comparison key of a type name: case- and accent-insensitive, like MySQL's *_unicode_ci."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold().rstrip(" ")


def mysql_number(text: str) -> float:
    """What MySQL makes of a string compared with a number: its numeric prefix, else 0."""
    match = _MYSQL_NUMBER.match(text)
    if match is None:
        return 0.0
    return float(match.group(1))


class Store:
    """All state of the local server; every public method is one atomic operation."""

    def __init__(
        self,
        path: str,
        *,
        clock: Callable[[], float],
        claim_timeout: int,
        max_attempts: int,
    ) -> None:
        self.clock = clock
        self.claim_timeout = claim_timeout
        self.max_attempts = max_attempts
        self.lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, cached_statements=256)
        self._db.execute("PRAGMA busy_timeout = 5000")
        if path != ":memory:" and not path.startswith("file::memory:"):
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def now(self) -> int:
        return int(self.clock() // 1)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- task types -------------------------------------------------------------------------

    def register_type(self, name: str, version: str, schema_json: str) -> tuple[int, bool]:
        """Create or update a type by (folded) name; returns (id, created)."""
        now = self.now()
        key = fold_name(name)
        with self._write() as db:
            row = db.execute("SELECT id FROM task_types WHERE name_key = ?", (key,)).fetchone()
            if row is not None:
                db.execute(
                    "UPDATE task_types SET version = ?, param_schema = ?, updated_at = ? WHERE id = ?",
                    (version, schema_json, now, row[0]),
                )
                return int(row[0]), False
            cursor = db.execute(
                "INSERT INTO task_types (name, name_key, version, param_schema, is_active, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
                (name, key, version, schema_json, now, now),
            )
            return int(cursor.lastrowid or 0), True

    def get_type(self, name: str) -> tuple[Any, ...] | None:
        """(id, name, version, param_schema, is_active, created_at, updated_at) or None."""
        with self.lock:
            row: tuple[Any, ...] | None = self._db.execute(
                "SELECT id, name, version, param_schema, is_active, created_at, updated_at "
                "FROM task_types WHERE name_key = ?",
                (fold_name(name),),
            ).fetchone()
        return row

    def list_types(self, *, active_only: bool, sort_by: str, descending: bool) -> list[tuple[Any, ...]]:
        """Every type with its usage count (tasks of that type), ordered as asked."""
        if sort_by not in TYPE_SORT_COLUMNS:
            raise ValueError(sort_by)
        direction = "DESC" if descending else "ASC"
        where = "WHERE tt.is_active = 1" if active_only else ""
        sql = (
            "SELECT tt.id, tt.name, tt.version, tt.param_schema, tt.is_active, tt.created_at, "
            "tt.updated_at, (SELECT COUNT(*) FROM tasks t WHERE t.type_id = tt.id) AS usage_count "
            f"FROM task_types tt {where} ORDER BY {sort_by} {direction}, tt.id {direction}"
        )
        with self.lock:
            return list(self._db.execute(sql).fetchall())

    # -- tasks ------------------------------------------------------------------------------

    def create_task(
        self, name: str, prepare: Callable[[tuple[Any, ...] | None], tuple[int, str | None, str]]
    ) -> tuple[int, str, bool, str]:
        """Create a task of type ``name`` unless its dedupe key exists; (id, status, created, key).

        ``prepare`` gets the type row (id, name, version, param_schema, is_active, ...) or None,
        may raise to refuse, and returns (type id, params JSON, dedupe key). Lookup, check and
        insert are one transaction, so identical creates cannot both insert.
        """
        now = self.now()
        with self._write() as db:
            row = db.execute(
                "SELECT id, name, version, param_schema, is_active, created_at, updated_at "
                "FROM task_types WHERE name_key = ?",
                (fold_name(name),),
            ).fetchone()
            type_id, params_json, dedupe_key = prepare(row)
            found = db.execute("SELECT id, status FROM tasks WHERE dedupe_key = ?", (dedupe_key,)).fetchone()
            if found is not None:
                return int(found[0]), str(found[1]), False, dedupe_key
            cursor = db.execute(
                "INSERT INTO tasks (type_id, status, params, dedupe_key, created_at) "
                "VALUES (?, 'pending', ?, ?, ?)",
                (type_id, params_json, dedupe_key, now),
            )
            return int(cursor.lastrowid or 0), "pending", True, dedupe_key

    def claim_task(
        self,
        type_id: int,
        worker_id: str,
        *,
        sort_by: str,
        descending: bool,
        type_pattern: str | None,
    ) -> tuple[Any, ...] | None:
        """Claim the first pending (or timed-out claimed) task; (id, type, params, attempts, priority)."""
        if sort_by not in SORT_COLUMNS:
            raise ValueError(sort_by)
        now = self.now()
        # The real server compares whole-second DATETIMEs with "<": a claim can be taken over
        # between timeout and timeout + 1 seconds after it was made.
        cutoff = now - self.claim_timeout
        direction = "DESC" if descending else "ASC"
        order = f"ORDER BY {sort_by} {direction}, id {direction} LIMIT 1"
        with self._write() as db:
            if type_pattern is not None:
                match = db.execute(
                    "SELECT 1 FROM task_types WHERE id = ? AND name_key LIKE ? ESCAPE '\\'",
                    (type_id, fold_name(type_pattern)),
                ).fetchone()
                if match is None:
                    return None
            candidates = [
                db.execute(
                    f"SELECT {sort_by}, id FROM tasks WHERE type_id = ? AND status = 'pending' {order}",
                    (type_id,),
                ).fetchone(),
                db.execute(
                    f"SELECT {sort_by}, id FROM tasks WHERE type_id = ? AND status = 'claimed' "
                    f"AND claimed_at < ? {order}",
                    (type_id, cutoff),
                ).fetchone(),
            ]
            found = [c for c in candidates if c is not None]
            if not found:
                return None
            best = max(found) if descending else min(found)
            task_id = best[1]
            db.execute(
                "UPDATE tasks SET status = 'claimed', claimed_by = ?, claimed_at = ?, "
                "attempts = attempts + 1 WHERE id = ?",
                (worker_id, now, task_id),
            )
            row: tuple[Any, ...] = db.execute(
                "SELECT t.id, tt.name, t.params, t.attempts, t.priority FROM tasks t "
                "JOIN task_types tt ON tt.id = t.type_id WHERE t.id = ?",
                (task_id,),
            ).fetchone()
            return row

    @staticmethod
    def _task_id(id_text: str) -> int | None:
        number = mysql_number(id_text)
        if number < 1 or number != int(number) or number > 2**63:
            return None
        return int(number)

    def _owned(self, db: sqlite3.Connection, id_text: str, worker_id: str) -> tuple[str, Any]:
        task_id = self._task_id(id_text)
        row = None
        if task_id is not None:
            row = db.execute(
                "SELECT id, status, claimed_by, attempts FROM tasks WHERE id = ?", (task_id,)
            ).fetchone()
        if row is None:
            return "not_found", None
        if row[1] != "claimed":
            return "not_claimed", None
        if row[2] != worker_id:
            return "other_worker", None
        return "ok", row

    def update_progress(self, id_text: str, worker_id: str, progress: int, message: str | None) -> str:
        """Set the progress of a task the worker holds; returns "ok" or why not."""
        with self._write() as db:
            outcome, row = self._owned(db, id_text, worker_id)
            if outcome == "ok":
                db.execute(
                    "UPDATE tasks SET progress = ?, progress_message = ? WHERE id = ?",
                    (progress, message, row[0]),
                )
            return outcome

    def complete_task(
        self,
        id_text: str,
        worker_id: str,
        *,
        success: bool,
        result_json: str | None,
        error: str | None,
    ) -> str:
        """Finish a held task; returns the reply status ("completed", "failed", "pending (retry)")
        or why not ("not_found", "not_claimed", "other_worker")."""
        now = self.now()
        with self._write() as db:
            outcome, row = self._owned(db, id_text, worker_id)
            if outcome != "ok":
                return outcome
            if success:
                status, reply = "completed", "completed"
            elif row[3] >= self.max_attempts:
                status, reply = "failed", "failed"
            else:
                status, reply = "pending", "pending (retry)"
            if status == "pending":
                # A retry keeps result, error and completed_at of the failure, like the real one.
                db.execute(
                    "UPDATE tasks SET status = 'pending', claimed_by = NULL, claimed_at = NULL, "
                    "result = ?, error_message = ?, completed_at = ? WHERE id = ?",
                    (result_json, error, now, row[0]),
                )
            else:
                db.execute(
                    "UPDATE tasks SET status = ?, result = ?, error_message = ?, completed_at = ? "
                    "WHERE id = ?",
                    (status, result_json, error, now, row[0]),
                )
            return reply

    def get_task(self, id_text: str) -> tuple[Any, ...] | None:
        task_id = self._task_id(id_text)
        if task_id is None:
            return None
        with self.lock:
            row: tuple[Any, ...] | None = self._db.execute(
                f"SELECT {_TASK_COLUMNS} FROM tasks t JOIN task_types tt ON tt.id = t.type_id WHERE t.id = ?",
                (task_id,),
            ).fetchone()
        return row

    def list_tasks(
        self, *, status: str | None, type_name: str | None, limit: int, offset: int
    ) -> list[tuple[Any, ...]]:
        where: list[str] = []
        args: list[Any] = []
        if status is not None:
            where.append("t.status = ?")
            args.append(status.lower())
        if type_name is not None:
            if "%" in type_name:
                where.append("tt.name_key LIKE ? ESCAPE '\\'")
            else:
                where.append("tt.name_key = ?")
            args.append(fold_name(type_name))
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        sql = (
            f"SELECT {_SUMMARY_COLUMNS} FROM tasks t JOIN task_types tt ON tt.id = t.type_id "
            f"{clause} ORDER BY t.created_at DESC, t.id ASC LIMIT ? OFFSET ?"
        )
        with self.lock:
            return list(self._db.execute(sql, (*args, limit, offset)).fetchall())
