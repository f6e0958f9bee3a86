"""The tables (Markdown: printed, and written to docs/benchmarks.md), geometric mean, chart."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from peer_bench.runner import Results
from peer_bench.spec import WORKLOADS, Workload


def title(workload: Workload, rows: int, gets: int) -> str:
    return workload.title.replace(" N", f" {rows:,}").replace("x G", f"x{gets:,}")


def wire(results: Results | None, key: tuple[str, str]) -> str:
    cell = results.get(key) if results is not None else None
    if cell is None or cell.statements is None:
        return ""
    return f" · {cell.statements} st / {cell.round_trips} rt"


def ratio_table(
    results: Results,
    counted: Results | None,
    names: Sequence[str],
    baseline: str,
    *,
    rows: int,
    gets: int,
    workloads: Sequence[Workload] = WORKLOADS,
) -> str:
    """Time relative to ``baseline`` (lower is better); statements and round trips on the wire."""
    lines = [
        f"| workload | {' | '.join(names)} | {baseline} (ms) |",
        f"|---|{'---:|' * len(names)}---:|",
    ]
    for workload in workloads:
        floor = results.get((workload.key, baseline))
        if floor is None:
            continue
        cells = []
        for name in names:
            cell = results.get((workload.key, name))
            if cell is None:
                cells.append("—")
                continue
            ratio = cell.median / floor.median
            cells.append(f"{ratio:.2f}\N{MULTIPLICATION SIGN}{wire(counted, (workload.key, name))}")
        lines.append(
            f"| {title(workload, rows, gets)} | {' | '.join(cells)} | {floor.median * 1000:.1f} |"
        )
    return "\n".join(lines)


def geometric_mean_against_peers(results: Results, subject: str, peers: Sequence[str]) -> float:
    """The subject's time over the best peer's, per workload both ran, geometric mean."""
    logs = []
    for workload in WORKLOADS:
        mine = results.get((workload.key, subject))
        theirs = [results[(workload.key, p)].median for p in peers if (workload.key, p) in results]
        if mine is not None and theirs:
            logs.append(math.log(mine.median / min(theirs)))
    return math.exp(sum(logs) / len(logs)) if logs else float("nan")


def chart(results: Results, names: Sequence[str], baseline: str, path: Path) -> None:
    """Grouped horizontal bars: time relative to the baseline per workload, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = [w for w in WORKLOADS if (w.key, baseline) in results]
    figure, axes = plt.subplots(figsize=(9, 0.9 + 0.75 * len(workloads)))
    height = 0.8 / len(names)
    for index, name in enumerate(names):
        positions, ratios = [], []
        for row, workload in enumerate(workloads):
            cell = results.get((workload.key, name))
            if cell is not None:
                positions.append(row + index * height)
                ratios.append(cell.median / results[(workload.key, baseline)].median)
        axes.barh(positions, ratios, height=height, label=name)
    axes.set_yticks([row + 0.4 - height / 2 for row in range(len(workloads))])
    axes.set_yticklabels([w.title.replace(" N", "").replace(" x G", "") for w in workloads])
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xlabel(f"time relative to {baseline} (log scale, lower is better)")
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
