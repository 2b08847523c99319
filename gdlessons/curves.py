"""Learning curves: training and validation loss per epoch, and how to read them.

Three shapes matter. *Under-fitting*: both losses stay high (the model is too small, or trained
too briefly). *A good fit*: both fall and level off close together. *Over-fitting*: the training
loss keeps falling while the validation loss turns and rises (the model memorises its training
samples). :func:`learning_curve` trains one digits classifier and returns its History;
:func:`diagnose` names the shape from the numbers, so a reader can check the picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from matplotlib.figure import Figure

from gdlessons._validate import check_float, check_int
from gdlessons.data import Dataset, as_tensors
from gdlessons.models import digits_classifier
from gdlessons.plots import new_axes
from gdlessons.training import History, train

CHANCE_LOSS = math.log(10)  # cross-entropy of a uniform guess over the ten digits


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
) -> History:
    """Train ``digits_classifier(hidden, depth)`` with cross-entropy and return its History,
    whose ``epochs.train_loss`` and ``epochs.val_loss`` are the two learning curves.

    >>> from gdlessons.data import digits_data
    >>> tr, va = digits_data()
    >>> h = learning_curve(subset(tr, 64), va, hidden=8, epochs=2)
    >>> h.epochs.epoch, h.epochs.val_loss[0] is not None
    ([1, 2], True)
    """
    model = digits_classifier(hidden=hidden, depth=depth, seed=seed)
    return train(
        model, train_data, batch_size=min(batch_size, len(as_tensors(train_data)[0])), epochs=epochs,
        lr=lr, momentum=momentum, loss="cross_entropy", val_data=val_data, seed=seed, progress=False,
    )  # fmt: skip


@dataclass(frozen=True)
class Diagnosis:
    """What a pair of learning curves says, with the numbers behind the verdict."""

    verdict: str  # "under-fit", "good fit" or "over-fit"
    final_train: float
    final_val: float
    best_val: float
    best_epoch: int
    epochs: int
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.verdict:9s}  train {self.final_train:.3f}  validation {self.final_val:.3f} "
            f"(best {self.best_val:.3f} at epoch {self.best_epoch} of {self.epochs}): {self.reason}"
        )


def diagnose(history: History, *, high: float = 0.3, rise: float = 0.1) -> Diagnosis:
    """Name the shape of ``history``'s learning curves.

    * **under-fit** when the final *training* loss is above ``high`` (for ten digits, chance is
      ln 10 ≈ 2.30): the model has not even learned the samples it trains on;
    * **over-fit** when the final validation loss is more than ``rise`` (a fraction) above its
      best value and the training loss kept falling after that best epoch;
    * **good fit** otherwise.

    >>> h = History(config={})
    >>> h.epochs.epoch, h.epochs.train_loss, h.epochs.val_loss = [1, 2, 3], [0.5, 0.1, 0.01], [0.4, 0.2, 0.3]
    >>> diagnose(h).verdict
    'over-fit'
    """
    if not isinstance(history, History):
        raise TypeError(f"history must be a History, got {type(history).__name__}")
    high = check_float("high", high, low=0.0, low_open=True)
    rise = check_float("rise", rise, low=0.0)
    train_loss, val_loss = history.epochs.train_loss, history.epochs.val_loss
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
    return Diagnosis(verdict, final_train, final_val, best_val, best + 1, len(train_loss), reason)


def plot_learning_curves(
    histories: dict[str, History], *, title: str = "Learning curves"
) -> Figure:
    """One panel per run: training (solid) and validation (dashed) loss per epoch, the best
    validation epoch marked, and the diagnosis in the panel title.

    >>> h = History(config={})
    >>> h.epochs.epoch, h.epochs.train_loss, h.epochs.val_loss = [1, 2], [0.5, 0.1], [0.4, 0.2]
    >>> len(plot_learning_curves({"demo": h}).axes)
    1
    """
    if not histories:
        raise ValueError("histories must hold at least one run")
    fig, axes = new_axes(figsize=(3.6 * len(histories), 3.4), ncols=len(histories))
    axes = [axes] if len(histories) == 1 else list(axes)
    for ax, (label, h) in zip(axes, histories.items()):
        d = diagnose(h)
        ax.plot(h.epochs.epoch, h.epochs.train_loss, label="training")
        ax.plot(h.epochs.epoch, h.epochs.val_loss, "--", label="validation")
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
        ax.legend(fontsize=7)
    # One y-range for every panel, so "high" and "low" losses look it side by side.
    lowest = min(
        v
        for h in histories.values()
        for v in h.epochs.train_loss + h.epochs.val_loss
        if v and v > 0
    )
    for ax in axes:
        ax.set_ylim(lowest * 0.7, CHANCE_LOSS * 1.5)
    fig.suptitle(title)
    return fig
