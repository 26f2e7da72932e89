"""The local server is an independent implementation: stdlib and itself only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import taskmanager.server

PACKAGE = Path(taskmanager.server.__file__).resolve().parent


def _offenders(path: Path) -> list[str]:
    """Imports in ``path`` other than the stdlib, relative ones and ``taskmanager.server``."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "", node.level)]
        else:
            continue
        for name, level in names:
            if level == 1:
                continue  # from . / from ._x: inside the package
            if level == 0 and (name == "taskmanager.server" or name.startswith("taskmanager.server.")):
                continue
            if level == 0 and name.split(".")[0] in sys.stdlib_module_names:
                continue
            bad.append(f"{path.name}: {'.' * level}{name}")
    return bad


def test_server_imports_only_stdlib_and_itself() -> None:
    """No module of taskmanager.server imports the client, the generated code or a third party."""
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 6
    assert [bad for path in modules for bad in _offenders(path)] == []


def test_the_check_catches_foreign_imports(tmp_path: Path) -> None:
    """The scan flags facade, generated, third-party and parent-relative imports."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import json\nfrom . import _app\nimport httpx\nfrom taskmanager import _client\n"
        "import taskmanager_api\nfrom .. import _errors\nfrom taskmanager.server import _store\n"
    )
    assert _offenders(sample) == [
        "sample.py: httpx",
        "sample.py: taskmanager",
        "sample.py: taskmanager_api",
        "sample.py: ..",
    ]
