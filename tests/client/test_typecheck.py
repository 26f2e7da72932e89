"""mypy --strict sees through the facade into the generated bindings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
from taskmanager_api.models import ClaimSortBy, ClaimSortOrder, ClaimTaskRequest

ClaimTaskRequest(worker_id="w", task_type_id=1, sort_by=ClaimSortBy.ID, sort_order=ClaimSortOrder.ASC)
"""


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    module = tmp_path / "uses_bindings.py"
    module.write_text(source, encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            str(module),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_a_wrong_keyword_to_a_generated_model_fails_the_type_check(tmp_path: Path) -> None:
    """A keyword the generated model does not have is a mypy error; the right ones pass."""
    good = _mypy(tmp_path, GOOD)
    assert good.returncode == 0, good.stdout
    bad = _mypy(tmp_path, GOOD.replace('worker_id="w"', 'worker_id="w", bogus=1'))
    assert bad.returncode == 1
    assert 'Unexpected keyword argument "bogus" for "ClaimTaskRequest"' in bad.stdout


def test_the_facade_imports_the_bindings_by_name() -> None:
    """The wire layer reaches the generated code through ordinary imports, not import strings."""
    wire = (ROOT / "taskmanager" / "_wire.py").read_text(encoding="utf-8")
    assert "importlib" not in wire and "_gen(" not in wire
    assert "from . import _bindings as gen" in wire


def test_the_bindings_load_with_the_first_request_not_the_import() -> None:
    """from taskmanager import TaskManagerClient leaves the generated package unloaded until a call."""
    code = (
        "import sys, httpx\n"
        "from taskmanager import TaskManagerClient\n"
        "print('taskmanager_api' in sys.modules)\n"
        "def handler(request): return httpx.Response(200, json={'success': True, 'data': "
        "{'status': 'healthy', 'timestamp': 1795414708, 'database': 'connected'}})\n"
        "transport = httpx.MockTransport(handler)\n"
        "with TaskManagerClient(api_url='http://127.0.0.1:9/api', transport=transport) as c:\n"
        "    c.health_check()\n"
        "print('taskmanager_api.models' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["False", "True"]
