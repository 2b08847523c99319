"""Chapter 02 exercises: the batches of an epoch inside the story, then counting questions.

The story's your-turn cells, checked by :class:`~gdlessons.exercises.code.CodeExercise` against
the batches the course's :class:`~gdlessons.batching.BatchIterator` (and so ``train()``) really
makes: t1 the sizes of the batches of one epoch, with and without ``drop_last``; t2 the batches
of a shuffled pass (a permutation cut into pieces of B); t3 the batches of an epoch drawn with
replacement (t2 and t3 index for index, from the generator they are given). At the end: q1 to
q6 take a number or a word, q7 a function (the fraction of the samples an epoch left out).

>>> q1.check(29).correct, q2.check(...).status, t1.check(...).status
(True, 'not attempted', 'not attempted')
"""

from __future__ import annotations

import math
import reprlib

import torch

from gdlessons.batching import BatchIterator
from gdlessons.exercises import Exercise, as_number, expect_choice, expect_close, expect_int
from gdlessons.exercises.code import CodeExercise, Mistake

# --- t1: the batches of one epoch -------------------------------------------------------------


def _batch_sizes(n, batch_size, drop_last):
    """What ``train()`` feeds: the sizes of the batches of one epoch of a ``BatchIterator``."""
    batches = BatchIterator(torch.arange(n), batch_size=batch_size, drop_last=drop_last)
    return [len(xb) for (xb,) in batches]


def _size_cases():
    return [
        dict(n=1000, batch_size=64, drop_last=False),  # not q1 to q3's 1797: no answer given away
        dict(n=1000, batch_size=64, drop_last=True),
        dict(n=1000, batch_size=125, drop_last=False),
        dict(n=1000, batch_size=125, drop_last=True),
        dict(n=20, batch_size=6, drop_last=False),
        dict(n=20, batch_size=6, drop_last=True),
    ]


def _compare_sizes(got, want, case):
    try:
        got = [as_number(s) for s in got]
    except TypeError:
        return f"return the list of batch sizes, one number per batch; you returned {reprlib.repr(got)}"
    if len(got) != len(want):
        return f"your epoch has {len(got)} batches, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want), start=1):
        if g != w:
            return f"batch {i} of the epoch has {g!r} samples, expected {w}"
    return None


def _always_keep_short(n, batch_size, drop_last):
    full, rest = divmod(n, batch_size)
    return [batch_size] * full + ([rest] if rest else [])


def _always_drop_short(n, batch_size, drop_last):
    return [batch_size] * (n // batch_size)


def _last_batch_full(n, batch_size, drop_last):
    return [batch_size] * (n // batch_size if drop_last else math.ceil(n / batch_size))


def _empty_last_batch(n, batch_size, drop_last):
    full, rest = divmod(n, batch_size)
    return [batch_size] * full + ([] if drop_last else [rest])


t1 = CodeExercise(
    "t1",
    "Write `epoch_batch_sizes(n, batch_size, drop_last)`: the list of batch sizes, in order, of "
    "one epoch over n samples, as `BatchIterator` (and so `train()`) makes them, with and "
    "without drop_last. Checked against BatchIterator's real batches for six settings, among "
    "them N = 1000 with B = 64 and a batch size that divides N.",
    reference=_batch_sizes,
    cases=_size_cases,
    compare=_compare_sizes,
    mistakes=(
        Mistake(
            _always_keep_short,
            "Your epochs keep the short last batch even with drop_last=True: drop_last "
            "skips it, so the epoch has floor(N / B) batches, all full.",
            hint="Add the leftover batch only when drop_last is False.",
        ),
        Mistake(
            _always_drop_short,
            "Your epochs lose the short last batch even with drop_last=False: without "
            "drop_last every sample is used once per epoch, the leftover N − floor(N / B)·B "
            "samples in one last, short batch.",
            hint="When drop_last is False and samples are left over, append one batch of them.",
        ),
        Mistake(
            _last_batch_full,
            "You have the right number of batches, but your last batch is full: after the "
            "full batches only N − (iterations − 1)·B samples are left for it.",
            hint="`divmod(n, batch_size)` gives the full batches and the leftover at once.",
        ),
        Mistake(
            _empty_last_batch,
            "When B divides N there is no short batch, but your epoch ends with a batch of 0 "
            "samples: add the leftover batch only when there is a leftover.",
            hint="Append a last batch only when some samples are left over (n % batch_size > 0) "
            "and drop_last is False.",
        ),
    ),  # fmt: skip
    hint=[
        "Start with the full batches, then decide whether a last, short batch follows: that "
        "depends on whether samples are left over, and on drop_last.",
        "floor(N / B) full batches of B; then, only if some samples are left and drop_last is "
        "False, one last batch of the N − floor(N / B)·B left over.",
    ],
    solution="""def epoch_batch_sizes(n, batch_size, drop_last):
    full, left = divmod(n, batch_size)  # full batches, samples left over
    sizes = [batch_size] * full
    if left and not drop_last:
        sizes.append(left)  # the short last batch
    return sizes
""",
)


# --- t2 and t3: the batches of one epoch, as index tensors ------------------------------------


def _compare_batches(got, want, case):
    """The first batch (or index in it) where the student's epoch differs from BatchIterator's."""
    if isinstance(got, torch.Tensor) and got.ndim == 2:
        got = list(got)  # one row per batch: fine
    if isinstance(got, torch.Tensor):
        return (
            f"return a list of index tensors, one per batch; you returned one tensor of shape "
            f"{tuple(got.shape)} (`.split(batch_size)` cuts it into batches)"
        )
    if not isinstance(got, (list, tuple)):
        return f"return a list of index tensors, one per batch; you returned {reprlib.repr(got)}"
    if len(got) != len(want):
        return f"your epoch has {len(got)} batches, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want), start=1):
        if not isinstance(g, torch.Tensor):
            return (
                f"batch {i} is a {type(g).__name__}, not a tensor of indices: keep what torch "
                "gives you (`.split()` hands out tensors)"
            )
        if g.shape != w.shape:
            return f"batch {i} holds {g.numel()} indices, expected {w.numel()}"
        if not torch.equal(g.to(w.dtype), w):
            at = int((g.to(w.dtype) != w).nonzero()[0, 0])
            return (
                f"batch {i} differs from BatchIterator's: its index {at + 1} is sample "
                f"{int(g[at])}, expected {int(w[at])}"
            )
    return None


def _generator(seed):
    return torch.Generator().manual_seed(seed)


# --- t2: a shuffled pass ----------------------------------------------------------------------


def _shuffled_epoch(n, batch_size, drop_last, generator):
    """What ``BatchIterator(...).epoch_indices()`` gives for one shuffled epoch (tests pin the
    two together, index for index)."""
    batches = list(torch.randperm(n, generator=generator).split(batch_size))
    if drop_last and len(batches[-1]) < batch_size:
        batches.pop()  # the short last batch
    return batches


def _shuffle_cases():
    # The generators' seeds differ from the check's global seeds (0, 1, 2, 3).
    return [
        dict(n=20, batch_size=6, drop_last=False, generator=_generator(11)),
        dict(n=20, batch_size=6, drop_last=True, generator=_generator(12)),
        dict(n=12, batch_size=4, drop_last=True, generator=_generator(13)),  # B divides N
        dict(n=1000, batch_size=128, drop_last=False, generator=_generator(14)),
    ]


def _in_order(n, batch_size, drop_last, generator):
    batches = list(torch.arange(n).split(batch_size))
    return batches[:-1] if drop_last and n % batch_size else batches


def _global_generator(n, batch_size, drop_last, generator):
    batches = list(torch.randperm(n).split(batch_size))
    return batches[:-1] if drop_last and n % batch_size else batches


def _short_batch_kept(n, batch_size, drop_last, generator):
    return list(torch.randperm(n, generator=generator).split(batch_size))


def _last_batch_dropped(n, batch_size, drop_last, generator):
    batches = list(torch.randperm(n, generator=generator).split(batch_size))
    return batches[:-1] if drop_last else batches


def _permutation_per_batch(n, batch_size, drop_last, generator):
    k = n // batch_size if drop_last else math.ceil(n / batch_size)
    sizes = [batch_size] * (n // batch_size) + [n % batch_size] * (k > n // batch_size)
    return [torch.randperm(n, generator=generator)[:size] for size in sizes]


def _with_replacement(n, batch_size, drop_last, generator):
    batches = list(torch.randint(n, (n,), generator=generator).split(batch_size))
    return batches[:-1] if drop_last and n % batch_size else batches


t2 = CodeExercise(
    "t2",
    "Write `shuffled_epoch(n, batch_size, drop_last, generator)`: the batches of one shuffled "
    "epoch over n samples, as a list of index tensors: one permutation of 0..n−1 drawn with "
    "`torch.randperm(n, generator=generator)`, cut into consecutive pieces of batch_size (the "
    "last one short when batch_size does not divide n), the short last piece left out with "
    "drop_last. The check compares your batches, index for index, with what BatchIterator "
    "makes from the same generator, on four settings (one where batch_size divides n).",
    reference=_shuffled_epoch,
    cases=_shuffle_cases,
    compare=_compare_batches,
    mistakes=(
        Mistake(
            _in_order,
            "Your batches take the samples in index order (0, 1, 2, ...): an epoch is shuffled, "
            "a new random order each epoch.",
            hint="Start from `torch.randperm(n, generator=generator)`, not `torch.arange(n)`.",
        ),
        Mistake(
            _global_generator,
            "Your batches are shuffled, but from PyTorch's global generator, not the one you "
            "were given: BatchIterator (and so train()) draws its order from its own seeded "
            "generator, so yours are other batches.",
            hint="Pass it on: `torch.randperm(n, generator=generator)`.",
        ),
        Mistake(
            _short_batch_kept,
            "With drop_last=True your epoch still ends with the short batch: drop_last leaves "
            "it out, so every batch holds batch_size samples.",
            hint="When drop_last is set and the last batch is shorter than batch_size, leave it "
            "out of the list.",
        ),
        Mistake(
            _last_batch_dropped,
            "When batch_size divides n there is no short batch, but with drop_last your epoch "
            "lost its last, full batch: drop_last drops a batch only when it is short.",
            hint="Check the last batch's length before you drop it.",
        ),
        Mistake(
            _permutation_per_batch,
            "You drew a new permutation for every batch: then a sample can land in two batches "
            "of one epoch and another in none. One permutation per epoch, cut into pieces.",
            hint="Call `torch.randperm` once, then cut its result with `.split(batch_size)`.",
        ),
        Mistake(
            _with_replacement,
            "Your batches are drawn with replacement (torch.randint): some samples twice, some "
            "never. A shuffled pass uses every sample exactly once: a permutation.",
            hint="`torch.randperm(n, generator=generator)` is every index once, in random order.",
        ),
    ),  # fmt: skip
    hint=[
        "Two steps: one random order of all n indices, then cut it into consecutive pieces of "
        "batch_size; drop_last only decides about the last piece.",
        "`torch.randperm(n, generator=generator)` is the order and its `.split(batch_size)` the "
        "pieces (make it a list); with drop_last, remove the last piece if it is shorter than "
        "batch_size.",
    ],
    solution="""import torch


def shuffled_epoch(n, batch_size, drop_last, generator):
    # every sample once, in random order
    order = torch.randperm(n, generator=generator)
    # consecutive pieces; the last may be short
    batches = list(order.split(batch_size))
    if drop_last and len(batches[-1]) < batch_size:
        batches.pop()  # drop_last leaves the short batch out
    return batches
""",
)


# --- t3: an epoch drawn with replacement ------------------------------------------------------


def _replacement_epoch(n, batch_size, batches, generator):
    """What ``BatchIterator(..., replacement=True, batches_per_epoch=batches)`` draws for one
    epoch (tests pin the two together, index for index)."""
    return list(torch.randint(n, (batches, batch_size), generator=generator))


def _replacement_cases():
    return [
        dict(n=20, batch_size=6, batches=4, generator=_generator(21)),
        dict(n=1000, batch_size=40, batches=25, generator=_generator(22)),
        dict(n=1000, batch_size=40, batches=10, generator=_generator(23)),  # fewer than N draws
    ]


def _replacement_global(n, batch_size, batches, generator):
    return list(torch.randint(n, (batches, batch_size)))


def _high_inclusive(n, batch_size, batches, generator):
    return list(torch.randint(n - 1, (batches, batch_size), generator=generator))


def _a_pass_per_epoch(n, batch_size, batches, generator):
    return list(torch.randperm(n, generator=generator).split(batch_size))


def _permutation_prefix(n, batch_size, batches, generator):
    order = torch.randperm(n, generator=generator)[: batches * batch_size]
    return list(order.split(batch_size))


def _one_batch_repeated(n, batch_size, batches, generator):
    return [torch.randint(n, (batch_size,), generator=generator)] * batches


t3 = CodeExercise(
    "t3",
    "Write `replacement_epoch(n, batch_size, batches, generator)`: an 'epoch' of `batches` "
    "batches of batch_size sample indices, each index drawn at random WITH replacement from "
    "0..n−1 by `torch.randint` with the generator given, as a list of index tensors. The check "
    "compares them, index for index, with what BatchIterator(replacement=True) draws from the "
    "same generator (torch.randint hands out the same numbers whether you draw all the batches "
    "at once or one after another).",
    reference=_replacement_epoch,
    cases=_replacement_cases,
    compare=_compare_batches,
    mistakes=(
        Mistake(
            _replacement_global,
            "Your draws come from PyTorch's global generator, not the one you were given: "
            "BatchIterator (and so train()) draws from its own seeded generator.",
            hint="Pass it on: `torch.randint(..., generator=generator)`.",
        ),
        Mistake(
            _high_inclusive,
            "Your draws never pick the last sample, n − 1: torch.randint's `high` is already "
            "left out, so `torch.randint(n, ...)` draws from 0 to n − 1.",
            hint="The upper end is n itself: `torch.randint(n, ...)`.",
        ),
        Mistake(
            _a_pass_per_epoch,
            "That is a shuffled pass without replacement (torch.randperm), every sample once, "
            "and it ignores `batches`: this epoch draws each index independently, so some "
            "samples come twice and others never.",
            hint="Draw every index on its own with `torch.randint`: batches × batch_size of them.",
        ),
        Mistake(
            _permutation_prefix,
            "Your batches never repeat a sample: the start of one permutation is drawn without "
            "replacement. With replacement each index is drawn on its own, from all n.",
            hint="Draw with `torch.randint`, not `torch.randperm`.",
        ),
        Mistake(
            _one_batch_repeated,
            "Every batch of your epoch is the same batch: you drew once and repeated it. Each "
            "batch needs its own draws.",
            hint="Draw all batches × batch_size indices, or draw inside a loop, once per batch.",
        ),
    ),  # fmt: skip
    hint=[
        "Each index is one independent draw from 0..n−1; you need `batches` × `batch_size` of "
        "them, cut into batches.",
        "`torch.randint(n, size, generator=generator)` draws integers from 0 to n − 1; with the "
        "size (batches, batch_size) you get one row per batch, and `list(...)` of it is the list "
        "of batches.",
    ],
    solution="""import torch


def replacement_epoch(n, batch_size, batches, generator):
    # 0..n-1, repeats allowed
    draws = torch.randint(n, (batches, batch_size), generator=generator)
    return list(draws)  # one row per batch
""",
)


# --- q1 to q6: counting ---------------------------------------------------------------------

DIGITS_N, DIGITS_B = 1797, 64  # the full digits set: the chapter's tables use N = 1000
_full, _left = divmod(DIGITS_N, DIGITS_B)

q1 = Exercise(
    "q1",
    f"The full digits set has N = {DIGITS_N} images. With batch size B = {DIGITS_B} and "
    "drop_last=False, how many iterations (optimizer updates) make one epoch?",
    expect_int(
        _full + 1,
        mistakes={
            _full: "You rounded down, which drops the short last batch: that is drop_last=True. "
            "Without it, the samples left over make one more, short batch.",
            _full + 2: "One too many: after the full batches, the samples left over make one "
            "batch, not two.",
            _left: "That is the size of the last batch, not the number of batches.",
            DIGITS_N: "That counts samples: one iteration uses a whole batch of them.",
        },
    ),
    hint=[
        "Every sample is used once per epoch, B at a time; the last batch may be short.",
        "iterations per epoch = ceil(N / B) when drop_last is False.",
    ],
    solution=f"ceil({DIGITS_N} / {DIGITS_B}) = ceil({DIGITS_N / DIGITS_B:.2f}) = {_full + 1}: "
    f"{_full} full batches of {DIGITS_B} and one batch of {_left}.",
)

q2 = Exercise(
    "q2",
    f"Same data and batch size (N = {DIGITS_N}, B = {DIGITS_B}), now with drop_last=True. "
    "How many iterations per epoch?",
    expect_int(
        _full,
        mistakes={
            _full + 1: "That keeps the short last batch: drop_last=True throws it away.",
            _full - 1: "drop_last drops only the short last batch; every full batch stays.",
            _left: "That is how many samples drop_last leaves out, not the number of batches.",
        },
    ),
    hint=[
        "drop_last=True throws the short last batch away and keeps every full one.",
        "iterations per epoch = floor(N / B) with drop_last.",
    ],
    solution=f"floor({DIGITS_N} / {DIGITS_B}) = {_full}; the {_left} samples that would form the "
    f"short batch are skipped this epoch (a different {_left} each epoch when shuffling).",
)

q3 = Exercise(
    "q3",
    f"With N = {DIGITS_N}, B = {DIGITS_B} and drop_last=False, how many samples are in the last "
    "batch of an epoch?",
    expect_int(
        _left,
        mistakes={
            DIGITS_B: "The last batch is full only when B divides N; here it holds the samples "
            "left after the full batches.",
            DIGITS_B - _left: "That is how many samples the last batch is short of a full one; "
            "the question asks how many it holds.",
            _full: "That is the number of full batches, not the size of the last one.",
            _full * DIGITS_B: "That is how many samples the full batches hold together; the last "
            "batch gets what is left of N.",
        },
    ),
    hint=[
        "The last batch gets whatever the full batches leave over.",
        "Subtract floor(N / B) · B, the samples in the full batches, from N (or take N % B).",
    ],
    solution=f"{DIGITS_N} - {_full} × {DIGITS_B} = {DIGITS_N} - {_full * DIGITS_B} = {_left}.",
)

# Fewer draws than samples, so the chapter's printed 1/e (N draws from N) is not the answer.
TRAIN_N, DRAW_BATCHES, DRAW_B = 1438, 20, 36
_draws = DRAW_BATCHES * DRAW_B
q4 = Exercise(
    "q4",
    f"An 'epoch' of {DRAW_BATCHES} batches of {DRAW_B}, each sample drawn WITH replacement from "
    f"the N = {TRAIN_N} samples of the digits training set. What fraction of the samples do you "
    "expect it never to use? (a number like 0.5)",
    expect_close(
        (1 - 1 / TRAIN_N) ** _draws,
        rtol=0.03,
        mistakes={
            math.exp(-1): "That is 1/e, the rule for N draws from N samples; this epoch makes "
            "fewer draws than there are samples.",
            1 - _draws / TRAIN_N: "That assumes every draw picks a new sample, as without "
            "replacement; with replacement some are drawn twice, so more are never used.",
            1 - (1 - 1 / TRAIN_N) ** _draws: "That is the fraction used at least once; the "
            "question asks for the samples never used.",
            (1 - 1 / TRAIN_N) ** DRAW_BATCHES: "You counted batches as draws: each batch draws "
            f"{DRAW_B} samples.",
            math.exp(-TRAIN_N / _draws): "The exponent is upside down: it is draws / N, not "
            "N / draws.",
        },
    ),
    hint=[
        "Follow one sample: how likely is one draw to miss it, and how many draws are there?",
        "One draw misses a given sample with probability 1 - 1/N; the draws are independent, "
        "so it is never drawn with probability (1 - 1/N)^draws, where draws = batches × B.",
    ],
    solution=f"{DRAW_BATCHES} × {DRAW_B} = {_draws} draws: (1 - 1/{TRAIN_N})^{_draws} ≈ "
    f"{(1 - 1 / TRAIN_N) ** _draws:.3f} ≈ e^(-{_draws}/{TRAIN_N}): about "
    f"{(1 - 1 / TRAIN_N) ** _draws:.0%} of the samples are never used.",
)

# Other numbers than the chapter's trap table (1000 'epochs', B = 128, N = 1000).
TRAP_EPOCHS, TRAP_B, TRAP_N = 600, 64, 1280
q5 = Exercise(
    "q5",
    f"A run copied from the source tutorial does {TRAP_EPOCHS} 'epochs' of "
    f"`xb, yb = next(iter(loader))` with B = {TRAP_B} on N = {TRAP_N} samples. How many real "
    "epochs' worth of samples did that run see?",
    expect_close(
        TRAP_EPOCHS * TRAP_B / TRAP_N,
        rtol=1e-3,
        mistakes={
            TRAP_EPOCHS: "That counts turns of the loop: each 'epoch' of that loop is one batch, "
            "one iteration, not a pass over the data.",
            TRAP_EPOCHS
            * TRAP_B: "That is the number of samples seen; divide by N for epochs' worth.",
            TRAP_EPOCHS * TRAP_N / TRAP_B: "That is how many iterations a real run of that many "
            "epochs would make; the question asks the other way round.",
            TRAP_N / TRAP_B: "That is the number of iterations in one real epoch, not how many "
            "epochs the run saw.",
            TRAP_EPOCHS / TRAP_N: "You counted one sample per 'epoch': each one takes a whole "
            "batch of B.",
        },
    ),
    hint=[
        "Each 'epoch' of that loop is one batch. Count the samples the run saw.",
        "samples seen = iterations × B; one real epoch is N samples.",
    ],
    solution=f"{TRAP_EPOCHS} iterations × {TRAP_B} samples = {TRAP_EPOCHS * TRAP_B:,} samples "
    f"seen = {TRAP_EPOCHS * TRAP_B / TRAP_N:g} epochs' worth (a real {TRAP_EPOCHS}-epoch run "
    f"would have done {TRAP_N // TRAP_B} × {TRAP_EPOCHS} = {TRAP_N // TRAP_B * TRAP_EPOCHS:,} "
    "iterations).",
)

q6 = Exercise(
    "q6",
    "Two runs of the same number of epochs, one with B = 32 and one with B = 128, are plotted "
    "with 'epoch' on the x-axis. Which made more optimizer updates? Answer 'B=32', 'B=128' or 'same'.",
    expect_choice(
        "B=32",
        ("B=32", "B=128", "same"),
        mistakes={
            "B=128": "B = 128 processes more samples per update, but the same epochs mean the "
            "same samples in all, cut into fewer, bigger batches.",
            "same": "The same epochs mean the same samples seen, not the same updates: an "
            "epoch's number of updates depends on the batch size.",
        },
    ),
    hint=[
        "Same epochs, same samples seen; what differs is how they are cut into updates.",
        "Iterations per epoch = ceil(N / B): compare it for the two batch sizes.",
    ],
    solution="B=32: it makes 4× as many updates per epoch, so an epoch axis hides a 4× difference "
    "in updates (and per-iteration cost).",
)


# --- q7: what an epoch left out ---------------------------------------------------------------


def _unused_fraction(n, batches):
    used = torch.zeros(n, dtype=torch.bool)
    for idx in batches:
        used[idx] = True
    return float((~used).sum()) / n


def _batch_cases():
    def epoch(n, batch_size, seed, **kwargs):
        batches = BatchIterator(torch.arange(n), batch_size=batch_size, seed=seed, **kwargs)
        return dict(n=n, batches=batches.epoch_indices())

    return [
        epoch(1000, 40, seed=1, replacement=True),  # N draws with replacement: about 1/e unused
        epoch(1000, 40, seed=2, replacement=True, batches_per_epoch=10),  # 400 draws
        epoch(20, 6, seed=3),  # a shuffled pass: every sample once
        epoch(20, 6, seed=4, drop_last=True),  # the 2 of the dropped batch are unused
    ]


def _compare_fractions(got, want, case):
    draws = sum(len(b) for b in case["batches"])
    value = as_number(got)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"return the fraction as one number; you returned {reprlib.repr(got)}"
    if math.isclose(value, want, rel_tol=1e-6, abs_tol=1e-12):  # float32 rounding passes
        return None
    return (
        f"for {len(case['batches'])} batches ({draws} draws), your fraction is {value:.6g}, "
        f"expected {want:.6g} (within a relative 1e-06)"
    )


def _draws_not_samples(n, batches):
    return 1 - sum(len(b) for b in batches) / n


def _used_not_unused(n, batches):
    return len(torch.cat(list(batches)).unique()) / n


def _per_draw(n, batches):
    draws = sum(len(b) for b in batches)
    return (n - len(torch.cat(list(batches)).unique())) / draws


def _count_not_fraction(n, batches):
    return n - len(torch.cat(list(batches)).unique())


def _unique_per_batch(n, batches):
    return 1 - sum(len(b.unique()) for b in batches) / n


q7 = CodeExercise(
    "q7",
    "Write `unused_fraction(n, batches)`: the fraction of the n samples that no batch of an "
    "epoch used. `batches` is the list of index tensors of one epoch, as "
    "`BatchIterator.epoch_indices()` gives them. Checked on an epoch drawn with replacement, a "
    "shorter one, a shuffled pass and one with drop_last.",
    reference=_unused_fraction,
    cases=_batch_cases,
    compare=_compare_fractions,
    mistakes=(
        Mistake(
            _draws_not_samples,
            "You counted draws, not samples: with replacement a sample drawn twice is one "
            "sample used, so the number of draws says nothing about how many were left out.",
            hint="Count the distinct indices: `torch.cat(batches).unique()`.",
        ),
        Mistake(
            _used_not_unused,
            "That is the fraction of samples used at least once; the question asks for the "
            "ones never used.",
            hint="The samples never used are n minus the distinct indices drawn.",
        ),
        Mistake(
            _per_draw,
            "You divided by the number of draws: the fraction is of the N samples, so divide by n.",
            hint="Divide the samples left out by n.",
        ),
        Mistake(
            _count_not_fraction,
            "That is how many samples were never used, a count; divide it by n for the fraction.",
            hint="Divide the samples left out by n.",
        ),
        Mistake(
            _unique_per_batch,
            "You removed repeats within each batch but not across batches: a sample drawn in "
            "two batches is still one sample used.",
            hint="Join the batches first, `torch.cat(batches)`, then count distinct indices.",
        ),
    ),  # fmt: skip
    hint=[
        "A sample counts as used if any batch holds its index, however many times: count the "
        "distinct indices over the whole epoch.",
        "`torch.cat(batches)` joins the batches into one tensor of indices and `.unique()` keeps "
        "each index once; the samples left out are n minus those, as a fraction of n.",
    ],
    solution="""import torch


def unused_fraction(n, batches):
    # each sample once, however often it was drawn
    used = torch.cat(batches).unique()
    return (n - len(used)) / n
""",
)
