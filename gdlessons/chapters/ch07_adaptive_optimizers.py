"""Adaptive optimizers: a learning rate per parameter, set by each parameter's own gradients.

The notebook writes AdaGrad, RMSProp, Adam and AdamW by hand; this module holds what surrounds
those lines: the data and two-parameter surfaces they run on, :func:`match_torch` (a hand-written
rule against ``torch.optim`` bit for bit, on the same batches), a vectorised engine for paths on
the surfaces (:func:`paths`, pinned to ``torch.optim`` by the tests), the Adam-vs-SGD race on two
real problems, the hook that measures exploding and vanishing gradients during training
(:class:`GradientNorms`) with the deep networks it measures, the plots and the explorer.

Per parameter p with gradient g (after weight decay, if any), torch's rules are:

    AdaGrad   G ← G + g²                    p ← p − η·g / (√G + ε)
    RMSProp   s ← α·s + (1 − α)·g²          p ← p − η·g / (√s + ε)
    Adam      m ← β₁·m + (1 − β₁)·g         v ← β₂·v + (1 − β₂)·g²
              p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
    AdamW     p ← p·(1 − η·wd) first, then Adam without weight decay
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import matplotlib as mpl
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from torch import nn

from gdlessons._validate import (
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_mapping,
    check_mapping_of,
    check_numbers,
    check_sequence,
    check_tensor,
)
from gdlessons.batching import BatchIterator, resolve_batch_size
from gdlessons.compare import Comparison, compare, over_updates
from gdlessons.data import Dataset, as_tensors, digits_data, quadratic_data
from gdlessons.display.explorer import Explorer
from gdlessons.display.plots import LINE_STYLES, X_AXES, new_figure
from gdlessons.display.tables import Table
from gdlessons.history import History
from gdlessons.hooks import RecordParams
from gdlessons.loop import Hook, Loop
from gdlessons.lr_finder import (
    RangeTest,
    add_suggestions,
    ema_smooth,
    suggested_lr,
    warmup_iterations,
)
from gdlessons.metrics import resolve_loss
from gdlessons.models import INITS, digits_classifier, initialise, tutorial_mlp
from gdlessons.sweep import grid, sweep
from gdlessons.training import make_optimizer, train

# Line style and marker per method, so no curve is told apart by colour alone.
STYLES = {
    "SGD": dict(ls="-", marker="o", color="C0"),
    "SGD + momentum": dict(ls="--", marker="s", color="C1"),
    "RMSProp": dict(ls="-.", marker="^", color="C2"),
    "Adam": dict(ls=":", marker="D", color="C3"),
    "AdaGrad": dict(ls=(0, (5, 1, 1, 1)), marker="v", color="C4"),
    "SGD + noise": dict(ls=(0, (1, 1)), marker="x", color="C5"),
}


def style(label: str) -> dict:
    """The line style of the method named at the start of ``label`` (longest name first).

    >>> style("Adam η=0.1")["marker"], style("SGD + momentum 0.9")["ls"]
    ('D', '--')
    """
    check_instance("label", label, str, "a string")
    for name in sorted(STYLES, key=len, reverse=True):
        if label.startswith(name):
            return dict(STYLES[name])
    return {}


def panels(
    n: int = 1,
    *,
    ncols: int | None = None,
    figsize: tuple[float, float] = (6.4, 3.6),
    fig: Figure | SubFigure | None = None,
    width_ratios: Sequence[float] | None = None,
    height_ratios: Sequence[float] | None = None,
    sharex: bool = False,
) -> tuple[Figure | SubFigure, list[Axes]]:
    """``n`` axes in rows of at most ``ncols`` (default: all in one row), drawn into ``fig`` or a
    new figure of ``figsize`` with constrained layout, so that no label is clipped and a figure
    fits the course's 7.5-in column however many panels a parameter asks for. A last row with
    fewer panels is centred. Returns ``(figure, axes)``, ``axes`` a list of ``n``.

    >>> fig, axes = panels(3, ncols=2); len(axes), fig.get_layout_engine() is not None
    (3, True)
    >>> [ax.get_subplotspec().colspan for ax in axes]
    [range(0, 2), range(2, 4), range(1, 3)]
    """
    n = check_int("n", n, low=1)
    ncols = n if ncols is None else min(check_int("ncols", ncols, low=1), n)
    nrows = -(-n // ncols)
    fig = new_figure(fig, figsize=figsize)
    # Each panel spans two half-columns, so a shorter last row can sit in the middle.
    halves = [r for r in width_ratios for _ in range(2)] if width_ratios else None
    grid = fig.add_gridspec(nrows, 2 * ncols, width_ratios=halves, height_ratios=height_ratios)
    axes: list[Axes] = []
    for i in range(n):
        row, col = divmod(i, ncols)
        shift = ncols - (n - row * ncols) if row == nrows - 1 else 0
        first = 2 * col + shift
        share = axes[0] if sharex and axes else None
        axes.append(fig.add_subplot(grid[row, first : first + 2], sharex=share))
    return fig, axes


def plain_log_labels(ax: Axes) -> None:
    """On a log y axis spanning less than about a decade and a half, label the ticks 2, 3, 4, 6
    as plain numbers instead of 6×10⁰ (wider axes keep powers of ten).

    >>> fig, (ax,) = panels(); _ = ax.semilogy([1, 2], [1.0, 8.0]); plain_log_labels(ax)
    >>> ax.yaxis.get_minor_formatter()(0.3, 0)
    '0.3'
    """
    check_instance("ax", ax, Axes, "a matplotlib Axes")
    low, high = ax.get_ylim()
    if low > 0 and math.log10(high / low) < 1.5:
        plain = mpl.ticker.FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_minor_locator(mpl.ticker.LogLocator(subs=(2.0, 3.0, 5.0)))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)


# ----------------------------------------------------------------------------------------------
# Two-parameter surfaces
# ----------------------------------------------------------------------------------------------

CURVATURES = (0.02, 1.0)  # chapter 06's ill-conditioned quadratic: κ = 50
START = (-2.5, 0.8)
SADDLE_TILT = 0.1  # f = ¼(x² − 1)² + ½y² + 0.1·x: the tilt makes one minimum lower than the other


@dataclass(frozen=True)
class Surface:
    """A loss of two parameters, vectorised over leading axes: ``loss(x)`` maps (..., 2) to (...)
    and ``grad(x)`` (written out, for speed) maps (..., 2) to its gradient (..., 2).

    ``points`` names the critical points (minima, saddle), ``floor`` is the lowest loss (what
    "loss above the minimum" is measured from), ``start`` the default starting point.
    """

    name: str
    formula: str
    loss: Callable[[torch.Tensor], torch.Tensor]
    grad: Callable[[torch.Tensor], torch.Tensor]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    floor: float = 0.0
    points: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __call__(self, x) -> np.ndarray:
        """The loss at points ``x`` (array-like, last axis 2), as a float64 array.

        >>> float(QUADRATIC([1.0, 1.0]))
        0.51
        """
        with torch.no_grad():
            return self.loss(torch.tensor(np.array(x, dtype=float))).numpy()


def _quadratic(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (CURVATURES[0] * x[..., 0] ** 2 + CURVATURES[1] * x[..., 1] ** 2)


def _quadratic_grad(x: torch.Tensor) -> torch.Tensor:
    return torch.stack([CURVATURES[0] * x[..., 0], CURVATURES[1] * x[..., 1]], dim=-1)


_C, _S = math.cos(math.pi / 4), math.sin(math.pi / 4)


def _rotated(x: torch.Tensor) -> torch.Tensor:
    u = _C * x[..., 0] - _S * x[..., 1]  # coordinates along the valley's own axes
    w = _S * x[..., 0] + _C * x[..., 1]
    return 0.5 * (CURVATURES[0] * u**2 + CURVATURES[1] * w**2)


def _rotated_grad(x: torch.Tensor) -> torch.Tensor:
    u = CURVATURES[0] * (_C * x[..., 0] - _S * x[..., 1])
    w = CURVATURES[1] * (_S * x[..., 0] + _C * x[..., 1])
    return torch.stack([_C * u + _S * w, -_S * u + _C * w], dim=-1)


def _saddle(x: torch.Tensor) -> torch.Tensor:
    a, b = x[..., 0], x[..., 1]
    return 0.25 * (a**2 - 1) ** 2 + 0.5 * b**2 + SADDLE_TILT * a


def _saddle_grad(x: torch.Tensor) -> torch.Tensor:
    a = x[..., 0]
    return torch.stack([a * (a**2 - 1) + SADDLE_TILT, x[..., 1]], dim=-1)


def saddle_critical_points() -> tuple[float, float, float]:
    """x of the saddle function's global minimum, saddle and local minimum (all at y = 0):
    the roots of x³ − x + tilt = 0.

    >>> [round(v, 3) for v in saddle_critical_points()]
    [-1.047, 0.101, 0.946]
    """
    roots = np.sort(np.roots([1.0, 0.0, -1.0, SADDLE_TILT]).real)
    return float(roots[0]), float(roots[1]), float(roots[2])


_LEFT, _SADDLE_X, _RIGHT = saddle_critical_points()

QUADRATIC = Surface(
    "quadratic", "f = ½(0.02·x₁² + x₂²)", _quadratic, _quadratic_grad, START, (-3.0, 3.0), (-1.6, 1.6),
    points={"minimum": (0.0, 0.0)},
)  # fmt: skip
ROTATED = Surface(
    "rotated quadratic", "the same valley turned by 45°", _rotated, _rotated_grad,
    (_C * START[0] + _S * START[1], -_S * START[0] + _C * START[1]), (-2.6, 2.6), (-2.6, 2.6),
    points={"minimum": (0.0, 0.0)},
)  # fmt: skip
SADDLE = Surface(
    "saddle", "f = ¼(x₁² − 1)² + ½x₂² + 0.1·x₁", _saddle, _saddle_grad, (_SADDLE_X + 1e-6, 1.5), (-1.8, 1.8),
    (-1.7, 1.7), floor=float(_saddle(torch.tensor([_LEFT, 0.0], dtype=torch.float64))),
    points={"global minimum": (_LEFT, 0.0), "saddle": (_SADDLE_X, 0.0), "local minimum": (_RIGHT, 0.0)},
)  # fmt: skip
SURFACES = {s.name: s for s in (QUADRATIC, ROTATED, SADDLE)}


def _surface(surface: Surface | str) -> Surface:
    if isinstance(surface, Surface):
        return surface
    return SURFACES[check_choice("surface", surface, SURFACES)]


# ----------------------------------------------------------------------------------------------
# The vectorised engine on the surfaces, and torch.optim itself on them
# ----------------------------------------------------------------------------------------------

METHODS = ("sgd", "adagrad", "rmsprop", "adam")
DEFAULT_EPS = {"sgd": 0.0, "adagrad": 1e-10, "rmsprop": 1e-8, "adam": 1e-8}


def paths(
    surface: Surface | str,
    method: str,
    lr,
    iterations: int,
    *,
    start=None,
    momentum=0.0,
    beta1=0.9,
    beta2=0.999,
    alpha=0.99,
    eps: float | None = None,
    scale: float = 1.0,
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Every iterate of ``torch.optim``'s rule ``method`` on ``scale × surface``, for many
    settings at once: ``lr``, ``momentum`` (SGD), ``beta1``/``beta2`` (Adam), ``alpha`` (RMSProp)
    and ``start`` (last axis 2) broadcast together to a batch shape; the result has shape
    ``batch + (iterations + 1, 2)``, start included (float64). ``noise`` adds N(0, noise²) to
    each gradient coordinate (a stand-in for mini-batch noise, seeded by ``seed``). ``eps=None``
    takes torch's default. A diverging run grows to ``inf``/``nan`` silently.

    >>> paths("quadratic", "sgd", [0.5, 1.0], 1, start=(1.0, 1.0))[:, -1].tolist()
    [[0.99, 0.5], [0.98, 0.0]]
    """
    surface = _surface(surface)
    check_choice("method", method, METHODS)
    iterations = check_int("iterations", iterations, low=0)
    scale = check_float("scale", scale, low=0.0, low_open=True)
    noise = check_float("noise", noise, low=0.0)
    eps = DEFAULT_EPS[method] if eps is None else check_float("eps", eps, low=0.0)
    settings = {"lr": lr, "momentum": momentum, "beta1": beta1, "beta2": beta2, "alpha": alpha}
    arrays = {k: np.asarray(v, dtype=float) for k, v in settings.items()}
    for name, arr in arrays.items():
        low_ok = arr > 0 if name == "lr" else arr >= 0
        if not np.all(np.isfinite(arr) & low_ok & ((arr < 1) | (name == "lr"))):
            allowed = "> 0" if name == "lr" else "in [0, 1)"
            raise ValueError(f"{name} must be {allowed}, got {settings[name]!r}")
    start = np.asarray(surface.start if start is None else start, dtype=float)
    if start.shape[-1:] != (2,):
        raise ValueError(f"start must end in an axis of 2 coordinates, got shape {start.shape}")
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values()), start.shape[:-1])

    def column(arr):  # one value per run, broadcast over the two coordinates
        return torch.tensor(np.broadcast_to(arr, shape).copy())[..., None]

    lr_, mu, b1, b2, al = (column(arrays[k]) for k in settings)
    x = torch.tensor(np.broadcast_to(start, shape + (2,)).copy())
    m = torch.zeros_like(x)
    v = torch.zeros_like(x)
    generator = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    out = torch.empty(shape + (iterations + 1, 2), dtype=torch.float64)
    out[..., 0, :] = x
    for t in range(1, iterations + 1):
        g = scale * surface.grad(x)
        if noise:
            g = g + noise * torch.randn(g.shape, generator=generator, dtype=g.dtype)
        if method == "sgd":
            m = g if t == 1 else m * mu + g  # torch's first velocity is the gradient itself
            x = x - lr_ * m
        elif method == "adagrad":
            v = v + g * g
            x = x - lr_ * g / (v.sqrt() + eps)
        elif method == "rmsprop":
            v = v * al + (1 - al) * g * g
            x = x - lr_ * g / (v.sqrt() + eps)
        else:
            m = m.lerp(g, 1 - b1)
            v = v * b2 + (1 - b2) * g * g
            x = x - (lr_ / (1 - b1**t)) * m / (v.sqrt() / (1 - b2**t).sqrt() + eps)
        out[..., t, :] = x
    return out.numpy()


def _check_points(name: str, path, *, ndim: int | None = None, min_points: int = 1) -> np.ndarray:
    """``path`` an array of 2-D points, ``(..., iterations + 1, 2)`` (exactly ``ndim`` axes
    when given), NaN and inf allowed (a diverged path)."""
    if isinstance(path, torch.Tensor):
        path = path.detach().numpy()
    if not isinstance(path, (np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be an array of 2-D points, got {type(path).__name__}")
    try:
        array = np.asarray(path, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of 2-D points (numbers)") from None
    if array.ndim < 2 or array.shape[-1] != 2 or (ndim is not None and array.ndim != ndim):
        want = f"({'iterations + 1, ' if ndim == 2 else '..., iterations + 1, '}2)"
        raise ValueError(
            f"{name} must be an array of 2-D points of shape {want}, got shape {array.shape}"
        )
    if array.shape[-2] < min_points:
        raise ValueError(f"{name} must hold at least {min_points} point(s), got {array.shape[-2]}")
    return array


def torch_path(
    surface: Surface | str,
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    iterations: int,
    *,
    start=None,
    scale: float = 1.0,
) -> np.ndarray:
    """Minimise ``scale × surface`` with a real ``torch.optim`` optimizer built by
    ``make_optimizer([x])`` on a float64 point ``x``; returns ``(iterations + 1, 2)``.

    >>> torch_path("quadratic", lambda p: torch.optim.SGD(p, lr=1.0), 1, start=(1.0, 1.0))[-1].tolist()
    [0.98, 0.0]
    """
    surface = _surface(surface)
    iterations = check_int("iterations", iterations, low=0)
    if not callable(make_optimizer):
        raise TypeError(
            f"make_optimizer must be a function [x] -> torch.optim.Optimizer, got {type(make_optimizer).__name__}"
        )
    if start is not None and len(check_numbers("start", start)) != 2:
        raise ValueError(f"start must be a point (x₁, x₂), got {start!r}")
    check_float("scale", scale, low=0.0, low_open=True)
    start = surface.start if start is None else start
    x = torch.tensor(np.asarray(start, dtype=float), requires_grad=True)
    optimizer = make_optimizer([x])
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"make_optimizer must return a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    out = [x.detach().clone()]
    for _ in range(iterations):
        optimizer.zero_grad()
        (scale * surface.loss(x)).backward()
        optimizer.step()
        out.append(x.detach().clone())
    return torch.stack(out).numpy()


def loss_along(surface: Surface | str, path: np.ndarray) -> np.ndarray:
    """Loss above the surface's lowest value at every point of a path (``inf`` where it
    overflowed).

    >>> loss_along("quadratic", np.array([[0.0, 1.0]])).tolist()
    [0.5]
    """
    surface = _surface(surface)
    with np.errstate(over="ignore", invalid="ignore"):
        loss = surface(path) - surface.floor
    return np.where(np.isfinite(loss), loss, np.inf)


def iterations_to(loss: np.ndarray, below: float) -> int | None:
    """First iteration (index into the path) from which the loss stays below ``below``.

    >>> iterations_to(np.array([4.0, 1.0, 3.0, 0.5, 0.2]), 2.0)
    3
    """
    loss = check_numbers("loss", loss)
    below = check_float("below", below)
    above = np.nonzero(~(loss < below))[0]
    if len(above) == 0:
        return 0
    return int(above[-1]) + 1 if above[-1] + 1 < len(loss) else None


def adam_rates(
    surface: Surface | str,
    path,
    lr: float,
    *,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> np.ndarray:
    """Adam's effective rate per coordinate, η/(√v̂ᵢ + ε), at every update of ``path`` (an
    Adam run on ``surface`` from :func:`paths`, ``(iterations + 1, 2)``): v replayed from the
    gradients at the path's points. Why: Adam is a diagonal preconditioner whose scale comes
    from the gradients' running size, not from the curvature; the ratio of the two columns is
    what it makes of the valley's shape. Returns ``(iterations, 2)``.

    >>> adam_rates("quadratic", np.array([[1.0, 1.0], [0.9, 0.9]]), 0.1).round(3).tolist()
    [[5.0, 0.1]]
    """
    surface = _surface(surface)
    points = _check_points("path", path, ndim=2, min_points=2)
    lr = check_float("lr", lr, low=0.0, low_open=True)
    beta2 = check_float("beta2", beta2, low=0.0, high=1.0, high_open=True)
    eps = check_float("eps", eps, low=0.0)
    if not np.isfinite(points).all():
        raise ValueError("path must hold finite points (a diverged run has no rates to read)")
    with torch.no_grad():
        grads = surface.grad(torch.tensor(points[:-1])).numpy()
    v, rates = np.zeros(2), np.empty_like(grads)
    for t, g in enumerate(grads, start=1):
        v = beta2 * v + (1 - beta2) * g * g
        rates[t - 1] = lr / (np.sqrt(v / (1 - beta2**t)) + eps)
    return rates


def plot_surface(
    surface: Surface | str, *, ax: Axes | None = None, levels: int = 14, title: str | None = None
) -> Figure:
    """Contours of the surface (log-spaced above its floor) with its named points marked.

    >>> plot_surface("saddle").axes[0].get_xlabel()
    'x₁'
    """
    surface = _surface(surface)
    if ax is None:
        fig, (ax,) = panels(figsize=(5.6, 4.0))
    fig = ax.figure
    xs = np.linspace(*surface.xlim, 121)
    ys = np.linspace(*surface.ylim, 101)
    grid_x, grid_y = np.meshgrid(xs, ys)
    z = surface(np.stack([grid_x, grid_y], axis=-1)) - surface.floor
    ax.contour(xs, ys, z, levels=np.geomspace(max(z.min(), 1e-3), z.max(), levels), colors="0.72", linewidths=0.7)  # fmt: skip
    marks = {"global minimum": "*", "minimum": "*", "local minimum": "P", "saddle": "X"}
    for name, point in surface.points.items():
        ax.plot(*point, marks[name], color="k", ms=10, ls="none", label=name)
    ax.set(xlim=surface.xlim, ylim=surface.ylim, xlabel="x₁", ylabel="x₂")
    ax.set_title(title or f"{surface.name}: {surface.formula}")
    return fig


def plot_paths(
    surface: Surface | str,
    runs: dict[str, np.ndarray],
    *,
    title: str | None = None,
    markevery: int = 5,
    legend: str = "upper right",
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """Two panels, one above the other so both get the column's width: the paths on the
    surface's contours (legend at ``legend``), and below them their loss above the minimum per
    iteration (log scale); a path that diverges is cut where it leaves the picture. Drawn into
    ``fig`` (a figure or subfigure) or a new 7 × 7.4 in figure.

    >>> fig = plot_paths("quadratic", {"SGD": paths("quadratic", "sgd", 1.0, 5)}); fig.axes[1].get_xlabel()
    'iteration (optimizer updates)'
    """
    surface = _surface(surface)
    check_mapping("runs", runs, what="paths (arrays of points)")
    for label, path in runs.items():
        _check_points(f"runs[{label!r}]", path, ndim=2)
    if title is not None:
        check_instance("title", title, str, "a string")
    check_int("markevery", markevery, low=1)
    check_instance("legend", legend, str, "a matplotlib legend location")
    fig, (left, right) = panels(2, ncols=1, figsize=(7.0, 7.4), fig=fig, height_ratios=[1.25, 1])
    plot_surface(surface, ax=left, title=title)
    limit = 3 * max(map(abs, surface.xlim + surface.ylim))
    for label, path in runs.items():
        path = np.asarray(path, dtype=float)
        bad = ~np.isfinite(path).all(axis=-1) | (np.abs(path).max(axis=-1) > limit)
        shown = path[: int(np.argmax(bad)) + 1] if bad.any() else path
        kw = style(label)
        left.plot(shown[:, 0], shown[:, 1], lw=1.2, ms=4, markevery=markevery,
                  label=label + (" (diverges)" if bad.any() else ""), **kw)  # fmt: skip
        loss = np.clip(loss_along(surface, path), 1e-16, 1e8)
        right.plot(np.arange(len(loss)), loss, lw=1.4, ms=4, markevery=markevery, label=label, **kw)
    left.legend(loc=legend, fontsize=9)
    right.set_yscale("log")
    right.set(xlabel=X_AXES["iteration"], ylabel="loss above the minimum", title="Loss per iteration")  # fmt: skip
    plain_log_labels(right)
    right.legend(loc="best", fontsize=9)
    return fig


# ----------------------------------------------------------------------------------------------
# Parameter groups
# ----------------------------------------------------------------------------------------------


def describe_groups(optimizer: torch.optim.Optimizer, model: nn.Module) -> Table:
    """One row per ``optimizer.param_groups`` entry: its settings and the parameters it holds,
    by name in ``model``.

    >>> m = nn.Linear(2, 1)
    >>> describe_groups(torch.optim.SGD([{"params": [m.weight]}, {"params": [m.bias], "lr": 0.5}], lr=0.1), m)
    group  lr   weight_decay  parameters
        0  0.1             0  weight
        1  0.5             0  bias
    """
    check_instance("optimizer", optimizer, torch.optim.Optimizer, "a torch.optim.Optimizer")
    check_instance("model", model, nn.Module, "a torch.nn.Module")
    names = {id(p): name for name, p in model.named_parameters()}
    rows = []
    for i, group in enumerate(optimizer.param_groups):
        held = [names.get(id(p), f"(not in the model, shape {tuple(p.shape)})") for p in group["params"]]  # fmt: skip
        rows.append({"group": i, "lr": group["lr"], "weight_decay": group.get("weight_decay", 0.0),
                     "parameters": ", ".join(held)})  # fmt: skip
    return Table(rows, digits=3)


# ----------------------------------------------------------------------------------------------
# Hand-written rules against torch.optim, bit for bit
# ----------------------------------------------------------------------------------------------


def match_torch(
    rule: Callable[..., torch.Tensor],
    optimizer: type[torch.optim.Optimizer],
    model: nn.Module,
    data,
    *,
    iterations: int = 100,
    batch_size: int | str = 32,
    seed: int = 0,
    loss: str = "mse",
    **settings,
) -> Comparison:
    """Train a copy of ``model`` with ``optimizer(params, **settings)`` through ``train()``,
    and another with ``p ← rule(p, g, state, **settings)`` per parameter (``state`` a dict the
    rule keeps, empty before the first update) on the same batches; count the updates after
    which every parameter agrees bit for bit. ``model`` itself is left untouched.

    >>> from gdlessons.data import quadratic_data
    >>> def sgd(p, g, state, *, lr):
    ...     return p.add(g, alpha=-lr)
    >>> match_torch(sgd, torch.optim.SGD, tutorial_mlp(), quadratic_data(100), iterations=5, lr=0.1).equal
    True
    """
    if not callable(rule):
        raise TypeError(f"rule must be a function (p, g, state, **settings) -> p, got {rule!r}")
    if not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer class, e.g. torch.optim.Adam, got {optimizer!r}")  # fmt: skip
    iterations = check_int("iterations", iterations, low=1)
    X, y = as_tensors(data)
    batch_size = resolve_batch_size(batch_size, len(X))
    history = train(
        copy.deepcopy(model), (X, y), epochs=1, loss=loss,
        optimizer=lambda m: optimizer(m.parameters(), **settings), hooks=[RecordParams()],
        batches=BatchIterator(X, y, batch_size=batch_size, seed=seed, replacement=True,
                              batches_per_epoch=iterations),
    )  # fmt: skip
    by_hand = copy.deepcopy(model)
    weights = list(by_hand.parameters())  # the hand-made run's values are copied into these
    params = [p.detach().clone() for p in weights]
    targets = [dict(history.params[k]) for k in range(len(history.params))]
    names = [name for name, _ in by_hand.named_parameters()]
    states: list[dict] = [{} for _ in params]
    loss_fn = resolve_loss(loss)
    batches = BatchIterator(X, y, batch_size=batch_size, seed=seed, replacement=True, batches_per_epoch=iterations)  # fmt: skip
    per_update = []
    for k, (xb, yb) in enumerate(batches, start=1):
        if k >= len(targets):
            break  # torch's run diverged: nothing left to compare with
        with torch.no_grad():
            for w, p in zip(weights, params, strict=True):
                w.copy_(p)
        grads = torch.autograd.grad(loss_fn(by_hand(xb), yb), weights)
        with torch.no_grad():
            params = [rule(p, g, s, **settings) for p, g, s in zip(params, grads, states, strict=True)]  # fmt: skip
        per_update.append(compare(params, [targets[k][n] for n in names]))
    return over_updates(per_update)


# ----------------------------------------------------------------------------------------------
# The rare-feature problem
# ----------------------------------------------------------------------------------------------


def rare_feature_data(
    n: int = 1000,
    *,
    features: int = 5,
    rare_fraction: float = 0.02,
    noise: float = 0.1,
    seed: int = 0,
) -> Dataset:
    """Linear data y = Σ xᵢ + noise whose last input is 1 in a fraction ``rare_fraction`` of the
    samples and 0 elsewhere (a rare, sparse feature); the others are standard normal. Every
    true weight is 1.

    >>> d = rare_feature_data(1000, rare_fraction=0.02); int(d.X[:, -1].sum()), d.X.shape
    (20, torch.Size([1000, 5]))
    """
    n = check_int("n", n, low=2)
    features = check_int("features", features, low=2)
    rare_fraction = check_float("rare_fraction", rare_fraction, low=0.0, high=1.0, low_open=True)
    noise = check_float("noise", noise, low=0.0)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    X = rng.standard_normal((n, features))
    rare = np.zeros(n)
    rare[rng.choice(n, size=max(1, round(rare_fraction * n)), replace=False)] = 1.0
    X[:, -1] = rare
    y = X.sum(axis=1) + noise * rng.standard_normal(n)
    return Dataset(
        torch.tensor(X, dtype=torch.float32),
        torch.tensor(y, dtype=torch.float32)[:, None],
        f"rare feature in {rare_fraction:.0%} of the samples",
    )


def replay_gradients(
    model: nn.Module, history: History, data, *, batch_size: int, seed: int = 0, loss: str = "mse"
) -> dict[str, torch.Tensor]:
    """The gradient each update of a ``train(..., hooks=[RecordParams()])`` run used, recomputed at
    the recorded parameters on the same batches (``model`` gives the architecture only).
    Returns ``{name: (iterations, *shape)}``.

    >>> from gdlessons.models import LinearModel
    >>> d = (torch.ones(4, 1), torch.zeros(4, 1))
    >>> h = train(LinearModel(w=1.0), d, batch_size=4, epochs=2, lr=0.1, hooks=[RecordParams()])
    >>> replay_gradients(LinearModel(), h, d, batch_size=4)["w"].tolist()
    [2.0, 1.2000000476837158]
    """
    check_instance("model", model, nn.Module, "a torch.nn.Module")
    check_instance(
        "history", history, History, "a History, as train(..., hooks=[RecordParams()]) returns"
    )
    check_int("seed", seed)
    if history.params is None:
        raise ValueError("the run recorded no parameters: train with hooks=[RecordParams()]")
    X, y = as_tensors(data)
    loss_fn = resolve_loss(loss)
    replica = copy.deepcopy(model)  # holds each recorded state in turn
    named = list(replica.named_parameters())
    batches = BatchIterator(X, y, batch_size=resolve_batch_size(batch_size, len(X)), seed=seed)
    grads: dict[str, list[torch.Tensor]] = {name: [] for name, _ in named}
    k = 0
    while k < len(history.params) - 1:
        for xb, yb in batches:
            if k >= len(history.params) - 1:
                break
            with torch.no_grad():
                for name, p in named:
                    p.copy_(history.params[k][name])
            found = torch.autograd.grad(loss_fn(replica(xb), yb), [p for _, p in named])
            for (name, _), g in zip(named, found, strict=True):
                grads[name].append(g)
            k += 1
    return {name: torch.stack(gs) for name, gs in grads.items()}


def adagrad_rates(grads: torch.Tensor, lr: float, eps: float = 1e-10) -> np.ndarray:
    """AdaGrad's effective learning rate η / (√G + ε) of every coordinate at every update, from
    the gradients the run used (``(iterations, ...)``); G includes the update's own gradient.
    NaN until a coordinate's first non-zero gradient (until then it has not moved).

    >>> adagrad_rates(torch.tensor([[3.0], [4.0]]), lr=1.0).round(3).ravel().tolist()
    [0.333, 0.2]
    """
    check_tensor("grads", grads)
    if not grads.is_floating_point():
        raise TypeError(f"grads must be a floating-point tensor, got dtype {grads.dtype}")
    lr = check_float("lr", lr, low=0.0, low_open=True)
    eps = check_float("eps", eps, low=0.0)
    g = grads.detach().double()
    total = torch.cumsum(g * g, dim=0)
    rates = lr / (total.sqrt() + eps)
    return torch.where(total > 0, rates, torch.nan).numpy()  # no gradient yet: no step, no rate


def reached(
    weights: np.ndarray, target: float = 1.0, *, tolerance: float = 0.1
) -> list[int | None]:
    """Per coordinate, the first iteration from which the weight stays within ``tolerance`` of
    ``target`` (``None`` if it never settles there); ``weights`` is ``(iterations + 1, d)``.

    >>> reached(np.array([[0.0, 0.0], [0.95, 0.5], [1.0, 0.7]]))
    [1, None]
    """
    weights = check_numbers("weights", weights, ndim=2)
    target = check_float("target", target)
    tolerance = check_float("tolerance", tolerance, low=0.0, low_open=True)
    return [iterations_to(np.abs(col - target), tolerance) for col in weights.T]


def _check_weights(name: str, weights, *, min_features: int = 1) -> dict:
    """A dict of ``(iterations (+ 1), features)`` arrays by run."""
    check_mapping(name, weights, what="arrays of shape (iterations, features)")
    for label, w in weights.items():
        array = check_numbers(f"{name}[{label!r}]", w, ndim=2)
        if array.shape[1] < min_features:
            raise ValueError(
                f"{name}[{label!r}] must hold at least {min_features} features (columns), got shape {array.shape}"
            )
    return weights


def settle_table(weights: dict[str, np.ndarray], rates: dict[str, float]) -> Table:
    """Per run, the iteration by which every common weight (all but the last) has settled within
    0.1 of its true value 1, and the iteration at which the rare (last) weight has; "—" for
    never within the run.

    >>> settle_table({"SGD": np.array([[0.0, 0.0], [1.0, 0.5], [1.0, 0.6]])}, {"SGD": 0.3}).rows[0]
    {'optimizer': 'SGD', 'lr': 0.3, 'common weights settled by iteration': 1, 'rare weight settled at iteration': None}
    """
    _check_weights("weights", weights, min_features=2)
    check_mapping("rates", rates, what="learning rates")
    for name in weights:
        if name not in rates:
            raise ValueError(f"rates must hold a rate for every run of weights, missing {name!r}")
        check_float(f"rates[{name!r}]", rates[name], low=0.0, low_open=True)
    rows = []
    for name, w in weights.items():
        settle = reached(w)
        common = None if None in settle[:-1] else max(settle[:-1])
        rows.append({"optimizer": name, "lr": rates[name], "common weights settled by iteration": common,
                     "rare weight settled at iteration": settle[-1]})  # fmt: skip
    return Table(rows)


def plot_rare_feature(
    weights: dict[str, np.ndarray],
    rates: dict[str, np.ndarray],
    *,
    rare: int = -1,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """Top: each weight per iteration under each optimizer (the rare feature's thick); bottom:
    each weight's effective learning rate per iteration (log scale); one legend under both.
    Stacked, so both keep the column's width; drawn into ``fig`` or a new 7 × 7.2 in figure.

    >>> w = {"SGD": np.zeros((3, 2)), "AdaGrad": np.ones((3, 2))}
    >>> plot_rare_feature(w, {"SGD": np.full((2, 2), 0.1), "AdaGrad": np.full((2, 2), 0.5)}).axes[0].get_xlabel()
    'iteration (optimizer updates)'
    """
    _check_weights("weights", weights)
    _check_weights("rates", rates)
    d = min(np.shape(a)[1] for a in (*weights.values(), *rates.values()))
    check_int("rare", rare, low=-d, high=d - 1)
    fig, (left, right) = panels(2, ncols=1, figsize=(7.0, 7.2), fig=fig)
    for label, w in weights.items():
        kw = style(label)
        kw.pop("marker")
        iters = np.arange(len(w))
        d = w.shape[1]
        rare_col = rare % d
        for j in range(d):
            if j != rare_col:
                left.plot(iters, w[:, j], lw=0.8, alpha=0.6, **kw, label=f"{label}: common features" if j == 0 else None)  # fmt: skip
        left.plot(iters, w[:, rare_col], lw=2.6, **kw, label=f"{label}: rare feature")
    left.axhline(1.0, color="k", lw=0.8, ls=(0, (1, 3)), label="true weight")
    left.set(xlabel=X_AXES["iteration"], ylabel="weight", title="Each weight per iteration")
    for label, r in rates.items():
        kw = style(label)
        kw.pop("marker")
        iters = np.arange(1, len(r) + 1)
        d = r.shape[1]
        rare_col = rare % d
        for j in range(d):
            if j != rare_col:
                right.plot(iters, r[:, j], lw=0.8, alpha=0.6, **kw)
        right.plot(iters, r[:, rare_col], lw=2.6, **kw)
    right.set_yscale("log")
    right.set(xlabel=X_AXES["iteration"], ylabel="effective learning rate", title="Each weight's effective rate per iteration")  # fmt: skip
    # One legend for both panels, under them: inside, it would cover one curve or another.
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=9)
    return fig


# ----------------------------------------------------------------------------------------------
# Bias correction and ε
# ----------------------------------------------------------------------------------------------


def plot_bias_correction(
    without: Sequence[float], with_: Sequence[float], *, ax: Axes | None = None
) -> Figure | SubFigure:
    """Adam's step length (in units of the learning rate) per iteration, with and without the
    bias correction, on ``ax`` or a new figure.

    >>> plot_bias_correction([3.2, 4.0], [1.0, 1.0]).axes[0].get_ylabel()
    'step length / learning rate'
    """
    if len(check_numbers("without", without)) != len(check_numbers("with_", with_)):
        raise ValueError(
            f"without and with_ must hold one step per iteration each, got {len(without)} and {len(with_)}"
        )
    if ax is not None:
        check_instance("ax", ax, Axes, "a matplotlib Axes")
    fig, (ax,) = panels(figsize=(6.6, 3.6)) if ax is None else (ax.figure, [ax])
    t = np.arange(1, len(without) + 1)
    ax.plot(t, without, "--", color="C3", lw=1.8, label="without bias correction: m / (√v + ε)")
    ax.plot(t, with_, "-", color="C0", lw=1.8, label="with it: m̂ / (√v̂ + ε)")
    ax.set_xscale("log")
    ax.set(xlabel=X_AXES["iteration"], ylabel="step length / learning rate",
           title="Adam on a constant gradient: the first steps")  # fmt: skip
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right")
    return fig


def plot_eps(
    gradients: np.ndarray, steps: dict[str, np.ndarray], *, ax: Axes | None = None
) -> Figure | SubFigure:
    """Adam's first step (in units of the learning rate) against the gradient's size, one line
    per ε (log-log), on ``ax`` or a new figure.

    >>> plot_eps(np.array([1e-3, 1.0]), {"ε = 1e-08": np.array([1.0, 1.0])}).axes[0].get_xscale()
    'log'
    """
    sizes = check_numbers("gradients", gradients)
    check_mapping("steps", steps, what="first steps (one per gradient size)")
    if len(steps) > 4:
        raise ValueError(
            f"steps must hold at most 4 values of ε (one per line style), got {len(steps)}"
        )
    for label, s in steps.items():
        if len(check_numbers(f"steps[{label!r}]", s)) != len(sizes):
            raise ValueError(
                f"steps[{label!r}] must hold one step per gradient size ({len(sizes)}), got {len(s)}"
            )
    if ax is not None:
        check_instance("ax", ax, Axes, "a matplotlib Axes")
    fig, (ax,) = panels(figsize=(6.6, 3.8)) if ax is None else (ax.figure, [ax])
    for (label, s), ls in zip(steps.items(), ("-", "--", "-.", ":"), strict=False):
        ax.plot(gradients, s, ls, lw=1.8, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="gradient size |g| (a constant gradient)", ylabel="first step length / learning rate",
           title="What ε does: Adam's first step against the gradient")  # fmt: skip
    ax.legend(loc="lower right")
    return fig


# ----------------------------------------------------------------------------------------------
# L2 penalty vs decoupled weight decay
# ----------------------------------------------------------------------------------------------


def two_scale_gradients(
    size: int = 2000, iterations: int = 200, *, small: float = 0.01, seed: int = 0
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A weight vector of ones and a sequence of zero-mean random gradients whose first half of
    coordinates have size 1 and whose second half have size ``small``.

    >>> p, gs = two_scale_gradients(4, 3); p.tolist(), len(gs), gs[0].shape
    ([1.0, 1.0, 1.0, 1.0], 3, torch.Size([4]))
    """
    size = check_int("size", size, low=2)
    iterations = check_int("iterations", iterations, low=1)
    gen = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    scales = torch.ones(size)
    scales[size // 2 :] = check_float("small", small, low=0.0, low_open=True)
    return torch.ones(size), [scales * torch.randn(size, generator=gen) for _ in range(iterations)]


def two_scale_table(weights: dict[str, torch.Tensor]) -> Table:
    """The mean weight of each half of :func:`two_scale_gradients`' vector, per rule.

    >>> two_scale_table({"none": torch.ones(4)}).rows[0]["mean weight, gradients of size 1"]
    1.0
    """
    check_mapping("weights", weights, what="weight vectors (1-D tensors)")
    for rule, w in weights.items():
        check_tensor(f"weights[{rule!r}]", w, min_numel=2)
        if w.ndim != 1:
            raise ValueError(
                f"weights[{rule!r}] must be a 1-D weight vector, got shape {tuple(w.shape)}"
            )
    rows = []
    for rule, w in weights.items():
        half = len(w) // 2
        rows.append({"rule": rule, "mean weight, gradients of size 1": float(w[:half].mean()),
                     "mean weight, small gradients": float(w[half:].mean())})  # fmt: skip
    return Table(rows, digits=3)


# ----------------------------------------------------------------------------------------------
# Adam at its default rate vs tuned SGD + momentum
# ----------------------------------------------------------------------------------------------


@dataclass
class Problem:
    """A training problem for the race: data, a model per seed, the loss, and the target
    validation loss whose first crossing counts as "reached"."""

    name: str
    train: Dataset
    val: Dataset
    model: Callable[[int], nn.Module]
    loss: str
    batch_size: int
    target: float


def problem(name: str, *, n: int = 1000) -> Problem:
    """``"tutorial MLP"`` (quadratic_data, validation = the same inputs with fresh noise, MSE,
    target 1.2 where the noise alone gives 1.0) or ``"digits"`` (64-unit MLP, cross-entropy,
    target 0.25).

    >>> problem("digits").target
    0.25
    """
    check_choice("name", name, ("tutorial MLP", "digits"))
    if name == "tutorial MLP":
        return Problem(name, quadratic_data(n, seed=0), quadratic_data(n, seed=1),
                       lambda s: tutorial_mlp(seed=s), "mse", 50, 1.2)  # fmt: skip
    train_set, val_set = digits_data()
    return Problem(name, train_set, val_set, lambda s: digits_classifier(seed=s), "cross_entropy", 64, 0.25)  # fmt: skip


@dataclass
class RaceEntry:
    """One optimizer's runs on one problem, one History per initialisation seed."""

    problem: str
    optimizer: str
    lr: float
    histories: list[History]
    target: float

    @property
    def val_curves(self) -> np.ndarray:
        """Validation loss per epoch, one row per seed (NaN after a divergence)."""
        width = max(len(h.epochs.val_loss) for h in self.histories)
        rows = np.full((len(self.histories), width), np.nan)
        for i, h in enumerate(self.histories):
            rows[i, : len(h.epochs.val_loss)] = [np.nan if v is None else v for v in h.epochs.val_loss]  # fmt: skip
        return rows

    @property
    def epochs_to_target(self) -> list[int | None]:
        """Per seed, the first epoch whose validation loss is at or below the target."""
        out = []
        for row in self.val_curves:
            hit = np.nonzero(row <= self.target)[0]
            out.append(int(hit[0]) + 1 if len(hit) else None)
        return out

    @property
    def final_val(self) -> np.ndarray:
        return self.val_curves[:, -1]


def race(
    prob: Problem,
    *,
    seeds: int = 3,
    epochs: int = 15,
    sgd_lrs: Sequence[float] = (0.003, 0.01, 0.03),
    momentum: float = 0.9,
) -> dict[str, RaceEntry]:
    """Adam at its default rate (the one ``train(optimizer="adam")`` takes) against SGD +
    momentum at the best of ``sgd_lrs`` (the lowest mean final validation loss over the seeds).
    Every run (Adam per seed, every SGD rate × seed) is trained at once with ``sweep``, each as
    ``train()`` would. Seeds change the initial weights; every run sees the same batches.

    >>> r = race(problem("tutorial MLP", n=100), seeds=1, epochs=1, sgd_lrs=(0.01,))
    >>> sorted(r), r["Adam"].lr
    (['Adam', 'SGD + momentum'], 0.001)
    """
    sgd_lrs = check_sequence(
        "sgd_lrs", sgd_lrs, item=lambda n, v: check_float(n, v, low=0.0, low_open=True)
    )
    seeds = check_int("seeds", seeds, low=1)
    epochs = check_int("epochs", epochs, low=1)
    common = dict(batch_size=prob.batch_size, epochs=epochs, val_data=prob.val, loss=prob.loss, seed=0)  # fmt: skip
    lr_adam = make_optimizer(prob.model(0), "adam").param_groups[0]["lr"]  # torch's default
    adam_configs = grid(optimizer=["adam"], lr=[lr_adam], seed=list(range(seeds)))
    configs = grid(lr=list(sgd_lrs), momentum=[momentum], seed=list(range(seeds)))
    runs = sweep(prob.model, prob.train, adam_configs + configs, **common)
    adam, sgd_runs = runs[:seeds], runs[seeds:]
    by_lr = {lr: [h for c, h in zip(configs, sgd_runs, strict=True) if c["lr"] == lr] for lr in sgd_lrs}  # fmt: skip

    def score(hs):  # mean final validation loss; a diverged run loses
        finals = [h.epochs.val_loss[-1] if not h.diverged and h.epochs.val_loss else math.inf for h in hs]  # fmt: skip
        return float(np.mean(finals))

    best = min(sgd_lrs, key=lambda lr: score(by_lr[lr]))
    return {
        "Adam": RaceEntry(prob.name, "Adam", lr_adam, adam, prob.target),
        "SGD + momentum": RaceEntry(
            prob.name, f"SGD + momentum {momentum:g}", best, by_lr[best], prob.target
        ),  # fmt: skip
    }


def _check_race(results, *, pair: bool = False) -> dict:
    """``results`` ``{problem: {optimizer: RaceEntry}}``, as :func:`race` gives per problem;
    with ``pair``, each problem holds "Adam" and "SGD + momentum"."""
    check_mapping("results", results, what="{optimizer: RaceEntry} (race returns one)")
    for name, entries in results.items():
        check_mapping_of(f"results[{name!r}]", entries, RaceEntry, "a RaceEntry, as race returns")
        for label, entry in entries.items():
            if not entry.histories:
                raise ValueError(f"results[{name!r}][{label!r}] holds no History (bad data)")
        if pair and not {"Adam", "SGD + momentum"} <= set(entries):
            raise ValueError(
                f"results[{name!r}] must hold the entries 'Adam' and 'SGD + momentum', got {list(entries)}"
            )
    return results


def race_table(results: dict[str, dict[str, RaceEntry]]) -> Table:
    """One row per problem and optimizer: epochs to the target (median over seeds, and how many
    seeds reached it) and the final validation loss (mean, min–max)."""
    _check_race(results)
    rows = []
    for entries in results.values():
        for entry in entries.values():
            hits = [e for e in entry.epochs_to_target if e is not None]
            final = entry.final_val
            rows.append({
                "problem": entry.problem, "optimizer": entry.optimizer, "lr": entry.lr,
                "target val loss": entry.target,
                "epochs to target (median)": float(np.median(hits)) if hits else None,
                "seeds reaching it": f"{len(hits)}/{len(final)}",
                "final val loss (mean)": float(np.nanmean(final)) if np.isfinite(final).any() else None,
                "min–max": f"{np.nanmin(final):.3g}–{np.nanmax(final):.3g}" if np.isfinite(final).any() else "—",
            })  # fmt: skip
    return Table(rows, digits=3)


def race_verdict(results: dict[str, dict[str, RaceEntry]], *, close: float = 0.03) -> str:
    """The race's outcome in words, from the measured numbers (so the prose stays true under
    other parameters): per problem, which optimizer reached the target first and which ended
    lower; final losses within ``close`` (relative) count as a tie."""
    _check_race(results, pair=True)
    check_float("close", close, low=0.0)
    lines = []
    for name, entries in results.items():
        adam, sgd = entries["Adam"], entries["SGD + momentum"]
        lines.append(f"{name}: " + _speed(adam, sgd) + " " + _ending(adam, sgd, close))
    return "\n".join(lines)


def _median_epochs(entry: RaceEntry) -> float:
    hits = [e if e is not None else math.inf for e in entry.epochs_to_target]
    return float(np.median(hits))


def _speed(adam: RaceEntry, sgd: RaceEntry) -> str:
    a, s = _median_epochs(adam), _median_epochs(sgd)
    reach = f"validation loss ≤ {adam.target:g}"
    epochs = len(adam.val_curves[0])

    def said(x):
        return f"{x:g} epochs" if math.isfinite(x) else f"not within {epochs} epochs"

    if a == s:
        return f"both reached {reach} in the same median number of epochs ({said(a)})."
    faster = "Adam" if a < s else "SGD + momentum"
    return f"{faster} reached {reach} first (median: Adam {said(a)}, SGD + momentum {said(s)})."


def _ending(adam: RaceEntry, sgd: RaceEntry, close: float) -> str:
    a, s = float(np.nanmean(adam.final_val)), float(np.nanmean(sgd.final_val))
    if not (math.isfinite(a) and math.isfinite(s)):
        return "One of them diverged, so their final losses cannot be compared."
    if abs(a - s) <= close * min(a, s):
        return (
            f"They ended level: final validation loss {a:.3g} (Adam) vs {s:.3g} (SGD + momentum)."
        )
    worse = "Adam" if a > s else "SGD + momentum"
    return (f"{worse} ended worse: final validation loss {a:.3g} (Adam) vs {s:.3g} (SGD + momentum), "
            f"{abs(a - s) / min(a, s):.0%} higher.")  # fmt: skip


def plot_race(
    results: dict[str, dict[str, RaceEntry]], *, fig: Figure | SubFigure | None = None
) -> Figure | SubFigure:
    """Validation loss per epoch for each problem: the mean over seeds, the band from the
    lowest to the highest seed, and the target as a dotted line; each panel's legend under it.
    Two problems to a row, so any number fits the column; drawn into ``fig`` or a new figure.

    >>> h = History(config={}); h.epochs.epoch[:] = [1, 2]; h.epochs.val_loss[:] = [2.0, 1.0]
    >>> entry = RaceEntry("toy", "Adam", 0.001, [h], 1.5)
    >>> fig = plot_race({"toy": {"Adam": entry}}); fig.axes[0].get_title(), fig.get_size_inches().tolist()
    ('toy', [6.4, 4.3])
    """
    _check_race(results)
    ncols = min(2, len(results))
    rows = -(-len(results) // ncols)
    size = (7.5 if ncols == 2 else 6.4, 3.9 * rows + 0.4)
    fig = new_figure(fig, figsize=size)
    fig.suptitle("Validation loss per epoch (line: mean over the seeds, band: lowest to highest)")
    # A subfigure per problem, so each panel's legend sits under it, off the curves.
    cells = list(np.ravel(fig.subfigures(rows, ncols, squeeze=False)))
    for cell in cells[len(results) :]:
        cell.set_visible(False)
    for cell, (name, entries) in zip(cells, results.items(), strict=False):
        ax = cell.subplots()
        for label, entry in entries.items():
            curves = entry.val_curves
            epochs = np.arange(1, curves.shape[1] + 1)
            kw = style(label)
            ax.plot(epochs, np.nanmean(curves, axis=0), lw=1.8, ms=5, label=f"{entry.optimizer}, lr {entry.lr:g}", **kw)  # fmt: skip
            ax.fill_between(epochs, np.nanmin(curves, axis=0), np.nanmax(curves, axis=0), color=kw["color"], alpha=0.15)  # fmt: skip
        target = next(iter(entries.values())).target
        ax.axhline(target, color="k", lw=1, ls=(0, (1, 2)), label=f"target {target:g}")
        ax.set_yscale("log")
        ax.set(xlabel=X_AXES["epoch"], ylabel="validation loss", title=name)
        plain_log_labels(ax)
        cell.legend(
            *ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=9
        )
    return fig


# ----------------------------------------------------------------------------------------------
# The range test with another optimizer
# ----------------------------------------------------------------------------------------------


def range_test_from(history: History, *, beta: float = 0.98) -> RangeTest:
    """Read a range test off a ``train()`` run whose scheduler raised the rate every iteration:
    the loss measured at iteration k + 1 is the result of the update made at the rate of
    iteration k. Smoothed, with suggestions that skip the smoothing's warm-up, exactly as
    ``lr_range_test`` computes them (so the course's one rule, ``suggested_lr``, applies).

    >>> h = History(config={}); h.iterations.lr[:] = [1e-3, 1e-2, 1e-1, 1.0]; h.iterations.loss[:] = [3.0, 2.0, 1.0, 5.0]
    >>> range_test_from(h).lr
    [0.001, 0.01, 0.1]
    """
    check_instance("history", history, History, "a History, as train() returns")
    beta = check_float("beta", beta, low=0.0, high=1.0, high_open=True)
    its = history.iterations
    result = RangeTest(lr=list(its.lr[:-1]), loss=list(its.loss[1:]))
    if not result.loss:
        return result
    result.smoothed = ema_smooth(result.loss, beta).tolist()
    return add_suggestions(result, skip_start=warmup_iterations(beta, len(result.lr)))


def range_table(results: dict[str, RangeTest]) -> Table:
    """Each range test's suggestion by the course's rule (a tenth of where the smoothed loss is
    lowest, chapter 05), beside the steepest fall, fastai's valley and the lowest point itself
    ("—" where a test has too few points to say).

    >>> range_table({"Adam": RangeTest(lr=[0.1], loss=[1.0], smoothed=[1.0], min_loss_lr=0.1)}).rows[0]["suggested (min/10)"]
    0.01
    """
    check_mapping_of("results", results, RangeTest, "a RangeTest, as lr_range_test returns")
    rows = []
    for label, r in results.items():
        rule = suggested_lr(r) if r.min_loss_lr is not None else None
        rows.append({"optimizer": label, "suggested (min/10)": rule, "steepest fall at": r.steepest,
                     "valley": r.valley, "lowest loss at": r.min_loss_lr})  # fmt: skip
    return Table(rows, digits=2)


def plot_range_tests(
    results: dict[str, RangeTest],
    *,
    marks: dict[str, float] | None = None,
    ax: Axes | None = None,
) -> Figure | SubFigure:
    """Loss against the learning rate for several range tests on one axes (thick: smoothed,
    thin: raw); each test's lowest smoothed point marked, and vertical lines at named rates.
    Drawn on ``ax`` or a new figure.

    >>> r = RangeTest(lr=[0.01, 0.1], loss=[2.0, 1.0], smoothed=[2.0, 1.0], min_loss_lr=0.1)
    >>> plot_range_tests({"Adam": r}, marks={"default": 1e-3}).axes[0].get_xscale()
    'log'
    """
    check_mapping_of("results", results, RangeTest, "a RangeTest, as lr_range_test returns")
    if len(results) > 3:
        raise ValueError(
            f"results must hold at most 3 range tests (one per line style), got {len(results)}"
        )
    if marks is not None:
        check_mapping("marks", marks, what="learning rates")
        if len(marks) > 2:
            raise ValueError(
                f"marks must hold at most 2 rates (one per line style), got {len(marks)}"
            )
        for label, lr in marks.items():
            check_float(f"marks[{label!r}]", lr, low=0.0, low_open=True)
    if ax is not None:
        check_instance("ax", ax, Axes, "a matplotlib Axes")
    fig, (ax,) = panels(figsize=(7.0, 4.0)) if ax is None else (ax.figure, [ax])
    for (label, r), (ls, marker) in zip(results.items(), (("-", "o"), ("--", "s"), ("-.", "^")), strict=False):  # fmt: skip
        (raw,) = ax.plot(r.lr, r.loss, ls=ls, lw=0.7, alpha=0.45)
        (line,) = ax.plot(r.lr, r.smoothed, ls=ls, lw=1.8, color=raw.get_color(), label=f"{label}: smoothed (thin: raw)")  # fmt: skip
        if r.min_loss_lr is not None:
            ax.plot([r.min_loss_lr], [min(r.smoothed)], marker, color=line.get_color(), ms=8, label=f"{label}: lowest at {r.min_loss_lr:.2g}")  # fmt: skip
    for (label, lr), ls in zip((marks or {}).items(), (":", (0, (3, 1, 1, 1))), strict=False):
        ax.axvline(lr, color="0.3", lw=1.2, ls=ls, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="learning rate (raised geometrically every iteration)", ylabel="batch loss after the update",
           title="Learning-rate range tests")  # fmt: skip
    ax.legend(loc="upper left", fontsize=9)
    return fig


# ----------------------------------------------------------------------------------------------
# ReduceLROnPlateau and clipping
# ----------------------------------------------------------------------------------------------


def plot_plateau(
    runs: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """Top: the learning rate per epoch of each run; bottom: its validation loss per epoch, on
    the same epochs; one legend under both. ``runs`` maps a label to (rates, validation
    losses), one entry per epoch. Drawn into ``fig`` or a new 7 × 6.8 in figure.

    >>> plot_plateau({"constant": ([0.1, 0.1], [2.0, 1.5])}).axes[1].get_ylabel()
    'validation loss'
    """
    check_mapping("runs", runs, what="(rates, validation losses) pairs")
    if len(runs) > 3:
        raise ValueError(f"runs must hold at most 3 runs (one per line style), got {len(runs)}")
    for label, pair in runs.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(
                f"runs[{label!r}] must be a (rates, validation losses) pair, got {pair!r}"
            )
        rates, val = (
            check_numbers(f"runs[{label!r}][0]", pair[0]),
            check_numbers(f"runs[{label!r}][1]", pair[1]),
        )
        if len(rates) != len(val):
            raise ValueError(
                f"runs[{label!r}] must hold one rate and one validation loss per epoch, got {len(rates)} and {len(val)}"
            )
    fig, (left, right) = panels(2, ncols=1, figsize=(7.0, 6.8), fig=fig, sharex=True)
    for (label, (rates, val)), (ls, marker) in zip(runs.items(), (("-", "o"), ("--", "s"), ("-.", "^")), strict=False):  # fmt: skip
        epochs = np.arange(1, len(rates) + 1)
        left.plot(epochs, rates, ls=ls, marker=marker, ms=4, label=label)
        right.plot(epochs, val, ls=ls, marker=marker, ms=4, label=label)
    left.set_yscale("log")
    left.set(xlabel=X_AXES["epoch"], ylabel="learning rate (at the epoch's end)", title="The rate each run used")  # fmt: skip
    right.set_yscale("log")
    right.set(xlabel=X_AXES["epoch"], ylabel="validation loss", title="Validation loss per epoch")
    plain_log_labels(right)
    # One legend for both panels (the same runs), under them: inside, it would hide a curve.
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=9)
    return fig


def plot_clipping(
    norms: Sequence[float],
    max_norm: float,
    diverged: History | None = None,
    *,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """Top: the gradient norm before clipping at every iteration of the clipped run, and the
    threshold; below it (given ``diverged``) the batch loss of the unclipped run until it
    diverged. Drawn into ``fig`` or a new figure (7 × 6.4 in, 7 × 3.4 in with one panel).

    >>> plot_clipping([5.0, 0.5, 2.0], 1.0).axes[0].get_title()
    'Clipped run: the gradient norm'
    """
    check_numbers("norms", norms)
    check_float("max_norm", max_norm, low=0.0, low_open=True)
    if diverged is not None:
        check_instance("diverged", diverged, History, "a History, as train() returns")
    count = 1 if diverged is None else 2
    size = (7.0, 3.4 * count - 0.4 * (count - 1))
    fig, axes = panels(count, ncols=1, figsize=size, fig=fig)
    left, right = axes[0], axes[-1]
    its = np.arange(1, len(norms) + 1)
    left.plot(its, norms, "-", lw=0.9, color="C0", label="‖g‖ before clipping")
    left.axhline(max_norm, color="C3", ls="--", lw=1.5, label=f"max_norm = {max_norm:g}")
    left.set_yscale("log")
    left.set(xlabel=X_AXES["iteration"], ylabel="gradient norm ‖g‖", title="Clipped run: the gradient norm")  # fmt: skip
    left.legend(loc="upper right", fontsize=9)
    if diverged is not None:
        h = diverged.iterations
        right.plot(h.iteration, h.loss, "o-", color="C3", ms=5, label="without clipping")
        if diverged.diverged:
            right.text(0.03, 0.8, f"next loss non-finite:\ntrain() stopped at iteration {diverged.diverged_at}",
                       transform=right.transAxes, fontsize=9)  # fmt: skip
        right.set_yscale("log")
        right.set(xlabel=X_AXES["iteration"], ylabel="batch loss", title="Unclipped run: batch loss until it stopped")  # fmt: skip
        right.legend(loc="upper left", fontsize=9)
    return fig


# ----------------------------------------------------------------------------------------------
# Exploding and vanishing gradients, measured during training
# ----------------------------------------------------------------------------------------------


class GradientNorms(Hook):
    """Measure the gradient after every ``backward()``, before the step uses it: the norm of the
    whole gradient, every parameter together as ``clip_grad_norm_`` measures it (``total``, also
    recorded as ``History.iterations.grad_norm``), and, given ``per_layer``, what
    ``per_layer(model)`` returns (``layers``, one list per iteration), such as the norm of each
    layer's weight gradient. Why a hook: an exploding or vanishing gradient shows in these
    numbers first, and the loop that produces them stays the course's one loop.

    >>> from gdlessons.data import quadratic_data
    >>> norms = GradientNorms(lambda model: [float(model[0].weight.grad.norm())])
    >>> h = train(tutorial_mlp(), quadratic_data(64), batch_size=32, lr=0.01, hooks=[norms])
    >>> len(norms.total), len(norms.layers), norms.total == h.iterations.grad_norm
    (2, 2, True)
    """

    def __init__(self, per_layer: Callable[[nn.Module], Sequence[float]] | None = None):
        if per_layer is not None and not callable(per_layer):
            raise TypeError(
                "per_layer must be a function model -> one number per layer (or None), "
                f"got {type(per_layer).__name__}"
            )
        self.per_layer = per_layer
        self.total: list[float] = []
        self.layers: list[list[float]] = []

    def before_training(self, loop: Loop) -> None:
        self.total, self.layers = [], []

    def after_backward(self, loop: Loop) -> None:
        grads = [p.grad.detach() for p in loop.model.parameters() if p.grad is not None]
        norms = torch.stack([torch.linalg.vector_norm(g) for g in grads]) if grads else None
        total = float(torch.linalg.vector_norm(norms)) if norms is not None else 0.0
        self.total.append(total)
        loop.grad_norm = total  # recorded with the iteration (History.iterations.grad_norm)
        if self.per_layer is not None:
            self.layers.append([float(v) for v in self.per_layer(loop.model)])


def _check_norms_run(norms: GradientNorms, history: History) -> tuple[np.ndarray, list]:
    check_instance("norms", norms, GradientNorms, "a GradientNorms hook, after train() ran with it")
    check_instance("history", history, History, "a History, as train() returns")
    total = np.asarray(norms.total, dtype=float)
    if len(total) == 0 or len(total) != len(history.iterations.loss):
        raise ValueError(
            "norms must have measured every iteration of history (pass it to that train() call "
            f"in hooks=[...]): {len(total)} gradient norms for {len(history.iterations.loss)} "
            "iterations"
        )
    return total, history.iterations.lr


def explosion_table(norms: GradientNorms, history: History) -> Table:
    """One row per iteration of a run: its batch loss, the whole gradient's norm ‖g‖, that norm
    over the previous iteration's (the growth factor), and the step's length η·‖g‖ (plain SGD).
    Why: the factors show a divergence as it builds, iterations before the loss stops being a
    number.

    >>> hook = GradientNorms(); hook.total = [2.0, 8.0]
    >>> h = History(config={}); h.iterations.loss[:] = [1.0, 5.0]; h.iterations.lr[:] = [0.1, 0.1]
    >>> explosion_table(hook, h).rows[1]["‖g‖ ÷ previous ‖g‖"]
    4.0
    """
    total, lrs = _check_norms_run(norms, history)
    rows = []
    for i, (loss, norm, lr) in enumerate(zip(history.iterations.loss, total, lrs, strict=True)):
        rows.append({
            "iteration": history.iterations.iteration[i] if history.iterations.iteration else i + 1,
            "batch loss": float(loss), "gradient norm ‖g‖": float(norm),
            "‖g‖ ÷ previous ‖g‖": float(norm / total[i - 1]) if i else None,
            "step length η·‖g‖": float(lr * norm),
        })  # fmt: skip
    return Table(rows, digits=2)


def explosion_verdict(norms: GradientNorms, history: History) -> str:
    """What a run's gradient norms did, in words computed from them (so the text stays true
    for any run): from where to where, the mean growth factor per iteration (geometric mean),
    and at how many iterations the norm grew; whether the run then diverged.

    >>> hook = GradientNorms(); hook.total = [1.0, 10.0, 1000.0]
    >>> h = History(config={}); h.iterations.loss[:] = [1.0, 2.0, 3.0]; h.iterations.lr[:] = [0.1] * 3
    >>> explosion_verdict(hook, h)
    '‖g‖ went from 1 (iteration 1) to 1000 (iteration 3): ×32 per iteration on average (geometric mean), growing at 2 of the 2 iterations after the first; the run did not diverge within 3 iterations.'
    """
    total, _ = _check_norms_run(norms, history)
    k = len(total)
    if k == 1 or not (total > 0).all():
        mean = "no growth factor to measure"
    else:
        factor = (total[-1] / total[0]) ** (1 / (k - 1))
        grew = int((total[1:] > total[:-1]).sum())
        mean = (f"×{_two_digits(factor)} per iteration on average (geometric mean), growing at "
                f"{grew} of the {k - 1} iterations after the first")  # fmt: skip
    end = (
        f"then the loss at iteration {history.diverged_at} was not finite and train() stopped"
        if history.diverged
        else f"the run did not diverge within {k} iterations"
    )
    went = f"‖g‖ went from {_two_digits(total[0])} (iteration 1) to {_two_digits(total[-1])}"
    return f"{went} (iteration {k}): {mean}; {end}."


ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def deep_mlp(
    *,
    depth: int = 10,
    width: int = 32,
    activation: str = "sigmoid",
    init: str = "default",
    seed: int = 0,
) -> nn.Sequential:
    """A plain MLP for the tutorial data, 1 input → ``depth`` − 1 hidden layers of ``width``
    units, each followed by ``activation`` → 1 output (``depth`` ``nn.Linear`` layers in all),
    initialised by ``init`` (``"default"``: PyTorch's own; ``"kaiming_uniform"``: chapter 00's
    He initialisation for ReLU). Why: deep enough for the backward pass to shrink the gradient
    layer after layer, small enough to train in a fraction of a second.

    >>> model = deep_mlp(depth=4, width=8)
    >>> sum(isinstance(m, nn.Linear) for m in model), model(torch.zeros(3, 1)).shape
    (4, torch.Size([3, 1]))
    """
    depth = check_int("depth", depth, low=2)
    width = check_int("width", width, low=1)
    act = ACTIVATIONS[check_choice("activation", activation, ACTIVATIONS)]
    check_choice("init", init, INITS)
    seed = check_int("seed", seed, low=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        for k in range(depth - 1):
            layers += [nn.Linear(1 if k == 0 else width, width), act()]
        model = nn.Sequential(*layers, nn.Linear(width, 1))
    return initialise(model, init, seed=seed)


def linear_weights(model: nn.Module) -> list[torch.Tensor]:
    """A copy of every ``nn.Linear`` layer's weight, first layer first: what a run starts from,
    to measure later how far each layer moved.

    >>> [tuple(w.shape) for w in linear_weights(deep_mlp(depth=3, width=4))]
    [(4, 1), (4, 4), (1, 4)]
    """
    check_instance("model", model, nn.Module, "a torch.nn.Module")
    weights = [m.weight.detach().clone() for m in model.modules() if isinstance(m, nn.Linear)]
    if not weights:
        raise ValueError("model must hold at least one nn.Linear layer, got none")
    return weights


@dataclass
class DepthRun:
    """One deep network's run: every iteration's gradient norm per layer (``layers``,
    iterations × layers), how far each layer's weights moved, ‖W_end − W_start‖ / ‖W_start‖
    (``moved``), and the loss on all the training data after the run (``loss``)."""

    layers: np.ndarray
    moved: np.ndarray
    loss: float


def depth_run(norms: GradientNorms, start: Sequence[torch.Tensor], model: nn.Module, loss: float) -> DepthRun:  # fmt: skip
    """Gather a deep network's run into a :class:`DepthRun`: the per-layer norms ``norms``
    measured, and each layer's movement from ``start`` (:func:`linear_weights` before the run)
    to ``model``'s weights now.

    >>> m = deep_mlp(depth=2, width=2); hook = GradientNorms(); hook.layers = [[1.0, 2.0]]
    >>> depth_run(hook, linear_weights(m), m, 0.5).moved.tolist()
    [0.0, 0.0]
    """
    check_instance("norms", norms, GradientNorms, "a GradientNorms hook, after train() ran with it")
    end = linear_weights(model)
    start = check_sequence("start", start)
    if len(start) != len(end) or any(tuple(a.shape) != tuple(b.shape) for a, b in zip(start, end)):
        raise ValueError(
            "start must be linear_weights(model) taken before the run: one weight per nn.Linear "
            f"of the same shapes, got {len(start)} tensors for {len(end)} layers"
        )
    layers = np.asarray(norms.layers, dtype=float)
    if layers.ndim != 2 or layers.shape[1] != len(end):
        raise ValueError(
            f"norms must hold one norm per nn.Linear layer ({len(end)}) at each iteration: "
            "give GradientNorms a per_layer function, got shape "
            f"{layers.shape}"
        )
    moved = np.array([float((b - a).norm() / a.norm()) for a, b in zip(start, end)])
    if not (isinstance(loss, float) and not math.isfinite(loss)):  # a diverged run's is not
        loss = check_float("loss", loss)
    return DepthRun(layers, moved, float(loss))


def _percent(share: float) -> str:
    """A share as a percentage to two significant digits: 0.3 → '30%', 3.7e-07 → '3.7e-05%'."""
    return f"{_two_digits(100 * share)}%"


def _two_digits(x: float) -> str:
    """``x`` rounded to two significant digits, written plainly where that is short: 612.7 →
    '610', 2.1e15 → '2.1e+15', 0.25 → '0.25'."""
    return f"{float(f'{x:.2g}'):g}"


def _check_depth_runs(runs) -> dict[str, DepthRun]:
    return check_mapping_of("runs", runs, DepthRun, "DepthRun results (from depth_run)")


def depth_table(runs: dict[str, DepthRun], *, baseline: float, share: float = 0.9) -> Table:
    """One row per deep network's run: its first layer's gradient norm over its last layer's
    (the median over the iterations), how far the first and last layers' weights moved, the
    loss on all the training data after the run, and whether it fitted more than the mean:
    a loss below ``share`` times ``baseline`` (the loss of predicting the mean of y everywhere).
    Why: the verdicts come from the numbers, so they hold for any seed and data size.

    >>> run = DepthRun(np.array([[1e-6, 1.0]]), np.array([0.0, 0.5]), 5.8)
    >>> depth_table({"sigmoid": run}, baseline=5.86).rows[0]["loss < 0.9 × the mean's"]
    'no'
    """
    runs = _check_depth_runs(runs)
    baseline = check_float("baseline", baseline, low=0.0)
    share = check_float("share", share, low=0.0, high=1.0, low_open=True)
    rows = []
    for label, run in runs.items():
        ratio = run.layers[:, 0] / run.layers[:, -1]
        rows.append({
            "run": label,
            "‖g‖ first layer ÷ last (median)": float(np.median(ratio)),
            "first layer moved": _percent(run.moved[0]), "last layer moved": _percent(run.moved[-1]),
            "loss after": float(run.loss),
            f"loss < {share:g} × the mean's": "yes" if run.loss < share * baseline else "no",
        })  # fmt: skip
    return Table(rows, digits=2)


def plot_layer_gradients(runs: dict[str, DepthRun], *, ax: Axes | None = None) -> Figure:
    """The gradient norm of each layer's weights, layer 1 (the input's) to the last, the median
    over each run's iterations, one line per run, on a log scale. Drawn into ``ax`` or a new
    7 × 4 in figure; returns the figure.

    >>> run = DepthRun(np.array([[1e-6, 1.0]]), np.array([0.0, 0.5]), 5.9)
    >>> plot_layer_gradients({"sigmoid": run}).axes[0].get_xlabel()
    'layer (1 = next to the input)'
    """
    runs = _check_depth_runs(runs)
    if ax is None:
        fig, (ax,) = panels(1, figsize=(7.0, 4.0))
    else:
        check_instance("ax", ax, Axes, "a matplotlib Axes")
        fig = ax.figure
    for (label, run), (ls, marker) in zip(runs.items(), LINE_STYLES * 2, strict=False):
        layers = np.arange(1, run.layers.shape[1] + 1)
        ax.plot(layers, np.median(run.layers, axis=0), ls=ls, marker=marker, ms=5, label=label)
    ax.set_yscale("log")
    ax.set(xlabel="layer (1 = next to the input)", ylabel="gradient norm of the layer's weights",
           title="Each layer's gradient (median over the iterations)")  # fmt: skip
    ax.legend(loc="lower right", fontsize=9)
    return fig


# ----------------------------------------------------------------------------------------------
# Saddle points and local minima
# ----------------------------------------------------------------------------------------------


def leave_iteration(path: np.ndarray, *, distance: float = 0.3) -> np.ndarray:
    """The first iteration at which x₁ is ``distance`` away from the saddle (−1: never), for a
    path or a batch of paths (``(..., iterations + 1, 2)``).

    >>> leave_iteration(np.array([[_SADDLE_X, 1.0], [_SADDLE_X + 0.1, 0.0], [_SADDLE_X + 0.5, 0.0]]))
    array(2)
    """
    path = _check_points("path", path)
    distance = check_float("distance", distance, low=0.0, low_open=True)
    far = np.abs(np.asarray(path, dtype=float)[..., 0] - _SADDLE_X) > distance
    return np.where(far.any(axis=-1), far.argmax(axis=-1), -1)


def minimum_reached(path: np.ndarray) -> np.ndarray:
    """Which minimum a path (or batch of paths) ends in: ``"global"``, ``"local"`` (by the side of
    the saddle its last point is on) or ``"neither"`` when it ends far from both.

    >>> minimum_reached(np.array([[0.0, 1.0], [-1.0, 0.0]])).item()
    'global'
    """
    path = _check_points("path", path)
    end = np.asarray(path, dtype=float)[..., -1, :]
    near_left = np.hypot(end[..., 0] - _LEFT, end[..., 1]) < 0.3
    near_right = np.hypot(end[..., 0] - _RIGHT, end[..., 1]) < 0.3
    return np.where(near_left, "global", np.where(near_right, "local", "neither"))


def escape_table(
    methods: dict[str, tuple[str, float, dict]],
    iterations: int,
    *,
    offsets: Sequence[float] = (0.0, 1e-6),
    repeats: int = 20,
) -> Table:
    """For each method ``label: (method, lr, settings)`` of :func:`paths` on the saddle surface,
    the iteration at which x₁ is first 0.3 away from the saddle, started at x₂ = 1.5 and each
    offset to the right of the saddle's x₁ (a noisy method: the median over ``repeats`` noise
    draws), and which minimum the run from the last offset ends in.

    >>> escape_table({"Adam": ("adam", 0.1, {})}, 50, offsets=(1e-6,)).rows[0]["ends in"]
    'local'
    """
    check_mapping("methods", methods, what="(method, lr, settings)")
    offsets = check_sequence("offsets", offsets, item=lambda n, v: check_float(n, v))
    iterations = check_int("iterations", iterations, low=1)
    repeats = check_int("repeats", repeats, low=1)
    rows = []
    for label, (method, lr, settings) in methods.items():
        runs = repeats if settings.get("noise") else 1
        row: dict[str, object] = {"method": label}
        for offset in offsets:
            start = np.tile([_SADDLE_X + offset, SADDLE.start[1]], (runs, 1))
            found = paths(SADDLE, method, lr, iterations, start=start, **settings)
            left = leave_iteration(found).astype(float)
            left[left < 0] = np.inf
            median = float(np.median(left))
            where = "on the ridge" if offset == 0 else f"{offset:g} to its right"
            text = str(int(median)) if math.isfinite(median) else f"not within {iterations}"
            row[f"leaves the saddle at iteration (start {where})"] = text + (f" (median of {runs})" if runs > 1 else "")  # fmt: skip
        ends = minimum_reached(found)
        if runs == 1:
            row["ends in"] = str(ends[0])
        else:
            counts = {k: int((ends == k).sum()) for k in ("global", "local", "neither")}
            row["ends in"] = ", ".join(f"{k} {v}/{runs}" for k, v in counts.items() if v)
        rows.append(row)
    return Table(rows)


def basin_map(
    method: str, lr: float, iterations: int, *, resolution: int = 61, **settings
) -> np.ndarray:
    """For a grid of starting points over the saddle surface, 1 where the run ends in the
    global minimum, 0 in the local one, NaN elsewhere: ``(resolution, resolution)``, rows = x₂."""
    xs = np.linspace(*SADDLE.xlim, resolution)
    ys = np.linspace(*SADDLE.ylim, resolution)
    starts = np.stack(np.meshgrid(xs, ys), axis=-1)
    ends = minimum_reached(paths(SADDLE, method, lr, iterations, start=starts, **settings))
    return np.where(ends == "global", 1.0, np.where(ends == "local", 0.0, np.nan))


def plot_basins(
    maps: dict[str, np.ndarray], *, fig: Figure | SubFigure | None = None
) -> Figure | SubFigure:
    """One panel per method, two to a row (so any number of methods fits the column): where
    each starting point ends (dark: the global minimum, light: the local one), with the
    critical points marked. Drawn into ``fig`` or a new figure.

    >>> fig = plot_basins({"GD": basin_map("sgd", 0.1, 10, resolution=5)}); len(fig.axes)
    1
    """
    check_mapping("maps", maps, what="basin maps (basin_map returns one)")
    for label, m in maps.items():
        check_numbers(f"maps[{label!r}]", m, ndim=2)
    ncols = min(2, len(maps))
    rows = -(-len(maps) // ncols)
    size = (7.0 if ncols == 2 else 4.2, 3.4 * rows + 0.7)
    fig, axes = panels(len(maps), ncols=ncols, figsize=size, fig=fig)
    cmap = mpl.colors.ListedColormap(["#f2e6c9", "#6b8fb3"]).with_extremes(bad="white")
    marks = {"global minimum": "*", "local minimum": "P", "saddle": "X"}
    for ax, (label, m) in zip(axes, maps.items(), strict=True):
        ax.imshow(m, origin="lower", extent=SADDLE.xlim + SADDLE.ylim, cmap=cmap, vmin=0, vmax=1, aspect="auto", interpolation="nearest")  # fmt: skip
        for name, point in SADDLE.points.items():
            ax.plot(*point, marks[name], color="k", ms=10, ls="none", label=name)
        share = np.nanmean(m)
        ax.set(xlabel="starting x₁", ylabel="starting x₂")
        ax.set_title(f"{label}\n{share:.0%} of starts reach the global min.", fontsize=10)
    handles = [mpl.patches.Patch(color="#6b8fb3", label="ends in the global minimum"),
               mpl.patches.Patch(color="#f2e6c9", label="ends in the local minimum")]  # fmt: skip
    handles += axes[0].get_legend_handles_labels()[0]
    fig.legend(
        handles=handles, loc="outside lower center", ncols=3 if ncols == 2 else 2, fontsize=9
    )
    return fig


# ----------------------------------------------------------------------------------------------
# The explorer
# ----------------------------------------------------------------------------------------------

EXPLORER_OPTIMIZERS = ("SGD", "SGD + momentum", "RMSProp", "Adam", "AdaGrad")
EXPLORER_LRS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 1.5, 1.9, 2.5)
EXPLORER_BETA1 = (0.0, 0.5, 0.9, 0.99)
EXPLORER_BETA2 = (0.9, 0.99, 0.999)


def explorer_grids(iterations: int = 100) -> dict[tuple[str, str], np.ndarray]:
    """Every explorer path, computed up front: ``{(surface, optimizer): array}`` with axes
    (learning rate, β₁, β₂, iteration, coordinate). β₁ is the momentum μ for SGD + momentum,
    β₂ is RMSProp's α; an optimizer without a β repeats its paths along that axis."""
    iterations = check_int("iterations", iterations, low=1)
    lrs = np.array(EXPLORER_LRS)[:, None, None]
    b1 = np.array(EXPLORER_BETA1)[None, :, None]
    b2 = np.array(EXPLORER_BETA2)[None, None, :]
    full = (len(EXPLORER_LRS), len(EXPLORER_BETA1), len(EXPLORER_BETA2), iterations + 1, 2)
    out = {}
    for name in ("quadratic", "saddle"):
        runs = {
            "SGD": paths(name, "sgd", lrs, iterations),
            "SGD + momentum": paths(name, "sgd", lrs, iterations, momentum=b1),
            "RMSProp": paths(name, "rmsprop", lrs, iterations, alpha=b2),
            "Adam": paths(name, "adam", lrs, iterations, beta1=b1, beta2=b2),
            "AdaGrad": paths(name, "adagrad", lrs, iterations),
        }
        for optimizer, p in runs.items():
            out[(name, optimizer)] = np.broadcast_to(p, full)
    return out


def adaptive_explorer(*, iterations: int = 100) -> Explorer:
    """Pick a surface (the ill-conditioned quadratic or the saddle), an optimizer, its rate and
    β's: the path on the contours and the loss per iteration. Every path of the grid is computed
    once, when the explorer is built (:func:`explorer_grids`); a slider move only redraws.

    >>> ex = adaptive_explorer(iterations=10); ex.png(lr=0.2) == ex.png(lr=0.2)
    True
    """
    iterations = check_int("iterations", iterations, low=1)
    import ipywidgets as w

    grids = explorer_grids(iterations)
    # One kept figure: the contours of both surfaces are drawn once, here, and shown or hidden;
    # the path, its loss curve and the loss panel's title move (animated), the rest is drawn
    # once per surface (the explorer's background key).
    fig, (ax_path, ax_loss) = panels(2, figsize=(7.5, 3.7), width_ratios=[1.25, 1])
    still: dict[str, list] = {}
    for name in ("quadratic", "saddle"):
        before = set(ax_path.lines) | set(ax_path.collections)
        plot_surface(name, ax=ax_path)
        still[name] = [a for a in [*ax_path.lines, *ax_path.collections] if a not in before]
    (path_line,) = ax_path.plot([], [], "o-", ms=2.5, lw=1.0, color="C3", animated=True)
    (start_dot,) = ax_path.plot([], [], "o", ms=7, mfc="none", mec="k", mew=1.5)
    (loss_line,) = ax_loss.plot([], [], "-", lw=1.6, color="C3", animated=True)
    ax_loss.set_yscale("log")
    ax_loss.set(xlabel=X_AXES["iteration"], ylabel="loss above the minimum", xlim=(0, iterations), ylim=(1e-12, 1e2))  # fmt: skip
    title = ax_loss.set_title(" ", fontsize=10, animated=True)
    # Where the path leaves the picture, the picture says so (and whether it comes back).
    note = ax_path.text(0.03, 0.03, "", transform=ax_path.transAxes, fontsize=9, va="bottom", animated=True,
                        bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="0.6", alpha=0.9))  # fmt: skip

    def show_surface(surface: str) -> None:
        """The still part for ``surface``: cheap to set on every move, drawn once per surface."""
        for name, artists in still.items():
            for artist in artists:
                artist.set_visible(name == surface)
        surf = SURFACES[surface]
        ax_path.set(xlim=surf.xlim, ylim=surf.ylim)
        ax_path.set_title(f"{surface}: {surf.formula}", fontsize=10)
        start_dot.set_data([surf.start[0]], [surf.start[1]])

    def pick(surface, optimizer, lr, beta1, beta2) -> np.ndarray:
        i, j, k = EXPLORER_LRS.index(lr), EXPLORER_BETA1.index(beta1), EXPLORER_BETA2.index(beta2)
        return grids[(surface, optimizer)][i, j, k]

    def draw(surface: str, optimizer: str, lr: float, beta1: float, beta2: float) -> Figure:
        path = pick(surface, optimizer, lr, beta1, beta2)
        surf = SURFACES[surface]
        shown, view = _explorer_view(surf, path)
        path_line.set_data(shown[:, 0], shown[:, 1])
        note.set_text(view)
        note.set_visible(bool(view))
        loss = np.clip(loss_along(surf, path), 1e-16, 1e8)
        loss_line.set_data(np.arange(len(loss)), loss)
        title.set_text(f"{optimizer}, η = {lr:g}" + _beta_text(optimizer, beta1, beta2))
        show_surface(surface)
        return fig

    def readout(surface: str, optimizer: str, lr: float, beta1: float, beta2: float) -> str:
        path = pick(surface, optimizer, lr, beta1, beta2)
        loss = loss_along(surface, path)
        text = f"{optimizer}, η = {lr:g}{_beta_text(optimizer, beta1, beta2)}: "
        view = _explorer_view(SURFACES[surface], path)[1].replace("\n", " ")
        if _diverges(loss):
            return text + (view or "diverges")
        text += f"loss above the minimum after {iterations} iterations {loss[-1]:.2g}"
        text += f"; {view}" if view else ""
        if surface == "saddle":
            text += f"; ends in the {minimum_reached(path).item()} minimum" if minimum_reached(path).item() != "neither" else "; has not settled in a minimum"  # fmt: skip
            left_at = int(leave_iteration(path))
            text += f"; leaves the saddle at iteration {left_at}" if left_at >= 0 else f"; still at the saddle after {iterations} iterations"  # fmt: skip
        return text

    controls = {
        "surface": w.Dropdown(options=["quadratic", "saddle"], value="quadratic", description="surface"),
        "optimizer": w.Dropdown(options=list(EXPLORER_OPTIMIZERS), value="Adam", description="optimizer"),
        "lr": w.SelectionSlider(options=list(EXPLORER_LRS), value=0.1, description="η"),
        "beta1": w.SelectionSlider(options=list(EXPLORER_BETA1), value=0.9, description="β₁ / μ"),
        "beta2": w.SelectionSlider(options=list(EXPLORER_BETA2), value=0.999, description="β₂ / α"),
    }  # fmt: skip
    return Explorer(
        draw,
        controls,
        title="Adaptive-optimizer explorer",
        readout=readout,
        background=lambda surface, **_: surface,
    )


def _diverges(loss: np.ndarray) -> bool:
    """The explorer's verdict on a run's loss above the minimum: it diverges when its last
    value is not finite or above 10⁶."""
    return bool(not np.isfinite(loss[-1]) or loss[-1] > 1e6)


def _explorer_view(surface: Surface, path: np.ndarray) -> tuple[np.ndarray, str]:
    """The part of an explorer ``path`` drawn, and what the picture says where it leaves the
    view (``""`` where it stays inside): a diverging run is cut where it first gets three views
    away (or stops being finite); any other is drawn whole, the axes hiding where it is out of
    view, so a path that leaves and comes back is seen to come back.

    >>> _explorer_view(QUADRATIC, np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 0.5]]))[1]
    'leaves the view at iteration 1,\\nback in it from iteration 2'
    """
    loss = loss_along(surface, path)
    (x0, x1), (y0, y1) = surface.xlim, surface.ylim
    with np.errstate(invalid="ignore"):
        inside = (x0 <= path[:, 0]) & (path[:, 0] <= x1) & (y0 <= path[:, 1]) & (path[:, 1] <= y1)
    if inside.all():
        return path, ""
    left = int(np.argmin(inside))
    if _diverges(loss):
        limit = 3 * max(map(abs, surface.xlim + surface.ylim))
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(path).all(axis=-1) | (np.abs(path).max(axis=-1) > limit)
        return path[: int(np.argmax(bad)) + 1], f"diverges, leaving the view\nat iteration {left}"
    if not inside[-1]:
        return path, f"leaves the view at iteration {left}\nand ends outside it"
    back = len(path) - int(np.argmin(inside[::-1]))
    return path, f"leaves the view at iteration {left},\nback in it from iteration {back}"


def _beta_text(optimizer: str, beta1: float, beta2: float) -> str:
    if optimizer == "SGD + momentum":
        return f", μ = {beta1:g}"
    if optimizer == "RMSProp":
        return f", α = {beta2:g}"
    if optimizer == "Adam":
        return f", β₁ = {beta1:g}, β₂ = {beta2:g}"
    return ""


EXPLORERS = {"ch07-adaptive-explorer": adaptive_explorer}
