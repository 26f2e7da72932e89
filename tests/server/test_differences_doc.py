"""The list of deliberate differences (package docstring and README) states the limits in code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import taskmanager.server
from taskmanager.server import _http, _phpjson, _schema

README = Path(__file__).resolve().parents[2] / "README.md"
LIMITS = {**_http.LIMITS, **_schema.PATTERN_LIMITS, "JSON nesting levels": _phpjson._MAX_DEPTH}


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### The local server and the real one")
    return text[start : text.index("\n## ", start)]


def _shown(value: float) -> str:
    """A limit as the documents write it: 16,777,216 / 10 (seconds)."""
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


@pytest.mark.parametrize("where", ["docstring", "README"])
@pytest.mark.parametrize("name", sorted(LIMITS))
def test_every_limit_is_listed_with_its_value(where: str, name: str) -> None:
    text = _flat(taskmanager.server.__doc__ or "") if where == "docstring" else _flat(_readme_section())
    assert f"{name}: {_shown(LIMITS[name])}" in text, f"{where} does not list {name}: {_shown(LIMITS[name])}"


def test_no_document_still_says_there_is_no_size_limit() -> None:
    for text in (taskmanager.server.__doc__ or "", _readme_section()):
        assert "413) are not implemented" not in _flat(text)
        assert "request size limit (413)" not in _flat(text)
