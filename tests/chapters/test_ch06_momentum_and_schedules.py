"""Momentum by hand vs torch.optim.SGD, the η-inside form, the exact (η, μ) map, the explorer."""

from __future__ import annotations

import itertools
import math
import re

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
from tests.explorer_states import sampled_states

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
    assert "γ per drop = 0.3" in text and "loss on all data after training" in text
    assert math.isfinite(float(text.split("after training: ")[1].split()[0]))


MOMENTUM_READOUT = re.compile(
    r"^η = (\d\.\d\d), μ = (\d\.\d\d)(, Nesterov)?: (?:"
    r"converges: error × (?P<converges>\d\.\d{3}) per iteration in the long run"
    r"|diverges \(error × (?P<diverges>\d+\.\d{3}) per iteration\)"
    r"|(?P<bound>on the stability bound) \(error × 1 per iteration\): it never converges)$"
)
PATH_TITLE = re.compile(
    r"^Path of (\d+) iterations \((heavy ball|nesterov)\)"
    r"(?:: \|x\| > (\d+) at iteration (\d+), not drawn further)?$"
)
MAP_TITLE = re.compile(r"^(Heavy ball|Nesterov): ★ best η=(\d\.\d\d),\nμ=(\d\.\d\d); × now$")
# Settings exactly on the stability bound (factor 1: η = 2(1+μ)/λ_max, Nesterov 2(1+μ)/(1+2μ)),
# one whose path leaves the view while bouncing, and one that converges after a long detour.
MOMENTUM_EDGES = [
    dict(lr=2.0, momentum=0.0, nesterov=False),
    dict(lr=2.3, momentum=0.15, nesterov=False),
    dict(lr=3.9, momentum=0.95, nesterov=False),
    dict(lr=1.5, momentum=0.5, nesterov=True),
    dict(lr=3.9, momentum=0.96, nesterov=False),
]


def _update_matrices(eta, mu, lam, nesterov):
    """The 2×2 update matrix of (x, v) per direction, stacked over broadcast η, μ and λ."""
    eta, mu, lam = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (eta, mu, lam)))
    if nesterov:
        rows = [[1 - eta * lam * (1 + mu), -eta * mu**2], [lam, mu]]
    else:
        rows = [[1 - eta * lam, -eta * mu], [lam, mu]]
    return np.moveaxis(np.array(rows), (0, 1), (-2, -1))


def _factor(eta, mu, nesterov):
    """Worst direction's spectral radius, from eigenvalues (not the chapter's closed form)."""
    lam = np.asarray(ch.CURVATURES)
    m = _update_matrices(np.asarray(eta)[..., None], np.asarray(mu)[..., None], lam, nesterov)
    return np.abs(np.linalg.eigvals(m)).max(axis=(-1, -2))


@pytest.fixture(scope="module")
def momentum_explorer():
    return ch.momentum_explorer(iterations=80)  # as the notebook builds it


def check_momentum_explorer_state(explorer, state, maps):
    """Every number and word of the momentum explorer's readout and titles against its artists,
    and its artists against an independent recomputation (torch's SGD, eigenvalues)."""
    fig, where = explorer.figure(**state), f"at {state}"
    ax_path, ax_loss, ax_map = fig.axes[:3]
    lr, mu, nesterov = state["lr"], state["momentum"], state["nesterov"]
    said = MOMENTUM_READOUT.match(explorer.readout(**state))
    assert said, (where, explorer.readout(**state))
    assert said.groups()[:3] == (f"{lr:.2f}", f"{mu:.2f}", ", Nesterov" if nesterov else None)
    # Eigenvalues lose half the digits at a double root: compare to ~1e-7, not to the last bit.
    factor = float(_factor(lr, mu, nesterov))
    if said["bound"]:
        assert factor == pytest.approx(1, abs=1e-7), where
    else:
        stated = float(said["diverges"] or said["converges"])
        assert (factor > 1) == bool(said["diverges"]) and abs(factor - 1) > 1e-7, where
        assert abs(stated - factor) <= 5e-4 + 1e-7, where
    # The path: torch's own SGD, cut at the first point past the stated size, as the title says.
    iterations, kind, limit, cut = PATH_TITLE.match(ax_path.get_title()).groups()
    assert kind == ("nesterov" if nesterov else "heavy ball") and int(iterations) == 80, where
    reference = torch_sgd_path(ch.CURVATURES, ch.START, lr, 80, momentum=mu, nesterov=nesterov)
    size = np.abs(reference).max(axis=1)
    outside = np.flatnonzero(~np.isfinite(size) | (size > 30))
    drawn = np.asarray(ax_path.get_lines()[-1].get_xydata())
    if cut is None:
        assert len(outside) == 0 and len(drawn) == int(iterations) + 1, where
    else:
        assert int(limit) == 30 and int(cut) == outside[0] and len(drawn) == int(cut) + 1, where
    np.testing.assert_allclose(drawn, reference[: len(drawn)], rtol=1e-9, atol=1e-12)
    # The loss: f of each drawn point (clipped for the log axis), one per iteration drawn.
    steps, losses = ax_loss.get_lines()[0].get_data()
    assert list(steps) == list(range(len(drawn))) and ax_loss.get_xlim() == (0, 80), where
    expected = np.clip(0.5 * (np.asarray(ch.CURVATURES) * drawn**2).sum(axis=1), 1e-16, 1e6)
    np.testing.assert_allclose(losses, expected, rtol=1e-12)
    # The verdict is what the drawn loss does.
    if said["diverges"]:
        assert losses[-1] > losses[0], where
    elif said["bound"]:
        assert losses[-1] > 1e-3 * losses[0], where  # the steep direction's error stays
    elif losses[-1] >= losses[0]:  # a long detour: it converges later, as "in the long run" says
        assert factor > 0.95, where
        longer = torch_sgd_path(ch.CURVATURES, ch.START, lr, 2000, momentum=mu, nesterov=nesterov)
        assert ch.path_loss(longer)[-1] < 1e-6 * losses[0], where
    # The map: the setting's factor under the ×, the best pixel under the ★, as the title says.
    image = ax_map.get_images()[0]
    values, (x0, x1, y0, y1) = np.asarray(image.get_array()), image.get_extent()
    np.testing.assert_allclose(values, maps[nesterov], rtol=1e-7)
    (cx,), (cy,) = ax_map.get_lines()[1].get_data()
    assert (cx, cy) == (lr, mu), where
    rows, cols = values.shape
    col = int((cx - x0) / (x1 - x0) * cols)
    row = int((cy - y0) / (y1 - y0) * rows)
    assert values[row, col] == pytest.approx(factor, rel=1e-7), where
    assert (values[row, col] > image.norm.vmax) == bool(said["diverges"]), where  # grey
    map_kind, best_lr, best_mu = MAP_TITLE.match(ax_map.get_title()).groups()
    assert map_kind == ("Nesterov" if nesterov else "Heavy ball"), where
    (sx,), (sy,) = ax_map.get_lines()[0].get_data()
    assert (f"{sx:.2f}", f"{sy:.2f}") == (best_lr, best_mu), where
    i, j = np.unravel_index(np.argmin(values), values.shape)
    assert values[i, j] == values.min() and x0 + (j + 0.5) * (x1 - x0) / cols == pytest.approx(sx)
    assert y0 + (i + 0.5) * (y1 - y0) / rows == pytest.approx(sy), where


def test_momentum_explorer_readout_and_titles_tell_what_is_drawn(momentum_explorer):
    """Per sampled state (every control at both ends, 20 random ones) and on the edges (the
    stability bound, a long detour): the readout's η, μ and Nesterov are the state's; its
    verdict and factor are the eigenvalues' of the update matrix, and what the drawn loss does;
    the path is torch's SGD, cut where the title says; the loss is f at the drawn points; the
    map is the factor at each pixel's centre, the pixel under the × holds the readout's factor
    (grey exactly when it diverges), and the ★ and the title name the best pixel."""
    explorer = momentum_explorer
    explorer.check_backgrounds = True
    fig = explorer.figure()
    image = fig.axes[2].get_images()[0]
    x0, x1, y0, y1 = image.get_extent()
    rows, cols = np.asarray(image.get_array()).shape
    etas = x0 + (np.arange(cols) + 0.5) * (x1 - x0) / cols
    mus = y0 + (np.arange(rows) + 0.5) * (y1 - y0) / rows
    maps = {nest: _factor(etas[None, :], mus[:, None], nest) for nest in (False, True)}
    states = sampled_states(explorer) + MOMENTUM_EDGES
    for state in states:
        assert explorer.png(**state).startswith(b"\x89PNG")
        check_momentum_explorer_state(explorer, state, maps)
    said = [MOMENTUM_READOUT.match(explorer.readout(**s)) for s in states]
    assert all(any(m[v] for m in said) for v in ("converges", "diverges", "bound"))


SCHEDULE_READOUT = re.compile(
    r"^(\w+), peak rate ([\d.]+), (.+?)(?: = ([\d.]+))?\n"
    r"last epoch's mean training loss \(the curves' last points\): (\d+\.\d{3}) "
    r"\(constant: (\d+\.\d{3})\)\n"
    r"loss on all data after training: (\d+\.\d{3}) \(constant: (\d+\.\d{3})\)$"
)
SCHEDULER_CLASSES = {
    "constant": "no scheduler",
    "step": "StepLR",
    "exponential": "ExponentialLR",
    "cosine": "CosineAnnealingLR",
    "warmup_cosine": "LinearLR → CosineAnnealingLR",
    "cyclic": "CyclicLR",
    "one_cycle": "OneCycleLR",
}
SCHEDULE_SETUP = dict(lrs=(0.01, 0.1), epochs=4, batch_size=10, n=100, seed=0)


@pytest.fixture(scope="module")
def schedule_explorer():
    # 40 updates per run: enough for every knob to show (4 whole cycles, a warm-up of 5 %).
    return ch.schedule_explorer(**SCHEDULE_SETUP)


def _scheduler_class(schedule, lr, total):
    if schedule == "constant":
        return "no scheduler"
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    made = sch.make_schedule(schedule, lr, total)(optimizer)
    inner = getattr(made, "_schedulers", [made])
    return " → ".join(type(s).__name__ for s in inner)


def _peaks(rates, lr):
    """Iterations where the drawn rate reaches the peak and turns down (a whole cycle's top)."""
    top = np.isclose(rates, lr, rtol=1e-9)
    return [t for t in range(1, len(rates) - 1) if top[t] and rates[t + 1] < rates[t]]


def check_schedule_explorer_state(explorer, state, epochs):
    """Every number and word of the schedule explorer's readout and titles against its
    artists, and the drawn rate curve against a fresh scheduler."""
    fig, where = explorer.figure(**state), f"at {state}"
    left, right = fig.axes
    schedule, lr, knob = state["schedule"], state["lr"], state["knob"]
    said = SCHEDULE_READOUT.match(explorer.readout(**state))
    assert said, (where, explorer.readout(**state))
    name, peak, knob_name, knob_value, last, base_last, final, base_final = said.groups()
    assert (name, peak, knob_name) == (schedule, f"{lr:g}", ch.SHAPE_NAMES[schedule]), where
    shape = ch.SHAPES[schedule][knob]
    assert knob_value == (None if shape is None else f"{shape:g}"), where
    # Left: the title names the schedule and the class that made it; the rates are a fresh
    # scheduler's, peaking at the stated rate, shaped by the stated knob.
    words, torch_class = left.get_title().split("\n")
    assert words == ch.TITLES[schedule].split(" (")[0], where
    assert torch_class == f"({SCHEDULER_CLASSES[schedule]})", where
    total = explorer.updates
    assert SCHEDULER_CLASSES[schedule] == _scheduler_class(schedule, lr, total)
    rate_line, rate_base = left.get_lines()
    its, rates = map(np.asarray, rate_line.get_data())
    assert list(its) == list(range(1, total + 1)), where
    fresh = sch.rate_curve(sch.make_schedule(schedule, lr, total, shape), total, lr=lr)
    np.testing.assert_allclose(rates, fresh, rtol=1e-9)
    assert list(rate_base.get_xdata()) == [1, total] and list(rate_base.get_ydata()) == [lr, lr]
    assert rates.max() == pytest.approx(lr, rel=1e-9) and rates.max() <= lr * (1 + 1e-9), where
    if schedule == "step":  # drops by γ at each third of the run
        levels = [rates[0], *(rates[t] for t in range(1, total) if rates[t] != rates[t - 1])]
        assert len(levels) == 3, where
        for a, b in itertools.pairwise(levels):
            assert b / a == pytest.approx(shape, rel=1e-9), where
    elif schedule == "exponential":  # the last update's rate is one decay above the final one
        assert rates[-1] / lr == pytest.approx(shape ** ((total - 1) / total), rel=1e-9), where
    elif schedule == "cosine":  # it ends a last cosine step above η_min
        floor = shape * lr + (lr - shape * lr) * (1 + math.cos(math.pi * (total - 1) / total)) / 2
        assert rates.min() == pytest.approx(floor, rel=1e-6), where
    elif schedule in ("warmup_cosine", "one_cycle"):  # the peak is reached at that fraction
        assert abs(int(np.argmax(rates)) - shape * total) <= 1, where
    elif schedule == "cyclic":
        assert len(_peaks(rates, lr)) == shape, where
    else:
        assert np.all(rates == lr), where
    low, high = left.get_ylim()
    assert left.get_xlim() == (0, total) and 0 <= low and rates.max() < high, where
    # Right: a point per epoch; the readout's last-epoch losses are the curves' last points.
    loss_line, loss_base = right.get_lines()
    for line in (loss_line, loss_base):
        assert list(line.get_xdata()) == list(range(1, epochs + 1)), where
        low, high = right.get_ylim()
        assert all(low <= v <= high for v in line.get_ydata()), where
    assert f"{loss_line.get_ydata()[-1]:.3f}" == last, where
    assert f"{loss_base.get_ydata()[-1]:.3f}" == base_last, where
    if schedule == "constant":
        assert list(loss_line.get_ydata()) == list(loss_base.get_ydata()), where
    assert final == f"{explorer.final_losses[schedule, lr, knob]:.3f}", where
    assert base_final == f"{explorer.final_losses['constant', lr, 0]:.3f}", where
    for ax in (left, right):
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["schedule", "constant"]
    return loss_line.get_ydata(), rates, final


def test_schedule_explorer_readout_and_titles_tell_what_is_drawn(schedule_explorer):
    """Per sampled state (every control at both ends, 20 random ones): the readout names the
    state's schedule, peak rate and knob; the title names the schedule and its torch class; the
    rate curve is a fresh scheduler's, peaks at the stated rate and has the stated shape (γ per
    drop, final fraction, η_min, warm-up or pct_start, cycles); the readout's last-epoch losses
    are the curves' last points and its all-data losses the explorer's final_losses. For three
    states the run is trained again with compare_schedules and matches what is drawn."""
    explorer = schedule_explorer
    explorer.check_backgrounds = True
    epochs = SCHEDULE_SETUP["epochs"]
    assert explorer.updates == epochs * 10  # ceil(100 / 10) updates per epoch
    drawn = {}
    for state in sampled_states(explorer):
        assert explorer.png(**state).startswith(b"\x89PNG")
        key = (state["schedule"], state["lr"], state["knob"])
        drawn[key] = check_schedule_explorer_state(explorer, state, epochs)
    data = quadratic_data(SCHEDULE_SETUP["n"], seed=SCHEDULE_SETUP["seed"])
    for schedule, lr, knob in [
        ("cyclic", 0.1, 2),
        ("warmup_cosine", 0.01, 0),
        ("step", 0.1, 1),
    ]:
        losses, rates, final = drawn.get((schedule, lr, knob)) or check_schedule_explorer_state(
            explorer, dict(schedule=schedule, lr=lr, knob=knob), epochs
        )
        run = ch.compare_schedules(
            data, [schedule], lr=lr, batch_size=SCHEDULE_SETUP["batch_size"], epochs=epochs,
            shape={schedule: ch.SHAPES[schedule][knob]}, seed=SCHEDULE_SETUP["seed"],
        )[schedule]  # fmt: skip
        assert list(losses) == list(run.history.epochs.train_loss)
        assert list(rates) == list(run.history.iterations.lr)
        assert final == f"{run.final_loss:.3f}"
