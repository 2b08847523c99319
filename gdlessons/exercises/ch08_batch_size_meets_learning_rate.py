"""Chapter 08 exercises: learning curves, batch size × learning rate, accumulation.

q1–q4 take a number or a word; q5 and q6 take a function the student writes, checked by
:class:`~gdlessons.exercises.code.CodeExercise`: q5 gives the verdict on a pair of learning curves
by the chapter's rule, q6 the rate for each batch size by the linear scaling rule.

>>> q1.check(8).status, q2.check("good fit").status, q3.check(2.0).status, q4.check(24).status
('correct', 'correct', 'correct', 'correct')
>>> q5.check(...).status, q6.check(q6.reference).status
('not attempted', 'correct')
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gdlessons.exercises import (
    SYNONYMS,
    Exercise,
    as_number,
    expect_choice,
    expect_close,
    expect_int,
    normalise_word,
)
from gdlessons.exercises.code import CodeExercise, Mistake

# The numbers of q1 and q4, from which their known mistakes' answers are computed.
_MEMORY, _WANTED = 64, 512
_IMAGES, _BATCH, _MICRO = 1438, 256, 4

q1 = Exercise(
    "q1",
    "Memory fits 64 samples per forward/backward pass; you want batches of 512. accumulation_steps?",
    expect_int(
        _WANTED // _MEMORY,
        mistakes={
            _WANTED: "That is the batch size you want, not accumulation_steps: that one counts "
            "the micro-batches each update is split into.",
            _MEMORY: "That is what fits in memory: the size of one micro-batch, not how many of "
            "them make a batch.",
            _WANTED // _MEMORY - 1: "You counted the micro-batches after the first one; "
            "accumulation_steps counts every micro-batch of the update, the first included.",
            _BATCH // _MEMORY: "That is the capstone's setting (batches of 256). Here the batch "
            "you want is 512.",
        },
    ),
    hint=[
        "accumulation_steps is the number of micro-batches whose gradients make up one update.",
        "How many micro-batches of 64 samples add up to one batch of 512?",
    ],
    solution="512 / 64 = 8: train(..., batch_size=512, accumulation_steps=8).",
)

VERDICTS = ("under-fit", "good fit", "over-fit")
# Other spellings of the verdicts, accepted alike by q2 and q5 (on top of normalise_word's case,
# spaces, hyphens and underscores).
VERDICT_SYNONYMS = {**SYNONYMS, "goodfit": "good fit"}


def as_verdict(word: object) -> str | None:
    """The verdict ``word`` names, compared as q2 compares it; None if it names none.

    >>> as_verdict("Overfit"), as_verdict(" GOOD_FIT "), as_verdict("Under fit"), as_verdict("fine")
    ('over-fit', 'good fit', 'under-fit', None)
    """
    if not isinstance(word, str):
        return None
    names = {normalise_word(v): v for v in VERDICTS}
    names.update({normalise_word(k): v for k, v in VERDICT_SYNONYMS.items()})
    return names.get(normalise_word(word))


q2 = Exercise(
    "q2",
    "A run's training loss falls from 2.3 to 0.02 over 30 epochs. Its validation loss is best "
    "(0.30) at epoch 12 and 0.31 at epoch 30. By the chapter's rule: 'under-fit', 'good fit' or "
    "'over-fit'?",
    expect_choice(
        "good fit",
        VERDICTS,
        mistakes={
            "over-fit": "The validation loss did rise, but by the chapter's rule only a rise of "
            "more than 10% above its best counts: a validation loss wobbles from epoch to epoch. "
            "And a gap between training and validation loss alone is not over-fitting.",
            "under-fit": "Under-fitting is about the training loss: the model has not learned "
            "even the samples it trains on. You judged it by the validation loss.",
        },
        synonyms=VERDICT_SYNONYMS,
    ),
    hint=[
        "Apply the rule of section 1 in its order: first the final training loss, then the "
        "validation loss against its own best.",
        "Under-fit needs the final training loss above 0.3; over-fit needs the final validation "
        "loss above 1.1 × its best while the training loss kept falling. Compute 1.1 × 0.30.",
    ],
    solution="good fit: the training loss ends at 0.02, far below 0.3, and the validation loss "
    "ends 0.31 / 0.30 − 1 ≈ 3% above its best, within the 10% the rule allows for noise.",
)

q3 = Exercise(
    "q3",
    "SGD works well at batch 64 with lr 0.5. Linear scaling: which lr at batch 256?",
    expect_close(
        0.5 * 256 / 64,
        rtol=0.01,
        mistakes={
            0.5 * 64 / 256: "Your rate fell as the batch grew: the rule keeps lr / batch size "
            "fixed, so a larger batch gets a larger rate.",
            0.5 * math.sqrt(256 / 64): "You scaled by the square root of the batch ratio, "
            "another rule of thumb; the linear rule scales by the ratio itself.",
            0.5: "You kept the rate: a batch 4 times larger makes 4 times fewer updates per "
            "epoch, and the linear rule makes up for that with the rate.",
            256 / 64: "That is the batch ratio alone: it multiplies the rate that worked.",
        },
    ),
    hint=[
        "The linear scaling rule keeps one ratio fixed as the batch changes.",
        "lr / batch size stays the same: lr_new / 256 = 0.5 / 64.",
    ],
    solution="0.5 × 256 / 64 = 2.0, as long as 2.0 is still below the rate where training diverges.",
)

q4 = Exercise(
    "q4",
    "1,438 images, batches of 256, 4 micro-batches each: forward/backward passes per epoch?",
    expect_int(
        math.ceil(_IMAGES / _BATCH) * _MICRO,
        mistakes={
            math.ceil(_IMAGES / _BATCH): "That is the iterations (updates) per epoch. Each one "
            "makes a forward/backward pass per micro-batch.",
            (_IMAGES // _BATCH) * _MICRO: "You dropped the short last batch: without drop_last it "
            "is an iteration too, and it is split into micro-batches like the others.",
            math.ceil(_IMAGES / (_BATCH // _MICRO)): "You cut the whole epoch into micro-batches "
            "of 64. The course splits each batch into 4, so the short last batch makes 4 smaller "
            "micro-batches, not fewer.",
            _MICRO: "That is the passes of one iteration; the question asks for a whole epoch.",
        },
    ),
    hint=[
        "First count the iterations per epoch (the last batch is short but still one iteration).",
        "Iterations per epoch = ceil(1438 / 256); each iteration makes one forward/backward pass "
        "per micro-batch.",
    ],
    solution="ceil(1438 / 256) = 6 iterations per epoch, each split into 4 micro-batches "
    "(the short last batch of 158 into 4 of at most 40): 6 × 4 = 24 passes.",
)


# --- q5: a verdict on two learning curves -----------------------------------------------------

HIGH = 0.3  # a final training loss above this is under-fit (chance on the digits is ln 10 ≈ 2.30)
RISE = 0.1  # a final validation loss more than 10% above its best is a rise


def _diagnose(train_loss, val_loss):
    """The chapter's rule (``ch.diagnose``, its tests pin the two together)."""
    best = min(range(len(val_loss)), key=val_loss.__getitem__)
    if train_loss[-1] > HIGH:
        return "under-fit"
    if val_loss[-1] > (1 + RISE) * val_loss[best] and train_loss[-1] < train_loss[best]:
        return "over-fit"
    return "good fit"


def _gap_is_overfit(train_loss, val_loss):
    if train_loss[-1] > HIGH:
        return "under-fit"
    return "over-fit" if val_loss[-1] > (1 + RISE) * train_loss[-1] else "good fit"


def _overfit_first(train_loss, val_loss):
    best = min(range(len(val_loss)), key=val_loss.__getitem__)
    if val_loss[-1] > (1 + RISE) * val_loss[best] and train_loss[-1] < train_loss[best]:
        return "over-fit"
    return "under-fit" if train_loss[-1] > HIGH else "good fit"


def _any_rise(train_loss, val_loss):
    best = min(range(len(val_loss)), key=val_loss.__getitem__)
    if train_loss[-1] > HIGH:
        return "under-fit"
    if val_loss[-1] > val_loss[best] and train_loss[-1] < train_loss[best]:
        return "over-fit"
    return "good fit"


def _rise_alone(train_loss, val_loss):
    if train_loss[-1] > HIGH:
        return "under-fit"
    return "over-fit" if val_loss[-1] > (1 + RISE) * min(val_loss) else "good fit"


def _validation_underfit(train_loss, val_loss):
    if val_loss[-1] > HIGH:
        return "under-fit"
    best = min(range(len(val_loss)), key=val_loss.__getitem__)
    if val_loss[-1] > (1 + RISE) * val_loss[best] and train_loss[-1] < train_loss[best]:
        return "over-fit"
    return "good fit"


def _curve(start, end, epochs, rng, *, rise_after=None, rise_to=None, noise=0.01):
    """A loss falling geometrically from ``start`` to ``end`` (then rising to ``rise_to`` after
    epoch ``rise_after``), with a little multiplicative noise; rounded to 4 significant digits."""
    t = np.arange(epochs)
    stop = epochs - 1 if rise_after is None else rise_after - 1
    curve = start * (end / start) ** (np.minimum(t, stop) / stop)
    if rise_after is not None:
        grow = (t - stop).clip(0) / max(1, epochs - 1 - stop)
        curve = curve * (rise_to / end) ** grow
    curve = curve * np.exp(rng.normal(0, noise, epochs))
    if rise_after is None:
        curve[-1] = min(curve.min(), end)  # a falling curve ends at its lowest point
    return [float(f"{v:.4g}") for v in curve]


def _curve_cases():
    """Seven pairs of curves, one per corner of the rule: each typical mistake gets at least one
    of them wrong, and no two mistakes get the same ones wrong."""
    rng = np.random.default_rng(8)
    pairs = [
        (_curve(2.3, 1.1, 20, rng), _curve(2.3, 1.2, 20, rng)),  # under-fit
        (_curve(1.5, 0.001, 20, rng), _curve(1.5, 0.043, 20, rng)),  # good fit: low, still falling
        (_curve(1.2, 1e-4, 100, rng), _curve(1.0, 0.43, 100, rng, rise_after=4, rise_to=0.53)),
        (_curve(2.3, 0.5, 30, rng), _curve(2.3, 0.8, 30, rng, rise_after=10, rise_to=1.1)),
        (  # the training loss rose too: the run became unstable, not a memorising model
            _curve(1.5, 0.02, 30, rng, rise_after=12, rise_to=0.2),
            _curve(1.5, 0.30, 30, rng, rise_after=12, rise_to=0.45),
        ),
        (_curve(1.5, 0.01, 30, rng), _curve(1.5, 0.2, 30, rng, rise_after=20, rise_to=0.21)),
        (_curve(1.5, 0.001, 25, rng), _curve(1.5, 0.35, 25, rng)),  # a gap, but still falling
    ]
    return [dict(train_loss=tr, val_loss=va) for tr, va in pairs]


def _compare_verdict(got, want, case):
    if as_verdict(got) is None:
        return f"return one of {', '.join(map(repr, VERDICTS))}, not {got!r}"
    if as_verdict(got) == want:
        return None
    tr, va = case["train_loss"], case["val_loss"]
    best = min(range(len(va)), key=va.__getitem__)
    then = f", {tr[best]:.3g} at epoch {best + 1}" if best + 1 < len(tr) else ""
    return (
        f"your verdict is {got!r}, the chapter's rule says {want!r} for these curves: training "
        f"loss {tr[0]:.3g} at epoch 1{then}, {tr[-1]:.3g} at epoch {len(tr)}; validation loss "
        f"best at epoch {best + 1} ({va[best]:.3g}), {va[-1]:.3g} at epoch {len(va)}"
    )


q5 = CodeExercise(
    "q5",
    "Write `diagnose(train_loss, val_loss)`: given the training and validation loss of every "
    "epoch, return the chapter's verdict, 'under-fit', 'good fit' or 'over-fit': under-fit if the "
    "final training loss is above 0.3; else over-fit if the final validation loss is more than 10% "
    "above its best and the training loss fell after that best epoch; else good fit.",
    reference=_diagnose,
    cases=_curve_cases,
    compare=_compare_verdict,
    mistakes=(
        Mistake(
            _gap_is_overfit,
            "You compared the validation loss with the training loss. A gap alone is not "
            "over-fitting (the chapter's good fit has a wide one on the log scale): over-fit means "
            "the validation loss turned around and ends well above its own best.",
            hint="Find the best (lowest) validation loss and its epoch; compare the last "
            "validation loss with that.",
        ),
        Mistake(
            _overfit_first,
            "You test for over-fitting before under-fitting. A model whose training loss stays "
            "high has not learned even the samples it trains on: whatever its validation loss "
            "does, it is under-fit. Test that first.",
        ),
        Mistake(
            _any_rise,
            "Any rise counts for you, but a validation loss wobbles from epoch to epoch: the "
            "chapter calls it over-fit only when the last value is more than 10% above the best.",
            hint="`val_loss[-1] > 1.1 * best_val`.",
        ),
        Mistake(
            _rise_alone,
            "The validation loss rose, but so did the training loss: a run that got worse on its "
            "own training samples is unstable, not memorising them. Over-fit needs the training "
            "loss to have kept falling after the best validation epoch.",
            hint="Also check `train_loss[-1] < train_loss[best_epoch]`.",
        ),
        Mistake(
            _validation_underfit,
            "Under-fitting is about the training loss: the model has not even learned the samples "
            "it trains on. You tested the validation loss.",
        ),
    ),  # fmt: skip
    hint=[
        "Three tests, in the rule's order; the first that holds gives the verdict. Over-fit needs "
        "the epoch of the best validation loss.",
        "Under-fit looks only at train_loss[-1]. Over-fit compares val_loss[-1] with the best "
        "validation loss, and train_loss[-1] with the training loss at that best epoch.",
    ],
    solution="""def diagnose(train_loss, val_loss):
    best = val_loss.index(min(val_loss))  # the epoch (counted from 0) of the best validation loss
    if train_loss[-1] > 0.3:
        return "under-fit"  # not even the training samples are learned
    if val_loss[-1] > 1.1 * val_loss[best] and train_loss[-1] < train_loss[best]:
        return "over-fit"  # better on its own samples, worse on new ones
    return "good fit"
""",
)


# --- q6: the linear scaling rule, up to the divergence wall -----------------------------------


def _scaled_lrs(base_lr, base_batch, batch_sizes, max_lr):
    return [min(base_lr * b / base_batch, max_lr) for b in batch_sizes]


def _inverted(base_lr, base_batch, batch_sizes, max_lr):
    return [min(base_lr * base_batch / b, max_lr) for b in batch_sizes]


def _square_root(base_lr, base_batch, batch_sizes, max_lr):
    return [min(base_lr * math.sqrt(b / base_batch), max_lr) for b in batch_sizes]


def _uncapped(base_lr, base_batch, batch_sizes, max_lr):
    return [base_lr * b / base_batch for b in batch_sizes]


def _capped_from_below(base_lr, base_batch, batch_sizes, max_lr):
    return [max(base_lr * b / base_batch, max_lr) for b in batch_sizes]


def _scaling_cases():
    rng = np.random.default_rng(9)
    cases = [dict(base_lr=0.5, base_batch=64, batch_sizes=[32, 64, 128, 256, 512], max_lr=2.0)]
    for _ in range(2):
        base_batch = int(rng.choice([16, 32, 64]))
        base_lr = float(f"{rng.uniform(0.05, 0.4):.2g}")
        sizes = sorted(
            {int(base_batch * 2.0**k) for k in rng.integers(-2, 5, size=5)} | {base_batch}
        )
        cap = float(f"{base_lr * 2 ** rng.uniform(1.2, 2.8):.2g}")
        cases.append(dict(base_lr=base_lr, base_batch=base_batch, batch_sizes=sizes, max_lr=cap))
    return cases


def _compare_rates(got, want, case):
    sizes = case["batch_sizes"]
    if isinstance(got, (np.ndarray, torch.Tensor)):
        got = got.tolist()
    if not isinstance(got, (list, tuple)) or len(got) != len(sizes):
        return f"return a list of {len(sizes)} rates, one per batch size in {sizes}, not {got!r}"
    for b, g, w in zip(sizes, got, want):
        value = as_number(g)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"for batch size {b} your rate is {g!r}, not a number"
        if not math.isclose(value, w, rel_tol=1e-6):  # float32 rounding passes
            return f"for batch size {b} your rate is {value:.6g}, expected {w:.6g} (within a relative 1e-06)"
    return None


q6 = CodeExercise(
    "q6",
    "Write `scaled_lrs(base_lr, base_batch, batch_sizes, max_lr)`: the learning rate for each batch "
    "size in `batch_sizes` by the linear scaling rule, starting from `base_lr`, which works at "
    "`base_batch`, and never above `max_lr`, the largest rate that still trains (the divergence "
    "wall's edge). Return one rate per batch size, in order.",
    reference=_scaled_lrs,
    cases=_scaling_cases,
    compare=_compare_rates,
    mistakes=(
        Mistake(
            _inverted,
            "Your rate falls as the batch grows. A batch B times larger makes B times fewer "
            "updates per epoch, so keeping lr / batch size fixed means a larger rate: "
            "base_lr × B / base_batch.",
        ),
        Mistake(
            _square_root,
            "You scaled by the square root of the batch ratio. That is another rule of thumb "
            "(it keeps the gradient noise per update the same); the linear rule keeps "
            "lr / batch size the same, as the chapter's diagonals measured.",
        ),
        Mistake(
            _uncapped,
            "Past the divergence wall your rates keep growing. The rule only holds while the "
            "rate is stable: the chapter's best rate stopped growing at the wall, so cap every "
            "rate at max_lr.",
            hint="`min(rule, max_lr)`.",
        ),
        Mistake(
            _capped_from_below,
            "You took the larger of the rule and max_lr, so every rate is at least max_lr. The cap "
            "is an upper bound: the smaller of the two.",
        ),
    ),  # fmt: skip
    hint=[
        "For each batch size, first the rate the linear rule gives, then the wall.",
        "The rule keeps lr / batch size equal to base_lr / base_batch; max_lr is an upper bound "
        "on every rate.",
    ],
    solution="""def scaled_lrs(base_lr, base_batch, batch_sizes, max_lr):
    return [min(base_lr * batch_size / base_batch, max_lr) for batch_size in batch_sizes]
""",
)
