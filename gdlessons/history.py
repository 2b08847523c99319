"""What a run did, as plain columns: one History shape for ``train()`` and ``sweep()``.

Words are kept apart: an *iteration* is one optimizer update, an *epoch* one pass over the data,
and *samples_seen* counts the samples that contributed to updates. Both training engines build
their History through :class:`Recorder`, so a record means the same thing whichever made it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, is_dataclass

import torch

from gdlessons._validate import check_choice, check_instance


@dataclass
class IterationLog:
    """One entry per optimizer update; ``loss`` is the batch's mean loss before the update;
    ``grad_norm`` the gradient's total norm before clipping (``None`` unless the run clips)."""

    iteration: list[int] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    samples_seen: list[int] = field(default_factory=list)
    grad_norm: list[float | None] = field(default_factory=list)
    time: list[float] = field(default_factory=list, compare=False)


@dataclass
class EpochLog:
    """One entry per completed epoch. ``train_loss`` is the *running* mean of that epoch's batch
    losses weighted by batch size (a short last batch counts for what it holds), measured while
    the weights moved, so it lags about half an epoch behind the model at the epoch's end;
    ``full_train_loss`` is the loss on all the training data at the epoch's end (in eval mode,
    like ``val_loss``, so the two compare like for like), or ``None`` unless asked for
    (``train(..., hooks=[FullTrainLoss()])``); ``val_loss`` is the loss on the validation data after
    the epoch, or ``None`` without validation data;
    ``iteration`` is the iteration count when the epoch ended (as in the other logs, the
    iteration after which the row was recorded)."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    full_train_loss: list[float | None] = field(default_factory=list)
    iteration: list[int] = field(default_factory=list)
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
        """The ``"iterations"``, ``"epochs"`` or ``"evals"`` log as a list of dicts, one per row,
        without the columns that were not recorded in this run (all ``None``)."""
        check_choice("which", which, ("iterations", "epochs", "evals"))
        columns = asdict(getattr(self, which))
        # a column nobody asked for (grad_norm without clipping, full_train_loss) is left out
        columns = {k: v for k, v in columns.items() if not v or any(x is not None for x in v)}
        return [dict(zip(columns, values)) for values in zip(*columns.values())]

    def param_trajectory(self, name: str) -> torch.Tensor:
        """Stack the recorded values of parameter ``name`` (one row per update, initial first)."""
        if self.params is None:
            raise ValueError("no parameters were recorded: train with hooks=[RecordParams()]")
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


def check_history(name: str, value: object, *, iterations: bool = True):
    """Return ``value`` if it is a :class:`History` that recorded at least one iteration (when
    ``iterations``), else raise naming ``name`` (an empty History is bad data: nothing to read off).

    >>> check_history("run", History({}), iterations=False).config
    {}
    """
    check_instance(name, value, History, "a History, as train() returns")
    if iterations and not value.iterations.iteration:
        raise ValueError(
            f"{name} must hold at least one iteration, got an empty History (bad data)"
        )
    return value


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


class Recorder:
    """Fills a :class:`History` one iteration and one epoch at a time, keeping the running
    per-epoch sums, so every engine derives ``samples_seen`` and the epoch's mean loss alike.

    >>> rec = Recorder({"n": 4})
    >>> rec.iteration_done(epoch=1, loss=2.0, lr=0.1, batch_size=3, time=0.1)["samples_seen"]
    3
    >>> _ = rec.iteration_done(epoch=1, loss=1.0, lr=0.1, batch_size=1, time=0.2)
    >>> rec.epoch_done(epoch=1, val_loss=None, time=0.2)
    >>> rec.history.epochs.train_loss, rec.history.epochs.iteration
    ([1.75], [2])
    """

    def __init__(self, config: dict, params: list[dict[str, torch.Tensor]] | None = None):
        if not isinstance(config, dict):
            raise TypeError(
                f"config must be a dict of the run's settings, got {type(config).__name__}"
            )
        self.history = History(config=config, params=params)
        self.iteration = 0
        self.samples_seen = 0
        self._loss_sum = 0.0
        self._count = 0

    def iteration_done(
        self,
        *,
        epoch: int,
        loss: float,
        lr: float,
        batch_size: int,
        time: float,
        grad_norm: float | None = None,
    ) -> dict:
        """Log one optimizer update (``loss``: the batch's mean loss before it); returns the
        record a callback sees."""
        self.iteration += 1
        self.samples_seen += batch_size
        self._loss_sum += loss * batch_size
        self._count += batch_size
        its = self.history.iterations
        its.iteration.append(self.iteration)
        its.epoch.append(epoch)
        its.loss.append(loss)
        its.lr.append(lr)
        its.samples_seen.append(self.samples_seen)
        its.grad_norm.append(grad_norm)
        its.time.append(time)
        return {
            "iteration": self.iteration,
            "epoch": epoch,
            "loss": loss,
            "lr": lr,
            "samples_seen": self.samples_seen,
        }

    def epoch_done(
        self,
        *,
        epoch: int,
        val_loss: float | None,
        time: float,
        full_train_loss: float | None = None,
    ) -> None:
        """Close an epoch: its training loss is the batch-size-weighted mean of its batch losses."""
        eps = self.history.epochs
        eps.epoch.append(epoch)
        eps.train_loss.append(self._loss_sum / self._count if self._count else math.nan)
        eps.val_loss.append(val_loss)
        eps.full_train_loss.append(full_train_loss)
        eps.iteration.append(self.iteration)
        eps.samples_seen.append(self.samples_seen)
        eps.time.append(time)
        self._loss_sum, self._count = 0.0, 0

    def evaluation_done(self, *, train_loss: float, val_loss: float | None, time: float) -> None:
        """Log a full-data evaluation made after the current iteration."""
        ev = self.history.evals
        ev.iteration.append(self.iteration)
        ev.samples_seen.append(self.samples_seen)
        ev.train_loss.append(train_loss)
        ev.val_loss.append(val_loss)
        ev.time.append(time)

    def diverged(self) -> None:
        """The next iteration's loss was not finite: the run stops before updating."""
        self.history.diverged_at = self.iteration + 1
