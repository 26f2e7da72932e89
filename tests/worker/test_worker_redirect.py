"""A completion answered with a redirect stays in the outbox and is delivered, never dropped."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from taskmanager import TaskManagerClient, TaskManagerConfig
from taskmanager._worker import Worker

from .worker_fakes import RecordingSleep

T = "Test.Redirect"


def _ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "data": data})


def _fail(status: int, error: str) -> httpx.Response:
    return httpx.Response(status, json={"success": False, "error": error})


def _redirect() -> httpx.Response:
    return httpx.Response(302, headers={"Location": "https://elsewhere.example/"})


TYPE = {
    "id": 5,
    "name": T,
    "version": "1",
    "param_schema": {"type": "object"},
    "is_active": 1,
    "created_at": "2026-01-01 00:00:00",
    "updated_at": "2026-01-01 00:00:00",
}


class Api:
    """One task to claim; each completion gets the next scripted reply."""

    def __init__(self, completions: list[Callable[[], httpx.Response]]) -> None:
        self.completions = completions
        self.claimed = False
        self.sent: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        self.sent.append(f"{request.method} {path}")
        if path == f"/task-types/{T}":
            return _ok({"items": [TYPE], "count": 1})
        if path == "/tasks/claim":
            if self.claimed:
                return _fail(500, "There is no active transaction")
            self.claimed = True
            return _ok({"id": 1, "type": T, "params": {}, "attempts": 1, "priority": 0})
        if path == "/tasks/1/complete":
            body = json.loads(request.content)
            assert body["worker_id"] == "w1" and body["success"] is True
            return self.completions.pop(0)()
        raise AssertionError(f"unexpected {request.method} {path}")


def _run(api: Api) -> Any:
    config = TaskManagerConfig(api_url="http://127.0.0.1:9/api", api_key="k", retry_attempts=0)
    with TaskManagerClient(config, transport=httpx.MockTransport(api)) as client:
        worker = Worker(client, worker_id="w1", sleep=RecordingSleep(), poll_interval=1.0, down_cap=1.0)
        worker.add_handler(T, lambda task: {"ok": True})
        return worker.run(burst=True, handle_signals=False)


def test_redirected_completion_is_kept_and_delivered() -> None:
    """Three 302s to the completion, then a 200: the outcome waits in the outbox and is delivered."""
    api = Api(
        [_redirect, _redirect, _redirect, lambda: _ok({"id": 1, "status": "completed", "message": "ok"})]
    )
    stats = _run(api)
    assert api.sent.count("POST /tasks/1/complete") == 4
    assert (stats.completed, stats.delivered_late, stats.claim_lost, stats.lost) == (1, 1, 0, 0)


@pytest.mark.parametrize("answer", ["Task is not in claimed state"])
def test_redirect_then_not_claimed_counts_as_delivered(answer: str) -> None:
    """A 302 may have been passed on and recorded: the retry's "not claimed" then means the
    earlier report went through, not that the claim was lost."""
    api = Api([_redirect, lambda: _fail(400, answer)])
    stats = _run(api)
    assert (stats.completed, stats.claim_lost, stats.lost) == (1, 0, 0)
