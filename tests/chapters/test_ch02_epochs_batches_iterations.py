import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from gdlessons.batching import BatchIterator, iterations_per_epoch
from gdlessons.chapters import all_explorers
from gdlessons.chapters import ch02_epochs_batches_iterations as epochs
from gdlessons.data import quadratic_data
from gdlessons.display.sizes import MIN_FONT_PT, problems
from gdlessons.hooks import EvaluateEvery
from gdlessons.models import tutorial_mlp
from gdlessons.training import train


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), b=st.integers(1, 60), e=st.integers(1, 3), drop=st.booleans())
def test_a_shuffled_epoch_uses_every_sample_once_or_drops_only_the_short_batch(n, b, e, drop):
    b = min(b, n)
    a = epochs.batch_assignment(n, b, e, drop_last=drop)
    assert a.iterations_per_epoch == iterations_per_epoch(n, b, drop)
    assert a.iterations == e * a.iterations_per_epoch
    dropped = n % b if drop else 0
    assert (a.uses.sum(axis=1) == n - dropped).all()
    assert set(np.unique(a.uses)) <= {0, 1}
    assert ((a.uses == 0).sum(axis=1) == dropped).all()
    assert a.samples_seen == e * (n - dropped)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), b=st.integers(1, 60), seed=st.integers(0, 50))
def test_first_batch_and_uses_agree_with_the_batches(n, b, seed):
    b = min(b, n)
    a = epochs.batch_assignment(n, b, 2, replacement=True, seed=seed)
    for e, batches in enumerate(a.batches):
        flat = np.concatenate(batches)
        assert np.array_equal(np.bincount(flat, minlength=n), a.uses[e])
        for i in range(n):
            first = next((k for k, idx in enumerate(batches) if i in idx), -1)
            assert a.first_batch[e, i] == first


def test_the_picture_shows_the_batches_the_iterator_gives():
    a = epochs.batch_assignment(23, 5, 2, seed=7)
    it = BatchIterator(torch.arange(23), batch_size=5, seed=7)
    for epoch in a.batches:
        assert [b.tolist() for b in epoch] == [t.tolist() for (t,) in it]


def test_counts_agree_with_a_real_train_run():
    data = quadratic_data(103)
    for kw in [{}, {"drop_last": True}, {"replacement": True}]:
        batches = BatchIterator(data.X, data.y, batch_size=20, seed=3, **kw)
        h = train(tutorial_mlp(), data, epochs=3, lr=0.01, batches=batches)
        a = epochs.batch_assignment(103, 20, 3, seed=3, **kw)
        run, pic = epochs.run_counts(h), a.counts()
        for key in ["iterations per epoch", "iterations", "samples seen", "epochs"]:
            assert run[key] == pic[key], (kw, key)


def test_replacement_repeats_and_misses_samples():
    a = epochs.batch_assignment(50, 10, 4, replacement=True)
    assert a.samples_seen == 4 * 5 * 10
    assert a.unseen_fraction > 0 and a.repeated_fraction > 0
    assert a.batch_sizes == [10] * 5


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="batch_size"):
        epochs.batch_assignment(10, 11)
    with pytest.raises(ValueError, match="epochs"):
        epochs.batch_assignment(10, 2, 0)
    with pytest.raises(TypeError, match="n"):
        epochs.batch_assignment(10.5, 2)


def test_iteration_rows_read_batch_sizes_off_the_counter():
    h = train(tutorial_mlp(), quadratic_data(2000), batch_size=500, epochs=2, lr=0.01)
    rows = epochs.iteration_rows(h)
    assert [r["epoch"] for r in rows] == [1] * 4 + [2] * 4
    assert all(r["batch size"] == 500 for r in rows)
    assert rows[-1]["samples seen"] == 4000
    assert len(epochs.iteration_rows(h, limit=3)) == 3
    h = train(tutorial_mlp(), quadratic_data(1000), batch_size=128, epochs=1)
    assert epochs.iteration_rows(h)[-1]["batch size"] == 104


def test_batch_size_table_for_the_popular_sizes():
    rows = epochs.batch_size_table(1000, [32, 64, 128])
    assert [r["iterations"] for r in rows] == [32, 16, 8]
    assert [r["iterations (drop_last)"] for r in rows] == [31, 15, 7]
    assert [r["last batch"] for r in rows] == [8, 40, 104]
    assert all(r["dropped samples"] == r["last batch"] for r in rows)
    assert (
        epochs.batch_size_table(1000, [100])[0]["dropped samples"] == 0
    )  # divides: nothing dropped
    assert epochs.batch_size_table(1000, [100])[0]["last batch"] == 100


def test_activations_grow_in_proportion_to_batch_size():
    model = tutorial_mlp()
    one = epochs.activation_bytes(model, 1)
    assert epochs.activation_bytes(model, 64) == 64 * one
    assert not any(m._forward_hooks for m in model.modules())  # hooks are removed


def test_epoch_costs_count_updates_and_memory():
    rows = epochs.epoch_costs(tutorial_mlp, quadratic_data(60), [1, 16, "full"], epochs=1)
    assert [r["batch size"] for r in rows] == [1, 16, 60]
    assert [r["iterations per epoch"] for r in rows] == [60, 4, 1]
    kib = [r["activations per update (KiB)"] for r in rows]
    assert kib == sorted(kib) and kib[0] > 0
    assert all(r["ms per epoch"] > 0 for r in rows)


def test_compare_runs_reads_losses_at_matching_iterations():
    data = quadratic_data(100)
    runs = [
        train(tutorial_mlp(), data, batch_size=B, epochs=4, lr=0.01, hooks=[EvaluateEvery(2)])
        for B in [25, 50]
    ]
    rows = epochs.compare_runs(runs, at_iteration=4)
    assert [r["iterations"] for r in rows] == [16, 8]
    assert [r["samples seen"] for r in rows] == [400, 400]
    assert rows[0]["loss after 4 iterations"] == round(runs[0].evals.train_loss[2], 3)
    with pytest.raises(ValueError, match="at_iteration"):
        epochs.compare_runs(runs, at_iteration=3)


def test_axes_comparison_draws_three_labelled_panels():
    data = quadratic_data(50)
    runs = [train(tutorial_mlp(), data, batch_size=B, epochs=2) for B in [10, "full"]]
    fig = epochs.axes_comparison(runs)
    xlabels = [ax.get_xlabel() for ax in fig.axes]
    assert xlabels[0] == "epoch" and "iteration" in xlabels[1] and "samples" in xlabels[2]
    assert all(ax.get_title() for ax in fig.axes)


def test_replacement_statistics_match_the_theory():
    s = epochs.replacement_stats(2000, 50, batches_per_epoch=40, epochs=30, seed=1)
    assert s.draws_per_epoch == 2000
    assert s.unseen_theory == pytest.approx((1 - 1 / 2000) ** 2000)
    assert s.unseen_limit == pytest.approx(1 / math.e)
    assert s.unseen_measured == pytest.approx(s.unseen_theory, abs=0.01)
    assert s.measured.sum() == pytest.approx(1.0)
    assert s.theory.sum() == pytest.approx(1.0, abs=1e-3)
    assert np.abs(s.measured - s.theory).max() < 0.01
    assert len(s.unseen_per_epoch) == 30


def test_more_draws_per_epoch_miss_fewer_samples():
    few = epochs.replacement_stats(500, 10, batches_per_epoch=25, epochs=10)
    many = epochs.replacement_stats(500, 10, batches_per_epoch=100, epochs=10)
    assert many.unseen_measured < few.unseen_measured
    assert many.unseen_theory == pytest.approx(math.exp(-2), abs=0.01)


def test_the_next_iter_trap_does_one_iteration_per_epoch():
    data = quadratic_data(200)
    trap = epochs.next_iter_loop(epochs.make_loader(data, 32), epochs=10)
    right = epochs.full_pass_loop(epochs.make_loader(data, 32), epochs=10)
    assert (trap.iterations, trap.samples_seen) == (10, 320)
    assert (right.iterations, right.samples_seen) == (10 * 7, 2000)
    assert right.distinct_samples == 200 and right.passes == 10
    assert trap.passes == pytest.approx(1.6)
    assert trap.row()["iterations"] == 10


def test_the_trap_at_batch_size_one_samples_with_replacement():
    c = epochs.next_iter_loop(epochs.make_loader(quadratic_data(400), 1, seed=2), epochs=400)
    assert c.samples_seen == 400
    assert 0.55 < c.distinct_samples / 400 < 0.71  # about 1 - 1/e of the data


def test_the_loader_is_seeded():
    data = quadratic_data(100)
    first = [next(iter(epochs.make_loader(data, 10, seed=5)))[0] for _ in range(2)]
    assert torch.equal(first[0], first[1])
    with pytest.raises(ValueError, match="batch_size"):
        epochs.make_loader(data, 0)


def test_tutorial_runs_count_what_the_source_tutorial_did():
    rows = epochs.tutorial_runs(n=1000, epochs=1000, batch_sizes=(1000, 1, 128))
    assert [r["samples seen"] for r in rows] == [1_000_000, 1000, 128_000]
    assert [r["iterations in real epochs"] for r in rows] == [1000, 1_000_000, 8000]
    assert all(r["iterations done"] == 1000 for r in rows)


def test_draw_assignment_labels_axes_and_marks_repeats():
    a = epochs.batch_assignment(20, 6, 3, replacement=True)
    fig = epochs.draw_assignment(a)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "epoch" and "sample index" in ax.get_xlabel()
    assert "with replacement" in ax.get_title() and "iterations" in ax.get_title()
    assert len(ax.collections) >= 1  # the dots of repeated samples
    plain = epochs.draw_assignment(epochs.batch_assignment(20, 6, 3), numbers=True).axes[0]
    assert len(plain.texts) == 60  # one batch number per (epoch, sample)


def test_gallery_shows_the_three_modes():
    fig, modes = epochs.assignment_gallery(n=12, batch_size=5, epochs=2)
    assert list(modes) == ["shuffled", "shuffled, drop_last", "with replacement"]
    assert modes["shuffled, drop_last"].counts()["unseen per epoch"] == 2
    assert len(fig.axes) == 3


def test_the_gallery_numbers_its_cells_at_a_readable_size_or_says_it_cannot():
    fig, _ = epochs.assignment_gallery(n=20, batch_size=6, epochs=3)
    assert problems(fig) == []
    sizes = {t.get_fontsize() for ax in fig.axes for t in ax.texts}
    assert sizes == {MIN_FONT_PT} and len(fig.axes[0].texts) == 60
    wide, _ = epochs.assignment_gallery(n=150, batch_size=6, epochs=3)
    assert problems(wide) == [] and not any(ax.texts for ax in wide.axes)
    assert "no numbers" in wide.get_suptitle()


def test_the_chapters_figures_fit_the_column_with_readable_text():
    runs = [train(tutorial_mlp(), quadratic_data(50), batch_size=B, epochs=2) for B in [10, "full"]]
    for fig in (
        epochs.axes_comparison(runs),
        epochs.draw_replacement(epochs.replacement_stats(200, 10, epochs=3)),
        epochs.explorer_figure(200, 1, 6, False, True),
        epochs.explorer_figure(4, 64, 1, True, False),
    ):
        assert problems(fig) == []


def test_the_comparisons_runs_differ_in_marker_as_well_as_colour():
    runs = [
        train(tutorial_mlp(), quadratic_data(50), batch_size=B, epochs=2) for B in [5, 25, "full"]
    ]
    for ax in epochs.axes_comparison(runs).axes:
        assert len({line.get_marker() for line in ax.lines}) == 3


def test_explorer_state_is_pure_and_clips_the_batch_size():
    a, c = epochs.explorer_state(10, 64, 2, False, False)
    assert c["batch size (B)"] == 10 and c["iterations per epoch"] == 1
    assert epochs.explorer_state(20, 6, 3, True, False)[1]["iterations"] == 9
    assert "no effect" in epochs.explorer_readout(
        n=20, batch_size=6, epochs=3, drop_last=True, replacement=True
    )


def test_the_explorer_is_registered_and_draws_every_sampled_state():
    assert all_explorers()["ch02-batch-explorer"] is epochs.batch_explorer
    ex = epochs.batch_explorer()
    assert ex.state() == {
        "n": 20,
        "batch_size": 6,
        "epochs": 3,
        "drop_last": False,
        "replacement": False,
    }
    for state in ex.sample_states(3):
        assert isinstance(ex.figure(**state), Figure)
    assert ex.png(replacement=True) != ex.png()
    assert "iterations: 12" in ex.readout()


def test_moving_a_slider_redraws_the_live_widget():
    ex = epochs.batch_explorer()
    box = ex.widget()
    image = next(c for c in box.children if hasattr(c, "format"))
    before = image.value
    ex.controls["drop_last"].value = True
    assert image.value != before
    assert "iterations: 9" in box.children[-1].value


def test_the_explorer_says_when_it_draws_a_batch_larger_than_the_data():
    """The sliders allow B > N: the readout names what is drawn instead, never silently."""
    said = epochs.explorer_readout(n=20, batch_size=64, epochs=3, drop_last=True, replacement=False)
    assert "B = 64 > N = 20: drawn as one batch of all 20" in said and "no batch at all" in said
    fits = epochs.explorer_readout(n=20, batch_size=6, epochs=3, drop_last=True, replacement=False)
    assert "> N" not in fits


# --- the explorer's readout and title tell the truth about its picture ---------------------------


def _explorer_states(explorer, random_states: int = 20, seed: int = 0) -> list[dict]:
    """The start, every control at both ends of its range (the others at the start), and
    ``random_states`` seeded random combinations of every control's allowed values."""
    import random

    from gdlessons.display.frames import control_values

    values = {name: control_values(control)[0] for name, control in explorer.controls.items()}
    start = explorer.initial
    states = [start]
    for name, allowed in values.items():
        states += [{**start, name: allowed[0]}, {**start, name: allowed[-1]}]
    rng = random.Random(seed)
    states += [{n: rng.choice(v) for n, v in values.items()} for _ in range(random_states)]
    return states


def _sizes(text: str) -> list[int]:
    """The batch sizes a title writes as "3×6 + 2", "4×6" or "[6, 5, 5]"."""
    import re

    if text.startswith("["):
        return [int(v) for v in re.findall(r"\d+", text)]
    sizes = []
    for part in text.split(" + "):
        count, _, size = part.partition("×")
        sizes += [int(size)] * int(count) if size else [int(count)]
    return sizes


def _number(pattern: str, text: str) -> float:
    import re

    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return float(found.group(1))


def _what_the_picture_shows(fig) -> dict:
    """Counts read off the explorer's artists: cells per epoch row, each cell's batch (its
    colour's place in the key, -1 for white), the key's batches and ticks, the dots."""
    from matplotlib.collections import PathCollection, QuadMesh

    ax, key = fig.axes
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    cells = (np.asarray(mesh.get_array()) * 255).astype(np.uint8)  # as the key's bytes
    rows, columns = mesh.get_coordinates().shape[0] - 1, mesh.get_coordinates().shape[1] - 1
    key_colours = [tuple(c) for c in np.asarray(key.images[0].get_array())[:, 0]]
    white = (255, 255, 255, 255)
    assert white not in key_colours
    batch = np.array([[-1 if tuple(c) == white else key_colours.index(tuple(c)) for c in row]
                      for row in cells])  # fmt: skip
    (dots,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    return {
        "rows": rows,
        "columns": columns,
        "batch": batch,
        "key batches": len(key_colours),
        "key ticks": [int(t) for t in key.get_yticks()],
        "key ylim": key.get_ylim(),
        "xlim": ax.get_xlim(),
        "epoch ticks": [int(t) for t in ax.get_yticks()],
        "dots": len(dots.get_offsets()),
        "xlabel": ax.get_xlabel(),
        "shown xlabel": [t.get_text() for t in ax.texts if t.get_visible()],
    }


def _check_the_explorer_tells_the_truth(explorer, state: dict) -> None:
    explorer.png(**state)  # drawn as the live widget draws it
    fig = explorer.figure(**state)
    shown = _what_the_picture_shows(fig)
    readout = explorer.readout(**state)
    title = fig.axes[0].get_title()
    where = f"at {state}:\n{title}\n{readout}"
    line1, line2 = title.split("\n")
    import re

    head = re.fullmatch(
        r"N=(\d+), B=(\d+)(?: \(asked (\d+) > N\))?, (shuffled, drop_last|shuffled|with replacement): "
        r"(\d+) iterations?/epoch of sizes (.+)",
        line1,
    )
    counts = re.fullmatch(
        r"(\d+) epochs?: (\d+) iterations?, (\d+) samples seen; per epoch (\S+) unseen, (\S+) used 2\+ times",
        line2,
    )
    assert head and counts, where
    n, b, asked, mode, k, sizes = head.groups()
    n, b, k, sizes = int(n), int(b), int(k), _sizes(sizes)
    n_epochs, iterations, seen = (int(v) for v in counts.groups()[:3])
    unseen, repeated = (float(v) for v in counts.groups()[3:])
    # The settings: the title, the readout and the sliders agree, B drawn as at most N
    assert n == _number(r"samples \(N\): (\d+)", readout) == state["n"], where
    assert b == _number(r"batch size \(B\): (\d+)", readout) == min(state["batch_size"], n), where
    assert n_epochs == _number(r"\bepochs: (\d+)", readout) == state["epochs"], where
    if state["batch_size"] > n:  # asked for more than the data holds: named on the picture
        assert int(asked) == state["batch_size"], where
        assert f"B = {state['batch_size']} > N = {n}: drawn as one batch of all {n}" in readout
    else:
        assert asked is None and "> N" not in readout, where
    assert mode == ("with replacement" if state["replacement"] else
                    "shuffled, drop_last" if state["drop_last"] else "shuffled"), where  # fmt: skip
    assert ("no effect with replacement" in readout) == (
        state["drop_last"] and state["replacement"]
    )
    # The counts: the title's and the readout's, and what they follow from
    assert k == _number(r"iterations per epoch: (\d+)", readout) == len(sizes), where
    assert iterations == _number(r"\biterations: (\d+)", readout) == k * n_epochs, where
    assert seen == _number(r"samples seen: (\d+)", readout) == n_epochs * sum(sizes), where
    assert sizes[-1] == _number(r"last batch size: (\d+)", readout), where
    assert all(size == b for size in sizes[:-1]) and 0 < sizes[-1] <= b, where
    readout_unseen = _number(r"unseen per epoch: ([\d.]+)", readout)
    readout_repeated = _number(r"repeated per epoch: ([\d.]+)", readout)
    assert unseen == float(f"{readout_unseen:.3g}") and repeated == float(f"{readout_repeated:.3g}")
    # The picture: one row per epoch, one cell per sample, one key entry per batch of an epoch
    assert (shown["rows"], shown["columns"]) == (n_epochs, n), where
    assert shown["xlim"] == (-0.5, n - 0.5), where
    assert shown["epoch ticks"] == list(range(1, n_epochs + 1)), where
    assert shown["key batches"] == k and shown["key ylim"] == (k + 0.5, 0.5), where
    assert shown["key ticks"] == (
        list(range(1, k + 1)) if k <= 10 else sorted({1, (k + 1) // 2, k})
    )
    batch = shown["batch"]
    assert readout_unseen == round(float((batch < 0).sum(axis=1).mean()), 2), where
    assert shown["dots"] == round(readout_repeated * n_epochs), where
    if state["replacement"]:
        assert "dot = used 2+ times" in shown["xlabel"], where
    else:  # every sample used at most once: the cells of a batch are its samples
        assert shown["dots"] == 0 and "dot" not in shown["xlabel"], where
        for row in batch:
            assert sorted(np.bincount(row[row >= 0], minlength=k), reverse=True) == sorted(
                sizes, reverse=True
            ), where
    assert shown["shown xlabel"] == [shown["xlabel"]], where  # the label shown is the axis' own


def test_the_explorers_readout_and_title_agree_with_its_picture_at_every_sampled_state():
    explorer = epochs.batch_explorer()
    explorer.check_backgrounds = True
    states = _explorer_states(explorer, random_states=20, seed=0)
    assert len(states) == 31
    for state in states:
        _check_the_explorer_tells_the_truth(explorer, state)


def test_a_batch_larger_than_the_data_is_named_on_the_picture():
    """The sliders allow B > N (its range does not follow N): the title says what was asked."""
    explorer = epochs.batch_explorer()
    for state in ({"n": 20, "batch_size": 64}, {"n": 4, "batch_size": 5, "drop_last": True}):
        _check_the_explorer_tells_the_truth(explorer, {**explorer.initial, **state})
        assert f"(asked {state['batch_size']} > N)" in explorer.figure(**state).axes[0].get_title()


def test_compare_runs_refuses_to_compare_after_zero_updates():
    # EvaluateEvery(k) with k above the full-batch run's 3 updates: the runs share only the
    # evaluation before training, where every loss is the same; comparing there says nothing.
    data = quadratic_data(60)
    runs = [
        train(tutorial_mlp(), data, batch_size=B, epochs=3, lr=0.01, hooks=[EvaluateEvery(7)])
        for B in [20, "full"]
    ]
    with pytest.raises(ValueError, match=r"after the start.*3 updates.*EvaluateEvery\(k\)"):
        epochs.compare_runs(runs)
    with pytest.raises(ValueError, match="at_iteration"):
        epochs.compare_runs(runs, at_iteration=0)
    evaluated = [
        train(tutorial_mlp(), data, batch_size=B, epochs=3, lr=0.01, hooks=[EvaluateEvery(3)])
        for B in [20, "full"]
    ]
    assert "loss after 3 iterations" in epochs.compare_runs(evaluated)[0]
