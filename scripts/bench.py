"""Benchmarks (``make bench``): client overhead, loopback throughput, import time, worker memory.

Prints one table and saves every figure (with its samples) to ``bench-results/latest.json``.
Everything runs on this machine against loopback servers it starts itself.

    python scripts/bench.py                 # all sections
    python scripts/bench.py --only 1 3      # some sections
    python scripts/bench.py --quick         # fewer runs, for a smoke check
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import ROOT, Row

SECTIONS: dict[str, tuple[str, str]] = {
    "1": ("client overhead per call (MockTransport)", "bench_overhead"),
    "2": ("loopback throughput (create+claim+complete)", "bench_throughput"),
    "3": ("import time (python -X importtime)", "bench_import"),
    "4": ("worker peak memory over 10,000 tasks", "bench_memory"),
}


def _run_section(key: str, quick: bool) -> list[Row]:
    title, module_name = SECTIONS[key]
    print(f"[{key}] {title} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        module = __import__(module_name)
        runner: Callable[[bool], list[Row]] = module.run
        rows = runner(quick)
    except Exception as exc:  # one broken section must not hide the others' figures
        traceback.print_exc()
        rows = [
            Row(f"{key} {title.split()[0]}", "section failed", None, "", note=f"{type(exc).__name__}: {exc}")
        ]
    print(f"[{key}] done in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    return rows


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: list[Row]) -> str:
    """A Markdown table (readable in a terminal and pasteable into the README)."""
    header = ["section", "case", "median", "unit", "ratio", "vs", "target", "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        cells = [
            row.section,
            row.case,
            _fmt(row.value),
            row.unit,
            "-" if row.ratio is None else f"{row.ratio:.2f}x",
            row.baseline or "-",
            row.target or "-",
            row.verdict or (row.note[:60] if row.value is None else "-"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _meta() -> dict[str, object]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "commit": commit,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="sections to run")
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller sizes")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "latest.json")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    rows: list[Row] = []
    for key in args.only or sorted(SECTIONS):
        rows += _run_section(key, args.quick)
    elapsed = time.perf_counter() - started

    meta = _meta() | {"seconds": round(elapsed, 1), "quick": args.quick}
    print()
    print(table(rows))
    print(f"\n{meta['python']} on {meta['platform']}, {meta['cpus']} CPUs, {elapsed:.0f}s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": [r.as_json() for r in rows]}, indent=2) + "\n")
    print(f"saved {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
