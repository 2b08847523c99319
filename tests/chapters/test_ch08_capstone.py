import numpy as np
import pytest
import torch

from gdlessons.chapters.ch08_batch_size_meets_learning_rate import (
    confusion_matrix,
    plot_capstone,
    plot_capstone_range_test,
    plot_confusion,
    run_capstone,
)


@pytest.fixture(scope="module")
def small():
    return run_capstone(hidden=16, epochs=2, range_iterations=30, memory_limit=100)


def test_confusion_matrix_counts_pairs():
    model = torch.nn.Linear(3, 3, bias=False)
    model.weight.data = torch.eye(3)
    X = torch.eye(3)[[0, 1, 2, 2]]
    y = torch.tensor([0, 2, 2, 1])
    m = confusion_matrix(model, (X, y), classes=3)
    assert m.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
    assert np.trace(m) / m.sum() == 0.5


def test_accumulation_emulates_the_batch(small):
    assert small.accumulation_steps == 3  # ceil(256 / 100)
    assert small.history.config["accumulation_steps"] == 3
    assert small.history.config["batch_size"] == 256 and small.micro_batch == 100


def test_one_cycle_peaks_at_a_tenth_of_the_range_tests_minimum(small):
    assert small.max_lr == pytest.approx(small.range_test.min_loss_lr / 10)
    lrs = small.history.iterations.lr
    assert max(lrs) == pytest.approx(small.max_lr, rel=0.05)
    assert lrs[0] < small.max_lr / 10 and lrs[-1] < small.max_lr / 10
    assert small.history.config["scheduler"] == "OneCycleLR"


def test_confusion_matches_accuracy(small):
    assert small.confusion.sum() == 359
    assert np.trace(small.confusion) / 359 == pytest.approx(small.val_accuracy)


def test_defaults_reach_the_stated_accuracy():
    assert run_capstone().val_accuracy >= 0.95


def test_bad_arguments():
    with pytest.raises(ValueError, match="lr_rule"):
        run_capstone(lr_rule="guess")
    with pytest.raises(ValueError, match="memory_limit"):
        run_capstone(memory_limit=0)
    with pytest.raises(ValueError, match="confusion"):
        plot_confusion(np.zeros((2, 3)))


def test_plots(small):
    fig = plot_capstone(small)
    rate, curves, matrix = fig.axes[:3]
    assert rate.get_xlabel().startswith("iteration") and curves.get_xlabel() == "epoch"
    assert matrix.get_xlabel() == "predicted digit"
    assert plot_capstone_range_test(small).axes[0].get_ylabel() == "cross-entropy loss"


def test_the_peak_is_read_by_the_course_rule_and_curves_are_like_for_like(small):
    from gdlessons.lr_finder import RULE, suggested_lr

    assert small.lr_rule == RULE and small.max_lr == suggested_lr(small.range_test)
    eps = small.history.epochs
    assert None not in eps.full_train_loss and len(eps.full_train_loss) == len(eps.val_loss)
    assert "range-test rule min/10" in small.summary()


def test_capstone_sentences_follow_the_numbers(small):
    from gdlessons.chapters.ch08_batch_size_meets_learning_rate import capstone_sentences

    text = capstone_sentences(small)
    eps = small.history.epochs
    below_mean = sum(v < m for v, m in zip(eps.val_loss, eps.train_loss))
    below_full = sum(v < f for v, f in zip(eps.val_loss, eps.full_train_loss))
    if below_mean:
        assert f"Validation sits below the running mean in {below_mean} of {len(eps.epoch)}" in text
    else:
        assert "never sits below the running mean" in text
    assert (f"in {below_full} of" in text) if below_full else ("in no epoch" in text)
    met = "meets" if small.val_accuracy >= 0.95 else "misses"
    assert f"{met} the 95% goal" in text
    assert f"{small.val_accuracy:.1%}" in text


def test_other_rules_give_other_peaks():
    r = run_capstone(hidden=16, epochs=1, range_iterations=30, lr_rule="valley")
    assert r.max_lr == r.range_test.valley and r.lr_rule == "valley"


def test_plot_capstone_shows_both_training_losses(small):
    curves = plot_capstone(small).axes[1]
    labels = [t.get_text() for t in curves.get_legend().get_texts()]
    assert any("full data" in s for s in labels) and any("running mean" in s for s in labels)
    styles = {(line.get_linestyle(), line.get_marker()) for line in curves.lines}
    assert len(styles) == 3
