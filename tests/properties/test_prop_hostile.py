"""Whatever a caller passes, the client either sends it or refuses it with a TaskManagerValidationError."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskmanager import TaskManagerClient, TaskManagerConfig, TaskManagerError, TaskManagerValidationError
from taskmanager._retry import parse_retry_after

from ._strategies import json_values, keys


class _Raises(Mapping[str, Any]):
    """A mapping that fails when read."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("unreadable")

    def __iter__(self) -> Iterator[str]:
        yield "k"

    def __len__(self) -> int:
        return 1


class _BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class _Str(str):
    def __str__(self) -> str:
        raise RuntimeError("no str")


# Built on draw, by index: hypothesis describes its strategies with repr(), which some of these refuse.
_LEAVES = [
    lambda: math.nan,
    lambda: math.inf,
    lambda: 10**5000,
    lambda: -(2**63) - 1,
    lambda: 2**63,
    lambda: b"bytes",
    lambda: bytearray(b"x"),
    lambda: {1, 2},
    lambda: frozenset(),
    lambda: decimal.Decimal("1.1"),
    lambda: dt.date(2026, 1, 1),
    _BadRepr,
    _Raises,
    lambda: "\ud800",
    lambda: "ok\udfffok",
    object,
    lambda: range(2),
    lambda: _Str("s"),
    lambda: (1, 2),
]
_hostile_leaves = st.one_of(
    st.integers(0, len(_LEAVES) - 1).map(lambda index: _LEAVES[index]()),
    st.text(max_size=5),  # surrogates included: hypothesis draws category Cs too
    st.dictionaries(
        st.one_of(st.integers(), st.none(), st.tuples(st.integers()), keys), st.integers(), max_size=2
    ),
)
_anything = st.recursive(
    st.one_of(json_values, _hostile_leaves),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)),
    max_leaves=10,
)


def _client(requests: list[httpx.Request]) -> TaskManagerClient:
    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(500, json={"success": False, "error": "stop"})

    config = TaskManagerConfig(api_url="http://127.0.0.1:9/api", api_key="k", retry_attempts=0)
    return TaskManagerClient(config, transport=httpx.MockTransport(answer))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_anything, top=keys, where=st.sampled_from(["params", "result", "schema", "message", "error"]))
def test_any_value_is_sent_or_refused(value: Any, top: str, where: str) -> None:
    """Params, results, schemas, progress messages, error texts: sent, or refused before sending."""
    requests: list[httpx.Request] = []
    with _client(requests) as client:
        try:
            if where == "params":
                client.create_task("T", {top or "k": value, "zz": 1})
            elif where == "result":
                client.complete_task(1, worker_id="w", result={"r": value})
            elif where == "schema":
                client.register_task_type("T", "1", {"type": "object", "x": value})
            elif where == "message":
                client.update_progress(1, 5, worker_id="w", message=value)
            else:
                client.fail_task(1, worker_id="w", error=value)
        except TaskManagerValidationError as refused:
            assert requests == []
            assert len(str(refused)) < 700
            return
        except TaskManagerError:
            pass  # the server's 500: the request went out
    assert len(requests) >= 1
    # What went out is valid UTF-8 JSON.
    json.loads(requests[0].content.decode("utf-8"))


@settings(max_examples=500, deadline=None)
@given(
    header=st.one_of(
        st.text(max_size=40),
        st.sampled_from(["inf", "nan", "1e308", "-5", "86400", "9" * 400]),
        st.integers(0, 10**12).map(str),
        st.floats().map(repr),
    )
)
def test_any_retry_after_is_absent_or_bounded(header: str) -> None:
    """Any header text gives None or a number of seconds from 0 to 300."""
    seconds = parse_retry_after(header, now=1_700_000_000.0)
    assert seconds is None or 0.0 <= seconds <= 300.0
