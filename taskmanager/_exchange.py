"""One attempt of a call: send it, read the reply within the deadline and the byte cap.

Both clients' ``_send`` end here. The config's ``timeout`` bounds the whole attempt (connect,
send, headers and body together), not each socket read: the sync client through the socket
deadline of ``_sync_deadline`` (its own pool) plus a clock check between body chunks (any pool),
the async client with ``asyncio.timeout`` around the attempt (httpx's pool and aiohttp's alike).
A reply is streamed into a ``_reply_body.BodyReader``, so no more than ``MAX_REPLY_BYTES`` is
ever held. What went wrong comes back as the Reply's error, never raised: the retry rules decide.
An attempt that runs out of time is a ``TaskManagerTimeoutError`` whose request may have been
sent, so a claim is not sent again blindly and a completion is checked like a lost reply.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import httpx

from . import _wire
from ._errors import TaskManagerProtocolError
from ._protocol import Call, Reply
from ._reply_body import BodyReader, in_memory
from ._request_log import log_request

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["attempt_deadline", "exchange", "exchange_async"]

# The async deadline fires this long after ``timeout``, so that httpx's own connect and pool
# timeouts (which prove the request was never sent) come first when they are the cause.
_GRACE = 0.25


class _AttemptDeadline(threading.local):
    """The deadline (``time.monotonic()``) of the attempt this thread has in progress."""

    at: float | None = None


# ``exchange`` sets ``attempt_deadline.at`` at the start of every attempt and leaves it: the next
# socket operation of this thread on the pool belongs to a later attempt, which sets its own
# first. ``_sync_deadline`` reads it at the socket (that module loads httpcore, so it is imported
# with the first sync pool, not here). A thread-local value, not a context variable: sync I/O
# blocks its thread, so the thread is the unit, and one attribute store per request is the cost.
attempt_deadline = _AttemptDeadline()


def _late(call: Call, timeout: float) -> Reply:
    exc = httpx.ReadTimeout(f"no complete reply within timeout={timeout:g}s")
    return Reply(None, _wire.transport_error(call, exc))


def exchange(
    http: httpx.Client, call: Call, url: str, headers: Mapping[str, str] | None, timeout: float
) -> Reply:
    """Send ``call`` once on ``http`` (sync) and decode its reply."""
    started = log_request(call)
    at = attempt_deadline.at = time.monotonic() + timeout
    try:
        request = http.build_request(call.method, url, json=call.json, params=call.params, headers=headers)
        response = http.send(request, stream=True)
        try:
            if response.is_stream_consumed:
                content = in_memory(call, response.status_code, response.content)
            else:
                reader = BodyReader(call, response.status_code, response.headers)
                for chunk in response.iter_raw():
                    reader.feed(chunk)
                    if time.monotonic() > at:
                        return _late(call, timeout)
                content = reader.body()
        finally:
            response.close()
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Reply(None, _wire.transport_error(call, exc))
    except TaskManagerProtocolError as exc:
        return Reply(None, exc)
    return _wire.answer(call, response.status_code, response.headers, content, started)


async def exchange_async(
    http: httpx.AsyncClient, call: Call, url: str, headers: Mapping[str, str] | None, timeout: float
) -> Reply:
    """Send ``call`` once on ``http`` (async) and decode its reply."""
    import asyncio  # here, not at the top: sync-only programs need not import asyncio

    started = log_request(call)
    try:
        async with asyncio.timeout(timeout + _GRACE):
            request = http.build_request(
                call.method, url, json=call.json, params=call.params, headers=headers
            )
            response = await http.send(request, stream=True)
            try:
                if response.is_stream_consumed:
                    content = in_memory(call, response.status_code, response.content)
                else:
                    reader = BodyReader(call, response.status_code, response.headers)
                    async for chunk in response.aiter_raw():
                        reader.feed(chunk)
                    content = reader.body()
            finally:
                await response.aclose()
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Reply(None, _wire.transport_error(call, exc))
    except TaskManagerProtocolError as exc:
        return Reply(None, exc)
    except TimeoutError:  # asyncio.timeout's: the attempt ran out of time
        return _late(call, timeout)
    return _wire.answer(call, response.status_code, response.headers, content, started)
