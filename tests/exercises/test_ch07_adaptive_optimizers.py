"""Chapter 07 exercises: the answers match torch.optim's Adagrad, Adam and the measured escape;
q6's reference is torch's AdamW; what q6 and q7 accept besides the reference and what they say
about other wrong answers. The rules every exercise keeps are tested in test_rules.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from gdlessons.chapters import ch07_adaptive_optimizers as ch
from gdlessons.exercises import Exercise, questions_in
from gdlessons.exercises import ch07_adaptive_optimizers as ex
from tests.exercises import shared

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {
    "q1": (-0.18, -0.3),
    "q2": (0.01, 0.0316),
    "q3": ("sgd", "both"),
    "q4": ("adamw", "adam"),
    "q5": (136, 40),
}

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "07_adaptive_optimizers.ipynb"


# --- feedback that teaches -------------------------------------------------------------------


@pytest.mark.parametrize(
    "q", [q for q in questions_in(ex) if isinstance(q, Exercise)], ids=lambda q: q.name
)
def test_number_and_word_questions_name_at_least_one_mistake_per_wrong_choice(q):
    assert len(q.checker.mistakes) >= (1 if q.name == "q4" else 2)  # q4 has one wrong choice


def test_q2_names_the_missing_bias_correction():
    """A student's answer without bias correction (0.0316) used to get "too large"."""
    p = torch.zeros(1, requires_grad=True)
    m = 0.1 * 250.0  # Adam's moments after one update, not bias-corrected
    v = 0.001 * 250.0**2
    message = ex.q2.check(0.01 * m / math.sqrt(v)).message
    assert message.startswith("That is the step without bias correction"), message
    assert "too large" not in message and p.grad is None


def test_q1_and_q5_name_the_mistakes_students_make():
    assert "running sum" in ex.q1.check(-0.2).message  # each step divided by its own |g|
    assert "plain SGD" in ex.q1.check(-0.7).message
    assert "leaving out η" in ex.q5.check(math.log(0.3 / 1e-6) / math.log(1.97)).message


def test_q7s_printed_solution_runs_on_its_own():
    """It uses torch, so it imports it: pasted into a fresh notebook it still runs."""
    solution = shared.solution_of(ex.q7, "no_decay_on_biases")
    assert ex.q7.check(solution).correct


def test_no_unchecked_try_it_in_the_notebook():
    """Every "Try it" became a checked question or went (the race's line to copy is not in
    ch.race)."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "Try it" not in text and "copy `ch.race`" not in text


def test_q1_matches_torch_adagrad():
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adagrad([p], lr=0.1)
    for g in (3.0, 4.0):
        p.grad = torch.tensor([g])
        opt.step()
    assert ex.q1.check(p.item()).correct


def test_q2_matches_torch_adam():
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.01)
    p.grad = torch.tensor([250.0])
    opt.step()
    assert ex.q2.check(abs(p.item())).correct


def test_q5_matches_the_measured_escape():
    path = ch.paths("saddle", "sgd", 0.1, 300)
    assert ex.q5.check(int(ch.leave_iteration(path))).correct


def test_q5_answer_is_the_growth_law():
    assert math.isclose(math.log(0.3 / 1e-6) / math.log(1.097), 136, rel_tol=0.01)


# --- q6: AdamW's update --------------------------------------------------------------------------


def test_q6_reference_is_torch_adamw():
    gen = torch.Generator().manual_seed(0)
    p = torch.randn(50, generator=gen, requires_grad=True)
    opt = torch.optim.AdamW([p], lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    q, m, v = p.detach().clone(), torch.zeros(50), torch.zeros(50)
    for t in range(1, 151):
        g = torch.randn(50, generator=gen)
        p.grad = g.clone()
        opt.step()
        q, m, v = ex.adamw_update(q, g, m, v, t, lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1)  # fmt: skip
    torch.testing.assert_close(q, p.detach(), rtol=1e-5, atol=1e-6)


def test_q6_names_a_wrong_return_and_a_plain_difference():
    def two_values(p, g, m, v, t, *, lr, beta1, beta2, eps, weight_decay):
        return p, m

    def forgot_the_step(p, g, m, v, t, *, lr, beta1, beta2, eps, weight_decay):
        return p * (1 - lr * weight_decay), m, v

    assert "returned 2 values" in ex.q6.check(two_values).message
    message = ex.q6.check(forgot_the_step).message
    assert "the new p differs" in message.lower() and "t=1" in message


# --- q7: no weight decay on biases -----------------------------------------------------------------


def test_q7_accepts_splitting_by_dimension_instead_of_name():
    def by_dimension(model):
        weights = [p for p in model.parameters() if p.ndim > 1]
        biases = [p for p in model.parameters() if p.ndim == 1]
        groups = [
            {"params": biases, "weight_decay": 0.0},
            {"params": weights, "weight_decay": 0.01},
        ]
        return torch.optim.AdamW(groups, lr=1e-3)

    assert ex.q7.check(by_dimension).status == "correct"


def test_q7_names_other_differences():
    def plain_adam(model):
        return torch.optim.Adam(model.parameters(), lr=1e-3)

    def no_optimizer(model):
        return list(model.parameters())

    def fast_biases(model):
        decay = [p for n, p in model.named_parameters() if not n.endswith("bias")]
        no_decay = [p for n, p in model.named_parameters() if n.endswith("bias")]
        groups = [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0, "lr": 0.1}]  # fmt: skip
        return torch.optim.AdamW(groups, lr=1e-3)

    assert "use torch.optim.AdamW" in ex.q7.check(plain_adam).message
    assert "returned list" in ex.q7.check(no_optimizer).message
    assert "has lr 0.1, expected 0.001" in ex.q7.check(fast_biases).message


# --- correct answers written differently from the reference --------------------------------------


def test_q6_accepts_torch_adamw_given_the_moments_as_its_state():
    def with_torch_adamw(p, g, m, v, t, *, lr, beta1, beta2, eps, weight_decay):
        param = torch.nn.Parameter(p.clone())
        opt = torch.optim.AdamW([param], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)  # fmt: skip
        opt.state[param] = {
            "step": torch.tensor(float(t - 1)),  # AdamW counts this update itself
            "exp_avg": m.clone(),
            "exp_avg_sq": v.clone(),
        }
        param.grad = g.clone()
        opt.step()
        state = opt.state[param]
        return param.detach(), state["exp_avg"], state["exp_avg_sq"]

    result = ex.q6.check(with_torch_adamw)
    assert result.correct, result.message


def test_q6_accepts_an_element_by_element_loop_with_math():
    def loop(p, g, m, v, t, *, lr, beta1, beta2, eps, weight_decay):
        new_p, new_m, new_v = [], [], []
        for pi, gi, mi, vi in zip(p.tolist(), g.tolist(), m.tolist(), v.tolist()):
            mi = beta1 * mi + (1 - beta1) * gi
            vi = beta2 * vi + (1 - beta2) * gi**2
            step = lr * (mi / (1 - beta1**t)) / (math.sqrt(vi / (1 - beta2**t)) + eps)
            new_p.append(pi - lr * weight_decay * pi - step)
            new_m.append(mi)
            new_v.append(vi)
        return torch.tensor(new_p), torch.tensor(new_m), torch.tensor(new_v)

    result = ex.q6.check(loop)
    assert result.correct, result.message


def test_q6_accepts_torchs_own_arrangement_with_lerp_and_addcdiv():
    def like_torch(p, g, m, v, t, *, lr, beta1, beta2, eps, weight_decay):
        m = torch.lerp(m, g, 1 - beta1)
        v = v.mul(beta2).addcmul(g, g, value=1 - beta2)
        step_size = lr / (1 - beta1**t)
        denom = v.sqrt() / math.sqrt(1 - beta2**t) + eps
        return p.mul(1 - lr * weight_decay).addcdiv(m, denom, value=-step_size), m, v

    result = ex.q6.check(like_torch)
    assert result.correct, result.message


def test_q7_accepts_add_param_group_and_a_loop_over_the_modules():
    def with_add_param_group(model):
        named = list(model.named_parameters())
        opt = torch.optim.AdamW(
            [p for n, p in named if n.rsplit(".", 1)[-1] != "bias"], lr=1e-3, weight_decay=0.01
        )
        opt.add_param_group({"params": [p for n, p in named if n.rsplit(".", 1)[-1] == "bias"], "weight_decay": 0.0})  # fmt: skip
        return opt

    def by_module(model):
        weights, biases = [], []
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                weights.append(module.weight)
                if module.bias is not None:
                    biases.append(module.bias)
        return torch.optim.AdamW(
            [{"params": weights}, {"params": biases, "weight_decay": 0}],
            lr=1e-3,
            weight_decay=0.01,  # the default for the groups that do not set their own
        )

    for answer in (with_add_param_group, by_module):
        result = ex.q7.check(answer)
        assert result.correct, (answer.__name__, result.message)
