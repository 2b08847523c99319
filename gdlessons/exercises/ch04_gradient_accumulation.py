"""Chapter 04 exercises: gradient accumulation.

>>> q1.check(...).status
'not attempted'
"""

from __future__ import annotations

from gdlessons.exercises import Exercise, expect_choice, expect_close, expect_int

q1 = Exercise(
    "q1",
    "Your GPU fits micro-batches of 48 samples. How many accumulation steps k give an effective batch of 384?",
    expect_int(8),
    hint="One update sees k micro-batches of 48 samples; you want 384 samples per update.",
    solution="k = 384 / 48 = 8.",
)

q2 = Exercise(
    "q2",
    "A loop accumulates k = 4 micro-batches but forgets to divide each loss by k, and uses lr = 0.05. "
    "Which learning rate makes the correct (divided) loop take exactly the same updates?",
    expect_close(0.2, rtol=0.01),
    hint="Without the division the summed gradient is k times the mean gradient; SGD multiplies it by lr.",
    solution="The undivided gradient is 4·g, so the step is 0.05·4·g = 0.2·g: lr = 0.2.",
)

q3 = Exercise(
    "q3",
    "A batch of 100 samples is split into micro-batches of 32, 32, 32 and 4, and each micro-batch loss "
    "is divided by k = 4. How many times more does one sample of the short micro-batch weigh in the "
    "update than one sample of a full micro-batch?",
    expect_close(8.0, rtol=0.01),
    hint="A sample's weight is 1/k times 1/(size of its micro-batch).",
    solution="1/(4·4) against 1/(4·32): 32/4 = 8 times. Weighting by share (len/100) gives every sample 1/100.",
)

q4 = Exercise(
    "q4",
    "Which layer makes k micro-batches give a different gradient from the one batch of k·b, even with "
    "the loss divided correctly? Answer 'Linear', 'ReLU', 'BatchNorm1d' or 'Dropout(p=0)'.",
    expect_choice("BatchNorm1d", ("Linear", "ReLU", "BatchNorm1d", "Dropout(p=0)")),
    hint="Look for the layer whose output for one sample depends on the other samples in the batch.",
    solution="BatchNorm1d normalises with the mean and variance of the (micro-)batch it sees, so smaller "
    "micro-batches change every sample's output and gradient.",
)

q5 = Exercise(
    "q5",
    "A StepLR halves the learning rate every 100 updates. With k = 4 accumulation steps someone calls "
    "scheduler.step() after every micro-batch. After how many updates is the learning rate first halved?",
    expect_int(25),
    hint="Each update now steps the scheduler k times.",
    solution="100 scheduler steps arrive after 100 / 4 = 25 updates: the schedule runs k times too fast.",
)
