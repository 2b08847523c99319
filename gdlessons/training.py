"""The one training loop of the course: ``train(...)`` on a ``torch.optim`` optimizer, returning a
:class:`~gdlessons.history.History`.

Every chapter trains through here. ``train()`` checks its arguments, builds the optimizer, the
batches and the hooks its options ask for, and runs :func:`gdlessons.loop.run_loop`, the loop a
student writes (chapter 01 prints it beside theirs). Words are kept apart: an *iteration* is one optimizer update,
an *epoch* one pass over the data, a *micro-batch* one forward/backward inside an accumulated
update, and *samples_seen* counts samples that contributed to updates.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from gdlessons._validate import check_bool, check_choice, check_float, check_int
from gdlessons.batching import BatchIterator
from gdlessons.data import as_tensors
from gdlessons.history import History, Recorder
from gdlessons.loop import Hook, Loop, run_loop
from gdlessons.progress import progress_bar

LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "mse": nn.functional.mse_loss,
    "cross_entropy": nn.functional.cross_entropy,
}


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
    X, y = check_training_data(data)
    loss_fn = resolve_loss(loss)
    check_model_fits(model, X, y, loss)
    was_training = model.training
    model.eval()
    try:
        return float(loss_fn(model(X), y))
    finally:
        model.train(was_training)


@torch.no_grad()
def accuracy(model: nn.Module, data) -> float:
    """Fraction of samples whose highest class score is the label.

    >>> m = nn.Linear(2, 2); m.weight.data = torch.eye(2); m.bias.data = torch.zeros(2)
    >>> accuracy(m, (torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0])))
    0.5
    """
    X, y = check_training_data(data)
    check_model_fits(model, X, y, "cross_entropy")
    was_training = model.training
    model.eval()
    try:
        return float((model(X).argmax(dim=1) == y).float().mean())
    finally:
        model.train(was_training)


OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}
DEFAULT_LR = 0.01  # the course's SGD default; the other optimizers take torch's own default


def make_optimizer(
    model: nn.Module,
    optimizer: str | Callable[[nn.Module], torch.optim.Optimizer] = "sgd",
    *,
    lr: float | None = None,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """A ``torch.optim`` optimizer with every argument checked first, so a mistake is named.

    ``optimizer`` is a name from :data:`OPTIMIZERS` or a factory ``model -> Optimizer`` (for
    parameter groups or betas); a factory sets its own rate and options, so giving ``lr``,
    ``momentum``, ``nesterov`` or ``weight_decay`` beside it is an error, not silently ignored.
    ``momentum`` may be 1, as ``torch.optim.SGD`` allows (a velocity that never decays).

    >>> make_optimizer(nn.Linear(1, 1), lr=0.1, momentum=0.9).defaults["momentum"]
    0.9
    >>> type(make_optimizer(nn.Linear(1, 1), "adam")).__name__
    'Adam'
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    momentum = check_float("momentum", momentum, low=0.0, high=1.0)
    weight_decay = check_float("weight_decay", weight_decay, low=0.0)
    check_bool("nesterov", nesterov)
    if callable(optimizer) and not isinstance(optimizer, type):
        given = {"lr": lr, "momentum": momentum or None, "nesterov": nesterov or None,
                 "weight_decay": weight_decay or None}  # fmt: skip
        clash = [f"{k}={v!r}" for k, v in given.items() if v is not None]
        if clash:
            raise ValueError(
                f"optimizer is a factory, which sets its own options; do not also pass {', '.join(clash)}"
                " (set them inside the factory)"
            )
        built = optimizer(model)
        if not isinstance(built, torch.optim.Optimizer):
            raise TypeError(
                "optimizer(model) must return a torch.optim.Optimizer, e.g. "
                f"lambda m: torch.optim.Adam(m.parameters()), got {type(built).__name__}"
            )
        check_optimizer_holds(built, model, "optimizer")
        return built
    if not isinstance(optimizer, str):
        raise TypeError(
            f"optimizer must be one of {sorted(OPTIMIZERS)} or a function model -> Optimizer, "
            f"got {optimizer!r}"
        )
    name = check_choice("optimizer", optimizer.lower(), OPTIMIZERS)
    kind = OPTIMIZERS[name]
    if lr is None:
        lr = DEFAULT_LR if name == "sgd" else kind([torch.zeros(1)]).defaults["lr"]
    lr = check_float("lr", lr, low=0.0, low_open=True)
    if name == "sgd":
        if nesterov and momentum == 0:
            raise ValueError(
                "nesterov=True needs momentum > 0 (Nesterov is a form of momentum), got momentum=0"
            )
        return kind(
            model.parameters(),
            lr=lr,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
        )
    if momentum or nesterov:
        raise ValueError(
            f"momentum and nesterov belong to optimizer='sgd'; optimizer={name!r} has its own "
            f"moment estimates (got momentum={momentum}, nesterov={nesterov})"
        )
    return kind(model.parameters(), lr=lr, weight_decay=weight_decay)


def check_optimizer_holds(
    optimizer: torch.optim.Optimizer, model: nn.Module, name: str = "optimizer"
) -> None:
    """Raise, naming ``name`` (the factory that built it), unless ``optimizer`` holds exactly
    ``model``'s trainable parameters: an optimizer over another model's parameters would
    "train" without ever moving this one.

    >>> check_optimizer_holds(torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1), nn.Linear(1, 1))
    Traceback (most recent call last):
    ...
    ValueError: optimizer (a factory model -> Optimizer) built an optimizer that does not hold the model's trainable parameters (2 of its 2 parameters belong to another model, 2 of the model's 2 trainable parameters are missing); build it from the model it is given, e.g. lambda m: torch.optim.Adam(m.parameters())
    """
    ours = {id(p) for p in model.parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    foreign = len(held - ours)
    missing = sum(1 for p in trainable if id(p) not in held)
    if foreign or missing:
        parts = []
        if foreign:
            parts.append(f"{foreign} of its {len(held)} parameters belong to another model")
        if missing:
            parts.append(
                f"{missing} of the model's {len(trainable)} trainable parameters are missing"
            )
        raise ValueError(
            f"{name} (a factory model -> Optimizer) built an optimizer that does not hold the "
            f"model's trainable parameters ({', '.join(parts)}); build it from the model it is "
            "given, e.g. lambda m: torch.optim.Adam(m.parameters())"
        )


def train(
    model: nn.Module,
    data,
    *,
    batch_size: int | str | None = 32,
    epochs: int = 1,
    optimizer: str | Callable[[nn.Module], torch.optim.Optimizer] = "sgd",
    lr: float | None = None,
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
    full_train_loss: bool = False,
    clip_grad_norm: float | None = None,
    plateau_metric: str = "batch_loss",
    record_params: bool = False,
    callback: Callable[[dict], bool | None] | None = None,
    progress: bool | None = None,
    batch_indices: Callable[[int], list[torch.Tensor]] | None = None,
) -> History:
    """Train ``model`` in place and return its :class:`~gdlessons.history.History`.

    The loop is the one chapter 01 writes by hand: for each batch, forward, loss, ``backward()``,
    ``optimizer.step()``, ``optimizer.zero_grad()``. ``batch_size="full"`` is batch gradient
    descent, ``1`` stochastic, anything between mini-batch. ``optimizer`` is ``"sgd"`` (default,
    ``lr`` 0.01), ``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"`` or a factory
    ``model -> Optimizer``. ``accumulation_steps=k`` splits each batch into micro-batches of
    ceil(B/k) samples (a batch of 10 with k=4: 3 + 3 + 3 + 1) whose losses are weighted by their
    share of the batch, and makes one update per batch. ``scheduler`` is a function
    ``optimizer -> lr_scheduler`` stepped once per iteration (``ReduceLROnPlateau`` is given the
    batch loss). ``seed`` fixes the batch order; ``batch_indices(epoch)`` (epoch counted from 1)
    may instead give each batch's sample indices, e.g. a ``DistributedSampler``'s order, and then
    ``shuffle``, ``drop_last``, ``replacement`` and ``batches_per_epoch`` must stay at their
    defaults. ``full_train_loss=True`` also measures the loss on all the training data at each
    epoch's end (``History.epochs.full_train_loss``, like for like with ``val_loss``; not counted
    in the training time). ``clip_grad_norm=c`` rescales the gradient to norm at most c between
    ``backward()`` and ``step()`` (``torch.nn.utils.clip_grad_norm_``) and records the norm before
    clipping in ``History.iterations.grad_norm``. ``plateau_metric="val_loss"`` steps a
    ``ReduceLROnPlateau`` once per epoch on the validation loss instead of once per iteration on
    the batch loss. Training stops cleanly at the first non-finite loss
    (``History.diverged_at``) or when ``callback(record)`` returns True.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> h = train(tutorial_mlp(), quadratic_data(100), batch_size=32, epochs=2, lr=0.01)
    >>> h.epochs.iteration, h.epochs.samples_seen
    ([4, 8], [100, 200])
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    X, y = check_training_data(data, "data")
    n = len(X)
    batch_size = resolve_batch_size(batch_size, n)
    epochs = check_int("epochs", epochs, low=1)
    accumulation_steps = check_int("accumulation_steps", accumulation_steps, low=1, high=batch_size)
    if evaluate_every is not None:
        evaluate_every = check_int("evaluate_every", evaluate_every, low=1)
    for name, flag in (("shuffle", shuffle), ("drop_last", drop_last), ("replacement", replacement),
                       ("record_params", record_params), ("full_train_loss", full_train_loss)):  # fmt: skip
        check_bool(name, flag)
    if callback is not None and not callable(callback):
        raise TypeError(
            f"callback must be a function record -> bool, got {type(callback).__name__}"
        )
    if batch_indices is not None:
        if not callable(batch_indices):
            raise TypeError(
                f"batch_indices must be a function epoch -> list of index tensors, got {type(batch_indices).__name__}"
            )
        given = {"shuffle": (shuffle, True), "drop_last": (drop_last, False),
                 "replacement": (replacement, False), "batches_per_epoch": (batches_per_epoch, None)}  # fmt: skip
        clash = [f"{k}={v!r}" for k, (v, default) in given.items() if v != default]
        if clash:
            raise ValueError(
                f"batch_indices decides every batch, so {', '.join(clash)} would be ignored: "
                "leave them at their defaults"
            )
    if clip_grad_norm is not None:
        clip_grad_norm = check_float("clip_grad_norm", clip_grad_norm, low=0.0, low_open=True)
    check_choice("plateau_metric", plateau_metric, ("batch_loss", "val_loss"))
    loss_fn = resolve_loss(loss)
    check_model_fits(model, X, y, loss, "data")
    val = check_training_data(val_data, "val_data") if val_data is not None else None
    if val is not None:
        check_model_fits(model, *val, loss, "val_data")
    opt = make_optimizer(
        model, optimizer, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
    )
    group = dict(opt.param_groups[0])  # as set, before a scheduler's first value
    schedule = make_scheduler(scheduler, opt)
    on_plateau = isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau)
    per_epoch_plateau = plateau_metric == "val_loss"
    if per_epoch_plateau and (not on_plateau or val is None):
        raise ValueError(
            "plateau_metric='val_loss' steps a ReduceLROnPlateau scheduler on the validation loss: "
            "give scheduler=lambda opt: ReduceLROnPlateau(opt, ...) and val_data"
        )
    if batch_indices is None:
        batches = BatchIterator(
            X, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
            replacement=replacement, batches_per_epoch=batches_per_epoch, seed=seed,
        )  # fmt: skip
        per_epoch = len(batches)
    else:
        first_epoch = _check_batch_indices(batch_indices(1), 1, n)
        per_epoch = len(first_epoch)
    rec = Recorder(
        config=dict(
            n=n, batch_size=batch_size, epochs=epochs, optimizer=type(opt).__name__,
            lr=group["lr"], momentum=group.get("momentum", 0.0), nesterov=group.get("nesterov", False),
            weight_decay=group.get("weight_decay", 0.0), accumulation_steps=accumulation_steps,
            seed=seed, shuffle=shuffle, drop_last=drop_last, replacement=replacement,
            iterations_per_epoch=per_epoch, scheduler=type(schedule).__name__ if schedule else None,
        ),
        params=[_snapshot(model)] if record_params else None,
    )  # fmt: skip
    history = rec.history
    orders = {1: first_epoch} if batch_indices is not None else {}

    def epoch_batches(epoch: int):
        if batch_indices is None:
            return batches  # each pass over the iterator is a new epoch
        order = orders.pop(epoch, None) or _check_batch_indices(batch_indices(epoch), epoch, n)
        return ((X[idx], y[idx]) for idx in order)

    hooks: list[Hook] = [RecordEpoch((X, y), val, full_train_loss)]
    if clip_grad_norm is not None:
        hooks.append(ClipGradNorm(clip_grad_norm))
    if schedule is not None:
        hooks.append(StepScheduler(schedule, per_epoch=per_epoch_plateau))
    if record_params:
        hooks.append(RecordParams())
    bar = progress_bar(epochs * per_epoch, progress=progress, desc="iterations")
    if bar is not None:
        hooks.append(ProgressBar(bar))
    if evaluate_every:
        hooks.append(EvaluateEvery(evaluate_every, (X, y), val))
    if callback is not None:
        hooks.append(StopWhen(callback))

    loop = Loop(model, opt, loss_fn, rec, accumulation_steps=accumulation_steps)
    model.train()
    opt.zero_grad(set_to_none=True)
    if evaluate_every:
        EvaluateEvery.evaluate(loop, (X, y), val)
    try:
        run_loop(loop, epoch_batches, epochs, hooks)
    finally:
        if bar is not None:
            bar.close()
    return history


# ---------------------------------------------------------------------------------------------
# The hooks train() builds from its arguments (see gdlessons.loop for the points they act at)
# ---------------------------------------------------------------------------------------------


class RecordEpoch(Hook):
    """Close each epoch in the History: validation loss and, if asked, the full-data training loss
    (measured after the epoch's last update, outside the training time)."""

    def __init__(self, train_data, val_data, full_train_loss: bool):
        self.train_data, self.val_data = train_data, val_data
        self.full_train_loss = check_bool("full_train_loss", full_train_loss)

    def after_epoch(self, loop: Loop) -> None:
        val, fn = self.val_data, loop.loss_fn
        loop.recorder.epoch_done(
            epoch=loop.epoch,
            val_loss=evaluate(loop.model, val, fn) if val is not None else None,
            full_train_loss=evaluate(loop.model, self.train_data, fn)
            if self.full_train_loss
            else None,
            time=loop.clock.read(),
        )


class ClipGradNorm(Hook):
    """Rescale the gradient to norm at most ``max_norm`` before the step; record the norm before."""

    def __init__(self, max_norm: float):
        self.max_norm = check_float("clip_grad_norm", max_norm, low=0.0, low_open=True)

    def after_backward(self, loop: Loop) -> None:
        loop.grad_norm = float(nn.utils.clip_grad_norm_(loop.model.parameters(), self.max_norm))


class StepScheduler(Hook):
    """Step an ``lr_scheduler`` once per update; a ``ReduceLROnPlateau`` is given the batch loss,
    or, with ``per_epoch``, stepped once per epoch on the validation loss."""

    def __init__(self, schedule, *, per_epoch: bool = False):
        if not callable(getattr(schedule, "step", None)):
            raise TypeError(f"schedule must be an lr_scheduler, got {type(schedule).__name__}")
        self.schedule, self.per_epoch = schedule, check_bool("per_epoch", per_epoch)
        self.on_plateau = isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau)

    def after_step(self, loop: Loop) -> None:
        if not self.per_epoch:
            self.schedule.step(loop.loss) if self.on_plateau else self.schedule.step()

    def after_epoch(self, loop: Loop) -> None:
        if self.per_epoch:
            self.schedule.step(loop.recorder.history.epochs.val_loss[-1])


class RecordParams(Hook):
    """Keep a copy of every parameter after each update (``History.params``)."""

    def after_iteration(self, loop: Loop) -> None:
        loop.recorder.history.params.append(_snapshot(loop.model))


class ProgressBar(Hook):
    """Advance a ``tqdm`` bar by one update."""

    def __init__(self, bar):
        if not callable(getattr(bar, "update", None)):
            raise TypeError(f"bar must be a tqdm progress bar, got {type(bar).__name__}")
        self.bar = bar

    def after_iteration(self, loop: Loop) -> None:
        self.bar.update(1)


class EvaluateEvery(Hook):
    """Loss on all the training (and validation) data every ``k`` updates, outside the training
    time (``History.evals``)."""

    def __init__(self, k: int, train_data, val_data):
        self.k = check_int("evaluate_every", k, low=1)
        self.train_data, self.val_data = train_data, val_data

    def after_iteration(self, loop: Loop) -> None:
        if loop.recorder.iteration % self.k == 0:
            with loop.clock.paused():
                self.evaluate(loop, self.train_data, self.val_data)

    @staticmethod
    def evaluate(loop: Loop, train_data, val_data) -> None:
        fn = loop.loss_fn
        loop.recorder.evaluation_done(
            train_loss=evaluate(loop.model, train_data, fn),
            val_loss=evaluate(loop.model, val_data, fn) if val_data is not None else None,
            time=loop.clock.read(),
        )


class StopWhen(Hook):
    """Stop when ``callback(record)`` returns True (``History.stopped_at``)."""

    def __init__(self, callback: Callable[[dict], bool | None]):
        if not callable(callback):
            raise TypeError(
                f"callback must be a function record -> bool, got {type(callback).__name__}"
            )
        self.callback = callback

    def after_iteration(self, loop: Loop) -> bool:
        return bool(self.callback(loop.record))


def check_training_data(data, name: str = "data") -> tuple[torch.Tensor, torch.Tensor]:
    """``as_tensors`` plus what training needs: floating-point inputs and finite values, so bad
    data is named as bad data instead of showing up later as a "diverged" run.

    >>> check_training_data((torch.tensor([[1.0], [float("nan")]]), torch.zeros(2, 1)))
    Traceback (most recent call last):
    ...
    ValueError: data: X holds a non-finite value (nan) in sample 1; clean the data before training
    """
    X, y = as_tensors(data, name)
    if not X.is_floating_point():
        raise TypeError(
            f"{name}: X must hold floating-point values, got dtype {X.dtype}; convert it with X.float()"
        )
    for label, tensor in (("X", X), ("y", y)):
        if tensor.is_floating_point():
            bad = ~torch.isfinite(tensor)
            if bool(bad.any()):
                row = int(bad.reshape(len(tensor), -1).any(dim=1).nonzero()[0])
                value = tensor.reshape(len(tensor), -1)[row][bad.reshape(len(tensor), -1)[row]][0]
                raise ValueError(
                    f"{name}: {label} holds a non-finite value ({float(value)}) in sample {row}; "
                    "clean the data before training"
                )
    return X, y


def check_model_fits(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss, name: str = "data"
) -> None:
    """One forward pass on two samples (eval mode, no gradients, nothing changed) to check that
    ``model`` takes ``X`` and that its output and ``y`` fit ``loss``, so a mismatch is named
    before training instead of broadcasting silently or failing deep inside torch.

    >>> from gdlessons.models import tutorial_mlp
    >>> check_model_fits(tutorial_mlp(), torch.zeros(4, 1), torch.zeros(4), "mse")
    Traceback (most recent call last):
    ...
    ValueError: data: targets y have shape (4,) but the model outputs (4, 1) per batch of 4: mse would broadcast them into a meaningless loss; reshape y with y.reshape(-1, 1)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = [p for p in model.parameters() if p.is_floating_point()]
    if params and X.is_floating_point() and X.dtype != params[0].dtype:
        raise TypeError(
            f"{name}: X holds {X.dtype} but the model's parameters are {params[0].dtype}; "
            f"convert the data with X.to({params[0].dtype}) (or the model with model.to(X.dtype))"
        )
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(X[:2])
    except RuntimeError as err:
        raise ValueError(
            f"{name}: the model cannot take X of shape {tuple(X.shape)} ({str(err).splitlines()[0]}); "
            "check the number of input features"
        ) from None
    finally:
        model.train(was_training)
    if loss == "mse" or loss is nn.functional.mse_loss:
        if out.shape[1:] != y.shape[1:]:
            n = len(X)
            fix = " with y.reshape(-1, 1)" if y.dim() == 1 and out.shape[1:] == (1,) else ""
            raise ValueError(
                f"{name}: targets y have shape {tuple(y.shape)} but the model outputs "
                f"{(n, *out.shape[1:])} per batch of {n}: mse would broadcast them into a "
                f"meaningless loss; reshape y{fix}"
            )
        if not y.is_floating_point():
            raise TypeError(
                f"{name}: mse needs floating-point targets y, got {y.dtype}; use y.float()"
            )
    elif loss == "cross_entropy" or loss is nn.functional.cross_entropy:
        if y.is_floating_point() or y.dim() != 1:
            raise TypeError(
                f"{name}: cross_entropy needs class labels y as a 1-D integer tensor, got {y.dtype} "
                f"of shape {tuple(y.shape)}; use y.long() (and y.reshape(-1))"
            )
        classes = out.shape[1] if out.dim() == 2 else None
        low, high = int(y.min()), int(y.max())
        if classes is not None and (low < 0 or high >= classes):
            raise ValueError(
                f"{name}: class labels must lie in 0..{classes - 1} (the model outputs {classes} "
                f"scores per sample), got labels from {low} to {high}"
            )


def _check_batch_indices(order, epoch: int, n: int) -> list:
    """``batch_indices(epoch)`` checked before any batch is taken: a non-empty list of non-empty
    integer index tensors (or lists) with every index in 0..n-1."""
    where = f"batch_indices({epoch})"
    if isinstance(order, (str, bytes)) or not hasattr(order, "__iter__"):
        raise TypeError(f"{where} must return a list of index tensors, got {type(order).__name__}")
    order = list(order)
    if not order:
        raise ValueError(f"{where} must return at least one batch of indices, got none")
    for i, idx in enumerate(order):
        try:
            t = torch.as_tensor(idx)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(
                f"{where}[{i}] must be a tensor or list of integer indices, got {idx!r}"
            ) from None
        if t.dtype == torch.bool or t.is_floating_point() or t.is_complex():
            raise TypeError(
                f"{where}[{i}] must hold integer sample indices in 0..{n - 1} (n={n}), got dtype {t.dtype}"
            )
        if t.dim() != 1 or t.numel() == 0:
            raise ValueError(
                f"{where}[{i}] must be a non-empty 1-D list of sample indices, got shape {tuple(t.shape)}"
            )
        low, high = int(t.min()), int(t.max())
        if low < 0 or high >= n:
            raise ValueError(
                f"{where}[{i}] holds index {low if low < 0 else high}: sample indices must lie in "
                f"0..{n - 1} (the data has n={n} samples)"
            )
    return order


def make_scheduler(factory, optimizer: torch.optim.Optimizer):
    """``factory(optimizer)`` checked: a function ``optimizer -> lr_scheduler`` (or None).

    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> make_scheduler(lambda o: torch.optim.lr_scheduler.StepLR(o, 10), opt).get_last_lr()
    [0.1]
    """
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


def confusion_matrix(model: torch.nn.Module, data, classes: int = 10) -> np.ndarray:
    """Counts of (true class, predicted class) pairs: the diagonal is right, the rest shows
    which digits are taken for which.

    >>> m = torch.nn.Linear(2, 2); m.weight.data = torch.eye(2); m.bias.data = torch.zeros(2)
    >>> confusion_matrix(m, (torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([0, 1])), classes=2).tolist()
    [[1, 0], [1, 0]]
    """
    classes = check_int("classes", classes, low=2)
    X, y = check_training_data(data)
    check_model_fits(model, X, y, "cross_entropy")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        scores = model(X)
    model.train(was_training)
    if scores.shape[1] != classes or int(y.max()) >= classes:
        raise ValueError(
            f"classes must be the number of classes the model scores ({scores.shape[1]}), "
            f"with every label in 0..classes-1 (labels reach {int(y.max())}); got classes={classes}"
        )
    predicted = scores.argmax(dim=1)
    counts = torch.bincount(y * classes + predicted, minlength=classes * classes)
    return counts.reshape(classes, classes).numpy()
