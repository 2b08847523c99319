"""Gradient accumulation: the hand loop equals train(), the gradients match, and each mistake shows."""

from __future__ import annotations

import re

import pytest
import torch

from gdlessons.chapters import ch04_gradient_accumulation as acc
from gdlessons.compare import compare
from gdlessons.data import quadratic_data
from gdlessons.models import LinearModel, batchnorm_mlp, tutorial_mlp
from gdlessons.schedules import linear_decay
from gdlessons.training import make_optimizer, train
from tests.explorer_states import sampled_states


@pytest.fixture(scope="module")
def batch():
    data = quadratic_data(128, seed=0)
    return data.X, data.y


def test_micro_batches_give_the_batch_gradient(batch):
    X, y = batch
    model = tutorial_mlp(seed=0)
    whole = acc.accumulated_gradient(model, X, y)
    for scale in ("share", "1/k"):
        assert compare(
            acc.accumulated_gradient(
                model, X, y, micro_batch_size=32, accumulation_steps=4, scale=scale
            ),
            whole,
        ).close()


def test_gradient_leaves_the_model_untouched(batch):
    X, y = batch
    model = batchnorm_mlp(seed=0)
    before = model[1].running_mean.clone()
    acc.accumulated_gradient(model, X, y, micro_batch_size=16)
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(model[1].running_mean, before)


def test_forgetting_the_division_multiplies_by_k(batch):
    X, y = batch
    model = tutorial_mlp(seed=0)
    c = compare(acc.accumulated_gradient(model, X, y, micro_batch_size=32, scale="none"),
                    acc.accumulated_gradient(model, X, y))  # fmt: skip
    assert c.norm_ratio == pytest.approx(4.0, rel=1e-5)
    assert c.cosine == pytest.approx(1.0, abs=1e-6)


def test_short_micro_batch_weighted_as_full_is_wrong_but_share_is_exact(batch):
    X, y = batch[0][:100], batch[1][:100]  # 32, 32, 32, 4
    model = tutorial_mlp(seed=0)
    whole = acc.accumulated_gradient(model, X, y)
    assert not compare(
        acc.accumulated_gradient(
            model, X, y, micro_batch_size=32, accumulation_steps=4, scale="1/k"
        ),
        whole,
    ).close()
    assert compare(
        acc.accumulated_gradient(model, X, y, micro_batch_size=32, scale="share"), whole
    ).close()


def test_one_over_k_divides_by_k_not_by_the_number_of_micro_batches(batch):
    """A last batch of fewer than k micro-batches is shrunk to j/k of its gradient by "1/k"
    (the hand loop divides by k whatever the batch holds), and a short micro-batch among k
    counts 1/k, not its share."""
    X, y = batch
    model = tutorial_mlp(seed=0)
    for size, micro, k, pieces in ((10, 12, 3, 1), (40, 16, 4, 3), (100, 32, 4, 4)):
        Xb, yb = X[:size], y[:size]
        divided = acc.accumulated_gradient(
            model, Xb, yb, micro_batch_size=micro, accumulation_steps=k, scale="1/k"
        )
        by_hand = sum(
            acc.accumulated_gradient(model, xm, ym) / k
            for xm, ym in zip(Xb.split(micro), yb.split(micro), strict=True)
        )
        assert len(Xb.split(micro)) == pieces
        assert compare(divided, by_hand).close(), (size, micro, k)
    one = acc.accumulated_gradient(
        model, X[:10], y[:10], micro_batch_size=12, accumulation_steps=3, scale="1/k"
    )
    assert compare(one, acc.accumulated_gradient(model, X[:10], y[:10])).norm_ratio == (
        pytest.approx(1 / 3, rel=1e-5)
    )


def test_zero_grad_each_micro_batch_keeps_only_the_last(batch):
    X, y = batch
    model = tutorial_mlp(seed=0)
    erased = acc.accumulated_gradient(
        model, X, y, micro_batch_size=32, accumulation_steps=4, scale="1/k",
        zero_grad_each_micro_batch=True,
    )  # fmt: skip
    last = acc.accumulated_gradient(model, X[-32:], y[-32:]) / 4
    assert compare(erased, last).close()
    assert not compare(erased, acc.accumulated_gradient(model, X, y)).close()


def test_batchnorm_breaks_equivalence(batch):
    X, y = batch
    model = batchnorm_mlp(seed=0)
    whole = acc.accumulated_gradient(model, X, y)
    assert compare(acc.accumulated_gradient(model, X, y, micro_batch_size=128), whole).close()
    assert (
        compare(acc.accumulated_gradient(model, X, y, micro_batch_size=16), whole).relative_error
        > 0.05
    )


def test_hand_loop_equals_train_and_the_large_batch():
    data = quadratic_data(256, seed=1)
    a, b, c = (tutorial_mlp(seed=0) for _ in range(3))
    losses = acc.train_by_hand(
        a, data, micro_batch_size=16, accumulation_steps=4, epochs=3, lr=0.01, seed=2
    )
    h = train(b, data, batch_size=64, accumulation_steps=4, epochs=3, lr=0.01, seed=2)
    train(c, data, batch_size=64, epochs=3, lr=0.01, seed=2)
    assert len(losses) == len(h.iterations.loss) == 12
    assert losses == pytest.approx(h.iterations.loss, abs=1e-6)
    assert acc.parameter_difference(a, b) <= 1e-6
    assert acc.parameter_difference(b, c) <= 1e-5


def test_hand_loop_drifts_when_the_last_batch_is_short():
    data = quadratic_data(232, seed=1)  # 3 × 64 + 40: the last batch splits 16, 16, 8 by hand
    a, b = tutorial_mlp(seed=0), tutorial_mlp(seed=0)
    acc.train_by_hand(a, data, micro_batch_size=16, accumulation_steps=4, epochs=3, lr=0.01)
    train(b, data, batch_size=64, accumulation_steps=4, epochs=3, lr=0.01)
    assert acc.parameter_difference(a, b) > 1e-5


def test_scaled_loss_equals_k_times_the_learning_rate():
    data = quadratic_data(128, seed=0)
    a, b = tutorial_mlp(seed=0), tutorial_mlp(seed=0)
    train(
        a,
        data,
        batch_size=32,
        accumulation_steps=4,
        epochs=2,
        lr=0.002,
        loss=acc.scaled_loss("mse", 4),
    )
    train(b, data, batch_size=32, accumulation_steps=4, epochs=2, lr=0.008)
    assert acc.parameter_difference(a, b) <= 1e-5


def test_scheduler_stepped_per_micro_batch_runs_k_times_faster():
    data = quadratic_data(128, seed=0)
    decay = linear_decay(16)
    right = train(
        tutorial_mlp(seed=0), data, batch_size=32, accumulation_steps=4, epochs=4, scheduler=decay
    )
    fast = train(tutorial_mlp(seed=0), data, batch_size=32, accumulation_steps=4, epochs=4,
                 scheduler=acc.stepped_per_micro_batch(decay, 4))  # fmt: skip
    assert right.iterations.lr[4] == pytest.approx(0.01 * (1 - 4 / 16))
    assert fast.iterations.lr[1] == pytest.approx(0.01 * (1 - 4 / 16))
    assert fast.iterations.lr.index(0.0) == 4
    assert right.iterations.lr[-1] > 0


def test_saved_activation_bytes_grow_with_the_batch_only():
    model = tutorial_mlp(seed=0)
    sizes = {n: acc.saved_activation_bytes(model, torch.zeros(n, 1)) for n in (8, 32, 128)}
    assert sizes[32] == 4 * sizes[8] and sizes[128] == 16 * sizes[8] > 0


def test_parameter_difference():
    assert acc.parameter_difference(LinearModel(1.0, 0.0), LinearModel(1.0, -2.0)) == 2.0


@pytest.mark.parametrize(
    "call, error",
    [
        (
            lambda X, y: acc.accumulated_gradient(tutorial_mlp(), X, y, micro_batch_size=0),
            "micro_batch_size",
        ),
        (
            lambda X, y: acc.accumulated_gradient(tutorial_mlp(), X, y, micro_batch_size=-3),
            "micro_batch_size",
        ),
        (lambda X, y: acc.accumulated_gradient(tutorial_mlp(), X, y, scale="half"), "scale"),
        (
            lambda X, y: acc.accumulated_gradient(
                tutorial_mlp(), X, y, micro_batch_size=32, scale="1/k"
            ),
            "accumulation_steps must be given with scale='1/k'",
        ),
        (
            lambda X, y: acc.accumulated_gradient(
                tutorial_mlp(), X, y, micro_batch_size=32, accumulation_steps=3, scale="1/k"
            ),
            r"accumulation_steps must be at least the 4 micro-batches of 32 .* got 3",
        ),
        (
            lambda X, y: acc.train_by_hand(
                tutorial_mlp(), (X, y), micro_batch_size=8, accumulation_steps=0
            ),
            "accumulation_steps",
        ),
        (lambda X, y: linear_decay(0), "total_iterations"),
        (
            lambda X, y: acc.accumulation_runs(
                n=64, micro_batch_sizes=(32,), accumulation_steps=(4,)
            ),
            "<= n=64",
        ),
    ],
)
def test_bad_arguments_are_named(batch, call, error):
    with pytest.raises(ValueError, match=error):
        call(*batch)


def test_type_errors():
    with pytest.raises(TypeError, match="scheduler"):
        acc.stepped_per_micro_batch(3, 4)
    with pytest.raises(TypeError, match="X must be"):
        acc.saved_activation_bytes(tutorial_mlp(), [[1.0]])
    with pytest.raises(TypeError, match="accumulation_steps"):
        acc.stepped_per_micro_batch(lambda o: None, 2.5)


def test_stepped_per_micro_batch_steps_k_times():
    opt = make_optimizer(LinearModel(), lr=1.0)
    schedule = acc.stepped_per_micro_batch(lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5), 3)(
        opt
    )
    opt.step()
    schedule.step()
    assert opt.param_groups[0]["lr"] == 0.5


@pytest.mark.slow
@pytest.mark.slow
def test_step_memory_is_the_update_only_and_floors_at_gradients_plus_one_fresh_tensor():
    """Peak memory follows the micro-batch even for a narrow model (train()'s check of its data,
    a pass over the inputs, is not part of the update and once set a floor of its own), and
    the smallest micro-batches sit near the gradients plus the largest gradient tensor."""
    from gdlessons.models import count_parameters, digits_classifier

    configs = [(1, 256), (4, 64), (64, 4)]
    for hidden in (8, 512):
        rows = acc.measure_step_memory(configs, hidden=hidden, repeats=1)  # in a fresh process
        assert [(r["accumulation_steps"], r["micro_batch_size"], r["effective_batch"]) for r in rows] == [
            (1, 256, 256), (4, 64, 256), (64, 4, 256),
        ]  # fmt: skip
        assert all(r["seconds"] > 0 for r in rows)
        peaks = [r["peak_mb"] for r in rows]
        assert peaks[0] > peaks[1] > peaks[2] > 0, (hidden, peaks)
        grads = 4 * count_parameters(digits_classifier(hidden=hidden)) / 2**20
        floor = grads + 4 * 64 * hidden / 2**20  # the running sum + the fresh 64 × hidden weight
        assert floor <= peaks[2] <= 1.15 * floor, (hidden, peaks, floor)
    assert acc.memory_time_figure(rows).axes[1].get_ylabel().startswith("CPU time")


def test_explorer_draws_every_state_and_the_curves_coincide():
    runs = acc.accumulation_runs(
        n=128, epochs=2, micro_batch_sizes=(8, 16), accumulation_steps=(1, 2, 4)
    )
    for (b, k), losses in runs.accumulated.items():
        assert losses == pytest.approx(runs.large_batch[b * k], rel=1e-5)
    ex = acc.accumulation_explorer(runs)
    assert ex.state() == {"micro_batch_size": 16, "accumulation_steps": 2}
    for state in ex.sample_states():
        fig = ex.figure(**state)
        b, k = state["micro_batch_size"], state["accumulation_steps"]
        assert fig.axes[0].get_title() == f"Effective batch {k} × {b} = {b * k}"
        assert fig.axes[0].get_xlabel() == "epoch"
        assert f"effective batch = {k} × {b} = {b * k}" in ex.readout(**state)
    assert len(ex.png()) > 1000


def test_chapter_explorer_is_registered():
    assert acc.EXPLORERS["ch04-accumulation-explorer"] is acc.accumulation_explorer


def test_a_micro_batch_larger_than_the_batch_is_the_whole_batch():
    data = quadratic_data(40)
    model = tutorial_mlp(seed=0)
    whole = acc.accumulated_gradient(model, data.X, data.y)
    assert compare(
        acc.accumulated_gradient(model, data.X, data.y, micro_batch_size=500), whole
    ).close()


TITLE = re.compile(r"^Effective batch (\d+) × (\d+) = (\d+)$")
READOUT = re.compile(
    r"^effective batch = (\d+) × (\d+) = (\d+)\n"
    r"largest relative gap between the curves = (\S+)\n"
    r"one batch of (\d+) needs (\d+)× the activation memory of a micro-batch of (\d+)$"
)


@pytest.fixture(scope="module")
def explorer_runs():
    return acc.accumulation_runs(
        n=256, epochs=3, micro_batch_sizes=(8, 16, 32), accumulation_steps=(1, 2, 4, 8)
    )


def test_explorer_readout_and_titles_tell_what_is_drawn(explorer_runs):
    """Per sampled state (every control at both ends, 20 random ones): the title, the readout,
    the legend and the bar labels name the same k, b and k·b as the state; the curves drawn are
    that pair's runs, one point per epoch and all inside the axes; the gap the readout states is
    the gap between the drawn curves, and its memory ratio that of the drawn bars, whose labels
    are their heights."""
    runs = explorer_runs
    explorer = acc.accumulation_explorer(runs)
    explorer.check_backgrounds = True
    for state in sampled_states(explorer):
        assert explorer.png(**state).startswith(b"\x89PNG")
        fig, where = explorer.figure(**state), f"at {state}"
        ax, bar = fig.axes
        b, k = state["micro_batch_size"], state["accumulation_steps"]
        k_t, b_t, B_t = map(int, TITLE.match(ax.get_title()).groups())
        assert (k_t, b_t, B_t) == (k, b, k * b), where
        said = READOUT.match(explorer.readout(**state))
        assert said, (where, explorer.readout(**state))
        k_r, b_r, B_r, gap, B_m, ratio, b_m = said.groups()
        assert (int(k_r), int(b_r), int(B_r), int(B_m), int(b_m)) == (k, b, k * b, k * b, b), where
        large, accumulated = ax.get_lines()
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == [f"one batch of {k * b}", f"{k} × micro-batch {b}"], where
        assert list(large.get_ydata()) == runs.large_batch[k * b], where
        assert list(accumulated.get_ydata()) == runs.accumulated[(b, k)], where
        for line in (large, accumulated):
            assert list(line.get_xdata()) == runs.epochs, where  # one point per epoch
            low, high = ax.get_ylim()
            assert all(low < y < high for y in line.get_ydata()), where
        drawn_gap = max(
            abs(p - q) / q for p, q in zip(accumulated.get_ydata(), large.get_ydata(), strict=True)
        )
        assert gap == f"{drawn_gap:.1e}", where
        heights = [patch.get_height() for patch in bar.patches]
        assert heights == [runs.activation_kib[b], runs.activation_kib[k * b]], where
        assert int(ratio) == round(heights[1] / heights[0]), where
        for text, height in zip(bar.texts, heights, strict=True):
            assert text.get_text() == f"{height:.0f} KiB" and text.get_position()[1] == height
        ticks = [t.get_text() for t in bar.get_xticklabels()]
        assert ticks == [f"{k} × {b}\naccumulated", f"1 × {k * b}\none batch"], where
