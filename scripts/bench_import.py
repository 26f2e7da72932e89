"""Section 3: ``import taskmanager`` next to ``import httpx``, each in a fresh interpreter.

``python -X importtime`` reports the cumulative microseconds of every top-level import; the figure
for a module includes everything it pulls in (so ``taskmanager`` includes httpx).
"""

from __future__ import annotations

import subprocess
import sys

from bench_common import ROOT, Row, median, paired_ratio


def import_us(module: str) -> float:
    """Cumulative import time of ``module`` in a fresh interpreter, in microseconds."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for line in proc.stderr.splitlines():
        # "import time:       self [us] |  cumulative | imported package"
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[2].rstrip() == f" {module}":
            return float(parts[1])
    raise RuntimeError(f"no importtime line for {module!r}:\n{proc.stderr[-2000:]}")


def run(quick: bool = False) -> list[Row]:
    runs = 5 if quick else 21
    samples: dict[str, list[float]] = {"httpx": [], "taskmanager": []}
    for name in samples:
        import_us(name)  # first run pays for writing .pyc files
    for _ in range(runs):
        for name in samples:  # interleaved, so both see the same disk cache and load
            samples[name].append(import_us(name) / 1000)
    httpx_ms = median(samples["httpx"])
    tm_ms = median(samples["taskmanager"])
    return [
        Row("3 import", "import httpx", httpx_ms, "ms", samples=samples["httpx"]),
        Row(
            "3 import",
            "import taskmanager",
            tm_ms,
            "ms",
            ratio=paired_ratio(samples["taskmanager"], samples["httpx"]),
            baseline="import httpx",
            target="<= 1.30",
            samples=samples["taskmanager"],
        ),
    ]
