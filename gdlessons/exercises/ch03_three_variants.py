"""Chapter 03 exercises: batch, stochastic and mini-batch gradient descent, and gradient noise.

The story's your-turn cells: t1 the fair comparison (a copy of the same model trained per batch
size, with the same budget), t2 a path's length on the line's loss surface, t3 one random
batch's gradient noise ‖g_B − ḡ‖² (each checked by
:class:`~gdlessons.exercises.code.CodeExercise` against a reference on fresh seeded cases, within
a stated tolerance). At the end: q1 to q4 and q6 take a number or a word; q5 takes a function,
one epoch of gradient descent on the line by hand at any batch size.

>>> q2.check("samples seen").correct, t1.check(...).status, q5.check(...).status
(True, 'not attempted', 'not attempted')
"""

from __future__ import annotations

import copy
import math
import reprlib
from collections.abc import Mapping

import torch

from gdlessons.data import linear_data, quadratic_data
from gdlessons.exercises import Exercise, expect_choice, expect_close, expect_int
from gdlessons.exercises.code import CodeExercise, Mistake, first_difference
from gdlessons.history import History
from gdlessons.hooks import EvaluateEvery, FullTrainLoss
from gdlessons.models import LinearModel, tutorial_mlp
from gdlessons.training import train

# --- t1: the fair comparison -------------------------------------------------------------------


def _train_variants(model, data, variants, **budget):
    """A copy of ``model`` per variant, each trained with the same budget (the loop of
    ``gdlessons.chapters.ch03_three_variants.compare_variants``, without its measurements)."""
    runs = {}
    for label, batch_size in variants.items():
        runs[label] = train(copy.deepcopy(model), data, batch_size=batch_size, **budget)
    return runs


def _variants_cases():
    # train()'s own defaults (batch size 32, seed 0, one epoch) are none of the cases' values, so
    # a run that lost its batch size or its budget shows it.
    return [
        dict(model=LinearModel(w=-1.0, b=2.5), data=linear_data(40, seed=7),
             variants={"batch (B = N)": "full", "stochastic (B = 1)": 1, "mini-batch (B = 8)": 8},
             epochs=2, lr=0.1, seed=3, hooks=[EvaluateEvery(4)]),
        dict(model=tutorial_mlp(seed=3), data=quadratic_data(40, seed=5),
             variants={"batch": 40, "mini": 10}, epochs=3, lr=0.01, seed=1,
             hooks=[EvaluateEvery(1), FullTrainLoss()]),
    ]  # fmt: skip


def _variants_outcome(runs, args):
    return runs, {k: v.detach().clone() for k, v in args["model"].state_dict().items()}


def _compare_variants(got, want, case):
    runs, model = got
    want_runs, want_model = want
    if not isinstance(runs, Mapping):
        return (
            "return a dict from each variant's label to its run's History (what train() "
            f"returns); you returned {reprlib.repr(runs)}"
        )
    missing = [label for label in want_runs if label not in runs]
    if missing:
        return f"your dict has no run for {missing[0]!r} (its keys are the variants' labels)"
    extra = [label for label in runs if label not in want_runs]
    if extra:
        return f"your dict has a run for {extra[0]!r}, which is not one of the variants"
    for label, h in want_runs.items():
        g = runs[label]
        if not isinstance(g, History):
            return f"the run {label!r} is a {type(g).__name__}, not the History train() returns"
        for key in ("batch_size", "epochs", "lr", "seed"):
            if g.config.get(key) != h.config[key]:
                return (
                    f"the run {label!r} trained with {key}={g.config.get(key)!r}, expected "
                    f"{h.config[key]!r}"
                )
        for name, g_log, w_log, index, start in (
            ("the full-data loss", g.evals.train_loss, h.evals.train_loss, "at evaluation {}", 0),
            ("the batch loss", g.iterations.loss, h.iterations.loss, "at iteration {}", 1),
        ):
            message = first_difference(
                g_log, w_log, bitwise=False, atol=1e-7, rtol=1e-5, name=name, index=index,
                start=start,
            )  # fmt: skip
            if message:
                return f"in the run {label!r}, {message}"
    if first_difference(model, want_model, bitwise=False, atol=1e-7, rtol=1e-5):
        return (
            "your runs are right, but the model you were given was trained: train copies, "
            "and leave the given model as it was for the next comparison"
        )
    return None


def _no_copy(model, data, variants, **budget):
    return {label: train(model, data, batch_size=B, **budget) for label, B in variants.items()}


def _one_copy(model, data, variants, **budget):
    run = copy.deepcopy(model)  # one copy for all the runs
    return {label: train(run, data, batch_size=B, **budget) for label, B in variants.items()}


def _default_batch_size(model, data, variants, **budget):
    return {label: train(copy.deepcopy(model), data, **budget) for label in variants}


def _no_budget(model, data, variants, **budget):
    return {label: train(copy.deepcopy(model), data, batch_size=B) for label, B in variants.items()}


t1 = CodeExercise(
    "t1",
    "Write `train_variants(model, data, variants, **budget)`: for every variant (a dict from "
    'its label to its batch size: "full", 1 or B) train a copy of `model` on `data` with '
    "`train()`, at that batch size and with the same `budget` (epochs, lr, seed, hooks), and "
    "return a dict from each label to its run's History. The model you are given stays as it "
    "was. The check compares the histories' settings and losses with the reference's, within a "
    "relative 1e-5 (the same train() calls give the same numbers).",
    reference=_train_variants,
    cases=_variants_cases,
    outcome=_variants_outcome,
    compare=_compare_variants,
    mistakes=(
        Mistake(
            _no_copy,
            "Your runs after the first did not start from the given parameters, and the given "
            "model was trained: `train()` changes the model it is handed in place, so each "
            "variant carried on from where the previous one stopped.",
            hint="Hand each run its own copy: `copy.deepcopy(model)` inside the loop.",
        ),
        Mistake(
            _one_copy,
            "You made one copy for all the runs: the first variant trained it, and each later "
            "one carried on from where the previous stopped instead of starting from the given "
            "parameters.",
            hint="Copy inside the loop, once per variant, so every run starts from `model`.",
        ),
        Mistake(
            _default_batch_size,
            "Every run trained at train()'s default batch size (32), so the variants differ only "
            "in their labels: pass each variant's batch size.",
            hint="`for label, batch_size in variants.items():` and `batch_size=batch_size`.",
        ),
        Mistake(
            _no_budget,
            "Your runs ignored the budget: they trained with train()'s defaults (one epoch, "
            "lr 0.01, seed 0, no hooks) instead of the same epochs, learning rate, seed and "
            "measurements for every variant.",
            hint="Pass the budget on to train() as it came: `**budget`.",
        ),
    ),  # fmt: skip
    hint=[
        "A fair comparison changes one thing, the batch size: every run starts from the same "
        "parameters and gets the same budget. `train()` trains the model it is given in place.",
        "Loop over `variants.items()`; for each, call `train()` on a fresh `copy.deepcopy(model)` "
        "with `batch_size=` that variant's size and `**budget`, and keep the History under the "
        "label.",
    ],
    solution="""import copy

from gdlessons.training import train


def train_variants(model, data, variants, **budget):
    runs = {}
    for label, batch_size in variants.items():
        # every variant starts from the same parameters
        run = copy.deepcopy(model)
        # the same budget
        runs[label] = train(run, data, batch_size=batch_size, **budget)
    return runs
""",
)


# --- t2: how long is a path -------------------------------------------------------------------


def _path_length(w, b):
    steps = torch.diff(torch.stack([w, b], 1), dim=0)  # one (Δw, Δb) per update
    return float(steps.norm(dim=1).sum())


def _path_cases():
    walk = torch.randn(30, 2, generator=torch.Generator().manual_seed(4)).mul(0.3).cumsum(0)
    return [
        dict(w=torch.tensor([0.0, 1.0, 1.5, 2.5, 3.0]), b=torch.tensor([0.0, 2.0, -1.0, 0.5, 0.0])),
        dict(w=walk[:, 0].clone(), b=walk[:, 1].clone()),
        dict(w=torch.tensor([1.0, 4.0]), b=torch.tensor([-2.0, 2.0])),  # one update, 3-4-5
    ]  # fmt: skip


def _compare_length(got, want, case):
    if isinstance(got, torch.Tensor) and got.numel() > 1:
        return (
            f"you returned {got.numel()} numbers (one per step?): the path's length is one "
            "number, the sum of its steps' lengths"
        )
    return first_difference(got, want, bitwise=False, atol=1e-6, rtol=1e-5, name="your path length")


def _displacement(w, b):
    return float(torch.hypot(w[-1] - w[0], b[-1] - b[0]))


def _manhattan(w, b):
    return float((torch.diff(w).abs() + torch.diff(b).abs()).sum())


def _squared_steps(w, b):
    return float((torch.diff(w) ** 2 + torch.diff(b) ** 2).sum())


def _one_norm_of_all_steps(w, b):
    return float((torch.diff(w) ** 2 + torch.diff(b) ** 2).sum().sqrt())


def _w_only(w, b):
    return float(torch.diff(w).abs().sum())


t2 = CodeExercise(
    "t2",
    "Write `path_length(w, b)`: the length of the path that visits the points (w[0], b[0]), "
    "(w[1], b[1]), … in order (w and b are 1-D tensors, one entry before training and one "
    "after each update): the sum over the updates of each step's straight length "
    "√(Δw² + Δb²). Checked on three paths up to float32 rounding (a relative 1e-5).",
    reference=_path_length,
    cases=_path_cases,
    compare=_compare_length,
    mistakes=(
        Mistake(
            _displacement,
            "That is the straight distance from the first point to the last (the "
            "displacement): a zig-zag walks much further than it gets, and the path's length "
            "counts every step.",
            hint="Measure every step, from each point to the next, and add the lengths up.",
        ),
        Mistake(
            _manhattan,
            "You added |Δw| + |Δb| per step, the distance along the grid's axes: a step's "
            "length is the straight line √(Δw² + Δb²).",
            hint="Per step: the square root of Δw² + Δb² (`torch.hypot`, or `.norm(dim=1)`).",
        ),
        Mistake(
            _squared_steps,
            "You added the squared step lengths Δw² + Δb²: take each step's square root before "
            "adding them up.",
            hint="`torch.hypot(dw, db)` is √(Δw² + Δb²) for every step at once.",
        ),
        Mistake(
            _one_norm_of_all_steps,
            "You took one square root of all the squared steps together, √Σ(Δw² + Δb²): that "
            "is not a length walked. Take each step's root, then add.",
            hint="First every step's length √(Δw² + Δb²), then `.sum()`.",
        ),
        Mistake(
            _w_only,
            "Your length counts the steps in w only: a step moves w and b at once, so its length "
            "is √(Δw² + Δb²).",
            hint="Use both coordinates: `torch.diff(w)` and `torch.diff(b)`.",
        ),
    ),  # fmt: skip
    hint=[
        "The path is a polyline: measure each step from one point to the next, then add the "
        "lengths. `torch.diff` gives all the differences of a 1-D tensor at once.",
        "With dw = torch.diff(w) and db = torch.diff(b), each step's length is √(dw² + db²) "
        "(`torch.hypot`); the path's length is their sum, as one number.",
    ],
    solution="""import torch


def path_length(w, b):
    dw, db = torch.diff(w), torch.diff(b)  # one step per update
    # each step's straight length, added up
    return float(torch.hypot(dw, db).sum())
""",
)


# --- t3: one batch's gradient noise -----------------------------------------------------------


def _batch_noise(grads, batch):
    """‖g_B − ḡ‖²: the batch's mean gradient against the full-data one, summed over parameters."""
    return float((grads[batch].mean(0) - grads.mean(0)).pow(2).sum())


def _noise_cases():
    gen = torch.Generator().manual_seed(8)
    grads = torch.randn(12, 5, generator=gen, dtype=torch.float64) * 2 + torch.arange(5.0)
    other = torch.randn(20, 3, generator=gen, dtype=torch.float64) - 1.5
    big = torch.randn(200, 50, generator=gen, dtype=torch.float64) * 30 + 10
    return [
        dict(grads=grads, batch=torch.randperm(12, generator=gen)[:4]),
        dict(grads=other, batch=torch.randperm(20, generator=gen)[:1]),
        # B = N: no noise at all; gradients of the story's size, where float32 leaves ~1e-11
        dict(grads=big, batch=torch.randperm(200, generator=gen)),
    ]


def _compare_noise(got, want, case):
    if isinstance(got, torch.Tensor) and got.numel() > 1:
        return (
            f"you returned {got.numel()} numbers: ‖g_B − ḡ‖² is one number, the squared "
            "distance summed over all the parameters"
        )
    message = first_difference(
        got, want, bitwise=False, atol=1e-12, rtol=1e-5, name="your ‖g_B − ḡ‖²"
    )
    if message and len(case["batch"]) == len(case["grads"]):
        return (
            f"at B = N (the batch is all the samples) {message}: there it must be 0 up to "
            "float64 rounding (below 1e-12); compute in the float64 the gradients come in"
        )
    return message


def _distance(grads, batch):
    return float((grads[batch].mean(0) - grads.mean(0)).norm())


def _mean_over_parameters(grads, batch):
    return float((grads[batch].mean(0) - grads.mean(0)).pow(2).mean())


def _no_full_gradient(grads, batch):
    return float(grads[batch].mean(0).pow(2).sum())


def _mean_of_squares(grads, batch):
    return float((grads[batch] - grads.mean(0)).pow(2).sum(1).mean())


def _summed_batch(grads, batch):
    return float((grads[batch].sum(0) - grads.mean(0)).pow(2).sum())


t3 = CodeExercise(
    "t3",
    "Write `batch_noise(grads, batch)`: `grads` holds one sample's gradient per row (N rows, "
    "one column per parameter, float64) and `batch` the B sample indices of one random batch; "
    "return ‖g_B − ḡ‖² as a number, where g_B is the mean of the batch's rows, ḡ the mean of "
    "all N rows and ‖·‖² the sum of squares over the parameters. Checked on three batches "
    "(B = 4, 1 and N) up to float64 rounding (a relative 1e-5; at B = N, 0 within 1e-12).",
    reference=_batch_noise,
    cases=_noise_cases,
    compare=_compare_noise,
    mistakes=(
        Mistake(
            _distance,
            "You returned the distance ‖g_B − ḡ‖ itself: the variance the chapter measures is "
            "the mean of its square.",
            hint="Square the differences and sum them, without a square root.",
        ),
        Mistake(
            _mean_over_parameters,
            "You averaged the squared differences over the parameters: ‖·‖² sums them (the "
            "total variance, over every parameter).",
            hint="`.pow(2).sum()`, not `.mean()`, over the parameters.",
        ),
        Mistake(
            _no_full_gradient,
            "That is ‖g_B‖², the batch gradient's own size (signal and noise together): the "
            "noise is how far it strays from the full-data gradient ḡ.",
            hint="Subtract ḡ, the mean of all the rows (`grads.mean(0)`), before squaring.",
        ),
        Mistake(
            _mean_of_squares,
            "You averaged the samples' squared distances ‖gᵢ − ḡ‖² over the batch: that is about "
            "σ² whatever B is. Average the batch's gradients first (that is the update's "
            "direction), then take one distance: averaging is what makes the noise shrink.",
            hint="First g_B = `grads[batch].mean(0)`, then its squared distance to ḡ.",
        ),
        Mistake(
            _summed_batch,
            "You added the batch's gradients: g_B is their mean (the loss of a batch is a mean "
            "over its samples).",
            hint="`.mean(0)` over the batch's rows, not `.sum(0)`.",
        ),
    ),  # fmt: skip
    hint=[
        "Three steps: the batch's gradient g_B (the mean of its rows), the full-data gradient ḡ "
        "(the mean of all rows), then the squared length of their difference.",
        "`grads[batch]` picks the batch's rows; `.mean(0)` averages rows; `(d ** 2).sum()` is "
        "‖d‖²; return it as a number (`float(...)`).",
    ],
    solution="""def batch_noise(grads, batch):
    # the batch's gradient: the mean of its samples' rows
    g_batch = grads[batch].mean(0)
    g_full = grads.mean(0)  # the full-data gradient
    # squared distance, over all parameters
    return float(((g_batch - g_full) ** 2).sum())
""",
)


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

# Which axes always rank alike: a fact of the counting, true whatever the runs did (which run
# wins on an axis depends on the data, the rate and the target: the chapter computes that).
q2 = Exercise(
    "q2",
    "Every epoch is a full pass over the N samples. Of the x-axes 'iteration', 'samples seen' "
    "and 'seconds', which one always ranks the runs exactly as 'epoch' does, whatever they "
    "did? Answer with the axis's name.",
    expect_choice(
        "samples seen",
        ("epoch", "iteration", "samples seen", "seconds"),
        mistakes={
            "epoch": "That is the axis to compare with: which OTHER axis ranks the runs as it "
            "does?",
            "iteration": "Iterations per epoch differ with the batch size (1 for batch GD, N for "
            "stochastic GD), so the iteration axis stretches each run by its own factor and "
            "can reorder them: a run that needs fewer epochs may need more updates.",
            "seconds": "Seconds depend on what one update costs on the machine, which differs "
            "with the batch size (and with what else the machine is doing): they can reorder "
            "the runs.",
        },
    ),
    hint=[
        "An axis ranks the runs like 'epoch' when it is 'epoch' times the same factor for "
        "every run.",
        "With full passes, how many samples has any run seen after e epochs?",
    ],
    solution="'samples seen': with full passes, samples seen = epochs × N for every run, the "
    "same factor N whatever the batch size, so the two axes put the runs in the same order "
    "(the chapter's epoch and sample panels tell one story). Iterations per epoch (⌈N/B⌉) and "
    "seconds per update differ from run to run, so those axes can crown another winner; which "
    "one wins there depends on the runs, and the chapter's printed rankings say it for its own.",
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
        "r = w·x + b − y, dL/dw = mean(2·r·x) and dL/db = mean(2·r) (chapter 01's t2), both "
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


# --- q6: where the noise falls to the signal (the 1/B law with its correction, solved for B) ---

Q6_SIGMA2, Q6_SIGNAL, Q6_N = 400.0, 8.0, 100
_q6_batch = Q6_SIGMA2 * Q6_N / (Q6_SIGNAL * (Q6_N - 1) + Q6_SIGMA2)
q6 = Exercise(
    "q6",
    f"On a dataset of N = {Q6_N} samples, the per-sample gradients have σ² = {Q6_SIGMA2:g} and "
    f"the full-data gradient has ‖ḡ‖² = {Q6_SIGNAL:g}. At which batch size B does the noise "
    "variance σ²/B · (N − B)/(N − 1), batches drawn without replacement, fall to the signal "
    "‖ḡ‖²? Treat B as a real number and give the crossing itself, to two decimals (not rounded "
    "to a whole batch size).",
    expect_close(
        _q6_batch,
        rtol=0.01,
        mistakes={
            Q6_SIGMA2 / Q6_SIGNAL: "That is σ²/‖ḡ‖², where σ²/B alone meets the signal: with "
            f"N = {Q6_N} the factor (N − B)/(N − 1) matters, and lowers the noise sooner.",
            Q6_SIGNAL / Q6_SIGMA2: "That is ‖ḡ‖²/σ², upside down: the noise falls as B grows, "
            "so the crossing is where σ²/B has shrunk to ‖ḡ‖².",
            Q6_SIGMA2 / Q6_SIGNAL**2: "You set the standard deviation σ/√B equal to the "
            "squared signal: compare like with like, the variance with ‖ḡ‖².",
            (Q6_SIGMA2 / Q6_SIGNAL) ** 0.5: "That is √(σ²/‖ḡ‖²): the variance σ²/B falls like "
            "1/B, not like 1/√B.",
            **{
                whole: f"That is the crossing rounded {way} to a whole batch size; the question "
                "asks for the crossing itself, B as a real number: solve for B and give it to "
                "two decimals."
                for whole, way in ((math.floor(_q6_batch), "down"), (math.ceil(_q6_batch), "up"))
            },
        },
    ),
    hint=[
        "Set σ²/B · (N − B)/(N − 1) equal to ‖ḡ‖² and solve for B; without the correction it "
        "would be B_noise = σ²/‖ḡ‖².",
        "Multiply both sides by B·(N − 1): B appears on both sides once, so collect it on one "
        "side and divide.",
    ],
    solution=f"σ²(N − B) = ‖ḡ‖²·B·(N − 1), so B = σ²N / (‖ḡ‖²(N − 1) + σ²) = "
    f"{Q6_SIGMA2:g}·{Q6_N} / ({Q6_SIGNAL:g}·{Q6_N - 1} + {Q6_SIGMA2:g}) ≈ {_q6_batch:.1f}, well "
    f"below σ²/‖ḡ‖² = {Q6_SIGMA2 / Q6_SIGNAL:g}: with a third of the data in each batch, the "
    f"correction (N − B)/(N − 1) ≈ {(Q6_N - _q6_batch) / (Q6_N - 1):.2f} has already cut the "
    "noise by a third.",
)
