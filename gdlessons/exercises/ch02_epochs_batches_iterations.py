"""Chapter 02 exercises: counting iterations, epochs and samples.

q1 to q6 take a number or a word; q7 and q8 take a function the student writes, checked by
:class:`~gdlessons.exercises.code.CodeExercise` against the batches the course's
:class:`~gdlessons.batching.BatchIterator` (and so ``train()``) really makes.

>>> q1.check(29).correct, q2.check(...).status, q7.check(...).status
(True, 'not attempted', 'not attempted')
"""

from __future__ import annotations

import math
import reprlib

import torch

from gdlessons.batching import BatchIterator
from gdlessons.exercises import Exercise, as_number, expect_choice, expect_close, expect_int
from gdlessons.exercises.code import CodeExercise, Mistake

q1 = Exercise(
    "q1",
    "The full digits set has N = 1797 images. With batch size B = 64 and drop_last=False, "
    "how many iterations (optimizer updates) make one epoch?",
    expect_int(29),
    hint="Every sample is used once per epoch; the last batch may be short. Round up.",
    solution="ceil(1797 / 64) = ceil(28.08) = 29: 28 full batches of 64 and one batch of 5.",
)

q2 = Exercise(
    "q2",
    "Same data and batch size (N = 1797, B = 64), now with drop_last=True. "
    "How many iterations per epoch?",
    expect_int(28),
    hint="drop_last throws the short last batch away. Round down.",
    solution="floor(1797 / 64) = 28; the 5 samples that would form the short batch are skipped "
    "this epoch (a different 5 each epoch when shuffling).",
)

q3 = Exercise(
    "q3",
    "With N = 1797, B = 64 and drop_last=False, how many samples are in the last batch of an epoch?",
    expect_int(5),
    hint="Subtract the samples in the full batches from N.",
    solution="1797 - 28 × 64 = 1797 - 1792 = 5.",
)

q4 = Exercise(
    "q4",
    "An 'epoch' of N = 1438 draws WITH replacement from N = 1438 samples (the digits training "
    "set). What fraction of the samples do you expect it never to use? (a number like 0.5)",
    expect_close((1 - 1 / 1438) ** 1438, rtol=0.03),
    hint="Each draw misses a given sample with probability 1 - 1/N, and there are N draws.",
    solution="(1 - 1/1438)^1438 ≈ 0.368 ≈ 1/e: about 37% of the samples are never used.",
)

q5 = Exercise(
    "q5",
    "The source tutorial ran 1000 'epochs' of `xb, yb = next(iter(loader))` with B = 128 on "
    "N = 1000 samples. How many real epochs' worth of samples did that run see?",
    expect_close(128.0, rtol=0.0, atol=1e-9),
    hint="Each 'epoch' of that loop is one batch. Count the samples, then divide by N.",
    solution="1000 iterations × 128 samples = 128,000 samples seen = 128 epochs' worth "
    "(a real 1000-epoch run would have done 8 × 1000 = 8000 iterations).",
)

q6 = Exercise(
    "q6",
    "Two runs of the same number of epochs, one with B = 32 and one with B = 128, are plotted "
    "with 'epoch' on the x-axis. Which made more optimizer updates? Answer 'B=32', 'B=128' or 'same'.",
    expect_choice("B=32", ("B=32", "B=128", "same")),
    hint="Iterations per epoch = ceil(N / B).",
    solution="B=32: it makes 4× as many updates per epoch, so an epoch axis hides a 4× difference "
    "in updates (and per-iteration cost).",
)


# --- q7: the batches of one epoch -------------------------------------------------------------


def _batch_sizes(n, batch_size, drop_last):
    """What ``train()`` feeds: the sizes of the batches of one epoch of a ``BatchIterator``."""
    batches = BatchIterator(torch.arange(n), batch_size=batch_size, drop_last=drop_last)
    return [len(xb) for (xb,) in batches]


def _size_cases():
    return [
        dict(n=1797, batch_size=64, drop_last=False),
        dict(n=1797, batch_size=64, drop_last=True),
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


q7 = CodeExercise(
    "q7",
    "Write `epoch_batch_sizes(n, batch_size, drop_last)`: the list of batch sizes, in order, of "
    "one epoch over n samples, as `BatchIterator` (and so `train()`) makes them, with and "
    "without drop_last. Checked against BatchIterator's real batches for six settings.",
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
    hint="floor(N / B) full batches of B; then, only if some samples are left and drop_last is "
    "False, one last batch of the N − floor(N / B)·B left over.",
    solution="""def epoch_batch_sizes(n, batch_size, drop_last):
    full, left = divmod(n, batch_size)  # full batches, samples left over
    sizes = [batch_size] * full
    if left and not drop_last:
        sizes.append(left)  # the short last batch
    return sizes
""",
)


# --- q8: what an epoch left out ---------------------------------------------------------------


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
    if math.isclose(value, want, rel_tol=1e-9, abs_tol=1e-12):
        return None
    return (
        f"for {len(case['batches'])} batches ({draws} draws), your fraction is {value:.4g}, "
        f"expected {want:.4g}"
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


q8 = CodeExercise(
    "q8",
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
    hint="Put every index of every batch together (`torch.cat(batches)`), count the distinct "
    "ones, and divide the samples left out by n.",
    solution="""import torch


def unused_fraction(n, batches):
    used = torch.cat(batches).unique()  # each sample once, however often it was drawn
    return (n - len(used)) / n
""",
)
