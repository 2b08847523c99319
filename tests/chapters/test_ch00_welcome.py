import math

import pytest

from gdlessons.chapters.ch00_welcome import (
    activation_spread,
    init_explorer,
    init_summary,
    init_weights,
    parameter_table,
    theory,
)  # fmt: skip
from gdlessons.models import tutorial_mlp


def test_parameter_table_counts_the_tutorial_mlp():
    rows = parameter_table(tutorial_mlp())
    assert sum(r["count"] for r in rows) == 1153 and rows[2] == {
        "name": "2.weight",
        "shape": "(32, 32)",
        "count": 1024,
    }


@pytest.mark.parametrize("fan_in", [8, 64, 256])
def test_measured_weights_follow_the_formulas(fan_in):
    for row in init_summary(fan_in):
        assert row["std (measured)"] == pytest.approx(row["std (formula)"], rel=0.06)
        assert row["largest |w|"] <= row["bound (formula)"] + 1e-6
    assert theory("kaiming_uniform", fan_in)["bound"] == pytest.approx(math.sqrt(6 / fan_in))


def test_weights_are_seeded_and_cached():
    assert init_weights("kaiming_normal", 16) is init_weights("kaiming_normal", 16)
    assert (init_weights("default", 16, seed=1) != init_weights("default", 16, seed=2)).any()


def test_he_keeps_the_signal_the_default_lets_it_fade():
    he, default = activation_spread("kaiming_normal"), activation_spread("default")
    assert 0.5 < he[-1] / he[0] < 2 and default[-1] / default[0] < 0.1


def test_first_layer_spread_matches_relu_theory_for_both_he_schemes():
    # unit-variance input, Var(w) = 2/fan_in: pre-activation variance 2, so the ReLU output has
    # std √(2·(1/2 − 1/(2π))) ≈ 0.826, whatever the weights' distribution
    expected = (2 * (0.5 - 1 / (2 * math.pi))) ** 0.5
    for scheme in ("kaiming_uniform", "kaiming_normal"):
        assert activation_spread(scheme, depth=1)[0] == pytest.approx(expected, rel=0.03)


def test_bad_scheme_and_fan_in_are_named():
    with pytest.raises(ValueError, match="scheme"):
        theory("xavier", 4)
    with pytest.raises(ValueError, match="fan_in"):
        theory("default", 0)


def test_explorer_draws_every_state():
    ex = init_explorer()
    for state in ex.sample_states(steps=3):
        assert ex.png(**state).startswith(b"\x89PNG")
    assert "std measured" in ex.readout(fan_in=64)
