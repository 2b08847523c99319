"""Chapter 01 exercises: the loop's mechanisms inside the story, then transfer questions.

The story's your-turn cells: t1 the update and the zeroing, t2 the line's gradient by hand, t3
one epoch over a DataLoader (checked by :class:`~gdlessons.exercises.code.CodeExercise` against
a reference: t1 up to float32 rounding, t3 bit for bit with the loop ``train()`` runs). At the
end: q1, q2 and q4 take a number, q3 a function (a loop with bugs, up to float32 rounding, so
every update the chapter writes counts).

>>> q1.check(30).correct, t3.check(...).status
(True, 'not attempted')
"""

from __future__ import annotations

import inspect
import re

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from gdlessons.chapters.ch01_training_loop import one_epoch
from gdlessons.data import linear_data
from gdlessons.exercises import CORRECT, Exercise, Result, expect_close, expect_int
from gdlessons.exercises.code import CodeExercise, Mistake, first_difference
from gdlessons.models import LinearModel, tutorial_mlp


def _run_outcome(losses, args):
    return losses, {k: v.detach().clone() for k, v in args["model"].state_dict().items()}


# t1 and q3 accept what float32 rounding changes: p -= lr * p.grad rounds lr·grad first, while
# p.add_(p.grad, alpha=-lr) and torch.optim.SGD may round once (a last-bit difference, ~1e-7).
ROUNDING = 1e-5  # of the largest value compared, as gdlessons.compare's close()


def _largest(values) -> float:
    flat = [torch.as_tensor(v).detach().abs().max() for v in values if torch.as_tensor(v).numel()]
    return float(max(flat)) if flat else 0.0


def _same(got, want, rounding: float | None, **names) -> str | None:
    if rounding is None:
        return first_difference(got, want, **names)
    values = list(want.values()) if isinstance(want, dict) else list(want)
    atol = rounding * _largest(values)
    return first_difference(got, want, bitwise=False, atol=atol, rtol=0.0, **names)


def _compare_run(
    got, want, case, *, after: str = "after the last iteration", rounding: float | None = None
):
    losses, params = got
    want_losses, want_params = want
    if not isinstance(losses, (list, tuple)):
        return (
            f"return the list of losses (one number per iteration), not a {type(losses).__name__}"
        )
    holds_tensors = any(isinstance(v, torch.Tensor) for v in losses)
    if holds_tensors and not any(isinstance(v, torch.Tensor) for v in want_losses):
        return (
            "your list of losses holds tensors, not numbers: each one keeps its whole autograd "
            "graph alive; append `loss.item()`"
        )
    message = _same(losses, want_losses, rounding, name="the loss", index="at iteration {}")
    if message:
        return message
    message = _same(params, want_params, rounding, name="the parameters")
    return f"{after}, {message}" if message else None


# --- t1: the update and the zeroing -----------------------------------------------------------


def _step_and_zero(model, lr):
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    model.zero_grad()


def _step_kept_gradients(model, lr):
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad


def _step_uphill(model, lr):
    with torch.no_grad():
        for p in model.parameters():
            p += lr * p.grad
    model.zero_grad()


def _step_rebinds(model, lr):
    with torch.no_grad():
        for p in model.parameters():
            p = p - lr * p.grad  # noqa: PLW2901 (the mistake: a new tensor, the model untouched)


def _step_zero_first(model, lr):
    model.zero_grad(set_to_none=False)
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad


def _step_without_lr(model, lr):
    with torch.no_grad():
        for p in model.parameters():
            p -= p.grad
    model.zero_grad()


def _step_cases():
    """Models whose .grad holds one backward()'s gradients, as in the loop."""
    data = linear_data(30, seed=7)
    cases = []
    for model, lr in ((LinearModel(w=-1.0, b=2.5), 0.1), (tutorial_mlp(seed=3), 0.05)):
        F.mse_loss(model(data.X), data.y).backward()
        cases.append(dict(model=model, lr=lr))
    return cases


def _step_outcome(returned, args):
    model = args["model"]
    params = {k: p.detach().clone() for k, p in model.named_parameters()}
    grads = {k: p.grad for k, p in model.named_parameters()}
    return params, grads


def _compare_step(got, want, case):
    params, grads = got
    message = _same(params, want[0], ROUNDING, name="the parameters")
    if message:
        return f"after your step, {message}"
    for name, grad in grads.items():
        wanted = want[1][name]
        if _holds(wanted) and not (_holds(grad) and torch.equal(grad, wanted)):
            return f"after your step, `{name}.grad` is not what it should be"
        if _holds(grad) and not _holds(wanted):
            return f"after your step, `{name}.grad` still holds a gradient: clear every .grad"
    return None


def _holds(grad) -> bool:
    """Whether a .grad holds a gradient (cleared means None or all zeros)."""
    return grad is not None and bool(grad.abs().max() > 0)


t1 = CodeExercise(
    "t1",
    "Write `step_and_zero(model, lr)`: move every parameter p of the model to p − lr·p.grad, in "
    "place and unrecorded by autograd, then clear every `.grad` so that the next backward() "
    "starts from nothing. The check calls it on models whose `.grad` holds one backward()'s "
    "gradients, and compares the parameters up to float32 rounding (a relative 1e-5).",
    reference=_step_and_zero,
    cases=_step_cases,
    outcome=_step_outcome,
    compare=_compare_step,
    mistakes=(
        Mistake(
            _step_kept_gradients,
            "The parameters moved the right way, but `.grad` still holds this iteration's "
            "gradients: the next backward() would add to them.",
            hint="After the update, `model.zero_grad()`.",
        ),
        Mistake(
            _step_uphill,
            "Your parameters moved uphill: the gradient points to where the loss grows, so the "
            "update subtracts it.",
            hint="`p -= lr * p.grad`, with a minus.",
        ),
        Mistake(
            _step_rebinds,
            "No parameter moved: `p = p - lr * p.grad` makes a new tensor and rebinds the loop's "
            "name `p`, leaving the model's parameter as it was.",
            hint="Change the parameter itself, in place: `p -= lr * p.grad`.",
        ),
        Mistake(
            _step_zero_first,
            "No parameter moved, and `.grad` is clear: you zeroed the gradients before the "
            "update read them.",
            hint="Update first, then zero.",
        ),
        Mistake(
            _step_without_lr,
            "Your step is a whole gradient long: the learning rate scales it.",
            hint="Multiply the gradient by `lr`.",
        ),
    ),  # fmt: skip
    hint=[
        "Two parts: change every parameter in place where autograd does not record it (the "
        "text above names the block: `torch.no_grad()`), then one call that clears every `.grad`.",
        "Inside `with torch.no_grad():`, go over `model.parameters()` and subtract `lr * p.grad` "
        "from each `p` in place (`-=`); after the block, `model.zero_grad()`.",
    ],
    solution="""import torch


def step_and_zero(model, lr):
    # the update is not part of the model: autograd must not record it
    with torch.no_grad():
        for p in model.parameters():
            # in place: the model's own parameter moves downhill
            p -= lr * p.grad
    model.zero_grad()  # clear .grad, so the next backward() starts from nothing
""",
)


# --- t2: the line's gradient by hand ----------------------------------------------------------


def _autograd_gradients(w, b, X, y):
    w = torch.tensor(float(w), requires_grad=True)
    b = torch.tensor(float(b), requires_grad=True)
    F.mse_loss(X * w + b, y).backward()
    return w.grad, b.grad


def _compare_gradients(got, want, case):
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        return f"return the two derivatives as a pair `dL_dw, dL_db`, not a {type(got).__name__}"
    return first_difference(
        {"dL/dw": got[0], "dL/db": got[1]},
        {"dL/dw": want[0], "dL/db": want[1]},
        bitwise=False, atol=1e-5, rtol=1e-4, name="your pair",
    )  # fmt: skip


def _gradient_cases():
    cases = []
    for n, w, b, seed in ((20, -1.0, 2.5, 1), (50, 0.5, 0.0, 2), (7, 3.0, -2.0, 3)):
        data = linear_data(n, seed=seed)
        cases.append(dict(w=w, b=b, X=data.X, y=data.y))
    return cases


def _half(w, b, X, y):
    r = w * X + b - y
    return (r * X).mean(), r.mean()


def _summed(w, b, X, y):
    r = w * X + b - y
    return 2 * (r * X).sum(), 2 * r.sum()


def _flipped(w, b, X, y):
    r = y - (w * X + b)
    return 2 * (r * X).mean(), 2 * r.mean()


def _no_x(w, b, X, y):
    r = w * X + b - y
    return 2 * r.mean(), 2 * r.mean()


t2 = CodeExercise(
    "t2",
    "Write `line_gradients(w, b, X, y)` returning the pair (dL/dw, dL/db) of the mean squared "
    "error L = mean((w·x + b − y)²) from the formula, without autograd (no `backward()`, "
    "`torch.autograd.grad` or `torch.func.grad`: the check refuses them). It is compared with "
    "autograd's gradients on three small datasets.",
    reference=_autograd_gradients,
    cases=_gradient_cases,
    compare=_compare_gradients,
    forbids=[
        (
            r"\.backward\(|autograd\.grad|func\.grad|\.grad\b",
            "the task is the formula, written without autograd, so that it can witness what "
            "autograd computes.",
        )
    ],
    mistakes=(
        Mistake(
            _half, "Your derivatives are half of autograd's: d(r²)/dr = 2r, and the 2 is missing."
        ),
        Mistake(
            _summed,
            "Your derivatives are N times autograd's: the loss is a mean over the N "
            "samples, so its derivative is a mean too (`.mean()`, not `.sum()`).",
        ),
        Mistake(
            _flipped,
            "Your derivatives have the wrong sign: with r = ŷ − y the derivative of r² "
            "is 2r·dŷ; with r = y − ŷ it is −2r·dŷ.",
        ),
        Mistake(
            _no_x,
            "Your dL/db is right but dL/dw is not: by the chain rule dL/dw = dL/dŷ · dŷ/dw, "
            "and dŷ/dw = x.",
            hint="Multiply the residual by X before averaging.",
        ),
    ),  # fmt: skip
    hint=[
        "Write L = mean(r²) with the residual r = w·x + b − y and apply the chain rule once for "
        "w, once for b.",
        "Section 2's formula: ∂L/∂w = (2/N) Σ rᵢ·xᵢ and ∂L/∂b = (2/N) Σ rᵢ, where (1/N) Σ is "
        "a `.mean()`.",
    ],
    solution="""def line_gradients(w, b, X, y):
    r = w * X + b - y  # the residual, one per sample
    return 2 * (r * X).mean(), 2 * r.mean()
""",
)


# --- t3: one epoch with a DataLoader ----------------------------------------------------------


def _no_zero_grad(model, optimizer, loader):
    losses = []
    for xb, yb in loader:
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _next_iter(model, optimizer, loader):
    xb, yb = next(iter(loader))
    loss = F.mse_loss(model(xb), yb)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return [loss.item()]


def _fresh_pass_per_batch(model, optimizer, loader):
    losses = []
    for _ in range(len(loader)):
        xb, yb = next(iter(loader))  # a fresh shuffled pass every time: its first batch
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


def _kept_graph(model, optimizer, loader):
    losses = []
    for xb, yb in loader:
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss)
    return losses


def _zero_before_step(model, optimizer, loader):
    losses = []
    for xb, yb in loader:
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        losses.append(loss.item())
    return losses


def epoch_case(model, *, n: int, batch_size: int, lr: float, seed: int) -> dict:
    """One case of t3: a model, its SGD optimizer and a shuffling DataLoader with its own seeded
    generator (so a copy of the case replays the same batches)."""
    data = linear_data(n, seed=seed)
    loader = DataLoader(
        TensorDataset(data.X, data.y), batch_size=batch_size, shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )  # fmt: skip
    return dict(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=lr), loader=loader)


def _epoch_cases():
    # Several batches per epoch (7 and 8), the last one short: one batch is never a whole epoch.
    return [
        epoch_case(LinearModel(w=-1.0, b=2.5), n=100, batch_size=16, lr=0.1, seed=5),
        epoch_case(tutorial_mlp(seed=2), n=60, batch_size=8, lr=0.01, seed=6),
    ]


def _compare_epoch(got, want, case):
    return _compare_run(got, want, case, after="after the epoch")


t3 = CodeExercise(
    "t3",
    "Write `train_one_epoch(model, optimizer, loader)`: one epoch of mini-batch training over "
    "the DataLoader with the mean squared error, returning the loss of every batch as a list of "
    "numbers. It must leave the parameters exactly (bit for bit) where `train()` leaves them "
    "after an epoch over the same batches. An epoch is every batch of the loader: "
    "`xb, yb = next(iter(loader))` gives one batch only (the first of a fresh shuffle), the trap "
    "of a source tutorial; the check's loaders hand out 7 and 8 batches per epoch.",
    reference=one_epoch,  # the chapter's own loop: tests pin it to train(), bit for bit
    cases=_epoch_cases,
    outcome=_run_outcome,
    compare=_compare_epoch,
    mistakes=(
        Mistake(
            _no_zero_grad,
            "The gradients are never zeroed, so every step() uses the sum of all "
            "the gradients so far in this epoch.",
            hint="Call `optimizer.zero_grad()` after `optimizer.step()`.",
        ),
        Mistake(
            _next_iter,
            "Your epoch made one iteration, one batch per epoch: `next(iter(loader))` starts a "
            "fresh pass and takes only its first batch (the trap of a source tutorial), and the "
            "check's loaders hold 7 and 8 batches.",
            hint="Loop over the loader: `for xb, yb in loader:`.",
        ),
        Mistake(
            _fresh_pass_per_batch,
            "Your epoch has the right number of iterations, but each one called "
            "`next(iter(loader))`: every call starts a fresh shuffled pass and takes its first "
            "batch, so some samples came twice and others never (sampling with replacement, "
            "chapter 02), not one pass over the data.",
            hint="Iterate over the loader once per epoch: `for xb, yb in loader:` hands out every "
            "sample once.",
        ),
        Mistake(
            _kept_graph,
            "Your list holds the loss tensors themselves: each keeps its autograd "
            "graph (and the batch) alive for the whole epoch.",
            hint="Append a plain number: `losses.append(loss.item())`.",
        ),
        Mistake(
            _zero_before_step,
            "No parameter moves: when `optimizer.step()` runs, the "
            "gradients are gone (zeroed between backward() and step()) or not there yet "
            "(step() before backward()).",
            hint="The order is forward, loss, backward(), step(), zero_grad().",
        ),
    ),  # fmt: skip
    hint=[
        "Each batch the loader hands out is one iteration of the chapter's loop, with one loss "
        "to record; the optimizer does the update and the zeroing.",
        "Section 4's DataLoader loop is this epoch: its inner `for xb, yb in loader:` block, "
        "without the validation part, recording `loss.item()` for each batch.",
    ],
    solution="""import torch.nn.functional as F


def train_one_epoch(model, optimizer, loader):
    losses = []
    for xb, yb in loader:
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses
""",
)


# One sample where every factor of the chain rule differs (x = 2 would make "no x" and "no 2" agree).
Q1_X, Q1_Y, Q1_W = 3.0, 1.0, 2.0
_q1_residual = Q1_W * Q1_X - Q1_Y  # ŷ − y
q1 = Exercise(
    "q1",
    f"One sample x = {Q1_X:g} with target y = {Q1_Y:g}, the model ŷ = w·x and the loss "
    f"L(w) = (ŷ − y)². What is dL/dw at w = {Q1_W:g}?",
    expect_close(
        2 * _q1_residual * Q1_X,
        rtol=1e-3,
        mistakes={
            2 * _q1_residual: "That is dL/dŷ = 2(ŷ − y) alone: the chain rule multiplies it by "
            "dŷ/dw, and ŷ = w·x.",
            _q1_residual * Q1_X: "The 2 of d(r²)/dr = 2r is missing.",
            2 * _q1_residual * Q1_W: "You multiplied by w, but dŷ/dw is the derivative of w·x "
            "with respect to w: the factor that w multiplies.",
            _q1_residual**2: "That is the loss L itself, not its derivative.",
        },
    ),
    hint=[
        "Chain rule: dL/dw = dL/dŷ · dŷ/dw. Work out ŷ first.",
        "dL/dŷ = 2(ŷ − y) and dŷ/dw = x: multiply the two at the given numbers.",
    ],
    solution=f"ŷ = {Q1_W:g} · {Q1_X:g} = {Q1_W * Q1_X:g}, so dL/dw = 2(ŷ − y)·x = "
    f"2 · ({Q1_W * Q1_X:g} − {Q1_Y:g}) · {Q1_X:g} = {2 * _q1_residual * Q1_X:g}.",
)

Q2_GRAD, Q2_CALLS = 0.5, 3  # the prompt says "three calls"
q2 = Exercise(
    "q2",
    f"One `loss.backward()` leaves {Q2_GRAD:g} in `w.grad`. You recompute the same loss from the "
    "same parameters and call `backward()` again, three calls in all, never zeroing. What "
    "does `w.grad` hold?",
    expect_close(
        Q2_CALLS * Q2_GRAD,
        rtol=1e-6,
        mistakes={
            Q2_GRAD: "That is what one call leaves: backward() does not overwrite .grad.",
            (Q2_CALLS - 1) * Q2_GRAD: "Count the calls again: the first backward() adds its "
            "gradient to an empty .grad too.",
            Q2_GRAD**Q2_CALLS: "The gradients are not multiplied together: each backward() "
            "adds its own to what .grad holds.",
            0.0: "Nothing zeroes .grad between the calls: only zero_grad() (or setting it to "
            "None) clears it.",
        },
    ),
    hint=[
        "Does backward() overwrite .grad, or add to it?",
        "The chapter's cell on forgetting to zero the gradients printed w.grad after each of "
        "three backward() calls: compare each with dL/dw.",
    ],
    solution=f"{' + '.join([f'{Q2_GRAD:g}'] * Q2_CALLS)} = {Q2_CALLS * Q2_GRAD:g}: the "
    "gradients add up. Gradient accumulation (chapter 04) uses exactly this, on purpose.",
)


# --- q3: find the bugs ------------------------------------------------------------------------


def buggy_descent(model, X, y, lr, iterations):
    losses = []
    for _ in range(iterations):
        loss = F.mse_loss(model(X), y)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p = p - lr * p.grad
        losses.append(loss.item())
    return losses


def _fixed_descent(model, X, y, lr, iterations):
    losses = []
    for _ in range(iterations):
        loss = F.mse_loss(model(X), y)
        loss.backward()
        _step_and_zero(model, lr)  # t1's update and zeroing
        losses.append(loss.item())
    return losses


def _never_zeroed(model, X, y, lr, iterations):
    losses = []
    for _ in range(iterations):
        loss = F.mse_loss(model(X), y)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        losses.append(loss.item())
    return losses


def _uphill(model, X, y, lr, iterations):
    losses = []
    for _ in range(iterations):
        loss = F.mse_loss(model(X), y)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p += lr * p.grad
        model.zero_grad()
        losses.append(loss.item())
    return losses


def _compare_descent(got, want, case):
    return _compare_run(got, want, case, rounding=ROUNDING)


def _updates_through_data(fn) -> bool:
    """Whether the student's source changes a parameter through ``.data`` (a guess from the
    code; False when the source cannot be read)."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return False
    code = "\n".join(line.split("#", 1)[0] for line in source.splitlines())
    return re.search(r"\.data\b", code) is not None


DATA_NOTE = (
    "Your update goes through `.data`, which autograd does not record, so it works here. The "
    "chapter writes it under `with torch.no_grad():` instead: that is the documented way, one "
    "block covers every line of the update, and autograd keeps its checks; a change made through "
    "`.data` to a tensor that backward() still needs goes unnoticed and gives wrong gradients "
    "without an error."
)


class _DescentExercise(CodeExercise):
    """q3: a CodeExercise whose correct answer also hears about `.data` when it used it."""

    def check(self, fn: object) -> Result:
        result = super().check(fn)
        if result.correct and _updates_through_data(fn):
            return self._record(CORRECT, f"{result.message} {DATA_NOTE}")
        return result


def _descent_cases():
    data = linear_data(40, seed=4)
    return [
        dict(model=LinearModel(w=-1.0, b=2.5), X=data.X, y=data.y, lr=0.1, iterations=8),
        dict(model=tutorial_mlp(seed=1), X=data.X, y=data.y, lr=0.01, iterations=5),
    ]


q3 = _DescentExercise(
    "q3",
    "`buggy_descent(model, X, y, lr, iterations)` should run full-batch gradient descent and "
    "return the loss of every iteration, but its loss never goes down. Copy it into "
    "`fixed_descent`, find the two bugs and fix them. Your losses and final parameters are "
    "compared with the reference's up to float32 rounding (differences of at most a relative "
    "1e-5 of the largest value), so each update the chapter writes counts: `p -= lr * p.grad`, "
    "`p.add_(p.grad, alpha=-lr)` or `torch.optim.SGD`.",
    reference=_fixed_descent,
    cases=_descent_cases,
    outcome=_run_outcome,
    compare=_compare_descent,
    mistakes=(
        Mistake(
            buggy_descent,
            "The parameters never move: `p = p - lr * p.grad` builds a new "
            "tensor and rebinds the name `p`, leaving the model's parameter untouched (or the "
            "gradients are zeroed before the update reads them).",
            hint="Change the parameter in place: `p -= lr * p.grad`.",
        ),
        Mistake(
            _never_zeroed,
            "The parameters move now, but the gradients add up: after k "
            "iterations `.grad` holds the sum of k gradients. That is the second bug.",
            hint="Zero the gradients after each update: `model.zero_grad()`.",
        ),
        Mistake(
            _uphill,
            "Your loss goes up: the update must go against the gradient, "
            "`p -= lr * p.grad`, not `p += ...`.",
        ),
    ),  # fmt: skip
    hint=[
        "There are two bugs. First: after an update, has the model's own parameter changed? "
        "Second: what does `.grad` hold at the second iteration?",
        "`p = p - lr * p.grad` rebinds the loop variable `p` and leaves the parameter as it was: "
        "change the parameter itself. And backward() adds to `.grad`, so something must clear it "
        "after each update.",
    ],
    solution="""import torch
import torch.nn.functional as F


def fixed_descent(model, X, y, lr, iterations):
    losses = []
    for _ in range(iterations):
        loss = F.mse_loss(model(X), y)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad  # in place: the model's own parameter changes
        model.zero_grad()  # else the next backward() adds to this gradient
        losses.append(loss.item())
    return losses
""",
)


Q4_N, Q4_B, Q4_EPOCHS = 200, 32, 3
_q4_per_epoch = -(-Q4_N // Q4_B)  # ceil(N / B)
q4 = Exercise(
    "q4",
    f"N = {Q4_N} samples, `DataLoader(..., batch_size={Q4_B}, shuffle=True)`, {Q4_EPOCHS} epochs "
    "of the loop `for xb, yb in loader: ...`. How many times is `optimizer.step()` called?",
    expect_int(
        _q4_per_epoch * Q4_EPOCHS,
        mistakes={
            Q4_N // Q4_B * Q4_EPOCHS: "You rounded down, which drops the short last batch: "
            "without drop_last=True it is used and makes a step too.",
            _q4_per_epoch: "That is one epoch's steps; the loop runs for several epochs.",
            -(-Q4_N * Q4_EPOCHS // Q4_B): "You cut all the epochs' samples into one stream of "
            "batches: each epoch starts a fresh pass, and each ends with its own short batch.",
            Q4_N * Q4_EPOCHS: "That counts samples: one step() updates with a whole batch.",
            Q4_EPOCHS: "That counts epochs: step() runs once per batch, not once per epoch.",
        },
    ),
    hint=[
        "One step() per batch; count the batches of one epoch first.",
        "An epoch has ceil(N / B) batches (the last one short, as drop_last is off); multiply by "
        "the epochs.",
    ],
    solution=f"ceil({Q4_N} / {Q4_B}) = {_q4_per_epoch} batches per epoch ({Q4_N // Q4_B} of "
    f"{Q4_B} and one of {Q4_N % Q4_B}), × {Q4_EPOCHS} epochs = {_q4_per_epoch * Q4_EPOCHS}.",
)
