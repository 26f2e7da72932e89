"""Canonical params, refusals, and the dedupe key byte for byte."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskmanager import TaskManagerValidationError
from taskmanager._dedupe import canonical_params, dedupe_key, php_json_encode, prepare_params

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "fixtures" / "transcripts.jsonl"


def _real_creates() -> list[tuple[str, dict[str, Any], str]]:
    cases = []
    for line in TRANSCRIPTS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        data = (record["response"].get("json") or {}).get("data")
        if isinstance(data, dict) and "dedupe_key" in data:
            body = json.loads(record["request"]["body"])
            cases.append((body["type"], body["params"], data["dedupe_key"]))
    return cases


@pytest.mark.parametrize(("task_type", "params", "key"), _real_creates())
def test_key_equals_real_servers(task_type: str, params: dict[str, Any], key: str) -> None:
    """For every create the real server answered, the local key is the server's."""
    assert dedupe_key(task_type, params) == key


@pytest.mark.parametrize(
    ("value", "php"),
    [
        (1.0, "1"),
        (-0.0, "-0"),
        (0.1, "0.1"),
        (1e100, "1.0e+100"),
        (1.5e-7, "1.5e-7"),
        (1e-5, "1.0e-5"),
        (0.0001, "0.0001"),
        (1e16, "10000000000000000"),
        (1e17, "1.0e+17"),
        (123.456, "123.456"),
        (-2.5e-300, "-2.5e-300"),
        (2**64, "1.8446744073709552e+19"),
        (2**63 - 1, "9223372036854775807"),
    ],
)
def test_php_number_format(value: float, php: str) -> None:
    """Numbers are laid out as PHP's json_encode prints them."""
    assert php_json_encode(value) == php


def test_php_strings_and_containers() -> None:
    """Unicode and slashes stay raw, control characters become \\u00XX, {} becomes []."""
    value = {
        "url": "https://x.y/a",
        "s": 'tab\t"q"\\ \x01 ü 🐎 \u2028',
        "e": {},
        "l": [],
        "n": None,
        "b": True,
    }
    assert php_json_encode(value) == (
        '{"url":"https://x.y/a","s":"tab\\t\\"q\\"\\\\ \\u0001 ü 🐎 \\u2028","e":[],"l":[],"n":null,"b":true}'
    )


def test_numeric_keys_in_order_become_a_list() -> None:
    """Objects keyed "0".."n-1" in order are lists to PHP; other numeric keys stay an object."""
    assert php_json_encode({"0": "a", "1": "b"}) == '["a","b"]'
    assert php_json_encode({"1": "b", "0": "a"}) == '{"1":"b","0":"a"}'
    assert php_json_encode({"0": "a", "2": "b"}) == '{"0":"a","2":"b"}'


def test_canonical_sorts_keys_at_every_level() -> None:
    """Params in any key order canonicalise to the same thing and the same key."""
    one = canonical_params({"b": 1, "a": {"z": [{"y": 1, "x": 2}], "c": 3}})
    two = canonical_params({"a": {"c": 3, "z": [{"x": 2, "y": 1}]}, "b": 1})
    assert json.dumps(one) == json.dumps(two) == '{"a": {"c": 3, "z": [{"x": 2, "y": 1}]}, "b": 1}'
    assert dedupe_key("T", one) == dedupe_key("T", two)


def test_type_name_trimmed_like_php() -> None:
    """The server trims the type name before hashing."""
    assert dedupe_key(" T\n", {"a": 1}) == dedupe_key("T", {"a": 1})


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, "must not be empty"),
        ({"0": "a", "1": "b"}, '"0".."n-1"'),
        ({"a": {1, 2}}, "set"),
        ({"a": b"x"}, "bytes"),
        ({"a": math.nan}, "nan"),
        ({"a": [math.inf]}, "inf"),
        ({"a": 2**63}, "signed 64-bit"),
        ({"a": -(2**63) - 1}, "signed 64-bit"),
        ({"a": {1: "x"}}, "not a string"),
        ({"a": "\ud800"}, "surrogate"),
        ({"a": object()}, "object"),
        ([1, 2], "mapping"),
    ],
)
def test_refused_before_sending(params: Any, fragment: str) -> None:
    """What JSON or the server cannot take is refused with a validation error that says why."""
    with pytest.raises(TaskManagerValidationError, match=None) as info:
        canonical_params(params)
    assert fragment in str(info.value)
    assert info.value.status_code is None


def test_accepted_edge_values() -> None:
    """Signed 64-bit limits, nested empties and tuples pass through canonicalisation."""
    out = canonical_params({"lo": -(2**63), "hi": 2**63 - 1, "t": (1, 2), "e": {}, "b": False})
    assert out == {"b": False, "e": {}, "hi": 2**63 - 1, "lo": -(2**63), "t": [1, 2]}


AWKWARD = [
    {"text": "Příliš žluťoučký 🐎", "url": "https://x.y/a?b=c", "ctl": "\x00\x1f\t\u2029\x7f"},
    {"f": 0.1, "g": 1e100, "h": 1.5e-7, "i": 1.0, "j": -0.0, "k": 1e16, "l": 1e17, "m": 123456.789},
    {"empty": {}, "list": [], "nested": {"x": {}, "y": [{}]}},
    {"m": {"0": "a", "1": "b"}, "n": {"1": "b", "0": "a"}, "o": {"10": 1, "2": 2}, "p": {"0": {"0": 1}}},
    {"z": True, "y": False, "x": None, "w": [1, [2, [3]]], "v": (4, 5), "big": 2**63 - 1, "neg": -(2**63)},
]


@pytest.mark.parametrize("params", AWKWARD)
def test_one_pass_equals_reference_encoder(params: dict[str, Any]) -> None:
    """The single-pass canonicalise+encode gives the reference encoder's key."""
    canonical, key = prepare_params("T", params)
    assert canonical == canonical_params(params)
    assert key == dedupe_key("T", canonical)
    assert list(canonical) == sorted(params)


_json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
_json = st.recursive(
    _json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=4), _json, min_size=1, max_size=5))
def test_one_pass_key_equals_reference_on_random_params(params: dict[str, Any]) -> None:
    """For random JSON params, the fast one-pass key equals the reference encoder's key."""
    try:
        canonical, key = prepare_params("T", params)
    except TaskManagerValidationError:
        # The only refusal possible here (no sets, NaN, surrogates...): keys "0".."n-1".
        assert all(k == str(i) for i, k in enumerate(sorted(params)))
        return
    assert key == dedupe_key("T", canonical)
    assert json.loads(json.dumps(canonical)) == json.loads(json.dumps(params, sort_keys=True))
