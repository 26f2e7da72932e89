"""Claim policies and fair rotation across several task types.

The claim endpoint takes one task type id per call and sorts by a column. ``created_at`` has
one-second resolution and no tie-breaker, so strict creation order needs ``sort_by=id``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["ClaimPolicy", "TypeRotation"]

T = TypeVar("T")


class ClaimPolicy(enum.Enum):
    """Which task a claim takes first.

    FIFO: oldest first, strictly by creation order (by id); LIFO: newest first (id descending);
    PRIORITY: highest priority first (the server's order among equal priorities is unspecified,
    and the current server gives every task priority 0, so PRIORITY is no order at all there).
    """

    FIFO = ("id", "ASC")
    LIFO = ("id", "DESC")
    PRIORITY = ("priority", "DESC")

    @property
    def sort_by(self) -> str:
        return self.value[0]

    @property
    def sort_order(self) -> str:
        return self.value[1]


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
