"""Chapter 05's own pieces: the quadratic explorer, the sentences chosen from its numbers, the
preconditioners compared (plain, Newton, diagonal) and the Hessian's extreme eigenvalues."""

from __future__ import annotations

import copy
import math
import re

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from gdlessons.chapters import ch05_learning_rate as ch
from gdlessons.data import quadratic_data
from gdlessons.display.sizes import problems
from gdlessons.history import History
from gdlessons.landscapes import eigenvalues_from_condition, iterates
from gdlessons.lr_finder import RangeTest
from gdlessons.models import LinearModel, tutorial_mlp


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


# --- the explorer's readout and titles say what its picture shows ---------------------------------

READOUT = re.compile(
    r"η = (?P<eta>[\d.]+), a = (?P<a>[\d.]+): bound 2/a = (?P<bound>[\d.]+) "
    r"\(η is (?P<ratio>[\d.]+)× the bound\)\n"
    r"1-D regime: (?P<regime_1d>[a-z ]+) \(error × (?P<factor>[+-][\d.]+) per iteration\)\n"
    r"2-D, κ = (?P<kappa>[\d.]+) \(λ = (?P<lam_min>[\d.]+), (?P<lam_max>[\d.]+)\): (?P<regime_2d>[a-z ]+)$"
)
TITLE_1D = re.compile(
    r"1-D, a = (?P<a>[\d.]+): (?P<regime>[a-z ]+)\n\(bound 2/a = (?P<bound>[\d.]+)\)$"
)
TITLE_2D = re.compile(
    r"2-D, κ = (?P<kappa>[\d.]+): (?P<regime>[a-z ]+)\n\(bound 2/λ_max = (?P<bound>[\d.]+)\)$"
)


def explorer_states(explorer, seed: int = 5, count: int = 20) -> list[dict]:
    """The start, every control at both ends (the others at the start), ``count`` seeded random
    combinations of every control's allowed values, the rates on either side of each regime's
    edge (η·a = 0.2, 1, 2) at a = 2 and a = 4 (η = 1 is on the bound at a = 2), and the start."""
    import random

    from gdlessons.display.frames import control_values

    values = {name: control_values(c)[0] for name, c in explorer.controls.items()}
    start = explorer.initial
    states = [start] + [{**start, name: v[end]} for name, v in values.items() for end in (0, -1)]
    rng = random.Random(seed)
    states += [{name: rng.choice(v) for name, v in values.items()} for _ in range(count)]
    for a in (2.0, 4.0):
        for edge in ((1 - ch.SLOW_ABOVE) / a, 1 / a, 2 / a):
            below = max(lr for lr in values["lr"] if lr * a <= edge * a + 1e-12)
            above = min(lr for lr in values["lr"] if lr * a > edge * a + 1e-12)
            states += [{**start, "a": a, "lr": below}, {**start, "a": a, "lr": above}]
    return [*states, start]


def as_shown(text: str, value: float) -> bool:
    """Whether ``text`` is ``value`` rounded to the digits it shows."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(float(text) - value) <= 0.5 * 10.0**-decimals * (1 + 1e-9) + 1e-12


def named(factor: float) -> str:
    """The regime a run whose error is multiplied by ``factor`` each iteration shows (up to the
    rounding of η·a, as :func:`~gdlessons.landscapes.regime` allows)."""
    if abs(abs(factor) - 1) <= 1e-9:
        return "bouncing"
    if abs(factor) > 1:
        return "divergent"
    slow = factor > ch.SLOW_ABOVE + 1e-9
    return "oscillating" if factor < 0 else "slow" if slow else "fast monotone"


def drawn(ax, marker: str):
    line = next(line for line in ax.lines if line.get_marker() == marker)
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


def test_quadratic_explorer_readout_and_titles_agree_with_the_picture_at_every_state():
    ex = ch.quadratic_explorer()
    ex.check_backgrounds = True  # the kept background must also be what a fresh draw gives
    states = explorer_states(ex)
    for end in ("lr", "a", "kappa"):  # every control reaches both ends
        assert len({s[end] for s in states}) > 2
    for state in states:
        ex.png(**state)
        fig = ex.figure(**state)  # the kept figure, at this state
        left, right = fig.axes
        said = READOUT.match(ex.readout(**state))
        t1, t2 = TITLE_1D.match(left.get_title()), TITLE_2D.match(right.get_title())
        assert said and t1 and t2, (state, ex.readout(**state), left.get_title(), right.get_title())
        where = f"at {state}:\n{said.string}\n{t1.string}\n{t2.string}"
        # the texts agree with each other and with the sliders
        assert said["a"] == t1["a"] and said["bound"] == t1["bound"] == t2["bound"], where
        assert said["kappa"] == t2["kappa"] and said["lam_max"] == said["a"], where
        assert said["regime_1d"] == t1["regime"] and said["regime_2d"] == t2["regime"], where
        assert as_shown(said["eta"], state["lr"]) and as_shown(said["kappa"], state["kappa"]), where
        # ... and each number, as shown, sits on the side of its edge that the regime named says
        # ("η is 1.00× the bound" of a divergent rate, "× -0.00" of an oscillating one would not)
        assert named(float(said["factor"])) == t1["regime"], where
        assert named(1 - 2 * float(said["ratio"])) == t1["regime"], where
        eta, bound = float(said["eta"]), float(said["bound"])
        beyond = "divergent" if eta > bound else "bouncing" if eta == bound else "converging"
        assert beyond == t1["regime"] or (
            beyond == "converging" and t1["regime"] not in ("divergent", "bouncing")
        ), where
        # the 1-D curve is a·x²/2 with the a the texts state, and 2/a their bound
        x, y = (np.asarray(v, dtype=float) for v in left.lines[0].get_data())
        a = float(np.median(2 * y[x != 0] / x[x != 0] ** 2))
        assert np.allclose(2 * y[x != 0] / x[x != 0] ** 2, a) and float(said["a"]) == pytest.approx(
            a
        )
        assert as_shown(said["bound"], 2 / a), where
        # each y tick label states the loss the curve has at that height of the picture
        curve = left.lines[0].get_transform().transform(np.column_stack([x, y]))
        branch = x >= 0
        for label in left.texts:
            height = label.get_transform().transform(label.get_position())[1]
            loss = np.interp(height, curve[branch, 1], y[branch])
            assert as_shown(label.get_text(), loss), (where, label.get_text(), loss)
        # the contours are ellipses with axis ratio √κ, κ the texts' condition number
        cx, cy = drawn(right, "None")
        pieces = zip(
            np.split(cx, np.flatnonzero(np.isnan(cx))), np.split(cy, np.flatnonzero(np.isnan(cy)))
        )
        ratios = [
            (np.nanmax(np.abs(u)) / np.nanmax(np.abs(v))) ** 2
            for u, v in pieces
            if np.isfinite(u).any()
        ]
        assert len(ratios) == 8 and np.allclose(ratios, ratios[0]), where
        assert as_shown(t2["kappa"], ratios[0]), where
        # the 2-D run: each axis shrinks (or grows) by its own factor 1 − η·λ; the products η·λ
        # it shows have the contours' ratio κ, and the slower axis names the regime in the title
        px, py = drawn(right, "o")
        assert (px[0], py[0]) == ch.START_2D, where
        factors = np.array([px[1] / px[0], py[1] / py[0]])
        steps = 1 - factors  # η·λ_min, η·λ_max
        assert steps.max() / steps.min() == pytest.approx(ratios[0], rel=1e-9), (where, factors)
        for run, f in zip((px, py), factors):  # a cut run ends at its first point past 10·VIEW
            assert np.allclose(run[1:], f * run[:-1], rtol=1e-9, atol=1e-12), where
        worst = factors[np.argmax(np.abs(factors))]
        ties = {named(f) for f in factors if abs(abs(f) - abs(worst)) <= 1e-12}
        assert t2["regime"] in ties, (where, factors)
        if len(px) < 21:  # cut: only where the run has left the view for good
            assert t2["regime"] == "divergent" and max(abs(px[-1]), abs(py[-1])) > 10 * ch.VIEW
        else:
            assert len(px) == 21, where  # the 20 iterations the explorer's title names
        # the 1-D run: from x = 1, on the curve, each point the last times one factor, the
        # readout's; the run does what the titles say, and its η = (1 − factor)/a is the readout's
        # and the 2-D run's (η·λ_max / a), where the readout's λ are
        xs, ys = drawn(left, "o")
        assert xs[0] == 1.0 and np.allclose(ys, a * xs**2 / 2), where
        factor = xs[1] / xs[0]
        if abs(xs[1]) >= 10 * ch.VIEW:  # the first step lands so far out that it is clipped
            assert len(xs) == 2 and abs(1 - steps.max()) >= 10 * ch.VIEW, where
            factor = 1 - steps.max()
        run = xs if len(xs) == 21 else xs[:-1]
        assert np.allclose(run[1:], factor * run[:-1], rtol=1e-9, atol=1e-12), where
        eta = (1 - factor) / a
        assert eta == pytest.approx(steps.max() / a, rel=1e-9), (where, factor, steps)
        assert as_shown(said["factor"], factor) and as_shown(said["eta"], eta), (where, factor)
        assert as_shown(said["ratio"], eta * a / 2) and named(factor) == t1["regime"], where
        assert as_shown(said["lam_min"], steps.min() / eta), (where, steps)
        assert as_shown(said["lam_max"], steps.max() / eta), (where, steps)
        if len(xs) < 21:  # cut: only where the run leaves the view
            assert t1["regime"] == "divergent" and abs(xs[-1]) > ch.VIEW >= abs(xs[-2]), where
        else:
            assert len(xs) == 21, where
        # every text fits the picture, the two titles side by side
        renderer = fig.canvas.get_renderer()
        boxes = [ax.title.get_window_extent(renderer) for ax in (left, right)]
        assert boxes[0].x1 < boxes[1].x0 and all(
            fig.bbox.contains(b.x0, b.y0) and fig.bbox.contains(b.x1, b.y1) for b in boxes
        ), where
        ylabel = left.yaxis.label.get_window_extent(renderer)
        assert all(t.get_window_extent(renderer).x0 > ylabel.x1 for t in left.texts), where


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


# --- preconditioning: a rate per direction --------------------------------------------------------


def step(x, grad, P, lr):
    return x - lr * P @ grad


PRECONDITIONERS = {
    "plain GD": lambda H: (np.eye(2), 2 / np.linalg.eigvalsh(H)[[0, -1]].sum()),
    "Newton": lambda H: (np.linalg.inv(H), 1.0),
    "diagonal": lambda H: (np.diag(1 / np.diag(H)), 1.0),
}


def test_preconditioners_measured_as_the_factors_say():
    """Plain GD at η = 2/(λ_min + λ_max) keeps (κ − 1)/(κ + 1) in both directions, so its loss
    shrinks by that squared every iteration, turned or not; Newton lands in one step; the
    diagonal preconditioner is Newton along the axes and plain GD at its best rate turned 45°."""
    kappas = [1.0, 8.0, 25.0, 250.0]
    runs = ch.compare_preconditioners(PRECONDITIONERS, kappas, step=step, lambda_max=4.0,
                                      start=[1.2, 1.0])  # fmt: skip
    factors = [(k - 1) / (k + 1) for k in kappas]
    expected = [next(t for t in range(1, 10**5) if r ** (2 * t) <= 1e-3) for r in factors]
    assert runs.iterations["plain GD", 0.0] == runs.iterations["plain GD", 45.0] == expected
    assert runs.iterations["Newton", 0.0] == runs.iterations["Newton", 45.0] == [1] * 4
    assert runs.iterations["diagonal", 0.0] == [1] * 4
    assert runs.iterations["diagonal", 45.0] == expected
    rows = runs.rows()
    assert [(r["method"], r["valley"]) for r in rows[:2]] == [
        ("plain GD", "along the axes"), ("plain GD", "turned 45°")
    ]  # fmt: skip
    assert rows[1]["κ = 250"] == expected[-1]


def test_turned_hessian_keeps_the_curvatures_and_at_45_degrees_an_even_diagonal():
    lam = eigenvalues_from_condition(25.0, lambda_max=4.0)
    turned = ch._turned_hessian(lam, 45.0)
    assert np.allclose(np.linalg.eigvalsh(turned), lam)
    assert np.allclose(np.diag(turned), [sum(lam) / 2] * 2)
    assert np.array_equal(ch._turned_hessian(lam, 0.0), np.diag(lam))


def test_preconditioner_sentences_follow_the_numbers():
    runs = ch.compare_preconditioners(PRECONDITIONERS, [25.0, 250.0], step=step, lambda_max=4.0,
                                      start=[1.2, 1.0])  # fmt: skip
    gd, newton, diagonal = runs.sentences().splitlines()
    assert gd == "plain GD: 44, 432 iterations at κ = 25, 250, on every valley"
    assert newton == (
        "Newton: along the axes: 1 at every κ (44× to 432× fewer than plain GD); "
        "turned 45°: 1 at every κ (44× to 432× fewer than plain GD)"
    )
    assert diagonal.endswith("turned 45°: 44, 432 (as many as plain GD)")
    # a run that never gets there within the limit, and a baseline that differs between valleys
    slow = {"slow": lambda H: (np.eye(2), 0.01), "diagonal": PRECONDITIONERS["diagonal"]}
    runs = ch.compare_preconditioners(slow, [25.0], step=step, lambda_max=4.0, start=[1.2, 1.0],
                                      limit=50)  # fmt: skip
    assert runs.iterations["slow", 0.0] == [None] and runs.rows()[0]["κ = 25"] is None
    assert "not fewer at every κ" in runs.sentences()
    tilted = {"GD": lambda H: (np.eye(2), 0.2), "Newton": PRECONDITIONERS["Newton"]}
    runs = ch.compare_preconditioners(tilted, [4.0], step=step, lambda_max=4.0, start=[1.0, 0.0])
    assert runs.sentences().splitlines()[0].startswith("GD, at κ = 4: along the axes: ")


def test_preconditioners_refuse_bad_arguments():
    good = dict(step=step, lambda_max=4.0, start=[1.2, 1.0])
    bad = [
        (lambda: ch.compare_preconditioners([], [2.0], **good), "preconditioners must be a dict"),
        (lambda: ch.compare_preconditioners({"P": np.eye(2)}, [2.0], **good),
         "preconditioners['P'] must be a function H ↦ (P, lr)"),
        (lambda: ch.compare_preconditioners(PRECONDITIONERS, [0.5], **good), "kappas[0] must be"),
        (lambda: ch.compare_preconditioners(PRECONDITIONERS, [2.0], **{**good, "step": 0.1}),
         "step must be a function"),
        (lambda: ch.compare_preconditioners(PRECONDITIONERS, [2.0], **{**good, "start": [0, 0]}),
         "start must be a finite 2-D point other than the minimum"),
        (lambda: ch.compare_preconditioners(PRECONDITIONERS, [2.0], **{**good, "start": [1.0]}),
         "start must be a finite 2-D point"),
        (lambda: ch.compare_preconditioners(PRECONDITIONERS, [2.0], shrink=1.0, **good),
         "shrink must be a finite number in (1.0"),
        (lambda: ch.compare_preconditioners(PRECONDITIONERS, [2.0], limit=0, **good),
         "limit must be >= 1"),
    ]  # fmt: skip
    for call, words in bad:
        with pytest.raises((TypeError, ValueError), match=re.escape(words)):
            call()


def dense_hessian(model, data):
    """Every second derivative of the model's MSE, from torch.autograd.functional.hessian."""
    twin = copy.deepcopy(model).double()
    names = [n for n, _ in twin.named_parameters()]
    shapes = [p.shape for p in twin.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in twin.parameters()])

    def loss(v):
        chunks = v.split([math.prod(s) for s in shapes])
        params = {n: c.view(s) for n, c, s in zip(names, chunks, shapes)}
        out = torch.func.functional_call(twin, params, (data.X.double(),))
        return torch.nn.functional.mse_loss(out, data.y.double())

    return torch.autograd.functional.hessian(loss, flat)


def test_hessian_eigenvalue_range_matches_the_dense_hessian_and_leaves_the_model_alone():
    model = tutorial_mlp(hidden=4, seed=3)
    data = quadratic_data(100)
    before = copy.deepcopy(model.state_dict())
    low, high = ch.hessian_eigenvalue_range(model, data)
    values = torch.linalg.eigvalsh(dense_hessian(model, data))
    assert low == pytest.approx(float(values[0]), rel=1e-8)
    assert high == pytest.approx(float(values[-1]), rel=1e-8)
    assert low < 0 < high  # a ReLU network away from a minimum: not positive definite
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert next(model.parameters()).dtype == torch.float32


def test_hessian_eigenvalue_range_on_the_tutorial_mlp_settles_before_its_last_step():
    """Lanczos finds the extremes of the 1153 × 1153 Hessian in a few dozen products: the same
    to 1e-6 with 60 steps as with 200."""
    model, data = tutorial_mlp(seed=0), quadratic_data(200)
    full = ch.hessian_eigenvalue_range(model, data)
    short = ch.hessian_eigenvalue_range(model, data, steps=60)
    assert full == pytest.approx(short, rel=1e-6)
    assert full[0] < 0 < full[1]


def test_hessian_eigenvalue_range_of_linear_regression_is_that_of_2_over_n_xtx():
    data = quadratic_data(50)
    X = torch.cat([data.X, torch.ones_like(data.X)], dim=1).double()
    values = torch.linalg.eigvalsh(2 / len(X) * X.T @ X)
    low, high = ch.hessian_eigenvalue_range(LinearModel(), data)
    assert (low, high) == pytest.approx((float(values[0]), float(values[-1])), rel=1e-9)


def test_hessian_eigenvalue_range_refuses_bad_arguments():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        ch.hessian_eigenvalue_range("mlp", quadratic_data(10))
    with pytest.raises(ValueError, match="model has no parameters"):
        ch.hessian_eigenvalue_range(torch.nn.ReLU(), quadratic_data(10))
    with pytest.raises(TypeError, match="data must be a Dataset"):
        ch.hessian_eigenvalue_range(LinearModel(), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="steps must be >= 2"):
        ch.hessian_eigenvalue_range(LinearModel(), quadratic_data(10), steps=1)
