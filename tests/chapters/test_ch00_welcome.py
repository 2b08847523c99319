import math
import re

import numpy as np
import pytest
from matplotlib.patches import StepPatch

from gdlessons.chapters.ch00_welcome import (
    SCHEME_LABELS,
    activation_spread,
    init_explorer,
    init_summary,
    init_weights,
    parameter_table,
    theory,
)  # fmt: skip
from gdlessons.models import INITS, tutorial_mlp
from tests.explorer_states import sampled_states


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


READOUT = re.compile(r"^(\w+)\s+std measured (\d+\.\d+), formula (\d+\.\d+)$")
LEGEND = re.compile(r"^(.+): std (\d+\.\d+) \(formula (\d+\.\d+)\)$")


def drawn_std(step) -> float:
    """The standard deviation of the histogram a StepPatch draws (density per bin)."""
    density, edges = step.get_data()[:2]
    mids, mass = (edges[1:] + edges[:-1]) / 2, density * np.diff(edges)
    mean = (mids * mass).sum() / mass.sum()
    return float(np.sqrt(((mids - mean) ** 2 * mass).sum() / mass.sum()))


def test_explorer_readout_legend_and_title_tell_what_is_drawn():
    """Per sampled state: the title's layer is the fan-in; one histogram is drawn per scheme the
    readout lists, in the legend entry's colour, and its spread is the std the readout and the
    legend state (each = the formula's promise for that fan-in); every bar fits the axes."""
    explorer = init_explorer()
    explorer.check_backgrounds = True
    labels = {label: scheme for scheme, label in SCHEME_LABELS.items()}
    for state in sampled_states(explorer, corners=True):
        assert explorer.png(**state).startswith(b"\x89PNG")
        fig, where = explorer.figure(**state), f"at {state}"
        (ax,) = fig.axes
        fan_in, fan_out = map(
            int, re.search(r"nn\.Linear\((\d+), (\d+)\)", ax.get_title()).groups()
        )
        assert (fan_in, fan_out) == (state["fan_in"], 512), where
        said = [READOUT.match(line).groups() for line in explorer.readout(**state).splitlines()]
        wanted = INITS if state["scheme"] == "all" else (state["scheme"],)
        assert [s for s, _, _ in said] == list(wanted), where
        (legend,) = [g for g in fig.legends if g.get_visible()]
        entries = [LEGEND.match(t.get_text()).groups() for t in legend.get_texts()]
        assert [labels[label] for label, _, _ in entries] == [s for s, _, _ in said], where
        steps = [p for p in ax.patches if isinstance(p, StepPatch) and p.get_visible()]
        assert len(steps) == len(said), where
        (x0, x1), (_, y1) = ax.get_xlim(), ax.get_ylim()
        for (scheme, measured, formula), (_, shown, promised), handle in zip(
            said, entries, legend.legend_handles
        ):
            (step,) = [p for p in steps if p.get_edgecolor() == handle.get_edgecolor()]
            assert abs(float(shown) - float(measured)) <= 0.00055, (where, scheme)
            assert float(promised) == pytest.approx(float(formula), abs=0.00055), (where, scheme)
            assert float(formula) == pytest.approx(theory(scheme, fan_in)["std"], abs=5e-5)
            assert drawn_std(step) == pytest.approx(float(measured), rel=0.01), (where, scheme)
            density, edges = step.get_data()[:2]
            assert x0 <= edges[0] + 1e-12 and edges[-1] <= x1 + 1e-12 and density.max() <= y1
