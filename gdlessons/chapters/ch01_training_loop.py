"""Chapter 01 (the training loop): checks, pictures, timings and the explorer around the loop
the notebook writes by hand.

The loop itself (forward, loss, ``backward()``, the update, zeroing the gradients, the
``DataLoader``) lives in the notebook's cells. Here are only the loops the chapter *measures* or
*draws*: :func:`hand_path` (the notebook's full-batch hand loop, for the explorer) and
:func:`one_epoch` and :func:`dataloader_loop` (the notebook's mini-batch loop, for timing and as
the answer your-turn t3 is checked against). Tests pin them to the
notebook's code and to :func:`gdlessons.training.train`, bit for bit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.path import Path as Path_
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gdlessons._validate import (
    check_bool,
    check_float,
    check_instance,
    check_int,
    check_mapping,
    check_numbers,
    check_sequence,
    check_tensor,
)
from gdlessons.batching import BatchIterator
from gdlessons.checks import check_training_data
from gdlessons.data import as_tensors, linear_data
from gdlessons.display.plots import new_axes
from gdlessons.models import LinearModel
from gdlessons.training import train

# Line styles and markers, so no two curves differ by colour alone.
STYLES = [
    {"ls": "-", "marker": "o"},
    {"ls": "--", "marker": "s"},
    {"ls": ":", "marker": "^"},
    {"ls": "-.", "marker": "D"},
]


# ---------------------------------------------------------------------------------------------
# The line: its exact minimum, its autograd graph, a backward with a bug
# ---------------------------------------------------------------------------------------------


def least_squares(X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """The (w, b) that minimise the mean squared error of ŷ = w·x + b, solved exactly (float64):
    where gradient descent on the line is heading.

    >>> d = linear_data(1000, noise=0.0); [round(v, 6) for v in least_squares(d.X, d.y)]
    [2.0, -1.0]
    """
    _check_line_inputs(X, y, min_samples=2)
    x, t = X.double().reshape(-1), y.double().reshape(-1)
    A = torch.stack([x, torch.ones_like(x)], dim=1)
    w, b = torch.linalg.lstsq(A, t[:, None]).solution.reshape(-1).tolist()
    return w, b


def _check_line_inputs(X, y=None, *, min_samples: int = 1) -> None:
    """``X`` one feature per sample (shape (n,) or (n, 1)), finite; ``y`` as many targets."""
    check_tensor("X", X, min_numel=min_samples)
    if X.ndim > 2 or (X.ndim == 2 and X.shape[1] != 1):
        raise ValueError(
            f"X must hold one feature per sample, shape (n,) or (n, 1), got shape {tuple(X.shape)}"
        )
    if not torch.isfinite(X).all():
        raise ValueError("X must be finite, got NaN or infinite values (bad data)")
    if y is not None:
        check_tensor("y", y)
        if y.numel() != X.numel():
            raise ValueError(
                f"X and y must hold the same number of samples, got {X.numel()} and {y.numel()}"
            )


def graph_nodes(tensor: torch.Tensor) -> int:
    """How many operations autograd recorded to compute ``tensor`` (its graph's nodes).

    >>> w = torch.tensor(1.0, requires_grad=True)
    >>> graph_nodes(w * 3), graph_nodes((w * 3 - 1) ** 2)
    (2, 4)
    """
    check_tensor("tensor", tensor, min_numel=0)
    seen, todo = set(), [tensor.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        todo.extend(next_fn for next_fn, _ in node.next_functions)
    return len(seen)


class MSEMissingTwo(torch.autograd.Function):
    """Mean squared error with a hand-written backward that forgets the factor 2 of d(r²)/dr:
    the kind of bug ``torch.autograd.gradcheck`` exists to catch."""

    @staticmethod
    def forward(ctx, prediction, target):
        ctx.save_for_backward(prediction, target)
        return ((prediction - target) ** 2).mean()

    @staticmethod
    def backward(ctx, grad_output):
        prediction, target = ctx.saved_tensors
        return grad_output * (prediction - target) / prediction.numel(), None


def line_hessian_bound(X: torch.Tensor) -> float:
    """The largest stable learning rate 2/λ_max for full-batch gradient descent on the line's
    mean squared error (its Hessian is 2·[[E x², E x], [E x, 1]], whatever the targets).

    >>> round(line_hessian_bound(torch.tensor([[-1.0], [1.0]])), 6)
    1.0
    """
    _check_line_inputs(X)
    x = X.double().reshape(-1)
    H = 2 * torch.tensor([[float((x * x).mean()), float(x.mean())], [float(x.mean()), 1.0]])
    return float(2 / torch.linalg.eigvalsh(H.double()).max())


# ---------------------------------------------------------------------------------------------
# The hand loop, recorded for the explorer
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Path:
    """A full-batch hand loop's record: ``params[k]`` = (w, b) after k iterations, ``loss[k]``
    and ``grad[k]`` = (dL/dw, dL/db) at those parameters (k = 0 is the start)."""

    lr: float
    params: np.ndarray
    loss: np.ndarray
    grad: np.ndarray

    @property
    def iterations(self) -> int:
        return len(self.loss) - 1

    def diverged_at(self) -> int | None:
        """The first iteration whose loss is not finite, or None."""
        bad = ~np.isfinite(self.loss)
        return int(np.argmax(bad)) if bad.any() else None


def hand_path(
    X: torch.Tensor, y: torch.Tensor, w: float, b: float, lr: float, iterations: int
) -> Path:
    """Run the notebook's hand loop (full batch, ``p -= lr * p.grad`` under ``no_grad``, then
    zero the gradients) for ``iterations`` and record where it went.

    >>> d = linear_data(50)
    >>> p = hand_path(d.X, d.y, w=0.0, b=0.0, lr=0.1, iterations=30)
    >>> p.params.shape, bool(p.loss[-1] < p.loss[0])
    ((31, 2), True)
    """
    iterations = check_int("iterations", iterations, low=0)
    lr = check_float("lr", lr, low=0.0, low_open=True)
    model = LinearModel(w=w, b=b)
    params, losses, grads = [], [], []
    for _ in range(iterations + 1):  # one more forward and backward: the gradient at the end
        loss = F.mse_loss(model(X), y)
        loss.backward()
        params.append([model.w.item(), model.b.item()])
        losses.append(loss.item())
        grads.append([model.w.grad.item(), model.b.grad.item()])
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        model.zero_grad()
    return Path(lr, np.array(params), np.array(losses), np.array(grads))


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def loss_plot(
    curves: Mapping[str, Sequence[float]],
    *,
    title: str = "Loss per iteration",
    logy: bool = True,
    ax=None,
) -> Figure:
    """One curve per labelled list of per-iteration losses, each with its own line style and
    marker, the x-axis counting iterations from 1.

    >>> fig = loss_plot({"a": [1.0, 0.5], "b": [1.0, 0.8]}); fig.axes[0].get_xlabel()
    'iteration (optimizer updates)'
    """
    check_mapping("curves", curves, what="per-iteration losses")
    for label, losses in curves.items():
        check_numbers(f"curves[{label!r}]", losses)
    check_instance("title", title, str, "a string")
    check_bool("logy", logy)
    fig, ax = new_axes(ax)
    for (label, losses), style in zip(curves.items(), STYLES * len(curves)):
        losses = np.asarray(losses, dtype=float)
        xs = np.arange(1, len(losses) + 1)
        ax.plot(xs, losses, label=label, ms=4, markevery=max(1, len(xs) // 15), **style)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("iteration (optimizer updates)")
    ax.set_ylabel("loss (mean squared error, before the update)")
    ax.set_title(title)
    ax.legend()
    return fig


def epochs_plot(
    batch_losses: Sequence[float],
    val_losses: Sequence[float],
    *,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Mini-batch training: every batch's loss (per iteration) and the validation loss after
    each epoch, placed at the epoch's last iteration.

    >>> fig = epochs_plot([3.0, 2.0, 1.5, 1.0], [2.5, 1.2]); [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['batch loss (each iteration)', 'validation loss (after each epoch)']
    """
    check_numbers("batch_losses", batch_losses)
    check_numbers("val_losses", val_losses)
    if len(batch_losses) % len(val_losses):
        raise ValueError(
            f"batch_losses must hold the same number of iterations for each of the "
            f"{len(val_losses)} epochs of val_losses, got {len(batch_losses)} batch losses"
        )
    if title is not None:
        check_instance("title", title, str, "a string")
    fig, ax = new_axes(ax)
    per_epoch = len(batch_losses) // len(val_losses)
    xs = np.arange(1, len(batch_losses) + 1)
    ax.plot(xs, batch_losses, "-", color="0.55", lw=1.0, label="batch loss (each iteration)")
    ends = per_epoch * np.arange(1, len(val_losses) + 1)
    ax.plot(ends, val_losses, "--s", color="C3", ms=6, label="validation loss (after each epoch)")
    for k, end in enumerate(ends[:-1], start=1):
        ax.axvline(end + 0.5, color="0.8", lw=0.8, ls=":")
        if k == 1:
            ax.annotate("epoch boundary", (end + 0.5, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -12), textcoords="offset points", fontsize=9, color="0.4")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("iteration (optimizer updates)")
    ax.set_ylabel("loss (mean squared error)")
    ax.set_title(title or f"{len(val_losses)} epochs of {per_epoch} iterations each")
    ax.legend()
    return fig


def without_time(rows: Sequence[dict]) -> list[dict]:
    """``History.rows(...)`` without the wall-clock column, so a printed table is the same on
    every run.

    >>> without_time([{"iteration": 1, "loss": 0.5, "time": 0.01}])
    [{'iteration': 1, 'loss': 0.5}]
    """
    check_sequence(
        "rows", rows, item=lambda name, row: check_mapping(name, row, what="column values")
    )
    return [{k: v for k, v in row.items() if k != "time"} for row in rows]


def rises(losses: Sequence[float]) -> int:
    """How many times a loss went up from one iteration to the next.

    >>> rises([3.0, 2.0, 2.5, 1.0, 1.5])
    2
    """
    values = check_numbers("losses", losses)
    return int((np.diff(values) > 0).sum())


# ---------------------------------------------------------------------------------------------
# Timings: the DataLoader loop vs train(), and num_workers
# ---------------------------------------------------------------------------------------------


def make_loader(X, y, batch_size: int, *, seed: int = 0, num_workers: int = 0) -> DataLoader:
    """``DataLoader(TensorDataset(X, y), batch_size, shuffle=True)`` with its own generator
    seeded with ``seed``: the order does not depend on anything run before."""
    check_tensor("X", X)
    check_tensor("y", y)
    if len(X) != len(y):
        raise ValueError(f"X and y must hold the same number of samples, got {len(X)} and {len(y)}")
    check_int("batch_size", batch_size, low=1, high=len(X))
    check_int("seed", seed)
    check_int("num_workers", num_workers, low=0)
    return DataLoader(
        TensorDataset(X, y), batch_size=batch_size, shuffle=True, num_workers=num_workers,
        generator=torch.Generator().manual_seed(seed),
    )  # fmt: skip


def index_loader(n: int, batch_size: int, *, seed: int = 0) -> DataLoader:
    """A DataLoader over the indices 0..n−1 with the same seeded generator as
    :func:`make_loader`: it draws the same permutation, so ``lambda epoch: list(it)`` gives
    ``train(batches=...)`` exactly that loader's batches.

    >>> X = torch.arange(10.0)[:, None]
    >>> [xb.ravel().tolist() for xb, _ in make_loader(X, X, 4, seed=3)] == [i.tolist() for i in index_loader(10, 4, seed=3)]
    True
    """
    n = check_int("n", n, low=1)
    check_int("batch_size", batch_size, low=1, high=n)
    check_int("seed", seed)
    return DataLoader(
        torch.arange(n), batch_size=batch_size, shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )  # fmt: skip


def one_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, loader) -> list[float]:
    """One epoch of the mini-batch loop the notebook writes (your-turn t3 asks for it): for each
    ``(xb, yb)`` batch of ``loader``, forward, MSE loss, ``backward()``, the update, zeroing the
    gradients; returns the batch losses. Tests pin it to :func:`gdlessons.training.train`."""
    check_instance("model", model, nn.Module, "a torch.nn.Module")
    check_instance("optimizer", optimizer, torch.optim.Optimizer, "a torch.optim optimizer")
    losses = []
    for xb, yb in loader:
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


def dataloader_loop(model: nn.Module, loader, *, lr: float, epochs: int) -> list[float]:
    """The notebook's mini-batch loop (``torch.optim.SGD``, one update per batch of ``loader``),
    here only to be timed; returns the batch losses."""
    check_instance("model", model, nn.Module, "a torch.nn.Module")
    check_instance("loader", loader, DataLoader, "a DataLoader of (inputs, targets) batches")
    lr = check_float("lr", lr, low=0.0, low_open=True)
    epochs = check_int("epochs", epochs, low=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        model.train()
        losses += one_epoch(model, optimizer, loader)
    return losses


def _seconds_per_epoch(run: Callable[[], object], epochs: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, (time.perf_counter() - start) / epochs)
    return best


def speed_table(
    data, batch_size: int, *, epochs: int = 2, lr: float = 0.05, seed: int = 0, repeats: int = 2,
    make_model: Callable[[], nn.Module] = LinearModel,
) -> list[dict]:  # fmt: skip
    """Milliseconds per epoch (best of ``repeats``) of the DataLoader loop and of ``train()`` on
    the same data and batch size, and of fetching the batches alone both ways.

    >>> rows = speed_table(linear_data(64), 16, epochs=1, repeats=1)
    >>> [r["what"] for r in rows]
    ['DataLoader loop', 'train()', 'DataLoader: batches only', 'BatchIterator: batches only']
    """
    X, y = as_tensors(data)
    batch_size = check_int("batch_size", batch_size, low=1, high=len(X))
    epochs = check_int("epochs", epochs, low=1)
    per_epoch = -(-len(X) // batch_size)

    def fetch(batches):
        for _ in range(epochs):
            for _xb, _yb in batches:
                pass

    timed = {
        "DataLoader loop": lambda: dataloader_loop(
            make_model(), make_loader(X, y, batch_size, seed=seed), lr=lr, epochs=epochs
        ),
        "train()": lambda: train(make_model(), (X, y), batch_size=batch_size, epochs=epochs,
                                 lr=lr, seed=seed),
        "DataLoader: batches only": lambda: fetch(make_loader(X, y, batch_size, seed=seed)),
        "BatchIterator: batches only": lambda: fetch(BatchIterator(X, y, batch_size=batch_size, seed=seed)),
    }  # fmt: skip
    rows = []
    for what, run in timed.items():
        seconds = _seconds_per_epoch(run, epochs, repeats)
        rows.append({"what": what, "ms per epoch": 1e3 * seconds,
                     "µs per iteration": 1e6 * seconds / per_epoch})  # fmt: skip
    return rows


def worker_table(
    data, batch_size: int, *, workers: Sequence[int] = (0, 2), epochs: int = 1
) -> list[dict]:
    """Milliseconds to fetch every batch of one epoch from a DataLoader at each ``num_workers``.

    >>> [r["num_workers"] for r in worker_table(linear_data(32), 8, workers=[0])]
    [0]
    """
    check_sequence("workers", workers, item=lambda n, v: check_int(n, v, low=0))
    check_int("epochs", epochs, low=1)
    X, y = as_tensors(data)
    rows = []
    for k in workers:
        k = check_int("num_workers", k, low=0)
        loader = make_loader(X, y, batch_size, num_workers=k)
        start = time.perf_counter()
        for _ in range(epochs):
            for _xb, _yb in loader:
                pass
        rows.append(
            {"num_workers": k, "ms per epoch": 1e3 * (time.perf_counter() - start) / epochs}
        )
    return rows


# ---------------------------------------------------------------------------------------------
# The explorer: the loss surface of the line and the hand loop's path
# ---------------------------------------------------------------------------------------------


class LineLoop:
    """Everything the explorer draws, computed once per learning rate: the loss surface of the
    line on a grid (closed form) and the hand loop's path for up to ``max_iterations``."""

    def __init__(self, X, y, *, w_start: float, b_start: float, max_iterations: int = 60):
        X, y = check_training_data((X, y), "X, y")
        self.X, self.y = X, y
        self.start = (
            check_float("w_start", w_start),
            check_float("b_start", b_start),
        )
        self.max_iterations = check_int("max_iterations", max_iterations, low=1)
        self.minimum = least_squares(X, y)
        with torch.no_grad():
            self.least_loss = float(
                F.mse_loss(X.double() * self.minimum[0] + self.minimum[1], y.double())
            )
        self.bound = line_hessian_bound(X)
        ws = [self.start[0], self.minimum[0]]
        bs = [self.start[1], self.minimum[1]]
        pad_w, pad_b = 0.6 * (max(ws) - min(ws)) + 0.5, 0.6 * (max(bs) - min(bs)) + 0.5
        self.wlim = (min(ws) - pad_w, max(ws) + pad_w)
        self.blim = (min(bs) - pad_b, max(bs) + pad_b)
        W, B = np.meshgrid(np.linspace(*self.wlim, 160), np.linspace(*self.blim, 160))
        x, t = X.double().reshape(-1).numpy(), y.double().reshape(-1).numpy()
        # mean((w·x + b − y)²) expanded, so the whole grid costs a few array operations
        self.grid = (W, B, W**2 * (x * x).mean() + 2 * W * B * x.mean() + B**2
                     - 2 * W * (x * t).mean() - 2 * B * t.mean() + (t * t).mean())  # fmt: skip
        lowest = float(self.grid[2].min())
        self.levels = np.geomspace(max(lowest, 1e-3) * 1.05, float(self.grid[2].max()), 12)
        self.contours = _contour_lines(*self.grid, self.levels)
        self._path = lru_cache(maxsize=256)(self._compute_path)
        self._fig: Figure | None = None  # the explorer's kept figure, made on first use
        self._artists: dict[str, object] = {}

    def _compute_path(self, lr: float) -> Path:
        with np.errstate(all="ignore"):
            return hand_path(self.X, self.y, *self.start, lr, self.max_iterations)

    def path(self, lr: float) -> Path:
        return self._path(float(lr))

    def loss_range(self, path: Path) -> tuple[float, float]:
        """The loss axis' range for ``path``: from just under the least loss (no run goes lower)
        to just over the run's highest finite loss, its first for every run that does not
        diverge (the start is the same for all). So every stable rate shares one range, and the
        axis stays put while either slider moves; each diverging rate has its own."""
        every = path.loss[np.isfinite(path.loss) & (path.loss > 0)]
        high = float(every.max()) if every.size else 10.0
        # A log axis needs low > 0; data on an exact line have a least loss of 0. (The first
        # loss is the same for every rate.)
        low = max(self.least_loss, 1e-6 * float(path.loss[0])) or high / 10
        return low / 1.3, high * 1.3

    def figure(self, lr: float, iteration: int) -> Figure:
        """The loss surface with the path up to ``iteration`` (left) and the loss per iteration
        (right), the current iteration marked on both, the run's verdict above them.

        One figure is kept and returned each time: a move sets its animated artists (the path,
        the markers, the legend, the titles, the loss line); the still part (the contours and
        the axes) changes only with :meth:`loss_range`, the explorer's background key."""
        path = self.path(lr)
        k = min(check_int("iteration", iteration, low=0), path.iterations)
        if self._fig is None:
            self._fig = self._kept_figure()
        fig, a = self._fig, self._artists
        left, right = fig.axes
        shown = path.params[: k + 1]
        out = self.leaves_view(path)
        label, drawn = "path", f"{k} of {path.iterations} iterations drawn"
        if out is not None and out <= k:  # draw it up to where it leaves the picture
            shown, label = shown[: out + 1], f"path (leaves the view at iteration {out})"
            drawn = f"{k} of {path.iterations} iterations, {out} drawn"
        a["path"].set_data(shown[:, 0], shown[:, 1])
        a["path"].set_label(label)
        handles = [a["path"], a["start"], a["minimum"]]
        in_view = out is None or k < out
        a["current"].set_visible(in_view)
        if in_view:
            a["current"].set_data([path.params[k, 0]], [path.params[k, 1]])
            a["current"].set_label(f"iteration {k}")
            handles.append(a["current"])
        left.legend(handles=handles, loc="lower left", framealpha=0.8).set_animated(True)
        left.set_title(f"Loss surface and the path\n{drawn}")
        losses = path.loss[: k + 1]
        xs = np.arange(k + 1)
        ok = np.isfinite(losses)
        a["loss"].set_data(xs[ok], losses[ok])
        a["now"].set_xdata([k, k])
        # The still part: the loss axis' range (and its ticks), the background key.
        low, high = self.loss_range(path)
        right.set_ylim(low, high)
        subs = (1.0, 2.0, 5.0) if np.log10(high / low) < 2 + 2 * np.log10(1.3) else (1.0,)
        right.yaxis.set_major_locator(LogLocator(subs=subs, numticks=6))
        fig.suptitle(f"lr = {lr:.3g}: {self.verdict(lr)}")
        return fig

    def _kept_figure(self) -> Figure:
        """The explorer's one figure: the still contours and axes, the moving artists empty."""
        fig = Figure(figsize=(7.5, 4.3), layout="constrained")
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        left.plot(*self.contours, color="0.7", lw=0.7)
        moving = dict(animated=True)
        a = self._artists
        (a["path"],) = left.plot([], [], "-o", color="C0", ms=3, lw=1, **moving)
        (a["start"],) = left.plot(*self.start, "s", color="k", ms=6, label="start", **moving)
        (a["minimum"],) = left.plot(
            *self.minimum, "*", color="C2", ms=12, label="least squares", **moving
        )
        (a["current"],) = left.plot([], [], "o", mfc="none", mec="C3", mew=2, ms=10, **moving)
        left.set_xlim(*self.wlim)
        left.set_ylim(*self.blim)
        # Few ticks, no minor ones: tick labels are most of the cost of a redraw.
        for axis in (left.xaxis, left.yaxis, right.xaxis):
            axis.set_major_locator(MaxNLocator(5))
        left.set_xlabel("w (slope)")
        left.set_ylabel("b (intercept)")
        left.title.set_animated(True)  # two lines at every state: the layout holds them all
        (a["loss"],) = right.plot([], [], "-o", color="C0", ms=3, lw=1, **moving)
        a["now"] = right.axvline(0, color="C3", ls="--", lw=1, **moving)
        right.set_xlim(-0.5, self.max_iterations + 0.5)
        right.set_yscale("log")
        right.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
        right.yaxis.set_minor_locator(NullLocator())
        right.set_xlabel("iteration (updates done)")
        right.set_ylabel("loss (mean squared error)")
        right.set_title("Loss per iteration\n ")  # two lines, like the surface's title
        fig.suptitle(" ").set_animated(True)  # one line at every state
        return fig

    def leaves_view(self, path: Path) -> int | None:
        """The first iteration whose (w, b) lies outside the drawn area, or None."""
        (w0, w1), (b0, b1) = self.wlim, self.blim
        w, b = path.params[:, 0], path.params[:, 1]
        with np.errstate(invalid="ignore"):
            outside = ~((w >= w0) & (w <= w1) & (b >= b0) & (b <= b1))
        return int(np.argmax(outside)) if outside.any() else None

    def verdict(self, lr: float) -> str:
        """The run in a few words, for the figure's title."""
        path = self.path(lr)
        bad = path.diverged_at()
        if bad is not None:
            return f"diverges: loss not finite at iteration {bad}"
        change = path.loss[-1] / path.loss[0]
        if change > 1:
            return f"diverges: loss ×{change:.3g} in {path.iterations} iterations"
        if lr >= self.bound:  # the steepest direction grows, however slowly: never converges
            return f"unstable (lr ≥ 2/λ_max), though loss ×{change:.3g} so far"
        close = np.flatnonzero(path.loss <= 1.01 * self.least_loss)
        if close.size:
            return f"converges: within 1% of the least at iteration {close[0]}"
        return f"converging slowly: loss ×{change:.3g} in {path.iterations} iterations"

    def readout(self, lr: float, iteration: int) -> str:
        path = self.path(lr)
        k = min(iteration, path.iterations)
        (w, b), loss, (gw, gb) = path.params[k], path.loss[k], path.grad[k]
        return (
            f"iteration {k}: w = {w:.4g}, b = {b:.4g}, loss = {loss:.4g}\n"
            f"gradient: dL/dw = {gw:+.4g}, dL/db = {gb:+.4g}\n"
            f"next update: Δw = {-lr * gw:+.4g}, Δb = {-lr * gb:+.4g}\n"
            f"stable for lr < 2/λ_max = {self.bound:.3g}\n"
            f"least squares at w = {self.minimum[0]:.4g}, b = {self.minimum[1]:.4g}"
        )


def _contour_lines(W, B, L, levels) -> tuple[np.ndarray, np.ndarray]:
    """The level curves of ``L`` as one NaN-separated line, traced once: drawing that line is far
    cheaper than running ``contour`` on every slider move."""
    fig = Figure()
    contours = fig.subplots().contour(W, B, L, levels=levels)
    xs, ys = [], []
    for path in contours.get_paths():
        starts = [0] if path.codes is None else list(np.flatnonzero(path.codes == Path_.MOVETO))
        for piece in np.split(path.vertices, starts[1:]):
            xs += [*piece[:, 0], np.nan]
            ys += [*piece[:, 1], np.nan]
    return np.array(xs), np.array(ys)


def loop_explorer(
    n: int = 200,
    *,
    seed: int = 0,
    w_start: float = -1.0,
    b_start: float = 2.5,
    lr: float = 0.1,
    iteration: int = 10,
    max_iterations: int = 60,
):
    """Sliders for the learning rate and the iteration over the line's loss surface; the
    readout gives the gradient at that iteration and the update it causes."""
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer

    data = linear_data(n, seed=seed)
    loop = LineLoop(data.X, data.y, w_start=w_start, b_start=b_start, max_iterations=max_iterations)
    style = {"description_width": "120px"}
    layout = w.Layout(width="480px")
    controls = {
        "lr": w.FloatLogSlider(value=lr, base=10, min=-2, max=0, step=0.05, description="learning rate",
                               style=style, layout=layout),
        "iteration": w.IntSlider(value=iteration, min=0, max=max_iterations, description="iteration",
                                 style=style, layout=layout),
    }  # fmt: skip
    explorer = Explorer(
        loop.figure,
        controls,
        title="The hand loop on the line ŷ = w·x + b: full-batch gradient descent",
        readout=loop.readout,
        # the still part: the loss axis' range, one for all stable rates, one per diverging one
        background=lambda lr, **_: loop.loss_range(loop.path(lr)),
        start={"lr": lr, "iteration": iteration},
    )
    explorer.loop = loop
    return explorer


EXPLORERS = {"ch01-loop-explorer": loop_explorer}
