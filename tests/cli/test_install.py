"""Installing: ``make install`` from a fresh copy prints no setuptools warning; the interpreters
for ``make test-versions`` are found."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tracked_copy(dest: Path) -> Path:
    """The files git tracks, as a fresh clone has them."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60)
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def test_make_install_prints_no_setuptools_warning(tmp_path: Path) -> None:
    copy = _tracked_copy(tmp_path / "clone")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VENV")}
    done = subprocess.run(
        ["make", "install", f"PYTHON={sys.executable}", "VENV=.venv"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    for word in ("setuptools", "BuildBackendWarning", "be careful"):  # the warning, not make's echo
        assert word not in output, output[-3000:]
    installed = subprocess.run(
        [str(copy / ".venv" / "bin" / "python"), "-m", "taskmanager", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert installed.returncode == 0 and "0.1.0" in installed.stdout


def test_find_python_finds_this_version_and_refuses_a_missing_one() -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = subprocess.run(
        [str(ROOT / "scripts" / "find_python.sh"), version], capture_output=True, text=True, timeout=60
    )
    assert found.returncode == 0, found.stderr
    reported = subprocess.run(
        [found.stdout.strip(), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reported.stdout.strip() == str(sys.version_info[:2])
    missing = subprocess.run(
        [str(ROOT / "scripts" / "find_python.sh"), "3.99"], capture_output=True, text=True
    )
    assert missing.returncode == 1 and missing.stderr.startswith("find_python: no working python3.99")
