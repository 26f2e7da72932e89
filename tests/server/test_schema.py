"""The real server's parameter validator, quirks included."""

from __future__ import annotations

from typing import Any

import pytest

from taskmanager.server._schema import validate

SCRIPT = {
    "type": "object",
    "properties": {
        "topic": {"type": "string", "minLength": 2, "maxLength": 20, "pattern": "^[A-Za-z]"},
        "style": {"type": "string", "enum": ["formal", "casual"]},
        "n": {"type": "integer", "minimum": 1, "maximum": 10},
        "ratio": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
    },
    "required": ["topic"],
}


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"topic": "Hello", "style": "formal", "n": 3, "ratio": 2.5, "tags": ["a"]}, []),
        ({"topic": "Ratio", "ratio": 2}, ["Type mismatch at ratio: expected number, got integer"]),
        ({"topic": "Num", "n": 2.0}, ["Type mismatch at n: expected integer, got number"]),
        ({"style": "formal"}, ["Missing required property: .topic"]),
        (
            {"topic": None},
            ["Missing required property: .topic", "Type mismatch at topic: expected string, got null"],
        ),
        ({"topic": 5}, ["Type mismatch at topic: expected string, got integer"]),
        ({"topic": True}, ["Type mismatch at topic: expected string, got boolean"]),
        ({"topic": "Hello", "style": "rude"}, ["Value at style must be one of: formal, casual"]),
        ({"topic": "H"}, ["String too short at topic: minimum length is 2"]),
        ({"topic": "H" * 30}, ["String too long at topic: maximum length is 20"]),
        # Lengths are UTF-8 bytes: 16 characters, 23 bytes.
        ({"topic": "Příliš žluťoučký"}, ["String too long at topic: maximum length is 20"]),
        ({"topic": "1abc"}, ["String does not match pattern at topic"]),
        ({"topic": "Hello", "n": 0}, ["Number too small at n: minimum is 1"]),
        ({"topic": "Hello", "n": 11}, ["Number too large at n: maximum is 10"]),
        # "$path[$i]" in PHP is a string offset: item 0 of "tags" is reported at "t".
        ({"topic": "Hello", "tags": [1]}, ["Type mismatch at t: expected string, got integer"]),
        ({"topic": "Hello", "tags": ["a", 2]}, ["Type mismatch at a: expected string, got integer"]),
        ({"topic": "Hello", "tags": []}, ["Array too short at tags: minimum items is 1"]),
        ({"topic": "Hello", "tags": ["a", "b", "c"]}, ["Array too long at tags: maximum items is 2"]),
        ({"topic": "Hello", "tags": {}}, ["Array too short at tags: minimum items is 1"]),
        ({"topic": "Hello", "tags": {"x": "y"}}, ["Type mismatch at tags: expected array, got object"]),
    ],
)
def test_messages(params: dict[str, Any], errors: list[str]) -> None:
    """Each rule reports the real server's message, in its order."""
    assert validate(params, SCRIPT) == errors


def test_additional_properties_and_nesting() -> None:
    """additionalProperties: false names the extra key; nested paths join with dots."""
    schema = {
        "type": "object",
        "properties": {"a": {"type": "object", "properties": {"b": {"type": "integer"}}, "required": ["c"]}},
        "additionalProperties": False,
    }
    assert validate({"a": {"b": "x"}, "z": 1}, schema) == [
        "Missing required property: a.c",
        "Type mismatch at a.b: expected integer, got string",
        "Additional property not allowed: z",
    ]


def test_empty_and_numeric_key_objects_are_arrays() -> None:
    """{} and {"0": ...} are arrays to the server, so an object schema rejects them."""
    schema = {"type": "object", "properties": {"o": {"type": "object"}}}
    assert validate({"o": {}}, schema) == ["Type mismatch at o: expected object, got array"]
    assert validate({"o": {"0": 1}}, schema) == ["Type mismatch at o: expected object, got array"]
    assert validate({"o": {"1": 1}}, schema) == []


def test_type_list_never_matches() -> None:
    """A list of types is compared as a whole and prints as "Array", like PHP."""
    schema = {"type": "object", "properties": {"v": {"type": ["string", "null"]}}}
    assert validate({"v": "x"}, schema) == ["Type mismatch at v: expected Array, got string"]


def test_enum_uses_loose_comparison_and_php_strings() -> None:
    """in_array without strict: "1" matches 1; numbers print as PHP prints them."""
    schema = {"type": "object", "properties": {"v": {"enum": [1, 2.5, True]}}}
    assert validate({"v": "1"}, schema) == []
    assert validate({"v": 1.0}, schema) == []
    assert validate({"v": 0}, {"type": "object", "properties": {"v": {"enum": [1, 2.5]}}}) == [
        "Value at v must be one of: 1, 2.5"
    ]


def test_bounds_print_like_php() -> None:
    """Float bounds are interpolated with PHP's precision-14 layout."""
    schema = {"type": "object", "properties": {"x": {"type": "number", "minimum": 0.5, "maximum": 1e20}}}
    assert validate({"x": 0.25}, schema) == ["Number too small at x: minimum is 0.5"]
    assert validate({"x": 1e21}, schema) == ["Number too large at x: maximum is 1.0E+20"]


def test_schema_without_type_checks_nothing_but_enum() -> None:
    """Keywords apply per declared type; an untyped schema only checks enum."""
    assert validate({"x": "y"}, {"properties": {"x": {"type": "integer"}}}) == []
    assert validate("anything", {"minLength": 100}) == []
