"""Batch, stochastic and mini-batch gradient descent: one loop, three batch sizes, compared fairly.

A fair comparison starts every variant from the *same* initial parameters on the *same* data
with the same learning rate and the same number of epochs, and measures the *full-data* loss
(``train(..., evaluate_every=k)``), not each run's own noisy batch loss. Then the x-axis decides
the winner: per iteration, per epoch, per sample seen or per second.

The two-parameter line (:class:`~gdlessons.models.LinearModel`) lets us draw the loss surface
and each variant's path on it; :func:`trajectory_explorer` precomputes a grid of such
paths so a slider move only redraws.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import nn

from gdlessons._validate import check_float, check_int
from gdlessons.batching import BatchIterator, iterations_per_epoch
from gdlessons.data import as_tensors
from gdlessons.display.plots import X_AXES, new_axes
from gdlessons.history import History
from gdlessons.landscapes import torch_sgd_path
from gdlessons.training import resolve_batch_size, train

DEFAULT_VARIANTS: dict[str, int | str] = {
    "batch (B = N)": "full",
    "stochastic (B = 1)": 1,
    "mini-batch (B = 32)": 32,
}
COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange")


def compare_variants(
    model: nn.Module,
    data,
    *,
    variants: Mapping[str, int | str] | None = None,
    epochs: int = 10,
    lr: float = 0.01,
    evals_per_epoch: int = 10,
    seed: int = 0,
    warmup: int = 3,
    **train_kwargs,
) -> dict[str, History]:
    """Train a copy of ``model`` per variant (label -> batch size) and return their histories.

    Every copy starts from the same parameters, sees the same data for the same number of
    epochs at the same learning rate; only the batch size differs. The full-data loss is measured
    about ``evals_per_epoch`` times per epoch (at least once per iteration for batch GD), so the
    curves compare the model, not each run's own batch. Before each timed run, ``warmup``
    iterations on a throw-away copy pay PyTorch's one-off costs (first use of each tensor shape),
    so the wall-clock panel compares steady speeds.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> runs = compare_variants(LinearModel(), linear_data(40), epochs=2, lr=0.1)
    >>> [h.epochs.iteration[-1] for h in runs.values()]
    [2, 80, 4]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    variants = dict(DEFAULT_VARIANTS if variants is None else variants)
    if not variants:
        raise ValueError("variants must map at least one label to a batch size, got {}")
    n = len(as_tensors(data)[0])
    evals_per_epoch = check_int("evals_per_epoch", evals_per_epoch, low=1)
    warmup = check_int("warmup", warmup, low=0)
    runs = {}
    for label, batch_size in variants.items():
        per_epoch = iterations_per_epoch(n, resolve_batch_size(batch_size, n))
        if warmup:
            train(copy.deepcopy(model), data, batch_size=batch_size, lr=lr, seed=seed,
                  callback=lambda record: record["iteration"] >= warmup)  # fmt: skip
        runs[label] = train(
            copy.deepcopy(model), data, batch_size=batch_size, epochs=epochs, lr=lr, seed=seed,
            evaluate_every=max(1, per_epoch // evals_per_epoch), **train_kwargs,
        )  # fmt: skip
    return runs


def full_loss_at(history: History, x: str, value: float) -> float:
    """The full-data loss of the last evaluation at or before ``value`` on axis ``x``
    (``"epoch"``, ``"iteration"``, ``"samples"`` or ``"time"``): how good the model was by then.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> h = train(LinearModel(), linear_data(40), batch_size=40, epochs=3, lr=0.1, evaluate_every=1)
    >>> full_loss_at(h, "iteration", 0) == h.evals.train_loss[0]
    True
    """
    xs = _eval_x(history, x)
    if value < xs[0]:
        raise ValueError(f"value must be >= the first evaluation at {x}={xs[0]}, got {value}")
    i = int(np.searchsorted(np.asarray(xs), value, side="right")) - 1
    return history.evals.train_loss[i]


def comparison_table(runs: Mapping[str, History]) -> list[dict]:
    """One row per variant: the counts behind each panel and the final full-data loss. A run
    that diverged has no final loss: its row says where it stopped instead of showing its last
    finite loss as if it were a result.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> rows = comparison_table(compare_variants(LinearModel(), linear_data(40), epochs=3, lr=5.0))
    >>> rows[1]["final_loss"]
    'diverged at iteration 20'
    """
    rows = []
    for label, h in runs.items():
        rows.append(
            dict(
                variant=label,
                batch_size=h.config["batch_size"],
                epochs=h.epochs.epoch[-1] if h.epochs.epoch else 0,
                iterations=h.iterations.iteration[-1] if h.iterations.iteration else 0,
                samples_seen=h.iterations.samples_seen[-1] if h.iterations.samples_seen else 0,
                seconds=h.evals.time[-1],
                final_loss=diverged_text(h) if h.diverged else h.evals.train_loss[-1],
            )
        )
    return rows


def diverged_text(history: History) -> str:
    """How a table names a diverged run: where it stopped, never its last finite loss."""
    return f"diverged at iteration {history.diverged_at}"


def four_panel(runs: Mapping[str, History], *, title: str | None = None) -> Figure:
    """Full-data loss of each run against epoch, iteration, samples seen and wall-clock seconds.

    Iterations and seconds are drawn on log axes: batch GD makes a handful of updates, stochastic
    GD thousands, and their training times differ as much.
    """
    fig = Figure(figsize=(11, 7.2), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    for (label, h), colour in zip(runs.items(), COLOURS):
        for ax, x in zip(axes, X_AXES):
            xs, ys = _eval_x(h, x), h.evals.train_loss
            if x in ("iteration", "time"):  # log axes: the evaluation at 0 cannot be drawn
                xs, ys = xs[1:], ys[1:]
            ax.plot(xs, ys, color=colour, label=label, marker="." if len(xs) < 30 else None)
    stories = {
        "epoch": "per epoch (pass over the data)",
        "iteration": "per iteration (optimizer update)",
        "samples": "per sample seen",
        "time": "per second of training",
    }
    for ax, x in zip(axes, X_AXES):
        ax.set_yscale("log")
        ax.set_xlabel(X_AXES[x])
        ax.set_ylabel("full-data training loss (MSE)")
        ax.set_title(f"Loss {stories[x]}")
        if x in ("iteration", "time"):
            ax.set_xscale("log")
    axes[0].legend()
    fig.suptitle(title or "Three variants, same start, same data, same learning rate")
    return fig


def _eval_x(history: History, x: str) -> list[float]:
    ev = history.evals
    if x == "epoch":
        n = history.config["n"]
        return [s / n for s in ev.samples_seen]
    if x == "iteration":
        return list(ev.iteration)
    if x == "samples":
        return list(ev.samples_seen)
    if x == "time":
        return list(ev.time)
    raise ValueError(f"x must be one of {sorted(X_AXES)}, got {x!r}")


# --- the two-parameter line: loss surface and paths ----------------------------------------------


def _moments(data) -> dict[str, float]:
    X, y = as_tensors(data)
    x, t = X.double().flatten(), y.double().flatten()
    return dict(
        xx=float((x * x).mean()), x=float(x.mean()), xy=float((x * t).mean()), y=float(t.mean()),
        yy=float((t * t).mean()),
    )  # fmt: skip


def linear_loss(data, w, b) -> np.ndarray:
    """Full-data MSE of ŷ = w·x + b for arrays of ``w`` and ``b`` (broadcast), in closed form
    from five averages of the data, so a whole grid costs no more than a few array operations.

    >>> from gdlessons.data import Dataset
    >>> d = Dataset(torch.tensor([[0.0], [1.0]]), torch.tensor([[1.0], [3.0]]))
    >>> linear_loss(d, np.array([2.0, 0.0]), np.array([1.0, 0.0])).tolist()
    [0.0, 5.0]
    """
    m = _moments(data)
    w, b = np.asarray(w, dtype=float), np.asarray(b, dtype=float)
    return w * w * m["xx"] + b * b + m["yy"] + 2 * w * b * m["x"] - 2 * w * m["xy"] - 2 * b * m["y"]


def least_squares(data) -> tuple[float, float]:
    """The (w, b) at the bottom of the loss surface.

    >>> from gdlessons.data import linear_data
    >>> w, b = least_squares(linear_data(2000, noise=0.0)); round(w, 3), round(b, 3)
    (2.0, -1.0)
    """
    m = _moments(data)
    var = m["xx"] - m["x"] ** 2
    w = (m["xy"] - m["x"] * m["y"]) / var
    return w, m["y"] - w * m["x"]


@dataclass(frozen=True)
class Surface:
    """The full-data loss on a (w, b) grid, ready for ``contour``."""

    w: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    minimum: tuple[float, float]


def loss_surface(data, *, w_range=(-1.0, 4.0), b_range=(-3.0, 2.0), points: int = 81) -> Surface:
    """The full-data loss of the line over a grid of (w, b).

    >>> from gdlessons.data import linear_data
    >>> s = loss_surface(linear_data(50), points=11); s.loss.shape
    (11, 11)
    """
    points = check_int("points", points, low=2)
    W, B = np.meshgrid(np.linspace(*w_range, points), np.linspace(*b_range, points))
    return Surface(W, B, linear_loss(data, W, B), least_squares(data))


def draw_surface(surface: Surface, ax: Axes) -> None:
    """Contours of the loss (log-spaced levels) with the minimum marked."""
    lo = max(float(surface.loss.min()), 1e-3)
    levels = np.geomspace(lo * 1.05, float(surface.loss.max()), 14)
    ax.contour(surface.w, surface.b, surface.loss, levels=levels, cmap="Greys", linewidths=0.8)
    ax.plot(*surface.minimum, "*", color="black", markersize=12, label="minimum")
    ax.set_xlabel("w (slope)")
    ax.set_ylabel("b (intercept)")


def trajectory_plot(runs: Mapping[str, History], data, *, surface: Surface | None = None) -> Figure:
    """The paths of runs trained with ``record_params=True`` on the loss contours."""
    surface = surface or loss_surface(data)
    fig, ax = new_axes(figsize=(6.4, 5.0))
    draw_surface(surface, ax)
    for (label, h), colour in zip(runs.items(), COLOURS):
        w = h.param_trajectory("w").numpy()
        b = h.param_trajectory("b").numpy()
        ax.plot(
            w,
            b,
            "-",
            color=colour,
            lw=1.2,
            alpha=0.85,
            label=f"{label}: {len(w) - 1} iterations",
            zorder=2 + 1 / len(w),
        )  # short paths on top of the long stochastic one
        ax.plot(w[0], b[0], "o", color="black", markersize=5)
    ax.set_title("Paths on the full-data loss surface (same start, same epochs)")
    ax.legend(loc="lower right")
    return fig


def path_length(history: History) -> float:
    """Total distance travelled in (w, b): a zig-zag path is much longer than the straight one.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> h = train(LinearModel(), linear_data(40), batch_size=40, epochs=2, lr=0.1, record_params=True)
    >>> path_length(h) > 0
    True
    """
    steps = torch.diff(
        torch.stack([history.param_trajectory("w"), history.param_trajectory("b")], 1), dim=0
    )
    return float(steps.norm(dim=1).sum())


def linear_sgd_paths(
    data,
    *,
    batch_size: int | str,
    lrs,
    epochs: int = 3,
    seed: int = 0,
    w0: float = 0.0,
    b0: float = 0.0,
) -> np.ndarray:
    """Every (w, b) visited by ``train(LinearModel(w0, b0), data, batch_size, lr, seed)`` for
    *all* learning rates at once: shape (len(lrs), iterations + 1, 2).

    The same batches (:class:`BatchIterator` with the same seed) and the same update
    w ← w − lr·∂L/∂w as the course's loop, with the line's gradient written out, so a whole grid
    of runs costs milliseconds; the tests check it against ``train`` itself.

    >>> from gdlessons.data import linear_data
    >>> linear_sgd_paths(linear_data(40), batch_size=8, lrs=[0.1, 0.2], epochs=2).shape
    (2, 11, 2)
    """
    X, y = as_tensors(data)
    n = len(X)
    batch_size = resolve_batch_size(batch_size, n)
    epochs = check_int("epochs", epochs, low=1)
    lrs = np.asarray(
        [check_float("lrs", float(v), low=0.0, low_open=True) for v in np.atleast_1d(lrs)]
    )
    x, t = X.double().flatten().numpy(), y.double().flatten().numpy()
    batches = BatchIterator(torch.arange(n), batch_size=batch_size, seed=seed)
    w = np.full(len(lrs), float(w0))
    b = np.full(len(lrs), float(b0))
    path = [np.stack([w, b], 1)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            for (idx,) in batches:
                xb, tb = x[idx.numpy()], t[idx.numpy()]
                r = w[:, None] * xb + b[:, None] - tb  # residuals, (lrs, batch)
                w = w - lrs * 2 * (r * xb).mean(1)
                b = b - lrs * 2 * r.mean(1)
                path.append(np.stack([w, b], 1))
    return np.stack(path, 1)


# --- the popular tutorial's comparison, replayed --------------------------------------------------


@dataclass(frozen=True)
class TutorialRun:
    """One of the tutorial's three runs: batch loss per "epoch" (really per iteration), the
    full-data loss every few iterations, and the counts that say what was really done."""

    label: str
    batch_size: int
    momentum: float
    loss: list[float]
    eval_iterations: list[int]
    full_loss: list[float]
    iterations: int
    samples_seen: int
    real_epochs: float


def tutorial_replay(
    data,
    model: nn.Module,
    *,
    iterations: int = 1000,
    lr: float = 1e-4,
    evaluate_every: int = 10,
    seed: int = 0,
) -> list[TutorialRun]:
    """Re-run the popular tutorial's comparison as it was written: B = N, 1, 128 with
    ``momentum`` = 1, 0, 1 and ONE batch per "epoch" (``next(iter(loader))``).

    Trained through the course's ``train()``: each tutorial "epoch" is one epoch whose only
    batch is a fresh random draw of B samples (``batch_indices``). Returns a
    :class:`TutorialRun` per variant, with the counts that show what an "epoch" there really was.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> runs = tutorial_replay(quadratic_data(200), tutorial_mlp(), iterations=5)
    >>> [(r.batch_size, r.samples_seen, r.real_epochs) for r in runs]
    [(200, 1000, 5.0), (1, 5, 0.025), (128, 640, 3.2)]
    """
    from gdlessons.training import evaluate

    X, y = as_tensors(data)
    n = len(X)
    iterations = check_int("iterations", iterations, low=1)
    evaluate_every = check_int("evaluate_every", evaluate_every, low=1)
    lr = check_float("lr", lr, low=0.0, low_open=True)
    generator = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    runs = []
    for label, batch_size, momentum in (
        ("batch, momentum 1", n, 1.0), ("stochastic, momentum 0", 1, 0.0), ("B = 128, momentum 1", min(128, n), 1.0),
    ):  # fmt: skip
        net = copy.deepcopy(model)

        def one_batch(epoch, size=batch_size):  # the tutorial's next(iter(loader)): one draw
            return [torch.randperm(n, generator=generator)[:size]]

        h = train(net, (X, y), batch_size=batch_size, epochs=iterations, lr=lr, momentum=momentum,
                  batch_indices=one_batch, evaluate_every=evaluate_every, progress=False)  # fmt: skip
        evals, full = list(h.evals.iteration), list(h.evals.train_loss)
        if evals[-1] != iterations:  # the end of the run, when it falls between evaluations
            evals.append(iterations)
            full.append(evaluate(net, (X, y)))
        seen = iterations * batch_size
        runs.append(
            TutorialRun(
                label,
                batch_size,
                momentum,
                h.iterations.loss,
                evals,
                full,
                iterations,
                seen,
                seen / n,
            )
        )
    return runs


def tutorial_plot(runs: list[TutorialRun]) -> Figure:
    """The replay's full-data loss against the tutorial's "epoch" (an iteration), and against
    what it should have counted: samples seen, where the three runs cover very different ground."""
    fig, axes = new_axes(figsize=(11, 3.9), ncols=2)
    n = runs[0].samples_seen / runs[0].real_epochs
    for run, colour in zip(runs, COLOURS):
        label = f"{run.label} (B = {run.batch_size})"
        axes[0].plot(run.eval_iterations, run.full_loss, color=colour, label=label)
        seen = [max(i * run.batch_size, 1) for i in run.eval_iterations]
        axes[1].plot(seen[1:], run.full_loss[1:], color=colour, label=label)
    axes[0].set_xlabel('the tutorial\'s "epoch" = iteration (one batch, one update)')
    axes[0].set_title('As the tutorial counts: one batch per "epoch"')
    axes[1].set_xscale("log")
    axes[1].set_xlabel("samples seen")
    axes[1].axvline(n, color="grey", ls=":", lw=1)
    axes[1].text(n, axes[1].get_ylim()[1], " 1 real epoch", color="grey", va="top", fontsize=8)
    axes[1].set_title("The same runs against samples seen")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_ylabel("full-data training loss (MSE)")
    axes[0].legend()
    return fig


def momentum_one_demo(*, steps: int = 60, lr: float = 0.1) -> dict[float, list[float]]:
    """What momentum = 1 does, on the simplest loss f(θ) = θ²/2 from θ = 1, with plain
    ``torch.optim.SGD`` (through :func:`~gdlessons.landscapes.torch_sgd_path`): with momentum
    μ < 1 old velocity fades and θ settles at 0; with μ = 1 every past gradient is kept forever and
    θ swings back and forth without ever settling.

    >>> paths = momentum_one_demo(steps=200)
    >>> abs(paths[0.0][-1]) < 1e-6, max(abs(v) for v in paths[1.0][-50:]) > 0.5
    (True, True)
    """
    steps = check_int("steps", steps, low=1)
    lr = check_float("lr", lr, low=0.0, low_open=True)
    return {
        momentum: torch_sgd_path([1.0], [1.0], lr, steps, momentum=momentum).ravel().tolist()
        for momentum in (0.0, 0.9, 1.0)
    }


# --- the trajectory explorer ---------------------------------------------------------------------


def trajectory_explorer(
    data=None,
    *,
    epochs: int = 3,
    w0: float = 0.0,
    b0: float = 0.0,
    seed: int = 0,
    lrs=None,
    batch_sizes=None,
):
    """Sliders for batch size (1, 2, 4, …, N) and learning rate over the line's loss surface.

    Every (batch size, learning rate) path is computed once here, vectorised over learning
    rates by :func:`linear_sgd_paths`; a slider move only looks up a path and redraws.
    """
    import ipywidgets as w

    from gdlessons.data import linear_data
    from gdlessons.display.explorer import Explorer

    data = linear_data() if data is None else data
    n = len(as_tensors(data)[0])
    if batch_sizes is None:
        batch_sizes = sorted({2**k for k in range(int(math.log2(n)) + 1)} | {n})
    lrs = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8] if lrs is None else list(lrs)
    surface = loss_surface(data, points=61)
    paths = {
        B: linear_sgd_paths(data, batch_size=B, lrs=lrs, epochs=epochs, seed=seed, w0=w0, b0=b0)
        for B in batch_sizes
    }
    losses = {B: linear_loss(data, p[..., 0], p[..., 1]) for B, p in paths.items()}
    floor = float(linear_loss(data, *surface.minimum))
    levels = np.geomspace(max(floor, 1e-3) * 1.05, float(surface.loss.max()), 14)

    def draw(batch_size: int, lr: float) -> Figure:
        i = lrs.index(lr)
        path, loss = paths[batch_size][i], losses[batch_size][i]
        fig = Figure(figsize=(8.4, 3.4))  # a fixed layout: constrained layout costs a redraw
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.3)
        ax, ax2 = fig.subplots(1, 2)
        ax.contour(surface.w, surface.b, surface.loss, levels=levels, cmap="Greys", linewidths=0.8)
        ax.plot(*surface.minimum, "*", color="black", markersize=11)
        shown = np.isfinite(path).all(1) & (np.abs(path) < 50).all(1)
        ax.plot(path[shown, 0], path[shown, 1], "-", color="tab:red", lw=1)
        ax.plot(path[0, 0], path[0, 1], "o", color="black", markersize=5)
        ax.set_xlim(surface.w.min(), surface.w.max())
        ax.set_ylim(surface.b.min(), surface.b.max())
        ax.xaxis.set_major_locator(ticker.MaxNLocator(4))
        ax.yaxis.set_major_locator(ticker.MaxNLocator(4))
        ax.set_xlabel("w (slope)")
        ax.set_ylabel("b (intercept)")
        ax.set_title(f"Path: B = {batch_size}, lr = {lr:g}", y=1.0)  # a fixed y skips a layout pass
        per_epoch = iterations_per_epoch(n, batch_size)
        its = np.arange(len(loss)) / per_epoch
        finite = np.where(np.isfinite(loss), loss, np.nan)
        ax2.plot(its, finite, color="tab:red")
        ax2.axhline(floor, color="black", ls=":", lw=1)
        ax2.set_ylim(
            0, 1.1 * float(loss[0])
        )  # linear axis (cheap ticks); a diverging run leaves the top
        ax2.yaxis.set_major_locator(ticker.MaxNLocator(4))
        ax2.xaxis.set_major_locator(ticker.MaxNLocator(4))
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("full-data training loss (MSE)")
        ax2.set_title(f"{len(loss) - 1} iterations in {epochs} epochs (dotted: minimum)", y=1.0)
        return fig

    def readout(batch_size: int, lr: float) -> str:
        loss = losses[batch_size][lrs.index(lr)]
        end = loss[-1]
        status = (
            "diverged"
            if not np.isfinite(end) or end > loss[0]
            else f"final loss {end:.3f} (minimum {floor:.3f})"
        )
        per_epoch = iterations_per_epoch(n, batch_size)
        return f"B = {batch_size}: {per_epoch} iteration{'s' if per_epoch > 1 else ''} per epoch; {status}"

    controls = {
        "batch_size": w.SelectionSlider(options=list(batch_sizes), value=batch_sizes[len(batch_sizes) // 2],
                                        description="batch size"),
        "lr": w.SelectionSlider(options=lrs, value=0.1 if 0.1 in lrs else lrs[0], description="learning rate"),
    }  # fmt: skip
    return Explorer(
        draw, controls, title="Trajectory explorer: batch size and learning rate", readout=readout
    )


EXPLORERS = {"ch03-trajectory-explorer": trajectory_explorer}


def first_reach(history: History, target: float, x: str = "iteration") -> float | None:
    """The first ``x`` (``"epoch"``, ``"iteration"``, ``"samples"``, ``"time"``) at which the
    measured full-data loss is at or below ``target``; ``None`` if the run never got there.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> h = train(LinearModel(), linear_data(40), batch_size=40, epochs=30, lr=0.1, evaluate_every=1)
    >>> first_reach(h, 1.0), first_reach(h, 1e-9)
    (4, None)
    """
    target = check_float("target", target)
    for value, loss in zip(_eval_x(history, x), history.evals.train_loss):
        if loss <= target:
            return value
    return None


def reach_table(runs: Mapping[str, History], target: float | None = None) -> list[dict]:
    """For each run, how much of each x-axis it needed to bring the full-data loss to ``target``
    (default: the worst final loss among the runs that did not diverge, so each of them gets
    there). A diverged run is left out of the target and marked in its row.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> rows = reach_table(compare_variants(LinearModel(), linear_data(40), epochs=3, lr=0.1))
    >>> [r["iterations"] for r in rows]
    [3, 4, 3]
    """
    finished = [h.evals.train_loss[-1] for h in runs.values() if not h.diverged]
    if target is None:
        if not finished:
            raise ValueError(
                "every run diverged: there is no target to reach; lower the learning rate"
            )
        target = max(finished)
    rows = []
    for label, h in runs.items():
        if h.diverged:
            rows.append(dict(variant=label, target=target, iterations=diverged_text(h), epochs=None,
                             samples_seen=None, seconds=None))  # fmt: skip
            continue
        rows.append(
            dict(
                variant=label,
                target=target,
                iterations=first_reach(h, target, "iteration"),
                epochs=first_reach(h, target, "epoch"),
                samples_seen=first_reach(h, target, "samples"),
                seconds=first_reach(h, target, "time"),
            )
        )
    return rows


def timing_table(runs: Mapping[str, History]) -> list[dict]:
    """Training seconds per run and per iteration (evaluations excluded): what one update costs."""
    return [
        {
            "variant": r["variant"],
            "seconds": r["seconds"],
            "ms per iteration": 1000 * r["seconds"] / max(r["iterations"], 1),
        }
        for r in comparison_table(runs)
    ]


def path_table(runs: Mapping[str, History]) -> list[dict]:
    """For runs trained with ``record_params=True``: updates made, distance travelled, final loss."""
    return [
        {"variant": label, "iterations": len(h.params) - 1, "path length": path_length(h),
         "final full-data loss": h.evals.train_loss[-1]}
        for label, h in runs.items()
    ]  # fmt: skip


def replay_table(replay: list[TutorialRun]) -> list[dict]:
    """The tutorial's runs counted honestly: its "epochs" beside iterations, samples and real epochs."""
    return [
        {"run": r.label, "B": r.batch_size, '"epochs"': r.iterations, "iterations": r.iterations,
         "samples seen": r.samples_seen, "real epochs": r.real_epochs, "final full-data loss": r.full_loss[-1]}
        for r in replay
    ]  # fmt: skip
