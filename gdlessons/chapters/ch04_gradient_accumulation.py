"""Gradient accumulation: a large batch's update built from small micro-batches, and where it breaks.

``train(..., accumulation_steps=k)`` already accumulates. This module holds what chapter 04 needs
around it: the accumulation loop written out once by hand (:func:`train_by_hand`), gradients from
micro-batches with the usual mistakes switchable (:func:`accumulated_gradient`), the memory of one
update (:func:`saved_activation_bytes`, :func:`measure_step_memory`), and the chapter's explorer.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial

import torch
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter
from torch import nn

from gdlessons._validate import (
    check_choice,
    check_instance,
    check_int,
    check_mapping,
    check_rows,
    check_sequence,
)
from gdlessons.batching import BatchIterator
from gdlessons.data import as_tensors
from gdlessons.metrics import resolve_loss

SCALES = ("share", "1/k", "none")


def train_by_hand(
    model: nn.Module,
    data,
    *,
    micro_batch_size: int,
    accumulation_steps: int,
    epochs: int = 1,
    lr: float = 0.01,
    loss: str = "mse",
    seed: int = 0,
) -> list[float]:
    """The ordinary training loop with the two changes of gradient accumulation. Returns the
    loss of each update (the mean over its k micro-batches); trains ``model`` in place.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> data = quadratic_data(100)
    >>> len(train_by_hand(tutorial_mlp(), data, micro_batch_size=10, accumulation_steps=5, epochs=2))
    4
    """
    X, y = as_tensors(data)
    k = check_int("accumulation_steps", accumulation_steps, low=1)
    loss_fn = resolve_loss(loss)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    micro_batches = BatchIterator(X, y, batch_size=micro_batch_size, seed=seed)
    update_losses, running = [], 0.0
    for _epoch in range(epochs):
        for i, (xb, yb) in enumerate(micro_batches, start=1):
            # change 1: each micro-batch's mean loss is 1/k of the update's
            micro_loss = loss_fn(model(xb), yb) / k
            micro_loss.backward()  # .grad keeps adding up until it is zeroed
            running += micro_loss.item()
            # change 2: step (and zero) once every k micro-batches, and at the end of the data
            if i % k == 0 or i == len(micro_batches):
                optimizer.step()
                optimizer.zero_grad()
                update_losses.append(running)
                running = 0.0
    return update_losses


def accumulated_gradient(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    micro_batch_size: int | None = None,
    accumulation_steps: int | None = None,
    scale: str = "share",
    zero_grad_each_micro_batch: bool = False,
    loss: str | Callable = "mse",
) -> torch.Tensor:
    """The gradient one update would use when the batch ``(X, y)`` is fed in micro-batches, as
    one flat vector. Computed on a copy, so ``model`` (and its BatchNorm statistics) is untouched.

    ``scale`` weights each micro-batch loss: ``"share"`` by its share of the batch (exact, what
    ``train`` does), ``"1/k"`` by 1/k with k = ``accumulation_steps`` (which it needs; exact
    only when the batch is k full micro-batches: a short micro-batch counts as much as a full
    one, and a batch of j < k micro-batches sums to j/k of its gradient), ``"none"`` not at
    all (the forgotten division). ``zero_grad_each_micro_batch=True`` zeroes the gradients
    before every backward (the misplaced ``zero_grad``). ``micro_batch_size=None`` means the
    whole batch at once.

    >>> from gdlessons.models import LinearModel
    >>> X, y = torch.arange(8.0).reshape(-1, 1), torch.zeros(8, 1)
    >>> whole = accumulated_gradient(LinearModel(w=1.0), X, y)
    >>> parts = accumulated_gradient(LinearModel(w=1.0), X, y, micro_batch_size=2)
    >>> whole.tolist(), torch.allclose(whole, parts)
    ([35.0, 7.0], True)
    >>> accumulated_gradient(LinearModel(w=1.0), X, y, micro_batch_size=8, accumulation_steps=4,
    ...                      scale="1/k").tolist()  # one micro-batch of a k = 4 update: 1/4
    [8.75, 1.75]
    """
    X, y = as_tensors((X, y))
    size = len(X)
    # a micro-batch larger than the batch is the whole batch (a short last batch fits in one)
    micro = (
        size
        if micro_batch_size is None
        else min(check_int("micro_batch_size", micro_batch_size, low=1), size)
    )
    check_choice("scale", scale, SCALES)
    parts = list(zip(X.split(micro), y.split(micro), strict=True))
    k = None
    if accumulation_steps is not None:
        k = check_int("accumulation_steps", accumulation_steps, low=1)
        if len(parts) > k:
            raise ValueError(
                f"accumulation_steps must be at least the {len(parts)} micro-batches of "
                f"{micro} that a batch of {size} splits into (one update holds at most k), "
                f"got {k}"
            )
    elif scale == "1/k":
        raise ValueError(
            "accumulation_steps must be given with scale='1/k': the k each micro-batch loss "
            "is divided by, got None"
        )
    loss_fn = resolve_loss(loss)
    model = copy.deepcopy(model)
    model.train()
    model.zero_grad(set_to_none=True)
    for xm, ym in parts:
        if zero_grad_each_micro_batch:
            model.zero_grad(set_to_none=True)
        weight = len(xm) / size if scale == "share" else 1 / k if scale == "1/k" else 1.0
        (loss_fn(model(xm), ym) * weight).backward()
    return flat_gradient(model)


def _check_model(name: str, model) -> nn.Module:
    check_instance(name, model, nn.Module, "a torch.nn.Module")
    if not any(True for _ in model.parameters()):
        raise ValueError(f"{name} must have parameters, got a {type(model).__name__} with none")
    return model


def flat_gradient(model: nn.Module) -> torch.Tensor:
    """All parameter gradients of ``model`` in one vector (zeros where a gradient is missing).

    >>> flat_gradient(nn.Linear(3, 1)).tolist()
    [0.0, 0.0, 0.0, 0.0]
    """
    _check_model("model", model)
    return torch.cat(
        [
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
            for p in model.parameters()
        ]
    )


def parameter_difference(a: nn.Module, b: nn.Module) -> float:
    """Largest absolute difference between the parameters of two models of the same shape.

    >>> from gdlessons.models import LinearModel
    >>> parameter_difference(LinearModel(1.0, 2.0), LinearModel(1.5, 2.0))
    0.5
    """
    _check_model("a", a)
    _check_model("b", b)
    pa, pb = list(a.parameters()), list(b.parameters())
    if [p.shape for p in pa] != [p.shape for p in pb]:
        raise ValueError("a and b must have parameters of the same shapes")
    with torch.no_grad():
        return max(float((p - q).abs().max()) for p, q in zip(pa, pb, strict=True))


class _SteppedPerMicroBatch:
    """A scheduler stepped k times per update: what ``scheduler.step()`` inside the
    micro-batch loop does (the schedule runs k times too fast)."""

    def __init__(self, schedule, k: int):
        self.schedule, self.k = schedule, k

    def step(self) -> None:
        for _ in range(self.k):
            self.schedule.step()


def stepped_per_micro_batch(scheduler: Callable, accumulation_steps: int) -> Callable:
    """Turn a ``train(scheduler=...)`` factory into one that steps per micro-batch instead of
    per update, to show the mistake with the one training loop.

    >>> from gdlessons.models import LinearModel
    >>> from gdlessons.training import make_optimizer
    >>> opt = make_optimizer(LinearModel(), lr=1.0)
    >>> s = stepped_per_micro_batch(lambda o: torch.optim.lr_scheduler.StepLR(o, 4, 0.5), 4)(opt)
    >>> opt.step(); s.step(); opt.param_groups[0]["lr"]
    0.5
    """
    if not callable(scheduler):
        raise TypeError(
            f"scheduler must be a function optimizer -> scheduler, got {type(scheduler).__name__}"
        )
    k = check_int("accumulation_steps", accumulation_steps, low=1)
    return lambda optimizer: _SteppedPerMicroBatch(scheduler(optimizer), k)


def scaled_loss(loss: str | Callable, factor: float) -> Callable[..., torch.Tensor]:
    """``loss`` multiplied by ``factor``: with ``factor=k`` inside ``train(accumulation_steps=k)``
    this is exactly the loop that forgot to divide by k.

    >>> float(scaled_loss("mse", 4)(torch.ones(2), torch.zeros(2)))
    4.0
    """
    fn = resolve_loss(loss)
    return lambda output, target: fn(output, target) * factor


def saved_activation_bytes(model: nn.Module, X: torch.Tensor) -> int:
    """Bytes of the tensors autograd keeps from the forward pass of ``X`` until backward (each
    storage counted once): the part of an update's memory that grows with the micro-batch.

    >>> from gdlessons.models import tutorial_mlp
    >>> small, large = (saved_activation_bytes(tutorial_mlp(), torch.zeros(n, 1)) for n in (64, 256))
    >>> large == 4 * small
    True
    """
    check_instance("model", model, nn.Module, "a torch.nn.Module")
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch tensor, got {type(X).__name__}")
    storages: dict[int, int] = {}
    model = copy.deepcopy(model)
    # The input batch is data and the weights exist anyway: neither counts as activations.
    skip = {X.untyped_storage().data_ptr()} | {
        p.untyped_storage().data_ptr() for p in model.parameters()
    }

    def pack(t: torch.Tensor):
        s = t.untyped_storage()
        if s.data_ptr() not in skip:
            storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(X).sum()
    return sum(storages.values())


# ---- memory and time of one update, measured in a fresh process ------------------------------

# (accumulation steps k, micro-batch b): always k·b = 1024 samples per update
CONFIGS = ((1, 1024), (4, 256), (16, 64), (64, 16), (256, 4))


class StepMeasurement:
    """A measurement running in a fresh Python process; :meth:`result` waits for it. Starting it
    early lets the notebook go on while the other core measures."""

    def __init__(self, args: dict):
        check_mapping("args", args, what="measurement settings")
        keys = {"configs", "hidden", "repeats", "seed"}
        if set(args) != keys:
            raise ValueError(f"args must hold exactly the keys {sorted(keys)}, got {sorted(args)}")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gdlessons.chapters.ch04_gradient_accumulation", json.dumps(args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def result(self, timeout: float = 600) -> list[dict]:
        out, err = self.process.communicate(timeout=timeout)
        if self.process.returncode != 0:
            raise RuntimeError(f"the measuring process failed:\n{err[-2000:]}")
        return json.loads(out.strip().splitlines()[-1])


def measure_step_memory(
    configs=CONFIGS, *, hidden: int = 4096, repeats: int = 2, seed: int = 0, wait: bool = True
) -> list[dict] | StepMeasurement:
    """Peak memory and time of one update of a wide digits-shaped classifier (64 → ``hidden`` →
    10, random inputs), for each ``(k, micro_batch_size)``, measured in a fresh Python process.

    The update is the one ``train(accumulation_steps=k)`` makes (the k micro-batches' forward
    and backward passes, one step, one ``zero_grad``), without ``train``'s checks of its data.
    Memory is the peak of the bytes PyTorch allocates during the update (``torch.profiler``
    with ``profile_memory=True``), so it is exact and repeatable; time is the least CPU time
    of ``repeats`` updates (one thread). Returns one dict per config: ``accumulation_steps``,
    ``micro_batch_size``, ``effective_batch``, ``peak_mb``, ``seconds`` — or, with
    ``wait=False``, a :class:`StepMeasurement` whose ``result()`` gives them later.

    >>> [r["micro_batch_size"] for r in measure_step_memory([(1, 8), (2, 4)], hidden=16, repeats=1)]
    [8, 4]
    """
    check_sequence("configs", configs)
    configs = [
        (check_int("k", k, low=1), check_int("micro_batch_size", b, low=1)) for k, b in configs
    ]
    args = {"configs": configs, "hidden": check_int("hidden", hidden, low=1),
            "repeats": check_int("repeats", repeats, low=1), "seed": check_int("seed", seed, low=0)}  # fmt: skip
    job = StepMeasurement(args)
    return job.result() if wait else job


def memory_time_figure(
    results: list[dict], *, fig: Figure | SubFigure | None = None
) -> Figure | SubFigure:
    """Bars of peak memory and time per update for each way of splitting the same effective batch.

    >>> rows = [{"accumulation_steps": 1, "micro_batch_size": 8, "peak_mb": 2.0, "seconds": 0.1}]
    >>> memory_time_figure(rows).axes[0].get_ylabel()
    'peak memory of one update (MB)'
    """
    check_rows(
        "results", results, ("accumulation_steps", "micro_batch_size", "peak_mb", "seconds"),
        what="measure_step_memory",
    )  # fmt: skip
    from gdlessons.display.plots import new_figure

    labels = [f"{r['accumulation_steps']}×{r['micro_batch_size']}" for r in results]
    fig = new_figure(fig, figsize=(7.5, 3.4))
    mem, sec = fig.subplots(1, 2)
    mem.bar(labels, [r["peak_mb"] for r in results], color="C0")
    mem.set(xlabel="k micro-batches × micro-batch size", ylabel="peak memory of one update (MB)")
    mem.set_title("Memory follows the micro-batch")
    sec.bar(labels, [1000 * r["seconds"] for r in results], color="C1")
    sec.set(
        xlabel="k micro-batches × micro-batch size", ylabel="CPU time per update = per epoch (ms)"
    )
    sec.set_title("Time: same samples, more pieces")
    for ax, key, fmt in ((mem, "peak_mb", "{:.3g}"), (sec, "seconds", "{:.3g}")):
        for i, r in enumerate(results):
            v = r[key] * (1000 if key == "seconds" else 1)
            ax.annotate(fmt.format(v), (i, v), ha="center", va="bottom", fontsize=9)
    return fig


def _measure_in_this_process(configs, hidden: int, repeats: int, seed: int) -> list[dict]:
    from torch.profiler import ProfilerActivity, profile

    from gdlessons.models import digits_classifier
    from gdlessons.training import make_optimizer

    torch.set_num_threads(1)
    results = []
    for k, micro in configs:
        size = k * micro
        g = torch.Generator().manual_seed(seed)
        X = torch.randn(size, 64, generator=g)
        y = torch.randint(10, (size,), generator=g)
        model = digits_classifier(hidden=hidden, seed=seed)
        optimizer = make_optimizer(model, "sgd", lr=0.01)
        # one update as train(accumulation_steps=k) makes it, and nothing else: train()'s checks
        # of its data (a pass over the 1024 × 64 inputs) are not part of the update
        step = partial(_one_update, model, optimizer, X, y, k)
        step()  # warm up kernels before timing and profiling
        seconds = []
        for _ in range(
            repeats
        ):  # CPU time of this one-thread process: other programs barely move it
            tick = time.process_time()
            step()
            seconds.append(time.process_time() - tick)
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            step()
        events = sorted(
            (e.start_ns(), e.nbytes())
            for e in prof.profiler.kineto_results.events()
            if e.name() == "[memory]"
        )
        live = peak = 0
        for _, nbytes in events:
            live += nbytes
            peak = max(peak, live)
        results.append(
            {"accumulation_steps": k, "micro_batch_size": micro, "effective_batch": size,
             "peak_mb": peak / 2**20, "seconds": min(seconds)}
        )  # fmt: skip
    return results


def _one_update(model: nn.Module, optimizer, X: torch.Tensor, y: torch.Tensor, k: int) -> None:
    """The update train(accumulation_steps=k) makes of the batch (X, y): the k micro-batches'
    backward passes (:func:`gdlessons.loop.accumulate`), one step, one zero_grad."""
    from gdlessons.loop import accumulate

    accumulate(model, resolve_loss("cross_entropy"), X, y, k)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


# ---- the chapter's explorer ----------------------------------------------------------------

MICRO_BATCH_SIZES = (16, 32, 64, 128)
ACCUMULATION_STEPS = (1, 2, 4, 8)


@dataclass
class AccumulationRuns:
    """Per-epoch training losses of every (micro-batch, k) accumulated run and of every
    equivalent single-batch run, plus activation memory per batch size, for the explorer."""

    epochs: list[int]
    accumulated: dict[tuple[int, int], list[float]]
    large_batch: dict[int, list[float]]
    activation_kib: dict[int, float]


def accumulation_runs(
    *,
    n: int = 1024,
    epochs: int = 8,
    lr: float = 0.01,
    micro_batch_sizes=MICRO_BATCH_SIZES,
    accumulation_steps=ACCUMULATION_STEPS,
    seed: int = 0,
) -> AccumulationRuns:
    """Train the tutorial MLP on the tutorial data for every micro-batch size × k with
    ``train(accumulation_steps=k)``, and once per effective batch without accumulation.

    >>> runs = accumulation_runs(n=64, epochs=2, micro_batch_sizes=(4, 8), accumulation_steps=(1, 2))
    >>> sorted(runs.large_batch), runs.activation_kib[16] == 4 * runs.activation_kib[4]
    ([4, 8, 16], True)
    """
    check_sequence("micro_batch_sizes", micro_batch_sizes, item=lambda n, v: check_int(n, v, low=1))
    check_sequence(
        "accumulation_steps", accumulation_steps, item=lambda n, v: check_int(n, v, low=1)
    )
    check_int("epochs", epochs, low=1)
    from gdlessons.data import quadratic_data
    from gdlessons.models import tutorial_mlp
    from gdlessons.training import train

    n = check_int("n", n, low=2)
    epochs = check_int("epochs", epochs, low=1)
    data = quadratic_data(n, seed=seed)
    for b in micro_batch_sizes:
        for k in accumulation_steps:
            if b * k > n:
                raise ValueError(
                    f"micro_batch_size × accumulation_steps must be <= n={n}, got {b} × {k}"
                )

    def run(batch: int, k: int) -> list[float]:
        h = train(
            tutorial_mlp(seed=seed),
            data,
            batch_size=batch,
            accumulation_steps=k,
            epochs=epochs,
            lr=lr,
            seed=seed,
        )
        return h.epochs.train_loss

    accumulated = {(b, k): run(b * k, k) for b in micro_batch_sizes for k in accumulation_steps}
    sizes = sorted(
        {b * k for b in micro_batch_sizes for k in accumulation_steps} | set(micro_batch_sizes)
    )
    large = {B: (accumulated[(B, 1)] if (B, 1) in accumulated else run(B, 1)) for B in sizes}
    kib = {B: saved_activation_bytes(tutorial_mlp(seed=seed), data.X[:B]) / 1024 for B in sizes}
    return AccumulationRuns(list(range(1, epochs + 1)), accumulated, large, kib)


def _check_explorer_state(runs, micro_batch_size, accumulation_steps) -> None:
    """``runs`` an AccumulationRuns that holds the (micro-batch, k) run, its single-batch twin
    and both activation sizes."""
    check_instance(
        "runs", runs, AccumulationRuns, "an AccumulationRuns, as accumulation_runs returns"
    )
    b = check_int("micro_batch_size", micro_batch_size, low=1)
    k = check_int("accumulation_steps", accumulation_steps, low=1)
    if (b, k) not in runs.accumulated:
        raise ValueError(
            f"(micro_batch_size, accumulation_steps) must be one of the runs' pairs "
            f"{sorted(runs.accumulated)}, got {(b, k)}"
        )
    missing = [f"large_batch[{b * k}]"] * (b * k not in runs.large_batch) + [
        f"activation_kib[{s}]" for s in (b, b * k) if s not in runs.activation_kib
    ]
    if missing:
        raise ValueError(
            f"runs lacks {missing}: it must be an AccumulationRuns from accumulation_runs"
        )


class _AccumulationPicture:
    """The explorer's figure, built once for ``runs`` and kept: :meth:`draw` moves only the
    curves, the legend, the left title, the bars, their labels and the bar panel's x axis
    (animated artists, see :mod:`gdlessons.display.redraw`); the rest is drawn once. The loss
    axis spans every run's losses, so it stays put while the sliders move and the curves of
    different settings can be compared at a glance. (Plain tick labels keep a redraw fast.)

    >>> runs = AccumulationRuns([1, 2], {(4, 2): [2.0, 1.0]}, {4: [2.0, 1.5], 8: [2.0, 1.0]}, {4: 1.0, 8: 2.0})
    >>> picture = _AccumulationPicture(runs)
    >>> picture.draw(4, 2) is picture.draw(4, 2) is picture.figure
    True
    """

    def __init__(self, runs: AccumulationRuns):
        check_instance(
            "runs", runs, AccumulationRuns, "an AccumulationRuns, as accumulation_runs returns"
        )
        self.runs = runs
        fig = Figure(figsize=(7.5, 3.4), layout="constrained")
        ax, bar = fig.subplots(1, 2)
        (self.large,) = ax.plot(runs.epochs, [1.0] * len(runs.epochs), color="0.6", lw=5,
                                alpha=0.6, label="one batch", animated=True)  # fmt: skip
        (self.accumulated,) = ax.plot(runs.epochs, [1.0] * len(runs.epochs), "o-", color="C0",
                                      ms=3, label="micro-batches", animated=True)  # fmt: skip
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set(xlabel="epoch", ylabel="training loss (MSE, log scale)", title=" ")
        ax.set_xlim(*_padded(min(runs.epochs), max(runs.epochs)))
        ax.set_ylim(*_loss_range([*runs.accumulated.values(), *runs.large_batch.values()]))
        ax.title.set_animated(True)
        # a fixed place: "best" costs a search on every redraw
        self.legend = ax.legend(loc="upper right")
        self.legend.set_animated(True)
        # Bars at 0 and 1 with their labels as ticks: the tick labels follow the sliders.
        self.bars = bar.bar([0, 1], [0.0, 0.0], color=["C0", "0.6"])
        self.values = [
            bar.text(i, 0.0, "", ha="center", va="bottom", fontsize=9, animated=True)
            for i in range(2)
        ]
        for patch in self.bars:
            patch.set_animated(True)
        bar.xaxis.set_animated(True)
        bar.xaxis.grid(
            False
        )  # drawn over the bars, a style's gridlines at their centres would cross them
        bar.spines["bottom"].set_animated(True)  # drawn over the bars' feet, as in a full draw
        bar.set(
            ylabel="activations kept for backward (KiB)", title="Memory of one forward/backward"
        )
        bar.set_xlim(*_padded(-0.4, 1.4))  # as autoscaling frames two bars of width 0.8
        bar.set_ylim(0, max(runs.activation_kib.values(), default=1.0) * 1.12)
        self.figure, self.ax, self.bar = fig, ax, bar

    def draw(self, micro_batch_size: int, accumulation_steps: int) -> Figure:
        """Show the run of ``micro_batch_size`` × ``accumulation_steps``; returns the kept figure."""
        runs = self.runs
        _check_explorer_state(runs, micro_batch_size, accumulation_steps)
        b, k = micro_batch_size, accumulation_steps
        B = b * k
        self.large.set_data(runs.epochs, runs.large_batch[B])
        self.accumulated.set_data(runs.epochs, runs.accumulated[(b, k)])
        labels = [f"one batch of {B}", f"{k} × micro-batch {b}"]
        for line, text, label in zip((self.large, self.accumulated), self.legend.get_texts(),
                                     labels, strict=True):  # fmt: skip
            line.set_label(label)
            text.set_text(label)
        self.ax.set_title(f"Effective batch {k} × {b} = {B}")
        values = [runs.activation_kib[b], runs.activation_kib[B]]
        for i, (patch, text, v) in enumerate(zip(self.bars, self.values, values, strict=True)):
            patch.set_height(v)
            text.set_position((i, v))
            text.set_text(f"{v:.0f} KiB")
        self.bar.set_xticks([0, 1], [f"{k} × {b}\naccumulated", f"1 × {B}\none batch"])
        return self.figure


def _padded(lo: float, hi: float, margin: float = 0.05) -> tuple[float, float]:
    """``(lo, hi)`` widened by ``margin`` of its span on each side, as autoscaling would."""
    span = hi - lo if hi > lo else 1.0
    return lo - margin * span, hi + margin * span


def _loss_range(curves) -> tuple[float, float]:
    """A log axis' limits holding every finite positive loss of ``curves``, 5 % to spare."""
    losses = [v for curve in curves for v in curve if math.isfinite(v) and v > 0]
    if not losses:  # every run diverged at once: any decade will do
        return 0.1, 10.0
    lo, hi = math.log10(min(losses)), math.log10(max(losses))
    lo, hi = _padded(lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)
    return 10**lo, 10**hi


def draw_accumulation(
    runs: AccumulationRuns, micro_batch_size: int, accumulation_steps: int
) -> Figure:
    """The explorer's figure for one state, in a figure of its own: the accumulated run's loss
    over the single-batch run with the same effective batch, and the activation memory each
    needs (:class:`_AccumulationPicture`).

    >>> runs = AccumulationRuns([1, 2], {(4, 2): [2.0, 1.0]}, {4: [2.0, 1.5], 8: [2.0, 1.0]}, {4: 1.0, 8: 2.0})
    >>> draw_accumulation(runs, 4, 2).axes[0].get_title()
    'Effective batch 2 × 4 = 8'
    """
    check_instance(
        "runs", runs, AccumulationRuns, "an AccumulationRuns, as accumulation_runs returns"
    )
    _check_explorer_state(runs, micro_batch_size, accumulation_steps)
    return _AccumulationPicture(runs).draw(micro_batch_size, accumulation_steps)


def accumulation_readout(
    runs: AccumulationRuns, micro_batch_size: int, accumulation_steps: int
) -> str:
    """Three short lines under the explorer: effective batch, the curves' largest gap, memory.

    >>> runs = AccumulationRuns([1], {(4, 2): [1.0]}, {4: [1.0], 8: [1.0]}, {4: 1.0, 8: 2.0})
    >>> accumulation_readout(runs, 4, 2).splitlines()[0]
    'effective batch = 2 × 4 = 8'
    """
    _check_explorer_state(runs, micro_batch_size, accumulation_steps)
    b, k = micro_batch_size, accumulation_steps
    B = b * k
    gap = max(
        abs(p - q) / q for p, q in zip(runs.accumulated[(b, k)], runs.large_batch[B], strict=True)
    )
    ratio = runs.activation_kib[B] / runs.activation_kib[b]
    return (
        f"effective batch = {k} × {b} = {B}\n"
        f"largest relative gap between the curves = {gap:.1e}\n"
        f"one batch of {B} needs {ratio:.0f}× the activation memory of a micro-batch of {b}"
    )


def accumulation_explorer(runs: AccumulationRuns | None = None):
    """Sliders for micro-batch size and accumulation steps over precomputed runs (by default
    :func:`accumulation_runs` with its defaults, computed once).

    >>> runs = accumulation_runs(n=64, epochs=1, micro_batch_sizes=(4, 8), accumulation_steps=(1, 2))
    >>> accumulation_explorer(runs).state()
    {'micro_batch_size': 8, 'accumulation_steps': 2}
    """
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer

    if runs is not None:
        check_instance(
            "runs", runs, AccumulationRuns, "an AccumulationRuns, as accumulation_runs returns"
        )
        if not runs.accumulated:
            raise ValueError("runs must hold at least one accumulated run, got none")
    runs = runs if runs is not None else _default_runs()
    micro = sorted({b for b, _ in runs.accumulated})
    steps = sorted({k for _, k in runs.accumulated})
    controls = {
        "micro_batch_size": w.SelectionSlider(
            options=micro, value=micro[len(micro) // 2], description="micro-batch"
        ),
        "accumulation_steps": w.SelectionSlider(
            options=steps, value=steps[len(steps) // 2], description="k steps"
        ),
    }
    # One figure is kept and only its moving artists redrawn per move; nothing still changes.
    picture = _AccumulationPicture(runs)
    return Explorer(
        picture.draw,
        controls,
        title="Gradient accumulation: same curve, less memory",
        readout=lambda **s: accumulation_readout(runs, **s),
        background=lambda **_: None,  # one still part for every state
    )


@lru_cache(maxsize=1)
def _default_runs() -> AccumulationRuns:
    return accumulation_runs()


EXPLORERS = {"ch04-accumulation-explorer": accumulation_explorer}


if __name__ == "__main__":  # the measuring process of measure_step_memory
    _args = json.loads(sys.argv[1])
    print(json.dumps(_measure_in_this_process(**_args)))
