"""Learning-rate schedules as *factories* ``optimizer -> torch.optim.lr_scheduler``.

``train(scheduler=factory)`` builds the scheduler on its own optimizer and steps it once per
update (iteration), so a schedule's length is counted in iterations, never epochs. Every
schedule here is a stock ``torch.optim.lr_scheduler`` class; this module only fixes sensible
shapes, draws their curves on a throwaway optimizer, and packages the common bug of reusing a
scheduler that was already stepped to draw its curve.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch.optim import lr_scheduler as lrs

from gdlessons._validate import (
    check_choice,
    check_float,
    check_int,
)

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
    In a very short run each phase lasts at least one iteration (``pct_start`` is raised to 1.5/total
    if needed).

    >>> len(rate_curve(one_cycle(1.0, 10, pct_start=0.1), 10))
    10

    >>> c = rate_curve(one_cycle(1.0, 10), 10); round(float(c[0]), 3), round(float(c.max()), 3)
    (0.04, 1.0)
    """
    max_lr = check_float("max_lr", max_lr, low=0.0, low_open=True)
    total_iterations = check_int("total_iterations", total_iterations, low=2)
    pct_start = check_float(
        "pct_start", pct_start, low=0.0, high=1.0, low_open=True, high_open=True
    )
    # OneCycleLR divides by the length of each phase (warm-up: pct_start·total − 1 iterations):
    # a run too short for the asked share gets the shortest phases that work, not a ZeroDivisionError.
    pct_start = min(max(pct_start, 1.5 / total_iterations), 1 - 0.5 / total_iterations)
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
    if factory is not None and not callable(factory):
        raise TypeError(
            f"factory must be a function optimizer -> lr_scheduler (e.g. cosine(100)) or None, got {factory!r}"
        )
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
    if not callable(factory):
        raise TypeError(
            f"factory must be a function optimizer -> scheduler, got {type(factory).__name__}"
        )
    steps = check_int("steps", steps, low=0)

    def make(opt):
        schedule = factory(opt)
        for _ in range(steps):
            opt.step()
            schedule.step()
        return schedule

    return make


def linear_decay(total_iterations: int) -> Callable:
    """A ``train(scheduler=...)`` factory: the learning rate falls linearly to 0 over
    ``total_iterations`` iterations and stays there.

    >>> from gdlessons.models import LinearModel
    >>> from gdlessons.training import make_optimizer
    >>> opt = make_optimizer(LinearModel(), lr=1.0); s = linear_decay(4)(opt)
    >>> opt.step(); s.step()
    >>> opt.param_groups[0]["lr"]
    0.75
    """
    total = check_int("total_iterations", total_iterations, low=1)
    return lambda optimizer: torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda t: max(0.0, 1 - t / total)
    )
