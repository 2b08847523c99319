"""Chapter 07 exercises: the answers match torch.optim's Adagrad, Adam and the measured escape; the
references of t2 to t5 are torch.optim's rules bit for bit (the update rules themselves are pinned
in tests/chapters), q6's is Adam(amsgrad=True); what the your-turn checks (t1 to t7) and q6
accept besides the reference, written another way or with torch.optim itself, and what they say
about other wrong answers. The rules every exercise keeps are tested in test_rules.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

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
    "q7": (1024, 4**10),
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


@pytest.mark.parametrize(
    ("q", "name"),
    [(ex.t1, "no_decay_on_biases"), (ex.t5, "adamw_step"), (ex.t6, "clipped_step"),
     (ex.t7, "layer_gradient_norms"), (ex.q6, "amsgrad_step")],
    ids=lambda v: getattr(v, "name", v),
)  # fmt: skip
def test_printed_solutions_run_on_their_own(q, name):
    """They import what they use: pasted into a fresh notebook they still run."""
    assert q.check(shared.solution_of(q, name)).correct


def test_no_unchecked_try_it_in_the_notebook():
    """Every "Try it" and "Things to try" became a checked question or went (the race's line to
    copy is not in ch.race)."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "Try it" not in text and "copy `ch.race`" not in text
    assert "to try" not in text.lower()


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


def test_q7_matches_gradient_descent_on_the_quadratic():
    x, lam, lr = torch.tensor(0.01, dtype=torch.float64), 30.0, 0.1
    start = abs(lam * x)
    for _ in range(10):
        x = x - lr * lam * x
    assert ex.q7.check(abs(lam * x) / start).correct
    assert "1 + ηλ" in ex.q7.check(4.0**10).message
    assert "factors multiply" in ex.q7.check(20).message


def test_q5_answer_is_the_growth_law():
    assert math.isclose(math.log(0.3 / 1e-6) / math.log(1.097), 136, rel_tol=0.01)


# --- t1: no weight decay on biases ----------------------------------------------------------------


def test_t1_accepts_splitting_by_dimension_instead_of_name():
    def by_dimension(model):
        weights = [p for p in model.parameters() if p.ndim > 1]
        biases = [p for p in model.parameters() if p.ndim == 1]
        groups = [
            {"params": weights, "weight_decay": 0.01},
            {"params": biases, "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=1e-3)

    assert ex.t1.check(by_dimension).status == "correct"


def test_t1_asks_for_the_weights_first_as_the_chapters_table_prints_them():
    def biases_first(model):
        weights = [p for p in model.parameters() if p.ndim > 1]
        biases = [p for p in model.parameters() if p.ndim == 1]
        groups = [
            {"params": biases, "weight_decay": 0.0},
            {"params": weights, "weight_decay": 0.01},
        ]
        return torch.optim.AdamW(groups, lr=1e-3)

    def one_group_per_parameter(model):
        return torch.optim.AdamW(
            [{"params": [p], "weight_decay": 0.0 if n.endswith("bias") else 0.01}
             for n, p in model.named_parameters()],
            lr=1e-3,
        )  # fmt: skip

    for answer in (biases_first, one_group_per_parameter):
        message = ex.t1.check(answer).message
        assert "group 0 the weights" in message, message


def test_t1_accepts_add_param_group_and_a_loop_over_the_modules():
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
        result = ex.t1.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_t1_names_other_differences():
    def plain_adam(model):
        return torch.optim.Adam(model.parameters(), lr=1e-3)

    def no_optimizer(model):
        return list(model.parameters())

    def fast_biases(model):
        decay = [p for n, p in model.named_parameters() if not n.endswith("bias")]
        no_decay = [p for n, p in model.named_parameters() if n.endswith("bias")]
        groups = [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0, "lr": 0.1}]  # fmt: skip
        return torch.optim.AdamW(groups, lr=1e-3)

    assert "use torch.optim.AdamW" in ex.t1.check(plain_adam).message
    assert "returned list" in ex.t1.check(no_optimizer).message
    assert "has lr 0.1, expected 0.001" in ex.t1.check(fast_biases).message


# --- t2 to t5: the rules, bit for bit -----------------------------------------------------------


def _torch_update(optimizer, p, g, state: dict, torch_state: dict, **settings):
    """One update of ``p`` by torch.optim itself, its state set from ``torch_state`` first (the
    student's names for it mapped to torch's); returns the new p and torch's state after it."""
    param = nn.Parameter(p.clone())
    opt = optimizer([param], **settings)
    if state:
        opt.state[param].update({k: v.clone() if torch.is_tensor(v) else v for k, v in torch_state.items()})  # fmt: skip
    param.grad = g.clone()
    opt.step()
    return param.detach(), opt.state[param]


def _adagrad_torch(p, g, state, *, lr, eps, weight_decay):
    new, after = _torch_update(
        torch.optim.Adagrad, p, g, state, {"sum": state.get("sum")}, lr=lr, eps=eps,
        weight_decay=weight_decay,
    )  # fmt: skip
    state["sum"] = after["sum"].clone()
    return new


def _adagrad_in_place(p, g, state, *, lr, eps, weight_decay):
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    G = state.setdefault("sum", torch.zeros_like(p)).addcmul_(g, g)  # the state's own tensor
    return torch.addcdiv(p, g, G.sqrt().add_(eps), value=-lr)


def _rmsprop_torch(p, g, state, *, lr, alpha, eps, weight_decay):
    before = {"step": torch.tensor(1.0), "square_avg": state.get("square_avg")}
    new, after = _torch_update(
        torch.optim.RMSprop, p, g, state, before, lr=lr, alpha=alpha, eps=eps,
        weight_decay=weight_decay,
    )  # fmt: skip
    state["square_avg"] = after["square_avg"].clone()
    return new


def _rmsprop_functional(p, g, state, *, lr, alpha, eps, weight_decay):
    if weight_decay:
        g = torch.add(g, p, alpha=weight_decay)
    old = state["square_avg"] if "square_avg" in state else torch.zeros_like(p)
    state["square_avg"] = torch.addcmul(torch.mul(old, alpha), g, g, value=1 - alpha)
    return torch.addcdiv(p, g, torch.add(torch.sqrt(state["square_avg"]), eps), value=-lr)


def _adam_torch(p, g, state, *, lr, betas, eps, weight_decay):
    before = {"step": torch.tensor(float(state.get("step", 0))), "exp_avg": state.get("m"), "exp_avg_sq": state.get("v")}  # fmt: skip
    new, after = _torch_update(
        torch.optim.Adam, p, g, state, before, lr=lr, betas=betas, eps=eps,
        weight_decay=weight_decay,
    )  # fmt: skip
    state.update(step=int(after["step"]), m=after["exp_avg"].clone(), v=after["exp_avg_sq"].clone())
    return new


def _adam_math(p, g, state, *, lr, betas, eps, weight_decay):
    beta1, beta2 = betas
    state["step"] = t = state.get("step", 0) + 1
    if weight_decay:
        g = g.add(p, alpha=weight_decay)
    zeros = torch.zeros_like(p)
    state["m"] = m = torch.lerp(state.get("m", zeros), g, 1 - beta1)
    state["v"] = v = state.get("v", zeros).mul(beta2).addcmul(g, g, value=1 - beta2)
    step_size = lr / (1 - beta1**t)
    denom = v.sqrt().div(math.sqrt(1 - beta2**t)).add(eps)
    return p.addcdiv(m, denom, value=-step_size)


def _adamw_torch(p, g, state, *, lr, weight_decay, betas, eps):
    before = {"step": torch.tensor(float(state.get("step", 0))), "exp_avg": state.get("m"), "exp_avg_sq": state.get("v")}  # fmt: skip
    new, after = _torch_update(
        torch.optim.AdamW, p, g, state, before, lr=lr, betas=betas, eps=eps,
        weight_decay=weight_decay,
    )  # fmt: skip
    state.update(step=int(after["step"]), m=after["exp_avg"].clone(), v=after["exp_avg_sq"].clone())
    return new


def _adamw_calling_adam(p, g, state, *, lr, weight_decay, **adam_settings):
    shrunk = p * (1 - lr * weight_decay)
    return ex.adam_step(shrunk, g, state, lr=lr, **adam_settings)


@pytest.mark.parametrize(
    ("q", "answer"),
    [(ex.t2, _adagrad_torch), (ex.t2, _adagrad_in_place), (ex.t3, _rmsprop_torch),
     (ex.t3, _rmsprop_functional), (ex.t4, _adam_torch), (ex.t4, _adam_math),
     (ex.t5, _adamw_torch), (ex.t5, _adamw_calling_adam)],
    ids=lambda v: getattr(v, "name", None) or getattr(v, "__name__", ""),
)  # fmt: skip
def test_rules_accept_torch_optim_itself_and_other_spellings(q, answer):
    result = q.check(answer)
    assert result.correct, result.message


def test_t4_names_a_textbook_adam_right_up_to_rounding_but_not_bit_for_bit():
    def textbook(p, g, state, *, lr, betas, eps, weight_decay):
        beta1, beta2 = betas
        t = state["step"] = state.get("step", 0) + 1
        g = g + weight_decay * p
        m = state["m"] = beta1 * state.get("m", torch.zeros_like(p)) + (1 - beta1) * g
        v = state["v"] = beta2 * state.get("v", torch.zeros_like(p)) + (1 - beta2) * g * g
        return p - lr * (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + eps)

    message = ex.t4.check(textbook).message
    assert "up to float32 rounding" in message and "not bit for bit" in message
    assert "m.lerp(g, 1 - beta1)" in message


def test_rules_name_a_missing_state_entry_and_a_wrong_return():
    def forgets_state(p, g, state, *, lr, eps, weight_decay):
        return ex.adagrad_step(p, g, {}, lr=lr, eps=eps, weight_decay=weight_decay)

    def returns_nothing(p, g, state, *, lr, eps, weight_decay):
        ex.adagrad_step(p, g, state, lr=lr, eps=eps, weight_decay=weight_decay)

    assert "state has no entry 'sum'" in ex.t2.check(forgets_state).message
    assert "returned NoneType" in ex.t2.check(returns_nothing).message


def test_rule_cases_fill_the_state_with_earlier_updates():
    """A first update cannot tell a running sum from the last g²: the cases hold earlier ones."""
    for q, key in ((ex.t2, "sum"), (ex.t3, "square_avg"), (ex.t4, "m"), (ex.t5, "v")):
        cases = q.cases()
        assert not cases[0]["state"] and any(key in c["state"] for c in cases[1:]), q.name
        assert all(c["p"].numel() >= 200 for c in cases), "big enough to show a rounding"


def test_t5_reference_is_torch_adamw_over_many_updates():
    gen = torch.Generator().manual_seed(0)
    p = torch.randn(50, generator=gen, requires_grad=True)
    opt = torch.optim.AdamW([p], lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    q, state = p.detach().clone(), {}
    for _ in range(150):
        g = torch.randn(50, generator=gen)
        p.grad = g.clone()
        opt.step()
        q = ex.adamw_step(q, g, state, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
        assert torch.equal(q, p.detach())


# --- t6: clipping by norm -------------------------------------------------------------------------


def _clip_zero_first(model, optimizer, xb, yb, max_norm):
    optimizer.zero_grad()
    F.mse_loss(model(xb), yb).backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
    optimizer.step()
    return float(norm)


def _clip_by_hand(model, optimizer, xb, yb, max_norm):
    loss = F.mse_loss(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    norm = torch.sqrt(sum((g**2).sum() for g in grads))
    scale = min(1.0, max_norm / (float(norm) + 1e-6))  # clip_grad_norm_'s own factor
    for g in grads:
        g.mul_(scale)
    optimizer.step()
    return norm


@pytest.mark.parametrize("answer", [_clip_zero_first, _clip_by_hand], ids=lambda f: f.__name__)
def test_t6_accepts_other_orders_and_clipping_by_hand(answer):
    result = ex.t6.check(answer)
    assert result.correct, result.message


def test_t6_cases_clip_and_do_not_clip():
    """Clipping acts in some cases and not in another, so returning max_norm or min(norm,
    max_norm) cannot pass."""
    found = []
    for case in ex.t6.cases():
        model, xb, yb = case["model"], case["xb"], case["yb"]
        F.mse_loss(model(xb), yb).backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
        found.append(float(norm) > case["max_norm"])
    assert any(found) and not all(found)


def test_t6_names_a_missing_return():
    def no_return(model, optimizer, xb, yb, max_norm):
        loss = F.mse_loss(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()

    assert "returned None" in ex.t6.check(no_return).message


# --- t7: the gradient norm of every layer's weights ---------------------------------------------


def _norms_by_name(model):
    """Through named_parameters, as tensors (a 0-d tensor per layer)."""
    return [torch.linalg.vector_norm(p.grad) for n, p in model.named_parameters() if n.endswith("weight")]  # fmt: skip


def _norms_by_hand(model):
    """A loop, the norm written out in float64, returned as one tensor."""
    out = []
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            out.append(float((layer.weight.grad.double() ** 2).sum().sqrt()))
    return torch.tensor(out)


@pytest.mark.parametrize("answer", [_norms_by_name, _norms_by_hand], ids=lambda f: f.__name__)
def test_t7_accepts_other_ways_to_write_it(answer):
    result = ex.t7.check(answer)
    assert result.correct, result.message


def test_t7_cases_include_a_deep_model_and_a_layer_without_bias():
    cases = ex.t7.cases()
    norms = [ex.layer_gradient_norms(c["model"]) for c in cases]
    assert max(n[-1] / n[0] for n in norms) > 100, "a case whose norms span orders of magnitude"
    assert any(m.bias is None for c in cases for m in c["model"].modules() if isinstance(m, nn.Linear))  # fmt: skip


def test_t7_names_a_wrong_count_and_a_wrong_layer():
    def first_two(model):
        return ex.layer_gradient_norms(model)[:2]

    def last_doubled(model):
        norms = ex.layer_gradient_norms(model)
        return norms[:-1] + [2 * norms[-1]]

    assert (
        "returned 2 norms, but the model has 3 nn.Linear layers" in ex.t7.check(first_two).message
    )
    assert "for layer 3, the norm is" in ex.t7.check(last_doubled).message


# --- q6: AMSGrad --------------------------------------------------------------------------------


def test_q6_reference_is_torch_amsgrad_up_to_rounding():
    gen = torch.Generator().manual_seed(1)
    p = torch.randn(40, generator=gen, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.01, betas=(0.8, 0.9), amsgrad=True)
    q, state = p.detach().clone(), {}
    for k in range(200):
        g = torch.randn(40, generator=gen) * (5.0 if k % 25 == 0 else 0.2)
        p.grad = g.clone()
        opt.step()
        q = ex.amsgrad_step(q, g, state, lr=0.01, betas=(0.8, 0.9))
    torch.testing.assert_close(q, p.detach(), rtol=1e-5, atol=1e-6)


def _amsgrad_torch(p, g, state, *, lr, betas, eps):
    before = {"step": torch.tensor(float(state.get("step", 0))), "exp_avg": state.get("m"),
              "exp_avg_sq": state.get("v"), "max_exp_avg_sq": state.get("v_max")}  # fmt: skip
    new, after = _torch_update(torch.optim.Adam, p, g, state, before, lr=lr, betas=betas, eps=eps, amsgrad=True)  # fmt: skip
    state.update(step=int(after["step"]), m=after["exp_avg"].clone(), v=after["exp_avg_sq"].clone(), v_max=after["max_exp_avg_sq"].clone())  # fmt: skip
    return new


def _amsgrad_textbook(p, g, state, *, lr, betas, eps):
    beta1, beta2 = betas
    t = state["step"] = state.get("step", 0) + 1
    m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g**2
    v_max = state["v_max"] = torch.maximum(state.get("v_max", torch.zeros_like(v)), v)
    return p - lr * (m / (1 - beta1**t)) / ((v_max / (1 - beta2**t)).sqrt() + eps)


@pytest.mark.parametrize("answer", [_amsgrad_torch, _amsgrad_textbook], ids=lambda f: f.__name__)
def test_q6_accepts_torch_itself_and_the_textbook_form(answer):
    result = ex.q6.check(answer)
    assert result.correct, result.message


def test_q6_cases_have_v_below_its_maximum():
    for case in ex.q6.cases():
        assert bool((case["state"]["v"] < case["state"]["v_max"]).any())
