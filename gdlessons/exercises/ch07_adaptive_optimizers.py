"""Chapter 07 exercises: adaptive optimizers, from AdaGrad's step to AdamW's update."""

from __future__ import annotations

import math

import torch
from torch import nn

from gdlessons.exercises import Exercise, expect_choice, expect_close
from gdlessons.exercises.code import CodeExercise, Mistake, first_difference
from gdlessons.models import digits_classifier, tutorial_mlp

# The wrong answers that known mistakes give, each computed from its mistake.


def _adagrad(grads, lr=0.1, *, accumulate=True, root=True):
    """p after AdaGrad's updates from p = 0; the switches turn off what students leave out."""
    p, G = 0.0, 0.0
    for g in grads:
        G = G + g * g if accumulate else g * g
        p -= lr * g / (math.sqrt(G) if root else G)
    return p


_Q1_GRADS = (3.0, 4.0)

q1 = Exercise(
    "q1",
    "torch.optim.Adagrad(lr=0.1) starts a scalar parameter at p = 0. Its gradient is 3 at the first "
    "update and 4 at the second. What is p after the second update? (ε is negligible.)",
    expect_close(
        _adagrad(_Q1_GRADS),
        rtol=1e-3,
        mistakes={
            _adagrad(_Q1_GRADS, accumulate=False): "Each of your updates divides the gradient by "
            "its own size only, so both move p by η. AdaGrad's G is a running sum: at the second "
            "update it holds the first gradient's square too.",
            _adagrad(_Q1_GRADS, root=False): "You divided by G itself; AdaGrad divides by its "
            "square root, √G.",
            -0.1 * sum(_Q1_GRADS): "That is plain SGD's p (η·g per update): AdaGrad divides each "
            "gradient by √G first.",
            _adagrad(_Q1_GRADS) - _adagrad(_Q1_GRADS[:1]): "That is the second update's step "
            "alone; p is where both updates together leave it, starting from 0.",
        },
    ),
    hint=[
        "AdaGrad remembers one number per parameter, G, and divides each gradient by √G.",
        "Per update: G ← G + g² (this update's g included), then p ← p − η·g/√G. Do it for g = 3, "
        "then for g = 4.",
    ],
    solution="G = 9, p = −0.1·3/3 = −0.1; then G = 9 + 16 = 25, p = −0.1 − 0.1·4/5 = −0.18.",
)


def _adam_first_step(g, lr=0.01, *, correct_m=True, correct_v=True, root=True):
    """How far Adam's first update moves a parameter (β₁ = 0.9, β₂ = 0.999, ε negligible)."""
    m, v = 0.1 * g, 0.001 * g * g
    m_hat, v_hat = (m / 0.1 if correct_m else m), (v / 0.001 if correct_v else v)
    return lr * m_hat / (math.sqrt(v_hat) if root else v_hat)


q2 = Exercise(
    "q2",
    "torch.optim.Adam(lr=0.01) makes its first update on a parameter whose gradient is 250. "
    "How far does the parameter move?",
    expect_close(
        _adam_first_step(250.0),
        rtol=1e-3,
        mistakes={
            _adam_first_step(250.0, correct_m=False, correct_v=False): "That is the step "
            "without bias correction: m = (1 − β₁)·g and v = (1 − β₂)·g² start near 0, and Adam "
            "divides them by 1 − β₁ᵗ and 1 − β₂ᵗ before the step.",
            _adam_first_step(250.0, correct_v=False): "You corrected m's bias but not v's: "
            "v̂ = v / (1 − β₂ᵗ) too.",
            _adam_first_step(250.0, correct_m=False): "You corrected v's bias but not m's: "
            "m̂ = m / (1 − β₁ᵗ) too.",
            _adam_first_step(250.0, root=False): "You divided m̂ by v̂ itself; Adam divides by its "
            "square root, √v̂ + ε.",
            0.01 * 250.0: "That is plain SGD's step, η·g: Adam divides m̂ by √v̂ + ε.",
        },
    ),
    hint=[
        "At the first update Adam's moments hold only this gradient: what are m̂ and v̂ after the "
        "bias correction?",
        "m = (1 − β₁)·g and v = (1 − β₂)·g²; m̂ = m / (1 − β₁¹), v̂ = v / (1 − β₂¹); the step is "
        "η·m̂/(√v̂ + ε).",
    ],
    solution="m̂ = 250 and √v̂ = 250, so the step is 0.01 · 250/250 = 0.01, whatever the "
    "gradient's size (as long as it is far above ε).",
)

q3 = Exercise(
    "q3",
    "The loss is multiplied by 1000 (say, a sum over 1000 samples instead of a mean). Whose first "
    "update becomes 1000 times longer: 'sgd', 'adam' or 'both'?",
    expect_choice(
        "sgd",
        ("sgd", "adam", "both"),
        mistakes={
            "adam": "In Adam's update the factor 1000 multiplies m̂ and √v̂ alike, so it cancels "
            "in m̂/(√v̂ + ε) (unless the gradients are as small as ε).",
            "both": "That holds for an update η·g. One of the two divides the gradient by a "
            "running measure of its own size, where a constant factor cancels.",
        },
        synonyms={"SGD + momentum": "sgd", "torch.optim.SGD": "sgd", "torch.optim.Adam": "adam"},
    ),
    hint=[
        "Multiplying the loss by 1000 multiplies every gradient by 1000. Write each first update "
        "in terms of g.",
        "SGD's update is η·g; Adam's first is η·m̂/(√v̂ + ε) with m̂ = g and √v̂ = |g|. Which "
        "grows with g?",
    ],
    solution="'sgd': its step is η·g, so it grows 1000-fold. Adam's is m̂/(√v̂ + ε), where the "
    "factor cancels (unless the gradients are as small as ε).",
)

q4 = Exercise(
    "q4",
    "With weight_decay = λ, which optimizer shrinks every weight by the same factor (1 − η·λ) at "
    "every update, whatever its gradients: 'adam' (torch.optim.Adam) or 'adamw' (torch.optim.AdamW)?",
    expect_choice(
        "adamw",
        ("adam", "adamw"),
        mistakes={
            "adam": "Adam's weight_decay is an L2 penalty: λ·p joins the gradient and is then "
            "divided by √v̂ like the rest of it, so how much a weight shrinks depends on its "
            "gradients (section 5's small-gradient weights went to zero)."
        },
        synonyms={"torch.optim.Adam": "adam", "torch.optim.AdamW": "adamw", "adam w": "adamw"},
    ),
    hint=[
        "Section 5 measured both: which one left the small-gradient weights at the decay's factor?",
        "Find where λ enters each update: added to g (then divided by √v̂), or multiplying p "
        "outside the adaptive step.",
    ],
    solution="'adamw': it multiplies p by (1 − η·λ) outside the adaptive step (decoupled weight "
    "decay). Adam's weight_decay is an L2 penalty, which the division by √v̂ rescales per weight.",
)

_START, _LEAVE, _GROWTH = 1e-6, 0.3, 1 + 0.1 * 0.97

q5 = Exercise(
    "q5",
    "Plain gradient descent (η = 0.1) starts 10⁻⁶ from the saddle along x₁, where the curvature "
    "is −0.97: each iteration multiplies that distance by 1 + 0.1·0.97. About how many iterations "
    "until the distance reaches 0.3?",
    expect_close(
        math.log(_LEAVE / _START) / math.log(_GROWTH),
        rtol=0.05,
        mistakes={
            math.log10(_LEAVE / _START) / math.log(_GROWTH): "You mixed logarithms: log₁₀ on "
            "one side, ln on the other. Take the same logarithm of both.",
            math.log(_LEAVE / _START) / math.log(1 + 0.97): "You grew the distance by 1 + 0.97 "
            "per iteration, leaving out η: the factor is 1 + η·0.97.",
            math.log(_LEAVE) / math.log(_GROWTH): "You solved 1.097ᵏ = 0.3, as if the run "
            "started at distance 1: it starts at 10⁻⁶.",
        },
    ),
    hint=[
        "After k iterations the distance is 10⁻⁶ · 1.097ᵏ. Set that equal to 0.3.",
        "Take the logarithm of both sides: k · ln(1.097) = ln(0.3 / 10⁻⁶).",
    ],
    solution="k = ln(0.3/10⁻⁶) / ln(1.097) = 12.6/0.0926 ≈ 136 (the chapter measured 138: the "
    "curvature changes a little on the way).",
)


# --- q6: AdamW's update, written out ------------------------------------------------------------


def adamw_update(p, g, m, v, t, *, lr, beta1, beta2, eps, weight_decay):
    """One AdamW update of the tensor ``p`` with gradient ``g``; ``m`` and ``v`` are the moment
    estimates before it and ``t`` this update's number (1 for the first). Returns (p, m, v)."""
    p = p * (1 - lr * weight_decay)  # decoupled weight decay, on the old p
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)  # bias corrections
    v_hat = v / (1 - beta2**t)
    return p - lr * m_hat / (v_hat.sqrt() + eps), m, v


def _no_bias_correction(p, g, m, v, t, *, lr, beta1, beta2, eps, weight_decay):
    p = p * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return p - lr * m / (v.sqrt() + eps), m, v


def _eps_inside(p, g, m, v, t, *, lr, beta1, beta2, eps, weight_decay):
    p = p * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return p - lr * (m / (1 - beta1**t)) / (v / (1 - beta2**t) + eps).sqrt(), m, v


def _l2_penalty(p, g, m, v, t, *, lr, beta1, beta2, eps, weight_decay):
    g = g + weight_decay * p  # Adam's weight_decay: an L2 penalty, not AdamW
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return p - lr * (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + eps), m, v


def _decay_after(p, g, m, v, t, *, lr, beta1, beta2, eps, weight_decay):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    p = p - lr * (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + eps)
    return p * (1 - lr * weight_decay), m, v


def _adamw_cases() -> list[dict]:
    gen = torch.Generator().manual_seed(7)
    cases = []
    settings = [
        dict(t=1, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, scale=1.0),
        dict(t=5, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, scale=1.0),
        dict(t=3, lr=0.05, beta1=0.8, beta2=0.99, eps=0.1, weight_decay=0.01, scale=0.01),
    ]
    for s in settings:
        scale = s.pop("scale")
        p = torch.randn(6, generator=gen)
        m, v = torch.zeros(6), torch.zeros(6)
        for step in range(1, s["t"]):  # the moments after t − 1 earlier updates
            g = scale * torch.randn(6, generator=gen)
            p, m, v = adamw_update(p, g, m, v, step, **{k: s[k] for k in ("lr", "beta1", "beta2", "eps", "weight_decay")})  # fmt: skip
        cases.append(dict(p=p, g=scale * torch.randn(6, generator=gen), m=m, v=v, **s))
    return cases


def _compare_update(got, want, case) -> str | None:
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        what = f"{len(got)} values" if isinstance(got, (tuple, list)) else f"a {type(got).__name__}"
        return f"your function returned {what}; return three tensors: (new p, new m, new v)"
    for name, a, b in zip(("p", "m", "v"), got, want, strict=True):
        problem = first_difference(a, b, bitwise=False, atol=1e-7, rtol=1e-5, name=f"the new {name}")  # fmt: skip
        if problem:
            return problem
    return None


ADAMW_SOLUTION = """def adamw_update(p, g, m, v, t, *, lr, beta1, beta2, eps, weight_decay):
    p = p * (1 - lr * weight_decay)  # decoupled weight decay, on the old p
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)  # bias corrections
    v_hat = v / (1 - beta2**t)
    return p - lr * m_hat / (v_hat.sqrt() + eps), m, v
"""

q6 = CodeExercise(
    "q6",
    "Write AdamW's update for one tensor: adamw_update(p, g, m, v, t, *, lr, beta1, beta2, eps, "
    "weight_decay) returns (new p, new m, new v). m and v are the moment estimates before the "
    "update, t is its number (1 for the first). Write the textbook form: decay p by (1 − lr·wd), "
    "update m and v, correct their bias, step by lr·m̂/(√v̂ + eps).",
    reference=adamw_update,
    cases=_adamw_cases,
    compare=_compare_update,
    mistakes=(
        Mistake(
            _no_bias_correction,
            "Your update has no bias correction: the moments start at 0, so divide m by "
            "(1 − beta1**t) and v by (1 − beta2**t) before the step.",
            hint="m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t).",
        ),
        Mistake(
            _eps_inside,
            "You put eps inside the square root: torch divides by √v̂ + eps, not √(v̂ + eps).",
            hint="(v_hat.sqrt() + eps)",
        ),
        Mistake(
            _l2_penalty,
            "You added weight_decay·p to the gradient: that is Adam's L2 penalty. AdamW decays "
            "the weight directly, p ← p·(1 − lr·weight_decay), outside the adaptive step.",
            hint="Leave g alone; multiply p by (1 - lr * weight_decay).",
        ),
        Mistake(
            _decay_after,
            "You decayed p after the Adam step. AdamW decays the old p, before the step.",
            hint="Do the decay first, then the step.",
        ),
    ),
    hint=[
        "Section 3's adam_step and adamw_step do this with PyTorch's in-place operations; write "
        "the same arithmetic out plainly, in AdamW's order: decay, moments, bias correction, step.",
        "The decay uses the old p; m and v are moving averages of g and g² with factors beta1 and "
        "beta2; m̂ and v̂ divide them by 1 − beta1ᵗ and 1 − beta2ᵗ; eps goes outside the root.",
    ],
    solution=ADAMW_SOLUTION,
)


# --- q7: parameter groups without weight decay on biases --------------------------------------


def no_decay_on_biases(model: nn.Module) -> torch.optim.Optimizer:
    """``torch.optim.AdamW`` at lr 1e-3: weight decay 0.01 on the weights, none on the biases."""
    decay = [p for name, p in model.named_parameters() if not name.endswith("bias")]
    no_decay = [p for name, p in model.named_parameters() if name.endswith("bias")]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-3,
    )


def _one_group(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)


def _swapped(model):
    decay = [p for name, p in model.named_parameters() if name.endswith("bias")]
    no_decay = [p for name, p in model.named_parameters() if not name.endswith("bias")]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-3,
    )


def _biases_left_out(model):
    decay = [p for name, p in model.named_parameters() if not name.endswith("bias")]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}], lr=1e-3)


def _group_cases() -> list[dict]:
    no_bias_last = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False))
    return [
        dict(model=tutorial_mlp(seed=0)),
        dict(model=digits_classifier(hidden=16, seed=0)),
        dict(model=no_bias_last),
    ]


def _settings(optimizer) -> list[tuple[tuple[int, ...], float, float]]:
    """(shape, weight_decay, lr) of every parameter the optimizer updates, sorted."""
    return sorted(
        (tuple(p.shape), float(group["weight_decay"]), float(group["lr"]))
        for group in optimizer.param_groups
        for p in group["params"]
    )


def _compare_groups(got, want, case) -> str | None:
    if not isinstance(got, torch.optim.Optimizer):
        return f"your function returned {type(got).__name__}; return the optimizer, e.g. torch.optim.AdamW([...], lr=1e-3)"  # fmt: skip
    if not isinstance(got, torch.optim.AdamW):
        return f"your optimizer is torch.optim.{type(got).__name__}; use torch.optim.AdamW"
    mine, theirs = _settings(got), _settings(want)
    if len(mine) != len(theirs):
        return (f"your optimizer updates {len(mine)} parameter tensors, the model has {len(theirs)}: "
                "every parameter must be in exactly one group")  # fmt: skip
    for (shape, wd, lr), (_, want_wd, want_lr) in zip(mine, theirs, strict=True):
        kind = "a bias" if len(shape) == 1 else "a weight"
        if wd != want_wd:
            return f"{kind} of shape {shape} has weight_decay {wd:g}, expected {want_wd:g}"
        if lr != want_lr:
            return f"{kind} of shape {shape} has lr {lr:g}, expected {want_lr:g}"
    return None


GROUPS_SOLUTION = """import torch


def no_decay_on_biases(model):
    decay = [p for name, p in model.named_parameters() if not name.endswith("bias")]
    no_decay = [p for name, p in model.named_parameters() if name.endswith("bias")]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-3,
    )
"""

q7 = CodeExercise(
    "q7",
    "Write no_decay_on_biases(model): return torch.optim.AdamW at lr=1e-3 with two parameter "
    "groups, weight_decay=0.01 for the weights and 0.0 for the biases (parameters whose name ends "
    "in 'bias'). It is checked on three models, one with a layer that has no bias.",
    reference=no_decay_on_biases,
    cases=_group_cases,
    compare=_compare_groups,
    mistakes=(
        Mistake(
            _one_group,
            "Every parameter decays, the biases too: give the biases a group of their own with "
            "weight_decay=0.0.",
            hint="Split model.named_parameters() by whether the name ends in 'bias'.",
        ),
        Mistake(
            _swapped,
            "Your groups are swapped: the biases decay and the weights do not.",
            hint="Check which list each `name.endswith('bias')` test fills.",
        ),
        Mistake(
            _biases_left_out,
            "The biases are in no group, so the optimizer never updates them: put them in a "
            "second group with weight_decay=0.0.",
            hint="Every parameter must be in exactly one group.",
        ),
    ),
    hint=[
        "Section 1 built an optimizer from a list of parameter groups, each a dict with its own "
        "settings.",
        "model.named_parameters() gives (name, parameter) pairs: sort them into two lists by the "
        "name's ending, and give each list a group with its own 'weight_decay'.",
    ],
    solution=GROUPS_SOLUTION,
)
