import pytest
import torch

from gdlessons.chapters.ch08_batch_size_meets_learning_rate import (
    Diagnosis,
    diagnose,
    learning_curve,
    plot_learning_curves,
    subset,
)
from gdlessons.data import digits_data
from gdlessons.history import History


@pytest.fixture(scope="module")
def digits():
    return digits_data(seed=0)


def history(train, val):
    h = History(config={})
    h.epochs.epoch = list(range(1, len(train) + 1))
    h.epochs.train_loss, h.epochs.val_loss = list(train), list(val)
    return h


def test_subset_is_seeded_without_replacement(digits):
    train, _ = digits
    a, b, c = subset(train, 50, seed=1), subset(train, 50, seed=1), subset(train, 50, seed=2)
    assert torch.equal(a.X, b.X) and not torch.equal(a.X, c.X)
    rows = {tuple(r.tolist()) for r in a.X}
    assert len(a) == 50 and len(rows) == 50


@pytest.mark.parametrize("n", [0, 10_000])
def test_subset_rejects_bad_sizes(digits, n):
    with pytest.raises(ValueError, match="n must be"):
        subset(digits[0], n)


def test_diagnose_names_the_three_shapes():
    assert diagnose(history([2.0, 1.5, 1.2], [2.0, 1.6, 1.3])).verdict == "under-fit"
    assert diagnose(history([0.5, 0.1, 0.05], [0.5, 0.2, 0.21])).verdict == "good fit"
    over = diagnose(history([0.5, 0.1, 0.01], [0.4, 0.2, 0.3]))
    assert over.verdict == "over-fit" and over.best_epoch == 2 and over.best_val == 0.2
    assert "over-fit" in str(over)


def test_rising_validation_without_falling_training_is_not_over_fitting():
    # Validation rose but training did not improve after the best epoch: not memorising.
    assert diagnose(history([0.1, 0.1, 0.1], [0.2, 0.2, 0.3])).verdict == "good fit"


def test_diagnose_needs_validation_and_checks_arguments():
    with pytest.raises(ValueError, match="val_data"):
        diagnose(history([1.0], [None]))
    with pytest.raises(TypeError, match="History"):
        diagnose([1.0])
    with pytest.raises(ValueError, match="rise"):
        diagnose(history([1.0], [1.0]), rise=-1.0)


def test_measured_curves_on_digits_are_under_and_over_fit(digits):
    train, val = digits
    settings = dict(lr=0.1, momentum=0.9, batch_size=32, seed=0)
    tiny = learning_curve(train, val, hidden=2, epochs=5, **settings)
    assert diagnose(tiny).verdict == "under-fit"
    big = learning_curve(subset(train, 100, seed=0), val, hidden=256, epochs=100, **settings)
    d = diagnose(big)
    assert d.verdict == "over-fit"
    assert d.best_epoch < 20 and d.final_train < 0.01


def test_learning_curve_records_one_row_per_epoch(digits):
    h = learning_curve(subset(digits[0], 40), digits[1], hidden=4, epochs=3)
    assert h.epochs.epoch == [1, 2, 3] and None not in h.epochs.val_loss
    assert isinstance(diagnose(h), Diagnosis)


def test_plot_learning_curves_one_panel_per_run():
    runs = {"a": history([0.5, 0.1], [0.4, 0.2]), "b": history([2.0, 1.9], [2.0, 1.9])}
    fig = plot_learning_curves(runs)
    assert len(fig.axes) == 2
    assert all(ax.get_xlabel() == "epoch" for ax in fig.axes)
    assert "under-fit" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match="histories"):
        plot_learning_curves({})


def test_a_diverged_run_is_diagnosed_as_diverged_not_under_fit():
    h = History(config={})
    h.epochs.epoch, h.epochs.train_loss, h.epochs.val_loss = [1], [5.0], [6.0]
    h.diverged_at = 12
    d = diagnose(h)
    assert d.verdict == "diverged" and "iteration 12" in d.reason and "under" not in str(d)
