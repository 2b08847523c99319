"""The capstone: a digits classifier trained with everything from the course.

Mini-batch SGD with momentum; a batch larger than "memory" allows, emulated by gradient
accumulation (``memory_limit`` samples per forward/backward pass, ``batch_size`` per update);
a maximum rate read off a learning-rate range test; and a one-cycle schedule
(``torch.optim.lr_scheduler.OneCycleLR``) through ``train(scheduler=...)``. The result is plain
data: the range test, the History, the validation accuracy and the confusion matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure

from gdlessons._validate import check_choice, check_float, check_int
from gdlessons.batching import iterations_per_epoch
from gdlessons.data import as_tensors, digits_data
from gdlessons.lr_finder import RangeTest, lr_range_test
from gdlessons.models import digits_classifier
from gdlessons.training import History, accuracy, train


@dataclass(frozen=True)
class CapstoneResult:
    """What the capstone run did and reached."""

    range_test: RangeTest
    max_lr: float
    batch_size: int
    micro_batch: int
    accumulation_steps: int
    history: History
    val_accuracy: float
    confusion: np.ndarray  # rows: true digit, columns: predicted digit

    def summary(self) -> str:
        c = self.history.config
        return (
            f"batch {self.batch_size} = {self.accumulation_steps} micro-batches of ≤ {self.micro_batch}, "
            f"{c['iterations_per_epoch']} iterations per epoch, {c['epochs']} epochs, "
            f"momentum {c['momentum']:g}, one-cycle max lr {self.max_lr:.3g}"
        )


def confusion_matrix(model: torch.nn.Module, data, classes: int = 10) -> np.ndarray:
    """Counts of (true class, predicted class) pairs: the diagonal is right, the rest shows
    which digits are taken for which.

    >>> m = torch.nn.Linear(2, 2); m.weight.data = torch.eye(2); m.bias.data = torch.zeros(2)
    >>> confusion_matrix(m, (torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([0, 1])), classes=2).tolist()
    [[1, 0], [1, 0]]
    """
    classes = check_int("classes", classes, low=2)
    X, y = as_tensors(data)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        predicted = model(X).argmax(dim=1)
    model.train(was_training)
    counts = torch.bincount(y * classes + predicted, minlength=classes * classes)
    return counts.reshape(classes, classes).numpy()


def run_capstone(
    *,
    hidden: int = 128,
    batch_size: int = 256,
    memory_limit: int = 64,
    epochs: int = 20,
    momentum: float = 0.9,
    range_iterations: int = 100,
    lr_rule: str = "min/10",
    seed: int = 0,
) -> CapstoneResult:
    """Range-test, then train ``digits_classifier(hidden)`` with a one-cycle schedule, momentum,
    and ``batch_size`` emulated by accumulating ``ceil(batch_size / memory_limit)`` micro-batches.

    The schedule's peak comes from the range test by ``lr_rule``: ``"min/10"`` (a tenth of the
    rate where the smoothed loss was lowest, the usual one-cycle rule of thumb), ``"steepest"``
    or ``"valley"`` (the test's own suggestions).

    >>> r = run_capstone(hidden=16, epochs=1, range_iterations=20)
    >>> r.accumulation_steps, int(r.confusion.sum())
    (4, 359)
    """
    hidden = check_int("hidden", hidden, low=0)
    memory_limit = check_int("memory_limit", memory_limit, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    epochs = check_int("epochs", epochs, low=1)
    momentum = check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
    train_data, val_data = digits_data(seed=seed)
    batch_size = min(batch_size, len(train_data))
    steps = math.ceil(batch_size / memory_limit)
    model = digits_classifier(hidden=hidden, seed=seed)
    # The range test trains the model and then restores it bit for bit, so it can run first.
    test = lr_range_test(
        model, train_data, start_lr=1e-4, end_lr=10.0, iterations=range_iterations, batch_size=batch_size,
        momentum=momentum, accumulation_steps=steps, loss="cross_entropy", seed=seed,
    )  # fmt: skip
    rules = {
        "min/10": test.min_loss_lr and test.min_loss_lr / 10,
        "steepest": test.steepest,
        "valley": test.valley,
    }
    max_lr = rules[check_choice("lr_rule", lr_rule, rules)]
    if max_lr is None:
        raise ValueError("the range test gave no suggestion: raise range_iterations")
    total = epochs * iterations_per_epoch(len(train_data), batch_size)

    def one_cycle(optimizer):
        # cycle_momentum=False: the stated momentum is the momentum used throughout.
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lr, total_steps=total, cycle_momentum=False
        )

    history = train(
        model, train_data, batch_size=batch_size, accumulation_steps=steps, epochs=epochs, lr=max_lr,
        momentum=momentum, scheduler=one_cycle, val_data=val_data, loss="cross_entropy", seed=seed,
        progress=False,
    )  # fmt: skip
    return CapstoneResult(
        range_test=test, max_lr=max_lr, batch_size=batch_size, micro_batch=min(memory_limit, batch_size),
        accumulation_steps=steps, history=history, val_accuracy=accuracy(model, val_data),
        confusion=confusion_matrix(model, val_data),
    )  # fmt: skip


def plot_capstone(result: CapstoneResult) -> Figure:
    """Three panels: the learning rate per iteration (the one cycle), the learning curves per
    epoch, and the validation confusion matrix.

    >>> r = run_capstone(hidden=16, epochs=1, range_iterations=20)
    >>> len(plot_capstone(r).axes)
    3
    """
    fig = Figure(figsize=(12.0, 3.6), layout="constrained")
    rate, curves, matrix = fig.subplots(1, 3, width_ratios=(1, 1, 1.1))
    its, eps = result.history.iterations, result.history.epochs
    rate.plot(its.iteration, its.lr)
    rate.set_xlabel("iteration (optimizer updates)")
    rate.set_ylabel("learning rate")
    rate.set_title(f"One cycle up to max lr {result.max_lr:.3g}")
    curves.plot(eps.epoch, eps.train_loss, label="training")
    curves.plot(eps.epoch, eps.val_loss, "--", label="validation")
    curves.set_yscale("log")
    curves.set_xlabel("epoch")
    curves.set_ylabel("cross-entropy loss")
    curves.set_title("Learning curves")
    curves.legend()
    plot_confusion(
        result.confusion, ax=matrix, title=f"Validation: {result.val_accuracy:.1%} correct"
    )
    return fig


def plot_confusion(confusion: np.ndarray, *, ax=None, title: str = "Confusion matrix") -> Figure:
    """The confusion matrix as an image with every non-zero count written in its cell.

    >>> plot_confusion(np.eye(3, dtype=int)).axes[0].get_ylabel()
    'true digit'
    """
    from gdlessons.plots import new_axes

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
                    j, i, str(confusion[i, j]), ha="center", va="center", fontsize=7, color=color
                )
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
    ax.grid(False)
    return fig


def plot_capstone_range_test(result: CapstoneResult) -> Figure:
    """The capstone's range test (``lr_finder.plot_range_test``) with the one-cycle peak that was
    taken from it marked (the y-axis already names the cross-entropy loss).

    >>> r = run_capstone(hidden=16, epochs=1, range_iterations=20)
    >>> plot_capstone_range_test(r).axes[0].get_ylabel()
    'cross-entropy loss'
    """
    from gdlessons.lr_finder import plot_range_test

    c = result.range_test.config
    fig = plot_range_test(
        result.range_test,
        title=f"Range test: batch {c['batch_size']} ({c['accumulation_steps']} micro-batches), "
        f"momentum {c['momentum']:g}",
    )
    ax = fig.axes[0]
    ax.axvline(result.max_lr, color="C1", lw=2, label=f"one-cycle peak: lr {result.max_lr:.3g}")
    ax.legend(loc="upper left", fontsize=8)
    return fig
