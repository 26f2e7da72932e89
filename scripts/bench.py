"""Benchmarks (``make bench``): client overhead, loopback throughput, import time, worker memory.

Prints the tables and saves every figure (with its samples) to ``bench-results/latest.json``,
with the throughput plot beside it (``bench-results/throughput.png``, needs the ``bench``
extra). Everything runs on this machine against loopback servers it starts itself.

    python scripts/bench.py                 # all sections
    python scripts/bench.py --only 1 3      # some sections
    python scripts/bench.py --quick         # fewer runs, for a smoke check
    python scripts/bench.py --publish docs/benchmarks   # also copy table, JSON and plot there
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import ROOT, Row, fmt

SECTIONS: dict[str, tuple[str, str]] = {
    "1": ("client overhead per call (MockTransport)", "bench_overhead"),
    "2": ("loopback throughput (create+claim+complete)", "bench_throughput"),
    "3": ("import time (python -X importtime)", "bench_import"),
    "4": ("worker peak memory over 10,000 tasks", "bench_memory"),
    "5": ("worker's own cost (handler that returns at once)", "bench_worker"),
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


def table(rows: list[Row]) -> str:
    """The main table, in Markdown (readable in a terminal and pasteable into the README).

    Each row shows its comparisons side by side: the baseline's median, the ratio of the two
    medians in bold (what the verdict uses) and the median and range of the per-round ratios.
    """
    header = ["section", "case", "median", "unit", "compared with", "target", "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        if row.section == "2 latency":
            continue
        cells = [
            row.section,
            row.case,
            fmt(row.value),
            row.unit,
            "<br>".join(c.cell() for c in row.versus) or "-",
            row.target_text() or "-",
            row.verdict or (row.note[:80] if row.value is None else "-"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def latency_table(rows: list[Row]) -> str:
    """p50/p95/p99 per call, for the facade stacks (the raw stacks' are in the JSON)."""
    header = ["stack", "concurrency", "call", "p50 ms", "p95 ms", "p99 ms", "calls", "target p95", "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        x = row.extra
        if row.section != "2 latency" or not str(x.get("stack", "")).startswith("facade"):
            continue
        cells = [
            f"{x['kind']} {x['stack']}",
            str(x["concurrency"]),
            x["op"],
            fmt(x["p50"]),
            fmt(x["p95"]),
            fmt(x["p99"]),
            str(x["calls"]),
            row.target_text().removeprefix("ms p95 "),
            row.verdict,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


# One colour per stack in both panels: the lean references grey, httpx blue, aiohttp orange.
COLORS = {
    "raw aiohttp": "#555555",
    "raw http.client": "#555555",
    "raw httpx": "#1f77b4",
    "facade": "#1f77b4",
    "raw httpx+aiohttp": "#ff7f0e",
    "facade+aiohttp": "#ff7f0e",
}


def plot(rows: list[Row], path: Path, meta: dict[str, object]) -> str:
    """cycles/s against concurrency, one line per stack (min-max of the rounds as error bars)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return f"no plot: {exc} (pip install 'taskmanager[bench]')"
    series: dict[tuple[str, str], list[tuple[int, float, float, float]]] = {}
    for row in rows:
        x = row.extra
        if row.section != "2 throughput" or row.value is None or not row.samples:
            continue
        series.setdefault((x["kind"], x["stack"]), []).append(
            (x["concurrency"], row.value, min(row.samples), max(row.samples))
        )
    if not series:
        return "no plot: no throughput rows"
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=False)
    for ax, kind, word in ((axes[0], "async", "tasks in flight"), (axes[1], "sync", "threads")):
        for (k, stack), points in sorted(series.items()):
            if k != kind:
                continue
            points.sort()
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            err = [[p[1] - p[2] for p in points], [p[3] - p[1] for p in points]]
            style = "--" if stack.startswith("raw") else "-"
            ax.errorbar(xs, ys, yerr=err, fmt=style + "o", capsize=3, label=stack, color=COLORS.get(stack))
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted({p[0] for (k, _), pts in series.items() if k == kind for p in pts}))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_xlabel(word)
        ax.set_ylabel("create+claim+complete cycles/s")
        ax.set_title(f"{kind}: median of the rounds (bars: min-max)")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"local server, commit {meta['commit']}, {meta['cpus']} CPUs, {meta['date']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


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
    parser.add_argument("--publish", type=Path, help="also copy the table, JSON and plot to this folder")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    rows: list[Row] = []
    for key in args.only or sorted(SECTIONS):
        rows += _run_section(key, args.quick)
    elapsed = time.perf_counter() - started

    meta = _meta() | {"seconds": round(elapsed, 1), "quick": args.quick}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    png = args.out.with_name("throughput.png")
    drawn = plot(rows, png, meta)
    text = table(rows)
    latencies = latency_table(rows)
    if latencies:
        text += (
            "\n\nLatency per call (facade stacks; seeds' targets: p95 < 500 ms a call, < 1 s a claim):\n\n"
        )
        text += latencies
    footer = (
        f"{meta['python']} on {meta['platform']}, {meta['cpus']} CPUs, "
        f"commit {meta['commit']}, {elapsed:.0f}s"
    )
    print()
    print(text)
    print(f"\n{footer}")
    args.out.write_text(json.dumps({"meta": meta, "rows": [r.as_json() for r in rows]}, indent=2) + "\n")
    args.out.with_name("latest.md").write_text(text + "\n\n" + footer + "\n")
    print(f"saved {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}; plot: {drawn}")
    if args.publish:
        args.publish.mkdir(parents=True, exist_ok=True)
        for made in (args.out, args.out.with_name("latest.md"), png):
            if made.exists():
                shutil.copy(made, args.publish / made.name)
        print(f"published to {args.publish}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
