"""``make record`` on an unchanged wire writes the same bytes: no dates or other volatile fields."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parents[1]


def test_recording_twice_gives_identical_cassettes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project's own cassette tests, recorded twice into a temporary copy: byte-for-byte equal."""
    for name in ("TASKMANAGER_API_URL", "TASKMANAGER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    (pytester.path / "tests" / "client").mkdir(parents=True)
    shutil.copy(TESTS / "client" / "conftest.py", pytester.path / "tests" / "client" / "conftest.py")
    shutil.copy(
        TESTS / "client" / "test_client_cassettes.py",
        pytester.path / "tests" / "client" / "test_client_cassettes.py",
    )
    cassettes = pytester.path / "tests" / "cassettes"
    args = ("-p", "no:cacheprovider", "-p", "no:asyncio", "-W", "error", "--record-mode=rewrite", "tests")

    def record() -> dict[str, bytes]:
        pytester.runpytest_subprocess(*args, timeout=300).assert_outcomes(passed=26)
        return {p.name: p.read_bytes() for p in sorted(cassettes.glob("*.yaml"))}

    first = record()
    assert len(first) == 25
    shutil.rmtree(cassettes)  # a record from nothing, as on a fresh clone
    second = record()
    changed = [name for name in first if first[name] != second.get(name)]
    assert changed == [] and sorted(first) == sorted(second)
    # and they are the project's checked-in cassettes, recorded the same way
    assert {p.name: p.read_bytes() for p in sorted((TESTS / "cassettes").glob("*.yaml"))} == first
