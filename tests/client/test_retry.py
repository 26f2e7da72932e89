"""Retry rules per operation and the backoff, without sleeping."""

from __future__ import annotations

import time

import pytest

from taskmanager import (
    TaskManagerConfig,
    TaskManagerConnectionError,
    TaskManagerError,
    TaskManagerProtocolError,
    TaskManagerTimeoutError,
    TaskManagerValidationError,
)
from taskmanager._errors import make_status_error
from taskmanager._protocol import RESUMED, Call, Pause, Reply
from taskmanager._retry import (
    Operation,
    parse_retry_after,
    retry_delay,
    send,
    set_testing,
    should_retry,
    sleep,
)

NEVER_SENT = TaskManagerConnectionError("refused", request_sent=False)
DROPPED = TaskManagerConnectionError("reset", request_sent=True)
READ_TIMEOUT = TaskManagerTimeoutError("read timeout", request_sent=True)
CONNECT_TIMEOUT = TaskManagerTimeoutError("connect timeout", request_sent=False)
S429 = make_status_error(429, "Too Many Requests")
S500 = make_status_error(500, "SQLSTATE[40001]: Deadlock found")
S500_DUP = make_status_error(500, "SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry")
S500_EMPTY = make_status_error(500, "HTTP 500 with an empty body")
S502 = make_status_error(502, "Bad Gateway")
S503 = make_status_error(503, "Service Unavailable")
NOTHING = make_status_error(500, "There is no active transaction")
LIST_BUG = make_status_error(500, "Invalid select field: COALESCE(t.usage_count, 0) as usage_count")
S400 = make_status_error(400, "Validation failed")
S401 = make_status_error(401, "Unauthorized")
S404 = make_status_error(404, "Task not found")
PROTOCOL = TaskManagerProtocolError("html")
LOCAL = TaskManagerValidationError("bad")

# op -> errors it retries; every other error in ALL is not retried.
ALL = [
    NEVER_SENT, DROPPED, READ_TIMEOUT, CONNECT_TIMEOUT, S429, S500, S500_DUP, S500_EMPTY, S502, S503,
    NOTHING, LIST_BUG, S400, S401, S404, PROTOCOL, LOCAL,
]  # fmt: skip
TRANSIENT = [NEVER_SENT, DROPPED, READ_TIMEOUT, CONNECT_TIMEOUT, S429, S500, S500_DUP, S500_EMPTY, S502, S503]
RETRIED: dict[Operation, list[TaskManagerError]] = {
    "read": TRANSIENT,
    "register": TRANSIENT,
    "create": TRANSIENT,
    "complete": TRANSIENT,
    "progress": TRANSIENT,
    "claim": [NEVER_SENT, CONNECT_TIMEOUT, S429, S503],
}


@pytest.mark.parametrize("op", list(RETRIED))
def test_should_retry_table(op: Operation) -> None:
    """Each operation retries exactly the failures that are safe for it."""
    retried = [e for e in ALL if should_retry(op, e)]
    assert retried == RETRIED[op]


def test_claim_never_retries_a_lost_reply() -> None:
    """A claim whose reply was lost may have claimed: it is not sent again."""
    assert not should_retry("claim", DROPPED)
    assert not should_retry("claim", READ_TIMEOUT)
    assert not should_retry("claim", S500)


def test_backoff_grows_with_jitter_and_cap() -> None:
    """Delays double per attempt, stay in the upper half of their ceiling, and respect the cap."""
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (10, 8.0)]:
        delays = {retry_delay(attempt, base=0.5, cap=8.0) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered


def test_retry_after_wins() -> None:
    """The server's Retry-After is used as given."""
    assert retry_delay(1, 7.0) == 7.0
    assert retry_delay(5, 0.0) == 0.0


def test_parse_retry_after() -> None:
    """Retry-After is read as seconds or as an HTTP date."""
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = 1_700_000_000.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", now=now) == 10.0


def test_set_testing_skips_sleep() -> None:
    """With the test switch on, sleeping returns at once."""
    set_testing(True)
    try:
        started = time.monotonic()
        sleep(60)
        assert time.monotonic() - started < 1
    finally:
        set_testing(False)


def _drive(config: TaskManagerConfig, call: Call, replies: list[Reply]) -> tuple[list[object], Reply]:
    """Run the retry loop with canned attempt replies; what it yielded, and what it returned."""
    loop = send(config, call)
    steps: list[object] = []
    answers = iter(replies)
    step = next(loop)
    try:
        while True:
            steps.append(step)
            step = loop.send(RESUMED if isinstance(step, Pause) else next(answers))
    except StopIteration as stop:
        return steps, stop.value


CREATE = Call("create", "POST", "/tasks", {"type": "T", "params": {}}, None)
LOST = TaskManagerTimeoutError("no reply in time", request_sent=True, method="POST", path="/tasks")


def test_retry_loop_pauses_between_attempts_and_marks_uncertain() -> None:
    """A lost reply, then success: call, pause, call; the success is uncertain."""
    config = TaskManagerConfig(api_url="http://127.0.0.1:9/api", retry_attempts=3, retry_backoff=0.5)
    steps, reply = _drive(config, CREATE, [Reply(None, LOST), Reply({"id": 1}, None)])
    assert steps[0] is CREATE and steps[2] is CREATE
    assert isinstance(steps[1], Pause) and 0.25 <= steps[1].seconds <= 0.5
    assert reply == Reply({"id": 1}, None, uncertain=True)


def test_retry_loop_stops_at_the_attempt_count_and_at_a_long_retry_after() -> None:
    """Attempts end at retry_attempts; a Retry-After above retry_max_delay is not waited for."""
    config = TaskManagerConfig(api_url="http://127.0.0.1:9/api", retry_attempts=2, retry_max_delay=5.0)
    steps, reply = _drive(config, CREATE, [Reply(None, LOST)] * 3)
    assert [type(step).__name__ for step in steps] == ["Call", "Pause", "Call", "Pause", "Call"]
    assert reply.error is LOST and reply.uncertain
    busy = make_status_error(429, "slow down", method="POST", path="/tasks", retry_after=60.0)
    steps, reply = _drive(config, CREATE, [Reply(None, busy)])
    assert steps == [CREATE] and reply.error is busy and not reply.uncertain
    short = make_status_error(429, "slow down", method="POST", path="/tasks", retry_after=2.0)
    steps, reply = _drive(config, CREATE, [Reply(None, short), Reply({"id": 2}, None)])
    assert steps[1] == Pause(2.0) and reply.data == {"id": 2}
