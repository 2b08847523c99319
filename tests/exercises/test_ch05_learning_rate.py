"""Chapter 05 exercises: the answers agree with the landscapes module; what the questions accept
besides the expected answer; what q5 and q6 say about other wrong answers, and that their
references are the chapter's bound and lr_range_test's rates. The rules every exercise keeps are
tested in test_rules.py."""

import numpy as np
import pytest
import torch

from gdlessons.data import quadratic_data
from gdlessons.exercises import ch05_learning_rate as ex
from gdlessons.landscapes import iterates, regime, stable_lr
from gdlessons.lr_finder import lr_range_test
from gdlessons.models import tutorial_mlp


def test_answers_agree_with_the_landscapes_module():
    assert ex.q1.check(float(stable_lr(4.0))).correct
    assert ex.q3.check(regime(0.4, 4.0)).correct
    assert ex.q4.check(float(stable_lr(10.0))).correct


def test_wrong_type_is_feedback_not_a_crash():
    assert ex.q1.check("half").status == "incorrect"
    assert ex.q3.check(" Oscillating ").correct


# --- q5 ---------------------------------------------------------------------------------------


def test_q5_reference_is_the_bound_two_over_lambda_max():
    for case in ex._bound_cases():
        lam, lrs = case["curvatures"], case["lrs"]
        bound = float(stable_lr(max(lam)))
        assert ex._largest_stable_lr(lam, lrs) == max(lr for lr in lrs if lr < bound)
        # every candidate's fate is plain after 200 iterations (and after 20)
        for lr in lrs:
            for n in (20, 200):
                end = np.abs(iterates(lam, np.ones(len(lam)), lr, n)[-1]).max()
                assert (end < 1) == (lr < bound), (lam, lr, n)


def test_q5_cases_separate_the_boundaries():
    """Every case has candidates on both sides of 1/λ_max, 2/λ_max and 2/λ_min, so each mistake
    shows; the 1-D case also checks a student who ignores all but one coordinate."""
    cases = ex._bound_cases()
    assert [len(c["curvatures"]) for c in cases] == [1, 2, 3]
    for case in cases:
        lam, lrs = case["curvatures"], np.array(case["lrs"])
        for edge in (1 / max(lam), 2 / max(lam), 2 / min(lam)):
            assert (lrs < edge).any() and (lrs > edge).any()
        assert all(isinstance(x, float) for x in lam + case["lrs"])


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
        return torch.tensor(ex._largest_stable_lr(curvatures, lrs), dtype=torch.float64)

    assert ex.q5.check(as_tensor).correct
    assert ex.q5.check(lambda curvatures, lrs: np.float64(ex._largest_stable_lr(curvatures, lrs)))


# --- q6 ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_q6_reference_is_what_lr_range_test_uses():
    result = lr_range_test(tutorial_mlp(seed=0), quadratic_data(200), start_lr=1e-5, end_lr=1e-2,
                           iterations=30)  # fmt: skip
    assert result.stop_reason.startswith("reached end_lr")
    assert result.lr == ex._sweep_rates(1e-5, 1e-2, 30)


def test_q6_names_the_first_difference_and_accepts_arrays():
    nudged = ex.q6.check(lambda start_lr, end_lr, iterations: [
        r * (1 + 1e-6 * (i == 3)) for i, r in enumerate(ex._sweep_rates(start_lr, end_lr, iterations))
    ])  # fmt: skip
    assert "With start_lr=1e-05, end_lr=10.0, iterations=200: at iteration i = 3, the rate is" in (
        nudged.message
    )
    shorter = ex.q6.check(lambda start_lr, end_lr, iterations: [start_lr] * (iterations - 1))
    assert "has 199 entries, expected 200" in shorter.message

    def as_array(start_lr, end_lr, iterations):
        return np.geomspace(start_lr, end_lr, iterations)

    assert ex.q6.check(as_array).correct
