"""Chapter 05's own pieces: the quadratic explorer, and the sentences chosen from its numbers."""

from __future__ import annotations

import math

import pytest
from matplotlib.figure import Figure

from gdlessons.chapters import ch05_learning_rate as ch
from gdlessons.display.sizes import problems
from gdlessons.history import History
from gdlessons.landscapes import eigenvalues_from_condition, iterates
from gdlessons.lr_finder import RangeTest


def test_quadratic_explorer_is_pure_and_reports_bound_and_regimes():
    ex = ch.quadratic_explorer()
    assert set(ex.state()) == {"lr", "a", "kappa"}
    text = ex.readout(lr=0.6, a=4.0, kappa=10.0)
    assert "bound 2/a = 0.5" in text and "1-D regime: divergent" in text
    assert "1-D regime: oscillating" in ex.readout(lr=0.45, a=4.0)
    assert "2-D, κ = 25" in ex.readout() and ": slow" in ex.readout()
    fig = ex.figure(lr=0.3, a=8.0)
    assert "divergent" in fig.axes[0].get_title() and "bound 2/a = 0.25" in fig.axes[0].get_title()
    assert ex.png(lr=0.2, a=8.0) == ex.png(lr=0.2, a=8.0)
    assert problems(fig) == []
    for state in ex.sample_states(3):
        assert isinstance(ex.figure(**state), Figure)


def test_explorer_is_registered():
    assert ch.EXPLORERS["ch05-quadratic-explorer"] is ch.quadratic_explorer


# --- the chapter's numbers put into words ---------------------------------------------------------


def run(full, diverged_at=None, batch_losses=(1.0,)):
    h = History(config={})
    h.epochs.epoch = list(range(1, len(full) + 1))
    h.epochs.full_train_loss = list(full)
    h.epochs.train_loss = list(full)
    h.iterations.loss = list(batch_losses)
    h.iterations.iteration = list(range(1, len(batch_losses) + 1))
    h.diverged_at = diverged_at
    return h


def test_mirror_rates_converge_equally_fast_and_are_said_to():
    rows = ch.regime_rows(4.0, [0.1, 0.4])
    assert rows[0]["|r|"] == rows[1]["|r|"] == 0.6
    assert rows[0]["iterations per tenfold"] == rows[1]["iterations per tenfold"]
    text = ch.regime_sentences(4.0, [0.1, 0.4])
    assert "tied" in text and "exactly as fast as its mirror" in text
    # another curvature: no longer mirrors, and the ranking follows |r|
    text = ch.regime_sentences(2.5, [0.05, 0.3, 0.7, 0.9])
    assert text.startswith("fastest to slowest: η = 0.3 (|r| = 0.25), η = 0.7 (|r| = 0.75)")
    assert "η = 0.9 diverges" in text and "tied" not in text
    assert ch.tenfold_iterations(0.1) == pytest.approx(1.0) and math.isinf(
        ch.tenfold_iterations(1.0)
    )


def test_describe_2d_says_zig_zag_only_when_the_steep_factor_is_negative():
    for kappa, lr, steep in ((25.0, 0.45, "zig-zags"), (8.0, 0.2, "shrinks steadily")):
        lam = eigenvalues_from_condition(kappa, lambda_max=4.0 if kappa == 25.0 else 2.5)
        text = ch.describe_2d(lam, lr, iterates(lam, [1.2, 1.0], lr, 10))
        assert f"({'it ' + steep})" in text.splitlines()[0]
        assert "it would diverge" in text  # κ > 2: one rate cannot suit both axes
    lam = eigenvalues_from_condition(1.5, lambda_max=1.0)
    assert "it would still converge" in ch.describe_2d(lam, 0.5, iterates(lam, [1.0, 1.0], 0.5, 3))


def test_rate_verdicts_follow_the_numbers():
    runs = {1e-4: run([9.0, 5.0]), 1e-2: run([2.0, 1.0]), 0.1: run([1.5, 3.0]),
            0.5: run([], diverged_at=3, batch_losses=(20.0, 1e4))}  # fmt: skip
    lines = ch.rate_sentences(runs).splitlines()
    assert lines[0].startswith("lr = 0.0001: too small") and "above the best rate's 1" in lines[0]
    assert (
        lines[1].startswith("lr = 0.01: the best of these rates") and "fell every epoch" in lines[1]
    )
    assert lines[2].startswith("lr = 0.1: too large") and "by up to ×2" in lines[2]
    assert "divergent, batch losses 2e+01, 1e+04, then not finite at iteration 3" in lines[3]
    # when a large rate ends lowest, it is the best one, whatever its size
    flipped = ch.rate_sentences({1e-4: run([9.0, 5.0]), 0.1: run([3.0, 0.5])})
    assert "lr = 0.1: the best" in flipped and "too large" not in flipped


def test_rule_comparison_places_the_course_rule_honestly():
    def comparison(final):
        lrs = {"min/10": [0.01, 0.02], "steepest": [0.004, 0.005], "valley": [0.002, 0.03]}
        return ch.RuleComparison((0, 1), 3, lrs, final)

    good = comparison({"min/10": [1.0, 1.1], "steepest": [1.2, 1.2], "valley": [1.3, None]})
    rows = {r["rule"]: r for r in good.rows()}
    assert (
        rows["min/10 (course)"]["spread (×)"] == 2
        and rows["valley"]["worst final loss"] == "diverged"
    )
    text = good.sentences()
    assert "is the best in the worst case, though steepest moved less" in text
    assert "median rate, boldest first: valley (0.016), min/10 (0.015)" in text
    worse = comparison({"min/10": [1.0, 1.5], "steepest": [1.2, 1.2], "valley": [1.3, 1.4]})
    assert (
        "steepest and valley did better in the worst case than the course's rule"
        in worse.sentences()
    )


def test_compare_rules_trains_at_every_rule_and_order():
    from gdlessons.data import quadratic_data
    from gdlessons.models import tutorial_mlp

    c = ch.compare_rules(tutorial_mlp(), quadratic_data(100), orders=2, epochs=1, iterations=30)
    assert c.orders == (0, 1) and all(len(v) == 2 for v in c.suggestions.values())
    assert all(v is None or v > 0 for ends in c.final.values() for v in ends)
    with pytest.raises(ValueError, match="orders"):
        ch.compare_rules(tutorial_mlp(), quadratic_data(100), orders=0)


def test_trial_sentences_say_when_the_suggestion_is_not_the_best():
    trials = {"0.1× suggestion": 0.001, "1× suggestion": 0.01, "10× suggestion": 0.1}
    checks = {"0.1× suggestion": run([3.0, 2.0]), "1× suggestion": run([2.0, 1.5]),
              "10× suggestion": run([1.5, 1.2])}  # fmt: skip
    text = ch.trial_sentences(trials, checks, {0.05: run([2.0, 1.6])})
    assert "of the three, 10× the suggestion (lr = 0.1) ended lowest" in text
    assert "ended at 1.6: not lower than the suggestion's 1.5" in text


def test_describe_range_test_names_a_window_longer_than_the_sweep():
    lrs = [1e-3 * 10 ** (i / 4) for i in range(12)]
    r = RangeTest(lr=lrs, loss=[3.0] * 12, smoothed=[3.0 - 0.1 * i for i in range(11)] + [9.0],
                  min_loss_lr=lrs[10], steepest=lrs[4], valley=lrs[5], skipped=2,
                  stop_reason="reached end_lr", config={"iterations": 12, "beta": 0.98})  # fmt: skip
    text = ch.describe_range_test(r)
    assert "more than this whole sweep of 12" in text
    assert "ignoring the first 2 updates" in text and "min/10 (the course rule)" in text


def test_plot_rate_runs_one_panel_unless_a_run_diverged_and_styles_differ():
    fig = ch.plot_rate_runs({0.01: run([2.0, 1.0]), 0.1: run([1.5, 1.2])}, batch_size=32)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "epoch" and "B = 32" in ax.get_title()
    assert len({(line.get_linestyle(), line.get_marker()) for line in ax.lines}) == 2
    fig = ch.plot_rate_runs(
        {0.01: run([2.0, 1.0]), 0.5: run([], diverged_at=3, batch_losses=(2.0, 9.0))}
    )
    assert [a.get_xlabel() for a in fig.axes] == ["epoch", "iteration (optimizer updates)"]
    assert all(a.get_title() for a in fig.axes)
    assert problems(fig) == []
