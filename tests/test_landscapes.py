import numpy as np
import pytest
import torch

from gdlessons import landscapes as L


def torch_sgd_path(curvatures, x0, lr, iterations, momentum=0.0, nesterov=False):
    lam = torch.tensor(curvatures, dtype=torch.float64)
    p = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, nesterov=nesterov)
    out = [p.detach().clone()]
    for _ in range(iterations):
        opt.zero_grad()
        (0.5 * (lam * p**2).sum()).backward()
        opt.step()
        out.append(p.detach().clone())
    return torch.stack(out).numpy()


@pytest.mark.parametrize(
    "momentum, nesterov", [(0.0, False), (0.9, False), (0.5, True), (0.95, True)]
)
def test_iterates_match_torch_sgd_exactly(momentum, nesterov):
    lam, x0 = [0.3, 7.0], [1.0, -2.0]
    ours = L.iterates(lam, x0, 0.11, 25, momentum=momentum, nesterov=nesterov)
    theirs = torch_sgd_path(lam, x0, 0.11, 25, momentum, nesterov)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_batch_of_rates_and_momenta_equals_separate_runs():
    lrs = np.array([0.01, 0.1, 0.3])[:, None]
    mus = np.array([0.0, 0.5])
    batch = L.iterates([1.0, 4.0], [1.0, 1.0], lrs, 10, momentum=mus)
    assert batch.shape == (3, 2, 11, 2)
    for i, lr in enumerate(lrs[:, 0]):
        for j, mu in enumerate(mus):
            np.testing.assert_array_equal(
                batch[i, j], L.iterates([1.0, 4.0], [1.0, 1.0], lr, 10, momentum=mu)
            )


def test_one_d_gd_multiplies_error_by_one_minus_eta_a():
    path = L.iterates(4.0, [1.0], 0.3, 5)[:, 0]
    np.testing.assert_allclose(path, (1 - 0.3 * 4.0) ** np.arange(6))


def test_divergent_run_reaches_inf_without_warnings():
    with np.errstate(all="raise"):
        path = L.iterates(4.0, [1.0], 10.0, 400)
    assert not np.isfinite(path[-1, 0])
    assert L.first_divergent(path) is not None


@pytest.mark.parametrize("a", [0.5, 4.0, 30.0])
def test_regimes_on_1d_match_their_definitions(a):
    bound = 2 / a
    assert L.regime(0.05 / a, a) == "slow"  # keeps 0.95 per step
    assert L.regime(0.5 / a, a) == "fast monotone"
    assert L.regime(1.5 / a, a) == "oscillating"
    assert L.regime(bound, a) == "bouncing"  # exactly at the bound: never shrinks, never grows
    assert L.regime(1.01 * bound, a) == "divergent"
    assert float(L.stable_lr(a)) == pytest.approx(bound)


def test_regime_agrees_with_simulated_behaviour():
    lrs = np.geomspace(1e-3, 2.0, 200)
    names = L.regime(lrs, 4.0)
    paths = L.iterates(4.0, [1.0], lrs, 60)[..., 0]
    grew = np.abs(paths[:, -1]) >= 1.0
    flips = (np.sign(paths[:, 1:]) * np.sign(paths[:, :-1]) < 0).any(axis=1)
    assert ((names == "divergent") == grew).all()
    assert ((names == "oscillating") == (flips & ~grew)).all()


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.6, False), (0.6, True)])
def test_stable_lr_is_the_edge_of_convergence(momentum, nesterov):
    bound = float(L.stable_lr(3.0, momentum, nesterov))
    lrs = np.array([0.97 * bound, 1.03 * bound])
    end = np.abs(L.iterates(3.0, [1.0], lrs, 2000, momentum=momentum, nesterov=nesterov)[:, -1, 0])
    assert end[0] < 1e-3 and not end[1] < 1e3
    assert list(L.regime(lrs, 3.0, momentum, nesterov)) != ["divergent", "divergent"]
    assert L.regime(lrs[1], 3.0, momentum, nesterov) == "divergent"


def test_two_d_bound_is_set_by_lambda_max_and_flat_direction_crawls():
    lam = L.eigenvalues_from_condition(20, lambda_max=4.0)
    assert lam == (0.2, 4.0) and L.condition_number(lam) == pytest.approx(20.0)
    assert L.regime(0.45, lam) == "slow"  # flat axis keeps 0.91, steep 0.8 per step
    assert L.regime(0.49, lam) == "oscillating"  # now the steep axis keeps 0.96
    assert L.regime(0.51, lam) == "divergent"
    path = L.iterates(lam, [1.0, 1.0], 0.45, 10)
    steep_signs = np.sign(path[1:, 1])
    assert (steep_signs[1:] != steep_signs[:-1]).all()  # zig-zag across the valley
    assert path[-1, 0] > 0.3  # flat axis: still far from 0 after 10 iterations
    factor = L.convergence_factor(0.45, lam)
    assert float(factor) == pytest.approx(1 - 0.45 * 0.2)


def test_quadratic_loss_and_bad_arguments_are_named():
    assert float(L.quadratic_loss([3.0], 2.0)) == 9.0
    with pytest.raises(ValueError, match="curvatures"):
        L.iterates([-1.0], [1.0], 0.1, 3)
    with pytest.raises(ValueError, match="lr"):
        L.iterates(1.0, [1.0], 0.0, 3)
    with pytest.raises(ValueError, match="momentum"):
        L.iterates(1.0, [1.0], 0.1, 3, momentum=1.0)
    with pytest.raises(ValueError, match="iterations"):
        L.iterates(1.0, [1.0], 0.1, -1)
    with pytest.raises(TypeError, match="nesterov"):
        L.iterates(1.0, [1.0], 0.1, 3, nesterov=1)
    with pytest.raises(ValueError, match="condition_number"):
        L.eigenvalues_from_condition(0.5)
