"""Chapter 05 exercises: the learning rate on quadratics (the bound 2/a, the one-step rate, regimes, 2/λ_max).

>>> q1.check(0.5).correct, q2.check(...).status
(True, 'not attempted')
"""

from __future__ import annotations

from gdlessons.exercises import Exercise, expect_choice, expect_close
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
