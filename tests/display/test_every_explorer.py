"""Every explorer the chapters register (``gdlessons.chapters.all_explorers``), drawn at a few
states each: the start, each control at its ends, two random combinations and the start again.
Each picture must fit the output column with readable text
(:func:`~gdlessons.display.sizes.problems`), be titled and name what its panels show; and a kept
figure must never paste a background whose still part has changed (``check_backgrounds``), a
check shown here to catch a key left constant."""

from __future__ import annotations

import pytest

from gdlessons.chapters import all_explorers
from gdlessons.display.redraw import FAST, StaleBackground
from gdlessons.display.sizes import INCH_PX, problems
from tests.explorer_states import sampled_states

EXPLORERS = all_explorers()


def _quick(name: str):
    """The explorer ``name`` as its registered factory builds it. The three whose defaults train
    for 8-30 s (ch04, ch06's schedules, ch08) get fewer epochs or samples, as tests/quick_params
    gives the notebooks, and keep their sliders; any other, a new one included, its defaults."""
    factory = EXPLORERS[name]
    if name == "ch04-accumulation-explorer":
        from gdlessons.chapters.ch04_gradient_accumulation import accumulation_runs

        return factory(accumulation_runs(epochs=1))
    if name == "ch06-schedule-explorer":
        return factory(epochs=2, n=200, batch_size=20)
    if name == "ch08-heatmap-explorer":
        from gdlessons.chapters.ch08_batch_size_meets_learning_rate import lr_batch_grid

        return factory(lr_batch_grid(epochs=1))
    return factory()


def unlabelled(fig, title: str) -> list[str]:
    """What keeps a picture from saying what it shows: no title anywhere (explorer, figure or
    panel), a panel that names neither axis, a legend without text. Empty when it is fine."""
    found = []
    titles = [title, fig.get_suptitle()]
    titles += [ax.get_title(loc) for ax in fig.axes for loc in ("left", "center", "right")]
    if not any(t.strip() for t in titles):
        found.append("no title: neither the explorer, the figure nor a panel has one")
    for i, ax in enumerate(fig.axes):
        if not (ax.get_visible() and ax.axison):
            continue
        if not (ax.get_xlabel().strip() or ax.get_ylabel().strip()):
            found.append(f"panel {i} ({ax.get_title()!r}) names neither of its axes")
        legend = ax.get_legend()
        if legend is not None and not any(t.get_text().strip() for t in legend.get_texts()):
            found.append(f"panel {i} ({ax.get_title()!r}) has a legend without text")
    return found


def test_the_registry_holds_every_chapters_explorers():
    chapters = {name.split("-")[0] for name in EXPLORERS}
    assert chapters == {f"ch{k:02d}" for k in range(10)}, sorted(chapters)
    assert all(callable(factory) for factory in EXPLORERS.values())


def test_sampled_states_take_each_control_to_both_ends():
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer

    controls = {"k": w.IntSlider(value=3, min=1, max=9), "on": w.Checkbox(value=False)}
    states = sampled_states(Explorer(lambda k, on: None, controls), randoms=2)
    assert states[0] == states[-1] == {"k": 3, "on": False} and len(states) == 8
    assert {s["k"] for s in states} >= {1, 9} and {s["on"] for s in states} == {False, True}


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_every_explorer_draws_sampled_states_to_the_figure_contract(name):
    explorer = _quick(name)
    explorer.check_backgrounds = True  # a stale background raises StaleBackground
    states = sampled_states(explorer, randoms=2)
    keys = set()
    for state in states:
        fig = explorer.figure(**state)
        key = explorer.background(**state) if explorer.background else None
        keys.add(key)
        png = explorer.render(fig, key)
        found = problems(fig) + unlabelled(fig, explorer.title)
        assert not found, f"{name} at {state}: {found}"
        assert explorer.shown_width(png) == round(fig.get_figwidth() * INCH_PX), (name, state)
        assert isinstance(explorer.readout(**state), str)
    if len(keys) > 1:
        # A kept figure whose still part follows a control: the check catches one key for all.
        explorer.background = lambda **_: "one key"
        with explorer.drawing_at(explorer.density, FAST):
            with pytest.raises(StaleBackground, match="background key 'one key' is stale"):
                for state in states:
                    explorer.png(**state)
