"""Results read as read-only mappings keyed by their field names, next to attribute access."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs
import pytest

from taskmanager import (
    ClaimedTask,
    CompletionOutcome,
    CompletionStatus,
    CreatedTask,
    Health,
    ProgressUpdate,
    Task,
    TaskStatus,
    TaskSummary,
    TaskType,
)

NOW = dt.datetime(2026, 11, 23, 6, 18, 28, tzinfo=dt.UTC)

EXAMPLES = [
    Health(ok=True, status="healthy", database="connected", server_time=NOW),
    TaskType(id=1, name="T", version="1.0.0", param_schema={"type": "object"}),
    CreatedTask(id=2, type="T", status=TaskStatus.PENDING, dedupe_key="k", created=True),
    ClaimedTask(
        id=3, type="T", params={"u": 1}, attempts=1, priority=0, worker_id="w", claimed_at=NOW, task_type_id=1
    ),
    Task(
        id=4,
        type="T",
        status=TaskStatus.COMPLETED,
        params={"u": 1},
        result={"n": 2},
        error_message=None,
        priority=0,
        progress=100,
        attempts=1,
        claimed_by="w",
        claimed_at=NOW,
        completed_at=NOW,
        created_at=NOW,
    ),
    TaskSummary(
        id=5,
        type="T",
        status=TaskStatus.PENDING,
        priority=0,
        progress=0,
        attempts=0,
        claimed_by=None,
        created_at=NOW,
        completed_at=None,
    ),
    CompletionOutcome(task_id=6, status=CompletionStatus.COMPLETED, message="Task completed"),
    ProgressUpdate(task_id=7, progress=50, message="ok"),
]


@pytest.mark.parametrize("result", EXAMPLES, ids=lambda r: type(r).__name__)
def test_every_result_is_a_mapping_of_its_fields(result: Mapping[str, object]) -> None:
    """Keys are the declared field names; each value is the attribute's value."""
    names = [f.name for f in attrs.fields(type(result)) if f.name != "extra"]
    assert isinstance(result, Mapping)
    assert list(result) == names and len(result) == len(names)
    assert dict(result) == {name: getattr(result, name) for name in names}
    for name in names:
        assert name in result and result[name] == result.get(name) == getattr(result, name)
    assert "extra" not in result  # unknown reply fields stay in .extra, not among the keys
    assert "no_such_field" not in result and result.get("no_such_field", "dflt") == "dflt"
    with pytest.raises(KeyError):
        result["no_such_field"]
    assert 0 not in result and ["id"] not in result  # non-string keys are simply absent


@pytest.mark.parametrize("result", EXAMPLES, ids=lambda r: type(r).__name__)
def test_mapping_view_is_read_only(result: Mapping[str, object]) -> None:
    """Item assignment and deletion are refused; attributes stay frozen."""
    key = next(iter(result))
    with pytest.raises(TypeError):
        result[key] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        del result[key]  # type: ignore[attr-defined]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(result, key, 1)


def test_equality_and_hashing_stay_those_of_the_model() -> None:
    """A result is not equal to a dict of its fields, and stays hashable."""
    progress = EXAMPLES[-1]
    assert progress != dict(progress)
    assert progress == attrs.evolve(progress) and progress != attrs.evolve(progress, progress=51)
    assert hash(progress) == hash(attrs.evolve(progress))


def test_results_are_truthy_whatever_their_length() -> None:
    """The mapping view does not change truthiness (a claim is `if task:`)."""
    assert all(bool(r) for r in EXAMPLES[1:])


def test_health_is_truthy_only_when_healthy_and_says_why_not() -> None:
    """bool(Health) is ok; an unhealthy one prints its reason."""
    healthy = EXAMPLES[0]
    assert healthy and "healthy" in str(healthy)
    down = Health(
        ok=False, status="unreachable", database="unknown", server_time=None, reason="connection failed"
    )
    assert not down
    assert "connection failed" in str(down) and "connection failed" in repr(down)
    degraded = Health(ok=False, status="healthy", database="disconnected", server_time=NOW)
    assert not degraded and "disconnected" in str(degraded)
