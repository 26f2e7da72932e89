"""A 3xx is no answer from this API: a protocol error, retried and verified like a lost reply."""

from __future__ import annotations

import json

import pytest

from taskmanager import TaskManagerProtocolError
from taskmanager._errors import TaskManagerConnectionError
from taskmanager._retry import may_have_acted, should_retry
from taskmanager._wire import redirect_error

from ._bounds_clients import KINDS, run
from ._bounds_server import json_reply, serve
from .test_bounds_deadline import NOT_CLAIMED, _task

CHOOSES_HTTP_BACKEND = True  # each test names its clients
OUTCOME = json.dumps(
    {"success": True, "data": {"id": 3, "status": "completed", "message": "Task completed"}}
).encode()


def _redirect(status: int) -> object:
    return json_reply(status, b"", ["Location: http://elsewhere.example/api/tasks/3/complete"])


def _lines(requests: list[bytes]) -> list[list[bytes]]:
    return [line.split()[:2] for line in requests]


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("kind", KINDS)
def test_completion_after_a_redirect_is_sent_again(kind: str, status: int, no_sleep: None) -> None:
    """A completion answered with a 302/307 is sent again (redirects are not followed), and
    the retry's success is the outcome."""
    with serve([_redirect(status), json_reply(200, OUTCOME)]) as server:
        outcome = run(kind, server.url, lambda c: c.complete_task(3, worker_id="w"), retry_attempts=2)
        requests = list(server.requests)
    assert outcome.message == "Task completed"
    assert _lines(requests) == [[b"POST", b"/api/tasks/3/complete"]] * 2


@pytest.mark.parametrize("kind", KINDS)
def test_redirected_completion_is_verified_like_a_lost_reply(kind: str, no_sleep: None) -> None:
    """A 307 then "not claimed": the first attempt may have gone through, so a GET decides."""
    replies = [_redirect(307), json_reply(400, NOT_CLAIMED), json_reply(200, _task("completed", "w"))]
    with serve(replies) as server:
        outcome = run(kind, server.url, lambda c: c.complete_task(3, worker_id="w"), retry_attempts=2)
        requests = list(server.requests)
    assert outcome.message == "Task completed (verified)"
    assert _lines(requests)[-1] == [b"GET", b"/api/tasks/3"]


@pytest.mark.parametrize("kind", KINDS)
def test_redirect_on_every_attempt_is_a_protocol_error(kind: str, no_sleep: None) -> None:
    """When every attempt is redirected the call fails with TaskManagerProtocolError naming the
    status and where it pointed; nothing is treated as an answer."""
    with serve([_redirect(302)] * 3) as server:
        with pytest.raises(TaskManagerProtocolError) as caught:
            run(kind, server.url, lambda c: c.fail_task(3, worker_id="w", error="e"), retry_attempts=2)
        assert len(server.requests) == 3
    assert caught.value.status_code == 302
    assert "elsewhere.example" in caught.value.message


@pytest.mark.parametrize("kind", KINDS)
def test_redirected_claim_is_not_sent_again(kind: str, no_sleep: None) -> None:
    """A redirected claim may have been passed on and claimed a task: not retried, like a lost reply."""
    with serve([_redirect(302)] * 3) as server:
        with pytest.raises(TaskManagerProtocolError):
            run(kind, server.url, lambda c: c.claim_task(7, worker_id="w"), retry_attempts=2)
        assert len(server.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_health_check_on_a_redirect_is_unhealthy(kind: str) -> None:
    """health_check() answers a redirect with a falsy Health giving the reason."""
    with serve([_redirect(301)]) as server:
        health = run(kind, server.url, lambda c: c.health_check())
    assert not health
    assert "301" in (health.reason or "")


def test_redirect_counts_as_a_lost_reply_in_the_retry_rules() -> None:
    """The pure rules: a 3xx is retried (claims excepted) and may have acted, as a lost reply is."""
    from taskmanager._protocol import Call

    call = Call("complete", "POST", "/tasks/3/complete", {}, None)
    redirect = redirect_error(call, 303, {"location": "x" * 5000})
    lost = TaskManagerConnectionError("lost", request_sent=True)
    for op in ("read", "register", "create", "claim", "complete", "progress"):
        assert should_retry(op, redirect) is should_retry(op, lost), op
    assert may_have_acted(redirect) is True
    assert len(redirect.message) < 400  # a long Location is cut
    other = TaskManagerProtocolError("bad JSON", status_code=200)
    assert should_retry("complete", other) is False
