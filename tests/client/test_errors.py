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


def test_a_connection_failure_keeps_its_cause() -> None:
    """The TaskManagerConnectionError raised after a refused connection has httpx's error as __cause__."""
    import httpx

    from taskmanager import TaskManagerClient

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = TaskManagerClient(
        api_url="http://127.0.0.1:9/api", api_key="k", transport=httpx.MockTransport(refuse)
    )
    with client, pytest.raises(taskmanager.TaskManagerConnectionError) as info:
        client.get_task(1)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.request_sent is False


def test_public_errors_name_the_public_module() -> None:
    """Tracebacks print taskmanager.TaskManagerNotFoundError, not taskmanager._errors...."""
    import traceback

    for name in taskmanager.__all__:
        value = getattr(taskmanager, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert value.__module__ == "taskmanager", name
    error = make_status_error(404, "Task not found", method="GET", path="/tasks/1")
    text = "".join(traceback.format_exception_only(type(error), error))
    assert text.startswith("taskmanager.TaskManagerNotFoundError: GET /tasks/1 -> 404")


@pytest.mark.parametrize(
    ("status", "message", "flags"),
    [
        (500, "There is no active transaction", {"nothing_to_claim", "permanent"}),
        (404, "No available tasks", {"nothing_to_claim"}),
        (500, "There is no active transaction (rolled back)", {"permanent"}),
        (500, "Invalid select field: x", {"permanent"}),
        (500, "SQLSTATE[40001]: deadlock", {"rolled_back"}),
        (400, "SQLSTATE[40001]: deadlock", set()),
        (503, "No available tasks", set()),
        (500, "Some other failure", set()),
    ],
)
def test_server_message_table(status: int, message: str, flags: set[str]) -> None:
    """One table says what each server message means, for the statuses it comes with."""
    from taskmanager._errors import server_message

    found = server_message(status, message)
    names = {"nothing_to_claim", "permanent", "rolled_back"}
    assert {name for name in names if getattr(found, name)} == flags


def test_server_messages_are_matched_in_one_module() -> None:
    """The messages that decide behaviour are written only in _errors.py (among the client's modules)."""
    from pathlib import Path

    from taskmanager._errors import SERVER_MESSAGES

    package = Path(taskmanager.__file__).parent
    for path in package.glob("*.py"):
        if path.name == "_errors.py":
            continue
        source = path.read_text(encoding="utf-8")
        for rule in SERVER_MESSAGES:
            assert f'"{rule.text}' not in source, (path.name, rule.text)
