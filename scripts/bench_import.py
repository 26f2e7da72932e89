"""Section 3: import time of the package next to ``import httpx``, each in a fresh interpreter.

The interpreter is a venv holding only the runtime dependencies (made once under ``build/``,
pinned to the versions of the dev venv) with the package's source on ``PYTHONPATH``: the dev
venv's extra packages (rich and pygments, pulled in by the code generator) make
``import httpx`` slower there than users see it.

``python -X importtime`` reports the cumulative microseconds of every top-level import. A figure
here is the sum over the top-level imports the snippet causes (not those every interpreter makes at
start-up), so imports deferred to first use count too: ``import taskmanager`` loads the clients
(and httpx) only when one is first used, which the second taskmanager row includes.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from bench_common import ROOT, Compare, Row, median

VENV = ROOT / "build" / "bench-runtime-venv"
PYCACHE = ROOT / "build" / "bench-pycache"

CASES = {
    "import httpx": "import httpx",
    "import taskmanager": "import taskmanager",
    "from taskmanager import TaskManagerClient": "from taskmanager import TaskManagerClient",
}


def _runtime_requirements() -> list[str]:
    """The package's runtime dependencies, pinned to what the running (dev) venv has."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = [re.split(r"[<>=!~ ;\[]", req, maxsplit=1)[0] for req in declared]
    return [f"{name}=={importlib.metadata.version(name)}" for name in names]


def runtime_python() -> tuple[Path, list[str]]:
    """A venv with only the runtime dependencies (made or reused); its python and its packages."""
    requirements = _runtime_requirements()
    marker = VENV / "requirements.txt"
    python = VENV / "bin" / "python"
    if not python.exists() or not marker.exists() or marker.read_text().split() != requirements:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if install.returncode:
            raise RuntimeError(f"pip install {' '.join(requirements)} failed: {install.stderr[-2000:]}")
        marker.write_text("\n".join(requirements) + "\n")
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    return python, listed


def _env() -> dict[str, str]:
    """The interpreter's environment: the source on the path, and bytecode cached for every module.

    An installed package has its ``.pyc`` files (pip writes them), and so do httpx and attrs
    here. With ``PYTHONDONTWRITEBYTECODE`` set (as it may be in a development shell), the
    package's own modules would instead be compiled from source on every run, about as long as
    running them: the cache goes under ``build/`` (``PYTHONPYCACHEPREFIX``, used for every module
    alike, so the first run of each case writes it) rather than into the source tree.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "generated")])
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def _top_level_imports(python: Path, code: str) -> dict[str, float]:
    """Top-level module -> cumulative import microseconds, for ``code`` in a fresh interpreter."""
    env = _env()
    proc = subprocess.run(
        [str(python), "-X", "importtime", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    found: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        # "import time:       self [us] |  cumulative | imported package"; nesting indents the name.
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[2].startswith(" ") and not parts[2].startswith("  "):
            try:
                found[parts[2].strip()] = float(parts[1])
            except ValueError:
                continue  # the header line
    return found


def run(quick: bool = False) -> list[Row]:
    runs = 5 if quick else 21
    python, packages = runtime_python()
    startup = set(_top_level_imports(python, "pass"))

    def import_ms(code: str) -> float:
        found = _top_level_imports(python, code)
        return sum(us for name, us in found.items() if name not in startup) / 1000

    samples: dict[str, list[float]] = {case: [] for case in CASES}
    for code in CASES.values():
        import_ms(code)  # the first run pays for writing .pyc files
    for _ in range(runs):
        for case, code in CASES.items():  # interleaved: every case sees the same disk cache and load
            samples[case].append(import_ms(code))
    where = f"runtime-only venv: {', '.join(packages)}"
    rows = [Row("3 import", "import httpx", median(samples["import httpx"]), "ms", note=where)]
    rows[0].samples = samples["import httpx"]
    for case in list(CASES)[1:]:
        rows.append(
            Row(
                "3 import",
                case,
                median(samples[case]),
                "ms",
                versus=[Compare.of("import httpx", samples[case], samples["import httpx"])],
                targets={0: "<= 1.30"},
                samples=samples[case],
            )
        )
    return rows
