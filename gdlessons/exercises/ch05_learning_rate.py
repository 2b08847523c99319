"""Chapter 05 exercises: the learning rate on quadratics (the bound 2/a, the one-step rate,
regimes, 2/λ_max) and the range test.

q1–q4 take a number or a word; q5 and q6 take a function the student writes, checked by
:class:`~gdlessons.exercises.code.CodeExercise`: q5 finds the stability bound by running gradient
descent, q6 gives the range test's rate at every iteration.

>>> q1.check(0.5).correct, q2.check(...).status, q6.check(...).status
(True, 'not attempted', 'not attempted')
"""

from __future__ import annotations

import math

import numpy as np

from gdlessons.exercises import Exercise, as_number, expect_choice, expect_close
from gdlessons.exercises.code import CodeExercise, Mistake, close_tensors
from gdlessons.landscapes import REGIMES

q1 = Exercise(
    "q1",
    "Gradient descent on f(x) = a·x²/2 with a = 4. What is the largest learning rate η that "
    "still converges (the bound itself, as a number)?",
    expect_close(0.5, rtol=0.01),
    hint="One update multiplies x by (1 − η·a). When does that factor have size below 1?",
    solution="|1 − 4η| < 1 ⇔ 0 < η < 2/4 = 0.5. At η = 0.5 exactly x flips sign forever "
    "without shrinking; above it the run diverges.",
)

q2 = Exercise(
    "q2",
    "Same f(x) = 4·x²/2. Which learning rate takes x to the minimum in exactly one iteration, "
    "from any start?",
    expect_close(0.25, rtol=0.01),
    hint="You want the factor 1 − η·a to be exactly 0.",
    solution="1 − 4η = 0 ⇔ η = 1/a = 0.25 (Newton's step for this quadratic). Below 0.25 the "
    "run approaches 0 from one side; between 0.25 and 0.5 it overshoots and oscillates.",
)

q3 = Exercise(
    "q3",
    f"Same f(x) = 4·x²/2 with η = 0.4. Which regime is it? One of {', '.join(REGIMES)}.",
    expect_choice("oscillating", REGIMES),
    hint="Compute the factor 1 − η·a: its sign says whether x flips side, its size whether it shrinks.",
    solution="1 − 0.4·4 = −0.6: x flips sign every iteration while shrinking by 0.6: oscillating "
    "(but converging).",
)

q4 = Exercise(
    "q4",
    "A 2-D quadratic has curvatures λ = (0.5, 10), condition number 20. What is the largest "
    "learning rate that converges?",
    expect_close(0.2, rtol=0.01),
    hint="Each direction has its own bound 2/λ, and the run converges only if both directions do.",
    solution="The steep direction sets it: η < 2/λ_max = 2/10 = 0.2. The flat direction would "
    "tolerate up to 2/0.5 = 4, but at η just below 0.2 it still keeps 1 − 0.2·0.5 = 0.9 of its "
    "error per iteration: the crawl that a high condition number causes.",
)

# --- q5: the stability bound, found by running gradient descent -------------------------------


def _worst_factor(lr: float, curvatures) -> float:
    """max over the directions of |1 − η·λ|: below 1 the run converges, at 1 or above it does not."""
    return max(abs(1 - lr * lam) for lam in curvatures)


def _largest_stable_lr(curvatures, lrs):
    stable = [lr for lr in lrs if _worst_factor(lr, curvatures) < 1]
    return max(stable) if stable else None


def _flat_direction_bound(curvatures, lrs):
    stable = [lr for lr in lrs if abs(1 - lr * min(curvatures)) < 1]
    return max(stable) if stable else None


def _never_overshoots(curvatures, lrs):
    monotone = [lr for lr in lrs if all(1 - lr * lam >= 0 for lam in curvatures)]
    return max(monotone) if monotone else None


def _first_divergent(curvatures, lrs):
    return next((lr for lr in lrs if _worst_factor(lr, curvatures) >= 1), None)


def _bound_cases():
    """Three quadratics (1-D, 2-D, 3-D) and candidate rates spaced about 20% apart from far below
    1/λ_max to past 2/λ_min, none within 4% of 1/λ_max, 2/λ_max or 2/λ_min: every candidate's fate
    is plain after a few hundred iterations."""
    rng = np.random.default_rng(5)
    cases = []
    for d, kappa in ((1, 1.0), (2, 12.0), (3, 25.0)):
        lam_max = round(float(rng.uniform(1.0, 8.0)), 2)
        inner = rng.uniform(1 / kappa, 1.0, size=d - 2) if d > 2 else []
        lam = sorted(
            {round(lam_max / kappa, 3), *(round(float(lam_max * x), 3) for x in inner), lam_max}
        )
        edges = (1 / lam[-1], 2 / lam[-1], 2 / lam[0])
        grid = np.geomspace(0.05 / lam[-1], 2.6 / lam[0], 36) * np.exp(rng.uniform(-0.04, 0.04, 36))
        lrs = [float(f"{lr:.3g}") for lr in grid if all(abs(lr / e - 1) > 0.04 for e in edges)]
        cases.append(dict(curvatures=lam, lrs=sorted(set(lrs))))
    return cases


def _compare_bound(got, want, case):
    value = as_number(got)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"return one of the candidate rates (a number), not {got!r}"
    lrs, lam = case["lrs"], case["curvatures"]
    if not any(math.isclose(value, lr, rel_tol=1e-9) for lr in lrs):
        return f"{value:g} is not one of the candidate rates in `lrs`"
    if want is not None and math.isclose(value, want, rel_tol=1e-9):
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
    "order), return the largest at which gradient descent on f(x) = ½·Σ λᵢ·xᵢ² converges, found by "
    "running it: start every run at x = (1, …, 1), make 200 iterations (`L.iterates` does them), "
    "and call it convergent if it ends closer to the minimum than it started. It is compared with "
    "the bound 2/λ_max on three quadratics.",
    reference=_largest_stable_lr,
    cases=_bound_cases,
    compare=_compare_bound,
    mistakes=(
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
            "an oscillating run converges too, as long as its swings shrink: the bound is 2/λ_max.",
            hint="Compare where the run ends with where it started, not the sign of its steps.",
        ),
        Mistake(
            _first_divergent,
            "You returned the first candidate that diverges; the question asks for the last one "
            "that converges, the candidate just before it.",
        ),
    ),  # fmt: skip
    hint="For each rate: `path = L.iterates(curvatures, np.ones(len(curvatures)), lr, 200)`; the "
    "run converges if its largest coordinate shrank, `np.abs(path[-1]).max() < 1`. Keep the last "
    "rate that does.",
    solution="""import numpy as np

from gdlessons import landscapes as L


def largest_stable_lr(curvatures, lrs):
    largest = None
    for lr in lrs:
        path = L.iterates(curvatures, np.ones(len(curvatures)), lr, 200)
        if np.abs(path[-1]).max() < np.abs(path[0]).max():  # ended closer to the minimum
            largest = lr
    return largest
""",
)


# --- q6: the range test's rate at every iteration ---------------------------------------------


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
    "rates `lr_range_test` uses, to a relative 10⁻⁹.",
    reference=_sweep_rates,
    cases=_sweep_cases,
    compare=close_tensors(
        atol=0.0, rtol=1e-9, name="the rate", index="at iteration i = {}", start=0
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
    hint="Geometric means a constant ratio between neighbours: ηᵢ = η_start·(η_end/η_start)^(i/(N−1)), "
    "so η₀ = η_start and η_(N−1) = η_end.",
    solution="""def sweep_rates(start_lr, end_lr, iterations):
    return [start_lr * (end_lr / start_lr) ** (i / (iterations - 1)) for i in range(iterations)]
""",
)
