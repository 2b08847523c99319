"""Schedules: their curves, one step per update inside train(), and the reuse bug."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gdlessons import schedules as sch
from gdlessons.data import quadratic_data
from gdlessons.models import tutorial_mlp
from gdlessons.training import train


def test_step_and_exponential_curves():
    np.testing.assert_allclose(
        sch.rate_curve(sch.step_decay(3, 0.1), 7, lr=1.0), [1, 1, 1, 0.1, 0.1, 0.1, 0.01]
    )
    np.testing.assert_allclose(
        sch.rate_curve(sch.exponential(0.9), 4, lr=2.0), 2 * 0.9 ** np.arange(4)
    )


def test_cosine_curve_is_half_a_cosine():
    k = np.arange(11)
    expected = 0.1 + 0.5 * (1.0 - 0.1) * (1 + np.cos(np.pi * k / 10))
    np.testing.assert_allclose(
        sch.rate_curve(sch.cosine(10, eta_min=0.1), 11, lr=1.0), expected, atol=1e-12
    )


def test_warmup_then_cosine():
    rates = sch.rate_curve(sch.warmup_cosine(100, 10, start_factor=0.01), 100, lr=0.5)
    assert rates[0] == pytest.approx(0.005)
    assert np.all(np.diff(rates[:11]) > 0) and rates[10] == pytest.approx(0.5)
    assert np.all(np.diff(rates[10:]) <= 1e-15) and rates[-1] < 0.001


def test_cyclic_is_a_triangle_and_leaves_momentum_alone():
    params = [torch.zeros(1, requires_grad=True)]
    opt = torch.optim.SGD(params, lr=1.0, momentum=0.0)
    schedule = sch.cyclic(0.1, 1.0, 5)(opt)
    rates = []
    for _ in range(21):
        rates.append(opt.param_groups[0]["lr"])
        assert opt.param_groups[0]["momentum"] == 0.0
        opt.step()
        schedule.step()
    expected = [0.1 + 0.9 * (1 - abs((k % 10) / 5 - 1)) for k in range(21)]
    np.testing.assert_allclose(rates, expected, atol=1e-12)


def test_stock_cyclic_lr_would_switch_momentum_on():
    """Why our factories pass cycle_momentum=False."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0, momentum=0.0)
    torch.optim.lr_scheduler.CyclicLR(opt, base_lr=0.1, max_lr=1.0)
    assert opt.param_groups[0]["momentum"] > 0.5


def test_one_cycle_shape_and_momentum():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sch.one_cycle(0.2, 100, pct_start=0.3)(opt)
    assert opt.param_groups[0]["momentum"] == 0.0
    rates = sch.rate_curve(sch.one_cycle(0.2, 100, pct_start=0.3), 100)
    assert rates[0] == pytest.approx(0.2 / 25)
    assert rates.max() == pytest.approx(0.2, rel=1e-3) and 25 <= rates.argmax() <= 31
    assert rates[-1] < 0.2 / 25 / 100


@pytest.mark.parametrize("name", sch.SCHEDULES[1:])
def test_every_schedule_peaks_at_lr_and_ends_lower(name):
    rates = sch.rate_curve(sch.make_schedule(name, 0.05, 120), 120, lr=0.05)
    assert rates.max() == pytest.approx(0.05, rel=1e-2)
    assert rates[-1] < 0.8 * 0.05
    assert np.all(rates > 0)


@pytest.mark.parametrize("name", ["step", "warmup_cosine", "cyclic", "one_cycle"])
def test_train_steps_the_schedule_once_per_update(name):
    data = quadratic_data(100)
    total = 4 * 3  # batch 32 on 100 samples: 4 iterations per epoch, 3 epochs
    factory = sch.make_schedule(name, 0.02, total)
    history = train(tutorial_mlp(), data, batch_size=32, epochs=3, lr=0.02, scheduler=factory)
    np.testing.assert_allclose(history.iterations.lr, sch.rate_curve(factory, total, lr=0.02))


def test_make_schedule_constant_is_no_scheduler_and_shapes_apply():
    assert sch.make_schedule("constant", 0.1, 100) is None
    gentle = sch.rate_curve(sch.make_schedule("step", 1.0, 90, shape=0.5), 90)
    assert gentle[-1] == pytest.approx(0.25)
    cycles = sch.rate_curve(sch.make_schedule("cyclic", 1.0, 80, shape=4), 80)
    assert np.sum(np.isclose(cycles, 1.0)) == 4


def test_already_stepped_starts_where_the_curve_ended():
    curve = sch.rate_curve(sch.step_decay(10, 0.5), 31, lr=1.0)
    reused = sch.rate_curve(sch.already_stepped(sch.step_decay(10, 0.5), 30), 1, lr=1.0)
    assert reused[0] == curve[30] == 0.125
    with pytest.raises(ValueError, match="Tried to step"):
        train(
            tutorial_mlp(), quadratic_data(64), batch_size=32, epochs=1, lr=0.01,
            scheduler=sch.already_stepped(sch.one_cycle(0.01, 2), 2),
        )  # fmt: skip


def test_rate_curve_does_not_touch_a_training_optimizer():
    factory = sch.step_decay(1, 0.5)
    sch.rate_curve(factory, 10)
    history = train(
        tutorial_mlp(), quadratic_data(64), batch_size=32, epochs=1, lr=0.1, scheduler=factory
    )
    assert history.iterations.lr == [0.1, 0.05]


@pytest.mark.parametrize(
    ("call", "word"),
    [
        (lambda: sch.step_decay(0), "step_size"),
        (lambda: sch.exponential(1.5), "gamma"),
        (lambda: sch.cosine(0), "total_iterations"),
        (lambda: sch.warmup_cosine(10, 10), "warmup_iterations"),
        (lambda: sch.cyclic(0.1, 0.01, 5), "max_lr"),
        (lambda: sch.one_cycle(0.1, 10, pct_start=1.0), "pct_start"),
        (lambda: sch.make_schedule("linear", 0.1, 10), "name"),
        (lambda: sch.make_schedule("cyclic", 0.1, 10, shape=100), "shape"),
        (lambda: sch.rate_curve(None, 0), "iterations"),
    ],
)
def test_bad_arguments_are_named(call, word):
    with pytest.raises((ValueError, TypeError), match=word):
        call()
