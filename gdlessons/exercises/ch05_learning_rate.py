"""Chapter 05 exercises: gradient descent on quadratics written by hand inside the story, then
the learning rate on quadratics (the bound 2/a, the one-step rate, regimes, 2/λ_max) and the
range test.

The story's your-turn cells (checked by :class:`~gdlessons.exercises.code.CodeExercise` against
the computation the chapter ran before): t1 the run x ← x − η·λ·x on f = ½·Σ λᵢ·xᵢ², up to
float32 rounding; t2 the bound 2/λ_max from the Hessian's largest eigenvalue, to a relative 1e-5;
t3 one preconditioned step x ← x − η·P·∇f (Newton's step for P = H⁻¹, η = 1), with which the
story runs plain, Newton and diagonal preconditioning, to a relative 1e-6; t4 the snapshot of
everything a training update changes (parameters, buffers, gradients, momentum buffers), with
which the story checks that the range test leaves the model untouched.

At the end, q1–q4 take a number or a word (q1–q3 on a curvature other than the chapter's, so
that their answers are worked out, not read off the output above them); q5 and q6 take a
function: q5 finds the stability bound by running gradient descent (a saddle among its cases
tells running it from the formula), q6 gives the range test's rate at every iteration, within
float32 rounding; q7 asks what the explorer's 2-D panel shows (up to which condition number one
rate can make the run fast monotone), worked out from the two factors; q8 carries Newton's step
to a loss that is not a quadratic, x⁴/4, where it no longer lands in one step.

>>> q1.check(1 / 3).correct, q2.check(...).status, q6.check(...).status, t1.check(...).status
(True, 'not attempted', 'not attempted', 'not attempted')
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from gdlessons.exercises import Exercise, as_number, expect_choice, expect_close, expect_int
from gdlessons.exercises.code import CodeExercise, Mistake, close_tensors, first_difference
from gdlessons.landscapes import REGIMES, SLOW_ABOVE, iterates
from gdlessons.models import tutorial_mlp

A = 6.0  # q1–q3's curvature: not the chapter's a, so the answers are worked out, not read off
A_CHAPTER = 4.0  # the chapter's default a, whose bound and one-step rate are printed above
ETA3 = 0.25  # q3's rate: past 1/A, below 2/A
LAMBDAS4 = (0.5, 10.0)  # q4's curvatures

# --- t1: gradient descent on the quadratic, run by hand --------------------------------------


def _descend(curvatures, x0, lr, iterations):
    """The run the chapter drew before its your-turn cell: ``landscapes.iterates``."""
    return iterates(curvatures, x0, lr, iterations)


def _path_without_start(curvatures, x0, lr, iterations):
    lam, x = np.asarray(curvatures, dtype=float), np.asarray(x0, dtype=float)
    path = []
    for _ in range(iterations):
        x = x - lr * lam * x
        path.append(x)
    return np.array(path)


def _path_aliased(curvatures, x0, lr, iterations):
    lam, x = np.asarray(curvatures, dtype=float), np.array(x0, dtype=float)
    path = [x]
    for _ in range(iterations):
        x -= lr * lam * x  # the mistake: changes the one array every row of path is
        path.append(x)
    return np.array(path)


def _path_uphill(curvatures, x0, lr, iterations):
    lam, x = np.asarray(curvatures, dtype=float), np.asarray(x0, dtype=float)
    path = [x]
    for _ in range(iterations):
        x = x + lr * lam * x
        path.append(x)
    return np.array(path)


def _path_without_curvature(curvatures, x0, lr, iterations):
    x = np.asarray(x0, dtype=float)
    path = [x]
    for _ in range(iterations):
        x = x - lr * x
        path.append(x)
    return np.array(path)


def _path_double_gradient(curvatures, x0, lr, iterations):
    lam, x = np.asarray(curvatures, dtype=float), np.asarray(x0, dtype=float)
    path = [x]
    for _ in range(iterations):
        x = x - lr * 2 * lam * x
        path.append(x)
    return np.array(path)


def _descend_cases():
    """2-D (an oscillating and a crawling axis), 1-D divergent, 3-D: no curvature is 1, so a
    step that forgets λ shows."""
    return [
        dict(curvatures=[0.5, 3.0], x0=[1.2, -0.8], lr=0.45, iterations=12),
        dict(curvatures=[2.5], x0=[1.0], lr=0.9, iterations=8),
        dict(curvatures=[0.2, 1.5, 6.0], x0=[1.0, 2.0, -1.0], lr=0.1, iterations=20),
    ]


PATH_ROUNDING = 1e-5  # of the path's largest |coordinate|: float32 (torch's default) passes


def _as_array(got) -> np.ndarray | str:
    """The student's path as a float64 array, or a message saying why it is not one."""
    if isinstance(got, torch.Tensor):
        return got.detach().cpu().double().numpy()
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return (
            f"return the path as an array of shape (iterations + 1, d), not a {type(got).__name__}"
        )


def _compare_path(got, want, case):
    path = _as_array(got)
    if isinstance(path, str):
        return path
    if path.shape != want.shape:
        return (
            f"your path has shape {path.shape}, expected {want.shape}: one row per point (x0 "
            "first, then one per update), one column per coordinate"
        )
    atol = PATH_ROUNDING * float(np.abs(want).max())
    return first_difference(
        list(path), list(want), bitwise=False, atol=atol, rtol=PATH_ROUNDING,
        name="the point", index="at iteration {}", start=0,
    )  # fmt: skip


t1 = CodeExercise(
    "t1",
    "Write `descend(curvatures, x0, lr, iterations)`: gradient descent on f(x) = ½·Σ λᵢ·xᵢ² "
    "from x0, returning every point it visits, x0 first, as an array of shape "
    "(iterations + 1, d). One update is x ← x − η·λ·x, coordinate by coordinate (the gradient "
    "of f is λ·x). It is compared with the chapter's runs on a 2-D, a 1-D (divergent) and a 3-D "
    "quadratic, up to float32 rounding (a relative 1e-5 of the path's largest coordinate).",
    reference=_descend,
    cases=_descend_cases,
    compare=_compare_path,
    mistakes=(
        Mistake(
            _path_without_start,
            "Your path starts after the first update: row 0 must be x0 itself, then one row per "
            "update, iterations + 1 rows in all.",
            hint="Put x0 into the path before the loop, as the cell's `path = [x]` does.",
        ),
        Mistake(
            _path_aliased,
            "Every row of your path is the last point: `x -= ...` changes the array in place, "
            "and every row you appended is that same array.",
            hint="Make a new array at each update, `x = x - ...`, or append `x.copy()`.",
        ),
        Mistake(
            _path_uphill,
            "Your path climbs away from the minimum: the gradient λ·x points uphill, so the "
            "update subtracts it.",
            hint="x ← x − η·λ·x, with a minus.",
        ),
        Mistake(
            _path_without_curvature,
            "Your update ignores the curvatures: the gradient of ½·λᵢ·xᵢ² is λᵢ·xᵢ, so each "
            "coordinate moves by η·λᵢ·xᵢ, not η·xᵢ.",
            hint="Multiply by the array of curvatures `lam` too.",
        ),
        Mistake(
            _path_double_gradient,
            "Your steps are twice too long: the gradient of ½·λ·x² is λ·x (the ½ cancels the 2 "
            "of x²), not 2·λ·x.",
            hint="The step is η·λ·x, without a 2.",
        ),
    ),  # fmt: skip
    hint=[
        "Repeat `iterations` times: compute the gradient at the current point, step against it "
        "by η times it, and record the new point.",
        "With `lam` and `x` as NumPy arrays the update is one line for every coordinate at once: "
        "the gradient is `lam * x`; assign a new `x` (not `x -= ...`) and append it to `path`.",
    ],
    solution="""import numpy as np


def descend(curvatures, x0, lr, iterations):
    lam = np.asarray(curvatures, dtype=float)
    x = np.asarray(x0, dtype=float)
    path = [x]
    for _ in range(iterations):
        # the gradient of ½·Σ λᵢ·xᵢ² is λ·x, coordinate by coordinate
        x = x - lr * lam * x
        # a new array at every update: nothing appended changes later
        path.append(x)
    return np.array(path)
""",
)


# --- t2: the bound from the Hessian's largest eigenvalue -------------------------------------


def _stable_lr_at(loss, x):
    hessian = torch.autograd.functional.hessian(loss, x)
    return 2 / torch.linalg.eigvalsh(hessian).max()


def _bound_from_diagonal(loss, x):
    return 2 / torch.autograd.functional.hessian(loss, x).diagonal().max()


def _bound_from_smallest(loss, x):
    return 2 / torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss, x))[0]


def _one_step_rate(loss, x):
    return 1 / torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss, x)).max()


def _bound_from_frobenius(loss, x):
    return 2 / torch.linalg.norm(torch.autograd.functional.hessian(loss, x))


def _bound_at_zero(loss, x):
    hessian = torch.autograd.functional.hessian(loss, torch.zeros_like(x))
    return 2 / torch.linalg.eigvalsh(hessian).max()


def _rotation(angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, -s], [s, c]], dtype=torch.float64)


def _hessian_cases():
    """A tilted bowl (its axes are not the coordinates), linear regression's MSE in its three
    weights (Hessian 2/N·XᵀX) and a quartic bowl, whose curvature grows away from 0."""
    gen = torch.Generator().manual_seed(51)
    turn = _rotation(0.5)
    tilted = turn @ torch.diag(torch.tensor([0.8, 5.0], dtype=torch.float64)) @ turn.T
    shift = torch.tensor([0.3, -0.7], dtype=torch.float64)

    def tilted_bowl(x):
        return 0.5 * x @ tilted @ x + shift @ x

    X = torch.randn(20, 3, generator=gen, dtype=torch.float64) @ torch.tensor(
        [[1.0, 0.6, 0.0], [0.0, 1.0, 0.4], [0.0, 0.0, 0.5]], dtype=torch.float64
    )
    y = torch.randn(20, generator=gen, dtype=torch.float64)

    def linear_regression_mse(w):
        return ((X @ w - y) ** 2).mean()

    bowl = (
        _rotation(1.1)
        @ torch.diag(torch.tensor([0.5, 2.0], dtype=torch.float64))
        @ _rotation(1.1).T
    )

    def quartic_bowl(x):
        return (x**4).sum() / 4 + 0.5 * x @ bowl @ x

    return [
        dict(loss=tilted_bowl, x=torch.tensor([0.3, -1.0], dtype=torch.float64)),
        dict(loss=linear_regression_mse, x=torch.randn(3, generator=gen, dtype=torch.float64)),
        dict(loss=quartic_bowl, x=torch.tensor([1.5, -0.5], dtype=torch.float64)),
    ]


HESSIAN_RTOL = 1e-5  # float32 eigenvalues pass


def _compare_bound_at(got, want, case):
    value = as_number(got)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"return the bound as a number (a float or a one-element tensor), not {got!r}"
    if math.isclose(value, float(want), rel_tol=HESSIAN_RTOL):
        return None
    where = ", ".join(f"{v:.3g}" for v in case["x"].tolist())
    return (
        f"on `{case['loss'].__name__}` at x = ({where}) your bound is {value:.4g}, expected "
        f"{float(want):.4g}"
    )


t2 = CodeExercise(
    "t2",
    "Write `stable_lr_at(loss, x)`: the largest learning rate at which gradient descent "
    "converges near the point x (a 1-D tensor), 2/λ_max, where λ_max is the largest eigenvalue "
    "of the Hessian of `loss` at x. Use `torch.autograd.functional.hessian(loss, x)` for the "
    "Hessian and `torch.linalg.eigvalsh` for its eigenvalues. It is checked on a tilted bowl, "
    "linear regression's mean squared error and a quartic bowl (whose curvature changes from "
    "point to point), to a relative 1e-5.",
    reference=_stable_lr_at,
    cases=_hessian_cases,
    compare=_compare_bound_at,
    mistakes=(
        Mistake(
            _bound_from_diagonal,
            "You read the curvatures off the Hessian's diagonal. They are its eigenvalues only "
            "when the quadratic's axes are the coordinates (a diagonal Hessian, as in the "
            "chapter's bowl); on a tilted bowl the steepest direction is steeper than any "
            "diagonal entry says.",
            hint="Take the eigenvalues: `torch.linalg.eigvalsh(hessian)`.",
        ),
        Mistake(
            _bound_from_smallest,
            "Your bound is the flattest direction's, 2/λ_min: `torch.linalg.eigvalsh` lists the "
            "eigenvalues in ascending order, so `[0]` is the smallest. At that rate the steepest "
            "direction diverges.",
            hint="Take the largest eigenvalue: `.max()`, or the last one, `[-1]`.",
        ),
        Mistake(
            _one_step_rate,
            "That is 1/λ_max, the rate at which the steepest direction lands in one step. Larger "
            "rates still converge, oscillating, until its factor 1 − η·λ_max reaches −1.",
            hint="The bound is where 1 − η·λ_max = −1.",
        ),
        Mistake(
            _bound_from_frobenius,
            "`torch.linalg.norm` of a matrix is its Frobenius norm, √(Σ λᵢ²) for a symmetric "
            "matrix: larger than λ_max whenever another curvature is not zero, so your bound is "
            "too cautious.",
            hint="Take the largest eigenvalue itself (or the spectral norm, `ord=2`).",
        ),
        Mistake(
            _bound_at_zero,
            "Your bound is right on the two quadratics but not on the quartic bowl: you took the "
            "Hessian at 0, and a loss that is not quadratic curves differently at every point. "
            "The bound holds near x, from the Hessian at x.",
            hint="Pass x itself to `hessian(loss, x)`.",
        ),
    ),  # fmt: skip
    hint=[
        "Two lines: the Hessian of `loss` at x (a d × d matrix of second derivatives), then 2 "
        "divided by its largest eigenvalue.",
        "`torch.autograd.functional.hessian(loss, x)` gives the matrix; `torch.linalg.eigvalsh` "
        "its eigenvalues, smallest first.",
    ],
    solution="""import torch


def stable_lr_at(loss, x):
    # second derivatives of loss at x
    hessian = torch.autograd.functional.hessian(loss, x)
    # the steepest direction sets the bound
    return 2 / torch.linalg.eigvalsh(hessian).max()
""",
)


# --- t3: one preconditioned step -------------------------------------------------------------


def _preconditioned_step(x, grad, P, lr):
    """x ← x − η·P·∇f: P = I is plain gradient descent, P = H⁻¹ with η = 1 Newton's step."""
    return x - lr * P @ grad


def _step_inverting_P(x, grad, P, lr):
    return x - lr * np.linalg.solve(P, grad)  # P⁻¹·∇f: P taken for the Hessian


def _step_elementwise(x, grad, P, lr):
    return x - lr * P * grad  # entry by entry: a d × d matrix, not a point


def _step_diagonal_only(x, grad, P, lr):
    return x - lr * np.diag(P) * grad


def _step_without_rate(x, grad, P, lr):
    return x - P @ grad


def _step_uphill(x, grad, P, lr):
    return x + lr * P @ grad


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    """A full symmetric positive-definite d × d matrix, far from its own inverse."""
    A = rng.normal(size=(d, d))
    return A @ A.T + 0.5 * np.eye(d)


def _step_cases():
    """A full P on a 2-D and a 3-D point at rates other than 1, and Newton's step on a turned
    bowl (P = H⁻¹, η = 1), where the step lands on the minimum: every mistake shows in some case."""
    rng = np.random.default_rng(57)
    cases = []
    for d, lr in ((2, 0.3), (3, 0.05)):
        cases.append(dict(x=rng.normal(size=d), grad=rng.normal(size=d), P=_spd(rng, d), lr=lr))
    turn = np.array([[math.cos(0.6), -math.sin(0.6)], [math.sin(0.6), math.cos(0.6)]])
    hessian = turn @ np.diag([0.2, 5.0]) @ turn.T
    x = np.array([1.2, -0.7])
    cases.append(dict(x=x, grad=hessian @ x, P=np.linalg.inv(hessian), lr=1.0))
    return cases


STEP_RTOL = 1e-6  # float32 arithmetic (a torch answer in torch's default dtype) passes


def _compare_step(got, want, case):
    point = _as_array(got)
    if isinstance(point, str):
        return f"return the new point as an array of d numbers, not a {type(got).__name__}"
    if point.shape != want.shape:
        return (
            f"your new point has shape {point.shape}, expected {want.shape}: one number per "
            "coordinate of x"
        )
    scale = float(
        np.abs(case["x"]).max() + abs(case["lr"]) * np.abs(case["P"] @ case["grad"]).max()
    )
    return first_difference(
        point, want, bitwise=False, atol=STEP_RTOL * scale, rtol=STEP_RTOL, name="your new point"
    )


t3 = CodeExercise(
    "t3",
    "Write `preconditioned_step(x, grad, P, lr)`: one preconditioned update x ← x − η·P·∇f, "
    "returning the new point. `x` and `grad` are NumPy vectors of d numbers, `P` a d × d matrix "
    "(the preconditioner) and `lr` the rate η. P = I is plain gradient descent; P = H⁻¹ with "
    "η = 1 is Newton's step. It is compared with the course's step on a 2-D and a 3-D point with "
    "a full matrix P and a rate other than 1, and on Newton's step on a turned bowl, to a "
    "relative 1e-6 (float32 passes).",
    reference=_preconditioned_step,
    cases=_step_cases,
    compare=_compare_step,
    mistakes=(
        Mistake(
            _step_inverting_P,
            "Your step divides by P (it solves P·s = ∇f, or multiplies by P⁻¹): that takes P for "
            "the Hessian. P is the preconditioner itself, already the inverse H⁻¹ for Newton's "
            "step: the step multiplies the gradient by P.",
            hint="Multiply: `P @ grad`, no inverse and no solve.",
        ),
        Mistake(
            _step_elementwise,
            "Your new point is a d × d matrix: `P * grad` multiplies entry by entry (NumPy "
            "broadcasts grad along P's rows). P·∇f is the matrix-vector product, a vector of d "
            "numbers.",
            hint="`P @ grad` is the matrix-vector product.",
        ),
        Mistake(
            _step_diagonal_only,
            "Your step uses only P's diagonal, dividing each coordinate on its own: that is the "
            "diagonal preconditioner, right only when P is diagonal. A full P mixes the "
            "coordinates: each entry of P·∇f is a row of P times the whole gradient.",
            hint="Use the whole matrix: `P @ grad`.",
        ),
        Mistake(
            _step_without_rate,
            "Your step leaves out the rate: it moves by P·∇f whatever η is. It is right only for "
            "Newton's step, where η = 1.",
            hint="Scale P·∇f by `lr` before subtracting it.",
        ),
        Mistake(
            _step_uphill,
            "Your step climbs: it adds η·P·∇f. The gradient points uphill, and a preconditioner "
            "(positive definite) keeps it pointing uphill, so the update subtracts it.",
            hint="x − η·P·∇f, with a minus.",
        ),
    ),  # fmt: skip
    hint=[
        "A preconditioned step is a gradient step in which the matrix P reshapes the gradient "
        "first: compute P·∇f, then move against it by η times it.",
        "With NumPy arrays, `P @ grad` is the matrix-vector product (`P * grad` multiplies entry "
        "by entry); the new point is x minus `lr` times that product.",
    ],
    solution="""def preconditioned_step(x, grad, P, lr):
    # P = I: gradient descent; P = H⁻¹, lr = 1: Newton's step
    return x - lr * P @ grad
""",
)


# --- t4: a snapshot of everything training changes -------------------------------------------


def _snapshot(model, optimizer):
    """The chapter's snapshot: parameters, buffers, gradients and the momentum buffers, cloned."""
    tensors = [*model.state_dict().values(), *(p.grad for p in model.parameters())]
    return [t.clone() for t in tensors + [s["momentum_buffer"] for s in optimizer.state.values()]]


def _snapshot_not_cloned(model, optimizer):
    tensors = [*model.state_dict().values(), *(p.grad for p in model.parameters())]
    return tensors + [s["momentum_buffer"] for s in optimizer.state.values()]


def _snapshot_without_buffers(model, optimizer):
    tensors = [*model.parameters(), *(p.grad for p in model.parameters())]
    tensors += [s["momentum_buffer"] for s in optimizer.state.values()]
    return [t.detach().clone() for t in tensors]


def _snapshot_without_gradients(model, optimizer):
    tensors = list(model.state_dict().values())
    return [t.clone() for t in tensors + [s["momentum_buffer"] for s in optimizer.state.values()]]


def _snapshot_without_momentum(model, optimizer):
    tensors = [*model.state_dict().values(), *(p.grad for p in model.parameters())]
    return [t.clone() for t in tensors]


def _snapshot_case(model: nn.Module, momentum: float, seed: int) -> dict:
    """A model whose gradients, momentum buffers (and batch-norm statistics) all hold values,
    after two updates: the buffers then differ from the gradients, so each is told apart."""
    gen = torch.Generator().manual_seed(seed)
    X, y = torch.randn(16, 1, generator=gen), torch.randn(16, 1, generator=gen)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=momentum)
    for rows in (slice(0, 8), slice(8, 16)):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(X[rows]), y[rows]).backward()
        optimizer.step()
    torch.nn.functional.mse_loss(model(X), y).backward()  # fresh gradients, not yet used
    return dict(model=model, optimizer=optimizer)


def _snapshot_cases():
    with torch.random.fork_rng():  # the global generator is left as it was
        torch.manual_seed(52)
        normed = nn.Sequential(nn.Linear(1, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 1))
    return [_snapshot_case(normed, 0.9, 53), _snapshot_case(tutorial_mlp(seed=4), 0.5, 54)]


def _owners(model: nn.Module, optimizer) -> dict[int, str]:
    """Which of the model's and optimizer's tensors lives at each storage address."""
    names = {id(p): n for n, p in model.named_parameters()}
    owners = {t.data_ptr(): f"`{k}`" for k, t in model.state_dict().items()}
    owners.update({p.grad.data_ptr(): f"`{n}.grad`" for n, p in model.named_parameters()
                   if p.grad is not None})  # fmt: skip
    for p, state in optimizer.state.items():
        if isinstance(state.get("momentum_buffer"), torch.Tensor):
            owners[state["momentum_buffer"].data_ptr()] = f"the momentum buffer of `{names[id(p)]}`"
    return owners


def _train_on(returned, args):
    """What the snapshot holds after one more forward (batch norm updates its statistics),
    backward (adding into each .grad in place) and step (parameters and momentum buffers, in
    place): a snapshot that holds the model's own tensors instead of copies moves with them.
    Those are named too (``shared``), found by their storage before the step."""
    model, optimizer = args["model"], args["optimizer"]
    if not isinstance(returned, (list, tuple)):
        return {"copies": returned, "shared": []}
    owners = _owners(model, optimizer)
    shared = [owners[t.data_ptr()] for t in returned
              if isinstance(t, torch.Tensor) and t.data_ptr() in owners]  # fmt: skip
    gen = torch.Generator().manual_seed(55)
    X, y = torch.randn(8, 1, generator=gen), torch.randn(8, 1, generator=gen)
    torch.nn.functional.mse_loss(model(X), y).backward()
    optimizer.step()
    copies = [t.detach().clone() if isinstance(t, torch.Tensor) else t for t in returned]
    return {"copies": copies, "shared": list(dict.fromkeys(shared))}


def _labels(model: nn.Module, optimizer) -> list[str]:
    """What each tensor of the reference's snapshot is, in its order, in the chapter's words."""
    names = {id(p): n for n, p in model.named_parameters()}
    params = set(names.values())
    labels = [
        f"the parameter `{k}`" if k in params
        else f"the buffer `{k}` (buffers are in model.state_dict(), not in model.parameters())"
        for k in model.state_dict()
    ]  # fmt: skip
    labels += [f"`{n}.grad` (gradients are not in model.state_dict())" for n in names.values()]
    labels += [
        f"the momentum buffer of `{names[id(p)]}` (it lives in optimizer.state)"
        for p in optimizer.state
    ]
    return labels


def _compare_snapshot(got, want, case):
    copies = got["copies"]
    if not isinstance(copies, (list, tuple)) or not all(
        isinstance(t, torch.Tensor) for t in copies
    ):
        return f"return a list of tensors (the copies), not a {type(copies).__name__}"
    if got["shared"] != want["shared"]:
        if not got["shared"]:
            return "your snapshot copies tensors that should not have been copied"
        return (
            f"your snapshot holds {got['shared'][0]} itself, not a copy: training changes it in "
            "place, and your 'before' with it (`.clone()` each tensor)"
        )
    unused = list(copies)
    for label, tensor in zip(_labels(case["model"], case["optimizer"]), want["copies"]):
        at = next(
            (i for i, t in enumerate(unused) if t.shape == tensor.shape and torch.equal(t, tensor)),
            None,
        )
        if at is None:
            return (
                f"your snapshot holds no copy of {label} as it was when you took the snapshot "
                "(a tensor put in without `.clone()` moves on when training does)"
            )
        del unused[at]  # each copy stands for one tensor only
    return None


t4 = CodeExercise(
    "t4",
    "Write `snapshot(model, optimizer)`: a list of copies of every tensor a training update "
    "changes: the model's parameters and buffers (`model.state_dict()`), every parameter's "
    "`.grad`, and the optimizer's momentum buffers (`optimizer.state[p]['momentum_buffer']`), "
    "each cloned, so that comparing two snapshots with `torch.equal` tells whether anything "
    "moved. The check takes your snapshot, trains one more step, and looks in your list for an "
    "exact copy of each tensor as it was; the order does not matter.",
    reference=_snapshot,
    cases=_snapshot_cases,
    outcome=_train_on,
    compare=_compare_snapshot,
    mistakes=(
        Mistake(
            _snapshot_not_cloned,
            "Your snapshot holds the model's and the optimizer's own tensors, not copies: when "
            "training changes them in place, your 'before' changes too, and every comparison "
            "would say nothing moved.",
            hint="Clone each tensor: `t.clone()`.",
        ),
        Mistake(
            _snapshot_without_buffers,
            "Your snapshot leaves out the buffers, such as batch norm's running mean and "
            "variance: training changes them too, and they are in `model.state_dict()`, not in "
            "`model.parameters()`.",
            hint="Start from `model.state_dict().values()`: parameters and buffers.",
        ),
        Mistake(
            _snapshot_without_gradients,
            "Your snapshot leaves out the gradients: `model.state_dict()` holds parameters and "
            "buffers but no `.grad`, and the range test promises to leave those as they were too.",
            hint="Add `p.grad` for every `p` in `model.parameters()`.",
        ),
        Mistake(
            _snapshot_without_momentum,
            "Your snapshot leaves out the optimizer's momentum buffers: they are not part of the "
            "model but of the optimizer, in `optimizer.state`, one dict per parameter.",
            hint="Add `s['momentum_buffer']` for every `s` in `optimizer.state.values()`.",
        ),
    ),  # fmt: skip
    hint=[
        "Three places hold what training changes: the model's state dict (parameters and "
        "buffers), each parameter's `.grad`, and the optimizer's per-parameter state. Collect "
        "them into one list, then copy every one.",
        "`model.state_dict().values()`, `p.grad for p in model.parameters()`, "
        "`s['momentum_buffer'] for s in optimizer.state.values()`; then `.clone()` each.",
    ],
    solution="""def snapshot(model, optimizer):
    tensors = list(model.state_dict().values())  # parameters and buffers
    # gradients: not in the state dict
    tensors += [p.grad for p in model.parameters()]
    # the optimizer's
    tensors += [s["momentum_buffer"] for s in optimizer.state.values()]
    # copies: the originals move when training does
    return [t.clone() for t in tensors]
""",
)


q1 = Exercise(
    "q1",
    f"Gradient descent on f(x) = a·x²/2 with a = {A:g} converges for every learning rate η below "
    "a bound, and for none at or above it. What is the bound?",
    expect_close(
        2 / A,
        rtol=0.01,
        mistakes={
            1 / A: "That is the one-step rate, where the factor 1 − η·a is 0. Larger rates still "
            "converge: x overshoots and flips side, but the factor's size stays below 1 for a while.",
            2
            / A_CHAPTER: f"That is the bound for a = {A_CHAPTER:g}, the curvature of the chapter's "
            f"run printed above; this question's quadratic has a = {A:g}.",
            A / 2: "The formula is upside down: a steeper quadratic (larger a) allows a smaller "
            "rate, not a larger one.",
        },
    ),
    hint=[
        "One update multiplies x by the factor 1 − η·a. For which η does that factor have size "
        "below 1?",
        f"Solve |1 − {A:g}·η| < 1: the largest η is where the factor reaches −1.",
    ],
    solution=f"|1 − {A:g}η| < 1 ⇔ 0 < η < 2/{A:g} = 1/3 ≈ 0.333. At η = 1/3 exactly x flips sign "
    "forever without shrinking; above it the run diverges.",
)

q2 = Exercise(
    "q2",
    f"Same f(x) = {A:g}·x²/2. Which learning rate takes x to the minimum in exactly one iteration, "
    "from any start?",
    expect_close(
        1 / A,
        rtol=0.01,
        mistakes={
            2 / A: "That is the stability bound: there the factor 1 − η·a is −1 and x flips sign "
            "forever without shrinking. Landing on the minimum needs a factor of exactly 0.",
            1 / A_CHAPTER: f"That is the one-step rate for a = {A_CHAPTER:g}, the curvature of the "
            f"chapter's run printed above; this question's quadratic has a = {A:g}.",
            A: "That is the curvature itself: a steeper quadratic needs a smaller rate to land on "
            "its minimum, not a larger one.",
        },
    ),
    hint=[
        "After one update x becomes (1 − η·a)·x. What must that factor be for x to land on 0 "
        "from any start?",
        f"Set 1 − {A:g}·η = 0 and solve for η.",
    ],
    solution=f"1 − {A:g}η = 0 ⇔ η = 1/a = 1/6 ≈ 0.167: Newton's step, which divides the gradient by "
    "the curvature (P = H⁻¹ = 1/a, in the section 'Preconditioning: a rate per direction'). Below "
    "it the run approaches 0 from one side; between 1/6 and 1/3 it overshoots and oscillates.",
)

q3 = Exercise(
    "q3",
    f"Same f(x) = {A:g}·x²/2 with η = {ETA3:g}. Which regime is it? One of {', '.join(REGIMES)}.",
    expect_choice(
        "oscillating",
        REGIMES,
        mistakes={
            "divergent": "Diverging needs a factor 1 − η·a of size 1 or more, that is η ≥ 2/a. "
            "Did you take 1/a, the one-step rate, for the bound?",
            "fast monotone": "Below the bound 2/a the run converges, but it approaches 0 from one "
            "side only while the factor 1 − η·a is not negative, that is η ≤ 1/a. Compare η with 1/a.",
            "slow": "'slow' is for a factor 1 − η·a close to +1 (a tiny η). Work the factor out: "
            "its sign matters as much as its size.",
        },
    ),
    hint=[
        "Compute the factor r = 1 − η·a: its sign says whether x flips side, its size whether it "
        "shrinks.",
        f"r = 1 − {ETA3:g}·{A:g}; then find that r in the table of regimes at the start of the chapter.",
    ],
    solution=f"1 − {ETA3:g}·{A:g} = −0.5: x flips sign every iteration while shrinking by half: "
    "oscillating (but converging).",
)

q4 = Exercise(
    "q4",
    "A 2-D quadratic has curvatures λ = (0.5, 10), condition number 20. What is the largest "
    "learning rate that converges?",
    expect_close(
        2 / max(LAMBDAS4),
        rtol=0.01,
        mistakes={
            2 / min(LAMBDAS4): "That is the flat direction's bound 2/λ_min: at that rate the "
            "steep direction diverges. The run converges only if every direction does.",
            1 / max(LAMBDAS4): "That is 1/λ_max, the largest rate at which the steep direction "
            "does not overshoot. An oscillating direction still converges while its factor's size "
            "is below 1.",
            2 / sum(LAMBDAS4): "That is 2/(λ_min + λ_max), the rate that converges fastest (both "
            "directions shrink by the same factor). The question asks for the largest rate that "
            "converges at all.",
        },
    ),
    hint=[
        "Each direction i has its own factor 1 − η·λᵢ, and the run converges only if every "
        "factor has size below 1.",
        "Each direction alone would allow η < 2/λᵢ. Which of the two bounds binds?",
    ],
    solution="The steep direction sets it: η < 2/λ_max = 2/10 = 0.2. The flat direction would "
    "tolerate up to 2/0.5 = 4, but at η just below 0.2 it still keeps 1 − 0.2·0.5 = 0.9 of its "
    "error per iteration: the crawl that a high condition number causes.",
)

# --- q5: the stability bound, found by running gradient descent -------------------------------


def _worst_factor(lr: float, curvatures) -> float:
    """max over the directions of |1 − η·λ|: below 1 the run converges, at 1 or above it does not."""
    return max(abs(1 - lr * lam) for lam in curvatures)


def _converges(lr: float, curvatures) -> bool:
    """What running 200 iterations from x = (1, …, 1) shows: the largest coordinate shrank, which
    on f = ½·Σ λᵢ·xᵢ² happens exactly when every factor 1 − η·λᵢ has size below 1."""
    return _worst_factor(lr, curvatures) < 1


def _largest_stable_lr(curvatures, lrs):
    stable = [lr for lr in lrs if _converges(lr, curvatures)]
    return max(stable) if stable else None


def _closed_form(curvatures, lrs):
    """The shortcut the prompt forbids: the bound 2/λ_max, right on a bowl, wrong on a saddle."""
    stable = [lr for lr in lrs if lr < 2 / max(curvatures)]
    return max(stable) if stable else None


def _flat_direction_bound(curvatures, lrs):
    stable = [lr for lr in lrs if abs(1 - lr * min(curvatures)) < 1]
    return max(stable) if stable else None


def _never_overshoots(curvatures, lrs):
    monotone = [lr for lr in lrs if all(1 - lr * lam >= 0 for lam in curvatures)]
    return max(monotone) if monotone else None


def _first_divergent(curvatures, lrs):
    return next((lr for lr in lrs if _worst_factor(lr, curvatures) >= 1), None)


def _candidates(lam_low: float, lam_high: float, edges, rng) -> list[float]:
    """About 36 rates spaced about 20% apart from far below 1/lam_high to past 2.6/lam_low, none
    within 4% of an edge, so every candidate's fate is plain after a few hundred iterations."""
    grid = np.geomspace(0.05 / lam_high, 2.6 / lam_low, 36) * np.exp(rng.uniform(-0.04, 0.04, 36))
    lrs = [float(f"{lr:.3g}") for lr in grid if all(abs(lr / e - 1) > 0.04 for e in edges)]
    return sorted(set(lrs))


def _bound_cases():
    """Three bowls (1-D, 2-D, 3-D, every curvature positive), whose answer is the largest
    candidate below 2/λ_max, with candidates on both sides of 1/λ_max, 2/λ_max and 2/λ_min; and
    a saddle (one curvature negative), on which no rate converges: the formula 2/λ_max still
    offers one, running gradient descent shows that none exists."""
    rng = np.random.default_rng(5)
    cases = []
    for d, kappa in ((1, 1.0), (2, 12.0), (3, 8.0)):  # κ ≤ 13: 200 updates stay below overflow
        lam_max = round(float(rng.uniform(1.0, 8.0)), 2)
        inner = rng.uniform(1 / kappa, 1.0, size=d - 2) if d > 2 else []
        lam = sorted(
            {round(lam_max / kappa, 3), *(round(float(lam_max * x), 3) for x in inner), lam_max}
        )
        edges = (1 / lam[-1], 2 / lam[-1], 2 / lam[0])
        cases.append(dict(curvatures=lam, lrs=_candidates(lam[0], lam[-1], edges, rng)))
    saddle = [-0.3, 2.6]  # x₁ rolls away at every rate: its factor 1 + 0.3·η is above 1
    edges = (1 / saddle[-1], 2 / saddle[-1])
    cases.append(dict(curvatures=saddle, lrs=_candidates(2.6, saddle[-1], edges, rng)))
    return cases


def _compare_bound(got, want, case):
    lrs, lam = case["lrs"], case["curvatures"]
    if got is None and want is None:
        return None
    value = as_number(got)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return (
            f"return one of the candidate rates (a number), not {got!r}: one converges on λ = {lam}"
        )
    if not any(math.isclose(value, lr, rel_tol=1e-9) for lr in lrs):
        return f"{value:g} is not one of the candidate rates in `lrs`"
    if want is None:
        lam_min = min(lam)
        return (
            f"on λ = {lam} (a saddle: λ = {lam_min:g} is negative) the rate η = {value:.3g} does "
            f"not converge: along that direction each iteration multiplies the error by "
            f"1 − η·λ = {1 - value * lam_min:.2f}, above 1, and so does every candidate. Return "
            "None when no candidate converges"
        )
    if math.isclose(value, want, rel_tol=1e-9):
        return None
    factor = _worst_factor(value, lam)
    if factor >= 1:
        return (
            f"the rate η = {value:.3g} diverges on λ = {lam}: along the steepest direction each iteration "
            f"multiplies the error by |1 − η·λ_max| = {factor:.2f}, which is not below 1"
        )
    return (
        f"the rate η = {value:.3g} converges on λ = {lam} (it keeps {factor:.2f} of the error per "
        "iteration), but a larger candidate converges too"
    )


q5 = CodeExercise(
    "q5",
    "Write `largest_stable_lr(curvatures, lrs)`: among the candidate rates `lrs` (in increasing "
    "order), return the largest at which gradient descent on f(x) = ½·Σ λᵢ·xᵢ² converges (None if "
    "none does), found by running it, not by a formula: start every run at x = (1, …, 1), make 200 "
    "updates x ← x − η·λ·x (the gradient of f is λ·x, coordinate by coordinate), and call it "
    "convergent if it ends closer to the minimum than it started (its largest |coordinate| shrank). "
    "It is checked on three bowls, where the answer must agree with the bound 2/λ_max, and on a "
    "saddle (one curvature negative, which `L.iterates` refuses), where that bound does not apply.",
    reference=_largest_stable_lr,
    cases=_bound_cases,
    compare=_compare_bound,
    mistakes=(
        Mistake(
            _closed_form,
            "Your answers follow the formula η < 2/λ_max, which the question asks you not to use: "
            "it holds only when every curvature is positive. On the saddle λ = [-0.3, 2.6] no "
            "rate converges (the negative direction rolls away at every rate), and only running "
            "gradient descent shows it.",
            hint="Run the 200 updates for every candidate and judge each by where it ends.",
        ),
        Mistake(
            _flat_direction_bound,
            "Your rate keeps only the flattest direction stable: it is below 2/λ_min but above "
            "2/λ_max, so the steepest direction diverges. A run converges only if every "
            "direction does.",
            hint="Look at every coordinate of x, not only the first.",
        ),
        Mistake(
            _never_overshoots,
            "Your rate is the largest that never overshoots (η ≤ 1/λ_max, no oscillation). But "
            "an oscillating run converges too, as long as its swings shrink.",
            hint="Compare where the run ends with where it started, not the sign of its steps.",
        ),
        Mistake(
            _first_divergent,
            "You returned the first candidate that diverges; the question asks for the last one "
            "that converges, the candidate just before it.",
        ),
    ),  # fmt: skip
    hint=[
        "For every candidate rate, run the 200 updates yourself: start from "
        "`x = np.ones(len(curvatures))` and apply x ← x − η·λ·x with λ as an array; then look "
        "at where the run ends.",
        "A run converged if `np.abs(x).max() < 1` at the end (it started at 1). Remember the "
        "last candidate for which that holds, starting from None.",
    ],
    solution="""import numpy as np


def largest_stable_lr(curvatures, lrs):
    lam = np.asarray(curvatures, dtype=float)
    largest = None  # if no candidate converges
    for lr in lrs:
        x = np.ones(len(lam))
        for _ in range(200):
            x = x - lr * lam * x  # one update: the gradient of f is λ·x
        if np.abs(x).max() < 1:  # ended closer to the minimum than it started
            largest = lr
    return largest
""",
)


# --- q6: the range test's rate at every iteration ---------------------------------------------


# float32 (what torch.logspace and torch tensors give by default) rounds the rates to a relative
# 6e-8 each, and a sweep of a few hundred of them builds up to a few 1e-7: 1e-5 passes any of them.
SWEEP_RTOL = 1e-5


def _sweep_rates(start_lr, end_lr, iterations):
    """As ``lr_range_test`` sets them: a ``LambdaLR`` multiplies ``start_lr`` by factorⁱ."""
    factor = (end_lr / start_lr) ** (1 / (iterations - 1))
    return [start_lr * factor**i for i in range(iterations)]


def _sweep_short(start_lr, end_lr, iterations):
    return [start_lr * (end_lr / start_lr) ** (i / iterations) for i in range(iterations)]


def _sweep_from_one(start_lr, end_lr, iterations):
    return [start_lr * (end_lr / start_lr) ** (i / iterations) for i in range(1, iterations + 1)]


def _sweep_linear(start_lr, end_lr, iterations):
    return np.linspace(start_lr, end_lr, iterations).tolist()


def _sweep_cases():
    rng = np.random.default_rng(6)
    cases = [dict(start_lr=1e-5, end_lr=10.0, iterations=200)]
    for _ in range(2):
        start = float(f"{10 ** rng.uniform(-6, -3):.2g}")
        end = float(f"{10 ** rng.uniform(-1, 1):.2g}")
        cases.append(dict(start_lr=start, end_lr=end, iterations=int(rng.integers(8, 80))))
    return cases


q6 = CodeExercise(
    "q6",
    "Write `sweep_rates(start_lr, end_lr, iterations)`: the list of the `iterations` learning rates "
    "of a range test, the rate of iteration i (counted from 0) at index i. They grow geometrically "
    "from `start_lr` at the first iteration to `end_lr` at the last. They are compared with the "
    "rates `lr_range_test` uses, to a relative 10⁻⁵, so float32 results (`torch.logspace`'s "
    "default) pass.",
    reference=_sweep_rates,
    cases=_sweep_cases,
    compare=close_tensors(
        atol=0.0, rtol=SWEEP_RTOL, name="the rate", index="at iteration i = {}", start=0
    ),
    mistakes=(
        Mistake(
            _sweep_short,
            "Your sweep stops short of end_lr: with the exponent i/N the last iteration, "
            "i = N − 1, gets (N − 1)/N of the way. The exponent must reach 1 at i = N − 1.",
            hint="Use i / (iterations - 1).",
        ),
        Mistake(
            _sweep_from_one,
            "Your sweep ends at end_lr but never uses start_lr: iteration 0 must run at "
            "start_lr itself, the exponent starting at 0.",
        ),
        Mistake(
            _sweep_linear,
            "Your rates grow by equal steps, so almost the whole sweep is spent on rates near "
            "end_lr. The range test multiplies the rate by the same factor every iteration, "
            "giving each decade as many iterations.",
            hint="ηᵢ = start_lr · (end_lr / start_lr) ** (i / (N − 1)).",
        ),
    ),  # fmt: skip
    hint=[
        "Geometric means every rate is the one before times the same factor; iteration 0 runs at "
        "start_lr and iteration N − 1 at end_lr, so N − 1 such factors take start_lr to end_lr.",
        "The factor is (end_lr / start_lr) ** (1 / (N − 1)), so ηᵢ = start_lr times the factor "
        "to the power i.",
    ],
    solution="""def sweep_rates(start_lr, end_lr, iterations):
    ratio = end_lr / start_lr
    steps = iterations - 1
    return [start_lr * ratio ** (i / steps) for i in range(iterations)]
""",
)


# --- q7: the explorer's question, worked out -------------------------------------------------

# 9: the flat axis keeps at most 0.8 at a rate where the steep one still shrinks as fast
KAPPA7 = (1 + SLOW_ABOVE) / (1 - SLOW_ABOVE)

q7 = Exercise(
    "q7",
    "In the explorer of the first section, the 2-D panel runs gradient descent on a quadratic "
    "with curvatures λ_max = a and λ_min = a/κ, and its title names the run by its slowest axis "
    "(the one with the largest |1 − η·λ|). Up to which condition number κ can some learning "
    "rate make that title say 'fast monotone' (the slowest axis shrinks without overshooting, "
    f"keeping at most {SLOW_ABOVE:g} of its error per iteration)? The sliders show roughly where "
    "it stops; work the exact value out from the two factors 1 − η·λ.",
    expect_close(
        KAPPA7,
        rtol=0.01,
        mistakes={
            1 / (1 - SLOW_ABOVE): "You kept the steep axis from overshooting too (η ≤ 1/λ_max). "
            "The title names the run by its slowest axis: the steep one may zig-zag, as long as "
            f"it shrinks at least as fast, |1 − η·λ_max| ≤ {SLOW_ABOVE:g}.",
            2 / (1 - SLOW_ABOVE): "You let the steep axis go up to its bound 2/λ_max, where its "
            f"factor reaches −1: long before that its size passes {SLOW_ABOVE:g}, and the steep "
            "axis, zig-zagging, becomes the slowest one.",
            2.0: "That is the κ at which the flat axis's one-step rate 1/λ_min reaches the steep "
            f"axis's bound. 'Fast monotone' asks less of the flat axis: to keep at most "
            f"{SLOW_ABOVE:g} of its error, not to land in one step.",
        },
    ),
    hint=[
        f"The title says 'fast monotone' when both factors have size at most {SLOW_ABOVE:g} and "
        "the slowest, the flat axis's 1 − η·a/κ, is not negative. Which factor limits η from "
        "above, which from below?",
        f"The flat axis needs 1 − η·a/κ ≤ {SLOW_ABOVE:g}, a lower limit on η; the steep one needs "
        f"1 − η·a ≥ −{SLOW_ABOVE:g}, an upper limit. Such an η exists while the lower limit stays "
        "below the upper one.",
    ],
    solution=f"Flat axis: 1 − η·a/κ ≤ {SLOW_ABOVE:g} ⇔ η ≥ {1 - SLOW_ABOVE:.1f}·κ/a. Steep "
    f"axis: 1 − η·a ≥ −{SLOW_ABOVE:g} ⇔ η ≤ {1 + SLOW_ABOVE:.1f}/a (it may zig-zag, but must "
    f"not become the slowest). Both hold for some η while {1 - SLOW_ABOVE:.1f}·κ/a ≤ "
    f"{1 + SLOW_ABOVE:.1f}/a, that is κ ≤ {1 + SLOW_ABOVE:.1f}/{1 - SLOW_ABOVE:.1f} = "
    f"{KAPPA7:.3g}, whatever a is. Past it every rate leaves one axis keeping more than "
    f"{SLOW_ABOVE:g} of its error: the flat axis crawls, or the steep one zig-zags slowly.",
)


# --- q8: Newton's step on a loss that is not a quadratic ---------------------------------------

NEWTON_KEEPS = 2 / 3  # x − x³/(3x²): each Newton step on x⁴/4 keeps two thirds of x
NEWTON_BELOW = 0.01
NEWTON_STEPS = math.ceil(math.log(NEWTON_BELOW) / math.log(NEWTON_KEEPS))  # 12

q8 = Exercise(
    "q8",
    "Newton's step divides the gradient by the curvature, x ← x − f′(x)/f″(x), and on a quadratic "
    "it lands on the minimum in one step. Take f(x) = x⁴/4 instead (its minimum is at 0, too) and "
    f"start at x = 1. How many Newton steps until |x| < {NEWTON_BELOW:g} for the first time?",
    expect_int(
        NEWTON_STEPS,
        mistakes={
            1: "One step is what Newton's step takes on a quadratic, whose curvature is the same "
            "everywhere. Here f″(x) = 3x² changes with x: each step lands on the minimum of the "
            "parabola that fits f where the step starts, not on the minimum of f.",
            NEWTON_STEPS - 1: f"You rounded ln {NEWTON_BELOW:g} / ln(2/3) ≈ "
            f"{math.log(NEWTON_BELOW) / math.log(NEWTON_KEEPS):.1f} down: after that many steps "
            f"|x| is still just above {NEWTON_BELOW:g}. The question asks for the first step that "
            "takes it below.",
            math.ceil(math.log(NEWTON_BELOW) / math.log(1 - NEWTON_KEEPS)): "Your steps keep a "
            "third of x: you took the step f′/f″ = x/3 itself for the new x. The new x is x minus "
            "that step.",
        },
    ),
    hint=[
        "Write one Newton step for this f: f′(x) = x³ and f″(x) = 3x². What is x − f′(x)/f″(x), "
        "as a multiple of x?",
        "Every step multiplies x by the same factor, so after k steps x is that factor to the "
        f"power k. Find the first whole k at which it drops below {NEWTON_BELOW:g}.",
    ],
    solution=f"x − x³/(3x²) = 2x/3: each Newton step keeps two thirds of x, so after k steps "
    f"x = (2/3)ᵏ. (2/3)¹¹ ≈ {NEWTON_KEEPS**11:.4f} is still above {NEWTON_BELOW:g} and (2/3)¹² ≈ "
    f"{NEWTON_KEEPS**12:.4f} below: {NEWTON_STEPS} steps. On a quadratic f″ is the same "
    "everywhere, and one step suffices; here f″ = 3x² flattens towards the minimum (where it is "
    "0, and H⁻¹ does not exist), so each step reaches only the bottom of the parabola fitted where "
    "it stands. Newton's famously fast convergence near a minimum needs f″ > 0 there.",
)
