"""SQLite storage for the local server.

One connection guarded by one lock: every operation is a short transaction run while holding
the lock, so a claim (select + update) is atomic and identical creates cannot race. That also
makes ``:memory:`` work (several connections to ``:memory:`` would be several databases).
Timestamps are stored as whole unix seconds, like the real server's DATETIME columns.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ._phpjson import NUMBER_PREFIX

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
    id INTEGER PRIMARY KEY,
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


# Path ids are compared as numbers (doubles); from 2**63 up no SQLite row id exists.
_ID_LIMIT = float(2**63)
_INT64_MAX = 2**63 - 1
_TIE_MODULUS = 2_147_483_647  # a prime: id -> (id * factor + shift) mod it is one-to-one below it


def fold_name(name: str) -> str:
    """The comparison key of a type name: case- and accent-insensitive, like MySQL's *_unicode_ci."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold().rstrip(" ")


def mysql_number(text: str) -> float:
    """What MySQL makes of a string compared with a number: its numeric prefix, else 0."""
    match = NUMBER_PREFIX.match(text)
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
        tie_seed: int = 0,
    ) -> None:
        if sqlite3.sqlite_version_info < (3, 35):
            raise RuntimeError(
                f"the local server needs SQLite 3.35+ (RETURNING), not {sqlite3.sqlite_version}"
            )
        self.clock = clock
        self.claim_timeout = claim_timeout
        self.max_attempts = max_attempts
        self.lock = threading.Lock()
        # Tasks of the same second are listed in a new order by each query, as MariaDB does
        # (created_at has no tie-breaker there); seeded, so that a run can be replayed.
        self.tie_seed = tie_seed
        self._ties = random.Random(tie_seed)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, cached_statements=256)
        try:
            self._db.execute("PRAGMA busy_timeout = 5000")
            if path != ":memory:" and not path.startswith("file::memory:"):
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.executescript(_SCHEMA)
            # A real write now: a read-only file or folder fails here, not on the first create.
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            opened = (self.now(),)
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('opened_at', ?)", opened)
        except BaseException:
            self._db.close()  # a file that cannot be used is not left open
            raise
        # Types change only through register_type() of this store (one server per database
        # file), so rows are cached: creates and claims then need a single statement each.
        self._types: dict[str, tuple[Any, ...]] = {}
        self._type_names: dict[int, str] = {}

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
            self._types.pop(key, None)
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

    def _type_row(self, key: str) -> tuple[Any, ...] | None:
        # Caller holds the lock.
        row: tuple[Any, ...] | None = self._types.get(key)
        if row is None:
            row = self._db.execute(
                "SELECT id, name, version, param_schema, is_active, created_at, updated_at "
                "FROM task_types WHERE name_key = ?",
                (key,),
            ).fetchone()
            if row is not None:
                self._types[key] = row
                self._type_names[row[0]] = row[1]
        return row

    def get_type(self, name: str) -> tuple[Any, ...] | None:
        """(id, name, version, param_schema, is_active, created_at, updated_at) or None."""
        with self.lock:
            return self._type_row(fold_name(name))

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
        may raise to refuse, and returns (type id, params JSON, dedupe key). It runs without the
        lock (parameter validation may take long); the insert then runs under the lock only if
        the type was not registered again meanwhile (else ``prepare`` runs again on the new row),
        so identical creates still cannot both insert.
        """
        now = self.now()
        key = fold_name(name)
        while True:
            with self.lock:
                row = self._type_row(key)
            type_id, params_json, dedupe_key = prepare(row)
            with self.lock:
                if self._type_row(key) is not row:
                    continue  # re-registered while validating: check against the new schema
                inserted = self._db.execute(
                    "INSERT INTO tasks (type_id, status, params, dedupe_key, created_at) "
                    "VALUES (?, 'pending', ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                    (type_id, params_json, dedupe_key, now),
                ).fetchall()
                if inserted:
                    return int(inserted[0][0]), "pending", True, dedupe_key
                found = self._db.execute(
                    "SELECT id, status FROM tasks WHERE dedupe_key = ?", (dedupe_key,)
                ).fetchone()
                return int(found[0]), str(found[1]), False, dedupe_key

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
        if type_id > _INT64_MAX:
            return None  # beyond any SQLite id: nothing matches
        with self.lock:
            if type_pattern is not None:
                match = self._db.execute(
                    "SELECT 1 FROM task_types WHERE id = ? AND name_key LIKE ? ESCAPE '\\'",
                    (type_id, fold_name(type_pattern)),
                ).fetchone()
                if match is None:
                    return None
            task_id = self._claimable(type_id, sort_by, "DESC" if descending else "ASC", cutoff)
            if task_id is None:
                return None
            # The lock is held and this is the only connection: nothing can take it meanwhile.
            claimed = self._db.execute(
                "UPDATE tasks SET status = 'claimed', claimed_by = ?, claimed_at = ?, "
                "attempts = attempts + 1 WHERE id = ? RETURNING params, attempts, priority",
                (worker_id, now, task_id),
            ).fetchone()
            params, attempts, priority = claimed
            return task_id, self._type_name(type_id), params, attempts, priority

    def _claimable(self, type_id: int, sort_by: str, direction: str, cutoff: int) -> int | None:
        """The id of the task a claim takes: pending or claimed before ``cutoff``, first by
        ``sort_by``. Caller holds the lock.

        Like the real server's query (no tie-breaker), tasks with the same sort key (the same
        second, the same priority) are taken in a varying, seeded order: a random point in the
        id range of the ties, then the first tie at or after it. Every step is an index seek.
        """
        groups = (("status = 'pending'", ()), ("status = 'claimed' AND claimed_at < ?", (cutoff,)))
        best: list[tuple[Any, str, tuple[int, ...]]] = []
        for where, extra in groups:
            row = self._db.execute(
                f"SELECT {sort_by} FROM tasks WHERE type_id = ? AND {where} "
                f"ORDER BY {sort_by} {direction} LIMIT 1",
                (type_id, *extra),
            ).fetchone()
            if row is not None:
                best.append((row[0], where, extra))
        if not best:
            return None
        pick = min if direction == "ASC" else max
        key = pick(found[0] for found in best)
        if sort_by == "id":
            return int(key)
        ties = [
            (f"type_id = ? AND {where} AND {sort_by} = ?", (type_id, *extra, key))
            for k, where, extra in best
            if k == key
        ]

        def first(where: str, args: tuple[Any, ...], order: str, start: int = 0) -> int | None:
            row = self._db.execute(
                f"SELECT id FROM tasks WHERE {where} AND id >= ? ORDER BY id {order} LIMIT 1", (*args, start)
            ).fetchone()
            return None if row is None else int(row[0])

        low = min(found for where, args in ties if (found := first(where, args, "ASC")) is not None)
        high = max(found for where, args in ties if (found := first(where, args, "DESC")) is not None)
        if low == high:
            return low
        pivot = self._ties.randint(low, high)
        return min(found for where, args in ties if (found := first(where, args, "ASC", pivot)) is not None)

    def _type_name(self, type_id: int) -> str:
        # Caller holds the lock.
        name = self._type_names.get(type_id)
        if name is None:
            name = str(self._db.execute("SELECT name FROM task_types WHERE id = ?", (type_id,)).fetchone()[0])
            self._type_names[type_id] = name
        return name

    @staticmethod
    def _task_id(id_text: str) -> int | None:
        """The row id a path id names, or None where no row can have it (SQLite ids are int64)."""
        number = mysql_number(id_text)
        if not 1 <= number < _ID_LIMIT or number != int(number):
            return None
        return int(number)

    def _refusal(self, task_id: int | None) -> str:
        """Why an update of a held task matched nothing. Caller holds the lock."""
        row = None
        if task_id is not None:
            row = self._db.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            return "not_found"
        if row[0] != "claimed":
            return "not_claimed"
        return "other_worker"

    def update_progress(self, id_text: str, worker_id: str, progress: int, message: str | None) -> str:
        """Set the progress of a task the worker holds; returns "ok" or why not."""
        task_id = self._task_id(id_text)
        with self.lock:
            if task_id is not None:
                updated = self._db.execute(
                    "UPDATE tasks SET progress = ?, progress_message = ? "
                    "WHERE id = ? AND status = 'claimed' AND claimed_by = ? RETURNING id",
                    (progress, message, task_id, worker_id),
                ).fetchall()
                if updated:
                    return "ok"
            return self._refusal(task_id)

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
        task_id = self._task_id(id_text)
        with self.lock:
            if task_id is not None:
                # A failure below max attempts goes back to pending, keeping result, error and
                # completed_at of the failure, like the real server.
                updated = self._db.execute(
                    "UPDATE tasks SET "
                    "status = CASE WHEN ?1 THEN 'completed' WHEN attempts >= ?2 THEN 'failed' "
                    "ELSE 'pending' END, "
                    "claimed_by = CASE WHEN NOT ?1 AND attempts < ?2 THEN NULL ELSE claimed_by END, "
                    "claimed_at = CASE WHEN NOT ?1 AND attempts < ?2 THEN NULL ELSE claimed_at END, "
                    "result = ?3, error_message = ?4, completed_at = ?5 "
                    "WHERE id = ?6 AND status = 'claimed' AND claimed_by = ?7 RETURNING status",
                    (success, self.max_attempts, result_json, error, now, task_id, worker_id),
                ).fetchall()
                if updated:
                    status = str(updated[0][0])
                    return "pending (retry)" if status == "pending" else status
            return self._refusal(task_id)

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
            f"{clause} ORDER BY t.created_at DESC, (t.id * ? + ?) % {_TIE_MODULUS} LIMIT ? OFFSET ?"
        )
        with self.lock:
            # A fresh permutation of the ids for each query: ties come out in a varying order.
            factor = self._ties.randrange(1, _TIE_MODULUS)
            shift = self._ties.randrange(_TIE_MODULUS)
            return list(self._db.execute(sql, (*args, factor, shift, limit, offset)).fetchall())
