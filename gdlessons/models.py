"""The course's models: the tutorial MLP, a two-parameter line, and a small digits classifier."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from gdlessons._validate import check_choice, check_float, check_int

INITS = ("default", "kaiming_uniform", "kaiming_normal")


def initialise(model: nn.Module, init: str = "default", *, seed: int | None = None) -> nn.Module:
    """Re-initialise every ``nn.Linear`` of ``model`` in place and return it.

    ``"default"`` calls PyTorch's own ``reset_parameters()`` (itself a ``kaiming_uniform_`` with
    a = √5, which gives U(-1/√fan_in, 1/√fan_in)); ``"kaiming_uniform"`` and ``"kaiming_normal"``
    use He initialisation for ReLU (std = √(2/fan_in)) with zero biases.
    With ``seed`` the draw is reproducible and leaves the global generator untouched.

    >>> m = initialise(tutorial_mlp(), "kaiming_normal", seed=0); float(m[0].bias.detach().abs().sum())
    0.0
    """
    check_choice("init", init, INITS)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(check_int("seed", seed, low=0))
        for layer in model.modules():
            if not isinstance(layer, nn.Linear):
                continue
            if init == "default":
                layer.reset_parameters()
                continue
            if init == "kaiming_uniform":
                nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
            else:
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return model


def tutorial_mlp(*, hidden: int = 32, init: str = "default", seed: int | None = 0) -> nn.Sequential:
    """The source tutorials' MLP: Linear(1, 32) → ReLU → Linear(32, 32) → ReLU → Linear(32, 1).

    >>> sum(p.numel() for p in tutorial_mlp().parameters())
    1153
    """
    hidden = check_int("hidden", hidden, low=1)
    return _build(
        lambda: nn.Sequential(
            nn.Linear(1, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        ),
        init,
        seed,
    )


class LinearModel(nn.Module):
    """ŷ = w·x + b with two named scalar parameters, so a run can be drawn on the loss surface.

    >>> LinearModel(w=2.0, b=1.0)(torch.tensor([[3.0]])).item()
    7.0
    """

    def __init__(self, w: float = 0.0, b: float = 0.0):
        super().__init__()
        w, b = check_float("w", w), check_float("b", b)
        self.w = nn.Parameter(torch.tensor(float(w)))
        self.b = nn.Parameter(torch.tensor(float(b)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.w + self.b


def digits_classifier(
    *, hidden: int = 64, depth: int = 1, init: str = "default", seed: int | None = 0
) -> nn.Sequential:
    """A small MLP for 8×8 digits: 64 inputs → ``depth`` hidden ReLU layers → 10 class scores.

    ``hidden=0`` gives a linear (softmax-regression) model, the smallest in the course.

    >>> digits_classifier(hidden=16)(torch.zeros(2, 64)).shape
    torch.Size([2, 10])
    """
    hidden = check_int("hidden", hidden, low=0)
    depth = check_int("depth", depth, low=1)

    def layers() -> nn.Sequential:
        if hidden == 0:
            return nn.Sequential(nn.Linear(64, 10))
        stack: list[nn.Module] = []
        width = 64
        for _ in range(depth):
            stack += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        stack.append(nn.Linear(width, 10))
        return nn.Sequential(*stack)

    return _build(layers, init, seed)


def _build(layers: Callable[[], nn.Module], init: str, seed: int | None) -> nn.Module:
    """Construct and initialise a model; with a ``seed``, even the construction (``nn.Linear``
    draws its own initial weights) leaves the global generator untouched."""
    check_choice("init", init, INITS)
    if seed is None:
        return initialise(layers(), init)
    check_int("seed", seed, low=0)
    with torch.random.fork_rng(devices=[]):
        model = layers()
    return initialise(model, init, seed=seed)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``.

    >>> count_parameters(LinearModel())
    2
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def batchnorm_mlp(*, hidden: int = 32, seed: int = 0) -> nn.Sequential:
    """The tutorial MLP with a BatchNorm after each hidden Linear: its output for one sample
    depends on the other samples of the (micro-)batch, which accumulation cannot reproduce.

    >>> batchnorm_mlp()(torch.zeros(4, 1)).shape
    torch.Size([4, 1])
    """
    hidden = check_int("hidden", hidden, low=1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_int("seed", seed, low=0))
        return nn.Sequential(
            nn.Linear(1, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, 1),
        )  # fmt: skip
