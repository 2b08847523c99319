"""Chapter 08's module: the batch-size × learning-rate grid, targets, learning curves and the capstone."""

import math
import re

import numpy as np
import pytest
import torch

from gdlessons.chapters import ch08_batch_size_meets_learning_rate as batch_lr
from gdlessons.chapters.ch08_batch_size_meets_learning_rate import (
    Diagnosis,
    Grid,
    TargetResult,
    confusion_matrix,
    diagnose,
    epochs_to_target,
    heatmap,
    heatmap_explorer,
    learning_curve,
    lr_batch_grid,
    plot_capstone,
    plot_capstone_range_test,
    plot_confusion,
    plot_learning_curves,
    plot_targets,
    run_capstone,
    subset,
    target_table,
)
from gdlessons.data import digits_data
from gdlessons.history import History
from gdlessons.metrics import evaluate
from gdlessons.models import digits_classifier
from gdlessons.training import train
from tests.explorer_states import sampled_states

SIZES, RATES = (256, 512), (0.5, 1.0, 64.0)


@pytest.fixture(scope="module")
def grid():
    return lr_batch_grid(SIZES, RATES, epochs=2)


def test_grid_is_cached(grid):
    assert lr_batch_grid(SIZES, RATES, epochs=2) is grid


def test_grid_cell_matches_train(grid):
    train_data, val_data, _ = batch_lr.digits_split(seed=0)
    h = train(
        digits_classifier(hidden=32, seed=0), train_data, batch_size=256, epochs=2, lr=0.5,
        loss="cross_entropy", val_data=val_data, seed=0,
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
    assert r.reached and r.iterations == r.epochs * math.ceil(1079 / 256) and r.seconds > 0
    train_data, val_data, _ = batch_lr.digits_split(seed=0)

    def val_after(epochs):
        model = digits_classifier(hidden=32, seed=0)
        train(
            model,
            train_data,
            batch_size=256,
            epochs=epochs,
            lr=1.0,
            loss="cross_entropy",
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


# The explorer's words, parsed: the readout, the curve panel's title and its failure note, and the
# heat map's title.
READOUT = re.compile(
    r"^B=(\d+), lr=(\S+): (\d+) iterations per epoch, (diverged|final validation loss (\d+\.\d{3}))\n"
    r"training curve: the mean of each epoch's batch losses, taken while the weights moved$"
)
CURVE_TITLE = re.compile(r"^B=(\d+), lr=(\S+):\nlearning curves$")
FAILURE = re.compile(r"^diverged: (?:stopped at iteration (\d+)|(loss above chance))$")
MAP_TITLE = re.compile(
    r"^Validation loss after (\d+) epochs?\n× diverged, orange box: best rate per row$"
)


@pytest.fixture(scope="module")
def explorer_grids():
    """The grids the explorer is drawn over: the notebook's (every rate and batch size, 8 epochs:
    runs that stop at a non-finite loss after 0 to 6 epochs, runs that blow up without one) and
    one epoch of the same (single-point curves; lr 4 finishing at B=512)."""
    return {"notebook": lr_batch_grid(), "one epoch": lr_batch_grid(epochs=1)}


def _cell_at(ax, x, y):
    """The tick labels the heat map shows under column x and beside row y."""
    xs = {round(t): label.get_text() for t, label in zip(ax.get_xticks(), ax.get_xticklabels())}
    ys = {round(t): label.get_text() for t, label in zip(ax.get_yticks(), ax.get_yticklabels())}
    return xs[round(x)], ys[round(y)]


def _retrained(grid, batch_size, lr):
    """The cell's run trained afresh by train(), as one grid cell would be, without the sweep."""
    train_data, val_data, _ = batch_lr.digits_split(seed=0)
    return train(
        digits_classifier(hidden=grid.hidden, seed=0), train_data, batch_size=batch_size,
        epochs=grid.epochs, lr=lr, loss="cross_entropy", val_data=val_data, seed=0,
    )  # fmt: skip


@pytest.mark.parametrize("which", ["notebook", "one epoch"])
def test_explorer_words_agree_with_its_picture_at_sampled_states(explorer_grids, which):
    """At every sampled state: the readout, the curve panel's title and failure note, the heat
    map's title, cell labels, tick labels, crosses and boxes all state what the drawn artists
    hold; and for one state of each kind (finished, stopped, blown up) the drawn curves are the
    run trained afresh with train() at the slider's batch size and rate."""
    grid = explorer_grids[which]
    n_train = len(batch_lr.digits_split(seed=0)[0])
    explorer = heatmap_explorer(grid)
    # Its still heat map is not redrawn per state to check the kept pixels (a full draw each, most
    # of this test's time): tests/display/test_every_explorer.py and the frames test below do that.
    retrained = set()
    for state in sampled_states(explorer):
        assert explorer.png(**state).startswith(b"\x89PNG")
        fig, where = explorer.figure(**state), f"at {state} ({which} grid)"
        B, lr = state["batch_size"], state["lr"]
        left, right, _bar = fig.axes
        # -- the readout and the curve panel's title name the slider's cell
        said = READOUT.match(explorer.readout(**state))
        assert said, (where, explorer.readout(**state))
        assert (int(said[1]), float(said[2])) == (B, lr), where
        assert int(said[3]) == math.ceil(n_train / B), where
        titled = CURVE_TITLE.match(right.get_title())
        assert titled and (int(titled[1]), float(titled[2])) == (B, lr), (where, right.get_title())
        # -- the drawn curves: one point per finished epoch, the chance line at ln 10
        lines = {line.get_label(): line for line in right.get_lines()}
        legend = [t.get_text() for t in right.get_legend().get_texts()]
        assert legend == ["training (batch mean)", "validation", "chance (ln 10)"], where
        assert sorted(lines) == sorted(legend), where
        assert set(lines["chance (ln 10)"].get_ydata()) == {math.log(10)}, where
        train_x, train_y = map(list, lines["training (batch mean)"].get_data())
        val_x, val_y = map(list, lines["validation"].get_data())
        drawn = len(val_x)
        assert train_x == val_x == list(range(1, drawn + 1)) and len(train_y) == drawn, where
        assert right.get_xlim() == (0.5, grid.epochs + 0.5), where
        low, high = right.get_ylim()
        # -- the verdict: the readout's word, the note on the curves and the drawn data agree
        notes = [t.get_text() for t in right.texts if t.get_text()]
        if said[4] == "diverged":
            assert len(notes) == 1, (where, notes)
            failure = FAILURE.match(notes[0])
            assert failure, (where, notes)
            if failure[1]:  # a non-finite loss at that iteration stopped the run
                stopped = int(failure[1])
                per_epoch = int(said[3])
                assert stopped <= grid.epochs * per_epoch, where
                assert drawn == (stopped - 1) // per_epoch < grid.epochs, where  # epochs done
                kind = "stopped"
            else:  # every epoch ran, and the last validation loss is worse than a uniform guess
                assert drawn == grid.epochs, where
                assert not (math.isfinite(val_y[-1]) and val_y[-1] <= math.log(10)), where
                # "diverged", not a flat run near chance: the curve leaves the top of the panel
                assert not val_y[-1] <= high, where
                kind = "above chance"
        else:
            assert notes == [], where
            assert drawn == grid.epochs, where
            final = val_y[-1]
            assert said[5] == f"{final:.3f}" and final <= math.log(10), where
            # the whole run is inside the fixed limits: the picture shows what the words name
            assert all(low < y < high for y in train_y + val_y), where
            kind = "finished"
        # -- the heat map: the outline sits on the slider's cell, whose label is the curve's end
        (outline,) = [p for p in left.patches if p.get_animated()]
        x, y = outline.get_x() + 0.5, outline.get_y() + 0.5
        assert (outline.get_width(), outline.get_height()) == (1, 1), where
        assert _cell_at(left, x, y) == (f"{lr:g}", str(B)), where
        (label,) = [t for t in left.texts if t.get_position() == (x, y)]
        assert label.get_text() == ("×" if kind != "finished" else f"{val_y[-1]:.2f}"), where
        image = left.get_images()[0].get_array()
        cell = image[round(y), round(x)]
        if kind == "finished":
            assert 10**cell == pytest.approx(val_y[-1], rel=1e-6), where
        else:
            assert np.ma.is_masked(cell) or np.isnan(cell), where
        # -- a few states: the curves are the run trained afresh at this batch size and rate
        if kind not in retrained:
            retrained.add(kind)
            h = _retrained(grid, B, lr)
            if kind == "stopped":
                assert h.diverged_at == stopped and len(h.epochs.epoch) == drawn, where
            elif kind == "above chance":  # blowing up amplifies rounding: epoch 1, the verdict
                assert h.epochs.train_loss[0] == pytest.approx(train_y[0], rel=1e-3), where
                assert h.epochs.val_loss[0] == pytest.approx(val_y[0], rel=1e-3), where
                assert batch_lr._failed(h), where
            else:
                assert h.epochs.train_loss == pytest.approx(train_y, rel=1e-3), where
                assert h.epochs.val_loss == pytest.approx(val_y, rel=1e-3), where
    # -- the still heat map: its title, every cell's label, crosses and boxes, from the image
    title = MAP_TITLE.match(left.get_title())
    assert title and int(title[1]) == grid.epochs, left.get_title()
    data = np.ma.filled(left.get_images()[0].get_array().astype(float), np.nan)
    assert data.shape == (len(grid.batch_sizes), len(grid.lrs))
    assert [t.get_text() for t in left.get_xticklabels()] == [f"{v:g}" for v in grid.lrs]
    assert [t.get_text() for t in left.get_yticklabels()] == [str(v) for v in grid.batch_sizes]
    labels = {t.get_position(): t.get_text() for t in left.texts}
    assert len(labels) == data.size
    # the colour bar spans the finished cells' losses, as the image's colour scale does
    assert _bar.get_ylim() == pytest.approx((np.nanmin(data), np.nanmax(data)))
    grey = {(p.get_x() + 0.5, p.get_y() + 0.5) for p in left.patches if p.get_fill()}
    boxes = {
        (round(p.get_x() + 0.45), round(p.get_y() + 0.45))
        for p in left.patches
        if not p.get_animated() and not p.get_fill()
    }
    for i, row in enumerate(data):
        for j, v in enumerate(row):
            failed = bool(np.isnan(v))
            assert labels[(j, i)] == ("×" if failed else f"{10**v:.2f}"), (i, j)
            assert ((j, i) in grey) == failed, (i, j)
        best = None if np.isnan(row).all() else int(np.nanargmin(row))
        assert {c for c in boxes if c[1] == i} == ({(best, i)} if best is not None else set()), i
    assert retrained == {"finished", "stopped", "above chance"}, retrained  # every kind was seen


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


# ---------------------------------------------------------------------------------------------
# Learning curves and their diagnosis
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# The capstone
# ---------------------------------------------------------------------------------------------


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


def test_capstone_checks_arguments():
    with pytest.raises(ValueError, match="lr_rule"):
        run_capstone(lr_rule="guess")
    with pytest.raises(ValueError, match="memory_limit"):
        run_capstone(memory_limit=0)
    with pytest.raises(ValueError, match="confusion"):
        plot_confusion(np.zeros((2, 3)))


def test_capstone_plots(small):
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
    side = "above" if small.val_accuracy >= 0.95 else "below"
    assert f"{side} 95% here, but the 95% goal is judged on the test set" in text
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


def test_learning_curves_measured_by_the_your_turn_reference_are_the_default_ones(digits):
    """The story hands ``learning_curve`` t1's function: its reference records, bit for bit,
    what ``evaluate`` (the FullTrainLoss hook and the validation record) recorded before."""
    from gdlessons.exercises.ch08_batch_size_meets_learning_rate import t1

    data = subset(digits[0], 40)
    default = learning_curve(data, digits[1], hidden=4, epochs=2)
    measured = learning_curve(data, digits[1], hidden=4, epochs=2, measure=t1.reference)
    for field in ("train_loss", "full_train_loss", "val_loss"):
        assert getattr(measured.epochs, field) == getattr(default.epochs, field), field
    seen = []
    learning_curve(
        data, digits[1], hidden=4, epochs=1, measure=lambda m, X, y: seen.append(len(X)) or 1.0
    )
    assert seen == [40, 359]  # the training images, then the validation images
    with pytest.raises(TypeError, match="measure must be a function"):
        learning_curve(data, digits[1], epochs=1, measure="evaluate")


def test_capstone_keeps_the_scores_that_t4_counts_and_plots_a_given_matrix(small):
    """t4's reference counts, from the scores the result keeps, what the capstone counted before;
    the figure draws the matrix it is given, and refuses one of the wrong shape."""
    from gdlessons.exercises.ch08_batch_size_meets_learning_rate import t4

    assert small.val_scores.shape == (359, 10) and small.val_labels.shape == (359,)
    counted = t4.reference(small.val_scores, small.val_labels)
    assert np.array_equal(counted.numpy(), small.confusion)
    assert float(np.trace(small.confusion) / 359) == small.val_accuracy
    fig = plot_capstone(small, confusion=counted)
    assert fig.axes[2].get_title() == f"Validation: {small.val_accuracy:.1%} correct"
    with pytest.raises(ValueError, match="confusion must be a 10×10 matrix of counts"):
        plot_capstone(small, confusion=np.eye(9))


# ---------------------------------------------------------------------------------------------
# The three-way split, larger batches, and choosing on validation
# ---------------------------------------------------------------------------------------------


def test_the_split_is_seeded_disjoint_and_keeps_digits_datas_validation_images():
    train, val, test = batch_lr.digits_split(seed=0)
    assert (len(train), len(val), len(test)) == (1079, 359, 359)
    _, old_val = digits_data(seed=0)
    assert torch.equal(val.y, old_val.y)  # the same images, in the same order
    rows = [{tuple(r.tolist()) for r in part.X} for part in (train, val, test)]
    assert not (rows[0] & rows[2]) and not (rows[1] & rows[2])
    assert torch.allclose(train.X.mean(dim=0), torch.zeros(64), atol=1e-5)  # training statistics
    assert float(val.X.abs().max()) < 30  # the floored deviation: no pixel tens of deviations out
    other = batch_lr.digits_split(seed=1)[2]
    assert not torch.equal(other.y, test.y)
    with pytest.raises(ValueError, match="test_fraction must be a finite number in"):
        batch_lr.digits_split(test_fraction=0.0)
    with pytest.raises(ValueError, match="must leave at least a tenth"):
        batch_lr.digits_split(val_fraction=0.5, test_fraction=0.45)


def test_scaled_lr_and_warmup_follow_their_rules():
    assert batch_lr.scaled_lr("same", 0.1, 32, 512) == 0.1
    assert batch_lr.scaled_lr("linear + warm-up", 0.1, 32, 512) == pytest.approx(1.6)
    assert batch_lr.scaled_lr("square root", 0.1, 32, 512) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="rule must be one of"):
        batch_lr.scaled_lr("cubic", 0.1, 32, 64)
    assert batch_lr.linear_warmup(0, 5, 0.1) == 0.1 and batch_lr.linear_warmup(9, 5, 0.1) == 1.0


def test_compare_scaling_warms_up_by_the_given_function_as_by_linear_lr():
    plain = batch_lr.compare_scaling((256,), ("linear + warm-up",), epochs=2)
    given = batch_lr.compare_scaling(
        (256,), ("linear + warm-up",), epochs=2, warmup=batch_lr.linear_warmup
    )
    assert given.run(256, "linear + warm-up").val_loss == pytest.approx(
        plain.run(256, "linear + warm-up").val_loss, rel=1e-5
    )
    assert plain.warmup_iterations == {256: 2}  # a fifth of 2 epochs × 5 iterations
    wall = batch_lr.compare_scaling((512,), ("linear",), base_lr=0.25, epochs=2)
    assert wall.run(512, "linear").failed and "B=512 linear (lr 4)" in batch_lr.failed_runs(wall)
    with pytest.raises(ValueError, match="no run at batch_size=64"):
        wall.run(64, "linear")
    with pytest.raises(ValueError, match="batch_sizes must lie between 1 and 1079"):
        batch_lr.compare_scaling((4096,), epochs=1)
    with pytest.raises(TypeError, match="warmup must be a function"):
        batch_lr.compare_scaling((64,), warmup=0.1)


def test_scaling_sentences_compare_rules_per_batch_size():
    runs = (
        batch_lr.ScalingRun(32, "linear", 0.1, 0.02, 0.10, False),
        batch_lr.ScalingRun(32, "linear + warm-up", 0.1, 0.03, 0.09, False),
        batch_lr.ScalingRun(256, "linear", 0.8, math.nan, math.nan, True),
        batch_lr.ScalingRun(256, "linear + warm-up", 0.8, 0.02, 0.12, False),
    )
    s = batch_lr.Scaling("sgd", 32, 0.1, 2, {32: 9, 256: 1}, runs)
    text = batch_lr.scaling_sentences(s)
    assert "linear: trained except at B=256" in text
    assert "lower at B=32" in text and "it rescued B=256" in text
    assert "×" in batch_lr.scaling_table(s)


def test_selection_gaps_choose_on_validation_and_report_on_test():
    c = batch_lr.Candidates(
        ("a", "b", "c"), np.array([0.9, 0.95, 0.95]), np.array([0.93, 0.90, 0.99])
    )
    assert batch_lr.choose_on_validation(c.val_accuracy) == 1  # the first of equal bests
    gaps = batch_lr.selection_gaps(c, draws=200)
    assert [k for k, *_ in gaps] == [1, 2, 3]
    assert gaps[-1] == (3, 0.95, 0.90)
    assert gaps[0][1] == pytest.approx(c.val_accuracy.mean(), abs=0.02)  # no choice at k = 1
    assert "points of optimism" in batch_lr.selection_sentences(gaps)
    with pytest.raises(ValueError, match="sizes"):
        batch_lr.selection_gaps(c, (4,))


def test_candidates_are_scored_on_both_sets():
    c = batch_lr.compare_candidates((0.05, 0.1), 2, epochs=2)
    assert len(c.labels) == 4 and c.val_accuracy.shape == c.test_accuracy.shape == (4,)
    assert ((0 < c.test_accuracy) & (c.test_accuracy <= 1)).all()


def test_the_capstone_keeps_its_model_for_the_test_set(small):
    _, _, test = batch_lr.digits_split(seed=0)
    scores, labels = batch_lr.class_scores(small.model, test)
    assert scores.shape == (359, 10) and torch.equal(labels, test.y)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        batch_lr.class_scores("model", test)
