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


# -- hostile patterns ----------------------------------------------------------------------------

HOSTILE = {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}}
EVIL = "a" * 27 + "!"  # about 2**27 steps for a backtracking engine without a limit


def test_a_pattern_past_the_backtrack_limit_does_not_match() -> None:
    """preg_match returns false at the limit, which the real validator reports as no match."""
    assert validate({"s": EVIL}, HOSTILE) == ["String does not match pattern at s"]
    assert validate({"s": "aaa"}, HOSTILE) == []


def test_one_request_has_a_total_matching_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import taskmanager.server._schema as schema_module

    monkeypatch.setattr(schema_module, "_REQUEST_STEPS", 50_000)
    many = {"type": "array", "items": {"type": "string", "pattern": "^(a+)+$"}}
    with pytest.raises(schema_module.ValidationTooLong):
        validate([EVIL] * 10, many)


def test_a_hostile_pattern_does_not_block_other_clients() -> None:
    """While creates against ^(a+)+$ run, an unrelated client's calls are answered promptly.

    Before the bounded matcher, one such create held the store lock and the GIL for seconds.
    """
    import threading
    import time

    import httpx

    from taskmanager.server import LocalServer

    with (
        LocalServer(api_key="k") as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": "k"}, timeout=60) as http,
    ):
        for name, schema in (("Evil.T", HOSTILE), ("Plain.T", {"type": "object"})):
            body = {"name": name, "version": "1", "param_schema": schema}
            assert http.post("/task-types/register", json=body).status_code == 200
        replies: list[httpx.Response] = []

        def hostile() -> None:
            with httpx.Client(base_url=server.url, headers={"X-API-Key": "k"}, timeout=60) as own:
                replies.append(own.post("/tasks", json={"type": "Evil.T", "params": {"s": EVIL}}))

        attackers = [threading.Thread(target=hostile) for _ in range(3)]
        for thread in attackers:
            thread.start()
        slowest, calls = 0.0, 0
        deadline = time.monotonic() + 60
        while any(t.is_alive() for t in attackers) and time.monotonic() < deadline:
            started = time.monotonic()
            created = http.post("/tasks", json={"type": "Plain.T", "params": {"n": calls}})
            assert created.status_code == 200
            assert http.get("/tasks", params={"limit": 5}).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            calls += 1
        for thread in attackers:
            thread.join(60)
        assert [r.json()["error"] for r in replies] == [
            "Parameter validation failed: String does not match pattern at s"
        ] * 3
        assert calls > 0
        assert slowest < 2.0, f"an unrelated create + list took {slowest:.2f} s"


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("a/b", "a/b", False),  # an unescaped slash ends the pattern: "b/" are unknown modifiers
        ("[^/]+", "x", False),  # classes are not special to the delimiter scan
        ("a\\/b", "a/b", True),  # an escaped slash is fine
        ("a\\", "a\\", False),  # a trailing backslash escapes the closing slash: no end
        ("a\\\\", "a\\", True),  # an escaped backslash is fine
        ("a.b", "a.b", True),
    ],
)
def test_a_pattern_is_read_between_slashes_like_preg_match(pattern: str, value: str, matches: bool) -> None:
    """The validator calls preg_match('/' . pattern . '/'): an unescaped slash or a trailing
    backslash breaks the delimiters, so preg_match fails and nothing matches."""
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": pattern}}}
    errors = validate({"s": value}, schema)
    assert errors == ([] if matches else ["String does not match pattern at s"])
