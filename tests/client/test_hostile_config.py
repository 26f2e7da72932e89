"""Settings and Retry-After headers no one should send are refused (or ignored) up front."""

from __future__ import annotations

import math
from typing import Any

import pytest

from taskmanager import TaskManagerConfig, TaskManagerRateLimitError, TaskManagerValidationError
from taskmanager._retry import parse_retry_after

from ._hostile_ops import KINDS, OPS, Recorder, run

# -- settings ---------------------------------------------------------------------------------------

_BAD_SECONDS = [
    math.inf,
    -math.inf,
    math.nan,
    -1.0,
    0,
    3600.5,
    1e308,
    10**400,
    True,
    "inf",
    "nan",
    "1e999",
    "5",
    "2.5",
    b"5",
    None,
    [1],
]


@pytest.mark.parametrize("field", ["timeout", "retry_backoff", "retry_max_delay"])
@pytest.mark.parametrize("value", _BAD_SECONDS, ids=repr)
def test_seconds_settings_out_of_range_are_refused(field: str, value: Any) -> None:
    """timeout, retry_backoff, retry_max_delay: finite, > 0 and at most an hour, never a bool or
    text (like every other number of seconds the package takes)."""
    with pytest.raises(TaskManagerValidationError) as caught:
        TaskManagerConfig(**{field: value})
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize("field", ["timeout", "retry_backoff", "retry_max_delay"])
def test_seconds_settings_at_their_bounds_are_kept(field: str) -> None:
    """An hour is allowed, as an int or a float."""
    assert getattr(TaskManagerConfig(**{field: 3600}), field) == 3600.0
    assert getattr(TaskManagerConfig(**{field: 2.5}), field) == 2.5


@pytest.mark.parametrize("value", [5000, 101, -1, True, 1.5, "3", 10**400, None], ids=repr)
def test_retry_attempts_out_of_range_are_refused(value: Any) -> None:
    """retry_attempts is an int from 0 to 100."""
    with pytest.raises(TaskManagerValidationError) as caught:
        TaskManagerConfig(retry_attempts=value)
    assert len(str(caught.value)) < 200


def test_retry_attempts_bounds_are_kept() -> None:
    """0 and 100 retries are allowed."""
    assert TaskManagerConfig(retry_attempts=0).retry_attempts == 0
    assert TaskManagerConfig(retry_attempts=100).retry_attempts == 100


class _BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no text")


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "http://[::1/api",
        "http://host:99999/api",
        "http://host:port/api",
        "http://host:0/api",
        "ftp://host/api",
        "host/api",
        "http://",
        "",
        "http://host/api?x=1",
        "http://host/api#frag",
        "http://host/a pi",
        "http://host/\x00api",
        "http://ho\nst/api",
        "http://\ud800/api",
        "http://ünicode.example/api",
        # Hosts httpx or the socket layer cannot encode (IDNA), and hosts that are not hosts.
        "http://xn--/api",
        "http://xn--zz-zzzzz/api",
        "http://a..b/api",
        "http://.a/api",
        f"http://{'a' * 64}.example/api",
        "http://[::1]x/api",
        "http://256.256.256.256/api",
        42,
        _BadStr(),
    ],
    ids=repr,
)
def test_unusable_api_urls_are_refused(url: Any) -> None:
    """An api_url that cannot be parsed, or that no call could be sent to, is refused at construction."""
    with pytest.raises(TaskManagerValidationError) as caught:
        TaskManagerConfig(api_url=url)
    assert len(str(caught.value)) < 300


def test_api_url_with_credentials_is_refused_without_echo() -> None:
    """User name and password in api_url are refused; the message does not repeat them."""
    with pytest.raises(TaskManagerValidationError) as caught:
        TaskManagerConfig(api_url="https://me:s3cret-pw@host/api")
    assert "s3cret-pw" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]:8080/api",
        "https://xn--nicode-2ya.example/api/",
        "http://127.0.0.1:9",
        "http://localhost/api",
        f"http://{'a' * 63}.example/api",
        "http://host.example./api",
    ],
)
def test_usable_api_urls_are_kept(url: str) -> None:
    """IPv6 literals, punycode hosts and URLs without a path are fine; one trailing slash is dropped."""
    assert TaskManagerConfig(api_url=url).api_url == url.rstrip("/")


def test_unusable_api_url_from_the_environment_is_refused() -> None:
    """from_env refuses the same URLs."""
    with pytest.raises(TaskManagerValidationError):
        TaskManagerConfig.from_env({"TASKMANAGER_API_URL": "http://[::1"}, env_file=None)


@pytest.mark.parametrize("worker_id", ["", "  ", "w\ud800", 5, b"w", True], ids=repr)
def test_bad_default_worker_ids_are_refused(worker_id: Any) -> None:
    """The config's worker_id is a non-empty string UTF-8 can carry."""
    with pytest.raises(TaskManagerValidationError):
        TaskManagerConfig(worker_id=worker_id)


def test_worker_id_subclass_is_kept_as_plain_text() -> None:
    """A str subclass worker_id is stored as a plain str."""

    class Odd(str):
        def __str__(self) -> str:
            return "other"

    assert type(TaskManagerConfig(worker_id=Odd("w1")).worker_id) is str
    assert TaskManagerConfig(worker_id=Odd("w1")).worker_id == "w1"


@pytest.mark.parametrize(
    "zone", ["a" * 5000, "UTC\x00", "../../etc/passwd", "Nowhere/Else", "\ud800"], ids=repr
)
def test_bad_zone_names_are_refused(zone: str) -> None:
    """Unknown, overlong or path-like zone names are a validation error (not an OSError)."""
    with pytest.raises(TaskManagerValidationError) as caught:
        TaskManagerConfig(server_timezone=zone)  # type: ignore[arg-type]
    assert len(str(caught.value)) < 200


# -- Retry-After ------------------------------------------------------------------------------------

RETRY_AFTER_CAP = 300.0  # seconds: the most a Retry-After is taken to ask for
NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("0", 0.0),
        ("7", 7.0),
        (" 7\t", 7.0),
        ("007", 7.0),
        ("300", 300.0),
        ("301", RETRY_AFTER_CAP),
        ("86400", RETRY_AFTER_CAP),
        ("9" * 5000, RETRY_AFTER_CAP),
        ("0" * 5000 + "5", 5.0),
        ("Tue, 14 Nov 2023 22:13:30 GMT", 10.0),
        ("Tuesday, 14-Nov-23 22:13:30 GMT", 10.0),
        ("Tue Nov 14 22:13:30 2023", 10.0),
        ("Sun Nov  6 08:49:37 1994", 0.0),
        ("Tue, 14 Nov 2023 22:13:00 GMT", 0.0),
        ("Wed, 15 Nov 2023 22:13:20 GMT", RETRY_AFTER_CAP),
        ("Fri, 31 Dec 9999 23:59:59 GMT", RETRY_AFTER_CAP),
        ("Tue, 14 Nov 2023 22:13:60 GMT", 39.0),
    ],
)
def test_retry_after_by_the_grammar(header: str, seconds: float) -> None:
    """delay-seconds and the three HTTP-date forms are read; the result is at most the cap."""
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(
    "header",
    [
        "inf",
        "Infinity",
        "nan",
        "NaN",
        "1e308",
        "1e3",
        "-1",
        "+5",
        "1.5",
        "1_000",
        "0x10",
        "٣",
        "\uff15",  # a full-width 5
        "5 s",
        "",
        "   ",
        "soon",
        "Tue, 31 Feb 2023 22:13:30 GMT",
        "Tue, 14 Nov 2023 25:13:30 GMT",
        "tue, 14 nov 2023 22:13:30 gmt",
        "Tue, 14 Nov 2023 22:13:30 +0000",
        "Tue, 14 Nov 2023 22:13:30 GMT extra",
        "2023-11-14T22:13:30Z",
    ],
    ids=repr,
)
def test_retry_after_outside_the_grammar_is_ignored(header: str) -> None:
    """inf, nan, 1e308, signs, fractions, non-ASCII digits and malformed dates count as no header."""
    assert parse_retry_after(header, now=NOW) is None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize(("header", "exposed"), [("86400", RETRY_AFTER_CAP), ("inf", None), ("1e308", None)])
def test_rate_limit_error_carries_a_bounded_retry_after(
    kind: str, op: str, header: str, exposed: float | None
) -> None:
    """A 429 asking for a day (or for inf) surfaces with retry_after capped at 300 s (or None)."""
    body = b'{"error":"Too Many Requests","message":"slow down"}'
    handler = Recorder(429, body, headers={"Retry-After": header})
    with pytest.raises(TaskManagerRateLimitError) as caught:
        run(kind, OPS[op], handler)
    assert caught.value.retry_after == exposed
