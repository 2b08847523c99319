"""How long does the whole course take to render, and how much memory does each chapter need?

Every chapter (``notebooks/[0-9][0-9]_*.ipynb``) is run top to bottom at its default parameters
the way ``make render`` runs it (``gdlessons.render.execute``: papermill, a fresh kernel per
chapter, the rendering environment), one after the other, into a temporary folder: the stored
chapters are never touched. Per chapter:

* wall time, from launching the kernel to its shutdown, and how much of it the cells took
  (papermill's per-cell durations; the rest is kernel start-up and shutdown);
* CPU time of the kernel and everything it started (``RUSAGE_CHILDREN`` of this process, which
  papermill's kernel and its children are counted in once they exit), plus this process's own;
* peak memory: every ~0.2 s, a thread finds every descendant process of this one (the kernel
  and anything it started) and sums their proportional set size (``Pss`` in
  ``/proc/<pid>/smaps_rollup``: shared pages divided among the processes sharing them, so
  nothing is counted twice), with the anonymous part (``Pss_Anon``, the chapter's own data) and
  the resident set (``Rss``, an upper bound) beside it. A spike shorter than the interval can be
  missed; each process's ``VmHWM`` (peak resident set) is kept as a check that none was.

Targets: every chapter in <= 12 s and the whole course in <= 100 s on a quiet machine; every
chapter's peak <= 1 GiB PSS.

    .venv/bin/python benchmarks/course.py                       # the whole course, ~1-2 minutes
    .venv/bin/python benchmarks/course.py notebooks/00_*.ipynb  # some chapters (quick look)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

from report import LoadWatch, save

ROOT = Path(__file__).resolve().parents[1]
TARGET_TOTAL_S = 100.0
TARGET_CHAPTER_S = 12.0
TARGET_PEAK_PSS_MIB = 1024.0
EVERY_S = 0.2  # a sample costs a few ms of CPU (a /proc scan, one smaps_rollup per process)


def load_render():
    """``gdlessons/render.py``, loaded from its file. Importing it as ``gdlessons.render`` would
    run ``gdlessons/__init__.py``, which imports torch: this process would then map torch's
    libraries too, and every kernel's share of those pages (its PSS) would look smaller."""
    spec = importlib.util.spec_from_file_location(
        "_gdlessons_render", ROOT / "gdlessons" / "render.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chapters() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def descendants(pid: int) -> list[int]:
    """Every living descendant of process ``pid`` (children, their children, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # it exited meanwhile
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])  # after "pid (comm) state"
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def memory_kib(pid: int) -> dict[str, int] | None:
    """Pss, Pss_Anon and Rss (from smaps_rollup) and VmHWM (from status) of ``pid`` in KiB;
    None if it has exited.

    >>> m = memory_kib(os.getpid()); 0 < m["Pss"] <= m["Rss"] <= m["VmHWM"]
    True
    """
    wanted = {"Pss", "Pss_Anon", "Rss", "VmHWM"}
    found: dict[str, int] = {}
    try:
        for name in ("smaps_rollup", "status"):
            with open(f"/proc/{pid}/{name}") as f:
                for line in f:
                    key, _, rest = line.partition(":")
                    if key in wanted and key not in found:
                        found[key] = int(rest.split()[0])
    except (OSError, ValueError):
        return None
    return found if "Pss" in found else None


class MemorySampler:
    """Sums the memory of every descendant of ``pid`` every ``every`` seconds, in a thread, and
    keeps the peak of the sum; and each process's largest VmHWM."""

    def __init__(self, pid: int | None = None, every: float = EVERY_S):
        self.pid = os.getpid() if pid is None else pid
        self.every = every
        self.samples = 0
        self.peak = {"Pss": 0, "Pss_Anon": 0, "Rss": 0}
        self.peak_processes = 0
        self.hwm: dict[int, tuple[str, int]] = {}  # pid -> (name, largest VmHWM seen)
        self.cpu_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        total = dict.fromkeys(self.peak, 0)
        alive = 0
        for pid in descendants(self.pid):
            m = memory_kib(pid)
            if m is None:
                continue
            alive += 1
            for key in total:
                total[key] += m.get(key, 0)
            name, hwm = self.hwm.get(pid, (_name(pid), 0))
            self.hwm[pid] = (name, max(hwm, m.get("VmHWM", 0)))
        self.samples += 1
        if total["Pss"] > self.peak["Pss"]:
            self.peak_processes = alive
        for key in total:
            self.peak[key] = max(self.peak[key], total[key])

    def _run(self) -> None:
        start = time.thread_time()
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)
        self.cpu_s = time.thread_time() - start

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in args if a]
    return " ".join(Path(words[0]).name if i == 0 else w for i, w in enumerate(words[:4]))


def cell_times(path: Path) -> tuple[float, dict]:
    """Seconds spent in cells (papermill's per-cell durations) and the slowest cell."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    total, slowest = 0.0, {"seconds": 0.0, "index": None, "first_line": ""}
    for i, cell in enumerate(nb["cells"]):
        duration = cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0
        total += duration
        if duration > slowest["seconds"]:
            source = "".join(cell["source"]).strip().splitlines()
            slowest = {
                "seconds": duration,
                "index": i,
                "first_line": source[0][:70] if source else "",
            }
    return total, slowest


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_chapter(notebook: Path, folder: Path) -> dict:
    out = folder / notebook.name
    kids, own = children_cpu(), own_cpu()
    error = None
    with MemorySampler() as memory:
        start = time.perf_counter()
        try:
            # cwd as make render: the chapter's own folder (a chapter writes nothing there)
            load_render().execute(notebook, out, cwd=notebook.parent)
        except Exception as exc:  # noqa: BLE001 - report the chapter, run the others
            error = f"{type(exc).__name__}: {str(exc).strip()[:500]}"
        wall = time.perf_counter() - start
    kernel_cpu, client_cpu = children_cpu() - kids, own_cpu() - own - memory.cpu_s
    cells, slowest = cell_times(out) if out.exists() else (0.0, None)
    mib = 1 / 1024
    return {
        "chapter": notebook.stem,
        "error": error,
        "wall_s": wall,
        "cells_s": cells,
        "startup_and_shutdown_s": wall - cells,
        "cpu_s": kernel_cpu + client_cpu,
        "kernel_cpu_s": kernel_cpu,
        "client_cpu_s": client_cpu,
        "slowest_cell": slowest,
        "peak_pss_mib": memory.peak["Pss"] * mib,
        "peak_pss_anon_mib": memory.peak["Pss_Anon"] * mib,
        "peak_rss_mib": memory.peak["Rss"] * mib,
        "processes_at_peak": memory.peak_processes,
        "vm_hwm_mib": {f"{pid} {name}": hwm * mib for pid, (name, hwm) in memory.hwm.items()},
        "memory_samples": memory.samples,
        "sampler_cpu_s": memory.cpu_s,
        "pss_within_target": memory.peak["Pss"] * mib <= TARGET_PEAK_PSS_MIB,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter")
    args = parser.parse_args(argv)
    notebooks = [p.resolve() for p in args.notebooks] or chapters()

    rows = []
    started = time.perf_counter()
    with LoadWatch() as load, tempfile.TemporaryDirectory(prefix="gdlessons-course-") as tmp:
        for nb in notebooks:
            row = run_chapter(nb, Path(tmp))
            rows.append(row)
            status = "FAILED " + row["error"].splitlines()[0] if row["error"] else ""
            print(f"{row['chapter']:<36} {row['wall_s']:6.1f} s wall {row['cpu_s']:6.1f} s CPU "
                  f"{row['peak_pss_mib']:6.0f} MiB PSS {status}", flush=True)  # fmt: skip
    elapsed = time.perf_counter() - started
    ok = [r for r in rows if r["error"] is None]
    totals = {
        "chapters": len(rows),
        "failed": len(rows) - len(ok),
        "wall_s": sum(r["wall_s"] for r in rows),
        "cells_s": sum(r["cells_s"] for r in rows),
        "cpu_s": sum(r["cpu_s"] for r in rows),
        "whole_course": not args.notebooks,
    }
    totals["meets_target"] = (
        totals["wall_s"] <= TARGET_TOTAL_S and all(r["wall_s"] <= TARGET_CHAPTER_S for r in ok)
        if totals["whole_course"] and not totals["failed"]
        else None
    )
    met = bool(totals["meets_target"]) and all(r["pss_within_target"] for r in ok)
    print(f"total {totals['wall_s']:.1f} s wall ({totals['cells_s']:.1f} s in cells), "
          f"{totals['cpu_s']:.1f} s CPU, {totals['failed']} failed, load {load.summary()['mean']}")  # fmt: skip
    print(f"targets: every chapter <= {TARGET_CHAPTER_S:g} s, whole course <= {TARGET_TOTAL_S:g} s, "
          f"every chapter <= {TARGET_PEAK_PSS_MIB:g} MiB PSS -> {'met' if met else 'NOT met'}")  # fmt: skip
    result = {
        "elapsed_s": round(elapsed, 1),
        "sample_every_s": EVERY_S,
        # True would mean torch's pages were shared with this process: PSS figures too low
        "benchmark_process_has_torch": "torch" in sys.modules,
        "targets": {
            "total_s": TARGET_TOTAL_S,
            "chapter_s": TARGET_CHAPTER_S,
            "peak_pss_mib": TARGET_PEAK_PSS_MIB,
        },
        "targets_met": met,
        "totals": totals,
        "chapters": rows,
    }
    if totals["whole_course"]:  # a partial run is a quick look, not the recorded figure
        save("course", result, load)
    return result


if __name__ == "__main__":
    main()
