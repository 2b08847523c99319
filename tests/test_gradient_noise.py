import numpy as np
import pytest
import torch
from torch import nn

from gdlessons.data import linear_data, quadratic_data
from gdlessons.display.plots import new_axes
from gdlessons.display.sizes import problems
from gdlessons.gradient_noise import (
    doubling_batch_sizes,
    gradient_noise,
    measured_variance,
    noise_plot,
    per_sample_gradients,
    per_sample_gradients_loop,
    theory_variance,
)
from gdlessons.models import LinearModel, digits_classifier, tutorial_mlp


def test_fast_per_sample_gradients_match_one_backward_per_sample():
    data = quadratic_data(40, seed=1)
    model = tutorial_mlp(seed=2)
    fast = per_sample_gradients(model, data)
    slow = per_sample_gradients_loop(model, data)
    assert fast.shape == (40, 1153)
    torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-5)
    assert all(p.grad is None for p in model.parameters())  # nothing left behind


def test_per_sample_gradients_average_to_the_full_gradient():
    data = quadratic_data(30, seed=0)
    model = tutorial_mlp(seed=0)
    nn.functional.mse_loss(model(data.X), data.y).backward()
    full = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    model.zero_grad(set_to_none=True)
    torch.testing.assert_close(
        per_sample_gradients(model, data).mean(0), full, rtol=1e-4, atol=1e-6
    )


def test_per_sample_gradients_cross_entropy_classifier():
    X = torch.randn(12, 64, generator=torch.Generator().manual_seed(0))
    y = torch.arange(12) % 10
    model = digits_classifier(hidden=8)
    fast = per_sample_gradients(model, (X, y), loss="cross_entropy")
    torch.testing.assert_close(
        fast, per_sample_gradients_loop(model, (X, y), loss="cross_entropy"), rtol=1e-4, atol=1e-6
    )


def test_linear_model_per_sample_gradients_in_closed_form():
    data = linear_data(10, seed=0)
    model = LinearModel(w=0.3, b=-0.2)
    r = (0.3 * data.X - 0.2 - data.y).flatten()
    expected = torch.stack([2 * r * data.X.flatten(), 2 * r], 1)
    torch.testing.assert_close(per_sample_gradients(model, data), expected, rtol=1e-5, atol=1e-6)


def test_theory_limits():
    assert theory_variance(2.0, 10, [1])[0] == pytest.approx(2.0)
    assert theory_variance(2.0, 10, [10])[0] == 0.0
    v = theory_variance(1.0, 1000, doubling_batch_sizes(1000))
    assert np.all(np.diff(v) < 0)
    with pytest.raises(ValueError, match="batch_sizes"):
        theory_variance(1.0, 10, [11])


def test_measured_variance_is_exact_for_two_samples_and_zero_at_n():
    g = torch.tensor([[3.0, 0.0], [-1.0, 2.0]])  # mean (1, 1); deviations (2, -1), (-2, 1)
    assert measured_variance(g, [1, 2], draws=20).tolist() == [5.0, 0.0]


def test_measured_matches_theory_on_a_toy_population():
    grads = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    result_sizes = [1, 5, 25, 49]
    measured, stderr = measured_variance(grads, result_sizes, draws=4000, seed=1, stderr=True)
    centred = grads.double() - grads.double().mean(0)
    sigma2 = float(centred.pow(2).sum(1).mean())
    theory = theory_variance(sigma2, 50, result_sizes)
    assert np.all(np.abs(measured - theory) < 5 * stderr)


def test_without_replacement_is_below_with_replacement_for_large_batches():
    r = gradient_noise(LinearModel(), linear_data(64, seed=0), draws=800)
    big = np.asarray(r.batch_sizes) == 32
    # the (N − B)/(N − 1) correction is about 0.51 here
    assert r.measured[big][0] < 0.75 * r.sigma2 / 32


def test_gradient_noise_result_fields():
    r = gradient_noise(tutorial_mlp(seed=0), quadratic_data(64, seed=0), draws=300)
    assert r.batch_sizes == [1, 2, 4, 8, 16, 32, 64]
    assert r.measured[-1] < 1e-20 and r.theory[-1] == 0
    assert len(r.relative_errors) == 6
    assert r.max_relative_error < 0.35
    assert r.max_stderr_ratio < 5
    assert r.noise_scale == pytest.approx(r.sigma2 / r.signal)
    fig = noise_plot(r)
    ax = fig.axes[0]
    assert ax.get_title() and "batch size" in ax.get_xlabel() and ax.get_ylabel()
    assert problems(fig) == []  # fits the column, no text under 9 pt
    outer, given = new_axes(figsize=(4, 3))
    assert noise_plot(r, ax=given) is outer and given.get_xscale() == "log"


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="model must be"):
        per_sample_gradients("model", linear_data(5))
    with pytest.raises(TypeError, match="grads must be"):
        measured_variance(torch.zeros(5), [1])
    with pytest.raises(ValueError, match="draws"):
        measured_variance(torch.zeros(5, 2), [1], draws=1)
    with pytest.raises(ValueError, match="batch_sizes"):
        measured_variance(torch.zeros(5, 2), [6])
    with pytest.raises(ValueError, match="batch_sizes"):
        gradient_noise(LinearModel(), linear_data(5), batch_sizes=[0])


def test_doubling_batch_sizes():
    assert doubling_batch_sizes(8) == [1, 2, 4, 8]
    assert doubling_batch_sizes(1000)[-2:] == [512, 1000]
