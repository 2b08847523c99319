"""Chapter 06 exercises: momentum, weight decay and learning-rate schedules."""

from __future__ import annotations

import math

from gdlessons.exercises import Exercise, expect_choice, expect_close

q1 = Exercise(
    "q1",
    "torch.optim.SGD(lr=0.1, momentum=0.9) starts a scalar parameter at p = 0. The gradient is 1 at both of "
    "the first two updates. What is p after the second update?",
    expect_close(-0.29, rtol=0.01),
    hint="PyTorch's first velocity is v = g; then v ← μ·v + g, and each update does p ← p − η·v.",
    solution="v₁ = 1, p₁ = −0.1; v₂ = 0.9·1 + 1 = 1.9, p₂ = −0.1 − 0.1·1.9 = −0.29.",
)

q2 = Exercise(
    "q2",
    "A quadratic has curvatures 1 and 100 (κ = 100). What momentum μ makes tuned heavy-ball momentum "
    "converge fastest?",
    expect_close(((math.sqrt(100) - 1) / (math.sqrt(100) + 1)) ** 2, rtol=0.02),
    hint="Polyak's optimum: μ* = ((√κ − 1)/(√κ + 1))².",
    solution="μ* = ((10 − 1)/(10 + 1))² = (9/11)² ≈ 0.669; the error then shrinks by 9/11 ≈ 0.818 per iteration.",
)

q3 = Exercise(
    "q3",
    "StepLR(step_size=100, gamma=0.5) on an optimizer with lr = 0.1 is stepped 300 times to draw its curve, "
    "and then that same scheduler and optimizer are used for training. What rate does the first training "
    "update use?",
    expect_close(0.1 * 0.5**3, rtol=0.01),
    hint="Training starts wherever the curve ended: how many halvings happened in 300 steps?",
    solution="Three halvings: 0.1 · 0.5³ = 0.0125 — eight times smaller than intended.",
)

q4 = Exercise(
    "q4",
    "A schedule cuts the rate tenfold. In which form of momentum does the very next step shrink tenfold: "
    "'pytorch' (v ← μv + g, p ← p − ηv) or 'eta_inside' (v ← μv + ηg, p ← p − v)?",
    expect_choice("pytorch", ("pytorch", "eta_inside")),
    hint="In which form does the rate multiply the whole velocity, old gradients included?",
    solution="'pytorch': η multiplies the whole velocity, so the step shrinks at once; in the η-inside form "
    "the old velocity keeps its size and fades at the rate μ.",
)

q5 = Exercise(
    "q5",
    "With weight_decay = 0.01, lr = 0.1 and no momentum, a weight of 2.0 whose loss gradient is 0 is updated "
    "once. What is its new value?",
    expect_close(2.0 - 0.1 * 0.01 * 2.0, rtol=1e-5),
    hint="Weight decay adds wd·p to the gradient before the step p ← p − η·g.",
    solution="g = 0 + 0.01·2 = 0.02, so p = 2 − 0.1·0.02 = 1.998.",
)
