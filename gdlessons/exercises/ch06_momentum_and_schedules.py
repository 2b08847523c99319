"""Chapter 06 exercises: momentum, weight decay and learning-rate schedules.

The story's your-turn cells, each a function checked by
:class:`~gdlessons.exercises.code.CodeExercise`: t1 momentum, Nesterov and weight decay by hand,
compared bit for bit with ``torch.optim.SGD`` under a changing rate (section 1; section 2 runs
it); t2 the textbook form with the rate inside the velocity (section 2); t3 heavy-ball
momentum's convergence factor on a quadratic, the spectral radius of each direction's 2×2
matrix (section 5); t4 a warm-up + cosine schedule written as a ``LambdaLR`` lambda, run in a
real scheduler (section 7). At the end, q1–q6 take a number or a word (q6: the best momentum
at a given rate, read off the momentum explorer or your t3).

>>> q1.check(-0.29).correct, t1.check(...).status, t4.check(t4.reference).status
(True, 'not attempted', 'correct')
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gdlessons.exercises import Exercise, as_number, expect_close
from gdlessons.exercises.code import (
    CodeExercise,
    Mistake,
    close_tensors,
    same_tensors,
    time_limit,
)
from gdlessons.landscapes import convergence_factor
from gdlessons.schedules import rate_curve

# --- t1: momentum and Nesterov by hand, bit for bit -------------------------------------------


class _Gradient:
    """grad(p) = 2·Xᵀ(X·p − y)/N, the gradient of a linear model's mean squared error on fixed
    data: what ``loss.backward()`` would leave in ``p.grad``."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor):
        self.X, self.y = X, y

    def __call__(self, p: torch.Tensor) -> torch.Tensor:
        return 2 * self.X.T @ (self.X @ p - self.y) / len(self.y)

    def __repr__(self) -> str:
        return f"grad (a linear model's MSE on {len(self.y)} samples, {self.X.shape[1]} weights)"


def _torch_sgd_path(p, grad, lrs, momentum, nesterov, weight_decay):
    """``torch.optim.SGD`` itself; before each update the rate is set as a scheduler sets it."""
    p = p.detach().clone().requires_grad_(True)
    optimizer = torch.optim.SGD(
        [p], lr=lrs[0], momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
    )
    path = []
    for lr in lrs:
        optimizer.param_groups[0]["lr"] = lr
        p.grad = grad(p.detach())
        optimizer.step()
        path.append(p.detach().clone())
    return path


class _Loosely(list):
    """A typical mistake's path. A student's path matches it to rounding (rtol 10⁻⁴), whatever
    the order of their operations; the reference is matched bit for bit."""


def _by_hand(p, grad, lrs, momentum, nesterov, weight_decay, *, plain=False, decoupled=False,
             eta_inside=False, forget=False, in_place=False):  # fmt: skip
    """The update with one typical mistake switched on (all off: ``torch.optim.SGD``)."""
    path, v = [], None
    for lr in lrs:
        g = grad(p)
        if weight_decay and not decoupled:
            g = g + weight_decay * p if plain else g.add(p, alpha=weight_decay)
        if eta_inside:
            v = lr * g if v is None else momentum * v + lr * g
            step = lr * g + momentum * v if nesterov else v
            p = p - step
        else:
            if v is None or forget:
                v = g.clone()
            else:
                v = momentum * v + g if plain else v.mul(momentum).add(g)
            if nesterov:
                step = g + momentum * v if plain else g.add(v, alpha=momentum)
            else:
                step = v
            if decoupled:
                p = p - lr * weight_decay * p
            if in_place:
                p.add_(step, alpha=-lr)
            else:
                p = p - lr * step if plain else p.add(step, alpha=-lr)
        path.append(p)
    return path


def _heavy_ball_only(p, grad, lrs, momentum, nesterov, weight_decay):
    return _Loosely(_by_hand(p, grad, lrs, momentum, False, weight_decay))


def _eta_inside(p, grad, lrs, momentum, nesterov, weight_decay):
    return _Loosely(_by_hand(p, grad, lrs, momentum, nesterov, weight_decay, eta_inside=True))


def _forgetful(p, grad, lrs, momentum, nesterov, weight_decay):
    return _Loosely(_by_hand(p, grad, lrs, momentum, nesterov, weight_decay, forget=True))


def _no_weight_decay(p, grad, lrs, momentum, nesterov, weight_decay):
    return _Loosely(_by_hand(p, grad, lrs, momentum, nesterov, 0.0))


def _decoupled(p, grad, lrs, momentum, nesterov, weight_decay):
    return _Loosely(_by_hand(p, grad, lrs, momentum, nesterov, weight_decay, decoupled=True))


def _aliased(p, grad, lrs, momentum, nesterov, weight_decay):
    return _Loosely(_by_hand(p, grad, lrs, momentum, nesterov, weight_decay, in_place=True))


def _plain_arithmetic(p, grad, lrs, momentum, nesterov, weight_decay):
    return _Loosely(_by_hand(p, grad, lrs, momentum, nesterov, weight_decay, plain=True))


def _path_cases():
    """Four runs on one least-squares problem: heavy ball and Nesterov, with and without weight
    decay, at a constant rate, a tenfold drop, a warm-up and a decay."""
    gen = torch.Generator().manual_seed(6)
    X, y = torch.randn(32, 5, generator=gen), torch.randn(32, generator=gen)
    p = torch.randn(5, generator=gen)
    schedules = (
        (0.9, False, 0.0, [0.05] * 10),
        (0.9, True, 0.0, [0.1] * 5 + [0.01] * 5),
        (0.8, False, 0.05, [0.02, 0.05, 0.1, 0.1, 0.1, 0.05, 0.02, 0.01]),
        (0.5, True, 0.05, [0.2 * 0.8**i for i in range(10)]),
    )
    return [
        dict(p=p, grad=_Gradient(X, y), lrs=lrs, momentum=mu, nesterov=nesterov, weight_decay=wd)
        for mu, nesterov, wd, lrs in schedules
    ]


_BITWISE = same_tensors(name="p", index="after iteration {}")
_ROUNDING = close_tensors(atol=1e-6, rtol=1e-4, name="p", index="after iteration {}")


def _compare_path(got, want, case):
    if not isinstance(got, (list, tuple)):
        what = "one tensor" if isinstance(got, torch.Tensor) else repr(got)
        return f"return the list of p after every update (one tensor per iteration), not {what}"
    dtype = case["p"].dtype
    other = [t.dtype for t in got if isinstance(t, torch.Tensor) and t.dtype != dtype]
    if other:
        return f"your path has dtype {other[0]}, expected {dtype}: keep p's dtype, as an optimizer does"
    return (_ROUNDING if isinstance(want, _Loosely) else _BITWISE)(got, want, case)


t1 = CodeExercise(
    "t1",
    "Write `sgd_path(p, grad, lrs, momentum, nesterov, weight_decay)`: make one update of p per "
    "rate in `lrs` (the rate a schedule sets for that iteration), as `torch.optim.SGD(momentum=..., "
    "nesterov=..., weight_decay=...)` does, by hand, with `grad(p)` the gradient at p. Return the "
    "list of p after every update. It is compared with `torch.optim.SGD` itself, bit for bit "
    "(the lesson: the same operations in the same order give the same bits), on runs with and "
    "without Nesterov and weight decay, at a constant and at changing rates.",
    reference=_torch_sgd_path,
    cases=_path_cases,
    compare=_compare_path,
    mistakes=(
        Mistake(
            _heavy_ball_only,
            "With nesterov=True your path is the heavy ball's: Nesterov steps along "
            "g + μ·v (where the velocity is about to take it), not along v.",
            hint="After updating v: `step = g.add(v, alpha=momentum) if nesterov else v`.",
        ),
        Mistake(
            _eta_inside,
            "You wrote the η-inside form (v ← μ·v + η·g, p ← p − v). It follows PyTorch's path "
            "while the rate stays constant, but when a schedule changes the rate PyTorch rescales "
            "the whole velocity at once and this form does not (section 2).",
            hint="Keep η out of the velocity: v ← μ·v + g, then p ← p − η·v.",
        ),
        Mistake(
            _forgetful,
            "Your velocity forgets: each update uses the current gradient only, which is plain "
            "gradient descent. v must carry over from one iteration to the next (v ← μ·v + g).",
            hint="Create v once, before the loop (None until the first update), and update it "
            "inside.",
        ),
        Mistake(
            _no_weight_decay,
            "Your path ignores weight_decay: torch.optim.SGD adds wd·p to the gradient before "
            "the momentum step.",
            hint="First line of each update: `g = g.add(p, alpha=weight_decay)`.",
        ),
        Mistake(
            _decoupled,
            "You decay the weight apart from the gradient (p ← p − η·wd·p, decoupled, as AdamW "
            "does). torch.optim.SGD adds wd·p to the gradient, so the decay goes through the "
            "velocity too.",
            hint="`g = g.add(p, alpha=weight_decay)` before the velocity update.",
        ),
        Mistake(
            _aliased,
            "Every entry of your list is the same tensor, the last p: an in-place update "
            "(`p.add_(...)`, `p -= ...`) changes the tensor you appended before.",
            hint="Make a new tensor each update, `p = p.add(step, alpha=-lr)`, or append "
            "`p.clone()`.",
        ),
        Mistake(
            _plain_arithmetic,
            "Your path is PyTorch's to rounding, but not bit for bit: `p - lr * v` rounds lr·v "
            "before subtracting, where torch.optim.SGD computes `p.add(v, alpha=-lr)` "
            "(and `g.add(p, alpha=wd)`, `v.mul(μ).add(g)`, `g.add(v, alpha=μ)`).",
            hint="Write each line as the one torch operation named above the cell: "
            "`x.add(y, alpha=c)` for x + c·y, `v.mul(μ).add(g)` for μ·v + g.",
            rounding_only=True,
        ),
    ),  # fmt: skip
    hint=[
        "Follow the table of section 1 line by line, once per rate in `lrs`, and keep v from one "
        "iteration to the next (None before the first).",
        "Per iteration: g = grad(p); with weight decay g ← g + wd·p; v ← μ·v + g (v = g the first "
        "time); step = g + μ·v with Nesterov, else v; p ← p − η·step.",
        "For the bits to agree, write each line with the torch operations named above the cell: "
        "`g.add(p, alpha=...)`, `v.mul(...).add(g)`, `g.add(v, alpha=...)`, `p.add(step, alpha=-lr)`.",
    ],
    solution="""def sgd_path(p, grad, lrs, momentum, nesterov, weight_decay):
    path, v = [], None
    for lr in lrs:
        g = grad(p)
        if weight_decay != 0:
            # weight decay: wd·p added to the gradient
            g = g.add(p, alpha=weight_decay)
        v = g.clone() if v is None else v.mul(momentum).add(g)  # v ← μ·v + g
        # Nesterov looks one step ahead
        step = g.add(v, alpha=momentum) if nesterov else v
        # p ← p − η·step, rounded as torch.optim.SGD rounds it
        p = p.add(step, alpha=-lr)
        path.append(p)
    return path
""",
)


# --- t2: the rate inside the velocity ---------------------------------------------------------


def _eta_inside_path(p, grad, lrs, momentum):
    """The textbook form, as ``ch.eta_inside_step`` computes it (so the story's numbers stay)."""
    path, v = [], None
    for lr in lrs:
        g = grad(p)
        v = lr * g if v is None else momentum * v + lr * g
        p = p - v
        path.append(p)
    return path


def _textbook(p, grad, lrs, momentum, *, first=None, rate_outside=False, twice=False,
              forget=False, in_place=False):  # fmt: skip
    """The η-inside form with one typical mistake switched on."""
    path, v = [], None
    for lr in lrs:
        g = grad(p)
        if rate_outside:  # PyTorch's form
            v = g if v is None else momentum * v + g
            step = lr * v
        else:
            if v is None or forget:
                v = (first or (lambda lr, g: lr * g))(lr, g)
            else:
                v = momentum * v + lr * g
            step = lr * v if twice else v
        if in_place:
            p.sub_(step)
        else:
            p = p - step
        path.append(p)
    return path


def _rate_outside(p, grad, lrs, momentum):
    return _textbook(p, grad, lrs, momentum, rate_outside=True)


def _starts_at_gradient(p, grad, lrs, momentum):
    return _textbook(p, grad, lrs, momentum, first=lambda lr, g: g)


def _rate_twice(p, grad, lrs, momentum):
    return _textbook(p, grad, lrs, momentum, twice=True)


def _no_memory(p, grad, lrs, momentum):
    return _textbook(p, grad, lrs, momentum, forget=True)


def _moved_in_place(p, grad, lrs, momentum):
    return _textbook(p, grad, lrs, momentum, in_place=True)


def _textbook_cases():
    """Float64 runs on a least-squares problem (as the story's quadratic): a constant rate, a
    tenfold drop, a climb."""
    gen = torch.Generator().manual_seed(12)
    X = torch.randn(24, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(24, generator=gen, dtype=torch.float64)
    p = torch.randn(3, generator=gen, dtype=torch.float64)
    runs = ((0.9, [0.05] * 8), (0.9, [0.1] * 4 + [0.01] * 4), (0.5, [0.02, 0.05, 0.1, 0.2, 0.2]))
    return [dict(p=p, grad=_Gradient(X, y), lrs=lrs, momentum=mu) for mu, lrs in runs]


_FLOAT64_ROUNDING = close_tensors(atol=1e-12, rtol=1e-9, name="p", index="after iteration {}")


def _compare_textbook(got, want, case):
    if not isinstance(got, (list, tuple)):
        what = "one tensor" if isinstance(got, torch.Tensor) else repr(got)
        return f"return the list of p after every update (one tensor per iteration), not {what}"
    return _FLOAT64_ROUNDING(got, want, case)


t2 = CodeExercise(
    "t2",
    "Write `eta_inside_path(p, grad, lrs, momentum)`: the textbook form of momentum with the rate "
    "inside the velocity, v ← μ·v + η·g (first update: v = η·g) and p ← p − v, one update per "
    "rate η in `lrs`, with `grad(p)` the gradient at p. Return the list of p after every update. "
    "It is compared with the course's path up to float64 rounding (a relative 1e-9), on runs "
    "whose rate stays constant, drops tenfold and climbs.",
    reference=_eta_inside_path,
    cases=_textbook_cases,
    compare=_compare_textbook,
    mistakes=(
        Mistake(
            _rate_outside,
            "That is PyTorch's form (v ← μ·v + g, p ← p − η·v): it agrees with the η-inside form "
            "while the rate stays constant, and parts from it at the first change of rate, the "
            "difference this section is about.",
            hint="Multiply the gradient by η inside the velocity, and move by v itself.",
        ),
        Mistake(
            _starts_at_gradient,
            "Your first update moves by the whole gradient: in this form the velocity starts at "
            "η·g (PyTorch's buffer starts at g, but PyTorch multiplies it by η when it moves).",
            hint="First update: v = η·g.",
        ),
        Mistake(
            _rate_twice,
            "Your steps carry the rate twice: v already holds η·g, so the move is p ← p − v, "
            "not p ← p − η·v.",
            hint="Subtract v itself.",
        ),
        Mistake(
            _no_memory,
            "Your velocity forgets: each update moves by η·g alone, which is plain gradient "
            "descent. v must carry over from one update to the next (v ← μ·v + η·g).",
            hint="Create v once, before the loop, and update it inside.",
        ),
        Mistake(
            _moved_in_place,
            "Every entry of your list is the same tensor, the last p: an in-place update "
            "(`p -= v`, `p.sub_(v)`) changes the tensor you appended before.",
            hint="Make a new tensor each update, `p = p - v`, or append `p.clone()`.",
        ),
    ),  # fmt: skip
    hint=[
        "Like `sgd_path`, with two changes: η goes into the velocity, and the move is the "
        "velocity itself.",
        "Per rate η in `lrs`: g = grad(p); v = η·g the first time, else μ·v + η·g; then p ← p − v "
        "(a new tensor), appended to the list.",
    ],
    solution="""def eta_inside_path(p, grad, lrs, momentum):
    path, v = [], None
    for lr in lrs:
        g = grad(p)
        v = lr * g if v is None else momentum * v + lr * g  # v ← μ·v + η·g
        p = p - v  # the move is the velocity itself
        path.append(p)
    return path
""",
)


# --- t3: heavy-ball momentum's convergence factor ---------------------------------------------


def _momentum_factor(lr, momentum, curvatures):
    """The package's closed form (``rate_map`` uses it): the worst direction's larger root."""
    return float(convergence_factor(lr, curvatures, momentum))


def _matrices(lr, momentum, curvatures, *, old_velocity=False):
    """Each direction's 2×2 matrix acting on (x, v); ``old_velocity``: x moves with v before
    its update."""
    if old_velocity:
        return [np.array([[1.0, -lr], [lam, momentum]]) for lam in curvatures]
    return [np.array([[1 - lr * lam, -lr * momentum], [lam, momentum]]) for lam in curvatures]


def _largest_singular_value(lr, momentum, curvatures):
    return max(np.linalg.norm(m, 2) for m in _matrices(lr, momentum, curvatures))


def _best_direction(lr, momentum, curvatures):
    return min(np.abs(np.linalg.eigvals(m)).max() for m in _matrices(lr, momentum, curvatures))


def _real_part(lr, momentum, curvatures):
    return max(np.linalg.eigvals(m).real.max() for m in _matrices(lr, momentum, curvatures))


def _without_momentum(lr, momentum, curvatures):
    return max(abs(1 - lr * lam) for lam in curvatures)


def _moves_with_old_velocity(lr, momentum, curvatures):
    matrices = _matrices(lr, momentum, curvatures, old_velocity=True)
    return max(np.abs(np.linalg.eigvals(m)).max() for m in matrices)


_FACTOR = close_tensors(atol=1e-9, rtol=1e-6, name="your factor")


def _compare_factor(got, want, case):
    value = as_number(got)
    if isinstance(value, complex):
        return f"your factor is the complex number {value}: the factor is a size, |eigenvalue|"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"return one number (the factor), not {got!r}"
    return _FACTOR(float(value), want, case)


t3 = CodeExercise(
    "t3",
    "Write `momentum_factor(lr, momentum, curvatures)`: the error kept per iteration in the long "
    "run by heavy-ball momentum (PyTorch's form) on f = ½ Σ λᵢ·xᵢ², with one curvature λ per "
    "direction: for each λ the spectral radius (largest |eigenvalue|) of the 2×2 matrix that "
    "takes (x, v) to the next (x, v), and the worst direction's. Compared with the closed form "
    "the chapter's maps use, to a relative 1e-6.",
    reference=_momentum_factor,
    cases=lambda: [
        dict(lr=1.0, momentum=0.5, curvatures=(0.02, 1.0)),
        dict(lr=3.5, momentum=0.3, curvatures=(0.02, 1.0)),
        dict(lr=0.3, momentum=0.6, curvatures=(0.5, 2.0, 8.0)),
    ],
    compare=_compare_factor,
    mistakes=(
        Mistake(
            _largest_singular_value,
            "That is the matrix's largest singular value (`np.linalg.norm(M, 2)`), how much one "
            "update can stretch (x, v) at most. The long run goes by the eigenvalues: the "
            "spectral radius, the largest |eigenvalue|.",
            hint="`np.abs(np.linalg.eigvals(M)).max()` for each direction's M.",
        ),
        Mistake(
            _best_direction,
            "You kept the fastest direction: the error shrinks only as fast as its slowest "
            "direction allows, so the worst (largest) factor counts.",
            hint="`max` over the directions, not `min`.",
        ),
        Mistake(
            _real_part,
            "You took the eigenvalues' largest real part: when they are complex (the run "
            "spirals) or negative (it zig-zags), what shrinks per iteration is their modulus.",
            hint="`np.abs(...)` of the eigenvalues before the largest.",
        ),
        Mistake(
            _without_momentum,
            "Your factor ignores μ: |1 − η·λ| is plain gradient descent's. With momentum each "
            "direction's state is the pair (x, v), and the factor comes from its 2×2 matrix.",
            hint="Build the 2×2 matrix of (x, v) → (x', v') for each λ.",
        ),
        Mistake(
            _moves_with_old_velocity,
            "Your matrix moves x with the old velocity (x' = x − η·v). PyTorch updates the "
            "velocity first and moves with the new one: x' = x − η·v' = (1 − η·λ)·x − η·μ·v.",
            hint="Substitute v' = μ·v + λ·x into the move before you read off the first row.",
        ),
    ),  # fmt: skip
    hint=[
        "Write one update for one direction: v' = μ·v + λ·x (the gradient of ½λx² is λx), then "
        "x' = x − η·v'. Substitute v' into the second line and read off the matrix of "
        "(x, v) → (x', v').",
        "Rows [1 − η·λ, −η·μ] and [λ, μ]; `np.linalg.eigvals` gives its two eigenvalues; keep "
        "the largest |eigenvalue| of each direction, then the largest over the directions.",
    ],
    solution="""import numpy as np


def momentum_factor(lr, momentum, curvatures):
    worst = 0.0
    for lam in curvatures:
        # v' = μ·v + λ·x, x' = x − η·v' = (1 − η·λ)·x − η·μ·v
        M = np.array([[1 - lr * lam, -lr * momentum], [lam, momentum]])
        # its spectral radius
        worst = max(worst, np.abs(np.linalg.eigvals(M)).max())
    return float(worst)
""",
)


# --- t4: a warm-up + cosine schedule as a LambdaLR --------------------------------------------

WARMUP_START = (
    0.01  # the warm-up's first factor: LinearLR's start_factor in schedules.warmup_cosine
)


def _warmup_cosine_lambda(warmup_iterations, total_iterations):
    def factor(t):
        if t < warmup_iterations:
            return WARMUP_START + (1 - WARMUP_START) * t / warmup_iterations
        progress = (t - warmup_iterations) / (total_iterations - warmup_iterations)
        return 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def _schedule_with(name, warmup, cosine):
    """A factory whose lambda has the warm-up ``warmup(t, W)`` and the decay ``cosine(t, W, T)``."""

    def make(warmup_iterations, total_iterations):
        W, T = warmup_iterations, total_iterations
        return lambda t: warmup(t, W) if t < W else cosine(t, W, T)

    make.__name__ = make.__qualname__ = name
    return make


def _linear_from(t, W):
    return WARMUP_START + (1 - WARMUP_START) * t / W


def _half_cosine(t, W, T):
    return 0.5 * (1 + math.cos(math.pi * (t - W) / (T - W)))


_from_zero = _schedule_with("from_zero", lambda t, W: t / W, _half_cosine)
_goyal_warmup = _schedule_with("goyal_warmup", lambda t, W: (t + 1) / W, _half_cosine)
_cosine_from_start = _schedule_with("cosine_from_start", _linear_from,
                                    lambda t, W, T: 0.5 * (1 + math.cos(math.pi * t / (T - W))))  # fmt: skip
_cosine_too_long = _schedule_with("cosine_too_long", _linear_from,
                                  lambda t, W, T: 0.5 * (1 + math.cos(math.pi * (t - W) / T)))  # fmt: skip
_bare_cosine = _schedule_with("bare_cosine", _linear_from,
                              lambda t, W, T: math.cos(math.pi * (t - W) / (T - W)))  # fmt: skip


class _NotAFunction:
    def __init__(self, returned):
        self.returned = returned


class _NotANumber:
    def __init__(self, t, value):
        self.t, self.value = t, value


def _rates(returned, args):
    """The rate of every iteration, read off an optimizer (base rate 1) whose ``LambdaLR`` uses
    the returned function; the function runs under the check's time limit."""
    if not callable(returned):
        return _NotAFunction(returned)
    with time_limit(t4.time_limit):
        for t in range(args["total_iterations"]):
            value = as_number(returned(t))
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return _NotANumber(t, value)
        make = lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, returned)  # noqa: E731
        return rate_curve(make, args["total_iterations"], lr=1.0).tolist()


_RATES = close_tensors(atol=1e-9, rtol=1e-6, name="the rate", index="at iteration {}")


def _compare_rates(got, want, case):
    if isinstance(got, _NotAFunction):
        return (
            "return the function t ↦ factor (`def factor(t): ...` inside, then `return factor`), "
            f"not a {type(got.returned).__name__}"
        )
    if isinstance(got, _NotANumber):
        return f"factor({got.t}) returned {got.value!r}: it must return a number"
    return _RATES(got, want, case)


t4 = CodeExercise(
    "t4",
    "Write `warmup_cosine_lambda(warmup_iterations, total_iterations)` returning the function "
    "t ↦ factor that `LambdaLR` multiplies the peak rate by after t scheduler steps: a linear "
    "warm-up from 0.01 at t = 0 to 1 at t = W (= warmup_iterations), then a half cosine from 1 at "
    "t = W down to 0 at t = T (= total_iterations). The check runs it in a `LambdaLR` and compares "
    "the rate of every iteration with the chapter's `warmup_cosine` schedule, to a relative 10⁻⁶.",
    reference=_warmup_cosine_lambda,
    cases=lambda: [
        dict(warmup_iterations=10, total_iterations=100),
        dict(warmup_iterations=3, total_iterations=12),
        dict(warmup_iterations=25, total_iterations=60),
    ],
    compare=_compare_rates,
    outcome=_rates,
    mistakes=(
        Mistake(
            _from_zero,
            "Your first update uses the rate 0, so it changes nothing: this warm-up starts at "
            "0.01 of the peak (LinearLR's start_factor) and climbs to 1 at t = W.",
            hint="Start the warm-up's line at 0.01, not at 0.",
        ),
        Mistake(
            _goyal_warmup,
            "Your warm-up climbs as (t + 1)/W, reaching the peak one iteration early (a common "
            "form, Goyal et al.'s). This one starts at 0.01 at t = 0 and reaches 1 at t = W.",
            hint="0.01 + 0.99·t/W for t < W.",
        ),
        Mistake(
            _cosine_from_start,
            "Your cosine is counted from t = 0 instead of from the end of the warm-up, so it "
            "starts below the peak and reaches 0 W iterations early.",
            hint="Measure the cosine's progress as (t − W)/(T − W).",
        ),
        Mistake(
            _cosine_too_long,
            "Your cosine is stretched over all T iterations, so the run ends far above 0: after "
            "the warm-up only T − W iterations are left for it.",
            hint="Divide by T − W, not T.",
        ),
        Mistake(
            _bare_cosine,
            "Your rates go negative: cos runs from 1 to −1 over half a turn. A half cosine from 1 "
            "down to 0 is (1 + cos(π·s))/2, with s from 0 to 1.",
            hint="Shift the cosine up by 1 and halve it.",
        ),
    ),  # fmt: skip
    hint=[
        "Two pieces: a straight line for t < W, then a half cosine. Check the ends: factor(0) = "
        "0.01, factor(W) = 1, factor(T) = 0.",
        "The warm-up's line goes from 0.01 to 1 as t/W goes from 0 to 1; the cosine's progress "
        "s = (t − W)/(T − W) goes from 0 to 1, and (1 + cos(π·s))/2 from 1 to 0.",
    ],
    solution="""import math


def warmup_cosine_lambda(warmup_iterations, total_iterations):
    W, T = warmup_iterations, total_iterations

    def factor(t):  # t: how many times the scheduler has been stepped
        if t < W:
            return 0.01 + 0.99 * t / W  # linear warm-up from 0.01 to 1
        # half cosine from 1 to 0
        return 0.5 * (1 + math.cos(math.pi * (t - W) / (T - W)))

    return factor
""",
)
LR1, MU1, GRADS1 = 0.1, 0.9, (1.0, 1.0)  # q1
KAPPA2 = 100.0  # q2
LR3, STEP3, GAMMA3, DRAWN3 = 0.1, 100, 0.5, 300  # q3
WD5, LR5, P5 = 0.01, 0.1, 2.0  # q5


def _momentum_p(velocity) -> float:
    """q1: p after the updates p ← p − η·v, from p = 0, with ``velocity(v, g)`` the new velocity
    (``v`` is None at the first update) and the rate applied outside it."""
    p, v = 0.0, None
    for g in GRADS1:
        v = velocity(v, g)
        p -= LR1 * v
    return p


def _polyak(kappa: float) -> float:
    """q2: Polyak's optimal momentum ((√κ − 1)/(√κ + 1))²."""
    return ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2


def _step_lr(steps: int, lr: float = LR3) -> float:
    """q3: StepLR's rate after ``steps`` scheduler steps."""
    return lr * GAMMA3 ** (steps // STEP3)


q1 = Exercise(
    "q1",
    "torch.optim.SGD(lr=0.1, momentum=0.9) starts a scalar parameter at p = 0. The gradient is 1 at both of "
    "the first two updates. What is p after the second update?",
    expect_close(
        _momentum_p(lambda v, g: g if v is None else MU1 * v + g),
        rtol=0.01,
        mistakes={
            _momentum_p(lambda v, g: g): "That is plain gradient descent, two steps of η·g: "
            "momentum adds what is left of the earlier velocity to the second step.",
            _momentum_p(lambda v, g: g if v is None else MU1 * v): "Your second velocity is μ·v "
            "alone: the new gradient is added to the decayed velocity, not replaced by it.",
            _momentum_p(
                lambda v, g: (1 - MU1) * g if v is None else MU1 * v + (1 - MU1) * g
            ): "That "
            "is the moving-average form v ← μ·v + (1 − μ)·g (SGD's `dampening`, Adam's first "
            "moment). torch.optim.SGD adds the whole gradient, v ← μ·v + g, with v = g at first.",
            -LR1 * GRADS1[0]: "That is p after the first update only; the question asks after the "
            "second.",
            -len(GRADS1) * LR1 / (1 - MU1): "You moved at the effective rate η/(1 − μ) from the "
            "start. The velocity reaches that only after building up over about 1/(1 − μ) "
            "updates; two updates in, it has barely begun.",
        },
    ),
    hint=[
        "PyTorch keeps a velocity v: the first update sets v = g, each later one v ← μ·v + g; "
        "every update then does p ← p − η·v.",
        "Write the two updates out: v₁ and p₁ first, then v₂ from v₁ and the second gradient, "
        "then p₂ = p₁ − 0.1·v₂.",
    ],
    solution="v₁ = 1, p₁ = −0.1; v₂ = 0.9·1 + 1 = 1.9, p₂ = −0.1 − 0.1·1.9 = −0.29.",
)

q2 = Exercise(
    "q2",
    "A quadratic has curvatures 1 and 100 (κ = 100). What momentum μ makes tuned heavy-ball momentum "
    "converge fastest?",
    expect_close(
        _polyak(KAPPA2),
        rtol=0.02,
        mistakes={
            math.sqrt(_polyak(KAPPA2)): "That is (√κ − 1)/(√κ + 1), the factor by which the error "
            "shrinks per iteration at the optimum; the optimal μ is that factor squared.",
            _polyak(KAPPA2**2): "You put κ where √κ belongs: Polyak's formula takes the square "
            "root of the condition number.",
            0.9: "0.9 is the usual default, not tuned to this κ: Polyak's formula gives the best μ "
            "from the condition number.",
        },
    ),
    hint=[
        "Polyak's optimum depends only on the condition number κ = λ_max/λ_min, through √κ.",
        "μ* = ((√κ − 1)/(√κ + 1))² with κ = 100.",
    ],
    solution="μ* = ((10 − 1)/(10 + 1))² = (9/11)² ≈ 0.669; the error then shrinks by 9/11 ≈ 0.818 per iteration.",
)

q3 = Exercise(
    "q3",
    "StepLR(step_size=100, gamma=0.5) on an optimizer with lr = 0.1 is stepped 300 times to draw its curve, "
    "and then that same scheduler and optimizer are used for training. What rate does the first training "
    "update use?",
    expect_close(
        _step_lr(DRAWN3),
        rtol=0.01,
        mistakes={
            _step_lr(0): "That is where a fresh scheduler starts; this one was already stepped 300 "
            "times to draw the curve, and training goes on from where it left off.",
            _step_lr(DRAWN3 - 1): "That is the rate of the last point of the curve, before the "
            "300th step; training starts after all 300 steps, the last halving included.",
            _step_lr(DRAWN3 + STEP3): "That is four halvings: a StepLR halves after its 100th, "
            "200th and 300th step, not at step 0.",
        },
    ),
    hint=[
        "Training starts wherever the curve ended: the scheduler does not know it was only drawing.",
        "Count the halvings in 300 steps, one every 100, and multiply 0.1 by 0.5 that many times.",
    ],
    solution="Three halvings: 0.1 · 0.5³ = 0.0125 — eight times smaller than intended.",
)

# q4: transfer of section 2 to numbers the chapter does not print: a rate cut in the η-inside form.
MU4, LR4, CUT4 = 0.9, 0.1, 10  # momentum, the rate before the cut, the cut
_v4 = LR4 / (1 - MU4)  # the steady velocity under a constant gradient of 1: η/(1 − μ)
_next4 = MU4 * _v4 + LR4 / CUT4 * 1.0  # the η-inside form's next step after the cut
q4 = Exercise(
    "q4",
    f"The η-inside form of momentum (v ← μ·v + η·g, p ← p − v), μ = {MU4:g}, has run long enough "
    f"at η = {LR4:g} under a constant gradient g = 1 that its velocity is steady, "
    f"v = η·g/(1 − μ) = {_v4:g}. A schedule now cuts the rate to η = {LR4 / CUT4:g}. How long "
    "is the very next step?",
    expect_close(
        _next4,
        rtol=1e-3,
        mistakes={
            LR4
            / CUT4
            / (1 - MU4): "That is PyTorch's form, where the new rate multiplies the whole "
            "velocity: in the η-inside form the velocity built at the old rate keeps its size.",
            LR4 / CUT4: "That is the newest gradient's term alone, η·g: the old velocity is still "
            "there, shrunk by μ.",
            MU4 * _v4
            + LR4: "You added the gradient at the old rate: the cut applies to the newest "
            "gradient.",
            MU4 * _v4: "The newest gradient joins the velocity too: v ← μ·v + η·g.",
        },
    ),
    hint=[
        "In this form the rate multiplies only the newest gradient; what happens to the velocity "
        "already built?",
        "The next velocity is μ times the steady one plus the new η times g, and the step is that "
        "velocity.",
    ],
    solution=f"v = {MU4:g} · {_v4:g} + {LR4 / CUT4:g} · 1 = {_next4:g}: barely shorter than the "
    f"steady {_v4:g}. In PyTorch's form the step would be {LR4 / CUT4 / (1 - MU4):g} at once, a tenth.",
)

q5 = Exercise(
    "q5",
    "With weight_decay = 0.01, lr = 0.1 and no momentum, a weight of 2.0 whose loss gradient is 0 is updated "
    "once. What is its new value?",
    expect_close(
        P5 - LR5 * WD5 * P5,
        rtol=1e-5,
        mistakes={
            P5: "Weight decay acts even when the loss gradient is 0: it adds wd·p to the gradient.",
            P5 - WD5 * P5: "You shrank the weight by wd·p without the learning rate: the decay "
            "term goes into the gradient, and the step is η times the gradient.",
            P5 - LR5 * WD5: "You added wd to the gradient; weight decay adds wd·p, proportional to "
            "the weight.",
            P5 - LR5 * 2 * WD5 * P5: "That is the gradient of wd·p² (2·wd·p): torch's weight_decay "
            "adds wd·p, the gradient of the penalty wd·p²/2.",
        },
    ),
    hint=[
        "Weight decay adds wd·p to the gradient before the step p ← p − η·g.",
        "g = 0 + 0.01·2.0; then p ← 2.0 − 0.1·g.",
    ],
    solution="g = 0 + 0.01·2 = 0.02, so p = 2 − 0.1·0.02 = 1.998.",
)


# --- q6: the best momentum at a given rate (the momentum explorer) ----------------------------

LR6 = 1.0  # the momentum explorer's starting η
_lam_min = min(0.02, 1.0)  # the flat direction of the chapter's quadratic (ch.CURVATURES)
MU6 = (1 - math.sqrt(LR6 * _lam_min)) ** 2  # where the flat direction's two roots meet
_factor6 = float(convergence_factor(LR6, (0.02, 1.0), MU6))
_start6 = float(convergence_factor(LR6, (0.02, 1.0), 0.9))
q6 = Exercise(
    "q6",
    f"The momentum explorer of section 5 starts at η = {LR6:g}, μ = 0.9, where the error is "
    f"multiplied by {_start6:.3f} per iteration. Keep η = {LR6:g}: which momentum μ makes the error shrink "
    "fastest on the chapter's quadratic? Give μ to 0.01 (the μ slider's step); your "
    "`momentum_factor` from section 5 can scan μ too.",
    expect_close(
        MU6,
        rtol=0.02,
        mistakes={
            0.9: "That is where the explorer starts, the usual default: at η = 1 the flat "
            "direction spirals there, keeping √0.9 ≈ 0.95 of its error per iteration. Less "
            "momentum does better.",
            _start6: "That is the factor at the start (error kept per iteration), not a momentum.",
            _factor6: "That is the best factor (error kept per iteration); the question asks for "
            "the momentum μ that gives it.",
            _polyak(
                1.0 / _lam_min
            ): "That is Polyak's μ* for κ = 50, the best momentum when η is tuned with it (η* ≈ 3.07). "
            "At η = 1 the best μ is different: scan μ with η fixed.",
            0.0: "Without momentum the flat direction keeps 1 − η·0.02 = 0.98 of its error per "
            "iteration: some momentum does much better.",
        },
    ),
    hint=[
        f"Fix η = {LR6:g} and move μ, watching the error kept per iteration (the readout or "
        "`momentum_factor`): it falls, then rises again.",
        "It is smallest where the flat direction (λ = 0.02) stops crawling and starts to spiral: "
        "there its matrix's two eigenvalues meet, (1 + μ − η·λ)² = 4μ, that is "
        "μ = (1 − √(η·λ))².",
    ],
    solution=f"μ = (1 − √(1 · 0.02))² ≈ {MU6:.3f}: below it the flat direction's larger "
    "eigenvalue is real and shrinks as μ grows; above it both directions spiral and keep √μ, "
    f"which grows with μ. At μ ≈ {MU6:.2f} the error shrinks by about {_factor6:.2f} per "
    f"iteration, against {_start6:.3f} at μ = 0.9.",
)
