"""The error tree, the status-to-class mapping, and what errors show."""

from __future__ import annotations

import pytest

import taskmanager
from taskmanager import (
    TaskClaimedByAnotherWorkerError,
    TaskManagerAPIError,
    TaskManagerAuthError,
    TaskManagerError,
    TaskManagerNotFoundError,
    TaskManagerRateLimitError,
    TaskManagerServerError,
    TaskManagerValidationError,
    TaskNotClaimedError,
)
from taskmanager._errors import make_status_error


@pytest.mark.parametrize(
    ("status", "message", "cls"),
    [
        (400, "Validation failed", TaskManagerValidationError),
        (400, "Task is not in claimed state", TaskNotClaimedError),
        (401, "Unauthorized: Invalid or missing API key.", TaskManagerAuthError),
        (403, "Task is claimed by another worker", TaskClaimedByAnotherWorkerError),
        (404, "Task not found", TaskManagerNotFoundError),
        (429, "Too Many Requests", TaskManagerRateLimitError),
        (500, "There is no active transaction", TaskManagerServerError),
        (502, "Bad Gateway", TaskManagerServerError),
        (418, "I'm a teapot", TaskManagerAPIError),
    ],
)
def test_status_maps_to_class(status: int, message: str, cls: type[TaskManagerAPIError]) -> None:
    """One function maps each status (and the not-claimed message) to its class."""
    error = make_status_error(status, message, method="POST", path="/tasks/1/complete")
    assert type(error) is cls
    assert (error.status_code, error.message, error.method, error.path) == (
        status,
        message,
        "POST",
        "/tasks/1/complete",
    )


def test_every_error_is_a_taskmanager_error() -> None:
    """Every exported exception class descends from TaskManagerError, and the tree is drawn."""
    doc = taskmanager._errors.__doc__ or ""
    for name in taskmanager.__all__:
        obj = getattr(taskmanager, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, TaskManagerError), name
            assert name in doc, f"{name} missing from the drawn tree"


def test_builtin_relatives() -> None:
    """Validation errors are ValueErrors and not-found errors LookupErrors, for generic handlers."""
    assert issubclass(TaskManagerValidationError, ValueError)
    assert issubclass(TaskManagerNotFoundError, LookupError)
    assert not issubclass(TaskNotClaimedError, TaskManagerValidationError)


def test_str_carries_method_path_status_and_details() -> None:
    """str() shows where it happened, the server's words and the details."""
    error = make_status_error(
        400,
        "Validation failed",
        method="POST",
        path="/tasks",
        details=("Field 'params' must be of type object",),
        response_data={"success": False},
    )
    assert str(error) == "POST /tasks -> 400: Validation failed (Field 'params' must be of type object)"
    assert error.response_data == {"success": False}
    assert "Validation failed" in repr(error)


def test_rate_limit_keeps_retry_after() -> None:
    """A 429 keeps the server's Retry-After hint."""
    error = make_status_error(429, "slow down", retry_after=2.5)
    assert isinstance(error, TaskManagerRateLimitError)
    assert error.retry_after == 2.5


def test_local_validation_error_has_no_status() -> None:
    """Input refused before sending has status_code None."""
    error = TaskManagerValidationError("params must not be empty")
    assert error.status_code is None
    assert str(error) == "params must not be empty"
