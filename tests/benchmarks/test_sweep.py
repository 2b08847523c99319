"""The sweep benchmark compares final losses, stable and unstable configurations apart."""

from __future__ import annotations

import math

import sweep as bench

from gdlessons.data import quadratic_data
from gdlessons.metrics import evaluate
from gdlessons.models import tutorial_mlp


def test_agreement_puts_diverged_runs_apart(monkeypatch):
    configs = [{"lr": 1e-3, "momentum": 0.0}, {"lr": 10.0, "momentum": 0.9}]
    monkeypatch.setattr(bench, "CONFIGS", configs)
    monkeypatch.setitem(bench.EPOCHS, 16, 2)
    data = quadratic_data(64)
    start = evaluate(tutorial_mlp(seed=0), data)
    seq, sw = bench.run_sequential(data, 16), bench.run_sweep(data, 16)
    configs, summary = bench.agreement(data, start, seq[:2], sw[:2])
    assert [c["stable"] for c in configs] == [True, False]
    assert configs[1]["train_diverged_at"] is not None
    assert summary["stable"]["n"] == 1 and summary["stable"]["max_rel_diff"] < 1e-4
    assert summary["unstable"]["diverged_alike"] == 1
    assert summary["unstable"]["diverged_differently"] == 0


def test_the_grid_spans_stable_to_diverging_rates():
    assert min(c["lr"] for c in bench.CONFIGS) == 1e-4
    assert max(c["lr"] for c in bench.CONFIGS) > 0.3
    assert len(bench.CONFIGS) == bench.K == 16


def test_relative_difference():
    assert bench.relative_difference(1.0, 1.0) == 0.0
    assert bench.relative_difference(3.0, 2.0) == 0.5
    assert bench.relative_difference(math.inf, 1.0) == math.inf
