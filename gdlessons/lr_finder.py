"""The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks",
as popularised by fastai): raise the rate exponentially every iteration, watch the loss.

:func:`lr_range_test` runs the sweep through the course's one loop (``training.train`` with an
exponential ``LambdaLR`` schedule and a stopping callback). It trains the model itself, not a
copy, then puts every parameter, buffer and gradient back bit for bit, so the test can be run
on the model you are about to train. The result is plain data (:class:`RangeTest`), and
the suggestions are computed by the test, not by the plot;
:func:`gdlessons.display.range_test.plot_range_test` draws it.

Three rules read a rate off the smoothed curve: a tenth of the rate where it is lowest
(``"min/10"``), where it falls fastest (``"steepest"``) and fastai's ``"valley"``. The course uses
one, :data:`RULE` (chapter 05 compares the three and says why), through :func:`suggested_lr`.
Every rule ignores the first iterations, while the bias-corrected average still rests on a few
losses (:func:`warmup_iterations`). No rule read off this curve always works: a suggestion is a
place to start a short run, not an answer.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from gdlessons._validate import (
    check_choice,
    check_float,
    check_instance,
    check_int,
)
from gdlessons.batching import iterations_per_epoch, resolve_batch_size
from gdlessons.data import as_tensors
from gdlessons.hooks import StopWhen
from gdlessons.training import train

CAVEAT = "Suggestions are rules of thumb, not answers: confirm with a short training run."
RULES = ("min/10", "steepest", "valley")
RULE = "min/10"
"""The course's one rule: a tenth of the rate where the smoothed loss was lowest (chapter 05)."""


@dataclass
class RangeTest:
    """What a range test saw, as plain columns: the rate of each update (``lr``), the batch
    loss measured right after that update (``loss``) and its bias-corrected exponential moving
    average (``smoothed``); then the rate where the smoothed loss is lowest (``min_loss_lr``),
    the ``steepest`` and ``valley`` points, how many first points the suggestions ignored
    (``skipped``, the smoothing's warm-up) and why the sweep ended."""

    lr: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    steepest: float | None = None
    valley: float | None = None
    min_loss_lr: float | None = None
    skipped: int = 0
    stop_reason: str = ""
    config: dict = field(default_factory=dict)

    @property
    def suggestions(self) -> dict[str, float | None]:
        """Every rule's rate by name (:data:`RULES`), ``None`` where the test is too short to say.

        >>> RangeTest(min_loss_lr=0.5, steepest=0.01, valley=0.02).suggestions
        {'min/10': 0.05, 'steepest': 0.01, 'valley': 0.02}
        """
        tenth = None if self.min_loss_lr is None else self.min_loss_lr / 10
        return {"min/10": tenth, "steepest": self.steepest, "valley": self.valley}

    def rows(self) -> list[dict]:
        """One dict per update: lr, loss, smoothed."""
        return [
            {"lr": a, "loss": b, "smoothed": c}
            for a, b, c in zip(self.lr, self.loss, self.smoothed, strict=True)
        ]


class SmoothedLoss:
    """A running exponential moving average with bias correction (divide by 1 − βᵗ), so the
    first values are not dragged towards zero; the range test feeds it one loss at a time to
    decide when to stop, and :func:`ema_smooth` runs it over a finished list.

    >>> s = SmoothedLoss(0.9); [s.update(2.0), s.update(2.0)]
    [2.0, 2.0]
    """

    def __init__(self, beta: float = 0.98):
        self.beta = check_float("beta", beta, low=0.0, high=1.0, high_open=True)
        self._avg, self._count = 0.0, 0
        self.best = math.inf

    def update(self, value: float) -> float:
        self._count += 1
        self._avg = self.beta * self._avg + (1 - self.beta) * float(value)
        smoothed = self._avg / (1 - self.beta**self._count)
        self.best = min(self.best, smoothed)
        return smoothed


def ema_smooth(values, beta: float = 0.98) -> np.ndarray:
    """:class:`SmoothedLoss` over a whole list of values.

    >>> ema_smooth([2.0, 2.0, 2.0], beta=0.9).tolist()
    [2.0, 2.0, 2.0]
    """
    if len(_losses(values)) == 0:
        raise ValueError("values must hold at least one loss to smooth, got none")
    smoother = SmoothedLoss(beta)
    return np.array([smoother.update(v) for v in values])


def suggested_lr(result: RangeTest, rule: str = RULE) -> float:
    """The rate ``rule`` (one of :data:`RULES`, the course's :data:`RULE` by default) reads off a
    range test: what chapter 05 checks with short runs and the capstone of chapter 08 trains with.

    >>> suggested_lr(RangeTest(min_loss_lr=0.5, steepest=0.01, valley=0.02))
    0.05
    >>> suggested_lr(RangeTest(min_loss_lr=0.5, steepest=0.01, valley=0.02), "valley")
    0.02
    """
    if not isinstance(result, RangeTest):
        raise TypeError(
            f"result must be a RangeTest (what lr_range_test returns), got {type(result).__name__}"
        )
    lr = result.suggestions[check_choice("rule", rule, RULES)]
    if lr is None:
        raise ValueError(
            f"the range test gives no {rule!r} suggestion: it has {len(result.lr)} points, "
            f"{result.skipped} of them ignored as the smoothing's warm-up; run a longer sweep"
        )
    return lr


def warmup_iterations(beta: float, iterations: int) -> int:
    """How many first points of a sweep of ``iterations`` the suggestions ignore: the
    bias-corrected average of the first t losses is a plain mean of t of them, so while t is
    below half the average's usual window 1/(1 − β), a few lucky batches can pose as a steep fall
    at rates far too small to change anything. Never more than a fifth of the sweep.

    >>> warmup_iterations(0.98, 200), warmup_iterations(0.98, 100), warmup_iterations(0.9, 100)
    (25, 20, 5)
    """
    beta = check_float("beta", beta, low=0.0, high=1.0, high_open=True)
    iterations = check_int("iterations", iterations, low=1)
    return min(math.ceil(0.5 / (1 - beta) - 1e-9), iterations // 5)


def steepest_point(
    lrs, losses, *, skip_start: int = 0, skip_end: int = 0, window: int = 1
) -> int | None:
    """Index where the loss falls fastest per decade of rate (most negative d loss / d log lr),
    ignoring the first ``skip_start`` and last ``skip_end`` points; ``None`` if too few remain.

    The slope at i is taken across points i − ``window`` … i + ``window``: a wider window keeps
    batch-to-batch noise from posing as a steep drop.

    >>> steepest_point([1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0], [5.0, 4.5, 3.0, 2.0, 1.8, 9.0])
    2
    """
    if np.ndim(lrs) != 1 or np.ndim(losses) != 1 or len(lrs) != len(losses):
        raise ValueError(
            f"lrs and losses must be 1-D and of the same length, got {np.shape(lrs)} and {np.shape(losses)}"
        )
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    window = check_int("window", window, low=1)
    lo, hi = skip_start, len(losses) - skip_end  # usable points: lo .. hi - 1
    if hi - lo < 3:
        return None
    window = min(window, (hi - lo - 1) // 2)
    log_lr = np.log10(lrs)
    centres = np.arange(lo + window, hi - window)
    rise = losses[centres + window] - losses[centres - window]
    run = log_lr[centres + window] - log_lr[centres - window]
    return int(centres[np.argmin(rise / run)])


def valley_point(losses) -> int | None:
    """fastai's "valley": find the longest decreasing subsequence of the loss, span it back from
    its last point by its length, and take the point halfway along, well inside the falling
    region rather than at its edge. ``None`` for fewer than 3 losses.

    >>> valley_point([9.0, 5.0, 4.0, 6.0, 3.0, 2.0, 1.0, 8.0])
    3
    """
    losses = _losses(losses)
    n = len(losses)
    if n < 3:
        return None
    length = np.ones(n, dtype=int)  # longest decreasing subsequence ending at i
    for i in range(1, n):
        earlier = losses[:i] > losses[i]
        if earlier.any():
            length[i] = length[:i][earlier].max() + 1
    end = int(np.argmax(length))
    start = end - int(length[end])  # as fastai does: a span as long as the subsequence
    third = (end - start) / 3
    return max(0, start + int(third) + int(third / 2))


def _scheduler_attached(optimizer: torch.optim.Optimizer) -> str | None:
    if hasattr(optimizer.step, "_wrapped_by_lr_sched") or hasattr(optimizer, "_opt_called"):
        return "its step() is wrapped by a torch.optim.lr_scheduler"
    if any("initial_lr" in group for group in optimizer.param_groups):
        return "'initial_lr' is set in its param_groups"
    return None


def _settings_from(optimizer, model: nn.Module) -> dict:
    """The optimizer's class and hyperparameters (everything its constructor takes but the rate),
    so the range test can build a fresh one of the same kind and leave this one untouched."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim optimizer (e.g. torch.optim.SGD or Adam), got {type(optimizer).__name__}"
        )
    reason = _scheduler_attached(optimizer)
    if reason:
        raise ValueError(
            f"optimizer already has a learning-rate scheduler attached ({reason}); the range test "
            "sets the rate itself, so run it before creating the scheduler, or pass a fresh optimizer"
        )
    ours = {id(p) for p in model.parameters()}
    theirs = [p for group in optimizer.param_groups for p in group["params"]]
    if len(optimizer.param_groups) != 1 or {id(p) for p in theirs} != ours:
        raise ValueError(
            "optimizer must hold exactly this model's parameters, in a single param group"
        )
    accepted = set(inspect.signature(type(optimizer)).parameters) - {"params", "lr"}
    group = optimizer.param_groups[0]
    return {k: v for k, v in group.items() if k in accepted}


def lr_range_test(
    model: nn.Module,
    data,
    *,
    start_lr: float = 1e-5,
    end_lr: float = 10.0,
    iterations: int = 100,
    batch_size: int | str | None = 32,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    optimizer: torch.optim.Optimizer | None = None,
    accumulation_steps: int = 1,
    loss: str | Callable = "mse",
    beta: float = 0.98,
    stop_factor: float = 4.0,
    skip_start: int | None = None,
    skip_end: int = 2,
    seed: int = 0,
) -> RangeTest:
    """Sweep the rate from ``start_lr`` to ``end_lr`` geometrically over ``iterations`` updates
    and return the losses with the suggested rates (:func:`add_suggestions`).

    Stops early once the smoothed loss exceeds ``stop_factor`` × its best so far, or at the first
    non-finite loss. The suggestions ignore the first ``skip_start`` points (by default the
    smoothing's warm-up, :func:`warmup_iterations`). ``optimizer`` (optional, any ``torch.optim`` optimizer: SGD, Adam, ...) supplies
    the kind of optimizer and its settings (momentum, betas, weight decay, ...) and is never
    touched: the test trains a fresh one of the same kind; one with a scheduler attached is
    refused. Without it the test runs SGD with ``momentum``, ``nesterov`` and ``weight_decay``. Afterwards the model's parameters,
    buffers, gradients, train/eval modes and the global random state are exactly as before.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> result = lr_range_test(tutorial_mlp(), quadratic_data(200), iterations=40)
    >>> len(result.lr) <= 40, result.lr[0]
    (True, 1e-05)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    start_lr = check_float("start_lr", start_lr, low=0.0, low_open=True)
    end_lr = check_float("end_lr", end_lr, low=0.0, low_open=True)
    if not start_lr < end_lr:
        raise ValueError(
            f"the sweep needs 0 < start_lr < end_lr, got start_lr={start_lr:g}, end_lr={end_lr:g}"
        )
    iterations = check_int("iterations", iterations, low=5)
    stop_factor = check_float("stop_factor", stop_factor, low=1.0, low_open=True)
    check_float("beta", beta, low=0.0, high=1.0, high_open=True)
    if skip_start is None:
        skip_start = warmup_iterations(beta, iterations)
    skip_start = check_int("skip_start", skip_start, low=0)
    skip_end = check_int("skip_end", skip_end, low=0)
    if optimizer is None:
        kind = torch.optim.SGD
        settings = {"momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay}
    else:
        kind, settings = type(optimizer), _settings_from(optimizer, model)
    X, y = as_tensors(data)
    size = resolve_batch_size(batch_size, len(X))
    factor = (end_lr / start_lr) ** (1 / (iterations - 1))
    # One more iteration than rates: the loss after update i is measured by iteration i + 1.
    epochs = math.ceil((iterations + 1) / iterations_per_epoch(len(X), size))
    result = RangeTest(
        config=dict(
            start_lr=start_lr, end_lr=end_lr, iterations=iterations, batch_size=size,
            accumulation_steps=accumulation_steps, beta=beta, stop_factor=stop_factor, seed=seed,
            optimizer=kind.__name__, **settings,
            loss=loss if isinstance(loss, str) else getattr(loss, "__name__", "custom"),
        )
    )  # fmt: skip
    previous_lr: list[float] = []  # the rate of the update just made
    smoother = SmoothedLoss(beta)

    def watch(record: dict) -> bool:
        # record["loss"] was measured before this iteration's update, i.e. after the previous one.
        if previous_lr:
            result.lr.append(previous_lr[0])
            result.loss.append(record["loss"])
            smooth = smoother.update(record["loss"])
            result.smoothed.append(smooth)
        previous_lr[:] = [record["lr"]]
        if not result.loss:
            return False
        if smooth > stop_factor * smoother.best:
            result.stop_reason = f"smoothed loss passed {stop_factor:g}× its best"
            return True
        if len(result.lr) == iterations:
            result.stop_reason = f"reached end_lr={end_lr:g}"
            return True
        return False

    with _restored(model):
        history = train(
            model, (X, y), batch_size=size, epochs=epochs,
            optimizer=lambda m: kind(m.parameters(), lr=start_lr, **settings),
            accumulation_steps=accumulation_steps, loss=loss, seed=seed,
            scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda i: factor**i),
            hooks=[StopWhen(watch)],
        )  # fmt: skip
    if history.diverged:
        result.stop_reason = f"loss became non-finite at iteration {history.diverged_at}"
    add_suggestions(result, skip_start=skip_start, skip_end=skip_end)
    return result


def add_suggestions(result: RangeTest, *, skip_start: int = 0, skip_end: int = 2) -> RangeTest:
    """Fill in ``result``'s ``min_loss_lr``, ``steepest`` and ``valley`` from its smoothed loss,
    all three read from the points after the first ``skip_start`` (the smoothing's warm-up,
    recorded in ``result.skipped``); ``None`` where too few points remain. The steepest fall
    is looked for only up to the minimum: past it the loss is blowing up.

    >>> r = RangeTest(lr=[1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0], smoothed=[0.5, 5.0, 4.0, 2.5, 1.0, 3.0])
    >>> add_suggestions(r).min_loss_lr, add_suggestions(r, skip_start=1).min_loss_lr
    (0.0001, 1.0)
    """
    check_instance("result", result, RangeTest, "a RangeTest, as lr_range_test returns")
    skip_start = check_int("skip_start", skip_start, low=0)
    skip_end = check_int("skip_end", skip_end, low=0)
    result.skipped = min(skip_start, len(result.smoothed))
    result.min_loss_lr = result.steepest = result.valley = None
    lo = result.skipped
    lrs, smooth = np.array(result.lr, dtype=float), np.array(result.smoothed, dtype=float)
    if lo >= len(smooth):
        return result
    best = lo + int(np.argmin(smooth[lo:]))
    result.min_loss_lr = float(lrs[best])
    last = best + 1
    steep = steepest_point(
        lrs[:last], smooth[:last], skip_start=lo, skip_end=min(skip_end, (last - lo) // 4),
        window=max(1, len(lrs) // 25),
    )  # fmt: skip
    result.steepest = float(lrs[steep]) if steep is not None else None
    valley = valley_point(smooth[lo:])
    result.valley = float(lrs[lo + valley]) if valley is not None else None
    return result


class _restored:
    """Context manager: put back parameters, buffers, gradients, module modes and RNG state."""

    def __init__(self, model: nn.Module):
        self.model = model

    def __enter__(self):
        self.state = copy.deepcopy(self.model.state_dict(keep_vars=False))
        # state_dict() leaves out buffers registered with persistent=False: keep those too
        self.buffers = {name: b.clone() for name, b in self.model.named_buffers()}
        self.grads = [None if p.grad is None else p.grad.clone() for p in self.model.parameters()]
        self.modes = [m.training for m in self.model.modules()]
        self.rng = torch.get_rng_state()
        return self

    def __exit__(self, *exc):
        with torch.no_grad():
            self.model.load_state_dict(self.state)
            for name, b in self.model.named_buffers():
                b.copy_(self.buffers[name])
        for p, g in zip(self.model.parameters(), self.grads, strict=True):
            p.grad = g
        for m, mode in zip(self.model.modules(), self.modes, strict=True):
            m.training = mode
        torch.set_rng_state(self.rng)
        return False


def _losses(losses) -> np.ndarray:
    """``losses`` as a 1-D float array, or a TypeError that names it."""
    try:
        values = np.asarray(losses, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"losses must be a sequence of numbers, got {losses!r}") from None
    if values.ndim != 1:
        raise TypeError(f"losses must be a 1-D sequence of numbers, got shape {values.shape}")
    return values
