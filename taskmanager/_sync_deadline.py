"""The sync client's whole-request deadline, kept at the socket: each read, write and connect
gets at most the time left.

httpx hands httpcore its read timeout once per phase, and httpcore applies it to each socket
read, so a server dripping a byte every half second holds a request open for as long as it
likes. Here a ``httpcore.NetworkBackend`` (public httpcore API) wraps the default one: every
socket operation gets ``min(its own timeout, time left)`` and a ``ReadTimeout`` (or
``WriteTimeout``/``ConnectTimeout``) once the deadline has passed, which httpx raises as its own
exception. The deadline is ``_exchange``'s thread-local ``attempt_deadline.at``, set at the start of
each attempt, so threads sharing a client each keep their own.

httpx 0.28 has no public way to give its default transport a network backend, so
``DeadlineClient`` wraps the backend of the pool its transports build, through two private
attributes (``HTTPTransport._pool`` and the pool's ``_network_backend``). This is the only place
that touches them; ``tests/client/test_bounds_deadline.py`` fails loudly if httpx renames them,
and then a client without the wrapper would still stop between body chunks, not mid-header.
"""

from __future__ import annotations

import time
import typing

import httpcore
import httpx

from ._exchange import attempt_deadline

__all__ = ["DeadlineClient", "wrap_backend"]


def _left(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    at = attempt_deadline.at
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        # A timeout of 0 would make the socket non-blocking (an OSError, not a timeout).
        raise error("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: typing.Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, left, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def wrap_backend(transport: httpx.BaseTransport) -> bool:
    """Make ``transport`` (an ``httpx.HTTPTransport``) keep the deadline; False when it cannot."""
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if not isinstance(inner, httpcore.NetworkBackend):
        return False
    if not isinstance(inner, _Backend):
        pool._network_backend = _Backend(inner)  # type: ignore[union-attr]  # checked just above
    return True


class DeadlineClient(httpx.Client):
    """An ``httpx.Client`` whose own transports (direct and, from the environment, proxied)
    keep the deadline in ``attempt_deadline.at``."""

    def _init_transport(self, *args: typing.Any, **kwargs: typing.Any) -> httpx.BaseTransport:
        transport = super()._init_transport(*args, **kwargs)
        wrap_backend(transport)
        return transport

    def _init_proxy_transport(self, *args: typing.Any, **kwargs: typing.Any) -> httpx.BaseTransport:
        transport = super()._init_proxy_transport(*args, **kwargs)
        wrap_backend(transport)
        return transport
