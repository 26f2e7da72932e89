"""The exceptions raised by the TaskManager client.

Every failure a caller can see is one of these; nothing from ``httpx``, ``json`` or the
generated bindings leaks out. The tree::

    TaskManagerError                         base of everything below
    ├── TaskManagerAPIError                  the server answered with an error status
    │   ├── TaskManagerAuthError             401: key missing or wrong
    │   ├── TaskManagerValidationError       400 validation; also bad input refused before sending
    │   ├── TaskNotClaimedError              400 "Task is not in claimed state"
    │   ├── TaskClaimedByAnotherWorkerError  403 "Task is claimed by another worker"
    │   ├── TaskManagerNotFoundError         404; also an empty single-item result
    │   ├── TaskManagerRateLimitError        429 (``retry_after`` seconds)
    │   └── TaskManagerServerError           5xx
    ├── TaskManagerConnectionError           no reply: could not connect, or the connection dropped
    │   ├── TaskManagerEventLoopError        async client called from an event loop it cannot use
    │   └── TaskManagerTimeoutError          no reply in time
    ├── TaskManagerProtocolError             a reply that is not what the server sends
    ├── TaskManagerUnsupportedError          a call the API cannot do (nothing was sent)
    ├── DuplicateTaskError                   create_task(on_duplicate="raise") found an existing task
    ├── TaskFailedError                      wait_for_task: the task ended failed
    └── WaitTimeoutError                     wait_for_task: gave up waiting

Every error carries ``method``, ``path`` (relative to the API base), ``status_code``,
``message`` (the server's own words when there was a reply), ``details`` and
``response_data`` (the decoded reply body, if any); API errors also carry ``retry_after``
(the Retry-After header in seconds, or None). None of them ever holds the API key:
the key travels only in a request header, which no error keeps.

``TaskManagerValidationError`` is also a ``ValueError``, ``TaskManagerNotFoundError`` a
``LookupError``, ``TaskManagerTimeoutError`` and ``WaitTimeoutError`` are ``TimeoutError`` too,
so generic handlers keep working. ``TaskManagerAPIError`` (and its subclasses) can also be built
as ``TaskManagerAPIError(status_code, message, response_data=None)``, e.g. in test doubles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ._models import Task, TaskStatus

__all__ = [
    "DuplicateTaskError",
    "TaskClaimedByAnotherWorkerError",
    "TaskFailedError",
    "TaskManagerAPIError",
    "TaskManagerAuthError",
    "TaskManagerConnectionError",
    "TaskManagerError",
    "TaskManagerEventLoopError",
    "TaskManagerNotFoundError",
    "TaskManagerProtocolError",
    "TaskManagerRateLimitError",
    "TaskManagerServerError",
    "TaskManagerTimeoutError",
    "TaskManagerUnsupportedError",
    "TaskManagerValidationError",
    "TaskNotClaimedError",
    "WaitTimeoutError",
    "make_status_error",
    "server_message",
]


class TaskManagerError(Exception):
    """Base class of every error raised by the client."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status_code: int | None = None,
        details: tuple[str, ...] = (),
        response_data: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status_code = status_code
        self.details = details
        self.response_data = response_data

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" if self.method and self.path else ""
        if self.status_code is not None:
            where = f"{where} -> {self.status_code}" if where else str(self.status_code)
        text = f"{where}: {self.message}" if where else self.message
        if self.details:
            text += " (" + "; ".join(self.details) + ")"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, method={self.method!r}, path={self.path!r}, "
            f"status_code={self.status_code!r})"
        )


class TaskManagerAPIError(TaskManagerError):
    """The server answered with an HTTP error status.

    ``retry_after`` is the reply's Retry-After hint in seconds (429, 503), None without one.
    """

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        # Two spellings: (message, status_code=..., ...) as the client raises it, and
        # (status_code, message, response_data=None) as code written for older clients builds it.
        if len(args) in (2, 3) and isinstance(args[0], int) and not isinstance(args[0], bool):
            clash = {"status_code", "message"} | ({"response_data"} if len(args) == 3 else set())
            if clash & kwargs.keys():
                raise TypeError(f"{type(self).__name__}() got {sorted(clash & kwargs.keys())} twice")
            kwargs["status_code"] = args[0]
            if len(args) == 3:
                kwargs["response_data"] = args[2]
            args = (args[1],)
        if len(args) != 1 and not (not args and "message" in kwargs):
            raise TypeError(
                f"{type(self).__name__}() takes (message, *, status_code=..., ...) "
                "or (status_code, message, response_data=None)"
            )
        message = args[0] if args else kwargs.pop("message")
        super().__init__(str(message), **kwargs)
        self.retry_after = retry_after


class TaskManagerAuthError(TaskManagerAPIError):
    """401: the API key is missing or wrong."""


class TaskManagerValidationError(TaskManagerAPIError, ValueError):
    """400 validation failure, or input refused before sending (``status_code`` is None then)."""


class TaskNotClaimedError(TaskManagerAPIError):
    """400 "Task is not in claimed state": completed already, timed out and reset, or never claimed."""


class TaskClaimedByAnotherWorkerError(TaskManagerAPIError):
    """403: another worker holds the claim (often: this worker's claim timed out)."""


class TaskManagerNotFoundError(TaskManagerAPIError, LookupError):
    """404, or a single-item lookup that came back empty."""


class TaskManagerRateLimitError(TaskManagerAPIError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds, if it gave one."""


class TaskManagerServerError(TaskManagerAPIError):
    """5xx: the server failed (its message is kept, even when it is an internal one)."""


class TaskManagerConnectionError(TaskManagerError):
    """No reply: the connection could not be made or was dropped.

    ``request_sent`` is False when the request surely never reached the server (the connection
    was never made), True when it may have been received and acted on.
    """

    def __init__(self, message: str, *, request_sent: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.request_sent = request_sent


class TaskManagerEventLoopError(TaskManagerConnectionError):
    """An AsyncTaskManagerClient called from an event loop its connections cannot serve.

    Nothing was sent (``request_sent`` is False). Unlike other connection errors it does not
    pass by waiting: the program uses the client from two event loops at once, or from a new
    one with a connection pool it passed in (``http_client``, a real ``transport``).
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, request_sent=False, **kwargs)


class TaskManagerTimeoutError(TaskManagerConnectionError, TimeoutError):
    """No reply within the configured timeout (also a ``TimeoutError``)."""


class TaskManagerProtocolError(TaskManagerError):
    """The reply is not what the server sends (HTML, truncated JSON, a wrong shape)."""


class TaskManagerUnsupportedError(TaskManagerError, NotImplementedError):
    """A call the TaskManager API cannot do (cancel a task, claim without a type, per-type retry
    settings). Raised before anything is sent; the message says what to do instead."""


class DuplicateTaskError(TaskManagerError):
    """``create_task(..., on_duplicate="raise")`` found an existing task with the same params."""

    def __init__(self, message: str, *, task_id: int, status: TaskStatus, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.task_id = task_id
        self.status = status


class TaskFailedError(TaskManagerError):
    """``wait_for_task``: the task ended in the failed state. ``task`` is its final state."""

    def __init__(self, message: str, *, task: Task, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.task = task


class WaitTimeoutError(TaskManagerError, TimeoutError):
    """``wait_for_task``: the task did not finish in time. ``task_id`` names it (also a ``TimeoutError``)."""

    def __init__(self, message: str, *, task_id: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.task_id = task_id


class ServerMessage(NamedTuple):
    """What the client makes of one message the server sends with an error status.

    ``text`` is the whole message (``prefix`` False) or how it starts (``prefix`` True), for the
    statuses in ``statuses``.
    """

    text: str
    prefix: bool
    statuses: range | tuple[int, ...]
    error_class: type[TaskManagerAPIError] | None = None  # instead of the status's own class
    nothing_to_claim: bool = False  # a claim that found no task: None, not an error
    permanent: bool = False  # an answer, not a hiccup: a retry cannot change it
    rolled_back: bool = False  # the request had no effect on the server


_SERVER_ERRORS = range(500, 600)

# Every server message that decides what the client does, in one place.
SERVER_MESSAGES = (
    ServerMessage("Task is not in claimed state", False, (400,), error_class=TaskNotClaimedError),
    # The real server says "nothing to claim" with a 500; the published document promises a 404.
    ServerMessage("There is no active transaction", False, (404, 500), nothing_to_claim=True),
    ServerMessage("No available tasks", False, (404, 500), nothing_to_claim=True),
    ServerMessage("There is no active transaction", True, _SERVER_ERRORS, permanent=True),
    ServerMessage("Invalid select field", True, _SERVER_ERRORS, permanent=True),
    # A 500 whose transaction was rolled back (constraint, deadlock): so a retry that then finds
    # the task proves nothing about who created it.
    ServerMessage("SQLSTATE[23000]", True, _SERVER_ERRORS, rolled_back=True),
    ServerMessage("SQLSTATE[40001]", True, _SERVER_ERRORS, rolled_back=True),
)


class MessageFlags(NamedTuple):
    error_class: type[TaskManagerAPIError] | None = None
    nothing_to_claim: bool = False
    permanent: bool = False
    rolled_back: bool = False


_NO_FLAGS = MessageFlags()


def server_message(status_code: int | None, message: str) -> MessageFlags:
    """What the table above says about ``message`` sent with ``status_code`` (all rules that match)."""
    found = _NO_FLAGS
    for rule in SERVER_MESSAGES:
        if status_code not in rule.statuses:
            continue
        if not (message.startswith(rule.text) if rule.prefix else message == rule.text):
            continue
        found = MessageFlags(
            found.error_class or rule.error_class,
            found.nothing_to_claim or rule.nothing_to_claim,
            found.permanent or rule.permanent,
            found.rolled_back or rule.rolled_back,
        )
    return found


_BY_STATUS: dict[int, type[TaskManagerAPIError]] = {
    400: TaskManagerValidationError,
    401: TaskManagerAuthError,
    403: TaskClaimedByAnotherWorkerError,
    404: TaskManagerNotFoundError,
    422: TaskManagerValidationError,
    429: TaskManagerRateLimitError,
}


def make_status_error(
    status_code: int,
    message: str,
    *,
    method: str | None = None,
    path: str | None = None,
    details: tuple[str, ...] = (),
    response_data: Any = None,
    retry_after: float | None = None,
) -> TaskManagerAPIError:
    """Build the error for an HTTP error reply: the one place that maps status (+ message) to class."""
    cls: type[TaskManagerAPIError] | None = server_message(status_code, message).error_class
    if cls is not None:
        pass
    elif status_code >= 500:
        cls = TaskManagerServerError
    else:
        cls = _BY_STATUS.get(status_code, TaskManagerAPIError)
    return cls(
        message,
        method=method,
        path=path,
        status_code=status_code,
        details=details,
        response_data=response_data,
        retry_after=retry_after,
    )


# Tracebacks and reprs name the public module (taskmanager.TaskManagerNotFoundError), where the
# classes are imported from. (Only classes whose bodies hold no annotations: those are resolved
# through __module__ by typing.get_type_hints.)
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type):
        _value.__module__ = "taskmanager"
