"""Chapter 05 (the learning rate): the quadratic explorer (one rate, one curvature, one condition
number); the regimes, the 2-D run, the MLP runs and the range test put into words chosen from
their numbers; and the comparison of the range test's three rules behind the course's one rule.

The landscapes themselves (regimes, the stability bound, iterates) are shared in :mod:`gdlessons.landscapes`."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure, SubFigure
from torch import nn

from gdlessons._validate import (
    check_float,
    check_instance,
    check_int,
    check_mapping,
    check_mapping_of,
    check_numbers,
    check_sequence,
)
from gdlessons.display.plots import X_AXES, loss_curve, new_figure
from gdlessons.history import History
from gdlessons.hooks import FullTrainLoss
from gdlessons.landscapes import (
    SLOW_ABOVE,
    eigenvalues_from_condition,
    first_divergent,
    iterates,
    regime,
)
from gdlessons.lr_finder import RULE, RULES, RangeTest, lr_range_test
from gdlessons.training import train

X0_1D, START_2D, VIEW = 1.0, (1.2, 1.0), 1.5  # where the runs start; the panels show ±VIEW
SHOWN_DIGITS = 6  # at most this many more digits, to keep a number on its side of an edge


def _told(value: float, edges=(), *, digits: int = 2, signed: bool = False) -> str:
    """``value`` to ``digits`` decimals (with its sign if ``signed``), more where fewer would put
    it on the other side of one of ``edges``, or on it: "η is 1.00× the bound" of a divergent
    rate, or "error × +1.00" of one that converges, would contradict the regime named beside it.

    >>> _told(1.0024, [1.0]), _told(0.9995, [1.0, 0.8], signed=True), _told(-1.0, [-1.0], signed=True)
    ('1.002', '+0.9995', '-1.00')
    """
    sign = "+" if signed else ""
    for more in range(SHOWN_DIGITS + 1):
        shown = f"{value:{sign}.{digits + more}f}"
        if all(_side(float(shown), e) == _side(value, e) for e in edges):
            break
    return shown


def _side(value: float, edge: float) -> int:
    """−1, 0 or +1: below, on (up to the rounding of η·a, as :func:`regime` allows) or above."""
    return 0 if abs(value - edge) <= 1e-9 * max(1.0, abs(edge)) else (1 if value > edge else -1)


def _numbers(lr: float, a: float) -> dict[str, str]:
    """The 1-D numbers the titles and the readout state, each shown as it compares: η beside
    the bound 2/a (same digits, so that "η = 0.2" never sits beside "bound 0.2" unless η is on
    it), the ratio η/(2/a) against 1, 1/2 and the slow edge, the factor 1 − η·a against the
    regimes' edges (1, SLOW_ABOVE, 0, −1)."""
    bound = 2 / a
    for more in range(SHOWN_DIGITS + 1):
        eta, shown_bound = f"{lr:.{3 + more}g}", f"{bound:.{3 + more}g}"
        if _side(float(eta), float(shown_bound)) == _side(lr, bound):
            break
    factor = 1 - lr * a
    ratio = _told(lr * a / 2, [0.0, (1 - SLOW_ABOVE) / 2, 0.5, 1.0])
    return {"η": eta, "bound": shown_bound, "ratio": ratio,
            "factor": _told(factor, [1.0, SLOW_ABOVE, 0.0, -1.0], signed=True)}  # fmt: skip


def _describe(lr: float, a: float, kappa: float) -> str:
    lam = eigenvalues_from_condition(kappa, lambda_max=a)
    n = _numbers(lr, a)
    return (
        f"η = {n['η']}, a = {a:g}: bound 2/a = {n['bound']} (η is {n['ratio']}× the bound)\n"
        f"1-D regime: {regime(lr, a)} (error × {n['factor']} per iteration)\n"
        f"2-D, κ = {kappa:.3g} (λ = {lam[0]:.3g}, {lam[1]:.3g}): {regime(lr, lam)}"
    )


class _QuadraticPanels:
    """The explorer's picture, built once: gradient descent with rate η on a·x²/2 (left) and on
    the 2-D quadratic with λ_max = a and condition number κ (right), regimes in the titles.
    :meth:`show` moves what a state changes: the curve and the contours, both runs, the titles,
    the left panel's y tick labels.

    What a state changes is drawn in its own units: the left panel's frame stays put (its y axis
    spans the same multiple of a at every a, the curve and run drawn at a scale of 1/a, their
    data the true losses), its tick labels are text, and the right panel's contours depend on κ
    alone. With ``kept`` the changing artists are animated, so nothing still follows a slider (one
    background for the explorer, see :mod:`gdlessons.display.redraw`), and the layout is fixed
    after the first state: the right panel's square box is the one its equal aspect asks for.
    """

    def __init__(self, fig: Figure | SubFigure, iterations: int, *, kept: bool = False):
        import matplotlib.transforms as mtransforms
        from matplotlib.ticker import FixedFormatter

        self.fig, self.iterations = fig, iterations
        self.left, self.right = left, right = fig.subplots(1, 2)
        self.scale = mtransforms.Affine2D()  # y ↦ y / a on the left panel
        scaled = self.scale + left.transData
        moving = {"animated": kept}
        (self.curve,) = left.plot([], [], color="0.6", lw=1.5, transform=scaled, **moving)
        (self.path_1d,) = left.plot([], [], "o-", color="C0", ms=4, lw=0.8, alpha=0.85,
                                    transform=scaled, **moving)  # fmt: skip
        left.set(xlim=(-VIEW, VIEW), ylim=(-0.05 * VIEW**2, 0.55 * VIEW**2),
                 xlabel="x (the parameter)", ylabel="loss f(x)")  # fmt: skip
        left.set_xticks([-VIEW, 0.0, VIEW])
        # y ticks at 0 and at f(x0) = a/2, where the run starts. The axis holds room for the
        # widest label (digits are equally wide), drawn clear; the labels are texts on top.
        left.set_yticks([0.0, 0.5 * X0_1D**2])
        tick = left.yaxis.get_major_ticks()[0]
        color, font = tick.label1.get_color(), tick.label1.get_fontproperties()
        left.yaxis.set_major_formatter(FixedFormatter(["0.00", "0.00"]))
        left.tick_params(axis="y", labelcolor="none")
        place, va, ha = left.get_yaxis_text1_transform(tick.get_pad() + tick.get_tick_padding())
        self.ylabels = [
            left.text(0.0, y, "", transform=place, va=va, ha=ha, color=color,
                      fontproperties=font, **moving)
            for y in left.get_yticks()
        ]  # fmt: skip
        (self.contours,) = right.plot([], [], color="0.7", lw=0.7, **moving)
        right.plot([0], [0], "k+", ms=8)
        (self.path_2d,) = right.plot([], [], "o-", color="C0", ms=3, lw=1.0, **moving)
        right.set(xlim=(-VIEW, VIEW), ylim=(-VIEW, VIEW), xlabel="x₁", ylabel="x₂", aspect="equal")
        right.set_xticks([-VIEW, 0.0, VIEW])
        right.set_yticks([-VIEW, 0.0, VIEW])
        for ax in (left, right):
            ax.title.set_animated(kept)
        self._laid_out = not kept

    def show(self, lr: float, a: float, kappa: float) -> Figure | SubFigure:
        """The picture for this state (the same figure, its changing artists moved)."""
        from matplotlib.ticker import ScalarFormatter

        lam = eigenvalues_from_condition(kappa, lambda_max=a)  # checks κ ≥ 1 and a > 0
        xs = iterates(a, [X0_1D], lr, self.iterations)[:, 0]  # checks lr > 0
        a = float(a)
        shown = _numbers(lr, a)
        self.scale.clear().scale(1.0, 1.0 / a)
        grid = np.linspace(-VIEW, VIEW, 201)
        self.curve.set_data(grid, 0.5 * a * grid**2)
        cut = first_divergent(xs[:, None], limit=VIEW)
        if cut is not None:  # the first point out of view is drawn, on its way out
            xs = np.clip(xs[: cut + 1], -10 * VIEW, 10 * VIEW)
        self.path_1d.set_data(xs, 0.5 * a * xs**2)
        ticks = ScalarFormatter()
        ticks.create_dummy_axis()
        ticks.axis.set_view_interval(*(a * v for v in self.left.get_ylim()))
        for text, label in zip(self.ylabels, ticks.format_ticks([0.0, 0.5 * a * X0_1D**2])):
            text.set_text(label)
        # two lines each, so that they fit over a panel half the output wide
        self.left.set_title(
            f"1-D, a = {a:g}: {regime(lr, a)}\n(bound 2/a = {shown['bound']})", fontsize=10
        )
        self.contours.set_data(*_ellipses(lam))
        path = iterates(lam, list(START_2D), lr, self.iterations)
        cut = first_divergent(path, limit=10 * VIEW)
        shown_path = path if cut is None else path[: cut + 1]
        self.path_2d.set_data(shown_path[:, 0], shown_path[:, 1])
        self.right.set_title(
            f"2-D, κ = {kappa:.3g}: {regime(lr, lam)}\n(bound 2/λ_max = {shown['bound']})",
            fontsize=10,
        )
        if not self._laid_out:
            self._fix_layout()
        return self.fig

    def _fix_layout(self) -> None:
        """Lay the figure out once (constrained layout, this state's texts) and keep it: each
        panel's box becomes the one it is drawn in, the right one squared by its equal aspect.
        (A kept figure's moving artists are drawn in the boxes the layout gave, before any
        aspect shrinks them.)"""
        from matplotlib import rc_context

        self.fig.draw_without_rendering()
        for ax in self.fig.axes:
            ax.set_position(ax.get_position(original=False))
        with rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
            self.fig.set_layout_engine(None)
        self._laid_out = True


def _ellipses(curvatures, levels: int = 8, resolution: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """The contours :func:`~gdlessons.display.landscapes.plot_contours_2d` draws, as one
    NaN-separated line: ``levels`` ellipses ½(λ₁x₁² + λ₂x₂²) = c up to the corner of the view."""
    lam = np.asarray(curvatures, dtype=float)
    top = 0.5 * (lam[0] + lam[1]) * VIEW**2
    c = np.geomspace(top * 1e-3, top, levels)[:, None]
    t = np.append(np.linspace(0, 2 * np.pi, resolution), np.nan)
    return (np.sqrt(2 * c / lam[0]) * np.cos(t)).ravel(), (
        np.sqrt(2 * c / lam[1]) * np.sin(t)
    ).ravel()


def quadratic_figure(
    lr: float,
    a: float,
    kappa: float,
    *,
    iterations: int = 20,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """The explorer's picture for one state (:class:`_QuadraticPanels`) as a fresh figure,
    laid out by constrained layout; ``fig`` (a Figure or SubFigure) is drawn into when given.

    >>> fig = quadratic_figure(0.45, 4.0, 10.0); [ax.get_title().split(":")[0] for ax in fig.axes]
    ['1-D, a = 4', '2-D, κ = 10']
    """
    iterations = check_int("iterations", iterations, low=1)
    panels = _QuadraticPanels(new_figure(fig, figsize=(7.4, 3.7)), iterations)
    return panels.show(lr, a, kappa)


def quadratic_explorer():
    """Sliders for the rate η (log scale), the curvature a and the 2-D condition number κ.

    One figure is kept (:class:`_QuadraticPanels` with ``kept``): a move redraws the curves,
    runs, titles and tick labels over one background, the frames and axis labels drawn once.
    """
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer

    style = {"description_width": "150px"}
    layout = w.Layout(width="480px")
    controls = {
        "lr": w.FloatLogSlider(value=0.45, base=10, min=-3, max=0.5, step=0.01, description="learning rate η", style=style, layout=layout),
        "a": w.FloatSlider(value=4.0, min=0.5, max=10.0, step=0.5, description="curvature a (= λ_max)", style=style, layout=layout),
        "kappa": w.FloatLogSlider(value=25.0, base=10, min=0, max=2, step=0.05, description="condition number κ", style=style, layout=layout),
    }  # fmt: skip
    panels = _QuadraticPanels(Figure(figsize=(7.4, 3.7), layout="constrained"), 20, kept=True)
    panels.show(**{name: control.value for name, control in controls.items()})  # the layout
    return Explorer(
        panels.show,
        controls,
        title="Gradient descent on quadratics: 20 iterations",
        readout=_describe,
        # no still artist follows a slider: one background
        background=lambda **state: "frames, ticks and axis labels",
    )


EXPLORERS = {"ch05-quadratic-explorer": quadratic_explorer}


# --- the four regimes, in numbers -----------------------------------------------------------------


def tenfold_iterations(factor: float) -> float:
    """Iterations needed to shrink the error tenfold when each one multiplies it by ``factor``:
    ln 0.1 / ln |factor| (0 < |factor| < 1); 1 for factor 0 (one step lands on the minimum);
    infinity when |factor| ≥ 1 (it never shrinks).

    >>> tenfold_iterations(0.6) == tenfold_iterations(-0.6), tenfold_iterations(0.0), tenfold_iterations(-1.2)
    (True, 1.0, inf)
    """
    size = abs(check_float("factor", factor))
    if size >= 1:
        return math.inf
    if size == 0:
        return 1.0
    return math.log(0.1) / math.log(size)


def regime_rows(a: float, rates) -> list[dict]:
    """One row per rate on f(x) = a·x²/2: the factor r = 1 − η·a, its size |r| (what sets the
    speed), iterations per tenfold shrink and the regime.

    >>> [(r["η"], r["|r|"], r["regime"]) for r in regime_rows(4.0, [0.1, 0.4])]
    [(0.1, 0.6, 'fast monotone'), (0.4, 0.6, 'oscillating')]
    """
    check_sequence("rates", rates, item=lambda n, v: check_float(n, v, low=0.0, low_open=True))
    a = check_float("a", a, low=0.0, low_open=True)
    rows = []
    for rate in rates:
        factor = 1 - float(rate) * a
        rows.append(
            {
                "η": float(rate),
                "factor r": round(factor, 4),
                "|r|": round(abs(factor), 4),
                "iterations per tenfold": round(tenfold_iterations(factor), 1),
                "regime": str(regime(rate, a)),
            }
        )
    return rows


def regime_sentences(a: float, rates) -> str:
    """What :func:`regime_rows` says about speed, in words that follow the numbers: converging
    rates from fastest to slowest (ties named), and each oscillating rate beside its mirror
    2/a − η, the monotone rate with the same |r|, which converges exactly as fast.

    >>> print(regime_sentences(4.0, [0.02, 0.1, 0.4, 0.55]))
    fastest to slowest: η = 0.1 and 0.4 (|r| = 0.6, tied), η = 0.02 (|r| = 0.92); η = 0.55 diverges (|r| = 1.2)
    η = 0.4 oscillates, yet converges exactly as fast as its mirror 2/a − η = 0.1 on the monotone side (η = 0.1 above): overshooting costs nothing here, only |r| counts
    """
    check_sequence("rates", rates, item=lambda n, v: check_float(n, v, low=0.0, low_open=True))
    rows = regime_rows(a, rates)
    converging = sorted((r for r in rows if r["|r|"] < 1), key=lambda r: r["|r|"])
    groups: list[list[dict]] = []
    for r in converging:
        if groups and math.isclose(groups[-1][0]["|r|"], r["|r|"], abs_tol=1e-9):
            groups[-1].append(r)
        else:
            groups.append([r])
    parts = []
    for g in groups:
        names = " and ".join(f"{r['η']:g}" for r in g)
        tie = ", tied" if len(g) > 1 else ""
        parts.append(f"η = {names} (|r| = {g[0]['|r|']:g}{tie})")
    line = "fastest to slowest: " + (", ".join(parts) if parts else "none of these rates converges")
    growing = [r for r in rows if r["|r|"] >= 1]
    if growing:
        line += "; " + ", ".join(f"η = {r['η']:g} diverges (|r| = {r['|r|']:g})" for r in growing)
    lines = [line]
    for r in rows:
        if r["regime"] != "oscillating":
            continue
        mirror = 2 / a - r["η"]
        twin = next((o for o in rows if o["regime"] != "oscillating" and math.isclose(o["η"], mirror, rel_tol=1e-9)), None)  # fmt: skip
        where = f" (η = {twin['η']:g} above)" if twin else ""
        lines.append(
            f"η = {r['η']:g} oscillates, yet converges exactly as fast as its mirror 2/a − η = "
            f"{mirror:.3g} on the monotone side{where}: overshooting costs nothing here, only |r| counts"
        )
    return "\n".join(lines)


def describe_2d(curvatures, lr: float, path: np.ndarray) -> str:
    """What a 2-D run did along each axis, from its factors and its last point: which axis
    zig-zags (negative factor) or crawls (keeps more than 0.8 per iteration), how far each got,
    which sets the regime, and what making the flat axis fast would do to the steep one.

    >>> lam = eigenvalues_from_condition(25.0, lambda_max=4.0)
    >>> print(describe_2d(lam, 0.45, iterates(lam, [1.2, 1.0], 0.45, 30)))
    steep axis x₂ (λ = 4): factor -0.80 per iteration (it zig-zags), η is 0.9× its bound 2/λ; after 30 iterations x₂ = 0.0012 (from 1)
    flat axis x₁ (λ = 0.16): factor +0.93 per iteration (it crawls), η is 0.036× its bound 2/λ; after 30 iterations x₁ = 0.13 (from 1.2)
    the run is named by its slowest axis, the flat one (|factor| 0.93): slow
    making the flat axis converge in one step (η = 1/λ_min = 6.2) would put η at 12× the steep axis's bound: it would diverge
    """
    check_sequence(
        "curvatures", curvatures, min_len=2,
        item=lambda n, v: check_float(n, v, low=0.0, low_open=True),
    )  # fmt: skip
    if len(curvatures) != 2:
        raise ValueError(f"curvatures must hold 2 values (one per axis), got {len(curvatures)}")
    lr = check_float("lr", lr, low=0.0, low_open=True)
    if check_numbers("path", path, ndim=2).shape[1] != 2:
        raise ValueError(
            f"path must hold 2-D points, shape (iterations + 1, 2), got shape {np.shape(path)}"
        )
    lam = np.sort(np.asarray(curvatures, dtype=float))
    path = np.asarray(path, dtype=float)
    names = ("flat axis x₁", "steep axis x₂")
    lines = []
    for k in (1, 0):
        factor = 1 - lr * lam[k]
        how = ("it zig-zags" if factor < 0 else "it crawls" if factor > SLOW_ABOVE
               else "it shrinks steadily") if abs(factor) < 1 else "it grows"  # fmt: skip
        lines.append(
            f"{names[k]} (λ = {lam[k]:.3g}): factor {factor:+.2f} per iteration ({how}), η is "
            f"{lr * lam[k] / 2:.2g}× its bound 2/λ; after {len(path) - 1} iterations "
            f"x{'₁₂'[k]} = {path[-1, k]:.2g} (from {path[0, k]:.2g})"
        )
    sizes = np.abs(1 - lr * lam)
    slowest = int(np.argmax(sizes))
    lines.append(
        f"the run is named by its slowest axis, the {('flat', 'steep')[slowest]} one "
        f"(|factor| {sizes[slowest]:.2f}): {regime(lr, lam)}"
    )
    fast = 1 / lam[0]
    ratio = fast * lam[1] / 2
    verdict = "it would diverge" if ratio >= 1 else "it would still converge"
    lines.append(
        f"making the flat axis converge in one step (η = 1/λ_min = {fast:.2g}) would put η at "
        f"{ratio:.2g}× the steep axis's bound: {verdict}"
    )
    return "\n".join(lines)


# --- the tutorial MLP at several rates ------------------------------------------------------------

STYLES = (("-", "o"), ("--", "s"), ("-.", "^"), (":", "D"), ((0, (5, 1, 1, 1)), "v"), ("-", "P"))


def final_loss(history: History) -> float | None:
    """The full-data training loss after the last epoch (``train(..., hooks=[FullTrainLoss()])``),
    the same measure for every rate; ``None`` for a run that diverged."""
    check_instance("history", history, History, "a History, as train() returns")
    if not history.diverged and None in (history.epochs.full_train_loss or [None]):
        raise ValueError(
            "history recorded no full-data training loss: train it with hooks=[FullTrainLoss()]"
        )
    if history.diverged or not history.epochs.full_train_loss:
        return None
    return history.epochs.full_train_loss[-1]


def _swings(values) -> str:
    """How a loss curve went up between epochs: never, or its largest rise as a factor."""
    v = np.asarray(values, dtype=float)
    rise = float(np.max(v[1:] / v[:-1])) if len(v) > 1 else 0.0
    if rise <= 1:
        return "its loss fell every epoch"
    return f"its loss went up in {int((np.diff(v) > 0).sum())} of {len(v) - 1} epoch-to-epoch steps, by up to ×{rise:.2g}"


def _check_rate_runs(name: str, runs, *, labels: bool = False, min_len: int = 1) -> dict:
    """``runs`` a dict of Histories by rate (or, with ``labels``, by label), each either diverged
    or trained with ``hooks=[FullTrainLoss()]``."""
    check_mapping_of(name, runs, History, "a History, as train() returns", min_len=min_len)
    for key, h in runs.items():
        if not (labels and isinstance(key, str)):
            check_float(f"a key of {name}", key, low=0.0, low_open=True)
        if not h.diverged and None in (h.epochs.full_train_loss or [None]):
            raise ValueError(
                f"{name}[{key!r}] recorded no full-data training loss: train it with hooks=[FullTrainLoss()]"
            )
    return runs


TOO_SMALL, BEST, TOO_LARGE, DIVERGENT = (
    "too small for this budget", "the best of these rates", "too large", "divergent",
)  # fmt: skip


def rate_verdicts(runs: dict[float, History]) -> dict[float, str]:
    """Each rate's verdict, chosen from the runs' own numbers (full-data training loss per epoch):
    the lowest final loss is the best of these rates; a smaller rate is too small for this
    budget, a larger one too large; a run that stopped at a non-finite loss is divergent. The
    verdicts hold on every CPU, where the losses behind them differ in their last digits.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> runs = {lr: train(tutorial_mlp(), quadratic_data(200), epochs=3, lr=lr, hooks=[FullTrainLoss()])
    ...         for lr in (1e-4, 1e-2, 10.0)}
    >>> rate_verdicts(runs)
    {0.0001: 'too small for this budget', 0.01: 'the best of these rates', 10.0: 'divergent'}
    """
    _check_rate_runs("runs", runs)
    done = {lr: h for lr, h in runs.items() if not h.diverged}
    best = min(done, key=lambda lr: final_loss(done[lr])) if done else None
    return {
        lr: DIVERGENT
        if h.diverged
        else BEST
        if lr == best
        else TOO_SMALL
        if lr < best
        else TOO_LARGE
        for lr, h in runs.items()
    }


def rate_sentences(runs: dict[float, History]) -> str:
    """Each rate's verdict (:func:`rate_verdicts`) with the numbers behind it: the losses after
    the first and last epoch, how often the loss went up between epochs, where a divergent run
    stopped.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> runs = {lr: train(tutorial_mlp(), quadratic_data(200), epochs=3, lr=lr, hooks=[FullTrainLoss()])
    ...         for lr in (1e-4, 1e-2, 10.0)}
    >>> [line.split(":")[1].split(",")[0].strip() for line in rate_sentences(runs).splitlines()[:3]]
    ['too small for this budget', 'the best of these rates', 'divergent']
    """
    verdicts = rate_verdicts(runs)
    best = next((lr for lr, v in verdicts.items() if v == BEST), None)
    lines = []
    for lr, h in runs.items():
        verdict = verdicts[lr]
        if verdict == DIVERGENT:
            seen = ", ".join(f"{v:.0e}" for v in h.iterations.loss)
            lines.append(
                f"lr = {lr:g}: {verdict}, batch losses {seen}, then not finite at iteration "
                f"{h.diverged_at}, where train() stopped"
            )
            continue
        full, epochs = h.epochs.full_train_loss, h.epochs.epoch[-1]
        if verdict == TOO_LARGE:
            lines.append(
                f"lr = {lr:g}: {verdict}, it ends at {full[-1]:.3g}, above the best rate's "
                f"{final_loss(runs[best]):.3g}; {_swings(full)}"
            )
            continue
        tail = (
            f"; {_swings(full)}"
            if verdict == BEST
            else (f", above the best rate's {final_loss(runs[best]):.3g}")
        )
        lines.append(
            f"lr = {lr:g}: {verdict}, {full[0]:.3g} after epoch 1 and {full[-1]:.3g} "
            f"after epoch {epochs}{tail}"
        )
    if best is not None:
        lines.append(
            f"the data's noise has variance 1, so on fresh samples no model can do much better than "
            f"an MSE of 1; the best run ends at {final_loss(runs[best]):.3g}"
        )
    return "\n".join(lines)


def plot_rate_runs(
    runs: dict,
    *,
    batch_size: int | None = None,
    title: str | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """Full-data training loss per epoch for the runs that finished (top) and, below it only if
    some run diverged, those runs' batch loss per iteration up to where they stopped. Keys are
    rates (labelled ``lr=…``) or labels. Stacked, so each panel gets the output's full width;
    ``fig`` (a Figure or SubFigure) is drawn into when given.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> runs = {lr: train(tutorial_mlp(), quadratic_data(100), epochs=2, lr=lr, hooks=[FullTrainLoss()])
    ...         for lr in (1e-2, 10.0)}
    >>> [ax.get_xlabel() for ax in plot_rate_runs(runs).axes]
    ['epoch', 'iteration (optimizer updates)']
    """
    _check_rate_runs("runs", runs, labels=True)
    if batch_size is not None:
        check_int("batch_size", batch_size, low=1)
    if title is not None:
        check_instance("title", title, str, "a string")
    diverged = {lr: h for lr, h in runs.items() if h.diverged}
    fig = new_figure(fig, figsize=(6.4, 7.0) if diverged else (6.4, 3.8))
    axes = np.atleast_1d(fig.subplots(2 if diverged else 1, 1))
    top, bottom = (axes[0], axes[1]) if diverged else (axes[0], None)
    for (key, h), (ls, marker) in zip(runs.items(), STYLES * 2):
        label = key if isinstance(key, str) else f"lr={key:g}"
        if h.diverged:
            loss_curve(h, x="iteration", ax=bottom, label=label, ls=ls, marker=marker,
                       title="Divergent rates: batch loss per iteration")  # fmt: skip
        else:
            top.plot(h.epochs.epoch, h.epochs.full_train_loss, ls=ls, marker=marker, ms=4,
                     label=label)  # fmt: skip
    size = f", B = {batch_size}" if batch_size else ""
    top.set(xlabel=X_AXES["epoch"], ylabel="full-data training loss (MSE)", yscale="log",
            title=title or f"Tutorial MLP{size}: loss after each epoch")  # fmt: skip
    if top.lines:
        top.legend()
    if bottom is not None:
        stop = max(h.diverged_at for h in diverged.values())
        bottom.set_xticks(range(1, stop))  # whole iterations only
        bottom.set_xlim(0.5, stop + 1.5)  # room for the "diverged" note
        bottom.set_ylabel("batch loss (MSE)")
    return fig


# --- the range test, read ---------------------------------------------------------------------------


def describe_range_test(result: RangeTest) -> str:
    """The range test's curve in numbers: how far it swept and why it stopped, the smoothed loss
    at each decade of rate, where the smoothed and raw losses were lowest, how far the smoothing
    lags in decades of rate, and every rule's suggestion.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> r = lr_range_test(tutorial_mlp(), quadratic_data(200), iterations=60)
    >>> describe_range_test(r).splitlines()[0].startswith(f"{len(r.lr)} updates")
    True
    """
    check_instance("result", result, RangeTest, "a RangeTest, as lr_range_test returns")
    lrs, smooth, raw = np.array(result.lr), np.array(result.smoothed), np.array(result.loss)
    c = result.config
    lines = [
        f"{len(lrs)} updates of the {c.get('iterations', len(lrs))} planned, at rates {lrs[0]:.2g} … "
        f"{lrs[-1]:.2g}; stopped: {result.stop_reason}"
    ]
    decades = 10.0 ** np.arange(
        np.ceil(np.log10(lrs[0]) - 1e-9), np.floor(np.log10(lrs[-1]) + 1e-9) + 1
    )
    at = np.interp(np.log(decades), np.log(lrs), smooth)
    lines.append("smoothed loss at lr " + ", ".join(f"{d:g}: {v:.3g}" for d, v in zip(decades, at)))
    raw_best = float(lrs[int(np.argmin(raw))])
    if result.min_loss_lr is not None:
        lines.append(
            f"lowest smoothed loss {smooth[result.lr.index(result.min_loss_lr)]:.3g} at lr ≈ "
            f"{result.min_loss_lr:.2g}; lowest raw batch loss at lr ≈ {raw_best:.2g}"
        )
    beta = c.get("beta", 0.98)
    per_update = np.log10(lrs[1] / lrs[0]) if len(lrs) > 1 else 0.0
    window = 1 / (1 - beta)
    lag = f"the smoothing (β = {beta:g}) averages over about the last 1/(1 − β) = {window:.0f} updates, "
    if window < len(lrs):
        lag += f"here {window * per_update:.2g} decades of rate"
    else:
        lag += f"more than this whole sweep of {len(lrs)}: the smoothed curve is nearly a running mean from the start"
    if result.min_loss_lr is not None:
        ratio = result.min_loss_lr / raw_best
        side = (f"{ratio:.2g}× to the right of" if ratio > 1.5 else f"{1 / ratio:.2g}× to the left of"
                if ratio < 1 / 1.5 else "close to")  # fmt: skip
        lag += f"; the smoothed minimum sits {side} the raw one"
    lines.append(lag)
    shown = ", ".join(
        f"{name}{' (the course rule)' if name == RULE else ''} ≈ {lr:.2g}" if lr is not None else f"{name}: none"
        for name, lr in result.suggestions.items()
    )  # fmt: skip
    warm = f"ignoring the first {result.skipped} updates (lr up to {lrs[max(result.skipped - 1, 0)]:.2g}) as warm-up"
    lines.append(f"suggestions, {warm}: {shown}")
    return "\n".join(lines)


# --- one rule for the course: the three compared ------------------------------------------------


@dataclass(frozen=True)
class RuleComparison:
    """Each rule's suggestion from range tests over several batch orders, and the full-data
    training loss a run at each suggestion ended with (``None``: it diverged, or no suggestion)."""

    orders: tuple[int, ...]
    epochs: int
    suggestions: dict[str, list[float | None]]
    final: dict[str, list[float | None]]

    def rows(self) -> list[dict]:
        """One row per rule: the range of its suggestions, their spread (highest ÷ lowest), and
        the median and worst final loss of the runs trained at them."""
        rows = []
        for rule in RULES:
            lrs = [v for v in self.suggestions[rule] if v is not None]
            ends = self.final[rule]
            done = [v for v in ends if v is not None]
            rows.append(
                {
                    "rule": rule + (" (course)" if rule == RULE else ""),
                    "lowest lr": min(lrs) if lrs else None,
                    "median lr": float(np.median(lrs)) if lrs else None,
                    "highest lr": max(lrs) if lrs else None,
                    "spread (×)": round(max(lrs) / min(lrs), 2) if lrs else None,
                    "median final loss": float(np.median(done)) if done else None,
                    "worst final loss": max(done) if len(done) == len(ends) else "diverged",
                }
            )
        return rows

    def sentences(self) -> str:
        """The comparison's verdict in words chosen from its numbers, the course's rule placed
        honestly among the three."""
        rows = {r["rule"].split()[0]: r for r in self.rows()}
        spread = sorted(RULES, key=lambda k: rows[k]["spread (×)"] or math.inf)
        worst = sorted(RULES, key=lambda k: _worst(self.final[k]))

        def listed(order, key, fmt):
            return ", ".join(f"{k} ({fmt(rows[k][key])})" for k in order)

        n = len(self.orders)
        bold = sorted(RULES, key=lambda k: -(rows[k]["median lr"] or 0.0))
        lines = [
            f"median rate, boldest first: {listed(bold, 'median lr', lambda v: f'{v:.2g}')}",
            f"steadiest across {n} batch orders first: {listed(spread, 'spread (×)', lambda v: f'×{v:g}')}",
            f"lowest worst-case loss after {self.epochs} epochs first: "
            + listed(worst, "worst final loss", lambda v: v if isinstance(v, str) else f"{v:.3g}"),
        ]
        ours_spread, ours_worst = rows[RULE]["spread (×)"] or math.inf, _worst(self.final[RULE])
        steadier = [k for k in RULES if (rows[k]["spread (×)"] or math.inf) < ours_spread]
        better = [k for k in RULES if _worst(self.final[k]) < ours_worst]
        tied = [k for k in RULES if k != RULE and _worst(self.final[k]) == ours_worst]
        best = f"the best in the worst case{' (tied with ' + ', '.join(tied) + ')' if tied else ''}"
        level = [
            k for k in RULES if k != RULE and (rows[k]["spread (×)"] or math.inf) == ours_spread
        ]
        steadiest = f"the steadiest{' (tied with ' + ', '.join(level) + ')' if level else ''}"
        if not better and not steadier:
            lines.append(f"here the course's rule, {RULE}, is both {steadiest} and {best}")
        elif not better:
            lines.append(
                f"here the course's rule, {RULE}, is {best}, though {' and '.join(steadier)} moved less "
                "between batch orders"
            )
        else:
            lines.append(
                f"here {' and '.join(better)} did better in the worst case than the course's rule, {RULE}: "
                "no rule always wins, which is why every suggestion is checked with a short run"
            )
        return "\n".join(lines)


def _worst(ends: list[float | None]) -> float:
    return math.inf if any(v is None for v in ends) else max(ends)


def compare_rules(
    model: nn.Module,
    data,
    *,
    orders: int = 5,
    batch_size: int = 32,
    epochs: int = 20,
    seed: int = 0,
    **sweep,
) -> RuleComparison:
    """Run the range test on ``model`` with ``orders`` batch orders (seeds ``seed``, ``seed`` + 1,
    …; ``sweep`` goes to :func:`lr_range_test`), read every rule's rate off each, and train a copy
    of ``model`` for ``epochs`` at each rate (all on the batch order ``seed``), recording the
    full-data training loss it ends with.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> c = compare_rules(tutorial_mlp(), quadratic_data(100), orders=2, epochs=1, iterations=30)
    >>> [r["rule"] for r in c.rows()]
    ['min/10 (course)', 'steepest', 'valley']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    orders = check_int("orders", orders, low=1)
    epochs = check_int("epochs", epochs, low=1)
    seeds = tuple(range(seed, seed + orders))
    tests = [lr_range_test(model, data, batch_size=batch_size, seed=s, **sweep) for s in seeds]
    ended: dict[float, float | None] = {}  # the same rate twice is trained once

    def end_at(lr: float | None) -> float | None:
        if lr is None:
            return None
        if lr not in ended:
            h = train(copy.deepcopy(model), data, batch_size=batch_size, epochs=epochs, lr=lr,
                      seed=seed, hooks=[FullTrainLoss()])  # fmt: skip
            ended[lr] = final_loss(h)
        return ended[lr]

    suggestions = {rule: [t.suggestions[rule] for t in tests] for rule in RULES}
    final = {rule: [end_at(lr) for lr in lrs] for rule, lrs in suggestions.items()}
    return RuleComparison(seeds, epochs, suggestions, final)


def trial_sentences(
    trials: dict[str, float], checks: dict[str, History], seen: dict[float, History]
) -> str:
    """The check of a suggestion against rates 10× lower and higher, in words from the numbers,
    and beside the best rate of ``seen`` (the chapter's earlier runs, same budget).

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> d = quadratic_data(100)
    >>> run = lambda lr: train(tutorial_mlp(), d, epochs=2, lr=lr, hooks=[FullTrainLoss()])
    >>> trials = {"0.1× suggestion": 1e-3, "1× suggestion": 1e-2, "10× suggestion": 0.1}
    >>> print(trial_sentences(trials, {k: run(v) for k, v in trials.items()}, {}).splitlines()[0][:26])
    the suggestion, lr = 0.01,
    """
    check_mapping("trials", trials, what="learning rates")
    for key, lr in trials.items():
        check_float(f"trials[{key!r}]", lr, low=0.0, low_open=True)
    if not any(isinstance(k, str) and k.startswith("1×") for k in trials):
        raise ValueError(
            f"trials must hold the suggestion under a key starting '1×', got {list(trials)}"
        )
    _check_rate_runs("checks", checks, labels=True)
    if set(checks) != set(trials):
        raise ValueError(
            f"checks must hold one History per trial {list(trials)}, got {list(checks)}"
        )
    _check_rate_runs("seen", seen, min_len=0)

    def said(h):
        v = final_loss(h)
        return "diverged" if v is None else f"{v:.3g}"

    names = list(trials)
    middle = next(k for k in names if k.startswith("1×"))
    others = [k for k in names if k != middle]
    lines = [
        f"the suggestion, lr = {trials[middle]:g}, ends at {said(checks[middle])}; "
        + "; ".join(f"{k.split()[0]} it (lr = {trials[k]:g}) {said(checks[k])}" for k in others)
    ]
    ends = {
        k: (final_loss(h) if final_loss(h) is not None else math.inf) for k, h in checks.items()
    }
    best = min(ends, key=ends.get)
    lines.append(
        "of the three, the suggestion ended lowest" if best == middle
        else f"of the three, {best.split()[0]} the suggestion (lr = {trials[best]:g}) ended lowest: the suggestion was not the best choice here"
    )  # fmt: skip
    done = {lr: final_loss(h) for lr, h in seen.items() if final_loss(h) is not None}
    if done:
        lr = min(done, key=done.get)
        compare = "lower than" if done[lr] < ends[middle] else "not lower than"
        lines.append(
            f"the best rate run earlier, lr = {lr:g}, ended at {done[lr]:.3g}: {compare} the suggestion's "
            + ("(which diverged)" if math.isinf(ends[middle]) else f"{ends[middle]:.3g}")
        )
    return "\n".join(lines)


# --- preconditioning: a rate per direction ------------------------------------------------------

# Every preconditioning run is measured by the iterations it needs to shrink the loss this many times.
SHRINK = 1000.0
VALLEYS = {0.0: "along the axes", 45.0: "turned 45°"}


def _turned_hessian(curvatures, degrees: float) -> np.ndarray:
    """R·diag(λ)·Rᵀ: the Hessian of the 2-D bowl with these curvatures, its axes turned by
    ``degrees`` (at 0 the diagonal matrix of the curvatures)."""
    angle = math.radians(degrees)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return turn @ np.diag(curvatures) @ turn.T


def _iterations_to_shrink(hessian, P, lr, step, x0, shrink: float, limit: int) -> int | None:
    """Updates x ← step(x, H·x, P, lr) on f(x) = ½·xᵀHx until f ≤ f(x0)/shrink: how many, or
    None when that does not happen within ``limit`` (or the run leaves every bound)."""
    x = np.asarray(x0, dtype=float)
    start = 0.5 * x @ hessian @ x
    for t in range(1, limit + 1):
        x = np.asarray(step(x, hessian @ x, P, lr), dtype=float).reshape(-1)
        loss = 0.5 * x @ hessian @ x
        if not np.isfinite(loss) or loss > 1e12 * start:
            return None
        if loss <= start / shrink:
            return t
    return None


@dataclass(frozen=True)
class PreconditionerRuns:
    """Iterations each preconditioner took to shrink the loss ``shrink`` times on 2-D bowls of
    each condition number κ, with their axes along the coordinates and turned
    (``iterations[label, degrees]``, one entry per κ; None: not within the limit)."""

    kappas: tuple[float, ...]
    degrees: tuple[float, ...]
    shrink: float
    iterations: dict[tuple[str, float], list[int | None]]

    @property
    def labels(self) -> list[str]:
        return list(dict.fromkeys(label for label, _ in self.iterations))

    def rows(self) -> list[dict]:
        """One row per preconditioner and valley, one column per κ."""
        return [
            {
                "method": label,
                "valley": _valley(degrees),
                **{f"κ = {k:g}": n for k, n in zip(self.kappas, self.iterations[label, degrees])},
            }
            for label in self.labels
            for degrees in self.degrees
        ]

    def sentences(self) -> str:
        """What the table says, in words chosen from its numbers: the first preconditioner (the
        baseline) as κ grows and on every valley; each other one against it, valley by valley."""
        base, *others = self.labels
        kappas = ", ".join(f"{k:g}" for k in self.kappas)
        found = [self.iterations[base, d] for d in self.degrees]
        if all(f == found[0] for f in found):
            lines = [f"{base}: {_listed(found[0])} iterations at κ = {kappas}, on every valley"]
        else:
            valleys = "; ".join(f"{_valley(d)}: {_listed(f)}" for d, f in zip(self.degrees, found))
            lines = [f"{base}, at κ = {kappas}: {valleys} iterations"]
        for label in others:
            parts = []
            for d in self.degrees:
                got, ref = self.iterations[label, d], self.iterations[base, d]
                parts.append(f"{_valley(d)}: {_listed(got)} ({_against(got, ref, base)})")
            lines.append(f"{label}: " + "; ".join(parts))
        return "\n".join(lines)


def _times(ratio: float) -> str:
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.2g}×"


def _valley(degrees: float) -> str:
    return VALLEYS.get(degrees, f"turned {degrees:g}°")


def _listed(counts) -> str:
    shown = ["—" if n is None else str(n) for n in counts]
    return f"{shown[0]} at every κ" if len(set(shown)) == 1 and len(shown) > 1 else ", ".join(shown)


def _against(got, ref, base: str) -> str:
    """How a run's iteration counts compare with the baseline's, κ by κ."""
    if got == ref:
        return f"as many as {base}"
    pairs = [(g, r) for g, r in zip(got, ref) if g is not None and r is not None]
    if pairs and len(pairs) == len(got) and all(g <= r for g, r in pairs):
        low, high = min(r / g for g, r in pairs), max(r / g for g, r in pairs)
        if low == high:
            return f"{_times(low)} fewer than {base}"
        if low <= 1:
            return f"up to {_times(high)} fewer than {base}"
        return f"{_times(low)} to {_times(high)} fewer than {base}"
    return "not fewer at every κ"


def compare_preconditioners(
    preconditioners,
    kappas,
    *,
    step,
    lambda_max: float,
    start,
    degrees=(0.0, 45.0),
    shrink: float = SHRINK,
    limit: int = 100_000,
) -> PreconditionerRuns:
    """Run ``step(x, grad, P, lr)`` (x ← x − η·P·∇f) on the 2-D bowl f(x) = ½·xᵀHx for every
    condition number in ``kappas`` (curvatures λ_max/κ and ``lambda_max``), its axes along the
    coordinates and turned by each angle of ``degrees``, with each preconditioner's P and rate:
    ``preconditioners`` maps a label to a function H ↦ (P, η), so that the same rule (H⁻¹, or
    1/diag(H)) is applied to each valley's own Hessian. Counts the iterations until the loss has
    shrunk ``shrink`` times (None: not within ``limit``). Why: a preconditioner is judged by what
    it does across condition numbers and across valleys that are not lined up with the axes.

    >>> def step(x, grad, P, lr):
    ...     return x - lr * P @ grad
    >>> newton = {"GD": lambda H: (np.eye(2), 0.1), "Newton": lambda H: (np.linalg.inv(H), 1.0)}
    >>> runs = compare_preconditioners(newton, [2.0, 4.0], step=step, lambda_max=4.0, start=[1.0, 1.0])
    >>> runs.iterations["Newton", 45.0], runs.iterations["GD", 0.0]
    ([1, 1], [14, 26])
    """
    check_mapping("preconditioners", preconditioners, what="functions H ↦ (P, lr)")
    for label, make in preconditioners.items():
        if not callable(make):
            raise TypeError(
                f"preconditioners[{label!r}] must be a function H ↦ (P, lr), got {type(make).__name__}"
            )
    kappas = check_sequence("kappas", kappas, item=lambda n, v: check_float(n, v, low=1.0))
    if not callable(step):
        raise TypeError(f"step must be a function step(x, grad, P, lr), got {type(step).__name__}")
    lambda_max = check_float("lambda_max", lambda_max, low=0.0, low_open=True)
    start = check_numbers("start", start)
    if start.shape != (2,) or not np.all(np.isfinite(start)) or not np.any(start):
        raise ValueError(
            f"start must be a finite 2-D point other than the minimum (0, 0), got {start.tolist()}"
        )
    degrees = check_sequence("degrees", degrees, item=check_float)
    shrink = check_float("shrink", shrink, low=1.0, low_open=True)
    limit = check_int("limit", limit, low=1)
    iterations: dict[tuple[str, float], list[int | None]] = {}
    for label, make in preconditioners.items():
        for angle in degrees:
            counts = []
            for kappa in kappas:
                hessian = _turned_hessian(eigenvalues_from_condition(kappa, lambda_max), angle)
                P, lr = make(hessian)
                counts.append(_iterations_to_shrink(hessian, np.asarray(P, dtype=float),
                                                    float(lr), step, start, shrink, limit))  # fmt: skip
            iterations[label, angle] = counts
    return PreconditionerRuns(kappas, degrees, shrink, iterations)


def hessian_eigenvalue_range(model: nn.Module, data, *, steps: int = 200) -> tuple[float, float]:
    """The smallest and largest eigenvalue of the Hessian of ``model``'s mean squared error on
    ``data`` with respect to all its parameters, at its current weights (in float64). Why: a
    negative smallest eigenvalue means the Hessian is not positive definite there, so Newton's
    step −H⁻¹∇f is no descent step along that direction.

    It never forms the d × d matrix: Lanczos iteration (at most ``steps`` of it, or d) needs only
    Hessian-vector products, each one double backward pass, and the extreme eigenvalues settle
    within a few dozen. The model is left untouched.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import LinearModel
    >>> low, high = hessian_eigenvalue_range(LinearModel(), quadratic_data(50))
    >>> low > 0 and high > low  # linear regression: 2/N·XᵀX with a column of ones, positive definite
    True
    """
    from torch.func import functional_call

    from gdlessons.data import as_tensors

    check_instance("model", model, nn.Module, "a torch.nn.Module")
    X, y = as_tensors(data)
    steps = check_int("steps", steps, low=2)
    twin = copy.deepcopy(model).double()
    params = {name: p.detach() for name, p in twin.named_parameters()}
    if not params:
        raise ValueError("model has no parameters: its loss has no Hessian to measure")
    sizes = [p.numel() for p in params.values()]
    flat = torch.cat([p.reshape(-1) for p in params.values()]).requires_grad_(True)
    chunks = {name: c.view_as(p) for (name, p), c in zip(params.items(), flat.split(sizes))}
    out = functional_call(twin, chunks, (X.double(),))
    loss = torch.nn.functional.mse_loss(out, y.double().reshape(out.shape))
    (grad,) = torch.autograd.grad(loss, flat, create_graph=True)

    def hvp(v: torch.Tensor) -> torch.Tensor:
        # d(∇f·v)/dθ = H·v; a scalar output also spares autograd's shape check of grad_outputs,
        # whose first use imports half a second of symbolic-shape machinery
        return torch.autograd.grad(grad @ v, flat, retain_graph=True)[0]

    return _lanczos_extremes(hvp, flat.numel(), steps)


def _lanczos_extremes(hvp, d: int, steps: int) -> tuple[float, float]:
    """Lanczos with full reorthogonalisation from a fixed start: the extreme eigenvalues of the
    symmetric d × d operator ``hvp``, once they move less than 1e-9 (relative) over 10 steps."""
    basis = [torch.full((d,), d**-0.5, dtype=torch.float64)]
    alphas: list[float] = []
    betas: list[float] = []
    ends = (math.inf, -math.inf)
    for j in range(min(steps, d)):
        w = hvp(basis[-1])
        alphas.append(float(w @ basis[-1]))
        Q = torch.stack(basis)
        for _ in range(2):  # against every earlier vector, twice: rounding would bring them back
            w = w - Q.T @ (Q @ w)
        beta = float(w.norm())
        done = j == min(steps, d) - 1 or beta <= 1e-12 * max(abs(a) for a in alphas + [1e-300])
        if done or j % 10 == 9:
            T = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
            values = np.linalg.eigvalsh(T)
            scale = max(abs(values[0]), abs(values[-1]))
            if done or max(abs(values[0] - ends[0]), abs(values[-1] - ends[1])) <= 1e-9 * scale:
                return float(values[0]), float(values[-1])
            ends = (values[0], values[-1])
        betas.append(beta)
        basis.append(w / beta)
    raise AssertionError("unreachable: the last step returns")
