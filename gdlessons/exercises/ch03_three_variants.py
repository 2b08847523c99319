"""Chapter 03 exercises: batch, stochastic and mini-batch gradient descent, and gradient noise."""

from __future__ import annotations

from gdlessons.exercises import Exercise, expect_choice, expect_close, expect_int

q1 = Exercise(
    "q1",
    'The tutorial trains for 1000 "epochs" with ONE batch of 128 samples per "epoch" on N = 1000 points. '
    "How many real epochs (full passes over the data) is that?",
    expect_close(128.0, rtol=0.001),
    hint="Count samples seen: iterations × batch size. One epoch is N samples.",
    solution="1000 iterations × 128 samples = 128,000 samples seen = 128 passes over 1000 points.",
)

q2 = Exercise(
    "q2",
    "On which x-axis does batch gradient descent (B = N) reach a given loss first: "
    "'epoch', 'iteration', 'samples seen' or 'seconds'?",
    expect_choice("iteration", ("epoch", "iteration", "samples seen", "seconds")),
    hint="Batch GD makes the best possible update every time, but only one update per pass over the data.",
    solution="'iteration': each update uses the exact full-data gradient, so it needs the fewest updates. "
    "Per epoch (and per sample) it is slowest: one update per pass.",
)

q3 = Exercise(
    "q3",
    "Sampling without replacement from N = 1000 samples, by what factor is the gradient variance at "
    "B = 100 smaller than at B = 1? (Use σ²/B · (N − B)/(N − 1).)",
    expect_close(1 / (1 / 100 * 900 / 999), rtol=0.01),
    hint="Divide the formula at B = 1 by the formula at B = 100; σ² cancels. At B = 1 the second factor is 1.",
    solution="At B = 1 the variance is σ²; at B = 100 it is σ²/100 · 900/999 ≈ 0.00901 σ². "
    "The ratio is about 111: a bit more than the 100 that 1/B alone predicts.",
)

q4 = Exercise(
    "q4",
    "The gradient noise has a standard deviation of about σ/√B for B much smaller than N. "
    "Starting from B = 32, which batch size halves the noise's standard deviation?",
    expect_int(128),
    hint="Halving σ/√B means doubling √B.",
    solution="√B must double, so B grows fourfold: 32 × 4 = 128. Four times the compute per update buys "
    "half the noise, which is why past some batch size more samples buy little.",
)
