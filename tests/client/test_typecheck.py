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


def _run_mypy(tmp_path: Path, *files: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """mypy under the project's config (its own files when none are named), run in ``cwd``."""
    config = ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache")]
    return subprocess.run(
        [sys.executable, "-m", "mypy", *config, *files], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    module = tmp_path / "uses_bindings.py"
    module.write_text(source, encoding="utf-8")
    return _run_mypy(tmp_path, str(module))


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


@pytest.mark.slow
def test_a_wrong_keyword_in_the_facade_fails_the_project_type_check(tmp_path: Path) -> None:
    """``make typecheck`` on the package with one bogus keyword in _wire's claim request fails there.

    The facade's own use of the bindings is checked, not only a module that imports them: a copy
    of the package with the change, beside the real generated/, under the project's mypy config.
    """
    import shutil

    shutil.copytree(
        ROOT / "taskmanager", tmp_path / "taskmanager", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "generated").symlink_to(ROOT / "generated", target_is_directory=True)
    wire = tmp_path / "taskmanager" / "_wire.py"
    source = wire.read_text(encoding="utf-8")
    call = "body = gen.ClaimTaskRequest(\n"
    assert source.count(call) == 1
    wire.write_text(source.replace(call, call + "        bogus=1,\n"), encoding="utf-8")
    result = _run_mypy(tmp_path, cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and errors[0].startswith("taskmanager/_wire.py:"), result.stdout
    assert 'Unexpected keyword argument "bogus" for "ClaimTaskRequest"' in errors[0]
