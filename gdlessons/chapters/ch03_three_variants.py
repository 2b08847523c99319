"""Batch, stochastic and mini-batch gradient descent: one loop, three batch sizes, compared fairly.

A fair comparison starts every variant from the *same* initial parameters on the *same* data
with the same learning rate and the same number of epochs, and measures the *full-data* loss
(``train(..., hooks=[EvaluateEvery(k)])``), not each run's own noisy batch loss. Then the x-axis decides
the winner: per iteration, per epoch, per sample seen or per second.

The two-parameter line (:class:`~gdlessons.models.LinearModel`) lets us draw the loss surface
and each variant's path on it; :func:`trajectory_explorer` precomputes a grid of such
paths so a slider move only redraws.

Why a small batch wanders: :func:`gradient_noise` measures how far a mini-batch gradient strays
from the full-data one, batch size by batch size, from per-sample gradients, and sets it beside
the theory σ²/B · (N − B)/(N − 1); :func:`noise_plot` draws the two with the signal ‖ḡ‖².
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
from matplotlib.figure import Figure, SubFigure
from torch import nn

from gdlessons._validate import (
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_mapping_of,
    check_rows,
    check_sequence,
)
from gdlessons.batching import BatchIterator, iterations_per_epoch, resolve_batch_size
from gdlessons.checks import check_model_fits, check_training_data
from gdlessons.data import as_tensors
from gdlessons.display.plots import X_AXES, new_axes, new_figure
from gdlessons.history import History
from gdlessons.hooks import EvaluateEvery, FullTrainLoss, StopWhen
from gdlessons.landscapes import torch_sgd_path
from gdlessons.metrics import evaluate, resolve_loss
from gdlessons.training import train

DEFAULT_VARIANTS: dict[str, int | str] = {
    "batch (B = N)": "full",
    "stochastic (B = 1)": 1,
    "mini-batch (B = 32)": 32,
}
# Okabe–Ito colours (distinct for red-green colour-blind readers), and a line width, style and
# marker per run as well, so the runs stay apart in greyscale: batch GD thick and solid with
# circles, stochastic GD thin with squares (its noisy line would break any dash pattern), mini-batch
# GD dashed with triangles, drawn on top.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")
LINESTYLES = ("-", "-", "--", "-.", ":")
WIDTHS = (2.0, 0.7, 1.8, 1.5, 1.5)
MARKERS = ("o", "s", "^", "D", "v")


def line_style(i: int, points: int, *, markers: int = 8) -> dict:
    """The ``i``-th run's colour, line width, style and marker for a line of ``points`` points,
    with about ``markers`` markers along it (staggered, so overlapping lines still show each).

    >>> [(s["ls"], s["lw"], s["marker"]) for s in (line_style(i, 100) for i in range(3))]
    [('-', 2.0, 'o'), ('-', 0.7, 's'), ('--', 1.8, '^')]
    """
    check_int("i", i, low=0)
    check_int("points", points, low=0)
    check_int("markers", markers, low=1)
    k = i % len(COLOURS)
    every = max(1, points // markers)
    return dict(color=COLOURS[k], ls=LINESTYLES[k], lw=WIDTHS[k], marker=MARKERS[k], ms=5,
                markevery=(min(k * every // 3, max(points - 1, 0)), every))  # fmt: skip


class EvaluatePerEpoch(EvaluateEvery):
    """The full-data loss before training and about ``times`` times per epoch: every
    ⌊iterations per epoch / times⌋ updates, at least once per update. One such hook measures
    every variant alike whatever its batch size, so the same ``hooks=[...]`` serves them all.

    With ``stop_at``, the run stops at the first measurement at or below that loss: with
    ``times`` = N (every update, whatever the batch size) a replay of a run that counts exactly
    how many updates, epochs and samples it needed to get there, where a sparser measurement
    only says "by then".

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> hook = EvaluatePerEpoch(2)
    >>> [train(LinearModel(), linear_data(40), batch_size=B, epochs=1, hooks=[hook]).evals.iteration
    ...  for B in (8, 40)]
    [[0, 2, 4], [0, 1]]
    >>> h = train(LinearModel(), linear_data(40), batch_size=8, epochs=3, lr=0.1,
    ...           hooks=[EvaluatePerEpoch(40, stop_at=2.0)])
    >>> h.evals.iteration, h.evals.train_loss[-1] <= 2.0 < h.evals.train_loss[-2]
    ([0, 1, 2], True)
    """

    def __init__(self, times: int, *, stop_at: float | None = None):
        self.times = check_int("times", times, low=1)
        self.stop_at = None if stop_at is None else check_float("stop_at", stop_at)
        self.k = 1

    def before_training(self, loop) -> None:
        self.k = max(1, (loop.iterations_per_epoch or 1) // self.times)
        super().before_training(loop)

    def after_iteration(self, loop) -> bool:
        super().after_iteration(loop)
        evals = loop.recorder.history.evals
        just_measured = evals.iteration and evals.iteration[-1] == loop.recorder.iteration
        return bool(
            self.stop_at is not None and just_measured and evals.train_loss[-1] <= self.stop_at
        )


def warm_up(model: nn.Module, data, batch_sizes, *, iterations: int = 3, lr: float = 0.01) -> None:
    """Train a throw-away copy of ``model`` for a few ``iterations`` at each batch size, so that
    PyTorch's one-off costs (the first use of each tensor shape) are paid before any timed run
    and the wall clock compares steady speeds. ``model`` itself is left as it was.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> model = LinearModel(w=0.5)
    >>> warm_up(model, linear_data(40), ["full", 1])
    >>> model.w.item()
    0.5
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    iterations = check_int("iterations", iterations, low=1)
    for batch_size in batch_sizes:
        train(copy.deepcopy(model), data, batch_size=batch_size, lr=lr,
              hooks=[StopWhen(lambda record: record["iteration"] >= iterations)])  # fmt: skip


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
    """Train a copy of ``model`` per variant (label -> batch size) and return their histories:
    the loop the chapter's first your-turn cell writes, with the measurements around it.

    Every copy starts from the same parameters, sees the same data for the same number of
    epochs at the same learning rate; only the batch size differs. The full-data loss is measured
    about ``evals_per_epoch`` times per epoch (:class:`EvaluatePerEpoch`, at least once per
    iteration for batch GD), so the curves compare the model, not each run's own batch. Before
    each timed run, ``warmup`` iterations on a throw-away copy (:func:`warm_up`) pay PyTorch's
    one-off costs, so the wall-clock panel compares steady speeds.

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
    evals_per_epoch = check_int("evals_per_epoch", evals_per_epoch, low=1)
    measure = [EvaluatePerEpoch(evals_per_epoch), FullTrainLoss()]  # the loss at the end too
    warmup = check_int("warmup", warmup, low=0)
    extra_hooks = list(train_kwargs.pop("hooks", ()))
    runs = {}
    for label, batch_size in variants.items():
        if warmup:
            warm_up(model, data, [batch_size], iterations=warmup, lr=lr)
        runs[label] = train(copy.deepcopy(model), data, batch_size=batch_size, epochs=epochs,
                            lr=lr, seed=seed, hooks=[*measure, *extra_hooks], **train_kwargs)  # fmt: skip
    return runs


def _check_run(name: str, h, *, evals: bool = True, params: bool = False) -> History:
    """``h`` a History; with ``evals``, one with full-data evaluations; with ``params``, one that
    recorded the line's parameters w and b."""
    check_instance(name, h, History, "a History, as train() or compare_variants returns")
    if evals and not h.evals.train_loss:
        raise ValueError(
            f"{name} holds no full-data evaluation: train it with evaluate_every (as compare_variants does)"
        )
    if params and (not h.params or not {"w", "b"} <= set(h.params[0])):
        raise ValueError(
            f"{name} recorded no line parameters w and b: train a LinearModel with hooks=[RecordParams()]"
        )
    return h


def _check_runs(runs, *, evals: bool = True, params: bool = False):
    check_mapping_of("runs", runs, History, "a History, as train() or compare_variants returns")
    for label, h in runs.items():
        _check_run(f"runs[{label!r}]", h, evals=evals, params=params)
    return runs


def full_loss_at(history: History, x: str, value: float) -> float:
    """The full-data loss of the last evaluation at or before ``value`` on axis ``x``
    (``"epoch"``, ``"iteration"``, ``"samples"`` or ``"time"``): how good the model was by then.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> h = train(LinearModel(), linear_data(40), batch_size=40, epochs=3, lr=0.1, hooks=[EvaluateEvery(1)])
    >>> full_loss_at(h, "iteration", 0) == h.evals.train_loss[0]
    True
    """
    _check_run("history", history)
    check_choice("x", x, X_AXES)
    value = check_float("value", value)
    xs = _eval_x(history, x)
    if value < xs[0]:
        raise ValueError(f"value must be >= the first evaluation at {x}={xs[0]}, got {value}")
    i = int(np.searchsorted(np.asarray(xs), value, side="right")) - 1
    return history.evals.train_loss[i]


def comparison_table(runs: Mapping[str, History]) -> list[dict]:
    """One row per variant: the counts behind each panel and the final full-data loss. A run
    that cannot be ranked (:func:`failure`) has no final loss in the table: its row says why
    instead, where it stopped if it diverged, or that it ended above its starting loss if it
    blew up without a non-finite loss.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> rows = comparison_table(compare_variants(LinearModel(), linear_data(40), epochs=3, lr=5.0))
    >>> rows[1]["final_loss"]
    'diverged at iteration 20'
    """
    _check_runs(runs)
    rows = []
    for label, h in runs.items():
        rows.append(
            dict(
                variant=label,
                batch_size=h.config["batch_size"],
                epochs=h.epochs.epoch[-1] if h.epochs.epoch else 0,
                iterations=h.iterations.iteration[-1] if h.iterations.iteration else 0,
                samples_seen=h.iterations.samples_seen[-1] if h.iterations.samples_seen else 0,
                seconds=h.iterations.time[-1] if h.iterations.time else 0.0,
                final_loss=failure(h) or final_full_loss(h),
            )
        )
    return rows


def final_full_loss(history: History) -> float:
    """The full-data loss after the last update: measured at the last epoch's end when the run
    recorded it (``FullTrainLoss()``, as :func:`compare_variants` does), else the last
    evaluation's.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> h = train(LinearModel(), linear_data(40), batch_size=8, epochs=1, hooks=[EvaluateEvery(2), FullTrainLoss()])
    >>> h.evals.iteration[-1], final_full_loss(h) == h.epochs.full_train_loss[-1]
    (4, True)
    """
    check_instance("history", history, History, "a History, as train() returns")
    full = history.epochs.full_train_loss
    if not (full and full[-1] is not None) and not history.evals.train_loss:
        raise ValueError(
            "history measured no full-data loss: train it with hooks=[FullTrainLoss()] or hooks=[EvaluateEvery(k)]"
        )
    if full and full[-1] is not None:
        return full[-1]
    return history.evals.train_loss[-1]


def diverged_text(history: History) -> str:
    """How a table names a diverged run: where it stopped, never its last finite loss."""
    check_instance("history", history, History, "a History, as train() returns")
    if not history.diverged:
        raise ValueError("history must be a run that diverged, got one that did not")
    return f"diverged at iteration {history.diverged_at}"


def four_panel(
    runs: Mapping[str, History],
    *,
    title: str | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """Full-data loss of each run against epoch, iteration, samples seen and wall-clock seconds,
    in a 2 × 2 grid (epoch and iteration on top, samples and seconds below).

    Iterations and seconds are drawn on log axes: batch GD makes a handful of updates, stochastic
    GD thousands, and their training times differ as much. ``fig`` is a figure or subfigure to
    draw into (default: a new 7.5 × 7-in one, the width of the course's column).

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> fig = four_panel(compare_variants(LinearModel(), linear_data(40), epochs=2, lr=0.1))
    >>> [ax.get_xlabel() for ax in fig.axes][::3], float(fig.get_figwidth())
    (['epoch', 'wall-clock training time (s)'], 7.5)
    """
    _check_runs(runs)
    if title is not None:
        check_instance("title", title, str, "a string")
    fig = new_figure(fig, figsize=(7.5, 7.0))
    axes = fig.subplots(2, 2).ravel()
    for i, (label, h) in enumerate(runs.items()):
        for ax, x in zip(axes, X_AXES):
            xs, ys = _eval_x(h, x), h.evals.train_loss
            if x in ("iteration", "time"):  # log axes: the evaluation at 0 cannot be drawn
                xs, ys = xs[1:], ys[1:]
            shown = f"{label}: {diverged_text(h)}" if h.diverged else label
            ax.plot(xs, ys, label=shown, **line_style(i, len(xs)))
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
    check_instance("surface", surface, Surface, "a Surface, as loss_surface returns")
    check_instance("ax", ax, Axes, "a matplotlib Axes")
    lo = max(float(surface.loss.min()), 1e-3)
    levels = np.geomspace(lo * 1.05, float(surface.loss.max()), 14)
    ax.contour(surface.w, surface.b, surface.loss, levels=levels, cmap="Greys", linewidths=0.8)
    ax.plot(*surface.minimum, "*", color="black", markersize=12, label="minimum")
    ax.set_xlabel("w (slope)")
    ax.set_ylabel("b (intercept)")


def trajectory_plot(
    runs: Mapping[str, History], data, *, surface: Surface | None = None, ax: Axes | None = None
) -> Figure:
    """The paths of runs trained with ``hooks=[RecordParams()]`` on the loss contours."""
    _check_runs(runs, evals=False, params=True)
    if surface is not None:
        check_instance("surface", surface, Surface, "a Surface, as loss_surface returns")
    surface = surface or loss_surface(data)
    fig, ax = new_axes(ax, figsize=(6.4, 5.0))
    draw_surface(surface, ax)
    for i, (label, h) in enumerate(runs.items()):
        w = h.param_trajectory("w").numpy()
        b = h.param_trajectory("b").numpy()
        ax.plot(w, b, alpha=0.85, label=f"{label}: {len(w) - 1} iterations",
                zorder=2 + 1 / len(w), **line_style(i, len(w)))  # fmt: skip
        # short paths on top of the long stochastic one
        ax.plot(w[0], b[0], "o", color="black", markersize=5)
    ax.set_title("Paths on the full-data loss surface (same start, same epochs)")
    ax.legend(loc="lower right")
    return fig


def path_length(history: History) -> float:
    """Total distance travelled in (w, b): a zig-zag path is much longer than the straight one.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> from gdlessons.hooks import RecordParams
    >>> h = train(LinearModel(), linear_data(40), batch_size=40, epochs=2, lr=0.1, hooks=[RecordParams()])
    >>> path_length(h) > 0
    True
    """
    _check_run("history", history, evals=False, params=True)
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
    check_sequence("lrs", lrs, item=lambda n, v: check_float(n, v, low=0.0, low_open=True))
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


# --- how noisy is a mini-batch gradient: measured against the theory -----------------------------

# A batch of B samples drawn *without replacement* from N gives a gradient whose mean is the
# full-batch gradient ḡ and whose total variance (summed over parameters) is
#
#     E‖g_B − ḡ‖² = σ²/B · (N − B)/(N − 1),   σ² = (1/N) Σᵢ ‖gᵢ − ḡ‖²,
#
# where gᵢ is sample i's own gradient. It falls like 1/B and reaches 0 at B = N (the batch is the
# whole data). Compared with the signal ‖ḡ‖², it says when more batch buys little: once σ²/B is
# well below ‖ḡ‖², the direction is already accurate. B_noise = σ²/‖ḡ‖² is the batch size where
# noise and signal are equal (the "gradient noise scale" of McCandlish et al., 2018).


def per_sample_gradients(model: nn.Module, data, loss="mse") -> torch.Tensor:
    """Each sample's own loss gradient, flattened in ``named_parameters()`` order: (N, parameters).

    Vectorised, one forward and one backward pass: for an ``nn.Linear`` layer, sample i's
    weight gradient is the outer product of the gradient at the layer's output and the layer's
    input, both of which the ordinary backward pass already computes for every sample. Models
    with parameters outside ``nn.Linear`` layers (such as ``LinearModel``) fall back to one
    backward pass per sample (:func:`per_sample_gradients_loop`).

    >>> from gdlessons.models import LinearModel
    >>> X, y = torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [0.0]])
    >>> per_sample_gradients(LinearModel(w=1.0), (X, y)).tolist()  # d/dw, d/db of (w·x + b − y)²
    [[2.0, 2.0], [8.0, 4.0]]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    X, y = as_tensors(data)
    loss_fn = resolve_loss(loss)
    linear = [m for m in model.modules() if isinstance(m, nn.Linear)]
    owned = {id(p) for m in linear for p in m.parameters(recurse=False)}
    if not linear or any(id(p) not in owned for p in model.parameters()):
        return per_sample_gradients_loop(model, data, loss)
    seen: dict[nn.Module, list] = {m: [] for m in linear}

    def keep(module, inputs, output):
        output.register_hook(lambda g: seen[module].append(g))
        seen[module].append(inputs[0].detach())

    handles = [m.register_forward_hook(keep) for m in linear]
    try:
        with torch.enable_grad():
            mean_loss = loss_fn(model(X), y)
            # the mean over N samples scales each sample's gradient by 1/N: undo it
            torch.autograd.grad(
                mean_loss * len(X), [p for p in model.parameters()], allow_unused=True
            )
    finally:
        for h in handles:
            h.remove()
    per_param = {}
    for m in linear:
        a, delta = seen[m]
        per_param[id(m.weight)] = torch.einsum("no,ni->noi", delta, a).reshape(len(X), -1)
        if m.bias is not None:
            per_param[id(m.bias)] = delta
    return torch.cat([per_param[id(p)] for p in model.parameters()], dim=1).detach()


def per_sample_gradients_loop(model: nn.Module, data, loss="mse") -> torch.Tensor:
    """The same as :func:`per_sample_gradients`, one backward pass per sample: slow, but works
    for any model (and checks the fast version in the tests).

    >>> from gdlessons.models import LinearModel
    >>> per_sample_gradients_loop(LinearModel(w=1.0), (torch.tensor([[2.0]]), torch.tensor([[0.0]]))).tolist()
    [[8.0, 4.0]]
    """
    X, y = check_training_data(data)
    check_model_fits(model, X, y, loss)
    loss_fn = resolve_loss(loss)
    params = list(model.parameters())
    rows = []
    with torch.enable_grad():
        for i in range(len(X)):
            grads = torch.autograd.grad(loss_fn(model(X[i : i + 1]), y[i : i + 1]), params)
            rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


def theory_variance(sigma2: float, n: int, batch_sizes) -> np.ndarray:
    """σ²/B · (N − B)/(N − 1): the mini-batch gradient's variance without replacement.

    >>> theory_variance(1.0, 100, [1, 100]).tolist()
    [1.0, 0.0]
    """
    check_sequence("batch_sizes", batch_sizes)
    check_float("sigma2", sigma2, low=0.0)
    n = check_int("n", n, low=2)
    B = np.asarray(batch_sizes, dtype=float)
    if (B < 1).any() or (B > n).any():
        raise ValueError(f"batch_sizes must be between 1 and n={n}, got {B.tolist()}")
    return sigma2 / B * (n - B) / (n - 1)


def measured_variance(
    grads: torch.Tensor, batch_sizes, *, draws: int = 500, seed: int = 0, stderr: bool = False
):
    """E‖g_B − ḡ‖² estimated from ``draws`` random batches per size, sampled without replacement.

    Vectorised: small batches are gathered rows of the centred per-sample gradients; for
    larger ones each batch is a row of a 0/(1/B) selection matrix, so all draws of a size cost
    one matrix product. At B = N every "random" batch is the whole data, so one draw suffices.

    >>> g = torch.tensor([[1.0], [-1.0]])
    >>> measured_variance(g, [1, 2], draws=50).tolist()
    [1.0, 0.0]
    """
    check_sequence("batch_sizes", batch_sizes)
    check_int("draws", draws, low=1)
    if not isinstance(grads, torch.Tensor) or grads.ndim != 2:
        raise TypeError(
            "grads must be a 2-D tensor (samples, parameters), e.g. from per_sample_gradients"
        )
    n = len(grads)
    draws = check_int("draws", draws, low=2)
    centred = grads.double() - grads.double().mean(0)
    out, errors = [], []
    for B, chosen in random_batches(n, batch_sizes, draws=draws, seed=seed).items():
        if B == n:
            out.append(float(centred.mean(0).pow(2).sum()))
            errors.append(0.0)
            continue
        if B <= 16:
            deviation = centred[chosen].mean(1)
        else:
            select = torch.zeros(draws, n).scatter_(1, chosen, 1.0 / B)
            deviation = select @ centred.float()
        squared = deviation.double().pow(2).sum(1)
        out.append(float(squared.mean()))
        errors.append(float(squared.std() / draws**0.5))
    return (np.asarray(out), np.asarray(errors)) if stderr else np.asarray(out)


def random_batches(
    n: int, batch_sizes, *, draws: int = 500, seed: int = 0
) -> dict[int, torch.Tensor]:
    """``draws`` random batches per batch size B, each B distinct samples of the N (drawn without
    replacement, as in a shuffled epoch): a (draws, B) tensor of sample indices per B. At B = N
    every such batch is the whole data, so there is one: all N samples.

    >>> {B: tuple(b.shape) for B, b in random_batches(10, [1, 4, 10], draws=3).items()}
    {1: (3, 1), 4: (3, 4), 10: (1, 10)}
    """
    n = check_int("n", n, low=1)
    draws = check_int("draws", draws, low=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    batches = {}
    for B in _non_empty(batch_sizes):
        B = check_int("batch_sizes", B, low=1, high=n)
        if B == n:
            batches[B] = torch.arange(n)[None]
        else:  # each row a random permutation of the N samples, cut to its first B
            batches[B] = torch.rand(draws, n, generator=generator).argsort(dim=1)[:, :B]
    return batches


@dataclass(frozen=True)
class NoiseResult:
    """Measured and predicted gradient-noise variance per batch size, and the signal ‖ḡ‖²."""

    n: int
    batch_sizes: list[int]
    measured: np.ndarray
    stderr: np.ndarray
    theory: np.ndarray
    sigma2: float
    signal: float

    @property
    def relative_errors(self) -> np.ndarray:
        """|measured − theory| / theory for every B < N (at B = N both are zero)."""
        keep = np.asarray(self.batch_sizes) < self.n
        return np.abs(self.measured[keep] - self.theory[keep]) / self.theory[keep]

    @property
    def max_stderr_ratio(self) -> float:
        """The largest |measured − theory| in units of the measurement's standard error."""
        keep = np.asarray(self.batch_sizes) < self.n
        return float((np.abs(self.measured[keep] - self.theory[keep]) / self.stderr[keep]).max())

    @property
    def max_relative_error(self) -> float:
        return float(self.relative_errors.max())

    @property
    def noise_scale(self) -> float:
        """B_noise = σ²/‖ḡ‖²: the batch size at which noise variance (≈ σ²/B) equals the signal."""
        return self.sigma2 / self.signal


def doubling_batch_sizes(n: int) -> list[int]:
    """1, 2, 4, … up to N, with N itself last.

    >>> doubling_batch_sizes(10)
    [1, 2, 4, 8, 10]
    """
    n = check_int("n", n, low=1)
    sizes = [2**k for k in range(int(np.log2(n)) + 1)]
    return sizes if sizes[-1] == n else sizes + [n]


def gradient_noise(
    model: nn.Module, data, *, batch_sizes=None, draws: int = 500, seed: int = 0, loss="mse"
) -> NoiseResult:
    """Measure the mini-batch gradient's variance for each batch size and set it beside the theory.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> r = gradient_noise(LinearModel(), linear_data(64), draws=2000)
    >>> r.batch_sizes[-1], bool(r.measured[-1] < 1e-12), r.max_relative_error < 0.15
    (64, True, True)
    """
    grads = per_sample_gradients(model, data, loss)
    n = len(grads)
    sizes = (
        doubling_batch_sizes(n)
        if batch_sizes is None
        else [check_int("batch_sizes", B, low=1, high=n) for B in _non_empty(batch_sizes)]
    )
    g = grads.double()
    mean = g.mean(0)
    sigma2 = float((g - mean).pow(2).sum(1).mean())
    measured, stderr = measured_variance(grads, sizes, draws=draws, seed=seed, stderr=True)
    return NoiseResult(
        n=n,
        batch_sizes=list(sizes),
        measured=measured,
        stderr=stderr,
        theory=theory_variance(sigma2, n, sizes),
        sigma2=sigma2,
        signal=float(mean.pow(2).sum()),
    )


def noise_result(grads: torch.Tensor, squared: Mapping[int, object]) -> NoiseResult:
    """The measurement set beside the theory: ``squared`` maps each batch size B to the values
    ‖g_B − ḡ‖² of its random batches (numbers or 0-d tensors), ``grads`` holds one sample's
    gradient per row (for σ² and the signal ‖ḡ‖²). The measured variance at B is their mean,
    its standard error their standard deviation over √draws (0 for a single batch).

    >>> g = torch.tensor([[1.0], [-1.0]])
    >>> r = noise_result(g, {1: [1.0, 1.0, 1.0], 2: [0.0]})
    >>> r.measured.tolist(), r.theory.tolist(), r.sigma2
    ([1.0, 0.0], [1.0, 0.0], 1.0)
    """
    if not isinstance(grads, torch.Tensor) or grads.ndim != 2:
        raise TypeError(
            "grads must be a 2-D tensor (samples, parameters), e.g. from per_sample_gradients"
        )
    check_mapping_of("squared", squared, object, "a list of squared distances ‖g_B − ḡ‖²")
    n = len(grads)
    sizes = [check_int("squared's batch sizes", B, low=1, high=n) for B in squared]
    measured, stderr = [], []
    for B in sizes:
        values = torch.tensor([float(v) for v in squared[B]], dtype=torch.float64)
        if values.numel() == 0 or not bool(values.isfinite().all()):
            raise ValueError(f"squared[{B}] must hold finite numbers, got {values.tolist()[:5]}")
        measured.append(float(values.mean()))
        stderr.append(float(values.std() / len(values) ** 0.5) if len(values) > 1 else 0.0)
    g = grads.double()
    mean = g.mean(0)
    sigma2 = float((g - mean).pow(2).sum(1).mean())
    return NoiseResult(n=n, batch_sizes=sizes, measured=np.asarray(measured),
                       stderr=np.asarray(stderr), theory=theory_variance(sigma2, n, sizes),
                       sigma2=sigma2, signal=float(mean.pow(2).sum()))  # fmt: skip


def noise_plot(result: NoiseResult, *, title: str | None = None, ax: Axes | None = None) -> Figure:
    """Measured variance (dots) on the theory curve, beside the signal ‖ḡ‖², on log-log axes.

    The point at B = N (zero variance) cannot sit on a log axis; it is stated in the legend.
    ``ax`` draws into an existing axes (default: a new 6.4 × 4.2-in figure).

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> noise_plot(gradient_noise(LinearModel(), linear_data(16), draws=50)).axes[0].get_xscale()
    'log'
    """
    check_instance("result", result, NoiseResult, "a NoiseResult, as gradient_noise returns")
    fig, ax = new_axes(ax, figsize=(6.4, 4.2))
    B = np.asarray(result.batch_sizes)
    keep = B < result.n
    fine = np.unique(np.geomspace(1, result.n - 1, 200).round().astype(int))
    ax.plot(fine, theory_variance(result.sigma2, result.n, fine), "-", color="tab:blue",
            label="theory σ²/B · (N − B)/(N − 1)")  # fmt: skip
    ax.plot(
        fine, result.sigma2 / fine, ":", color="tab:blue", lw=1, label="σ²/B (with replacement)"
    )
    ax.plot(B[keep], result.measured[keep], "o", color="tab:red",
            label=f"measured ({'at B = N: 0' if result.measured[~keep].size else 'B < N'})")  # fmt: skip
    ax.axhline(
        result.signal, color="black", ls="--", lw=1, label="signal ‖ḡ‖² (full-batch gradient)"
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size B (samples per iteration)")
    ax.set_ylabel("gradient variance E‖g_B − ḡ‖²")
    ax.set_title(title or f"Mini-batch gradient noise, N = {result.n}")
    ax.legend(loc="lower left")
    return fig


def _non_empty(batch_sizes):
    if isinstance(batch_sizes, (str, bytes)) or not hasattr(batch_sizes, "__len__"):
        raise TypeError(f"batch_sizes must be a list of integers, got {batch_sizes!r}")
    if len(batch_sizes) == 0:
        raise ValueError("batch_sizes must hold at least one batch size, got an empty list")
    return batch_sizes


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

        h = train(net, (X, y), epochs=iterations, lr=lr, momentum=momentum,
                  batches=one_batch, hooks=[EvaluateEvery(evaluate_every)])  # fmt: skip
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


def _check_replay(name: str, replay) -> tuple:
    return check_sequence(
        name,
        replay,
        item=lambda n, r: check_instance(
            n, r, TutorialRun, "a TutorialRun, as tutorial_replay returns"
        ),
    )


def tutorial_plot(
    runs: list[TutorialRun], *, fig: Figure | SubFigure | None = None
) -> Figure | SubFigure:
    """The replay's full-data loss against the tutorial's "epoch" (an iteration) on top, and
    below against what it should have counted: samples seen, where the three runs cover very
    different ground. ``fig`` is a figure or subfigure to draw into (default: a new 7.5 × 6.6-in
    one; the two panels are stacked so each keeps the column's full width).

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> replay = tutorial_replay(quadratic_data(50), tutorial_mlp(), iterations=3)
    >>> fig = tutorial_plot(replay)
    >>> [ax.get_xlabel() for ax in fig.axes][1], float(fig.get_figwidth())
    ('samples seen', 7.5)
    >>> left, right = Figure(figsize=(7.5, 6), layout="constrained").subfigures(1, 2)
    >>> len(tutorial_plot(replay, fig=right).axes)
    2
    """
    _check_replay("runs", runs)
    fig = new_figure(fig, figsize=(7.5, 6.6))
    axes = fig.subplots(2, 1)
    n = runs[0].samples_seen / runs[0].real_epochs
    for i, run in enumerate(runs):
        label = f"{run.label} (B = {run.batch_size})"
        style = line_style(i, len(run.full_loss))
        axes[0].plot(run.eval_iterations, run.full_loss, label=label, **style)
        seen = [max(k * run.batch_size, 1) for k in run.eval_iterations]
        axes[1].plot(seen[1:], run.full_loss[1:], label=label, **line_style(i, len(seen) - 1))
    axes[0].set_xlabel('the tutorial\'s "epoch" = iteration (one batch, one update)')
    axes[0].set_title('As the tutorial counts: one batch per "epoch"')
    axes[1].set_xscale("log")
    axes[1].set_xlabel("samples seen")
    axes[1].axvline(n, color="grey", ls=":", lw=1)
    axes[1].text(n, axes[1].get_ylim()[1], " 1 real epoch", color="grey", va="top", fontsize=9)
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

EXPLORER_LRS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8)


def _diverged(loss: np.ndarray) -> bool:
    """The explorer's test: the loss is not finite at the end, or ends above where it started."""
    return bool(not np.isfinite(loss[-1]) or loss[-1] > loss[0])


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
    rates by :func:`linear_sgd_paths`; a slider move only looks up a path and redraws the
    moving part of one kept figure (the path, the loss curve and the titles).
    """
    if lrs is not None:
        check_sequence("lrs", lrs, item=lambda n, v: check_float(n, v, low=0.0, low_open=True))
    if batch_sizes is not None:
        check_sequence("batch_sizes", batch_sizes)
    epochs = check_int("epochs", epochs, low=1)
    import ipywidgets as w

    from gdlessons.data import linear_data
    from gdlessons.display.explorer import Explorer

    data = linear_data() if data is None else data
    n = len(as_tensors(data)[0])
    if batch_sizes is None:
        batch_sizes = doubling_batch_sizes(n)
    lrs = list(EXPLORER_LRS) if lrs is None else list(lrs)
    surface = loss_surface(data, points=61)
    paths = {
        B: linear_sgd_paths(data, batch_size=B, lrs=lrs, epochs=epochs, seed=seed, w0=w0, b0=b0)
        for B in batch_sizes
    }
    losses = {B: linear_loss(data, p[..., 0], p[..., 1]) for B, p in paths.items()}
    floor = float(linear_loss(data, *surface.minimum))
    levels = np.geomspace(max(floor, 1e-3) * 1.05, float(surface.loss.max()), 14)

    # One figure is kept: a move redraws only the path, the loss curve and the two titles
    # (animated artists, see gdlessons.display.redraw); the contours, the minimum, the axes and
    # their ticks are the same at every state and drawn once. Both panels' ranges are fixed:
    # every run starts from (w0, b0), at the same loss, and runs for `epochs` epochs.
    start_loss = float(linear_loss(data, w0, b0))
    fig = Figure(figsize=(7.5, 3.6), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    ax.contour(surface.w, surface.b, surface.loss, levels=levels, cmap="Greys", linewidths=0.8)
    ax.plot(*surface.minimum, "*", color="black", markersize=11)
    (path_line,) = ax.plot([], [], "-", color="tab:red", lw=1, animated=True)
    # the start, drawn over the path
    ax.plot([w0], [b0], "o", color="black", markersize=5, animated=True)
    ax.set_xlim(surface.w.min(), surface.w.max())
    ax.set_ylim(surface.b.min(), surface.b.max())
    ax.xaxis.set_major_locator(ticker.MaxNLocator(4))
    ax.yaxis.set_major_locator(ticker.MaxNLocator(4))
    ax.set_xlabel("w (slope)")
    ax.set_ylabel("b (intercept)")
    ax.title.set_animated(True)
    (loss_line,) = ax2.plot([], [], color="tab:red", animated=True)
    ax2.axhline(floor, color="black", ls=":", lw=1, animated=True)  # over the loss curve
    ax2.set_xlim(-0.05 * epochs, 1.05 * epochs)  # where autoscaling put the curve's 0 to epochs
    # linear axis (cheap ticks); a diverging run leaves the top
    ax2.set_ylim(0, 1.1 * start_loss)
    ax2.yaxis.set_major_locator(ticker.MaxNLocator(4))
    ax2.xaxis.set_major_locator(ticker.MaxNLocator(4))
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("full-data training loss (MSE)")
    ax2.title.set_animated(True)

    def draw(batch_size: int, lr: float) -> Figure:
        i = lrs.index(lr)
        path, loss = paths[batch_size][i], losses[batch_size][i]
        # a diverging run's points far outside the picture are left out (and not joined)
        shown = np.isfinite(path).all(1) & (np.abs(path) < 50).all(1)
        path_line.set_data(np.where(shown, path[:, 0], np.nan), np.where(shown, path[:, 1], np.nan))
        ax.set_title(f"Path: B = {batch_size}, lr = {lr:g}")
        per_epoch = iterations_per_epoch(n, batch_size)
        loss_line.set_data(
            np.arange(len(loss)) / per_epoch, np.where(np.isfinite(loss), loss, np.nan)
        )
        ax2.set_title(f"{len(loss) - 1} iterations in {epochs} epochs\n(dotted: the minimum)")
        return fig

    def readout(batch_size: int, lr: float) -> str:
        loss = losses[batch_size][lrs.index(lr)]
        status = (
            "diverged" if _diverged(loss) else f"final loss {loss[-1]:.3f} (minimum {floor:.3f})"
        )
        per_epoch = iterations_per_epoch(n, batch_size)
        return f"B = {batch_size}: {per_epoch} iteration{'s' if per_epoch > 1 else ''} per epoch; {status}"

    controls = {
        "batch_size": w.SelectionSlider(options=list(batch_sizes), value=batch_sizes[len(batch_sizes) // 2],
                                        description="batch size"),
        "lr": w.SelectionSlider(options=lrs, value=0.1 if 0.1 in lrs else lrs[0], description="learning rate"),
    }  # fmt: skip
    return Explorer(
        draw,
        controls,
        title="Trajectory explorer: batch size and learning rate",
        readout=readout,
        background=lambda **_: None,  # one still part for every state
    )


EXPLORERS = {"ch03-trajectory-explorer": trajectory_explorer}


def first_reach(history: History, target: float, x: str = "iteration") -> float | None:
    """The first ``x`` (``"epoch"``, ``"iteration"``, ``"samples"``, ``"time"``) at which the
    measured full-data loss is at or below ``target``; ``None`` if the run never got there.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> h = train(LinearModel(), linear_data(40), batch_size=40, epochs=30, lr=0.1, hooks=[EvaluateEvery(1)])
    >>> first_reach(h, 1.0), first_reach(h, 1e-9)
    (4, None)
    """
    _check_run("history", history)
    target = check_float("target", target)
    check_choice("x", x, X_AXES)
    for value, loss in zip(_eval_x(history, x), history.evals.train_loss):
        if loss <= target:
            return value
    return None


def failure(history: History) -> str | None:
    """Why a run cannot be ranked, or ``None``: it diverged (a non-finite loss stopped it), or its
    full-data loss ended non-finite or above where it started (it blew up without stopping).

    >>> h = History(config={}); h.evals.train_loss[:] = [2.0, 5.0]
    >>> failure(h)
    'ended above its starting loss (5 > 2)'
    """
    _check_run("history", history)
    if history.diverged:
        return diverged_text(history)
    start, end = history.evals.train_loss[0], final_full_loss(history)
    if not math.isfinite(end) or end > start:
        return f"ended above its starting loss ({end:.4g} > {start:.4g})"
    return None


def default_target(runs: Mapping[str, History]) -> float:
    """A full-data loss every run that can be ranked (:func:`failure`) reached, and none by
    construction only at its end: halfway, on a log scale, from the common starting loss down
    to the worst final loss of those runs (√(start × worst)). Not a run's own final loss, which
    could build in a loser: the run that ends there may reach it only with its last update, and
    then needs its whole budget of epochs and samples, last on those two axes by construction.

    >>> h = History(config={}); h.evals.train_loss[:] = [16.0, 4.0, 1.0]
    >>> default_target({"a": h})
    4.0
    """
    _check_runs(runs)
    finished = [h for h in runs.values() if failure(h) is None]
    if not finished:
        raise ValueError(
            "no run ended below its starting loss: there is no target to reach; lower the learning rate"
        )
    start = max(h.evals.train_loss[0] for h in finished)
    worst = max(final_full_loss(h) for h in finished)
    return math.sqrt(start * worst)


def reach_table(
    runs: Mapping[str, History],
    target: float | None = None,
    *,
    exact: Mapping[str, History] | None = None,
) -> list[dict]:
    """For each run, how much of each x-axis it needed to bring the full-data loss to ``target``
    (default :func:`default_target`, which every run that can be ranked reaches). A run that
    diverged or blew up (:func:`failure`) is left out of the target and its row says why; a run
    that never got there shows ``None``.

    A count is that of the first measurement at or below the target. It is exact only if the
    run was measured after every update up to it (the row's ``exact``); else the loss may have
    got there sooner, between measurements, and the count is only an upper bound. ``exact``
    gives, per label, a replay of the run measured after every update (the same ``train()``
    call with ``hooks=[EvaluatePerEpoch(N, stop_at=target)]``): the counts are then read from it.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> runs = compare_variants(LinearModel(), linear_data(40), epochs=3, lr=0.1)
    >>> [(r["iterations"], r["exact"]) for r in reach_table(runs)]  # B = 1: measured every 4
    [(2, True), (4, False), (2, True)]
    >>> target = default_target(runs)
    >>> again = {k: train(LinearModel(), linear_data(40), batch_size=h.config["batch_size"],
    ...                   epochs=3, lr=0.1, hooks=[EvaluatePerEpoch(40, stop_at=target)])
    ...          for k, h in runs.items()}
    >>> [(r["iterations"], r["exact"]) for r in reach_table(runs, target, exact=again)]
    [(2, True), (3, True), (2, True)]
    """
    _check_runs(runs)
    if target is not None:
        target = check_float("target", target)
    if target is None:
        target = default_target(runs)
    if exact is not None:
        _check_runs(exact)
        if set(exact) != set(runs):
            raise ValueError(
                f"exact must hold a replay of every run, with the same labels {sorted(runs)}, "
                f"got {sorted(exact)}"
            )
    rows = []
    for label, h in runs.items():
        if failure(h) is not None:
            rows.append(dict(variant=label, target=target, iterations=failure(h), epochs=None,
                             samples_seen=None, seconds=None, exact=None))  # fmt: skip
            continue
        counted = h if exact is None else _replay_of(label, h, exact[label], target)
        rows.append(
            dict(
                variant=label,
                target=target,
                iterations=first_reach(counted, target, "iteration"),
                epochs=first_reach(counted, target, "epoch"),
                samples_seen=first_reach(counted, target, "samples"),
                seconds=first_reach(counted, target, "time"),
                exact=_measured_at_every_update(counted, target),
            )
        )
    return rows


def _measured_at_every_update(history: History, target: float) -> bool | None:
    """Whether ``history`` measured the full-data loss after every update up to the first
    measurement at or below ``target`` (``None`` if none is)."""
    ev = history.evals
    reached = [i for i, loss in enumerate(ev.train_loss) if loss <= target]
    if not reached:
        return None
    return list(ev.iteration[: reached[0] + 1]) == list(range(ev.iteration[0], reached[0] + 1))


def _replay_of(label: str, run: History, replay: History, target: float) -> History:
    """``replay``, checked to be ``run`` again: the same settings and, where both measured the
    full-data loss, the same loss; and measured after every update until it reached ``target``."""
    name = f"exact[{label!r}]"
    for key in ("n", "batch_size", "epochs", "lr", "momentum", "seed"):
        if replay.config.get(key) != run.config.get(key):
            raise ValueError(
                f"{name} must replay runs[{label!r}], but it trained with {key}="
                f"{replay.config.get(key)!r} where the run had {run.config.get(key)!r}"
            )
    theirs = dict(zip(run.evals.iteration, run.evals.train_loss))
    for it, loss in zip(replay.evals.iteration, replay.evals.train_loss):
        if it in theirs and not math.isclose(loss, theirs[it], rel_tol=1e-5, abs_tol=1e-12):
            raise ValueError(
                f"{name} must replay runs[{label!r}] from the same start, but after {it} updates "
                f"its full-data loss is {loss:.6g} where the run's was {theirs[it]:.6g}"
            )
    if first_reach(replay, target) is not None and not _measured_at_every_update(replay, target):
        raise ValueError(
            f"{name} must measure the full-data loss after every update (hooks=[EvaluatePerEpoch("
            f"N, stop_at=target)]), but it measured after updates {replay.evals.iteration[:6]}..."
        )
    return replay


def timing_table(runs: Mapping[str, History]) -> list[dict]:
    """Training seconds per run and per iteration (evaluations excluded): what one update costs."""
    _check_runs(runs)
    return [
        {
            "variant": r["variant"],
            "seconds": r["seconds"],
            "ms per iteration": 1000 * r["seconds"] / max(r["iterations"], 1),
        }
        for r in comparison_table(runs)
    ]


def path_table(runs: Mapping[str, History]) -> list[dict]:
    """For runs trained with ``hooks=[RecordParams()]``: updates made, distance travelled, final loss."""
    _check_runs(runs, evals=False, params=True)
    return [
        {"variant": label, "iterations": len(h.params) - 1, "path length": path_length(h),
         "final full-data loss": final_full_loss(h)}
        for label, h in runs.items()
    ]  # fmt: skip


def replay_table(replay: list[TutorialRun]) -> list[dict]:
    """The tutorial's runs counted honestly: its "epochs" beside iterations, samples and real epochs."""
    _check_replay("replay", replay)
    return [
        {"run": r.label, "B": r.batch_size, '"epochs"': r.iterations, "iterations": r.iterations,
         "samples seen": r.samples_seen, "real epochs": r.real_epochs, "final full-data loss": r.full_loss[-1]}
        for r in replay
    ]  # fmt: skip


# --- what the tables say, in words chosen from their numbers -----------------------------------


def _listing(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} ({value})" for name, value in pairs)


def _short(label: str) -> str:
    """A variant's label without its batch size: "mini-batch (B = 32)" -> "mini-batch"."""
    return label.split(" (")[0]


def final_sentences(runs: Mapping[str, History]) -> str:
    """The comparison's verdict: the runs that can be ranked, lowest final full-data loss first,
    and the others named apart with the reason (:func:`failure`), never ranked.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> runs = compare_variants(LinearModel(), linear_data(40), epochs=3, lr=0.7,
    ...                         variants={"batch": "full", "stochastic": 1, "mini": 8})
    >>> print(final_sentences(runs))
    after the same 3 epochs: lowest final full-data loss first: mini (0.3437)
    left out of the ranking: batch, ended above its starting loss (9.167 > 6.732); stochastic, diverged at iteration 116
    """
    _check_runs(runs)
    for label, h in runs.items():
        if "epochs" not in h.config:
            raise ValueError(
                f"runs[{label!r}].config lacks 'epochs': it must be a History from train()"
            )
    ranked = sorted(
        (k for k, h in runs.items() if failure(h) is None), key=lambda k: final_full_loss(runs[k])
    )
    epochs = max(h.config["epochs"] for h in runs.values())
    lines = [
        f"after the same {epochs} epochs: lowest final full-data loss first: "
        + (_listing([(_short(k), f"{final_full_loss(runs[k]):.4g}") for k in ranked]) or "none")
    ]
    gone = [f"{_short(k)}, {failure(h)}" for k, h in runs.items() if failure(h) is not None]
    if gone:
        lines.append("left out of the ranking: " + "; ".join(gone))
    return "\n".join(lines)


def _number(v) -> str:
    return str(v) if isinstance(v, int) else f"{v:.3g}"


def _ranked(rows: list[dict], key: str) -> str:
    """Rows from the smallest ``key`` up, equal values grouped: "a and b (3, tied), c (10)"."""
    groups: list[list[dict]] = []
    for r in sorted(rows, key=lambda r: r[key]):
        if groups and groups[-1][0][key] == r[key]:
            groups[-1].append(r)
        else:
            groups.append([r])
    return ", ".join(
        " and ".join(_short(r["variant"]) for r in g)
        + f" ({_number(g[0][key])}{', tied' if len(g) > 1 else ''})"
        for g in groups
    )


def reach_sentences(rows: list[dict]) -> str:
    """The reach table's verdict per axis: fewest iterations, epochs and samples seen first, ties
    grouped; runs that diverged or never reached the target named apart, and so are runs whose
    count is only an upper bound (``exact`` False: not measured after every update), which
    cannot be ranked: between measurements their loss may have got there sooner.

    >>> rows = [{"variant": "batch", "target": 2.0, "iterations": 3, "epochs": 3.0, "samples_seen": 30},
    ...         {"variant": "mini", "target": 2.0, "iterations": 3, "epochs": 0.3, "samples_seen": 3},
    ...         {"variant": "stochastic", "target": 2.0, "iterations": 12, "epochs": 1.2, "samples_seen": 12}]
    >>> print(reach_sentences(rows))
    to full-data loss 2: fewest iterations first: batch and mini (3, tied), stochastic (12)
    fewest epochs first: mini (0.3), stochastic (1.2), batch (3)
    fewest samples seen first: mini (3), stochastic (12), batch (30)
    >>> rows[2]["exact"] = False
    >>> print(reach_sentences(rows).splitlines()[-1])
    not ranked, measured too sparsely to count exactly: stochastic (by iteration 12 at the latest)
    """
    check_rows(
        "rows",
        rows,
        ("variant", "target", "iterations", "epochs", "samples_seen"),
        what="reach_table",
    )
    counted = [r for r in rows if isinstance(r["iterations"], int)]
    ranked = [r for r in counted if r.get("exact", True) is not False]
    lines = [
        f"fewest {name} first: {_ranked(ranked, key) or 'none'}"
        for key, name in (
            ("iterations", "iterations"),
            ("epochs", "epochs"),
            ("samples_seen", "samples seen"),
        )
    ]
    lines[0] = f"to full-data loss {rows[0]['target']:.4g}: " + lines[0]
    never = [_short(r["variant"]) for r in rows if r["iterations"] is None]
    gone = [
        f"{_short(r['variant'])} ({r['iterations']})"
        for r in rows
        if isinstance(r["iterations"], str)
    ]
    rough = [
        f"{_short(r['variant'])} (by iteration {r['iterations']} at the latest)"
        for r in counted
        if r.get("exact", True) is False
    ]
    if never:
        lines.append("never reached the target: " + ", ".join(never))
    if gone:
        lines.append("left out: " + ", ".join(gone))
    if rough:
        lines.append("not ranked, measured too sparsely to count exactly: " + ", ".join(rough))
    return "\n".join(lines)


def clock_sentences(runs: Mapping[str, History], reach: list[dict]) -> str:
    """Wall-clock verdicts (they differ from machine to machine): what one update of each run cost,
    what one sample cost, and who reached the target first.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> runs = compare_variants(LinearModel(), linear_data(40), epochs=2, lr=0.1)
    >>> print(clock_sentences(runs, reach_table(runs)).splitlines()[1][:33])
    first to the target on the clock:
    """
    _check_runs(runs)
    check_rows("reach", reach, ("variant", "seconds"), what="reach_table")
    timing = timing_table(runs)
    per_sample = [
        (_short(t["variant"]), f"{1000 * t['seconds'] / max(r['samples_seen'], 1):.3g}")
        for t, r in zip(timing, comparison_table(runs))
    ]
    lines = [
        "ms per iteration: " + _listing([(_short(t["variant"]), f"{t['ms per iteration']:.3g}") for t in timing])
        + "; ms per sample: " + _listing(per_sample)
    ]  # fmt: skip
    timed = sorted(
        (r for r in reach if isinstance(r.get("seconds"), float) and r.get("exact") is not False),
        key=lambda r: r["seconds"],
    )  # a count that is only an upper bound is not ranked (reach_sentences)
    if timed:
        lines.append(
            "first to the target on the clock: "
            + _listing([(_short(r["variant"]), f"{r['seconds']:.3g} s") for r in timed])
        )
    return "\n".join(lines)


def path_sentences(rows: list[dict], floor: float) -> str:
    """The path table in words: how many times longer each path is than the shortest, and which
    run ended closest to the minimum's loss ``floor``.

    >>> rows = [{"variant": "batch", "iterations": 10, "path length": 2.0, "final full-data loss": 0.30},
    ...         {"variant": "stochastic", "iterations": 2000, "path length": 300.0, "final full-data loss": 0.29}]
    >>> print(path_sentences(rows, 0.26))
    path length against the shortest (batch): stochastic ×150 (2000 iterations against 10)
    closest to the minimum's loss 0.26 first: stochastic (+0.03), batch (+0.04)
    """
    check_rows(
        "rows",
        rows,
        ("variant", "iterations", "path length", "final full-data loss"),
        what="path_table",
    )
    floor = check_float("floor", floor)
    shortest = min(rows, key=lambda r: r["path length"])
    others = [r for r in rows if r is not shortest]
    lines = [
        f"path length against the shortest ({_short(shortest['variant'])}): "
        + ", ".join(
            f"{_short(r['variant'])} ×{r['path length'] / shortest['path length']:.3g} "
            f"({r['iterations']} iterations against {shortest['iterations']})"
            for r in others
        )
    ]
    order = sorted(rows, key=lambda r: r["final full-data loss"])
    lines.append(
        f"closest to the minimum's loss {floor:.3g} first: "
        + _listing(
            [(_short(r["variant"]), f"+{r['final full-data loss'] - floor:.2g}") for r in order]
        )
    )
    return "\n".join(lines)


def replay_sentences(replay: list[TutorialRun]) -> str:
    """What the replayed tutorial runs did, from their full-data losses: how much each went up
    between evaluations, where each ended, and whether the two momentum-1 runs ended together.

    >>> runs = [TutorialRun("m1", 8, 1.0, [], [0, 1, 2], [3.0, 4.0, 2.0], 2, 16, 2.0),
    ...         TutorialRun("m0", 1, 0.0, [], [0, 1, 2], [3.0, 2.9, 2.8], 2, 2, 0.25)]
    >>> print(replay_sentences(runs))
    m1 (B = 8): from 3 to 2, rising in 1 of 2 evaluations
    m0 (B = 1): from 3 to 2.8, falling at every evaluation
    """
    _check_replay("replay", replay)
    lines = []
    for r in replay:
        ups = int((np.diff(r.full_loss) > 0).sum())
        moves = (
            "falling at every evaluation"
            if ups == 0
            else f"rising in {ups} of {len(r.full_loss) - 1} evaluations"
        )
        lines.append(
            f"{r.label} (B = {r.batch_size}): from {r.full_loss[0]:.3g} to {r.full_loss[-1]:.3g}, {moves}"
        )
    ones = [r for r in replay if r.momentum == 1.0]
    if len(ones) == 2:
        a, b = (r.full_loss[-1] for r in ones)
        gap = abs(a - b) / max(a, b)
        apart = (
            "within 0.1% of each other" if gap < 0.001
            else f"within {gap:.1%} of each other" if gap < 0.05 else f"{gap:.0%} apart"
        )  # fmt: skip
        lines.append(
            f"the two momentum-1 runs (B = {ones[0].batch_size} and {ones[1].batch_size}) end {apart}"
        )
    return "\n".join(lines)


def first_divergence(
    data, *, epochs: int = 3, seed: int = 0, batch_sizes=None, lrs=None
) -> list[dict]:
    """For each batch size of the trajectory explorer, the smallest of its learning rates at
    which the line's run diverged (its loss not finite, or above where it started), by the same
    vectorised paths and the same test as the explorer's readout.

    >>> from gdlessons.data import linear_data
    >>> first_divergence(linear_data(40), batch_sizes=[1, 40], lrs=[0.1, 2.0])
    [{'batch size': 1, 'first diverging lr': 2.0}, {'batch size': 40, 'first diverging lr': 2.0}]
    """
    if lrs is not None:
        check_sequence("lrs", lrs, item=lambda n, v: check_float(n, v, low=0.0, low_open=True))
    if batch_sizes is not None:
        check_sequence("batch_sizes", batch_sizes)
    n = len(as_tensors(data)[0])
    batch_sizes = doubling_batch_sizes(n) if batch_sizes is None else list(batch_sizes)
    lrs = list(EXPLORER_LRS if lrs is None else lrs)
    rows = []
    for B in batch_sizes:
        paths = linear_sgd_paths(data, batch_size=B, lrs=lrs, epochs=epochs, seed=seed)
        losses = linear_loss(data, paths[..., 0], paths[..., 1])
        bad = [lr for lr, loss in zip(lrs, losses) if _diverged(loss)]
        rows.append({"batch size": B, "first diverging lr": min(bad) if bad else None})
    return rows


def divergence_sentences(rows: list[dict]) -> str:
    """Whether smaller batches diverged at smaller rates in :func:`first_divergence`'s rows, with
    neighbouring batch sizes that share a limit grouped.

    >>> print(divergence_sentences([{"batch size": 1, "first diverging lr": 0.5},
    ...                             {"batch size": 2, "first diverging lr": 0.8},
    ...                             {"batch size": 8, "first diverging lr": 0.8}]))
    first diverging rate: B = 1: 0.5; B = 2 to 8: 0.8. No larger batch diverged at a smaller rate than a smaller batch.
    """
    check_rows("rows", rows, ("batch size", "first diverging lr"), what="first_divergence")
    groups: list[list[dict]] = []
    for r in rows:
        if groups and groups[-1][0]["first diverging lr"] == r["first diverging lr"]:
            groups[-1].append(r)
        else:
            groups.append([r])
    parts = []
    for g in groups:
        sizes = f"B = {g[0]['batch size']}" + (f" to {g[-1]['batch size']}" if len(g) > 1 else "")
        lr = g[0]["first diverging lr"]
        parts.append(f"{sizes}: {'none of the rates' if lr is None else f'{lr:g}'}")
    limits = [
        math.inf if r["first diverging lr"] is None else r["first diverging lr"] for r in rows
    ]
    ordered = all(a <= b for a, b in zip(limits, limits[1:]))
    verdict = (
        "No larger batch diverged at a smaller rate than a smaller batch."
        if ordered
        else "Here the order is not monotone: some larger batch diverged at a smaller rate."
    )
    return "first diverging rate: " + "; ".join(parts) + ". " + verdict
