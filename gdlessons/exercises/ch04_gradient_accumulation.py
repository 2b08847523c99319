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

MICRO, EFFECTIVE = 48, 384  # q1
K2, LR2 = 4, 0.05  # q2: the undivided loop's k and rate
SIZES3, K3 = (32, 32, 32, 4), 4  # q3: the micro-batches of one batch of 100
STEP_SIZE5, K5 = 100, 4  # q5


def _sample_weight(size: int, k: int = K3) -> float:
    """q3: one sample's weight in the update when its micro-batch's mean loss is divided by k."""
    return 1 / (k * size)


q1 = Exercise(
    "q1",
    f"Your GPU fits micro-batches of {MICRO} samples. How many accumulation steps k give an "
    f"effective batch of {EFFECTIVE}?",
    expect_int(
        EFFECTIVE // MICRO,
        mistakes={
            EFFECTIVE // MICRO - 1: "That is one micro-batch short: k counts every micro-batch of "
            "an update, the one after which step() runs included.",
            EFFECTIVE
            * MICRO: "That multiplies the two sizes: the effective batch is k micro-batches "
            "of 48 samples, so k is how many 48s fit in 384.",
        },
    ),
    hint=[
        "One update sees k micro-batches of 48 samples each: how many samples is that?",
        "Solve k · 48 = 384 for k.",
    ],
    solution="k = 384 / 48 = 8.",
)

q2 = Exercise(
    "q2",
    f"A loop accumulates k = {K2} micro-batches but forgets to divide each loss by k, and uses "
    f"lr = {LR2}. Which learning rate makes the correct (divided) loop take exactly the same updates?",
    expect_close(
        LR2 * K2,
        rtol=0.01,
        mistakes={
            LR2 / K2: "You divided the rate by k: the undivided loop's gradient is k times "
            "larger, so the divided loop needs a larger rate to take the same steps, not a smaller one.",
            LR2: "The same rate gives steps k times smaller: dividing each loss by k divides the "
            "gradient by k, and the rate has to make up for it.",
            LR2
            * K2**0.5: "That is the square-root scaling rule for batch sizes (the noise argument "
            "of chapter 08). Here the gradients differ by an exact factor, so the rate must make up "
            "for all of it.",
        },
    ),
    hint=[
        "Without the division, what is the summed gradient compared with the mean gradient?",
        "SGD's step is lr · gradient: set lr_divided · g equal to 0.05 · (4 · g).",
    ],
    solution="The undivided gradient is 4·g, so the step is 0.05·4·g = 0.2·g: lr = 0.2.",
)

q3 = Exercise(
    "q3",
    "A batch of 100 samples is split into micro-batches of 32, 32, 32 and 4, and each micro-batch loss "
    "is divided by k = 4. How many times more does one sample of the short micro-batch weigh in the "
    "update than one sample of a full micro-batch?",
    expect_close(
        _sample_weight(SIZES3[-1]) / _sample_weight(SIZES3[0]),
        rtol=0.01,
        mistakes={
            1.0: "That is what weighting each micro-batch by its share (len(xb)/100) would give: "
            "every sample equal. This loop divides every micro-batch's mean loss by k instead.",
            _sample_weight(SIZES3[0]) / _sample_weight(SIZES3[-1]): "That is the ratio the other "
            "way round: how much less a sample of a full micro-batch weighs.",
            _sample_weight(SIZES3[-1])
            / (1 / sum(SIZES3)): "You compared with a sample's weight in "
            "the one batch of 100 (1/100), not with a sample of a full micro-batch of 32.",
        },
    ),
    hint=[
        "A micro-batch's loss is the mean over its samples, then divided by k: what fraction of "
        "the update does one of its samples carry?",
        "A sample's weight is 1/k times 1/(size of its micro-batch): compare 1/(4·4) with 1/(4·32).",
    ],
    solution="1/(4·4) against 1/(4·32): 32/4 = 8 times. Weighting by share (len/100) gives every sample 1/100.",
)

q4 = Exercise(
    "q4",
    "Which layer makes k micro-batches give a different gradient from the one batch of k·b, even with "
    "the loss divided correctly? Answer 'Linear', 'ReLU', 'BatchNorm1d' or 'Dropout(p=0)'.",
    expect_choice(
        "BatchNorm1d",
        ("Linear", "ReLU", "BatchNorm1d", "Dropout(p=0)"),
        mistakes={
            "Linear": "A Linear layer maps each sample on its own, with the same weights whatever "
            "else is in the batch; the divided loss already makes its gradient the batch's.",
            "ReLU": "ReLU acts on each number on its own: a sample's output does not depend on "
            "which micro-batch it is in.",
            "Dropout(p=0)": "Dropout with p = 0 drops nothing and rescales by 1/(1 − 0) = 1: it is "
            "the identity, whatever the batch.",
        },
    ),
    hint=[
        "Look for the layer whose output for one sample depends on the other samples in the batch.",
        "Which of these layers computes a statistic (a mean, a variance) over the batch dimension?",
    ],
    solution="BatchNorm1d normalises with the mean and variance of the (micro-)batch it sees, so smaller "
    "micro-batches change every sample's output and gradient.",
)

q5 = Exercise(
    "q5",
    f"A StepLR halves the learning rate every {STEP_SIZE5} updates. With k = {K5} accumulation steps "
    "someone calls scheduler.step() after every micro-batch. After how many updates is the learning "
    "rate first halved?",
    expect_int(
        STEP_SIZE5 // K5,
        mistakes={
            STEP_SIZE5: "That would be right with scheduler.step() once per update, next to "
            "optimizer.step(); here it is called after every micro-batch, k times per update.",
            STEP_SIZE5 * K5: "The schedule runs faster, not slower: every update now steps the "
            "scheduler k times, so its 100 steps arrive sooner.",
        },
    ),
    hint=[
        "How many times is scheduler.step() called during one update?",
        "StepLR counts its own steps: after how many updates have 100 of them been made, at k per update?",
    ],
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
    hint=[
        "backward() adds into `.grad`, so several backward() calls, one per micro-batch, add "
        "up; what must each micro-batch's loss be multiplied by for the sum to be the whole "
        "batch's mean loss?",
        "The whole batch's mean is Σ over micro-batches of (micro-batch mean) × len(xb) / len(X); "
        "`X.split(micro_batch_size)` gives the pieces, the short one last.",
    ],
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
    hint=[
        "Section 2's loop divides by k because it assumes k full micro-batches per update; the "
        "last batch of an epoch breaks that. Loop over whole batches of k·b instead, and split "
        "each one into micro-batches.",
        "`BatchIterator(data.X, data.y, batch_size=k * b, seed=seed)` gives train()'s batches in "
        "its order; inside, weight each micro-batch loss by len(xb) / len(X) and make one "
        "step() and zero_grad() per batch.",
    ],
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
