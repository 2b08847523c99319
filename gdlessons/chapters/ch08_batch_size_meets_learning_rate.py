"""Chapter 08: learning curves, batch size and learning rate together, and the digits capstone.

Learning curves: training and validation loss per epoch and how to read them (under-fit, good
fit, over-fit; :func:`learning_curve`, :func:`diagnose`). The capstone (:func:`run_capstone`)
trains a digits classifier with everything from the course. And the grid:

Batch size and learning rate are not independent knobs. With plain SGD, a batch B and rate lr
move the parameters by about lr × (mean gradient) per update, and an epoch has n / B updates,
so in one epoch the parameters travel about (n / B) × lr: doubling the batch halves the
updates, and a doubled rate makes up for it (the "linear scaling" observation), until the rate
is so large that training blows up. :func:`lr_batch_grid` trains every (batch size, rate) pair
once (cached), :func:`heatmap` draws the final validation losses, :func:`epochs_to_target`
measures how many epochs and seconds each batch size needs to reach a validation loss.
"""

from __future__ import annotations

import functools
import math
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from gdlessons._validate import (
    check_bool,
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_mapping,
    check_mapping_of,
    check_numbers,
    check_sequence,
)
from gdlessons.batching import iterations_per_epoch
from gdlessons.checks import check_model_fits, check_training_data
from gdlessons.data import Dataset, as_tensors
from gdlessons.display.plots import new_axes, new_figure
from gdlessons.display.range_test import plot_range_test, range_test_legend
from gdlessons.history import History
from gdlessons.hooks import FullTrainLoss, StopWhen
from gdlessons.loop import Hook, Loop
from gdlessons.lr_finder import RULE, RULES, RangeTest, lr_range_test, suggested_lr
from gdlessons.metrics import evaluate
from gdlessons.models import digits_classifier
from gdlessons.schedules import one_cycle
from gdlessons.sweep import sweep
from gdlessons.training import train

CHANCE_LOSS = math.log(10)  # a uniform guess over ten digits; ending above it is a failed run
# Pixel values run 0-16: a pixel (almost) always blank in the training images has a standard deviation near 0,
# and dividing by it would turn a rare stroke there into a value tens of deviations out. One grey level floors it.
STD_FLOOR = 1.0
DEFAULT_BATCH_SIZES = (32, 64, 128, 256, 512)
DEFAULT_LRS = (0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def digits_split(
    *, val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0
) -> tuple[Dataset, Dataset, Dataset]:
    """The digits split three ways, train / validation / test, by one seeded shuffle.

    Why three: every choice made by looking at validation scores (a rate, a batch size, the best
    of several runs) fits the choice to the validation images a little, so the chosen run's
    validation score is optimistic. A third part, touched once at the end, scores the chosen
    model on images no choice has seen. The validation images are the ones
    :func:`~gdlessons.data.digits_data` holds out with the same seed (the first ``val_fraction``
    of the shuffle); the test images are the next ``test_fraction``; training keeps the rest.
    Every part is standardised with the training images' statistics alone.

    >>> train, val, test = digits_split()
    >>> len(train), len(val), len(test)
    (1079, 359, 359)
    """
    val_fraction = check_float(
        "val_fraction", val_fraction, low=0.0, high=1.0, low_open=True, high_open=True
    )
    test_fraction = check_float(
        "test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True
    )
    if val_fraction + test_fraction >= 0.9:
        raise ValueError(
            f"val_fraction + test_fraction must leave at least a tenth of the images for training, got "
            f"{val_fraction} + {test_fraction} = {val_fraction + test_fraction:g}"
        )
    return _digits_split(val_fraction, test_fraction, check_int("seed", seed, low=0))


@functools.lru_cache(maxsize=4)
def _digits_split(
    val_fraction: float, test_fraction: float, seed: int
) -> tuple[Dataset, Dataset, Dataset]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X, y = bunch.data.astype(np.float32), bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))  # the shuffle digits_data uses
    n_val, n_test = round(val_fraction * len(X)), round(test_fraction * len(X))
    parts = order[:n_val], order[n_val : n_val + n_test], order[n_val + n_test :]
    mean, std = X[parts[2]].mean(axis=0), np.maximum(X[parts[2]].std(axis=0), STD_FLOOR)
    X = (X - mean) / std

    def part(idx, name):
        return Dataset(torch.from_numpy(X[idx]), torch.from_numpy(y[idx]), f"digits ({name})")

    return part(parts[2], "train"), part(parts[0], "validation"), part(parts[1], "test")


@dataclass(frozen=True)
class Grid:
    """The runs of a batch-size × learning-rate grid, keyed by ``(batch_size, lr)``."""

    batch_sizes: tuple[int, ...]
    lrs: tuple[float, ...]
    epochs: int
    hidden: int
    histories: dict

    def history(self, batch_size: int, lr: float) -> History:
        """The run at one cell (exact grid values)."""
        check_choice("batch_size", batch_size, self.batch_sizes)
        check_choice("lr", lr, self.lrs)
        return self.histories[(batch_size, lr)]

    def failed(self) -> np.ndarray:
        """(batch sizes, rates) booleans: the run diverged (non-finite loss, stopped) or ended
        with a validation loss worse than a uniform guess (ln 10)."""
        return np.array(
            [[_failed(self.histories[(B, lr)]) for lr in self.lrs] for B in self.batch_sizes]
        )

    def final_val(self) -> np.ndarray:
        """(batch sizes, rates) final validation losses, NaN where the run failed."""
        out = np.array(
            [[_final_val(self.histories[(B, lr)]) for lr in self.lrs] for B in self.batch_sizes],
            dtype=float,
        )
        out[self.failed()] = np.nan
        return out

    def best_lr(self) -> dict[int, float | None]:
        """For each batch size, the rate with the lowest final validation loss (None if every
        rate failed)."""
        losses = self.final_val()
        return {
            B: None if np.isnan(row).all() else self.lrs[int(np.nanargmin(row))]
            for B, row in zip(self.batch_sizes, losses)
        }

    def diagonal(self, ratio: float) -> list[tuple[int, float, float]]:
        """The cells with ``lr / batch_size == ratio`` as (batch size, lr, final validation loss):
        if linear scaling holds, the losses along such a diagonal are about equal.

        >>> g = lr_batch_grid((256, 512), (0.5, 1.0), epochs=1)
        >>> [(B, lr) for B, lr, _ in g.diagonal(1 / 512)]
        [(256, 0.5), (512, 1.0)]
        """
        ratio = check_float("ratio", ratio, low=0.0, low_open=True)
        losses = self.final_val()
        return [
            (B, lr, float(losses[self.batch_sizes.index(B), self.lrs.index(lr)]))
            for B, lr in self._cells_on(ratio)
        ]

    def ratios(self, *, min_cells: int = 2) -> list[float]:
        """The ratios lr / batch size shared by at least ``min_cells`` cells that did not fail,
        largest first: the diagonals along which linear scaling can be checked.

        >>> g = lr_batch_grid((256, 512), (0.5, 1.0), epochs=1)
        >>> g.ratios() == [1 / 512]
        True
        """
        failed = self.failed()
        found: list[float] = []
        for i, B in enumerate(self.batch_sizes):
            for j, lr in enumerate(self.lrs):
                if not failed[i, j] and not any(math.isclose(lr / B, r) for r in found):
                    found.append(lr / B)
        counts = {r: sum(not np.isnan(v) for *_, v in self.diagonal(r)) for r in found}
        return sorted((r for r, k in counts.items() if k >= min_cells), reverse=True)

    def _cells_on(self, ratio: float) -> list[tuple[int, float]]:
        return [(B, lr) for B in self.batch_sizes for lr in self.lrs if math.isclose(lr / B, ratio)]

    def smallest_lr_reaching(self, target: float) -> dict[int, float | None]:
        """For each batch size, the smallest rate whose final validation loss is <= ``target``
        (None if none does): where linear scaling shows most cleanly."""
        target = check_float("target", target, low=0.0, low_open=True)
        found = {}
        for B, row in zip(self.batch_sizes, self.final_val()):
            ok = [lr for lr, v in zip(self.lrs, row) if v <= target]
            found[B] = ok[0] if ok else None
        return found

    def table(self) -> str:
        """The final validation losses as text; failed cells show as ``  ×  ``."""
        head = "batch \\ lr " + "".join(f"{lr:>8g}" for lr in self.lrs)
        lines = [head]
        for B, row in zip(self.batch_sizes, self.final_val()):
            cells = "".join("       ×" if np.isnan(v) else f"{v:8.3f}" for v in row)
            lines.append(f"{B:>10d} {cells}")
        return "\n".join(lines)


def grid_sentences(grid: Grid) -> str:
    """What the grid's table says, in words chosen from its numbers: the smallest rate's column
    against the batch size, which cells diverged, and how each row's best rate moves with the
    batch (and whether it sits next to the divergence wall).

    >>> g = lr_batch_grid((256, 512), (0.5, 64.0), epochs=1)
    >>> print(grid_sentences(g))
    at the smallest rate (lr 0.5) the final loss grows with every doubling of the batch: 1.6 (B=256) → 1.9 (B=512)
    diverged: lr 64 at every batch size
    best rate per batch size: B=256: 0.5, B=512: 0.5; it never falls as the batch grows; at the wall (the next rate diverged) for B=256, B=512
    """
    check_instance("grid", grid, Grid, "a Grid, as lr_batch_grid returns")
    losses, failed = grid.final_val(), grid.failed()
    first = losses[:, 0]
    col = " → ".join(
        f"{'×' if np.isnan(v) else f'{v:.2g}'} (B={B})" for B, v in zip(grid.batch_sizes, first)
    )
    finite = first[~np.isnan(first)]
    if len(finite) < 2:
        trend = "too few batch sizes finished to compare"
    elif np.all(np.diff(finite) > 0):
        trend = (
            "grows with every doubling of the batch" if _doubling(grid) else "grows with the batch"
        )
    else:
        trend = "does not grow steadily with the batch"
    lines = [f"at the smallest rate (lr {grid.lrs[0]:g}) the final loss {trend}: {col}"]
    everywhere = [lr for j, lr in enumerate(grid.lrs) if failed[:, j].all()]
    some = [(B, lr) for i, B in enumerate(grid.batch_sizes) for j, lr in enumerate(grid.lrs)
            if failed[i, j] and lr not in everywhere]  # fmt: skip
    parts = []
    if everywhere:
        parts.append(f"lr {', '.join(f'{lr:g}' for lr in everywhere)} at every batch size")
    if some:
        parts.append(", ".join(f"B={B} at lr {lr:g}" for B, lr in some))
    lines.append("diverged: " + ("; ".join(parts) if parts else "no cell"))
    best = grid.best_lr()
    shown = ", ".join(f"B={B}: {'none' if lr is None else f'{lr:g}'}" for B, lr in best.items())
    rates = [lr for lr in best.values() if lr is not None]
    move = (
        "it never falls as the batch grows" if all(a <= b for a, b in zip(rates, rates[1:]))
        else "it does not rise steadily with the batch"
    )  # fmt: skip
    walled = []
    for i, (B, lr) in enumerate(best.items()):
        j = grid.lrs.index(lr) if lr is not None else None
        if j is not None and j + 1 < len(grid.lrs) and failed[i, j + 1]:
            walled.append(f"B={B}")
    wall = f"; at the wall (the next rate diverged) for {', '.join(walled)}" if walled else ""
    lines.append(f"best rate per batch size: {shown}; {move}{wall}")
    return "\n".join(lines)


def _doubling(grid: Grid) -> bool:
    return all(b == 2 * a for a, b in zip(grid.batch_sizes, grid.batch_sizes[1:]))


def diagonal_sentences(grid: Grid) -> str:
    """Linear scaling, measured: the final losses along each diagonal of equal lr / batch size
    against those along a row (one batch size, every rate that finished).

    >>> g = lr_batch_grid((256, 512), (0.5, 1.0), epochs=1)
    >>> print(diagonal_sentences(g).splitlines()[-1].split(";")[0])
    along a diagonal the losses differ by at most ×1.08
    """
    check_instance("grid", grid, Grid, "a Grid, as lr_batch_grid returns")
    ratios = grid.ratios()
    if not ratios:
        return "no two cells that finished share a ratio lr / batch size on this grid: nothing to compare"
    lines, spreads = [], []
    for r in ratios:
        cells = [(B, lr, v) for B, lr, v in grid.diagonal(r) if not np.isnan(v)]
        values = [v for *_, v in cells]
        spreads.append(max(values) / min(values))
        lines.append(
            f"lr / batch = 1/{1 / r:.4g}: "
            + ", ".join(f"B={B}, lr={lr:g} -> {v:.3f}" for B, lr, v in cells)
        )
    rows = [row[~np.isnan(row)] for row in grid.final_val()]
    row_spreads = [float(row.max() / row.min()) for row in rows if len(row) > 1]
    if row_spreads:
        along = float(np.median(row_spreads))
        verdict = (
            "the loss changes less along a diagonal than along a row, so lr / batch matters more than either alone"
            if max(spreads) < along
            else "lr / batch alone does not decide the loss here"
        )
        lines.append(
            f"along a diagonal the losses differ by at most ×{max(spreads):.3g}; along a row (one batch "
            f"size, every rate that finished) by ×{along:.3g} (median over rows): {verdict}"
        )
    return "\n".join(lines)


def _check_targets(name: str, results) -> tuple:
    return check_sequence(
        name, results,
        item=lambda n, r: check_instance(n, r, TargetResult, "a TargetResult, as epochs_to_target returns"),
    )  # fmt: skip


def target_sentences(results: list[TargetResult], *, label: str) -> str:
    """Epochs and iterations to the target per batch size, and whether "a larger batch needs more
    epochs" held between each pair of neighbouring batch sizes that reached it.

    >>> rs = [TargetResult(32, 1.0, 0.2, 2, 90, 0.1), TargetResult(64, 1.0, 0.2, 3, 69, 0.1)]
    >>> print(target_sentences(rs, label="lr 1"))
    lr 1: epochs 2 (B=32), 3 (B=64); iterations 90, 69: more epochs for the larger batch at every step
    """
    _check_targets("results", results)
    check_instance("label", label, str, "a string")
    done = [r for r in results if r.reached]
    missed = [r for r in results if not r.reached]
    if not done:
        return f"{label}: no batch size reached the target"
    epochs = ", ".join(f"{r.epochs} (B={r.batch_size})" for r in done)
    its = ", ".join(str(r.iterations) for r in done)
    steps = list(zip(done, done[1:]))
    kinds = {"grew": [], "stayed equal": [], "fell": []}
    for a, b in steps:
        kind = "grew" if b.epochs > a.epochs else "stayed equal" if b.epochs == a.epochs else "fell"
        kinds[kind].append(f"{a.batch_size} → {b.batch_size}")
    if not steps:
        verdict = "only one batch size reached it"
    elif len(kinds["grew"]) == len(steps):
        verdict = "more epochs for the larger batch at every step"
    else:
        verdict = "epochs " + "; ".join(f"{k} at B = {', '.join(v)}" for k, v in kinds.items() if v)
    line = f"{label}: epochs {epochs}; iterations {its}: {verdict}"
    if missed:
        line += "; not reached: " + ", ".join(f"B={r.batch_size}" for r in missed)
    return line


def time_sentences(results: list[TargetResult]) -> str:
    """Wall-clock training time to the target per batch size (it differs from machine to machine):
    iterations × cost per iteration, and which batch size got there first.

    >>> print(time_sentences([TargetResult(32, 1.0, 0.2, 2, 90, 0.09), TargetResult(64, 1.0, 0.2, 3, 69, 0.1)]))
    B=32: 90 iterations × 1 ms = 0.09 s; B=64: 69 iterations × 1.45 ms = 0.1 s; first there: B=32
    """
    _check_targets("results", results)
    done = [r for r in results if r.reached]
    if not done:
        return "no batch size reached the target"
    parts = [
        f"B={r.batch_size}: {r.iterations} iterations × {1000 * r.seconds / r.iterations:.3g} ms = {r.seconds:.2g} s"
        for r in done
    ]
    first = min(done, key=lambda r: r.seconds)
    return "; ".join(parts) + f"; first there: B={first.batch_size}"


def _final_val(h: History) -> float:
    v = h.final_val_loss
    return float("nan") if h.diverged or v is None else float(v)


def _failed(h: History) -> bool:
    v = _final_val(h)
    return not math.isfinite(v) or v > CHANCE_LOSS


def lr_batch_grid(
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES,
    lrs: tuple[float, ...] = DEFAULT_LRS,
    *,
    epochs: int = 8,
    hidden: int = 32,
    seed: int = 0,
) -> Grid:
    """Train ``digits_classifier(hidden)`` with plain SGD for ``epochs`` at every (batch size,
    rate) pair on the digits data. Cached: the same arguments return the same Grid at once,
    which is what keeps the heat-map explorer quick after the first build.

    >>> g = lr_batch_grid((256, 512), (0.5, 64.0), epochs=1)
    >>> g.failed().tolist()
    [[False, True], [False, True]]
    """
    # Checked, and lists made tuples, before the cache (a list cannot be a cache key).
    batch_sizes = check_sequence(
        "batch_sizes", batch_sizes, item=lambda n, B: check_int(n, B, low=1)
    )
    lrs = check_sequence("lrs", lrs, item=lambda n, v: check_float(n, v, low=0.0, low_open=True))
    for name, values in (("batch_sizes", batch_sizes), ("lrs", lrs)):
        if len(set(values)) != len(values):
            raise ValueError(f"{name} must hold distinct values, got {list(values)}")
    return _lr_batch_grid(
        batch_sizes,
        lrs,
        epochs=check_int("epochs", epochs, low=1),
        hidden=check_int("hidden", hidden, low=1),
        seed=check_int("seed", seed, low=0),
    )


@functools.lru_cache(maxsize=8)
def _lr_batch_grid(batch_sizes: tuple, lrs: tuple, *, epochs: int, hidden: int, seed: int) -> Grid:
    train_data, val_data, _ = digits_split(seed=seed)  # the test set stays unseen
    histories = {}
    # One row (a batch size, every rate) is K runs from the same start on the same batches: the
    # sweep engine trains them at once, each History as train() would have recorded it.
    for B in batch_sizes:
        row = sweep(
            digits_classifier(hidden=hidden, seed=seed), train_data, [{"lr": lr} for lr in lrs],
            batch_size=B, epochs=epochs, val_data=val_data, loss="cross_entropy", seed=seed,
        )  # fmt: skip
        histories.update({(B, lr): h for lr, h in zip(lrs, row)})
    return Grid(batch_sizes, lrs, epochs, hidden, histories)


def heatmap(
    grid: Grid, *, highlight: tuple[int, float] | None = None, ax=None, colorbar: bool = True
) -> Figure:
    """Final validation loss over the grid (log colour scale), each cell labelled, failed cells
    marked ×, each batch size's best rate boxed, and an optional ``highlight`` cell outlined.

    >>> g = lr_batch_grid((256, 512), (0.5, 64.0), epochs=1)
    >>> heatmap(g, highlight=(256, 0.5)).axes[0].get_xlabel()
    'learning rate'
    """
    check_instance("grid", grid, Grid, "a Grid, as lr_batch_grid returns")
    if highlight is not None:
        if not isinstance(highlight, (tuple, list)) or len(highlight) != 2:
            raise TypeError(f"highlight must be a (batch_size, lr) pair, got {highlight!r}")
        check_choice("highlight[0] (batch size)", highlight[0], grid.batch_sizes)
        check_choice("highlight[1] (lr)", highlight[1], grid.lrs)
    check_bool("colorbar", colorbar)
    fig, ax = new_axes(ax, figsize=(6.4, 3.6))
    losses = grid.final_val()
    failed = grid.failed()
    logs = np.log10(losses)
    image = ax.imshow(logs, cmap="viridis_r", aspect="auto", origin="lower")
    middle = np.nanmean([np.nanmin(logs), np.nanmax(logs)]) if np.isfinite(logs).any() else 0.0
    best = grid.best_lr()
    for i, B in enumerate(grid.batch_sizes):
        for j, lr in enumerate(grid.lrs):
            if failed[i, j]:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, color="0.85"))
                ax.text(j, i, "×", ha="center", va="center", fontsize=12, color="firebrick")
            else:
                ax.text(
                    j, i, f"{losses[i, j]:.2f}", ha="center", va="center", fontsize=9,
                    color="black" if logs[i, j] < middle else "white",
                )  # fmt: skip
            if best[B] == lr:
                ax.add_patch(
                    Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False, ec="orange", lw=1.5)
                )
    if highlight is not None:
        i, j = grid.batch_sizes.index(highlight[0]), grid.lrs.index(highlight[1])
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=3))
    ax.set_xticks(range(len(grid.lrs)), [f"{lr:g}" for lr in grid.lrs])
    for label in ax.get_xticklabels():  # slanted: 0.0625 and 0.125 would run together
        label.set(rotation=35, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(grid.batch_sizes)), [str(B) for B in grid.batch_sizes])
    ax.set_xlabel("learning rate")
    ax.set_ylabel("batch size")
    ax.grid(False)
    ax.set_title(
        f"Validation loss after {grid.epochs} epoch{'s' if grid.epochs != 1 else ''}\n"
        "× diverged, orange box: best rate per row"
    )
    if colorbar:
        fig.colorbar(image, ax=ax, label="log10 validation loss")
    return fig


@dataclass(frozen=True)
class TargetResult:
    """How long one batch size took to reach a validation loss (None where not reached)."""

    batch_size: int
    lr: float
    target: float
    epochs: int | None
    iterations: int | None
    seconds: float | None

    @property
    def reached(self) -> bool:
        return self.epochs is not None


def epochs_to_target(
    batch_size: int,
    lr: float,
    target: float,
    *,
    max_epochs: int = 40,
    hidden: int = 32,
    seed: int = 0,
) -> TargetResult:
    """Train like one grid cell, checking the validation loss after every epoch, and stop at
    the first epoch where it is <= ``target``. ``seconds`` is training time only (the checks
    are not counted), so it compares batch sizes fairly.

    >>> r = epochs_to_target(256, 1.0, 0.5, max_epochs=10)
    >>> r.reached, r.iterations == r.epochs * 5  # ceil(1079 / 256) iterations per epoch
    (True, True)
    """
    batch_size = check_int("batch_size", batch_size, low=1)
    target = check_float("target", target, low=0.0, low_open=True)
    max_epochs = check_int("max_epochs", max_epochs, low=1)
    train_data, val_data, _ = digits_split(seed=seed)  # the test set stays unseen
    model = digits_classifier(hidden=hidden, seed=seed)
    per_epoch = math.ceil(len(train_data) / batch_size)
    checks: list[float] = []  # seconds spent on each validation check
    reached_at: list[int] = []

    def at_target(record: dict) -> bool:
        if record["iteration"] % per_epoch:
            return False
        tick = time.perf_counter()
        reached = evaluate(model, val_data, "cross_entropy") <= target
        checks.append(time.perf_counter() - tick)
        if reached:
            reached_at.append(record["epoch"])
        return reached

    h = train(
        model, train_data, batch_size=batch_size, epochs=max_epochs, lr=lr, loss="cross_entropy",
        seed=seed, hooks=[StopWhen(at_target)],
    )  # fmt: skip
    if not reached_at:
        return TargetResult(batch_size, lr, target, None, None, None)
    # train() counts a callback's time in the next iteration, so every check but the last (which
    # stopped training) sits inside the clock: take those out.
    seconds = h.iterations.time[-1] - sum(checks[:-1])
    return TargetResult(
        batch_size, lr, target, reached_at[0], h.iterations.iteration[-1], max(seconds, 0.0)
    )


def target_table(results: list[TargetResult]) -> str:
    """Epochs and iterations to the target per run, as text (no timings: they vary by machine).

    >>> print(target_table([TargetResult(32, 1.0, 0.2, 2, 90, 0.1)]))
    batch    lr  epochs  iterations
       32     1       2          90
    """
    _check_targets("results", results)
    lines = ["batch    lr  epochs  iterations"]
    for r in results:
        if r.reached:
            lines.append(f"{r.batch_size:>5d} {r.lr:>5g} {r.epochs:>7d} {r.iterations:>11d}")
        else:
            lines.append(f"{r.batch_size:>5d} {r.lr:>5g}  not reached")
    return "\n".join(lines)


def plot_targets(
    series: dict[str, list[TargetResult]], *, fig: Figure | SubFigure | None = None
) -> Figure | SubFigure:
    """Epochs (left) and wall-clock training seconds (right) to the target against batch size,
    one line per series (e.g. "fixed lr" and "best lr per batch size"), each with its own marker
    and line style.

    >>> runs = [TargetResult(32, 1.0, 0.2, 2, 90, 0.1), TargetResult(64, 1.0, 0.2, 3, 69, 0.1)]
    >>> plot_targets({"lr 1": runs}).axes[0].get_xlabel()
    'batch size'
    """
    check_mapping("series", series, what="lists of TargetResult")
    if len(series) > 4:
        raise ValueError(
            f"series must hold at most 4 series (one per line style), got {len(series)}"
        )
    for label, results in series.items():
        _check_targets(f"series[{label!r}]", results)
    fig = new_figure(fig, figsize=(7.5, 3.6))
    left, right = fig.subplots(1, 2)
    missed = []
    for (label, results), style in zip(series.items(), ("o-", "s--", "^:", "D-.")):
        reached = [r for r in results if r.reached]
        Bs = [r.batch_size for r in reached]
        left.plot(Bs, [r.epochs for r in reached], style, label=label)
        right.plot(Bs, [r.seconds for r in reached], style, label=label)
        missed += [f"{label}: B={r.batch_size}" for r in results if not r.reached]
    sizes = sorted({r.batch_size for results in series.values() for r in results})
    for ax, what in ((left, "epochs to target"), (right, "training time to target (s)")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(B) for B in sizes])
        ax.set_xlabel("batch size")
        ax.set_ylabel(what)
        ax.legend()
    if missed:  # under both panels, wrapped to the figure's width
        note = textwrap.fill("not reached: " + "; ".join(missed), 100)
        fig.supxlabel(note, fontsize=9, color="firebrick")
    target = next(iter(series.values()))[0].target
    left.set_title(f"Epochs to validation loss ≤ {target:g}")
    right.set_title("Training time to the same target")
    return fig


def heatmap_explorer(grid: Grid | None = None):
    """Pick a (batch size, learning rate) cell and see that run's learning curves beside the
    heat map with the cell outlined. The grid is trained once (cached); a move only redraws.

    >>> ex = heatmap_explorer(lr_batch_grid((256, 512), (0.5, 64.0), epochs=1))
    >>> sorted(ex.state())
    ['batch_size', 'lr']
    """
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer

    if grid is not None:
        check_instance("grid", grid, Grid, "a Grid, as lr_batch_grid returns")
    grid = grid if grid is not None else lr_batch_grid()
    best = grid.best_lr()
    start_B = grid.batch_sizes[len(grid.batch_sizes) // 2]
    controls = {
        "batch_size": w.SelectionSlider(
            options=list(grid.batch_sizes), value=start_B, description="batch size"
        ),
        "lr": w.SelectionSlider(
            options=list(grid.lrs), value=best[start_B] or grid.lrs[0], description="learning rate"
        ),
    }

    # One figure, kept: only the red outline, the two curves and two texts change between
    # cells (animated). The heat map with its 40 labels, the axes and the legend are drawn once.
    fig = Figure(figsize=(7.5, 3.9), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1.45, 1))
    heatmap(grid, ax=left)
    outline = left.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec="red", lw=3, animated=True))
    # the grid's runs record no full-data loss: the training curve is each epoch's batch-loss mean
    (train_line,) = right.plot([], [], ".-", label="training (batch mean)", animated=True)
    (val_line,) = right.plot([], [], ".--", label="validation", animated=True)
    status = right.text(0.5, 0.5, "", transform=right.transAxes, ha="center", color="firebrick",
                        animated=True)  # fmt: skip
    right.title.set_animated(True)
    _curve_axes(right, grid.epochs)

    def draw(batch_size: int, lr: float) -> Figure:
        h = grid.history(batch_size, lr)
        i, j = grid.batch_sizes.index(batch_size), grid.lrs.index(lr)
        outline.set_bounds(j - 0.5, i - 0.5, 1, 1)
        train_line.set_data(h.epochs.epoch, h.epochs.train_loss)
        val_line.set_data(h.epochs.epoch, h.epochs.val_loss)
        status.set_text(_failure_text(h))
        right.set_title(f"B={batch_size}, lr={lr:g}:\nlearning curves")
        return fig

    def readout(batch_size: int, lr: float) -> str:
        h = grid.history(batch_size, lr)
        v = _final_val(h)
        status = "diverged" if _failed(h) else f"final validation loss {v:.3f}"
        return (
            f"B={batch_size}, lr={lr:g}: {h.config['iterations_per_epoch']} iterations per epoch, "
            f"{status}\ntraining curve: the mean of each epoch's batch losses, taken while the "
            "weights moved"
        )

    return Explorer(
        draw,
        controls,
        title="Batch size × learning rate: pick a cell",
        readout=readout,
        background=lambda **_: None,  # one still part for every cell
    )


def _failure_text(h: History) -> str:
    if not _failed(h):
        return ""
    what = f"stopped at iteration {h.diverged_at}" if h.diverged else "loss above chance"
    return f"diverged: {what}"


def _curve_axes(ax, epochs: int) -> None:
    """The static parts of the explorer's learning-curve panel: fixed limits, so moving between
    cells compares like with like, labels, the chance line and the legend."""
    ax.axhline(CHANCE_LOSS, color="grey", lw=0.8, ls=":", label="chance (ln 10)")
    ax.set_xlim(0.5, epochs + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_ylim(0, 2.5)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy loss")
    # under the axes, where no curve can run beneath it (a run that stays near chance fills the top)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=9)


EXPLORERS = {"ch08-heatmap-explorer": heatmap_explorer}


def subset(data, n: int, *, seed: int = 0) -> Dataset:
    """``n`` samples of ``data`` drawn without replacement (seeded): a small training set, the
    easiest way to make a model over-fit.

    >>> from gdlessons.data import digits_data
    >>> len(subset(digits_data()[0], 100))
    100
    """
    X, y = as_tensors(data)
    n = check_int("n", n, low=1, high=len(X))
    seed = check_int("seed", seed, low=0)
    idx = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))[:n]
    name = getattr(data, "name", "data")
    return Dataset(X[idx], y[idx], f"{name}, {n} samples")


def learning_curve(
    train_data,
    val_data,
    *,
    hidden: int = 64,
    depth: int = 1,
    epochs: int = 30,
    lr: float = 0.1,
    momentum: float = 0.0,
    batch_size: int = 32,
    seed: int = 0,
    measure: Callable | None = None,
) -> History:
    """Train ``digits_classifier(hidden, depth)`` with cross-entropy and return its History,
    whose ``epochs.full_train_loss`` and ``epochs.val_loss`` are the two learning curves, both
    measured on the model at each epoch's end (``epochs.train_loss``, the running mean of the
    epoch's batch losses, is kept beside them).

    ``measure(model, X, y)``, if given, measures both curves: the mean loss on all of ``(X, y)``
    as a number (the chapter's your-turn ``evaluate_loss``); by default
    :func:`~gdlessons.metrics.evaluate` does, through the ``FullTrainLoss()`` hook.

    >>> from gdlessons.data import digits_data
    >>> tr, va = digits_data()
    >>> h = learning_curve(subset(tr, 64), va, hidden=8, epochs=2)
    >>> h.epochs.epoch, h.epochs.val_loss[0] is not None
    ([1, 2], True)
    """
    epochs = check_int("epochs", epochs, low=1)
    n = len(as_tensors(train_data)[0])
    batch_size = check_int("batch_size", batch_size, low=1)
    if batch_size > n:  # no silent clamp: a batch cannot hold more samples than the data
        raise ValueError(
            f"batch_size must be between 1 and {n}, the number of training samples, got {batch_size}"
        )
    if measure is not None and not callable(measure):
        raise TypeError(
            f"measure must be a function (model, X, y) -> mean loss, got {type(measure).__name__}"
        )
    model = digits_classifier(hidden=hidden, depth=depth, seed=seed)
    return train(
        model, train_data, batch_size=batch_size, epochs=epochs,
        lr=lr, momentum=momentum, loss="cross_entropy", val_data=val_data, seed=seed,
        hooks=[FullTrainLoss() if measure is None else MeasureCurves(measure)],
    )  # fmt: skip


class MeasureCurves(Hook):
    """At each epoch's end, both learning curves measured by ``measure(model, X, y)`` (a mean loss
    as a number): the full-data training loss and the validation loss, in place of the ones
    :func:`~gdlessons.metrics.evaluate` recorded."""

    def __init__(self, measure: Callable):
        if not callable(measure):
            raise TypeError(
                f"measure must be a function (model, X, y) -> a mean loss, got {measure!r}"
            )
        self.measure = measure

    def after_epoch(self, loop: Loop) -> None:
        epochs = loop.recorder.history.epochs
        epochs.full_train_loss[-1] = float(self.measure(loop.model, *loop.train_data))
        if loop.val_data is not None:
            epochs.val_loss[-1] = float(self.measure(loop.model, *loop.val_data))


def training_curve(history: History) -> tuple[list[float], str]:
    """The training loss to set beside the validation loss, and what it is: the full-data loss at
    each epoch's end when recorded (like for like with validation), else the running mean of the
    epoch's batch losses (measured while the weights moved, about half an epoch behind).

    >>> h = History(config={}); h.epochs.train_loss[:] = [0.5]; h.epochs.full_train_loss[:] = [0.4]
    >>> loss, what = training_curve(h); print(loss, what)
    [0.4] full-data training loss at the epoch's end
    """
    check_instance("history", history, History, "a History, as train() returns")
    if not history.epochs.train_loss and not history.epochs.full_train_loss:
        raise ValueError("history must hold at least one epoch, got a History with none (bad data)")
    full = history.epochs.full_train_loss
    if full and all(v is not None for v in full):
        return list(full), "full-data training loss at the epoch's end"
    return list(history.epochs.train_loss), "running mean of the epoch's batch losses"


@dataclass(frozen=True)
class Diagnosis:
    """What a pair of learning curves says, with the numbers behind the verdict."""

    verdict: str  # "under-fit", "good fit", "over-fit" or "diverged"
    final_train: float
    final_val: float
    best_val: float
    best_epoch: int
    epochs: int
    reason: str
    training: str = "running mean of the epoch's batch losses"  # which training loss was used

    def __str__(self) -> str:
        if self.verdict == "diverged":
            return f"diverged   {self.reason}"
        return (
            f"{self.verdict:9s}  train {self.final_train:.3f}  validation {self.final_val:.3f} "
            f"(best {self.best_val:.3f} at epoch {self.best_epoch} of {self.epochs}): {self.reason}"
        )


def diagnose(history: History, *, high: float = 0.3, rise: float = 0.1) -> Diagnosis:
    """Name the shape of ``history``'s learning curves (the training curve of
    :func:`training_curve`: the full-data loss at each epoch's end when recorded).

    * **under-fit** when the final *training* loss is above ``high`` (for ten digits, chance is
      ln 10 ≈ 2.30): the model has not even learned the samples it trains on;
    * **over-fit** when the final validation loss is more than ``rise`` (a fraction) above its
      best value and the training loss kept falling after that best epoch;
    * **good fit** otherwise;
    * **diverged** when the run stopped at a non-finite loss: its curves end there and say nothing
      about fit.

    >>> h = History(config={})
    >>> h.epochs.epoch, h.epochs.train_loss, h.epochs.val_loss = [1, 2, 3], [0.5, 0.1, 0.01], [0.4, 0.2, 0.3]
    >>> diagnose(h).verdict
    'over-fit'
    """
    if not isinstance(history, History):
        raise TypeError(f"history must be a History, got {type(history).__name__}")
    high = check_float("high", high, low=0.0, low_open=True)
    rise = check_float("rise", rise, low=0.0)
    train_loss, training = training_curve(history)
    val_loss = history.epochs.val_loss
    if history.diverged:
        last = len(train_loss)
        return Diagnosis("diverged", train_loss[-1] if train_loss else math.nan,
                         val_loss[-1] if val_loss and val_loss[-1] is not None else math.nan,
                         min((v for v in val_loss if v is not None), default=math.nan), last, last,
                         f"the loss became non-finite at iteration {history.diverged_at}: lower the "
                         "learning rate")  # fmt: skip
    if not train_loss or val_loss[0] is None:
        raise ValueError(
            "history needs at least one epoch with validation loss (train with val_data=...)"
        )
    best = min(range(len(val_loss)), key=val_loss.__getitem__)
    final_train, final_val, best_val = train_loss[-1], val_loss[-1], val_loss[best]
    if final_train > high:
        verdict, reason = (
            "under-fit",
            f"training loss {final_train:.3f} > {high:g}: both losses stay high",
        )
    elif final_val > (1 + rise) * best_val and final_train < train_loss[best]:
        verdict = "over-fit"
        reason = (
            f"validation loss rose {final_val / best_val - 1:.0%} above its best while training loss "
            f"fell from {train_loss[best]:.3f} to {final_train:.3f}"
        )
    else:
        verdict, reason = (
            "good fit",
            f"both losses low and validation within {rise:.0%} of its best",
        )
    return Diagnosis(
        verdict, final_train, final_val, best_val, best + 1, len(train_loss), reason, training
    )


def gap_words(train_loss: float, val_loss: float) -> str:
    """The gap between a final training and validation loss, said as it is: both numbers, the
    difference and the ratio, and words chosen from the ratio.

    >>> gap_words(0.002, 0.07)
    'training 0.002, validation 0.07: a gap of 0.068, validation 35× training; the model fits its training images far more closely than new ones'
    >>> gap_words(1.64, 1.67).split("; ")[1]
    'a small gap: the model does about as well on new images as on its own'
    """
    train_loss = check_float("train_loss", train_loss, low=0.0)
    val_loss = check_float("val_loss", val_loss, low=0.0)
    head = f"training {train_loss:.3g}, validation {val_loss:.3g}"
    if val_loss <= train_loss:
        return f"{head}: no gap, validation is no higher than training"
    ratio = val_loss / max(train_loss, 1e-12)
    if ratio < 1.25:
        words = "a small gap: the model does about as well on new images as on its own"
    elif ratio < 3:
        words = "the model fits its training images more closely than new ones"
    else:
        words = "the model fits its training images far more closely than new ones"
    return (
        f"{head}: a gap of {val_loss - train_loss:.2g}, validation {ratio:.3g}× training; {words}"
    )


def curve_sentences(histories: dict[str, History], *, rise: float = 0.1) -> str:
    """What each pair of learning curves says, chosen from its diagnosis and numbers, with the gap
    between training and validation said as it is: in absolute terms and as a ratio.

    >>> h = History(config={})
    >>> h.epochs.epoch, h.epochs.full_train_loss, h.epochs.val_loss = [1, 2], [0.5, 0.01], [0.4, 0.05]
    >>> print(curve_sentences({"demo": h}))
    demo: good fit. Validation ends at 0.05, within 10% of its best (0.05, epoch 2), and has not turned up. Final losses (full-data training loss at the epoch's end for training): training 0.01, validation 0.05: a gap of 0.04, validation 5× training; the model fits its training images far more closely than new ones. That gap is room for more data or regularisation, not over-fitting by this chapter's rule, which asks for validation to get worse.
    """
    check_mapping_of("histories", histories, History, "a History, as learning_curve returns")
    check_float("rise", rise, low=0.0)
    lines = []
    for label, h in histories.items():
        d = diagnose(h, rise=rise)
        if d.verdict == "diverged":
            lines.append(f"{label}: diverged. {d.reason}.")
            continue
        gap = f"Final losses ({d.training} for training): {gap_words(d.final_train, d.final_val)}."
        if d.verdict == "under-fit":
            lines.append(
                f"{label}: under-fit. Training ends at {d.final_train:.3g} and validation at "
                f"{d.final_val:.3g}, against {CHANCE_LOSS:.2f} for a uniform guess (ln 10): even the "
                "training images are not learned. The cure is a bigger model or longer training."
            )
        elif d.verdict == "over-fit":
            lines.append(
                f"{label}: over-fit. Validation was lowest at epoch {d.best_epoch} of {d.epochs} "
                f"({d.best_val:.3g}) and ends {d.final_val / d.best_val - 1:.0%} above that, while "
                f"training kept falling. {gap} The model is memorising its training images; the "
                f"cures are more data, or stopping at the best validation epoch (early stopping)."
            )
        else:
            rule = (
                " That gap is room for more data or regularisation, not over-fitting by this chapter's "
                "rule, which asks for validation to get worse."
                if d.final_val > 1.25 * d.final_train
                else ""
            )
            lines.append(
                f"{label}: good fit. Validation ends at {d.final_val:.3g}, within {rise:.0%} of its best "
                f"({d.best_val:.3g}, epoch {d.best_epoch}), and has not turned up. {gap}{rule}"
            )
    return "\n".join(lines)


def plot_learning_curves(
    histories: dict[str, History],
    *,
    title: str = "Learning curves",
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """One panel per run: training (solid, circles; the full-data loss at each epoch's end when
    recorded) and validation (dashed, squares) loss per epoch, the best validation epoch marked,
    and the diagnosis in the panel title.

    >>> h = History(config={})
    >>> h.epochs.epoch, h.epochs.train_loss, h.epochs.val_loss = [1, 2], [0.5, 0.1], [0.4, 0.2]
    >>> len(plot_learning_curves({"demo": h}).axes)
    1
    """
    check_mapping_of("histories", histories, History, "a History, as learning_curve returns")
    check_instance("title", title, str, "a string")
    # at most two panels a row, so any number of runs fits the output's width
    ncols = min(2, len(histories))
    nrows = -(-len(histories) // ncols)
    fig = new_figure(fig, figsize=(3.75 * ncols, 3.6 * nrows))
    axes = list(np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel()))
    for spare in axes[len(histories) :]:
        spare.remove()
    for ax, (label, h) in zip(axes, histories.items()):
        d = diagnose(h)
        train_loss, what = training_curve(h)
        short = "training (full data)" if what.startswith("full") else "training (running mean)"
        every = max(1, len(train_loss) // 20)
        ax.plot(h.epochs.epoch, train_loss, marker="o", ms=3, markevery=every, label=short)
        ax.plot(h.epochs.epoch, h.epochs.val_loss, "--", marker="s", ms=3, markevery=every,
                label="validation")  # fmt: skip
        ax.plot(
            [d.best_epoch],
            [d.best_val],
            "o",
            color="C1",
            label=f"best validation (epoch {d.best_epoch})",
        )
        ax.axhline(CHANCE_LOSS, color="grey", lw=0.8, ls=":", label="chance (ln 10)")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy loss")
        ax.set_title(f"{label}\n→ {d.verdict}")
        ax.legend()
    # One y-range for every panel, so "high" and "low" losses look it side by side.
    lowest = min(
        v
        for h in histories.values()
        for v in training_curve(h)[0] + h.epochs.val_loss
        if v and v > 0
    )
    for ax in axes[: len(histories)]:
        ax.set_ylim(lowest * 0.7, CHANCE_LOSS * 1.5)
    fig.suptitle(title)
    return fig


@dataclass(frozen=True)
class CapstoneResult:
    """What the capstone run did and reached."""

    range_test: RangeTest
    max_lr: float
    lr_rule: str
    batch_size: int
    micro_batch: int
    accumulation_steps: int
    history: History
    val_accuracy: float
    confusion: np.ndarray  # rows: true digit, columns: predicted digit
    val_scores: torch.Tensor  # the trained model's class scores on the validation images
    val_labels: torch.Tensor  # their true digits
    model: torch.nn.Module | None = None  # the trained model, for the test set's one use

    def summary(self) -> str:
        c = self.history.config
        return (
            f"batch {self.batch_size} = {self.accumulation_steps} micro-batches of ≤ {self.micro_batch}, "
            f"{c['iterations_per_epoch']} iterations per epoch, {c['epochs']} epoch{'s' if c['epochs'] != 1 else ''}, "
            f"momentum {c['momentum']:g}, one-cycle max lr {self.max_lr:.3g} (range-test rule {self.lr_rule})"
        )


def run_capstone(
    *,
    hidden: int = 128,
    batch_size: int = 256,
    memory_limit: int = 64,
    epochs: int = 20,
    momentum: float = 0.9,
    range_iterations: int = 100,
    lr_rule: str = RULE,
    seed: int = 0,
) -> CapstoneResult:
    """Range-test, then train ``digits_classifier(hidden)`` with a one-cycle schedule, momentum,
    and ``batch_size`` emulated by accumulating ``ceil(batch_size / memory_limit)`` micro-batches.

    The schedule's peak is the range test's suggestion by ``lr_rule`` (one of
    :data:`~gdlessons.lr_finder.RULES`), read with :func:`~gdlessons.lr_finder.suggested_lr`: by
    default the course's one rule, chosen in chapter 05 (a tenth of the rate where the smoothed
    loss was lowest). The run records the full-data training loss at each epoch's end, like for
    like with the validation loss.

    The result keeps the trained model's validation scores and labels (``val_scores``,
    ``val_labels``), for the chapter's your-turn ``confusion_matrix`` to count; its own
    ``confusion`` is :func:`count_confusions` of them, and the accuracy that matrix's diagonal
    over its total.

    >>> r = run_capstone(hidden=16, epochs=1, range_iterations=20)
    >>> r.accumulation_steps, int(r.confusion.sum())
    (4, 359)
    """
    hidden = check_int("hidden", hidden, low=0)
    memory_limit = check_int("memory_limit", memory_limit, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    epochs = check_int("epochs", epochs, low=1)
    momentum = check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
    train_data, val_data, _ = digits_split(seed=seed)  # the test set: once, in the notebook
    if batch_size > len(train_data):  # no silent clamp: a batch cannot hold more than the data
        raise ValueError(
            f"batch_size must be between 1 and {len(train_data)}, the number of training images, "
            f"got {batch_size}"
        )
    steps = math.ceil(batch_size / memory_limit)
    model = digits_classifier(hidden=hidden, seed=seed)
    # The range test trains the model and then restores it bit for bit, so it can run first.
    test = lr_range_test(
        model, train_data, start_lr=1e-4, end_lr=10.0, iterations=range_iterations, batch_size=batch_size,
        momentum=momentum, accumulation_steps=steps, loss="cross_entropy", seed=seed,
    )  # fmt: skip
    check_choice("lr_rule", lr_rule, RULES)
    try:
        max_lr = suggested_lr(test, lr_rule)
    except ValueError as err:
        raise ValueError(f"{err} (raise range_iterations)") from None
    total = epochs * iterations_per_epoch(len(train_data), batch_size)

    history = train(
        model, train_data, batch_size=batch_size, accumulation_steps=steps, epochs=epochs, lr=max_lr,
        momentum=momentum, scheduler=one_cycle(max_lr, total), val_data=val_data, loss="cross_entropy", seed=seed,
        hooks=[FullTrainLoss()],
    )  # fmt: skip
    scores, labels = _validation_scores(model, val_data)
    matrix = count_confusions(scores, labels).numpy()
    return CapstoneResult(
        range_test=test, max_lr=max_lr, lr_rule=lr_rule, batch_size=batch_size, micro_batch=min(memory_limit, batch_size),
        accumulation_steps=steps, history=history, val_accuracy=float(np.trace(matrix) / matrix.sum()),
        confusion=matrix, val_scores=scores, val_labels=labels, model=model,
    )  # fmt: skip


def _validation_scores(model: torch.nn.Module, val_data) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's class scores on the validation images (eval mode, no graph) and their labels."""
    return class_scores(model, val_data)


def class_scores(model: torch.nn.Module, data) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's class scores on all of ``data`` (eval mode, no graph) and its labels: what a
    confusion matrix counts, on the validation images while choosing, on the test images once.

    >>> m = torch.nn.Linear(2, 3)
    >>> [tuple(t.shape) for t in class_scores(m, (torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)))]
    [(4, 3), (4,)]
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    X, y = as_tensors(data)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        scores = model(X)
    model.train(was_training)
    return scores, y


def plot_capstone(
    result: CapstoneResult,
    *,
    confusion: np.ndarray | torch.Tensor | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """Three panels: the learning rate per iteration (the one cycle) and the learning curves per
    epoch (validation beside the full-data training loss at each epoch's end, and, dotted, the
    running mean of each epoch's batch losses) side by side, the validation confusion matrix
    below them: ``confusion`` if given (the counts of the chapter's your-turn function, a tensor
    or an array), else the result's own.

    >>> r = run_capstone(hidden=16, epochs=1, range_iterations=20)
    >>> len(plot_capstone(r).axes)
    3
    """
    check_instance("result", result, CapstoneResult, "a CapstoneResult, as run_capstone returns")
    fig = new_figure(fig, figsize=(7.5, 7.0))
    top, bottom = fig.subfigures(2, 1, height_ratios=(1, 1.15))
    rate, curves = top.subplots(1, 2)
    matrix = bottom.subplots()
    its, eps = result.history.iterations, result.history.epochs
    rate.plot(its.iteration, its.lr)
    rate.set_xlabel("iteration (optimizer updates)")
    rate.set_ylabel("learning rate")
    rate.set_title(f"One cycle up to max lr {result.max_lr:.3g}")
    train_loss, what = training_curve(result.history)
    curves.plot(eps.epoch, train_loss, "-o", ms=3, label="training, full data at epoch end")
    curves.plot(eps.epoch, eps.val_loss, "--s", ms=3, label="validation (epoch end)")
    if what.startswith("full"):
        curves.plot(eps.epoch, eps.train_loss, ":", color="0.45", lw=1.2,
                    label="training, running mean of batch losses")  # fmt: skip
    curves.set_yscale("log")
    curves.set_xlabel("epoch")
    curves.set_ylabel("cross-entropy loss")
    curves.set_title("Learning curves")
    curves.legend(loc="upper right")  # the curves start top left and fall
    counts = result.confusion if confusion is None else np.asarray(confusion)
    k = result.confusion.shape[0]
    if counts.shape != (k, k):
        raise ValueError(
            f"confusion must be a {k}×{k} matrix of counts (one row and column per digit), got "
            f"shape {counts.shape}"
        )
    right = np.trace(counts) / max(counts.sum(), 1)
    plot_confusion(counts, ax=matrix, title=f"Validation: {right:.1%} correct")
    return fig


def plot_confusion(confusion: np.ndarray, *, ax=None, title: str = "Confusion matrix") -> Figure:
    """The confusion matrix as an image with every non-zero count written in its cell.

    >>> plot_confusion(np.eye(3, dtype=int)).axes[0].get_ylabel()
    'true digit'
    """
    from gdlessons.display.plots import new_axes

    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion must be a square matrix, got shape {confusion.shape}")
    fig, ax = new_axes(ax)
    ax.imshow(confusion, cmap="Blues")
    k = len(confusion)
    top = confusion.max() or 1
    for i in range(k):
        for j in range(k):
            if confusion[i, j]:
                color = (
                    "white" if confusion[i, j] > top / 2 else ("firebrick" if i != j else "black")
                )
                ax.text(
                    j, i, str(confusion[i, j]), ha="center", va="center", fontsize=9, color=color
                )
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
    ax.grid(False)
    return fig


def plot_capstone_range_test(result: CapstoneResult, *, ax: Axes | None = None) -> Figure:
    """The capstone's range test (:func:`~gdlessons.display.range_test.plot_range_test`, every
    rule's rate marked, the one used named) with the one-cycle peak taken from it shaded (the
    y-axis already names the cross-entropy loss).

    >>> r = run_capstone(hidden=16, epochs=1, range_iterations=20)
    >>> plot_capstone_range_test(r).axes[0].get_ylabel()
    'cross-entropy loss'
    """
    check_instance("result", result, CapstoneResult, "a CapstoneResult, as run_capstone returns")
    c = result.range_test.config
    fig = plot_range_test(
        result.range_test,
        ax=ax,
        rule=result.lr_rule,
        title=f"Range test: batch {c['batch_size']} ({c['accumulation_steps']} micro-batches), "
        f"momentum {c['momentum']:g}",
    )
    ax = ax if ax is not None else fig.axes[0]
    ax.axvline(result.max_lr, color="0.3", lw=6, alpha=0.25,
               label=f"one-cycle peak ({result.lr_rule}): lr {result.max_lr:.3g}")  # fmt: skip
    range_test_legend(ax)
    return fig


def capstone_sentences(result: CapstoneResult, *, goal: float = 0.95, rise: float = 0.1) -> str:
    """The capstone in words chosen from its numbers: where the peak rate came from and where the
    other rules pointed; why validation can sit below the *running-mean* training loss early on,
    and how it compares with the full-data training loss measured at the same moment; the final
    gap said as it is; and the validation accuracy beside the goal, which the test set judges.

    >>> r = run_capstone(hidden=16, epochs=2, range_iterations=20)
    >>> capstone_sentences(r).splitlines()[0].startswith("range test: smoothed loss lowest at lr")
    True
    """
    check_instance("result", result, CapstoneResult, "a CapstoneResult, as run_capstone returns")
    check_float("goal", goal, low=0.0, high=1.0, low_open=True)
    check_float("rise", rise, low=0.0)
    t, eps = result.range_test, result.history.epochs
    others = ", ".join(
        f"{name} {lr:.2g} ({lr / result.max_lr:.2g}× the peak)"
        for name, lr in t.suggestions.items()
        if name != result.lr_rule and lr is not None
    )
    lines = [
        f"range test: smoothed loss lowest at lr {t.min_loss_lr:.3g}; the course rule {result.lr_rule} gives "
        f"the one-cycle peak {result.max_lr:.3g}; the other rules: {others or 'none'}"
    ]
    full, val, mean = eps.full_train_loss, eps.val_loss, eps.train_loss
    below_mean = [e for e, v, m in zip(eps.epoch, val, mean) if v < m]
    below_full = [e for e, v, f in zip(eps.epoch, val, full) if v < f]
    first = (
        f"epoch 1: running mean of the batch losses {mean[0]:.3g}, full-data training loss at the "
        f"epoch's end {full[0]:.3g}, validation {val[0]:.3g}"
    )
    if below_mean:
        lines.append(
            f"{first}. Validation sits below the running mean in {len(below_mean)} of {len(eps.epoch)} "
            f"epochs (from epoch {below_mean[0]}): the running mean averages batch losses measured while "
            "the weights were still moving, about half an epoch behind the model that validation sees"
        )
    else:
        lines.append(f"{first}. Validation never sits below the running mean here")
    lines.append(
        "measured like for like, on the model at each epoch's end: validation below the full-data "
        + (
            f"training loss in {len(below_full)} of {len(eps.epoch)} epochs "
            f"({'epoch' if len(below_full) == 1 else 'epochs'} {_spans(below_full)})"
            if below_full
            else "training loss in no epoch"
        )
    )
    d = diagnose(result.history, rise=rise)
    gap = f"final losses, full-data {gap_words(d.final_train, d.final_val)}"
    if d.final_val > (1 + rise) * d.best_val:
        turn = (
            f"validation ends {d.final_val / d.best_val - 1:.0%} above its best ({d.best_val:.2g}, epoch "
            f"{d.best_epoch}): it got worse"
        )
    else:
        turn = (
            f"validation ends within {rise:.0%} of its best ({d.best_val:.2g}, epoch {d.best_epoch}): it "
            "did not get worse, so this is not over-fitting by this chapter's rule"
        )
    lines.append(f"{gap}; {turn} (verdict: {d.verdict})")
    side = "above" if result.val_accuracy >= goal else "below"
    lines.append(
        f"validation accuracy {result.val_accuracy:.1%} on {int(result.confusion.sum())} images: {side} "
        f"{goal:.0%} here, but the {goal:.0%} goal is judged on the test set, once, at the end"
    )
    return "\n".join(lines)


def _spans(epochs: list[int]) -> str:
    """Runs of consecutive epochs: [1, 2, 3, 7] -> "1–3, 7".

    >>> _spans([1, 2, 3, 7])
    '1–3, 7'
    """
    parts, start = [], None
    for i, e in enumerate(epochs):
        if start is None:
            start = e
        if i + 1 == len(epochs) or epochs[i + 1] != e + 1:
            parts.append(f"{start}–{e}" if e != start else f"{e}")
            start = None
    return ", ".join(parts)


@torch.no_grad()
def accuracy(model: torch.nn.Module, data) -> float:
    """Fraction of samples whose highest class score is the label.

    >>> m = torch.nn.Linear(2, 2); m.weight.data = torch.eye(2); m.bias.data = torch.zeros(2)
    >>> accuracy(m, (torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0])))
    0.5
    """
    X, y = check_training_data(data)
    check_model_fits(model, X, y, "cross_entropy")
    was_training = model.training
    model.eval()
    try:
        return float((model(X).argmax(dim=1) == y).float().mean())
    finally:
        model.train(was_training)


def confusion_matrix(model: torch.nn.Module, data, classes: int = 10) -> np.ndarray:
    """Counts of (true class, predicted class) pairs: the diagonal is right, the rest shows
    which digits are taken for which.

    >>> m = torch.nn.Linear(2, 2); m.weight.data = torch.eye(2); m.bias.data = torch.zeros(2)
    >>> confusion_matrix(m, (torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([0, 1])), classes=2).tolist()
    [[1, 0], [1, 0]]
    """
    classes = check_int("classes", classes, low=2)
    X, y = check_training_data(data)
    check_model_fits(model, X, y, "cross_entropy")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        scores = model(X)
    model.train(was_training)
    if scores.shape[1] != classes or int(y.max()) >= classes:
        raise ValueError(
            f"classes must be the number of classes the model scores ({scores.shape[1]}), "
            f"with every label in 0..classes-1 (labels reach {int(y.max())}); got classes={classes}"
        )
    return count_confusions(scores, y).numpy()


def count_confusions(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The confusion matrix of class ``scores`` (one row per sample, one column per class)
    against the true ``labels``: entry [i, j] counts the samples of class i whose highest score
    is class j.

    >>> count_confusions(torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0]]), torch.tensor([0, 0, 1])).tolist()
    [[1, 1], [1, 0]]
    """
    if not (isinstance(scores, torch.Tensor) and scores.ndim == 2 and scores.shape[1] >= 1):
        raise ValueError(f"scores must be a 2-D tensor (samples × classes), got {scores!r}")
    if not (isinstance(labels, torch.Tensor) and labels.shape == scores.shape[:1]
            and not labels.is_floating_point()):  # fmt: skip
        raise ValueError(
            f"labels must be a 1-D integer tensor with one label per row of scores "
            f"({scores.shape[0]}), got {labels!r}"
        )
    classes = scores.shape[1]
    if len(labels) and not (0 <= int(labels.min()) and int(labels.max()) < classes):
        raise ValueError(f"labels must lie in 0..{classes - 1} (the classes of scores), got "
                         f"{int(labels.min())}..{int(labels.max())}")  # fmt: skip
    predicted = scores.argmax(dim=1)
    counts = torch.bincount(labels * classes + predicted, minlength=classes * classes)
    return counts.reshape(classes, classes)


# ---------------------------------------------------------------------------------------------
# Larger batches: linear scaling with warm-up, the generalisation gap, Adam's square root
# ---------------------------------------------------------------------------------------------

SCALING_RULES = ("same", "linear", "linear + warm-up", "square root")


def scaled_lr(rule: str, base_lr: float, base_batch: int, batch_size: int) -> float:
    """The rate ``rule`` gives at ``batch_size``, from ``base_lr`` that works at ``base_batch``:
    the same rate, the rate times B / base_batch (linear, Goyal et al. 2017; the warm-up only
    changes the first updates), or times √(B / base_batch) (square root, Hoffer et al. 2017 for
    SGD, Malladi et al. 2022 for Adam).

    >>> scaled_lr("linear", 0.25, 32, 128), scaled_lr("square root", 0.01, 32, 128)
    (1.0, 0.02)
    """
    check_choice("rule", rule, SCALING_RULES)
    base_lr = check_float("base_lr", base_lr, low=0.0, low_open=True)
    ratio = check_int("batch_size", batch_size, low=1) / check_int("base_batch", base_batch, low=1)
    return base_lr * {"same": 1.0, "square root": math.sqrt(ratio)}.get(rule, ratio)


def linear_warmup(iteration: int, warmup_iterations: int, start_factor: float) -> float:
    """The factor ``LinearLR(start_factor=..., total_iters=warmup_iterations)`` multiplies the
    rate by at update ``iteration`` (counted from 0): from ``start_factor`` up in equal steps to
    1 at ``warmup_iterations``, then 1 (the chapter's your-turn t3 writes it).

    >>> [linear_warmup(t, 4, 0.2) for t in range(6)]
    [0.2, 0.4, 0.6000000000000001, 0.8, 1.0, 1.0]
    """
    iteration = check_int("iteration", iteration, low=0)
    warmup_iterations = check_int("warmup_iterations", warmup_iterations, low=1)
    start_factor = check_float("start_factor", start_factor, low=0.0, high=1.0, low_open=True)
    return (
        start_factor + (1.0 - start_factor) * min(iteration, warmup_iterations) / warmup_iterations
    )


@dataclass(frozen=True)
class ScalingRun:
    """One run of a scaling comparison, measured on the model at its end (NaN where it failed)."""

    batch_size: int
    rule: str
    lr: float
    train_loss: float  # the full-data training loss
    val_loss: float
    failed: bool  # non-finite, or worse than a uniform guess (ln 10)

    @property
    def gap(self) -> float:
        """Validation minus training loss: how much worse the model does on new images."""
        return self.val_loss - self.train_loss


@dataclass(frozen=True)
class Scaling:
    """Runs of every (batch size, rule) pair from one base (batch size, rate), same epochs."""

    optimizer: str
    base_batch: int
    base_lr: float
    epochs: int
    warmup_iterations: dict  # batch size -> iterations of warm-up (rule "linear + warm-up")
    runs: tuple

    def run(self, batch_size: int, rule: str) -> ScalingRun:
        """The run at one batch size under one rule."""
        for r in self.runs:
            if r.batch_size == batch_size and r.rule == rule:
                return r
        raise ValueError(
            f"no run at batch_size={batch_size!r} with rule={rule!r} in this comparison"
        )

    @property
    def batch_sizes(self) -> list[int]:
        return list(dict.fromkeys(r.batch_size for r in self.runs))

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(r.rule for r in self.runs))


def compare_scaling(
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES,
    rules: tuple[str, ...] = ("linear", "linear + warm-up"),
    *,
    optimizer: str = "sgd",
    base_batch: int = 32,
    base_lr: float = 0.25,
    epochs: int = 8,
    warmup_fraction: float = 0.2,
    start_factor: float = 0.1,
    warmup: Callable | None = None,
    hidden: int = 32,
    seed: int = 0,
) -> Scaling:
    """Train ``digits_classifier(hidden)`` for ``epochs`` at every batch size, its rate given by
    each rule from ``base_lr`` at ``base_batch`` (:func:`scaled_lr`), all from the same initial
    weights and, per batch size, on the same batches (one sweep per batch size).

    Why: a fixed epoch budget is the fair comparison of batch sizes (same samples seen); the rule
    decides whether the larger batch trains as far, and the end-of-run losses show whether it
    generalises as well (Keskar et al. 2017: large batches tend to a larger generalisation gap).
    "linear + warm-up" raises the rate from ``start_factor`` × it to it over the first
    ``warmup_fraction`` of the run's iterations (Goyal et al. 2017), by ``warmup(t, W,
    start_factor)`` in a ``LambdaLR`` if given (the chapter's your-turn function), else by
    ``LinearLR``.

    >>> s = compare_scaling((64, 256), ("same", "linear"), epochs=1)
    >>> [(r.batch_size, r.rule, r.lr) for r in s.runs]
    [(64, 'same', 0.25), (64, 'linear', 0.5), (256, 'same', 0.25), (256, 'linear', 2.0)]
    """
    batch_sizes = check_sequence(
        "batch_sizes", batch_sizes, item=lambda n, B: check_int(n, B, low=1)
    )
    rules = check_sequence("rules", rules, item=lambda n, r: check_choice(n, r, SCALING_RULES))
    check_choice("optimizer", optimizer, ("sgd", "adam"))
    base_batch = check_int("base_batch", base_batch, low=1)
    base_lr = check_float("base_lr", base_lr, low=0.0, low_open=True)
    epochs = check_int("epochs", epochs, low=1)
    warmup_fraction = check_float(
        "warmup_fraction", warmup_fraction, low=0.0, high=1.0, low_open=True
    )
    start_factor = check_float("start_factor", start_factor, low=0.0, high=1.0, low_open=True)
    if warmup is not None and not callable(warmup):
        raise TypeError(
            f"warmup must be a function (iteration, warmup_iterations, start_factor) -> factor, got {warmup!r}"
        )
    train_data, val_data, _ = digits_split(seed=seed)  # the test set stays unseen
    if max(batch_sizes) > len(train_data):
        raise ValueError(
            f"batch_sizes must lie between 1 and {len(train_data)}, the number of training images, got {list(batch_sizes)}"
        )
    runs, warmups = [], {}
    for B in batch_sizes:
        W = max(1, round(warmup_fraction * epochs * math.ceil(len(train_data) / B)))
        warmups[B] = W
        configs = []
        for rule in rules:
            config = {"optimizer": optimizer, "lr": scaled_lr(rule, base_lr, base_batch, B)}
            if rule == "linear + warm-up":
                config["scheduler"] = _warmup_factory(W, start_factor, warmup)
            configs.append(config)
        nets = [digits_classifier(hidden=hidden, seed=seed) for _ in rules]
        histories = sweep(nets, train_data, configs, batch_size=B, epochs=epochs, val_data=val_data,
                          loss="cross_entropy", seed=seed)  # fmt: skip
        for rule, config, net, h in zip(rules, configs, nets, histories):
            tr, va = (
                evaluate(net, train_data, "cross_entropy"),
                evaluate(net, val_data, "cross_entropy"),
            )
            failed = h.diverged or not (math.isfinite(va) and va <= CHANCE_LOSS)
            runs.append(ScalingRun(B, rule, config["lr"], math.nan if failed else tr,
                                   math.nan if failed else va, failed))  # fmt: skip
    return Scaling(optimizer, base_batch, base_lr, epochs, warmups, tuple(runs))


def _warmup_factory(W: int, start_factor: float, warmup: Callable | None):
    if warmup is None:
        return lambda opt: torch.optim.lr_scheduler.LinearLR(
            opt, start_factor=start_factor, total_iters=W
        )
    return lambda opt: torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: float(warmup(t, W, start_factor))
    )


def scaling_table(scaling: Scaling, *, gap: bool = True) -> str:
    """The comparison as text: per batch size and rule the rate, the final full-data training and
    validation losses and (``gap``) their difference; × where the run failed.

    >>> print(scaling_table(compare_scaling((64,), ("linear",), epochs=1), gap=False).splitlines()[0])
    batch  rule                 lr   train    val
    """
    check_instance("scaling", scaling, Scaling, "a Scaling, as compare_scaling returns")
    check_bool("gap", gap)
    lines = ["batch  rule                 lr   train    val" + ("    gap" if gap else "")]
    for r in scaling.runs:
        if r.failed:
            cells = "       ×      ×" + ("      ×" if gap else "") + "  (failed)"
        else:
            cells = f" {r.train_loss:7.3f} {r.val_loss:6.3f}" + (f" {r.gap:6.3f}" if gap else "")
        lines.append(f"{r.batch_size:>5d}  {r.rule:<16s} {r.lr:>6.3g}{cells}")
    return "\n".join(lines)


def failed_runs(scaling: Scaling) -> str:
    """Which runs failed (diverged or ended worse than chance) and which trained: verdicts with
    room to spare, the same on any CPU.

    >>> failed_runs(compare_scaling((64,), ("linear",), epochs=1))
    'every run trained (validation loss below chance, ln 10)'
    """
    check_instance("scaling", scaling, Scaling, "a Scaling, as compare_scaling returns")
    bad = [f"B={r.batch_size} {r.rule} (lr {r.lr:.3g})" for r in scaling.runs if r.failed]
    if not bad:
        return "every run trained (validation loss below chance, ln 10)"
    return f"failed (diverged or above chance): {', '.join(bad)}; every other run trained"


def scaling_sentences(scaling: Scaling) -> str:
    """What the comparison shows, in words chosen from its numbers: for each rule the spread of
    the final validation losses over the batch sizes that trained, and the generalisation gap at
    the smallest and the largest of them; the warm-up's effect per batch size, if run; which rule
    gave the lower validation loss at each batch size, if several were run.

    >>> s = compare_scaling((64, 256), ("same", "linear"), epochs=1)
    >>> scaling_sentences(s).splitlines()[0].startswith("same: trained at every batch size")
    True
    """
    check_instance("scaling", scaling, Scaling, "a Scaling, as compare_scaling returns")
    lines = []
    for rule in scaling.rules:
        runs = [scaling.run(B, rule) for B in scaling.batch_sizes]
        ok = [r for r in runs if not r.failed]
        lost = [f"B={r.batch_size}" for r in runs if r.failed]
        where = "at every batch size" if not lost else f"except at {', '.join(lost)}"
        if not ok:
            lines.append(f"{rule}: failed at every batch size")
            continue
        vals = [r.val_loss for r in ok]
        line = (f"{rule}: trained {where}; final validation loss {min(vals):.3g} to {max(vals):.3g} "
                f"(×{max(vals) / min(vals):.3g})")  # fmt: skip
        if len(ok) > 1:
            a, b = ok[0], ok[-1]
            trend = "larger" if b.gap > a.gap else "smaller"
            line += (f"; generalisation gap (validation − training) {a.gap:.3g} at B={a.batch_size}, "
                     f"{b.gap:.3g} at B={b.batch_size}: {trend} at the larger batch")  # fmt: skip
        lines.append(line)
    if {"linear", "linear + warm-up"} <= set(scaling.rules):
        lower, higher, rescued, broke = [], [], [], []
        for B in scaling.batch_sizes:
            plain, warm = scaling.run(B, "linear"), scaling.run(B, "linear + warm-up")
            if plain.failed or warm.failed:
                (
                    rescued
                    if plain.failed and not warm.failed
                    else broke
                    if warm.failed and not plain.failed
                    else []
                ).append(f"B={B}")
                continue
            (lower if warm.val_loss < plain.val_loss else higher).append(f"B={B}")
        parts = [f"lower at {', '.join(lower)}" if lower else "", f"higher at {', '.join(higher)}" if higher else "",
                 f"it rescued {', '.join(rescued)}" if rescued else "", f"it failed where the plain run trained at {', '.join(broke)}" if broke else ""]  # fmt: skip
        warmed = ", ".join(f"B={B}: {W}" for B, W in scaling.warmup_iterations.items())
        lines.append(f"warm-up ({warmed} iterations): final validation loss "
                     + ("; ".join(p for p in parts if p) or "no run to compare"))  # fmt: skip
    others = [r for r in scaling.rules if r != "linear + warm-up"]
    if len(others) > 1:
        best = []
        for B in scaling.batch_sizes:
            done = [scaling.run(B, rule) for rule in others if not scaling.run(B, rule).failed]
            lrs = {r.lr for r in done}
            if len(lrs) == 1 and len(done) == len(others):
                best.append(f"B={B}: all rules give the same rate")
            elif done:
                best.append(f"B={B}: {min(done, key=lambda r: r.val_loss).rule}")
        lines.append("lowest final validation loss per batch size: " + "; ".join(best))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Choosing on validation, reporting on test
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidates:
    """K trained candidate configurations and their accuracies on the validation and test images."""

    labels: tuple  # one name per candidate, "lr 0.05, init 2"
    val_accuracy: np.ndarray
    test_accuracy: np.ndarray


def compare_candidates(
    lrs: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1),
    seeds: int = 4,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    hidden: int = 64,
    momentum: float = 0.9,
    seed: int = 0,
) -> Candidates:
    """Train ``len(lrs) × seeds`` candidates (every rate, each from ``seeds`` initialisations;
    SGD with momentum, one sweep) and score each on the validation *and* the test images.

    Why: to measure selection bias. Choosing the candidate with the best validation accuracy
    picks the one the validation images happen to favour, so its validation score is optimistic;
    its test score is not, because no choice looked at the test images. In real work only the
    chosen candidate's test score is ever computed; here every candidate's is, to measure the
    bias (:func:`selection_gaps`).

    >>> c = compare_candidates((0.05,), 2, epochs=1)
    >>> c.labels, c.val_accuracy.shape
    (('lr 0.05, init 0', 'lr 0.05, init 1'), (2,))
    """
    lrs = check_sequence("lrs", lrs, item=lambda n, v: check_float(n, v, low=0.0, low_open=True))
    seeds = check_int("seeds", seeds, low=1)
    epochs = check_int("epochs", epochs, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    hidden = check_int("hidden", hidden, low=1)
    momentum = check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
    train_data, val_data, test_data = digits_split(seed=seed)
    if batch_size > len(train_data):
        raise ValueError(
            f"batch_size must be between 1 and {len(train_data)}, the number of training images, got {batch_size}"
        )
    pairs = [(lr, seed + s) for lr in lrs for s in range(seeds)]
    nets = [digits_classifier(hidden=hidden, seed=init) for _, init in pairs]
    sweep(nets, train_data, [{"lr": lr, "momentum": momentum} for lr, _ in pairs], batch_size=batch_size,
          epochs=epochs, loss="cross_entropy", seed=seed)  # fmt: skip

    def accuracy_on(data):
        return np.array(
            [float((class_scores(n, data)[0].argmax(dim=1) == data.y).float().mean()) for n in nets]
        )

    labels = tuple(f"lr {lr:g}, init {init - seed}" for lr, init in pairs)
    return Candidates(labels, accuracy_on(val_data), accuracy_on(test_data))


def choose_on_validation(val_accuracy) -> int:
    """The index of the candidate with the highest validation accuracy, the first of equal ones
    (the chapter's your-turn t5 writes the choice and the report together).

    >>> choose_on_validation([0.95, 0.97, 0.97])
    1
    """
    values = check_numbers("val_accuracy", val_accuracy)
    return int(np.argmax(values))


def selection_gaps(
    candidates: Candidates,
    sizes: tuple[int, ...] | None = None,
    *,
    draws: int = 2000,
    seed: int = 0,
) -> list[tuple[int, float, float]]:
    """Selection bias against the number of candidates compared: for each k in ``sizes`` (by
    default 1, 2, 4, ... up to K), ``draws`` seeded random sets of k candidates, each choosing
    its best on validation (:func:`choose_on_validation`); returned as (k, the chosen ones' mean
    validation accuracy, their mean test accuracy). At k = 1 nothing is chosen: the difference
    there is only how the two image sets differ; its growth with k is the selection's bias.

    >>> c = Candidates(("a", "b"), np.array([0.9, 0.8]), np.array([0.8, 0.85]))
    >>> selection_gaps(c, (2,))
    [(2, 0.9, 0.8)]
    """
    check_instance(
        "candidates", candidates, Candidates, "Candidates, as compare_candidates returns"
    )
    K = len(candidates.labels)
    if sizes is None:
        sizes = tuple(sorted({*(2**i for i in range(K.bit_length()) if 2**i <= K), K}))
    sizes = check_sequence("sizes", sizes, item=lambda n, k: check_int(n, k, low=1, high=K))
    draws = check_int("draws", draws, low=1)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    val, test = candidates.val_accuracy, candidates.test_accuracy
    out = []
    for k in sizes:
        # each set in the candidates' own order, so a tie goes to the first, as choose_on_validation does
        picks = [
            np.sort(rng.choice(K, size=k, replace=False)) for _ in range(draws if k < K else 1)
        ]
        chosen = [p[choose_on_validation(val[p])] for p in picks]
        out.append((k, float(val[chosen].mean()), float(test[chosen].mean())))
    return out


def selection_table(gaps: list[tuple[int, float, float]]) -> str:
    """The selection gaps as text, in accuracy points (percent).

    >>> print(selection_table([(1, 0.95, 0.945), (4, 0.97, 0.95)]))
    candidates  chosen: validation   test   validation − test
             1                95.0%  94.5%          +0.5 points
             4                97.0%  95.0%          +2.0 points
    """
    _check_gaps(gaps)
    lines = ["candidates  chosen: validation   test   validation − test"]
    for k, v, t in gaps:
        lines.append(f"{k:>10d} {v:>20.1%} {t:>6.1%} {100 * (v - t):>+13.1f} points")
    return "\n".join(lines)


def selection_sentences(gaps: list[tuple[int, float, float]]) -> str:
    """Whether the optimism of the chosen validation score grew with the number of candidates:
    the gap at one candidate (no choice: how the two image sets differ) against the gap at the
    most candidates.

    >>> print(selection_sentences([(1, 0.95, 0.945), (4, 0.97, 0.95)]))
    validation − test: +0.5 points with 1 candidate (no choice made), +2.0 with 4: the choice added +1.5 points of optimism
    """
    _check_gaps(gaps)
    (k0, v0, t0), (k1, v1, t1) = gaps[0], gaps[-1]
    added = 100 * ((v1 - t1) - (v0 - t0))
    verdict = (f"the choice added {added:+.1f} points of optimism" if added > 0.05
               else f"the choice added no optimism here ({added:+.1f} points)")  # fmt: skip
    one = "candidate (no choice made)" if k0 == 1 else "candidates"
    return (f"validation − test: {100 * (v0 - t0):+.1f} points with {k0} {one}, {100 * (v1 - t1):+.1f} "
            f"with {k1}: {verdict}")  # fmt: skip


def _check_gaps(gaps) -> None:
    def row(name, r):
        if not (isinstance(r, (tuple, list)) and len(r) == 3):
            raise TypeError(
                f"{name} must be a (k, validation, test) triple, as selection_gaps returns, got {r!r}"
            )
        check_int(f"{name}[0] (k)", r[0], low=1)
        check_float(f"{name}[1] (validation accuracy)", r[1], low=0.0, high=1.0)
        check_float(f"{name}[2] (test accuracy)", r[2], low=0.0, high=1.0)

    check_sequence("gaps", gaps, item=row)
