"""Quadratic loss landscapes, where gradient descent can be solved exactly.

On f(x) = ½ Σᵢ λᵢ xᵢ² (a 1-D quadratic a·x²/2 has the single curvature ``a``) the gradient is
λᵢ xᵢ, so every coordinate evolves on its own by a fixed linear rule. That makes the learning
rate's regimes (slow, fast monotone, oscillating, divergent, and bouncing exactly at the bound) and the stability bound
η < 2/λ_max exact facts rather than folklore. Momentum follows PyTorch's ``torch.optim.SGD``
to the letter (v ← μ·v + g; p ← p − η·v; Nesterov steps along g + μ·v), so chapters on
momentum reuse the same functions.

Everything is vectorised with NumPy broadcasting: pass an array of learning rates (or
momenta, or curvatures) and get every run at once, which keeps widgets fast. The pictures of
these runs (curves, contours, paths) are drawn by :mod:`gdlessons.display.landscapes`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from gdlessons._validate import check_float, check_int

REGIMES = ("slow", "fast monotone", "oscillating", "bouncing", "divergent")
SLOW_ABOVE = (
    0.8  # error kept per iteration; 0.8**10 ≈ 0.11, i.e. ~10 iterations to shrink it tenfold
)


def as_curvatures(curvatures) -> np.ndarray:
    """Curvatures as a float array whose last axis is the dimension (a scalar means 1-D), or a
    ValueError unless every one is finite and > 0.

    >>> as_curvatures(4.0).tolist(), as_curvatures([0.5, 10]).tolist()
    ([4.0], [0.5, 10.0])
    """
    lam = np.asarray(curvatures, dtype=float)
    if lam.ndim == 0:
        lam = lam[None]
    if lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError(f"curvatures must be finite and > 0, got {curvatures!r}")
    return lam


def _positive(name: str, value, *, allow_zero: bool = False, below_one: bool = False) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    bad = ~np.isfinite(arr) | ((arr < 0) if allow_zero else (arr <= 0))
    if below_one:
        bad |= arr >= 1
    if np.any(bad):
        allowed = "in [0, 1)" if below_one else (">= 0" if allow_zero else "> 0")
        raise ValueError(f"{name} must be finite and {allowed}, got {value!r}")
    return arr


def quadratic_loss(x, curvatures) -> np.ndarray:
    """f(x) = ½ Σᵢ λᵢ xᵢ², summed over the last axis of ``x``.

    >>> float(quadratic_loss([2.0], 4.0)), float(quadratic_loss([1.0, 1.0], [1.0, 10.0]))
    (8.0, 5.5)
    """
    if np.ndim(x) and np.size(curvatures) > 1 and np.shape(x)[-1] != np.size(curvatures):
        raise ValueError(
            f"x has {np.shape(x)[-1]} coordinates but curvatures has {np.size(curvatures)}: "
            "give one curvature per coordinate"
        )
    x = np.asarray(x, dtype=float)
    return 0.5 * np.sum(as_curvatures(curvatures) * x**2, axis=-1)


def eigenvalues_from_condition(
    condition_number: float, lambda_max: float = 1.0
) -> tuple[float, float]:
    """(λ_min, λ_max) of a 2-D quadratic with the given condition number κ = λ_max / λ_min.

    >>> eigenvalues_from_condition(10, lambda_max=4.0)
    (0.4, 4.0)
    """
    kappa = check_float("condition_number", condition_number, low=1.0)
    lambda_max = check_float("lambda_max", lambda_max, low=0.0, low_open=True)
    return lambda_max / kappa, lambda_max


def condition_number(curvatures) -> float:
    """κ = λ_max / λ_min: how much steeper the steepest direction is than the flattest.

    >>> condition_number([0.5, 10.0])
    20.0
    """
    lam = as_curvatures(curvatures)
    return float(lam.max() / lam.min())


def stable_lr(curvature, momentum=0.0, nesterov: bool = False):
    """The largest rate that still converges: GD converges exactly when η < this bound.

    Plain GD: 2/λ. Heavy-ball momentum μ (PyTorch form): 2(1+μ)/λ. Nesterov: 2(1+μ)/(λ(1+2μ)).
    For several curvatures pass λ_max (the steepest direction sets the bound). Broadcasts.

    >>> float(stable_lr(4.0)), float(stable_lr(4.0, momentum=0.5)), float(stable_lr(4.0, 0.5, nesterov=True))
    (0.5, 0.75, 0.375)
    """
    lam = _positive("curvature", curvature)
    mu = _positive("momentum", momentum, allow_zero=True, below_one=True)
    if nesterov:
        return 2 * (1 + mu) / (lam * (1 + 2 * mu))
    return 2 * (1 + mu) / lam


def iteration_roots(
    lr, curvature, momentum=0.0, nesterov: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The two roots of the per-direction linear recurrence (complex; broadcasts).

    With state (x, v) and g = λx, one update is a 2×2 matrix. Plain GD has roots 1 − ηλ and 0,
    so the error in that direction is multiplied by 1 − ηλ each iteration.

    >>> r1, r2 = iteration_roots(0.1, 4.0); complex(r1), complex(r2)
    ((0.6+0j), 0j)
    """
    h = _positive("lr", lr)
    lam = _positive("curvature", curvature)
    mu = _positive("momentum", momentum, allow_zero=True, below_one=True)
    if nesterov:
        trace = 1 - h * lam * (1 + mu) + mu
        det = mu * (1 - h * lam)
    else:
        trace = 1 - h * lam + mu
        det = mu + 0 * h * lam
    disc = np.sqrt((trace**2 - 4 * det).astype(complex))
    r1, r2 = (trace + disc) / 2, (trace - disc) / 2
    swap = np.abs(r2) > np.abs(r1)
    return np.where(swap, r2, r1), np.where(swap, r1, r2)


def convergence_factor(lr, curvature, momentum=0.0, nesterov: bool = False) -> np.ndarray:
    """How much of the error survives one iteration in the long run (the spectral radius).

    Below 1 the run converges; the closer to 0 the faster. For several curvatures (last axis)
    the worst direction counts.

    >>> float(convergence_factor(0.1, 4.0)), float(convergence_factor(0.25, 4.0)), float(convergence_factor(0.6, 4.0))
    (0.6, 0.0, 1.4)
    """
    lam = np.asarray(curvature, dtype=float)
    root, _ = iteration_roots(
        np.asarray(lr, dtype=float)[..., None], as_curvatures(lam), momentum, nesterov
    )
    if lam.ndim == 0:
        return np.abs(root)[..., 0]
    return np.abs(root).max(axis=-1)


def regime(lr, curvature, momentum=0.0, nesterov: bool = False, *, slow_above: float = SLOW_ABOVE):
    """Name what gradient descent does on a quadratic: one of :data:`REGIMES`.

    * ``"divergent"``: the error grows (its factor's size is above 1).
    * ``"bouncing"``: exactly at the bound (size 1): the error neither shrinks nor grows, it flips
      side (or circles, with momentum) forever; it does not converge.
    * ``"oscillating"``: it shrinks while flipping sign (or spiralling, with momentum).
    * ``"fast monotone"``: it shrinks without overshooting, keeping ≤ ``slow_above`` per step.
    * ``"slow"``: it shrinks without overshooting, but keeps more than ``slow_above`` per step.

    ``curvature`` is a scalar (1-D, broadcasts with ``lr``) or a sequence of curvatures, in
    which case the direction that converges slowest names the regime. Returns a str for scalar
    input, else an array of str.

    >>> [regime(lr, 4.0) for lr in (0.01, 0.1, 0.4, 0.5, 0.6)]
    ['slow', 'fast monotone', 'oscillating', 'bouncing', 'divergent']
    >>> regime(0.45, [0.4, 4.0])  # the steep axis zig-zags, the flat one crawls
    'slow'
    """
    slow_above = check_float(
        "slow_above", slow_above, low=0.0, high=1.0, low_open=True, high_open=True
    )
    lam = np.asarray(curvature, dtype=float)
    lr_arr = np.asarray(lr, dtype=float)
    if lam.ndim == 0:
        root, _ = iteration_roots(lr_arr, lam, momentum, nesterov)
    else:
        roots, _ = iteration_roots(lr_arr[..., None], as_curvatures(lam), momentum, nesterov)
        worst = np.abs(roots).argmax(axis=-1)
        root = np.take_along_axis(roots, worst[..., None], axis=-1)[..., 0]
    size = np.abs(root)
    monotone = (np.abs(root.imag) < 1e-12) & (root.real >= 0)
    converging = np.where(
        ~monotone, "oscillating", np.where(size > slow_above, "slow", "fast monotone")
    )
    at_bound = np.abs(size - 1) <= 1e-9  # the bound itself, up to the rounding of η·a
    names = np.where(at_bound, "bouncing", np.where(size > 1, "divergent", converging))
    return str(names) if names.ndim == 0 else names


def iterates(
    curvatures,
    x0,
    lr,
    iterations: int,
    *,
    momentum=0.0,
    nesterov: bool = False,
) -> np.ndarray:
    """Run gradient descent on f(x) = ½ Σ λᵢ xᵢ² and return every point, start included.

    Momentum follows ``torch.optim.SGD`` exactly: v ← μ·v + g (v starts at 0), then
    p ← p − η·v, or p ← p − η·(g + μ·v) with Nesterov. ``lr`` and ``momentum`` may be arrays
    (and ``curvatures`` may carry leading batch axes): they broadcast, and the result has shape
    ``batch + (iterations + 1, d)``. A divergent run's points grow to ``inf`` without warnings.

    >>> iterates(4.0, [1.0], lr=[0.1, 0.4], iterations=2)[..., 0].round(3).tolist()
    [[1.0, 0.6, 0.36], [1.0, -0.6, 0.36]]
    >>> iterates([1.0, 10.0], [1.0, 1.0], lr=0.1, iterations=1, momentum=0.9)[-1].tolist()
    [0.9, 0.0]
    """
    lam = as_curvatures(curvatures)
    iterations = check_int("iterations", iterations, low=0)
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
    h = _positive("lr", lr)[..., None]
    mu = _positive("momentum", momentum, allow_zero=True, below_one=True)[..., None]
    x0 = np.asarray(x0, dtype=float)
    shape = np.broadcast_shapes(h.shape, mu.shape, lam.shape, x0.shape)
    x = np.broadcast_to(x0, shape).copy()
    v = np.zeros(shape)
    out = np.empty(shape[:-1] + (iterations + 1, shape[-1]))
    out[..., 0, :] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, iterations + 1):
            g = lam * x
            v = mu * v + g
            x = x - h * (g + mu * v if nesterov else v)
            out[..., t, :] = x
    return out


def first_divergent(path: np.ndarray, limit: float = 1e6) -> int | None:
    """Index of the first point of a single path (``(iterations + 1, d)``) whose size passes
    ``limit`` or is not finite, or ``None``; plots cut paths there.

    >>> first_divergent(iterates(4.0, [1.0], lr=1.0, iterations=20), limit=100.0)
    5
    """
    if path is None or np.ndim(path) == 0:
        raise TypeError(f"path must be an array of iterates (as iterates() returns), got {path!r}")
    limit = check_float("limit", limit, low=0.0, low_open=True)
    path = np.asarray(path, dtype=float)
    size = np.abs(path).max(axis=-1)
    bad = ~np.isfinite(size) | (size > limit)
    return int(np.argmax(bad)) if bad.any() else None


def torch_sgd_path(
    curvatures: Sequence[float],
    x0: Sequence[float],
    lr: float,
    iterations: int,
    *,
    momentum: float = 0.0,
    nesterov: bool = False,
) -> np.ndarray:
    """The same quadratic, minimised by ``torch.optim.SGD`` itself (float64), which allows the
    μ = 1 a popular tutorial uses. Returns ``(iterations + 1, d)``, start included.

    >>> torch_sgd_path([1.0], [1.0], 0.5, 2).ravel().tolist()
    [1.0, 0.5, 0.25]
    """
    as_curvatures(curvatures)
    if np.size(x0) != np.size(curvatures):
        raise ValueError(
            f"x0 must hold one coordinate per curvature ({np.size(curvatures)}), got {np.size(x0)}"
        )
    iterations = check_int("iterations", iterations, low=0)
    lam = torch.as_tensor(np.asarray(curvatures, dtype=float))
    x = torch.tensor(np.asarray(x0, dtype=float), requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr, momentum=momentum, nesterov=nesterov)
    path = [x.detach().numpy().copy()]
    for _ in range(iterations):
        optimizer.zero_grad()
        (0.5 * (lam * x**2).sum()).backward()
        optimizer.step()
        path.append(x.detach().numpy().copy())
    return np.array(path)
