"""Chapter 01 exercises: gradients by hand, a loop with bugs, one epoch with a DataLoader.

q1, q2 and q6 take a number; q3, q4 and q5 take a function the student writes, checked by
:class:`~gdlessons.exercises.code.CodeExercise` against a reference (for q5: the loop
``train()`` runs, bit for bit).

>>> q1.check(8).correct, q5.check(...).status
(True, 'not attempted')
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from gdlessons.data import linear_data
from gdlessons.exercises import Exercise, expect_close, expect_int
from gdlessons.exercises.code import CodeExercise, Mistake, first_difference
from gdlessons.models import LinearModel, tutorial_mlp

q1 = Exercise(
    "q1",
    "One sample x = 2 with target y = 1, the model ŷ = w·x and the loss L(w) = (ŷ − y)². "
    "What is dL/dw at w = 1.5?",
    expect_close(8.0, rtol=1e-3),
    hint="Chain rule: dL/dw = dL/dŷ · dŷ/dw, with dL/dŷ = 2(ŷ − y) and dŷ/dw = x.",
    solution="ŷ = 1.5 · 2 = 3, so dL/dw = 2(ŷ − y)·x = 2 · (3 − 1) · 2 = 8.",
)

q2 = Exercise(
    "q2",
    "One `loss.backward()` leaves 0.5 in `w.grad`. You recompute the same loss from the same "
    "parameters and call `backward()` again, three calls in all, never zeroing. What does "
    "`w.grad` hold?",
    expect_close(1.5, rtol=1e-6),
    hint="backward() adds its gradient to whatever .grad already holds.",
    solution="0.5 + 0.5 + 0.5 = 1.5: the gradients add up. Gradient accumulation (chapter 04) uses "
    "exactly this, on purpose.",
)

# --- q3: the line's gradient by hand ----------------------------------------------------------


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


q3 = CodeExercise(
    "q3",
    "Write `line_gradients(w, b, X, y)` returning the pair (dL/dw, dL/db) of the mean squared "
    "error L = mean((w·x + b − y)²) from the formula, without `backward()`. It is compared with "
    "autograd's gradients on three small datasets.",
    reference=_autograd_gradients,
    cases=_gradient_cases,
    compare=_compare_gradients,
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
    hint="With the residual r = w·x + b − y: dL/dw = mean(2·r·x) and dL/db = mean(2·r).",
    solution="""def line_gradients(w, b, X, y):
    r = w * X + b - y  # the residual, one per sample
    return 2 * (r * X).mean(), 2 * r.mean()
""",
)


# --- q4: find the bugs ------------------------------------------------------------------------


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
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        model.zero_grad()
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


def _run_outcome(losses, args):
    return losses, {k: v.detach().clone() for k, v in args["model"].state_dict().items()}


def _compare_run(got, want, case, *, after: str = "after the last iteration"):
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
    message = first_difference(losses, want_losses, name="the loss", index="at iteration {}")
    if message:
        return message
    message = first_difference(params, want_params, name="the parameters")
    return f"{after}, {message}" if message else None


def _descent_cases():
    data = linear_data(40, seed=4)
    return [
        dict(model=LinearModel(w=-1.0, b=2.5), X=data.X, y=data.y, lr=0.1, iterations=8),
        dict(model=tutorial_mlp(seed=1), X=data.X, y=data.y, lr=0.01, iterations=5),
    ]


q4 = CodeExercise(
    "q4",
    "`buggy_descent(model, X, y, lr, iterations)` should run full-batch gradient descent and "
    "return the loss of every iteration, but its loss never goes down. Copy it into "
    "`fixed_descent`, find the two bugs and fix them.",
    reference=_fixed_descent,
    cases=_descent_cases,
    outcome=_run_outcome,
    compare=_compare_run,
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
    hint="Two things: does the update change the model's own parameter? And what does .grad "
    "hold at the second iteration?",
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


# --- q5: one epoch with a DataLoader ----------------------------------------------------------


def _one_epoch(model, optimizer, loader):
    """The loop ``train()`` runs for one epoch (tests pin the two together, bit for bit)."""
    losses = []
    for xb, yb in loader:
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


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
    """One case of q5: a model, its SGD optimizer and a shuffling DataLoader with its own seeded
    generator (so a copy of the case replays the same batches)."""
    data = linear_data(n, seed=seed)
    loader = DataLoader(
        TensorDataset(data.X, data.y), batch_size=batch_size, shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )  # fmt: skip
    return dict(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=lr), loader=loader)


def _epoch_cases():
    return [
        epoch_case(LinearModel(w=-1.0, b=2.5), n=100, batch_size=16, lr=0.1, seed=5),
        epoch_case(tutorial_mlp(seed=2), n=60, batch_size=8, lr=0.01, seed=6),
    ]


def _compare_epoch(got, want, case):
    return _compare_run(got, want, case, after="after the epoch")


q5 = CodeExercise(
    "q5",
    "Write `train_one_epoch(model, optimizer, loader)`: one epoch of mini-batch training over "
    "the DataLoader with the mean squared error, returning the loss of every batch as a list of "
    "numbers. It must leave the parameters exactly (bit for bit) where `train()` leaves them "
    "after an epoch over the same batches.",
    reference=_one_epoch,
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
            "Your epoch made one iteration: `next(iter(loader))` starts a fresh pass "
            "and takes only its first batch (the trap of a source tutorial).",
            hint="Loop over the loader: `for xb, yb in loader:`.",
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
    hint="For each batch of the loader: forward, loss, backward(), step(), zero_grad(), and "
    "append `loss.item()` to the list you return.",
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


q6 = Exercise(
    "q6",
    "N = 200 samples, `DataLoader(..., batch_size=32, shuffle=True)`, 3 epochs of the loop "
    "`for xb, yb in loader: ...`. How many times is `optimizer.step()` called?",
    expect_int(21),
    hint="One step per batch; an epoch has ceil(N / B) batches, the last one short.",
    solution="ceil(200 / 32) = 7 batches per epoch (6 of 32 and one of 8), × 3 epochs = 21.",
)
