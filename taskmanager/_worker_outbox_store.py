"""Where undelivered outcomes wait: in memory, or in an SQLite file that outlives the process.

The file holds one row per (task id, worker id): the worker id the claim was made with is what
the server checks, so a later process delivers a saved outcome under that id, not its own.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

from . import _wire
from ._arguments import INT64_MAX
from ._dedupe import walk
from ._errors import TaskManagerValidationError
from ._shown import shown

__all__ = ["FileStore", "MemoryStore", "Outcome", "Store", "open_store"]

logger = logging.getLogger("taskmanager.worker")


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
    set_aside: int
    """Saved outcomes found unusable and moved out of the way (kept, not sent)."""
    errors: tuple[type[Exception], ...]
    """What ``put``, ``remove`` and ``saved`` raise when the store itself fails (a full disk)."""

    def put(self, outcome: Outcome) -> None: ...
    def remove(self, outcome: Outcome) -> None: ...
    def saved(self) -> list[Outcome]: ...
    def left(self) -> list[Outcome]: ...
    def close(self) -> None: ...


class MemoryStore:
    """Outcomes kept only as long as the process lives."""

    durable = False
    set_aside = 0
    errors: tuple[type[Exception], ...] = ()

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


_COLUMNS = ("task_id", "worker_id", "task_type", "ok", "result", "error", "counted", "saved_at")
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
# Rows that cannot be delivered (tampered, truncated, written by something else) are moved here,
# every value as it was (no column types: nothing is converted), with the reason.
_QUARANTINE = "quarantined_outcomes"
_QUARANTINE_COLUMNS = (*_COLUMNS, "reason", "quarantined_at")
_QUARANTINE_SCHEMA = f"CREATE TABLE IF NOT EXISTS {_QUARANTINE} ({', '.join(_QUARANTINE_COLUMNS)})"
_TABLES = {"outcomes": _COLUMNS, _QUARANTINE: _QUARANTINE_COLUMNS}


def encode_result(result: Mapping[str, Any] | None) -> str | None:
    """The result as the file stores it: the JSON object the client would send for it.

    The client's own normalisation turns every Mapping (nested ones too) and tuple into plain
    JSON values, so what a file holds and delivers later is what would have been sent at once;
    what the client refuses is refused here the same way (``TaskManagerValidationError``).
    """
    if result is None:
        return None
    return json.dumps(walk("result", result)[0], separators=(",", ":"), allow_nan=False)


def _lenient_text(raw: bytes) -> str:
    # A TEXT value that is not UTF-8 must not make the whole read fail: the row is set aside.
    return raw.decode("utf-8", "surrogateescape")


class _BadRow(Exception):
    """Why a saved row cannot be delivered."""


def _utf8(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _flag(name: str, value: object) -> bool:
    if type(value) is not int or value not in (0, 1):
        raise _BadRow(f"{name} is {shown(value)}, not 0 or 1")
    return bool(value)


def _decoded_result(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    if not isinstance(raw, bytes):
        raise _BadRow(f"result is {shown(value)}, not JSON text")
    try:
        result = _wire.loads(raw)
    except ValueError as exc:  # _wire.loads reports every failure, RecursionError too, so
        raise _BadRow(f"result is not JSON the client can send ({exc})") from None
    if not isinstance(result, dict):
        raise _BadRow("result is not a JSON object")
    return result


def _outcome(
    task_id: object,
    worker_id: object,
    task_type: object,
    ok: object,
    result: object,
    error: object,
    counted: object,
) -> Outcome:
    """The outcome a saved row holds; ``_BadRow`` when it cannot be delivered as it is."""
    if type(task_id) is not int or not 0 < task_id <= INT64_MAX:
        raise _BadRow(f"task id {shown(task_id)} is not a positive integer")
    if not _utf8(worker_id):
        raise _BadRow(f"worker id {shown(worker_id)} is not UTF-8 text")
    if not str(worker_id).strip():
        raise _BadRow(f"worker id {shown(worker_id)} is empty")
    if not _utf8(task_type):
        raise _BadRow(f"task type {shown(task_type)} is not UTF-8 text")
    if error is not None and not _utf8(error):
        raise _BadRow(f"error {shown(error)} is not UTF-8 text")
    return Outcome(
        task_id=task_id,
        worker_id=str(worker_id),
        task_type=str(task_type),
        ok=_flag("ok", ok),
        result=_decoded_result(result),
        error=None if error is None else str(error),
        counted=_flag("counted", counted),
        saved=True,
    )


def shown_path(path: str) -> str:
    """A path as messages quote it: whole unless absurdly long."""
    return repr(path) if len(path) <= 300 else shown(path)


def _listed(names: list[str]) -> str:
    return ", ".join([shown(name) for name in names[:10]] + (["..."] if len(names) > 10 else []))


_LK_NBLCK = 2  # msvcrt.LK_NBLCK: lock without waiting
# What msvcrt.locking raises for a byte another process holds (EACCES; EDEADLOCK after retries).
_HELD_ERRNOS = (errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK))


def _windows_try_lock(fd: int, locking: Callable[[int, int, int], None]) -> bool:
    """Lock the file's first byte with ``msvcrt.locking`` (it locks from the file position: a
    descriptor just opened is at 0); False when another process holds it."""
    try:
        locking(fd, _LK_NBLCK, 1)
    except OSError as exc:
        if exc.errno in _HELD_ERRNOS:
            return False
        raise
    return True


def _posix_try_lock(fd: int, flock: Callable[[int, int], None], flags: int) -> bool:
    """Lock the whole file with ``fcntl.flock``; False when another process holds it."""
    try:
        flock(fd, flags)
    except BlockingIOError:
        return False
    return True


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        return _windows_try_lock(fd, msvcrt.locking)
    import fcntl

    return _posix_try_lock(fd, fcntl.flock, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _hold_lock(path: str) -> int:
    """Lock ``<path>.lock`` for as long as the returned descriptor stays open.

    The operating system drops the lock when the process ends, however it ends (SIGKILL
    included), so a lock file left behind never blocks the next start; only a live holder does.
    """
    try:
        fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise TaskManagerValidationError(
            f"outbox {shown_path(path)} cannot be locked: {exc.strerror or exc}"
        ) from None
    try:
        locked = _try_lock(fd)
    except OSError as exc:  # no locking on this file system (ENOLCK...): refuse, clearly
        os.close(fd)
        raise TaskManagerValidationError(
            f"outbox {shown_path(path)} cannot be locked: {exc.strerror or exc}"
        ) from None
    if not locked:
        try:
            holder = os.read(fd, 64).decode("ascii", "replace").strip()
        except OSError:  # Windows: the holder's locked byte cannot be read
            holder = ""
        os.close(fd)
        held_by = f" ({holder})" if holder.startswith("pid ") and holder[4:].isdigit() else ""
        raise TaskManagerValidationError(
            f"outbox {shown_path(path)} is in use by another running worker{held_by}; "
            "give each running worker its own file"
        )
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
    except OSError:  # only the note of who holds it: the lock itself is taken
        pass
    return fd


def _not_an_outbox(path: str, why: str) -> TaskManagerValidationError:
    return TaskManagerValidationError(f"outbox {shown_path(path)} is not a worker outbox file: {why}")


class FileStore:
    """Outcomes in an SQLite file, written before each is sent and removed once answered.

    Each write is committed at once (WAL journal): a process killed at any point leaves every
    outcome it had not delivered in the file. A file that is not SQLite, or holds tables other
    than the outbox's, is refused (``TaskManagerValidationError``) before anything is written to
    it; a saved row that cannot be delivered is moved to the table ``quarantined_outcomes``
    (kept as it was, with the reason), logged once and counted in ``set_aside``.
    """

    durable = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import sqlite3  # here, not at the top: only an outbox file needs SQLite

        self.path = os.fspath(path)
        self.set_aside = 0
        self.errors: tuple[type[Exception], ...] = (sqlite3.Error,)
        # Held until close(): a second worker on the file would replay this one's outcomes.
        self._lock = _hold_lock(self.path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            os.close(self._lock)
            raise TaskManagerValidationError(
                f"outbox {shown_path(self.path)} cannot be opened: {exc}"
            ) from None
        try:
            self._db.text_factory = _lenient_text
            self._check_tables()  # before any write: a file that is not ours stays as it was
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute(_SCHEMA)
            self._db.execute(_QUARANTINE_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise _not_an_outbox(self.path, str(exc)) from None
        except BaseException:
            self.close()
            raise

    def _check_tables(self) -> None:
        found = {
            name
            for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not str(name).startswith("sqlite_")
        }
        others = sorted(found - set(_TABLES))
        if others:
            raise _not_an_outbox(self.path, f"it holds other tables ({_listed(others)})")
        for table in found:
            columns = sorted(str(row[1]) for row in self._db.execute(f"PRAGMA table_info({table})"))
            if columns != sorted(_TABLES[table]):
                raise _not_an_outbox(self.path, f"its table {table} has other columns ({_listed(columns)})")

    def put(self, outcome: Outcome) -> None:
        self._db.execute(
            f"INSERT OR REPLACE INTO outcomes ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
            f"SELECT rowid, {', '.join(_COLUMNS[:-1])} FROM outcomes ORDER BY saved_at, rowid"
        ).fetchall()
        outcomes = []
        for rowid, *values in rows:
            try:
                outcomes.append(_outcome(*values))
            except _BadRow as bad:
                self._quarantine(rowid, values[0], str(bad))
        return outcomes

    def _quarantine(self, rowid: int, task_id: object, reason: str) -> None:
        """Move one row out of the way, as it is; the worker carries on either way."""
        import sqlite3  # loaded already, by __init__

        self.set_aside += 1
        columns = ", ".join(_COLUMNS)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    f"INSERT INTO {_QUARANTINE} ({columns}, reason, quarantined_at) "
                    f"SELECT {columns}, ?, ? FROM outcomes WHERE rowid = ?",
                    (reason, time.time(), rowid),
                )
                self._db.execute("DELETE FROM outcomes WHERE rowid = ?", (rowid,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            logger.error(
                "outbox file %s: a saved outcome (task id %s) cannot be delivered (%s) and could not be "
                "moved to its table %s (%s); left in place, not sent",
                self.path,
                shown(task_id),
                reason,
                _QUARANTINE,
                exc,
            )
            return
        logger.error(
            "outbox file %s: a saved outcome (task id %s) cannot be delivered (%s); moved, as it was, "
            "to its table %s",
            self.path,
            shown(task_id),
            reason,
            _QUARANTINE,
        )

    def left(self) -> list[Outcome]:
        return self.saved()

    def close(self) -> None:
        try:
            self._db.close()
        finally:
            if self._lock >= 0:
                os.close(self._lock)  # the lock goes with it
                self._lock = -1


def open_store(path: str | None) -> Store:
    """The worker's store: in memory for None, else the outbox file at ``path``."""
    return MemoryStore() if path is None else FileStore(path)
