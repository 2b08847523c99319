import pytest
import torch

from gdlessons.data import quadratic_data
from gdlessons.display.plots import X_AXES, loss_curve
from gdlessons.hooks import FullTrainLoss
from gdlessons.models import tutorial_mlp
from gdlessons.training import train


@pytest.fixture(scope="module")
def runs():
    data = quadratic_data(64)
    ok = train(tutorial_mlp(), data, batch_size=16, epochs=2, lr=0.01, val_data=data)
    bad = train(tutorial_mlp(), data, batch_size=16, epochs=2, lr=10.0)
    return ok, bad


@pytest.mark.parametrize("x", list(X_AXES))
def test_axes_say_what_they_count(runs, x):
    fig = loss_curve(runs[0], x=x)
    ax = fig.axes[0]
    assert ax.get_xlabel() == X_AXES[x] and ax.get_ylabel() == "loss" and ax.get_title()
    assert "step" not in ax.get_xlabel()


def test_validation_curve_is_drawn_per_epoch(runs):
    labels = [t.get_text() for t in loss_curve(runs[0]).axes[0].get_legend().get_texts()]
    assert any("validation" in label for label in labels)


def test_the_legend_says_which_training_loss_it_draws():
    data = quadratic_data(64)
    full = train(tutorial_mlp(), data, batch_size=16, epochs=2, hooks=[FullTrainLoss()])
    running = train(tutorial_mlp(), data, batch_size=16, epochs=2)
    for history, which, column in [
        (full, "all data, epoch end", full.epochs.full_train_loss),
        (running, "running mean", running.epochs.train_loss),
    ]:
        ax = loss_curve(history).axes[0]
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(which in label for label in labels), labels
        assert list(ax.get_lines()[0].get_ydata()) == list(column)
    assert full.epochs.full_train_loss != full.epochs.train_loss


def test_diverged_run_is_marked_not_plotted_as_nan(runs):
    assert runs[1].diverged
    fig = loss_curve(runs[1], x="iteration")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(f"diverged at iteration {runs[1].diverged_at}" in t for t in texts)
    for line in fig.axes[0].get_lines():
        assert torch.isfinite(torch.as_tensor(line.get_ydata(), dtype=torch.float64)).all()


def test_bad_axis_is_named(runs):
    with pytest.raises(ValueError, match="x must be one of"):
        loss_curve(runs[0], x="step")
