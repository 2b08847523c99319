"""The slider states the tests draw an explorer at: enough to reach every end and a spread of
combinations, few enough to draw in seconds."""

from __future__ import annotations

import itertools
import random

from gdlessons.display.frames import control_values


def sampled_states(
    explorer, *, randoms: int = 20, seed: int = 0, corners: bool = False
) -> list[dict]:
    """The start; every control at both ends, the others at the start; with ``corners``, every
    combination of the controls' ends; ``randoms`` seeded random combinations of the values the
    controls allow; and the start again, so a kept figure's first background is reused after
    others."""
    values = {name: control_values(control)[0] for name, control in explorer.controls.items()}
    start = explorer.initial
    states = [start]
    for name, allowed in values.items():
        states += [{**start, name: allowed[0]}, {**start, name: allowed[-1]}]
    if corners:
        ends = [[(name, allowed[0]), (name, allowed[-1])] for name, allowed in values.items()]
        states += [dict(corner) for corner in itertools.product(*ends)]
    rng = random.Random(seed)
    states += [{n: rng.choice(a) for n, a in values.items()} for _ in range(randoms)]
    return [*states, start]
