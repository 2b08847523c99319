"""The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks",
as popularised by fastai): raise the rate exponentially every iteration, watch the loss.

:func:`lr_range_test` runs the sweep through the course's one loop (``training.train`` with an
exponential ``LambdaLR`` schedule and a stopping callback). It trains the model itself, not a
copy, then puts every parameter, buffer and gradient back bit for bit, so the test can be run
on the model you are about to train. The result is plain data (:class:`RangeTest`), and
the suggestions are computed by the test, not by the plot. :func:`plot_range_test` draws it.

No rule read off this curve always works: a suggestion is a place to start a short run, not an
answer.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import nn

from gdlessons._validate import check_float, check_int
from gdlessons.batching import iterations_per_epoch
from gdlessons.data import as_tensors
from gdlessons.display.plots import new_axes
from gdlessons.training import resolve_batch_size, train

CAVEAT = "Suggestions are rules of thumb, not answers: confirm with a short training run."


@dataclass
class RangeTest:
    """What a range test saw, as plain columns: the rate of each update (``lr``), the batch
    loss measured right after that update (``loss``) and its bias-corrected exponential moving
    average (``smoothed``); then the suggested rates and why the sweep ended."""

    lr: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    steepest: float | None = None
    valley: float | None = None
    min_loss_lr: float | None = None
    stop_reason: str = ""
    config: dict = field(default_factory=dict)

    @property
    def suggestions(self) -> dict[str, float | None]:
        """The two suggested rates by name."""
        return {"steepest": self.steepest, "valley": self.valley}

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
    smoother = SmoothedLoss(beta)
    return np.array([smoother.update(v) for v in values])


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
    skip_start: int = 5,
    skip_end: int = 2,
    seed: int = 0,
) -> RangeTest:
    """Sweep the rate from ``start_lr`` to ``end_lr`` geometrically over ``iterations`` updates
    and return the losses with two suggested rates.

    Stops early once the smoothed loss exceeds ``stop_factor`` × its best so far, or at the first
    non-finite loss. ``optimizer`` (optional, any ``torch.optim`` optimizer: SGD, Adam, ...) supplies
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
            callback=watch, progress=False,
        )  # fmt: skip
    if history.diverged:
        result.stop_reason = f"loss became non-finite at iteration {history.diverged_at}"
    _suggest(result, skip_start, skip_end)
    return result


def _suggest(result: RangeTest, skip_start: int, skip_end: int) -> None:
    if not result.lr:
        return
    lrs, smooth = np.array(result.lr), np.array(result.smoothed)
    result.min_loss_lr = float(lrs[int(np.argmin(smooth))])
    # Past the minimum the loss is blowing up: the steepest descent lies before it.
    last = int(np.argmin(smooth)) + 1
    window = max(1, len(lrs) // 25)
    steep = steepest_point(
        lrs[:last],
        smooth[:last],
        skip_start=skip_start,
        skip_end=min(skip_end, last // 4),
        window=window,
    )
    result.steepest = float(lrs[steep]) if steep is not None else None
    valley = valley_point(smooth)
    result.valley = float(lrs[valley]) if valley is not None else None


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


def plot_range_test(
    result: RangeTest,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    loss_label: str | None = None,
) -> Figure:
    """Loss against learning rate (log scale), raw and smoothed, with both suggestions marked
    and the caveat written on the figure. The y-axis is named from the recorded loss
    ("loss (MSE)", "cross-entropy loss", else "loss") unless ``loss_label`` is given.

    >>> r = RangeTest(lr=[1e-3, 1e-2, 1e-1], loss=[3.0, 2.0, 4.0], smoothed=[3.0, 2.5, 3.0], steepest=1e-2, valley=1e-2)
    >>> plot_range_test(r).axes[0].get_xscale()
    'log'
    """
    fig, ax = new_axes(ax)
    ax.plot(result.lr, result.loss, color="0.75", lw=0.8, label="batch loss after the update")
    ax.plot(result.lr, result.smoothed, color="C0", lw=2, label="smoothed (bias-corrected EMA)")
    for (name, lr), color in zip(result.suggestions.items(), ("C3", "C2"), strict=True):
        if lr is None:
            continue
        y = float(np.interp(np.log(lr), np.log(result.lr), result.smoothed))
        ax.axvline(lr, color=color, ls="--", lw=1)
        ax.plot([lr], [y], "o", color=color, ms=7, label=f"{name}: lr ≈ {lr:.2g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate (raised geometrically every iteration)")
    names = {"mse": "loss (MSE)", "cross_entropy": "cross-entropy loss"}
    ax.set_ylabel(loss_label or names.get(result.config.get("loss", "mse"), "loss"))
    ax.set_title(title or "Learning-rate range test")
    ax.legend(loc="upper left", fontsize=8)
    ax.text(0.01, 0.01, CAVEAT, transform=ax.transAxes, fontsize=7, color="0.3", va="bottom")
    return fig


def _losses(losses) -> np.ndarray:
    """``losses`` as a 1-D float array, or a TypeError that names it."""
    try:
        values = np.asarray(losses, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"losses must be a sequence of numbers, got {losses!r}") from None
    if values.ndim != 1:
        raise TypeError(f"losses must be a 1-D sequence of numbers, got shape {values.shape}")
    return values
