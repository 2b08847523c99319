"""How much does ``gdlessons.train`` cost per iteration, against the loop of the source tutorials
and against the bare forward + backward + step it cannot beat?

On the tutorial MLP and data, for batch sizes 1, 32, 128 and 1000, three loops are timed:

(a) ``DataLoader(TensorDataset(X, y), batch_size=B, shuffle=True)`` with the usual
    zero_grad / forward / backward / step and ``loss.item()`` per batch (the source tutorials;
    with the default num_workers=0),
(b) ``gdlessons.training.train`` (whole epochs; its set-up is included in the time),
(c) zero_grad + forward + backward + step on one fixed batch, nothing else (the lower bound).

The three are interleaved in short chunks, round by round, cycling through every order of the
three; the median time per iteration is reported, and each ratio is the median over rounds of the
ratio within a round, so a busy machine slows the loops being compared alike and the ratios stay
fair.
Times are CPU time of this thread by default (``--clock wall`` for wall time).
Targets: (b)/(c) <= 1.15 at every batch size, (a)/(b) >= 5 at batch size 1000.

    .venv/bin/python benchmarks/loop.py            # ~30 s on an idle core
    .venv/bin/python benchmarks/loop.py --rounds 5  # quick look
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from torch.nn.functional import mse_loss
from torch.utils.data import DataLoader, TensorDataset

from gdlessons.data import quadratic_data
from gdlessons.models import tutorial_mlp
from gdlessons.training import train

BATCH_SIZES = (1, 32, 128, 1000)
LR = 1e-4  # the source tutorials' rate; small enough that nothing diverges
TARGET_TRAIN_OVER_BARE = 1.15
TARGET_LOADER_OVER_TRAIN = 5.0
CHUNK = 128  # iterations per timed chunk
RESULTS = Path(__file__).parent / "results" / "loop.json"


def chunk_plan(batch_size: int, n: int) -> dict[str, int]:
    """How much one timed chunk does, kept short (tens of ms) so the three loops of a round run
    under the same machine load: ``train()`` runs whole epochs (on the first ``n_train``
    samples at batch size 1, since a 1000-iteration epoch would be too long a chunk; the cost of
    an iteration does not depend on n), and the other two loops about as many iterations."""
    n_train = min(n, CHUNK * batch_size)
    epochs = max(1, CHUNK // -(-n_train // batch_size))
    its = epochs * -(-n_train // batch_size)
    return {"n_train": n_train, "epochs": epochs, "train": its, "bare": its,
            "dataloader": its if batch_size < 128 else CHUNK // 8}  # fmt: skip


def make_loops(X: torch.Tensor, y: torch.Tensor, batch_size: int, plan: dict[str, int]):
    """Return {name: zero-arg function -> iterations done}; each owns its model and optimizer."""
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
    model_a = tutorial_mlp(seed=0)
    opt_a = torch.optim.SGD(model_a.parameters(), lr=LR)

    def dataloader_loop() -> int:
        done, losses = 0, []
        while done < plan["dataloader"]:
            for xb, yb in loader:
                opt_a.zero_grad()
                loss = mse_loss(model_a(xb), yb)
                loss.backward()
                opt_a.step()
                losses.append(loss.item())
                done += 1
                if done == plan["dataloader"]:
                    break
        return done

    model_b = tutorial_mlp(seed=0)
    data_b = (X[: plan["n_train"]], y[: plan["n_train"]])

    def train_loop() -> int:
        history = train(
            model_b, data_b, batch_size=batch_size, epochs=plan["epochs"], lr=LR, progress=False
        )
        return len(history.iterations.loss)

    model_c = tutorial_mlp(seed=0)
    opt_c = torch.optim.SGD(model_c.parameters(), lr=LR)
    xb, yb = X[:batch_size], y[:batch_size]

    def bare_loop() -> int:
        for _ in range(plan["bare"]):
            opt_c.zero_grad()
            mse_loss(model_c(xb), yb).backward()
            opt_c.step()
        return plan["bare"]

    return {"dataloader": dataloader_loop, "train": train_loop, "bare": bare_loop}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=24, help="interleaved repeats (medians taken)"
    )
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = parser.parse_args(argv)
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter

    torch.set_num_threads(1)
    torch.manual_seed(0)
    X, y = quadratic_data().tensors()
    names = ("dataloader", "train", "bare")
    orders = list(itertools.permutations(names))
    plans = {B: chunk_plan(B, len(X)) for B in BATCH_SIZES}
    loops = {B: make_loops(X, y, B, plans[B]) for B in BATCH_SIZES}
    times: dict[int, dict[str, list[float]]] = {B: {k: [] for k in names} for B in BATCH_SIZES}
    started = time.perf_counter()
    for r in range(args.rounds + 1):  # round 0 warms up and is discarded
        for i, B in enumerate(BATCH_SIZES):
            # Cycle through all 6 orders, so each loop runs first, and right after each other
            # loop (the DataLoader leaves the allocator busy), equally often.
            for name in orders[(r + i) % len(orders)]:
                t = clock()
                done = loops[B][name]()
                if r > 0:
                    times[B][name].append((clock() - t) / done)
    elapsed = time.perf_counter() - started

    rows = []
    for B in BATCH_SIZES:
        t = times[B]
        # Ratios are taken within a round (the three chunks ran back to back, under the same
        # load) and the median over rounds is reported.
        rows.append(
            {
                "batch_size": B,
                "dataloader_us": statistics.median(t["dataloader"]) * 1e6,
                "train_us": statistics.median(t["train"]) * 1e6,
                "bare_us": statistics.median(t["bare"]) * 1e6,
                "train_over_bare": statistics.median(b / c for b, c in zip(t["train"], t["bare"])),
                "dataloader_over_train": statistics.median(a / b for a, b in zip(t["dataloader"], t["train"])),
            }
        )  # fmt: skip
    met = all(r["train_over_bare"] <= TARGET_TRAIN_OVER_BARE for r in rows) and (
        rows[-1]["dataloader_over_train"] >= TARGET_LOADER_OVER_TRAIN
    )
    print(f"per-iteration {args.clock} time: medians of {args.rounds} interleaved rounds; ratios are "
          f"medians of per-round ratios (torch {torch.__version__}, 1 thread, {elapsed:.0f} s)")  # fmt: skip
    header = f"{'batch':>6} {'(a) DataLoader':>15} {'(b) train':>11} {'(c) bare':>10} {'(b)/(c)':>8} {'(a)/(b)':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['batch_size']:>6} {r['dataloader_us']:>12.1f} µs {r['train_us']:>8.1f} µs "
            f"{r['bare_us']:>7.1f} µs {r['train_over_bare']:>8.3f} {r['dataloader_over_train']:>8.2f}"
        )
    print(f"targets: (b)/(c) <= {TARGET_TRAIN_OVER_BARE} at every batch size, "
          f"(a)/(b) >= {TARGET_LOADER_OVER_TRAIN:g} at batch 1000 -> {'met' if met else 'NOT met'}")  # fmt: skip
    result = {
        "benchmark": "loop",
        "clock": args.clock,
        "rounds": args.rounds,
        "elapsed_s": round(elapsed, 1),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "chunks": {str(B): plans[B] for B in BATCH_SIZES},
        "targets": {
            "train_over_bare_max": TARGET_TRAIN_OVER_BARE,
            "dataloader_over_train_min_at_1000": TARGET_LOADER_OVER_TRAIN,
        },
        "targets_met": met,
        "rows": rows,
        "samples_us": {
            str(B): {k: [round(v * 1e6, 2) for v in times[B][k]] for k in names}
            for B in BATCH_SIZES
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
