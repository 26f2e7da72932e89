"""ApiHealth logs an outage episode once: one "calls failing" line when it starts, one
"answering again" line when calls have answered for down_cap with no failure (or the run ends)."""

from __future__ import annotations

import logging

import pytest

from taskmanager._worker_health import ApiHealth


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "taskmanager.worker"]


def _play(health: ApiHealth, clock: Clock, steps: list[tuple[float, bool]]) -> None:
    for at, answered in steps:
        clock.now = at
        if answered:
            health.up()
        else:
            health.down("HTTP 503")


def test_a_partial_outage_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """Completions failing while claims answer (failures 1-2 s apart, down_cap 4): one pair, with
    the episode's figures, not a pair per retry."""
    clock = Clock()
    health = ApiHealth(clock=clock, down_cap=4.0)
    steps = [(0.0, False), (0.5, True), (1.0, False), (1.5, True), (3.0, False), (3.5, True), (5.0, True)]
    with caplog.at_level(logging.WARNING, logger="taskmanager.worker"):
        _play(health, clock, steps)
        assert [m for m in _lines(caplog) if "answering again" in m] == []  # 1.5 s since the last failure
        _play(health, clock, [(7.5, True)])  # 4.5 s without a failure: over
        health.close()
    lines = _lines(caplog)
    assert sum("calls failing" in m for m in lines) == 1
    assert [m for m in lines if "answering again" in m] == [
        "TaskManager API answering again after 3 failed calls over 3.5s"
    ]
    assert not health.resting() and health.failures == 0


def test_a_clean_outage_is_one_pair(caplog: pytest.LogCaptureFixture) -> None:
    """Calls fail, then answer: one pair; when the run ends inside the window, close() logs the end."""
    clock = Clock()
    health = ApiHealth(clock=clock, down_cap=4.0)
    with caplog.at_level(logging.WARNING, logger="taskmanager.worker"):
        _play(health, clock, [(0.0, False), (1.0, False), (3.0, False)])
        assert health.resting()
        _play(health, clock, [(4.0, True), (4.5, True)])
        assert not health.resting()  # an answer ends the resting at once
        health.close()
        health.close()  # nothing more to say
        _play(health, clock, [(9.0, False), (20.0, True)])  # a second outage: its own pair
    lines = _lines(caplog)
    assert sum("calls failing" in m for m in lines) == 2
    assert [m for m in lines if "answering again" in m] == [
        "TaskManager API answering again after 3 failed calls over 4.0s",
        "TaskManager API answering again after 1 failed calls over 11.0s",
    ]


def test_a_run_ending_while_calls_fail_says_nothing_more(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    health = ApiHealth(clock=clock, down_cap=4.0)
    with caplog.at_level(logging.WARNING, logger="taskmanager.worker"):
        _play(health, clock, [(0.0, False), (1.0, True), (2.0, False)])
        health.close()
    assert not any("answering again" in m for m in _lines(caplog))
