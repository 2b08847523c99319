"""Chapter 00 exercises: parameters, hyperparameters and initialisation."""

from __future__ import annotations

import math

from gdlessons.exercises import Exercise, expect_choice, expect_close, expect_int

q1 = Exercise(
    "q1",
    "How many learned parameters does one nn.Linear(32, 32) layer hold (weights and biases)?",
    expect_int(32 * 32 + 32),
    hint="A Linear(in, out) layer has an out × in weight matrix and one bias per output.",
    solution="32 × 32 weights + 32 biases = 1056.",
)

q2 = Exercise(
    "q2",
    "What standard deviation does kaiming_normal_ (ReLU) give the weights of a layer with fan-in 64?",
    expect_close(math.sqrt(2 / 64), rtol=0.01),
    hint="He initialisation keeps the variance of ReLU activations steady: Var(w) = 2 / fan_in.",
    solution="std = √(2 / 64) = 0.1768.",
)

q3 = Exercise(
    "q3",
    "Which of these is a hyperparameter: 'bias of layer 0', 'learning rate' or 'weight of layer 2'?",
    expect_choice("learning rate", ("bias of layer 0", "learning rate", "weight of layer 2")),
    hint="Gradient descent changes parameters; you choose hyperparameters before training starts.",
    solution="The learning rate: you set it, training never changes it. Biases and weights are learned.",
)

q4 = Exercise(
    "q4",
    "PyTorch's default reset_parameters() draws a Linear layer's weights from U(-b, b). What is b for fan-in 100?",
    expect_close(0.1, rtol=0.01),
    hint="The bound is 1 / √fan_in.",
    solution="b = 1 / √100 = 0.1.",
)
