import math

import numpy as np
import pytest

from gdlessons.chapters import ch08_batch_size_meets_learning_rate as batch_lr
from gdlessons.chapters.ch08_batch_size_meets_learning_rate import (
    Grid,
    TargetResult,
    epochs_to_target,
    heatmap,
    heatmap_explorer,
    lr_batch_grid,
    plot_targets,
    target_table,
)
from gdlessons.data import digits_data
from gdlessons.models import digits_classifier
from gdlessons.training import evaluate, train

SIZES, RATES = (256, 512), (0.5, 1.0, 64.0)


@pytest.fixture(scope="module")
def grid():
    return lr_batch_grid(SIZES, RATES, epochs=2)


def test_grid_is_cached(grid):
    assert lr_batch_grid(SIZES, RATES, epochs=2) is grid


def test_grid_cell_matches_train(grid):
    train_data, val_data = digits_data(seed=0)
    h = train(
        digits_classifier(hidden=32, seed=0), train_data, batch_size=256, epochs=2, lr=0.5,
        loss="cross_entropy", val_data=val_data, seed=0, progress=False,
    )  # fmt: skip
    assert grid.history(256, 0.5).epochs.val_loss == pytest.approx(h.epochs.val_loss, rel=1e-4)


def test_failed_cells_are_marked_and_excluded(grid):
    failed = grid.failed()
    assert failed.tolist() == [[False, False, True], [False, False, True]]
    losses = grid.final_val()
    assert np.isnan(losses[:, 2]).all() and np.isfinite(losses[:, :2]).all()
    assert "×" in grid.table()


def test_best_lr_is_the_lowest_final_loss(grid):
    losses = grid.final_val()
    for i, B in enumerate(SIZES):
        assert grid.best_lr()[B] == RATES[int(np.nanargmin(losses[i]))]


def test_best_lr_is_none_when_every_rate_fails():
    g = lr_batch_grid((512,), (64.0,), epochs=1)
    assert g.best_lr() == {512: None}
    assert g.smallest_lr_reaching(10.0) == {512: None}


def test_diagonal_and_smallest_lr(grid):
    cells = grid.diagonal(1 / 512)
    assert [(B, lr) for B, lr, _ in cells] == [(256, 0.5), (512, 1.0)]
    assert cells[0][2] == pytest.approx(grid.final_val()[0, 0])
    loose = grid.smallest_lr_reaching(100.0)
    assert loose == {256: 0.5, 512: 0.5}
    with pytest.raises(ValueError, match="ratio"):
        grid.diagonal(0.0)


def test_grid_checks_arguments():
    with pytest.raises(ValueError, match="epochs"):
        lr_batch_grid((32,), (0.1,), epochs=0)
    with pytest.raises(ValueError, match="lrs"):
        lr_batch_grid((32,), (-0.1,), epochs=1)
    with pytest.raises(ValueError, match="non-empty"):
        lr_batch_grid((), (0.1,), epochs=1)
    g = Grid((32,), (0.1,), 1, 32, {})
    with pytest.raises(ValueError, match="batch_size"):
        g.history(64, 0.1)


def test_epochs_to_target_stops_at_the_first_epoch_reaching_it():
    r = epochs_to_target(256, 1.0, 0.5, max_epochs=20)
    assert r.reached and r.iterations == r.epochs * math.ceil(1438 / 256) and r.seconds > 0
    train_data, val_data = digits_data(seed=0)

    def val_after(epochs):
        model = digits_classifier(hidden=32, seed=0)
        train(
            model,
            train_data,
            batch_size=256,
            epochs=epochs,
            lr=1.0,
            loss="cross_entropy",
            progress=False,
        )
        return evaluate(model, val_data, "cross_entropy")

    assert val_after(r.epochs) <= 0.5
    if r.epochs > 1:
        assert val_after(r.epochs - 1) > 0.5


def test_epochs_to_target_not_reached():
    r = epochs_to_target(512, 0.01, 0.05, max_epochs=2)
    assert not r.reached and r.seconds is None
    assert "not reached" in target_table([r])
    with pytest.raises(ValueError, match="target"):
        epochs_to_target(512, 0.1, 0.0)


def test_plots(grid):
    fig = heatmap(grid, highlight=(512, 1.0))
    assert fig.axes[0].get_xlabel() == "learning rate" and fig.axes[0].get_ylabel() == "batch size"
    results = [TargetResult(32, 1.0, 0.2, 2, 90, 0.1), TargetResult(64, 1.0, 0.2, None, None, None)]
    fig = plot_targets({"lr 1": results})
    assert fig.axes[0].get_xlabel() == "batch size"
    with pytest.raises(ValueError, match="series"):
        plot_targets({})


def test_explorer_draws_every_cell(grid):
    ex = heatmap_explorer(grid)
    assert set(ex.state()) == {"batch_size", "lr"}
    for B in SIZES:
        for lr in RATES:
            assert ex.png(batch_size=B, lr=lr)[:4] == b"\x89PNG"
    assert "diverged" in ex.readout(batch_size=512, lr=64.0)
    assert "final validation loss" in ex.readout(batch_size=512, lr=1.0)
    with pytest.raises(ValueError):
        ex.figure(batch_size=100, lr=1.0)


def test_explorer_frames_depend_only_on_the_state(grid):
    # The explorer keeps one figure and redraws its moving artists: a frame must not remember
    # earlier moves.
    ex = heatmap_explorer(grid)
    first = ex.png(batch_size=256, lr=0.5)
    assert ex.png(batch_size=512, lr=64.0) != first
    ex.png(batch_size=512, lr=1.0)
    assert ex.png(batch_size=256, lr=0.5) == first


def test_explorer_is_registered():
    assert batch_lr.EXPLORERS["ch08-heatmap-explorer"] is heatmap_explorer


def test_grid_sentences_follow_the_table(grid):
    text = batch_lr.grid_sentences(grid)
    losses = grid.final_val()
    trend = "grows with every doubling" if losses[1, 0] > losses[0, 0] else "does not grow steadily"
    assert trend in text
    assert "diverged: lr 64 at every batch size" in text
    best = grid.best_lr()
    assert f"B=256: {best[256]:g}, B=512: {best[512]:g}" in text


def test_ratios_and_diagonal_sentences(grid):
    assert grid.ratios() == [1 / 512]  # the only diagonal with two finished cells
    text = batch_lr.diagonal_sentences(grid)
    assert "lr / batch = 1/512: B=256, lr=0.5" in text and "median over rows" in text
    lone = lr_batch_grid((512,), (0.5, 64.0), epochs=1)
    assert lone.ratios() == [] and "nothing to compare" in batch_lr.diagonal_sentences(lone)


def test_target_sentences_name_every_step():
    rs = [TargetResult(32, 0.5, 0.1, 8, 360, 0.3), TargetResult(64, 0.5, 0.1, 5, 115, 0.1),
          TargetResult(128, 0.5, 0.1, 5, 60, 0.1), TargetResult(256, 0.5, 0.1, 9, 54, 0.1),
          TargetResult(512, 0.5, 0.1, None, None, None)]  # fmt: skip
    text = batch_lr.target_sentences(rs, label="lr 0.5")
    assert "epochs grew at B = 128 → 256; stayed equal at B = 64 → 128; fell at B = 32 → 64" in text
    assert "not reached: B=512" in text
    assert "every step" in batch_lr.target_sentences(rs[1:2] + rs[3:4], label="x")
    assert "no batch size reached" in batch_lr.target_sentences(rs[4:], label="x")


def test_time_sentences_and_target_plot_styles():
    rs = [TargetResult(32, 1.0, 0.2, 2, 90, 0.09), TargetResult(64, 1.0, 0.2, 3, 69, 0.05)]
    assert batch_lr.time_sentences(rs).endswith("first there: B=64")
    fig = plot_targets({"a": rs, "b": rs})
    styles = {(line.get_linestyle(), line.get_marker()) for line in fig.axes[0].lines}
    assert len(styles) == 2
