"""Whether the API is answering, as the worker sees it: one log line when that changes."""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["ApiHealth"]

logger = logging.getLogger("taskmanager.worker")


class ApiHealth:
    """Counts failed calls in a row and logs when an outage starts and ends (not per call)."""

    def __init__(self, *, clock: Callable[[], float], down_cap: float) -> None:
        self._clock = clock
        self._down_cap = down_cap
        self.failures = 0
        """Failed calls since the last one that got an answer."""
        self._down_since: float | None = None
        self._failed_at = 0.0

    def resting(self) -> bool:
        """True while calls fail and the last failure is under ``down_cap`` old: calls that can
        be skipped (progress reports) are, so no handler waits through an outage's retries.
        (Past ``down_cap`` one is let through again: it finds out whether the API is back.)"""
        return self._down_since is not None and self._clock() - self._failed_at < self._down_cap

    def down(self, reason: object) -> None:
        self.failures += 1
        self._failed_at = self._clock()
        if self._down_since is None:
            self._down_since = self._clock()
            logger.warning(
                "TaskManager API calls failing, backing off (up to %gs): %s", self._down_cap, reason
            )

    def up(self) -> None:
        if self._down_since is not None:
            logger.warning(
                "TaskManager API answering again after %.1fs (%d failed calls)",
                self._clock() - self._down_since,
                self.failures,
            )
            self._down_since = None
        self.failures = 0
