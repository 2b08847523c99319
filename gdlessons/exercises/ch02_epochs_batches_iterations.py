"""Chapter 02 exercises: counting iterations, epochs and samples.

>>> q1.check(29).correct, q2.check(...).status
(True, 'not attempted')
"""

from __future__ import annotations

from gdlessons.exercises import Exercise, expect_choice, expect_close, expect_int

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
