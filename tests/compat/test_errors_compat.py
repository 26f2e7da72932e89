"""Errors as code written for the seed client builds and catches them."""

from __future__ import annotations

import pytest

from taskmanager import (
    TaskManagerAPIError,
    TaskManagerError,
    TaskManagerNotFoundError,
    TaskManagerTimeoutError,
    WaitTimeoutError,
)


def test_timeouts_are_timeout_errors() -> None:
    """`except TimeoutError:` catches both the wait and the request timeout."""
    for error in (
        WaitTimeoutError("task 1 still pending after 5 s", task_id=1),
        TaskManagerTimeoutError("timed out", method="GET", path="/tasks/1"),
    ):
        with pytest.raises(TimeoutError):
            raise error
        assert isinstance(error, TaskManagerError)


def test_api_error_positional_like_the_seed() -> None:
    """TaskManagerAPIError(status_code, message, response_data) keeps each part."""
    error = TaskManagerAPIError(503, "Service unavailable", {"success": False})
    assert (error.status_code, error.message, error.response_data) == (
        503,
        "Service unavailable",
        {"success": False},
    )
    assert str(error) == "503: Service unavailable"
    two = TaskManagerNotFoundError(404, "Task not found")
    assert (two.status_code, two.message, two.response_data) == (404, "Task not found", None)
    assert isinstance(two, LookupError)


def test_api_error_keyword_form_unchanged() -> None:
    """The client's own spelling still works."""
    error = TaskManagerAPIError("boom", status_code=500, method="GET", path="/x", retry_after=2.0)
    assert (error.message, error.status_code, error.retry_after) == ("boom", 500, 2.0)
    assert str(error) == "GET /x -> 500: boom"


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((500, "a"), {"status_code": 400}), ((1, 2, 3, 4), {}), (("a", "b"), {})],
)
def test_api_error_bad_construction_is_a_type_error(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    """Ambiguous or incomplete arguments are refused, not guessed."""
    with pytest.raises(TypeError):
        TaskManagerAPIError(*args, **kwargs)
