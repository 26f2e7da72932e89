"""Stop requests as events on the worker's loop, and the waits that a stop cuts short.

``stop()`` may come from any thread, a signal handler or a handler on the loop. The first
one ends claiming (``stopping``); the second, or the end of the grace period after the first,
ends waiting for handlers and reports (``forced``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["Interrupted", "StopControl"]

T = TypeVar("T")


class Interrupted(Exception):
    """A wait given up because the stop it waited on came."""


class StopControl:
    """The stop state of one worker, bound to the loop of the run in progress."""

    def __init__(self, *, grace_period: float) -> None:
        self.grace_period = grace_period
        self.requested = False
        self.reason = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._stopping: asyncio.Event | None = None
        self._forced: asyncio.Event | None = None
        self._grace_timer: asyncio.TimerHandle | None = None

    # -- from anywhere ---------------------------------------------------------------------

    def request(self, reason: str) -> None:
        """Ask the run to stop (again: at once). Safe from any thread and from signal handlers."""
        again = self.requested
        self.requested = True
        if not again:
            self.reason = reason
        loop = self._loop
        if loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._on_loop(again)  # effective before the next claim
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to wake
            loop.call_soon_threadsafe(self._on_loop, again)

    # -- on the loop -----------------------------------------------------------------------

    def bind(self) -> None:
        """Start a run on the running loop (a stop requested before it is honoured)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._stopping = asyncio.Event()
        self._forced = asyncio.Event()
        if self.requested:
            self._on_loop(False)

    def unbind(self) -> None:
        if self._grace_timer is not None:
            self._grace_timer.cancel()
        self._loop = self._loop_thread = self._stopping = self._forced = self._grace_timer = None
        self.requested = False

    @property
    def stopping(self) -> asyncio.Event:
        assert self._stopping is not None, "not bound to a run"
        return self._stopping

    @property
    def forced(self) -> asyncio.Event:
        assert self._forced is not None, "not bound to a run"
        return self._forced

    def _on_loop(self, again: bool) -> None:
        if self._stopping is None or self._forced is None or self._loop is None:
            return
        if again:
            self._forced.set()
        elif not self._stopping.is_set():
            self._stopping.set()
            self._grace_timer = self._loop.call_later(self.grace_period, self._forced.set)

    async def pause(
        self,
        seconds: float,
        *,
        until: asyncio.Event | None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """Wait ``seconds`` (or through ``sleep``, a test's stand-in), less if ``until`` is set."""
        if sleep is not None:
            await sleep(seconds)
            return
        if until is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), timeout=seconds)

    async def unless(self, event: asyncio.Event, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable``; if ``event`` is set first, cancel it and raise ``Interrupted``."""
        job: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        if event.is_set() and not job.done():
            job.cancel()
            raise Interrupted
        waiter: asyncio.Future[Any] = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({job, waiter}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            job.cancel()
            raise
        finally:
            waiter.cancel()
        if not job.done():
            job.cancel()
            raise Interrupted
        return job.result()
