"""Train many configurations at once: K copies of a small model as one batched computation.

A tiny model on a CPU spends most of each step on per-operation overhead, not arithmetic, so
training K copies one after another costs about K times the overhead. :func:`sweep` stacks the
K copies' parameters into one ``(K, P)`` tensor and runs every step for all of them together:

* an MLP of ``nn.Linear`` + ``nn.ReLU`` layers (``nn.Sequential``) with the MSE or cross-entropy
  loss takes a fast path: batched matrix products and a hand-written backward pass;
* any other buffer-free model (``LinearModel``, custom losses...) goes through
  ``torch.func``: ``vmap`` over ``grad`` of ``functional_call``.

Every configuration sees the same batches as :func:`gdlessons.training.train` with the same
``seed``, and is updated with ``torch.optim.SGD``'s rule (weight decay, momentum, Nesterov),
vectorised over configurations. Each gets its own :class:`~gdlessons.training.History`, with
the same meaning as ``train()``'s. A configuration whose loss turns non-finite stops updating
(its parameters stay as they were before that step, as in ``train()``); the others carry on.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from gdlessons._validate import check_float, check_int
from gdlessons.batching import BatchIterator
from gdlessons.history import History, Recorder
from gdlessons.training import (
    LOSSES,
    check_model_fits,
    check_training_data,
    make_scheduler,
    resolve_batch_size,
    resolve_loss,
)

CONFIG_KEYS = ("lr", "momentum", "nesterov", "weight_decay", "seed", "scheduler")


@dataclass(frozen=True)
class SweepConfig:
    """One configuration of a sweep, checked like :func:`~gdlessons.training.make_optimizer`.

    ``seed`` is the initialisation seed passed to the model factory (the batch order is shared by
    every configuration and set by ``sweep(seed=...)``); ``None`` when models are given.
    """

    lr: float
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    seed: int | None = None
    scheduler: Callable | None = None


def grid(**values: Sequence) -> list[dict]:
    """Every combination of the given values, as a list of config dicts for :func:`sweep`.

    >>> grid(lr=[0.1, 0.01], momentum=[0.0, 0.9])[1]
    {'lr': 0.1, 'momentum': 0.9}
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
    batch_size: int | str | None = 32,
    epochs: int = 1,
    accumulation_steps: int = 1,
    val_data=None,
    loss: str | Callable = "mse",
    seed: int = 0,
    shuffle: bool = True,
    drop_last: bool = False,
    replacement: bool = False,
    batches_per_epoch: int | None = None,
    record_params: bool = False,
) -> list[History]:
    """Train one copy of a model per configuration, all at once; one History per configuration.

    ``models`` is a single model (every configuration starts from a copy of it, which is left
    untouched), a list with one model per configuration (trained in place, like ``train()``), or a
    factory ``seed -> model`` called with each configuration's ``seed`` (default 0), so that
    configurations can differ in their initialisation. ``configs`` are dicts with ``lr`` and
    optionally ``momentum``, ``nesterov``, ``weight_decay``, ``seed`` and ``scheduler`` (a
    function ``optimizer -> lr_scheduler`` as in ``train()``, stepped once per update; it drives
    a stand-in optimizer whose learning rate and momentum the sweep reads) (see :func:`grid`).
    The other arguments mean what they mean in :func:`~gdlessons.training.train`; each
    configuration's History matches the ``train()`` run with the same settings (to float rounding);
    its ``time`` columns are the whole sweep's clock, shared by all configurations, and its config
    adds ``init_seed``. Not supported here: ``evaluate_every`` and ``callback``.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> hs = sweep(tutorial_mlp(), quadratic_data(100), [{"lr": 0.01}, {"lr": 0.1, "momentum": 0.9}],
    ...            batch_size=32, epochs=2)
    >>> [h.config["lr"] for h in hs], hs[1].epochs.iteration
    ([0.01, 0.1], [4, 8])
    """
    X, y = check_training_data(data, "data")
    n = len(X)
    batch_size = resolve_batch_size(batch_size, n)
    epochs = check_int("epochs", epochs, low=1)
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
    batches = BatchIterator(
        X, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
        replacement=replacement, batches_per_epoch=batches_per_epoch, seed=seed,
    )  # fmt: skip
    stack = _Stack(nets)
    engine = _engine(nets[0], stack, loss, loss_fn)
    K = len(cfgs)
    column = dict(dtype=stack.flat.dtype)
    lr = torch.tensor([c.lr for c in cfgs], **column).unsqueeze(1)
    mom = torch.tensor([c.momentum for c in cfgs], **column).unsqueeze(1)
    wd = torch.tensor([c.weight_decay for c in cfgs], **column).unsqueeze(1)
    nest = torch.tensor([c.nesterov for c in cfgs]).unsqueeze(1)
    schedules = [_stand_in_scheduler(c, i) for i, c in enumerate(cfgs)]
    scheduled = any(sch is not None for sch, _ in schedules)
    use_momentum, use_nesterov = bool((mom > 0).any()) or scheduled, bool(nest.any())
    use_wd = bool((wd > 0).any())

    flat = stack.flat
    buf: torch.Tensor | None = None
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
            logged = torch.empty(len(batches), K, **column)
            tick = time.perf_counter()
            i = -1
            for i, (xb, yb) in enumerate(batches):
                if step_lrs is not None:
                    groups = [opt.param_groups[0] for _, opt in schedules]
                    step_lrs.append([g["lr"] for g in groups])
                    lr = torch.tensor(step_lrs[-1], **column).unsqueeze(1)
                    mom = torch.tensor([g["momentum"] for g in groups], **column).unsqueeze(1)
                if accumulation_steps == 1:
                    losses, grad = engine(flat, xb, yb)
                else:
                    losses, grad = _accumulate(engine, flat, xb, yb, accumulation_steps)
                logged[i] = losses
                active &= torch.isfinite(losses)
                # torch.optim.SGD's update, one row per configuration.
                if use_wd:
                    grad = grad + wd * flat
                if use_momentum:
                    if buf is None:
                        buf = grad.clone()
                    else:
                        buf.mul_(mom).add_(grad)
                    grad = torch.where(nest, grad + mom * buf, buf) if use_nesterov else buf
                flat = torch.where(active.unsqueeze(1), flat - lr * grad, flat)
                if snapshots is not None:
                    snapshots.append(flat)
                if scheduled:
                    for sch, _ in schedules:
                        if sch is not None:
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
                     n=n, batch_size=batch_size, epochs=epochs, optimizer="SGD",
                     accumulation_steps=accumulation_steps,
                     seed=seed, shuffle=shuffle, drop_last=drop_last, replacement=replacement,
                     iterations_per_epoch=len(batches),
                     scheduler=type(schedules[k][0]).__name__ if schedules[k][0] else None))
        for k in range(K)
    ]  # fmt: skip


def _history(
    k, cfg, stack, snapshots, losses, sizes, epochs_of, times, lrs, val, epoch_times, base_config
):
    """Cut configuration ``k``'s History out of the shared logs, stopping where it diverged."""
    config = dict(base_config)
    config.update(lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                  weight_decay=cfg.weight_decay, init_seed=cfg.seed)  # fmt: skip
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


def _stand_in_scheduler(cfg: SweepConfig, i: int):
    """``(scheduler, optimizer)``: the config's scheduler driving an SGD optimizer over a dummy
    parameter, so any ``torch.optim.lr_scheduler`` works unchanged; ``(None, optimizer)``
    without a scheduler (its learning rate and momentum then stay constant)."""
    dummy = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD(
        [dummy],
        lr=cfg.lr,
        momentum=cfg.momentum,
        nesterov=cfg.nesterov,
        weight_decay=cfg.weight_decay,
    )
    try:
        schedule = make_scheduler(cfg.scheduler, optimizer)
    except TypeError as error:
        raise TypeError(f"configs[{i}]['scheduler']: {error}") from None
    if schedule is not None:
        optimizer.step()  # a no-op (no gradient), so the scheduler sees the usual call order
    return schedule, optimizer


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
        unknown = set(c) - set(CONFIG_KEYS)
        if unknown:
            raise ValueError(
                f"{where} keys must be among {list(CONFIG_KEYS)}, got {sorted(unknown)}"
            )
        if "lr" not in c:
            raise ValueError(f"{where} needs an 'lr' (learning rate), got {c!r}")
        lr = check_float(f"{where}['lr']", c["lr"], low=0.0, low_open=True)
        momentum = check_float(f"{where}['momentum']", c.get("momentum", 0.0), low=0.0, high=1.0)
        weight_decay = check_float(f"{where}['weight_decay']", c.get("weight_decay", 0.0), low=0.0)
        nesterov = c.get("nesterov", False)
        if not isinstance(nesterov, bool):
            raise TypeError(f"{where}['nesterov'] must be True or False, got {nesterov!r}")
        if nesterov and momentum == 0:
            raise ValueError(f"{where}: nesterov=True needs momentum > 0, got momentum=0")
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
        checked.append(SweepConfig(lr, momentum, nesterov, weight_decay, seed, c.get("scheduler")))
    return checked


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
