"""The datasets: the tutorials' quadratic, a two-parameter line, and scikit-learn's digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gdlessons.data import Dataset, as_tensors, digits_data, linear_data, quadratic_data


def test_quadratic_data_is_the_tutorials():
    d = quadratic_data()
    assert len(d) == 1000 and d.X.shape == d.y.shape == (1000, 1) and d.X.dtype == torch.float32
    x = d.X.squeeze()
    assert x[0] == -5.0 and x[-1] == 5.0
    assert torch.allclose(x[1:] - x[:-1], torch.full((999,), 10 / 999), atol=1e-5)  # evenly spaced
    noise = (d.y.squeeze() - 0.3 * x**2).numpy()
    assert abs(noise.mean()) < 0.1 and 0.9 < noise.std() < 1.1  # standard normal noise
    assert np.allclose(noise, np.random.default_rng(0).standard_normal(1000), atol=1e-5)


def test_quadratic_data_without_noise_is_the_parabola():
    d = quadratic_data(11, noise=0.0)
    assert torch.allclose(d.y, 0.3 * d.X**2)


def test_generators_are_seeded():
    for make in (quadratic_data, linear_data):
        a, b, c = make(50, seed=1), make(50, seed=1), make(50, seed=2)
        assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y)
        assert not torch.equal(a.y, c.y)


def test_linear_data_follows_its_line():
    d = linear_data(2000, w=3.0, b=-2.0, noise=0.1, seed=0)
    A = torch.cat([d.X, torch.ones_like(d.X)], dim=1)
    w, b = torch.linalg.lstsq(A, d.y).solution.squeeze().tolist()
    assert w == pytest.approx(3.0, abs=0.02) and b == pytest.approx(-2.0, abs=0.02)
    assert d.X.min() >= -2.0 and d.X.max() <= 2.0
    assert torch.allclose(linear_data(20, w=1.5, b=0.5, noise=0.0).y, 1.5 * linear_data(20).X + 0.5)


def test_digits_are_split_and_standardised_with_training_statistics():
    train, val = digits_data(val_fraction=0.25, seed=0)
    assert len(train) + len(val) == 1797 and len(val) == round(0.25 * 1797)
    assert train.X.shape[1] == val.X.shape[1] == 64
    assert train.y.dtype == torch.int64 and set(train.y.tolist()) == set(range(10))
    used = train.X.std(dim=0) > 0.5  # pixels that are not always blank
    assert train.X.mean(dim=0).abs().max() < 1e-4
    assert torch.allclose(
        train.X.std(dim=0, unbiased=False)[used], torch.ones(int(used.sum())), atol=1e-3
    )
    assert val.X.mean(dim=0).abs().max() > 1e-3  # validation is scaled by training statistics only


def test_digits_split_depends_on_the_seed_only():
    a, b, c = digits_data(seed=3)[1], digits_data(seed=3)[1], digits_data(seed=4)[1]
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y)
    assert not torch.equal(a.y, c.y)


def test_as_tensors_accepts_a_dataset_or_a_pair():
    d = quadratic_data(5)
    assert as_tensors(d) == (d.X, d.y)
    assert as_tensors([d.X, d.y]) == (d.X, d.y)


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: quadratic_data(1), ValueError, r"n must be >= 2, got 1"),
        (lambda: quadratic_data(10.5), TypeError, r"n must be an integer"),
        (lambda: quadratic_data(10, noise=-1.0), ValueError, r"noise .* got -1.0"),
        (lambda: quadratic_data(10, seed=-1), ValueError, r"seed must be >= 0"),
        (lambda: linear_data(10, w=float("nan")), ValueError, r"w must be a finite number"),
        (lambda: digits_data(val_fraction=1.0), ValueError, r"val_fraction .* got 1.0"),
        (lambda: digits_data(val_fraction=0), ValueError, r"val_fraction .* got 0"),
        (lambda: Dataset(torch.zeros(3, 1), torch.zeros(2, 1)), ValueError, r"X and y .* got 3 and 2"),
        (lambda: Dataset(np.zeros(3), torch.zeros(3)), TypeError, r"X and y must be torch tensors"),
        (lambda: as_tensors(torch.zeros(3)), TypeError, r"data must be a Dataset or an \(X, y\) pair"),
        (lambda: as_tensors((torch.zeros(3), torch.zeros(4)), "val_data"), ValueError, r"val_data: X and y"),
        (lambda: as_tensors((torch.zeros(0), torch.zeros(0))), ValueError, r"data is empty"),
    ],
)  # fmt: skip
def test_bad_arguments_are_named(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
