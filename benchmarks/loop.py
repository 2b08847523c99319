"""How much does ``gdlessons.train`` cost per iteration, against the loop of the source tutorials
and against the shuffled bare loop it cannot beat?

On the tutorial MLP and data (N = 1000 samples), for batch sizes 1, 32, 128 and 1000, three
loops train over all N samples, whole epochs at a time:

(a) ``DataLoader(TensorDataset(X, y), batch_size=B, shuffle=True)`` with the usual
    zero_grad / forward / backward / step and ``loss.item()`` per batch (the source tutorials;
    the default num_workers=0);
(b) ``gdlessons.training.train`` (its set-up included in the time);
(c) the shuffled bare loop, the lower bound: per epoch one ``torch.randperm`` and one
    ``index_select`` per tensor, then forward / backward / step on each slice, nothing else.

A chunk is whole epochs and at least 256 iterations (1000 at batch 1), the same for the three
loops, so every chunk of (a) at batch 1000 spans several of the full garbage collections its
per-sample tuples set off (each one a scan of the kernel's whole heap); those pauses are counted
where they fall (``gc.callbacks``) and reported. The three run back to back in every order, round
after round; per-iteration times are totals over all rounds (pauses included), and each ratio is
taken within a round (the chunks ran under the same load) and given as the median and range over
rounds. Times are CPU time of this thread by default (``--clock wall`` for wall time).
Targets: (b)/(c) <= 1.10 at every batch size; (a)/(b) >= 10 at batch size 1000.

    .venv/bin/python benchmarks/loop.py             # ~45 s of CPU
    .venv/bin/python benchmarks/loop.py --rounds 2  # quick look
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import time

import torch
from report import LoadWatch, save, spread
from torch.nn.functional import mse_loss
from torch.utils.data import DataLoader, TensorDataset

from gdlessons.data import quadratic_data
from gdlessons.models import tutorial_mlp
from gdlessons.training import train

BATCH_SIZES = (1, 32, 128, 1000)
LR = 1e-4  # the source tutorials' rate; small enough that nothing diverges over many chunks
MIN_ITERATIONS = 256  # per chunk: at batch 1000 several full collections of the DataLoader loop
TARGET_TRAIN_OVER_BARE = 1.10
TARGET_LOADER_OVER_TRAIN = 10.0  # at batch size LOADER_TARGET_BATCH
LOADER_TARGET_BATCH = 1000
NAMES = ("dataloader", "train", "bare")


def epochs_per_chunk(n: int, batch_size: int) -> int:
    """Whole epochs making at least MIN_ITERATIONS iterations.

    >>> epochs_per_chunk(1000, 1), epochs_per_chunk(1000, 32), epochs_per_chunk(1000, 1000)
    (1, 8, 256)
    """
    return math.ceil(MIN_ITERATIONS / math.ceil(n / batch_size))


def bare_epochs(model, optimizer, X, y, batch_size: int, epochs: int, generator) -> int:
    """The lower bound: per epoch a permutation and one gather per tensor, then on each slice
    only forward, backward, step and zero_grad. Returns the iterations done.

    With ``generator`` seeded like ``train(seed=...)``'s and batch_size < n, these are exactly
    train()'s batches and updates (tests/benchmarks/test_loop.py checks it)."""
    n, done = len(X), 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        Xs, ys = X.index_select(0, order), y.index_select(0, order)
        for xb, yb in zip(Xs.split(batch_size), ys.split(batch_size)):
            mse_loss(model(xb), yb).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            done += 1
    return done


def make_loops(X: torch.Tensor, y: torch.Tensor, batch_size: int, epochs: int):
    """{name: zero-argument function -> iterations done}; each loop owns its model and optimizer
    and runs ``epochs`` whole epochs over all of X."""
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
    model_a = tutorial_mlp(seed=0)
    opt_a = torch.optim.SGD(model_a.parameters(), lr=LR)

    def dataloader_loop() -> int:
        done, losses = 0, []
        for _ in range(epochs):
            for xb, yb in loader:
                opt_a.zero_grad()
                loss = mse_loss(model_a(xb), yb)
                loss.backward()
                opt_a.step()
                losses.append(loss.item())
                done += 1
        return done

    model_b = tutorial_mlp(seed=0)

    def train_loop() -> int:
        history = train(model_b, (X, y), batch_size=batch_size, epochs=epochs, lr=LR)
        return len(history.iterations.loss)

    model_c = tutorial_mlp(seed=0)
    opt_c = torch.optim.SGD(model_c.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(0)

    def bare_loop() -> int:
        return bare_epochs(model_c, opt_c, X, y, batch_size, epochs, generator)

    return {"dataloader": dataloader_loop, "train": train_loop, "bare": bare_loop}


class CollectionLog:
    """Full (generation 2) garbage collections and the clock time they took, charged to
    whichever loop is running (``current``)."""

    def __init__(self, clock):
        self.clock = clock
        self.current: str | None = None
        self.count: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2 or self.current is None:
            return
        if phase == "start":
            self._started = self.clock()
        else:
            self.count[self.current] = self.count.get(self.current, 0) + 1
            self.seconds[self.current] = (
                self.seconds.get(self.current, 0.0) + self.clock() - self._started
            )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12, help="interleaved rounds")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = parser.parse_args(argv)
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter

    torch.set_num_threads(1)
    torch.manual_seed(0)  # the DataLoader's shuffle
    X, y = quadratic_data().tensors()
    n = len(X)
    epochs = {B: epochs_per_chunk(n, B) for B in BATCH_SIZES}
    loops = {B: make_loops(X, y, B, epochs[B]) for B in BATCH_SIZES}
    orders = list(itertools.permutations(NAMES))
    keys = [(B, name) for B in BATCH_SIZES for name in NAMES]
    times: dict[tuple, list[float]] = {k: [] for k in keys}  # per chunk: seconds
    its: dict[tuple, list[int]] = {k: [] for k in keys}  # per chunk: iterations
    log = CollectionLog(clock)
    gc.callbacks.append(log)
    started = time.perf_counter()
    with LoadWatch() as load:
        for r in range(args.rounds + 1):  # round 0 warms up and is discarded
            for i, B in enumerate(BATCH_SIZES):
                # Cycle through all 6 orders, so each loop runs first, and right after each other
                # loop, equally often.
                for name in orders[(r + i) % len(orders)]:
                    log.current = f"{B}/{name}" if r > 0 else None
                    t = clock()
                    done = loops[B][name]()
                    spent = clock() - t
                    log.current = None
                    if r > 0:
                        times[(B, name)].append(spent)
                        its[(B, name)].append(done)
    gc.callbacks.remove(log)
    elapsed = time.perf_counter() - started

    rows = []
    for B in BATCH_SIZES:
        per_it = {name: sum(times[(B, name)]) / sum(its[(B, name)]) for name in NAMES}
        chunk = {name: [t / k for t, k in zip(times[(B, name)], its[(B, name)])] for name in NAMES}
        train_over_bare = spread(b / c for b, c in zip(chunk["train"], chunk["bare"]))
        loader_over_train = spread(a / b for a, b in zip(chunk["dataloader"], chunk["train"]))
        gen2 = {
            name: 1000 * log.count.get(f"{B}/{name}", 0) / sum(its[(B, name)]) for name in NAMES
        }
        row = {
            "batch_size": B,
            "epochs_per_chunk": epochs[B],
            "iterations_per_chunk": its[(B, "train")][0],
            "per_iteration_us": {name: per_it[name] * 1e6 for name in NAMES},
            "train_over_bare": train_over_bare,
            "dataloader_over_train": loader_over_train,
            "train_over_bare_of_totals": per_it["train"] / per_it["bare"],
            "dataloader_over_train_of_totals": per_it["dataloader"] / per_it["train"],
            "gen2_per_1000_iterations": gen2,
            "dataloader_gc_share": log.seconds.get(f"{B}/dataloader", 0.0)
            / sum(times[(B, "dataloader")]),
            "train_within_target": train_over_bare["median"] <= TARGET_TRAIN_OVER_BARE,
            "dataloader_within_target": (
                loader_over_train["median"] >= TARGET_LOADER_OVER_TRAIN
                if B == LOADER_TARGET_BATCH
                else None
            ),
            "chunk_us": {name: [round(v * 1e6, 2) for v in chunk[name]] for name in NAMES},
        }
        rows.append(row)
    met = all(r["train_within_target"] for r in rows) and all(
        r["dataloader_within_target"] for r in rows if r["dataloader_within_target"] is not None
    )

    print(f"per-iteration {args.clock} time over all N={n} samples, totals of {args.rounds} "
          f"interleaved rounds; ratios: median (range) of per-round ratios "
          f"(torch {torch.__version__}, 1 thread, {elapsed:.0f} s, load {load.summary()['mean']})")  # fmt: skip
    header = (
        f"{'batch':>6} {'(a) DataLoader':>15} {'(b) train':>11} {'(c) bare':>10}"
        f" {'(b)/(c)':>20} {'(a)/(b)':>20} {'full gc / 1000 its':>19}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        us, tb, lt, g = (r["per_iteration_us"], r["train_over_bare"], r["dataloader_over_train"],
                         r["gen2_per_1000_iterations"])  # fmt: skip
        print(
            f"{r['batch_size']:>6} {us['dataloader']:>12.1f} µs {us['train']:>8.1f} µs"
            f" {us['bare']:>7.1f} µs {tb['median']:>7.3f} ({tb['min']:.3f}–{tb['max']:.3f})"
            f" {lt['median']:>7.2f} ({lt['min']:.2f}–{lt['max']:.2f})"
            f" {g['dataloader']:>5.1f} {g['train']:>5.1f} {g['bare']:>5.1f}"
        )
    print(f"targets: (b)/(c) <= {TARGET_TRAIN_OVER_BARE} at every batch size, (a)/(b) >= "
          f"{TARGET_LOADER_OVER_TRAIN:g} at batch {LOADER_TARGET_BATCH} -> "
          f"{'met' if met else 'NOT met'}")  # fmt: skip
    result = {
        "clock": args.clock,
        "rounds": args.rounds,
        "elapsed_s": round(elapsed, 1),
        "n": n,
        "threads": torch.get_num_threads(),
        "targets": {
            "train_over_bare_max": TARGET_TRAIN_OVER_BARE,
            "dataloader_over_train_min_at_1000": TARGET_LOADER_OVER_TRAIN,
        },
        "targets_met": met,
        "rows": rows,
    }
    save("loop", result, load)
    return result


if __name__ == "__main__":
    main()
