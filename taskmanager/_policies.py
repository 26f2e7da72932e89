"""Claim policies and fair rotation across several task types.

The claim endpoint takes one task type id per call and sorts by a column. ``created_at`` has
one-second resolution and no tie-breaker, so strict creation order needs ``sort_by=id``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, TypeVar

from ._errors import TaskManagerValidationError
from ._shown import shown

__all__ = ["ClaimPolicy", "PolicyArg", "TypeRotation", "to_policy"]

T = TypeVar("T")


class ClaimPolicy(enum.Enum):
    """Which task a claim takes first.

    FIFO: oldest first, strictly by creation order (by id); LIFO: newest first (id descending);
    PRIORITY: highest priority first (the server's order among equal priorities is unspecified,
    and the current server gives every task priority 0, so PRIORITY is no order at all there).

    Wherever a policy is taken, its name is taken too, in any case: ``"lifo"``, ``"PRIORITY"``
    (``ClaimPolicy("lifo")`` works as well). Another name raises TaskManagerValidationError
    (also a ValueError) listing the valid ones.
    """

    FIFO = ("id", "ASC")
    LIFO = ("id", "DESC")
    PRIORITY = ("priority", "DESC")

    @classmethod
    def _missing_(cls, value: object) -> ClaimPolicy:
        if isinstance(value, str):
            found = cls.__members__.get(value.strip().upper())
            if found is not None:
                return found
        names = ", ".join(cls.__members__)
        raise TaskManagerValidationError(f"unknown claim policy {value!r}: use one of {names} (any case)")

    @property
    def sort_by(self) -> str:
        return self.value[0]

    @property
    def sort_order(self) -> str:
        return self.value[1]


PolicyArg = ClaimPolicy | str


def to_policy(value: Any) -> ClaimPolicy:
    """A ClaimPolicy from a policy or its name (any case); TaskManagerValidationError otherwise."""
    if isinstance(value, ClaimPolicy):
        return value
    if not isinstance(value, str):
        names = ", ".join(ClaimPolicy.__members__)
        raise TaskManagerValidationError(
            f"policy must be a ClaimPolicy or one of {names}, got {shown(value)}"
        )
    return ClaimPolicy(value)


class TypeRotation:
    """Round-robin start point so that, claiming from several types, none starves another.

    Each call to ``order`` starts one place further along, so a busy first type cannot take
    every claim while a later type waits.
    """

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = 0

    def order(self, items: Sequence[T]) -> list[T]:
        if len(items) <= 1:
            return list(items)
        start = self._next % len(items)
        self._next = start + 1
        return [*items[start:], *items[:start]]
