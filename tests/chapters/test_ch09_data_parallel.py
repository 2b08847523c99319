"""Data parallelism for real: W gloo workers equal one big batch and W accumulated micro-batches."""

import os
from pathlib import Path

import pytest
import torch

from gdlessons.chapters.ch09_data_parallel import (
    compare,
    global_batches,
    padding_report,
    run_data_parallel,
    run_or_stored,
    shard_indices,
    single_process_references,
)  # fmt: skip

SMALL = dict(n=64, batch_size=8, epochs=2, lr=0.01)


def children() -> list[int]:
    """Live processes whose parent is this one (the resource tracker excepted)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if (
            int(fields[1]) == os.getpid()
            and fields[0] != "Z"
            and b"resource_tracker" not in cmdline
        ):
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


def test_two_workers_equal_the_big_batch_and_accumulation():
    run = run_data_parallel(2, **SMALL)
    assert run.workers_agree
    rows = compare(run, single_process_references(2, **SMALL))
    assert [r["compared with"] for r in rows] == ["one big batch", "accumulation"]
    assert all(r["equal within 1e-6"] for r in rows), rows
    # and it really trained: parameters moved from their start
    from gdlessons.models import tutorial_mlp

    start = tutorial_mlp(seed=0).state_dict()
    assert any(not torch.equal(start[k], v) for k, v in run.tensors().items())


def test_a_failing_worker_is_reported_and_leaves_no_process_behind():
    before = set(children())
    with pytest.raises(Exception, match="failed on purpose"):
        run_data_parallel(2, fail_rank=1, **SMALL)
    assert set(children()) - before == set()


def test_stored_results_when_processes_cannot_start():
    runs, source = run_or_stored((1, 2), force_stored=True)
    assert [r.world_size for r in runs] == [1, 2] and "stored results" in source


@pytest.mark.parametrize(("kwargs", "name"), [({"world_size": 0}, "world_size"), ({"batch_size": 0}, "batch_size"),
                                              ({"lr": -1.0}, "lr"), ({"momentum": 1.0}, "momentum")])  # fmt: skip
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        run_data_parallel(**{"world_size": 2, **kwargs})
