"""The loop benchmark's lower bound does train()'s work, and its collection log counts."""

from __future__ import annotations

import gc
import time

import loop
import torch

from gdlessons.data import quadratic_data
from gdlessons.models import tutorial_mlp
from gdlessons.training import train


def test_the_shuffled_bare_loop_is_train_without_bookkeeping():
    """Same permutation, same gathers, same slices, same updates: the same parameters."""
    X, y = quadratic_data(100).tensors()
    reference = tutorial_mlp(seed=0)
    train(reference, (X, y), batch_size=32, epochs=3, lr=0.01, seed=5)
    bare = tutorial_mlp(seed=0)
    opt = torch.optim.SGD(bare.parameters(), lr=0.01)
    done = loop.bare_epochs(bare, opt, X, y, 32, 3, torch.Generator().manual_seed(5))
    assert done == 3 * 4
    for p, q in zip(bare.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)


def test_chunks_are_whole_epochs_over_all_samples():
    for batch_size in loop.BATCH_SIZES:
        epochs = loop.epochs_per_chunk(1000, batch_size)
        iterations = epochs * -(-1000 // batch_size)
        assert iterations >= loop.MIN_ITERATIONS
        assert (epochs - 1) * -(-1000 // batch_size) < loop.MIN_ITERATIONS  # no more than needed


def test_every_loop_runs_the_planned_iterations():
    X, y = quadratic_data(64).tensors()
    loops = loop.make_loops(X, y, batch_size=16, epochs=2)
    assert {name: fn() for name, fn in loops.items()} == dict.fromkeys(loop.NAMES, 8)


def test_full_collections_are_charged_to_the_running_loop():
    log = loop.CollectionLog(time.thread_time)
    gc.callbacks.append(log)
    try:
        log.current = "1000/dataloader"
        gc.collect()
        log.current = None
        gc.collect()  # nothing running: not charged
    finally:
        gc.callbacks.remove(log)
    assert log.count == {"1000/dataloader": 1}
    assert log.seconds["1000/dataloader"] > 0.0  # the collection was timed
