"""Data parallelism for real: W gloo workers equal one big batch and W accumulated micro-batches,
and however the workers fail, the run ends cleanly and says why."""

import json
import os
import re
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gdlessons.chapters.ch09_data_parallel import (
    STORED,
    ParallelRun,
    WorkersFailed,
    _reason,
    check_parameters,
    compare,
    draw_epoch_times,
    draw_shards,
    equivalence_rows,
    global_batches,
    padding_report,
    run_data_parallel,
    run_or_stored,
    shard_explorer,
    shard_indices,
    single_process_references,
)  # fmt: skip
from tests.explorer_states import sampled_states

SMALL = dict(n=64, batch_size=8, epochs=2, lr=0.01)


def children() -> list[int]:
    """Live processes whose parent is this one."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_shards_cover_every_sample_once_when_w_divides_n():
    shards = shard_indices(12, 3, 0)
    assert sorted(i for s in shards for i in s) == list(range(12))
    assert shard_indices(12, 3, 0) != shard_indices(12, 3, 1)  # set_epoch reshuffles


def test_padding_repeats_samples():
    assert padding_report(1001, 2)["duplicated"] == 1
    assert padding_report(1000, 3) == {"N": 1000, "W": 3, "per worker": 334, "samples processed": 1002,
                                       "duplicated": 2, "missing": 0}  # fmt: skip


def test_global_batches_split_back_into_the_workers_slices():
    shards = shard_indices(20, 2, 0)
    first = global_batches(20, 2, 3, 0)[0]
    assert first.tolist() == shards[0][:3] + shards[1][:3]


def test_the_story_hands_its_students_functions_to_the_counts_and_the_references():
    """The notebook's padding table counts the shards its `worker_shard` deals out, and the
    references train on the global batches its `global_batch` makes; a function that is not one
    is named."""
    calls = []

    def worker_shard(n, world_size, rank, epoch, seed, shuffle, drop_last):
        calls.append(rank)
        return shard_indices(n, world_size, epoch, seed=seed)[rank]

    assert padding_report(1000, 3, shard=worker_shard) == padding_report(1000, 3)
    assert calls == [0, 1, 2]

    def reversed_ranks(shards, iteration, batch_size):  # a different global batch, to be seen
        start = iteration * batch_size
        return [i for shard in shards[::-1] for i in shard[start : start + batch_size]]

    mine = global_batches(20, 2, 3, 0, make=reversed_ranks)
    assert [b.tolist() for b in mine] != [b.tolist() for b in global_batches(20, 2, 3, 0)]
    assert mine[0].dtype == torch.long and len(mine) == 4  # 10 per worker: 3 + 3 + 3 + 1
    with pytest.raises(TypeError, match="shard must be a function"):
        padding_report(10, 2, shard=[0, 1])
    with pytest.raises(TypeError, match="make must be a function"):
        single_process_references(2, n=20, batch_size=3, epochs=1, make="global_batch")


@pytest.mark.slow
def test_two_workers_equal_the_big_batch_and_accumulation():
    before = set(children())
    run = run_data_parallel(2, **SMALL)
    assert run.workers_agree and run.settings["n"] == 64
    rows = compare(run, single_process_references(2, **SMALL))
    assert [r["compared with"] for r in rows] == ["one big batch", "accumulation"]
    assert all(r["equal within 1e-6"] for r in rows), rows
    # and it really trained: parameters moved from their start
    from gdlessons.models import tutorial_mlp

    start = tutorial_mlp(seed=0).state_dict()
    assert any(not torch.equal(start[k], v) for k, v in run.tensors().items())
    assert set(children()) - before == set()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("world_size", "config"),
    [(3, dict(n=50, batch_size=7, epochs=1, seed=5)),  # W does not divide N: padding
     (4, dict(n=9, batch_size=3, epochs=2, seed=1)),  # a batch as large as a worker's shard
     (1, dict(n=2, batch_size=1, epochs=1, seed=2))],  # the smallest data
)  # fmt: skip
def test_odd_sizes_still_equal_the_references(world_size, config):
    with pytest.raises(ValueError, match="batch_size must be between 1 and 3"):
        run_data_parallel(4, n=9, batch_size=4, epochs=1)  # larger than a worker's shard of 3
    run = run_data_parallel(world_size, **config)
    assert run.world_size == world_size and len(run.epoch_seconds) == config["epochs"]
    if world_size > 1:
        assert all(r["equal within 1e-6"] for r in equivalence_rows([run]))


@pytest.mark.slow
@pytest.mark.parametrize(("fail_with", "reason"), [("exception", "worker 1 raised RuntimeError: worker 1 failed on purpose"),
                                                   ("abort", "worker 1 was killed by SIGABRT")])  # fmt: skip
def test_a_failing_worker_is_reported_and_leaves_no_process_behind(fail_with, reason):
    before = set(children())
    with pytest.raises(WorkersFailed, match=reason):
        run_data_parallel(2, fail_rank=1, fail_with=fail_with, **SMALL)
    assert set(children()) - before == set()


@pytest.mark.parametrize("reported", [0, 1])  # which worker PyTorch happened to see first
@pytest.mark.parametrize(("codes", "errors", "reason"), [
    ([1, -6], {0: "RuntimeError: [pair.cc:553] Connection closed by peer"}, "worker 1 was killed by SIGABRT"),
    ([1, 1], {0: "RuntimeError: Connection closed by peer", 1: "RuntimeError: on purpose"},
     "worker 1 raised RuntimeError: on purpose"),
    ([-15, 1], {1: "ValueError: bad"}, "worker 1 raised ValueError: bad"),  # 0 ended by the launcher
])  # fmt: skip
def test_the_cause_is_reported_not_its_echo_in_the_other_workers(
    tmp_path, reported, codes, errors, reason
):
    for index, text in errors.items():
        (tmp_path / f"error-{index}.txt").write_text(text)
    failure = SimpleNamespace(error_index=reported)
    processes = [SimpleNamespace(exitcode=code) for code in codes]
    assert _reason(failure, tmp_path, processes) == reason


@pytest.mark.slow
def test_a_run_that_takes_too_long_is_ended():
    before = set(children())
    start = time.monotonic()
    with pytest.raises(WorkersFailed, match="did not finish within 0.5 s"):
        run_data_parallel(2, n=20_000, epochs=50, timeout=0.5)
    assert time.monotonic() - start < 60
    assert set(children()) - before == set()


@pytest.mark.slow
def test_a_crash_falls_back_to_the_stored_results_and_says_why():
    runs, source = run_or_stored((2, 3), fail_rank=1, fail_with="abort", **SMALL)
    assert [r.world_size for r in runs] == [2, 3]
    assert "stored results" in source and "worker 1 was killed by SIGABRT" in source


def test_stored_results_cover_every_legal_world_size():
    runs, source = run_or_stored((1, 2, 3, 4), force_stored=True)
    assert [r.world_size for r in runs] == [1, 2, 3, 4] and "stored results" in source
    stored = json.loads(STORED.read_text())
    assert all(r.settings == {k: stored["config"][k] for k in r.settings} for r in runs)


@pytest.mark.slow
def test_stored_results_equal_their_references():
    runs, _ = run_or_stored((2, 3), force_stored=True)
    assert all(r["equal within 1e-6"] for r in equivalence_rows(runs))


def test_launching_fails_cleanly_when_the_launcher_cannot_start(monkeypatch):
    import subprocess

    def cannot_start(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(subprocess, "Popen", cannot_start)
    with pytest.raises(WorkersFailed, match="could not start the launcher process"):
        run_data_parallel(2, **SMALL)
    runs, source = run_or_stored((2,), **SMALL)
    assert [r.world_size for r in runs] == [2] and "Resource temporarily unavailable" in source


@pytest.mark.parametrize(("kwargs", "name"), [({"world_size": 0}, "world_size"), ({"world_size": 5}, "world_size"),
                                              ({"batch_size": 0}, "batch_size"), ({"lr": -1.0}, "lr"),
                                              ({"momentum": 1.0}, "momentum"), ({"n": 1}, "n"),
                                              ({"fail_rank": 2}, "fail_rank"), ({"timeout": 0}, "timeout")])  # fmt: skip
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        run_data_parallel(**{"world_size": 2, **kwargs})


@pytest.mark.parametrize(("changes", "message"), [({"world_sizes": [1, 5]}, "from 1 to 4"),
                                                  ({"world_sizes": [2, 2]}, "distinct"),
                                                  ({"world_sizes": []}, "distinct"),
                                                  ({"world_sizes": 2}, "list of distinct integers"),
                                                  ({"world_sizes": [1.5]}, "from 1 to 4"),
                                                  ({"n": 3}, r"n must be at least the largest world size \(4\)"),
                                                  ({"epochs": 0}, "epochs"), ({"seed": -1}, "seed")])  # fmt: skip
def test_the_notebook_parameters_are_checked_together(changes, message):
    params = dict(seed=0, n=1000, batch_size=32, epochs=3, lr=0.01, world_sizes=[1, 2, 4])
    with pytest.raises((ValueError, TypeError), match=message):
        check_parameters(**{**params, **changes})


def test_bad_world_sizes_do_not_fall_back_silently():
    with pytest.raises(ValueError, match="world_sizes"):
        run_or_stored((0, 2), force_stored=True)


def test_shard_picture_has_a_legend_for_its_colours():
    ax = draw_shards(48, 2, 4).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        f"batch {j}" for j in range(1, 7)
    ]
    many = draw_shards(120, 1, 1).axes[0].get_legend().get_texts()
    assert len(many) == 8 and many[-1].get_text() == "… to batch 120"


def test_epoch_times_figure_names_its_marks():
    run = ParallelRun(1, 32, 2, {}, [0.2, 0.2], 1.0, True, n=1000, lr=0.01, momentum=0.0, seed=0)
    runs = [run, ParallelRun(**{**run.__dict__, "world_size": 2, "epoch_seconds": [0.3, 0.3]})]
    ax = draw_epoch_times(runs).axes[0]
    assert len(ax.get_legend().get_texts()) == 2
    assert "step" not in ax.get_xlabel() and "iteration" in ax.get_xlabel()


def test_explorer_starts_where_it_is_told():
    assert shard_explorer(n=49, world_size=3, batch_size=4).state() == {
        "n": 49,
        "world_size": 3,
        "batch_size": 4,
    }


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("GDLESSONS_STRESS"),
    reason="opt-in stress test: GDLESSONS_STRESS=30 runs the chapter's distributed part 30 times",
)
def test_the_distributed_part_runs_many_times_in_a_row():
    rounds = int(os.environ["GDLESSONS_STRESS"])
    before = set(children())
    for i in range(rounds):
        for world_size in (1, 2, 4):  # the chapter's defaults
            start = time.perf_counter()
            try:
                run = run_data_parallel(world_size)
            except WorkersFailed as exc:
                pytest.fail(f"round {i + 1}, W={world_size}: {exc}\n{exc.log}")
            assert run.workers_agree, (i, world_size)
            print(
                f"round {i + 1}/{rounds} W={world_size}: {time.perf_counter() - start:.1f} s",
                flush=True,
            )
        assert set(children()) - before == set(), f"processes left behind after round {i + 1}"


SHARD_TITLE = re.compile(
    r"^DistributedSampler: N=(\d+) samples over W=(\d+) workers, batch (\d+) each$"
)
SHARD_READOUT = re.compile(
    r"^effective batch W·b = (\d+)\n"
    r"(\d+) samples per worker per epoch, (\d+) iterations per epoch\n"
    r"padded \(repeated\) samples: (\d+)"
    r"(?:\n\(batch / worker (\d+) is above the shard of (\d+): each worker's one batch is its "
    r"whole shard\))?$"
)


def test_shard_explorer_readout_title_and_legend_tell_what_is_drawn():
    """Per sampled state (every control at both ends, 20 random ones; the start has N = 49 over
    W = 3, so samples are padded): the title's N and W are the state's, and its batch b is the
    slider's, or the shard where the slider asks for more, which the readout and the legend then
    say; the cells drawn are N columns by one row per (epoch, worker), each row holding the
    samples per worker the readout states, in the iterations per epoch it states (each batch b
    samples, the last one at most b); W·b is the readout's effective batch; per epoch, the
    samples drawn twice are the readout's padded ones and none is missing; the legend names the
    drawn batches in their colours and, like the title, fits in the figure."""
    explorer = shard_explorer(n=49, world_size=3, batch_size=4)
    explorer.check_backgrounds = True
    picture = explorer.draw.__self__
    for state in sampled_states(explorer):
        assert explorer.png(**state).startswith(b"\x89PNG")
        fig, where = explorer.figure(**state), f"at {state}"
        ax = fig.axes[0]
        n, w, b = map(int, SHARD_TITLE.match(ax.get_title()).groups())
        assert (n, w) == (state["n"], state["world_size"]), where
        said = SHARD_READOUT.match(explorer.readout(**state))
        assert said, (where, explorer.readout(**state))
        effective, per_worker, iterations, padded = map(int, said.groups()[:4])
        assert effective == w * b, where
        labels = [label for label, _ in picture.legend_entries()]
        if said.group(5) is not None:  # the slider asked for more than the shard
            asked, shard = int(said.group(5)), int(said.group(6))
            assert asked == state["batch_size"] > shard == per_worker == b, where
            assert labels == [f"batch 1 = the\nwhole shard\n({asked} asked)"], where
        else:
            assert b == state["batch_size"] <= per_worker, where
            shown = [f"batch {j + 1}" for j in range(min(iterations, 8))]
            if iterations > 8:
                shown[-1] = f"… to batch {iterations}"
            assert labels == shown, where
        # the cells in view: N columns, 2 epochs × W rows
        assert ax.get_xlim() == (-0.5, n - 0.5) and ax.get_ylim() == (2 * w - 0.5, -0.5), where
        assert picture.ticks.get_xlim() == ax.get_xlim(), where  # the x ticks drawn are N's
        assert [t.get_text() for t in ax.get_yticklabels()] == [
            f"epoch {e}, worker {r}" for e in (1, 2) for r in range(w)
        ], where
        mesh = ax.collections[0]
        cells = mesh.get_array().reshape(picture.cells.shape)
        assert cells[2 * w :].mask.all() and cells[:, n:].mask.all(), where  # nothing out of view
        drawn = cells[: 2 * w, :n]
        for row in drawn:
            batches = row.compressed().astype(int)
            assert len(batches) == per_worker, where
            counts = np.bincount(batches)
            assert len(counts) == iterations, where
            assert (counts[:-1] == b).all() and 0 < counts[-1] <= b, where
        for epoch in drawn.reshape(2, w, n):
            covered = (~epoch.mask).sum(axis=0)
            assert covered.min() >= 1 and int((covered - 1).sum()) == padded, where
        # each legend entry shows its batch's colour in the cells
        for j, (label, colour) in enumerate(picture.legend_entries()):
            if not label.startswith("…"):
                assert colour == tuple(mesh.cmap(mesh.norm(j))), where
        renderer = fig.canvas.get_renderer()
        for artist in (ax.get_legend(), ax.title):
            box = artist.get_window_extent(renderer)
            assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1, (where, artist)
