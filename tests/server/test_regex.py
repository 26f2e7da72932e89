"""The bounded pattern matcher: PCRE's answers on ordinary patterns, PHP's give-up on hostile ones."""

from __future__ import annotations

import random
import re

import pytest

from taskmanager.server import _regex
from taskmanager.server._regex import GaveUp, search

PATTERNS = [
    r"^[A-Za-z]",
    r"^\d{3}-\d{4}$",
    r"a|b",
    r"(ab)*c",
    r"^(?:x|y){2,3}$",
    r"\bfoo\b",
    r"colou?r",
    r"^[^@]+@[^@]+\.[a-z]{2,}$",
    r"(a*)*b",
    r"^(\w+)\s\1$",
    r"(?=.*\d)(?=.*[a-z]).{6,}",
    r"(?<!x)y",
    r"(?<=ab)c",
    r"a.c",
    r"^$",
    r"x*",
    r"[\d-]+",
    r"[a\-z]",
    r"\x41",
    r"a{2}",
    r"a{2,}",
    r"(?P<n>a)b",
    r"^a*?b",
    r"[]a]",
    r"[^]a]",
    r"\.",
    r"a$",
    r"\Aab",
    r"(a|ab)(c|bcd)(d*)",
    r"\Bb",
    r"(a|)+b",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_agrees_with_a_full_engine_on_ordinary_patterns(pattern: str) -> None:
    """On ASCII text these patterns mean the same to PCRE and Python's re."""
    rng = random.Random(pattern)
    reference = re.compile(pattern)
    for _ in range(200):
        text = "".join(rng.choice("abcdxy@.-1234 \nABC_") for _ in range(rng.randint(0, 12)))
        assert search(pattern, text) == (reference.search(text) is not None), text


def test_matches_bytes_like_pcre_without_the_u_modifier() -> None:
    assert search("^.{2}$", "é")  # two UTF-8 bytes
    assert not search(r"^\w$", "é")  # \w is ASCII in PCRE's C locale


@pytest.mark.parametrize(
    "pattern",
    ["(", "a)", "[a", "*a", "a**", r"\p{L}", "(?i)a", "a++", "(?>a)", "[[:alpha:]]", r"\q", "(?<=a+)b"],
)
def test_invalid_or_unsupported_patterns_match_nothing(pattern: str) -> None:
    assert search(pattern, "a") is False


def test_catastrophic_backtracking_gives_up_like_preg_match() -> None:
    """PCRE stops at pcre.backtrack_limit; so does this matcher, at about the same input size."""
    assert search(r"^(a+)+$", "a" * 12) is True
    assert search(r"^(a+)+$", "a" * 12 + "!") is False  # small enough to finish
    with pytest.raises(GaveUp):
        search(r"^(a+)+$", "a" * 27 + "!")


def test_the_depth_limit_is_a_give_up_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_regex, "DEPTH_LIMIT", 1000)
    with pytest.raises(GaveUp):
        search("^a*$", "a" * 5000)
