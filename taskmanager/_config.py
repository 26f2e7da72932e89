"""Client settings: one frozen, keyword-only attrs class with environment fallbacks."""

from __future__ import annotations

import datetime as dt
import os
import urllib.parse
from collections.abc import Mapping

import attrs

from ._arguments import seconds, text
from ._env_file import env_file_values
from ._errors import TaskManagerValidationError
from ._shown import shown

__all__ = ["AIOHTTP_MISSING", "DEFAULT_API_URL", "HTTP_BACKENDS", "TaskManagerConfig"]

DEFAULT_API_URL = "https://api.prismq.nomoos.cz/api"
_ENV_URL = "TASKMANAGER_API_URL"
_ENV_KEY = "TASKMANAGER_API_KEY"
_ENV_HTTP_BACKEND = "TASKMANAGER_HTTP_BACKEND"
HTTP_BACKENDS = ("httpx", "aiohttp")


def _to_tzinfo(value: dt.tzinfo | str) -> dt.tzinfo:
    if isinstance(value, dt.tzinfo):
        return value
    if isinstance(value, str):
        if value.upper() == "UTC":
            return dt.UTC
        # zoneinfo loads tz data from disk: only pay for it when a named zone is asked for.
        import zoneinfo

        try:
            return zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as err:
            raise TaskManagerValidationError(f"unknown time zone {shown(value)}") from err
    raise TaskManagerValidationError(f"server_timezone must be a tzinfo or a zone name, not {shown(value)}")


def _to_url(value: str) -> str:
    """The API base without its trailing slash; refused unless every call could be sent to it."""
    try:
        url = value if isinstance(value, str) else str(value)  # an httpx.URL, say
    except Exception as err:
        raise TaskManagerValidationError(f"api_url must be a string, got {shown(value)}") from err
    url = str.__str__(url).rstrip("/")
    if not url.isascii() or not url.isprintable() or " " in url:
        # An international host name goes in its ASCII (punycode) form.
        raise TaskManagerValidationError(f"api_url must be printable ASCII without spaces, got {shown(url)}")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # raises for a port that is not a number from 0 to 65535
    except ValueError as err:
        raise TaskManagerValidationError(f"api_url cannot be parsed ({err}): {shown(url)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TaskManagerValidationError(f"api_url must be an http(s) URL, got {shown(url)}")
    if parts.username is not None or parts.password is not None:
        # Not quoted: the part before the @ may be a password.
        raise TaskManagerValidationError(
            "api_url must not hold a user name or password; the key goes in api_key"
        )
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise TaskManagerValidationError(
            f"api_url must not have a query or fragment (each call's path is added to it), got {shown(url)}"
        )
    if port == 0:
        raise TaskManagerValidationError(f"api_url has port 0, got {shown(url)}")
    problem = _host_problem(url)
    if problem:
        raise TaskManagerValidationError(f"api_url {problem}: {shown(url)}")
    return url


def _host_problem(url: str) -> str | None:
    """Why httpx or the socket layer would refuse the host of ``url`` at the first call (None: fine).

    httpx checks IDNA labels (``xn--``) and IP literals when it builds the URL; the socket layer
    encodes the name with Python's ``idna`` codec, which refuses empty labels and labels over 63
    characters. Both are done here, so such a URL never gets as far as a call.
    """
    import httpx  # here: the client needs it anyway, config alone does not

    try:
        host = httpx.URL(url).host
        if ":" not in host:  # an IPv6 literal is not a name to encode
            host.encode("idna")
    except (httpx.InvalidURL, UnicodeError) as err:  # idna's errors are UnicodeErrors
        return f"is not a URL a call can be sent to ({str(err)[:80]})"
    return None


def _redact(key: str | None) -> str:
    return "'***'" if key else repr(key)


def _check_key(instance: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    # The message must never contain the key itself.
    if value is None:
        return
    if not isinstance(value, str) or not value.isascii() or not value.isprintable() or value != value.strip():
        raise TaskManagerValidationError(
            "api_key must be printable ASCII without surrounding spaces (it travels in an HTTP header)"
        )


# Upper bounds of the numeric settings. A request, a backoff step or a retry series longer
# than these is a mistake, not a need (a worker rides out long outages on its own, and
# never waits that long to be told so): refused at construction, not met as an
# OverflowError at the first call.
MAX_SECONDS = 3600.0
MAX_RETRY_ATTEMPTS = 100


def _number(name: str, value: object) -> float:
    # An int or a float, as every number of seconds the package takes: text ("5") and bools are
    # refused, not converted.
    return seconds(name, value, maximum=MAX_SECONDS)


# One named converter per field: the attrs mypy plugin understands only named functions.
def _timeout(value: object) -> float:
    return _number("timeout", value)


def _retry_backoff(value: object) -> float:
    return _number("retry_backoff", value)


def _retry_max_delay(value: object) -> float:
    return _number("retry_max_delay", value)


AIOHTTP_MISSING = "http_backend='aiohttp' needs the aiohttp extra: pip install 'taskmanager[aiohttp]'"


def _check_http_backend(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in HTTP_BACKENDS:
        raise TaskManagerValidationError(
            f"http_backend must be one of {', '.join(map(repr, HTTP_BACKENDS))}, got {value!r}"
        )
    if value == "aiohttp":
        import importlib.util  # here: only this choice needs it

        if importlib.util.find_spec("httpx_aiohttp") is None:  # refused now, not at the first call
            raise TaskManagerValidationError(AIOHTTP_MISSING)


def _check_positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise TaskManagerValidationError(f"{attribute.name} must be positive, got {value!r}")


def _check_attempts(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRY_ATTEMPTS:
        raise TaskManagerValidationError(
            f"retry_attempts must be an int from 0 to {MAX_RETRY_ATTEMPTS}, got {shown(value)}"
        )


def _to_worker_id(value: object) -> str | None:
    return None if value is None else text("worker_id", value)


def _with_env_file(
    environ: Mapping[str, str], env_file: str | os.PathLike[str] | None, *, default: bool
) -> Mapping[str, str]:
    """The environment, with what it lacks filled in from a .env file (see ``_env_file``)."""
    from_file = env_file_values(env_file, environ, default=default)
    if not from_file:
        return environ
    return {**from_file, **{name: value for name, value in environ.items() if value}}


@attrs.frozen(kw_only=True)
class TaskManagerConfig:
    """How to reach the TaskManager API.

    ``api_url`` is the API base (``https://api.prismq.nomoos.cz/api`` or
    ``http://127.0.0.1:8080/api``). ``timeout`` (seconds) applies to connect, read, write and
    pool waits. ``retry_attempts`` is how many times a failed call may be *retried* (0: never);
    which failures are retried depends on the operation (see ``taskmanager._retry``).
    ``server_timezone`` is the zone of the server's ``YYYY-MM-DD HH:MM:SS`` timestamps (a tzinfo
    or an IANA name; UTC by default). ``worker_id`` is the default worker id for claims (host and
    process id when not given). ``retry_backoff`` and ``retry_max_delay`` shape the backoff; a
    Retry-After longer than ``retry_max_delay`` is not waited for: the error is raised at once
    with its ``retry_after``. ``http_backend`` is the async client's connection pool: ``"httpx"``
    (httpx's own, the default) or ``"aiohttp"`` (httpx on aiohttp's pool, from the
    ``taskmanager[aiohttp]`` extra; asyncio only); the sync client always uses httpx's.

    Example::

        config = TaskManagerConfig(api_url="http://127.0.0.1:8080/api", api_key="k", retry_attempts=0)

    Change a config with ``attrs.evolve(config, timeout=5.0)``. The key is never shown in its repr.
    """

    api_url: str = attrs.field(default=DEFAULT_API_URL, converter=_to_url)
    api_key: str | None = attrs.field(default=None, repr=_redact, validator=_check_key)
    timeout: float = attrs.field(default=30.0, converter=_timeout, validator=_check_positive)
    retry_attempts: int = attrs.field(default=3, validator=_check_attempts)
    server_timezone: dt.tzinfo = attrs.field(default=dt.UTC, converter=_to_tzinfo)
    worker_id: str | None = attrs.field(default=None, converter=_to_worker_id)
    retry_backoff: float = attrs.field(default=0.5, converter=_retry_backoff, validator=_check_positive)
    retry_max_delay: float = attrs.field(default=30.0, converter=_retry_max_delay, validator=_check_positive)
    http_backend: str = attrs.field(default="httpx", validator=_check_http_backend)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        env_file: str | os.PathLike[str] | None = None,
        **overrides: object,
    ) -> TaskManagerConfig:
        """Read ``TASKMANAGER_API_URL``, ``TASKMANAGER_API_KEY`` and ``TASKMANAGER_HTTP_BACKEND``;
        keyword overrides win.

        Values missing from the environment come from a ``.env`` file: ``env_file``, else the
        file named by ``TASKMANAGER_ENV_FILE``, else ``./.env`` (the current directory, read
        only when ``environ`` is the process environment). Set variables win over the file.
        """
        env = _with_env_file(os.environ if environ is None else environ, env_file, default=environ is None)
        values: dict[str, object] = {}
        if env.get(_ENV_URL):
            values["api_url"] = env[_ENV_URL]
        if env.get(_ENV_KEY):
            values["api_key"] = env[_ENV_KEY]
        if env.get(_ENV_HTTP_BACKEND):
            values["http_backend"] = env[_ENV_HTTP_BACKEND]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]  # values are checked by the converters/validators
