"""A reply's body read within a byte cap, decompressed by the client itself: pure, no I/O.

Both clients stream each reply and feed its raw chunks to a ``BodyReader``, which refuses a
body longer than ``MAX_REPLY_BYTES``, counted before and after decompression (a small gzip body
can inflate to gigabytes), so a hostile or broken server cannot make the client hold more.

Why 32 MiB: the largest reply the real server writes is one task with its params and result,
each limited by what the server accepts in a request body (PHP's default ``post_max_size`` is
8 MB), so about 16 MB at worst; listings carry neither (a page of 100 rows is about 25 kB).
Twice that leaves room for a server configured more generously, and still stops a runaway reply
long before it costs the process real memory.

The client asks for ``gzip`` or ``deflate`` only (``ACCEPT_ENCODING``) and decodes them here with
``zlib``'s bounded ``decompress(data, max_length)``; any other coding was not asked for and is a
protocol error (httpx would otherwise decode br/zstd without a bound when their packages happen
to be installed).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from ._errors import TaskManagerProtocolError
from ._protocol import Call

__all__ = ["ACCEPT_ENCODING", "MAX_REPLY_BYTES", "BodyReader", "in_memory"]

MAX_REPLY_BYTES = 32 * 1024 * 1024
ACCEPT_ENCODING = "gzip, deflate"

_GZIP = zlib.MAX_WBITS | 16  # a gzip header and trailer
_ZLIB = zlib.MAX_WBITS  # "deflate" as RFC 9110 means it: zlib-wrapped
_RAW = -zlib.MAX_WBITS  # "deflate" as some servers send it: no wrapper
_STEP = 256 * 1024  # decoded bytes per decompress step
_CODINGS = {"gzip": _GZIP, "x-gzip": _GZIP, "deflate": _ZLIB}


def too_large(call: Call, status_code: int, limit: int, what: str) -> TaskManagerProtocolError:
    return TaskManagerProtocolError(
        f"the reply is larger than {limit} bytes ({what}); no reply of this API is that large",
        method=call.method,
        path=call.path,
        status_code=status_code,
    )


def in_memory(call: Call, status_code: int, content: bytes, limit: int = MAX_REPLY_BYTES) -> bytes:
    """The body of a reply its transport had already read whole (an in-memory ``httpx.Response``,
    as ``httpx.MockTransport`` gives), held to the same cap."""
    if len(content) > limit:
        raise too_large(call, status_code, limit, f"{len(content)} bytes")
    return content


class BodyReader:
    """Collects one reply's body from raw chunks, decoded, refusing more than ``limit`` bytes.

    Built from the status and headers (a declared Content-Length beyond the cap or a coding the
    client did not ask for fail at once); ``feed`` each raw chunk, then ``body()``. Every
    failure is a ``TaskManagerProtocolError``.
    """

    __slots__ = ("_call", "_chunks", "_decoded", "_decoder", "_limit", "_raw", "_status", "_wbits")

    def __init__(
        self, call: Call, status_code: int, headers: Mapping[str, str], limit: int = MAX_REPLY_BYTES
    ) -> None:
        self._call = call
        self._status = status_code
        self._limit = limit
        self._raw = 0
        self._decoded = 0
        self._chunks: list[bytes] = []
        declared = headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise too_large(call, status_code, limit, f"it declares Content-Length {int(declared)}")
        coding = headers.get("content-encoding", "").strip().lower()
        self._wbits: int | None = None
        if coding and coding != "identity":
            wbits = _CODINGS.get(coding)
            if wbits is None:
                raise self._error(f"reply encoded as {coding[:40]!r}, which the client never asks for")
            self._wbits = wbits
        self._decoder = None if self._wbits is None else zlib.decompressobj(self._wbits)

    def _error(self, why: str) -> TaskManagerProtocolError:
        return TaskManagerProtocolError(
            why, method=self._call.method, path=self._call.path, status_code=self._status
        )

    def feed(self, raw: bytes) -> None:
        """Take the next raw chunk of the body (as it came off the connection)."""
        self._raw += len(raw)
        if self._raw > self._limit:
            raise too_large(self._call, self._status, self._limit, "cut off while reading")
        if self._decoder is None:
            self._keep(raw)
            return
        try:
            self._inflate(raw)
        except zlib.error as err:
            if self._wbits != _ZLIB or self._decoded or self._raw != len(raw):
                raise self._error(f"the compressed reply cannot be decoded ({err})") from None
            # The first chunk of a "deflate" body without the zlib wrapper: read it raw instead.
            self._wbits, self._decoder = _RAW, zlib.decompressobj(_RAW)
            try:
                self._inflate(raw)
            except zlib.error as err2:
                raise self._error(f"the compressed reply cannot be decoded ({err2})") from None

    def _inflate(self, data: bytes) -> None:
        decoder = self._decoder
        assert decoder is not None  # only called with a decoder
        while data and not decoder.eof:
            # Small steps, never past the cap by more than a byte: a bomb never inflates in memory.
            self._keep(decoder.decompress(data, min(_STEP, self._limit - self._decoded + 1)))
            data = decoder.unconsumed_tail

    def _keep(self, chunk: bytes) -> None:
        self._decoded += len(chunk)
        if self._decoded > self._limit:
            raise too_large(self._call, self._status, self._limit, "once decompressed")
        if chunk:
            self._chunks.append(chunk)

    def body(self) -> bytes:
        """The whole decoded body (after the last ``feed``)."""
        if self._decoder is not None:
            try:
                self._keep(self._decoder.flush())
            except zlib.error as err:
                raise self._error(f"the compressed reply cannot be decoded ({err})") from None
        if len(self._chunks) == 1:
            return self._chunks[0]
        return b"".join(self._chunks)
