"""Momentum by hand vs torch.optim.SGD, the η-inside form, the exact (η, μ) map, the explorer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gdlessons import schedules as sch
from gdlessons.batching import iterations_per_epoch
from gdlessons.chapters import ch06_momentum_and_schedules as ch
from gdlessons.data import quadratic_data
from gdlessons.display.sizes import problems
from gdlessons.exercises import ch06_momentum_and_schedules as ex06
from gdlessons.landscapes import iterates, torch_sgd_path
from gdlessons.models import LinearModel, tutorial_mlp

SETTINGS = [
    dict(momentum=0.0),
    dict(momentum=0.9),
    dict(momentum=0.9, nesterov=True),
    dict(momentum=0.5, weight_decay=0.1),
    dict(momentum=0.9, nesterov=True, weight_decay=0.01),
    dict(momentum=0.0, weight_decay=0.1),
]


@pytest.mark.parametrize("kw", SETTINGS, ids=str)
def test_sgd_step_is_bitwise_torch_sgd_on_random_gradients(kw):
    gen = torch.Generator().manual_seed(0)
    p_torch = torch.randn(257, generator=gen, requires_grad=True)
    opt = torch.optim.SGD([p_torch], lr=0.03, **kw)
    params, velocities = [p_torch.detach().clone()], [None]
    for _ in range(25):
        g = torch.randn(257, generator=gen)
        p_torch.grad = g.clone()
        opt.step()
        params, velocities = ch.sgd_step(params, [g], velocities, lr=0.03, **kw)
        assert torch.equal(params[0], p_torch.detach())


def test_sgd_step_first_velocity_is_the_gradient_and_plain_sgd_keeps_none():
    g = torch.tensor([2.0])
    _, v = ch.sgd_step([torch.tensor([0.0])], [g], [None], lr=0.1, momentum=0.9)
    assert torch.equal(v[0], g)
    _, v = ch.sgd_step([torch.tensor([0.0])], [g], [None], lr=0.1, momentum=0.0)
    assert v[0] is None


@pytest.mark.parametrize("kw", SETTINGS[1:4], ids=str)
def test_check_against_torch_agrees_bitwise_through_train(kw):
    result = ch.check_against_torch(
        tutorial_mlp(seed=1), quadratic_data(120), iterations=15, batch_size=16, lr=0.02, **kw
    )
    assert result.updates == 15
    assert result.equal and result.max_difference == 0.0


def test_check_against_torch_notices_a_different_update(monkeypatch):
    def rounded_differently(params, grads, velocities, *, lr, momentum, nesterov, weight_decay):
        return ch.eta_inside_step(params, grads, velocities, lr=lr, momentum=momentum)

    monkeypatch.setattr(ch, "sgd_step", rounded_differently)
    result = ch.check_against_torch(
        tutorial_mlp(seed=1), quadratic_data(120), iterations=5, lr=0.02, momentum=0.9
    )
    assert not result.equal
    assert result.max_difference > 0


def test_check_against_torch_leaves_the_model_untouched():
    model = LinearModel(w=0.5, b=0.1)
    ch.check_against_torch(model, quadratic_data(50), iterations=3, batch_size=10)
    assert model.w.item() == 0.5 and model.b.item() == pytest.approx(0.1)


def test_eta_inside_form_matches_only_while_the_rate_is_constant():
    lam, x0 = ch.CURVATURES, ch.START
    same = [
        ch.quadratic_path(lam, x0, [0.7] * 60, momentum=0.9, form=f)
        for f in ("pytorch", "eta_inside")
    ]
    np.testing.assert_allclose(same[0], same[1], atol=1e-12)
    rates = [0.7] * 20 + [0.07] * 20
    a, b = (
        ch.quadratic_path(lam, x0, rates, momentum=0.9, form=f) for f in ("pytorch", "eta_inside")
    )
    step_a = np.linalg.norm(np.diff(a, axis=0), axis=1)
    step_b = np.linalg.norm(np.diff(b, axis=0), axis=1)
    assert step_a[20] / step_a[19] < 0.2  # PyTorch: the whole velocity is rescaled at once
    assert step_b[20] / step_b[19] > 0.8  # η inside: old velocity keeps its size
    np.testing.assert_allclose(a[:21], b[:21], atol=1e-12)


def test_quadratic_paths_agree_with_landscapes_and_torch():
    ours = ch.quadratic_path(ch.CURVATURES, ch.START, [1.5] * 40, momentum=0.8, nesterov=True)
    exact = iterates(ch.CURVATURES, ch.START, 1.5, 40, momentum=0.8, nesterov=True)
    torch_path = torch_sgd_path(ch.CURVATURES, ch.START, 1.5, 40, momentum=0.8, nesterov=True)
    np.testing.assert_allclose(ours, exact, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours, torch_path, rtol=1e-10, atol=1e-12)


def test_momentum_one_never_converges_but_point_nine_does():
    def tail(mu):
        loss = ch.path_loss(torch_sgd_path(ch.CURVATURES, ch.START, 0.5, 300, momentum=mu))
        return loss[0], loss[-50:].max()

    start, late = tail(1.0)
    assert late > 0.5 * start
    start, late = tail(0.9)
    assert late < 1e-6 * start


def _spectral_radius(eta, mu, lam, nesterov):
    if nesterov:
        m = np.array([[1 - eta * lam * (1 + mu), -eta * mu**2], [lam, mu]])
    else:
        m = np.array([[1 - eta * lam, -eta * mu], [lam, mu]])
    return np.abs(np.linalg.eigvals(m)).max()


@pytest.mark.parametrize("nesterov", [False, True])
def test_rate_map_is_the_spectral_radius_of_the_update_matrix(nesterov):
    lrs, momenta = np.linspace(0.05, 4, 17), np.linspace(0, 0.98, 11)
    factors = ch.rate_map(ch.CURVATURES, lrs, momenta, nesterov=nesterov)
    assert factors.shape == (11, 17)
    for i, mu in enumerate(momenta):
        for j, eta in enumerate(lrs):
            expected = max(_spectral_radius(eta, mu, lam, nesterov) for lam in ch.CURVATURES)
            assert factors[i, j] == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_rate_map_predicts_the_simulated_shrinkage():
    best = ch.optimal_pair(ch.CURVATURES)
    path = iterates(ch.CURVATURES, ch.START, best.lr, 400, momentum=best.momentum)
    size = np.linalg.norm(path, axis=1)
    observed = (size[400] / size[200]) ** (1 / 200)
    assert observed == pytest.approx(best.factor, rel=0.02)


def test_grid_best_is_near_polyaks_optimum_and_beats_plain_gd():
    best = ch.best_on_grid(ch.CURVATURES, ch.MAP_LRS, ch.MAP_MOMENTA)
    theory = ch.optimal_pair(ch.CURVATURES)
    # The valley is narrow, so the grid's best sits a few grid steps from the exact optimum.
    assert abs(best.lr - theory.lr) < 0.1 and abs(best.momentum - theory.momentum) < 0.02
    assert theory.factor - 1e-9 <= best.factor < theory.factor + 0.005
    gd = ch.optimal_pair(ch.CURVATURES, momentum=False)
    assert gd.factor == pytest.approx(49 / 51)
    assert best.iterations_to_shrink() < gd.iterations_to_shrink() / 5


def test_optimal_pair_for_kappa_100():
    p = ch.optimal_pair([1.0, 100.0])
    assert p.momentum == pytest.approx((9 / 11) ** 2)
    assert p.lr == pytest.approx(4 / 121)
    assert ch.BestPair(1.0, 0.0, 1.0).iterations_to_shrink() == float("inf")


def test_race_counts_whole_iterations_that_do_shrink_the_error_1000_times():
    gd, hb = ch.optimal_pair(ch.CURVATURES, momentum=False), ch.optimal_pair(ch.CURVATURES)
    _, rows = ch.race({"gradient descent": gd, "heavy ball": hb}, 5)
    for p, row in zip((gd, hb), rows, strict=True):
        t = row["iterations to shrink the error 1000×"]
        assert isinstance(t, int)
        assert p.factor**t <= 1e-3 < p.factor ** (t - 1)  # the smallest t that does it
    # heavy ball: ln 1000 / −ln 0.7522 = 24.3, and 0.7522²⁴ = 1.08e-3 is not yet 1000× smaller
    assert rows[1]["iterations to shrink the error 1000×"] == 25


@pytest.mark.parametrize("factor", [0.1, 0.5, 0.75, 0.9, 0.961, 0.999])
def test_whole_iterations_to_shrink_is_the_smallest_that_suffices(factor):
    p = ch.BestPair(1.0, 0.0, factor)
    for by in (1e-1, 1e-3, 1e-6):
        t = p.whole_iterations_to_shrink(by)
        assert factor**t <= by < factor ** (t - 1)
    assert ch.BestPair(1.0, 0.0, 1.0).whole_iterations_to_shrink() == float("inf")
    assert ch.BestPair(1.0, 0.0, 0.0).whole_iterations_to_shrink() == 1
    with pytest.raises(ValueError, match="by"):
        p.whole_iterations_to_shrink(2.0)


def test_lambda_warmup_cosine_matches_the_stock_run_when_the_batch_size_does_not_divide_n():
    # The notebook's section 7: a LambdaLR sized by the run's length reproduces the stock
    # warm-up + cosine of compare_schedules. With n = 100 and B = 30 an epoch has ceil(100/30) = 4
    # updates, not 100 // 30 = 3: a length counted with // would warm up and anneal too early.
    n, batch_size, epochs, lr = 100, 30, 5, 0.03
    data = quadratic_data(n)
    stock = ch.compare_schedules(data, ["warmup_cosine"], lr=lr, batch_size=batch_size,
                                 epochs=epochs)["warmup_cosine"].history.iterations.lr  # fmt: skip
    total = epochs * iterations_per_epoch(n, batch_size)
    assert len(stock) == total == 20

    def lambda_rates(total):
        warmup = min(max(1, round(0.1 * total)), total - 1)  # as make_schedule sizes it
        factory = lambda opt: torch.optim.lr_scheduler.LambdaLR(  # noqa: E731
            opt, ex06.t4.reference(warmup, total)
        )
        return sch.rate_curve(factory, total, lr=lr)

    np.testing.assert_allclose(lambda_rates(total), stock, rtol=1e-6, atol=1e-9 * lr)
    floor_total = epochs * (n // batch_size)
    assert not np.allclose(lambda_rates(floor_total), stock[:floor_total], rtol=1e-6)


def test_weight_norm():
    assert ch.weight_norm(LinearModel(w=3.0, b=4.0)) == pytest.approx(5.0)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="form"):
        ch.quadratic_path([1.0], [1.0], [0.1], form="textbook")
    with pytest.raises(ValueError, match="momentum"):
        ch.quadratic_path([1.0], [1.0], [0.1], momentum=1.5)
    with pytest.raises(ValueError, match="rates"):
        ch.quadratic_path([1.0], [1.0], [-0.1])
    with pytest.raises(ValueError, match="iterations"):
        ch.check_against_torch(LinearModel(), quadratic_data(20), iterations=0)


def test_plots_have_labelled_axes():
    fig = ch.plot_paths({"GD": iterates(ch.CURVATURES, ch.START, 1.0, 10)})
    assert fig.axes[0].get_xlabel() == "x₁" and "iteration" in fig.axes[1].get_xlabel()
    assert problems(fig) == []
    fig = ch.plot_rate_map(lrs=np.linspace(0.1, 3, 10), momenta=np.linspace(0, 0.9, 5))
    assert "best on the grid" in fig.axes[0].get_title()
    fig = ch.plot_rate_maps(lrs=np.linspace(0.1, 3, 10), momenta=np.linspace(0, 0.9, 5))
    assert [ax.get_xlabel() for ax in fig.axes[:2]] == ["learning rate η"] * 2
    assert problems(fig) == []


def test_momentum_explorer_frames_depend_only_on_the_state():
    ex = ch.momentum_explorer(iterations=20)
    assert "ch06-momentum-explorer" in ch.EXPLORERS
    first = ex.png(lr=0.5, momentum=0.5)
    assert ex.png(lr=3.0, momentum=0.9, nesterov=True) != first
    assert ex.png(lr=0.5, momentum=0.5) == first
    assert problems(ex.figure(nesterov=True)) == []
    assert "diverges" in ex.readout(lr=4.0, momentum=0.0)
    assert "error × 0.9" in ex.readout(lr=1.0, momentum=0.9)


def test_compare_schedules_same_start_and_table_ratios():
    runs = ch.compare_schedules(
        quadratic_data(100), ["constant", "cosine", "step"], batch_size=25, epochs=3
    )
    first = {name: run.history.iterations.loss[0] for name, run in runs.items()}
    assert len(set(first.values())) == 1  # same initial weights, same first batch
    table = ch.schedule_table(runs)
    for row in table.rows:
        assert row["vs constant"] == pytest.approx(
            runs[row["schedule"]].final_loss / runs["constant"].final_loss
        )
    assert ch.plot_schedule_runs(runs).axes[0].get_xlabel() == "epoch"


def test_plot_rate_curves_one_panel_per_schedule():
    curves = {
        name: sch.rate_curve(sch.make_schedule(name, 0.1, 30), 30, lr=0.1)
        for name in sch.SCHEDULES[1:]
    }
    fig = ch.plot_rate_curves(curves)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 6 and all(ax.get_xlabel() == "iteration" for ax in visible)
    # however many columns are asked for, the panels wrap so the figure fits the output
    assert problems(ch.plot_rate_curves(curves, ncols=6)) == [] and problems(fig) == []


def test_compare_schedules_names_are_checked():
    with pytest.raises(ValueError, match="names"):
        ch.compare_schedules(quadratic_data(20), ["warm"])


def test_schedule_explorer_small():
    ex = ch.schedule_explorer(lrs=(0.02, 0.05), epochs=2, batch_size=25, n=100)
    assert "ch06-schedule-explorer" in ch.EXPLORERS
    assert ex.updates == 2 * 4  # 2 epochs of ceil(100 / 25) updates
    a = ex.png(schedule="one_cycle", lr=0.05, knob=0)
    assert ex.png(schedule="constant", lr=0.02, knob=2) != a
    assert ex.png(schedule="one_cycle", lr=0.05, knob=0) == a
    assert problems(ex.figure(schedule="warmup_cosine")) == []
    text = ex.readout(schedule="step", lr=0.02, knob=1)
    assert "γ per drop = 0.3" in text and "final loss" in text
    assert math.isfinite(float(text.split("final loss ")[1].split()[0]))
