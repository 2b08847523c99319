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


def full_history(full, running, val):
    h = history(running, val)
    h.epochs.full_train_loss = list(full)
    return h


def test_diagnose_uses_the_full_data_training_loss_when_recorded():
    # the running mean lags: it alone would call this run under-fit
    h = full_history([0.2, 0.05, 0.01], [1.0, 0.5, 0.35], [0.3, 0.1, 0.1])
    d = diagnose(h)
    assert d.verdict == "good fit" and d.final_train == 0.01 and d.training.startswith("full-data")
    assert diagnose(history([1.0, 0.5, 0.35], [0.3, 0.1, 0.1])).verdict == "under-fit"


def test_learning_curve_records_the_full_data_training_loss(digits):
    h = learning_curve(subset(digits[0], 40), digits[1], hidden=4, epochs=2)
    assert None not in h.epochs.full_train_loss and len(h.epochs.full_train_loss) == 2


def test_gap_words_follow_the_ratio():
    from gdlessons.chapters.ch08_batch_size_meets_learning_rate import gap_words

    assert "far more closely" in gap_words(0.001, 0.05)
    assert "more closely" in gap_words(0.1, 0.2) and "far" not in gap_words(0.1, 0.2)
    assert "a small gap" in gap_words(1.0, 1.1)
    assert "no gap" in gap_words(0.5, 0.4)


def test_curve_sentences_name_each_verdict_with_its_numbers():
    from gdlessons.chapters.ch08_batch_size_meets_learning_rate import curve_sentences

    runs = {
        "small": full_history([2.0, 1.5], [2.1, 1.6], [2.0, 1.6]),
        "good": full_history([0.5, 0.01], [0.6, 0.05], [0.4, 0.05]),
        "close": full_history([0.5, 0.2], [0.6, 0.25], [0.4, 0.21]),
        "memorising": full_history([0.5, 0.1, 0.001], [0.6, 0.2, 0.01], [0.4, 0.2, 0.3]),
    }
    lines = curve_sentences(runs).splitlines()
    assert lines[0].startswith("small: under-fit") and "2.30" in lines[0]
    assert lines[1].startswith("good: good fit") and "validation 5× training" in lines[1]
    assert "not over-fitting by this chapter's rule" in lines[1]
    assert lines[2].startswith("close: good fit") and "a small gap" in lines[2]
    assert "room for more data" not in lines[2]
    assert (
        lines[3].startswith("memorising: over-fit")
        and "epoch 2 of 3" in lines[3]
        and "50% above" in lines[3]
    )


def test_plot_learning_curves_says_which_training_loss_it_draws():
    fig = plot_learning_curves({"a": full_history([0.5, 0.1], [0.6, 0.2], [0.4, 0.2]),
                                "b": history([0.5, 0.1], [0.4, 0.2])})  # fmt: skip
    labels = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes]
    assert "training (full data)" in labels[0] and "training (running mean)" in labels[1]
