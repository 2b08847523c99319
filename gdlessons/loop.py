"""The training loop itself, as chapter 01 writes it by hand, and the points where it is extended.

:func:`run_loop` is forward, loss, ``backward()``, ``step()``, ``zero_grad()`` and a record, per
batch and per epoch. Everything optional (clipping, a scheduler, evaluation, recording parameters,
a progress bar, stopping early) is a :class:`Hook` acting at one of six points, so the loop stays
the one a student writes; :func:`gdlessons.training.train` checks its arguments, builds the
optimizer, the batches and the hooks, and calls it. The hooks themselves are in
:mod:`gdlessons.hooks`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from gdlessons._validate import check_int
from gdlessons.history import Recorder


class Hook:
    """One extension of the loop. Each method is a point in it and does nothing by default; an
    ``after_iteration`` that returns True stops training."""

    def before_training(self, loop: Loop) -> None:
        """Nothing has been trained yet (e.g. build a scheduler, measure the starting loss)."""

    def after_backward(self, loop: Loop) -> None:
        """The gradient is complete and not yet used (e.g. clip it)."""

    def after_step(self, loop: Loop) -> None:
        """The optimizer has updated and zeroed (e.g. step a scheduler)."""

    def after_iteration(self, loop: Loop) -> bool | None:
        """The iteration is recorded in ``loop.record`` (e.g. evaluate, or stop)."""

    def after_epoch(self, loop: Loop) -> None:
        """The epoch's last iteration is done (e.g. record the epoch, measure validation loss)."""

    def after_training(self, loop: Loop) -> None:
        """Training has ended, however it ended (e.g. close a progress bar)."""


class Hooks(Hook):
    """Several hooks acting as one, in their order; training stops after an iteration when any
    of them asks to (every one still sees that iteration)."""

    def __init__(self, hooks: Hook | Sequence[Hook] = ()):
        if isinstance(hooks, Hook):
            hooks = [hooks]
        if isinstance(hooks, (str, bytes)) or not hasattr(hooks, "__iter__"):
            raise TypeError(f"hooks must be a list of hooks (see gdlessons.hooks), got {hooks!r}")
        wrong = [repr(h) for h in hooks if not isinstance(h, Hook)]
        if wrong:
            raise TypeError(
                "hooks must be Hook instances such as EvaluateEvery(10) or RecordParams() from "
                f"gdlessons.hooks, got {', '.join(wrong)}"
            )
        self.hooks = list(hooks)

    def before_training(self, loop: Loop) -> None:
        for hook in self.hooks:
            hook.before_training(loop)

    def after_backward(self, loop: Loop) -> None:
        for hook in self.hooks:
            hook.after_backward(loop)

    def after_step(self, loop: Loop) -> None:
        for hook in self.hooks:
            hook.after_step(loop)

    def after_iteration(self, loop: Loop) -> bool:
        return any([hook.after_iteration(loop) for hook in self.hooks])

    def after_epoch(self, loop: Loop) -> None:
        for hook in self.hooks:
            hook.after_epoch(loop)

    def after_training(self, loop: Loop) -> None:
        for hook in self.hooks:
            hook.after_training(loop)


class Clock:
    """Training time: runs while the loop trains, paused for what is not training (evaluation)."""

    def __init__(self) -> None:
        self.seconds, self._since = 0.0, None

    def start(self) -> None:
        self._since = time.perf_counter()

    def stop(self) -> None:
        self.seconds = self.read()
        self._since = None

    def read(self) -> float:
        return self.seconds + (
            time.perf_counter() - self._since if self._since is not None else 0.0
        )

    @contextmanager
    def paused(self):
        self.stop()
        try:
            yield
        finally:
            self.start()


@dataclass
class Loop:
    """What the loop holds and its hooks see: the model, the optimizer, the loss, the record, and
    the data a hook may evaluate on."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: Callable[..., torch.Tensor]
    recorder: Recorder
    accumulation_steps: int = 1
    train_data: tuple[torch.Tensor, torch.Tensor] | None = None
    val_data: tuple[torch.Tensor, torch.Tensor] | None = None
    iterations_per_epoch: int | None = None  # None when the batches do not say
    epochs: int = 0
    clock: Clock = field(default_factory=Clock)
    epoch: int = 0
    loss: float = math.nan  # the current batch's mean loss
    grad_norm: float | None = None  # set by a clipping hook, recorded with the iteration
    record: dict = field(default_factory=dict)  # the last iteration's record

    def __post_init__(self):
        if not isinstance(self.model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(self.model).__name__}")
        if not isinstance(self.optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"optimizer must be a torch.optim.Optimizer, got {type(self.optimizer).__name__}"
            )
        if not callable(self.loss_fn):
            raise TypeError(f"loss_fn must be a function, got {type(self.loss_fn).__name__}")
        if not isinstance(self.recorder, Recorder):
            raise TypeError(f"recorder must be a Recorder, got {type(self.recorder).__name__}")
        check_int("accumulation_steps", self.accumulation_steps, low=1)


def run_loop(
    loop: Loop,
    batches: Callable[[int], Iterable[tuple[torch.Tensor, torch.Tensor]]],
    epochs: int,
    hooks: Sequence[Hook] = (),
) -> None:
    """Train ``loop.model`` for ``epochs`` passes over ``batches(epoch)``; stop at the first
    non-finite loss (``History.diverged_at``) or when a hook asks to."""
    check_int("epochs", epochs, low=1)
    model, optimizer, rec, hooks = loop.model, loop.optimizer, loop.recorder, Hooks(hooks)
    loop.epochs = epochs
    hooks.before_training(loop)
    try:
        for epoch in range(1, epochs + 1):
            loop.epoch = epoch
            loop.clock.start()
            for xb, yb in batches(epoch):
                lr = optimizer.param_groups[0]["lr"]
                if loop.accumulation_steps == 1:
                    loss = loop.loss_fn(model(xb), yb)  # forward, loss
                    loss.backward()  # gradients into p.grad
                    loop.loss = loss.item()
                else:
                    loop.loss = accumulate(model, loop.loss_fn, xb, yb, loop.accumulation_steps)
                if not math.isfinite(loop.loss):
                    rec.diverged()  # never step on a non-finite gradient
                    optimizer.zero_grad(set_to_none=True)
                    return
                hooks.after_backward(loop)
                optimizer.step()  # p ← p − lr·p.grad (or the optimizer's own rule)
                optimizer.zero_grad(set_to_none=True)
                hooks.after_step(loop)
                loop.record = rec.iteration_done(
                    epoch=epoch, loss=loop.loss, lr=lr, batch_size=len(xb),
                    time=loop.clock.read(), grad_norm=loop.grad_norm,
                )  # fmt: skip
                if hooks.after_iteration(loop):
                    rec.history.stopped_at = rec.iteration
                    return
            loop.clock.stop()
            hooks.after_epoch(loop)
    finally:
        hooks.after_training(loop)


def accumulate(model: nn.Module, loss_fn, xb, yb, steps: int) -> float:
    """Backward over ``steps`` micro-batches, each loss weighted by its share of the batch, so
    the accumulated gradient is exactly the batch's mean-loss gradient; returns the batch loss."""
    size = len(xb)
    micro = math.ceil(size / steps)
    total = 0.0
    for xm, ym in zip(xb.split(micro), yb.split(micro)):
        part = loss_fn(model(xm), ym) * (len(xm) / size)
        part.backward()
        total += part.item()
    return total
