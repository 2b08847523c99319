"""Chapter 08 exercises: learning curves, batch size × learning rate, accumulation.

>>> q1.check(8).status, q2.check("over-fit").status, q3.check(2.0).status, q4.check(24).status
('correct', 'correct', 'correct', 'correct')
"""

from __future__ import annotations

from gdlessons.exercises import Exercise, expect_choice, expect_close, expect_int

q1 = Exercise(
    "q1",
    "Memory fits 64 samples per forward/backward pass; you want batches of 512. accumulation_steps?",
    expect_int(8),
    hint="Each update should average the gradients of enough micro-batches of 64 to make 512 samples.",
    solution="512 / 64 = 8: train(..., batch_size=512, accumulation_steps=8).",
)

q2 = Exercise(
    "q2",
    "Training loss falls to 0.0001; validation loss is best at epoch 4 (0.43) and 0.53 at epoch 100. Verdict?",
    expect_choice("over-fit", ("under-fit", "good fit", "over-fit")),
    hint="Which of the two curves is still falling, and which has turned around?",
    solution="over-fit: the model keeps fitting its training samples better while it gets worse on new ones. "
    "Stop near epoch 4, or give it more data.",
)

q3 = Exercise(
    "q3",
    "SGD works well at batch 64 with lr 0.5. Linear scaling: which lr at batch 256?",
    expect_close(2.0, rtol=0.01),
    hint="Keep lr / batch size the same.",
    solution="0.5 × 256 / 64 = 2.0, as long as 2.0 is still below the rate where training diverges.",
)

q4 = Exercise(
    "q4",
    "1,438 images, batches of 256, 4 micro-batches each: forward/backward passes per epoch?",
    expect_int(24),
    hint="First count the iterations per epoch (the last batch is short but still one iteration), "
    "then how many micro-batches each iteration splits into.",
    solution="ceil(1438 / 256) = 6 iterations per epoch, each split into 4 micro-batches "
    "(the short last batch of 158 into 4 of at most 40): 6 × 4 = 24 passes.",
)
