"""The worker's counters: the live tally its runs update and the frozen snapshot users see."""

from __future__ import annotations

import threading

import attrs

__all__ = ["Counters", "WorkerStats"]


@attrs.frozen
class WorkerStats:
    """A snapshot of a worker's counters (``Worker.stats``; also what ``run()`` returns)."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0
    claim_lost: int = 0
    poisoned: int = 0
    idle_polls: int = 0
    delivered_late: int = 0
    """Outcomes the server accepted after failed attempts (or from an earlier process's file)."""
    outbox_pending: int = 0
    """Outcomes in the outbox now, not yet answered by the server."""
    lost: int = 0
    """Outcomes given up without an answer at a stop: with no outbox file, or ones the file
    failed to take (see ``unsaved``)."""
    refused: int = 0
    """Outcomes given up unanswered for good, even as the plainest failure: the server refused
    them (a 4xx with no retry in it), or every send of them kept raising an exception that is
    not the client's (a custom transport or event hook, 3 sends in a row). Nothing more is sent;
    the server releases the task at its claim timeout."""
    quarantined: int = 0
    """Rows of the outbox file that could not be delivered, moved to its quarantine table."""
    unsaved: int = 0
    """Outcomes the outbox file failed to take (full disk, read-only, locked by another
    process past its busy timeout): held in memory and still sent; lost if not delivered
    by the stop."""
    recovered: int = 0
    """Tasks found claimed under this worker's id after a claim whose reply never came (garbled,
    lost, a call that raised, a claim cut short by the stop): run (and counted as ``claimed``
    too), or failed back when the run was ending."""


class Counters:
    """The live counters of one worker (the fields of ``WorkerStats``), shared by its parts.

    Updated under a lock: mostly from the loop, but the outbox file's own thread counts too.
    """

    def __init__(self) -> None:
        self._values = {field.name: 0 for field in attrs.fields(WorkerStats)}
        self._lock = threading.Lock()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] += amount  # a KeyError here is a misspelt counter name: a bug

    def set(self, name: str, value: int) -> None:
        if name not in self._values:
            raise KeyError(name)
        with self._lock:
            self._values[name] = value

    def __getitem__(self, name: str) -> int:
        return self._values[name]

    def snapshot(self) -> WorkerStats:
        with self._lock:
            return WorkerStats(**self._values)

    def describe(self) -> str:
        """``"claimed=1 completed=1 ..."``, in field order (for reprs and logs)."""
        return " ".join(f"{name}={value}" for name, value in self._values.items())
