"""How long does every explorer of the course take to answer a slider move?

For every explorer factory found by ``gdlessons.chapters.all_explorers()`` (each chapter module's
``EXPLORERS`` dict), the explorer is built (not timed: that is the precomputation a chapter may
do once), its initial figure is drawn once to warm up, and then ``explorer.png(**state)`` is
timed for every state of ``explorer.sample_states()``: the time from a new slider value to the
PNG bytes of its figure, rendered on an Agg canvas, as the live widget shows it. The explorers
are interleaved move by move so a busy machine slows them alike. Median and 95th percentile
of wall time are reported per explorer (this thread's CPU time too, which is less noisy on a
shared machine), with the CPU median over that of a baseline explorer drawing one line plot,
a ratio the machine's load cancels out of. An explorer whose factory or drawing fails is
reported, not fatal.
Targets: median <= 100 ms and p95 <= 250 ms for every explorer.

    .venv/bin/python benchmarks/widgets.py              # 1-3 minutes, depending on the load
    .venv/bin/python benchmarks/widgets.py --rounds 1   # quick look
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import statistics
import time
import traceback
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402
import torch  # noqa: E402

TARGET_MEDIAN_MS = 100.0
TARGET_P95_MS = 250.0
BASELINE = "(baseline: one line plot)"
BUDGET_S = 10.0  # per explorer and round: a very slow explorer is sampled less, not forever
RESULTS = Path(__file__).parent / "results" / "widgets.json"


def find_explorers() -> tuple[dict, dict[str, str]]:
    """``all_explorers()``; if one chapter module fails to import (it may be mid-edit), walk the
    package module by module so the others are still measured, and report the failure."""
    from gdlessons.chapters import all_explorers

    try:
        return all_explorers(), {}
    except Exception:  # noqa: BLE001 - any import error of any chapter
        import gdlessons

        found, errors = {}, {}
        for info in pkgutil.walk_packages(gdlessons.__path__, "gdlessons."):
            if info.name.endswith("__main__"):
                continue
            try:
                module = importlib.import_module(info.name)
            except Exception as exc:  # noqa: BLE001
                errors[info.name] = f"import failed: {exc!r}"
                continue
            found.update(getattr(module, "EXPLORERS", {}))
        return found, errors


def baseline_explorer():
    """The floor: one small line plot with title and labels, through the same Explorer and PNG
    path. Not a course explorer and not held to the targets; it shows what drawing alone costs."""
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer
    from gdlessons.display.plots import new_axes

    def draw(k: int):
        fig, ax = new_axes()
        ax.plot(range(100), [(i % k) for i in range(100)], label="line")
        ax.set(title="baseline", xlabel="iteration", ylabel="loss")
        ax.legend()
        return fig

    return Explorer(draw, {"k": w.IntSlider(value=5, min=2, max=20)})


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="passes over every explorer's states")
    parser.add_argument("--steps", type=int, default=5, help="values per control (sample_states)")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    factories, errors = find_explorers()
    factories = {BASELINE: baseline_explorer, **factories}
    explorers, states, build_s = {}, {}, {}
    for name, factory in factories.items():
        t = time.perf_counter()
        try:
            explorer = factory()
            explorer.png()  # warm-up: the initial figure, drawn when the cell is shown
            states[name] = explorer.sample_states(args.steps)
            explorers[name] = explorer
        except Exception as exc:  # noqa: BLE001
            errors[name] = f"build failed: {exc!r}\n{traceback.format_exc(limit=3)}"
            continue
        build_s[name] = time.perf_counter() - t

    wall: dict[str, list[float]] = {name: [] for name in explorers}
    cpu: dict[str, list[float]] = {name: [] for name in explorers}
    truncated: set[str] = set()
    started = time.perf_counter()
    for r in range(args.rounds):
        # Round robin: move one slider of each explorer in turn, so load bursts hit all alike.
        sequences = {name: states[name] if r % 2 == 0 else states[name][::-1] for name in explorers}
        spent = dict.fromkeys(explorers, 0.0)
        for j in range(max(map(len, sequences.values()), default=0)):
            for name, explorer in explorers.items():
                if name in errors or j >= len(sequences[name]):
                    continue
                if spent[name] > BUDGET_S:
                    truncated.add(name)
                    continue
                state = sequences[name][j]
                w, c = time.perf_counter(), time.thread_time()
                try:
                    png = explorer.png(**state)
                except Exception as exc:  # noqa: BLE001
                    errors[name] = f"png({state}) failed: {exc!r}\n{traceback.format_exc(limit=3)}"
                    continue
                dw, dc = time.perf_counter() - w, time.thread_time() - c
                if not png.startswith(b"\x89PNG"):
                    errors[name] = f"png({state}) did not return PNG bytes"
                    continue
                wall[name].append(dw)
                cpu[name].append(dc)
                spent[name] += dw
    elapsed = time.perf_counter() - started

    rows = []
    for name in explorers:
        if name in errors or not wall[name]:
            continue
        ms = [t * 1e3 for t in wall[name]]
        row = {
            "explorer": name,
            "build_s": build_s[name],
            "samples": len(ms),
            "median_ms": statistics.median(ms),
            "p95_ms": percentile(ms, 95),
            "max_ms": max(ms),
            "cpu_median_ms": statistics.median(cpu[name]) * 1e3,
            "cpu_p95_ms": percentile([t * 1e3 for t in cpu[name]], 95),
            "truncated": name in truncated,
        }
        fast = row["median_ms"] <= TARGET_MEDIAN_MS and row["p95_ms"] <= TARGET_P95_MS
        row["meets_targets"] = None if name == BASELINE else fast
        rows.append(row)
    course = [r for r in rows if r["explorer"] != BASELINE]
    base = next((r for r in rows if r["explorer"] == BASELINE), None)
    for r in rows:  # the load of a shared machine cancels out of this ratio
        r["cpu_median_over_baseline"] = r["cpu_median_ms"] / base["cpu_median_ms"] if base else None
    met = bool(course) and not errors and all(r["meets_targets"] for r in course)

    print(f"{len(course)} explorers, slider move -> PNG on an Agg canvas, {args.rounds} rounds "
          f"(matplotlib {matplotlib.__version__}, torch {torch.__version__}, 1 thread, "
          f"{elapsed:.0f} s)")  # fmt: skip
    width = max([len("explorer")] + [len(r["explorer"]) for r in rows])
    header = (
        f"{'explorer':<{width}} {'build':>7} {'moves':>5} {'median':>9} {'p95':>9} {'max':>9}"
        f" {'cpu med':>9} {'/base':>6} {'ok':>3}"
    )
    print(header)
    print("-" * len(header))
    ok = {True: "yes", False: "NO", None: "-"}
    for r in rows:
        print(
            f"{r['explorer']:<{width}} {r['build_s']:>6.1f}s {r['samples']:>5} {r['median_ms']:>6.0f} ms"
            f" {r['p95_ms']:>6.0f} ms {r['max_ms']:>6.0f} ms {r['cpu_median_ms']:>6.0f} ms"
            f" {r['cpu_median_over_baseline'] or float('nan'):>5.1f}x"
            f" {ok[r['meets_targets']]:>3}{' (truncated)' if r['truncated'] else ''}"
        )
    for name, message in errors.items():
        print(f"ERROR {name}: {message.splitlines()[0]}")
    print(f"targets: median <= {TARGET_MEDIAN_MS:g} ms and p95 <= {TARGET_P95_MS:g} ms for every "
          f"explorer -> {'met' if met else 'NOT met'}")  # fmt: skip
    result = {
        "benchmark": "widgets",
        "rounds": args.rounds,
        "steps": args.steps,
        "elapsed_s": elapsed,
        "torch": torch.__version__,
        "matplotlib": matplotlib.__version__,
        "python": platform.python_version(),
        "targets": {"median_ms": TARGET_MEDIAN_MS, "p95_ms": TARGET_P95_MS},
        "targets_met": met,
        "rows": rows,
        "errors": errors,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
