"""What an operation says to the client that runs it: the ``Call`` it wants sent, the ``Pause``
it wants waited, and the ``Reply`` it gets back.

An operation (``_operations.py``) is a generator of type ``Op[T]``: it yields a ``Call`` and
receives that attempt's ``Reply``, or yields a ``Pause`` and receives ``RESUMED`` once the
client has slept; its return value (a ``T``) is the method's result. The clients only send,
sleep and drive the generator; everything else is decided in pure code.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Literal, NamedTuple, TypeAlias, TypeVar

from ._errors import TaskManagerError

__all__ = ["RESUMED", "Call", "Op", "Operation", "Pause", "Reply"]

T = TypeVar("T")

Operation = Literal["read", "register", "create", "claim", "complete", "progress"]


class Call(NamedTuple):
    """One request: what ``httpx`` needs plus what retries and errors need to know."""

    op: Operation
    method: str
    path: str
    json: Any
    params: dict[str, Any] | None


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
