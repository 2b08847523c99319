"""Learning-rate schedules as *factories* ``optimizer -> torch.optim.lr_scheduler``.

``train(scheduler=factory)`` builds the scheduler on its own optimizer and steps it once per
update (iteration), so a schedule's length is counted in iterations, never epochs. Every
schedule here is a stock ``torch.optim.lr_scheduler`` class; this module only fixes sensible
shapes, draws their curves on a throwaway optimizer, and packages the common bug of reusing a
scheduler that was already stepped to draw its curve.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch.optim import lr_scheduler as lrs

from gdlessons._validate import check_choice, check_float, check_int
from gdlessons.batching import iterations_per_epoch
from gdlessons.blit import BlitFigure
from gdlessons.data import as_tensors, quadratic_data
from gdlessons.models import tutorial_mlp
from gdlessons.plots import X_AXES, new_axes
from gdlessons.tables import Table
from gdlessons.training import History, evaluate, resolve_batch_size, train
from gdlessons.widgets import Explorer

Factory = Callable[[torch.optim.Optimizer], lrs.LRScheduler]

SCHEDULES = ("constant", "step", "exponential", "cosine", "warmup_cosine", "cyclic", "one_cycle")


def step_decay(step_size: int, gamma: float = 0.1) -> Factory:
    """Multiply the rate by ``gamma`` every ``step_size`` iterations (``StepLR``).

    >>> rate_curve(step_decay(2, gamma=0.5), 5, lr=1.0).tolist()
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    step_size = check_int("step_size", step_size, low=1)
    gamma = check_float("gamma", gamma, low=0.0, high=1.0, low_open=True)
    return lambda opt: lrs.StepLR(opt, step_size=step_size, gamma=gamma)


def exponential(gamma: float) -> Factory:
    """Multiply the rate by ``gamma`` after every iteration (``ExponentialLR``).

    >>> rate_curve(exponential(0.5), 3, lr=1.0).tolist()
    [1.0, 0.5, 0.25]
    """
    gamma = check_float("gamma", gamma, low=0.0, high=1.0, low_open=True)
    return lambda opt: lrs.ExponentialLR(opt, gamma=gamma)


def cosine(total_iterations: int, eta_min: float = 0.0) -> Factory:
    """Half a cosine from the optimizer's rate down to ``eta_min`` over ``total_iterations``
    (``CosineAnnealingLR``; past ``T_max`` it would climb back up, so size it to the run).

    >>> rate_curve(cosine(4), 5, lr=1.0).round(3).tolist()
    [1.0, 0.854, 0.5, 0.146, 0.0]
    """
    total_iterations = check_int("total_iterations", total_iterations, low=1)
    eta_min = check_float("eta_min", eta_min, low=0.0)
    return lambda opt: lrs.CosineAnnealingLR(opt, T_max=total_iterations, eta_min=eta_min)


def warmup_cosine(
    total_iterations: int,
    warmup_iterations: int,
    *,
    start_factor: float = 0.01,
    eta_min: float = 0.0,
) -> Factory:
    """Linear warm-up from ``start_factor``·rate to the rate over ``warmup_iterations``, then a
    cosine down to ``eta_min`` for the rest (``LinearLR`` then ``CosineAnnealingLR``, joined by
    ``SequentialLR``). Warm-up spares the first, large-gradient updates a full-size step.

    >>> rate_curve(warmup_cosine(6, 2, start_factor=0.5), 6, lr=1.0).round(2).tolist()
    [0.5, 0.75, 1.0, 0.85, 0.5, 0.15]
    """
    total_iterations = check_int("total_iterations", total_iterations, low=2)
    warmup_iterations = check_int(
        "warmup_iterations", warmup_iterations, low=1, high=total_iterations - 1
    )
    start_factor = check_float("start_factor", start_factor, low=0.0, high=1.0, low_open=True)
    eta_min = check_float("eta_min", eta_min, low=0.0)

    def make(opt):
        warm = lrs.LinearLR(opt, start_factor=start_factor, total_iters=warmup_iterations)
        decay = lrs.CosineAnnealingLR(
            opt, T_max=total_iterations - warmup_iterations, eta_min=eta_min
        )
        return lrs.SequentialLR(opt, [warm, decay], milestones=[warmup_iterations])

    return make


def cyclic(base_lr: float, max_lr: float, step_size_up: int) -> Factory:
    """Triangular cycles between ``base_lr`` and ``max_lr``, ``step_size_up`` iterations up and
    as many down (``CyclicLR``, Smith 2017). It sets the rate itself, ignoring ``train(lr=...)``.

    ``cycle_momentum=False``: by default ``CyclicLR`` also cycles SGD's momentum between 0.8
    and 0.9 — silently switching momentum *on* for a run configured with ``momentum=0``.

    >>> rate_curve(cyclic(0.0, 1.0, 2), 6).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.5]
    """
    base_lr = check_float("base_lr", base_lr, low=0.0)
    max_lr = check_float("max_lr", max_lr, low=base_lr)
    step_size_up = check_int("step_size_up", step_size_up, low=1)
    return lambda opt: lrs.CyclicLR(
        opt,
        base_lr=base_lr,
        max_lr=max_lr,
        step_size_up=step_size_up,
        mode="triangular",
        cycle_momentum=False,
    )


def one_cycle(max_lr: float, total_iterations: int, *, pct_start: float = 0.3) -> Factory:
    """One cycle (``OneCycleLR``, Smith & Topin): up from ``max_lr``/25 to ``max_lr`` over the first
    ``pct_start`` of the run, then a cosine down to ``max_lr``/10⁴. It raises if stepped more than
    ``total_iterations`` times, so size it to the run. ``cycle_momentum=False`` as for :func:`cyclic`.

    >>> c = rate_curve(one_cycle(1.0, 10), 10); round(float(c[0]), 3), round(float(c.max()), 3)
    (0.04, 1.0)
    """
    max_lr = check_float("max_lr", max_lr, low=0.0, low_open=True)
    total_iterations = check_int("total_iterations", total_iterations, low=2)
    pct_start = check_float(
        "pct_start", pct_start, low=0.0, high=1.0, low_open=True, high_open=True
    )
    return lambda opt: lrs.OneCycleLR(
        opt, max_lr=max_lr, total_steps=total_iterations, pct_start=pct_start, cycle_momentum=False
    )


def make_schedule(
    name: str, lr: float, total_iterations: int, shape: float | None = None
) -> Factory | None:
    """The chapter's family, every member peaking at ``lr`` over a run of ``total_iterations``.

    ``shape`` is each schedule's one knob (default in brackets): step — ``gamma`` [0.1], decaying at
    1/3 and 2/3 of the run; exponential — final rate as a fraction of ``lr`` [0.01]; cosine —
    ``eta_min`` as a fraction of ``lr`` [0]; warmup_cosine — warm-up fraction of the run [0.1];
    cyclic — number of triangular cycles [2] from ``lr``/10; one_cycle — ``pct_start`` [0.3].
    ``"constant"`` returns ``None`` (no scheduler).

    >>> make_schedule("constant", 0.1, 100) is None
    True
    >>> round(float(rate_curve(make_schedule("exponential", 1.0, 100), 101)[-1]), 6)
    0.01
    """
    check_choice("name", name, SCHEDULES)
    lr = check_float("lr", lr, low=0.0, low_open=True)
    total = check_int("total_iterations", total_iterations, low=3)
    if name == "constant":
        return None
    default = {
        "step": 0.1,
        "exponential": 0.01,
        "cosine": 0.0,
        "warmup_cosine": 0.1,
        "cyclic": 2,
        "one_cycle": 0.3,
    }
    shape = default[name] if shape is None else shape
    if name == "step":
        return step_decay(math.ceil(total / 3), gamma=shape)
    if name == "exponential":
        final = check_float("shape", shape, low=0.0, high=1.0, low_open=True)
        return exponential(final ** (1.0 / total))
    if name == "cosine":
        return cosine(total, eta_min=check_float("shape", shape, low=0.0, high=1.0) * lr)
    if name == "warmup_cosine":
        fraction = check_float("shape", shape, low=0.0, high=1.0, low_open=True, high_open=True)
        return warmup_cosine(total, max(1, min(total - 1, round(fraction * total))))
    if name == "cyclic":
        cycles = check_int(
            "shape", int(shape) if float(shape).is_integer() else shape, low=1, high=total // 2
        )
        return cyclic(lr / 10, lr, max(1, total // (2 * cycles)))
    return one_cycle(lr, total, pct_start=shape)


def rate_curve(factory: Factory | None, iterations: int, *, lr: float = 1.0) -> np.ndarray:
    """The rate each of ``iterations`` updates would use, read from a *fresh* scheduler on a
    throwaway optimizer — never from the one you will train with (see :func:`already_stepped`).

    Entry ``i`` is the rate in force at update ``i + 1``, as ``History.iterations.lr`` records it.

    >>> rate_curve(None, 3, lr=0.1).tolist()
    [0.1, 0.1, 0.1]
    """
    iterations = check_int("iterations", iterations, low=1)
    lr = check_float("lr", lr, low=0.0, low_open=True)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    schedule = factory(optimizer) if factory is not None else None
    rates = np.empty(iterations)
    for i in range(iterations):
        rates[i] = optimizer.param_groups[0]["lr"]
        optimizer.step()  # a no-op without gradients, but keeps the scheduler's order check happy
        if schedule is not None:
            schedule.step()
    return rates


def already_stepped(factory: Factory, steps: int) -> Factory:
    """The bug, packaged for display: the scheduler you get has already been stepped ``steps``
    times — what happens when a scheduler is stepped through its whole curve to plot it and that
    same object (and its optimizer) is then used for training. The run starts at the curve's end.

    >>> round(float(rate_curve(already_stepped(step_decay(2, 0.1), 4), 1, lr=1.0)[0]), 6)
    0.01
    """
    steps = check_int("steps", steps, low=0)

    def make(opt):
        schedule = factory(opt)
        for _ in range(steps):
            opt.step()
            schedule.step()
        return schedule

    return make


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
            progress=False,
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
    base = runs["constant"].final_loss if "constant" in runs else None
    rows = []
    for name, run in runs.items():
        ratio = run.final_loss / base if base else None
        rows.append({"schedule": name, "final loss": run.final_loss, "vs constant": ratio})
    return Table(rows, digits=3)


def plot_rate_curves(
    curves: dict[str, np.ndarray], *, ncols: int = 3, title: str | None = None
) -> Figure:
    """One small panel per schedule: the rate at each iteration.

    >>> fig = plot_rate_curves({"cosine": rate_curve(cosine(10), 10)}); fig.axes[0].get_xlabel()
    'iteration'
    """
    rows = math.ceil(len(curves) / ncols)
    fig = Figure(figsize=(3.3 * ncols, 2.3 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, ncols, sharex=True)).ravel()
    for ax, (name, rates) in zip(axes, curves.items(), strict=False):
        ax.plot(np.arange(1, len(rates) + 1), rates, lw=1.5)
        ax.set_title(TITLES.get(name, name), fontsize=9)
        ax.set_xlabel("iteration")
        ax.set_ylabel("learning rate")
        ax.set_ylim(bottom=0)
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
    fig, ax = new_axes(ax, figsize=(7.0, 4.0))
    for name, run in runs.items():
        style = {"color": "k", "ls": "--"} if name == "constant" else {}
        ax.plot(run.history.epochs.epoch, run.history.epochs.train_loss, label=name, **style)
    ax.set_ylim(0.9 * min(min(r.history.epochs.train_loss) for r in runs.values()), 2.5)
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

    # Drawn once; a move redraws only the lines and the left title (see gdlessons.blit).
    every_loss = [v for _, losses, _ in cache.values() for v in losses if math.isfinite(v)]
    fig = Figure(figsize=(8.4, 3.2))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.9, wspace=0.28)
    left, right = fig.subplots(1, 2)
    (rate_line,) = left.plot([], [], color="C0", label="schedule")
    (rate_base,) = left.plot([], [], "k--", lw=0.8, label="constant")
    left.set(xlabel=X_AXES["iteration"], ylabel="learning rate", title=" " * 40)
    left.set(xlim=(0, len(cache[("constant", lrs[0], 0)][0])), ylim=(0, 1.1 * max(lrs)))
    left.legend(loc="upper right")
    (loss_line,) = right.plot([], [], "o-", ms=3, color="C0", label="schedule")
    (loss_base,) = right.plot([], [], "k--", label="constant")
    right.set(
        xlabel=X_AXES["epoch"],
        ylabel="training loss",
        yscale="log",
        title="Tutorial MLP, loss per epoch",
    )
    right.set(xlim=(0.5, epochs + 0.5), ylim=(0.9 * min(every_loss), 1.1 * max(every_loss)))
    right.legend(loc="upper right")
    blit = BlitFigure(fig, [rate_line, rate_base, loss_line, loss_base, left.title])

    def draw(schedule: str, lr: float, knob: int) -> Figure:
        rates, losses, _ = cache[(schedule, lr, knob)]
        _, base, _ = cache[("constant", lr, 0)]
        rate_line.set_data(np.arange(1, len(rates) + 1), rates)
        rate_base.set_data([1, len(rates)], [lr, lr])
        loss_line.set_data(np.arange(1, len(losses) + 1), losses)
        loss_base.set_data(np.arange(1, len(base) + 1), base)
        left.set_title(TITLES[schedule])
        return blit.frame()

    def readout(schedule: str, lr: float, knob: int) -> str:
        final, base = cache[(schedule, lr, knob)][2], cache[("constant", lr, 0)][2]
        shape = SHAPES[schedule][knob]
        knob_text = SHAPE_NAMES[schedule] + ("" if shape is None else f" = {shape:g}")
        return f"{schedule}, peak rate {lr:g}, {knob_text}: final loss {final:.3f} (constant: {base:.3f})"

    controls = {
        "schedule": w.Dropdown(options=list(SCHEDULES), value="cosine", description="schedule"),
        "lr": w.SelectionSlider(
            options=list(lrs), value=lrs[len(lrs) // 2], description="peak rate"
        ),
        "knob": w.IntSlider(value=1, min=0, max=2, description="shape knob"),
    }
    return Explorer(draw, controls, title="Schedule explorer", readout=readout)


EXPLORERS = {"ch05-schedule-explorer": schedule_explorer}
