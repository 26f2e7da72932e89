"""A bounded pool of daemon threads whose calls settle futures on an event loop.

Not ``concurrent.futures.ThreadPoolExecutor``: its threads are joined when the interpreter
exits, so one handler that never returns (or one HTTP call to a hung server) would keep a
stopped worker's process alive. These threads are daemons: the process can always end.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

from ._worker_text import describe_error

__all__ = ["DaemonPool"]

_Job = tuple[
    asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...], dict[str, Any]
]


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # cancelled: nobody is waiting any more
        return
    if ok:
        future.set_result(value)
        return
    if isinstance(value, StopIteration):
        # asyncio will not carry StopIteration in a future (3.11/3.12 raise TypeError, 3.13 wraps
        # it in a RuntimeError of its own wording): carry it in a RuntimeError here, alike on all.
        error = RuntimeError(f"the call raised {describe_error(value)}")
        error.__cause__ = value
        value = error
    future.set_exception(value)


class DaemonPool:
    """Up to ``size`` daemon threads, started as calls need them and kept until ``close()``."""

    def __init__(self, size: int, name: str) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self._size = size
        self._name = name
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._waiting = 0  # calls queued and not yet taken by a thread

    @property
    def threads(self) -> int:
        """Threads started so far (never more than ``size``)."""
        return self._threads

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        """Run ``fn(*args, **kwargs)`` in a pool thread; the returned future (on the running
        loop) gets its value or exception, whatever that is (``BaseException`` included)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            self._waiting += 1
            start = self._waiting > self._idle and self._threads < self._size
            if start:
                self._threads += 1
                number = self._threads
        self._queue.put((loop, future, fn, args, kwargs))
        if start:
            threading.Thread(target=self._work, name=f"{self._name}-{number}", daemon=True).start()
        return future

    def close(self) -> None:
        """Let every thread end once it is free (one stuck in a call ends when the call does)."""
        with self._lock:
            count = self._threads
        for _ in range(count):
            self._queue.put(None)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._queue.get()
            with self._lock:
                self._idle -= 1
                if job is not None:
                    self._waiting -= 1
            if job is None:
                return
            loop, future, fn, args, kwargs = job
            del job
            try:
                outcome: tuple[bool, Any] = (True, fn(*args, **kwargs))
            except BaseException as exc:  # the caller decides what any outcome means
                outcome = (False, exc)
            # The loop may be closed by now (the worker stopped without this call).
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, *outcome)
            del loop, future, fn, args, kwargs, outcome
