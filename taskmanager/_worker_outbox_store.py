"""Where undelivered outcomes wait: in memory, or in an SQLite file that outlives the process.

The file holds one row per (task id, worker id): the worker id the claim was made with is what
the server checks, so a later process delivers a saved outcome under that id, not its own.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from ._dedupe import walk

__all__ = ["FileStore", "MemoryStore", "Outcome", "Store"]


@attrs.frozen
class Outcome:
    """What became of one claim, to be told to the server by the worker id that claimed it."""

    task_id: int
    task_type: str
    worker_id: str
    ok: bool
    result: dict[str, Any] | None = None
    error: str | None = None
    counted: bool = True
    """False for outcomes not counted as completed/failed (the poison guard's)."""
    saved: bool = False
    """True for an outcome read back from a file: an earlier process may have sent it already."""

    @property
    def key(self) -> tuple[int, str]:
        return (self.task_id, self.worker_id)


class Store(Protocol):
    durable: bool

    def put(self, outcome: Outcome) -> None: ...
    def remove(self, outcome: Outcome) -> None: ...
    def saved(self) -> list[Outcome]: ...
    def left(self) -> list[Outcome]: ...
    def close(self) -> None: ...


class MemoryStore:
    """Outcomes kept only as long as the process lives."""

    durable = False

    def __init__(self) -> None:
        self._items: dict[tuple[int, str], Outcome] = {}

    def put(self, outcome: Outcome) -> None:
        self._items[outcome.key] = outcome

    def remove(self, outcome: Outcome) -> None:
        self._items.pop(outcome.key, None)

    def saved(self) -> list[Outcome]:
        return []  # nothing survives a process

    def left(self) -> list[Outcome]:
        return list(self._items.values())

    def close(self) -> None:
        self._items.clear()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    task_id INTEGER NOT NULL,
    worker_id TEXT NOT NULL,
    task_type TEXT NOT NULL,
    ok INTEGER NOT NULL,
    result TEXT,
    error TEXT,
    counted INTEGER NOT NULL,
    saved_at REAL NOT NULL,
    PRIMARY KEY (task_id, worker_id)
)
"""


def encode_result(result: Mapping[str, Any] | None) -> str | None:
    """The result as the file stores it: the JSON object the client would send for it.

    The client's own normalisation turns every Mapping (nested ones too) and tuple into plain
    JSON values, so what a file holds and delivers later is what would have been sent at once;
    what the client refuses is refused here the same way (``TaskManagerValidationError``).
    """
    if result is None:
        return None
    return json.dumps(walk("result", result)[0], separators=(",", ":"), allow_nan=False)


class FileStore:
    """Outcomes in an SQLite file, written before each is sent and removed once answered.

    Each write is committed at once (WAL journal): a process killed at any point leaves every
    outcome it had not delivered in the file.
    """

    durable = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute(_SCHEMA)
        except sqlite3.Error:
            self._db.close()
            raise

    def put(self, outcome: Outcome) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                outcome.task_id,
                outcome.worker_id,
                outcome.task_type,
                int(outcome.ok),
                encode_result(outcome.result),
                outcome.error,
                int(outcome.counted),
                time.time(),
            ),
        )

    def remove(self, outcome: Outcome) -> None:
        self._db.execute(
            "DELETE FROM outcomes WHERE task_id = ? AND worker_id = ?", (outcome.task_id, outcome.worker_id)
        )

    def saved(self) -> list[Outcome]:
        rows = self._db.execute(
            "SELECT task_id, worker_id, task_type, ok, result, error, counted FROM outcomes ORDER BY saved_at"
        ).fetchall()
        return [
            Outcome(
                task_id=task_id,
                worker_id=worker_id,
                task_type=task_type,
                ok=bool(ok),
                result=None if result is None else json.loads(result),
                error=error,
                counted=bool(counted),
                saved=True,
            )
            for task_id, worker_id, task_type, ok, result, error, counted in rows
        ]

    def left(self) -> list[Outcome]:
        return self.saved()

    def close(self) -> None:
        self._db.close()
