"""Chapter 03 exercises: batch, stochastic and mini-batch gradient descent, and gradient noise.

q1 to q4 take a number or a word; q5 and q6 take a function the student writes, checked by
:class:`~gdlessons.exercises.code.CodeExercise` against a reference on fresh seeded cases
(within a stated tolerance: float32 rounding differs with the order of the operations).

>>> q2.check("iteration").correct, q5.check(...).status
(True, 'not attempted')
"""

from __future__ import annotations

import copy
import math
import reprlib
from collections.abc import Mapping

from gdlessons.data import linear_data, quadratic_data
from gdlessons.exercises import Exercise, as_number, expect_choice, expect_close, expect_int
from gdlessons.exercises.code import CodeExercise, Mistake, first_difference
from gdlessons.metrics import evaluate
from gdlessons.models import LinearModel, tutorial_mlp
from gdlessons.training import train

# The same idea as chapter 02's q5 (count samples, not loop turns), in a new situation: a
# comparison that gives every variant the same number of iterations.
Q1_ITERATIONS, Q1_B, Q1_N = 600, 50, 1200
q1 = Exercise(
    "q1",
    f"To compare the variants, you give each one the same {Q1_ITERATIONS} iterations on "
    f"N = {Q1_N} samples. How many epochs (full passes over the data) does the mini-batch run "
    f"with B = {Q1_B} complete?",
    expect_close(
        Q1_ITERATIONS * Q1_B / Q1_N,
        rtol=1e-3,
        mistakes={
            Q1_ITERATIONS: "That takes an iteration for an epoch: an iteration is one update on "
            "one batch, an epoch a pass over all N samples.",
            Q1_ITERATIONS * Q1_B: "That is the number of samples seen; an epoch is N of them.",
            Q1_ITERATIONS / Q1_B: "You divided the iterations by the batch size; divide them by "
            "the iterations one epoch takes (N / B), or the samples seen by N.",
            Q1_ITERATIONS / Q1_N: "That is the stochastic run's count (B = 1): each iteration of "
            "the mini-batch run takes B samples.",
            Q1_N / Q1_B: "That is the number of iterations in one epoch, not the epochs the run "
            "completed.",
        },
    ),
    hint=[
        "An epoch is a number of samples, not of iterations: count the samples the run saw.",
        "samples seen = iterations × B, and one epoch is N samples.",
    ],
    solution=f"{Q1_ITERATIONS} iterations × {Q1_B} samples = {Q1_ITERATIONS * Q1_B:,} samples "
    f"= {Q1_ITERATIONS * Q1_B / Q1_N:g} passes over {Q1_N} samples ({Q1_N // Q1_B} iterations per "
    f"epoch). The same {Q1_ITERATIONS} iterations are half an epoch for stochastic GD and "
    f"{Q1_ITERATIONS} epochs for batch GD: equal iterations are very unequal data.",
)

q2 = Exercise(
    "q2",
    "On which x-axis does batch gradient descent (B = N) reach a given loss first: "
    "'epoch', 'iteration', 'samples seen' or 'seconds'?",
    expect_choice(
        "iteration",
        ("epoch", "iteration", "samples seen", "seconds"),
        mistakes={
            "epoch": "Per epoch batch GD is the slowest: it makes one update per pass over the "
            "data, where the others make many.",
            "samples seen": "With full passes, samples seen is epochs × N, so this axis tells "
            "the epoch axis's story, where batch GD's one update per pass makes it the slowest.",
            "seconds": "Seconds depend on the machine and on the cost of one update; the "
            "question asks where batch GD's exact gradient pays off by itself.",
        },
    ),
    hint=[
        "Batch GD makes the best possible update every time, but only one update per pass over "
        "the data.",
        "Which axis counts updates? The chapter's reach table ranks the runs on each axis.",
    ],
    solution="'iteration': each update uses the exact full-data gradient, so no variant needs fewer "
    "updates (a large enough mini-batch can tie, as in this chapter's table). Per epoch (and per "
    "sample) it is slowest: one update per pass.",
)

Q3_N, Q3_B = 1000, 100
_q3_ratio = 1 / (1 / Q3_B * (Q3_N - Q3_B) / (Q3_N - 1))
q3 = Exercise(
    "q3",
    f"Sampling without replacement from N = {Q3_N} samples, by what factor is the gradient "
    f"variance at B = {Q3_B} smaller than at B = 1? (Use σ²/B · (N − B)/(N − 1).)",
    expect_close(
        _q3_ratio,
        rtol=0.01,
        mistakes={
            Q3_B: "That is 1/B alone: the finite-population factor (N − B)/(N − 1) makes the "
            "variance at B = 100 smaller still.",
            Q3_B * (Q3_N - Q3_B) / (Q3_N - 1): "The finite-population factor is upside down: "
            "it multiplies the variance at B = 100, so it divides the ratio.",
            1 / _q3_ratio: "That is the variance at B = 100 as a fraction of the one at B = 1; "
            "the question asks by what factor it is smaller, the inverse.",
            _q3_ratio**0.5: "That is the ratio of the standard deviations; the question asks for "
            "the variances.",
            Q3_B**0.5: "That is √B, the ratio of the standard deviations without the "
            "finite-population factor; the question asks for the variances, with it.",
        },
    ),
    hint=[
        "Divide the formula at B = 1 by the formula at B = 100; σ² cancels.",
        "At B = 1 the factor (N − B)/(N − 1) is 1, so the variance is σ²; at B = 100 it is "
        "σ²/100 · (N − 100)/(N − 1).",
    ],
    solution=f"At B = 1 the variance is σ²; at B = {Q3_B} it is σ²/{Q3_B} · "
    f"{Q3_N - Q3_B}/{Q3_N - 1} ≈ {1 / _q3_ratio:.5f} σ². The ratio is about {_q3_ratio:.0f}: a "
    f"bit more than the {Q3_B} that 1/B alone predicts.",
)

Q4_FROM = 32
q4 = Exercise(
    "q4",
    "The gradient noise has a standard deviation of about σ/√B for B much smaller than N. "
    f"Starting from B = {Q4_FROM}, which batch size halves the noise's standard deviation?",
    expect_int(
        4 * Q4_FROM,
        mistakes={
            2 * Q4_FROM: "Doubling B halves the variance σ²/B; the standard deviation σ/√B "
            "falls only by √2.",
            Q4_FROM // 2: "A smaller batch makes the noise larger: σ/√B grows as B shrinks.",
            Q4_FROM // 4: "A smaller batch makes the noise larger, not smaller: σ/√B grows as B "
            "shrinks, whatever the factor.",
        },
    ),
    hint=[
        "The standard deviation goes as 1/√B: what must happen to √B?",
        "Halving σ/√B means doubling √B; then square to get the factor on B.",
    ],
    solution=f"√B must double, so B grows fourfold: {Q4_FROM} × 4 = {4 * Q4_FROM}. Four times "
    "the compute per update buys half the noise, which is why past some batch size more samples "
    "buy little.",
)


# --- q5: one loop, any batch size -------------------------------------------------------------


def _gd_epoch(w, b, X, y, batch_size, lr):
    path = []
    for start in range(0, len(X), batch_size):
        xb, yb = X[start : start + batch_size], y[start : start + batch_size]
        r = w * xb + b - yb  # residuals of this batch only
        dw, db = 2 * (r * xb).mean(), 2 * r.mean()
        w, b = w - lr * dw, b - lr * db
        path.append((float(w), float(b)))
    return path


def _epoch_cases():
    data = linear_data(40, seed=7)
    return [
        dict(w=-1.0, b=2.5, X=data.X, y=data.y, batch_size=40, lr=0.1),  # batch GD
        dict(w=0.0, b=0.0, X=data.X, y=data.y, batch_size=1, lr=0.05),  # stochastic GD
        dict(w=-1.0, b=2.5, X=data.X, y=data.y, batch_size=16, lr=0.1),  # mini-batch, 16+16+8
    ]


def _compare_paths(got, want, case):
    try:
        pairs = [tuple(p) for p in got]
    except TypeError:
        return f"return a list of (w, b) pairs, one per iteration; you returned {reprlib.repr(got)}"
    if any(len(p) != 2 for p in pairs):
        return "each entry of your list must be one (w, b) pair"
    if len(pairs) > 1 and all(p[0] is pairs[0][0] for p in pairs):
        return (
            "every entry of your list is the same tensor, which each update changes in place, "
            "so they all show where the epoch ended: append copies, `(float(w), float(b))`"
        )
    n, B = len(case["X"]), case["batch_size"]
    if len(pairs) != len(want):
        return (
            f"your epoch made {len(pairs)} iterations, expected {len(want)} "
            f"(N = {n} samples in batches of {B})"
        )
    as_dicts = [{"w": w, "b": b} for w, b in pairs]
    return first_difference(
        as_dicts, [{"w": w, "b": b} for w, b in want], bitwise=False, atol=1e-5, rtol=1e-4,
        index="after iteration {}",
    )  # fmt: skip


def _skip_short(w, b, X, y, batch_size, lr):
    full = len(X) // batch_size * batch_size
    return _gd_epoch(w, b, X[:full], y[:full], batch_size, lr)


def _full_gradient(w, b, X, y, batch_size, lr):
    path = []
    for _ in range(0, len(X), batch_size):
        r = w * X + b - y
        w, b = w - lr * 2 * (r * X).mean(), b - lr * 2 * r.mean()
        path.append((float(w), float(b)))
    return path


def _summed(w, b, X, y, batch_size, lr):
    path = []
    for start in range(0, len(X), batch_size):
        xb, yb = X[start : start + batch_size], y[start : start + batch_size]
        r = w * xb + b - yb
        w, b = w - lr * 2 * (r * xb).sum(), b - lr * 2 * r.sum()
        path.append((float(w), float(b)))
    return path


def _stale(w, b, X, y, batch_size, lr):
    path = []
    for start in range(0, len(X), batch_size):
        xb, yb = X[start : start + batch_size], y[start : start + batch_size]
        w = w - lr * 2 * ((w * xb + b - yb) * xb).mean()
        b = b - lr * 2 * (w * xb + b - yb).mean()  # the residual of the new w
        path.append((float(w), float(b)))
    return path


q5 = CodeExercise(
    "q5",
    "Write `gd_epoch(w, b, X, y, batch_size, lr)`: one epoch of gradient descent on the line "
    "ŷ = w·x + b with the mean squared error, taking the samples in order in batches of "
    "`batch_size` (the last one short when B does not divide N), and returning (w, b) after "
    "every iteration. The same function is batch GD (B = N), stochastic GD (B = 1) and "
    "mini-batch GD; it is checked with all three, within 1e-5.",
    reference=_gd_epoch,
    cases=_epoch_cases,
    compare=_compare_paths,
    mistakes=(
        Mistake(
            _skip_short,
            "Your epoch skips the last, short batch (N = 40 is not a multiple of B = 16): an "
            "epoch uses every sample once, so it has ceil(N / B) iterations, the last on the "
            "N − floor(N / B)·B samples left.",
            hint="`range(0, len(X), batch_size)` reaches the short batch; a slice past the end just stops there.",
        ),
        Mistake(
            _full_gradient,
            "Every iteration used the gradient of all N samples, so every variant became batch "
            "GD: take the batch's own samples, X[start:start + batch_size], for each update.",
            hint="Compute the residual on `X[start:start + batch_size]` and the same slice of y.",
        ),
        Mistake(
            _summed,
            "Your steps grow with the batch size: the batch's loss is the mean over its "
            "samples, so its gradient is a mean too (`.mean()`, not `.sum()`).",
            hint="Average over the batch with `.mean()`.",
        ),
        Mistake(
            _stale,
            "You updated w before computing b's gradient, so b's gradient came from the new w: "
            "compute both derivatives from the same (w, b), then update both.",
            hint="`w, b = w - lr * dw, b - lr * db` updates both at once.",
        ),
    ),  # fmt: skip
    hint=[
        "Walk through the samples in order, B at a time: each batch gives one gradient from its "
        "own samples, one update of w and b, and one entry of the path.",
        "For start in range(0, N, B) the batch is X[start:start + B]; with its residual "
        "r = w·x + b − y, dL/dw = mean(2·r·x) and dL/db = mean(2·r) (chapter 01's q3), both "
        "from the same (w, b).",
    ],
    solution="""def gd_epoch(w, b, X, y, batch_size, lr):
    path = []
    for start in range(0, len(X), batch_size):  # the last batch may be short
        xb, yb = X[start : start + batch_size], y[start : start + batch_size]
        r = w * xb + b - yb  # residuals of this batch only
        dw, db = 2 * (r * xb).mean(), 2 * r.mean()
        w, b = w - lr * dw, b - lr * db  # both from the same (w, b)
        path.append((float(w), float(b)))
    return path
""",
)


# --- q6: a fair comparison of batch sizes ----------------------------------------------------


def _fair_comparison(model, data, batch_sizes, epochs, lr, seed):
    losses = {}
    for B in batch_sizes:
        run = copy.deepcopy(model)  # every batch size starts from the same parameters
        train(run, data, batch_size=B, epochs=epochs, lr=lr, seed=seed)
        losses[B] = evaluate(run, data)  # the full-data loss, like for like
    return losses


def _comparison_cases():
    return [
        dict(model=tutorial_mlp(seed=3), data=quadratic_data(24, seed=5), batch_sizes=[24, 4, 1],
             epochs=2, lr=0.01, seed=0),
        dict(model=LinearModel(w=-1.0, b=2.5), data=linear_data(50, seed=6), batch_sizes=[50, 10],
             epochs=3, lr=0.1, seed=1),
    ]  # fmt: skip


def _compare_losses(got, want, case):
    if not isinstance(got, Mapping):
        return (
            "return a dict from each batch size to its full-data loss; you returned "
            f"{reprlib.repr(got)}"
        )
    for B, expected in want.items():
        if B not in got:
            return f"your dict has no entry for B = {B} (its keys are the batch sizes)"
        value = as_number(got[B])
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"for B = {B}, your loss is {reprlib.repr(got[B])}, not a number"
        if not math.isclose(value, expected, rel_tol=1e-5, abs_tol=1e-6):
            return f"for B = {B}, your full-data loss is {value:.6g}, expected {expected:.6g}"
    extra = [B for B in got if B not in want]
    return (
        f"your dict has an entry for B = {extra[0]!r}, which was not asked for" if extra else None
    )


def _no_copy(model, data, batch_sizes, epochs, lr, seed):
    losses = {}
    for B in batch_sizes:
        train(model, data, batch_size=B, epochs=epochs, lr=lr, seed=seed)
        losses[B] = evaluate(model, data)
    return losses


def _last_batch_loss(model, data, batch_sizes, epochs, lr, seed):
    losses = {}
    for B in batch_sizes:
        h = train(copy.deepcopy(model), data, batch_size=B, epochs=epochs, lr=lr, seed=seed)
        losses[B] = h.iterations.loss[-1]
    return losses


def _running_mean(model, data, batch_sizes, epochs, lr, seed):
    losses = {}
    for B in batch_sizes:
        h = train(copy.deepcopy(model), data, batch_size=B, epochs=epochs, lr=lr, seed=seed)
        losses[B] = h.epochs.train_loss[-1]
    return losses


q6 = CodeExercise(
    "q6",
    "Write `fair_comparison(model, data, batch_sizes, epochs, lr, seed)`: train the model once "
    "per batch size with `train()`, every run from the same starting parameters, on the same "
    "data, for the same epochs at the same learning rate and seed, and return a dict from each "
    "batch size to the full-data loss after its training. Checked within 1e-5 on the tutorial "
    "MLP and on the line.",
    reference=_fair_comparison,
    cases=_comparison_cases,
    compare=_compare_losses,
    mistakes=(
        Mistake(
            _no_copy,
            "Your runs after the first did not start from the given parameters: `train()` "
            "changes the model in place, so each batch size carried on from where the previous "
            "one stopped.",
            hint="Train a copy per batch size: `run = copy.deepcopy(model)`.",
        ),
        Mistake(
            _last_batch_loss,
            "You reported each run's last batch loss: it is measured on that run's own batch "
            "(for B = 1 a single sample), before the last update, so runs cannot be compared "
            "by it.",
            hint="Measure every trained copy on all the data: `evaluate(run, data)`.",
        ),
        Mistake(
            _running_mean,
            "You reported the running mean of the last epoch's batch losses, collected while "
            "the model was still changing (and for batch GD, before its last update): compare "
            "the full-data loss after training.",
            hint="Measure every trained copy on all the data: `evaluate(run, data)`.",
        ),
    ),  # fmt: skip
    hint=[
        "`train()` changes the model it is given, and each run must start from the same "
        "parameters; and every run must be judged on the same samples.",
        "For each B: train a `copy.deepcopy(model)` with `train()` and the given settings, then "
        "measure that copy with `evaluate(run, data)`, the full-data loss.",
    ],
    solution="""import copy

from gdlessons.metrics import evaluate

from gdlessons.training import train


def fair_comparison(model, data, batch_sizes, epochs, lr, seed):
    losses = {}
    for B in batch_sizes:
        run = copy.deepcopy(model)  # every batch size starts from the same parameters
        train(run, data, batch_size=B, epochs=epochs, lr=lr, seed=seed)
        losses[B] = evaluate(run, data)  # the full-data loss, like for like
    return losses
""",
)
