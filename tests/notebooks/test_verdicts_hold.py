"""The verdicts that checked cells print from training runs hold when the last bits change.

Another CPU rounds float32 differently, and training amplifies those last-bit differences (a run
can end 20 % higher or lower). A checked cell therefore prints only a verdict with room to spare.
Here each such verdict is recomputed at the chapter's default parameters with every input scaled
by 1 ± 2⁻²³ (one float32 ulp, a random sign per value): a stand-in for another CPU's kernels that
needs no other CPU. The verdict must come out the same for every nudge.
"""

from __future__ import annotations

import dataclasses
import json

import torch

from gdlessons.chapters import ch05_learning_rate as ch05
from gdlessons.chapters import ch06_momentum_and_schedules as ch06
from gdlessons.chapters import ch08_batch_size_meets_learning_rate as ch08
from gdlessons.data import quadratic_data
from gdlessons.hooks import FullTrainLoss
from gdlessons.models import tutorial_mlp
from gdlessons.training import train
from tests.notebooks.conftest import ROOT

NUDGES = (1, 2)  # two nudged inputs besides the exact one


def defaults(stem: str) -> dict:
    """A chapter's default parameters: its parameters cell, run."""
    nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    values: dict = {}
    exec("".join(cell["source"]), {}, values)
    return values


def nudged(data, nudge: int):
    """``data`` with every input scaled by 1 ± 2⁻²³ (signs drawn from ``nudge``); 0: unchanged."""
    if nudge == 0:
        return data
    g = torch.Generator().manual_seed(nudge)
    sign = torch.randint(0, 2, data.X.shape, generator=g).float() * 2 - 1
    return dataclasses.replace(data, X=data.X * (1 + sign * 2.0**-23))


def test_nudge_changes_the_last_bits_only():
    data = quadratic_data(100)
    moved = nudged(data, 1).X
    assert not torch.equal(moved, data.X)
    assert torch.allclose(moved, data.X, rtol=2e-7, atol=0)


def test_ch05_rate_verdicts():
    p = defaults("05_learning_rate")

    def verdicts(nudge):
        data = nudged(quadratic_data(p["n"]), nudge)
        runs = {
            lr: train(tutorial_mlp(seed=p["seed"]), data, batch_size=p["batch_size"],
                      epochs=p["epochs"], lr=lr, hooks=[FullTrainLoss()])
            for lr in p["mlp_rates"]
        }  # fmt: skip
        return ch05.rate_verdicts(runs)

    exact = verdicts(0)
    for nudge in NUDGES:
        assert verdicts(nudge) == exact, f"nudge {nudge}"


def test_ch06_schedule_comparisons():
    p = defaults("06_momentum_and_schedules")

    def finals(nudge):
        data = nudged(quadratic_data(1000, seed=p["seed"]), nudge)
        out = {}
        for name, lr in (("constant", 0.1), ("warmup_cosine", 0.1), ("one_cycle", 0.1),
                         ("constant", 0.03), ("cosine", 0.03)):  # fmt: skip
            run = ch06.compare_schedules(
                data, [name], lr=lr, batch_size=100, epochs=p["explorer_epochs"],
                shape={name: ch06.SHAPES[name][1]}, seed=p["seed"],
            )[name]  # fmt: skip
            out[name, lr] = run.final_loss
        return out

    for nudge in (0, *NUDGES):
        final = finals(nudge)
        assert final["warmup_cosine", 0.1] < final["constant", 0.1], nudge
        assert final["one_cycle", 0.1] < final["constant", 0.1], nudge
        assert abs(final["cosine", 0.03] / final["constant", 0.03] - 1) < 0.05, (nudge, final)


def test_ch08_fit_verdicts():
    p = defaults("08_batch_size_meets_learning_rate")
    settings = dict(lr=0.1, momentum=0.9, batch_size=32, seed=p["seed"])

    def verdicts(nudge):
        train_data, val_data = ch08.digits_split(seed=p["seed"])[:2]
        small = ch08.subset(train_data, p["overfit_samples"], seed=p["seed"])
        plans = [(train_data, 2, p["curve_epochs"]), (train_data, 64, p["curve_epochs"]),
                 (small, 256, p["overfit_epochs"])]  # fmt: skip
        return [
            ch08.diagnose(
                ch08.learning_curve(nudged(d, nudge), val_data, hidden=h, epochs=e, **settings)
            ).verdict
            for d, h, e in plans
        ]

    exact = verdicts(0)
    assert exact == ["under-fit", "good fit", "over-fit"]
    for nudge in NUDGES:
        assert verdicts(nudge) == exact, f"nudge {nudge}"
