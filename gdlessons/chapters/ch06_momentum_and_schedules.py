"""Momentum, Nesterov and weight decay exactly as ``torch.optim.SGD`` does them, written by hand.

PyTorch's update, per parameter p with gradient g (weight decay wd, momentum μ, rate η):

    g ← g + wd·p                  (weight decay is just an extra gradient term)
    v ← μ·v + g                   (first update: v = g)
    p ← p − η·v                   (Nesterov: p ← p − η·(g + μ·v))

:func:`sgd_step` writes that out and :func:`check_against_torch` proves it bit for bit against
``torch.optim.SGD`` run through the course's ``train()``. The textbook form with the rate *inside*
the velocity (v ← μ·v + η·g; p ← p − v) gives the same path while η is constant, but not when a
schedule changes η (:func:`eta_inside_step`). On quadratics, :func:`rate_map` gives the exact
convergence factor for every (η, μ) pair — the picture of Goh's "Why Momentum Really Works".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from torch import nn

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
from gdlessons.batching import BatchIterator, iterations_per_epoch, resolve_batch_size
from gdlessons.compare import Comparison, compare, over_updates
from gdlessons.data import as_tensors, quadratic_data
from gdlessons.display.explorer import Explorer
from gdlessons.display.landscapes import draw_path, plot_contours_2d
from gdlessons.display.plots import X_AXES, line_style, new_axes, new_figure
from gdlessons.display.tables import Table
from gdlessons.history import History
from gdlessons.hooks import RecordParams
from gdlessons.landscapes import (
    convergence_factor,
    first_divergent,
    iterates,
    quadratic_loss,
    regime,
)
from gdlessons.metrics import evaluate
from gdlessons.models import tutorial_mlp
from gdlessons.schedules import SCHEDULES, make_schedule
from gdlessons.training import train

# The chapter's ill-conditioned quadratic: κ = 50, steep along x₂, flat along x₁.
CURVATURES = (0.02, 1.0)
START = (-2.5, 0.8)
EXTENT = (3.0, 1.6)
MAP_LRS = np.linspace(0.02, 4.0, 200)
MAP_MOMENTA = np.linspace(0.0, 0.99, 100)


def _check_step(params, grads, velocities, lr, momentum) -> None:
    """One tensor per parameter in ``params`` and ``grads``, a tensor or None in ``velocities``
    (same lengths); ``lr`` and ``momentum`` finite and >= 0."""
    is_tensor = lambda n, v: check_instance(n, v, torch.Tensor, "a torch.Tensor")  # noqa: E731
    params = check_sequence("params", params, item=is_tensor)
    check_sequence("grads", grads, item=is_tensor)
    check_sequence(
        "velocities", velocities,
        item=lambda n, v: v if v is None else is_tensor(n, v),
    )  # fmt: skip
    if not len(params) == len(grads) == len(velocities):
        raise ValueError(
            f"params, grads and velocities must hold one entry per parameter, got "
            f"{len(params)}, {len(grads)} and {len(velocities)}"
        )
    check_float("lr", lr, low=0.0)
    check_float("momentum", momentum, low=0.0)


def sgd_step(params, grads, velocities, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """One ``torch.optim.SGD`` update by hand; returns (new params, new velocities).

    ``velocities`` holds ``None`` before the first update (PyTorch starts its buffer at v = g).
    The last line uses ``add(d, alpha=-lr)`` — the very operation torch uses — so the bits agree.

    >>> p, v = sgd_step([torch.tensor([1.0])], [torch.tensor([2.0])], [None], lr=0.5, momentum=0.9)
    >>> p[0].item(), v[0].item()
    (0.0, 2.0)
    """
    _check_step(params, grads, velocities, lr, momentum)
    check_bool("nesterov", nesterov)
    check_float("weight_decay", weight_decay, low=0.0)
    new_params, new_velocities = [], []
    for p, g, v in zip(params, grads, velocities, strict=True):
        if weight_decay != 0:
            g = g.add(p, alpha=weight_decay)  # weight decay: the gradient of (wd/2)·‖p‖²
        if momentum != 0:
            v = g.clone() if v is None else v.mul(momentum).add(g)  # v ← μ·v + g
            g = g.add(v, alpha=momentum) if nesterov else v  # Nesterov looks one step ahead
        new_params.append(p.add(g, alpha=-lr))  # p ← p − η·(step direction)
        new_velocities.append(v)
    return new_params, new_velocities


def eta_inside_step(params, grads, velocities, *, lr, momentum):
    """The other textbook form: v ← μ·v + η·g, p ← p − v (the rate folded into the velocity).

    With a constant η it is PyTorch's form with v scaled by η. When η changes, PyTorch rescales
    the whole remembered velocity at once; this form only scales the new gradients.

    >>> p, v = eta_inside_step([torch.tensor([1.0])], [torch.tensor([2.0])], [None], lr=0.5, momentum=0.9)
    >>> p[0].item(), v[0].item()
    (0.0, 1.0)
    """
    _check_step(params, grads, velocities, lr, momentum)
    new_params, new_velocities = [], []
    for p, g, v in zip(params, grads, velocities, strict=True):
        v = lr * g if v is None else momentum * v + lr * g
        new_params.append(p - v)
        new_velocities.append(v)
    return new_params, new_velocities


def check_against_torch(
    model: nn.Module,
    data,
    *,
    iterations: int = 100,
    batch_size: int | str = 32,
    lr: float = 0.01,
    momentum: float = 0.9,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    seed: int = 0,
) -> Comparison:
    """Train a copy of ``model`` with ``train()`` (torch's SGD) and another with :func:`sgd_step`
    on the same batches; compare their parameters after every update (up to the first
    non-finite loss, where a diverging run stops), counting those equal bit for bit.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> check_against_torch(tutorial_mlp(), quadratic_data(100), iterations=5)
    bitwise equal: True (max |difference| = 0), after 5 of 5 updates
    """
    import copy

    iterations = check_int("iterations", iterations, low=1)
    X, y = as_tensors(data)
    batch_size = resolve_batch_size(batch_size, len(X))
    by_hand = copy.deepcopy(model)
    reference = copy.deepcopy(model)

    def draws():  # `iterations` batches drawn with replacement, the same for both runs
        return BatchIterator(
            X, y, batch_size=batch_size, seed=seed, replacement=True, batches_per_epoch=iterations
        )

    history = train(
        reference, (X, y), epochs=1, lr=lr, momentum=momentum, nesterov=nesterov,
        weight_decay=weight_decay, batches=draws(), hooks=[RecordParams()],
    )  # fmt: skip
    names = [name for name, _ in by_hand.named_parameters()]
    params = [p.detach().clone() for p in by_hand.parameters()]
    velocities = [None] * len(params)
    batches = draws()
    per_update = []
    for k, (xb, yb) in enumerate(batches, start=1):
        if k >= len(history.params):  # torch's run stopped at a non-finite loss: compare up to it
            break
        leaves = [p.requires_grad_() for p in params]
        out = torch.func.functional_call(by_hand, dict(zip(names, leaves, strict=True)), (xb,))
        grads = torch.autograd.grad(nn.functional.mse_loss(out, yb), leaves)
        with torch.no_grad():
            params, velocities = sgd_step(
                [p.detach() for p in leaves], grads, velocities,
                lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
            )  # fmt: skip
        per_update.append(compare(params, [history.params[k][n] for n in names]))
    return over_updates(per_update)


def quadratic_path(
    curvatures: Sequence[float],
    x0: Sequence[float],
    rates: Sequence[float],
    *,
    momentum: float = 0.0,
    nesterov: bool = False,
    form: str = "pytorch",
) -> np.ndarray:
    """Iterates of f(x) = ½ Σ λᵢ xᵢ² under a per-iteration rate list ``rates``, by
    :func:`sgd_step` (``form="pytorch"``) or :func:`eta_inside_step` (``form="eta_inside"``).
    Unlike ``landscapes.iterates`` it accepts μ = 1 and a changing rate. Returns
    ``(len(rates) + 1, d)``, start included.

    >>> quadratic_path([1.0], [1.0], [0.5, 0.5]).ravel().tolist()
    [1.0, 0.5, 0.25]
    """
    check_sequence("rates", rates, item=lambda n, v: check_float(n, v, low=0.0, low_open=True))
    if form not in ("pytorch", "eta_inside"):
        raise ValueError(f"form must be one of ['eta_inside', 'pytorch'], got {form!r}")
    momentum = check_float("momentum", momentum, low=0.0, high=1.0)
    lam = torch.as_tensor(np.asarray(curvatures, dtype=float))
    x = torch.as_tensor(np.asarray(x0, dtype=float)).clone()
    v = None
    path = [x.numpy().copy()]
    for lr in rates:
        lr = check_float("rates", float(lr), low=0.0)
        if form == "pytorch":
            (x,), (v,) = sgd_step([x], [lam * x], [v], lr=lr, momentum=momentum, nesterov=nesterov)
        else:
            (x,), (v,) = eta_inside_step([x], [lam * x], [v], lr=lr, momentum=momentum)
        path.append(x.numpy().copy())
    return np.array(path)


def rate_map(curvatures: Sequence[float], lrs, momenta, *, nesterov: bool = False) -> np.ndarray:
    """The exact long-run convergence factor (spectral radius of each direction's 2×2 update
    matrix, worst direction) for every pair: shape ``(len(momenta), len(lrs))``. Below 1
    converges; the error shrinks by this factor per iteration. Vectorised over the grid.

    >>> rate_map([1.0], [0.5, 1.0], [0.0]).round(3).tolist()
    [[0.5, 0.0]]
    """
    check_sequence("lrs", lrs, item=lambda n, v: check_float(n, v, low=0.0, low_open=True))
    check_sequence("momenta", momenta, item=lambda n, v: check_float(n, v, low=0.0, high=1.0))
    lrs = np.asarray(lrs, dtype=float)
    momenta = np.asarray(momenta, dtype=float)
    eta, mu = np.meshgrid(lrs, momenta)
    return convergence_factor(eta, np.asarray(curvatures, dtype=float), mu[..., None], nesterov)


@dataclass
class BestPair:
    """The fastest (η, μ) and its convergence factor per iteration."""

    lr: float
    momentum: float
    factor: float
    nesterov: bool = False

    def iterations_to_shrink(self, by: float = 1e-3) -> float:
        """Iterations for the error to shrink by the factor ``by`` (e.g. 1000× for 1e-3), as a
        real number: ln(by) / ln(factor)."""
        return float(np.log(by) / np.log(self.factor)) if 0 < self.factor < 1 else float("inf")

    def whole_iterations_to_shrink(self, by: float = 1e-3) -> int | float:
        """The smallest whole number t of iterations with factorᵗ ≤ ``by``: the real number of
        :meth:`iterations_to_shrink` rounded *up* (rounding it to the nearest would shrink the
        error less than asked); ``inf`` when the error never shrinks.

        >>> BestPair(1.0, 0.5, 0.75).whole_iterations_to_shrink(1e-3)  # 24.01… → 25: 0.75²⁴ > 1e-3
        25
        """
        check_float("by", by, low=0.0, high=1.0, low_open=True, high_open=True)
        if self.factor == 0:  # the first iteration removes the whole error
            return 1
        real = self.iterations_to_shrink(by)
        if not math.isfinite(real):
            return real
        t = max(0, math.ceil(real))
        while t > 0 and self.factor ** (t - 1) <= by:  # ceil of a real that rounding nudged up
            t -= 1
        while self.factor**t > by:  # ... or down
            t += 1
        return t


def best_on_grid(curvatures: Sequence[float], lrs, momenta, *, nesterov: bool = False) -> BestPair:
    """The grid point of :func:`rate_map` with the smallest factor.

    >>> best_on_grid([1.0], [0.5, 1.0], [0.0, 0.5]).lr
    1.0
    """
    check_sequence("lrs", lrs, item=lambda n, v: check_float(n, v, low=0.0, low_open=True))
    check_sequence("momenta", momenta, item=lambda n, v: check_float(n, v, low=0.0, high=1.0))
    factors = rate_map(curvatures, lrs, momenta, nesterov=nesterov)
    i, j = np.unravel_index(np.argmin(factors), factors.shape)
    lr, mu = float(np.asarray(lrs)[j]), float(np.asarray(momenta)[i])
    return BestPair(lr, mu, float(factors[i, j]), nesterov)


def _positive(name: str, value) -> float:
    return check_float(name, value, low=0.0, low_open=True)


def optimal_pair(curvatures: Sequence[float], *, momentum: bool = True) -> BestPair:
    """Theory for heavy-ball momentum (Polyak): η* = 4/(√L + √m)², μ* = ((√κ − 1)/(√κ + 1))²,
    factor √μ*; without momentum η* = 2/(L + m), factor (κ − 1)/(κ + 1). κ = L/m.

    >>> p = optimal_pair([1.0, 100.0]); round(p.factor, 4), round(optimal_pair([1.0, 100.0], momentum=False).factor, 4)
    (0.8182, 0.9802)
    """
    check_sequence("curvatures", curvatures, item=_positive)
    check_bool("momentum", momentum)
    lam = np.asarray(curvatures, dtype=float)
    m, L = float(lam.min()), float(lam.max())
    if momentum:
        r = (np.sqrt(L) - np.sqrt(m)) / (np.sqrt(L) + np.sqrt(m))
        return BestPair(float(4 / (np.sqrt(L) + np.sqrt(m)) ** 2), float(r**2), float(r))
    return BestPair(2 / (L + m), 0.0, (L - m) / (L + m))


def race(
    settings: dict[str, BestPair],
    iterations: int,
    *,
    curvatures: Sequence[float] = CURVATURES,
    start: Sequence[float] = START,
) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Run each named setting on the quadratic: (paths keyed by a label with η and μ, table rows
    with the convergence factor and the iterations needed to shrink the error 1000×: the smallest
    whole number t with factorᵗ ≤ 1/1000).

    >>> paths, rows = race({"GD": optimal_pair([1.0, 4.0], momentum=False)}, 3, curvatures=[1.0, 4.0])
    >>> rows[0]["iterations to shrink the error 1000×"]  # factor (κ − 1)/(κ + 1) = 0.6
    14
    """
    check_mapping("settings", settings, what="BestPair (optimal_pair returns one)")
    iterations = check_int("iterations", iterations, low=1)
    paths, rows = {}, []
    for name, p in settings.items():
        label = f"{name} (η={p.lr:.2f}, μ={p.momentum:.2f})"
        paths[label] = iterates(
            curvatures, start, p.lr, iterations, momentum=p.momentum, nesterov=p.nesterov
        )
        rows.append(
            {
                "method": name,
                "η": p.lr,
                "μ": p.momentum,
                "error kept per iteration": p.factor,
                "iterations to shrink the error 1000×": p.whole_iterations_to_shrink(1e-3),
            }
        )
    return paths, rows


def weight_norm(model: nn.Module) -> float:
    """‖θ‖₂ over every parameter: the size weight decay pulls down.

    >>> from gdlessons.models import LinearModel
    >>> weight_norm(LinearModel(w=3.0, b=4.0))
    5.0
    """
    check_instance("model", model, nn.Module, "a torch.nn.Module")
    if not any(True for _ in model.parameters()):
        raise ValueError(f"model must have parameters, got a {type(model).__name__} with none")
    with torch.no_grad():
        return float(torch.sqrt(sum((p.double() ** 2).sum() for p in model.parameters())))


def _check_path(name: str, path, curvatures, *, min_points: int = 1) -> np.ndarray:
    """``path`` an array of points, one coordinate per curvature (positive, finite)."""
    check_sequence("curvatures", curvatures, item=_positive)
    path = check_numbers(name, path, ndim=2, min_len=min_points)
    if path.shape[1] != len(curvatures):
        raise ValueError(
            f"{name} must hold points of {len(curvatures)} coordinates (one per curvature), "
            f"got shape {path.shape}"
        )
    return path


def path_loss(path: np.ndarray, curvatures: Sequence[float] = CURVATURES) -> np.ndarray:
    """f(x) = ½ Σ λᵢ xᵢ² at every point of a path (``inf`` once it overflows).

    >>> path_loss(np.array([[1.0, 1.0]]), [2.0, 4.0]).tolist()
    [3.0]
    """
    _check_path("path", path, curvatures)
    with np.errstate(over="ignore", invalid="ignore"):
        loss = quadratic_loss(np.asarray(path, dtype=float), curvatures)
    return np.where(np.isfinite(loss), loss, np.inf)


def plot_paths(
    paths: dict[str, np.ndarray],
    *,
    curvatures: Sequence[float] = CURVATURES,
    extent: tuple[float, float] = EXTENT,
    title: str | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """Two panels, stacked so each takes the output's full width: the paths on the quadratic's
    contours (top) and their loss per iteration (log, below), which carries the one legend.
    ``fig`` (a Figure or SubFigure) is drawn into when given.

    >>> fig = plot_paths({"GD": quadratic_path(CURVATURES, START, [1.0] * 5)}); fig.axes[1].get_xlabel()
    'iteration (optimizer updates)'
    """
    check_mapping("paths", paths, what="paths (arrays of points)")
    if len(curvatures) != 2:
        raise ValueError(
            f"curvatures must hold 2 values (the contours are 2-D), got {len(curvatures)}"
        )
    for label, path in paths.items():
        _check_path(f"paths[{label!r}]", path, curvatures)
    check_sequence("extent", extent, min_len=2, item=_positive)
    if len(extent) != 2:
        raise ValueError(
            f"extent must hold 2 values (half-widths along x₁ and x₂), got {len(extent)}"
        )
    if title is not None:
        check_instance("title", title, str, "a string")
    fig = new_figure(fig, figsize=(7.0, 7.0))
    top, bottom = fig.subplots(2, 1, height_ratios=[1.1, 1])
    plot_contours_2d(list(curvatures), ax=top, extent=extent, title=title)
    for i, (label, path) in enumerate(paths.items()):
        # The legend sits on the loss panel: on the contours it would hide part of a path.
        style = line_style(i)
        draw_path(top, path, label=label, ms=3, limit=10 * max(extent), legend=False, **style)
        loss = path_loss(path, curvatures)
        every = max(1, len(loss) // 12)
        bottom.plot(np.arange(len(loss)), np.clip(loss, 1e-16, 1e6), label=label, ms=4,
                    **line_style(i, markevery=every))  # fmt: skip
    bottom.set_yscale("log")
    bottom.set(xlabel=X_AXES["iteration"], ylabel="loss f(x)", title="Loss per iteration")
    bottom.legend(loc="lower left")  # below the curves, which all start near the top
    return fig


def plot_rate_map(
    curvatures: Sequence[float] = CURVATURES,
    lrs=MAP_LRS,
    momenta=MAP_MOMENTA,
    *,
    nesterov: bool = False,
    ax: Axes | None = None,
    mark: tuple[float, float] | None = None,
    factors: np.ndarray | None = None,
) -> Figure:
    """The (η, μ) map of :func:`rate_map`: colour = error kept per iteration, grey = diverges;
    a star at the grid's best pair, a cross at ``mark`` (e.g. the current setting).

    >>> plot_rate_map(lrs=np.linspace(0.1, 3, 20), momenta=np.linspace(0, 0.9, 10)).axes[0].get_ylabel()
    'momentum μ'
    """
    fig, ax = new_axes(ax, figsize=(5.2, 3.8))
    lrs, momenta = np.asarray(lrs, dtype=float), np.asarray(momenta, dtype=float)
    if factors is None:
        factors = rate_map(curvatures, lrs, momenta, nesterov=nesterov)
    cmap = mpl.colormaps["viridis"].with_extremes(over="0.85")
    image = ax.imshow(
        factors, origin="lower", aspect="auto", cmap=cmap, vmin=max(0.0, float(factors.min()) - 0.02), vmax=1.0,
        extent=(lrs[0], lrs[-1], momenta[0], momenta[-1]), interpolation="nearest",
    )  # fmt: skip
    fig.colorbar(image, ax=ax, label="error kept per iteration", extend="max")
    i, j = np.unravel_index(np.argmin(factors), factors.shape)
    ax.plot(lrs[j], momenta[i], "*", color="r", ms=12)
    if mark is not None:
        ax.plot(*mark, "x", color="w", ms=10, mew=2.5)
    ax.set(xlabel="learning rate η", ylabel="momentum μ")
    kind = "Nesterov" if nesterov else "Heavy-ball momentum"
    ax.set_title(
        f"{kind}: error kept per iteration (grey: diverges)\n"
        f"★ best on the grid: η = {lrs[j]:.2f}, μ = {momenta[i]:.2f}, factor {factors[i, j]:.3f}"
        + ("; × current" if mark is not None else ""),
        fontsize=9,
    )
    return fig


def plot_rate_maps(
    curvatures: Sequence[float] = CURVATURES,
    lrs=MAP_LRS,
    momenta=MAP_MOMENTA,
    *,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """The heavy-ball map (top) and the Nesterov map (below) of :func:`plot_rate_map`, stacked
    so that each keeps the output's full width and its narrow valley stays visible. ``fig`` (a
    Figure or SubFigure) is drawn into when given.

    >>> fig = plot_rate_maps(lrs=np.linspace(0.1, 3, 20), momenta=np.linspace(0, 0.9, 10))
    >>> [ax.get_title().split(":")[0] for ax in fig.axes[:2]]
    ['Heavy-ball momentum', 'Nesterov']
    """
    fig = new_figure(fig, figsize=(6.4, 7.6))
    for ax, nesterov in zip(fig.subplots(2, 1), (False, True), strict=True):
        plot_rate_map(curvatures, lrs, momenta, nesterov=nesterov, ax=ax)
    return fig


def plot_step_lengths(
    paths: dict[str, np.ndarray], *, change_at: int | None = None, ax: Axes | None = None
) -> Figure:
    """‖x_{k} − x_{k−1}‖ per iteration for each path; a dotted line where the rate changes.

    >>> plot_step_lengths({"a": quadratic_path([1.0], [1.0], [0.1] * 4)}).axes[0].get_yscale()
    'log'
    """
    check_mapping("paths", paths, what="paths (arrays of points)")
    if len(paths) > 3:
        raise ValueError(f"paths must hold at most 3 paths (one per line style), got {len(paths)}")
    for label, path in paths.items():
        check_numbers(f"paths[{label!r}]", path, ndim=2, min_len=2)
    if change_at is not None:
        check_int("change_at", change_at, low=0)
    fig, ax = new_axes(ax, figsize=(6.4, 3.6))
    for (label, path), style in zip(paths.items(), ("-", "--", ":"), strict=False):
        steps = np.linalg.norm(np.diff(np.asarray(path), axis=0), axis=-1)
        ax.plot(np.arange(1, len(steps) + 1), steps, style, label=label)
    if change_at is not None:
        ax.axvline(change_at + 0.5, color="0.5", ls=":", lw=1, label="rate changes")
    ax.set_yscale("log")
    ax.set(xlabel=X_AXES["iteration"], ylabel="step length ‖Δx‖", title="How far each update moves")
    ax.legend()
    return fig


def momentum_explorer(
    *,
    curvatures: Sequence[float] = CURVATURES,
    start: Sequence[float] = START,
    iterations: int = 80,
) -> Explorer:
    """Sliders η and μ and a Nesterov switch: the path on the contours (across the top), its
    loss per iteration and where the setting sits on the exact (η, μ) convergence map (below;
    both maps computed up front).

    One figure is kept: a slider move redraws only the path, its title, the loss line and the ×
    (animated artists, see :mod:`gdlessons.display.redraw`); the rest, which depends only on the
    Nesterov switch, is drawn once per setting. Each frame depends only on the state passed in.

    The maps hold one pixel centred on every rate and momentum a slider can reach (η in steps of
    0.01, μ in steps of 0.01), so the colour under the × is the factor the readout prints. A path
    cut where it passes |x| = 10·max(extent) says so in its title, and a setting exactly on the
    stability bound (factor 1) is named as such, neither "diverges" nor "error × 1.000".

    >>> ex = momentum_explorer(iterations=10); ex.png(lr=0.5) == ex.png(lr=0.5)
    True
    """
    iterations = check_int("iterations", iterations, low=1)
    import ipywidgets as w

    step = 0.01  # divides the sliders' steps: every slider value is a pixel's centre
    map_lrs = np.round(np.arange(1, 401) * step, 2)  # 0.01 … 4.00
    map_momenta = np.round(np.arange(100) * step, 2)  # 0 … 0.99
    maps = {
        nest: rate_map(curvatures, map_lrs, map_momenta, nesterov=nest) for nest in (False, True)
    }
    limit = 10 * max(EXTENT)  # a path is cut where it passes this size, far outside the view
    best = {nest: np.unravel_index(np.argmin(m), m.shape) for nest, m in maps.items()}
    fig = Figure(figsize=(7.4, 6.4), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.15], width_ratios=[1, 1.2])
    ax_path = fig.add_subplot(grid[0, :])
    ax_loss = fig.add_subplot(grid[1, 0])
    ax_map = fig.add_subplot(grid[1, 1])
    plot_contours_2d(list(curvatures), ax=ax_path, extent=EXTENT, levels=8, resolution=41)
    ax_path.set_aspect("auto")
    (path_line,) = ax_path.plot([], [], "o-", ms=2, lw=1.0, color="C1", animated=True)
    ax_path.title.set_animated(True)  # it names where a diverging path is cut
    (loss_line,) = ax_loss.plot([], [], color="C1", animated=True)
    # Two-line titles on both lower panels keep them level, and each line fits over its panel:
    # a title wider than its axes would make the layouts of the two Nesterov settings differ,
    # and the moving artists drawn over a kept background would no longer line up with it.
    ax_loss.set(
        xlabel=X_AXES["iteration"],
        ylabel="loss f(x)",
        yscale="log",
        title="Loss f(x)\nper iteration",
    )
    ax_loss.set(xlim=(0, iterations), ylim=(1e-12, 1e3))
    cmap = mpl.colormaps["viridis"].with_extremes(over="0.85")
    image = ax_map.imshow(
        maps[False], origin="lower", aspect="auto", cmap=cmap, vmin=0.7, vmax=1.0, interpolation="nearest",
        extent=(map_lrs[0] - step / 2, map_lrs[-1] + step / 2,
                map_momenta[0] - step / 2, map_momenta[-1] + step / 2),
    )  # fmt: skip
    fig.colorbar(image, ax=ax_map, label="error kept per iteration", extend="max")
    (star,) = ax_map.plot([], [], "*", color="r", ms=12)
    (cross,) = ax_map.plot([], [], "x", color="w", ms=10, mew=2.5, animated=True)
    ax_map.set(xlabel="learning rate η", ylabel="momentum μ")

    def draw(lr: float, momentum: float, nesterov: bool) -> Figure:
        nesterov = bool(nesterov)
        # The still part (map, star, titles) follows the switch; it is drawn once per setting.
        i, j = best[nesterov]
        image.set_data(maps[nesterov])
        star.set_data([map_lrs[j]], [map_momenta[i]])
        kind = "Nesterov" if nesterov else "Heavy ball"
        ax_map.set_title(f"{kind}: ★ best η={map_lrs[j]:.2f},\nμ={map_momenta[i]:.2f}; × now")
        # The moving part.
        path = iterates(curvatures, start, lr, iterations, momentum=momentum, nesterov=nesterov)
        cut = first_divergent(path, limit=limit)
        shown = path if cut is None else path[: cut + 1]
        drawn = "" if cut is None else f": |x| > {limit:g} at iteration {cut}, not drawn further"
        ax_path.set_title(f"Path of {iterations} iterations ({kind.lower()}){drawn}")
        path_line.set_data(shown[:, 0], shown[:, 1])
        loss = path_loss(shown, curvatures)
        loss_line.set_data(np.arange(len(loss)), np.clip(loss, 1e-16, 1e6))
        cross.set_data([lr], [momentum])
        return fig

    def readout(lr: float, momentum: float, nesterov: bool) -> str:
        factor = float(rate_map(curvatures, [lr], [momentum], nesterov=nesterov)[0, 0])
        verdict = {
            # exactly on the stability bound (up to rounding): the error neither dies out nor
            # blows up, as landscapes.regime names it
            "bouncing": "on the stability bound (error × 1 per iteration): it never converges",
            "divergent": f"diverges (error × {factor:.3f} per iteration)",
        }.get(
            regime(lr, list(curvatures), momentum, bool(nesterov)),
            f"converges: error × {factor:.3f} per iteration in the long run",
        )
        return f"η = {lr:.2f}, μ = {momentum:.2f}{', Nesterov' if nesterov else ''}: {verdict}"

    controls = {
        "lr": w.FloatSlider(value=1.0, min=0.05, max=4.0, step=0.05, description="η"),
        "momentum": w.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="μ"),
        "nesterov": w.Checkbox(value=False, description="Nesterov"),
    }
    explorer = Explorer(
        draw,
        controls,
        title="Momentum explorer",
        readout=readout,
        background=lambda nesterov, **_: bool(nesterov),
    )
    return explorer


TITLES = {
    "constant": "constant rate",
    "step": "step decay (StepLR)",
    "exponential": "exponential (ExponentialLR)",
    "cosine": "cosine (CosineAnnealingLR)",
    "warmup_cosine": "warm-up + cosine (LinearLR → CosineAnnealingLR)",
    "cyclic": "cyclical triangular (CyclicLR)",
    "one_cycle": "one-cycle (OneCycleLR)",
}


# Three values of each schedule's ``shape`` knob (see make_schedule), for the explorer.
SHAPES = {
    "constant": (None, None, None),
    "step": (0.1, 0.3, 0.5),
    "exponential": (0.001, 0.01, 0.1),
    "cosine": (0.0, 0.1, 0.3),
    "warmup_cosine": (0.05, 0.1, 0.3),
    "cyclic": (1, 2, 4),
    "one_cycle": (0.1, 0.3, 0.5),
}


SHAPE_NAMES = {
    "constant": "no knob",
    "step": "γ per drop",
    "exponential": "final rate / peak",
    "cosine": "η_min / peak",
    "warmup_cosine": "warm-up fraction of the run",
    "cyclic": "cycles",
    "one_cycle": "pct_start",
}


@dataclass
class ScheduleRun:
    """One training run under a schedule: its History and the full-data loss at the end."""

    name: str
    history: History
    final_loss: float


def compare_schedules(
    data,
    names: Sequence[str] = SCHEDULES,
    *,
    lr: float = 0.03,
    batch_size: int = 50,
    epochs: int = 20,
    shape: dict[str, float] | None = None,
    seed: int = 0,
    model_seed: int = 0,
) -> dict[str, ScheduleRun]:
    """Train the tutorial MLP once per schedule (same initial weights, same batches) with
    :func:`make_schedule` peaking at ``lr``; ``shape`` overrides a schedule's knob by name.

    >>> from gdlessons.data import quadratic_data
    >>> runs = compare_schedules(quadratic_data(100), ["constant", "cosine"], batch_size=50, epochs=2)
    >>> [round(r, 4) for r in runs["cosine"].history.iterations.lr]
    [0.03, 0.0256, 0.015, 0.0044]
    """
    names = check_sequence("names", names, item=lambda n, v: check_choice(n, v, SCHEDULES))
    for name in names:
        check_choice("names", name, SCHEDULES)
    X, y = as_tensors(data)
    total = iterations_per_epoch(len(X), resolve_batch_size(batch_size, len(X))) * check_int(
        "epochs", epochs, low=1
    )
    runs = {}
    for name in names:
        model = tutorial_mlp(seed=model_seed)
        factory = make_schedule(name, lr, total, (shape or {}).get(name))
        history = train(
            model,
            (X, y),
            batch_size=batch_size,
            epochs=epochs,
            lr=lr,
            scheduler=factory,
            seed=seed,
        )
        runs[name] = ScheduleRun(
            name, history, float("nan") if history.diverged else evaluate(model, (X, y))
        )
    return runs


def schedule_table(runs: dict[str, ScheduleRun]) -> Table:
    """Final full-data loss per schedule, with its ratio to the constant rate's (if present).

    >>> from gdlessons.data import quadratic_data
    >>> schedule_table(compare_schedules(quadratic_data(100), ["constant"], epochs=2)).columns
    ['schedule', 'final loss', 'vs constant']
    """
    check_mapping_of("runs", runs, ScheduleRun, "a ScheduleRun, as compare_schedules returns")
    base = runs["constant"].final_loss if "constant" in runs else None
    rows = []
    for name, run in runs.items():
        ratio = run.final_loss / base if base else None
        rows.append({"schedule": name, "final loss": run.final_loss, "vs constant": ratio})
    return Table(rows, digits=3)


MAX_SCHEDULE_COLUMNS = (
    2  # two 3.6-inch panels fill the 7.5-inch output; a third would be too narrow
)


def plot_rate_curves(
    curves: dict[str, np.ndarray],
    *,
    ncols: int = 2,
    title: str | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """One small panel per schedule: the rate at each iteration. Panels wrap into rows of at most
    ``ncols`` (at most :data:`MAX_SCHEDULE_COLUMNS`), so any number of schedules fits the
    output; ``fig`` (a Figure or SubFigure) is drawn into when given.

    >>> from gdlessons.schedules import cosine, rate_curve
    >>> fig = plot_rate_curves({"cosine": rate_curve(cosine(10), 10)}); fig.axes[0].get_xlabel()
    'iteration'
    """
    ncols = min(check_int("ncols", ncols, low=1), MAX_SCHEDULE_COLUMNS, max(len(curves), 1))
    rows = math.ceil(len(curves) / ncols)
    fig = new_figure(fig, figsize=(3.6 * ncols, 2.6 * rows + 0.4))
    axes = np.atleast_1d(fig.subplots(rows, ncols, sharex=True, squeeze=False)).ravel()
    for ax, (name, rates) in zip(axes, curves.items(), strict=False):
        ax.plot(np.arange(1, len(rates) + 1), rates, lw=1.5)
        # The torch class on a line of its own: one line would not fit over a half-width panel.
        ax.set_title(TITLES.get(name, name).replace(" (", "\n("), fontsize=10)
        ax.set_xlabel("iteration")
        ax.set_ylabel("learning rate")
        ax.set_ylim(bottom=0)
        ax.tick_params(labelbottom=True)  # every panel keeps its iteration numbers
    for ax in axes[len(curves) :]:
        ax.set_visible(False)
    fig.suptitle(title or "Learning rate per iteration (read from fresh schedulers)")
    return fig


def plot_schedule_runs(runs: dict[str, ScheduleRun], *, ax: Axes | None = None) -> Figure:
    """Training loss per epoch of each run, the constant rate dashed black; the y axis stops at 2.5
    so the end of training, where the schedules differ, fills the plot.

    >>> from gdlessons.data import quadratic_data
    >>> plot_schedule_runs(compare_schedules(quadratic_data(100), ["constant"], epochs=2)).axes[0].get_xlabel()
    'epoch'
    """
    check_mapping("runs", runs, what="ScheduleRun (compare_schedules returns one)")
    for name, run in runs.items():
        check_instance(
            f"runs[{name!r}]", run, ScheduleRun, "a ScheduleRun, as compare_schedules returns"
        )
    fig, ax = new_axes(ax, figsize=(7.0, 4.0))
    others = (name for name in runs if name != "constant")
    styles = {name: line_style(i) for i, name in enumerate(others)}  # markers: unlike "constant"
    for name, run in runs.items():
        style = {"color": "k", "ls": "--"} if name == "constant" else {**styles[name], "ms": 4}
        epochs = run.history.epochs
        label = name
        if run.history.diverged:
            # Named in the legend; a run that diverged in its first epoch has no point to draw.
            label = f"{name} (diverged in epoch {len(epochs.epoch) + 1})"
        ax.plot(epochs.epoch, epochs.train_loss, label=label, **style)
    finite = [v for r in runs.values() for v in r.history.epochs.train_loss if math.isfinite(v)]
    if finite:
        ax.set_ylim(0.9 * min(finite), 2.5)
    else:  # every run diverged in its first epoch: no loss to scale the axis by
        ax.set_ylim(0.0, 2.5)
    ax.set_xlabel(X_AXES["epoch"])
    ax.set_ylabel("training loss (mean over the epoch's batches)")
    ax.set_title("The tutorial MLP under each schedule")
    ax.legend(ncol=2)
    return fig


def schedule_explorer(
    *,
    lrs: Sequence[float] = (0.01, 0.03, 0.1),
    epochs: int = 10,
    batch_size: int = 100,
    n: int = 1000,
    seed: int = 0,
) -> Explorer:
    """Pick a schedule, its peak rate and its one knob; see its rate curve and the tutorial MLP's
    training curve (against the constant rate). Every run is trained once, up front."""
    lrs = check_sequence("lrs", lrs, item=lambda n, v: check_float(n, v, low=0.0, low_open=True))
    epochs = check_int("epochs", epochs, low=1)
    import ipywidgets as w

    data = quadratic_data(n, seed=seed)
    cache: dict[tuple, tuple[np.ndarray, list[float], float]] = {}
    for name in SCHEDULES:
        for lr in lrs:
            for k, shape in enumerate(SHAPES[name]):
                if name == "constant" and k > 0:
                    cache[(name, lr, k)] = cache[(name, lr, 0)]
                    continue
                run = compare_schedules(
                    data,
                    [name],
                    lr=lr,
                    batch_size=batch_size,
                    epochs=epochs,
                    shape={name: shape},
                    seed=seed,
                )[name]
                cache[(name, lr, k)] = (
                    np.array(run.history.iterations.lr),
                    run.history.epochs.train_loss,
                    run.final_loss,
                )

    # One figure is kept: a move redraws only the four lines and the left title (animated
    # artists, see gdlessons.display.redraw); the rest is drawn once. Every title has two lines,
    # so the layout made for the first fits them all.
    every_loss = [v for _, losses, _ in cache.values() for v in losses if math.isfinite(v)]
    every_loss = every_loss or [1.0]  # every run diverged in its first epoch: any scale will do
    fig = Figure(figsize=(7.4, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    (rate_line,) = left.plot([], [], color="C0", label="schedule", animated=True)
    (rate_base,) = left.plot([], [], "k--", lw=0.8, label="constant", animated=True)
    left.set(xlabel=X_AXES["iteration"], ylabel="learning rate")
    left.title.set_animated(True)
    left.set(xlim=(0, len(cache[("constant", lrs[0], 0)][0])), ylim=(0, 1.25 * max(lrs)))
    left.legend(loc="upper right", ncols=2)
    (loss_line,) = right.plot([], [], "o-", ms=3, color="C0", label="schedule", animated=True)
    (loss_base,) = right.plot([], [], "k--", label="constant", animated=True)
    right.set(
        xlabel=X_AXES["epoch"],
        ylabel="training loss",
        yscale="log",
        title="Tutorial MLP,\nloss per epoch",
    )
    right.set(xlim=(0.5, epochs + 0.5), ylim=(0.9 * min(every_loss), 1.1 * max(every_loss)))
    right.legend(loc="upper right")

    def draw(schedule: str, lr: float, knob: int) -> Figure:
        rates, losses, _ = cache[(schedule, lr, knob)]
        _, base, _ = cache[("constant", lr, 0)]
        title = TITLES[schedule].replace(" (", "\n(")
        left.set_title(title if "\n" in title else f"{title}\n(no scheduler)")
        rate_line.set_data(np.arange(1, len(rates) + 1), rates)
        rate_base.set_data([1, len(rates)], [lr, lr])
        loss_line.set_data(np.arange(1, len(losses) + 1), losses)
        loss_base.set_data(np.arange(1, len(base) + 1), base)
        return fig

    def ending(losses: list[float], final: float) -> tuple[str, str]:
        """(the last drawn epoch's loss, the loss on all data after training) as the readout
        says them; a run that diverged has no final loss, and no point for its last epoch."""
        if math.isfinite(final):
            return f"{losses[-1]:.3f}", f"{final:.3f}"
        return f"diverged in epoch {len(losses) + 1}", "none (diverged)"

    def readout(schedule: str, lr: float, knob: int) -> str:
        # The curves plot each epoch's mean training loss while the weights still move; the
        # final loss is measured on all data after the last update. Both are named, as they differ.
        (last, final), (base_last, base) = (
            ending(*cache[key][1:]) for key in ((schedule, lr, knob), ("constant", lr, 0))
        )
        shape = SHAPES[schedule][knob]
        knob_text = SHAPE_NAMES[schedule] + ("" if shape is None else f" = {shape:g}")
        return (
            f"{schedule}, peak rate {lr:g}, {knob_text}\n"
            f"last epoch's mean training loss (the curves' last points): {last} (constant: {base_last})\n"
            f"loss on all data after training: {final} (constant: {base})"
        )

    controls = {
        "schedule": w.Dropdown(options=list(SCHEDULES), value="cosine", description="schedule"),
        "lr": w.SelectionSlider(
            options=list(lrs), value=lrs[len(lrs) // 2], description="peak rate"
        ),
        "knob": w.IntSlider(value=1, min=0, max=2, description="shape knob"),
    }
    explorer = Explorer(
        draw,
        controls,
        title="Schedule explorer",
        readout=readout,
        background=lambda **_: None,  # one still part for every schedule
    )
    #: (schedule, peak rate, knob) -> final loss of that run, for comparisons in the text
    explorer.final_losses = {key: final for key, (_, _, final) in cache.items()}
    #: updates in each run (unless it diverged): epochs × ceil(n / batch_size)
    explorer.updates = epochs * iterations_per_epoch(n, resolve_batch_size(batch_size, n))
    return explorer


EXPLORERS = {
    "ch06-momentum-explorer": momentum_explorer,
    "ch06-schedule-explorer": schedule_explorer,
}
