"""Regenerate generated/taskmanager_api from openapi.json + openapi.overlay.yaml.

Usage: python scripts/generate.py   (``make generate`` runs it with the venv's bin on PATH)

The effective description (published document with the overlay applied) only lives in a
temporary folder. The package is generated there too and copied over the old one only when
generation succeeded, so a failed run leaves generated/ untouched. The output is byte-for-byte
reproducible for the pinned openapi-python-client and ruff versions (ruff runs --isolated from
scripts/openapi-generator.yaml, so no outside ruff configuration leaks in).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from apply_overlay import OverlayError, apply_overlay, load_overlay  # noqa: E402

SPEC = ROOT / "openapi.json"
OVERLAY = ROOT / "openapi.overlay.yaml"
CONFIG = ROOT / "scripts" / "openapi-generator.yaml"
PACKAGE = "taskmanager_api"
TARGET = ROOT / "generated" / PACKAGE


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit(f"generate: {name} is not installed (pip install -e '.[dev]')")
    return found


def main() -> int:
    generator = _tool("openapi-python-client")
    # The generator only warns when its ruff post-hooks cannot run, and the output then differs.
    _tool("ruff")
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
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            print("generate: openapi-python-client failed", file=sys.stderr)
            return 1
        # --meta none writes no py.typed; the package is typed, so mark it.
        (out / "py.typed").write_text("", encoding="utf-8")
        for cache in out.rglob("__pycache__"):
            shutil.rmtree(cache)
        if TARGET.exists():
            shutil.rmtree(TARGET)
        shutil.copytree(out, TARGET)
    print(f"generate: wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
