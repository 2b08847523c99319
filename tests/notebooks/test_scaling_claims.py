"""Every scaling law a chapter's text states, fitted to the chapter's own numbers.

A sentence such as "the activations grow in proportion to B" or "the variance falls like 1/B" is
a claim about an exponent. Each test below computes the arrays the chapter computes (with its
own functions, at its own settings) and fits the exponent on log-log axes; the sentence it
backs is quoted. A law that held only at the rendered values, or a formula copied wrong into
the text, fails here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from gdlessons.data import quadratic_data
from gdlessons.models import tutorial_mlp

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"


def exponent(x, y) -> float:
    """The slope of log y against log x by least squares: k in y ∝ xᵏ.

    >>> round(exponent([1, 2, 4], [3, 12, 48]), 6)
    2.0
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or (x <= 0).any() or (y <= 0).any():
        raise ValueError(f"exponent needs at least two positive points, got x={x}, y={y}")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def claimed(chapter: str, words: str) -> None:
    """Fail unless the chapter's markdown still says ``words``: a test of a claim the text no
    longer makes would test nothing."""
    path = next(NOTEBOOKS.glob(f"{chapter}_*.ipynb"))
    cells = json.loads(path.read_text())["cells"]
    text = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert words in " ".join(text.split()), f"chapter {chapter} no longer says {words!r}"


def test_the_fit_finds_a_known_exponent_and_refuses_a_non_positive_point():
    x = np.array([1.0, 3.0, 10.0, 30.0])
    assert exponent(x, 5 * x**-0.5) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="two positive points"):
        exponent([1, 2], [1, 0])


def test_ch00_weights_narrow_as_one_over_the_square_root_of_fan_in():
    claimed("00", "all three distributions narrow as 1/√fan_in")
    from gdlessons.chapters.ch00_welcome import INITS, init_summary

    fans = [4, 16, 64, 256]
    for scheme in INITS:
        stds = [init_summary(f, (scheme,))[0]["std (measured)"] for f in fans]
        assert exponent(fans, stds) == pytest.approx(-0.5, abs=0.02), scheme


def test_ch02_activations_per_update_grow_in_proportion_to_the_batch():
    claimed("02", "grows in proportion to B")
    from gdlessons.chapters.ch02_epochs_batches_iterations import epoch_costs

    data = quadratic_data(256, seed=0)
    rows = epoch_costs(lambda: tutorial_mlp(seed=0), data, [1, 8, 64, "full"], epochs=1)
    sizes = [r["batch size"] for r in rows]
    memory = [r["activations per update (KiB)"] for r in rows]
    assert exponent(sizes, memory) == pytest.approx(1.0, abs=0.01)
    assert [r["iterations per epoch"] for r in rows] == [math.ceil(256 / b) for b in sizes]


def test_ch04_saved_activations_shrink_in_proportion_to_the_micro_batch():
    claimed("04", "the activations shrink in proportion to the micro-batch")
    from gdlessons.chapters.ch04_gradient_accumulation import saved_activation_bytes

    sizes = [8, 32, 128, 512]
    model = tutorial_mlp(seed=0)
    saved = [saved_activation_bytes(model, torch.zeros(b, 1)) for b in sizes]
    assert exponent(sizes, saved) == pytest.approx(1.0, abs=0.01)


def test_ch03_gradient_variance_falls_like_one_over_b_and_faster_near_n():
    claimed("03", "The variance falls like 1/B — and faster near B = N")
    from gdlessons.chapters.ch03_three_variants import measured_variance, per_sample_gradients

    data = quadratic_data(400, seed=0)
    grads = per_sample_gradients(tutorial_mlp(seed=0), data)
    small = [1, 2, 4, 8, 16, 32]  # B ≪ N: the finite-population factor (N − B)/(N − 1) ≈ 1
    assert exponent(small, measured_variance(grads, small, draws=2000)) == pytest.approx(
        -1.0, abs=0.1
    )
    near = [100, 200, 300]  # near N the same halving of 1/B is outrun
    measured = measured_variance(grads, near, draws=2000)
    assert exponent(near, measured) < -1.5
