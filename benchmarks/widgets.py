"""How long does every explorer of the course take to answer a slider move, end to end in the
kernel: from the new value arriving in the widget to the new image and readout in the widget?

For every explorer factory found by ``gdlessons.chapters.all_explorers()``, the explorer is built
and its live widget made (not timed: the precomputation and first figure a chapter's cell pays
once). Then its controls are moved as a browser moves them: ``control.set_state(...)`` with the
synced value (``index`` for selection widgets), the message ipywidgets applies when the
frontend reports a change; the Explorer's own ``observe`` callback then redraws, and the move is
over when it has put the new PNG into the widget's ``Image`` and the new text into its readout
(both checked). What is left out is the browser's side: the websocket and the image decode.

Each explorer gets its own walk of ``--moves`` (40) moves: every move sets one control to
another of its values (from ``explorer.sample_states``, with more values per control when that
grid is too small), and no state is visited twice (the initial one included), so no move is
served by a cache a previous move of the walk filled. An explorer with fewer possible states
gets them all, and its p95 over fewer than 30 moves is marked. A move whose control does not
matter in that state (beta1 for RMSProp) still redraws, and is timed like the others. The explorers are interleaved move by move, so load bursts hit all alike. Median, 95th
percentile and maximum of wall time are reported per explorer, with this thread's CPU time
(less disturbed by a shared machine) and a baseline explorer (one line plot) to compare.
An explorer whose factory or move fails is reported, not fatal.
Targets: median <= 50 ms and p95 <= 100 ms for every explorer.

    .venv/bin/python benchmarks/widgets.py              # 1-2 minutes on a quiet machine
    .venv/bin/python benchmarks/widgets.py --moves 10   # quick look
    .venv/bin/python benchmarks/widgets.py --only ch03  # one chapter's explorers, not saved
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import pkgutil
import random
import statistics
import time
import traceback

import torch
from report import LoadWatch, percentile, save

TARGET_MEDIAN_MS = 50.0
TARGET_P95_MS = 100.0
MIN_SAMPLES = 30  # below this, a p95 is about the maximum
BASELINE = "(baseline: one line plot)"
BUDGET_S = 120.0  # wall time per explorer: a very slow one is sampled less, not forever


def find_explorers() -> tuple[dict, dict[str, str]]:
    """``all_explorers()``; if one chapter module fails to import (it may be mid-edit), walk the
    package module by module so the others are still measured, and report the failure."""
    from gdlessons.chapters import all_explorers

    try:
        return all_explorers(), {}
    except Exception:  # noqa: BLE001 - any import error of any chapter
        import gdlessons.chapters

        found, errors = {}, {}
        for info in pkgutil.iter_modules(gdlessons.chapters.__path__, "gdlessons.chapters."):
            try:
                module = importlib.import_module(info.name)
            except Exception as exc:  # noqa: BLE001
                errors[info.name] = f"import failed: {exc!r}"
                continue
            found.update(getattr(module, "EXPLORERS", {}))
        return found, errors


def baseline_explorer():
    """The floor: one small line plot with title and labels, through the same Explorer, widget
    and readout. Not a course explorer and not held to the targets."""
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer
    from gdlessons.display.plots import new_axes

    def draw(k: int, shift: int):
        fig, ax = new_axes()
        ax.plot(range(100), [(i + shift) % k for i in range(100)], label="line")
        ax.set(title="baseline", xlabel="iteration", ylabel="loss")
        ax.legend()
        return fig

    controls = {
        "k": w.IntSlider(value=5, min=2, max=20),
        "shift": w.IntSlider(value=0, min=0, max=10),
    }
    return Explorer(draw, controls, readout=lambda k, shift: f"period {k}, shift {shift}")


def control_values(explorer, steps: int) -> dict[str, list]:
    """Each control's values in ``explorer.sample_states(steps)``, its initial value included,
    numbers clamped to the control's range as the widget itself would clamp them."""
    values: dict[str, list] = {name: [] for name in explorer.controls}
    states = [*explorer.sample_states(steps), explorer.initial]
    for state in states:
        for name, value in state.items():
            value = _clamped(explorer.controls[name], value)
            if value not in values[name]:
                values[name].append(value)
    return values


def _clamped(control, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    lo, hi = getattr(control, "min", None), getattr(control, "max", None)
    if lo is None or hi is None:
        return value
    if hasattr(control, "base"):  # log slider: min and max are exponents
        lo, hi = control.base**lo, control.base**hi
    return min(max(value, lo), hi)


def grid_values(explorer, moves: int, steps: int) -> dict[str, list]:
    """``control_values`` with more values per control until the grid holds ``moves`` states
    besides the initial one, or every control has given all it has."""
    values = control_values(explorer, steps)
    while math.prod(map(len, values.values())) <= moves:
        more = control_values(explorer, steps * 2)
        if more == values:
            break
        values, steps = more, steps * 2
    return values


def walk(values: dict[str, list], start: dict, moves: int, seed: int = 0) -> list[dict]:
    """Up to ``moves`` states, each one control away from the one before (``start`` first), no
    state twice. The walk steps at random, but not into a state with no unvisited state left
    one move away (that would end it early); a walk that still ends early is retried, and the
    longest of a few is kept.

    >>> w = walk({"a": [1, 2, 3], "b": [0, 1]}, {"a": 1, "b": 0}, moves=10)
    >>> len(w), len({tuple(s.values()) for s in w} | {(1, 0)})
    (5, 6)
    """
    names = list(values)
    total = 1
    for name in names:
        total *= len(values[name])
    wanted = min(moves, total - 1)
    rng = random.Random(seed)
    origin = tuple(values[name].index(start[name]) for name in names)
    best: list[tuple] = []
    for _ in range(200):
        seen = {origin}
        path: list[tuple] = []
        here = origin

        def options(point, seen=seen):
            return [
                point[:d] + (i,) + point[d + 1 :]
                for d, name in enumerate(names)
                for i in range(len(values[name]))
                if i != point[d] and point[:d] + (i,) + point[d + 1 :] not in seen
            ]

        while len(path) < wanted:
            candidates = options(here)
            if not candidates:
                break
            onward = [c for c in candidates if options(c)] if len(path) + 1 < wanted else []
            here = rng.choice(onward or candidates)
            seen.add(here)
            path.append(here)
        if len(path) > len(best):
            best = path
        if len(best) == wanted:
            break
    return [{name: values[name][i] for name, i in zip(names, point)} for point in best]


def frontend_state(control, value) -> dict:
    """The state message a browser sends when ``control`` is moved to ``value``: selection
    widgets sync the option's ``index``, the others their ``value``."""
    options = getattr(control, "options", None)
    if options is not None and "index" in control.keys:
        plain = [o[1] if isinstance(o, tuple) else o for o in options]
        return {"index": plain.index(value)}
    return {"value": value}


class Mover:
    """One explorer's live widget, moved one control at a time and timed to the updated widget.

    The explorer's ``png`` is wrapped (on this instance only) to check that each move made the
    Explorer redraw, with the new state."""

    def __init__(self, explorer):
        import ipywidgets as w

        self.explorer = explorer
        self.box = explorer.widget()  # draws the initial figure
        self.image = next(c for c in self.box.children if isinstance(c, w.Image))
        self.readout = self.box.children[-1]
        self.state = explorer.state()
        self.updates = {"image": 0, "readout": 0}
        self.image.observe(lambda _: self._count("image"), names="value")
        self.readout.observe(lambda _: self._count("readout"), names="value")
        self.drawn: list[dict] = []
        png = explorer.png

        def counted_png(**state):
            self.drawn.append(state)
            return png(**state)

        explorer.png = counted_png

    def _count(self, what: str) -> None:
        self.updates[what] += 1

    def move(self, state: dict) -> dict:
        """Set the one control in which ``state`` differs from the last state moved to, as a
        browser sets it; return the move's wall and CPU seconds and what it updated."""
        changed = [name for name in state if state[name] != self.state[name]]
        if len(changed) != 1:
            raise ValueError(f"a move changes one control, this one changes {changed}")
        name = changed[0]
        control = self.explorer.controls[name]
        message = frontend_state(control, state[name])
        updates, drawn = dict(self.updates), len(self.drawn)
        wall, cpu = time.perf_counter(), time.thread_time()
        control.set_state(message)
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        if not _same(control.value, state[name]):
            raise RuntimeError(f"{name}: set_state({message}) left the value at {control.value!r}")
        if len(self.drawn) == drawn or self.drawn[-1] != self.explorer.state():
            raise RuntimeError(f"{name}={state[name]!r}: the explorer did not redraw this state")
        if bytes(self.image.value[:4]) != b"\x89PNG":
            raise RuntimeError(f"{name}={state[name]!r}: the widget's image is not a PNG")
        self.state = dict(state)
        return {
            "wall": wall,
            "cpu": cpu,
            "redraws": len(self.drawn) - drawn,
            # a control that does not matter in this state (beta1 for RMSProp) changes nothing
            "unchanged": self.updates == updates,
        }


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9)
    return a == b


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--moves", type=int, default=40, help="moves (distinct states) per explorer"
    )
    parser.add_argument("--steps", type=int, default=7, help="values per control (sample_states)")
    parser.add_argument(
        "--only",
        default="",
        help="measure only the explorers whose name starts with this (with the baseline); "
        "the results are printed, not saved",
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.pop("GDLESSONS_RENDER", None)  # the live widget, as a student gets it
    torch.set_num_threads(1)
    import matplotlib

    started = time.perf_counter()
    with LoadWatch() as load:
        factories, errors = find_explorers()
        factories = {BASELINE: baseline_explorer, **factories}
        if args.only:
            chosen = [name for name in factories if name.startswith(args.only)]
            if not chosen:
                parser.error(f"--only {args.only!r} names no explorer of {sorted(factories)}")
            factories = {name: factories[name] for name in [BASELINE, *chosen]}
        movers, walks, build_s = {}, {}, {}
        for name, factory in factories.items():
            t = time.perf_counter()
            try:
                explorer = factory()
                movers[name] = Mover(explorer)
                values = grid_values(explorer, args.moves, args.steps)
                walks[name] = walk(values, explorer.initial, args.moves, seed=len(walks))
            except Exception as exc:  # noqa: BLE001
                errors[name] = f"build failed: {exc!r}\n{traceback.format_exc(limit=3)}"
                movers.pop(name, None)
                continue
            build_s[name] = time.perf_counter() - t

        wall: dict[str, list[float]] = {name: [] for name in movers}
        cpu: dict[str, list[float]] = {name: [] for name in movers}
        spent = dict.fromkeys(movers, 0.0)
        unchanged = dict.fromkeys(movers, 0)  # moves that left image and readout as they were
        extra_redraws = dict.fromkeys(movers, 0)  # redraws beyond one per move
        truncated: set[str] = set()
        # Round robin: one move of each explorer in turn, so load bursts hit all alike.
        for j in range(max(map(len, walks.values()), default=0)):
            for name, mover in movers.items():
                if name in errors or j >= len(walks[name]):
                    continue
                if spent[name] > BUDGET_S:
                    truncated.add(name)
                    continue
                try:
                    move = mover.move(walks[name][j])
                except Exception as exc:  # noqa: BLE001
                    errors[name] = f"move to {walks[name][j]} failed: {exc!r}\n{traceback.format_exc(limit=3)}"  # fmt: skip
                    continue
                wall[name].append(move["wall"])
                cpu[name].append(move["cpu"])
                unchanged[name] += move["unchanged"]
                extra_redraws[name] += move["redraws"] - 1
                spent[name] += move["wall"]
    elapsed = time.perf_counter() - started

    rows = []
    for name in movers:
        if name in errors or not wall[name]:
            continue
        ms = [t * 1e3 for t in wall[name]]
        cpu_ms = [t * 1e3 for t in cpu[name]]
        row = {
            "explorer": name,
            "build_s": build_s[name],
            "controls": len(movers[name].explorer.controls),
            "samples": len(ms),
            "median_ms": statistics.median(ms),
            "p95_ms": percentile(ms, 95),
            "max_ms": max(ms),
            "cpu_median_ms": statistics.median(cpu_ms),
            "cpu_p95_ms": percentile(cpu_ms, 95),
            "truncated": name in truncated,
            "unchanged_moves": unchanged[name],
            "extra_redraws": extra_redraws[name],
            "wall_ms": [round(t, 1) for t in ms],
        }
        fast = row["median_ms"] <= TARGET_MEDIAN_MS and row["p95_ms"] <= TARGET_P95_MS
        row["meets_targets"] = None if name == BASELINE else fast
        rows.append(row)
    course = [r for r in rows if r["meets_targets"] is not None]
    base = next((r for r in rows if r["explorer"] == BASELINE), None)
    for r in rows:  # most of a shared machine's load cancels out of this ratio
        r["cpu_median_over_baseline"] = r["cpu_median_ms"] / base["cpu_median_ms"] if base else None
    met = bool(course) and not errors and all(r["meets_targets"] for r in course)

    print(f"{len(course)} explorers, full move (set_state -> image and readout in the widget), "
          f"up to {args.moves} distinct states each (matplotlib {matplotlib.__version__}, "
          f"torch {torch.__version__}, 1 thread, {elapsed:.0f} s, load {load.summary()['mean']})")  # fmt: skip
    width = max([len("explorer")] + [len(r["explorer"]) for r in rows])
    header = (
        f"{'explorer':<{width}} {'build':>7} {'moves':>5} {'median':>9} {'p95':>9} {'max':>9}"
        f" {'cpu med':>9} {'cpu p95':>9} {'/base':>6} {'ok':>3}"
    )
    print(header)
    print("-" * len(header))
    ok = {True: "yes", False: "NO", None: "-"}
    for r in rows:
        print(
            f"{r['explorer']:<{width}} {r['build_s']:>6.1f}s {r['samples']:>5} {r['median_ms']:>6.0f} ms"
            f" {r['p95_ms']:>6.0f} ms {r['max_ms']:>6.0f} ms {r['cpu_median_ms']:>6.0f} ms"
            f" {r['cpu_p95_ms']:>6.0f} ms {r['cpu_median_over_baseline'] or float('nan'):>5.1f}x"
            f" {ok[r['meets_targets']]:>3}"
            f"{' (n < 30)' if r['samples'] < MIN_SAMPLES else ''}"
            f"{' (truncated)' if r['truncated'] else ''}"
        )
    for name, message in errors.items():
        print(f"ERROR {name}: {message.splitlines()[0]}")
    print(f"targets: median <= {TARGET_MEDIAN_MS:g} ms and p95 <= {TARGET_P95_MS:g} ms for every "
          f"explorer -> {'met' if met else 'NOT met'}")  # fmt: skip
    result = {
        "moves": args.moves,
        "steps": args.steps,
        "elapsed_s": round(elapsed, 1),
        "targets": {"median_ms": TARGET_MEDIAN_MS, "p95_ms": TARGET_P95_MS},
        "targets_met": met,
        "rows": rows,
        "errors": errors,
    }
    if not args.only:  # a partial run does not replace the course's figures
        save("widgets", result, load)
    return result


if __name__ == "__main__":
    main()
