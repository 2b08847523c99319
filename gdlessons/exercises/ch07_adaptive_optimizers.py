"""Chapter 07 exercises: the adaptive optimizers' mechanisms inside the story, then transfer
questions.

The story's your-turn cells: t1 the parameter groups that keep the biases out of weight decay,
t2 AdaGrad's step, t3 RMSProp's step, t4 Adam's bias-corrected step, t5 AdamW's decoupled decay
(t2 to t5 checked bit for bit against the course's rules, which ``torch.optim`` matches to the
last bit, as section 3 measures), t6 an iteration with the gradient clipped by norm, t7 the
norm of every layer's weight gradient, which section 7's hook measures vanishing gradients with
(both up to float32 rounding). At the end: q1, q2, q5 and q7 take a number, q3 and q4 a
choice, q6 a function (AMSGrad's step, a new rule built from Adam's pieces, up to float32
rounding).

>>> t4.check(...).status, q4.check("adamw").correct
('not attempted', True)
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gdlessons.data import quadratic_data
from gdlessons.exercises import Exercise, expect_choice, expect_close
from gdlessons.exercises.code import CodeExercise, Mistake, first_difference
from gdlessons.models import digits_classifier, tutorial_mlp

# --- t1: parameter groups without weight decay on biases --------------------------------------


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
    if _groups(got) != _groups(want):
        return (
            "every parameter has the right settings, but your groups are not the two asked for, "
            "in that order: group 0 the weights (weight_decay 0.01), group 1 the biases (0.0); "
            "param_groups keeps the order you give, and the chapter's table lists it"
        )
    return None


def _groups(optimizer) -> list[tuple[float, list[tuple[int, ...]]]]:
    """(weight_decay, sorted parameter shapes) of each non-empty group, in the optimizer's order."""
    return [
        (float(group["weight_decay"]), sorted(tuple(p.shape) for p in group["params"]))
        for group in optimizer.param_groups
        if group["params"]
    ]


t1 = CodeExercise(
    "t1",
    "Write `no_decay_on_biases(model)`: return torch.optim.AdamW at lr=1e-3 with two parameter "
    "groups, in this order: the weights with weight_decay=0.01, then the biases (parameters whose "
    "name ends in 'bias') with 0.0. It is checked on three models, one with a layer that has no "
    "bias.",
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
        "The cell above built an optimizer from a list of parameter groups, each a dict with a "
        "'params' entry and its own settings.",
        "model.named_parameters() gives (name, parameter) pairs: sort them into two lists by the "
        "name's ending, and give each list a group with its own 'weight_decay'.",
    ],
    solution="""import torch


def no_decay_on_biases(model):
    named = list(model.named_parameters())
    decay = [p for name, p in named if not name.endswith("bias")]
    no_decay = [p for name, p in named if name.endswith("bias")]
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": 0.01},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=1e-3,
    )
""",
)

# --- t2 to t5: the update rules, bit for bit --------------------------------------------------
#
# Each rule does to one tensor p what torch.optim does to it, given its gradient g and a dict
# `state` (empty before the first update, like optimizer.state[p]); it returns the new p. The
# tests pin these references to torch.optim bit for bit. A check calls the student's rule once
# per case, on a state that earlier updates of the reference filled, and compares the new p and
# every state entry bit for bit: section 3's lesson is that these few operations ARE torch.optim.


def _state_outcome(returned, args):
    return returned, dict(args["state"])


def _differs(got, want, name: str, optimizer: str, ops: str, bitwise: bool = True) -> str | None:
    """None if ``got`` is ``want`` (bit for bit, or up to float32 rounding), else what differs."""
    if bitwise:
        problem = first_difference(got, want, bitwise=True, name=name)
    else:
        scale = float(torch.as_tensor(want).abs().max()) if torch.as_tensor(want).numel() else 0.0
        problem = first_difference(got, want, bitwise=False, atol=1e-5 * scale, rtol=0.0, name=name)  # fmt: skip
    if problem is None:
        return None
    if bitwise and isinstance(got, torch.Tensor) and got.shape == torch.as_tensor(want).shape:
        g, w = got.detach().double(), torch.as_tensor(want).double()
        gap = float((g - w).abs().max())
        if gap <= 1e-5 * max(float(w.abs().max()), 1e-30):
            return (
                f"after your update, {name} is {optimizer}'s up to float32 rounding (the largest "
                f"difference is {gap:.2g}) but not bit for bit: torch.optim rounds its own way, "
                f"so write it with its operations, in its order: {ops}"
            )
    return f"after your update, {problem}"


def _rule_compare(optimizer: str, ops: str, *, bitwise: bool = True):
    """compare() for a rule p ← rule(p, g, state, ...): the new p, then every state entry."""

    def compare(got, want, case) -> str | None:
        p, state = got
        want_p, want_state = want
        if not isinstance(p, torch.Tensor):
            return f"your function returned {type(p).__name__}: return the new p, a tensor"
        problem = _differs(p, want_p, "the new p", optimizer, ops, bitwise)
        if problem:
            return problem
        for key, value in want_state.items():
            if key not in state:
                return (
                    f"after your update, state has no entry '{key}': keep it there, so that the "
                    "next update starts from it"
                )
            problem = _differs(state[key], value, f"state['{key}']", optimizer, ops, bitwise)
            if problem:
                return problem
        return None

    return compare


def _draw(shape, scale: float, gen: torch.Generator) -> torch.Tensor:
    """A gradient: ``scale`` times a normal draw, every tenth entry ten times larger."""
    g = scale * torch.randn(shape, generator=gen)
    return g * torch.where(torch.arange(g.numel()).reshape(shape) % 10 == 0, 10.0, 1.0)


def _rule_cases(rule, settings: list[dict], *, seed: int) -> list[dict]:
    """One case per entry of ``settings``: a random p after ``earlier`` updates of ``rule`` (the
    reference: they fill the state) and the gradient of the next update, ``scale`` times a
    normal draw, every tenth entry ten times larger (so both ends of √G + ε are exercised)."""
    gen = torch.Generator().manual_seed(seed)
    cases = []
    for entry in settings:
        entry = dict(entry)
        shape, earlier, scale = entry.pop("shape"), entry.pop("earlier"), entry.pop("scale")

        p, state = torch.randn(shape, generator=gen), {}
        for _ in range(earlier):
            p = rule(p, _draw(shape, scale, gen), state, **entry)
        cases.append(dict(p=p, g=_draw(shape, scale, gen), state=state, **entry))
    return cases


# --- t2: AdaGrad -------------------------------------------------------------------------------


def adagrad_step(p, g, state, *, lr=0.01, eps=1e-10, weight_decay=0.0):
    """One torch.optim.Adagrad update of the tensor p: returns the new p; state["sum"] keeps G."""
    if weight_decay:
        g = g.add(p, alpha=weight_decay)  # an L2 penalty: its gradient wd·p joins g
    G = state["sum"] = state.get("sum", torch.zeros_like(p)).addcmul(g, g)  # G ← G + g²
    return p.addcdiv(g, G.sqrt().add(eps), value=-lr)  # p ← p − η·g / (√G + ε)


def _adagrad_replaces_sum(p, g, state, *, lr=0.01, eps=1e-10, weight_decay=0.0):
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    G = state["sum"] = torch.zeros_like(p).addcmul(g, g)  # the mistake: this g² only
    return p.addcdiv(g, G.sqrt().add(eps), value=-lr)


def _adagrad_no_root(p, g, state, *, lr=0.01, eps=1e-10, weight_decay=0.0):
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    G = state["sum"] = state.get("sum", torch.zeros_like(p)).addcmul(g, g)
    return p.addcdiv(g, G.add(eps), value=-lr)


def _adagrad_not_kept(p, g, state, *, lr=0.01, eps=1e-10, weight_decay=0.0):
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    G = state.get("sum", torch.zeros_like(p)).addcmul(g, g)  # the mistake: not stored
    return p.addcdiv(g, G.sqrt().add(eps), value=-lr)


def _adagrad_eps_inside(p, g, state, *, lr=0.01, eps=1e-10, weight_decay=0.0):
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    G = state["sum"] = state.get("sum", torch.zeros_like(p)).addcmul(g, g)
    return p.addcdiv(g, G.add(eps).sqrt(), value=-lr)


def _adagrad_cases() -> list[dict]:
    return _rule_cases(
        adagrad_step,
        [
            dict(shape=(16, 16), earlier=0, scale=1.0, lr=0.1, eps=1e-10, weight_decay=0.0),
            dict(shape=(200,), earlier=3, scale=1.0, lr=0.05, eps=1e-10, weight_decay=0.1),
            dict(shape=(200,), earlier=2, scale=0.01, lr=0.1, eps=0.01, weight_decay=0.0),
        ],
        seed=2,
    )


_ADAGRAD_OPS = (
    "`state.get('sum', torch.zeros_like(p)).addcmul(g, g)` for G + g·g and "
    "`p.addcdiv(g, G.sqrt().add(eps), value=-lr)` for p − lr·g/(√G + eps)"
)

t2 = CodeExercise(
    "t2",
    "Write `adagrad_step(p, g, state, *, lr, eps, weight_decay)`: one torch.optim.Adagrad update "
    "of the tensor p with gradient g, returning the new p. G, the sum of every squared gradient "
    "so far, lives in state['sum'] (absent before the first update: start from zeros). The check "
    "compares the new p and state['sum'] with torch.optim's bit for bit, so use PyTorch's own "
    "operations as the text above says, on a first update and after earlier ones.",
    reference=adagrad_step,
    cases=_adagrad_cases,
    outcome=_state_outcome,
    compare=_rule_compare("torch.optim.Adagrad", _ADAGRAD_OPS),
    mistakes=(
        Mistake(
            _adagrad_replaces_sum,
            "Your G holds this update's g² only: AdaGrad's G is a running sum, the G kept in "
            "state['sum'] plus g², so every earlier gradient keeps shrinking the rate.",
            hint="Start from state.get('sum', torch.zeros_like(p)), add g·g to it, store it back.",
        ),
        Mistake(
            _adagrad_no_root,
            "You divided by G itself; AdaGrad divides by its square root, √G + ε.",
            hint="`G.sqrt()` before adding eps.",
        ),
        Mistake(
            _adagrad_not_kept,
            "Your step is right, but state['sum'] does not hold the new G: the next update would "
            "forget this one's g².",
            hint="Assign the new G to state['sum'] as well (`G = state['sum'] = ...`).",
        ),
        Mistake(
            _adagrad_eps_inside,
            "You put eps inside the square root: AdaGrad divides by √G + ε, not √(G + ε).",
            hint="Take G.sqrt() first, then .add(eps).",
        ),
    ),
    hint=[
        "Two lines: the new G (the old one from state, or zeros, plus g²), stored in "
        "state['sum']; then the step that divides g by √G + ε.",
        "`addcmul(g, g)` adds g·g to a tensor; `p.addcdiv(g, d, value=-lr)` is p − lr·g/d, "
        "with d = G.sqrt().add(eps).",
    ],
    solution='''import torch


def adagrad_step(p, g, state, *, lr=0.01, eps=1e-10, weight_decay=0.0):
    """One torch.optim.Adagrad update of the tensor p: returns the new p;
    state["sum"] keeps G."""
    if weight_decay:
        # an L2 penalty: its gradient wd·p joins g
        g = g.add(p, alpha=weight_decay)
    # G ← G + g²
    G = state["sum"] = state.get("sum", torch.zeros_like(p)).addcmul(g, g)
    return p.addcdiv(g, G.sqrt().add(eps), value=-lr)  # p ← p − η·g / (√G + ε)
''',
)


# --- t3: RMSProp -------------------------------------------------------------------------------


def rmsprop_step(p, g, state, *, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    """One torch.optim.RMSprop update of p (no momentum, not centred); state["square_avg"] keeps s."""
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    s = state.get("square_avg", torch.zeros_like(p))
    s = state["square_avg"] = s.mul(alpha).addcmul(g, g, value=1 - alpha)  # s ← α·s + (1 − α)·g²
    return p.addcdiv(g, s.sqrt().add(eps), value=-lr)  # p ← p − η·g / (√s + ε)


def _rmsprop_swapped(p, g, state, *, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    s = state.get("square_avg", torch.zeros_like(p))
    s = state["square_avg"] = s.mul(1 - alpha).addcmul(g, g, value=alpha)
    return p.addcdiv(g, s.sqrt().add(eps), value=-lr)


def _rmsprop_sum(p, g, state, *, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    s = state["square_avg"] = state.get("square_avg", torch.zeros_like(p)).addcmul(g, g)
    return p.addcdiv(g, s.sqrt().add(eps), value=-lr)


def _rmsprop_gradients(p, g, state, *, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    s = state.get("square_avg", torch.zeros_like(p))
    s = state["square_avg"] = s.mul(alpha).add(g, alpha=1 - alpha)  # the mistake: g, not g²
    return p.addcdiv(g, s.sqrt().add(eps), value=-lr)


def _rmsprop_eps_inside(p, g, state, *, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    s = state.get("square_avg", torch.zeros_like(p))
    s = state["square_avg"] = s.mul(alpha).addcmul(g, g, value=1 - alpha)
    return p.addcdiv(g, s.add(eps).sqrt(), value=-lr)


def _rmsprop_cases() -> list[dict]:
    return _rule_cases(
        rmsprop_step,
        [
            dict(
                shape=(16, 16),
                earlier=0,
                scale=1.0,
                lr=0.01,
                alpha=0.99,
                eps=1e-8,
                weight_decay=0.0,
            ),  # fmt: skip
            dict(
                shape=(200,), earlier=4, scale=1.0, lr=0.003, alpha=0.9, eps=1e-8, weight_decay=0.1
            ),  # fmt: skip
            dict(
                shape=(200,), earlier=2, scale=0.01, lr=0.01, alpha=0.9, eps=0.01, weight_decay=0.0
            ),  # fmt: skip
        ],
        seed=3,
    )


t3 = CodeExercise(
    "t3",
    "Write `rmsprop_step(p, g, state, *, lr, alpha, eps, weight_decay)`: one torch.optim.RMSprop "
    "update (no momentum, not centred) of the tensor p with gradient g, returning the new p. The "
    "moving average s of the squared gradients lives in state['square_avg'] (zeros before the "
    "first update). The check compares the new p and state['square_avg'] bit for bit with "
    "torch.optim's, so use PyTorch's operations as the text above says.",
    reference=rmsprop_step,
    cases=_rmsprop_cases,
    outcome=_state_outcome,
    compare=_rule_compare(
        "torch.optim.RMSprop",
        "`s.mul(alpha).addcmul(g, g, value=1 - alpha)` for α·s + (1 − α)·g·g and "
        "`p.addcdiv(g, s.sqrt().add(eps), value=-lr)` for the step",
    ),
    mistakes=(
        Mistake(
            _rmsprop_swapped,
            "Your average weighs the old s by 1 − α and the new g² by α: the other way round. "
            "With α = 0.99 the old average keeps 99% and each g² adds 1%.",
            hint="s ← α·s + (1 − α)·g²: `mul(alpha)`, then `addcmul` with value=1 - alpha.",
        ),
        Mistake(
            _rmsprop_sum,
            "Your s is AdaGrad's running sum: RMSProp lets old squares fade, s ← α·s + (1 − α)·g².",
            hint="Multiply the old s by alpha before adding (1 − alpha)·g·g.",
        ),
        Mistake(
            _rmsprop_gradients,
            "Your s averages the gradients, not their squares: its root is then not a size (and "
            "of a negative average, not a number at all).",
            hint="`addcmul(g, g, ...)` adds g·g.",
        ),
        Mistake(
            _rmsprop_eps_inside,
            "You put eps inside the square root: RMSProp divides by √s + ε, not √(s + ε).",
            hint="Take s.sqrt() first, then .add(eps).",
        ),
    ),
    hint=[
        "As in adagrad_step, two lines: the new s, stored in state['square_avg'], then the step "
        "that divides g by √s + ε. Only the first line changes: the old s fades.",
        "The old s (or zeros) times alpha, plus (1 − alpha)·g·g: `mul(alpha)` then "
        "`addcmul(g, g, value=1 - alpha)`; the step is AdaGrad's `addcdiv` with s in place of G.",
    ],
    solution='''import torch


def rmsprop_step(
    p, g, state, *, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0
):
    """One torch.optim.RMSprop update of p (no momentum, not centred);
    state["square_avg"] keeps s."""
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    s = state.get("square_avg", torch.zeros_like(p))
    # s ← α·s + (1 − α)·g²
    s = state["square_avg"] = s.mul(alpha).addcmul(g, g, value=1 - alpha)
    return p.addcdiv(g, s.sqrt().add(eps), value=-lr)  # p ← p − η·g / (√s + ε)
''',
)


# --- t4: Adam ----------------------------------------------------------------------------------


def adam_step(p, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """One torch.optim.Adam update of p; state keeps the update count "step" and the moments "m", "v"."""
    beta1, beta2 = betas
    t = state["step"] = state.get("step", 0) + 1
    if weight_decay:
        g = g.add(p, alpha=weight_decay)  # Adam's weight_decay is an L2 penalty, as in SGD
    m = state["m"] = state.get("m", torch.zeros_like(p)).lerp(g, 1 - beta1)  # β₁·m + (1 − β₁)·g
    v = state.get("v", torch.zeros_like(p))
    v = state["v"] = v.mul(beta2).addcmul(g, g, value=1 - beta2)  # β₂·v + (1 − β₂)·g²
    denom = (v.sqrt() / (1 - beta2**t) ** 0.5).add(eps)  # √v̂ + ε, where v̂ = v / (1 − β₂ᵗ)
    return p.addcdiv(m, denom, value=-lr / (1 - beta1**t))  # p − η·m̂ / (√v̂ + ε), m̂ = m / (1 − β₁ᵗ)


def _adam_moments(p, g, state, beta1, beta2, weight_decay, *, keep_step=True):
    t = state.get("step", 0) + 1
    if keep_step:
        state["step"] = t
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    m = state["m"] = state.get("m", torch.zeros_like(p)).lerp(g, 1 - beta1)
    v = state.get("v", torch.zeros_like(p))
    v = state["v"] = v.mul(beta2).addcmul(g, g, value=1 - beta2)
    return t, m, v


def _adam_no_correction(p, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    t, m, v = _adam_moments(p, g, state, *betas, weight_decay)
    return p.addcdiv(m, v.sqrt().add(eps), value=-lr)


def _adam_step_not_kept(p, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t, m, v = _adam_moments(p, g, state, beta1, beta2, weight_decay, keep_step=False)
    denom = (v.sqrt() / (1 - beta2**t) ** 0.5).add(eps)
    return p.addcdiv(m, denom, value=-lr / (1 - beta1**t))


def _adam_unrooted(p, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t, m, v = _adam_moments(p, g, state, beta1, beta2, weight_decay)
    denom = (v.sqrt() / (1 - beta2**t)).add(eps)  # the mistake: no root on the correction
    return p.addcdiv(m, denom, value=-lr / (1 - beta1**t))


def _adam_eps_inside(p, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t, m, v = _adam_moments(p, g, state, beta1, beta2, weight_decay)
    denom = (v / (1 - beta2**t)).add(eps).sqrt()
    return p.addcdiv(m, denom, value=-lr / (1 - beta1**t))


def _adam_cases() -> list[dict]:
    return _rule_cases(
        adam_step,
        [
            dict(
                shape=(16, 16),
                earlier=0,
                scale=1.0,
                lr=0.01,
                betas=(0.9, 0.999),
                eps=1e-8,
                weight_decay=0.0,
            ),  # fmt: skip
            dict(
                shape=(200,),
                earlier=5,
                scale=1.0,
                lr=0.003,
                betas=(0.8, 0.99),
                eps=1e-8,
                weight_decay=0.1,
            ),  # fmt: skip
            dict(
                shape=(200,),
                earlier=2,
                scale=0.01,
                lr=0.01,
                betas=(0.9, 0.999),
                eps=0.01,
                weight_decay=0.0,
            ),  # fmt: skip
        ],
        seed=4,
    )


t4 = CodeExercise(
    "t4",
    "Write `adam_step(p, g, state, *, lr, betas, eps, weight_decay)`: one torch.optim.Adam update "
    "of the tensor p with gradient g, returning the new p. state keeps the number of updates so "
    "far in state['step'] (t is that number plus one: 1 at the first update) and the moments in "
    "state['m'] and state['v'] (zeros before the first update). The check compares the new p "
    "and every state entry bit for bit with torch.optim's, so follow PyTorch's arrangement, as "
    "the text above writes it.",
    reference=adam_step,
    cases=_adam_cases,
    outcome=_state_outcome,
    compare=_rule_compare(
        "torch.optim.Adam",
        "`m.lerp(g, 1 - beta1)`, `v.mul(beta2).addcmul(g, g, value=1 - beta2)`, "
        "`denom = (v.sqrt() / (1 - beta2**t) ** 0.5).add(eps)` and "
        "`p.addcdiv(m, denom, value=-lr / (1 - beta1**t))`",
    ),
    mistakes=(
        Mistake(
            _adam_no_correction,
            "Your step has no bias correction: m and v start at zero, so early on they are too "
            "small; Adam divides m by 1 − β₁ᵗ and v by 1 − β₂ᵗ.",
            hint="The step size is lr / (1 - beta1**t); √v is divided by (1 - beta2**t) ** 0.5.",
        ),
        Mistake(
            _adam_step_not_kept,
            "Your step is right this time, but state['step'] does not count it: at the next "
            "update t would be 1 again, and the bias correction would treat m and v as if they "
            "held one gradient.",
            hint="Store the new count: `t = state['step'] = ...`.",
        ),
        Mistake(
            _adam_unrooted,
            "You divided √v by 1 − β₂ᵗ: v̂ = v / (1 − β₂ᵗ), so √v̂ = √v / √(1 − β₂ᵗ).",
            hint="Divide v.sqrt() by (1 - beta2**t) ** 0.5.",
        ),
        Mistake(
            _adam_eps_inside,
            "You put eps inside the square root: Adam divides by √v̂ + ε, not √(v̂ + ε).",
            hint="Take the root of v first, then .add(eps).",
        ),
    ),
    hint=[
        "Four pieces: the count t (state['step'] + 1, stored back), the moments m and v (as "
        "in rmsprop_step, stored in state), the denominator √v̂ + ε, the step with m̂.",
        "With t in hand: m from `lerp`, v from `mul(beta2).addcmul(g, g, value=1 - beta2)`; the "
        "denominator divides v.sqrt() by (1 - beta2**t) ** 0.5 and then adds eps; `addcdiv` "
        "takes value = −lr / (1 − beta1**t).",
    ],
    solution='''import torch


def adam_step(
    p, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0
):
    """One torch.optim.Adam update of p; state keeps the update count "step"
    and the moments "m", "v"."""
    beta1, beta2 = betas
    t = state["step"] = state.get("step", 0) + 1
    if weight_decay:
        # Adam's weight_decay is an L2 penalty, as in SGD
        g = g.add(p, alpha=weight_decay)
    # β₁·m + (1 − β₁)·g
    m = state["m"] = state.get("m", torch.zeros_like(p)).lerp(g, 1 - beta1)
    v = state.get("v", torch.zeros_like(p))
    # β₂·v + (1 − β₂)·g²
    v = state["v"] = v.mul(beta2).addcmul(g, g, value=1 - beta2)
    # √v̂ + ε, where v̂ = v / (1 − β₂ᵗ)
    denom = (v.sqrt() / (1 - beta2**t) ** 0.5).add(eps)
    # p − η·m̂ / (√v̂ + ε), m̂ = m / (1 − β₁ᵗ)
    return p.addcdiv(m, denom, value=-lr / (1 - beta1**t))
''',
)


# --- t5: AdamW ---------------------------------------------------------------------------------


def adamw_step(p, g, state, *, lr=1e-3, weight_decay=1e-2, **adam_settings):
    """One torch.optim.AdamW update: shrink p by (1 − η·wd), then Adam without weight decay."""
    p = p.mul(1 - lr * weight_decay)
    return adam_step(p, g, state, lr=lr, **adam_settings)


def _adamw_l2(p, g, state, *, lr=1e-3, weight_decay=1e-2, **adam_settings):
    return adam_step(p, g, state, lr=lr, weight_decay=weight_decay, **adam_settings)


def _adamw_decay_after(p, g, state, *, lr=1e-3, weight_decay=1e-2, **adam_settings):
    p = adam_step(p, g, state, lr=lr, **adam_settings)
    return p.mul(1 - lr * weight_decay)


def _adamw_without_lr(p, g, state, *, lr=1e-3, weight_decay=1e-2, **adam_settings):
    p = p.mul(1 - weight_decay)
    return adam_step(p, g, state, lr=lr, **adam_settings)


def _adamw_twice(p, g, state, *, lr=1e-3, weight_decay=1e-2, **adam_settings):
    p = p.mul(1 - lr * weight_decay)
    return adam_step(p, g, state, lr=lr, weight_decay=weight_decay, **adam_settings)


def _adamw_cases() -> list[dict]:
    return _rule_cases(
        adamw_step,
        [
            dict(
                shape=(16, 16),
                earlier=0,
                scale=1.0,
                lr=0.01,
                weight_decay=0.1,
                betas=(0.9, 0.999),
                eps=1e-8,
            ),  # fmt: skip
            dict(
                shape=(200,),
                earlier=3,
                scale=1.0,
                lr=0.05,
                weight_decay=0.5,
                betas=(0.8, 0.99),
                eps=1e-8,
            ),  # fmt: skip
        ],
        seed=5,
    )


t5 = CodeExercise(
    "t5",
    "Write `adamw_step(p, g, state, *, lr, weight_decay, **adam_settings)`: one torch.optim.AdamW "
    "update of the tensor p, returning the new p. Decoupled weight decay first shrinks p itself "
    "by the factor (1 − lr·weight_decay); then comes Adam's step without any weight decay: call "
    "your `adam_step` (from t4) with `lr` and the `adam_settings` (betas, eps) passed on. The "
    "check compares the new p and the state bit for bit with torch.optim's.",
    reference=adamw_step,
    cases=_adamw_cases,
    outcome=_state_outcome,
    compare=_rule_compare(
        "torch.optim.AdamW",
        "`p.mul(1 - lr * weight_decay)`, then adam_step on the result",
    ),
    mistakes=(
        Mistake(
            _adamw_l2,
            "You passed weight_decay on to adam_step: that is Adam's L2 penalty, whose gradient "
            "wd·p is then divided by √v̂ like the rest of g. AdamW shrinks p itself, outside the "
            "adaptive step, and runs Adam without weight decay.",
            hint="Multiply p by (1 - lr * weight_decay); call adam_step without weight_decay.",
        ),
        Mistake(
            _adamw_decay_after,
            "You shrank p after Adam's step: AdamW shrinks the old p, before the step.",
            hint="The decay comes first, then adam_step on the shrunk p.",
        ),
        Mistake(
            _adamw_without_lr,
            "You shrank p by 1 − wd: AdamW's factor is 1 − η·wd, the learning rate times the "
            "weight decay (with wd = 0.01 and η = 0.001, a millionth of p per update, not 1%).",
            hint="The factor is (1 - lr * weight_decay).",
        ),
        Mistake(
            _adamw_twice,
            "Your p decays twice: once by the factor (right) and once more through adam_step's "
            "weight_decay, Adam's L2 penalty. AdamW's Adam step has no weight decay.",
            hint="Leave weight_decay out of the adam_step call.",
        ),
    ),
    hint=[
        "Two lines: shrink p, then hand it to adam_step. Which of adam_step's arguments must "
        "stay at 0 for AdamW?",
        "The shrink is `p.mul(...)` by one minus lr times weight_decay; then return "
        "`adam_step(p, g, state, lr=lr, **adam_settings)`, with no weight_decay passed on.",
    ],
    # The course's Adam step under another name, so that pasting this over a your-turn cell
    # keeps the student's own adam_step (t4) in the notebook.
    solution='''from gdlessons.exercises.ch07_adaptive_optimizers import (
    adam_step as course_adam_step,
)


def adamw_step(p, g, state, *, lr=1e-3, weight_decay=1e-2, **adam_settings):
    """One torch.optim.AdamW update: shrink p by (1 − η·wd), then Adam without
    weight decay."""
    # decoupled: p itself shrinks, outside the adaptive step
    p = p.mul(1 - lr * weight_decay)
    # or your adam_step from t4
    return course_adam_step(p, g, state, lr=lr, **adam_settings)
''',
)

# --- t6: an iteration with the gradient clipped by norm ---------------------------------------


def clipped_step(model, optimizer, xb, yb, max_norm):
    """One iteration on (xb, yb) with the gradient's norm capped at max_norm; returns the norm found."""
    loss = F.mse_loss(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)  # before the step
    optimizer.step()
    return norm


def _clip_after_step(model, optimizer, xb, yb, max_norm):
    loss = F.mse_loss(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)


def _clip_by_value(model, optimizer, xb, yb, max_norm):
    loss = F.mse_loss(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_value_(model.parameters(), max_norm)
    optimizer.step()
    return norm


def _clip_no_step(model, optimizer, xb, yb, max_norm):
    loss = F.mse_loss(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    return torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)


def _clipped_norm(model, optimizer, xb, yb, max_norm):
    loss = F.mse_loss(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)  # the clipped one's
    optimizer.step()
    return norm


def _clip_cases() -> list[dict]:
    data = quadratic_data(60, seed=7)
    X, y = data.tensors()
    cases = []
    settings = ((1, 0.2, 0.0, 1.0), (2, 0.05, 0.9, 0.5), (3, 0.01, 0.0, 100.0))
    for seed, lr, momentum, max_norm in settings:  # the last: a norm below max_norm
        model = tutorial_mlp(seed=seed)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        cases.append(
            dict(model=model, optimizer=optimizer, xb=X[:20], yb=y[:20], max_norm=max_norm)
        )
    return cases


def _clip_outcome(returned, args):
    return returned, {k: v.detach().clone() for k, v in args["model"].state_dict().items()}


def _compare_clip(got, want, case) -> str | None:
    norm, params = got
    want_norm, want_params = want
    largest = max(float(v.abs().max()) for v in want_params.values())
    problem = first_difference(params, want_params, bitwise=False, atol=1e-5 * largest, rtol=0.0, name="the parameters")  # fmt: skip
    if problem:
        return f"after your iteration, {problem}"
    if norm is None or want_norm is None:
        if norm is want_norm:
            return None
        return "your function returned None: return the norm clip_grad_norm_ found"
    return first_difference(norm, want_norm, bitwise=False, atol=0.0, rtol=1e-5, name="the norm you returned")  # fmt: skip


t6 = CodeExercise(
    "t6",
    "Complete `clipped_step(model, optimizer, xb, yb, max_norm)`: after the given forward pass, "
    "zero_grad() and backward(), cap the norm of the whole gradient (all parameters together) at "
    "max_norm with torch.nn.utils.clip_grad_norm_, make the update, and return the norm that "
    "clip_grad_norm_ found. The check compares the parameters after the iteration and the norm "
    "up to float32 rounding (a relative 1e-5), with clipping acting and not acting.",
    reference=clipped_step,
    cases=_clip_cases,
    outcome=_clip_outcome,
    compare=_compare_clip,
    mistakes=(
        Mistake(
            _clip_after_step,
            "You clipped after optimizer.step(): the update had already used the whole "
            "gradient. Clipping goes between backward() and step().",
            hint="First clip_grad_norm_, then optimizer.step().",
        ),
        Mistake(
            _clip_by_value,
            "You capped every gradient entry at max_norm (clip_grad_value_): clipping by norm "
            "rescales the whole gradient, keeping its direction, so that its length is at most "
            "max_norm.",
            hint="torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm).",
        ),
        Mistake(
            _clip_no_step,
            "No parameter moved: clipping only rescales the gradients in .grad; "
            "optimizer.step() makes the update.",
            hint="After clipping, optimizer.step().",
        ),
        Mistake(
            _clipped_norm,
            "The norm you returned is the clipped gradient's (at most max_norm): return what "
            "the first clip_grad_norm_ call returns, the norm it found before clipping.",
            hint="Call clip_grad_norm_ once and keep its return value.",
        ),
    ),
    hint=[
        "Two lines between backward() and the return: the clip, then the update. The clip "
        "returns the norm you are asked for.",
        "`norm = torch.nn.utils.clip_grad_norm_(...)` over model.parameters() with max_norm, "
        "then optimizer.step(), then return norm.",
    ],
    solution='''import torch
import torch.nn.functional as F


def clipped_step(model, optimizer, xb, yb, max_norm):
    """One iteration on (xb, yb) with the gradient's norm capped at max_norm;
    returns the norm found."""
    loss = F.mse_loss(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    # between backward and step
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return norm
''',
)


# --- t7: the gradient norm of every layer's weights -------------------------------------------


def layer_gradient_norms(model: nn.Module) -> list[float]:
    """The norm of every nn.Linear layer's weight gradient, first layer first, as floats."""
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return [float(layer.weight.grad.norm()) for layer in layers]


def _linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _weight_norms(model):
    return [float(layer.weight.detach().norm()) for layer in _linears(model)]  # not .grad


def _squared_norms(model):
    return [float((layer.weight.grad**2).sum()) for layer in _linears(model)]


def _with_biases(model):
    norms = []
    for layer in _linears(model):
        squares = (layer.weight.grad**2).sum()
        if layer.bias is not None:
            squares = squares + (layer.bias.grad**2).sum()
        norms.append(float(squares.sqrt()))
    return norms


def _every_parameter(model):
    return [float(p.grad.norm()) for p in model.parameters()]


def _one_total(model):
    return float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm())


def _norms_cases() -> list[dict]:
    """Three models right after a backward pass: the tutorial MLP, a deep sigmoid MLP (norms
    that differ by orders of magnitude from layer to layer) and one with a layer without bias."""
    gen = torch.Generator().manual_seed(7)
    X, y = quadratic_data(40, seed=7).tensors()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        deep = nn.Sequential(
            *[m for k in range(5) for m in (nn.Linear(1 if k == 0 else 8, 8), nn.Sigmoid())],
            nn.Linear(8, 1),
        )
        mixed = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4, bias=False), nn.ReLU(),
                              nn.Linear(4, 2))  # fmt: skip
    cases = []
    for model, inputs, targets in (
        (tutorial_mlp(seed=3), X, y),
        (deep, X, y),
        (mixed, torch.randn(30, 3, generator=gen), torch.randn(30, 2, generator=gen)),
    ):
        F.mse_loss(model(inputs), targets).backward()
        cases.append(dict(model=model))
    return cases


def _compare_norms(got, want, case) -> str | None:
    if not isinstance(want, list):  # a mistake's output, compared with the student's
        return first_difference(got, want, bitwise=False, atol=0.0, rtol=1e-5)
    layers = len(want)
    if isinstance(got, (torch.Tensor, np.ndarray)) and got.ndim == 1:
        got = got.tolist()
    if not isinstance(got, (list, tuple)):
        return (
            f"your function returned {type(got).__name__}, one value; return a list with one "
            f"norm per nn.Linear layer ({layers} for this model)"
        )
    if len(got) != layers:
        return (
            f"your function returned {len(got)} norms, but the model has {layers} nn.Linear "
            "layers: one norm per layer's weight"
        )
    return first_difference(
        list(got), want, bitwise=False, atol=0.0, rtol=1e-5, name="the norm", index="for layer {}"
    )


t7 = CodeExercise(
    "t7",
    "Write `layer_gradient_norms(model)`: after backward(), return a list with the norm of every "
    "nn.Linear layer's weight gradient (its .grad, not the weight itself), first layer first, "
    "as numbers; the biases are left out. It is checked up to float32 rounding (a relative "
    "1e-5) on three models, one of them deep, one with a layer that has no bias.",
    reference=layer_gradient_norms,
    cases=_norms_cases,
    compare=_compare_norms,
    mistakes=(
        Mistake(
            _weight_norms,
            "Those are the norms of the weights themselves: the gradient of a layer's weight is "
            "in layer.weight.grad, which backward() filled.",
            hint="Measure layer.weight.grad, not layer.weight.",
        ),
        Mistake(
            _squared_norms,
            "Those are squared norms (the sum of the squared entries): the norm is the square "
            "root of that sum.",
            hint="Take the square root, or use .norm() / torch.linalg.vector_norm.",
        ),
        Mistake(
            _with_biases,
            "Your norms take each layer's bias gradient in with its weight's: the question asks "
            "for the weights' gradients only.",
            hint="Measure layer.weight.grad alone.",
        ),
        Mistake(
            _every_parameter,
            "You returned one norm per parameter tensor, biases included: one norm per nn.Linear "
            "layer is asked for, of its weight's gradient.",
            hint="Go through the nn.Linear layers (isinstance), not model.parameters().",
        ),
        Mistake(
            _one_total,
            "That is one number, the norm of the whole gradient (every parameter together, what "
            "clip_grad_norm_ measures): the question asks for one norm per layer.",
            hint="A list with one norm per nn.Linear layer's weight gradient.",
        ),
    ),
    hint=[
        "Two steps: find the model's nn.Linear layers, in order, then measure each layer's "
        "weight gradient.",
        "`model.modules()` visits every layer and `isinstance(m, torch.nn.Linear)` picks the "
        "linear ones; a layer's weight gradient is `layer.weight.grad`, and `float(t.norm())` "
        "is its norm as a number.",
    ],
    solution='''import torch


def layer_gradient_norms(model):
    """The norm of every nn.Linear layer's weight gradient, first layer first,
    as floats."""
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    return [float(layer.weight.grad.norm()) for layer in layers]
''',
)


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
    "With weight_decay = wd, which optimizer shrinks every weight by the same factor (1 − η·wd) at "
    "every update, whatever its gradients: 'adam' (torch.optim.Adam) or 'adamw' (torch.optim.AdamW)?",
    expect_choice(
        "adamw",
        ("adam", "adamw"),
        mistakes={
            "adam": "Adam's weight_decay is an L2 penalty: wd·p joins the gradient and is then "
            "divided by √v̂ like the rest of it, so how much a weight shrinks depends on its "
            "gradients (section 5's small-gradient weights went to zero)."
        },
        synonyms={"torch.optim.Adam": "adam", "torch.optim.AdamW": "adamw", "adam w": "adamw"},
    ),
    hint=[
        "Section 5 measured both: which one left the small-gradient weights at the decay's factor?",
        "Find where wd enters each update: added to g (then divided by √v̂), or multiplying p "
        "outside the adaptive step.",
    ],
    solution="'adamw': it multiplies p by (1 − η·wd) outside the adaptive step (decoupled weight "
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


# --- q6: AMSGrad, a new rule from Adam's pieces ------------------------------------------------


def amsgrad_step(p, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """One torch.optim.Adam(amsgrad=True) update of p: Adam divided by the largest v so far."""
    beta1, beta2 = betas
    t = state["step"] = state.get("step", 0) + 1
    m = state["m"] = state.get("m", torch.zeros_like(p)).lerp(g, 1 - beta1)
    v = state["v"] = state.get("v", torch.zeros_like(p)).mul(beta2).addcmul(g, g, value=1 - beta2)
    v_max = state["v_max"] = torch.maximum(state.get("v_max", torch.zeros_like(p)), v)
    denom = (v_max.sqrt() / (1 - beta2**t) ** 0.5).add(eps)
    return p.addcdiv(m, denom, value=-lr / (1 - beta1**t))


def _ams_moments(p, g, state, beta1, beta2):
    t = state["step"] = state.get("step", 0) + 1
    m = state["m"] = state.get("m", torch.zeros_like(p)).lerp(g, 1 - beta1)
    v = state["v"] = state.get("v", torch.zeros_like(p)).mul(beta2).addcmul(g, g, value=1 - beta2)
    return t, m, v


def _ams_max_of_corrected(p, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    t, m, v = _ams_moments(p, g, state, beta1, beta2)
    v_hat = v / (1 - beta2**t)
    v_max = state["v_max"] = torch.maximum(state.get("v_max", torch.zeros_like(p)), v_hat)
    return p - lr * (m / (1 - beta1**t)) / (v_max.sqrt() + eps)


def _ams_plain_adam(p, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    t, m, v = _ams_moments(p, g, state, beta1, beta2)
    state["v_max"] = torch.maximum(state.get("v_max", torch.zeros_like(p)), v)
    denom = (v.sqrt() / (1 - beta2**t) ** 0.5).add(eps)  # the mistake: v, not the max
    return p.addcdiv(m, denom, value=-lr / (1 - beta1**t))


def _ams_max_of_squares(p, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    t, m, v = _ams_moments(p, g, state, beta1, beta2)
    v_max = state["v_max"] = torch.maximum(state.get("v_max", torch.zeros_like(p)), g * g)
    denom = (v_max.sqrt() / (1 - beta2**t) ** 0.5).add(eps)
    return p.addcdiv(m, denom, value=-lr / (1 - beta1**t))


def _ams_not_kept(p, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    t, m, v = _ams_moments(p, g, state, beta1, beta2)
    v_max = torch.maximum(state.get("v_max", torch.zeros_like(p)), v)  # the mistake: not stored
    denom = (v_max.sqrt() / (1 - beta2**t) ** 0.5).add(eps)
    return p.addcdiv(m, denom, value=-lr / (1 - beta1**t))


def _amsgrad_cases() -> list[dict]:
    """States after large gradients, then a small one: v has fallen below its largest value."""
    gen = torch.Generator().manual_seed(6)
    cases = []
    for earlier, lr, betas in ((4, 0.01, (0.9, 0.999)), (6, 0.003, (0.8, 0.9))):
        p, state = torch.randn(10, generator=gen), {}
        for k in range(earlier):
            scale = 5.0 if k < 2 else 0.1
            p = amsgrad_step(p, scale * torch.randn(10, generator=gen), state, lr=lr, betas=betas)
        g = 0.1 * torch.randn(10, generator=gen)
        cases.append(dict(p=p, g=g, state=state, lr=lr, betas=betas, eps=1e-8))
    return cases


q6 = CodeExercise(
    "q6",
    "torch.optim.Adam(amsgrad=True) is Adam with one more tensor of state: v_max, the largest v "
    "so far, element by element (it starts at zeros). It divides by √v_max / √(1 − β₂ᵗ) + ε "
    "instead of √v / √(1 − β₂ᵗ) + ε, so a coordinate's step cannot grow back after a large "
    "gradient has passed. Write amsgrad_step(p, g, state, *, lr, betas, eps) (no weight decay), "
    "keeping state['step'], state['m'], state['v'] as adam_step does and the maximum in "
    "state['v_max']. It is checked up to float32 rounding (a relative 1e-5), not bit for bit, "
    "on states where v has fallen below its largest value.",
    reference=amsgrad_step,
    cases=_amsgrad_cases,
    outcome=_state_outcome,
    compare=_rule_compare("torch.optim.Adam(amsgrad=True)", "", bitwise=False),
    mistakes=(
        Mistake(
            _ams_max_of_corrected,
            "You kept the largest bias-corrected v̂; PyTorch keeps the largest v itself and "
            "corrects it by √(1 − β₂ᵗ) at each update.",
            hint="torch.maximum(old v_max, v), with v as adam_step computes it.",
        ),
        Mistake(
            _ams_plain_adam,
            "You kept v_max but your step divides by √v, as plain Adam does: AMSGrad's "
            "denominator is built from v_max.",
            hint="Use v_max in place of v in the denominator.",
        ),
        Mistake(
            _ams_max_of_squares,
            "Your v_max is the largest g², not the largest v: the maximum is taken over the "
            "moving average.",
            hint="torch.maximum(old v_max, v).",
        ),
        Mistake(
            _ams_not_kept,
            "Your step is right, but state['v_max'] does not hold the new maximum: the next "
            "update would compare against a stale one.",
            hint="Store it: `v_max = state['v_max'] = ...`.",
        ),
    ),
    hint=[
        "Start from your adam_step without its weight decay: one line more (the maximum, kept in "
        "state), and one changed (the denominator).",
        "`torch.maximum(a, b)` is the element-wise maximum; take it of state['v_max'] (zeros at "
        "first) and the new v, store it, and use its square root in the denominator.",
    ],
    solution="""import torch


def amsgrad_step(p, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    t = state["step"] = state.get("step", 0) + 1
    m = state["m"] = state.get("m", torch.zeros_like(p)).lerp(g, 1 - beta1)
    v = state.get("v", torch.zeros_like(p))
    v = state["v"] = v.mul(beta2).addcmul(g, g, value=1 - beta2)
    # the new line
    v_max = state.get("v_max", torch.zeros_like(p))
    v_max = state["v_max"] = torch.maximum(v_max, v)
    # v_max where Adam has v
    denom = (v_max.sqrt() / (1 - beta2**t) ** 0.5).add(eps)
    return p.addcdiv(m, denom, value=-lr / (1 - beta1**t))
""",
)


# --- q7: an overshoot multiplies the gradient ----------------------------------------------------

_CURVATURE, _RATE, _ITERATIONS = 30.0, 0.1, 10


def _growth(factor: float, iterations: int = _ITERATIONS) -> float:
    return abs(factor) ** iterations


q7 = Exercise(
    "q7",
    "Gradient descent with η = 0.1 runs on chapter 05's quadratic f(x) = ½·λ·x² with λ = 30, "
    "starting at x = 0.01. By what factor has the size of the gradient, |λ·x|, grown after 10 "
    "iterations?",
    expect_close(
        _growth(1 - _RATE * _CURVATURE),
        rtol=0.01,
        mistakes={
            _growth(1 + _RATE * _CURVATURE): "You multiplied by 1 + ηλ: the step goes against "
            "the gradient, x ← x − η·λ·x, so the factor per iteration is 1 − ηλ.",
            _growth(_RATE * _CURVATURE): "ηλ·x is the step, not where it lands: x ← x − η·λ·x "
            "keeps x itself too, so the factor per iteration is 1 − ηλ.",
            _ITERATIONS * abs(1 - _RATE * _CURVATURE): "You added the factor once per "
            "iteration; each iteration multiplies the gradient by it, so the factors multiply.",
            _growth(1 - _RATE * _CURVATURE, _ITERATIONS - 1): "That is one factor too few: "
            "each of the 10 iterations multiplies the gradient once.",
        },
    ),
    hint=[
        "Write one iteration: x ← x − η·λ·x. By what factor does it multiply x, and the "
        "gradient λ·x with it?",
        "The factor is 1 − ηλ, here negative: its size says how much each overshoot grows. "
        "Ten iterations multiply ten such factors.",
    ],
    solution="Each iteration multiplies x, and the gradient λ·x with it, by 1 − ηλ = 1 − 3 = −2: "
    "every step overshoots the minimum and lands twice as far on the other side, so |λ·x| "
    "doubles. After 10 iterations it is 2¹⁰ = 1024 times its start: the feedback loop that "
    "clipping cuts.",
)
