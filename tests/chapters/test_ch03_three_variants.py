import numpy as np
import pytest
import torch
from torch import nn

from gdlessons.chapters.ch03_three_variants import (
    EXPLORERS,
    EvaluatePerEpoch,
    compare_variants,
    comparison_table,
    default_target,
    divergence_sentences,
    doubling_batch_sizes,
    failure,
    final_full_loss,
    final_sentences,
    first_divergence,
    first_reach,
    four_panel,
    full_loss_at,
    gradient_noise,
    least_squares,
    linear_loss,
    linear_sgd_paths,
    loss_surface,
    measured_variance,
    momentum_one_demo,
    noise_plot,
    noise_result,
    path_length,
    path_sentences,
    path_table,
    per_sample_gradients,
    per_sample_gradients_loop,
    random_batches,
    reach_sentences,
    reach_table,
    replay_sentences,
    replay_table,
    theory_variance,
    timing_table,
    trajectory_explorer,
    trajectory_plot,
    tutorial_plot,
    tutorial_replay,
    warm_up,
)
from gdlessons.data import linear_data, quadratic_data
from gdlessons.display.plots import new_axes
from gdlessons.display.sizes import problems
from gdlessons.hooks import EvaluateEvery, RecordParams
from gdlessons.metrics import evaluate
from gdlessons.models import LinearModel, digits_classifier, tutorial_mlp
from gdlessons.training import train

LINE = linear_data(60, seed=0)
VARIANTS = {"batch": "full", "stochastic": 1, "mini": 8}
VARIANTS_40 = VARIANTS


@pytest.fixture(scope="module")
def runs():
    return compare_variants(
        LinearModel(), LINE, variants=VARIANTS, epochs=3, lr=0.1, hooks=[RecordParams()]
    )


def test_all_variants_start_from_the_same_parameters_and_see_the_same_samples(runs):
    starts = {(float(h.params[0]["w"]), float(h.params[0]["b"])) for h in runs.values()}
    assert len(starts) == 1
    assert {h.epochs.samples_seen[-1] for h in runs.values()} == {3 * 60}
    assert [h.iterations.iteration[-1] for h in runs.values()] == [3, 180, 24]


def test_the_model_passed_in_is_not_trained():
    model = LinearModel(w=0.5)
    compare_variants(model, LINE, variants={"b": "full"}, epochs=2, lr=0.1)
    assert model.w.item() == 0.5


def test_full_data_loss_is_measured_at_the_start_and_about_evals_per_epoch_times(runs):
    start = evaluate(LinearModel(), LINE)
    for h in runs.values():
        assert h.evals.iteration[0] == 0 and h.evals.train_loss[0] == pytest.approx(start)
    stochastic = runs["stochastic"]
    assert stochastic.evals.iteration[1] == 6  # 60 iterations per epoch // 10 evaluations
    assert runs["batch"].evals.iteration == [0, 1, 2, 3]


def test_each_run_matches_a_plain_train_call(runs):
    alone = train(
        LinearModel(),
        LINE,
        batch_size=8,
        epochs=3,
        lr=0.1,
        hooks=[EvaluateEvery(1), RecordParams()],
    )
    assert alone.iterations == runs["mini"].iterations
    assert torch.equal(alone.param_trajectory("w"), runs["mini"].param_trajectory("w"))


def test_first_reach_and_full_loss_at_read_the_evaluations(runs):
    h = runs["batch"]
    target = h.evals.train_loss[2]
    assert first_reach(h, target, "iteration") == 2
    assert first_reach(h, target, "epoch") == 2.0
    assert first_reach(h, target, "samples") == 120
    assert first_reach(h, -1.0) is None
    assert full_loss_at(h, "iteration", 2.5) == target
    with pytest.raises(ValueError, match="value must be"):
        full_loss_at(h, "iteration", -1)
    with pytest.raises(ValueError, match="x must be one of"):
        first_reach(h, target, "steps")


def test_reach_table_default_target_is_reached_by_every_run(runs):
    rows = reach_table(runs)
    assert all(r["iterations"] is not None for r in rows)
    by = {r["variant"]: r for r in rows}
    assert by["batch"]["epochs"] >= by["mini"]["epochs"]
    assert by["batch"]["iterations"] <= by["stochastic"]["iterations"]


def test_comparison_table_counts(runs):
    rows = {r["variant"]: r for r in comparison_table(runs)}
    assert rows["stochastic"]["iterations"] == 180 and rows["batch"]["batch_size"] == 60


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="model must be"):
        compare_variants("net", LINE)
    with pytest.raises(ValueError, match="variants must"):
        compare_variants(LinearModel(), LINE, variants={})
    with pytest.raises(ValueError, match="evals_per_epoch"):
        compare_variants(LinearModel(), LINE, evals_per_epoch=0)
    with pytest.raises(ValueError, match="batch_size"):
        compare_variants(LinearModel(), LINE, variants={"x": 0})


def test_linear_loss_matches_evaluate_and_minimum_matches_lstsq():
    for w, b in [(0.0, 0.0), (2.0, -1.0), (-0.5, 3.0)]:
        assert linear_loss(LINE, w, b) == pytest.approx(evaluate(LinearModel(w, b), LINE), rel=1e-5)
    X = np.c_[LINE.X.numpy().ravel(), np.ones(60)]
    w, b = np.linalg.lstsq(X, LINE.y.numpy().ravel(), rcond=None)[0]
    assert least_squares(LINE) == pytest.approx((w, b), rel=1e-5)
    s = loss_surface(LINE, points=21)
    assert s.loss.min() >= linear_loss(LINE, *s.minimum) - 1e-9


@pytest.mark.parametrize("batch_size", [1, 7, 16, "full"])
def test_vectorised_paths_replay_train_exactly(batch_size):
    lrs = [0.05, 0.2]
    paths = linear_sgd_paths(
        LINE, batch_size=batch_size, lrs=lrs, epochs=2, seed=3, w0=0.5, b0=-0.5
    )
    for i, lr in enumerate(lrs):
        h = train(
            LinearModel(0.5, -0.5),
            LINE,
            batch_size=batch_size,
            epochs=2,
            lr=lr,
            seed=3,
            hooks=[RecordParams()],
        )
        ref = torch.stack([h.param_trajectory("w"), h.param_trajectory("b")], 1).double().numpy()
        assert paths[i].shape == ref.shape
        np.testing.assert_allclose(paths[i], ref, rtol=1e-4, atol=1e-5)


def test_stochastic_path_is_longer_than_batch_path(runs):
    assert path_length(runs["stochastic"]) > 5 * path_length(runs["batch"])


def test_tutorial_replay_counts_one_batch_per_epoch():
    data = quadratic_data(100, seed=0)
    replay = tutorial_replay(data, tutorial_mlp(seed=0), iterations=4, evaluate_every=2)
    assert [r.batch_size for r in replay] == [100, 1, 100]  # 128 is capped at N
    assert [r.momentum for r in replay] == [1.0, 0.0, 1.0]
    assert [r.samples_seen for r in replay] == [400, 4, 400]
    assert replay[1].real_epochs == 0.04
    assert replay[0].eval_iterations == [0, 2, 4] and len(replay[0].loss) == 4
    assert replay[0].full_loss[0] == pytest.approx(evaluate(tutorial_mlp(seed=0), data))


def test_momentum_one_never_settles():
    paths = momentum_one_demo(steps=300)
    assert abs(paths[0.0][-1]) < 1e-6 and abs(paths[0.9][-1]) < 1e-3
    assert max(abs(v) for v in paths[1.0][-60:]) > 0.9


def test_plots_have_titles_and_labelled_axes(runs):
    for fig in (four_panel(runs), trajectory_plot(runs, LINE)):
        for ax in fig.axes:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    replay = tutorial_replay(quadratic_data(50), tutorial_mlp(), iterations=3)
    assert all(ax.get_xlabel() for ax in tutorial_plot(replay).axes)


def test_explorer_is_registered_and_draws_every_state():
    assert EXPLORERS["ch03-trajectory-explorer"] is trajectory_explorer
    ex = trajectory_explorer(LINE, epochs=2, lrs=[0.1, 2.0])
    assert ex.controls["batch_size"].options == (1, 2, 4, 8, 16, 32, 60)
    for state in ex.sample_states(3):
        assert len(ex.png(**state)) > 1000
    assert "diverged" in ex.readout(batch_size=1, lr=2.0)
    assert "final loss" in ex.readout(batch_size=60, lr=0.1)
    assert "1 iteration per epoch" in ex.readout(batch_size=60, lr=0.1)


def test_figures_fit_the_column_with_readable_text(runs):
    replay = tutorial_replay(quadratic_data(50), tutorial_mlp(), iterations=3)
    explorer = trajectory_explorer(LINE, epochs=2, lrs=[0.1, 2.0])
    for fig in (
        four_panel(runs),
        trajectory_plot(runs, LINE),
        tutorial_plot(replay),
        explorer.figure(),
        explorer.figure(batch_size=1, lr=2.0),
    ):
        assert problems(fig) == []
    assert explorer.figure().get_layout_engine() is not None  # laid out, no margins by hand


def test_explorer_draw_uses_the_precomputed_path():
    ex = trajectory_explorer(LINE, epochs=2, lrs=[0.1, 0.3])
    fig = ex.figure(batch_size=8, lr=0.3)
    expected = linear_sgd_paths(LINE, batch_size=8, lrs=[0.3], epochs=2)[0]
    red = [line for line in fig.axes[0].lines if line.get_color() == "tab:red"][0]
    np.testing.assert_allclose(red.get_xdata(), expected[:, 0])


def test_tables_for_the_notebook(runs):
    timing = {r["variant"]: r for r in timing_table(runs)}
    assert timing["stochastic"]["ms per iteration"] == pytest.approx(
        1000 * timing["stochastic"]["seconds"] / 180
    )
    paths = {r["variant"]: r for r in path_table(runs)}
    assert paths["mini"]["iterations"] == 24
    assert paths["batch"]["final full-data loss"] == runs["batch"].evals.train_loss[-1]
    replay = tutorial_replay(quadratic_data(50), tutorial_mlp(), iterations=2)
    rows = replay_table(replay)
    assert [r["samples seen"] for r in rows] == [100, 2, 100]
    assert all(r['"epochs"'] == r["iterations"] == 2 for r in rows)


def test_diverged_runs_are_marked_and_left_out_of_the_target():
    # lr 0.7: stochastic GD diverges, batch GD blows up without a non-finite loss, B = 8 converges
    runs = compare_variants(LinearModel(), linear_data(40), epochs=3, lr=0.7, variants=VARIANTS_40)
    start = runs["batch"].evals.train_loss[0]
    assert runs["stochastic"].diverged and final_full_loss(runs["batch"]) > start
    assert failure(runs["mini"]) is None
    for row, h in zip(comparison_table(runs), runs.values()):
        assert (row["final_loss"] == f"diverged at iteration {h.diverged_at}") == h.diverged
    rows = reach_table(runs)
    assert all(
        r["target"] == pytest.approx((start * final_full_loss(runs["mini"])) ** 0.5) for r in rows
    )
    by = {r["variant"]: r for r in rows}
    assert by["stochastic"]["iterations"].startswith("diverged at iteration")
    assert by["batch"]["iterations"].startswith("ended above its starting loss")
    assert isinstance(by["mini"]["iterations"], int)
    text = reach_sentences(rows)
    ranked = text.split("left out")[0]
    assert "batch (" not in ranked and "stochastic (" not in ranked and "mini (" in ranked
    final = final_sentences(runs)
    assert "lowest final full-data loss first: mini (" in final
    assert (
        "stochastic, diverged at iteration" in final
        and "batch, ended above its starting loss" in final
    )
    legend = [t.get_text() for t in four_panel(runs).axes[0].get_legend().get_texts()]
    assert any("diverged at iteration" in t for t in legend)
    with pytest.raises(ValueError, match="no run ended below its starting loss"):
        default_target({"batch": runs["batch"], "stochastic": runs["stochastic"]})


def test_default_target_is_no_runs_own_final_loss(runs):
    start = runs["batch"].evals.train_loss[0]
    finals = [final_full_loss(h) for h in runs.values()]
    target = default_target(runs)
    assert max(finals) < target < start and target == pytest.approx((start * max(finals)) ** 0.5)
    rows = reach_table(runs)
    assert all(isinstance(r["iterations"], int) for r in rows)
    # the run that ends worst no longer needs its very last update to get there
    worst = max(runs, key=lambda k: final_full_loss(runs[k]))
    by = {r["variant"]: r for r in rows}
    assert by[worst]["iterations"] < runs[worst].iterations.iteration[-1]


def test_final_loss_is_the_loss_after_the_last_update():
    # 41 samples, one evaluation every 13 iterations: the last falls before the end of the run
    line = linear_data(41, seed=1)
    runs = compare_variants(
        LinearModel(), line, variants={"s": 1}, epochs=1, lr=0.05, evals_per_epoch=3
    )
    h = runs["s"]
    assert h.evals.iteration[-1] < h.iterations.iteration[-1]
    row = comparison_table(runs)[0]
    model = LinearModel()
    train(model, line, batch_size=1, epochs=1, lr=0.05)
    assert row["final_loss"] == pytest.approx(evaluate(model, line), rel=1e-5)
    assert row["seconds"] == h.iterations.time[-1]


def test_sentences_rank_ties_and_name_what_is_left_out():
    rows = [
        {
            "variant": "batch (B = N)",
            "target": 2.0,
            "iterations": 3,
            "epochs": 3.0,
            "samples_seen": 300,
        },
        {
            "variant": "mini (B = 8)",
            "target": 2.0,
            "iterations": 3,
            "epochs": 0.24,
            "samples_seen": 24,
        },
        {
            "variant": "slow",
            "target": 2.0,
            "iterations": None,
            "epochs": None,
            "samples_seen": None,
        },
    ]
    text = reach_sentences(rows)
    assert "fewest iterations first: batch and mini (3, tied)" in text
    assert "fewest samples seen first: mini (24), batch (300)" in text
    assert "never reached the target: slow" in text
    paths = [
        {"variant": "batch", "iterations": 10, "path length": 2.0, "final full-data loss": 0.5},
        {"variant": "mini", "iterations": 50, "path length": 4.0, "final full-data loss": 0.3},
    ]
    assert (
        "closest to the minimum's loss 0.25 first: mini (+0.05), batch (+0.25)"
        in path_sentences(paths, 0.25)
    )


def test_divergence_sentences_say_when_the_order_breaks():
    text = divergence_sentences([{"batch size": 1, "first diverging lr": 0.8},
                                 {"batch size": 4, "first diverging lr": 0.5},
                                 {"batch size": 8, "first diverging lr": None}])  # fmt: skip
    assert "B = 8: none of the rates" in text and "not monotone" in text
    rows = first_divergence(LINE, epochs=2, batch_sizes=[1, 60], lrs=[0.1, 0.5, 0.8])
    assert [r["batch size"] for r in rows] == [1, 60]
    explorer = trajectory_explorer(LINE, epochs=2, lrs=[0.1, 0.5, 0.8])
    for r in rows:
        for lr in (0.1, 0.5, 0.8):
            diverged = r["first diverging lr"] is not None and lr >= r["first diverging lr"]
            # the explorer's readout agrees at the first diverging rate and below it
            if r["first diverging lr"] is None or lr <= r["first diverging lr"]:
                assert (
                    "diverged" in explorer.readout(batch_size=r["batch size"], lr=lr)
                ) == diverged


def test_replay_sentences_follow_the_losses():
    replay = tutorial_replay(
        quadratic_data(100, seed=0), tutorial_mlp(seed=0), iterations=6, evaluate_every=2
    )
    text = replay_sentences(replay)
    for run in replay:
        assert (
            f"{run.label} (B = {run.batch_size}): from {run.full_loss[0]:.3g} to {run.full_loss[-1]:.3g}"
            in text
        )
    assert "the two momentum-1 runs" in text


def test_runs_are_told_apart_without_colour(runs):
    for fig in (four_panel(runs), trajectory_plot(runs, LINE)):
        ax = fig.axes[0]
        lines = [
            line
            for line in ax.lines
            if line.get_label() in {"batch", "stochastic", "mini"} or ":" in line.get_label()
        ]
        looks = {(line.get_linestyle(), line.get_marker(), line.get_linewidth()) for line in lines}
        assert len(looks) == len(lines) == 3


# --- gradient noise -------------------------------------------------------------------------------


def test_fast_per_sample_gradients_match_one_backward_per_sample():
    data = quadratic_data(40, seed=1)
    model = tutorial_mlp(seed=2)
    fast = per_sample_gradients(model, data)
    slow = per_sample_gradients_loop(model, data)
    assert fast.shape == (40, 1153)
    torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-5)
    assert all(p.grad is None for p in model.parameters())  # nothing left behind


def test_per_sample_gradients_average_to_the_full_gradient():
    data = quadratic_data(30, seed=0)
    model = tutorial_mlp(seed=0)
    nn.functional.mse_loss(model(data.X), data.y).backward()
    full = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    model.zero_grad(set_to_none=True)
    torch.testing.assert_close(
        per_sample_gradients(model, data).mean(0), full, rtol=1e-4, atol=1e-6
    )


def test_per_sample_gradients_cross_entropy_classifier():
    X = torch.randn(12, 64, generator=torch.Generator().manual_seed(0))
    y = torch.arange(12) % 10
    model = digits_classifier(hidden=8)
    fast = per_sample_gradients(model, (X, y), loss="cross_entropy")
    torch.testing.assert_close(
        fast, per_sample_gradients_loop(model, (X, y), loss="cross_entropy"), rtol=1e-4, atol=1e-6
    )


def test_linear_model_per_sample_gradients_in_closed_form():
    data = linear_data(10, seed=0)
    model = LinearModel(w=0.3, b=-0.2)
    r = (0.3 * data.X - 0.2 - data.y).flatten()
    expected = torch.stack([2 * r * data.X.flatten(), 2 * r], 1)
    torch.testing.assert_close(per_sample_gradients(model, data), expected, rtol=1e-5, atol=1e-6)


def test_theory_limits():
    assert theory_variance(2.0, 10, [1])[0] == pytest.approx(2.0)
    assert theory_variance(2.0, 10, [10])[0] == 0.0
    v = theory_variance(1.0, 1000, doubling_batch_sizes(1000))
    assert np.all(np.diff(v) < 0)
    with pytest.raises(ValueError, match="batch_sizes"):
        theory_variance(1.0, 10, [11])


def test_measured_variance_is_exact_for_two_samples_and_zero_at_n():
    g = torch.tensor([[3.0, 0.0], [-1.0, 2.0]])  # mean (1, 1); deviations (2, -1), (-2, 1)
    assert measured_variance(g, [1, 2], draws=20).tolist() == [5.0, 0.0]


def test_measured_matches_theory_on_a_toy_population():
    grads = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    result_sizes = [1, 5, 25, 49]
    measured, stderr = measured_variance(grads, result_sizes, draws=4000, seed=1, stderr=True)
    centred = grads.double() - grads.double().mean(0)
    sigma2 = float(centred.pow(2).sum(1).mean())
    theory = theory_variance(sigma2, 50, result_sizes)
    assert np.all(np.abs(measured - theory) < 5 * stderr)


def test_without_replacement_is_below_with_replacement_for_large_batches():
    r = gradient_noise(LinearModel(), linear_data(64, seed=0), draws=800)
    big = np.asarray(r.batch_sizes) == 32
    # the (N − B)/(N − 1) correction is about 0.51 here
    assert r.measured[big][0] < 0.75 * r.sigma2 / 32


def test_gradient_noise_result_fields():
    r = gradient_noise(tutorial_mlp(seed=0), quadratic_data(64, seed=0), draws=300)
    assert r.batch_sizes == [1, 2, 4, 8, 16, 32, 64]
    assert r.measured[-1] < 1e-20 and r.theory[-1] == 0
    assert len(r.relative_errors) == 6
    assert r.max_relative_error < 0.35
    assert r.max_stderr_ratio < 5
    assert r.noise_scale == pytest.approx(r.sigma2 / r.signal)
    fig = noise_plot(r)
    ax = fig.axes[0]
    assert ax.get_title() and "batch size" in ax.get_xlabel() and ax.get_ylabel()
    assert problems(fig) == []  # fits the column, no text under 9 pt
    outer, given = new_axes(figsize=(4, 3))
    assert noise_plot(r, ax=given) is outer and given.get_xscale() == "log"


def test_gradient_noise_bad_arguments_are_named():
    with pytest.raises(TypeError, match="model must be"):
        per_sample_gradients("model", linear_data(5))
    with pytest.raises(TypeError, match="grads must be"):
        measured_variance(torch.zeros(5), [1])
    with pytest.raises(ValueError, match="draws"):
        measured_variance(torch.zeros(5, 2), [1], draws=1)
    with pytest.raises(ValueError, match="batch_sizes"):
        measured_variance(torch.zeros(5, 2), [6])
    with pytest.raises(ValueError, match="batch_sizes"):
        gradient_noise(LinearModel(), linear_data(5), batch_sizes=[0])


def test_doubling_batch_sizes():
    assert doubling_batch_sizes(8) == [1, 2, 4, 8]
    assert doubling_batch_sizes(1000)[-2:] == [512, 1000]


# --- the pieces the story's your-turn cells plug into ---------------------------------------


def test_one_evaluate_per_epoch_hook_measures_every_batch_size_alike():
    hook = EvaluatePerEpoch(4)
    for B, every in ((1, 15), (6, 2), ("full", 1)):
        h = train(LinearModel(), LINE, batch_size=B, epochs=2, lr=0.05, hooks=[hook])
        per_epoch = h.config["iterations_per_epoch"]
        assert h.evals.iteration == list(range(0, 2 * per_epoch + 1, every))
    with pytest.raises(ValueError, match="times must be >= 1"):
        EvaluatePerEpoch(0)


def test_warm_up_leaves_the_model_and_the_generators_alone():
    model = LinearModel(w=0.5)
    torch.manual_seed(3)
    state = torch.get_rng_state()
    warm_up(model, LINE, ["full", 1, 8])
    assert model.w.item() == 0.5 and torch.equal(state, torch.get_rng_state())
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        warm_up("net", LINE, [1])
    with pytest.raises(ValueError, match="iterations must be >= 1"):
        warm_up(model, LINE, [1], iterations=0)


def test_random_batches_draw_distinct_samples_and_the_whole_data_at_n():
    batches = random_batches(10, [1, 4, 10], draws=200, seed=1)
    assert {B: tuple(b.shape) for B, b in batches.items()} == {
        1: (200, 1),
        4: (200, 4),
        10: (1, 10),
    }
    assert all(len(set(row.tolist())) == 4 for row in batches[4])
    assert sorted(batches[10][0].tolist()) == list(range(10))
    assert set(batches[1].flatten().tolist()) == set(range(10))  # every sample gets drawn
    assert torch.equal(random_batches(10, [4], seed=1)[4], random_batches(10, [4], seed=1)[4])
    with pytest.raises(ValueError, match="batch_sizes"):
        random_batches(10, [11])
    with pytest.raises(ValueError, match="draws must be >= 1"):
        random_batches(10, [1], draws=0)
    with pytest.raises(ValueError, match="batch_sizes must hold at least one"):
        random_batches(10, [])


def test_noise_result_agrees_with_gradient_noise():
    model, data = tutorial_mlp(seed=0), quadratic_data(64, seed=0)
    r = gradient_noise(model, data, draws=100, seed=4)
    grads = per_sample_gradients(model, data).double()
    batches = random_batches(64, r.batch_sizes, draws=100, seed=4)
    squared = {B: ((grads[b].mean(1) - grads.mean(0)) ** 2).sum(1) for B, b in batches.items()}
    mine = noise_result(grads, {B: v.tolist() for B, v in squared.items()})
    np.testing.assert_allclose(mine.measured, r.measured, rtol=1e-5, atol=1e-20)
    np.testing.assert_allclose(mine.stderr, r.stderr, rtol=1e-5)
    assert (mine.sigma2, mine.signal) == pytest.approx((r.sigma2, r.signal))
    assert mine.theory.tolist() == pytest.approx(r.theory.tolist())


def test_noise_result_bad_arguments_are_named():
    with pytest.raises(TypeError, match="grads must be a 2-D tensor"):
        noise_result(torch.zeros(5), {1: [1.0]})
    with pytest.raises(TypeError, match="squared must be a dict"):
        noise_result(torch.zeros(5, 2), [1.0])
    with pytest.raises(ValueError, match="squared's batch sizes"):
        noise_result(torch.zeros(5, 2), {6: [1.0]})
    with pytest.raises(ValueError, match=r"squared\[2\] must hold finite numbers"):
        noise_result(torch.zeros(5, 2), {2: [float("nan")]})


# --- the explorer's readout and titles tell the truth about its picture --------------------------


def _what_the_trajectory_shows(fig) -> dict:
    ax, ax2 = fig.axes
    red = [line for line in ax.lines if line.get_color() == "tab:red"]
    (start,) = [line for line in ax.lines if line.get_marker() == "o"]
    (loss,) = ax2.lines[:1]
    (floor,) = [line for line in ax2.lines if line.get_linestyle() == ":"]
    (path,) = red
    return {
        "path": np.column_stack([path.get_xdata(), path.get_ydata()]),
        "start": (start.get_xdata()[0], start.get_ydata()[0]),
        "x": np.asarray(loss.get_xdata()),
        "loss": np.asarray(loss.get_ydata()),
        "floor": floor.get_ydata()[0],
        "top": ax2.get_ylim()[1],
        "titles": (ax.get_title(), ax2.get_title()),
    }


def test_the_explorers_readout_and_titles_agree_with_its_picture_at_every_state():
    """Every (batch size, learning rate) of the explorer on the chapter's data: the numbers the
    titles and the readout state are those the drawn path and loss curve hold."""
    import re

    data = linear_data()  # the explorer's own data (the chapter passes the same line)
    explorer = trajectory_explorer(data, epochs=3)
    n = len(data)
    sizes, lrs = explorer.controls["batch_size"].options, explorer.controls["lr"].options
    states = [{"batch_size": b, "lr": lr} for b in sizes for lr in lrs]
    assert len(states) == 9 * 8  # all of them: each costs a lookup and a few set_data
    drawn = {0, len(states) // 2, len(states) - 1}  # a few drawn as the live widget draws them
    outcomes = set()
    for i, state in enumerate(states):
        if i in drawn:
            explorer.png(**state)
        shown = _what_the_trajectory_shows(explorer.figure(**state))
        readout = explorer.readout(**state)
        where = f"at {state}: {shown['titles']} / {readout}"
        path_title = re.fullmatch(r"Path: B = (\d+), lr = ([\d.]+)", shown["titles"][0])
        loss_title = re.fullmatch(r"(\d+) iterations in (\d+) epochs\n\(dotted: the minimum\)",
                                  shown["titles"][1])  # fmt: skip
        said = re.fullmatch(r"B = (\d+): (\d+) iterations? per epoch; (?:diverged|final loss "
                            r"([\d.]+) \(minimum ([\d.]+)\))", readout)  # fmt: skip
        assert path_title and loss_title and said, where
        b, per_epoch = int(said.group(1)), int(said.group(2))
        # the batch size in the title is the readout's and the one the run used
        assert int(path_title.group(1)) == b == state["batch_size"], where
        assert float(path_title.group(2)) == state["lr"], where
        assert per_epoch == -(-n // b), where  # ceil(N / B): no batch dropped
        iterations, n_epochs = int(loss_title.group(1)), int(loss_title.group(2))
        # one drawn point per iteration (and the start), on both panels, over the stated epochs
        assert iterations == per_epoch * n_epochs == len(shown["loss"]) - 1, where
        assert len(shown["path"]) == len(shown["loss"]), where
        assert shown["x"][0] == 0 and shown["x"][-1] == pytest.approx(n_epochs), where
        assert np.allclose(np.diff(shown["x"]), 1 / per_epoch), where
        # the path starts at the start marker, and the loss curve is the path's full-data loss
        assert tuple(shown["path"][0]) == shown["start"], where
        on_path = np.isfinite(shown["path"]).all(1)
        np.testing.assert_allclose(
            linear_loss(data, shown["path"][on_path, 0], shown["path"][on_path, 1]),
            shown["loss"][on_path], rtol=1e-9, err_msg=where,
        )  # fmt: skip
        assert shown["top"] == pytest.approx(1.1 * shown["loss"][0]), where
        last = shown["loss"][-1]
        if said.group(3) is None:  # diverged: the curve ends off the chart or above its start
            assert not np.isfinite(last) or last > shown["loss"][0], where
            outcomes.add("diverged")
        else:
            assert np.isfinite(last) and last <= shown["loss"][0], where
            assert float(said.group(3)) == round(float(last), 3), where
            assert float(said.group(4)) == round(float(shown["floor"]), 3), where
            outcomes.add("converged")
    assert outcomes == {"diverged", "converged"}  # both kinds of state were checked


# --- counts to the target are exact, or not ranked ------------------------------------------------


@pytest.fixture(scope="module")
def sparse_runs():
    """Runs measured 5 times per epoch: B = 1 only every 24 updates, B = 8 every 3."""
    data = quadratic_data(120, seed=0)
    runs = compare_variants(tutorial_mlp(seed=0), data, variants=VARIANTS, epochs=2, lr=0.01,
                            evals_per_epoch=5, warmup=0)  # fmt: skip
    return data, runs


def _dense_truth(data, runs, target):
    """The first update after which each run's full-data loss is at or below the target,
    measured after every update of the whole run."""
    truth = {}
    for label, h in runs.items():
        dense = train(tutorial_mlp(seed=0), data, batch_size=h.config["batch_size"], epochs=2,
                      lr=0.01, hooks=[EvaluateEvery(1)])  # fmt: skip
        truth[label] = first_reach(dense, target, "iteration")
    return truth


def test_a_sparse_count_is_flagged_and_left_out_of_the_ranking(sparse_runs):
    data, runs = sparse_runs
    rows = {r["variant"]: r for r in reach_table(runs)}
    truth = _dense_truth(data, runs, rows["batch"]["target"])
    assert rows["batch"]["exact"] is True  # one update per epoch: measured after every one
    for label in ("stochastic", "mini"):
        assert rows[label]["exact"] is False and rows[label]["iterations"] > truth[label]
    text = reach_sentences(list(rows.values()))
    ranked, rough = text.split("not ranked")
    assert "fewest iterations first: batch (1)" in ranked
    assert "stochastic (" not in ranked and "mini (" not in ranked
    assert "stochastic (by iteration 24 at the latest)" in rough


def test_replays_measured_at_every_update_give_the_exact_counts(sparse_runs):
    data, runs = sparse_runs
    target = default_target(runs)
    again = {label: train(tutorial_mlp(seed=0), data, batch_size=h.config["batch_size"],
                          epochs=2, lr=0.01, hooks=[EvaluatePerEpoch(120, stop_at=target)])
             for label, h in runs.items()}  # fmt: skip
    rows = {r["variant"]: r for r in reach_table(runs, target, exact=again)}
    truth = _dense_truth(data, runs, target)
    assert {label: r["iterations"] for label, r in rows.items()} == truth
    assert all(r["exact"] is True for r in rows.values())
    # each replay stopped at the target: no update measured beyond it
    assert all(again[k].evals.iteration[-1] == truth[k] for k in runs)
    assert rows["stochastic"]["samples_seen"] == truth["stochastic"]
    assert rows["mini"]["epochs"] == pytest.approx(8 * truth["mini"] / 120)
    assert "not ranked" not in reach_sentences(list(rows.values()))


def test_a_replay_that_is_not_the_run_is_named(sparse_runs):
    data, runs = sparse_runs
    target = default_target(runs)

    def replay(label, **changes):
        kw = dict(batch_size=runs[label].config["batch_size"], epochs=2, lr=0.01,
                  hooks=[EvaluatePerEpoch(120, stop_at=target)])  # fmt: skip
        return train(tutorial_mlp(seed=changes.pop("start", 0)), data, **{**kw, **changes})

    good = {label: replay(label) for label in runs}
    with pytest.raises(ValueError, match=r"exact must hold a replay of every run"):
        reach_table(runs, target, exact={"batch": good["batch"]})
    with pytest.raises(
        ValueError, match=r"exact\['mini'\] must replay runs\['mini'\], but it trained with lr=0.02"
    ):
        reach_table(runs, target, exact={**good, "mini": replay("mini", lr=0.02)})
    with pytest.raises(
        ValueError, match=r"exact\['mini'\] must replay runs\['mini'\] from the same start"
    ):
        reach_table(runs, target, exact={**good, "mini": replay("mini", start=1)})
    sparse = replay("stochastic", hooks=[EvaluateEvery(5)])
    with pytest.raises(
        ValueError,
        match=r"exact\['stochastic'\] must measure the full-data loss after every update",
    ):
        reach_table(runs, target, exact={**good, "stochastic": sparse})


def test_a_run_that_blew_up_without_stopping_is_marked_in_the_comparison_table():
    # lr 0.7 on the line: batch GD ends above its start without a non-finite loss
    runs = compare_variants(LinearModel(), linear_data(40), epochs=3, lr=0.7, variants=VARIANTS_40)
    assert not runs["batch"].diverged
    rows = {r["variant"]: r for r in comparison_table(runs)}
    assert rows["batch"]["final_loss"] == failure(runs["batch"])
    assert rows["batch"]["final_loss"].startswith("ended above its starting loss (")
    assert rows["mini"]["final_loss"] == final_full_loss(runs["mini"])


def test_evaluate_per_epoch_stops_at_its_first_measurement_at_or_below_stop_at():
    h = train(LinearModel(), LINE, batch_size=1, epochs=3, lr=0.05,
              hooks=[EvaluatePerEpoch(len(LINE), stop_at=1.0)])  # fmt: skip
    assert h.evals.iteration == list(range(len(h.evals.iteration)))  # every update
    assert h.evals.train_loss[-1] <= 1.0 < min(h.evals.train_loss[:-1])
    assert h.stopped_at == h.evals.iteration[-1]
    # measured every 6 updates: it stops only at a measurement
    sparse = train(LinearModel(), LINE, batch_size=1, epochs=3, lr=0.05,
                   hooks=[EvaluatePerEpoch(10, stop_at=1.0)])  # fmt: skip
    assert sparse.stopped_at == sparse.evals.iteration[-1] and sparse.stopped_at % 6 == 0
    assert sparse.stopped_at >= h.stopped_at
    with pytest.raises(ValueError, match="stop_at must be a finite number"):
        EvaluatePerEpoch(3, stop_at=float("nan"))
