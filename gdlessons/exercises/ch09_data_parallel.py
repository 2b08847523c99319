"""Chapter 09 exercises: data parallelism.

q1 to q3 take a number or a word; q4 and q5 take a function the student writes, checked by
:class:`~gdlessons.exercises.code.CodeExercise`: q4 is a worker's shard worked out by hand,
compared index for index with ``torch.utils.data.DistributedSampler`` itself; q5 is the all-reduce
simulated in one process, compared with the average of the workers' gradients within float32
rounding (1e-5 of the largest gradient entry); on equal shards that is the gradient of the whole
batch, as the chapter compares the runs, and an uneven case refuses the one-big-batch shortcut.

>>> q1.check(128).correct, q4.check(...).status, q5.check(q5.reference).status
(True, 'not attempted', 'correct')
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping

import torch
from torch.nn.functional import mse_loss
from torch.utils.data import DistributedSampler

from gdlessons.data import quadratic_data
from gdlessons.exercises import Exercise, as_number, expect_choice, expect_int
from gdlessons.exercises.code import CodeExercise, Mistake, first_difference
from gdlessons.models import tutorial_mlp

_WORKERS, _PER_WORKER = 4, 32

q1 = Exercise(
    "q1",
    "4 workers each take a batch of 32 per iteration. What is the effective batch size of one update?",
    expect_int(
        _WORKERS * _PER_WORKER,
        mistakes={
            _PER_WORKER: "That is one worker's batch. The all-reduce combines every worker's "
            "gradient into the one update, so it sees all their samples.",
            _PER_WORKER // _WORKERS: "You split the 32 among the workers; each worker takes a "
            "batch of 32 of its own.",
            _WORKERS: "That is the number of workers, not of samples.",
        },
    ),
    hint=[
        "All-reduce combines the workers' gradients into one update: which samples does that "
        "update see?",
        "Each worker contributes its own 32 samples, none of them shared: count them all.",
    ],
    solution="4 × 32 = 128: the same update as one batch of 128, or 4 accumulated micro-batches of 32.",
)

# q2's case is not in the chapter's padding table, so its answer has to be worked out.
_N, _W = 1797, 8

q2 = Exercise(
    "q2",
    f"All {_N:,} of scikit-learn's digits over W = {_W} workers: how many samples does "
    "DistributedSampler repeat (pad) per epoch?",
    expect_int(
        math.ceil(_N / _W) * _W - _N,
        mistakes={
            _N % _W: "That is the remainder N mod W: the samples left over after dealing out "
            "whole rounds of W, the ones drop_last would cut. Padding instead repeats samples "
            "until the last round is full.",
            math.ceil(_N / _W): "That is how many samples each worker gets per epoch, padding "
            "included: the question asks how many of all the processed ones are repeats.",
            math.ceil(_N / _W) * _W: "That is how many samples all workers process per epoch, "
            "padding included: subtract the ones that are not repeats.",
        },
    ),
    hint=[
        "Every worker gets the same number of samples, ceil(N / W), so the order is extended "
        "until W of those are filled.",
        "Samples processed per epoch = W × ceil(N / W); the repeats are what that exceeds N by.",
    ],
    solution=f"ceil({_N} / {_W}) = {math.ceil(_N / _W)} per worker, {_W} × "
    f"{math.ceil(_N / _W)} = {math.ceil(_N / _W) * _W} processed, so "
    f"{math.ceil(_N / _W) * _W - _N} samples are repeated.",
)

q3 = Exercise(
    "q3",
    "What does DDP's all-reduce give every worker: 'sum', 'mean' or 'worker 0' of the gradients?",
    expect_choice(
        "mean",
        ("sum", "mean", "worker 0"),
        mistakes={
            "sum": "Half of it: the all-reduce sums the W gradients across workers, and then DDP "
            'divides that sum by W (point 3 of "Data parallelism in one picture"), so the '
            "update is the big batch's, whose loss averages over all its samples. What is a sum "
            "divided by the number of its terms?",
            "worker 0": "Worker 0 has no special role: every worker sends its own shard's "
            "gradient into the all-reduce and gets the same combination of all W back. With "
            "worker 0's alone the other shards would count for nothing.",
        },
        synonyms={
            "average": "mean",
            "averaged": "mean",
            "avg": "mean",
            "summed": "sum",
            "total": "sum",
            "rank 0": "worker 0",
            "worker0": "worker 0",
        },  # fmt: skip
    ),
    hint=[
        "The update must equal the big batch's update, whose loss is a mean over all its samples.",
        'Read point 3 of "Data parallelism in one picture": what happens after the gradients '
        "are summed?",
    ],
    solution="The mean: DDP sums the gradients across workers and divides by W.",
)


# --- q4: a worker's shard, by hand ------------------------------------------------------------


def _sampler_shard(n, world_size, rank, epoch, seed, shuffle, drop_last):
    """``DistributedSampler`` itself, after ``set_epoch(epoch)``."""
    sampler = DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=shuffle,
                                 seed=seed, drop_last=drop_last)  # fmt: skip
    sampler.set_epoch(epoch)
    return list(sampler)


def _shard(n, world_size, rank, epoch, seed, shuffle, drop_last, *, order_seed=None,
           shuffled=None, pad="first", trim=None, deal="strided"):  # fmt: skip
    """The sampler's three moves with one typical mistake switched on (defaults: the sampler)."""
    if shuffle if shuffled is None else shuffled:
        g = torch.Generator().manual_seed(seed + epoch if order_seed is None else order_seed)
        order = torch.randperm(n, generator=g).tolist()
    else:
        order = list(range(n))
    cut = drop_last if trim is None else trim
    per_worker = n // world_size if cut else math.ceil(n / world_size)
    total = per_worker * world_size
    if pad == "none":
        order = order[:total]
    elif pad == "last":
        order = (order + order[n - (total - n) :])[:total] if total > n else order[:total]
    else:
        order = (order * math.ceil(total / n))[:total]
    if deal == "blocks":
        return order[rank * per_worker : (rank + 1) * per_worker]
    return order[rank::world_size]


def _not_padded(n, world_size, rank, epoch, seed, shuffle, drop_last):
    return _shard(n, world_size, rank, epoch, seed, shuffle, drop_last, pad="none")


def _padded_from_the_end(n, world_size, rank, epoch, seed, shuffle, drop_last):
    return _shard(n, world_size, rank, epoch, seed, shuffle, drop_last, pad="last")


def _always_padded(n, world_size, rank, epoch, seed, shuffle, drop_last):
    return _shard(n, world_size, rank, epoch, seed, shuffle, drop_last, trim=False)


def _contiguous_blocks(n, world_size, rank, epoch, seed, shuffle, drop_last):
    return _shard(n, world_size, rank, epoch, seed, shuffle, drop_last, deal="blocks")


def _same_order_every_epoch(n, world_size, rank, epoch, seed, shuffle, drop_last):
    return _shard(n, world_size, rank, epoch, seed, shuffle, drop_last, order_seed=seed)


def _each_worker_its_own_order(n, world_size, rank, epoch, seed, shuffle, drop_last):
    return _shard(n, world_size, rank, epoch, seed, shuffle, drop_last,
                  order_seed=seed + epoch + rank)  # fmt: skip


def _never_shuffled(n, world_size, rank, epoch, seed, shuffle, drop_last):
    return _shard(n, world_size, rank, epoch, seed, shuffle, drop_last, shuffled=False)


def _always_shuffled(n, world_size, rank, epoch, seed, shuffle, drop_last):
    return _shard(n, world_size, rank, epoch, seed, shuffle, drop_last, shuffled=True)


def _shard_cases():
    """Padded and trimmed, in order and shuffled, over several epochs, seeds and ranks; the last
    is q2's case."""
    settings = [  # n, world_size, rank, epoch, seed, shuffle, drop_last
        (10, 3, 1, 0, 0, False, False),  # 10 = 3·3 + 1: two indices repeat
        (10, 3, 2, 0, 0, False, True),  # the tail is dropped instead
        (50, 4, 1, 0, 7, True, False),
        (50, 4, 3, 1, 7, True, False),  # the next epoch, the last worker
        (50, 4, 2, 2, 7, True, True),
        (48, 2, 1, 3, 0, True, False),  # 2 divides 48: nothing to pad
        (_N, _W, _W - 1, 1, 0, True, False),
    ]
    names = ("n", "world_size", "rank", "epoch", "seed", "shuffle", "drop_last")
    return [dict(zip(names, s)) for s in settings]


def _compare_shard(got, want, case):
    try:
        got = [as_number(i) for i in got]
    except TypeError:
        return f"return the list of the worker's sample indices; you returned {reprlib.repr(got)}"
    rank = case["rank"]
    wrong = [i for i in got if isinstance(i, bool) or not isinstance(i, int)]
    if wrong:
        return f"worker {rank}'s shard holds {wrong[0]!r}: sample indices are whole numbers"
    if len(got) != len(want):
        return f"worker {rank}'s shard has {len(got)} indices, expected {len(want)}"
    for position, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"position {position} of worker {rank}'s shard is {g}, expected {w}"
    return None


q4 = CodeExercise(
    "q4",
    "Write `worker_shard(n, world_size, rank, epoch, seed, shuffle, drop_last)`: the sample indices, "
    "in order, that `DistributedSampler(range(n), num_replicas=world_size, rank=rank, seed=seed, "
    "shuffle=shuffle, drop_last=drop_last)` gives worker `rank` after `set_epoch(epoch)`, worked out "
    "by hand. Checked against DistributedSampler itself, index for index, with N that W divides and "
    "N that it does not, with and without shuffle and drop_last, over several epochs and ranks.",
    reference=_sampler_shard,
    cases=_shard_cases,
    compare=_compare_shard,
    mistakes=(
        Mistake(
            _not_padded,
            "When W does not divide N some of your shards are short: every worker must run the "
            "same number of iterations (or an all-reduce waits forever), so without drop_last the "
            "sampler pads the order to ceil(N / W) indices per worker.",
            hint="Extend the order with its own first indices, `(order * k)[:total]` with "
            "total = ceil(N / W)·W, before dealing it out.",
        ),
        Mistake(
            _padded_from_the_end,
            "Your padding repeats the last indices of the order; DistributedSampler repeats its "
            "first ones.",
            hint="Pad with `order[:total - n]`.",
        ),
        Mistake(
            _always_padded,
            "With drop_last=True your shards are padded: drop_last cuts the tail of the order "
            "instead, so every worker gets floor(N / W) indices and none repeats.",
            hint="With drop_last, keep `order[:(n // world_size) * world_size]`.",
        ),
        Mistake(
            _contiguous_blocks,
            "Your shards are contiguous blocks of the order; DistributedSampler deals it out like "
            "cards: worker r takes positions r, r + W, r + 2W, …",
            hint="`order[rank::world_size]`.",
        ),
        Mistake(
            _same_order_every_epoch,
            "Your shuffle is the same every epoch, as if set_epoch were never called: the sampler "
            "seeds its generator with seed + epoch.",
            hint="`torch.Generator().manual_seed(seed + epoch)`.",
        ),
        Mistake(
            _each_worker_its_own_order,
            "Each of your workers shuffles differently, so their shards overlap and miss samples: "
            "every worker must draw the same permutation (seed + epoch, whatever its rank) and "
            "take its own positions of it.",
            hint="Leave rank out of the seed: `torch.Generator().manual_seed(seed + epoch)`.",
        ),
        Mistake(
            _never_shuffled,
            "Your shards are never shuffled: with shuffle=True the sampler first permutes all N "
            "indices, with a generator seeded with seed + epoch.",
            hint="`torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch))`.",
        ),
        Mistake(
            _always_shuffled,
            "With shuffle=False your shards are shuffled: the sampler then keeps the order "
            "0, 1, …, N − 1.",
        ),
    ),  # fmt: skip
    hint=[
        "Three moves, the same on every worker until the last: an order of all N indices, made a "
        "multiple of W long, then dealt out like cards.",
        "The order: with shuffle, a permutation from a generator seeded with seed + epoch, else "
        "0, 1, …, N − 1. Its length: without drop_last, pad with its first indices up to "
        "ceil(N / W)·W; with drop_last, cut it to floor(N / W)·W. The deal: worker r takes "
        "positions r, r + W, r + 2W, …",
        "Look up the slicing that takes every W-th element from position r, and "
        "`torch.randperm(n, generator=...)` for the permutation.",
    ],
    solution="""import math

import torch


def worker_shard(n, world_size, rank, epoch, seed, shuffle, drop_last):
    if shuffle:  # the same permutation on every worker, a new one each epoch
        g = torch.Generator().manual_seed(seed + epoch)
        order = torch.randperm(n, generator=g).tolist()
    else:
        order = list(range(n))
    per_worker = n // world_size if drop_last else math.ceil(n / world_size)
    total = per_worker * world_size
    order = (order * math.ceil(total / n))[:total]  # pad with the first indices, or cut the tail
    return order[rank::world_size]  # dealt out like cards
""",
)


# --- q5: the all-reduce, simulated ------------------------------------------------------------


def _averaged_gradients(model, loss_fn, shards):
    """What the all-reduce gives every worker: the mean of the W workers' gradients."""
    grads = _worker_gradients(model, loss_fn, shards)
    return _reduce(grads, len(shards))


def _whole_batch_gradient(model, loss_fn, shards):
    """The one-big-batch shortcut: one backward() over all the workers' samples at once. Equal to
    the workers' average when their shards are of equal size, not otherwise."""
    X = torch.cat([xb for xb, _ in shards])
    y = torch.cat([yb for _, yb in shards])
    model.zero_grad()
    loss_fn(model(X), y).backward()
    return {name: p.grad.detach().clone() for name, p in model.named_parameters()}


def _worker_gradients(model, loss_fn, shards, *, scale=1.0, zero=True):
    """Each worker's gradient on its shard, from one model (zeroed between workers unless
    ``zero`` is False); each worker's loss is multiplied by ``scale``."""
    grads = []
    for xb, yb in shards:
        if zero:
            model.zero_grad()
        (loss_fn(model(xb), yb) * scale).backward()
        grads.append({name: p.grad.detach().clone() for name, p in model.named_parameters()})
    return grads


def _reduce(grads, divide_by):
    return {name: sum(g[name] for g in grads) / divide_by for name in grads[0]}


def _summed(model, loss_fn, shards):
    return _reduce(_worker_gradients(model, loss_fn, shards), 1)


def _divided_twice(model, loss_fn, shards):
    W = len(shards)
    return _reduce(_worker_gradients(model, loss_fn, shards, scale=1 / W), W)


def _not_zeroed(model, loss_fn, shards):
    return _reduce(_worker_gradients(model, loss_fn, shards, zero=False), len(shards))


def _worker_zero_only(model, loss_fn, shards):
    return _worker_gradients(model, loss_fn, shards)[0]


def _last_worker_only(model, loss_fn, shards):
    return _worker_gradients(model, loss_fn, shards)[-1]


def _shard_batches(n, world_size, batch_size, seed):
    """The first batch of every worker, as the chapter's workers take it: a DistributedSampler's
    first ``batch_size`` indices on the tutorial data."""
    data = quadratic_data(n, seed=seed)
    shards = []
    for rank in range(world_size):
        idx = _sampler_shard(n, world_size, rank, 0, seed, True, False)[:batch_size]
        shards.append((data.X[idx], data.y[idx]))
    return shards


def _uneven_shards(sizes, seed):
    """A batch split unevenly over the workers, as a short last batch split by hand may be."""
    data = quadratic_data(sum(sizes), seed=seed)
    parts = torch.split(torch.arange(sum(sizes)), list(sizes))
    return [(data.X[idx], data.y[idx]) for idx in parts]


UNEVEN = (4, 3, 3)  # the last case's shard sizes


def _allreduce_cases():
    """The first batch of every worker, as DistributedSampler deals them (equal shards), and one
    batch of 10 split 4, 3, 3: there one backward() over the whole batch is not the workers'
    average, so simulating the workers is the only way through."""
    cases = [
        dict(model=tutorial_mlp(seed=seed), loss_fn=mse_loss, shards=_shard_batches(n, w, b, seed))
        for n, w, b, seed in ((1000, 2, 32, 0), (1000, 4, 8, 1), (90, 3, 10, 2))
    ]
    cases.append(
        dict(model=tutorial_mlp(seed=3), loss_fn=mse_loss, shards=_uneven_shards(UNEVEN, 3))
    )
    return cases


def _compare_averaged(got, want, case):
    names = list(want)
    if isinstance(got, (list, tuple)) and len(got) == len(names):
        got = dict(zip(names, got))  # in the order of model.parameters()
    if not isinstance(got, Mapping):
        return (
            "return the averaged gradient of every parameter, as a dict {name: tensor} in the "
            f"order of model.named_parameters(); you returned {reprlib.repr(got)}"
        )
    if got and all(g is None for g in got.values()):
        return "your gradients are all None: call backward() on each worker's loss"
    sizes = [len(xb) for xb, _ in case["shards"]]
    W = len(sizes)
    scale = max(float(g.abs().max()) for g in want.values())
    message = first_difference(
        got, want, bitwise=False, atol=1e-5 * scale, rtol=0.0, name="the gradient"
    )
    if not message:
        return None
    if len(set(sizes)) == 1:
        if "differs by" in message:
            message += f" from the gradient of the whole batch of {W * sizes[0]}"
        return f"with W = {W} workers of {sizes[0]} samples, {message}"
    if "differs by" in message:
        message += " from the average of the workers' gradients"
    shares = ", ".join(map(str, sizes))
    return f"with W = {W} workers of {shares} samples, {message}"


q5 = CodeExercise(
    "q5",
    "Write `averaged_gradients(model, loss_fn, shards)`: simulate W workers in one process. "
    "`shards` holds one (X, y) batch per worker; each worker computes its loss `loss_fn(model(X), "
    "y)` and its gradient on its own, from the same parameters; return what DDP's all-reduce "
    "gives every worker, the average of the W gradients, as a dict {name: tensor} over "
    "`model.named_parameters()`. Checked on the chapter's tutorial MLP and data, within 1e-5 of "
    "the largest gradient entry: on three batches split evenly, as DistributedSampler splits "
    "them, and on one split unevenly (4, 3 and 3 samples).",
    reference=_averaged_gradients,
    cases=_allreduce_cases,
    compare=_compare_averaged,
    mistakes=(
        Mistake(
            _whole_batch_gradient,
            "You computed one backward() over all the shards at once instead of simulating the "
            "workers. That is the workers' average only when every shard has the same size: here "
            "they hold 4, 3 and 3 samples, and each worker's loss is a mean over its own shard, so "
            "the all-reduce averages three means, in which a sample of a smaller shard weighs "
            "more. Simulate what each worker computes.",
            hint="One loss and one backward() per (X, y) in shards, each gradient kept; then the "
            "average of the kept gradients.",
        ),
        Mistake(
            _summed,
            "Your gradient is W times too large: it is the sum of the workers' gradients. "
            "All-reduce sums them and DDP then divides by W, so that the update is the big "
            "batch's, whose loss is a mean.",
            hint="Divide the sum by `len(shards)`.",
        ),
        Mistake(
            _divided_twice,
            "Your gradient is W times too small: you divided each worker's loss by W, as "
            "accumulation does (chapter 04), and then averaged as well. Divide once.",
            hint="Either average the W plain gradients, or add up the gradients of the losses "
            "divided by W, not both.",
        ),
        Mistake(
            _not_zeroed,
            "Your workers' gradients leak into each other: backward() adds into .grad, so "
            "without zeroing between workers each one's gradient includes those computed before "
            "it. Each real worker has its own model copy, whose .grad holds only its own shard's.",
            hint="`model.zero_grad()` before each worker's backward(), then copy each gradient "
            "out (`p.grad.clone()`).",
        ),
        Mistake(
            _worker_zero_only,
            "Your gradient is worker 0's alone, the gradient of its b samples: with it the other "
            "workers' shards count for nothing, and without the all-reduce each worker would "
            "make its own update and the copies would drift apart.",
            hint="Keep every worker's gradient and average them.",
        ),
        Mistake(
            _last_worker_only,
            "Your gradient is the last worker's alone: reading .grad after the loop gives only "
            "the gradient computed after the last zero_grad().",
            hint="Inside the loop, after each worker's backward(), copy its gradients out "
            "(`p.grad.clone()`); average them after the loop.",
        ),
    ),  # fmt: skip
    hint=[
        "Simulate the workers one after another with the one model: each computes its own loss "
        "and gradient, and you keep each worker's gradients before the next one starts.",
        "backward() adds into .grad: clear it before each worker, and copy the gradients out "
        "(`p.grad.clone()`) after. The all-reduce is then, per parameter name, the sum of the W "
        "copies divided by W.",
    ],
    solution="""def averaged_gradients(model, loss_fn, shards):
    grads = []  # one {name: gradient} per worker
    for X, y in shards:
        model.zero_grad()  # each worker starts from its own, empty .grad
        loss_fn(model(X), y).backward()
        grads.append({name: p.grad.clone() for name, p in model.named_parameters()})
    W = len(shards)
    return {name: sum(g[name] for g in grads) / W for name in grads[0]}  # the all-reduce: mean
""",
)
