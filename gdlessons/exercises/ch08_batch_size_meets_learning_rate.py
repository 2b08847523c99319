"""Chapter 08 exercises: learning curves, batch size × learning rate, the capstone's counts.

The story's your-turn cells (code, checked by :class:`~gdlessons.exercises.code.CodeExercise`):
t1 the loss on a whole dataset at an epoch's end, in eval mode and unrecorded by autograd (every
point of the learning curves); t2 the verdict on a pair of learning curves by the chapter's rule;
t3 the factor of a linear warm-up, as LinearLR sets it; t4 the confusion matrix of the capstone's
validation scores; t5 choosing a candidate on validation and reporting its test score. At the
end: q1–q4 take a number or a word; q5 a function, the rate for each batch size by the linear
scaling rule up to the wall; q6 a function, where early stopping stops and which epoch's model
it keeps; q7 a number, Adam's rate at a larger batch by the square-root rule.

>>> q1.check(8).status, q2.check("good fit").status, q3.check(2.0).status, q4.check(20).status
('correct', 'correct', 'correct', 'correct')
>>> t2.check(...).status, q5.check(q5.reference).status
('not attempted', 'correct')
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gdlessons.data import digits_data
from gdlessons.exercises import (
    SYNONYMS,
    Exercise,
    as_number,
    expect_choice,
    expect_close,
    expect_int,
    normalise_word,
)
from gdlessons.exercises.code import CodeExercise, Mistake, first_difference

# --- t1: the loss on a whole dataset, at an epoch's end ---------------------------------------


def _evaluate_loss(model, X, y):
    """What ``evaluate(model, (X, y), "cross_entropy")`` records (tests pin the two together)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        loss = F.cross_entropy(model(X), y)
    model.train(was_training)
    return loss.item()


def _dropout_on(model, X, y):
    with torch.no_grad():
        return F.cross_entropy(model(X), y).item()


def _left_in_eval(model, X, y):
    model.eval()
    with torch.no_grad():
        return F.cross_entropy(model(X), y).item()


def _graph_recorded(model, X, y):
    was_training = model.training
    model.eval()
    loss = F.cross_entropy(model(X), y)
    model.train(was_training)
    return loss.item()


def _summed(model, X, y):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        loss = F.cross_entropy(model(X), y, reduction="sum")
    model.train(was_training)
    return loss.item()


class WatchedModel(nn.Module):
    """t1's model: a digits MLP with dropout (so eval mode changes its scores) that notes, each
    time it runs, whether autograd was recording (``recorded``, read by the check)."""

    def __init__(self, hidden: int, seed: int):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.net = nn.Sequential(
                nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(0.5), nn.Linear(hidden, 10)
            )
        self.recorded: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.recorded.append(torch.is_grad_enabled())
        return self.net(x)


def _measure_cases():
    train, val = digits_data(seed=3)
    return [
        dict(model=WatchedModel(16, seed=1), X=train.X[:40], y=train.y[:40]),
        dict(model=WatchedModel(32, seed=2), X=val.X[:90], y=val.y[:90]),
    ]


def _measure_outcome(returned, args):
    model = args["model"]
    return returned, model.training, any(model.recorded), bool(model.recorded)


def _compare_measure(got, want, case):
    loss, training, recorded, ran = got
    want_loss, want_training, want_recorded, _ = want
    if isinstance(loss, torch.Tensor) and not isinstance(want_loss, torch.Tensor):
        return (
            "return the loss as a plain number (`loss.item()`), not a tensor: a History holds "
            "numbers"
        )
    if not ran:
        return "your function never ran the model on X"
    message = first_difference(
        loss, want_loss, bitwise=False, rtol=1e-5, atol=0.0, name="your loss"
    )
    if message:
        return f"{message} (the mean cross-entropy over the {len(case['y'])} samples)"
    if recorded and not want_recorded:
        return "your loss is right, but autograd recorded the forward pass"
    if training != want_training:
        left, came = ("eval", "training") if want_training else ("training", "eval")
        return f"your loss is right, but the model is left in {left} mode; it came in {came} mode"
    return None


t1 = CodeExercise(
    "t1",
    "Write `evaluate_loss(model, X, y)`: the mean cross-entropy of `model` on all of (X, y), as "
    "a plain number, measured in eval mode (`model.eval()`) and unrecorded by autograd "
    "(`torch.no_grad()`), leaving the model in the mode it came in (training, in the loop). The "
    "check's models have a dropout layer, so eval mode changes their scores, and note whether "
    "autograd was recording; the loss is compared up to float32 rounding (a relative 1e-5).",
    reference=_evaluate_loss,
    cases=_measure_cases,
    outcome=_measure_outcome,
    compare=_compare_measure,
    mistakes=(
        Mistake(
            _dropout_on,
            "Your loss was measured with dropout still on: the model was in training mode, so a "
            "random half of its hidden units were dropped and the rest scaled up. A learning "
            "curve measures the model as it will be used.",
            hint="Call `model.eval()` before the forward pass.",
        ),
        Mistake(
            _left_in_eval,
            "Your loss is right, but the model stays in eval mode after your function: the "
            "epochs that follow would train with dropout switched off.",
            hint="Note `model.training` first; after the loss, `model.train(...)` with it.",
        ),
        Mistake(
            _graph_recorded,
            "Your loss is right, but autograd recorded the forward pass: it built a graph over "
            "the whole dataset, memory kept until the loss is freed, for a backward() that never "
            "comes.",
            hint="Run the forward pass inside `with torch.no_grad():`.",
        ),
        Mistake(
            _summed,
            "Your loss is the sum over the samples, N times the mean: a training set four times "
            "the validation set would look four times worse. A learning curve compares means.",
            hint="`F.cross_entropy` already averages: keep its default reduction.",
        ),
    ),  # fmt: skip
    hint=[
        "Three parts around one line: switch dropout and the like off, compute the loss without "
        "autograd, switch the model back to the mode it had.",
        "Remember `model.training`, then `model.eval()`; inside `with torch.no_grad():` the "
        "cross-entropy of `model(X)` against `y`; afterwards `model.train(...)` with the mode "
        "you remembered, and return the loss's `.item()`.",
    ],
    solution="""import torch
import torch.nn.functional as F


def evaluate_loss(model, X, y):
    was_training = model.training
    # dropout off, batch norm on its running statistics: the model as it is used
    model.eval()
    with torch.no_grad():  # no graph: nothing here will be backpropagated
        loss = F.cross_entropy(model(X), y)
    # back to the mode it came in, so training goes on as before
    model.train(was_training)
    return loss.item()
""",
)


VERDICTS = ("under-fit", "good fit", "over-fit")
# Other spellings of the verdicts, accepted alike by q2 and t2 (on top of normalise_word's case,
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


# --- t2: a verdict on two learning curves -----------------------------------------------------

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


t2 = CodeExercise(
    "t2",
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
    # the epoch (counted from 0) of the best validation loss
    best = val_loss.index(min(val_loss))
    if train_loss[-1] > 0.3:
        return "under-fit"  # not even the training samples are learned
    worse = val_loss[-1] > 1.1 * val_loss[best]
    if worse and train_loss[-1] < train_loss[best]:
        return "over-fit"  # better on its own samples, worse on new ones
    return "good fit"
""",
)


# --- t3: the factor of a linear warm-up -------------------------------------------------------


def _linear_lr_factor(iteration, warmup_iterations, start_factor):
    """What ``LinearLR(start_factor=..., total_iters=warmup_iterations)`` multiplies the rate by
    at update ``iteration`` (counted from 0), read off the scheduler itself."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    schedule = torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=start_factor, total_iters=warmup_iterations
    )
    for _ in range(iteration):
        optimizer.step()
        schedule.step()
    return optimizer.param_groups[0]["lr"]


def _warmup_factor(iteration, warmup_iterations, start_factor):
    """LinearLR's factor as a formula (``ch.linear_warmup``; the tests pin both to the scheduler):
    quick enough for a LambdaLR to call at every update."""
    done = min(iteration, warmup_iterations) / warmup_iterations
    return start_factor + (1 - start_factor) * done


def _never_levels_off(iteration, warmup_iterations, start_factor):
    return start_factor + (1 - start_factor) * iteration / warmup_iterations


def _from_zero(iteration, warmup_iterations, start_factor):
    return min(iteration, warmup_iterations) / warmup_iterations


def _one_update_early(iteration, warmup_iterations, start_factor):
    return (
        start_factor
        + (1 - start_factor) * min(iteration + 1, warmup_iterations) / warmup_iterations
    )


def _overshoots_to_one_plus_start(iteration, warmup_iterations, start_factor):
    return start_factor + min(iteration, warmup_iterations) / warmup_iterations


def _warmup_cases():
    return [
        dict(iteration=t, warmup_iterations=W, start_factor=s)
        for t, W, s in ((0, 5, 0.1), (2, 5, 0.1), (5, 5, 0.1), (9, 5, 0.1), (0, 8, 0.25),
                        (3, 8, 0.25), (12, 8, 0.25), (1, 4, 0.5))
    ]  # fmt: skip


def _compare_factor(got, want, case):
    value = as_number(got)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"return the factor as a number, not {got!r}"
    if not math.isclose(value, want, rel_tol=1e-6, abs_tol=1e-9):
        return (
            f"your factor is {value:.4g}; LinearLR multiplies the rate by {want:.4g} at this update"
        )
    return None


t3 = CodeExercise(
    "t3",
    "Write `warmup_factor(iteration, warmup_iterations, start_factor)`: the factor a linear "
    "warm-up multiplies the learning rate by at update `iteration` (counted from 0, as a "
    "scheduler counts its steps): `start_factor` at the first update, rising in equal steps to 1 "
    "at update `warmup_iterations`, and 1 from then on. The check compares it with what "
    "`torch.optim.lr_scheduler.LinearLR(optimizer, start_factor, total_iters=warmup_iterations)` "
    "sets, up to float rounding.",
    reference=_warmup_factor,
    cases=_warmup_cases,
    compare=_compare_factor,
    mistakes=(
        Mistake(
            _never_levels_off,
            "Your factor keeps growing after the warm-up: past update `warmup_iterations` it "
            "goes above 1, so the rate climbs beyond the one you chose. A warm-up ends at the "
            "full rate and stays there.",
            hint="Count at most `warmup_iterations` updates: `min(iteration, warmup_iterations)`.",
        ),
        Mistake(
            _from_zero,
            "Your warm-up starts from 0, not from `start_factor`: the first update would not "
            "move the weights at all. LinearLR starts at `start_factor` × the rate.",
            hint="At iteration 0 the factor is `start_factor`; the ramp covers the rest, "
            "1 − start_factor.",
        ),
        Mistake(
            _one_update_early,
            "Your factor is one update ahead: at iteration 0 it is already above "
            "`start_factor`. The scheduler has not stepped before the first update, so that "
            "update uses `start_factor` itself.",
            hint="Use `iteration`, not `iteration + 1`.",
        ),
        Mistake(
            _overshoots_to_one_plus_start,
            "Your ramp ends at 1 + start_factor: you added the whole rise of 1 on top of "
            "`start_factor`. The rise is only what is missing, 1 − start_factor.",
            hint="Scale the fraction of the warm-up done by (1 − start_factor).",
        ),
    ),  # fmt: skip
    hint=[
        "Two pieces: how far through the warm-up the update is (a fraction from 0 to 1, and 1 "
        "after it), and a straight line from `start_factor` to 1 over that fraction.",
        "The fraction is `min(iteration, warmup_iterations) / warmup_iterations`; the line "
        "starts at `start_factor` and rises by `1 - start_factor` over it.",
    ],
    solution="""def warmup_factor(iteration, warmup_iterations, start_factor):
    # 0 at the start, 1 after
    done = min(iteration, warmup_iterations) / warmup_iterations
    return start_factor + (1 - start_factor) * done
""",
)


# --- t4: the confusion matrix -----------------------------------------------------------------


def _confusion_matrix(scores, labels):
    """What the capstone counted before (``ch.count_confusions``; tests pin the two together)."""
    classes = scores.shape[1]
    predicted = scores.argmax(dim=1)
    counts = torch.bincount(labels * classes + predicted, minlength=classes * classes)
    return counts.reshape(classes, classes)


def _transposed(scores, labels):
    return _confusion_matrix(scores, labels).T


def _assigned_not_counted(scores, labels):
    classes = scores.shape[1]
    matrix = torch.zeros(classes, classes, dtype=torch.long)
    matrix[labels, scores.argmax(dim=1)] += 1  # a repeated pair is written once, not added up
    return matrix


def _classes_from_labels(scores, labels):
    classes = int(labels.max()) + 1
    predicted = scores.argmax(dim=1)
    counts = torch.bincount(labels * classes + predicted, minlength=classes * classes)
    return counts.reshape(classes, classes)


def _rows_normalised(scores, labels):
    matrix = _confusion_matrix(scores, labels).double()
    return matrix / matrix.sum(dim=1, keepdim=True).clamp(min=1)


def _confusion_cases():
    g = torch.Generator().manual_seed(8)
    cases = []
    # 1: ten classes, the last one neither present nor ever predicted (a matrix is still 10×10)
    labels = torch.randint(0, 9, (60,), generator=g)
    scores = torch.randn(60, 10, generator=g) + 2.0 * F.one_hot(labels, 10)
    scores[:, 9] -= 20.0
    cases.append(dict(scores=scores, labels=labels))
    # 2: a good classifier on ten classes: mostly the diagonal, a few confusions
    labels = torch.randint(0, 10, (200,), generator=g)
    scores = torch.randn(200, 10, generator=g) + 3.0 * F.one_hot(labels, 10)
    cases.append(dict(scores=scores, labels=labels))
    # 3: three classes, a poor classifier: every pair comes many times
    labels = torch.randint(0, 3, (30,), generator=g)
    cases.append(dict(scores=torch.randn(30, 3, generator=g), labels=labels))
    return cases


def _compare_counts(got, want, case):
    if isinstance(got, np.ndarray):
        got = torch.from_numpy(got)
    if not isinstance(got, torch.Tensor):
        return f"return the matrix as a tensor (or NumPy array), not a {type(got).__name__}"
    k = case["scores"].shape[1]
    if tuple(got.shape) != tuple(want.shape):
        return (
            f"your matrix has shape {tuple(got.shape)}, expected {tuple(want.shape)}: one row "
            f"(true class) and one column (predicted class) per class, and the scores have {k} "
            "columns"
        )
    g, w = got.double(), want.double()
    if torch.equal(g, w):
        return None
    i, j = (int(v) for v in torch.nonzero(g != w)[0])
    return (
        f"row {i} (true class {i}), column {j} (predicted class {j}) holds {g[i, j].item():g}, "
        f"expected {w[i, j].item():g}"
    )


t4 = CodeExercise(
    "t4",
    "Write `confusion_matrix(scores, labels)`: given the class scores of n samples (an n × k "
    "tensor, one column per class) and their true labels (n class numbers), return the k × k "
    "matrix whose entry [i, j] counts the samples of true class i whose highest score is class "
    "j. The counts are compared exactly; a tensor or a NumPy array, of integers or floats, will "
    "do.",
    reference=_confusion_matrix,
    cases=_confusion_cases,
    compare=_compare_counts,
    mistakes=(
        Mistake(
            _transposed,
            "Your matrix is the transpose of the confusion matrix: its rows are the predicted "
            "classes. Rows are the true class, columns the prediction, so a row sums to how many "
            "samples of that class there are.",
            hint="Index the matrix as [true label, predicted class].",
        ),
        Mistake(
            _assigned_not_counted,
            "Your matrix holds only 0s and 1s: `matrix[labels, predicted] += 1` (or `= 1`) "
            "writes each (true, predicted) pair once, however many samples share it. Indexing "
            "with tensors does not add repeated pairs up.",
            hint="Count with a loop over the samples, or with `index_put_(..., accumulate=True)`, "
            "or with `torch.bincount`.",
        ),
        Mistake(
            _classes_from_labels,
            "You took the number of classes from the largest label: a class that no sample of "
            "this batch has is still a class the model scores, with its own row and column.",
            hint="The number of classes is the number of columns of `scores`.",
        ),
        Mistake(
            _rows_normalised,
            "Your rows are fractions: you divided each row by its total. The confusion matrix "
            "counts samples; the accuracy is its diagonal over its total, computed from it.",
            hint="Return the counts, undivided.",
        ),
    ),  # fmt: skip
    hint=[
        "Two steps: each sample's predicted class (the column of its highest score), then one "
        "count per sample in the cell [its true class, its predicted class].",
        "`scores.argmax(dim=1)` gives the predictions; start from a k × k matrix of zeros "
        "(k = `scores.shape[1]`) and add 1 per sample, in a loop over `zip(labels, predicted)`.",
    ],
    solution="""import torch


def confusion_matrix(scores, labels):
    k = scores.shape[1]  # one row and one column per class the model scores
    predicted = scores.argmax(dim=1)  # each sample's class: its highest score
    matrix = torch.zeros(k, k, dtype=torch.long)
    for true, guess in zip(labels, predicted):
        matrix[true, guess] += 1  # row: the true class; column: the prediction
    return matrix
""",
)


# --- t5: choose on validation, report on test -------------------------------------------------


def _select_and_report(val_accuracy, test_accuracy):
    best = max(range(len(val_accuracy)), key=val_accuracy.__getitem__)  # the first of equal bests
    return best, test_accuracy[best]


def _chosen_on_test(val_accuracy, test_accuracy):
    best = max(range(len(test_accuracy)), key=test_accuracy.__getitem__)
    return best, test_accuracy[best]


def _reports_validation(val_accuracy, test_accuracy):
    best = max(range(len(val_accuracy)), key=val_accuracy.__getitem__)
    return best, val_accuracy[best]


def _best_test_of_any(val_accuracy, test_accuracy):
    best = max(range(len(val_accuracy)), key=val_accuracy.__getitem__)
    return best, max(test_accuracy)


def _last_of_ties(val_accuracy, test_accuracy):
    best = max(reversed(range(len(val_accuracy))), key=val_accuracy.__getitem__)
    return best, test_accuracy[best]


def _selection_cases():
    return [
        dict(val_accuracy=[0.955, 0.972, 0.961, 0.969], test_accuracy=[0.958, 0.947, 0.964, 0.953]),
        dict(val_accuracy=[0.93, 0.975, 0.96, 0.975, 0.95],
             test_accuracy=[0.92, 0.955, 0.962, 0.944, 0.97]),
        dict(val_accuracy=[0.81, 0.88, 0.86], test_accuracy=[0.83, 0.84, 0.87]),
    ]  # fmt: skip


def _compare_selection(got, want, case):
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        return f"return the pair `index, test_accuracy`, not {got!r}"
    index, score = as_number(got[0]), as_number(got[1])
    if index != want[0]:
        return (f"you chose candidate {index}; the highest validation accuracy, "
                f"{case['val_accuracy'][want[0]]:g}, is candidate {want[0]}'s")  # fmt: skip
    if not (isinstance(score, (int, float)) and math.isclose(score, want[1], rel_tol=1e-9)):
        return f"you reported {score!r} for candidate {index}"
    return None


t5 = CodeExercise(
    "t5",
    "Write `select_and_report(val_accuracy, test_accuracy)`: given the validation and the test "
    "accuracy of K candidates (two lists, one entry per candidate), choose the candidate with the "
    "highest validation accuracy (the first of equal ones) and return the pair (its index, its "
    "test accuracy): the one number you report.",
    reference=_select_and_report,
    cases=_selection_cases,
    compare=_compare_selection,
    mistakes=(
        Mistake(
            _chosen_on_test,
            "You chose the candidate with the best *test* accuracy. That is the leak: a choice "
            "made on the test images makes the test score as optimistic as a validation score. "
            "Choose on validation; the test set only measures the one you chose.",
            hint="Find the index of the largest entry of `val_accuracy`.",
        ),
        Mistake(
            _reports_validation,
            "Your choice is right, but you reported its validation accuracy: the best of K "
            "validation scores is the one the validation images happened to favour, so it is "
            "optimistic. Report the chosen candidate's test accuracy.",
            hint="Return `test_accuracy[index]`.",
        ),
        Mistake(
            _best_test_of_any,
            "Your choice is right, but the score you reported is the best test accuracy of any "
            "candidate, not the chosen one's: that number belongs to a candidate you did not "
            "choose.",
            hint="Report the test accuracy at the index you chose.",
        ),
        Mistake(
            _last_of_ties,
            "Where two candidates tie for the best validation accuracy you took the last; the "
            "rule takes the first (as `max`, `list.index` and `np.argmax` do).",
            hint="Keep the first index at which the maximum occurs: a later equal one is no better.",
        ),
    ),  # fmt: skip
    hint=[
        "Two steps, each on one list only: the choice looks at `val_accuracy` alone, the report "
        "at `test_accuracy` alone.",
        "The index of the largest validation accuracy (`max` finds the value, a list's `.index` "
        "its first position), then the entry of `test_accuracy` at that index.",
    ],
    solution="""def select_and_report(val_accuracy, test_accuracy):
    chosen = val_accuracy.index(max(val_accuracy))  # chosen on validation alone
    return chosen, test_accuracy[chosen]  # reported on test: the one look at it
""",
)


# The numbers of q1 and q4, from which their known mistakes' answers are computed.
_MEMORY, _WANTED = 64, 512
_IMAGES, _BATCH, _MICRO = 1079, 256, 4

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
    "1,079 images, batches of 256, accumulation_steps=4: train() splits every batch, the short "
    "last one too, into 4 micro-batches as equal as it can. How many forward/backward passes "
    "does one epoch make?",
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
        "Iterations per epoch = ceil(1079 / 256); each iteration makes one forward/backward pass "
        "per micro-batch.",
    ],
    solution="ceil(1079 / 256) = 5 iterations per epoch, each split into 4 micro-batches "
    "(the short last batch of 55 into 4 of at most 14): 5 × 4 = 20 passes.",
)


# --- q5: the linear scaling rule, up to the divergence wall -----------------------------------


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


q5 = CodeExercise(
    "q5",
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
    return [
        min(base_lr * batch_size / base_batch, max_lr)
        for batch_size in batch_sizes
    ]
""",
)


# --- q6: early stopping, the over-fitting cure, on a validation curve --------------------------


def _early_stopping(val_loss, patience):
    best, waited = 0, 0
    for epoch in range(1, len(val_loss)):
        if val_loss[epoch] < val_loss[best]:
            best, waited = epoch, 0
        else:
            waited += 1
            if waited == patience:
                return epoch + 1, best + 1
    return len(val_loss), best + 1


def _counted_from_zero(val_loss, patience):
    stop, best = _early_stopping(val_loss, patience)
    return stop - 1, best - 1


def _first_rise(val_loss, patience):
    for epoch in range(1, len(val_loss)):
        if val_loss[epoch] >= val_loss[epoch - 1]:
            return epoch + 1, epoch
    return len(val_loss), len(val_loss)


def _total_not_in_a_row(val_loss, patience):
    best, waited = 0, 0
    for epoch in range(1, len(val_loss)):
        if val_loss[epoch] < val_loss[best]:
            best = epoch  # the count of epochs without improvement is never reset
        else:
            waited += 1
            if waited == patience:
                return epoch + 1, best + 1
    return len(val_loss), best + 1


def _keeps_the_last(val_loss, patience):
    stop, _ = _early_stopping(val_loss, patience)
    return stop, stop


def _tie_improves(val_loss, patience):
    best, waited = 0, 0
    for epoch in range(1, len(val_loss)):
        if val_loss[epoch] <= val_loss[best]:
            best, waited = epoch, 0
        else:
            waited += 1
            if waited == patience:
                return epoch + 1, best + 1
    return len(val_loss), best + 1


def _stopping_cases():
    return [
        # improves, stalls for two epochs, improves again, then turns up for good
        dict(val_loss=[1.0, 0.6, 0.45, 0.47, 0.46, 0.40, 0.38, 0.39, 0.42, 0.44, 0.47, 0.5],
             patience=3),
        # a tie with the best, then a plateau that outlasts the patience
        dict(val_loss=[2.3, 1.1, 0.8, 0.8, 0.81, 0.82, 0.79, 0.9], patience=2),
        # falls to the end but for one wobble: never stops
        dict(val_loss=[1.5, 1.2, 1.0, 1.05, 0.9, 0.85, 0.84], patience=2),
    ]  # fmt: skip


def _compare_stopping(got, want, case):
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        return f"return the pair `stop_epoch, best_epoch`, not {got!r}"
    stop, best = (as_number(v) for v in got)
    if stop != want[0]:
        return f"training stops after epoch {want[0]}, not {stop}"
    if best != want[1]:
        return f"the epoch whose model early stopping keeps is {want[1]}, not {best}"
    return None


q6 = CodeExercise(
    "q6",
    "Write `early_stopping(val_loss, patience)`: training watches the validation loss after "
    "each epoch (`val_loss`, one value per epoch) and stops once `patience` epochs in a row "
    "have not improved on the best so far (a tie is no improvement); it then keeps the model "
    "of the best epoch. Return the pair (stop epoch, best epoch), epochs counted from 1 as on "
    "the chapter's x-axes; a run that never stops ends at its last epoch.",
    reference=_early_stopping,
    cases=_stopping_cases,
    compare=_compare_stopping,
    mistakes=(
        Mistake(
            _counted_from_zero,
            "Your epochs are one too small: you counted them from 0, as Python indexes a list. "
            "The chapter's epochs start at 1.",
            hint="Add 1 to each list index you return.",
        ),
        Mistake(
            _first_rise,
            "You stopped at the first epoch that did not improve on the one before: that is no "
            "patience at all, and a validation loss wobbles. Stop only after `patience` epochs "
            "in a row without a new best.",
            hint="Compare each epoch with the best so far, and count the epochs since it.",
        ),
        Mistake(
            _total_not_in_a_row,
            "You counted every epoch without improvement since the start: the count starts "
            "again from 0 at each new best, since patience is about epochs *in a row*.",
            hint="Reset your counter to 0 whenever the validation loss sets a new best.",
        ),
        Mistake(
            _keeps_the_last,
            "Your stop epoch is right, but you keep the last epoch's model: by then the "
            "validation loss has been worse than its best for `patience` epochs. Early stopping "
            "keeps the best epoch's model.",
            hint="Remember the epoch of the best validation loss and return it.",
        ),
        Mistake(
            _tie_improves,
            "A tie counted as an improvement for you: a validation loss equal to the best is "
            "not better, so it does not reset the patience.",
            hint="Use a strict `<` against the best so far.",
        ),
    ),  # fmt: skip
    hint=[
        "Walk the epochs in order, keeping two things: the epoch of the best validation loss so "
        "far, and how many epochs have passed since it.",
        "A strictly lower loss is a new best and resets the count; otherwise the count grows, and "
        "when it reaches `patience` that epoch is the stop. Convert list indices to epochs (+1).",
    ],
    solution="""def early_stopping(val_loss, patience):
    best, waited = 0, 0  # list indices: epoch = index + 1
    for i in range(1, len(val_loss)):
        if val_loss[i] < val_loss[best]:
            best, waited = i, 0  # a new best: patience starts again
        else:
            waited += 1
            if waited == patience:
                return i + 1, best + 1  # stop here; keep the best epoch's model
    return len(val_loss), best + 1
""",
)


# --- q7: scaling Adam's rate with the batch (transfer) -----------------------------------------

q7 = Exercise(
    "q7",
    "Adam trains well at batch 64 with lr 0.001. By the square-root rule for adaptive "
    "optimizers, which lr would you start from at batch 1024?",
    expect_close(
        0.001 * math.sqrt(1024 / 64),
        rtol=0.01,
        mistakes={
            0.001 * 1024 / 64: "That is the linear rule, SGD's: for Adam the square-root rule "
            "scales the rate by √(batch ratio), not by the ratio itself.",
            0.001: "You kept the rate: the batch grew 16-fold, and the square-root rule "
            "raises the rate with it.",
            0.001 / math.sqrt(1024 / 64): "Your rate fell as the batch grew: the square-root "
            "rule multiplies the rate by √(new batch / old batch).",
            0.001 * math.sqrt(1024): "You took the square root of the new batch alone; the rule "
            "uses the ratio of the new batch to the old.",
        },
    ),
    hint=[
        "First the batch ratio, new over old; then the rule's function of it.",
        "The square-root rule multiplies the rate by √(1024 / 64).",
    ],
    solution="0.001 × √(1024 / 64) = 0.001 × 4 = 0.004 (the linear rule would give 0.016, "
    "which section 2 measured to overshoot for Adam at large batches).",
)
