"""How noisy is a mini-batch gradient? Measured over many random batches, against the theory.

A batch of B samples drawn *without replacement* from N gives a gradient whose mean is the
full-batch gradient ḡ and whose total variance (summed over parameters) is

    E‖g_B − ḡ‖² = σ²/B · (N − B)/(N − 1),   σ² = (1/N) Σᵢ ‖gᵢ − ḡ‖²,

where gᵢ is sample i's own gradient. It falls like 1/B, and reaches 0 at B = N (the batch is
the whole data). Compared with the signal ‖ḡ‖², it says when more batch buys little: once
σ²/B is well below ‖ḡ‖², the direction is already accurate. B_noise = σ²/‖ḡ‖² is the batch
size where noise and signal are equal (the "gradient noise scale" of McCandlish et al., 2018).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import nn

from gdlessons._validate import (
    check_float,
    check_instance,
    check_int,
    check_sequence,
)
from gdlessons.checks import check_model_fits, check_training_data
from gdlessons.data import as_tensors
from gdlessons.display.plots import new_axes
from gdlessons.metrics import resolve_loss


def per_sample_gradients(model: nn.Module, data, loss="mse") -> torch.Tensor:
    """Each sample's own loss gradient, flattened in ``named_parameters()`` order: (N, parameters).

    Vectorised, one forward and one backward pass: for an ``nn.Linear`` layer, sample i's
    weight gradient is the outer product of the gradient at the layer's output and the layer's
    input, both of which the ordinary backward pass already computes for every sample. Models
    with parameters outside ``nn.Linear`` layers (such as ``LinearModel``) fall back to one
    backward pass per sample (:func:`per_sample_gradients_loop`).

    >>> from gdlessons.models import LinearModel
    >>> X, y = torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [0.0]])
    >>> per_sample_gradients(LinearModel(w=1.0), (X, y)).tolist()  # d/dw, d/db of (w·x + b − y)²
    [[2.0, 2.0], [8.0, 4.0]]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    X, y = as_tensors(data)
    loss_fn = resolve_loss(loss)
    linear = [m for m in model.modules() if isinstance(m, nn.Linear)]
    owned = {id(p) for m in linear for p in m.parameters(recurse=False)}
    if not linear or any(id(p) not in owned for p in model.parameters()):
        return per_sample_gradients_loop(model, data, loss)
    seen: dict[nn.Module, list] = {m: [] for m in linear}

    def keep(module, inputs, output):
        output.register_hook(lambda g: seen[module].append(g))
        seen[module].append(inputs[0].detach())

    handles = [m.register_forward_hook(keep) for m in linear]
    try:
        with torch.enable_grad():
            mean_loss = loss_fn(model(X), y)
            # the mean over N samples scales each sample's gradient by 1/N: undo it
            torch.autograd.grad(
                mean_loss * len(X), [p for p in model.parameters()], allow_unused=True
            )
    finally:
        for h in handles:
            h.remove()
    per_param = {}
    for m in linear:
        a, delta = seen[m]
        per_param[id(m.weight)] = torch.einsum("no,ni->noi", delta, a).reshape(len(X), -1)
        if m.bias is not None:
            per_param[id(m.bias)] = delta
    return torch.cat([per_param[id(p)] for p in model.parameters()], dim=1).detach()


def per_sample_gradients_loop(model: nn.Module, data, loss="mse") -> torch.Tensor:
    """The same as :func:`per_sample_gradients`, one backward pass per sample: slow, but works
    for any model (and checks the fast version in the tests).

    >>> from gdlessons.models import LinearModel
    >>> per_sample_gradients_loop(LinearModel(w=1.0), (torch.tensor([[2.0]]), torch.tensor([[0.0]]))).tolist()
    [[8.0, 4.0]]
    """
    X, y = check_training_data(data)
    check_model_fits(model, X, y, loss)
    loss_fn = resolve_loss(loss)
    params = list(model.parameters())
    rows = []
    with torch.enable_grad():
        for i in range(len(X)):
            grads = torch.autograd.grad(loss_fn(model(X[i : i + 1]), y[i : i + 1]), params)
            rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


def theory_variance(sigma2: float, n: int, batch_sizes) -> np.ndarray:
    """σ²/B · (N − B)/(N − 1): the mini-batch gradient's variance without replacement.

    >>> theory_variance(1.0, 100, [1, 100]).tolist()
    [1.0, 0.0]
    """
    check_sequence("batch_sizes", batch_sizes)
    check_float("sigma2", sigma2, low=0.0)
    n = check_int("n", n, low=2)
    B = np.asarray(batch_sizes, dtype=float)
    if (B < 1).any() or (B > n).any():
        raise ValueError(f"batch_sizes must be between 1 and n={n}, got {B.tolist()}")
    return sigma2 / B * (n - B) / (n - 1)


def measured_variance(
    grads: torch.Tensor, batch_sizes, *, draws: int = 500, seed: int = 0, stderr: bool = False
):
    """E‖g_B − ḡ‖² estimated from ``draws`` random batches per size, sampled without replacement.

    Vectorised: small batches are gathered rows of the centred per-sample gradients; for
    larger ones each batch is a row of a 0/(1/B) selection matrix, so all draws of a size cost
    one matrix product. At B = N every "random" batch is the whole data, so one draw suffices.

    >>> g = torch.tensor([[1.0], [-1.0]])
    >>> measured_variance(g, [1, 2], draws=50).tolist()
    [1.0, 0.0]
    """
    check_sequence("batch_sizes", batch_sizes)
    check_int("draws", draws, low=1)
    if not isinstance(grads, torch.Tensor) or grads.ndim != 2:
        raise TypeError(
            "grads must be a 2-D tensor (samples, parameters), e.g. from per_sample_gradients"
        )
    n = len(grads)
    draws = check_int("draws", draws, low=2)
    centred = grads.double() - grads.double().mean(0)
    generator = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    out, errors = [], []
    for B in batch_sizes:
        B = check_int("batch_sizes", B, low=1, high=n)
        if B == n:
            out.append(float(centred.mean(0).pow(2).sum()))
            errors.append(0.0)
            continue
        chosen = torch.rand(draws, n, generator=generator).argsort(dim=1)[:, :B]
        if B <= 16:
            deviation = centred[chosen].mean(1)
        else:
            select = torch.zeros(draws, n).scatter_(1, chosen, 1.0 / B)
            deviation = select @ centred.float()
        squared = deviation.double().pow(2).sum(1)
        out.append(float(squared.mean()))
        errors.append(float(squared.std() / draws**0.5))
    return (np.asarray(out), np.asarray(errors)) if stderr else np.asarray(out)


@dataclass(frozen=True)
class NoiseResult:
    """Measured and predicted gradient-noise variance per batch size, and the signal ‖ḡ‖²."""

    n: int
    batch_sizes: list[int]
    measured: np.ndarray
    stderr: np.ndarray
    theory: np.ndarray
    sigma2: float
    signal: float

    @property
    def relative_errors(self) -> np.ndarray:
        """|measured − theory| / theory for every B < N (at B = N both are zero)."""
        keep = np.asarray(self.batch_sizes) < self.n
        return np.abs(self.measured[keep] - self.theory[keep]) / self.theory[keep]

    @property
    def max_stderr_ratio(self) -> float:
        """The largest |measured − theory| in units of the measurement's standard error."""
        keep = np.asarray(self.batch_sizes) < self.n
        return float((np.abs(self.measured[keep] - self.theory[keep]) / self.stderr[keep]).max())

    @property
    def max_relative_error(self) -> float:
        return float(self.relative_errors.max())

    @property
    def noise_scale(self) -> float:
        """B_noise = σ²/‖ḡ‖²: the batch size at which noise variance (≈ σ²/B) equals the signal."""
        return self.sigma2 / self.signal


def doubling_batch_sizes(n: int) -> list[int]:
    """1, 2, 4, … up to N, with N itself last.

    >>> doubling_batch_sizes(10)
    [1, 2, 4, 8, 10]
    """
    n = check_int("n", n, low=1)
    sizes = [2**k for k in range(int(np.log2(n)) + 1)]
    return sizes if sizes[-1] == n else sizes + [n]


def gradient_noise(
    model: nn.Module, data, *, batch_sizes=None, draws: int = 500, seed: int = 0, loss="mse"
) -> NoiseResult:
    """Measure the mini-batch gradient's variance for each batch size and set it beside the theory.

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> r = gradient_noise(LinearModel(), linear_data(64), draws=2000)
    >>> r.batch_sizes[-1], bool(r.measured[-1] < 1e-12), r.max_relative_error < 0.15
    (64, True, True)
    """
    grads = per_sample_gradients(model, data, loss)
    n = len(grads)
    sizes = (
        doubling_batch_sizes(n)
        if batch_sizes is None
        else [check_int("batch_sizes", B, low=1, high=n) for B in _non_empty(batch_sizes)]
    )
    g = grads.double()
    mean = g.mean(0)
    sigma2 = float((g - mean).pow(2).sum(1).mean())
    measured, stderr = measured_variance(grads, sizes, draws=draws, seed=seed, stderr=True)
    return NoiseResult(
        n=n,
        batch_sizes=list(sizes),
        measured=measured,
        stderr=stderr,
        theory=theory_variance(sigma2, n, sizes),
        sigma2=sigma2,
        signal=float(mean.pow(2).sum()),
    )


def noise_plot(result: NoiseResult, *, title: str | None = None, ax: Axes | None = None) -> Figure:
    """Measured variance (dots) on the theory curve, beside the signal ‖ḡ‖², on log-log axes.

    The point at B = N (zero variance) cannot sit on a log axis; it is stated in the legend.
    ``ax`` draws into an existing axes (default: a new 6.4 × 4.2-in figure).

    >>> from gdlessons.data import linear_data
    >>> from gdlessons.models import LinearModel
    >>> noise_plot(gradient_noise(LinearModel(), linear_data(16), draws=50)).axes[0].get_xscale()
    'log'
    """
    check_instance("result", result, NoiseResult, "a NoiseResult, as gradient_noise returns")
    fig, ax = new_axes(ax, figsize=(6.4, 4.2))
    B = np.asarray(result.batch_sizes)
    keep = B < result.n
    fine = np.unique(np.geomspace(1, result.n - 1, 200).round().astype(int))
    ax.plot(fine, theory_variance(result.sigma2, result.n, fine), "-", color="tab:blue",
            label="theory σ²/B · (N − B)/(N − 1)")  # fmt: skip
    ax.plot(
        fine, result.sigma2 / fine, ":", color="tab:blue", lw=1, label="σ²/B (with replacement)"
    )
    ax.plot(B[keep], result.measured[keep], "o", color="tab:red",
            label=f"measured ({'at B = N: 0' if result.measured[~keep].size else 'B < N'})")  # fmt: skip
    ax.axhline(
        result.signal, color="black", ls="--", lw=1, label="signal ‖ḡ‖² (full-batch gradient)"
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size B (samples per iteration)")
    ax.set_ylabel("gradient variance E‖g_B − ḡ‖²")
    ax.set_title(title or f"Mini-batch gradient noise, N = {result.n}")
    ax.legend(loc="lower left")
    return fig


def _non_empty(batch_sizes):
    if isinstance(batch_sizes, (str, bytes)) or not hasattr(batch_sizes, "__len__"):
        raise TypeError(f"batch_sizes must be a list of integers, got {batch_sizes!r}")
    if len(batch_sizes) == 0:
        raise ValueError("batch_sizes must hold at least one batch size, got an empty list")
    return batch_sizes
