"""Chapter 05's own pieces: the quadratic explorer."""

from __future__ import annotations

from matplotlib.figure import Figure

from gdlessons.chapters import ch05_learning_rate as ch


def test_quadratic_explorer_is_pure_and_reports_bound_and_regimes():
    ex = ch.quadratic_explorer()
    assert set(ex.state()) == {"lr", "a", "kappa"}
    text = ex.readout(lr=0.6, a=4.0, kappa=10.0)
    assert "bound 2/a = 0.5" in text and "1-D regime: divergent" in text
    assert "1-D regime: oscillating" in ex.readout(lr=0.45, a=4.0)
    assert "2-D, κ = 25" in ex.readout() and ": slow" in ex.readout()
    fig = ex.figure(lr=0.3, a=8.0)
    assert "divergent" in fig.axes[0].get_title() and "bound 2/a = 0.25" in fig.axes[0].get_title()
    assert ex.png(lr=0.2, a=8.0) == ex.png(lr=0.2, a=8.0)
    for state in ex.sample_states(3):
        assert isinstance(ex.figure(**state), Figure)


def test_explorer_is_registered():
    assert ch.EXPLORERS["ch05-quadratic-explorer"] is ch.quadratic_explorer
