"""Adaptive optimizers: the course's hand-written rules (the references of the notebook's your-turn
cells) vs torch.optim bit for bit, the vectorised engine on the two-parameter surfaces, the
rare-feature and saddle measurements, the race, the plots and the explorer."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from gdlessons.batching import BatchIterator
from gdlessons.chapters import all_explorers
from gdlessons.chapters import ch07_adaptive_optimizers as ch
from gdlessons.data import quadratic_data
from gdlessons.display.sizes import problems
from gdlessons.history import History
from gdlessons.hooks import RecordParams
from gdlessons.models import LinearModel, tutorial_mlp
from gdlessons.training import train
from tests.explorer_states import sampled_states

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "07_adaptive_optimizers.ipynb"
RULES = ("adagrad_step", "rmsprop_step", "adam_step", "adamw_step")


@pytest.fixture(scope="module")
def rules() -> dict:
    """The update rules the story goes on with until a student's pass their checks (t2 to t5):
    the course's references, whose your-turn cells the notebook leaves for the student."""
    from gdlessons.exercises import ch07_adaptive_optimizers as ex
    from gdlessons.exercises.your_turn import your_turn_cells

    defined = {
        t.function for t in your_turn_cells(json.loads(NOTEBOOK.read_text(encoding="utf-8")))
    }
    missing = [r for r in RULES if r not in defined]
    assert not missing, f"the notebook no longer asks for {missing}"
    return {name: getattr(ex, name) for name in RULES}


TORCH = {
    "adagrad_step": (torch.optim.Adagrad, dict(lr=0.1)),
    "rmsprop_step": (torch.optim.RMSprop, dict(lr=0.01, alpha=0.9)),
    "adam_step": (torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99))),
    "adamw_step": (torch.optim.AdamW, dict(lr=0.01)),
}


@pytest.mark.parametrize("weight_decay", [0.0, 0.1], ids=["no-decay", "decay"])
@pytest.mark.parametrize("name", RULES)
def test_course_rules_are_bitwise_torch_over_300_random_updates(rules, name, weight_decay):
    optimizer, settings = TORCH[name]
    gen = torch.Generator().manual_seed(0)
    p_torch = torch.randn(257, generator=gen, requires_grad=True)
    opt = optimizer([p_torch], weight_decay=weight_decay, **settings)
    p, state = p_torch.detach().clone(), {}
    for k in range(300):
        g = torch.randn(257, generator=gen) * (10.0 if k % 7 == 0 else 1.0)
        p_torch.grad = g.clone()
        opt.step()
        p = rules[name](p, g, state, weight_decay=weight_decay, **settings)
        assert torch.equal(p, p_torch.detach()), f"{name} differs after update {k + 1}"


@pytest.mark.parametrize("name", ["adagrad_step", "adamw_step"])
def test_match_torch_agrees_bitwise_through_train(rules, name):
    optimizer, settings = TORCH[name]
    result = ch.match_torch(
        rules[name], optimizer, tutorial_mlp(seed=1), quadratic_data(120), iterations=15,
        batch_size=16, weight_decay=0.05, **settings,
    )  # fmt: skip
    assert result.updates == 15 and result.equal
    assert result.max_difference == 0.0


def test_match_torch_notices_the_textbook_form_of_the_moment_update():
    def textbook_adam(p, g, state, *, lr, betas=(0.9, 0.999), eps=1e-8):
        beta1, beta2 = betas
        t = state["step"] = state.get("step", 0) + 1
        m = state["m"] = beta1 * state.get("m", torch.zeros_like(p)) + (1 - beta1) * g
        v = state["v"] = state.get("v", torch.zeros_like(p)).mul(beta2).addcmul(g, g, value=1 - beta2)  # fmt: skip
        return p.addcdiv(m, (v.sqrt() / (1 - beta2**t) ** 0.5).add(eps), value=-lr / (1 - beta1**t))  # fmt: skip

    result = ch.match_torch(
        textbook_adam, torch.optim.Adam, tutorial_mlp(seed=0), quadratic_data(200), iterations=30, lr=0.003
    )  # fmt: skip
    assert not result.equal
    assert 0 < result.max_difference < 1e-4


def test_match_torch_leaves_the_model_untouched_and_checks_its_arguments():
    model = LinearModel(w=0.5, b=0.1)

    def sgd(p, g, state, *, lr):
        return p.add(g, alpha=-lr)

    assert ch.match_torch(sgd, torch.optim.SGD, model, quadratic_data(50), iterations=3, lr=0.1).equal  # fmt: skip
    assert model.w.item() == 0.5 and model.b.item() == pytest.approx(0.1)
    with pytest.raises(TypeError, match="rule must be a function"):
        ch.match_torch(None, torch.optim.SGD, model, quadratic_data(50), lr=0.1)
    with pytest.raises(TypeError, match="torch.optim.Optimizer class"):
        ch.match_torch(sgd, "sgd", model, quadratic_data(50), lr=0.1)


# --- the two-parameter surfaces and the vectorised engine ------------------------------------


@pytest.mark.parametrize("surface", list(ch.SURFACES))
def test_surface_gradients_are_autograd_of_the_loss(surface):
    s = ch.SURFACES[surface]
    x = torch.randn(7, 2, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(s.loss(x).sum(), x)
    torch.testing.assert_close(s.grad(x.detach()), g, rtol=0, atol=1e-15)


def test_saddle_surface_has_its_critical_points_where_it_says():
    for point in ch.SADDLE.points.values():
        g = ch.SADDLE.grad(torch.tensor(point, dtype=torch.float64))
        assert float(g.abs().max()) < 1e-12
    left, saddle, right = ch.saddle_critical_points()
    assert ch.SADDLE(np.array([left, 0.0])) == pytest.approx(ch.SADDLE.floor)
    assert ch.SADDLE(np.array([right, 0.0])) > ch.SADDLE.floor  # the local minimum is higher
    assert ch.SADDLE(np.array([saddle, 0.0])) > ch.SADDLE(np.array([right, 0.0]))


ENGINE = [
    ("sgd", lambda p: torch.optim.SGD(p, lr=0.5), dict(lr=0.5)),
    ("sgd", lambda p: torch.optim.SGD(p, lr=0.3, momentum=0.9), dict(lr=0.3, momentum=0.9)),
    ("adagrad", lambda p: torch.optim.Adagrad(p, lr=0.5), dict(lr=0.5)),
    ("rmsprop", lambda p: torch.optim.RMSprop(p, lr=0.05, alpha=0.9), dict(lr=0.05, alpha=0.9)),
    (
        "adam",
        lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.99)),
        dict(lr=0.1, beta1=0.8, beta2=0.99),
    ),  # fmt: skip
]


@pytest.mark.parametrize("surface", list(ch.SURFACES))
@pytest.mark.parametrize(("method", "make", "settings"), ENGINE, ids=lambda v: v if isinstance(v, str) else "")  # fmt: skip
def test_engine_follows_torch_optim_on_every_surface(surface, method, make, settings):
    want = ch.torch_path(surface, make, 150)
    got = ch.paths(surface, method, iterations=150, **settings)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_engine_runs_a_grid_of_settings_as_the_single_runs_would():
    lrs = np.array([0.01, 0.1])[:, None]
    beta1 = np.array([0.0, 0.9])
    grid = ch.paths("saddle", "adam", lrs, 40, beta1=beta1)
    assert grid.shape == (2, 2, 41, 2)
    for i, lr in enumerate(lrs[:, 0]):
        for j, b in enumerate(beta1):
            np.testing.assert_allclose(grid[i, j], ch.paths("saddle", "adam", lr, 40, beta1=b), atol=1e-14)  # fmt: skip


def test_engine_noise_is_seeded_and_per_run():
    a = ch.paths("saddle", "sgd", 0.1, 20, start=np.zeros((3, 2)), noise=0.1, seed=1)
    b = ch.paths("saddle", "sgd", 0.1, 20, start=np.zeros((3, 2)), noise=0.1, seed=1)
    assert np.array_equal(a, b)
    assert not np.allclose(a[0], a[1])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (dict(method="newton"), "method must be one of"),
        (dict(lr=0.0), "lr must be > 0"),
        (dict(momentum=1.0), r"momentum must be in \[0, 1\)"),
        (dict(beta2=1.0), r"beta2 must be in \[0, 1\)"),
        (dict(start=(0.0, 0.0, 0.0)), "start must end in an axis of 2"),
        (dict(surface="bowl"), "surface must be one of"),
    ],
)
def test_engine_names_bad_arguments(kwargs, error):
    call = dict(surface="quadratic", method="adam", lr=0.1, iterations=3) | kwargs
    with pytest.raises(ValueError, match=error):
        ch.paths(**call)


def test_adam_ignores_a_scaled_loss_and_sgd_does_not():
    adam = [ch.torch_path("quadratic", lambda p: torch.optim.Adam(p, lr=0.1), 20, scale=s) for s in (1.0, 1000.0)]  # fmt: skip
    sgd = [ch.torch_path("quadratic", lambda p: torch.optim.SGD(p, lr=0.5), 3, scale=s) for s in (1.0, 1000.0)]  # fmt: skip
    assert np.abs(adam[0] - adam[1]).max() < 1e-5
    first = np.linalg.norm(sgd[1][1] - sgd[1][0]) / np.linalg.norm(sgd[0][1] - sgd[0][0])
    assert first == pytest.approx(1000.0)


def test_sgd_is_blind_to_turning_the_valley_and_adam_is_not():
    sgd = [
        ch.loss_along(s, ch.paths(s, "sgd", 1.9, 60)) for s in ("quadratic", "rotated quadratic")
    ]
    adam = [
        ch.loss_along(s, ch.paths(s, "adam", 0.1, 60)) for s in ("quadratic", "rotated quadratic")
    ]
    np.testing.assert_allclose(sgd[0], sgd[1], rtol=1e-9, atol=1e-15)
    assert not np.allclose(adam[0], adam[1], rtol=1e-3)


def test_torch_path_wants_an_optimizer():
    with pytest.raises(TypeError, match="must return a torch.optim.Optimizer"):
        ch.torch_path("quadratic", lambda p: None, 3)


def test_iterations_to_and_reached():
    assert ch.iterations_to(np.array([3.0, 2.0, 1.0]), 5.0) == 0
    assert ch.iterations_to(np.array([3.0, 2.0, 1.0]), 0.5) is None
    assert ch.iterations_to(np.array([3.0, 0.1, 3.0, 0.1]), 1.0) == 3
    assert ch.reached(np.array([[0.0, 0.0], [1.0, 0.0], [1.05, 0.95]])) == [1, 2]


# --- rare features ------------------------------------------------------------------------------


def test_rare_feature_data_has_one_rare_input_and_unit_weights():
    d = ch.rare_feature_data(500, features=4, rare_fraction=0.04, noise=0.0, seed=3)
    assert d.X.shape == (500, 4) and int(d.X[:, -1].sum()) == 20
    assert set(d.X[:, -1].unique().tolist()) == {0.0, 1.0}
    w = torch.linalg.lstsq(d.X.double(), d.y.double()).solution
    torch.testing.assert_close(w.ravel(), torch.ones(4, dtype=torch.float64), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="rare_fraction"):
        ch.rare_feature_data(100, rare_fraction=0.0)


def test_replayed_gradients_reproduce_adagrads_updates():
    data = ch.rare_feature_data(200, seed=0)
    model = nn.Linear(5, 1, bias=False)
    nn.init.zeros_(model.weight)
    h = train(model, data, optimizer="adagrad", lr=0.3, batch_size=20, epochs=3, seed=4, hooks=[RecordParams()])  # fmt: skip
    grads = ch.replay_gradients(nn.Linear(5, 1, bias=False), h, data, batch_size=20, seed=4)["weight"][:, 0, :]  # fmt: skip
    assert grads.shape == (30, 5)
    rates = ch.adagrad_rates(grads, lr=0.3)
    moved = np.diff(h.param_trajectory("weight")[:, 0, :].numpy(), axis=0)
    predicted = -np.nan_to_num(rates) * grads.numpy()
    np.testing.assert_allclose(moved, predicted, atol=1e-6)
    assert np.isnan(rates[0, -1]) or grads[0, -1] != 0  # no rate before the first gradient
    with pytest.raises(ValueError, match=r"hooks=\[RecordParams\(\)\]"):
        ch.replay_gradients(model, History(config={}), data, batch_size=20)


def test_adagrad_moves_the_rare_weight_sooner_than_sgd():
    data = ch.rare_feature_data(1000, seed=0)
    settled = {}
    for name in ("sgd", "adagrad"):
        model = nn.Linear(5, 1, bias=False)
        nn.init.zeros_(model.weight)
        h = train(
            model, data, optimizer=name, lr=0.3, batch_size=20, epochs=6, hooks=[RecordParams()]
        )
        settled[name] = ch.reached(h.param_trajectory("weight")[:, 0, :].numpy())[-1]
    assert settled["adagrad"] is not None
    assert settled["sgd"] is None or settled["sgd"] > 2 * settled["adagrad"]


def test_settle_and_two_scale_tables():
    table = ch.settle_table({"SGD": np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])}, {"SGD": 0.3})
    assert table.rows[0]["rare weight settled at iteration"] == 2
    p, grads = ch.two_scale_gradients(10, 4, small=0.5, seed=1)
    assert float(grads[0][5:].abs().max()) < float(grads[0][:5].abs().max()) * 5
    assert ch.two_scale_table({"ones": p}).rows[0]["mean weight, small gradients"] == 1.0


# --- parameter groups -------------------------------------------------------------------------


def test_describe_groups_names_the_parameters_of_each_group():
    model = tutorial_mlp()
    decay = [p for n, p in model.named_parameters() if not n.endswith("bias")]
    rest = [p for n, p in model.named_parameters() if n.endswith("bias")]
    stray = torch.zeros(3, requires_grad=True)
    opt = torch.optim.AdamW([{"params": decay}, {"params": [*rest, stray], "weight_decay": 0.0}])
    rows = ch.describe_groups(opt, model).rows
    assert rows[0]["parameters"] == "0.weight, 2.weight, 4.weight" and rows[0]["weight_decay"] == 0.01  # fmt: skip
    assert rows[1]["parameters"].endswith("(not in the model, shape (3,))")


# --- the race, the range test ----------------------------------------------------------------


def _entry(name, curves, target=1.0):
    hs = []
    for row in curves:
        h = History(config={})
        h.epochs.val_loss[:] = list(row)
        hs.append(h)
    return ch.RaceEntry("p", name, 0.1, hs, target)


def test_race_entry_counts_epochs_to_target_and_final_loss():
    e = _entry("Adam", [[3.0, 0.9, 0.8], [3.0, 2.0, 1.5]])
    assert e.epochs_to_target == [2, None]
    np.testing.assert_allclose(e.final_val, [0.8, 1.5])


@pytest.mark.parametrize(
    ("adam", "sgd", "words"),
    [
        ([[0.5, 0.4]], [[2.0, 0.9]], ["Adam reached", "SGD + momentum ended worse"]),
        (
            [[2.0, 1.5]],
            [[0.5, 0.4]],
            ["SGD + momentum reached", "not within 2 epochs", "Adam ended worse"],
        ),  # fmt: skip
        ([[0.5, 0.400]], [[0.5, 0.401]], ["both reached", "ended level"]),
    ],
)
def test_race_verdict_follows_the_numbers(adam, sgd, words):
    text = ch.race_verdict({"p": {"Adam": _entry("Adam", adam), "SGD + momentum": _entry("SGD", sgd)}})  # fmt: skip
    for word in words:
        assert word in text


def test_race_runs_adam_and_picks_the_best_sgd_rate():
    results = {"tutorial MLP": ch.race(ch.problem("tutorial MLP", n=100), seeds=2, epochs=2, sgd_lrs=(1e-4, 0.003))}  # fmt: skip
    adam, sgd = results["tutorial MLP"]["Adam"], results["tutorial MLP"]["SGD + momentum"]
    assert adam.lr == 0.001 and len(adam.histories) == 2
    assert [h.config["optimizer"] for h in adam.histories] == ["Adam", "Adam"]
    assert [h.config["init_seed"] for h in adam.histories] == [0, 1]
    assert sgd.lr == 0.003 and all(h.config["momentum"] == 0.9 for h in sgd.histories)
    table = ch.race_table(results)
    assert table.columns[:3] == ["problem", "optimizer", "lr"]
    assert ch.plot_race(results).axes[0].get_xlabel() == "epoch"


@pytest.mark.slow
def test_race_on_digits_reaches_its_target():
    entries = ch.race(ch.problem("digits"), seeds=1, epochs=4, sgd_lrs=(0.03,))
    assert entries["SGD + momentum"].epochs_to_target[0] is not None


def test_range_test_from_pairs_each_rate_with_the_loss_after_it():
    factor = 10 ** (3 / 39)
    data = quadratic_data(200)
    draws = BatchIterator(data.X, data.y, batch_size=20, batches_per_epoch=41, replacement=True)
    h = train(
        tutorial_mlp(), data, batches=draws,
        optimizer=lambda m: torch.optim.Adam(m.parameters(), lr=1e-4),
        scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda i: factor**i),
    )  # fmt: skip
    r = ch.range_test_from(h)
    assert r.lr == h.iterations.lr[:-1] and r.loss == h.iterations.loss[1:]
    assert len(r.smoothed) == len(r.loss) and r.min_loss_lr in r.lr
    assert ch.range_test_from(History(config={})).lr == []


# --- saddle points --------------------------------------------------------------------------


def test_escape_from_the_saddle_measured():
    methods = {
        "SGD": ("sgd", 0.1, {}),
        "SGD + noise": ("sgd", 0.1, dict(noise=0.1)),
        "Adam": ("adam", 0.1, {}),
    }
    rows = {r["method"]: r for r in ch.escape_table(methods, 200, offsets=(1e-6,), repeats=5).rows}
    key = "leaves the saddle at iteration (start 1e-06 to its right)"
    gd = int(rows["SGD"][key])
    assert abs(gd - math.log(0.3 / 1e-6) / math.log(1.097)) < 6  # the growth rate 1 + η·0.97
    assert int(rows["Adam"][key]) < gd / 5
    assert "(median of 5)" in rows["SGD + noise"][key]
    assert rows["SGD"]["ends in"] == "local"


def test_leave_iteration_and_minimum_reached_on_batches():
    left, saddle, right = ch.saddle_critical_points()
    paths = np.array([[[saddle, 1.0], [left, 0.0]], [[saddle, 1.0], [saddle, 0.0]]])
    assert ch.leave_iteration(paths).tolist() == [1, -1]
    assert ch.minimum_reached(paths).tolist() == ["global", "neither"]


def test_basin_map_of_gradient_descent_is_split_by_the_ridge():
    m = ch.basin_map("sgd", 0.1, 300, resolution=9)
    xs = np.linspace(*ch.SADDLE.xlim, 9)
    _, saddle, _ = ch.saddle_critical_points()
    expected = np.where(xs < saddle, 1.0, 0.0)
    assert (m == expected[None, :]).all()


# --- preconditioning: Adam's rates per coordinate ---------------------------------------------


def test_adam_rates_replay_torch_adams_own_second_moment():
    """η/(√v̂ + ε) from the replayed gradients, with v̂ as torch.optim.Adam keeps it."""
    x = torch.tensor(ch.QUADRATIC.start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([x], lr=0.1)
    rates = []
    for t in range(1, 31):
        opt.zero_grad()
        ch.QUADRATIC.loss(x).backward()
        opt.step()
        v_hat = opt.state[x]["exp_avg_sq"] / (1 - 0.999**t)
        rates.append((0.1 / (v_hat.sqrt() + 1e-8)).tolist())
    found = ch.adam_rates("quadratic", ch.paths("quadratic", "adam", 0.1, 30), 0.1)
    np.testing.assert_allclose(found, rates, rtol=1e-9)


def test_adam_rates_follow_the_gradients_not_the_curvature():
    """Along the axes the flat x₁ gets the larger rate, but by the ratio λ₂|x₂| / λ₁|x₁| of the
    first gradients, not by κ; on the turned valley the two rates are about equal."""
    rates = ch.adam_rates("quadratic", ch.paths("quadratic", "adam", 0.1, 20), 0.1)
    (x1, x2), (l1, l2) = ch.START, ch.CURVATURES
    assert rates[0, 0] / rates[0, 1] == pytest.approx(l2 * abs(x2) / (l1 * abs(x1)), rel=1e-6)
    assert rates[0, 0] / rates[0, 1] < l2 / l1
    turned = ch.adam_rates("rotated quadratic", ch.paths("rotated quadratic", "adam", 0.1, 20), 0.1)
    assert np.all(np.abs(turned[:, 0] / turned[:, 1] - 1) < 0.25)


def test_adam_rates_name_bad_paths():
    with pytest.raises(ValueError, match="at least 2"):
        ch.adam_rates("quadratic", np.zeros((1, 2)), 0.1)
    with pytest.raises(ValueError, match="finite points"):
        ch.adam_rates("quadratic", np.array([[0.0, 0.0], [np.inf, 0.0]]), 0.1)


# --- exploding and vanishing gradients ----------------------------------------------------------


def _by_hand_norms(model):
    return [float(m.weight.grad.norm()) for m in model.modules() if isinstance(m, nn.Linear)]


def test_gradient_norms_measure_the_gradient_the_step_uses():
    """The hook's ‖g‖ is clip_grad_norm_'s, taken before the step, and the history keeps it."""
    data = quadratic_data(40, seed=1)
    norms = ch.GradientNorms(_by_hand_norms)
    h = train(tutorial_mlp(seed=1), data, batch_size=20, epochs=2, lr=0.01, hooks=[norms])
    assert norms.total == h.iterations.grad_norm and len(norms.layers) == 4
    model, (X, y) = tutorial_mlp(seed=1), data.tensors()
    first = next(iter(BatchIterator(X, y, batch_size=20, seed=0)))
    torch.nn.functional.mse_loss(model(first[0]), first[1]).backward()
    expected = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
    assert norms.total[0] == pytest.approx(expected, rel=1e-6)
    assert norms.layers[0] == pytest.approx(_by_hand_norms(model), rel=1e-6)


def test_gradient_norms_start_afresh_for_each_run_and_check_per_layer():
    norms = ch.GradientNorms()
    for _ in range(2):
        train(tutorial_mlp(seed=0), quadratic_data(20), batch_size=10, lr=0.01, hooks=[norms])
    assert len(norms.total) == 2 and norms.layers == []
    with pytest.raises(TypeError, match="per_layer must be a function"):
        ch.GradientNorms(per_layer=3)


def test_explosion_table_and_verdict_read_the_diverging_run():
    norms = ch.GradientNorms()
    h = train(tutorial_mlp(seed=0), quadratic_data(200), lr=0.2, batch_size=50, epochs=5, hooks=[norms])  # fmt: skip
    assert h.diverged and len(norms.total) == h.diverged_at - 1
    rows = ch.explosion_table(norms, h).rows
    assert [r["iteration"] for r in rows] == list(range(1, h.diverged_at))
    assert rows[0]["‖g‖ ÷ previous ‖g‖"] is None
    assert rows[2]["‖g‖ ÷ previous ‖g‖"] == pytest.approx(norms.total[2] / norms.total[1])
    assert rows[1]["step length η·‖g‖"] == pytest.approx(0.2 * norms.total[1])
    verdict = ch.explosion_verdict(norms, h)
    assert f"loss at iteration {h.diverged_at} was not finite" in verdict
    growth = (norms.total[-1] / norms.total[0]) ** (1 / (len(norms.total) - 1))
    assert f"×{float(f'{growth:.2g}'):g} per iteration" in verdict


def test_explosion_table_wants_the_hook_of_that_run():
    h = train(tutorial_mlp(seed=0), quadratic_data(20), batch_size=10, lr=0.01)
    with pytest.raises(ValueError, match="every iteration of history"):
        ch.explosion_table(ch.GradientNorms(), h)
    with pytest.raises(TypeError, match="GradientNorms hook"):
        ch.explosion_verdict([1.0, 2.0], h)


def test_deep_mlp_is_deep_and_seeded():
    a, b = ch.deep_mlp(depth=5, width=6, seed=3), ch.deep_mlp(depth=5, width=6, seed=3)
    linears = [m for m in a if isinstance(m, nn.Linear)]
    assert len(linears) == 5 and sum(isinstance(m, nn.Sigmoid) for m in a) == 4
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    relu = ch.deep_mlp(depth=3, activation="relu", init="kaiming_uniform")
    assert float(relu[0].bias.detach().abs().sum()) == 0.0
    with pytest.raises(ValueError, match="activation must be one of"):
        ch.deep_mlp(activation="gelu")


def test_sigmoid_gradient_vanishes_towards_the_input_and_relu_kaiming_keeps_it():
    X, y = quadratic_data(200, seed=0).tensors()
    ratios = {}
    for activation, init in (("sigmoid", "default"), ("relu", "kaiming_uniform")):
        model = ch.deep_mlp(depth=10, activation=activation, init=init)
        torch.nn.functional.mse_loss(model(X), y).backward()
        norms = _by_hand_norms(model)
        ratios[activation] = norms[0] / norms[-1]
    assert ratios["sigmoid"] < 1e-6 < 0.01 < ratios["relu"]


def _depth_run(scale: float = 1.0) -> ch.DepthRun:
    layers = scale * np.array([[1e-6, 1e-3, 1.0], [2e-6, 2e-3, 2.0]])
    return ch.DepthRun(layers, np.array([0.0, 0.1, 0.8]), 5.0 / scale)


def test_depth_run_measures_how_far_each_layer_moved():
    model = ch.deep_mlp(depth=3, width=4)
    start = ch.linear_weights(model)
    with torch.no_grad():
        model[-1].weight.mul_(3.0)  # the last layer moves by twice its size
    norms = ch.GradientNorms()
    norms.layers = [[1.0, 1.0, 1.0]]
    run = ch.depth_run(norms, start, model, 1.5)
    assert run.moved.tolist() == pytest.approx([0.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="one norm per nn.Linear"):
        ch.depth_run(ch.GradientNorms(), start, model, 1.5)
    with pytest.raises(ValueError, match="linear_weights"):
        ch.depth_run(norms, start[:2], model, 1.5)


def test_depth_table_verdicts_follow_the_numbers():
    rows = ch.depth_table({"a": _depth_run(), "b": _depth_run(2.0)}, baseline=5.0).rows
    assert rows[0]["‖g‖ first layer ÷ last (median)"] == pytest.approx(1e-6)
    assert [r["loss < 0.9 × the mean's"] for r in rows] == ["no", "yes"]
    assert rows[0]["first layer moved"] == "0%" and rows[0]["last layer moved"] == "80%"
    with pytest.raises(TypeError, match="DepthRun"):
        ch.depth_table({"a": 1.0}, baseline=5.0)


# --- plots ------------------------------------------------------------------------------------


def _texts(fig):
    for ax in fig.axes:
        yield from [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()]  # fmt: skip
        if ax.get_legend():
            yield from ax.get_legend().get_texts()


def _plots():
    run = {"SGD": ch.paths("saddle", "sgd", 0.1, 30), "Adam": ch.paths("saddle", "adam", 0.1, 30)}
    w = {"SGD": np.zeros((4, 3)), "AdaGrad": np.ones((4, 3))}
    r = {"SGD": np.full((3, 3), 0.1), "AdaGrad": np.full((3, 3), 0.5)}
    norms = [5.0, 0.5, 2.0]
    h = History(config={})
    h.iterations.iteration[:] = [1, 2]
    h.iterations.loss[:] = [1.0, 100.0]
    h.diverged_at = 3
    return {
        "paths": (ch.plot_paths("saddle", run), "iteration"),
        "rare": (ch.plot_rare_feature(w, r), "iteration"),
        "bias": (ch.plot_bias_correction([3.0, 4.0], [1.0, 1.0]), "iteration"),
        "eps": (
            ch.plot_eps(np.array([1e-3, 1.0]), {"ε = 1e-08": np.array([1.0, 1.0])}),
            "gradient",
        ),
        "plateau": (ch.plot_plateau({"a": ([0.1, 0.05], [2.0, 1.5])}), "epoch"),
        "clipping": (ch.plot_clipping(norms, 1.0, h), "iteration"),
        "layers": (ch.plot_layer_gradients({"a": _depth_run(), "b": _depth_run(2.0)}), "layer"),
        "basins": (
            ch.plot_basins({"GD": ch.basin_map("sgd", 0.1, 30, resolution=5)}),
            "starting x₁",
        ),
    }


def test_plots_label_their_axes_in_the_courses_words_with_readable_text():
    for name, (fig, word) in _plots().items():
        shown = [ax for ax in fig.axes if ax.get_visible()]
        assert any(word in ax.get_xlabel() for ax in shown), name
        for ax in shown:
            assert "step" not in ax.get_xlabel().lower(), name
            assert ax.get_ylabel() and ax.get_title(), name
        small = [t.get_text() for t in _texts(fig) if t.get_text() and t.get_fontsize() < 9]
        assert not small, f"{name}: text below 9 pt: {small[:3]}"


def test_plots_fit_the_column_however_many_panels():
    maps = {f"run {i}": ch.basin_map("sgd", 0.1, 10, resolution=5) for i in range(5)}
    figures = {name: fig for name, (fig, _) in _plots().items()} | {
        "basins x5": ch.plot_basins(maps)
    }
    for name, fig in figures.items():
        fig.savefig(io.BytesIO())
        assert problems(fig) == [], name
    rows = {ax.get_subplotspec().rowspan.start for ax in figures["basins x5"].axes}
    assert rows == {0, 1, 2}  # two maps to a row
    last = figures["basins x5"].axes[-1].get_subplotspec().colspan
    assert last == range(1, 3)  # the odd one out is centred


def test_panels_wrap_into_rows_with_constrained_layout():
    fig, axes = ch.panels(5, ncols=2)
    assert len(axes) == 5 and fig.get_layout_engine() is not None
    assert [ax.get_subplotspec().rowspan.start for ax in axes] == [0, 0, 1, 1, 2]


def test_plain_log_labels_only_for_narrow_axes():
    fig, (narrow, wide) = ch.panels(2)
    narrow.semilogy([1, 2], [1.0, 8.0])
    wide.semilogy([1, 2], [1e-6, 1.0])
    ch.plain_log_labels(narrow)
    ch.plain_log_labels(wide)
    assert narrow.yaxis.get_minor_formatter()(3.0, 0) == "3"
    assert type(wide.yaxis.get_major_formatter()).__name__ == "LogFormatterSciNotation"


# --- the explorer -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def explorer():
    return ch.adaptive_explorer(iterations=20)


def test_explorer_is_registered():
    assert all_explorers()["ch07-adaptive-explorer"] is ch.adaptive_explorer


def test_explorer_grids_cover_every_control_value():
    grids = ch.explorer_grids(5)
    shape = (len(ch.EXPLORER_LRS), len(ch.EXPLORER_BETA1), len(ch.EXPLORER_BETA2), 6, 2)
    assert set(grids) == {(s, o) for s in ("quadratic", "saddle") for o in ch.EXPLORER_OPTIMIZERS}
    assert all(g.shape == shape for g in grids.values())
    sgd = grids[("quadratic", "SGD")]
    assert np.array_equal(sgd[3, 0, 0], sgd[3, 2, 1])  # no β: the same path along those axes


def test_explorer_state_function_needs_no_browser(explorer):
    fig = explorer.figure(surface="saddle", optimizer="SGD + momentum", lr=0.1, beta1=0.5)
    assert 5 < fig.get_size_inches()[0] <= 7.5
    assert explorer.figure(surface="quadratic") is fig  # one kept figure, its moving parts animated
    assert explorer.background(**explorer.state()) == "quadratic"
    assert explorer.png(optimizer="RMSProp", beta2=0.9) == explorer.png(
        optimizer="RMSProp", beta2=0.9
    )
    assert explorer.png(lr=0.001) != explorer.png(lr=0.5)


def test_explorer_readouts(explorer):
    assert ": diverges, leaving the view at iteration " in explorer.readout(optimizer="SGD", lr=2.5)
    text = explorer.readout(surface="saddle", optimizer="Adam", lr=0.1)
    assert "β₁ = 0.9, β₂ = 0.999" in text and "saddle at iteration" in text
    assert "μ = 0.5" in explorer.readout(optimizer="SGD + momentum", beta1=0.5)
    assert "α = 0.9" in explorer.readout(optimizer="RMSProp", beta2=0.9)


def test_explorer_slider_moves_only_redraw(explorer, monkeypatch):
    def no_recomputing(*args, **kwargs):
        raise AssertionError("a slider move recomputed paths")

    monkeypatch.setattr(ch, "paths", no_recomputing)
    for state in explorer.sample_states(steps=3):
        assert len(explorer.png(**state)) > 1000


# --- the explorer tells the truth at every state ----------------------------------------------

LOSS_TITLE = re.compile(
    r"^(?P<optimizer>.+?), η = (?P<lr>[\d.]+)(?:, μ = (?P<mu>[\d.]+))?(?:, α = (?P<alpha>[\d.]+))?"
    r"(?:, β₁ = (?P<beta1>[\d.]+), β₂ = (?P<beta2>[\d.]+))?$"
)
DIVERGES = r"diverges, leaving the view at iteration (?P<diverges_at>\d+)"
VIEW = (
    r"leaves the view at iteration (?P<left_at>\d+)"
    r"(?:, back in it from iteration (?P<back_at>\d+)| and ends outside it)"
)
ADAPTIVE_READOUT = re.compile(
    rf"^(?P<head>.+?): (?:(?P<verdict>{DIVERGES})|loss above the minimum after (?P<n>\d+) iterations "
    rf"(?P<loss>[^;]+)(?:; (?P<view>{VIEW}))?(?:; (?:ends in the (?P<minimum>global|local) minimum"
    r"|(?P<unsettled>has not settled in a minimum)); (?:leaves the saddle at iteration "
    r"(?P<leaves>\d+)|still at the saddle after (?P<still>\d+) iterations))?)$"
)
EXPLORER_ITERATIONS = 100  # the notebook's quad_iterations, where the disagreements showed


def _surface_loss(surface: str, xy: np.ndarray) -> np.ndarray:
    """The loss above the minimum, written out here from the formulas the panel titles state."""
    x, y = xy[..., 0], xy[..., 1]
    with np.errstate(over="ignore", invalid="ignore"):
        if surface == "quadratic":
            return 0.5 * (0.02 * x**2 + y**2)
        left = np.sort(np.roots([1.0, 0.0, -1.0, 0.1]).real)[0]
        floor = 0.25 * (left**2 - 1) ** 2 + 0.1 * left
        return 0.25 * (x**2 - 1) ** 2 + 0.5 * y**2 + 0.1 * x - floor


def _path_of(surface: str, optimizer: str, lr: float, beta1: float, beta2: float) -> np.ndarray:
    """The state's run recomputed by the chapter's engine with only the settings its optimizer
    uses, in a batch of every slider value as the explorer runs it: a run alone can differ in
    the last bits (torch's pow of a tensor of β₂'s), which Adam's oscillation on the saddle at
    β₁ = 0 grows to 0.36 in x₁ by iteration 100 (the readout's words stay the same)."""
    lrs = np.array(ch.EXPLORER_LRS)[:, None, None]
    b1 = np.array(ch.EXPLORER_BETA1)[None, :, None]
    b2 = np.array(ch.EXPLORER_BETA2)[None, None, :]

    def settings(b1, b2) -> tuple[str, dict]:
        return {
            "SGD": ("sgd", {}),
            "SGD + momentum": ("sgd", {"momentum": b1}),
            "RMSProp": ("rmsprop", {"alpha": b2}),
            "Adam": ("adam", {"beta1": b1, "beta2": b2}),
            "AdaGrad": ("adagrad", {}),
        }[optimizer]

    method, batch_settings = settings(b1, b2)
    batch = ch.paths(surface, method, lrs, EXPLORER_ITERATIONS, **batch_settings)
    at = (ch.EXPLORER_LRS.index(lr), ch.EXPLORER_BETA1.index(beta1), ch.EXPLORER_BETA2.index(beta2))
    run = batch[tuple(i if n > 1 else 0 for i, n in zip(at, batch.shape, strict=False))]
    alone = ch.paths(surface, method, lr, 20, **settings(beta1, beta2)[1])
    assert np.allclose(alone, run[:21], rtol=1e-9, atol=1e-12, equal_nan=True)
    return run


# States that reach every note the path panel can carry and every optimizer, SGD + momentum
# among them (the random sample need not).
MORE_STATES = [
    dict(surface="quadratic", optimizer="SGD + momentum", lr=1.9, beta1=0.5, beta2=0.9),
    dict(surface="saddle", optimizer="SGD + momentum", lr=0.1, beta1=0.99, beta2=0.99),
    dict(surface="quadratic", optimizer="RMSProp", lr=0.5, beta1=0.9, beta2=0.999),  # back
    dict(surface="saddle", optimizer="RMSProp", lr=1.5, beta1=0.9, beta2=0.999),  # ends outside
    dict(surface="quadratic", optimizer="SGD", lr=2.5, beta1=0.9, beta2=0.999),  # diverges
    dict(surface="saddle", optimizer="SGD", lr=0.1, beta1=0.9, beta2=0.999),  # stays in view
]


@pytest.fixture(scope="module")
def full_explorer():
    explorer = ch.adaptive_explorer(iterations=EXPLORER_ITERATIONS)
    explorer.check_backgrounds = True
    return explorer


def test_adaptive_explorer_readout_and_titles_tell_what_is_drawn(full_explorer):
    """Per sampled state (each control at both ends, 20 random ones, the start, and four states
    that reach every note and SGD + momentum): the loss panel's title names the state's optimizer, η and only the
    β's it uses, and the readout opens with the same words; the path panel's title, limits,
    contours and markers are the state's surface; the drawn path and loss curve are the run
    recomputed here (the chapter's engine with only the used settings, the loss from the
    formulas the titles state), one point per iteration; the readout's final loss is the
    curve's last point, "diverges" only where the drawn run does, the note on the picture (and
    in the readout) says where the drawn path leaves the view and whether it comes back, and on
    the saddle the minimum and the iteration the readout names are those of the drawn path."""
    explorer = full_explorer
    states = [*sampled_states(explorer), *MORE_STATES]
    seen = set()
    for state in states:
        assert explorer.png(**state).startswith(b"\x89PNG")
        fig, where = explorer.figure(**state), f"at {state}"
        ax_path, ax_loss = fig.axes
        surface, optimizer = state["surface"], state["optimizer"]
        surf = ch.SURFACES[surface]
        # The still part: the state's surface, its contours and its marked points.
        assert ax_path.get_title() == f"{surface}: {surf.formula}", where
        assert ax_path.get_xlim() == surf.xlim and ax_path.get_ylim() == surf.ylim, where
        (contours,) = [c for c in ax_path.collections if c.get_visible()]
        xs, ys = np.linspace(*surf.xlim, 121), np.linspace(*surf.ylim, 101)
        z = _surface_loss(surface, np.stack(np.meshgrid(xs, ys), axis=-1))
        assert contours.levels[-1] == pytest.approx(z.max(), rel=1e-9), where
        assert contours.levels[0] == pytest.approx(max(z.min(), 1e-3), rel=1e-6), where
        markers = {
            line.get_label(): line.get_xydata()[0] for line in ax_path.lines if line.get_visible()
        }
        (path_line,) = [line for line in ax_path.lines if line.get_animated()]
        (start,) = [line for line in ax_path.lines if line.get_visible() and line.get_label().startswith("_")
                    and not line.get_animated()]  # fmt: skip
        named = {k: v for k, v in markers.items() if not k.startswith("_")}
        assert set(named) == set(surf.points), where
        for name, point in surf.points.items():
            assert np.allclose(named[name], point), where
        # The loss panel's title and the readout's opening name the state.
        title = ax_loss.get_title()
        said = LOSS_TITLE.match(title)
        assert said and said["optimizer"] == optimizer and float(said["lr"]) == state["lr"], where
        uses = {
            "mu": optimizer == "SGD + momentum" and state["beta1"],
            "alpha": optimizer == "RMSProp" and state["beta2"],
            "beta1": optimizer == "Adam" and state["beta1"],
            "beta2": optimizer == "Adam" and state["beta2"],
        }
        for key, value in uses.items():
            assert (said[key] is None) == (value is False), (where, key)
            assert said[key] is None or float(said[key]) == value, (where, key)
        text = explorer.readout(**state)
        read = ADAPTIVE_READOUT.match(text)
        assert read and read["head"] == title, (where, text)
        # The drawn curves are the run recomputed here.
        path = _path_of(surface, optimizer, state["lr"], state["beta1"], state["beta2"])
        loss = _surface_loss(surface, path)
        steps, drawn_loss = ax_loss.get_lines()[0].get_data()
        assert ax_loss.get_xlim() == (0, EXPLORER_ITERATIONS), where
        assert list(steps) == list(range(EXPLORER_ITERATIONS + 1)), where
        finite = np.isfinite(loss)
        expected = np.clip(np.where(finite, loss, np.inf), 1e-16, 1e8)
        assert np.allclose(drawn_loss, expected, rtol=1e-9, atol=1e-15), where
        drawn = path_line.get_xydata()
        assert np.array_equal(start.get_xydata()[0], drawn[0]), where
        assert np.allclose(drawn[0], surf.start), where
        (x0, x1), (y0, y1) = ax_path.get_xlim(), ax_path.get_ylim()
        with np.errstate(invalid="ignore"):
            inside = (x0 <= drawn[:, 0]) & (drawn[:, 0] <= x1) & (y0 <= drawn[:, 1]) & (drawn[:, 1] <= y1)  # fmt: skip
        note = next(t for t in ax_path.texts)
        shown = note.get_text().replace("\n", " ") if note.get_visible() else ""
        low, high = ax_loss.get_ylim()
        if read["verdict"]:  # diverges: the drawn path runs off and the curve ends above the top
            seen.add("diverges")
            assert shown == read["verdict"] and read["diverges_at"], where
            assert drawn_loss[-1] > high and not inside[-1], where
            assert int(read["diverges_at"]) == int(np.argmin(inside)), where
            assert np.allclose(drawn, path[: len(drawn)], equal_nan=True), where
            gone = ~np.isfinite(drawn[-1]).all() or np.abs(drawn[-1]).max() > 3 * max(map(abs, surf.xlim + surf.ylim))  # fmt: skip
            assert gone and len(drawn) <= EXPLORER_ITERATIONS + 1, where
            assert not (np.isfinite(loss[-1]) and loss[-1] <= 1e6), where
            continue
        # Converging or not, a run that does not diverge is drawn whole.
        assert int(read["n"]) == len(drawn) - 1 == len(steps) - 1 == EXPLORER_ITERATIONS, where
        assert np.allclose(drawn, path, rtol=1e-9, atol=1e-12), where
        assert np.isfinite(loss).all() and loss[-1] <= 1e6, where
        value = float(read["loss"])
        if low <= drawn_loss[-1] <= high:
            assert read["loss"] == f"{drawn_loss[-1]:.2g}", where
        elif drawn_loss[-1] < low:  # the curve leaves through the bottom: a loss below it
            seen.add("below the loss panel")
            assert value < low, where
        else:
            assert value > high, where
        assert value == pytest.approx(loss[-1], rel=0.05, abs=1e-300), where
        # The note says where the drawn path leaves the view, and whether it comes back.
        assert (shown == "") == inside.all() and shown == (read["view"] or ""), where
        if not inside.all():
            assert int(read["left_at"]) == int(np.argmin(inside)) and inside[: int(read["left_at"])].all()  # fmt: skip
            if read["back_at"]:
                seen.add("back in view")
                back = int(read["back_at"])
                assert not inside[back - 1] and inside[back:].all(), where
            else:
                seen.add("ends outside the view")
                assert not inside[-1], where
        else:
            seen.add("in view")
        # On the saddle: the minimum the drawn path ends in, the iteration it leaves the saddle.
        if surface == "quadratic":
            assert read["minimum"] is None and read["unsettled"] is None, where
            assert read["leaves"] is None and read["still"] is None, where
            continue
        near = {
            kind: np.hypot(*(drawn[-1] - named[f"{kind} minimum"])) < 0.3
            for kind in ("global", "local")
        }
        if read["minimum"]:
            seen.add(f"ends in the {read['minimum']} minimum")
            assert near[read["minimum"]], where
        else:
            assert read["unsettled"] and not any(near.values()), where
        away = np.abs(drawn[:, 0] - named["saddle"][0]) > 0.3
        if read["leaves"]:
            assert int(read["leaves"]) == int(np.argmax(away)) and away.any(), where
        else:
            assert int(read["still"]) == EXPLORER_ITERATIONS and not away.any(), where
    expected_seen = {"diverges", "in view", "back in view", "ends outside the view"}
    assert expected_seen <= seen, seen
    assert {"below the loss panel", "ends in the global minimum"} <= seen, seen
    assert {s["optimizer"] for s in states} == set(ch.EXPLORER_OPTIMIZERS), states
    assert {s["surface"] for s in states} == {"quadratic", "saddle"} and len(states) >= 30
