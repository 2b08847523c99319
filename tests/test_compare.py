"""compare(): bit for bit and how far apart, for every kind of result the chapters compare."""

import math

import pytest
import torch

from gdlessons.compare import compare, over_updates
from gdlessons.models import LinearModel


def test_equality_and_the_largest_gap():
    assert compare([1.0, 2.0], [1.0, 2.0]).equal
    c = compare({"w": torch.ones(2)}, {"w": torch.tensor([1.0, 1.5])})
    assert not c and c.max_difference == 0.5 and "False" in repr(c)
    assert compare(LinearModel(1.0, 2.0), LinearModel(1.0, 2.0)).equal


def test_shapes_or_dtypes_that_differ_are_not_equal():
    different = compare(torch.ones(2), torch.ones(3))
    assert not different and different.max_difference == math.inf and not different.close()
    assert not compare(torch.ones(1, dtype=torch.float64), torch.ones(1)).equal


def test_close_is_within_rounding_of_the_reference_size():
    c = compare(torch.tensor([1.0, 1.0 + 1e-7]), torch.tensor([1.0, 1.0]))
    assert not c.equal and c.close() and c.cosine == pytest.approx(1.0)
    assert not compare(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])).close()
    assert compare([1000.0], [1000.001]).close() and not compare([1.0], [1.001]).close()


def test_norms_and_angle():
    c = compare(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 0.0]))
    assert (c.norm_ratio, c.cosine, c.relative_error) == (2.0, 1.0, 1.0)
    assert compare(torch.zeros(2), torch.zeros(2)).relative_error == 0.0
    assert compare(torch.ones(2), torch.zeros(2)).norm_ratio == math.inf


def test_a_non_finite_difference_is_the_largest():
    assert compare([float("nan"), 1.0], [1.0, 1.0]).max_difference == math.inf


def test_runs_compared_after_every_update():
    run = over_updates([compare([1.0], [1.0]), compare([2.0], [2.5]), compare([3.0], [3.0])])
    assert (run.updates, run.equal_updates, run.max_difference) == (3, 2, 0.5)
    assert not run and "after 2 of 3 updates" in repr(run)
    assert over_updates([compare([1.0], [1.0])]).equal
