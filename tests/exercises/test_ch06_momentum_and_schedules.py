"""Chapter 06 exercises: the answers match torch.optim.SGD; what q6 and q7 accept besides the
reference and what they say about other wrong answers; their references are the chapter's; the
checks leave the cases and the generators alone. The rules every exercise keeps are tested in
test_rules.py."""

from __future__ import annotations

import ast
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gdlessons import schedules as sch
from gdlessons.chapters.ch06_momentum_and_schedules import sgd_step
from gdlessons.exercises import ch06_momentum_and_schedules as ex
from tests.exercises import shared

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {
    "q1": (-0.29, -0.19),
    "q2": (0.669, 0.818),
    "q3": (0.0125, 0.1),
    "q4": ("pytorch", "eta_inside"),
    "q5": (1.998, 2.0),
}


def test_q1_matches_torch_sgd():
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    for _ in range(2):
        p.grad = torch.ones(1)
        opt.step()
    assert ex.q1.check(p.item()).correct


def test_q5_matches_torch_sgd():
    p = torch.tensor([2.0], requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1, weight_decay=0.01)
    p.grad = torch.zeros(1)
    opt.step()
    assert ex.q5.check(p.item()).correct


def test_checks_leave_the_cases_and_the_global_generators_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()

    def in_place_everywhere(p, grad, lrs, momentum, nesterov, weight_decay):
        grad.X.mul_(2)  # vandalism on the case's data must stay private to this call
        p.zero_()
        torch.rand(3)
        return [p] * len(lrs)

    ex.q6.check(in_place_everywhere)
    assert torch.equal(before, torch.get_rng_state())
    assert ex.q6.check(shared.solution_of(ex.q6, "sgd_path")).correct


# --- q6 ---------------------------------------------------------------------------------------


def test_q6_only_the_plain_arithmetic_mistake_is_right_to_rounding():
    """q6 wants the reference's path bit for bit but matches a mistake's to rounding, so its
    mistake "right to rounding but not bit for bit" is the one the reference's path would pass
    for (test_rules.py checks that no mistake's path passes for the reference's)."""
    cases = ex.q6.cases()

    def path(fn):
        return [ex.q6.outcome(fn(**case), case) for case in ex.q6.cases()]

    reference = path(ex.q6.reference)
    for m in ex.q6.mistakes:
        close = all(ex.q6.compare(g, w, c) is None for g, w, c in zip(reference, path(m.fn), cases))
        assert close == (m.fn is ex._plain_arithmetic), m.fn.__name__


def test_q6_the_chapters_sgd_step_matches_the_reference_bit_for_bit():
    for case in ex._path_cases():
        want = ex._torch_sgd_path(**case)
        p, v, got = [case["p"]], [None], []
        for lr in case["lrs"]:
            p, v = sgd_step(p, [case["grad"](p[0])], v, lr=lr, momentum=case["momentum"],
                            nesterov=case["nesterov"], weight_decay=case["weight_decay"])  # fmt: skip
            got.append(p[0])
        assert all(torch.equal(a, b) for a, b in zip(got, want))


def test_q6_cases_cover_heavy_ball_nesterov_decay_and_changing_rates():
    cases = ex._path_cases()
    assert {c["nesterov"] for c in cases} == {False, True}
    assert {c["weight_decay"] > 0 for c in cases} == {False, True}
    assert any(len(set(c["lrs"])) == 1 for c in cases) and any(
        len(set(c["lrs"])) > 1 for c in cases
    )


def test_q6_other_wrong_answers_get_the_first_difference():
    def wrong_momentum(p, grad, lrs, momentum, nesterov, weight_decay):
        return ex._by_hand(p, grad, lrs, momentum * 0.9, nesterov, weight_decay)

    result = ex.q6.check(wrong_momentum)
    assert result.message.startswith("With momentum=0.9, nesterov=False, weight_decay=0.0: after "
                                     "iteration 2, p differs by")  # fmt: skip

    def last_only(p, grad, lrs, momentum, nesterov, weight_decay):
        return ex._by_hand(p, grad, lrs, momentum, nesterov, weight_decay)[-1]

    assert "not one tensor" in ex.q6.check(last_only).message

    def half_plain(p, grad, lrs, momentum, nesterov, weight_decay):  # only p - lr * step
        path, v = [], None
        for lr in lrs:
            g = grad(p).add(p, alpha=weight_decay)
            v = g.clone() if v is None else v.mul(momentum).add(g)
            p = p - lr * (g.add(v, alpha=momentum) if nesterov else v)
            path.append(p)
        return path

    plain = next(m.message for m in ex.q6.mistakes if m.fn is ex._plain_arithmetic)
    assert ex.q6.check(half_plain).message.startswith(plain)

    def float64(p, grad, lrs, momentum, nesterov, weight_decay):
        return [
            t.double() for t in ex._torch_sgd_path(p, grad, lrs, momentum, nesterov, weight_decay)
        ]

    assert (
        "your path has dtype torch.float64, expected torch.float32" in ex.q6.check(float64).message
    )


# --- q7 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("warmup", "total"), [(10, 100), (3, 12), (25, 60), (1, 3), (20, 400)])
def test_q7_reference_is_the_chapters_warmup_cosine(warmup, total):
    ours = ex._rates(ex._warmup_cosine_lambda(warmup, total), dict(total_iterations=total))
    chapter = sch.rate_curve(sch.warmup_cosine(total, warmup, start_factor=ex.WARMUP_START), total)
    np.testing.assert_allclose(ours, chapter, rtol=1e-12, atol=1e-15)


def test_q7_other_wrong_answers_are_named():
    def a_number(warmup_iterations, total_iterations):
        return 0.5 * warmup_iterations

    assert "not a float" in ex.q7.check(a_number).message

    def falls_through(warmup_iterations, total_iterations):
        def factor(t):
            if t < warmup_iterations:
                return 0.01 + 0.99 * t / warmup_iterations

        return factor

    assert "factor(10) returned None: it must return a number" in ex.q7.check(falls_through).message

    def divides_by_zero(warmup_iterations, total_iterations):
        def factor(t):
            return 1 / (t - warmup_iterations)

        return factor

    raised = ex.q7.check(divides_by_zero)
    assert "ZeroDivisionError" in raised.message and "in factor" in raised.message

    def plain_cosine(warmup_iterations, total_iterations):
        return lambda t: 0.5 * (1 + math.cos(math.pi * t / total_iterations))

    assert "at iteration 1, the rate is 1.0, expected 0.01" in ex.q7.check(plain_cosine).message


def test_q7_stops_a_factor_that_never_returns(monkeypatch):
    def endless_factor(warmup_iterations, total_iterations):
        def factor(t):
            while True:
                pass

        return factor

    monkeypatch.setattr(ex.q7, "time_limit", 0.3)
    start = time.monotonic()
    assert "stopped after 0.3 s" in ex.q7.check(endless_factor).message
    assert time.monotonic() - start < 5


def test_q7_accepts_numpy_and_tensor_factors():
    def in_numpy(warmup_iterations, total_iterations):
        reference = ex._warmup_cosine_lambda(warmup_iterations, total_iterations)
        return lambda t: np.float64(reference(t))

    assert ex.q7.check(in_numpy).correct


# --- feedback that teaches --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "wrong", "named"),
    [
        (ex.q1, -0.2, "plain gradient descent"),
        (ex.q1, -0.19, "Your second velocity is μ·v alone"),
        (ex.q1, -2.0, "effective rate η/(1 − μ)"),
        (ex.q2, 9 / 11, "the optimal μ is that factor squared"),
        (ex.q3, 0.1, "where a fresh scheduler starts"),
        (ex.q3, 0.025, "before the 300th step"),
        (ex.q4, "eta inside", "In the η-inside form"),
        (ex.q5, 2.0, "even when the loss gradient is 0"),
        (ex.q5, 1.98, "without the learning rate"),
    ],
)
def test_typical_mistakes_are_named(q, wrong, named):
    assert named in q.check(wrong).message


def test_q1_mistakes_agree_with_torch_sgd():
    """The "no momentum" mistake is what torch.optim.SGD gives without momentum."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    for _ in range(2):
        p.grad = torch.ones(1)
        opt.step()
    assert "plain gradient descent" in ex.q1.check(p.item()).message


# --- the notebook's namespace ----------------------------------------------------------------

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "06_momentum_and_schedules.ipynb"


def notebook_namespace(question: str) -> dict:
    """What a student's answer sees: the names the notebook imports above the cell that checks
    ``question`` (the answer is defined in that cell, so the notebook's globals are its own)."""
    cells = [
        "".join(c["source"])
        for c in json.loads(NOTEBOOK.read_text())["cells"]
        if c["cell_type"] == "code"
    ]
    at = next(i for i, s in enumerate(cells) if f"ex.{question}.check(" in s)
    namespace: dict = {}
    for source in cells[:at]:
        for node in ast.parse(source).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                exec(compile(ast.Module([node], type_ignores=[]), "notebook", "exec"), namespace)
    return namespace


ANSWER_WITH_TORCH_AND_LAMBDALR = """
def warmup_cosine_lambda(warmup_iterations, total_iterations):
    W, T = warmup_iterations, total_iterations

    def factor(t):
        if t < W:
            return 0.01 + 0.99 * t / W
        s = torch.tensor((t - W) / (T - W), dtype=torch.float64)
        return float(0.5 * (1 + torch.cos(np.pi * s)))

    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    LambdaLR(probe, factor)  # tried in a real scheduler before it is handed over
    return factor


def sgd_path(p, grad, lrs, momentum, nesterov, weight_decay):
    path, v = [], torch.zeros_like(p)
    for lr in lrs:
        g = grad(p)
        if weight_decay != 0:
            g = g.add(p, alpha=weight_decay)
        v = v.mul(momentum).add(g)
        step = g.add(v, alpha=momentum) if nesterov else v
        p = p.add(step, alpha=-lr)
        path.append(p)
    return path
"""


@pytest.mark.parametrize(("question", "name"), [("q6", "sgd_path"), ("q7", "warmup_cosine_lambda")])
def test_an_answer_using_torch_and_lambdalr_runs_in_the_notebook(question, name):
    """The issue: the exercises speak of torch and LambdaLR but the chapter never imported them,
    so an answer using them failed with NameError."""
    namespace = notebook_namespace(question)
    assert {"torch", "LambdaLR", "np"} <= namespace.keys()
    exec(ANSWER_WITH_TORCH_AND_LAMBDALR, namespace)
    result = getattr(ex, question).check(namespace[name])
    assert result.correct, result.message


# --- correct answers written differently from the reference ----------------------------------


def q6_in_place_velocity_buffer(p, grad, lrs, momentum, nesterov, weight_decay):
    """The velocity as a buffer updated in place (as torch.optim.SGD keeps its momentum_buffer),
    with torch's functional forms; p is a new tensor every update."""
    path, buf = [], None
    for lr in lrs:
        d_p = grad(p)
        if weight_decay != 0:
            d_p = torch.add(d_p, p, alpha=weight_decay)
        if buf is None:
            buf = torch.clone(d_p).detach()
        else:
            buf.mul_(momentum).add_(d_p)
        if nesterov:
            d_p = d_p.add(buf, alpha=momentum)
        else:
            d_p = buf
        p = torch.add(p, d_p, alpha=-lr)
        path.append(p)
    return path


def q6_torch_sgd_driven_by_lambdalr(p, grad, lrs, momentum, nesterov, weight_decay):
    """torch.optim.SGD itself at base rate 1, its rate set by a LambdaLR whose factor is the
    schedule's rate (1·η is η exactly)."""
    p = p.detach().clone().requires_grad_(True)
    optimizer = torch.optim.SGD(
        [p], lr=1.0, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: lrs[min(t, len(lrs) - 1)])
    path = []
    for _ in lrs:
        optimizer.zero_grad()
        p.grad = grad(p.detach())
        optimizer.step()
        scheduler.step()
        path.append(p.detach().clone())
    return path


@pytest.mark.parametrize(
    "fn",
    [q6_in_place_velocity_buffer, q6_torch_sgd_driven_by_lambdalr],
    ids=lambda fn: fn.__name__,
)
def test_q6_accepts_correct_answers_written_differently(fn):
    result = ex.q6.check(fn)
    assert result.correct, result.message


def q7_one_lambda_squared_cosine(warmup_iterations, total_iterations):
    """One lambda; the warm-up as an interpolation, the half cosine as cos²(π·s/2)."""
    W, T = warmup_iterations, total_iterations
    return lambda t: (
        (1 - t / W) * 0.01 + t / W if t < W else math.cos(math.pi / 2 * (t - W) / (T - W)) ** 2
    )


def q7_precomputed_table(warmup_iterations, total_iterations):
    """Every factor computed once with numpy, then looked up."""
    W, T = warmup_iterations, total_iterations
    warm = np.linspace(0.01, 1.0, W + 1)[:-1]
    decay = 0.5 * (1 + np.cos(np.pi * np.linspace(0.0, 1.0, T - W + 1)))
    table = np.concatenate([warm, decay])
    return lambda t: float(table[min(t, T)])


def q7_read_off_linearlr_then_cosineannealinglr(warmup_iterations, total_iterations):
    """torch's LinearLR then CosineAnnealingLR (joined by SequentialLR) run on a probe optimizer
    at rate 1, their rates handed to LambdaLR as factors."""
    W, T = warmup_iterations, total_iterations
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    warm = torch.optim.lr_scheduler.LinearLR(probe, start_factor=0.01, total_iters=W)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(probe, T_max=T - W)
    scheduler = torch.optim.lr_scheduler.SequentialLR(probe, [warm, decay], milestones=[W])
    factors = []
    for _ in range(T + 1):
        factors.append(probe.param_groups[0]["lr"])
        probe.step()
        scheduler.step()
    return lambda t: factors[min(t, T)]


@pytest.mark.parametrize(
    "fn",
    [
        q7_one_lambda_squared_cosine,
        q7_precomputed_table,
        q7_read_off_linearlr_then_cosineannealinglr,
    ],
    ids=lambda fn: fn.__name__,
)
def test_q7_accepts_correct_answers_written_differently(fn):
    result = ex.q7.check(fn)
    assert result.correct, result.message
