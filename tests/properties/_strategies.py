"""Hypothesis strategies for task params, and the PHP round-trip model the tests compare against."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Keys that make PHP read an object as a list once sorted ("0", "1", ...) sit next to arbitrary
# text: control characters, "/", non-ASCII, U+2028, and astral characters.
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
keys = st.one_of(st.sampled_from(["0", "1", "2", "10", "a", "a/b", "é", "\u2028", "k\x00"]), _text)
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1e-4,
            9.9e-5,
            1e15,
            1e16,
            1e17,
            1e100,
            2.5,
            5e-324,
            1.7976931348623157e308,
        ]
    ),
    st.integers(-(2**60), 2**60).map(float),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(INT64_MIN, INT64_MAX),
    st.sampled_from([INT64_MIN, INT64_MAX, 0, -1]),
    floats,
    _text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=12,
)


def _is_php_list(obj: dict[str, Any]) -> bool:
    return all(key == str(i) for i, key in enumerate(obj))


def _sendable(params: dict[str, Any]) -> bool:
    # The client refuses top-level params the server would read as a list ({} or "0".."n-1").
    return not _is_php_list(dict(sorted(params.items())))


params = st.dictionaries(keys, json_values, min_size=1, max_size=5).filter(_sendable)


def sorted_keys(value: Any) -> Any:
    """``value`` with object keys sorted at every level (what the client sends)."""
    if isinstance(value, dict):
        return {k: sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(v) for v in value]
    return value


def php_round_trip(value: Any) -> Any:
    """What the PHP server gives back for a value it was sent, quirk by quirk.

    1. A float with a zero fraction below 1e17 is printed without a fraction, so it comes back
       an int (``1.0`` -> ``1``, ``-0.0`` -> ``0``); from 1e17 up PHP prints ``1.0e+17``, a float.
       The int is written with the float's shortest digits, so from 1e16 up it is not ``int(x)``:
       ``2.400234714196057e16`` comes back as ``24002347141960570``, not ``...568``.
    2. An empty object comes back as an empty list (PHP has one array type: ``{}`` is ``[]``).
    3. An object keyed "0".."n-1" in order comes back as a list of its values.
    4. Key order is kept as sent; strings, bools, null and 64-bit ints are unchanged.
    """
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e17:
            return int(Decimal(repr(value)))
        return value
    if isinstance(value, dict):
        if _is_php_list(value):
            return [php_round_trip(v) for v in value.values()]
        return {k: php_round_trip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [php_round_trip(v) for v in value]
    return value


def same_json(a: Any, b: Any) -> bool:
    """Equality that tells int from float and bool from int, and compares key order too."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)
