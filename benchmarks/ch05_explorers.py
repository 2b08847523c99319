"""How fast do chapter 05's two explorers answer a slider move, and what does building them cost?

The momentum explorer (η, μ, Nesterov: path, loss, exact (η, μ) map) and the schedule explorer
(schedule, peak rate, shape knob: rate curve and training curve, 57 precomputed runs) are built
once (timed separately: that is the notebook's cost), warmed up with their initial figure, and
then ``explorer.png(**state)`` is timed for every state of ``sample_states()``, interleaved move by
move with a baseline explorer that draws one fresh line plot, so a busy machine slows them alike.
Reported per explorer: median and 95th percentile of wall time, this thread's CPU median, and the
median of the per-move CPU ratio to the baseline (which the machine's load cancels out of).
Target: median <= 100 ms per move.

    .venv/bin/python benchmarks/ch05_explorers.py             # ~1 minute on a busy machine
    .venv/bin/python benchmarks/ch05_explorers.py --rounds 1  # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "ch05_explorers.json"
TARGET_MEDIAN_MS = 100.0


def baseline_explorer():
    """One line plot drawn from scratch per move: the cheapest honest explorer."""
    import ipywidgets as w

    from gdlessons.plots import new_axes
    from gdlessons.widgets import Explorer

    def draw(k: int):
        fig, ax = new_axes(figsize=(6.4, 3.2))
        ax.plot(range(k), [i * i for i in range(k)])
        ax.set(xlabel="iteration", ylabel="loss", title="baseline")
        return fig

    return Explorer(draw, {"k": w.IntSlider(value=10, min=5, max=50)})


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over every explorer's states")
    parser.add_argument("--steps", type=int, default=5, help="values per control (sample_states)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    from gdlessons.momentum import EXPLORERS as MOMENTUM
    from gdlessons.schedules import EXPLORERS as SCHEDULES

    factories = {"baseline": baseline_explorer, **MOMENTUM, **SCHEDULES}
    explorers, states, build = {}, {}, {}
    for name, factory in factories.items():
        wall, cpu = time.perf_counter(), time.thread_time()
        explorer = factory()
        build[name] = {"wall_s": time.perf_counter() - wall, "cpu_s": time.thread_time() - cpu}
        explorer.png()  # warm-up: the initial figure, drawn when the cell is shown
        explorers[name], states[name] = explorer, explorer.sample_states(args.steps)

    wall = {name: [] for name in explorers}
    cpu = {name: [] for name in explorers}
    ratios = {name: [] for name in explorers}
    for r in range(args.rounds):
        seqs = {n: s if r % 2 == 0 else s[::-1] for n, s in states.items()}
        for j in range(max(len(s) for s in seqs.values())):
            move_cpu = {}
            for name, explorer in explorers.items():
                state = seqs[name][j % len(seqs[name])]
                t, c = time.perf_counter(), time.thread_time()
                explorer.png(**state)
                wall[name].append(time.perf_counter() - t)
                cpu[name].append(time.thread_time() - c)
                move_cpu[name] = cpu[name][-1]
            for name in explorers:
                ratios[name].append(move_cpu[name] / move_cpu["baseline"])

    rows = {}
    print(
        f"{'explorer':26s} {'build s':>8s} {'median ms':>10s} {'p95 ms':>8s} {'cpu ms':>8s} {'cpu / baseline':>15s}"
    )
    for name in explorers:
        row = {
            "build_wall_s": round(build[name]["wall_s"], 2),
            "build_cpu_s": round(build[name]["cpu_s"], 2),
            "median_ms": round(1000 * statistics.median(wall[name]), 1),
            "p95_ms": round(1000 * p95(wall[name]), 1),
            "cpu_median_ms": round(1000 * statistics.median(cpu[name]), 1),
            "cpu_ratio_to_baseline": round(statistics.median(ratios[name]), 2),
            "moves": len(wall[name]),
        }
        row["meets_target"] = row["median_ms"] <= TARGET_MEDIAN_MS
        rows[name] = row
        print(
            f"{name:26s} {row['build_wall_s']:8.2f} {row['median_ms']:10.1f} {row['p95_ms']:8.1f} "
            f"{row['cpu_median_ms']:8.1f} {row['cpu_ratio_to_baseline']:15.2f}"
        )
    result = {
        "benchmark": "ch05_explorers",
        "target_median_ms": TARGET_MEDIAN_MS,
        "rounds": args.rounds,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "explorers": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
