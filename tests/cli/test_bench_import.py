"""scripts/bench_import.py times imports the way an installed package runs them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_timed_interpreters_cache_bytecode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With PYTHONDONTWRITEBYTECODE set in the shell, the timed interpreters still cache the
    package's bytecode (an installed package has its .pyc files, as httpx has), under the bench's
    own folder: the package's modules are not compiled from source on every timed run."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import bench_import

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setattr(bench_import, "PYCACHE", tmp_path / "pycache", raising=False)
    found = bench_import._top_level_imports(Path(sys.executable), "import taskmanager._shown")
    assert "taskmanager._shown" in found
    assert list((tmp_path / "pycache").rglob("_shown.*.pyc")), "no bytecode cached for taskmanager._shown"
    assert not list((ROOT / "taskmanager").rglob("__pycache__/_shown.*.pyc"))  # nothing in the tree
