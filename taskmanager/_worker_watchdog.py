"""A thread that notices when the worker's event loop is blocked (an ``async def`` handler
calling blocking code): while it is, signals and ``stop()`` wait, so it is worth a warning.

The thread posts a no-op to the loop and measures how long the loop takes to run it, like
asyncio's debug-mode slow-callback check but always on and cheap (one post per interval).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["LoopWatchdog"]

logger = logging.getLogger("taskmanager.worker")


class LoopWatchdog:
    """Warns once per block when ``loop`` has not run a posted callback for ``threshold`` s;
    ``describe()`` (called from the watchdog thread) names what is running on the loop."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, threshold: float, describe: Callable[[], str]
    ) -> None:
        self._loop = loop
        self._threshold = threshold
        self._describe = describe
        self._done = threading.Event()
        self._posted_at: float | None = None
        self._warned = False
        self._thread = threading.Thread(target=self._watch, name="taskmanager-loop-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()

    def _beat(self) -> None:  # on the loop
        posted, self._posted_at = self._posted_at, None
        if self._warned and posted is not None:
            logger.warning("the worker's event loop runs again after %.1fs", time.monotonic() - posted)
        self._warned = False

    def _watch(self) -> None:
        interval = max(0.01, self._threshold / 4)
        while not self._done.wait(interval):
            posted = self._posted_at
            if posted is None:
                self._posted_at = time.monotonic()
                try:
                    self._loop.call_soon_threadsafe(self._beat)
                except RuntimeError:  # the loop is closed: nothing left to watch
                    return
                continue
            blocked = time.monotonic() - posted
            if blocked >= self._threshold and not self._warned:
                self._warned = True
                try:
                    running = self._describe()
                except Exception as exc:  # never let the watchdog die on a description
                    running = f"(could not tell: {type(exc).__name__})"
                logger.warning(
                    "the worker's event loop has been blocked for %.1fs by %s: signals and stop() "
                    "wait until it returns; blocking code belongs in a sync handler (it runs in a thread)",
                    blocked,
                    running,
                )
