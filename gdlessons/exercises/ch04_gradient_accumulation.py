"""Chapter 04 exercises: gradient accumulation.

q1 to q5 take a number or a word; q6 and q7 take a function the student writes, checked by
:class:`~gdlessons.exercises.code.CodeExercise`: q6 against the gradient of the whole batch,
q7 against ``train(accumulation_steps=k)``. Both compare within float32 rounding, as the chapter
does (the same numbers added in a different order): q6 within 1e-5 of the largest gradient entry,
q7 within 1e-5 (absolute) plus 1e-4 (relative).

>>> q1.check(...).status, q6.check(...).status
('not attempted', 'not attempted')
"""

from __future__ import annotations

import reprlib

import torch
from torch import nn
from torch.nn.functional import mse_loss

from gdlessons.batching import BatchIterator
from gdlessons.data import quadratic_data
from gdlessons.exercises import Exercise, expect_choice, expect_close, expect_int
from gdlessons.exercises.code import CodeExercise, Mistake, first_difference
from gdlessons.models import tutorial_mlp
from gdlessons.training import train

q1 = Exercise(
    "q1",
    "Your GPU fits micro-batches of 48 samples. How many accumulation steps k give an effective batch of 384?",
    expect_int(8),
    hint="One update sees k micro-batches of 48 samples; you want 384 samples per update.",
    solution="k = 384 / 48 = 8.",
)

q2 = Exercise(
    "q2",
    "A loop accumulates k = 4 micro-batches but forgets to divide each loss by k, and uses lr = 0.05. "
    "Which learning rate makes the correct (divided) loop take exactly the same updates?",
    expect_close(0.2, rtol=0.01),
    hint="Without the division the summed gradient is k times the mean gradient; SGD multiplies it by lr.",
    solution="The undivided gradient is 4·g, so the step is 0.05·4·g = 0.2·g: lr = 0.2.",
)

q3 = Exercise(
    "q3",
    "A batch of 100 samples is split into micro-batches of 32, 32, 32 and 4, and each micro-batch loss "
    "is divided by k = 4. How many times more does one sample of the short micro-batch weigh in the "
    "update than one sample of a full micro-batch?",
    expect_close(8.0, rtol=0.01),
    hint="A sample's weight is 1/k times 1/(size of its micro-batch).",
    solution="1/(4·4) against 1/(4·32): 32/4 = 8 times. Weighting by share (len/100) gives every sample 1/100.",
)

q4 = Exercise(
    "q4",
    "Which layer makes k micro-batches give a different gradient from the one batch of k·b, even with "
    "the loss divided correctly? Answer 'Linear', 'ReLU', 'BatchNorm1d' or 'Dropout(p=0)'.",
    expect_choice("BatchNorm1d", ("Linear", "ReLU", "BatchNorm1d", "Dropout(p=0)")),
    hint="Look for the layer whose output for one sample depends on the other samples in the batch.",
    solution="BatchNorm1d normalises with the mean and variance of the (micro-)batch it sees, so smaller "
    "micro-batches change every sample's output and gradient.",
)

q5 = Exercise(
    "q5",
    "A StepLR halves the learning rate every 100 updates. With k = 4 accumulation steps someone calls "
    "scheduler.step() after every micro-batch. After how many updates is the learning rate first halved?",
    expect_int(25),
    hint="Each update now steps the scheduler k times.",
    solution="100 scheduler steps arrive after 100 / 4 = 25 updates: the schedule runs k times too fast.",
)


# --- q6: one batch's gradient from micro-batches ----------------------------------------------


class WatchedModel(nn.Sequential):
    """An ``nn.Sequential`` that remembers the largest batch its forward pass was given, so a
    check can tell micro-batches from the whole batch at once.

    >>> m = WatchedModel(nn.Linear(1, 1)); _ = m(torch.zeros(5, 1)); m.largest_batch
    5
    """

    largest_batch = 0

    def forward(self, x):
        self.largest_batch = max(self.largest_batch, len(x))
        return super().forward(x)


def _one_batch_gradient(model, X, y, micro_batch_size):
    """What accumulation must reproduce: one backward() over the whole batch (past the
    model's watch, which is there for the student's function)."""
    mse_loss(nn.Sequential.forward(model, X), y).backward()


def _gradient_outcome(returned, args):
    model = args["model"]
    grads = {n: None if p.grad is None else p.grad.detach().clone() for n, p in model.named_parameters()}  # fmt: skip
    return grads, model.largest_batch


def _micro_cases():
    with torch.random.fork_rng(devices=[]):  # building nn.Linear(1, 1) draws
        torch.manual_seed(6)
        line = WatchedModel(nn.Linear(1, 1))
    settings = [
        (WatchedModel(*tutorial_mlp(seed=4)), 100, 32),  # 32 + 32 + 32 + 4
        (WatchedModel(*tutorial_mlp(seed=5)), 64, 16),  # 4 × 16: here 1/k is right too
        (line, 50, 20),  # 20 + 20 + 10
    ]
    cases = []
    for model, n, micro in settings:
        data = quadratic_data(n, seed=n)
        cases.append(dict(model=model, X=data.X, y=data.y, micro_batch_size=micro))
    return cases


def _compare_gradients(got, want, case):
    grads, largest = got
    want_grads, _ = want
    if all(g is None for g in grads.values()):
        return "the model's parameters hold no gradient: call backward() on each micro-batch's loss"
    micro, n = case["micro_batch_size"], len(case["X"])
    if largest > micro:
        return (
            f"your gradient came from a forward pass over {largest} samples at once, but only "
            f"{micro} fit in memory: feed the model micro-batches of at most {micro}"
        )
    scale = max(float(g.abs().max()) for g in want_grads.values())
    message = first_difference(
        grads, want_grads, bitwise=False, atol=1e-5 * scale, rtol=0.0, name="the gradient"
    )
    return f"in .grad, {message} from the gradient of the batch of {n}" if message else None


def _weighted(model, X, y, micro_batch_size, weight, *, zero_each=False):
    parts = list(zip(X.split(micro_batch_size), y.split(micro_batch_size)))
    for xb, yb in parts:
        if zero_each:
            model.zero_grad()
        (mse_loss(model(xb), yb) * weight(xb, len(parts))).backward()


def _divided_by_k(model, X, y, micro_batch_size):
    _weighted(model, X, y, micro_batch_size, lambda xb, k: 1 / k)


def _not_divided(model, X, y, micro_batch_size):
    _weighted(model, X, y, micro_batch_size, lambda xb, k: 1.0)


def _zeroed_each(model, X, y, micro_batch_size):
    _weighted(model, X, y, micro_batch_size, lambda xb, k: len(xb) / len(X), zero_each=True)


def _short_one_left_out(model, X, y, micro_batch_size):
    full = len(X) // micro_batch_size * micro_batch_size
    _weighted(model, X[:full], y[:full], micro_batch_size, lambda xb, k: len(xb) / full)


q6 = CodeExercise(
    "q6",
    "Write `micro_batch_gradient(model, X, y, micro_batch_size)`: leave in the parameters' "
    "`.grad` the gradient of the mean squared error over the whole batch (X, y), while the model "
    "never sees more than `micro_batch_size` samples at once. The last micro-batch may be short. "
    "Checked against one backward() over the whole batch, within 1e-5 of the largest entry.",
    reference=_one_batch_gradient,
    cases=_micro_cases,
    outcome=_gradient_outcome,
    compare=_compare_gradients,
    mistakes=(
        Mistake(
            _divided_by_k,
            "Each micro-batch loss was divided by k, the number of micro-batches: right when "
            "they are all full, but the short last one then weighs as much as a full one, so each "
            "of its samples counts more (section 6b).",
            hint="Weight each micro-batch by its share of the batch: `len(xb) / len(X)`.",
        ),
        Mistake(
            _not_divided,
            "Your gradient is the sum of the micro-batch gradients, about k times the batch's "
            "(section 6a): scale each micro-batch loss before backward().",
            hint="Weight each micro-batch by its share of the batch: `len(xb) / len(X)`.",
        ),
        Mistake(
            _zeroed_each,
            "Only the last micro-batch's gradient is left: zeroing the gradients inside the "
            "micro-batch loop erases the ones added before (section 6e).",
            hint="backward() adds into .grad: zero at most once, before the first micro-batch.",
        ),
        Mistake(
            _short_one_left_out,
            "Your gradient leaves out the last, short micro-batch: every sample of the batch "
            "must count.",
            hint="`X.split(micro_batch_size)` keeps the short piece at the end.",
        ),
    ),  # fmt: skip
    hint="For each piece of `zip(X.split(micro_batch_size), y.split(micro_batch_size))`: the "
    "loss of the piece times its share of the batch, len(xb) / len(X), then backward().",
    solution="""from torch.nn.functional import mse_loss


def micro_batch_gradient(model, X, y, micro_batch_size):
    for xb, yb in zip(X.split(micro_batch_size), y.split(micro_batch_size)):
        share = len(xb) / len(X)  # a short micro-batch counts for less
        (mse_loss(model(xb), yb) * share).backward()  # adds into .grad
""",
)


# --- q7: the loop of section 2, right for a short last batch ----------------------------------


def train_with_accumulation(model, data, *, micro_batch_size, accumulation_steps, epochs, lr, seed):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    micro_batches = BatchIterator(data.X, data.y, batch_size=micro_batch_size, seed=seed)
    update_losses, running = [], 0.0
    for epoch in range(epochs):  # noqa: B007
        for i, (xb, yb) in enumerate(micro_batches, start=1):
            micro_loss = mse_loss(model(xb), yb) / accumulation_steps  # change 1: 1/k of the update
            micro_loss.backward()  # .grad keeps adding up until it is zeroed
            running += micro_loss.item()
            if i % accumulation_steps == 0 or i == len(micro_batches):  # change 2: every k
                optimizer.step()
                optimizer.zero_grad()
                update_losses.append(running)
                running = 0.0
    return update_losses


def _train_accumulated(model, data, *, micro_batch_size, accumulation_steps, epochs, lr, seed):
    h = train(model, data, batch_size=micro_batch_size * accumulation_steps,
              accumulation_steps=accumulation_steps, epochs=epochs, lr=lr, seed=seed)  # fmt: skip
    return h.iterations.loss


def _weighted_loop(model, data, *, micro_batch_size, accumulation_steps, epochs, lr, seed, weight):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    batch = micro_batch_size * accumulation_steps
    batches = BatchIterator(data.X, data.y, batch_size=batch, seed=seed)
    update_losses = []
    for _ in range(epochs):
        for X, y in batches:
            parts = list(zip(X.split(micro_batch_size), y.split(micro_batch_size)))
            total = 0.0
            for xb, yb in parts:
                loss = mse_loss(model(xb), yb) * weight(len(xb), len(X), len(parts), batch)
                loss.backward()
                total += loss.item()
            optimizer.step()
            optimizer.zero_grad()
            update_losses.append(total)
    return update_losses


def _full_batch_share(model, data, **kwargs):
    return _weighted_loop(model, data, **kwargs, weight=lambda size, n, k, batch: size / batch)


def _mean_of_means(model, data, **kwargs):
    return _weighted_loop(model, data, **kwargs, weight=lambda size, n, k, batch: 1 / k)


def _accumulation_cases():
    return [
        dict(model=tutorial_mlp(seed=7), data=quadratic_data(100, seed=8), micro_batch_size=8,
             accumulation_steps=4, epochs=3, lr=0.01, seed=0),  # batches 32, 32, 32 and 4
        dict(model=tutorial_mlp(seed=9), data=quadratic_data(90, seed=10), micro_batch_size=8,
             accumulation_steps=3, epochs=3, lr=0.01, seed=1),  # the last batch: 8 + 8 + 2
    ]  # fmt: skip


def _run_outcome(losses, args):
    return losses, {k: v.detach().clone() for k, v in args["model"].state_dict().items()}


def _compare_runs(got, want, case):
    losses, params = got
    want_losses, want_params = want
    if not isinstance(losses, (list, tuple)):
        return (
            "return the list of update losses (one number per iteration), as "
            f"train_with_accumulation does; you returned {reprlib.repr(losses)}"
        )
    tolerance = dict(bitwise=False, atol=1e-5, rtol=1e-4)
    message = first_difference(
        list(losses), list(want_losses), name="the loss", index="at iteration {}", **tolerance
    )
    if message:
        return message
    message = first_difference(params, want_params, name="the model", **tolerance)
    return f"after the last epoch, {message}" if message else None


q7 = CodeExercise(
    "q7",
    "Section 2's `train_with_accumulation` divides every micro-batch loss by k; when N is not a "
    "multiple of k·b the last batch of each epoch is short and the loop drifts from `train()` "
    "(section 6b). Write `fixed_accumulation(...)`, with the same arguments and the same "
    "returned update losses, that weights each micro-batch by its share of its batch. Checked "
    "against train(batch_size=k·b, accumulation_steps=k) on 100 and 90 samples, within 1e-5.",
    reference=_train_accumulated,
    cases=_accumulation_cases,
    outcome=_run_outcome,
    compare=_compare_runs,
    mistakes=(
        Mistake(
            train_with_accumulation,
            "That is section 2's loop unchanged: dividing by k treats the short last batch of "
            "each epoch as if it were full, so its micro-batches move the parameters too little "
            "and its short micro-batch weighs too much.",
            hint="Weight each micro-batch loss by len(xb) / (samples in its batch), where the "
            "last batch of an epoch holds fewer than k·b.",
        ),
        Mistake(
            _full_batch_share,
            "You weighted each micro-batch by len(xb) / (k·b), its share of a full batch: the "
            "last batch of each epoch holds fewer than k·b samples, so its update comes out too "
            "small.",
            hint="Divide by the size of the batch the micro-batch belongs to, not by k·b.",
        ),
        Mistake(
            _mean_of_means,
            "You divided each micro-batch loss by the number of micro-batches in its update: "
            "right when they are the same size, but a short micro-batch then weighs as much as a "
            "full one.",
            hint="Weight by samples, not by micro-batches: len(xb) / (samples in its batch).",
        ),
    ),  # fmt: skip
    hint="Loop over batches of k·b, `BatchIterator(data.X, data.y, batch_size=k * b, seed=seed)` "
    "(the same order as train()), split each with `X.split(micro_batch_size)`, and weight each "
    "micro-batch loss by len(xb) / len(X) before backward(); one step and zero_grad per batch.",
    solution="""import torch
from torch.nn.functional import mse_loss

from gdlessons.batching import BatchIterator


def fixed_accumulation(model, data, *, micro_batch_size, accumulation_steps, epochs, lr, seed):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    batch_size = micro_batch_size * accumulation_steps  # the effective batch k·b
    batches = BatchIterator(data.X, data.y, batch_size=batch_size, seed=seed)
    update_losses = []
    for epoch in range(epochs):
        for X, y in batches:  # the last batch of an epoch may be short
            running = 0.0
            for xb, yb in zip(X.split(micro_batch_size), y.split(micro_batch_size)):
                micro_loss = mse_loss(model(xb), yb) * (len(xb) / len(X))  # its share
                micro_loss.backward()
                running += micro_loss.item()
            optimizer.step()
            optimizer.zero_grad()
            update_losses.append(running)
    return update_losses
""",
)
