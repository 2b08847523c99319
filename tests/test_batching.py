"""BatchIterator and iterations_per_epoch: every sample once per epoch, sizes as promised, seeded."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlessons.batching import BatchIterator, iterations_per_epoch

FAST = settings(max_examples=60, deadline=None)


@st.composite
def sizes(draw):
    n = draw(st.integers(1, 300))
    return n, draw(st.integers(1, n))


def batches_of(iterator: BatchIterator) -> list[list[int]]:
    """One epoch of batches as lists of sample indices (the iterator runs over arange(n))."""
    return [b[0].tolist() for b in iterator]


@FAST
@given(sizes(), st.booleans(), st.integers(0, 2**31 - 1))
def test_every_sample_exactly_once_per_epoch(nb, shuffle, seed):
    n, B = nb
    it = BatchIterator(torch.arange(n), batch_size=B, shuffle=shuffle, seed=seed)
    for _ in range(2):  # each epoch, not only the first
        batches = batches_of(it)
        assert sorted(i for b in batches for i in b) == list(range(n))
        assert [len(b) for b in batches[:-1]] == [B] * (len(batches) - 1)
        assert len(batches[-1]) == n - (len(batches) - 1) * B
        assert len(batches) == len(it) == iterations_per_epoch(n, B) == math.ceil(n / B)


@FAST
@given(sizes(), st.booleans(), st.integers(0, 2**31 - 1))
def test_drop_last_gives_full_batches_and_drops_only_the_remainder(nb, shuffle, seed):
    n, B = nb
    it = BatchIterator(torch.arange(n), batch_size=B, shuffle=shuffle, drop_last=True, seed=seed)
    batches = batches_of(it)
    seen = [i for b in batches for i in b]
    assert all(len(b) == B for b in batches)
    assert len(batches) == len(it) == iterations_per_epoch(n, B, drop_last=True) == n // B
    assert len(set(seen)) == len(seen) == n - n % B
    assert set(seen) <= set(range(n))


def _twins(nb, shuffle, drop_last, replacement, seed):
    """Two batch iterators made alike over ``range(n)``."""
    n, B = nb
    kw = dict(
        batch_size=B, shuffle=shuffle, drop_last=drop_last, replacement=replacement, seed=seed
    )
    return BatchIterator(torch.arange(n), **kw), BatchIterator(torch.arange(n), **kw)


@FAST
@given(sizes(), st.booleans(), st.booleans(), st.booleans(), st.integers(0, 2**31 - 1))
def test_same_seed_same_batches(nb, shuffle, drop_last, replacement, seed):
    a, b = _twins(nb, shuffle, drop_last, replacement, seed)
    for _ in range(3):
        assert batches_of(a) == batches_of(b)


@FAST
@given(sizes(), st.booleans(), st.booleans(), st.booleans(), st.integers(0, 2**31 - 1))
def test_epoch_indices_are_the_batches_iter_yields(nb, shuffle, drop_last, replacement, seed):
    """A hand-written loop may index with epoch_indices() and see the same order as train()."""
    a, b = _twins(nb, shuffle, drop_last, replacement, seed)
    for _ in range(2):
        assert [idx.tolist() for idx in a.epoch_indices()] == batches_of(b)


@FAST
@given(sizes(), st.integers(1, 50), st.integers(0, 2**31 - 1))
def test_replacement_draws_batches_per_epoch_full_batches(nb, per_epoch, seed):
    n, B = nb
    it = BatchIterator(
        torch.arange(n), batch_size=B, replacement=True, batches_per_epoch=per_epoch, seed=seed
    )
    batches = batches_of(it)
    assert len(batches) == len(it) == per_epoch
    assert all(len(b) == B and all(0 <= i < n for i in b) for b in batches)


def test_replacement_defaults_to_one_epochs_worth_of_batches_and_repeats_samples():
    it = BatchIterator(torch.arange(100), batch_size=10, replacement=True, seed=0)
    assert len(it) == 10
    drawn = [i for b in batches_of(it) for i in b]
    assert len(drawn) == 100 and len(set(drawn)) < 100  # with replacement some samples repeat


def test_shuffle_changes_order_between_epochs_and_seeds():
    a = BatchIterator(torch.arange(50), batch_size=10, seed=0)
    assert batches_of(a) != batches_of(a)
    b = BatchIterator(torch.arange(50), batch_size=10, seed=1)
    assert batches_of(BatchIterator(torch.arange(50), batch_size=10, seed=0)) != batches_of(b)


def test_one_batch_of_everything_is_not_shuffled():
    """Batch gradient descent: the order could change only rounding, so it is kept."""
    X = torch.arange(50)
    full = BatchIterator(X, batch_size=50, seed=0)
    assert batches_of(full) == [list(range(50))] and [i.tolist() for i in full.epoch_indices()] == [
        list(range(50))
    ]
    # ...but with drop_last a batch of 30 from 50 still shuffles which samples it keeps
    kept = BatchIterator(X, batch_size=30, drop_last=True, seed=0)
    assert len(kept) == 1 and batches_of(kept) != batches_of(kept)


def test_all_tensors_stay_aligned():
    X = torch.arange(20.0).reshape(10, 2)
    y = torch.arange(10)
    for xb, yb in BatchIterator(X, y, batch_size=3, seed=4):
        assert torch.equal(xb[:, 0], 2.0 * yb)


def test_unshuffled_batches_are_views_in_order():
    X = torch.arange(7.0)
    batches = [b[0] for b in BatchIterator(X, batch_size=3, shuffle=False)]
    assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert all(b.data_ptr() >= X.data_ptr() for b in batches)  # slices, no copies


@pytest.mark.parametrize(
    ("n", "B", "drop_last", "expected"),
    [(2000, 500, False, 4), (1000, 1, False, 1000), (1000, 1000, False, 1), (10, 4, False, 3),
     (10, 4, True, 2), (1797, 64, False, 29), (1797, 64, True, 28), (5, 5, True, 1)],
)  # fmt: skip
def test_iterations_per_epoch(n, B, drop_last, expected):
    assert iterations_per_epoch(n, B, drop_last) == expected


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        (dict(n=0, batch_size=1), ValueError, "n"),
        (dict(n=10, batch_size=0), ValueError, "batch_size"),
        (dict(n=10, batch_size=11), ValueError, "batch_size"),
        (dict(n=10, batch_size=2.0), TypeError, "batch_size"),
        (dict(n=10.0, batch_size=2), TypeError, "n"),
    ],
)
def test_iterations_per_epoch_rejects_bad_sizes(kwargs, error, name):
    with pytest.raises(error, match=name):
        iterations_per_epoch(**kwargs)


@pytest.mark.parametrize(
    ("tensors", "kwargs", "error", "pattern"),
    [
        ((torch.zeros(10),), dict(batch_size=0), ValueError, "batch_size must be between 1 and 10, got 0"),
        ((torch.zeros(10),), dict(batch_size=11), ValueError, "batch_size must be between 1 and 10, got 11"),
        ((torch.zeros(10),), dict(batch_size=2.5), TypeError, "batch_size must be an integer, got 2.5"),
        ((torch.zeros(10),), dict(batch_size=True), TypeError, "batch_size must be an integer"),
        ((torch.zeros(10), torch.zeros(9)), dict(batch_size=2), ValueError, "same length"),
        ((torch.zeros(0),), dict(batch_size=1), ValueError, "empty"),
        ((), dict(batch_size=1), ValueError, "at least one tensor"),
        ((torch.zeros(10),), dict(batch_size=2, batches_per_epoch=3), ValueError, "batches_per_epoch"),
        ((torch.zeros(10),), dict(batch_size=2, replacement=True, batches_per_epoch=0), ValueError,
         "batches_per_epoch"),
        ((torch.zeros(10),), dict(batch_size=2, seed=-1), ValueError, "seed"),
    ],
)  # fmt: skip
def test_batch_iterator_rejects_bad_arguments(tensors, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        BatchIterator(*tensors, **kwargs)
