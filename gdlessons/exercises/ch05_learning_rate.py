"""Chapter 05 exercises: the learning rate on quadratics (the bound 2/a, the one-step rate,
regimes, 2/λ_max) and the range test.

q1–q4 take a number or a word (q1–q3 on a curvature other than the chapter's, so that their
answers are worked out, not read off the output above them); q5 and q6 take a function the
student writes, checked by :class:`~gdlessons.exercises.code.CodeExercise`: q5 finds the stability
bound by running gradient descent (a saddle among its cases tells running it from the formula),
q6 gives the range test's rate at every iteration, within float32 rounding.

>>> q1.check(1 / 3).correct, q2.check(...).status, q6.check(...).status
(True, 'not attempted', 'not attempted')
"""

from __future__ import annotations

import math

import numpy as np

from gdlessons.exercises import Exercise, as_number, expect_choice, expect_close
from gdlessons.exercises.code import CodeExercise, Mistake, close_tensors
from gdlessons.landscapes import REGIMES

A = 6.0  # q1–q3's curvature: not the chapter's a, so the answers are worked out, not read off
A_CHAPTER = 4.0  # the chapter's default a, whose bound and one-step rate are printed above
ETA3 = 0.25  # q3's rate: past 1/A, below 2/A
LAMBDAS4 = (0.5, 10.0)  # q4's curvatures

q1 = Exercise(
    "q1",
    f"Gradient descent on f(x) = a·x²/2 with a = {A:g}. What is the largest learning rate η that "
    "still converges (the bound itself, as a number)?",
    expect_close(
        2 / A,
        rtol=0.01,
        mistakes={
            1 / A: "That is the one-step rate, where the factor 1 − η·a is 0. Larger rates still "
            "converge: x overshoots and flips side, but the factor's size stays below 1 for a while.",
            2
            / A_CHAPTER: f"That is the bound for a = {A_CHAPTER:g}, the curvature of the chapter's "
            f"run printed above; this question's quadratic has a = {A:g}.",
            A / 2: "The formula is upside down: a steeper quadratic (larger a) allows a smaller "
            "rate, not a larger one.",
        },
    ),
    hint=[
        "One update multiplies x by the factor 1 − η·a. For which η does that factor have size "
        "below 1?",
        f"Solve |1 − {A:g}·η| < 1: the largest η is where the factor reaches −1.",
    ],
    solution=f"|1 − {A:g}η| < 1 ⇔ 0 < η < 2/{A:g} = 1/3 ≈ 0.333. At η = 1/3 exactly x flips sign "
    "forever without shrinking; above it the run diverges.",
)

q2 = Exercise(
    "q2",
    f"Same f(x) = {A:g}·x²/2. Which learning rate takes x to the minimum in exactly one iteration, "
    "from any start?",
    expect_close(
        1 / A,
        rtol=0.01,
        mistakes={
            2 / A: "That is the stability bound: there the factor 1 − η·a is −1 and x flips sign "
            "forever without shrinking. Landing on the minimum needs a factor of exactly 0.",
            1 / A_CHAPTER: f"That is the one-step rate for a = {A_CHAPTER:g}, the curvature of the "
            f"chapter's run printed above; this question's quadratic has a = {A:g}.",
            A: "That is the curvature itself: a steeper quadratic needs a smaller rate to land on "
            "its minimum, not a larger one.",
        },
    ),
    hint=[
        "After one update x becomes (1 − η·a)·x. What must that factor be for x to land on 0 "
        "from any start?",
        f"Set 1 − {A:g}·η = 0 and solve for η.",
    ],
    solution=f"1 − {A:g}η = 0 ⇔ η = 1/a = 1/6 ≈ 0.167 (Newton's step for this quadratic). Below it "
    "the run approaches 0 from one side; between 1/6 and 1/3 it overshoots and oscillates.",
)

q3 = Exercise(
    "q3",
    f"Same f(x) = {A:g}·x²/2 with η = {ETA3:g}. Which regime is it? One of {', '.join(REGIMES)}.",
    expect_choice(
        "oscillating",
        REGIMES,
        mistakes={
            "divergent": "Diverging needs a factor 1 − η·a of size 1 or more, that is η ≥ 2/a. "
            "Did you take 1/a, the one-step rate, for the bound?",
            "fast monotone": "Below the bound 2/a the run converges, but it approaches 0 from one "
            "side only while the factor 1 − η·a is not negative, that is η ≤ 1/a. Compare η with 1/a.",
            "slow": "'slow' is for a factor 1 − η·a close to +1 (a tiny η). Work the factor out: "
            "its sign matters as much as its size.",
        },
    ),
    hint=[
        "Compute the factor r = 1 − η·a: its sign says whether x flips side, its size whether it "
        "shrinks.",
        f"r = 1 − {ETA3:g}·{A:g}; then find that r in the table of regimes at the start of the chapter.",
    ],
    solution=f"1 − {ETA3:g}·{A:g} = −0.5: x flips sign every iteration while shrinking by half: "
    "oscillating (but converging).",
)

q4 = Exercise(
    "q4",
    "A 2-D quadratic has curvatures λ = (0.5, 10), condition number 20. What is the largest "
    "learning rate that converges?",
    expect_close(
        2 / max(LAMBDAS4),
        rtol=0.01,
        mistakes={
            2 / min(LAMBDAS4): "That is the flat direction's bound 2/λ_min: at that rate the "
            "steep direction diverges. The run converges only if every direction does.",
            1 / max(LAMBDAS4): "That is 1/λ_max, the largest rate at which the steep direction "
            "does not overshoot. An oscillating direction still converges while its factor's size "
            "is below 1.",
            2 / sum(LAMBDAS4): "That is 2/(λ_min + λ_max), the rate that converges fastest (both "
            "directions shrink by the same factor). The question asks for the largest rate that "
            "converges at all.",
        },
    ),
    hint=[
        "Each direction i has its own factor 1 − η·λᵢ, and the run converges only if every "
        "factor has size below 1.",
        "Each direction alone would allow η < 2/λᵢ. Which of the two bounds binds?",
    ],
    solution="The steep direction sets it: η < 2/λ_max = 2/10 = 0.2. The flat direction would "
    "tolerate up to 2/0.5 = 4, but at η just below 0.2 it still keeps 1 − 0.2·0.5 = 0.9 of its "
    "error per iteration: the crawl that a high condition number causes.",
)

# --- q5: the stability bound, found by running gradient descent -------------------------------


def _worst_factor(lr: float, curvatures) -> float:
    """max over the directions of |1 − η·λ|: below 1 the run converges, at 1 or above it does not."""
    return max(abs(1 - lr * lam) for lam in curvatures)


def _converges(lr: float, curvatures) -> bool:
    """What running 200 iterations from x = (1, …, 1) shows: the largest coordinate shrank, which
    on f = ½·Σ λᵢ·xᵢ² happens exactly when every factor 1 − η·λᵢ has size below 1."""
    return _worst_factor(lr, curvatures) < 1


def _largest_stable_lr(curvatures, lrs):
    stable = [lr for lr in lrs if _converges(lr, curvatures)]
    return max(stable) if stable else None


def _closed_form(curvatures, lrs):
    """The shortcut the prompt forbids: the bound 2/λ_max, right on a bowl, wrong on a saddle."""
    stable = [lr for lr in lrs if lr < 2 / max(curvatures)]
    return max(stable) if stable else None


def _flat_direction_bound(curvatures, lrs):
    stable = [lr for lr in lrs if abs(1 - lr * min(curvatures)) < 1]
    return max(stable) if stable else None


def _never_overshoots(curvatures, lrs):
    monotone = [lr for lr in lrs if all(1 - lr * lam >= 0 for lam in curvatures)]
    return max(monotone) if monotone else None


def _first_divergent(curvatures, lrs):
    return next((lr for lr in lrs if _worst_factor(lr, curvatures) >= 1), None)


def _candidates(lam_low: float, lam_high: float, edges, rng) -> list[float]:
    """About 36 rates spaced about 20% apart from far below 1/lam_high to past 2.6/lam_low, none
    within 4% of an edge, so every candidate's fate is plain after a few hundred iterations."""
    grid = np.geomspace(0.05 / lam_high, 2.6 / lam_low, 36) * np.exp(rng.uniform(-0.04, 0.04, 36))
    lrs = [float(f"{lr:.3g}") for lr in grid if all(abs(lr / e - 1) > 0.04 for e in edges)]
    return sorted(set(lrs))


def _bound_cases():
    """Three bowls (1-D, 2-D, 3-D, every curvature positive), whose answer is the largest
    candidate below 2/λ_max, with candidates on both sides of 1/λ_max, 2/λ_max and 2/λ_min; and
    a saddle (one curvature negative), on which no rate converges: the formula 2/λ_max still
    offers one, running gradient descent shows that none exists."""
    rng = np.random.default_rng(5)
    cases = []
    for d, kappa in ((1, 1.0), (2, 12.0), (3, 8.0)):  # κ ≤ 13: 200 updates stay below overflow
        lam_max = round(float(rng.uniform(1.0, 8.0)), 2)
        inner = rng.uniform(1 / kappa, 1.0, size=d - 2) if d > 2 else []
        lam = sorted(
            {round(lam_max / kappa, 3), *(round(float(lam_max * x), 3) for x in inner), lam_max}
        )
        edges = (1 / lam[-1], 2 / lam[-1], 2 / lam[0])
        cases.append(dict(curvatures=lam, lrs=_candidates(lam[0], lam[-1], edges, rng)))
    saddle = [-0.3, 2.6]  # x₁ rolls away at every rate: its factor 1 + 0.3·η is above 1
    edges = (1 / saddle[-1], 2 / saddle[-1])
    cases.append(dict(curvatures=saddle, lrs=_candidates(2.6, saddle[-1], edges, rng)))
    return cases


def _compare_bound(got, want, case):
    lrs, lam = case["lrs"], case["curvatures"]
    if got is None and want is None:
        return None
    value = as_number(got)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return (
            f"return one of the candidate rates (a number), not {got!r}: one converges on λ = {lam}"
        )
    if not any(math.isclose(value, lr, rel_tol=1e-9) for lr in lrs):
        return f"{value:g} is not one of the candidate rates in `lrs`"
    if want is None:
        lam_min = min(lam)
        return (
            f"on λ = {lam} (a saddle: λ = {lam_min:g} is negative) the rate η = {value:.3g} does "
            f"not converge: along that direction each iteration multiplies the error by "
            f"1 − η·λ = {1 - value * lam_min:.2f}, above 1, and so does every candidate. Return "
            "None when no candidate converges"
        )
    if math.isclose(value, want, rel_tol=1e-9):
        return None
    factor = _worst_factor(value, lam)
    if factor >= 1:
        return (
            f"the rate η = {value:.3g} diverges on λ = {lam}: along the steepest direction each iteration "
            f"multiplies the error by |1 − η·λ_max| = {factor:.2f}, which is not below 1"
        )
    return (
        f"the rate η = {value:.3g} converges on λ = {lam} (it keeps {factor:.2f} of the error per "
        "iteration), but a larger candidate converges too"
    )


q5 = CodeExercise(
    "q5",
    "Write `largest_stable_lr(curvatures, lrs)`: among the candidate rates `lrs` (in increasing "
    "order), return the largest at which gradient descent on f(x) = ½·Σ λᵢ·xᵢ² converges (None if "
    "none does), found by running it, not by a formula: start every run at x = (1, …, 1), make 200 "
    "updates x ← x − η·λ·x (the gradient of f is λ·x, coordinate by coordinate), and call it "
    "convergent if it ends closer to the minimum than it started (its largest |coordinate| shrank). "
    "It is checked on three bowls, where the answer must agree with the bound 2/λ_max, and on a "
    "saddle (one curvature negative, which `L.iterates` refuses), where that bound does not apply.",
    reference=_largest_stable_lr,
    cases=_bound_cases,
    compare=_compare_bound,
    mistakes=(
        Mistake(
            _closed_form,
            "Your answers follow the formula η < 2/λ_max, which the question asks you not to use: "
            "it holds only when every curvature is positive. On the saddle λ = [-0.3, 2.6] no "
            "rate converges (the negative direction rolls away at every rate), and only running "
            "gradient descent shows it.",
            hint="Run the 200 updates for every candidate and judge each by where it ends.",
        ),
        Mistake(
            _flat_direction_bound,
            "Your rate keeps only the flattest direction stable: it is below 2/λ_min but above "
            "2/λ_max, so the steepest direction diverges. A run converges only if every "
            "direction does.",
            hint="Look at every coordinate of x, not only the first.",
        ),
        Mistake(
            _never_overshoots,
            "Your rate is the largest that never overshoots (η ≤ 1/λ_max, no oscillation). But "
            "an oscillating run converges too, as long as its swings shrink.",
            hint="Compare where the run ends with where it started, not the sign of its steps.",
        ),
        Mistake(
            _first_divergent,
            "You returned the first candidate that diverges; the question asks for the last one "
            "that converges, the candidate just before it.",
        ),
    ),  # fmt: skip
    hint=[
        "For every candidate rate, run the 200 updates yourself: start from "
        "`x = np.ones(len(curvatures))` and apply x ← x − η·λ·x with λ as an array; then look "
        "at where the run ends.",
        "A run converged if `np.abs(x).max() < 1` at the end (it started at 1). Remember the "
        "last candidate for which that holds, starting from None.",
    ],
    solution="""import numpy as np


def largest_stable_lr(curvatures, lrs):
    lam = np.asarray(curvatures, dtype=float)
    largest = None  # if no candidate converges
    for lr in lrs:
        x = np.ones(len(lam))
        for _ in range(200):
            x = x - lr * lam * x  # one update: the gradient of f is λ·x
        if np.abs(x).max() < 1:  # ended closer to the minimum than it started
            largest = lr
    return largest
""",
)


# --- q6: the range test's rate at every iteration ---------------------------------------------


# float32 (what torch.logspace and torch tensors give by default) rounds the rates to a relative
# 6e-8 each, and a sweep of a few hundred of them builds up to a few 1e-7: 1e-5 passes any of them.
SWEEP_RTOL = 1e-5


def _sweep_rates(start_lr, end_lr, iterations):
    """As ``lr_range_test`` sets them: a ``LambdaLR`` multiplies ``start_lr`` by factorⁱ."""
    factor = (end_lr / start_lr) ** (1 / (iterations - 1))
    return [start_lr * factor**i for i in range(iterations)]


def _sweep_short(start_lr, end_lr, iterations):
    return [start_lr * (end_lr / start_lr) ** (i / iterations) for i in range(iterations)]


def _sweep_from_one(start_lr, end_lr, iterations):
    return [start_lr * (end_lr / start_lr) ** (i / iterations) for i in range(1, iterations + 1)]


def _sweep_linear(start_lr, end_lr, iterations):
    return np.linspace(start_lr, end_lr, iterations).tolist()


def _sweep_cases():
    rng = np.random.default_rng(6)
    cases = [dict(start_lr=1e-5, end_lr=10.0, iterations=200)]
    for _ in range(2):
        start = float(f"{10 ** rng.uniform(-6, -3):.2g}")
        end = float(f"{10 ** rng.uniform(-1, 1):.2g}")
        cases.append(dict(start_lr=start, end_lr=end, iterations=int(rng.integers(8, 80))))
    return cases


q6 = CodeExercise(
    "q6",
    "Write `sweep_rates(start_lr, end_lr, iterations)`: the list of the `iterations` learning rates "
    "of a range test, the rate of iteration i (counted from 0) at index i. They grow geometrically "
    "from `start_lr` at the first iteration to `end_lr` at the last. They are compared with the "
    "rates `lr_range_test` uses, to a relative 10⁻⁵, so float32 results (`torch.logspace`'s "
    "default) pass.",
    reference=_sweep_rates,
    cases=_sweep_cases,
    compare=close_tensors(
        atol=0.0, rtol=SWEEP_RTOL, name="the rate", index="at iteration i = {}", start=0
    ),
    mistakes=(
        Mistake(
            _sweep_short,
            "Your sweep stops short of end_lr: with the exponent i/N the last iteration, "
            "i = N − 1, gets (N − 1)/N of the way. The exponent must reach 1 at i = N − 1.",
            hint="Use i / (iterations - 1).",
        ),
        Mistake(
            _sweep_from_one,
            "Your sweep ends at end_lr but never uses start_lr: iteration 0 must run at "
            "start_lr itself, the exponent starting at 0.",
        ),
        Mistake(
            _sweep_linear,
            "Your rates grow by equal steps, so almost the whole sweep is spent on rates near "
            "end_lr. The range test multiplies the rate by the same factor every iteration, "
            "giving each decade as many iterations.",
            hint="ηᵢ = start_lr · (end_lr / start_lr) ** (i / (N − 1)).",
        ),
    ),  # fmt: skip
    hint=[
        "Geometric means every rate is the one before times the same factor; iteration 0 runs at "
        "start_lr and iteration N − 1 at end_lr, so N − 1 such factors take start_lr to end_lr.",
        "The factor is (end_lr / start_lr) ** (1 / (N − 1)), so ηᵢ = start_lr times the factor "
        "to the power i.",
    ],
    solution="""def sweep_rates(start_lr, end_lr, iterations):
    return [start_lr * (end_lr / start_lr) ** (i / (iterations - 1)) for i in range(iterations)]
""",
)
