"""How every benchmark records its figures, and the README tables generated from them.

Each benchmark saves one ``results/<name>.json`` through :func:`save`, with the machine's load
recorded while it ran (:class:`LoadWatch`), then the tables of ``README.md`` between
``<!-- begin generated: ... -->`` and ``<!-- end generated: ... -->`` are regenerated from every
results file, so a figure in the README is always one a recorded run produced.

    .venv/bin/python benchmarks/report.py   # regenerate the README's tables from results/*.json
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import statistics
import sys
import threading
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"
README = HERE / "README.md"
BENCHMARKS = ("loop", "sweep", "widgets", "lab", "course", "site")


# --- measuring --------------------------------------------------------------------------------


def percentile(values, q: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy.

    >>> percentile([1, 2, 3, 4, 5], 50), percentile([0, 10], 95)
    (3.0, 9.5)
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def spread(values) -> dict:
    """Median, minimum, maximum and count of ``values``: the "median (range)" of a figure.

    >>> spread([3, 1, 2])
    {'median': 2, 'min': 1, 'max': 3, 'n': 3}
    """
    values = list(values)
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}  # fmt: skip


class LoadWatch:
    """The machine's 1-minute load average, sampled every ``every`` seconds while a benchmark
    runs (a daemon thread reading ``os.getloadavg()``, nothing heavier).

    >>> with LoadWatch(every=0.01) as watch:
    ...     pass
    >>> sorted(watch.summary())
    ['cpus', 'end', 'max', 'mean', 'start', 'uptime_end', 'uptime_start']
    """

    def __init__(self, every: float = 5.0):
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadWatch:
        self.start = os.getloadavg()
        self.samples.append(self.start[0])
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.end = os.getloadavg()
        self.samples.append(self.end[0])

    def summary(self) -> dict:
        return {
            "start": [round(v, 2) for v in self.start],
            "end": [round(v, 2) for v in self.end],
            "mean": round(statistics.fmean(self.samples), 2),
            "max": round(max(self.samples), 2),
            "uptime_start": _uptime(self.start),
            "uptime_end": _uptime(self.end),
            "cpus": os.cpu_count(),
        }


def _uptime(load: tuple[float, float, float]) -> str:
    return "load average: " + ", ".join(f"{v:.2f}" for v in load)


def environment() -> dict:
    """Versions and machine, recorded with every result."""
    versions = {"python": platform.python_version()}
    for name in ("torch", "matplotlib", "ipywidgets", "papermill"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = module.__version__
    return {**versions, "machine": platform.machine(), "cpus": os.cpu_count()}


def save(name: str, result: dict, load: LoadWatch) -> Path:
    """Write ``results/<name>.json`` (with the load and versions) and regenerate the README."""
    result = {
        "benchmark": name,
        "recorded": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load": load.summary(),
        "environment": environment(),
        **result,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    update_readme()
    return path


# --- the README's tables ----------------------------------------------------------------------


def load_results(folder: Path | None = None) -> dict[str, dict]:
    folder = folder or RESULTS
    results = {}
    for name in BENCHMARKS:
        path = folder / f"{name}.json"
        if path.exists():
            result = json.loads(path.read_text())
            if "load" in result:  # results recorded before the load was, are left out
                results[name] = result
    return results


def _table(header: list[str], rows: list[list[str]], align: str) -> str:
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [header, rule, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def _run_line(r: dict) -> str:
    load = r["load"]
    env = r["environment"]
    versions = ", ".join(f"{k} {env[k]}" for k in ("torch", "matplotlib", "python") if k in env)
    return (
        f"Recorded {r['recorded']} in {r['elapsed_s']:.0f} s; load average (1 min) "
        f"{load['start'][0]:.1f} at the start, {load['end'][0]:.1f} at the end, mean "
        f"{load['mean']:.1f}, on {load['cpus']} CPUs; {versions}."
    )


def _yes(met) -> str:
    return {True: "yes", False: "**no**", None: "–"}[met]


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _range(s: dict, fmt: str) -> str:
    return f"{format(s['min'], fmt)}–{format(s['max'], fmt)}"


def targets_rows(results: dict[str, dict]) -> list[list[str]]:
    """One row per target: the target, the measured median and range, whether it is met."""
    rows = []
    if "loop" in results:
        r = results["loop"]
        for row in r["rows"]:
            s = row["train_over_bare"]
            rows.append([f"loop: train() / shuffled bare loop, batch {row['batch_size']}",
                         f"≤ {r['targets']['train_over_bare_max']:.2f}",
                         f"{s['median']:.3f}", _range(s, ".3f"), _yes(row["train_within_target"]),
                         f"{r['load']['mean']:.1f}"])  # fmt: skip
        row = next(x for x in r["rows"] if x["batch_size"] == 1000)
        s = row["dataloader_over_train"]
        rows.append(["loop: DataLoader / train(), batch 1000, collection pauses in",
                     f"≥ {r['targets']['dataloader_over_train_min_at_1000']:g}",
                     f"{s['median']:.1f}", _range(s, ".1f"), _yes(row["dataloader_within_target"]),
                     f"{r['load']['mean']:.1f}"])  # fmt: skip
    if "sweep" in results:
        r = results["sweep"]
        for row in r["rows"]:
            s = row["speedup"]
            rows.append([f"sweep: 16 × train() / sweep(), batch {row['batch_size']}",
                         f"≥ {row['target']:g}×", f"{s['median']:.1f}×", _range(s, ".1f"),
                         _yes(row["meets_target"]), f"{r['load']['mean']:.1f}"])  # fmt: skip
    if "widgets" in results:
        r = results["widgets"]
        course = [x for x in r["rows"] if x["meets_targets"] is not None]
        if course:
            medians = spread(x["median_ms"] for x in course)
            p95s = spread(x["p95_ms"] for x in course)
            slow_median = max(course, key=lambda x: x["median_ms"])
            slow_p95 = max(course, key=lambda x: x["p95_ms"])
            rows.append([f"widgets: slowest full move, median ({slow_median['explorer']})",
                         f"≤ {r['targets']['median_ms']:g} ms", f"{medians['max']:.0f} ms",
                         f"{medians['min']:.0f}–{medians['max']:.0f} ms over explorers",
                         _yes(medians["max"] <= r["targets"]["median_ms"]),
                         f"{r['load']['mean']:.1f}"])  # fmt: skip
            rows.append([f"widgets: slowest full move, p95 ({slow_p95['explorer']})",
                         f"≤ {r['targets']['p95_ms']:g} ms", f"{p95s['max']:.0f} ms",
                         f"{p95s['min']:.0f}–{p95s['max']:.0f} ms over explorers",
                         _yes(p95s["max"] <= r["targets"]["p95_ms"]),
                         f"{r['load']['mean']:.1f}"])  # fmt: skip
    if "lab" in results:
        r = results["lab"]
        drawn = [x for x in r["rows"] if x["picture"]]
        medians = spread(x["picture"]["median_ms"] for x in drawn)
        slow = max(drawn, key=lambda x: x["picture"]["median_ms"])
        rows.append([f"lab: key press → picture decoded in JupyterLab, slowest median ({slow['explorer']})",
                     f"≤ {r['targets']['picture_median_ms']:g} ms", f"{medians['max']:.0f} ms",
                     f"{medians['min']:.0f}–{medians['max']:.0f} ms over explorers",
                     _yes(r["targets_met"]), f"{r['load']['mean']:.1f}"])  # fmt: skip
    if "course" in results:
        r = results["course"]
        t = r["totals"]
        ok = [c for c in r["chapters"] if c["error"] is None]
        if ok:
            each = (
                f", each ≤ {r['targets']['chapter_s']:g} s" if "chapter_s" in r["targets"] else ""
            )
            rows.append(["course: whole course rendered (wall time)",
                         f"≤ {r['targets']['total_s']:g} s{each}", f"{t['wall_s']:.0f} s",
                         f"{min(c['wall_s'] for c in ok):.0f}–{max(c['wall_s'] for c in ok):.0f} s "
                         f"per chapter; CPU {t['cpu_s']:.0f} s",
                         _yes(t["meets_target"]), f"{r['load']['mean']:.1f}"])  # fmt: skip
            peak = max(ok, key=lambda c: c["peak_pss_mib"])
            rows.append([f"course: largest chapter peak PSS ({peak['chapter']})",
                         f"≤ {r['targets']['peak_pss_mib']:g} MiB",
                         f"{peak['peak_pss_mib']:.0f} MiB",
                         f"{min(c['peak_pss_mib'] for c in ok):.0f}–"
                         f"{peak['peak_pss_mib']:.0f} MiB over chapters",
                         _yes(all(c["pss_within_target"] for c in ok)),
                         f"{r['load']['mean']:.1f}"])  # fmt: skip
    if "site" in results:
        r = results["site"]
        t = r["totals"]
        rows.append(["site: every explorer's frames drawn (sum)",
                     f"≤ {r['targets']['frames_s']:g} s", f"{t['frames_s']:.0f} s",
                     f"site built in {t['build_s']:.0f} s, chapters run in {t['execute_s']:.0f} s",
                     _yes(t["frames_s"] <= r["targets"]["frames_s"]), f"{r['load']['mean']:.1f}"])  # fmt: skip
        rows.append(["site: frames of the largest chapter page",
                     "≤ 20 MB", f"{t['largest_chapter_mb']:.1f} MB",
                     f"{min(x['frames_mb'] for x in r['rows']):.1f}–{t['largest_chapter_mb']:.1f} MB",
                     _yes(t["largest_chapter_mb"] <= 20), f"{r['load']['mean']:.1f}"])  # fmt: skip
        link = r["targets"]["link"]
        for key, label in (("first_load_mb", "first load (page read through), heaviest chapter"),
                           ("all_moved_mb", "every control moved through its range, heaviest chapter")):  # fmt: skip
            rows.append([f"site: {label}", f"≤ {r['targets'][key]:g} MB", f"{t[key]:.2f} MB",
                         f"{min(x[key] for x in r['rows']):.2f}–{t[key]:.2f} MB over chapters",
                         _yes(t[key] <= r["targets"][key]), f"{r['load']['mean']:.1f}"])  # fmt: skip
        rows.append([f"site: first move to its picture, slowest explorer ({link})",
                     f"≤ {r['targets']['first_move_ms']:g} ms", f"{t['first_move_ms']:.0f} ms",
                     f"median {t['first_move_median_ms']:.0f} ms over explorers",
                     _yes(t["first_move_ms"] <= r["targets"]["first_move_ms"]),
                     f"{r['load']['mean']:.1f}"])  # fmt: skip
        rows.append([f"site: later moves to their picture, p95 ({link})",
                     f"≤ {r['targets']['move_p95_ms']:g} ms", f"{t['move_p95_ms']:.1f} ms",
                     f"median {t['move_median_ms']:.1f} ms over {t['moves']} moves",
                     _yes(t["move_p95_ms"] <= r["targets"]["move_p95_ms"]),
                     f"{r['load']['mean']:.1f}"])  # fmt: skip
    return rows


def site_table(r: dict) -> str:
    rows = []
    for row in r["rows"]:
        for i, e in enumerate(row["explorers"]):
            grid = " × ".join(f"{k} {n}" for k, n in e["controls"].items())
            subset = f"subset of {e['full_grid']}" if e["subset"] else "every state"
            later = row["later_moves"]
            first = i == 0
            rows.append([row["chapter"] if first else "", grid, f"{e['states']} ({subset})",
                         str(e["pictures"]), f"{e['seconds']:.1f} s",
                         f"{row['frames_mb']:.1f} MB" if first else "",
                         f"{row['first_load_mb']:.2f} / {row['all_moved_mb']:.2f} MB" if first else "",
                         f"{row['first_move_ms']:.0f} ms" if first and row["first_move_ms"] else "",
                         f"{later['median']:.1f} / {row['later_p95_ms']:.1f} ms"
                         if later and first else ""])  # fmt: skip
    header = ["chapter", "values drawn per control", "states", "distinct pictures", "drawn in",
              "frames", "first load / all moved", "first move", "later moves median / p95"]  # fmt: skip
    return _table(header, rows, "llrrrrrrr") + "\n\n" + _run_line(r)


def targets_table(results: dict[str, dict]) -> str:
    rows = targets_rows(results)
    if not rows:
        return "(no results recorded yet)"
    return _table(["target", "goal", "measured", "range", "met", "load"], rows, "llrlll")


def loop_table(r: dict) -> str:
    rows = []
    for row in r["rows"]:
        us = row["per_iteration_us"]
        gc2 = row["gen2_per_1000_iterations"]
        rows.append([str(row["batch_size"]),
                     f"{us['dataloader']:.1f} µs", f"{us['train']:.1f} µs", f"{us['bare']:.1f} µs",
                     f"{row['train_over_bare']['median']:.3f} ({_range(row['train_over_bare'], '.3f')})",
                     f"{row['dataloader_over_train']['median']:.2f} ({_range(row['dataloader_over_train'], '.2f')})",
                     f"{gc2['dataloader']:.1f} / {gc2['train']:.1f} / {gc2['bare']:.1f}",
                     f"{row['dataloader_gc_share']:.0%}"])  # fmt: skip
    header = ["batch", "(a) DataLoader", "(b) train", "(c) bare", "(b)/(c)", "(a)/(b)",
              "full collections / 1000 its (a / b / c)", "(a) time in collections"]  # fmt: skip
    return _table(header, rows, "rrrrrrrr") + "\n\n" + _run_line(r)


def sweep_table(r: dict) -> str:
    rows = []
    for row in r["rows"]:
        a = row["agreement"]
        st, un = a["stable"], a["unstable"]
        stable = f"{st['max_rel_diff']:.1e} ({st['n']} configs)" if st["n"] else "–"
        unstable = f"{un['n']} configs: {un['diverged_alike']} diverged at the same iteration"
        if un["diverged_differently"]:
            unstable += f", **{un['diverged_differently']} at different ones**"
        if un["n_finite"]:
            unstable += f"; {un['n_finite']} finite, max rel. Δ {un['max_rel_diff']:.1e}"
        rows.append([str(row["batch_size"]), str(row["iterations_per_config"]),
                     f"{row['sequential_wall_s']:.2f} s", f"{row['sweep_wall_s']:.2f} s",
                     f"{row['speedup']['median']:.1f}× ({_range(row['speedup'], '.1f')})",
                     f"≥ {row['target']:g}×", stable, unstable])  # fmt: skip
    header = ["batch", "its / config", "16 × train", "sweep", "speed-up", "target",
              "stable: max rel. Δ final loss", "unstable"]  # fmt: skip
    return _table(header, rows, "rrrrrrll") + "\n\n" + _run_line(r)


def widgets_table(r: dict) -> str:
    rows = []
    for row in r["rows"]:
        p95 = f"{row['p95_ms']:.0f} ms" + ("" if row["samples"] >= 30 else " (n < 30)")
        moves = str(row["samples"])
        if row.get("unchanged_moves"):
            moves += f" ({row['unchanged_moves']} unchanged)"
        rows.append([row["explorer"], f"{row['build_s']:.1f} s", moves,
                     f"{row['median_ms']:.0f} ms", p95, f"{row['max_ms']:.0f} ms",
                     f"{row['cpu_median_ms']:.0f} ms", f"{row['cpu_p95_ms']:.0f} ms",
                     _ratio(row.get("cpu_median_over_baseline")), _yes(row["meets_targets"])])  # fmt: skip
    header = ["explorer", "build", "moves", "median", "p95", "max", "CPU median", "CPU p95",
              "CPU median / baseline's", "met"]  # fmt: skip
    text = _table(header, rows, "lrrrrrrrrl")
    for name, message in r.get("errors", {}).items():
        text += f"\n\n**{name}** failed: `{message.splitlines()[0]}`"
    return text + "\n\n" + _run_line(r)


def lab_table(r: dict) -> str:
    def ms(stats: dict | None, key: str) -> str:
        return f"{stats[key]:.0f} ms" if stats else "–"

    rows = [[row["explorer"], f"{row['slider']['label']} ({row['slider']['values']})", str(row["moves"]),
             ms(row["picture"], "median_ms"), ms(row["picture"], "p95_ms"), ms(row["picture"], "max_ms"),
             f"{row['decode_median_ms']:.0f} ms", ms(row["readout"], "median_ms"),
             _yes(row["meets_target"])] for row in r["rows"]]  # fmt: skip
    header = ["explorer", "slider (values)", "presses", "key → picture, median", "p95", "max",
              "of it decoding", "key → readout, median", "met"]  # fmt: skip
    text = _table(header, rows, "llrrrrrrl")
    for name, message in r.get("errors", {}).items():
        text += f"\n\n**{name}** failed: `{message.splitlines()[0]}`"
    return text + "\n\n" + _run_line(r)


def course_table(r: dict) -> str:
    rows = []
    for c in r["chapters"]:
        if c["error"] is not None:
            rows.append([c["chapter"], "failed", "", "", "", "", "", c["error"].splitlines()[0]])
            continue
        rows.append([c["chapter"], f"{c['wall_s']:.1f} s", f"{c['cpu_s']:.1f} s",
                     f"{c['cells_s']:.1f} s", f"{c['peak_pss_mib']:.0f} MiB",
                     f"{c['peak_pss_anon_mib']:.0f} MiB", f"{c['peak_rss_mib']:.0f} MiB",
                     f"{c['slowest_cell']['seconds']:.1f} s: `{c['slowest_cell']['first_line']}`"])  # fmt: skip
    t = r["totals"]
    rows.append(["**total**", f"**{t['wall_s']:.1f} s**", f"{t['cpu_s']:.1f} s",
                 f"{t['cells_s']:.1f} s", "", "", "", ""])  # fmt: skip
    header = ["chapter", "wall", "CPU", "in cells", "peak PSS", "of it anonymous", "peak RSS",
              "slowest cell"]  # fmt: skip
    return _table(header, rows, "lrrrrrrl") + "\n\n" + _run_line(r)


TABLES = {"loop": loop_table, "sweep": sweep_table, "widgets": widgets_table, "lab": lab_table,
          "course": course_table, "site": site_table}  # fmt: skip


def generated_blocks(results: dict[str, dict]) -> dict[str, str]:
    blocks = {"targets": targets_table(results)}
    for name, table in TABLES.items():
        blocks[name] = table(results[name]) if name in results else "(not run yet)"
    return blocks


def fill(text: str, blocks: dict[str, str]) -> str:
    """Replace what lies between each pair of markers with its block.

    >>> fill("a\\n<!-- begin generated: x -->\\nold\\n<!-- end generated: x -->\\nb", {"x": "new"})
    'a\\n<!-- begin generated: x -->\\nnew\\n<!-- end generated: x -->\\nb'
    """
    for name, block in blocks.items():
        pattern = re.compile(
            rf"(<!-- begin generated: {name} -->)\n(?:.*?\n)?(<!-- end generated: {name} -->)",
            re.S,
        )
        text = pattern.sub(lambda m, block=block: f"{m[1]}\n{block}\n{m[2]}", text)
    return text


def update_readme(readme: Path | None = None, folder: Path | None = None) -> str:
    readme, folder = readme or README, folder or RESULTS
    text = fill(readme.read_text(encoding="utf-8"), generated_blocks(load_results(folder)))
    readme.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    update_readme()
    for name, r in load_results().items():
        print(
            f"README tables of {name}: the run recorded {r['recorded']} (load {r['load']['mean']})"
        )
