"""httpx on aiohttp's connection pool (the ``taskmanager[aiohttp]`` extra), failing as httpx fails.

``httpx-aiohttp`` gives ``httpx.AsyncClient`` a transport that sends through an
``aiohttp.ClientSession``; its pool keeps up where httpx's own async pool slows down with many
requests in flight. The client decides from the exception's class whether a failed request may
have reached the server (a claim or a create is retried only when it cannot have), so every
aiohttp failure is raised here as the httpx exception httpx's own transport raises in the same
situation. httpx-aiohttp's own mapping does not do that (a connection the server dropped after
reading the request comes out as ``ConnectTimeout``, "never sent"; a malformed reply as a raw
aiohttp exception).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport, HttpxAiohttpClient

__all__ = ["AiohttpPool"]


def _as_httpx(exc: BaseException) -> httpx.TransportError | None:
    """The httpx exception for an aiohttp failure; None for anything else."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    # Most specific first: aiohttp's classes nest (a connect timeout is a ServerTimeoutError,
    # a refused connection a ClientOSError).
    if isinstance(exc, aiohttp.ClientConnectorError):  # the connection was never made
        return httpx.ConnectError(text)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # no connection in time: pool or connect
        return httpx.ConnectTimeout(text)
    if isinstance(exc, TimeoutError):  # aiohttp's SocketTimeoutError: the reply did not come
        return httpx.ReadTimeout(text)
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(text)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(text)  # httpx: "Server disconnected", short body
    if isinstance(exc, aiohttp.ClientResponseError):  # a reply that is not HTTP
        return httpx.RemoteProtocolError(text)
    if isinstance(exc, aiohttp.ClientError):  # reset or broken while sending or reading
        return httpx.ReadError(text)
    return None


def _raise_as_httpx(exc: Exception) -> None:
    """Raise ``exc``'s httpx twin when it is (or httpx-aiohttp mapped it from) an aiohttp failure."""
    origin = exc.__cause__ if isinstance(exc, httpx.HTTPError) and exc.__cause__ is not None else exc
    mapped = _as_httpx(origin)
    if mapped is not None:
        raise mapped from origin


class _Stream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except Exception as exc:
            _raise_as_httpx(exc)
            raise

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except Exception as exc:
            _raise_as_httpx(exc)
            raise


class _Transport(AiohttpTransport):
    def get_client(self) -> aiohttp.ClientSession:
        session = super().get_client()
        # aiohttp resends a GET, PUT or DELETE once, silently, when the connection breaks; httpx
        # never does. The client's own retry rules (and retry_attempts=0) decide here as there.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except Exception as exc:
            _raise_as_httpx(exc)
            raise
        response.stream = _Stream(response.stream)  # type: ignore[arg-type]  # AsyncByteStream
        return response


class AiohttpPool(HttpxAiohttpClient):
    """An ``httpx.AsyncClient`` whose transports (direct and, from the environment, proxied)
    send through aiohttp and fail with httpx's exceptions."""

    def _init_transport(
        self,
        verify: ssl.SSLContext | str | bool = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),  # noqa: B008
        transport: httpx.AsyncBaseTransport | None = None,
        **kwargs: Any,
    ) -> httpx.AsyncBaseTransport:
        if transport is not None:
            return transport
        return _Transport(verify=verify, cert=cert, trust_env=trust_env, http1=http1, limits=limits)

    def _init_proxy_transport(
        self,
        proxy: httpx.Proxy,
        verify: ssl.SSLContext | str | bool = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),  # noqa: B008
        **kwargs: Any,
    ) -> httpx.AsyncBaseTransport:
        return _Transport(
            verify=verify, cert=cert, trust_env=trust_env, http1=http1, limits=limits, proxy=proxy
        )
