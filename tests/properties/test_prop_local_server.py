"""Params against the local server: round trips with the PHP quirks, typed refusals, no half-writes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskmanager import (
    TaskManagerAPIError,
    TaskManagerClient,
    TaskManagerConfig,
    TaskManagerConnectionError,
    TaskManagerNotFoundError,
    TaskManagerValidationError,
    _dedupe,
)
from taskmanager.server import LocalServer

from ._strategies import params, php_round_trip, same_json, sorted_keys

KEY = "property-key"
OPEN = "Props.Open"  # accepts any object
STRICT = "Props.Strict"
STRICT_SCHEMA = {
    "type": "object",
    "properties": {
        "n": {"type": "integer", "minimum": 0, "maximum": 100},
        "s": {"type": "string", "maxLength": 5},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
    },
    "required": ["n"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def client() -> Iterator[TaskManagerClient]:
    with LocalServer(api_key=KEY) as server:
        config = TaskManagerConfig(api_url=server.url, api_key=KEY, retry_attempts=0)
        with TaskManagerClient(config) as client:
            client.register_task_type(OPEN, "1.0.0", {"type": "object"})
            client.register_task_type(STRICT, "1.0.0", STRICT_SCHEMA)
            yield client


def _count(client: TaskManagerClient) -> int:
    return sum(1 for _ in client.iter_tasks(page_size=500))


@settings(max_examples=75, deadline=None)
@given(value=params)
def test_params_round_trip_through_create_and_get(client: TaskManagerClient, value: dict[str, Any]) -> None:
    """What get_task returns is what was sent (keys sorted), changed only by the documented PHP quirks.

    The quirks (see ``php_round_trip``): a float with a zero fraction below 1e17 comes back as an
    int written with the float's shortest digits; ``{}`` comes back as ``[]``; an object keyed
    "0".."n-1" comes back as a list.
    """
    created = client.create_task(OPEN, value)
    assert created.dedupe_key == _dedupe.dedupe_key(OPEN, _dedupe.canonical_params(value))
    again = client.create_task(OPEN, dict(reversed(list(value.items()))))
    assert (again.id, again.created) == (created.id, False)  # same params in another order: same task
    task = client.get_task(created.id)
    assert same_json(task.params, php_round_trip(sorted_keys(value)))


_invalid_strict = st.one_of(
    st.fixed_dictionaries({"s": st.text(max_size=3)}),  # "n" missing
    st.fixed_dictionaries(
        {"n": st.one_of(st.text(max_size=3), st.floats(allow_nan=False, allow_infinity=False))}
    ),
    st.fixed_dictionaries(
        {
            "n": st.one_of(
                st.integers(min_value=-(2**62), max_value=-1), st.integers(min_value=101, max_value=2**62)
            )
        }
    ),
    st.fixed_dictionaries(
        {"n": st.just(1), "s": st.text(min_size=6, max_size=10).filter(lambda s: s.isascii())}
    ),
    st.fixed_dictionaries({"n": st.just(1), "tags": st.lists(st.text(max_size=2), min_size=3, max_size=4)}),
    st.fixed_dictionaries(
        {"n": st.just(1), "tags": st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=2)}
    ),
    st.fixed_dictionaries({"n": st.just(1), "extra": st.integers(-100, 100)}),
)


@settings(max_examples=60, deadline=None)
@given(value=_invalid_strict)
def test_schema_violations_are_validation_errors_and_write_nothing(
    client: TaskManagerClient, value: dict[str, Any]
) -> None:
    """Params that break the type's schema: a 400 TaskManagerValidationError and no task."""
    before = _count(client)
    with pytest.raises(TaskManagerValidationError) as caught:
        client.create_task(STRICT, value)
    assert caught.value.status_code == 400
    assert caught.value.message.startswith("Parameter validation failed")
    assert _count(client) == before


@settings(max_examples=25, deadline=None)
@given(
    value=params, name=st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8)
)
def test_unknown_types_are_not_found_and_write_nothing(
    client: TaskManagerClient, value: dict[str, Any], name: str
) -> None:
    """Creating a task of an unregistered type: TaskManagerNotFoundError and no task."""
    before = _count(client)
    with pytest.raises(TaskManagerNotFoundError):
        client.create_task(f"Props.Unknown.{name}", value)
    assert _count(client) == before


def test_oversized_body_is_refused_and_writes_nothing(client: TaskManagerClient) -> None:
    """A body beyond the server's size limit fails with a typed error and creates nothing."""
    before = _count(client)
    # The local server answers 413 from the declared length, before reading the body, and
    # closes; depending on timing the client sees that reply or a reset while still sending.
    with pytest.raises((TaskManagerAPIError, TaskManagerConnectionError)) as caught:
        client.create_task(OPEN, {"blob": "x" * (64 * 1024 * 1024 + 1)})
    if isinstance(caught.value, TaskManagerAPIError):
        assert caught.value.status_code == 413
    assert _count(client) == before


def test_413_reply_is_an_api_error_with_the_servers_words() -> None:
    """The real server's 413 body (JSON sent as text/html) becomes a TaskManagerAPIError with status 413."""
    body = (
        b'{"error":"Request Too Large","message":"Request body exceeds limit",'
        b'"timestamp":"2026-11-23T06:18:28+00:00"}'
    )

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(413, content=body, headers={"Content-Type": "text/html; charset=UTF-8"})

    config = TaskManagerConfig(api_url="http://127.0.0.1:9/api", api_key=KEY, retry_attempts=0)
    client = TaskManagerClient(config, transport=httpx.MockTransport(reply))
    with client, pytest.raises(TaskManagerAPIError) as caught:
        client.create_task(OPEN, {"a": 1})
    assert caught.value.status_code == 413
    assert "Request" in caught.value.message
