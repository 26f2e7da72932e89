"""Whether the API is answering, as the worker sees it: one log line when that changes."""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["ApiHealth"]

logger = logging.getLogger("taskmanager.worker")


class ApiHealth:
    """Counts failed calls in a row and logs once when an outage episode starts and once when
    it ends (not per call).

    An episode ends when calls have answered for ``down_cap`` (the longest any call waits
    before it is tried again) with no failure: in a partial outage (claims answer, completions
    fail) the failures keep one episode open instead of logging a pair per retry. The end is
    logged at the first call past that window, or at ``close()`` if the run ends first.
    """

    def __init__(self, *, clock: Callable[[], float], down_cap: float) -> None:
        self._clock = clock
        self._down_cap = down_cap
        self.failures = 0
        """Failed calls since the last one that got an answer."""
        self._down_since: float | None = None
        self._failed_at = 0.0
        self._episode_failures = 0
        self._answered_at: float | None = None  # first answer after the episode's last failure

    def resting(self) -> bool:
        """True while calls fail and the last failure is under ``down_cap`` old: calls that can
        be skipped (progress reports) are, so no handler waits through an outage's retries.
        (Past ``down_cap`` one is let through again: it finds out whether the API is back.)"""
        return self.failures > 0 and self._clock() - self._failed_at < self._down_cap

    def down(self, reason: object) -> None:
        now = self._clock()
        self.failures += 1
        self._episode_failures += 1
        self._failed_at = now
        self._answered_at = None
        if self._down_since is None:
            self._down_since = now
            logger.warning(
                "TaskManager API calls failing, backing off (up to %gs): %s", self._down_cap, reason
            )

    def up(self) -> None:
        self.failures = 0
        if self._down_since is None:
            return
        now = self._clock()
        if self._answered_at is None:
            self._answered_at = now
        if now - self._failed_at >= self._down_cap:
            self._end_episode()

    def close(self) -> None:
        """The run ends: an episode whose calls answer again is logged as over."""
        if self._down_since is not None and self._answered_at is not None:
            self._end_episode()

    def _end_episode(self) -> None:
        assert self._down_since is not None and self._answered_at is not None
        logger.warning(
            "TaskManager API answering again after %d failed calls over %.1fs",
            self._episode_failures,
            self._answered_at - self._down_since,
        )
        self._down_since = self._answered_at = None
        self._episode_failures = 0
