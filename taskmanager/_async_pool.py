"""The async client's connection pool: built on the event loop that uses it, released inside it.

httpx's pooled connections belong to the event loop that opened them and can only be closed
from inside that loop. So the async client does not build its pool up front: the first call
on an event loop builds one there, and the pool is released (its connections closed) before
the loop ends:

- explicitly, with ``await client.release_connections()`` from inside the loop (the worker does
  this at the end of each run);
- by asyncio itself: a finished ``asyncio.run()`` (or ``asyncio.Runner``) closes every async
  generator still open on its loop, and the pool registers a small one whose ``finally`` closes
  the pool, so ``asyncio.run(client.get_task(1))`` twice in a row leaves no socket behind.

A call from another event loop while the pool's loop is still open is refused before anything
is sent (TaskManagerEventLoopError): the reply to a request sent over the first loop's
connection would be lost. When the pool's loop was closed without that shutdown
(``loop.close()`` alone), its connections can no longer be closed by anyone: the pool is
dropped (the garbage collector closes its sockets, with a ResourceWarning) and a new one is
built on the running loop; no request of the old loop can still be waiting for a reply, so
nothing is lost.

A pool passed in (``http_client``, or a ``transport`` other than ``httpx.MockTransport``) is
the caller's: it is never rebuilt nor released here, so the client stays with the first loop
that used it. Outside asyncio (trio) there is no loop to compare: one pool serves every call.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING

from ._errors import TaskManagerEventLoopError

if TYPE_CHECKING:
    import asyncio

    import httpx

    from ._wire import Call

__all__ = ["LoopPool"]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    import asyncio  # here, not at the top: sync-only programs need not import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _release_at_loop_end(owner: LoopPool, pool: httpx.AsyncClient) -> AsyncGenerator[None]:
    # Started once inside the loop, so the loop's async-generator hooks know it; a closing
    # asyncio.run() then calls aclose(), which runs this finally inside that loop.
    try:
        yield
    finally:
        owner.forget(pool)
        await pool.aclose()


class LoopPool:
    """One ``httpx.AsyncClient`` at a time, tied to the event loop it serves.

    ``build`` makes the client's own pool on each loop; without it, ``given`` is the one pool
    for good (closed by ``aclose()`` only when ``owned``).
    """

    __slots__ = ("_build", "_closed", "_closer", "_loop", "_owned", "_pool")

    def __init__(
        self,
        build: Callable[[], httpx.AsyncClient] | None,
        given: httpx.AsyncClient | None = None,
        *,
        owned: bool = False,
    ) -> None:
        self._build = build
        self._pool = given
        self._owned = owned
        self._closed = False
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._closer: AsyncGenerator[None] | None = None

    @property
    def current(self) -> httpx.AsyncClient | None:
        """The pool in use now, if any."""
        return self._pool

    def forget(self, pool: httpx.AsyncClient) -> None:
        """Stop using one of the pools built here (it is being closed): the next call builds another."""
        if self._pool is pool and self._build is not None:
            self._pool = self._loop = self._closer = None

    def _bind(self, loop: asyncio.AbstractEventLoop | None, call: Call | None) -> bool:
        """True when the pool serves ``loop`` (binding it on first use); False when it must be
        replaced; TaskManagerEventLoopError when it can be neither."""
        if loop is None:
            return True
        if self._loop is None:
            self._loop = weakref.ref(loop)
            return True
        bound = self._loop()
        if bound is loop:
            return True
        if bound is not None and not bound.is_closed():
            why, advice = "which is still open", "use one client per event loop"
        elif self._build is None:
            why = "now closed, with a connection pool passed in (http_client or transport)"
            advice = "create the client and its pool inside the event loop that uses them"
        else:
            return False
        raise TaskManagerEventLoopError(
            f"this AsyncTaskManagerClient belongs to another event loop, {why}; its connections "
            f"cannot cross loops, so nothing was sent: {advice}",
            method=call.method if call else None,
            path=call.path if call else None,
        )

    async def acquire(self, call: Call) -> httpx.AsyncClient | None:
        """The pool for the running loop: the current one, or one built now; None once closed."""
        loop = _running_loop()
        pool = self._pool
        if pool is not None and self._bind(loop, call):
            return None if pool.is_closed else pool
        if self._build is None or self._closed:
            return None
        # No pool yet, or the old one's loop closed without releasing it: nothing can close
        # its connections any more, so it is dropped, not touched.
        pool = self._pool = self._build()
        self._loop = self._closer = None
        if loop is not None:
            self._loop = weakref.ref(loop)
            self._closer = _release_at_loop_end(self, pool)
            await self._closer.__anext__()
        return pool

    async def release(self) -> None:
        """Close the connections of the pool built on the running loop (not a pool passed in)."""
        pool = self._pool
        if pool is None or self._build is None:
            return
        if not self._bind(_running_loop(), None):
            self.forget(pool)  # its loop is closed: nothing can close it now
            return
        closer = self._closer
        self.forget(pool)
        if closer is not None:
            await closer.aclose()  # its finally closes the pool
        else:
            await pool.aclose()

    async def aclose(self) -> None:
        """Close for good: the pool built here, or the one passed in when it is ``owned``."""
        if self._build is None:
            if self._owned and self._pool is not None:
                self._bind(_running_loop(), None)
                await self._pool.aclose()
            return
        await self.release()
        self._closed = True
