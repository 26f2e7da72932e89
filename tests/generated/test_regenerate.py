"""Regeneration in a temporary copy of the repository: an API change reaches the facade, and
``generate.py --check`` (``make check-generated``) leaves the working tree as it found it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEEDED = ["openapi.json", "openapi.overlay.yaml", "pyproject.toml", "scripts", "generated", "taskmanager"]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for name in NEEDED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


def _run(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env_path = f"{Path(sys.executable).parent}"
    return subprocess.run(
        [sys.executable, *args],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": env_path, "PYTHONPATH": f"{copy}:{copy / 'generated'}", "HOME": str(copy)},
    )


# What a user of the copy does once the server sends a new field and takes a new query parameter.
NEW_FIELD = """
  - target: $.components.schemas.TaskRecord.properties
    description: The server now reports how long the last attempt ran.
    update:
      duration_seconds:
        type: [integer, 'null']
        description: Seconds from the claim to the completion of the last attempt.
"""

PROBE = textwrap.dedent(
    """
    import inspect, json
    import httpx
    from taskmanager import TaskManagerClient
    from taskmanager_api.api.tasks import list_tasks
    from taskmanager_api.models.task_record import TaskRecord

    item = {"id": "7", "type": "T", "status": "completed", "params": {"a": 1}, "result": {"ok": 1},
            "error_message": None, "priority": 0, "progress": 100, "attempts": 1, "claimed_by": "w",
            "claimed_at": "2026-01-01 00:00:00", "completed_at": "2026-01-01 00:00:09",
            "created_at": "2026-01-01 00:00:00", "duration_seconds": 9}
    reply = {"success": True, "message": "Success", "data": {"items": [item], "count": 1}, "timestamp": 0}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=reply))
    with TaskManagerClient(api_url="http://127.0.0.1:9/api", api_key="k", transport=transport) as client:
        task = client.get_task(7)
    try:
        task.extra["x"] = 1
        writable = True
    except TypeError:
        writable = False
    print(json.dumps({
        "extra": dict(task.extra),
        "extra_writable": writable,
        "generated_field": TaskRecord.from_dict(item).duration_seconds,
        "list_tasks_params": sorted(inspect.signature(list_tasks._get_kwargs).parameters),
    }))
    """
)


def test_new_response_field_and_query_parameter_reach_the_user(copy: Path) -> None:
    """Overlay + openapi.json changed, generate.py run: the field is in the generated model and in
    Task.extra (read-only), the parameter in the generated request builder."""
    overlay = copy / "openapi.overlay.yaml"
    overlay.write_text(overlay.read_text("utf-8") + NEW_FIELD, encoding="utf-8")
    spec = json.loads((copy / "openapi.json").read_text("utf-8"))
    spec["paths"]["/tasks"]["get"]["parameters"].append(
        {"name": "claimed_by", "in": "query", "schema": {"type": "string"}}
    )
    (copy / "openapi.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")

    before = _run(copy, "-c", PROBE)
    assert before.returncode != 0 and "duration_seconds" in before.stderr  # the old model has no such field

    generated = _run(copy, "scripts/generate.py")
    assert generated.returncode == 0, generated.stderr
    after = _run(copy, "-c", PROBE)
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout) == {
        "extra": {"duration_seconds": 9},
        "extra_writable": False,
        "generated_field": 9,
        "list_tasks_params": ["claimed_by", "limit", "offset", "status", "type_"],
    }
    # the regenerated copy is consistent with its spec and overlay again
    assert _run(copy, "scripts/generate.py", "--check").returncode == 0


def test_check_leaves_the_tree_as_it_was(copy: Path) -> None:
    """--check reports a hand edit of generated/ and a spec change, and rewrites nothing."""
    assert _run(copy, "scripts/generate.py", "--check").returncode == 0
    edited = copy / "generated" / "taskmanager_api" / "client.py"
    edited.write_text(edited.read_text("utf-8") + "# edited by hand\n", encoding="utf-8")
    snapshot = {p: p.read_bytes() for p in (copy / "generated").rglob("*") if p.is_file()}
    result = _run(copy, "scripts/generate.py", "--check")
    assert result.returncode == 1 and "differs: generated/taskmanager_api/client.py" in result.stderr
    assert {p: p.read_bytes() for p in (copy / "generated").rglob("*") if p.is_file()} == snapshot
