"""Regenerate generated/taskmanager_api from openapi.json + openapi.overlay.yaml.

Usage: python scripts/generate.py           (``make generate``) write generated/taskmanager_api
       python scripts/generate.py --check   (``make check-generated``) compare, change nothing

With ``--check`` the package is generated into a temporary folder and compared with
generated/taskmanager_api file by file; the working tree is left exactly as it was, and the exit
status is 1 when they differ (the differing files are listed).

The effective description (published document with the overlay applied) only lives in a
temporary folder. The package is generated there too and copied over the old one only when
generation succeeded, so a failed run leaves generated/ untouched. The output is byte-for-byte
reproducible for the pinned openapi-python-client and ruff versions (ruff runs --isolated from
scripts/openapi-generator.yaml, so no outside ruff configuration leaks in).
"""

from __future__ import annotations

import filecmp
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

try:
    from apply_overlay import OverlayError, apply_overlay, load_overlay
except ImportError as err:  # jsonpath-rfc9535 or PyYAML missing
    raise SystemExit(f"generate: {err.name} is not installed (pip install -e '.[dev]')") from None

SPEC = ROOT / "openapi.json"
OVERLAY = ROOT / "openapi.overlay.yaml"
CONFIG = ROOT / "scripts" / "openapi-generator.yaml"
PACKAGE = "taskmanager_api"
TARGET = ROOT / "generated" / PACKAGE


# The output depends on these tools' exact versions: they must match the pins of the dev extra.
PINNED_TOOLS = ("openapi-python-client", "ruff")
BIN = Path(sys.executable).parent


def _check_versions() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        dev = tomllib.load(file)["project"]["optional-dependencies"]["dev"]
    pins = dict(requirement.split("==", 1) for requirement in dev if "==" in requirement)
    for tool in PINNED_TOOLS:
        try:
            installed = importlib.metadata.version(tool)
        except importlib.metadata.PackageNotFoundError:
            raise SystemExit(f"generate: {tool} is not installed (pip install -e '.[dev]')") from None
        if installed != pins.get(tool):
            pinned = pins.get(tool)
            raise SystemExit(f"generate: {tool} {installed} is installed but pyproject.toml pins {pinned}")


def _differences(expected: Path, actual: Path) -> list[str]:
    """Files that differ between two package trees (added, removed or changed), sorted."""
    found: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: str) -> None:
        found.extend(prefix + name for name in cmp.left_only + cmp.right_only + cmp.funny_files)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        found.extend(prefix + name for name in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(expected, actual, ignore=["__pycache__"]), "")
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--check"]):
        print("usage: generate.py [--check]", file=sys.stderr)
        return 2
    check = args == ["--check"]
    _check_versions()
    # Run the generator and its ruff post-hooks from this interpreter's environment, never a
    # ruff found elsewhere on PATH (another version formats differently).
    env = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
    generator = shutil.which("openapi-python-client", path=env["PATH"])
    if generator is None or shutil.which("ruff", path=env["PATH"]) is None:
        raise SystemExit(f"generate: openapi-python-client and ruff must be installed in {BIN}")
    try:
        effective = apply_overlay(json.loads(SPEC.read_text(encoding="utf-8")), load_overlay(OVERLAY))
    except OverlayError as err:
        print(f"generate: {err}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="taskmanager-generate-") as tmp:
        spec_path = Path(tmp) / "openapi.effective.json"
        spec_path.write_text(json.dumps(effective, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        out = Path(tmp) / PACKAGE
        command = [
            generator,
            "generate",
            "--path",
            str(spec_path),
            "--config",
            str(CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(out),
            "--overwrite",
            "--fail-on-warning",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            print("generate: openapi-python-client failed", file=sys.stderr)
            return 1
        # --meta none writes no py.typed; the package is typed, so mark it.
        (out / "py.typed").write_text("", encoding="utf-8")
        for cache in out.rglob("__pycache__"):
            shutil.rmtree(cache)
        if check:
            differing = _differences(out, TARGET) if TARGET.exists() else ["(all: the folder is missing)"]
            if differing:
                for name in differing:
                    print(f"  differs: {TARGET.relative_to(ROOT)}/{name}", file=sys.stderr)
                print(
                    f"generate: {TARGET.relative_to(ROOT)} differs from what openapi.json + "
                    "openapi.overlay.yaml produce: run 'make generate' and commit",
                    file=sys.stderr,
                )
                return 1
            print(f"generate: {TARGET.relative_to(ROOT)} is up to date")
            return 0
        if TARGET.exists():
            shutil.rmtree(TARGET)
        shutil.copytree(out, TARGET)
    print(f"generate: wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
