"""How much faster is one ``sweep()`` of K = 16 configurations than 16 ``train()`` runs, and does
it end where they end, stable and unstable configurations alike?

On the tutorial MLP and data, a grid of 16 configurations (8 learning rates from 1e-4 to 0.3,
half a decade apart, x momentum 0 / 0.9: from slow, through fast, to diverging) is trained at
batch sizes 1, 32 and 1000, once as one ``gdlessons.sweep.sweep`` call and once as 16
sequential ``gdlessons.training.train`` calls (models built outside the timing; the same
batches; the same updates). The two are interleaved round by round (the order alternates) and
each round's speed-up (wall time) is kept; the median and range over rounds are reported.

Agreement is measured on what a learner sees, the final loss on all the data of each
configuration, both ways, as the relative difference. A configuration is *stable* when its
``train()`` run did not diverge and ended below its starting loss; the others (diverged, or
ended above the start) are reported apart, since there rounding differences can grow as fast as
the run itself does: for those, whether both ways diverged at the same iteration, and the final
loss differences where both stayed finite.
Targets: speed-up >= 8x at batch size 1, >= 4x at 32, and never slower (>= 1x) at 1000.

    .venv/bin/python benchmarks/sweep.py             # ~30 s on a quiet machine
    .venv/bin/python benchmarks/sweep.py --rounds 1  # quick look
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from report import LoadWatch, save, spread

from gdlessons.data import quadratic_data
from gdlessons.metrics import evaluate
from gdlessons.models import tutorial_mlp
from gdlessons.sweep import grid, sweep
from gdlessons.training import train

LRS = [10 ** (-4 + i / 2) for i in range(8)]  # 1e-4 ... 0.32
CONFIGS = grid(lr=LRS, momentum=[0.0, 0.9])
K = len(CONFIGS)
EPOCHS = {1: 1, 32: 5, 1000: 30}  # 1000, 160 and 30 iterations per configuration
TARGETS = {1: 8.0, 32: 4.0, 1000: 1.0}


def run_sequential(data, batch_size: int) -> tuple[list, list, float, float]:
    models = [tutorial_mlp(seed=0) for _ in CONFIGS]
    wall, cpu = time.perf_counter(), time.thread_time()
    histories = [
        train(m, data, batch_size=batch_size, epochs=EPOCHS[batch_size], **c)
        for m, c in zip(models, CONFIGS, strict=True)
    ]
    return models, histories, time.perf_counter() - wall, time.thread_time() - cpu


def run_sweep(data, batch_size: int) -> tuple[list, list, float, float]:
    models = [tutorial_mlp(seed=0) for _ in CONFIGS]
    wall, cpu = time.perf_counter(), time.thread_time()
    histories = sweep(models, data, CONFIGS, batch_size=batch_size, epochs=EPOCHS[batch_size])
    return models, histories, time.perf_counter() - wall, time.thread_time() - cpu


def relative_difference(a: float, b: float) -> float:
    """|a - b| / |b|; 0 when both are equal (infinities included), inf when only one is finite.

    >>> relative_difference(1.0, 2.0), relative_difference(float("inf"), float("inf"))
    (0.5, 0.0)
    """
    if a == b:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / abs(b)


def agreement(data, start_loss: float, sequential, swept) -> tuple[list[dict], dict]:
    """Per configuration, both final losses and their relative difference; then a summary with
    stable and unstable configurations apart."""
    (m_seq, h_seq), (m_sw, h_sw) = sequential, swept
    configs = []
    for c, ms, hs, mw, hw in zip(CONFIGS, m_seq, h_seq, m_sw, h_sw, strict=True):
        loss_seq, loss_sw = evaluate(ms, data), evaluate(mw, data)
        stable = hs.diverged_at is None and hw.diverged_at is None and loss_seq < start_loss
        configs.append(
            {
                **c,
                "train_final_loss": loss_seq,
                "sweep_final_loss": loss_sw,
                "rel_diff": relative_difference(loss_sw, loss_seq),
                "train_diverged_at": hs.diverged_at,
                "sweep_diverged_at": hw.diverged_at,
                "stable": stable,
            }
        )

    def summary(group: list[dict]) -> dict:
        finite = [
            g["rel_diff"]
            for g in group
            if math.isfinite(g["train_final_loss"]) and math.isfinite(g["sweep_final_loss"])
        ]
        return {
            "n": len(group),
            "n_finite": len(finite),
            "max_rel_diff": max(finite, default=None),
            "median_rel_diff": statistics.median(finite) if finite else None,
            "diverged_alike": sum(
                g["train_diverged_at"] is not None
                and g["train_diverged_at"] == g["sweep_diverged_at"]
                for g in group
            ),
            "diverged_differently": sum(
                g["train_diverged_at"] != g["sweep_diverged_at"] for g in group
            ),
        }

    return configs, {
        "stable": summary([g for g in configs if g["stable"]]),
        "unstable": summary([g for g in configs if not g["stable"]]),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    data = quadratic_data()
    start_loss = evaluate(tutorial_mlp(seed=0), data)
    sweep(tutorial_mlp(), data, CONFIGS[:2], batch_size=32)  # warm up both code paths
    train(tutorial_mlp(), data, batch_size=32)
    started = time.perf_counter()
    rows = []
    with LoadWatch() as load:
        for B in EPOCHS:
            runs = {"sequential": [], "sweep": []}
            for r in range(args.rounds):
                order = [run_sequential, run_sweep] if r % 2 == 0 else [run_sweep, run_sequential]
                for fn in order:
                    runs["sequential" if fn is run_sequential else "sweep"].append(fn(data, B))
            seq, sw = runs["sequential"], runs["sweep"]
            speedup = spread(s[2] / w[2] for s, w in zip(seq, sw))
            configs, summary = agreement(data, start_loss, seq[0][:2], sw[0][:2])
            rows.append(
                {
                    "batch_size": B,
                    "epochs": EPOCHS[B],
                    "iterations_per_config": EPOCHS[B] * -(-len(data) // B),
                    "sequential_wall_s": statistics.median(s[2] for s in seq),
                    "sweep_wall_s": statistics.median(w[2] for w in sw),
                    "sequential_cpu_s": statistics.median(s[3] for s in seq),
                    "sweep_cpu_s": statistics.median(w[3] for w in sw),
                    "speedup": speedup,
                    "speedup_cpu": spread(s[3] / w[3] for s, w in zip(seq, sw)),
                    "target": TARGETS[B],
                    "meets_target": speedup["median"] >= TARGETS[B],
                    "agreement": summary,
                    "configs": configs,
                }
            )
    elapsed = time.perf_counter() - started
    met = all(r["meets_target"] for r in rows)

    print(f"K={K} configurations of the tutorial MLP: 16 sequential train() vs one sweep(); "
          f"median (range) of {args.rounds} interleaved rounds (torch {torch.__version__}, 1 thread, "
          f"{elapsed:.0f} s, load {load.summary()['mean']})")  # fmt: skip
    header = (
        f"{'batch':>6} {'its/config':>10} {'16 x train':>11} {'sweep':>9} {'speed-up':>20}"
        f" {'target':>7} {'stable max rel Δloss':>21} {'unstable: diverged alike, max rel Δ':>36}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        s, st, un = r["speedup"], r["agreement"]["stable"], r["agreement"]["unstable"]
        print(
            f"{r['batch_size']:>6} {r['iterations_per_config']:>10} {r['sequential_wall_s']:>9.2f} s"
            f" {r['sweep_wall_s']:>7.2f} s {s['median']:>7.1f}x ({s['min']:.1f}–{s['max']:.1f})"
            f" {'>= ' + format(r['target'], 'g') + 'x':>7} {st['max_rel_diff'] or 0:>12.1e} ({st['n']:>2})"
            f" {un['diverged_alike']:>10}/{un['n']:<2} {un['max_rel_diff'] or 0:>12.1e}"
        )
    print(f"targets: >= 8x at batch 1, >= 4x at batch 32, >= 1x at batch 1000 -> "
          f"{'met' if met else 'NOT met'}")  # fmt: skip
    result = {
        "K": K,
        "configs": CONFIGS,
        "rounds": args.rounds,
        "elapsed_s": round(elapsed, 1),
        "threads": torch.get_num_threads(),
        "start_loss": start_loss,
        "targets": {str(b): t for b, t in TARGETS.items()},
        "targets_met": met,
        "rows": rows,
    }
    save("sweep", result, load)
    return result


if __name__ == "__main__":
    main()
