"""Chapter 05 exercises: the story's your-turn cells t1–t4 accept correct answers written
differently (torch.optim.SGD on the quadratic, torch.func, torch and explicit sums for the
preconditioned step, optimizer.state_dict()) and name what other wrong answers get wrong; the answers agree with the landscapes module; what the questions
accept besides the expected answer; what q5 and q6 say about other wrong answers, and that their
references are the chapter's bound and lr_range_test's rates; q7 agrees with the regimes the
explorer names; q8's answer is what running Newton's step on x⁴/4 gives. The rules every exercise
keeps are tested in test_rules.py."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from gdlessons.chapters import ch05_learning_rate as ch05
from gdlessons.data import quadratic_data
from gdlessons.exercises import ch05_learning_rate as ex
from gdlessons.landscapes import eigenvalues_from_condition, iterates, regime, stable_lr
from gdlessons.lr_finder import lr_range_test
from gdlessons.models import tutorial_mlp

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {
    "q1": (2 / 6, 1 / 6),
    "q2": (1 / 6, 2 / 6),
    "q3": ("oscillating", "divergent"),
    "q4": (0.2, 4.0),
    "q7": (9.0, 5.0),
    "q8": (12, 1),
}

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "05_learning_rate.ipynb"
OFF_DEFAULT_A = yaml.safe_load(  # the curvature the site's off-default run prints
    (NOTEBOOK.parents[1] / "tests" / "offdefault_params" / "05_learning_rate.yaml").read_text()
)["a"]


def test_answers_agree_with_the_landscapes_module():
    assert ex.q1.check(float(stable_lr(ex.A))).correct
    assert ex.q2.check(1 / ex.A).correct
    assert ex.q3.check(regime(ex.ETA3, ex.A)).correct
    assert ex.q4.check(float(stable_lr(10.0))).correct


def test_wrong_type_is_feedback_not_a_crash():
    assert ex.q1.check("half").status == "incorrect"
    assert ex.q3.check(" Oscillating ").correct


def parameters(path: Path) -> dict:
    cells = json.loads(path.read_text())["cells"]
    source = next(
        "".join(c["source"]) for c in cells if "parameters" in c["metadata"].get("tags", [])
    )
    namespace: dict = {}
    exec(source, namespace)
    return namespace


@pytest.mark.parametrize("a_shown", [parameters(NOTEBOOK)["a"], OFF_DEFAULT_A])
def test_q1_to_q3_cannot_be_read_off_the_output_above_them(a_shown):
    """The issue: q1–q3 asked about the chapter's own a = 4, whose bound, one-step rate and
    regimes the chapter prints just above. They ask about another curvature now, at the default
    parameters and at the off-default ones the site is built with."""
    assert a_shown == ex.A_CHAPTER or a_shown == OFF_DEFAULT_A
    assert not math.isclose(stable_lr(a_shown), stable_lr(ex.A))
    assert not math.isclose(1 / a_shown, 1 / ex.A)
    assert regime(ex.ETA3, a_shown) != regime(ex.ETA3, ex.A)
    assert f"a = {ex.A:g}" in ex.q1.prompt and f"{ex.A:g}·x²/2" in ex.q2.prompt + ex.q3.prompt


def test_copying_the_printed_answers_is_named():
    assert "the chapter's run printed above" in ex.q1.check(2 / ex.A_CHAPTER).message
    assert "the chapter's run printed above" in ex.q2.check(1 / ex.A_CHAPTER).message


@pytest.mark.parametrize(
    ("q", "wrong", "named"),
    [
        (ex.q1, 1 / 6, "That is the one-step rate"),
        (ex.q1, 3.0, "The formula is upside down"),
        (ex.q2, 2 / 6, "That is the stability bound"),
        (ex.q3, "divergent", "Did you take 1/a, the one-step rate, for the bound?"),
        (ex.q3, "fast monotone", "Compare η with 1/a"),
        (ex.q4, 4.0, "the flat direction's bound"),
        (ex.q4, 2 / 10.5, "the rate that converges fastest"),
    ],
)
def test_typical_mistakes_are_named(q, wrong, named):
    assert named in q.check(wrong).message


# --- q5 ---------------------------------------------------------------------------------------


def bowls_and_saddles():
    cases = ex._bound_cases()
    return [c for c in cases if min(c["curvatures"]) > 0], [
        c for c in cases if min(c["curvatures"]) < 0
    ]


def run_ends(lam, lr, n):
    """Where ``n`` updates x ← x − η·λ·x from x = (1, …, 1) end: the largest |coordinate|."""
    x = np.ones(len(lam))
    for _ in range(n):
        x = x - lr * np.asarray(lam) * x
    return np.abs(x).max()


def test_q5_reference_is_the_bound_on_bowls_and_none_on_the_saddle():
    bowls, saddles = bowls_and_saddles()
    for case in bowls:
        lam, lrs = case["curvatures"], case["lrs"]
        bound = float(stable_lr(max(lam)))
        assert ex._largest_stable_lr(lam, lrs) == max(lr for lr in lrs if lr < bound)
        # every candidate's fate is plain after 200 iterations (and after 20)
        for lr in lrs:
            for n in (20, 200):
                end = np.abs(iterates(lam, np.ones(len(lam)), lr, n)[-1]).max()
                assert (end < 1) == (lr < bound), (lam, lr, n)
                assert (run_ends(lam, lr, n) < 1) == (lr < bound)
    (saddle,) = saddles
    assert ex._largest_stable_lr(**saddle) is None
    assert all(run_ends(saddle["curvatures"], lr, 200) > 1 for lr in saddle["lrs"])


def test_q5_cases_separate_the_boundaries():
    """Every bowl has candidates on both sides of 1/λ_max, 2/λ_max and 2/λ_min, so each mistake
    shows; the 1-D case also checks a student who ignores all but one coordinate. The saddle has
    candidates below 2/λ_max, so the formula offers one where running finds none."""
    bowls, (saddle,) = bowls_and_saddles()
    assert [len(c["curvatures"]) for c in bowls] == [1, 2, 3]
    for case in bowls:
        lam, lrs = case["curvatures"], np.array(case["lrs"])
        for edge in (1 / max(lam), 2 / max(lam), 2 / min(lam)):
            assert (lrs < edge).any() and (lrs > edge).any()
        assert all(isinstance(x, float) for x in lam + case["lrs"])
    assert ex._closed_form(**saddle) is not None


def test_q5_refuses_the_closed_form_the_prompt_forbids_and_says_why():
    def by_formula(curvatures, lrs):
        return max(lr for lr in lrs if lr < 2 / max(curvatures))

    result = ex.q5.check(by_formula)
    assert result.status == "incorrect"
    assert "formula η < 2/λ_max, which the question asks you not to use" in result.message
    assert "saddle" in result.message

    def by_formula_or_equal(curvatures, lrs):
        return max(lr for lr in lrs if lr <= 2 / max(curvatures))

    assert "not to use" in ex.q5.check(by_formula_or_equal).message


def test_q5_accepts_a_run_written_any_way():
    def in_torch(curvatures, lrs):
        lam, largest = torch.tensor(curvatures, dtype=torch.float64), None
        for lr in lrs:
            x = torch.ones_like(lam)
            for _ in range(200):
                x = x * (1 - lr * lam)
            if x.abs().max() < 1:
                largest = lr
        return largest

    assert ex.q5.check(in_torch).correct


def test_q5_a_rate_on_the_saddle_is_explained():
    def never_none(curvatures, lrs):
        return ex._largest_stable_lr(curvatures, lrs) or lrs[0]

    message = ex.q5.check(never_none).message
    assert "a saddle" in message and "Return None when no candidate converges" in message


def test_q5_other_wrong_answers_are_named():
    too_large = ex.q5.check(lambda curvatures, lrs: lrs[-1])
    assert "diverges" in too_large.message and "|1 − η·λ_max|" in too_large.message
    too_small = ex.q5.check(lambda curvatures, lrs: lrs[0])
    assert "a larger candidate converges too" in too_small.message
    assert "not one of the candidate rates" in ex.q5.check(lambda curvatures, lrs: 0.123).message
    assert "a number" in ex.q5.check(lambda curvatures, lrs: "0.5").message

    def forgot_return(curvatures, lrs):
        largest = ex._largest_stable_lr(curvatures, lrs)  # noqa: F841

    assert "(a number), not None" in ex.q5.check(forgot_return).message


def test_q5_accepts_numpy_and_tensor_answers():
    def as_tensor(curvatures, lrs):
        largest = ex._largest_stable_lr(curvatures, lrs)
        return None if largest is None else torch.tensor(largest, dtype=torch.float64)

    def as_numpy(curvatures, lrs):
        largest = ex._largest_stable_lr(curvatures, lrs)
        return None if largest is None else np.float64(largest)

    assert ex.q5.check(as_tensor).correct
    assert ex.q5.check(as_numpy).correct


# --- q6 ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_q6_reference_is_what_lr_range_test_uses():
    result = lr_range_test(tutorial_mlp(seed=0), quadratic_data(200), start_lr=1e-5, end_lr=1e-2,
                           iterations=30)  # fmt: skip
    assert result.stop_reason.startswith("reached end_lr")
    assert result.lr == ex._sweep_rates(1e-5, 1e-2, 30)


def test_q6_names_the_first_difference_and_accepts_arrays():
    nudged = ex.q6.check(lambda start_lr, end_lr, iterations: [
        r * (1 + 1e-4 * (i == 3)) for i, r in enumerate(ex._sweep_rates(start_lr, end_lr, iterations))
    ])  # fmt: skip
    assert "With start_lr=1e-05, end_lr=10.0, iterations=200: at iteration i = 3, the rate is" in (
        nudged.message
    )
    shorter = ex.q6.check(lambda start_lr, end_lr, iterations: [start_lr] * (iterations - 1))
    assert "has 199 entries, expected 200" in shorter.message

    def as_array(start_lr, end_lr, iterations):
        return np.geomspace(start_lr, end_lr, iterations)

    assert ex.q6.check(as_array).correct


def test_q6_accepts_float32_rates_from_torch_logspace():
    """The issue: torch.logspace's float32 rates were refused for a difference of 2.5e-13,
    with nothing said about float32 or the tolerance."""

    def in_float32(start_lr, end_lr, iterations):
        return torch.logspace(math.log10(start_lr), math.log10(end_lr), iterations)

    assert in_float32(1e-5, 10.0, 200).dtype == torch.float32
    assert ex.q6.check(in_float32).correct
    assert ex.q6.check(
        lambda start_lr, end_lr, iterations: in_float32(start_lr, end_lr, iterations).tolist()
    ).correct
    assert "float32" in ex.q6.prompt and "10⁻⁵" in ex.q6.prompt


# --- correct answers written differently from the reference ----------------------------------


def q5_every_candidate_at_once_in_torch(curvatures, lrs):
    """All the candidates' runs side by side: one row of a float64 tensor per rate."""
    lam = torch.tensor(curvatures, dtype=torch.float64)
    eta = torch.tensor(lrs, dtype=torch.float64)[:, None]
    x = torch.ones(len(lrs), len(curvatures), dtype=torch.float64)
    for _ in range(200):
        x = x - eta * lam * x
    converged = (x.abs().amax(dim=1) < 1).tolist()
    stable = [lr for lr, ok in zip(lrs, converged) if ok]
    return stable[-1] if stable else None


def q5_largest_first_in_plain_python(curvatures, lrs):
    """Lists of floats, no numpy; tries the largest rate first and stops at the first that converges."""
    for lr in reversed(lrs):
        x = [1.0] * len(curvatures)
        for _ in range(200):
            x = [xi - lr * lam * xi for xi, lam in zip(x, curvatures)]
        if max(abs(xi) for xi in x) < 1:
            return lr
    return None


@pytest.mark.parametrize(
    "fn",
    [q5_every_candidate_at_once_in_torch, q5_largest_first_in_plain_python],
    ids=lambda fn: fn.__name__,
)
def test_q5_accepts_correct_answers_written_differently(fn):
    result = ex.q5.check(fn)
    assert result.correct, result.message


def q6_each_rate_from_the_last(start_lr, end_lr, iterations):
    """A running product: every rate is the one before times the same factor."""
    factor = (end_lr / start_lr) ** (1 / (iterations - 1))
    rates = [start_lr]
    while len(rates) < iterations:
        rates.append(rates[-1] * factor)
    return rates


def q6_evenly_spaced_logarithms(start_lr, end_lr, iterations):
    """Equal steps in log(rate), then back with exp."""
    return np.exp(np.linspace(math.log(start_lr), math.log(end_lr), iterations)).tolist()


def q6_read_off_a_lambdalr(start_lr, end_lr, iterations):
    """What lr_range_test does: a LambdaLR multiplying start_lr by factorⁱ, read every iteration."""
    factor = (end_lr / start_lr) ** (1 / (iterations - 1))
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=start_lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: factor**i)
    rates = []
    for _ in range(iterations):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return rates


def q6_exponential_lr(start_lr, end_lr, iterations):
    """torch's ExponentialLR with gamma the factor: the same geometric growth."""
    gamma = (end_lr / start_lr) ** (1 / (iterations - 1))
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=start_lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
    rates = []
    for _ in range(iterations):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize(
    "fn",
    [q6_each_rate_from_the_last, q6_evenly_spaced_logarithms, q6_read_off_a_lambdalr,
     q6_exponential_lr],
    ids=lambda fn: fn.__name__,
)  # fmt: skip
def test_q6_accepts_correct_answers_written_differently(fn):
    result = ex.q6.check(fn)
    assert result.correct, result.message


# --- t1: gradient descent on the quadratic ---------------------------------------------------


def t1_with_torch_sgd(curvatures, x0, lr, iterations):
    """torch.optim.SGD itself on f = ½·Σ λᵢ·xᵢ², in float32 (torch's default dtype)."""
    lam = torch.tensor(curvatures)
    x = torch.tensor(x0, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr)
    path = [x.detach().clone()]
    for _ in range(iterations):
        optimizer.zero_grad()
        (0.5 * (lam * x**2).sum()).backward()
        optimizer.step()
        path.append(x.detach().clone())
    return torch.stack(path)


def t1_closed_form(curvatures, x0, lr, iterations):
    """Every point at once: after k updates each coordinate is (1 − η·λᵢ)ᵏ times where it started."""
    factor = 1 - lr * np.asarray(curvatures, dtype=float)
    steps = np.arange(iterations + 1)[:, None]
    return factor**steps * np.asarray(x0, dtype=float)


def t1_in_place_with_copies(curvatures, x0, lr, iterations):
    """`x -= ...` is fine when what is appended is a copy; rows of a preallocated array."""
    path = np.empty((iterations + 1, len(x0)))
    x = np.array(x0, dtype=float)
    path[0] = x
    for k in range(1, iterations + 1):
        x -= lr * np.asarray(curvatures) * x
        path[k] = x
    return path


@pytest.mark.parametrize(
    "fn", [t1_with_torch_sgd, t1_closed_form, t1_in_place_with_copies], ids=lambda fn: fn.__name__
)
def test_t1_accepts_correct_answers_written_differently(fn):
    result = ex.t1.check(fn)
    assert result.correct, result.message


def test_t1_reference_is_the_run_the_chapter_drew():
    for case in ex._descend_cases():
        assert np.array_equal(ex._descend(**case), iterates(**case))


def test_t1_names_the_first_wrong_point_and_a_flat_path():
    def off_at_three(curvatures, x0, lr, iterations):
        path = iterates(curvatures, x0, lr, iterations).copy()
        path[3] *= 1.01
        return path

    message = ex.t1.check(off_at_three).message
    assert "With lr=0.45, iterations=12: at iteration 3, the point differs by" in message

    def flat(curvatures, x0, lr, iterations):
        return iterates(curvatures, x0, lr, iterations).ravel()

    assert "has shape (26,), expected (13, 2)" in ex.t1.check(flat).message
    assert "not a str" in ex.t1.check(lambda curvatures, x0, lr, iterations: "path").message


# --- t2: the bound from the Hessian ----------------------------------------------------------


def t2_torch_func_spectral_norm(loss, x):
    """torch.func.hessian, and the spectral norm, which is λ_max for a positive-definite H."""
    hessian = torch.func.hessian(loss)(x)
    return 2 / torch.linalg.matrix_norm(hessian, ord=2)


def t2_double_backward(loss, x):
    """The Hessian row by row, differentiating the gradient again; eigenvalues in float32."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss(x), x, create_graph=True)
    rows = [torch.autograd.grad(g, x, retain_graph=True)[0] for g in grad]
    hessian = torch.stack(rows).float()
    return float(2 / torch.linalg.eigvals(hessian).real.max())


@pytest.mark.parametrize(
    "fn", [t2_torch_func_spectral_norm, t2_double_backward], ids=lambda fn: fn.__name__
)
def test_t2_accepts_correct_answers_written_differently(fn):
    result = ex.t2.check(fn)
    assert result.correct, result.message


def test_t2_cases_tell_the_mistakes_apart():
    """The tilted bowl's diagonal is not its curvatures, and the quartic's Hessian at 0 is not
    the one at x."""
    tilted, regression, quartic = ex._hessian_cases()
    for case in (tilted, regression):
        hessian = torch.autograd.functional.hessian(case["loss"], case["x"])
        assert not torch.allclose(hessian, torch.diag(hessian.diagonal()))
    at_x = torch.autograd.functional.hessian(quartic["loss"], quartic["x"])
    at_zero = torch.autograd.functional.hessian(
        quartic["loss"], torch.zeros(2, dtype=torch.float64)
    )
    assert not torch.allclose(at_x, at_zero)


def test_t2_on_the_chapters_bowl_is_the_printed_bound():
    lam = eigenvalues_from_condition(25.0, lambda_max=4.0)
    curvature = torch.tensor(lam, dtype=torch.float64)
    bound = ex._stable_lr_at(
        lambda x: 0.5 * (curvature * x**2).sum(), torch.ones(2, dtype=torch.float64)
    )
    assert float(bound) == float(stable_lr(4.0)) == 0.5


def test_t2_other_wrong_answers_are_named():
    message = ex.t2.check(lambda loss, x: 0.1).message
    assert (
        "In case 1 of 3: on `tilted_bowl` at x = (0.3, -1) your bound is 0.1, expected 0.4"
        in message
    )
    assert "a number" in ex.t2.check(lambda loss, x: torch.ones(2)).message


# --- t3: one preconditioned step -------------------------------------------------------------


def t3_in_torch(x, grad, P, lr):
    """torch.mv on tensors made from the arrays, in float32 (torch's default for a conversion
    through .float()), returned as a tensor."""
    P, grad, x = (torch.as_tensor(v).float() for v in (P, grad, x))
    return x - lr * torch.mv(P, grad)


def t3_row_by_row(x, grad, P, lr):
    """Each coordinate of P·∇f as a sum over a row of P, in plain Python; a list comes back."""
    d = len(x)
    direction = [sum(P[i][j] * grad[j] for j in range(d)) for i in range(d)]
    return [x[i] - lr * direction[i] for i in range(d)]


def t3_einsum_in_place(x, grad, P, lr):
    """np.einsum for the product and `x -=` on the array it was given."""
    x -= lr * np.einsum("ij,j->i", P, grad)
    return x


@pytest.mark.parametrize(
    "fn", [t3_in_torch, t3_row_by_row, t3_einsum_in_place], ids=lambda fn: fn.__name__
)
def test_t3_accepts_correct_answers_written_differently(fn):
    result = ex.t3.check(fn)
    assert result.correct, result.message


def test_t3_cases_tell_the_mistakes_apart():
    """A full, symmetric positive-definite P far from its inverse and from its diagonal, rates
    other than 1, and Newton's step on a turned bowl, which lands on the minimum."""
    cases = ex._step_cases()
    assert [len(c["x"]) for c in cases] == [2, 3, 2]
    for case in cases:
        P = case["P"]
        assert np.allclose(P, P.T) and np.linalg.eigvalsh(P).min() > 0
        assert not np.allclose(P, np.diag(np.diag(P)))
        assert not np.allclose(P, np.linalg.inv(P))
    assert {c["lr"] for c in cases[:2]}.isdisjoint({1.0})
    newton = cases[2]
    assert newton["lr"] == 1.0
    assert np.allclose(ex._preconditioned_step(**newton), 0.0, atol=1e-12)


def test_t3_other_wrong_answers_are_named():
    def off_in_one_coordinate(x, grad, P, lr):
        new = ex._preconditioned_step(x, grad, P, lr)
        new[0] += 0.01
        return new

    message = ex.t3.check(off_in_one_coordinate).message
    assert message.startswith("With lr=0.3: your new point differs by 0.01"), message
    message = ex.t3.check(lambda x, grad, P, lr: np.append(x, 0.0)).message
    assert "your new point has shape (3,), expected (2,)" in message
    assert "an array of d numbers, not a str" in ex.t3.check(lambda x, grad, P, lr: "x").message


def test_t3_newton_lands_in_one_step_on_the_chapters_bowl():
    """As the story uses it: P = H⁻¹ with η = 1 from the run's start, on a diagonal and a turned
    Hessian."""
    lam = eigenvalues_from_condition(25.0, lambda_max=4.0)
    x = np.array([1.2, 1.0])
    for hessian in (np.diag(lam), ch05._turned_hessian(lam, 45.0)):
        new = ex._preconditioned_step(x, hessian @ x, np.linalg.inv(hessian), 1.0)
        assert np.allclose(new, 0.0, atol=1e-12)


# --- t4: the snapshot ------------------------------------------------------------------------


def t4_from_state_dicts(model, optimizer):
    """Deep copies of both state dicts, flattened, and the gradients cloned."""
    import copy

    tensors = list(copy.deepcopy(model.state_dict()).values())
    tensors += [p.grad.clone() for p in model.parameters() if p.grad is not None]
    state = copy.deepcopy(optimizer.state_dict())["state"]
    tensors += [s["momentum_buffer"] for s in state.values()]
    return tensors


def t4_by_parameter(model, optimizer):
    """Parameter by parameter: the value, its gradient and its momentum buffer side by side;
    then the buffers."""
    copies = []
    for p in model.parameters():
        copies += [p.detach().clone(), p.grad.detach().clone()]
        copies.append(optimizer.state[p]["momentum_buffer"].clone())
    copies += [b.clone() for b in model.buffers()]
    return copies


@pytest.mark.parametrize("fn", [t4_from_state_dicts, t4_by_parameter], ids=lambda fn: fn.__name__)
def test_t4_accepts_correct_answers_written_differently(fn):
    result = ex.t4.check(fn)
    assert result.correct, result.message


def test_t4_cases_hold_everything_a_snapshot_must_keep():
    """Batch norm's buffers, gradients and momentum buffers that differ from the gradients (two
    updates were made), so each part a snapshot can leave out shows."""
    for case in ex._snapshot_cases():
        model, optimizer = case["model"], case["optimizer"]
        for p in model.parameters():
            buffer = optimizer.state[p]["momentum_buffer"]
            assert p.grad.abs().max() > 0 and not torch.equal(buffer, p.grad)
    normed = ex._snapshot_cases()[0]["model"]
    assert any(isinstance(m, nn.BatchNorm1d) for m in normed.modules())


def test_t4_names_what_is_missing_what_is_not_copied_and_the_wrong_type():
    def one_buffer_missing(model, optimizer):
        return [t.clone() for k, t in model.state_dict().items() if k != "1.running_var"] + [
            t.clone() for t in ex._snapshot(model, optimizer)[len(model.state_dict()) :]
        ]

    message = ex.t4.check(one_buffer_missing).message
    assert message.startswith("Your snapshot leaves out the buffers"), message
    assert "a list of tensors" in ex.t4.check(lambda model, optimizer: model.state_dict()).message

    def grads_not_cloned(model, optimizer):
        tensors = [t.clone() for t in model.state_dict().values()]
        tensors += [p.grad for p in model.parameters()]
        return tensors + [s["momentum_buffer"].clone() for s in optimizer.state.values()]

    message = ex.t4.check(grads_not_cloned).message
    assert "your snapshot holds `0.weight.grad` itself, not a copy" in message, message

    def detached_parameters(model, optimizer):
        copies = ex._snapshot(model, optimizer)
        return [p.detach() for p in model.parameters()] + copies

    assert "holds `0.weight` itself" in ex.t4.check(detached_parameters).message


def test_t4_snapshot_sees_what_the_range_test_must_restore():
    """As the chapter uses it: equal before and after nothing, unequal after one update."""
    case = ex._snapshot_cases()[1]
    model, optimizer = case["model"], case["optimizer"]
    before = ex._snapshot(model, optimizer)
    assert all(map(torch.equal, before, ex._snapshot(model, optimizer)))
    optimizer.step()
    assert not all(map(torch.equal, before, ex._snapshot(model, optimizer)))


# --- q7: the explorer's question -------------------------------------------------------------


@pytest.mark.parametrize("a", [0.5, 4.0, 10.0])
def test_q7_answer_is_where_the_explorer_stops_showing_fast_monotone(a):
    rates = np.geomspace(1e-3, 3.0, 4001) / a

    def some_rate_is_fast(kappa):
        lam = eigenvalues_from_condition(kappa, lambda_max=a)
        return any(regime(lr, lam) == "fast monotone" for lr in rates)

    assert some_rate_is_fast(0.99 * ex.KAPPA7)
    assert not some_rate_is_fast(1.01 * ex.KAPPA7)
    assert ex.q7.check(ex.KAPPA7).correct


def test_q7_mistakes_are_named():
    assert "kept the steep axis from overshooting" in ex.q7.check(5.0).message
    assert "up to its bound 2/λ_max" in ex.q7.check(10.0).message
    assert "one-step rate 1/λ_min" in ex.q7.check(2.0).message


# --- q8: Newton's step on x⁴/4 ---------------------------------------------------------------


def test_q8_answer_is_what_running_newtons_step_gives():
    x, steps = 1.0, 0
    while abs(x) >= ex.NEWTON_BELOW:
        x = x - x**3 / (3 * x**2)  # x − f′(x)/f″(x) on f = x⁴/4
        steps += 1
    assert steps == ex.NEWTON_STEPS == 12
    assert ex.q8.check(steps).correct and ex.q8.check(np.int64(steps)).correct


def test_q8_mistakes_are_named():
    assert "the same everywhere" in ex.q8.check(1).message
    assert "rounded" in ex.q8.check(11).message
    assert "keep a third of x" in ex.q8.check(5).message
    assert "whole number" in ex.q8.check(12.5).message
