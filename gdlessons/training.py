"""The one training loop of the course: ``train(...)`` on a ``torch.optim`` optimizer, returning a
:class:`~gdlessons.history.History`, and the factories it builds the optimizer and scheduler with.

Every chapter trains through here. ``train()`` checks its arguments, builds the optimizer, the
batches and the hooks its options ask for, and runs :func:`gdlessons.loop.run_loop`, the loop a
student writes (chapter 01 prints it beside theirs). Words are kept apart: an *iteration* is one
optimizer update, an *epoch* one pass over the data, a *micro-batch* one forward/backward inside an
accumulated update, and *samples_seen* counts samples that contributed to updates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from gdlessons._validate import check_bool, check_choice, check_float, check_int
from gdlessons.batching import DEFAULT_BATCH_SIZE, EpochBatches
from gdlessons.checks import check_model_fits, check_training_data
from gdlessons.history import Recorder
from gdlessons.hooks import ProgressBar, RecordEpoch, StepScheduler
from gdlessons.loop import Hook, Hooks, Loop, run_loop
from gdlessons.metrics import resolve_loss

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}
DEFAULT_LR = 0.01  # the course's SGD default; the other optimizers take torch's own default


# Each optimizer's own keyword arguments besides lr and weight_decay, named and defaulted as in
# torch.optim (weight_decay defaults to 0 for every optimizer, AdamW included).
OPTIONS: dict[str, dict[str, object]] = {
    "sgd": {"momentum": 0.0, "nesterov": False},
    "adagrad": {"lr_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0},
    "adam": {"betas": (0.9, 0.999), "eps": 1e-8},
    "adamw": {"betas": (0.9, 0.999), "eps": 1e-8},
}


def make_optimizer(
    model: nn.Module,
    optimizer: str | Callable[[nn.Module], torch.optim.Optimizer] = "sgd",
    *,
    lr: float | None = None,
    weight_decay: float = 0.0,
    **options,
) -> torch.optim.Optimizer:
    """A ``torch.optim`` optimizer with every argument checked first, so a mistake is named.

    ``optimizer`` is a name from :data:`OPTIMIZERS`, with its own ``options`` (:data:`OPTIONS`:
    ``momentum`` and ``nesterov`` for SGD, ``betas`` and ``eps`` for Adam, ...), or a factory
    ``model -> Optimizer`` (for parameter groups); a factory sets its own rate and options, so
    giving any beside it is an error, not silently ignored. ``momentum`` may be 1, as
    ``torch.optim.SGD`` allows (a velocity that never decays).

    >>> make_optimizer(nn.Linear(1, 1), lr=0.1, momentum=0.9).defaults["momentum"]
    0.9
    >>> make_optimizer(nn.Linear(1, 1), "adam", betas=(0.8, 0.9)).defaults["betas"]
    (0.8, 0.9)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    weight_decay = check_float("weight_decay", weight_decay, low=0.0)
    if callable(optimizer) and not isinstance(optimizer, type):
        given = {"lr": lr, "weight_decay": weight_decay, **options}
        given = {k: v for k, v in given.items() if v not in (None, 0, False)}  # given, not zero
        clash = [f"{k}={v!r}" for k, v in given.items()]
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
    options = check_options(name, options)
    kind = OPTIMIZERS[name]
    if lr is None:
        lr = DEFAULT_LR if name == "sgd" else kind([torch.zeros(1)]).defaults["lr"]
    lr = check_float("lr", lr, low=0.0, low_open=True)
    return kind(model.parameters(), lr=lr, weight_decay=weight_decay, **options)


def check_options(name: str, options: dict, where: str = "", besides: Sequence[str] = ()) -> dict:
    """``options`` of optimizer ``name`` checked: known to it (a key that belongs to another
    optimizer says which) and each in the range its ``torch.optim`` class accepts. ``where``
    names the place they come from (``"configs[0]"``), ``besides`` the other keys allowed there.

    >>> check_options("adam", {"momentum": 0.9})
    Traceback (most recent call last):
    ...
    ValueError: optimizer 'adam' takes options among ['betas', 'eps'], got ['momentum'] ('momentum' belongs to optimizer 'sgd' or 'rmsprop')
    """
    allowed = OPTIONS[name]
    unknown = [key for key in options if key not in allowed and key not in besides]
    at = f"{where}: " if where else ""
    if unknown:
        owners = {key: [repr(o) for o in OPTIONS if key in OPTIONS[o]] for key in unknown}
        hint = "; ".join(
            f"{key!r} belongs to optimizer {' or '.join(o)}" for key, o in owners.items() if o
        )
        also = f" (besides {list(besides)})" if besides else ""
        raise ValueError(
            f"{at}optimizer {name!r} takes options among {list(allowed)}{also}, got {unknown}"
            + (f" ({hint})" if hint else "")
        )
    checked = {
        key: check_option(f"{where}[{key!r}]" if where else key, key, value)
        for key, value in options.items()
        if key in allowed
    }
    if checked.get("nesterov") and not checked.get("momentum"):
        raise ValueError(
            f"{at}nesterov=True needs momentum > 0 (Nesterov is a form of momentum), got momentum=0"
        )
    return checked


def check_option(name: str, key: str, value):
    """One optimizer argument, in the range its ``torch.optim`` class accepts; momentum and alpha
    also at most 1 (beyond it a running average grows without bound)."""
    if key == "nesterov":
        return check_bool(name, value)
    if key == "betas":
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
            raise TypeError(f"{name} must be a pair (beta1, beta2) such as (0.9, 0.999), got {value!r}")  # fmt: skip
        return tuple(
            check_float(f"{name}[{j}]", b, low=0.0, high=1.0, high_open=True)
            for j, b in enumerate(value)
        )
    if key in ("momentum", "alpha"):
        return check_float(name, value, low=0.0, high=1.0)
    return check_float(name, value, low=0.0)  # eps, lr_decay, initial_accumulator_value


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
    batch_size: int | str | None = DEFAULT_BATCH_SIZE,
    epochs: int = 1,
    optimizer: str | Callable[[nn.Module], torch.optim.Optimizer] = "sgd",
    lr: float | None = None,
    accumulation_steps: int = 1,
    scheduler: Callable[[torch.optim.Optimizer], object] | None = None,
    val_data=None,
    loss: str | Callable = "mse",
    seed: int = 0,
    batches=None,
    hooks: Sequence[Hook] = (),
    **optimizer_options,
):
    """Train ``model`` in place and return its :class:`~gdlessons.history.History`.

    The loop is the one chapter 01 writes by hand (:func:`gdlessons.loop.run_loop`): for each
    batch, forward, loss, ``backward()``, ``optimizer.step()``, ``optimizer.zero_grad()``.

    - ``batch_size="full"`` is batch gradient descent, ``1`` stochastic, anything between
      mini-batch; ``seed`` fixes the shuffled order. ``batches`` may instead be a ``DataLoader``,
      a :class:`~gdlessons.batching.BatchIterator` (for ``drop_last``, ``replacement``) or a
      function ``epoch -> index lists`` (see :class:`~gdlessons.batching.EpochBatches`).
    - ``optimizer`` is ``"sgd"`` (default, ``lr`` 0.01), ``"adagrad"``, ``"rmsprop"``,
      ``"adam"``, ``"adamw"`` or a factory ``model -> Optimizer``; ``optimizer_options``
      (``momentum=0.9``, ``betas=(0.9, 0.99)``, ...) go to :func:`make_optimizer`, which checks them.
    - ``accumulation_steps=k`` splits each batch into micro-batches of ceil(B/k) samples whose
      losses are weighted by their share of the batch, and makes one update per batch.
    - ``scheduler`` is a function ``optimizer -> lr_scheduler`` stepped once per update
      (:class:`~gdlessons.hooks.StepScheduler`).
    - ``hooks`` extend the loop (:mod:`gdlessons.hooks`): ``EvaluateEvery(k)``,
      ``FullTrainLoss()``, ``RecordParams()``, ``ClipGradNorm(c)``, ``StopWhen(condition)``,
      ``StepScheduler(factory, metric="val_loss")``, ``ProgressBar()``.

    Training stops cleanly at the first non-finite loss (``History.diverged_at``).

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> h = train(tutorial_mlp(), quadratic_data(100), batch_size=32, epochs=2, lr=0.01)
    >>> h.epochs.iteration, h.epochs.samples_seen
    ([4, 8], [100, 200])
    """
    _check_not_moved(optimizer_options)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    X, y = check_training_data(data, "data")
    epochs = check_int("epochs", epochs, low=1)
    seed = check_int("seed", seed, low=0)
    epoch_batches = EpochBatches(batches, X, y, batch_size=batch_size, seed=seed)
    accumulation_steps = check_int(
        "accumulation_steps", accumulation_steps, low=1, high=epoch_batches.batch_size
    )
    hooks = Hooks(hooks).hooks
    loss_fn = resolve_loss(loss)
    check_model_fits(model, X, y, loss, "data")
    val = check_training_data(val_data, "val_data") if val_data is not None else None
    if val is not None:
        check_model_fits(model, *val, loss, "val_data")
    opt = make_optimizer(model, optimizer, lr=lr, **optimizer_options)
    group = opt.param_groups[0]  # as set, before a scheduler's first value
    rec = Recorder(
        config=dict(
            n=len(X), batch_size=epoch_batches.batch_size, epochs=epochs,
            optimizer=type(opt).__name__, lr=group["lr"], momentum=group.get("momentum", 0.0),
            nesterov=group.get("nesterov", False), weight_decay=group.get("weight_decay", 0.0),
            accumulation_steps=accumulation_steps, seed=seed, **epoch_batches.config,
            iterations_per_epoch=epoch_batches.per_epoch, scheduler=None,
        )
    )  # fmt: skip
    loop = Loop(model, opt, loss_fn, rec, accumulation_steps=accumulation_steps,
                train_data=(X, y), val_data=val, iterations_per_epoch=epoch_batches.per_epoch)  # fmt: skip
    scheduling = [StepScheduler(scheduler)] if scheduler is not None else []
    bar = [] if any(isinstance(h, ProgressBar) for h in hooks) else [ProgressBar(show=None)]
    model.train()
    opt.zero_grad(set_to_none=True)
    run_loop(loop, epoch_batches, epochs, [RecordEpoch(), *scheduling, *hooks, *bar])
    return rec.history


# Keywords train() once had, and where each now lives: a hook, or the batches argument.
MOVED = {
    "evaluate_every": "hooks=[EvaluateEvery(k)]", "full_train_loss": "hooks=[FullTrainLoss()]",
    "record_params": "hooks=[RecordParams()]", "clip_grad_norm": "hooks=[ClipGradNorm(max_norm)]",
    "callback": "hooks=[StopWhen(condition)]",
    "plateau_metric": "hooks=[StepScheduler(factory, metric='val_loss')]",
    "progress": "hooks=[ProgressBar()] (a bar shows by itself for long interactive runs)",
    "batch_indices": "batches=<a function epoch -> list of index tensors>",
    **{key: f"batches=BatchIterator(X, y, batch_size=..., {key}=...)"
       for key in ("shuffle", "drop_last", "replacement", "batches_per_epoch")},
}  # fmt: skip


def _check_not_moved(options: dict) -> None:
    moved = [f"{key}=... is now {MOVED[key]}" for key in options if key in MOVED]
    if moved:
        raise TypeError(
            f"train() takes these through hooks and batches (gdlessons.hooks): {'; '.join(moved)}"
        )
