"""Section 3: import time of the package next to ``import httpx``, each in a fresh interpreter.

``python -X importtime`` reports the cumulative microseconds of every top-level import. A figure
here is the sum over the top-level imports the snippet causes (not those every interpreter makes at
start-up), so imports deferred to first use count too: ``import taskmanager`` loads the clients
(and httpx) only when one is first used, which the second taskmanager row includes.
"""

from __future__ import annotations

import subprocess
import sys

from bench_common import ROOT, Row, median, paired_ratio

CASES = {
    "import httpx": "import httpx",
    "import taskmanager": "import taskmanager",
    "from taskmanager import TaskManagerClient": "from taskmanager import TaskManagerClient",
}


def _top_level_imports(code: str) -> dict[str, float]:
    """Top-level module -> cumulative import microseconds, for ``code`` in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
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
    startup = set(_top_level_imports("pass"))

    def import_ms(code: str) -> float:
        return sum(us for name, us in _top_level_imports(code).items() if name not in startup) / 1000

    samples: dict[str, list[float]] = {case: [] for case in CASES}
    for code in CASES.values():
        import_ms(code)  # the first run pays for writing .pyc files
    for _ in range(runs):
        for case, code in CASES.items():  # interleaved: every case sees the same disk cache and load
            samples[case].append(import_ms(code))
    rows = [
        Row(
            "3 import", "import httpx", median(samples["import httpx"]), "ms", samples=samples["import httpx"]
        )
    ]
    for case in list(CASES)[1:]:
        rows.append(
            Row(
                "3 import",
                case,
                median(samples[case]),
                "ms",
                ratio=paired_ratio(samples[case], samples["import httpx"]),
                baseline="import httpx",
                target="<= 1.30",
                samples=samples[case],
            )
        )
    return rows
