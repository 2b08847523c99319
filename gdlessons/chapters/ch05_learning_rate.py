"""Chapter 05 (the learning rate): the quadratic explorer (one rate, one curvature, one condition
number); the regimes, the 2-D run, the MLP runs and the range test put into words chosen from
their numbers; and the comparison of the range test's three rules behind the course's one rule.

The landscapes themselves (regimes, the stability bound, iterates) are shared in :mod:`gdlessons.landscapes`."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
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
from gdlessons.display.landscapes import draw_path, plot_contours_2d, plot_curve_1d
from gdlessons.display.plots import X_AXES, loss_curve, new_figure
from gdlessons.history import History
from gdlessons.hooks import FullTrainLoss
from gdlessons.landscapes import SLOW_ABOVE, eigenvalues_from_condition, iterates, regime
from gdlessons.lr_finder import RULE, RULES, RangeTest, lr_range_test
from gdlessons.training import train


def _describe(lr: float, a: float, kappa: float) -> str:
    lam = eigenvalues_from_condition(kappa, lambda_max=a)
    return (
        f"η = {lr:.3g}, a = {a:.3g}: bound 2/a = {2 / a:.3g} (η is {lr * a / 2:.2f}× the bound)\n"
        f"1-D regime: {regime(lr, a)} (error × {1 - lr * a:+.2f} per iteration)\n"
        f"2-D, κ = {kappa:.3g} (λ = {lam[0]:.3g}, {lam[1]:.3g}): {regime(lr, lam)}"
    )


def quadratic_figure(
    lr: float,
    a: float,
    kappa: float,
    *,
    iterations: int = 20,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """The explorer's picture: gradient descent with rate ``lr`` on a·x²/2 (left) and on the 2-D
    quadratic with λ_max = a and condition number ``kappa`` (right), regimes in the titles.

    A fresh figure per state, laid out by constrained layout: the explorer's redraw remembers
    the first layout, so a slider move draws once. ``fig`` (a Figure or SubFigure) is drawn
    into when given.

    >>> fig = quadratic_figure(0.45, 4.0, 10.0); [ax.get_title().split(":")[0] for ax in fig.axes]
    ['1-D, a = 4', '2-D, κ = 10']
    """
    lam = eigenvalues_from_condition(kappa, lambda_max=a)
    fig = new_figure(fig, figsize=(7.4, 3.7))
    left, right = fig.subplots(1, 2)
    # No legends and few fixed ticks: text layout is most of a redraw; the titles say it all,
    # on two lines each so that they fit over a panel half the output wide.
    plot_curve_1d(a, {"": iterates(a, [1.0], lr, iterations)}, ax=left, legend=False)
    left.set_title(f"1-D, a = {a:g}: {regime(lr, a)}\n(bound 2/a = {2 / a:.3g})", fontsize=10)
    plot_contours_2d(lam, ax=right, levels=8)
    draw_path(right, iterates(lam, [1.2, 1.0], lr, iterations), limit=10.0, legend=False)
    right.set_title(
        f"2-D, κ = {kappa:.3g}: {regime(lr, lam)}\n(bound 2/λ_max = {2 / a:.3g})", fontsize=10
    )
    ticks = [-1.5, 0.0, 1.5]
    left.set_xticks(ticks)
    left.set_yticks([0.0, round(0.5 * a * 1.5**2, 2)])
    right.set_xticks(ticks)
    right.set_yticks(ticks)
    return fig


def quadratic_explorer():
    """Sliders for the rate η (log scale), the curvature a and the 2-D condition number κ."""
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer

    style = {"description_width": "150px"}
    layout = w.Layout(width="480px")
    controls = {
        "lr": w.FloatLogSlider(value=0.45, base=10, min=-3, max=0.5, step=0.01, description="learning rate η", style=style, layout=layout),
        "a": w.FloatSlider(value=4.0, min=0.5, max=10.0, step=0.5, description="curvature a (= λ_max)", style=style, layout=layout),
        "kappa": w.FloatLogSlider(value=25.0, base=10, min=0, max=2, step=0.05, description="condition number κ", style=style, layout=layout),
    }  # fmt: skip
    return Explorer(
        quadratic_figure,
        controls,
        title="Gradient descent on quadratics: 20 iterations",
        readout=_describe,
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
