"""PHP's json_decode / json_encode as the local server reproduces them."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from taskmanager.server._phpjson import (
    InvalidJSON,
    Raw,
    decode,
    encode,
    encoded_too_deep,
    php_float,
    php_string,
    php_truthy,
    php_type,
    reencode,
)

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "fixtures" / "transcripts.jsonl"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (-0.0, "-0"),
        (0.0, "0"),
        (0.1, "0.1"),
        (2.5, "2.5"),
        (1e100, "1.0e+100"),
        (1e-5, "1.0e-5"),
        (1.5e-7, "1.5e-7"),
        (0.0001, "0.0001"),
        (1e16, "10000000000000000"),
        (1e17, "1.0e+17"),
        (2.0**64, "1.8446744073709552e+19"),
        (123456.789, "123456.789"),
        (-1.25e-10, "-1.25e-10"),
        (5e-324, "5.0e-324"),
    ],
)
def test_php_float(value: float, text: str) -> None:
    """Floats use PHP's shortest round-trip layout."""
    assert php_float(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({}, "[]"),
        ([], "[]"),
        ({"0": "a", "1": "b"}, '["a","b"]'),
        ({"1": "a", "0": "b"}, '{"1":"a","0":"b"}'),
        ({"0": "a", "2": "b"}, '{"0":"a","2":"b"}'),
        ({"x": {}, "y": []}, '{"x":[],"y":[]}'),
        ({"b": 1, "a": 2}, '{"b":1,"a":2}'),
        ("https://x.y/ü 🐎", '"https://x.y/ü 🐎"'),
        ('tab\there "q" \x01\x7f', '"tab\\there \\"q\\" \\u0001\x7f"'),
        ("\u2028\u2029", '"\\u2028\\u2029"'),
        ("\b\f\n\r\\", '"\\b\\f\\n\\r\\\\"'),
        ([True, False, None, -3], "[true,false,null,-3]"),
        ({"p": Raw('{"x":1}')}, '{"p":{"x":1}}'),
    ],
)
def test_encode(value: object, text: str) -> None:
    """json_encode with unescaped unicode and slashes, PHP arrays as lists."""
    assert encode(value) == text


def test_encode_infinity_fails_like_php() -> None:
    """json_encode returns false for INF: the encoder returns None."""
    assert encode({"a": math.inf}) is None
    assert encode({"a": [math.nan]}) is None


def test_decode_big_integers_become_floats() -> None:
    """Integers beyond signed 64 bits decode as floats, the 64-bit bounds stay integers."""
    value = decode(b'{"a": 9223372036854775807, "b": -9223372036854775808, "c": 9223372036854775808}')
    assert value == {"a": 2**63 - 1, "b": -(2**63), "c": float(2**63)}
    assert type(value["a"]) is int and type(value["c"]) is float
    assert type(decode("[" + "9" * 400 + "]")[0]) is float


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{bad json",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": -Infinity}',
        b'{"a": 1,}',
        b'"\\ud800"',
        b'{"\\udc00": 1}',
        b"\xff\xfe{}",
        b"\xef\xbb\xbf{}",
        b"{} x",
        b"[" * 513 + b"]" * 513,
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_decode_rejects_what_php_rejects(body: bytes) -> None:
    """Bodies json_decode refuses are refused."""
    with pytest.raises(InvalidJSON):
        decode(body)


def test_decode_accepts_edge_cases() -> None:
    """Paired surrogates, 512 levels of nesting, -0 and duplicate keys decode like PHP."""
    assert decode(b'"\\ud83d\\udc0e"') == "🐎"
    assert decode(b"[" * 512 + b"]" * 512) is not None
    assert decode(b"-0") == 0 and type(decode(b"-0")) is int
    assert decode(b'{"a": 1, "b": 2, "a": 3}') == {"a": 3, "b": 2}
    assert list(decode(b'{"a": 1, "b": 2, "a": 3}')) == ["a", "b"]


def test_reencode_is_json_encode_of_json_decode() -> None:
    """Stored text comes back as PHP would re-encode it (-0 becomes the integer 0)."""
    assert reencode('{"a":1.0e+100,"b":[]}') == '{"a":1.0e+100,"b":[]}'
    assert reencode('{"a":-0,"b":"x-0"}') == '{"a":0,"b":"x-0"}'


def test_php_type() -> None:
    """The validator's type names: empty and "0".."n-1" objects are arrays."""
    assert [php_type(v) for v in (None, True, 1, 1.0, "s", [], {}, {"0": 1}, {"a": 1})] == [
        "null",
        "boolean",
        "integer",
        "number",
        "string",
        "array",
        "array",
        "array",
        "object",
    ]


def test_php_string_and_truthiness() -> None:
    """Scalars interpolate like PHP strings (precision 14) and test like PHP booleans."""
    assert [php_string(v) for v in (1.0, 0.1, 1e20, 1e-5, True, False, None, 7)] == [
        "1",
        "0.1",
        "1.0E+20",
        "1.0E-5",
        "1",
        "",
        "",
        "7",
    ]
    assert [php_truthy(v) for v in ("false", "0", "", 0, 0.0, [], {}, None, "a", 1)] == [
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
    ]


def _recorded_creates() -> list[tuple[str, str]]:
    cases = []
    for line in TRANSCRIPTS.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        reply = case["response"]["json"]
        if reply and reply.get("success") and "dedupe_key" in (reply.get("data") or {}):
            cases.append((case["request"]["body"], reply["data"]["dedupe_key"]))
    return cases


@pytest.mark.parametrize(("body", "key"), _recorded_creates())
def test_dedupe_key_matches_the_real_server(body: str, key: str) -> None:
    """sha256(type NUL json_encode(params)) equals the key the real server computed."""
    request = decode(body.encode())
    encoded = encode(request["params"])
    assert encoded is not None
    assert hashlib.sha256(f"{request['type']}\0{encoded}".encode()).hexdigest() == key


def _deepest(text: str) -> int:
    """Nesting depth of JSON text, read character by character (the reference)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


@pytest.mark.parametrize(
    "text",
    [
        "[" * 512 + "]" * 512,
        "[" * 513 + "]" * 513,
        '{"a":' * 513 + "1" + "}" * 513,
        '["' + "[" * 600 + '"]',
        '["\\"",' + "[" * 513 + "]" * 513 + "]",
        "[" + "[]," * 2000 + "[]]",
        "[" * 300 + "[]," * 1000 + "[" * 212 + "]" * 512,
        "[" * 300 + "[]," * 1000 + "[" * 213 + "]" * 513,
        "[" + ("[" * 500 + "]" * 500 + ",") * 20 + "[]]",
    ],
)
def test_encoded_too_deep_is_past_512_levels(text: str) -> None:
    """json_encode fails past 512 levels of arrays/objects; strings do not count."""
    assert encoded_too_deep(text) is (_deepest(text) > 512)
