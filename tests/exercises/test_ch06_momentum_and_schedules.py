"""Chapter 06 exercises: the answers match torch.optim.SGD; what the story's t1–t4 accept besides
the reference and what they say about other wrong answers; their references are the chapter's
(so the story prints what it printed before they became your-turn cells); the checks leave the
cases and the generators alone. The rules every exercise keeps are tested in test_rules.py."""

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
from gdlessons.chapters import ch06_momentum_and_schedules as ch
from gdlessons.chapters.ch06_momentum_and_schedules import sgd_step
from gdlessons.exercises import ch06_momentum_and_schedules as ex
from tests.exercises import shared

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {
    "q1": (-0.29, -0.19),
    "q2": (0.669, 0.818),
    "q3": (0.0125, 0.1),
    "q4": (0.91, 0.1),
    "q5": (1.998, 2.0),
    "q6": (0.74, 0.9),
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

    ex.t1.check(in_place_everywhere)
    assert torch.equal(before, torch.get_rng_state())
    assert ex.t1.check(shared.solution_of(ex.t1, "sgd_path")).correct


# --- t1 ---------------------------------------------------------------------------------------


def test_t1_only_the_plain_arithmetic_mistake_is_right_to_rounding():
    """t1 wants the reference's path bit for bit but matches a mistake's to rounding, so its
    mistake "right to rounding but not bit for bit" is the one the reference's path would pass
    for (test_rules.py checks that no mistake's path passes for the reference's)."""
    cases = ex.t1.cases()

    def path(fn):
        return [ex.t1.outcome(fn(**case), case) for case in ex.t1.cases()]

    reference = path(ex.t1.reference)
    for m in ex.t1.mistakes:
        close = all(ex.t1.compare(g, w, c) is None for g, w, c in zip(reference, path(m.fn), cases))
        assert close == (m.fn is ex._plain_arithmetic), m.fn.__name__


def test_t1_the_chapters_sgd_step_matches_the_reference_bit_for_bit():
    for case in ex._path_cases():
        want = ex._torch_sgd_path(**case)
        p, v, got = [case["p"]], [None], []
        for lr in case["lrs"]:
            p, v = sgd_step(p, [case["grad"](p[0])], v, lr=lr, momentum=case["momentum"],
                            nesterov=case["nesterov"], weight_decay=case["weight_decay"])  # fmt: skip
            got.append(p[0])
        assert all(torch.equal(a, b) for a, b in zip(got, want))


def test_t1_cases_cover_heavy_ball_nesterov_decay_and_changing_rates():
    cases = ex._path_cases()
    assert {c["nesterov"] for c in cases} == {False, True}
    assert {c["weight_decay"] > 0 for c in cases} == {False, True}
    assert any(len(set(c["lrs"])) == 1 for c in cases) and any(
        len(set(c["lrs"])) > 1 for c in cases
    )


def test_t1_other_wrong_answers_get_the_first_difference():
    def wrong_momentum(p, grad, lrs, momentum, nesterov, weight_decay):
        return ex._by_hand(p, grad, lrs, momentum * 0.9, nesterov, weight_decay)

    result = ex.t1.check(wrong_momentum)
    assert result.message.startswith("With momentum=0.9, nesterov=False, weight_decay=0.0: after "
                                     "iteration 2, p differs by")  # fmt: skip

    def last_only(p, grad, lrs, momentum, nesterov, weight_decay):
        return ex._by_hand(p, grad, lrs, momentum, nesterov, weight_decay)[-1]

    assert "not one tensor" in ex.t1.check(last_only).message

    def half_plain(p, grad, lrs, momentum, nesterov, weight_decay):  # only p - lr * step
        path, v = [], None
        for lr in lrs:
            g = grad(p).add(p, alpha=weight_decay)
            v = g.clone() if v is None else v.mul(momentum).add(g)
            p = p - lr * (g.add(v, alpha=momentum) if nesterov else v)
            path.append(p)
        return path

    plain = next(m.message for m in ex.t1.mistakes if m.fn is ex._plain_arithmetic)
    if ex.t1.check(ex._plain_arithmetic).status == "incorrect":  # this CPU fuses add(alpha)
        assert ex.t1.check(half_plain).message.startswith(plain)
    else:  # it rounds plain arithmetic as torch does: the same bits are right
        assert ex.t1.check(half_plain).status == "correct"

    def float64(p, grad, lrs, momentum, nesterov, weight_decay):
        return [
            t.double() for t in ex._torch_sgd_path(p, grad, lrs, momentum, nesterov, weight_decay)
        ]

    assert (
        "your path has dtype torch.float64, expected torch.float32" in ex.t1.check(float64).message
    )


# --- t4 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("warmup", "total"), [(10, 100), (3, 12), (25, 60), (1, 3), (20, 400)])
def test_t4_reference_is_the_chapters_warmup_cosine(warmup, total):
    ours = ex._rates(ex._warmup_cosine_lambda(warmup, total), dict(total_iterations=total))
    chapter = sch.rate_curve(sch.warmup_cosine(total, warmup, start_factor=ex.WARMUP_START), total)
    np.testing.assert_allclose(ours, chapter, rtol=1e-12, atol=1e-15)


def test_t4_other_wrong_answers_are_named():
    def a_number(warmup_iterations, total_iterations):
        return 0.5 * warmup_iterations

    assert "not a float" in ex.t4.check(a_number).message

    def falls_through(warmup_iterations, total_iterations):
        def factor(t):
            if t < warmup_iterations:
                return 0.01 + 0.99 * t / warmup_iterations

        return factor

    assert "factor(10) returned None: it must return a number" in ex.t4.check(falls_through).message

    def divides_by_zero(warmup_iterations, total_iterations):
        def factor(t):
            return 1 / (t - warmup_iterations)

        return factor

    raised = ex.t4.check(divides_by_zero)
    assert "ZeroDivisionError" in raised.message and "in factor" in raised.message

    def plain_cosine(warmup_iterations, total_iterations):
        return lambda t: 0.5 * (1 + math.cos(math.pi * t / total_iterations))

    assert "at iteration 1, the rate is 1.0, expected 0.01" in ex.t4.check(plain_cosine).message


def test_t4_stops_a_factor_that_never_returns(monkeypatch):
    def endless_factor(warmup_iterations, total_iterations):
        def factor(t):
            while True:
                pass

        return factor

    monkeypatch.setattr(ex.t4, "time_limit", 0.3)
    start = time.monotonic()
    assert "stopped after 0.3 s" in ex.t4.check(endless_factor).message
    assert time.monotonic() - start < 5


def test_t4_accepts_numpy_and_tensor_factors():
    def in_numpy(warmup_iterations, total_iterations):
        reference = ex._warmup_cosine_lambda(warmup_iterations, total_iterations)
        return lambda t: np.float64(reference(t))

    assert ex.t4.check(in_numpy).correct


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
        (ex.q4, 0.1, "That is PyTorch's form"),
        (ex.q4, 0.9, "The newest gradient joins the velocity"),
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
    ``question``: the your-turn cell above its ``ex.tN.use(...)`` (the answer is defined there, so
    the notebook's globals are its own)."""
    cells = [
        "".join(c["source"])
        for c in json.loads(NOTEBOOK.read_text())["cells"]
        if c["cell_type"] == "code"
    ]
    at = next(i for i, s in enumerate(cells) if f"ex.{question}.use(" in s)
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


@pytest.mark.parametrize(("question", "name"), [("t1", "sgd_path"), ("t4", "warmup_cosine_lambda")])
def test_an_answer_using_torch_and_lambdalr_runs_in_the_notebook(question, name):
    """The issue: the exercises speak of torch and LambdaLR but the chapter never imported them,
    so an answer using them failed with NameError."""
    namespace = notebook_namespace(question)
    assert {"torch", "LambdaLR", "np"} <= namespace.keys()
    exec(ANSWER_WITH_TORCH_AND_LAMBDALR, namespace)
    result = getattr(ex, question).check(namespace[name])
    assert result.correct, result.message


# --- correct answers written differently from the reference ----------------------------------


def t1_in_place_velocity_buffer(p, grad, lrs, momentum, nesterov, weight_decay):
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


def t1_torch_sgd_driven_by_lambdalr(p, grad, lrs, momentum, nesterov, weight_decay):
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
    [t1_in_place_velocity_buffer, t1_torch_sgd_driven_by_lambdalr],
    ids=lambda fn: fn.__name__,
)
def test_t1_accepts_correct_answers_written_differently(fn):
    result = ex.t1.check(fn)
    assert result.correct, result.message


def t4_one_lambda_squared_cosine(warmup_iterations, total_iterations):
    """One lambda; the warm-up as an interpolation, the half cosine as cos²(π·s/2)."""
    W, T = warmup_iterations, total_iterations
    return lambda t: (
        (1 - t / W) * 0.01 + t / W if t < W else math.cos(math.pi / 2 * (t - W) / (T - W)) ** 2
    )


def t4_precomputed_table(warmup_iterations, total_iterations):
    """Every factor computed once with numpy, then looked up."""
    W, T = warmup_iterations, total_iterations
    warm = np.linspace(0.01, 1.0, W + 1)[:-1]
    decay = 0.5 * (1 + np.cos(np.pi * np.linspace(0.0, 1.0, T - W + 1)))
    table = np.concatenate([warm, decay])
    return lambda t: float(table[min(t, T)])


def t4_read_off_linearlr_then_cosineannealinglr(warmup_iterations, total_iterations):
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
        t4_one_lambda_squared_cosine,
        t4_precomputed_table,
        t4_read_off_linearlr_then_cosineannealinglr,
    ],
    ids=lambda fn: fn.__name__,
)
def test_t4_accepts_correct_answers_written_differently(fn):
    result = ex.t4.check(fn)
    assert result.correct, result.message


# --- t2: the rate inside the velocity ----------------------------------------------------------


def t2_torch_sgd_on_scaled_gradients(p, grad, lrs, momentum):
    """torch.optim.SGD at rate 1 fed η·g: its buffer μ·b + η·g is the η-inside velocity, and its
    move p − 1·b is p − v."""
    p = p.detach().clone().requires_grad_(True)
    optimizer = torch.optim.SGD([p], lr=1.0, momentum=momentum)
    path = []
    for lr in lrs:
        p.grad = lr * grad(p.detach())
        optimizer.step()
        path.append(p.detach().clone())
    return path


def t2_zero_velocity_in_place(p, grad, lrs, momentum):
    """v starts at zeros (μ·0 + η·g is η·g), kept as a buffer updated in place; p moves in place
    too, and each p is appended as a copy."""
    p, v, path = p.clone(), torch.zeros_like(p), []
    for lr in lrs:
        v.mul_(momentum).add_(grad(p), alpha=lr)
        p.sub_(v)
        path.append(p.clone())
    return path


@pytest.mark.parametrize(
    "fn", [t2_torch_sgd_on_scaled_gradients, t2_zero_velocity_in_place], ids=lambda fn: fn.__name__
)
def test_t2_accepts_correct_answers_written_differently(fn):
    result = ex.t2.check(fn)
    assert result.correct, result.message


def test_t2_cases_tell_the_two_forms_apart_only_when_the_rate_changes():
    """The η-inside form and PyTorch's agree at a constant rate and part at a change: the cases
    hold both, so the "PyTorch's form" mistake is caught."""
    for case in ex._textbook_cases():
        ours, torch_form = ex._eta_inside_path(**case), ex._rate_outside(**case)
        agree = all(torch.allclose(a, b, rtol=1e-9, atol=1e-12) for a, b in zip(ours, torch_form))
        assert agree == (len(set(case["lrs"])) == 1)


def test_t2_a_single_tensor_or_an_uphill_path_is_named():
    def last_only(p, grad, lrs, momentum):
        return ex._eta_inside_path(p, grad, lrs, momentum)[-1]

    assert "not one tensor" in ex.t2.check(last_only).message

    def uphill(p, grad, lrs, momentum):
        path, v = [], None
        for lr in lrs:
            g = grad(p)
            v = lr * g if v is None else momentum * v + lr * g
            p = p + v
            path.append(p)
        return path

    assert "after iteration 1, p differs by" in ex.t2.check(uphill).message


# --- the story goes on with t1 and t2: the same numbers as before ------------------------------


@pytest.mark.parametrize("iterations", [150, 40])  # the chapter's default and off-default length
def test_t1_and_t2_references_give_the_chapters_quadratic_paths_bit_for_bit(iterations):
    """Section 2 ran ``ch.quadratic_path``; it now runs the student's functions or these
    references, which give the very same paths (so the same printed step lengths)."""
    curvatures = torch.tensor(ch.CURVATURES, dtype=torch.float64)
    start = torch.tensor(ch.START, dtype=torch.float64)
    drop_at = min(40, iterations // 2)
    for rates in ([0.7] * iterations, [0.7] * drop_at + [0.07] * (iterations - drop_at)):
        grad = lambda x: curvatures * x  # noqa: E731
        paths = {
            "pytorch": ex.t1.reference(start.clone(), grad, rates, 0.9, False, 0.0),
            "eta_inside": ex.t2.reference(start.clone(), grad, rates, 0.9),
        }
        for form, path in paths.items():
            ours = np.array([np.asarray(x, dtype=float) for x in (start, *path)])
            theirs = ch.quadratic_path(ch.CURVATURES, ch.START, rates, momentum=0.9, form=form)
            assert np.array_equal(ours, theirs), form


# --- t3: heavy-ball momentum's convergence factor ----------------------------------------------


def t3_characteristic_roots(lr, momentum, curvatures):
    """No matrix: x_{k+1} = (1 + μ − ηλ)·x_k − μ·x_{k−1}, so the factor is the larger root of
    z² − (1 + μ − ηλ)·z + μ (np.roots), worst direction."""
    return max(
        max(abs(np.roots([1.0, -(1 + momentum - lr * lam), momentum]))) for lam in curvatures
    )


def t3_torch_companion_matrices(lr, momentum, curvatures):
    """The matrix on (x_k, x_{k−1}), all directions at once, with torch.linalg.eigvals."""
    lam = torch.tensor(curvatures, dtype=torch.float64)
    top = torch.stack([1 + momentum - lr * lam, -momentum * torch.ones_like(lam)], dim=-1)
    bottom = torch.tensor([1.0, 0.0], dtype=torch.float64).expand_as(top)
    matrices = torch.stack([top, bottom], dim=-2)  # one 2×2 matrix per direction
    return torch.linalg.eigvals(matrices).abs().max()


@pytest.mark.parametrize(
    "fn", [t3_characteristic_roots, t3_torch_companion_matrices], ids=lambda fn: fn.__name__
)
def test_t3_accepts_correct_answers_written_differently(fn):
    result = ex.t3.check(fn)
    assert result.correct, result.message


def test_t3_reference_is_what_the_maps_show_and_polyaks_factor_at_his_pair():
    best = ch.best_on_grid(ch.CURVATURES, ch.MAP_LRS, ch.MAP_MOMENTA)
    assert ex._momentum_factor(best.lr, best.momentum, ch.CURVATURES) == pytest.approx(best.factor)
    theory = ch.optimal_pair(ch.CURVATURES)
    got = ex._momentum_factor(theory.lr, theory.momentum, ch.CURVATURES)
    assert got == pytest.approx(theory.factor, rel=1e-6)
    for mu in (0.9, 0.99):  # the bands at the top of the map: √μ, whatever η
        assert ex._momentum_factor(1.0, mu, ch.CURVATURES) == pytest.approx(math.sqrt(mu))


def test_t3_other_wrong_answers_are_named():
    def complex_root(lr, momentum, curvatures):
        return np.roots([1.0, -(1 + momentum - lr * curvatures[-1]), momentum])[0]

    assert "complex number" in ex.t3.check(complex_root).message

    def all_of_them(lr, momentum, curvatures):
        return [ex._momentum_factor(lr, momentum, [lam]) for lam in curvatures]

    assert "return one number" in ex.t3.check(all_of_them).message


# --- q6: the best momentum at η = 1 --------------------------------------------------------------


def test_q6_answer_is_the_maps_best_momentum_at_that_rate():
    momenta = np.round(np.arange(0.0, 1.0, 0.01), 2)  # the explorer's μ slider
    factors = [ex._momentum_factor(ex.LR6, mu, ch.CURVATURES) for mu in momenta]
    best = float(momenta[int(np.argmin(factors))])
    assert ex.q6.check(best).correct
    assert factors[int(np.argmin(factors))] == pytest.approx(ex._factor6, abs=0.01)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (0.9, "where the explorer starts"),
        (0.949, "the factor at the start"),
        (0.859, "the best factor"),
        (0.566, "Polyak's μ*"),
        (0.0, "Without momentum"),
    ],
)
def test_q6_typical_mistakes_are_named(wrong, named):
    assert named in ex.q6.check(wrong).message
