"""The typed results the client returns: frozen attrs classes with plain Python values.

Ids are ints, flags bools, timestamps timezone-aware datetimes, params/results plain dicts.

Each result also reads as a read-only mapping keyed by its field names, for code written
against dict replies: ``task["id"]``, ``task.get("result")``, ``dict(task)``, ``"params" in
task``. Attribute access (``task.id``) is the typed way; the mapping view is the same values.
A field named ``extra`` (fields of the reply the model does not declare) is not a key.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ._errors import TaskManagerError

__all__ = [
    "ClaimedTask",
    "CompletionOutcome",
    "CompletionStatus",
    "CreatedTask",
    "Health",
    "ProgressUpdate",
    "Task",
    "TaskStatus",
    "TaskSummary",
    "TaskType",
]


class _FieldMapping(Mapping[str, Any]):
    """Read-only ``Mapping`` view of an attrs class's fields (``result["id"]``, ``dict(result)``).

    Mapping has no ``__setitem__``: ``result["id"] = 1`` raises TypeError, like the frozen
    attributes raise ``attrs.exceptions.FrozenInstanceError``. Equality and hashing stay the
    attrs ones (a result equals only a result of the same class), not Mapping's.
    """

    __slots__ = ()

    @classmethod
    def _keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in attrs.fields(cls) if f.name != "extra")  # type: ignore[arg-type]  # subclasses are attrs classes

    def __getitem__(self, key: str) -> Any:
        if isinstance(key, str) and key in self._keys():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __bool__(self) -> bool:
        # A result is always something (the mapping view must not make it falsy by length).
        return True


def _read_only(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return value if isinstance(value, types.MappingProxyType) else types.MappingProxyType(dict(value))


_NO_EXTRA: Mapping[str, Any] = types.MappingProxyType({})


def _extra() -> Any:
    """``extra``: the reply's fields this model does not declare, read-only (a newer server's
    fields are reachable before the client knows them). Not part of equality or the repr."""
    return attrs.field(default=_NO_EXTRA, converter=_read_only, kw_only=True, eq=False, repr=False)


class TaskStatus(enum.StrEnum):
    """Where a task is in its life."""

    PENDING = "pending"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_finished(self) -> bool:
        """True for completed and failed: the task will not run again."""
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED)


class CompletionStatus(enum.StrEnum):
    """What a completion report did to the task."""

    COMPLETED = "completed"
    FAILED = "failed"  # failed for good: no attempts left
    RETRY = "pending (retry)"  # failed, back to pending for another attempt


@attrs.frozen
class Health(_FieldMapping):
    """``GET /health``: ``ok`` is True when the service is healthy and its database connected.

    A Health is truthy exactly when ``ok``, so ``if client.health_check():`` works. When the
    server cannot be reached or answers with an error, ``health_check`` returns an unhealthy
    Health instead of raising: ``status`` is ``"unreachable"`` (or ``"error"``), ``database``
    ``"unknown"``, ``server_time`` None, ``reason`` the error's text, which ``str(health)``
    shows, and ``error`` the TaskManagerError itself.
    """

    ok: bool
    status: str
    database: str
    server_time: dt.datetime | None
    reason: str | None = None
    #: The error behind an unhealthy result when the call itself failed (``raise health.error``).
    error: TaskManagerError | None = attrs.field(default=None, repr=False, eq=False)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return f"healthy (status {self.status}, database {self.database})"
        if self.reason:
            return f"not healthy: {self.reason}"
        return f"not healthy: status {self.status}, database {self.database}"


@attrs.frozen
class TaskType(_FieldMapping):
    """A registered task type.

    ``created`` is True when ``register_task_type`` created it, False when it updated an
    existing type, None when the value came from a lookup. Fields a reply does not carry
    (``is_active``, timestamps after a registration) are None.
    """

    id: int
    name: str
    version: str
    param_schema: dict[str, Any] | None = None
    is_active: bool | None = None
    created: bool | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class CreatedTask(_FieldMapping):
    """The result of ``create_task``.

    ``created``: True when this call created the task, False when it already existed, None when
    that cannot be known (an earlier attempt's reply was lost and a retry found the task).
    ``status`` is the task's status now; a duplicate of a finished task will never run again,
    which ``is_new_work`` (False then) makes visible.
    """

    id: int
    type: str
    status: TaskStatus
    dedupe_key: str
    created: bool | None

    @property
    def is_new_work(self) -> bool:
        """False when the task already finished (completed or failed): nothing will run."""
        return not self.status.is_finished


@attrs.frozen
class ClaimedTask(_FieldMapping):
    """A task this worker now holds. ``claimed_at`` is the client's clock when the claim returned."""

    id: int
    type: str
    params: dict[str, Any]
    attempts: int
    priority: int
    worker_id: str
    claimed_at: dt.datetime
    task_type_id: int | None = None


@attrs.frozen
class Task(_FieldMapping):
    """A task as ``get_task`` reports it."""

    id: int
    type: str
    status: TaskStatus
    params: dict[str, Any] | None
    result: dict[str, Any] | None
    error_message: str | None
    priority: int
    progress: int
    attempts: int
    claimed_by: str | None
    claimed_at: dt.datetime | None
    completed_at: dt.datetime | None
    created_at: dt.datetime | None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class TaskSummary(_FieldMapping):
    """A row of ``list_tasks`` (no params or result)."""

    id: int
    type: str
    status: TaskStatus
    priority: int
    progress: int
    attempts: int
    claimed_by: str | None
    created_at: dt.datetime | None
    completed_at: dt.datetime | None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class CompletionOutcome(_FieldMapping):
    """What ``complete_task``/``fail_task`` did: completed, failed for good, or back to pending."""

    task_id: int
    status: CompletionStatus
    message: str


@attrs.frozen
class ProgressUpdate(_FieldMapping):
    """The server's acknowledgement of ``update_progress``."""

    task_id: int
    progress: int
    message: str
