"""The models: the tutorial MLP, the two-parameter line, the digits classifier, and initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gdlessons.models import (
    INITS,
    LinearModel,
    count_parameters,
    digits_classifier,
    initialise,
    tutorial_mlp,
)


def linear_shapes(model: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]


def test_tutorial_mlp_is_1_32_32_1_with_relu():
    m = tutorial_mlp()
    assert linear_shapes(m) == [(1, 32), (32, 32), (32, 1)]
    assert [type(layer) for layer in m] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert count_parameters(m) == 1153 and m(torch.zeros(7, 1)).shape == (7, 1)
    assert linear_shapes(tutorial_mlp(hidden=8)) == [(1, 8), (8, 8), (8, 1)]


@pytest.mark.parametrize("init", INITS)
def test_seeded_models_are_reproducible_and_leave_global_rng_alone(init):
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = (
        tutorial_mlp(init=init, seed=0),
        tutorial_mlp(init=init, seed=0),
        tutorial_mlp(init=init, seed=1),
    )
    assert torch.equal(torch.rand(1), expected_next)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a[2].weight, c[2].weight)


def test_default_init_is_pytorchs_reset_parameters():
    ours = tutorial_mlp(seed=7)
    torch.manual_seed(7)
    theirs = nn.Sequential(
        nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        for layer in theirs:
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()
    assert all(torch.equal(p, q) for p, q in zip(ours.parameters(), theirs.parameters()))
    bound = 1 / math.sqrt(32)  # U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert ours[2].weight.abs().max() <= bound and ours[2].bias.abs().max() <= bound


def test_kaiming_inits_have_he_scale_and_zero_bias():
    wide = nn.Sequential(nn.Linear(256, 512))
    std = math.sqrt(2 / 256)
    w = initialise(wide, "kaiming_normal", seed=0)[0].weight
    assert w.std().item() == pytest.approx(std, rel=0.03) and w.mean().abs() < 0.01 * std * 10
    w = initialise(wide, "kaiming_uniform", seed=0)[0].weight
    bound = math.sqrt(3) * std
    assert w.abs().max() <= bound and w.abs().max() > 0.99 * bound
    assert w.std().item() == pytest.approx(std, rel=0.03)
    assert torch.count_nonzero(wide[0].bias) == 0


def test_initialise_rejects_unknown_init():
    with pytest.raises(ValueError, match=r"init must be one of .*'kaiming_normal'.* got 'xavier'"):
        tutorial_mlp(init="xavier")
    with pytest.raises(ValueError, match="seed must be >= 0"):
        tutorial_mlp(seed=-1)
    with pytest.raises(ValueError, match="hidden must be >= 1"):
        tutorial_mlp(hidden=0)


def test_linear_model_has_named_w_and_b():
    m = LinearModel(w=2.0, b=-1.0)
    assert [name for name, _ in m.named_parameters()] == ["w", "b"]
    assert m.w.shape == () and count_parameters(m) == 2
    assert torch.equal(m(torch.tensor([[0.0], [1.0], [3.0]])), torch.tensor([[-1.0], [1.0], [5.0]]))
    loss = ((m(torch.ones(4, 1)) - 3.0) ** 2).mean()
    loss.backward()
    assert m.w.grad.item() == pytest.approx(-4.0) and m.b.grad.item() == pytest.approx(-4.0)


def test_digits_classifier_shapes():
    assert linear_shapes(digits_classifier(hidden=0)) == [(64, 10)]
    assert linear_shapes(digits_classifier(hidden=16, depth=2)) == [(64, 16), (16, 16), (16, 10)]
    assert digits_classifier()(torch.zeros(3, 64)).shape == (3, 10)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        digits_classifier(depth=0)
    with pytest.raises(ValueError, match="hidden must be >= 0"):
        digits_classifier(hidden=-1)


def test_count_parameters_skips_frozen_ones():
    m = tutorial_mlp()
    m[0].weight.requires_grad_(False)
    assert count_parameters(m) == 1153 - 32
