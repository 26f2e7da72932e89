"""The checks of ``Worker``'s arguments: every bad value is refused at construction with a
``TaskManagerValidationError`` (a ``ValueError``) naming it, before anything runs."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from . import _arguments as _args
from ._config import TaskManagerConfig
from ._errors import TaskManagerValidationError
from ._shown import shown
from ._worker_outbox_store import shown_path

__all__ = [
    "MAX_CONCURRENCY",
    "NotCallableError",
    "RunRefusedError",
    "check_callable",
    "check_client",
    "check_outbox",
    "concurrency",
    "max_attempts",
    "max_tasks",
    "seconds",
    "worker_id",
]

# More handler slots than this is a typo: each slot may hold a thread.
MAX_CONCURRENCY = 1024
_DAY = 86400.0
# Upper bounds in seconds: a poll or backoff longer than an hour stalls the worker; a claim
# timeout or grace period beyond 30 days is not a setting anyone means.
_LIMITS = {
    "poll_interval": 3600.0,
    "down_cap": 3600.0,
    "claim_timeout": 30 * _DAY,
    "grace_period": 30 * _DAY,
}


def seconds(name: str, value: Any) -> float:
    """A finite number of seconds within ``_LIMITS[name]`` (``grace_period`` may be 0)."""
    return _args.seconds(name, value, maximum=_LIMITS[name], zero_ok=name == "grace_period")


def concurrency(value: Any) -> int:
    number = _args.count("concurrency", value, minimum=1)
    if number > MAX_CONCURRENCY:
        raise TaskManagerValidationError(f"concurrency must be at most {MAX_CONCURRENCY}, got {number}")
    return number


def max_attempts(value: Any) -> int:
    return _args.count("max_attempts", value, minimum=1)


def max_tasks(value: Any) -> int | None:
    return None if value is None else _args.count("max_tasks", value, minimum=1)


class NotCallableError(TaskManagerValidationError, TypeError):
    """A handler that is not callable (a ``TypeError`` too, as it was before it was typed)."""


class RunRefusedError(TaskManagerValidationError, RuntimeError):
    """``run()`` with no handler added, or while the worker runs already (a ``RuntimeError``
    too, as it was before it was typed)."""


def check_callable(name: str, value: Any, optional: bool = False) -> None:
    if (value is None and optional) or callable(value):
        return
    raise NotCallableError(f"{name} must be a callable, got {shown(value)}")


# What a worker calls on every run; a wrapper or a test double offering them is a client too.
_CLIENT_METHODS = ("claim_task", "update_progress", "complete_task", "fail_task")


def check_client(value: Any) -> None:
    """A ``TaskManagerClient``, an ``AsyncTaskManagerClient``, or an object with their methods."""
    missing = [name for name in _CLIENT_METHODS if not callable(getattr(value, name, None))]
    if not missing:
        return
    hint = " (build one with TaskManagerClient(config))" if isinstance(value, TaskManagerConfig) else ""
    raise TaskManagerValidationError(
        f"client must be a TaskManagerClient or an AsyncTaskManagerClient{hint}, got {shown(value)} "
        f"(it has no {missing[0]}() method)"
    )


def check_outbox(value: Any) -> str | None:
    """None (outcomes kept in memory) or the path, as text, of a file SQLite can create or open."""
    if value is None:
        return None
    path = os.fspath(value) if isinstance(value, str | os.PathLike) else value
    if not isinstance(path, str):
        raise TaskManagerValidationError(
            f"outbox must be None or a file path (str or PathLike), got {shown(value)}"
        )
    path = _args.text("outbox", path)
    problem = _outbox_problem(path)
    if problem:
        raise TaskManagerValidationError(f"outbox {shown_path(path)} {problem}")
    return path


def _outbox_problem(path: str) -> str | None:
    """Why SQLite could not keep outcomes at ``path`` across processes (None: it can try)."""
    if "\0" in path:
        return "contains a NUL character, which no file name can hold"
    if path == ":memory:":  # SQLite's in-memory database: nothing would outlive the process
        return "is not a file (SQLite keeps ':memory:' in memory); use outbox=None for that"
    if os.path.isdir(path):
        return "is a directory; give a file path inside it"
    if os.path.exists(path) and not os.path.isfile(path):
        return "exists and is not a regular file"
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        return "cannot be created: its folder does not exist"
    return None


def worker_id(value: Any, default: Callable[[], str]) -> str:
    return default() if value is None else _args.text("worker_id", value)
