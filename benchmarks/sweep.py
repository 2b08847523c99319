"""How much faster is one ``sweep()`` of K = 16 configurations than 16 ``train()`` runs?

On the tutorial MLP and data, 16 configurations (8 learning rates x momentum 0 / 0.9) are
trained at batch sizes 1, 32 and 1000, once as one ``gdlessons.sweep.sweep`` call and once as 16
sequential ``gdlessons.training.train`` calls (models built outside the timing, the same
batches, the same updates). The two are interleaved round by round (the order alternates) and
the median per-round ratio is reported, so a busy machine slows both alike. Wall time and this
thread's CPU time are both recorded; the ratio uses wall time. The largest parameter difference
between the two ways is printed too: the speed is not bought with a different computation.
Targets: >= 8x at batch size 1 and >= 4x at batch size 32 (none at 1000, where arithmetic, not
per-operation overhead, dominates and batching the configurations cannot save much).

    .venv/bin/python benchmarks/sweep.py             # 1-3 minutes, depending on the machine's load
    .venv/bin/python benchmarks/sweep.py --rounds 1  # quick look
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from gdlessons.data import quadratic_data
from gdlessons.models import tutorial_mlp
from gdlessons.sweep import grid, sweep
from gdlessons.training import train

K = 16
CONFIGS = grid(
    lr=[1e-4 * 1.4**i for i in range(8)], momentum=[0.0, 0.9]
)  # up to ~1e-3: no divergence
EPOCHS = {1: 1, 32: 5, 1000: 30}  # 1000, 160 and 30 iterations per configuration
TARGETS = {1: 8.0, 32: 4.0}
RESULTS = Path(__file__).parent / "results" / "sweep.json"


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.thread_time()


def run_sequential(data, batch_size: int) -> tuple[list[torch.nn.Module], float, float, bool]:
    models = [tutorial_mlp(seed=0) for _ in CONFIGS]
    wall, cpu = clocks()
    diverged = False
    for model, config in zip(models, CONFIGS, strict=True):
        h = train(
            model, data, batch_size=batch_size, epochs=EPOCHS[batch_size], progress=False, **config
        )
        diverged |= h.diverged
    wall2, cpu2 = clocks()
    return models, wall2 - wall, cpu2 - cpu, diverged


def run_sweep(data, batch_size: int) -> tuple[list[torch.nn.Module], float, float, bool]:
    models = [tutorial_mlp(seed=0) for _ in CONFIGS]
    wall, cpu = clocks()
    hs = sweep(models, data, CONFIGS, batch_size=batch_size, epochs=EPOCHS[batch_size])
    wall2, cpu2 = clocks()
    return models, wall2 - wall, cpu2 - cpu, any(h.diverged for h in hs)


def max_param_diff(a: list[torch.nn.Module], b: list[torch.nn.Module]) -> float:
    return max(
        (p - q).abs().max().item()
        for ma, mb in zip(a, b, strict=True)
        for p, q in zip(ma.parameters(), mb.parameters(), strict=True)
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repeats (median taken)")
    args = parser.parse_args(argv)
    assert len(CONFIGS) == K

    torch.set_num_threads(1)
    data = quadratic_data()
    sweep(tutorial_mlp(), data, CONFIGS[:2], batch_size=32)  # warm up both code paths
    train(tutorial_mlp(), data, batch_size=32, progress=False)
    started = time.perf_counter()
    rows = []
    for B in EPOCHS:
        seq_wall, seq_cpu, sw_wall, sw_cpu, ratios, diffs = [], [], [], [], [], []
        diverged = False
        for r in range(args.rounds):
            runs = [run_sequential, run_sweep] if r % 2 == 0 else [run_sweep, run_sequential]
            out = {fn: fn(data, B) for fn in runs}
            (m_seq, w_seq, c_seq, d_seq), (m_sw, w_sw, c_sw, d_sw) = (
                out[run_sequential],
                out[run_sweep],
            )
            seq_wall.append(w_seq)
            seq_cpu.append(c_seq)
            sw_wall.append(w_sw)
            sw_cpu.append(c_sw)
            ratios.append(w_seq / w_sw)
            diffs.append(max_param_diff(m_seq, m_sw))
            diverged |= d_seq or d_sw
        rows.append(
            {
                "batch_size": B,
                "epochs": EPOCHS[B],
                "iterations_per_config": EPOCHS[B] * -(-len(data) // B),
                "sequential_wall_s": statistics.median(seq_wall),
                "sweep_wall_s": statistics.median(sw_wall),
                "sequential_cpu_s": statistics.median(seq_cpu),
                "sweep_cpu_s": statistics.median(sw_cpu),
                "speedup_wall": statistics.median(ratios),
                "speedup_cpu": statistics.median(seq_cpu) / statistics.median(sw_cpu),
                "speedups_per_round": ratios,
                "target": TARGETS.get(B),
                "max_param_diff": max(diffs),
                "diverged": diverged,
            }
        )
    elapsed = time.perf_counter() - started
    met = all(r["speedup_wall"] >= r["target"] for r in rows if r["target"] is not None)

    print(f"K={K} configurations of the tutorial MLP: 16 sequential train() vs one sweep(), "
          f"median of {args.rounds} interleaved rounds (torch {torch.__version__}, 1 thread, "
          f"{elapsed:.0f} s)")  # fmt: skip
    header = (
        f"{'batch':>6} {'its/config':>10} {'16 x train':>11} {'sweep':>9} {'speed-up':>9}"
        f" {'(cpu)':>7} {'target':>7} {'max |Δparam|':>13}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        target = f">= {r['target']:g}x" if r["target"] else "-"
        print(
            f"{r['batch_size']:>6} {r['iterations_per_config']:>10} {r['sequential_wall_s']:>9.2f} s"
            f" {r['sweep_wall_s']:>7.2f} s {r['speedup_wall']:>8.1f}x {r['speedup_cpu']:>6.1f}x"
            f" {target:>7} {r['max_param_diff']:>13.1e}"
        )
    print(f"targets: >= 8x at batch 1, >= 4x at batch 32 -> {'met' if met else 'NOT met'}")
    result = {
        "benchmark": "sweep",
        "K": K,
        "configs": CONFIGS,
        "rounds": args.rounds,
        "elapsed_s": elapsed,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "targets": {str(b): t for b, t in TARGETS.items()},
        "targets_met": met,
        "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
