"""What an operation says to the client that runs it: the ``Call`` it wants sent, the ``Pause``
it wants waited, and the ``Reply`` it gets back.

An operation (``_operations.py``) is a generator of type ``Op[T]``: it yields a ``Call`` and
receives that attempt's ``Reply``, or yields a ``Pause`` and receives ``RESUMED`` once the
client has slept; its return value (a ``T``) is the method's result. The clients only send,
sleep and drive the generator; everything else is decided in pure code.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any, Literal, NamedTuple, TypeAlias, TypeVar

from ._errors import TaskManagerError

__all__ = ["RESUMED", "Call", "Op", "Operation", "Pause", "Reply"]

T = TypeVar("T")

# The shortest attempt a deadline leaves a call (see ``Call.attempt_timeout``).
MIN_ATTEMPT = 1.0

Operation = Literal["read", "register", "create", "claim", "complete", "progress"]


class Call(NamedTuple):
    """One request: what ``httpx`` needs plus what retries and errors need to know."""

    op: Operation
    method: str
    path: str
    json: Any
    params: dict[str, Any] | None
    # A ``time.monotonic()`` time no attempt of this call may run past (a wait's own timeout):
    # it shortens the attempt's timeout and ends the retries. None: the config's timeout only.
    deadline: float | None = None

    def attempt_timeout(self, timeout: float) -> float:
        """The timeout of one attempt: the config's ``timeout``, cut to the time the deadline
        leaves (but at least ``MIN_ATTEMPT`` seconds, so that a last look still gets an answer)."""
        if self.deadline is None:
            return timeout
        return min(timeout, max(self.deadline - time.monotonic(), MIN_ATTEMPT))


class Reply(NamedTuple):
    """The outcome of a call: decoded data or the error to raise.

    ``uncertain`` is True when an earlier attempt may have reached the server and acted
    (its reply was lost), so a "found existing" answer may be this client's own doing.
    """

    data: Any
    error: TaskManagerError | None
    uncertain: bool = False

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.data


class Pause(NamedTuple):
    """Ask the runner to wait (between retries, while polling), with its own sleep."""

    seconds: float


# What the runner sends back after a Pause: nothing happened but time.
RESUMED = Reply(None, None)

Op: TypeAlias = Generator[Call | Pause, Reply, T]
