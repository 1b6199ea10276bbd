"""PNG charts of the raw samples the benchmark scripts write with ``--json FILE``.

For each JSON file and each scenario in it, one horizontal bar chart: a bar per server at the
median of the metric (the file's ``primary`` one unless ``--metric`` names another), a line
from the lowest to the highest round, and a dot per round. A file with an ``x`` metric (the
soak's RSS over time) gets a line chart of the metric against it instead. Needs matplotlib
(`pip install -e '.[bench]'`):

    python benchmarks/plot.py results/http11.json [more.json ...] [--out charts] [--metric p99_ms]

Prints the path of each PNG it writes.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from pathlib import Path
from typing import Any


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def bars(ax: Any, per_server: dict[str, dict[str, list[float]]], metric: str) -> bool:
    """Bars of ``metric`` per server on ``ax``; False if no server has that metric."""
    names = [name for name, figures in per_server.items() if figures.get(metric)]
    if not names:
        return False
    values = [per_server[name][metric] for name in names]
    medians = [statistics.median(v) for v in values]
    low = [m - min(v) for m, v in zip(medians, values, strict=True)]
    high = [max(v) - m for m, v in zip(medians, values, strict=True)]
    positions = range(len(names))
    colours = ["tab:blue" if name.startswith("asgi-core") else "tab:gray" for name in names]
    ax.barh(positions, medians, xerr=[low, high], color=colours, capsize=3)
    for position, round_values in zip(positions, values, strict=True):
        ax.scatter(round_values, [position] * len(round_values), color="black", s=8, zorder=3)
    for position, median, round_values in zip(positions, medians, values, strict=True):
        if math.isnan(median):  # e.g. abuse.py's p99 when no request was answered
            ax.annotate(" no value", (0, position), va="center", fontsize=8, color="red")
            continue
        label = f"  {median:,.0f}" if abs(median) >= 100 else f"  {median:.3g}"
        # Beyond the highest round, so that the range and the dots do not cover it.
        ax.annotate(label, (max(round_values), position), va="center", fontsize=8)
    ax.margins(x=0.12)
    ax.set_yticks(list(positions), names)
    ax.invert_yaxis()
    return True


def series(ax: Any, per_server: dict[str, dict[str, list[float]]], metric: str, x: str) -> bool:
    """Lines of ``metric`` against ``x`` per server on ``ax``."""
    drawn = False
    for name, figures in per_server.items():
        if figures.get(metric) and figures.get(x):
            ax.plot(figures[x], figures[metric], label=name)
            drawn = True
    if drawn:
        ax.legend(fontsize=8)
    return drawn


def plot_file(path: Path, out: Path, metric_option: str | None) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    document = json.loads(path.read_text())
    metric = metric_option or document["primary"]
    units = document.get("units", {})
    x = document.get("x")
    written = []
    for scenario, per_server in document["samples"].items():
        chosen = metric
        if not any(chosen in figures for figures in per_server.values()):
            chosen = next(iter(next(iter(per_server.values()))))  # e.g. the idle-memory rows
        height = 2.0 + 0.35 * len(per_server) if not x else 4.5
        fig, ax = plt.subplots(figsize=(9, height))
        drawn = series(ax, per_server, chosen, x) if x else bars(ax, per_server, chosen)
        if not drawn:
            plt.close(fig)
            continue
        if x:
            ax.set_xlabel(units.get(x, x))
            ax.set_ylabel(units.get(chosen, chosen))
        else:
            ax.set_xlabel(units.get(chosen, chosen))
        ax.set_title(f"{document['benchmark']}: {scenario}", fontsize=10)
        fig.text(0.01, 0.005, document.get("title", ""), fontsize=6, color="gray")
        fig.tight_layout(rect=(0, 0.02, 1, 1))
        target = out / f"{path.stem}-{slug(scenario)}-{slug(chosen)}.png"
        fig.savefig(target, dpi=120)
        plt.close(fig)
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the PNGs")
    parser.add_argument("--metric", help="the metric to chart (default: each file's primary)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.files:
        for target in plot_file(path, args.out, args.metric):
            print(target)


if __name__ == "__main__":
    main()
