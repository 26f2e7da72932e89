"""A reply is read up to a byte cap (counted raw and decompressed), then refused as a protocol error."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib

import pytest

from taskmanager import TaskManagerProtocolError
from taskmanager._protocol import Call
from taskmanager._reply_body import MAX_REPLY_BYTES, BodyReader

from ._bounds_clients import KINDS, run
from ._bounds_server import flood, json_reply, serve
from ._mock import task_row

CHOOSES_HTTP_BACKEND = True  # each test names its clients
MiB = 1024 * 1024
CALL = Call("read", "GET", "/tasks/1", None, None)
CHUNK = 64 * 1024
CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
CHUNK_FRAME = b"%x\r\n" % CHUNK + b"x" * CHUNK + b"\r\n"


def _protocol_error(kind: str, url: str) -> TaskManagerProtocolError:
    with pytest.raises(TaskManagerProtocolError) as caught:
        run(kind, url, lambda c: c.get_task(1), timeout=20.0)
    return caught.value


@pytest.mark.parametrize("kind", KINDS)
def test_endless_chunked_reply_stops_at_the_cap(kind: str) -> None:
    """64 MiB sent chunked with no length: the client hangs up soon after the 32 MiB cap and
    raises TaskManagerProtocolError quoting at most a few hundred characters."""
    sent: list[int] = []
    total = 64 * MiB
    with serve([flood(CHUNKED_HEAD, CHUNK_FRAME, total, sent)]) as server:
        error = _protocol_error(kind, server.url)
    assert "larger than" in error.message and str(MAX_REPLY_BYTES) in error.message
    assert len(str(error)) < 400
    assert error.status_code == 200
    assert sent and sent[0] < total, f"the server sent all {sent} bytes: the client read on"


@pytest.mark.parametrize("kind", KINDS)
def test_declared_length_beyond_the_cap_fails_before_reading(kind: str) -> None:
    """A Content-Length beyond the cap fails at once, before the body is read."""
    sent: list[int] = []
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (1024 * MiB)
    with serve([flood(head, b"x" * CHUNK, 1024 * MiB, sent)]) as server:
        error = _protocol_error(kind, server.url)
    assert "Content-Length 1073741824" in error.message
    assert sent and sent[0] < 32 * MiB


def _bomb(coding: str) -> bytes:
    zeros = b"0" * (96 * MiB)
    return gzip.compress(zeros, 9) if coding == "gzip" else zlib.compress(zeros, 9)


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
@pytest.mark.parametrize("kind", KINDS)
def test_compression_bomb_is_refused_once_decompressed(kind: str, coding: str) -> None:
    """A small compressed body that inflates to 96 MiB is refused at the cap, counted decompressed."""
    body = _bomb(coding)
    assert len(body) < MiB
    with serve([json_reply(200, body, [f"Content-Encoding: {coding}"])]) as server:
        error = _protocol_error(kind, server.url)
    assert "once decompressed" in error.message


def test_compression_bomb_never_inflates_in_memory() -> None:
    """Decoding a bomb holds little more than the cap (httpx's own decoder would inflate each
    64 KiB chunk whole: tens of MiB at once)."""
    reader = BodyReader(CALL, 200, {"content-encoding": "gzip"}, limit=4 * MiB)
    body = _bomb("gzip")
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        with pytest.raises(TaskManagerProtocolError, match="once decompressed"):
            for start in range(0, len(body), CHUNK):
                reader.feed(body[start : start + CHUNK])
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        if not tracing:
            tracemalloc.stop()
    assert peak < 6 * MiB, f"peak {peak / MiB:.1f} MiB"


@pytest.mark.parametrize("kind", KINDS)
def test_coding_the_client_never_asked_for_is_refused(kind: str) -> None:
    """A Content-Encoding other than gzip/deflate/identity is a protocol error (never decoded)."""
    with serve([json_reply(200, b"\x00" * 50, ["Content-Encoding: br"])]) as server:
        error = _protocol_error(kind, server.url)
    assert "'br'" in error.message


TASK = task_row(params={"text": "é" * 5000})
TASK_REPLY = json.dumps({"success": True, "data": {"items": [TASK], "count": 1}}).encode()


@pytest.mark.parametrize(
    "coding", ["gzip", "x-gzip", "deflate", "deflate-raw", "identity"], ids=lambda c: c or "none"
)
@pytest.mark.parametrize("kind", KINDS)
def test_compressed_replies_are_still_read(kind: str, coding: str) -> None:
    """gzip, zlib deflate, raw deflate and identity replies decode to the same task."""
    if coding in ("gzip", "x-gzip"):
        body = gzip.compress(TASK_REPLY)
    elif coding == "deflate":
        body = zlib.compress(TASK_REPLY)
    elif coding == "deflate-raw":
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = packer.compress(TASK_REPLY) + packer.flush()
    else:
        body = TASK_REPLY
    header = "Content-Encoding: " + coding.removesuffix("-raw")
    with serve([json_reply(200, body, [header])]) as server:
        task = run(kind, server.url, lambda c: c.get_task(1))
    assert task.params == TASK["params"]


def test_reader_decodes_in_small_pieces() -> None:
    """Fed one byte at a time, a gzip body comes out whole and equal."""
    body = gzip.compress(TASK_REPLY)
    reader = BodyReader(CALL, 200, {"content-encoding": "gzip"})
    for index in range(len(body)):
        reader.feed(body[index : index + 1])
    assert reader.body() == TASK_REPLY


def test_corrupt_compressed_reply_is_a_protocol_error() -> None:
    """A body that is not the gzip it claims is a protocol error, not a zlib.error."""
    reader = BodyReader(CALL, 200, {"content-encoding": "gzip"})
    with pytest.raises(TaskManagerProtocolError, match="cannot be decoded"):
        reader.feed(b"this is not gzip at all")
        reader.body()


@pytest.mark.parametrize("kind", KINDS)
def test_large_error_body_is_quoted_briefly(kind: str) -> None:
    """A 2xx body of 20 MB that is not JSON: the error quotes at most ~200 characters of it."""
    body = b"<html>" + b"x" * (20 * 1000 * 1000)
    with serve([json_reply(200, body)]) as server:
        error = _protocol_error(kind, server.url)
    assert "not JSON" in error.message
    assert len(str(error)) < 500


@pytest.mark.parametrize("kind", KINDS)
def test_health_check_on_an_oversized_reply_is_unhealthy(kind: str) -> None:
    """health_check() answers an endless reply with a falsy Health giving the reason."""
    sent: list[int] = []
    with serve([flood(CHUNKED_HEAD, CHUNK_FRAME, 64 * MiB, sent)]) as server:
        health = run(kind, server.url, lambda c: c.health_check(), timeout=20.0)
    assert not health
    assert "larger than" in (health.reason or "")


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("pool", ["own", "passed-in"])
def test_every_request_asks_only_for_codings_the_client_decodes(is_async: bool, pool: str) -> None:
    """The client's own pool and a pool passed in (whose httpx default may add br/zstd) both
    send ``Accept-Encoding: gzip, deflate``, once, on every request."""
    import asyncio

    import httpx

    from taskmanager import AsyncTaskManagerClient, TaskManagerClient

    from ._mock import KEY, URL, Script, items

    script = Script(items(task_row(1)), items(task_row(1)))
    if is_async:
        transport: httpx.AsyncBaseTransport = httpx.MockTransport(script)

        async def calls() -> None:
            if pool == "own":
                async with AsyncTaskManagerClient(api_url=URL, api_key=KEY, transport=transport) as client:
                    await client.get_task(1)
                    await client.get_task(1)
            else:
                http = httpx.AsyncClient(transport=transport, headers={"Accept-Encoding": "br"})
                async with http, AsyncTaskManagerClient(api_url=URL, api_key=KEY, http_client=http) as client:
                    await client.get_task(1)
                    await client.get_task(1)

        asyncio.run(calls())
    else:
        sync_transport = httpx.MockTransport(script)
        if pool == "own":
            with TaskManagerClient(api_url=URL, api_key=KEY, transport=sync_transport) as client:
                client.get_task(1)
                client.get_task(1)
        else:
            sync_http = httpx.Client(transport=sync_transport, headers={"Accept-Encoding": "br"})
            with sync_http, TaskManagerClient(api_url=URL, api_key=KEY, http_client=sync_http) as client:
                client.get_task(1)
                client.get_task(1)
    assert len(script.requests) == 2
    for request in script.requests:
        assert request.headers.get_list("accept-encoding") == ["gzip, deflate"]
