"""Chapter 09 exercises: data parallelism, simulated in one process, then transfer questions.

The story's your-turn cells, checked by :class:`~gdlessons.exercises.code.CodeExercise`: t1 a
worker's shard, worked out by hand and compared index for index with
``torch.utils.data.DistributedSampler`` itself; t2 one iteration's global batch, the union of the
workers' micro-batches in rank order, compared index for index; t3 the all-reduce simulated in one
process, compared with the average of the workers' gradients within float32 rounding (1e-5 of the
largest gradient entry): on equal micro-batches that is the gradient of the global batch, and an
uneven case refuses the one-big-batch shortcut. At the end: q1 to q3 take a number or a word; q4 a
function, the gradient of the global batch when the workers' micro-batches differ in size (a
weighted average, within the same rounding).

>>> q1.check(128).correct, t1.check(...).status, t3.check(t3.reference).status
(True, 'not attempted', 'correct')
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping

import numpy as np
import torch
from torch.nn.functional import mse_loss
from torch.utils.data import DistributedSampler

from gdlessons.data import quadratic_data
from gdlessons.exercises import Exercise, expect_choice, expect_int
from gdlessons.exercises.code import CodeExercise, Mistake, first_difference
from gdlessons.models import tutorial_mlp

_WORKERS, _PER_WORKER = 4, 32
# q2's case is not in the chapter's padding table, so its answer has to be worked out; t1
# checks it too.
_N, _W = 1797, 8


def _compare_indices(got, want, what: str) -> str | None:
    """None if ``got`` is a list of ``want``'s indices in its order, else the first difference.
    A list of Python ints, as DistributedSampler gives them: the story prints and joins them."""
    if isinstance(got, (torch.Tensor, np.ndarray)):
        return (
            f"{what} is a {type(got).__name__}; return a list of ints, as DistributedSampler's "
            "indices are (`.tolist()` turns it into one)"
        )
    if not isinstance(got, list):
        return f"return the list of sample indices; you returned {reprlib.repr(got)}"
    wrong = [i for i in got if isinstance(i, bool) or not isinstance(i, int)]
    if wrong:
        return (
            f"{what} holds {wrong[0]!r}, a {type(wrong[0]).__name__}: sample indices are whole "
            "numbers, Python ints (`int(i)`, or `.tolist()` of a tensor)"
        )
    if len(got) != len(want):
        return f"{what} has {len(got)} indices, expected {len(want)}"
    for position, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"position {position} of {what} is {g}, expected {w}"
    return None


# --- t1: a worker's shard, by hand ------------------------------------------------------------


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
    return _compare_indices(got, want, f"worker {case['rank']}'s shard")


t1 = CodeExercise(
    "t1",
    "Write `worker_shard(n, world_size, rank, epoch, seed, shuffle, drop_last)`: the list of "
    "sample indices (Python ints), in order, that `DistributedSampler(range(n), num_replicas=world_size, rank=rank, "
    "seed=seed, shuffle=shuffle, drop_last=drop_last)` gives worker `rank` after "
    "`set_epoch(epoch)`, worked out by hand with the sampler's three moves: the order, its "
    "length made a multiple of W, the deal. Checked against DistributedSampler itself, index for "
    "index, with N that W divides and N that it does not, with and without shuffle and "
    "drop_last, over several epochs and ranks.",
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
            hint="Shuffle only `if shuffle:`; otherwise the order is `list(range(n))`.",
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
    # pad with the first indices, or cut the tail
    order = (order * math.ceil(total / n))[:total]
    return order[rank::world_size]  # dealt out like cards
""",
)


# --- t2: one iteration's global batch -------------------------------------------------------


def _global_batch(shards, iteration, batch_size):
    """Micro-batch number ``iteration`` of every worker's shard, worker 0's first."""
    start = iteration * batch_size
    return [i for shard in shards for i in shard[start : start + batch_size]]


def _interleaved(shards, iteration, batch_size):
    start = iteration * batch_size
    positions = range(start, min(start + batch_size, len(shards[0])))
    return [shard[j] for j in positions for shard in shards]


def _first_worker_only(shards, iteration, batch_size):
    start = iteration * batch_size
    return shards[0][start : start + batch_size]


def _starts_at_iteration(shards, iteration, batch_size):
    return [i for shard in shards for i in shard[iteration : iteration + batch_size]]


def _counted_from_one(shards, iteration, batch_size):
    start = (iteration - 1) * batch_size
    return [i for shard in shards for i in shard[start : start + batch_size]]


def _end_to_end(shards, iteration, batch_size):
    flat = [i for shard in shards for i in shard]
    size = len(shards) * batch_size
    return flat[iteration * size : (iteration + 1) * size]


def _global_batch_cases():
    """The shards of one epoch as DistributedSampler deals them; the iterations asked for include
    a short last one (the shard is no multiple of b) and one worker alone."""
    settings = [  # n, world_size, batch_size, iteration, seed
        (10, 2, 2, 1, 0),  # 5 indices per worker
        (50, 3, 4, 4, 7),  # 17 per worker: iteration 4 is the last, 1 index per worker
        (1000, 4, 32, 2, 1),
        (20, 1, 6, 3, 2),  # one worker: its micro-batch is the global batch, and short
    ]
    return [
        dict(shards=[_sampler_shard(n, w, r, 0, seed, True, False) for r in range(w)],
             iteration=iteration, batch_size=b)
        for n, w, b, iteration, seed in settings
    ]  # fmt: skip


def _compare_global_batch(got, want, case):
    return _compare_indices(got, want, f"the global batch of W = {len(case['shards'])} workers")


t2 = CodeExercise(
    "t2",
    "Write `global_batch(shards, iteration, batch_size)`: `shards` holds the W workers' sample "
    "indices for one epoch (worker r's at `shards[r]`); in iteration `iteration` (0 for the first) "
    "each worker takes micro-batch number `iteration` of its shard, its positions "
    "iteration·b to iteration·b + b − 1 (fewer in a short last one). Return the global batch: "
    "worker 0's micro-batch, then worker 1's, …, so that cut into pieces of b it gives back each "
    "worker's, as a list of ints. Checked index for index on DistributedSampler's shards, with W = 1 to 4 and a "
    "short last iteration.",
    reference=_global_batch,
    cases=_global_batch_cases,
    compare=_compare_global_batch,
    mistakes=(
        Mistake(
            _interleaved,
            "Your global batch holds the right samples in another order: position by position "
            "across the workers, where it should be worker 0's micro-batch, then worker 1's, …; "
            "cut into pieces of b, yours does not give back each worker's micro-batch.",
            hint="Take each shard's whole micro-batch in turn: the loop over the shards outside.",
        ),
        Mistake(
            _first_worker_only,
            "Your global batch is worker 0's micro-batch alone: every worker takes one in the same "
            "iteration, and the update sees all W of them.",
            hint="Join the micro-batches of every shard, not only `shards[0]`.",
        ),
        Mistake(
            _starts_at_iteration,
            "Your micro-batches start at position `iteration` of each shard, so those of "
            "consecutive iterations overlap: micro-batch number j starts at position j·b.",
            hint="Multiply the iteration by `batch_size` to find where it starts.",
        ),
        Mistake(
            _counted_from_one,
            "Your global batch is the previous iteration's: iteration 0 is the first, so micro-"
            "batch number `iteration` starts at position iteration·b.",
            hint="Start at `iteration * batch_size`, without subtracting 1.",
        ),
        Mistake(
            _end_to_end,
            "You laid the shards end to end and cut W·b indices out of them: that takes them "
            "from one or two shards, where every worker gives b of its own.",
            hint="Cut b indices out of each shard separately, at the same positions.",
        ),
    ),  # fmt: skip
    hint=[
        "Every worker takes the same positions of its own shard in the same iteration: find "
        "where micro-batch number `iteration` starts and ends, then take that slice of each shard.",
        "It starts at position iteration·b and holds b indices (a slice stops at the shard's end "
        "by itself). Go over the shards in rank order and put their slices one after another into "
        "one list.",
    ],
    solution="""def global_batch(shards, iteration, batch_size):
    start = iteration * batch_size  # the same positions in every worker's shard
    batch = []
    for shard in shards:  # worker 0's micro-batch first
        batch += shard[start : start + batch_size]
    return batch
""",
)


# --- t3: the all-reduce, simulated ------------------------------------------------------------


def _averaged_gradients(model, loss_fn, micro_batches):
    """What every worker ends up with after the all-reduce: the mean of the W gradients."""
    grads = _worker_gradients(model, loss_fn, micro_batches)
    return _reduce(grads, len(micro_batches))


def _whole_batch_gradient(model, loss_fn, micro_batches):
    """The one-big-batch shortcut: one backward() over all the workers' samples at once. Equal to
    the workers' average when their micro-batches are of equal size, not otherwise."""
    X = torch.cat([xb for xb, _ in micro_batches])
    y = torch.cat([yb for _, yb in micro_batches])
    model.zero_grad()
    loss_fn(model(X), y).backward()
    return {name: p.grad.detach().clone() for name, p in model.named_parameters()}


def _worker_gradients(model, loss_fn, micro_batches, *, scale=1.0, zero=True):
    """Each worker's gradient on its micro-batch, from one model (zeroed between workers unless
    ``zero`` is False); each worker's loss is multiplied by ``scale``."""
    grads = []
    for xb, yb in micro_batches:
        if zero:
            model.zero_grad()
        (loss_fn(model(xb), yb) * scale).backward()
        grads.append({name: p.grad.detach().clone() for name, p in model.named_parameters()})
    return grads


def _reduce(grads, divide_by):
    return {name: sum(g[name] for g in grads) / divide_by for name in grads[0]}


def _summed(model, loss_fn, micro_batches):
    return _reduce(_worker_gradients(model, loss_fn, micro_batches), 1)


def _divided_twice(model, loss_fn, micro_batches):
    W = len(micro_batches)
    return _reduce(_worker_gradients(model, loss_fn, micro_batches, scale=1 / W), W)


def _not_zeroed(model, loss_fn, micro_batches):
    return _reduce(_worker_gradients(model, loss_fn, micro_batches, zero=False), len(micro_batches))


def _worker_zero_only(model, loss_fn, micro_batches):
    return _worker_gradients(model, loss_fn, micro_batches)[0]


def _last_worker_only(model, loss_fn, micro_batches):
    return _worker_gradients(model, loss_fn, micro_batches)[-1]


def _first_micro_batches(n, world_size, batch_size, seed):
    """The first micro-batch of every worker, as the chapter's workers take it: a
    DistributedSampler's first ``batch_size`` indices on the tutorial data."""
    data = quadratic_data(n, seed=seed)
    micro_batches = []
    for rank in range(world_size):
        idx = _sampler_shard(n, world_size, rank, 0, seed, True, False)[:batch_size]
        micro_batches.append((data.X[idx], data.y[idx]))
    return micro_batches


def _uneven_micro_batches(sizes, seed):
    """A batch split unevenly over the workers, as a short last batch split by hand may be."""
    data = quadratic_data(sum(sizes), seed=seed)
    parts = torch.split(torch.arange(sum(sizes)), list(sizes))
    return [(data.X[idx], data.y[idx]) for idx in parts]


UNEVEN = (4, 3, 3)  # the last case's micro-batch sizes


def _allreduce_cases():
    """The first micro-batch of every worker, as DistributedSampler deals them (equal sizes), and
    one batch of 10 split 4, 3, 3: there one backward() over the whole batch is not the workers'
    average, so simulating the workers is the only way through."""
    cases = [
        dict(
            model=tutorial_mlp(seed=seed),
            loss_fn=mse_loss,
            micro_batches=_first_micro_batches(n, w, b, seed),
        )
        for n, w, b, seed in ((1000, 2, 32, 0), (1000, 4, 8, 1), (90, 3, 10, 2))
    ]
    cases.append(
        dict(
            model=tutorial_mlp(seed=3),
            loss_fn=mse_loss,
            micro_batches=_uneven_micro_batches(UNEVEN, 3),
        )
    )
    return cases


def _compare_averaged(got, want, case):
    if isinstance(got, (list, tuple)) and len(got) == len(want):
        return (
            f"you returned a {type(got).__name__} of gradients: return a dict {{name: tensor}}, "
            "each gradient under its parameter's name (`model.named_parameters()` gives both)"
        )
    if not isinstance(got, Mapping):
        return (
            "return the averaged gradient of every parameter, as a dict {name: tensor} over "
            f"model.named_parameters(); you returned {reprlib.repr(got)}"
        )
    if got and all(g is None for g in got.values()):
        return "your gradients are all None: call backward() on each worker's loss"
    sizes = [len(xb) for xb, _ in case["micro_batches"]]
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


t3 = CodeExercise(
    "t3",
    "Write `averaged_gradients(model, loss_fn, micro_batches)`: simulate W workers in one "
    "process. `micro_batches` holds one (X, y) per worker; each worker computes its loss "
    "`loss_fn(model(X), y)` and its gradient on its own, from the same parameters; return the "
    "gradient every worker ends up with after DDP's all-reduce, the average of the W gradients, "
    "as a dict {name: tensor} over `model.named_parameters()`. Checked on the chapter's tutorial "
    "MLP and data, within 1e-5 of the largest gradient entry (float32 rounding): on three global "
    "batches split evenly, as DistributedSampler splits them, and on one split unevenly (4, 3 "
    "and 3 samples).",
    reference=_averaged_gradients,
    cases=_allreduce_cases,
    compare=_compare_averaged,
    mistakes=(
        Mistake(
            _whole_batch_gradient,
            "You computed one backward() over all the micro-batches at once instead of simulating "
            "the workers. That is the workers' average only when every micro-batch has the same "
            "size: here they hold 4, 3 and 3 samples, and each worker's loss is a mean over its "
            "own, so the all-reduce averages three means, in which a sample of a smaller "
            "micro-batch weighs more. Simulate what each worker computes.",
            hint="One loss and one backward() per (X, y) in micro_batches, each gradient kept; "
            "then the average of the kept gradients.",
        ),
        Mistake(
            _summed,
            "Your gradient is W times too large: it is the sum of the workers' gradients. "
            "All-reduce sums them and DDP then divides by W, so that the update is the big "
            "batch's, whose loss is a mean.",
            hint="Divide the sum by `len(micro_batches)`.",
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
            "it. Each real worker has its own model copy, whose .grad holds only its own micro-batch's.",
            hint="`model.zero_grad()` before each worker's backward(), then copy each gradient "
            "out (`p.grad.clone()`).",
        ),
        Mistake(
            _worker_zero_only,
            "Your gradient is worker 0's alone, the gradient of its b samples: with it the other "
            "workers' micro-batches count for nothing, and without the all-reduce each worker "
            "would make its own update and the copies would drift apart.",
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
    solution="""def averaged_gradients(model, loss_fn, micro_batches):
    grads = []  # one {name: gradient} per worker
    for X, y in micro_batches:
        model.zero_grad()  # each worker starts from its own, empty .grad
        loss_fn(model(X), y).backward()
        named = model.named_parameters()
        grads.append({name: p.grad.clone() for name, p in named})
    W = len(micro_batches)
    # the all-reduce: mean
    return {name: sum(g[name] for g in grads) / W for name in grads[0]}
""",
)


# --- the end-of-chapter exercises ------------------------------------------------------------

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
    "What gradient does every worker end up with after DDP's all-reduce of the W workers' "
    "gradients: their 'sum', their 'mean', or that of 'worker 0' alone?",
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


# --- q4: the global batch's gradient from uneven micro-batches -------------------------------


def _global_gradient(grads, sizes):
    """Each worker's gradient weighed by its number of samples, over all the samples."""
    total = sum(sizes)
    return {name: sum(s * g[name] for s, g in zip(sizes, grads)) / total for name in grads[0]}


def _plain_mean(grads, sizes):
    return {name: sum(g[name] for g in grads) / len(grads) for name in grads[0]}


def _weighted_over_w(grads, sizes):
    return {name: sum(s * g[name] for s, g in zip(sizes, grads)) / len(grads) for name in grads[0]}


def _weighted_sum(grads, sizes):
    return {name: sum(s * g[name] for s, g in zip(sizes, grads)) for name in grads[0]}


def _inverse_weights(grads, sizes):
    total = sum(1 / s for s in sizes)
    return {name: sum(g[name] / s for s, g in zip(sizes, grads)) / total for name in grads[0]}


GLOBAL_SIZES = ((4, 3, 3), (10, 2), (8, 8), (5, 1, 1, 1))  # q4's micro-batch sizes, case by case


def _global_gradient_cases():
    """Each worker's gradient of its mean loss over its own micro-batch, for micro-batches of
    different sizes (and one case of equal ones)."""
    cases = []
    for seed, sizes in enumerate(GLOBAL_SIZES, start=3):
        model = tutorial_mlp(seed=seed)
        grads = _worker_gradients(model, mse_loss, _uneven_micro_batches(sizes, seed))
        cases.append(dict(grads=grads, sizes=list(sizes)))
    return cases


def _compare_global_gradient(got, want, case):
    names = list(want)
    if isinstance(got, (list, tuple)) and len(got) == len(names):
        got = dict(zip(names, got))  # in the order of the workers' dicts
    if not isinstance(got, Mapping):
        return (
            "return the gradient of every parameter as a dict {name: tensor}, as each worker's "
            f"is given; you returned {reprlib.repr(got)}"
        )
    scale = max(float(g.abs().max()) for g in want.values())
    message = first_difference(
        got, want, bitwise=False, atol=1e-5 * scale, rtol=0.0, name="the gradient"
    )
    if message:
        sizes = ", ".join(map(str, case["sizes"]))
        return f"with micro-batches of {sizes} samples, {message}"
    return None


q4 = CodeExercise(
    "q4",
    "Workers whose micro-batches differ in size (a dataset split by files of different lengths, "
    "without DistributedSampler's padding): worker r's gradient `grads[r]` (a dict {name: "
    "tensor}) is that of its mean loss over its own `sizes[r]` samples. Write "
    "`global_gradient(grads, sizes)` returning the gradient of the mean loss over all their "
    "samples together, the global batch's, as one dict {name: tensor}. Checked within 1e-5 of the "
    "largest gradient entry (float32 rounding), on micro-batches of 4, 3, 3; 10, 2; 8, 8; and "
    "5, 1, 1, 1 samples.",
    reference=_global_gradient,
    cases=_global_gradient_cases,
    compare=_compare_global_gradient,
    mistakes=(
        Mistake(
            _plain_mean,
            "Yours is what every worker ends up with after DDP's all-reduce, the plain mean of the W "
            "gradients, each worker counted alike: right only when the micro-batches are of equal "
            "size. Each gradient is "
            "a mean over its own samples, so in a plain mean a sample of a small micro-batch "
            "weighs more than one of a large micro-batch.",
            hint="Weigh each worker's gradient by its number of samples before adding them up.",
        ),
        Mistake(
            _weighted_over_w,
            "You weighed each gradient by its number of samples, then divided by the number of "
            "workers W: that weighted sum counts every sample once, so divide by how many "
            "samples there are.",
            hint="Divide by `sum(sizes)`, not by `len(grads)`.",
        ),
        Mistake(
            _weighted_sum,
            "Yours is the gradient of the summed loss over all the samples, N times the mean's: "
            "the weighted sum still has to be divided by the number of samples N.",
            hint="After the weighted sum, divide by the total number of samples, `sum(sizes)`.",
        ),
        Mistake(
            _inverse_weights,
            "You weighed each gradient by 1 / its size, so the smallest micro-batch counts the "
            "most: a worker with more samples carries more of the global batch, so its weight "
            "grows with its size.",
            hint="Weigh worker r's gradient by `sizes[r]` itself.",
        ),
    ),  # fmt: skip
    hint=[
        "A mean over a worker's s samples is their sum divided by s: turn each gradient back into "
        "its share of one sum over all the samples, then divide that sum by how many there are.",
        "Per parameter name: multiply worker r's gradient by sizes[r], add these up over the "
        "workers, and divide by the total number of samples.",
    ],
    solution="""def global_gradient(grads, sizes):
    total = sum(sizes)  # the samples of the global batch
    combined = {}
    # worker r's mean times its sizes[r] samples is its share of the sum
    for name in grads[0]:
        combined[name] = sum(s * g[name] for s, g in zip(sizes, grads)) / total
    return combined
""",
)
