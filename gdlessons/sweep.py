"""Train many configurations at once: K copies of a small model as one batched computation.

A tiny model on a CPU spends most of each step on per-operation overhead, not arithmetic, so
training K copies one after another costs about K times the overhead. :func:`sweep` stacks the
K copies' parameters into one ``(K, P)`` tensor and runs every step for all of them together:

* an MLP of ``nn.Linear`` + ``nn.ReLU`` layers (``nn.Sequential``) with the MSE or cross-entropy
  loss takes a fast path: batched matrix products and a hand-written backward pass;
* any other buffer-free model (``LinearModel``, custom losses...) goes through
  ``torch.func``: ``vmap`` over ``grad`` of ``functional_call``.

Every configuration sees the same batches as :func:`gdlessons.training.train` with the same
``seed``, and is updated with the rule of the ``torch.optim`` optimizer it names (SGD, AdaGrad,
RMSProp, Adam, AdamW, with their own hyper-parameters), vectorised over configurations: the
rules are elementwise, so each hyper-parameter is a ``(K, 1)`` column and every row follows its
own. Each configuration gets its own :class:`~gdlessons.history.History`, with the same meaning
as ``train()``'s. A configuration whose loss turns non-finite stops updating (its parameters
stay as they were before that step, as in ``train()``); the others carry on.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from gdlessons._validate import check_float, check_int
from gdlessons.batching import DEFAULT_BATCH_SIZE, EpochBatches
from gdlessons.checks import check_model_fits, check_training_data
from gdlessons.history import History, Recorder
from gdlessons.hooks import make_scheduler
from gdlessons.metrics import LOSSES, resolve_loss
from gdlessons.training import OPTIMIZERS, OPTIONS, check_options

GENERAL_KEYS = (
    "optimizer",
    "lr",
    "weight_decay",
    "seed",
    "scheduler",
)  # beside each optimizer's own
CONFIG_KEYS = GENERAL_KEYS + tuple(
    dict.fromkeys(key for options in OPTIONS.values() for key in options)
)


@dataclass(frozen=True)
class SweepConfig:
    """One configuration of a sweep, checked like :func:`~gdlessons.training.make_optimizer`.

    ``optimizer`` names a :data:`~gdlessons.training.OPTIMIZERS` entry and ``options`` holds its
    own arguments (:data:`OPTIONS`, defaults filled in), so ``OPTIMIZERS[optimizer](params,
    lr=lr, weight_decay=weight_decay, **options)`` is the optimizer ``train()`` would build.
    ``seed`` is the initialisation seed passed to the model factory (the batch order is shared by
    every configuration and set by ``sweep(seed=...)``); ``None`` when models are given.
    """

    lr: float
    optimizer: str = "sgd"
    weight_decay: float = 0.0
    options: dict = field(default_factory=lambda: dict(OPTIONS["sgd"]))
    seed: int | None = None
    scheduler: Callable | None = None


def grid(**values: Sequence) -> list[dict]:
    """Every combination of the given values, as a list of config dicts for :func:`sweep`.

    >>> grid(lr=[0.1, 0.01], momentum=[0.0, 0.9])[1]
    {'lr': 0.1, 'momentum': 0.9}
    >>> len(grid(optimizer=["adam", "adamw"], lr=[1e-3, 3e-3], weight_decay=[0.0, 0.1]))
    8
    """
    import itertools

    for key, options in values.items():
        if key not in CONFIG_KEYS:
            raise ValueError(f"grid keys must be among {list(CONFIG_KEYS)}, got {key!r}")
        if isinstance(options, (str, bytes)) or not isinstance(options, Sequence):
            raise TypeError(f"grid({key}=...) must be a list of values, got {options!r}")
        if len(options) == 0:
            raise ValueError(f"grid({key}=...) must hold at least one value, got an empty list")
    keys = list(values)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values.values())]


def sweep(
    models: nn.Module | Sequence[nn.Module] | Callable[[int], nn.Module],
    data,
    configs: Sequence[dict],
    *,
    batch_size: int | str | None = DEFAULT_BATCH_SIZE,
    epochs: int = 1,
    accumulation_steps: int = 1,
    val_data=None,
    loss: str | Callable = "mse",
    seed: int = 0,
    batches=None,
    record_params: bool = False,
) -> list[History]:
    """Train one copy of a model per configuration, all at once; one History per configuration.

    ``models`` is a single model (every configuration starts from a copy of it, which is left
    untouched), a list with one model per configuration (trained in place, like ``train()``), or a
    factory ``seed -> model`` called with each configuration's ``seed`` (default 0), so that
    configurations can differ in their initialisation. ``configs`` are dicts (see :func:`grid`)
    with ``lr``, optionally ``optimizer`` (``"sgd"``, the default, ``"adagrad"``, ``"rmsprop"``,
    ``"adam"`` or ``"adamw"``), ``weight_decay``, that optimizer's own arguments under
    ``torch.optim``'s names and defaults (:data:`OPTIONS`: ``momentum`` and ``nesterov`` for SGD;
    ``lr_decay``, ``initial_accumulator_value`` and ``eps`` for AdaGrad; ``alpha``, ``eps`` and
    ``momentum`` for RMSProp; ``betas`` and ``eps`` for Adam and AdamW), ``seed`` and
    ``scheduler`` (a function ``optimizer -> lr_scheduler`` as in ``train()``, stepped once per
    update, ``ReduceLROnPlateau`` with the batch loss; it drives a stand-in optimizer of the
    configuration's kind, whose learning rate, momentum and betas the sweep reads before every
    update). Configurations may name different optimizers. The other arguments, ``batches``
    included, mean what they mean in :func:`~gdlessons.training.train`;
    each configuration's History matches the ``train()`` run with the same settings (to float
    rounding); its ``time`` columns are the whole sweep's clock, shared by all configurations,
    and its config adds ``init_seed`` and the optimizer's own arguments. Not supported here:
    hooks and optimizer factories; ``record_params=True`` records what ``RecordParams()`` does.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> configs = [{"lr": 0.01}, {"lr": 0.1, "momentum": 0.9}, {"optimizer": "adam", "lr": 1e-3}]
    >>> hs = sweep(tutorial_mlp(), quadratic_data(100), configs, batch_size=32, epochs=2)
    >>> [h.config["optimizer"] for h in hs], hs[1].epochs.iteration
    (['SGD', 'SGD', 'Adam'], [4, 8])
    """
    X, y = check_training_data(data, "data")
    n = len(X)
    epochs = check_int("epochs", epochs, low=1)
    seed = check_int("seed", seed, low=0)
    batches = EpochBatches(batches, X, y, batch_size=batch_size, seed=seed)
    batch_size = batches.batch_size
    accumulation_steps = check_int("accumulation_steps", accumulation_steps, low=1, high=batch_size)
    loss_fn = resolve_loss(loss)
    val = check_training_data(val_data, "val_data") if val_data is not None else None
    cfgs = _check_configs(configs, factory=callable(models) and not isinstance(models, nn.Module))
    nets, write_back = _build_models(models, cfgs)
    check_model_fits(nets[0], X, y, loss, "data")
    if val is not None:
        check_model_fits(nets[0], *val, loss, "val_data")
    if not isinstance(record_params, bool):
        raise TypeError(f"record_params must be True or False, got {record_params!r}")
    stack = _Stack(nets)
    engine = _engine(nets[0], stack, loss, loss_fn)
    K = len(cfgs)
    schedules = [_stand_in(c, i) for i, c in enumerate(cfgs)]
    groups = [opt.param_groups[0] for _, opt in schedules]  # each configuration's settings
    scheduled = any(sch is not None for sch, _ in schedules)
    on_plateau = any(
        isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau) for s, _ in schedules
    )
    updates = [
        _Update(name, rows, [groups[k] for k in rows], stack.flat.dtype, scheduled=scheduled)
        for name, rows in _rows_by_optimizer(cfgs).items()
    ]

    flat = stack.flat
    active = torch.ones(K, dtype=torch.bool)
    snapshots = [flat.clone()] if record_params else None
    step_losses: list[list[float]] = []  # per iteration, one loss per configuration
    step_sizes: list[int] = []
    step_epochs: list[int] = []
    step_times: list[float] = []
    step_lrs: list[list[float]] | None = [] if scheduled else None
    epoch_val: list[list[float] | None] = []
    epoch_times: list[float] = []
    clock = 0.0
    with torch.no_grad():
        for epoch in range(1, epochs + 1):
            tick = time.perf_counter()
            this_epoch = list(batches(epoch))
            logged = torch.empty(len(this_epoch), K, dtype=flat.dtype)
            i = -1
            for i, (xb, yb) in enumerate(this_epoch):
                if step_lrs is not None:  # the schedulers may have moved lr, momentum, betas
                    step_lrs.append([g["lr"] for g in groups])
                    for update in updates:
                        update.read([groups[k] for k in update.rows])
                if accumulation_steps == 1:
                    losses, grad = engine(flat, xb, yb)
                else:
                    losses, grad = _accumulate(engine, flat, xb, yb, accumulation_steps)
                logged[i] = losses
                active &= torch.isfinite(losses)
                if len(updates) == 1:
                    stepped = updates[0].step(flat, grad)
                else:
                    stepped = torch.empty_like(flat)
                    for update in updates:
                        stepped[update.index] = update.step(flat[update.index], grad[update.index])
                flat = torch.where(active.unsqueeze(1), stepped, flat)
                if snapshots is not None:
                    snapshots.append(flat)
                if scheduled:
                    batch_losses = losses.tolist() if on_plateau else None
                    for k, (sch, _) in enumerate(schedules):
                        if isinstance(sch, torch.optim.lr_scheduler.ReduceLROnPlateau):
                            sch.step(batch_losses[k])  # as train(): the batch loss
                        elif sch is not None:
                            sch.step()
                step_sizes.append(len(xb))
                step_epochs.append(epoch)
                now = time.perf_counter()
                clock += now - tick
                tick = now
                step_times.append(clock)
            step_losses.extend(logged[: i + 1].tolist())
            epoch_times.append(clock)
            epoch_val.append(engine.evaluate(flat, *val).tolist() if val is not None else None)
            if not bool(active.any()):
                break
    stack.flat = flat
    if write_back:
        stack.write_back(nets)
    return [
        _history(k, cfgs[k], stack, snapshots, step_losses, step_sizes, step_epochs, step_times,
                 step_lrs, epoch_val, epoch_times, base_config=dict(
                     n=n, batch_size=batch_size, epochs=epochs,
                     optimizer=type(schedules[k][1]).__name__,
                     accumulation_steps=accumulation_steps,
                     seed=seed, **batches.config, iterations_per_epoch=batches.per_epoch,
                     scheduler=type(schedules[k][0]).__name__ if schedules[k][0] else None))
        for k in range(K)
    ]  # fmt: skip


def _history(
    k, cfg, stack, snapshots, losses, sizes, epochs_of, times, lrs, val, epoch_times, base_config
):
    """Cut configuration ``k``'s History out of the shared logs, stopping where it diverged."""
    config = dict(base_config)
    config.update(lr=cfg.lr, momentum=cfg.options.get("momentum", 0.0),
                  nesterov=cfg.options.get("nesterov", False),
                  weight_decay=cfg.weight_decay, init_seed=cfg.seed)  # fmt: skip
    config.update({key: value for key, value in cfg.options.items() if key not in config})
    rec = Recorder(config)

    def close(epoch: int) -> None:
        epoch_val = val[epoch - 1]
        rec.epoch_done(epoch=epoch, val_loss=epoch_val[k] if epoch_val is not None else None,
                       time=epoch_times[epoch - 1])  # fmt: skip

    epoch = 1
    for i, row in enumerate(losses):
        if epochs_of[i] != epoch:  # the previous epoch completed
            close(epoch)
            epoch = epochs_of[i]
        if not math.isfinite(row[k]):
            rec.diverged()
            break
        rec.iteration_done(epoch=epoch, loss=row[k], lr=cfg.lr if lrs is None else lrs[i][k],
                           batch_size=sizes[i], time=times[i])  # fmt: skip
    else:
        if losses:
            close(epoch)
    h = rec.history
    if snapshots is not None:
        h.params = [stack.unflatten(s[k]) for s in snapshots[: len(h.iterations.iteration) + 1]]
    return h


def _accumulate(engine, flat, xb, yb, steps: int):
    """As ``train()``: micro-batch losses weighted by their share of the batch, gradients summed."""
    size = len(xb)
    micro = math.ceil(size / steps)
    total_loss, total_grad = None, None
    for xm, ym in zip(xb.split(micro), yb.split(micro), strict=True):
        losses, grad = engine(flat, xm, ym)
        share = len(xm) / size
        total_loss = losses * share if total_loss is None else total_loss + losses * share
        total_grad = grad * share if total_grad is None else total_grad + grad * share
    return total_loss, total_grad


def _stand_in(cfg: SweepConfig, i: int):
    """``(scheduler, optimizer)``: a ``torch.optim`` optimizer of the configuration's kind and
    settings over a dummy parameter, driven by the configuration's scheduler (``None`` without
    one), so any ``torch.optim.lr_scheduler`` works unchanged; its ``param_groups[0]`` holds the
    settings the sweep applies."""
    dummy = torch.zeros(1, requires_grad=True)
    optimizer = OPTIMIZERS[cfg.optimizer](
        [dummy], lr=cfg.lr, weight_decay=cfg.weight_decay, **cfg.options
    )
    try:
        schedule = make_scheduler(cfg.scheduler, optimizer)
    except TypeError as error:
        raise TypeError(f"configs[{i}]['scheduler']: {error}") from None
    if schedule is not None:
        optimizer.step()  # a no-op (no gradient), so the scheduler sees the usual call order
    return schedule, optimizer


# --- update rules -----------------------------------------------------------------------------


def _rows_by_optimizer(cfgs: list[SweepConfig]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for k, c in enumerate(cfgs):
        rows.setdefault(c.optimizer, []).append(k)
    return rows


def _numbers(group: dict, name: str) -> dict[str, float]:
    """A param group's numeric settings for optimizer ``name``, betas as beta1 and beta2."""
    out = {"lr": float(group["lr"]), "weight_decay": float(group["weight_decay"])}
    for key in OPTIONS[name]:
        if key == "betas":
            out["beta1"], out["beta2"] = map(float, group["betas"])
        elif key != "nesterov":
            out[key] = float(group[key])
    return out


class _Update:
    """``torch.optim``'s update rule for the configurations (rows) that share one optimizer.

    The formulas are those of torch's single-tensor path (the one it takes on a CPU), with the
    same order of operations, applied to every parameter of every row at once: each setting is
    a ``(k, 1)`` column. Settings are computed in float64, as torch computes them in Python
    floats, and rounded to the parameters' dtype where they meet a tensor, as torch's kernels
    round a Python number.
    """

    def __init__(self, name: str, rows: list[int], groups: list[dict], dtype, *, scheduled: bool):
        self.name, self.rows, self.dtype = name, rows, dtype
        self.index = torch.tensor(rows)
        rules = {"sgd": self._sgd, "adagrad": self._adagrad, "rmsprop": self._rmsprop,
                 "adam": self._adam, "adamw": self._adam}  # fmt: skip
        self.step = rules[name]
        self.t = 0  # updates made, torch's state["step"]; one for all rows (a diverged row stops)
        self.state: dict[str, torch.Tensor] = {}
        self.read(groups)
        # Terms no row needs are skipped; a scheduler may raise SGD's momentum from 0, and
        # RMSProp's momentum buffer exists only if momentum > 0 at the first step, as in torch.
        self.decay = bool((self.h["weight_decay"] > 0).any())
        self.momentum = "momentum" in self.h and bool((self.h["momentum"] > 0).any())
        self.momentum |= name == "sgd" and scheduled
        self.nesterov = torch.tensor([[g.get("nesterov", False)] for g in groups])
        self.any_nesterov = bool(self.nesterov.any())

    def read(self, groups: list[dict]) -> None:
        """The rows' settings from their (stand-in) optimizers' ``param_groups[0]``: ``h`` in
        float64, ``c`` rounded as a kernel rounds a Python number."""
        settings = [_numbers(g, self.name) for g in groups]
        table = torch.tensor([list(s.values()) for s in settings], dtype=torch.float64)
        self.h = {k: col.unsqueeze(1) for k, col in zip(settings[0], table.unbind(1), strict=True)}
        self.c = {k: col.to(self.dtype) for k, col in self.h.items()}

    def _cast(self, column: torch.Tensor) -> torch.Tensor:
        return column.to(self.dtype)

    def _buffer(self, key: str, p: torch.Tensor, fill: torch.Tensor | float = 0.0) -> torch.Tensor:
        if key not in self.state:
            self.state[key] = torch.zeros_like(p) + fill
        return self.state[key]

    def _sgd(self, p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """torch.optim.SGD: g ← g + λ·p; b ← g at first, then μ·b + g; step along b (Nesterov:
        g + μ·b)."""
        c = self.c
        if self.decay:
            g = g + c["weight_decay"] * p
        if self.momentum:
            b = self.state.get("momentum_buffer")
            b = g.clone() if b is None else b.mul_(c["momentum"]).add_(g)
            self.state["momentum_buffer"] = b
            g = torch.where(self.nesterov, g + c["momentum"] * b, b) if self.any_nesterov else b
        return p - c["lr"] * g

    def _adagrad(self, p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """torch.optim.Adagrad: G ← G + g²; p ← p − η/(1 + (t − 1)·lr_decay) · g / (√G + ε)."""
        h, c = self.h, self.c
        self.t += 1
        if self.decay:
            g = g + c["weight_decay"] * p
        clr = h["lr"] / (1 + (self.t - 1) * h["lr_decay"])
        G = self._buffer("sum", p, c["initial_accumulator_value"]) + g * g
        self.state["sum"] = G
        return p + self._cast(-clr) * g / (G.sqrt() + c["eps"])

    def _rmsprop(self, p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """torch.optim.RMSprop: s ← α·s + (1 − α)·g²; p ← p − η·g / (√s + ε), or with momentum
        b ← μ·b + g / (√s + ε), p ← p − η·b."""
        h, c = self.h, self.c
        if self.decay:
            g = g + c["weight_decay"] * p
        s = self._buffer("square_avg", p) * c["alpha"] + self._cast(1 - h["alpha"]) * g * g
        self.state["square_avg"] = s
        avg = s.sqrt() + c["eps"]
        if self.momentum:
            b = self._buffer("momentum_buffer", p) * c["momentum"] + g / avg
            self.state["momentum_buffer"] = b
            return p + self._cast(-h["lr"]) * b
        return p + self._cast(-h["lr"]) * g / avg

    def _adam(self, p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """torch.optim.Adam (AdamW: p ← (1 − η·λ)·p first, instead of g ← g + λ·p):
        m ← lerp(m, g, 1 − β₁); v ← β₂·v + (1 − β₂)·g²;
        p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)."""
        h, c = self.h, self.c
        self.t += 1
        if self.decay and self.name == "adamw":
            p = p * self._cast(1 - h["lr"] * h["weight_decay"])
        elif self.decay:
            g = g + c["weight_decay"] * p
        m = self._buffer("exp_avg", p).lerp(g, self._cast(1 - h["beta1"]))
        v = self._buffer("exp_avg_sq", p) * c["beta2"] + self._cast(1 - h["beta2"]) * g * g
        self.state["exp_avg"], self.state["exp_avg_sq"] = m, v
        step_size = h["lr"] / (1 - h["beta1"] ** self.t)
        denom = v.sqrt() / self._cast((1 - h["beta2"] ** self.t).sqrt()) + c["eps"]
        return p + self._cast(-step_size) * m / denom


# --- arguments --------------------------------------------------------------------------------


def _check_configs(configs, *, factory: bool) -> list[SweepConfig]:
    if isinstance(configs, dict) or not isinstance(configs, Sequence) or isinstance(configs, str):
        raise TypeError(
            f"configs must be a list of dicts such as [{{'lr': 0.1}}], got {type(configs).__name__}"
        )
    if len(configs) == 0:
        raise ValueError("configs must hold at least one configuration, got an empty list")
    checked = []
    for i, c in enumerate(configs):
        where = f"configs[{i}]"
        if not isinstance(c, dict):
            raise TypeError(f"{where} must be a dict such as {{'lr': 0.1}}, got {type(c).__name__}")
        name = _check_optimizer(where, c.get("optimizer", "sgd"))
        given = check_options(name, c, where, besides=GENERAL_KEYS)
        if "lr" not in c:
            raise ValueError(f"{where} needs an 'lr' (learning rate), got {c!r}")
        lr = check_float(f"{where}['lr']", c["lr"], low=0.0, low_open=True)
        weight_decay = check_float(f"{where}['weight_decay']", c.get("weight_decay", 0.0), low=0.0)
        options = {**OPTIONS[name], **given}  # torch.optim's defaults for the rest
        seed = c.get("seed")
        if seed is not None:
            seed = check_int(f"{where}['seed']", seed, low=0)
            if not factory:
                raise ValueError(
                    f"{where}['seed']={seed} sets the initialisation, which needs models to be a "
                    "factory seed -> model, e.g. lambda seed: tutorial_mlp(seed=seed)"
                )
        elif factory:
            seed = 0
        checked.append(SweepConfig(lr, name, weight_decay, options, seed, c.get("scheduler")))
    return checked


def _check_optimizer(where: str, optimizer) -> str:
    if not isinstance(optimizer, str):
        raise TypeError(
            f"{where}['optimizer'] must be one of {sorted(OPTIMIZERS)} (sweep runs their update "
            f"rules itself; train() takes a factory), got {optimizer!r}"
        )
    if optimizer.lower() not in OPTIMIZERS:
        raise ValueError(
            f"{where}['optimizer'] must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}"
        )
    return optimizer.lower()


def _build_models(models, cfgs: list[SweepConfig]) -> tuple[list[nn.Module], bool]:
    """The K starting models, and whether to write the trained parameters back into them."""
    if isinstance(models, nn.Module):
        return [models] * len(cfgs), False  # _Stack copies the parameters
    if isinstance(models, (list, tuple)):
        if len(models) != len(cfgs):
            raise ValueError(
                f"models must hold one model per configuration ({len(cfgs)}), got {len(models)}"
            )
        for i, m in enumerate(models):
            if not isinstance(m, nn.Module):
                raise TypeError(f"models[{i}] must be a torch.nn.Module, got {type(m).__name__}")
        if len({id(m) for m in models}) != len(models):
            raise ValueError(
                "models must be distinct objects (each is trained in place); pass one model to copy it"
            )
        return list(models), True
    if callable(models):
        nets = [models(c.seed) for c in cfgs]
        for c, m in zip(cfgs, nets, strict=True):
            if not isinstance(m, nn.Module):
                raise TypeError(
                    f"models({c.seed}) must return a torch.nn.Module, got {type(m).__name__}"
                )
        return nets, False
    raise TypeError(
        f"models must be a torch.nn.Module, a list of them or a factory seed -> model, got {type(models).__name__}"
    )


# --- stacked parameters -----------------------------------------------------------------------


class _Stack:
    """The K models' parameters as one ``(K, P)`` tensor, so an SGD step is a few whole-tensor ops."""

    def __init__(self, nets: list[nn.Module]):
        named = list(nets[0].named_parameters())
        if not named:
            raise ValueError("the model has no parameters to train")
        if any(True for _ in nets[0].buffers()):
            raise ValueError(
                "sweep supports models without buffers (no BatchNorm or running statistics); "
                f"{type(nets[0]).__name__} has buffers: train it with train() instead"
            )
        self.names = [name for name, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        rows = []
        for i, net in enumerate(nets):
            params = dict(net.named_parameters())
            if list(params) != self.names or [p.shape for p in params.values()] != self.shapes:
                raise ValueError(
                    f"models[{i}] must have the same parameters (names and shapes) as models[0]"
                )
            rows.append(torch.cat([p.detach().reshape(-1) for p in params.values()]))
        self.flat = torch.stack(rows)

    def views(self, flat: torch.Tensor) -> list[torch.Tensor]:
        K = flat.shape[0]
        return [
            v.view(K, *s) for v, s in zip(flat.split(self.sizes, dim=1), self.shapes, strict=True)
        ]

    def unflatten(self, row: torch.Tensor) -> dict[str, torch.Tensor]:
        return {
            n: v.reshape(s).clone()
            for n, v, s in zip(self.names, row.split(self.sizes), self.shapes, strict=True)
        }

    def write_back(self, nets: list[nn.Module]) -> None:
        with torch.no_grad():
            for net, row in zip(nets, self.flat, strict=True):
                for p, value in zip(net.parameters(), self.unflatten(row).values(), strict=True):
                    p.copy_(value)


def _engine(model: nn.Module, stack: _Stack, loss, loss_fn):
    layers = _mlp_layers(model)
    if layers is not None and isinstance(loss, str):
        return _MLPEngine(stack, layers, loss)
    return _FuncEngine(model, stack, loss_fn)


def _mlp_layers(model: nn.Module) -> list[bool] | None:
    """For ``Sequential(Linear, [ReLU], Linear, [ReLU], ...)`` with biases: whether each Linear is
    followed by a ReLU. ``None`` for any other model (it takes the ``torch.func`` path)."""
    if not isinstance(model, nn.Sequential):
        return None
    relu_after: list[bool] = []
    for layer in model:
        if isinstance(layer, nn.Linear) and layer.bias is not None:
            relu_after.append(False)
        elif type(layer) is nn.ReLU and relu_after and not relu_after[-1]:
            relu_after[-1] = True
        else:
            return None
    return relu_after or None


class _MLPEngine:
    """Forward and backward of K Linear/ReLU MLPs by hand, with batched matrix products.

    Autograd would record and replay every op; writing the three lines of backward per layer
    removes that overhead, which dominates at small batch sizes."""

    def __init__(self, stack: _Stack, relu_after: list[bool], loss: str):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)} or a callable, got {loss!r}")
        self.stack, self.relu_after, self.loss = stack, relu_after, loss

    def forward(self, views, x):
        """Pre-activations are not kept: the ReLU outputs are enough for the backward pass."""
        acts = [x]
        h = x
        for j, relu in enumerate(self.relu_after):
            W, b = views[2 * j], views[2 * j + 1]
            if h.dim() == 2:  # the input batch is shared by every configuration
                h = torch.baddbmm(b.unsqueeze(1), h.expand(W.shape[0], -1, -1), W.mT)
            else:
                h = torch.baddbmm(b.unsqueeze(1), h, W.mT)
            if relu:
                h = h.relu()
            acts.append(h)
        return acts

    def losses(self, out, y):
        """Per-configuration mean loss and its gradient with respect to ``out``."""
        if self.loss == "mse":
            diff = out - y
            per = diff.square().mean(dim=(1, 2))
            return per, diff * (2.0 / diff[0].numel())
        logp = out.log_softmax(dim=-1)
        target = y.view(1, -1, 1).expand(out.shape[0], -1, 1)
        per = -logp.gather(-1, target).squeeze(-1).mean(dim=1)
        grad = logp.exp().scatter_add_(-1, target, torch.full_like(target, -1, dtype=out.dtype))
        return per, grad / out.shape[1]

    def __call__(self, flat, xb, yb):
        views = self.stack.views(flat)
        acts = self.forward(views, xb)
        per, g = self.losses(acts[-1], yb)
        grads: list[torch.Tensor] = [None] * len(views)  # type: ignore[list-item]
        for j in reversed(range(len(self.relu_after))):
            a = acts[j]
            grads[2 * j] = torch.matmul(g.mT, a)
            grads[2 * j + 1] = g.sum(dim=1)
            if j > 0:
                g = torch.bmm(g, views[2 * j])
                if self.relu_after[j - 1]:  # ReLU's backward, the op autograd itself calls
                    g = torch.ops.aten.threshold_backward(g, a, 0)
        K = flat.shape[0]
        return per, torch.cat([gr.reshape(K, -1) for gr in grads], dim=1)

    def evaluate(self, flat, X, y):
        return self.losses(self.forward(self.stack.views(flat), X)[-1], y)[0]


class _FuncEngine:
    """Any buffer-free model: ``vmap`` over configurations of ``grad`` of ``functional_call``."""

    def __init__(self, model: nn.Module, stack: _Stack, loss_fn):
        from torch.func import functional_call, grad_and_value, vmap

        self.stack = stack
        template = copy.deepcopy(model)
        names = stack.names

        def loss_of(params, xb, yb):
            return loss_fn(
                functional_call(template, dict(zip(names, params, strict=True)), (xb,)), yb
            )

        self._step = vmap(grad_and_value(loss_of), in_dims=(0, None, None))
        self._loss = vmap(loss_of, in_dims=(0, None, None))

    def __call__(self, flat, xb, yb):
        grads, per = self._step(tuple(self.stack.views(flat)), xb, yb)
        K = flat.shape[0]
        return per, torch.cat([g.reshape(K, -1) for g in grads], dim=1)

    def evaluate(self, flat, X, y):
        return self._loss(tuple(self.stack.views(flat)), X, y)
