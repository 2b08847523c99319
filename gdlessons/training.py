"""The one training loop of the course: ``train(...)`` on ``torch.optim.SGD``, returning a History.

Every chapter trains through here. Words are kept apart: an *iteration* is one optimizer update,
an *epoch* one pass over the data, a *micro-batch* one forward/backward inside an accumulated
update, and *samples_seen* counts samples that contributed to updates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, is_dataclass

import torch
from torch import nn

from gdlessons._validate import check_choice, check_float, check_int
from gdlessons.batching import BatchIterator
from gdlessons.data import as_tensors
from gdlessons.progress import progress_bar

LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "mse": nn.functional.mse_loss,
    "cross_entropy": nn.functional.cross_entropy,
}


@dataclass
class IterationLog:
    """One entry per optimizer update; ``loss`` is the batch's mean loss before the update."""

    iteration: list[int] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    samples_seen: list[int] = field(default_factory=list)
    time: list[float] = field(default_factory=list, compare=False)


@dataclass
class EpochLog:
    """One entry per completed epoch. ``train_loss`` is the mean of that epoch's batch losses
    weighted by batch size (a short last batch counts for what it holds); ``val_loss`` is the
    loss on the validation data after the epoch, or ``None`` without validation data."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    iterations: list[int] = field(default_factory=list)
    samples_seen: list[int] = field(default_factory=list)
    time: list[float] = field(default_factory=list, compare=False)


@dataclass
class EvalLog:
    """Full-data losses measured every ``evaluate_every`` iterations (and before the first).

    Evaluation time is not counted in ``time``, which is training time only."""

    iteration: list[int] = field(default_factory=list)
    samples_seen: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    time: list[float] = field(default_factory=list, compare=False)


@dataclass(eq=False)
class History:
    """What a run did, as plain columns. Two runs compare equal when everything but wall time
    (and, when recorded, every parameter bit) is the same."""

    config: dict
    iterations: IterationLog = field(default_factory=IterationLog)
    epochs: EpochLog = field(default_factory=EpochLog)
    evals: EvalLog = field(default_factory=EvalLog)
    params: list[dict[str, torch.Tensor]] | None = None
    diverged_at: int | None = None
    stopped_at: int | None = None

    @property
    def diverged(self) -> bool:
        """True when the loss became non-finite; training stopped at ``diverged_at``."""
        return self.diverged_at is not None

    @property
    def final_train_loss(self) -> float | None:
        return self.epochs.train_loss[-1] if self.epochs.train_loss else None

    @property
    def final_val_loss(self) -> float | None:
        return self.epochs.val_loss[-1] if self.epochs.val_loss else None

    def rows(self, which: str = "epochs") -> list[dict]:
        """The ``"iterations"``, ``"epochs"`` or ``"evals"`` log as a list of dicts, one per row."""
        check_choice("which", which, ("iterations", "epochs", "evals"))
        columns = asdict(getattr(self, which))
        return [dict(zip(columns, values)) for values in zip(*columns.values())]

    def param_trajectory(self, name: str) -> torch.Tensor:
        """Stack the recorded values of parameter ``name`` (one row per update, initial first)."""
        if self.params is None:
            raise ValueError("no parameters were recorded: train with record_params=True")
        if name not in self.params[0]:
            raise ValueError(f"name must be one of {sorted(self.params[0])}, got {name!r}")
        return torch.stack([p[name] for p in self.params])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        same_params = (self.params is None) == (other.params is None) and (
            self.params is None
            or len(self.params) == len(other.params)
            and all(
                a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
                for a, b in zip(self.params, other.params)
            )
        )
        names = [f.name for f in fields(self) if f.name != "params"]
        pairs = [(getattr(self, name), getattr(other, name)) for name in names]
        return same_params and all(_same_log(a, b) if is_dataclass(a) else a == b for a, b in pairs)


def _same(a, b) -> bool:
    """Equal, with NaN equal to NaN: a run that blew up must still equal its rerun."""
    if isinstance(a, torch.Tensor):
        return a.shape == b.shape and bool(((a == b) | (a.isnan() & b.isnan())).all())
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def _same_log(a, b) -> bool:
    """Column-by-column equality of two logs, leaving out wall time (``compare=False``)."""
    columns = [(getattr(a, f.name), getattr(b, f.name)) for f in fields(a) if f.compare]
    return all(len(x) == len(y) and all(map(_same, x, y)) for x, y in columns)


def resolve_batch_size(batch_size: int | str | None, n: int) -> int:
    """``"full"`` or ``None`` means batch gradient descent (all ``n`` samples per update).

    >>> resolve_batch_size("full", 1000), resolve_batch_size(32, 1000)
    (1000, 32)
    """
    if batch_size is None or batch_size == "full":
        return n
    if isinstance(batch_size, str):
        raise ValueError(
            f"batch_size must be an integer from 1 to n={n}, 'full' or None, got {batch_size!r}"
        )
    return check_int("batch_size", batch_size, low=1, high=n)


def resolve_loss(loss: str | Callable) -> Callable[..., torch.Tensor]:
    """A loss by name (``"mse"``, ``"cross_entropy"``) or a callable returning a *mean* loss."""
    if callable(loss):
        return loss
    return LOSSES[check_choice("loss", loss, LOSSES)]


@torch.no_grad()
def evaluate(model: nn.Module, data, loss: str | Callable = "mse") -> float:
    """Mean loss of ``model`` on all of ``data``, in eval mode, without touching gradients.

    >>> from gdlessons.models import LinearModel
    >>> evaluate(LinearModel(w=1.0), (torch.ones(4, 1), torch.ones(4, 1)))
    0.0
    """
    X, y = as_tensors(data)
    was_training = model.training
    model.eval()
    try:
        return float(resolve_loss(loss)(model(X), y))
    finally:
        model.train(was_training)


@torch.no_grad()
def accuracy(model: nn.Module, data) -> float:
    """Fraction of samples whose highest class score is the label.

    >>> m = nn.Linear(2, 2); m.weight.data = torch.eye(2); m.bias.data = torch.zeros(2)
    >>> accuracy(m, (torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0])))
    0.5
    """
    X, y = as_tensors(data)
    was_training = model.training
    model.eval()
    try:
        return float((model(X).argmax(dim=1) == y).float().mean())
    finally:
        model.train(was_training)


def make_optimizer(
    model: nn.Module,
    *,
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> torch.optim.SGD:
    """``torch.optim.SGD`` with every argument checked first, so a mistake is named.

    >>> make_optimizer(nn.Linear(1, 1), lr=0.1, momentum=0.9).defaults["momentum"]
    0.9
    """
    lr = check_float("lr", lr, low=0.0, low_open=True)
    momentum = check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
    weight_decay = check_float("weight_decay", weight_decay, low=0.0)
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
    if nesterov and momentum == 0:
        raise ValueError(
            "nesterov=True needs momentum > 0 (Nesterov is a form of momentum), got momentum=0"
        )
    return torch.optim.SGD(
        model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
    )


def train(
    model: nn.Module,
    data,
    *,
    batch_size: int | str | None = 32,
    epochs: int = 1,
    lr: float = 0.01,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    accumulation_steps: int = 1,
    scheduler: Callable[[torch.optim.Optimizer], object] | None = None,
    val_data=None,
    loss: str | Callable = "mse",
    seed: int = 0,
    shuffle: bool = True,
    drop_last: bool = False,
    replacement: bool = False,
    batches_per_epoch: int | None = None,
    evaluate_every: int | None = None,
    record_params: bool = False,
    callback: Callable[[dict], bool | None] | None = None,
    progress: bool | None = None,
    batch_indices: Callable[[int], list[torch.Tensor]] | None = None,
) -> History:
    """Train ``model`` in place with mini-batch SGD and return its :class:`History`.

    ``batch_size="full"`` is batch gradient descent, ``1`` stochastic, anything between
    mini-batch. ``accumulation_steps=k`` splits each batch into micro-batches of ceil(B/k)
    samples (a batch of 10 with k=4: 3 + 3 + 3 + 1) whose losses are weighted by their share of
    the batch (so a short micro-batch counts for what it holds) and makes one update per batch. ``scheduler`` is a function ``optimizer -> lr_scheduler`` stepped
    once per update (``ReduceLROnPlateau`` is given the batch loss). ``seed`` fixes the batch
    order; ``batch_indices(epoch)`` (epoch counted from 1) may instead give each batch's sample
    indices, e.g. a ``DistributedSampler``'s order. Training stops cleanly at the first
    non-finite loss (``History.diverged_at``) or when ``callback(record)`` returns True.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> h = train(tutorial_mlp(), quadratic_data(100), batch_size=32, epochs=2, lr=0.01)
    >>> h.epochs.iterations, h.epochs.samples_seen
    ([4, 8], [100, 200])
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    X, y = as_tensors(data)
    n = len(X)
    batch_size = resolve_batch_size(batch_size, n)
    epochs = check_int("epochs", epochs, low=1)
    accumulation_steps = check_int("accumulation_steps", accumulation_steps, low=1, high=batch_size)
    if evaluate_every is not None:
        evaluate_every = check_int("evaluate_every", evaluate_every, low=1)
    loss_fn = resolve_loss(loss)
    val = as_tensors(val_data, "val_data") if val_data is not None else None
    optimizer = make_optimizer(
        model, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
    )
    schedule = _make_scheduler(scheduler, optimizer)
    on_plateau = isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau)
    batches = BatchIterator(
        X, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
        replacement=replacement, batches_per_epoch=batches_per_epoch, seed=seed,
    )  # fmt: skip
    history = History(
        config=dict(
            n=n, batch_size=batch_size, epochs=epochs, lr=lr, momentum=momentum, nesterov=nesterov,
            weight_decay=weight_decay, accumulation_steps=accumulation_steps, seed=seed,
            shuffle=shuffle, drop_last=drop_last, replacement=replacement,
            iterations_per_epoch=len(batch_indices(1)) if batch_indices else len(batches), scheduler=type(schedule).__name__ if schedule else None,
        ),
        params=[_snapshot(model)] if record_params else None,
    )  # fmt: skip
    its, eps = history.iterations, history.epochs

    def run_eval(iteration: int, seen: int, clock: float) -> None:
        ev = history.evals
        ev.iteration.append(iteration)
        ev.samples_seen.append(seen)
        ev.train_loss.append(evaluate(model, (X, y), loss_fn))
        ev.val_loss.append(evaluate(model, val, loss_fn) if val is not None else None)
        ev.time.append(clock)

    model.train()
    optimizer.zero_grad(set_to_none=True)
    iteration, seen, clock = 0, 0, 0.0
    if evaluate_every:
        run_eval(0, 0, 0.0)
    bar = progress_bar(
        epochs * history.config["iterations_per_epoch"], progress=progress, desc="iterations"
    )
    try:
        for epoch in range(1, epochs + 1):
            weighted_sum, count = 0.0, 0
            tick = time.perf_counter()
            epoch_batches = (
                ((X[idx], y[idx]) for idx in batch_indices(epoch)) if batch_indices else batches
            )
            for xb, yb in epoch_batches:
                lr_now = optimizer.param_groups[0]["lr"]
                if accumulation_steps == 1:
                    batch_loss = loss_fn(model(xb), yb)
                    batch_loss.backward()
                    value = batch_loss.item()
                else:
                    value = _accumulate(model, loss_fn, xb, yb, accumulation_steps)
                if not math.isfinite(value):
                    history.diverged_at = iteration + 1
                    optimizer.zero_grad(set_to_none=True)
                    return history
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                if schedule is not None:
                    # ReduceLROnPlateau watches a loss: it is given the batch's.
                    schedule.step(value) if on_plateau else schedule.step()
                iteration += 1
                size = xb.shape[0]
                seen += size
                weighted_sum += value * size
                count += size
                now = time.perf_counter()
                clock += now - tick
                tick = now
                its.iteration.append(iteration)
                its.epoch.append(epoch)
                its.loss.append(value)
                its.lr.append(lr_now)
                its.samples_seen.append(seen)
                its.time.append(clock)
                if record_params:
                    history.params.append(_snapshot(model))
                if bar is not None:
                    bar.update(1)
                if evaluate_every and iteration % evaluate_every == 0:
                    run_eval(iteration, seen, clock)
                    tick = time.perf_counter()
                if callback is not None and callback(
                    {
                        "iteration": iteration,
                        "epoch": epoch,
                        "loss": value,
                        "lr": lr_now,
                        "samples_seen": seen,
                    }
                ):
                    history.stopped_at = iteration
                    return history
            eps.epoch.append(epoch)
            eps.train_loss.append(weighted_sum / count)
            eps.val_loss.append(evaluate(model, val, loss_fn) if val is not None else None)
            eps.iterations.append(iteration)
            eps.samples_seen.append(seen)
            eps.time.append(clock)
    finally:
        if bar is not None:
            bar.close()
    return history


def _accumulate(model, loss_fn, xb, yb, steps: int) -> float:
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


def _make_scheduler(factory, optimizer):
    if factory is None:
        return None
    if isinstance(factory, torch.optim.lr_scheduler.LRScheduler):
        raise TypeError(
            "scheduler must be a function optimizer -> scheduler, e.g. "
            "lambda opt: StepLR(opt, step_size=100), not a scheduler already bound to an optimizer"
        )
    if not callable(factory):
        raise TypeError(
            f"scheduler must be a function optimizer -> scheduler, got {type(factory).__name__}"
        )
    schedule = factory(optimizer)
    if not hasattr(schedule, "step"):
        raise TypeError(
            f"scheduler(optimizer) must return an object with .step(), got {type(schedule).__name__}"
        )
    return schedule


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}
