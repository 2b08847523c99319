"""Chapter 09 exercises: data parallelism."""

from __future__ import annotations

from gdlessons.exercises import Exercise, expect_choice, expect_int

q1 = Exercise(
    "q1",
    "4 workers each take a batch of 32 per step. What is the effective batch size of one update?",
    expect_int(128),
    hint="All-reduce averages the workers' gradients into one step: which samples does that step see?",
    solution="4 × 32 = 128: the same update as one batch of 128, or 4 accumulated micro-batches of 32.",
)

q2 = Exercise(
    "q2",
    "N = 1000 samples over W = 3 workers: how many samples does DistributedSampler repeat (pad) per epoch?",
    expect_int(2),
    hint="Each worker gets ceil(N / W) samples; the sampler repeats indices until W × that is filled.",
    solution="ceil(1000 / 3) = 334 per worker, 3 × 334 = 1002 processed, so 2 samples are repeated.",
)

q3 = Exercise(
    "q3",
    "What does DDP's all-reduce give every worker: 'sum', 'mean' or 'worker 0' of the gradients?",
    expect_choice("mean", ("sum", "mean", "worker 0")),
    hint="The step must equal the big batch's step, whose loss is a mean over all its samples.",
    solution="The mean: DDP sums the gradients across workers and divides by W.",
)
