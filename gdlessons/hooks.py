"""The hooks that extend the training loop: each option of ``train()`` beyond forward, loss,
backward, step and zero_grad is one of these, passed as ``train(..., hooks=[...])``.

Each acts at the points of :class:`gdlessons.loop.Hook` it needs and reads what it needs from the
:class:`~gdlessons.loop.Loop` (the model, the optimizer, the data, the record).

>>> from gdlessons.data import quadratic_data
>>> from gdlessons.models import tutorial_mlp
>>> from gdlessons.training import train
>>> h = train(tutorial_mlp(), quadratic_data(64), epochs=2, lr=0.01,
...           hooks=[EvaluateEvery(1), FullTrainLoss(), RecordParams()])
>>> len(h.evals.train_loss), len(h.epochs.full_train_loss), len(h.params)
(5, 2, 5)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from gdlessons._validate import check_bool, check_choice, check_float, check_int
from gdlessons.loop import Hook, Loop
from gdlessons.metrics import evaluate
from gdlessons.progress import progress_bar


class RecordEpoch(Hook):
    """Close each epoch in the History, with the validation loss when there is validation data
    (measured after the epoch's last update, outside the training time). ``train()`` always
    adds it first."""

    def after_epoch(self, loop: Loop) -> None:
        val = loop.val_data
        loop.recorder.epoch_done(
            epoch=loop.epoch,
            val_loss=evaluate(loop.model, val, loop.loss_fn) if val is not None else None,
            time=loop.clock.read(),
        )


class FullTrainLoss(Hook):
    """Also measure the loss on all the training data at each epoch's end
    (``History.epochs.full_train_loss``, like for like with ``val_loss``; not training time)."""

    def after_epoch(self, loop: Loop) -> None:
        loss = evaluate(loop.model, loop.train_data, loop.loss_fn)
        loop.recorder.history.epochs.full_train_loss[-1] = loss


class ClipGradNorm(Hook):
    """Rescale the gradient to norm at most ``max_norm`` between ``backward()`` and ``step()``
    (``torch.nn.utils.clip_grad_norm_``); record the norm before clipping
    (``History.iterations.grad_norm``)."""

    def __init__(self, max_norm: float):
        self.max_norm = check_float("max_norm", max_norm, low=0.0, low_open=True)

    def after_backward(self, loop: Loop) -> None:
        loop.grad_norm = float(nn.utils.clip_grad_norm_(loop.model.parameters(), self.max_norm))


class StepScheduler(Hook):
    """Build ``factory(optimizer)``, an ``lr_scheduler``, before training and step it once per
    update. A ``ReduceLROnPlateau`` is given a number to watch: the batch loss once per update,
    or with ``metric="val_loss"`` the validation loss once per epoch."""

    def __init__(self, factory: Callable[[torch.optim.Optimizer], object], metric: str = "batch_loss"):  # fmt: skip
        self.factory = check_scheduler_factory(factory)
        self.metric = check_choice("metric", metric, ("batch_loss", "val_loss"))
        self.schedule = None

    def before_training(self, loop: Loop) -> None:
        schedule = make_scheduler(self.factory, loop.optimizer)
        on_plateau = isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau)
        if self.metric == "val_loss" and (not on_plateau or loop.val_data is None):
            raise ValueError(
                "metric='val_loss' steps a ReduceLROnPlateau on the validation loss once per "
                "epoch: give scheduler=lambda opt: ReduceLROnPlateau(opt, ...) and val_data"
            )
        self.schedule, self.on_plateau = schedule, on_plateau
        loop.recorder.history.config["scheduler"] = type(schedule).__name__

    def after_step(self, loop: Loop) -> None:
        if self.metric == "batch_loss":
            self.schedule.step(loop.loss) if self.on_plateau else self.schedule.step()

    def after_epoch(self, loop: Loop) -> None:
        if self.metric == "val_loss":
            self.schedule.step(loop.recorder.history.epochs.val_loss[-1])


class RecordParams(Hook):
    """Keep a copy of every parameter before training and after each update
    (``History.params``, read with ``History.param_trajectory``)."""

    def before_training(self, loop: Loop) -> None:
        loop.recorder.history.params = [_snapshot(loop.model)]

    def after_iteration(self, loop: Loop) -> None:
        loop.recorder.history.params.append(_snapshot(loop.model))


class ProgressBar(Hook):
    """A ``tqdm.auto`` bar of iterations. ``train()`` adds one by itself for long runs in an
    interactive session (never while notebooks are rendered); pass it to always have one."""

    def __init__(self, show: bool | None = True):
        if show is not None:
            check_bool("show", show)
        self.show, self.bar = show, None

    def before_training(self, loop: Loop) -> None:
        total = loop.epochs * (loop.iterations_per_epoch or 0)
        self.bar = progress_bar(total, progress=self.show, desc="iterations")

    def after_iteration(self, loop: Loop) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def after_training(self, loop: Loop) -> None:
        if self.bar is not None:
            self.bar.close()


class EvaluateEvery(Hook):
    """Loss on all the training (and validation) data before training and every ``k`` updates,
    outside the training time (``History.evals``)."""

    def __init__(self, k: int):
        self.k = check_int("k", k, low=1)

    def before_training(self, loop: Loop) -> None:
        self.evaluate(loop)

    def after_iteration(self, loop: Loop) -> None:
        if loop.recorder.iteration % self.k == 0:
            with loop.clock.paused():
                self.evaluate(loop)

    @staticmethod
    def evaluate(loop: Loop) -> None:
        fn, val = loop.loss_fn, loop.val_data
        loop.recorder.evaluation_done(
            train_loss=evaluate(loop.model, loop.train_data, fn),
            val_loss=evaluate(loop.model, val, fn) if val is not None else None,
            time=loop.clock.read(),
        )


class StopWhen(Hook):
    """Stop when ``condition(record)`` returns True, ``record`` being the iteration just done
    (``History.stopped_at``)."""

    def __init__(self, condition: Callable[[dict], bool | None]):
        if not callable(condition):
            raise TypeError(
                f"condition must be a function record -> bool, got {type(condition).__name__}"
            )
        self.condition = condition

    def after_iteration(self, loop: Loop) -> bool:
        return bool(self.condition(loop.record))


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of every named parameter."""
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def make_scheduler(factory, optimizer: torch.optim.Optimizer):
    """``factory(optimizer)`` checked: a function ``optimizer -> lr_scheduler`` (or None).

    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> make_scheduler(lambda o: torch.optim.lr_scheduler.StepLR(o, 10), opt).get_last_lr()
    [0.1]
    """
    if factory is None:
        return None
    schedule = check_scheduler_factory(factory)(optimizer)
    if not callable(getattr(schedule, "step", None)):
        raise TypeError(
            f"scheduler(optimizer) must return an object with .step(), got {type(schedule).__name__}"
        )
    return schedule


def check_scheduler_factory(factory):
    """``factory`` if it is a function ``optimizer -> lr_scheduler``, else the error naming it."""
    if isinstance(factory, torch.optim.lr_scheduler.LRScheduler):
        raise TypeError(
            "scheduler must be a function optimizer -> scheduler, e.g. "
            "lambda opt: StepLR(opt, step_size=100), not a scheduler already bound to an optimizer"
        )
    if not callable(factory):
        raise TypeError(
            f"scheduler must be a function optimizer -> scheduler, got {type(factory).__name__}"
        )
    return factory
