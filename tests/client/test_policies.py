"""Claim policies map to the right sort and the rotation is fair."""

from __future__ import annotations

from collections import Counter

from taskmanager import ClaimPolicy
from taskmanager._policies import TypeRotation


def test_policies_sort_strictly() -> None:
    """FIFO and LIFO sort by id (created_at has no tie-breaker); PRIORITY by priority DESC."""
    assert (ClaimPolicy.FIFO.sort_by, ClaimPolicy.FIFO.sort_order) == ("id", "ASC")
    assert (ClaimPolicy.LIFO.sort_by, ClaimPolicy.LIFO.sort_order) == ("id", "DESC")
    assert (ClaimPolicy.PRIORITY.sort_by, ClaimPolicy.PRIORITY.sort_order) == ("priority", "DESC")


def test_rotation_starts_each_type_equally_often() -> None:
    """Every type leads the claim order equally often."""
    rotation = TypeRotation()
    firsts = Counter(rotation.order(["a", "b", "c"])[0] for _ in range(9))
    assert firsts == {"a": 3, "b": 3, "c": 3}


def test_rotation_keeps_every_type() -> None:
    """A rotated order is a permutation of the input."""
    rotation = TypeRotation()
    for _ in range(4):
        assert sorted(rotation.order([3, 1, 2])) == [1, 2, 3]
    assert rotation.order([7]) == [7]
