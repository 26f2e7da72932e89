"""What both clients set up before sending: settings, headers, the TLS context, URL checks,
and the refusal of a call on a closed client."""

from __future__ import annotations

import ipaddress
import ssl
import urllib.parse
import warnings
from typing import TYPE_CHECKING, Any

import attrs

from . import __version__
from ._config import TaskManagerConfig
from ._errors import TaskManagerConnectionError, TaskManagerValidationError
from ._reply_body import ACCEPT_ENCODING

if TYPE_CHECKING:
    from ._protocol import Call

__all__ = [
    "auth_headers",
    "closed_client_error",
    "resolve_config",
    "tls_verify",
    "warn_if_plain_http",
]

USER_AGENT = f"taskmanager-python/{__version__}"
_KEY_HEADER = "X-API-Key"


def resolve_config(
    config: TaskManagerConfig | None, api_url: str | None, api_key: str | None
) -> TaskManagerConfig:
    """An explicit config wins; api_url/api_key override it; without one, read the environment."""
    if config is None:
        return TaskManagerConfig.from_env(api_url=api_url, api_key=api_key)
    if not isinstance(config, TaskManagerConfig):
        raise TaskManagerValidationError(f"config must be a TaskManagerConfig, got {type(config).__name__}")
    overrides: dict[str, Any] = {}
    if api_url is not None:
        overrides["api_url"] = api_url
    if api_key is not None:
        overrides["api_key"] = api_key
    return attrs.evolve(config, **overrides) if overrides else config


def auth_headers(config: TaskManagerConfig) -> dict[str, str]:
    # Only codings the client decodes itself, within its byte cap (``_reply_body``).
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING}
    if config.api_key:
        headers[_KEY_HEADER] = config.api_key
    return headers


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warn_if_plain_http(config: TaskManagerConfig, stacklevel: int = 3) -> None:
    """Warn when the key would cross the network unencrypted (plain HTTP, not loopback)."""
    parts = urllib.parse.urlsplit(config.api_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TaskManagerValidationError(f"api_url must be an http(s) URL, got {config.api_url!r}")
    if config.api_key and parts.scheme == "http" and not _is_loopback(parts.hostname):
        warnings.warn(
            f"the API key will be sent unencrypted over plain HTTP to {parts.hostname}; use https://",
            UserWarning,
            stacklevel=stacklevel,
        )


def tls_verify(config: TaskManagerConfig) -> ssl.SSLContext | bool:
    """The ``verify`` argument for the client's own ``httpx`` pool.

    httpx's default (True) builds a TLS context holding the whole CA bundle, which costs tens
    of milliseconds per client. A client whose API is plain HTTP on this machine never makes a
    TLS connection, so it gets a context that still demands a valid certificate and host name
    but trusts no authority: anything that did try TLS through it would fail the handshake,
    never go unverified. Every other URL, https above all, keeps httpx's full verification.
    """
    parts = urllib.parse.urlsplit(config.api_url)
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verify_mode CERT_REQUIRED, check_hostname on
    return True


def closed_client_error(call: Call) -> TaskManagerConnectionError:
    """The error for a call on a client that was already closed: nothing was sent."""
    return TaskManagerConnectionError(
        "this client is closed (close() or the end of its with-block), so nothing was sent: use a new client",
        request_sent=False,
        method=call.method,
        path=call.path,
    )
