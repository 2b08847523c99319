"""Chapter 04 exercises: the accumulation mechanisms inside the story, then transfer questions.

The story's your-turn cells (checked by :class:`~gdlessons.exercises.code.CodeExercise` against
the course's functions, within float32 rounding: the same numbers added in a different order):
t1 the accumulation loop of section 2 (each micro-batch loss divided by k, one step and one
zero_grad per k micro-batches), checked on its update losses and final parameters within 1e-5
(absolute) plus 1e-4 (relative); t2 one batch's gradient from micro-batches of unequal sizes,
each weighted by its share (section 6b), within 1e-5 of the largest gradient entry; t3 the
normalisation a BatchNorm layer computes over the samples it is given (section 6c), within 1e-4.
At the end: q1 to q5 take a number or a word; q6 and q7 a function: q6 section 2's loop fixed for
a short last batch, checked against ``train(accumulation_steps=k)`` like t1; q7 the share of t2
when the mean runs over the labelled samples only, checked like t2.

>>> q1.check(...).status, t1.check(...).status
('not attempted', 'not attempted')
"""

from __future__ import annotations

import reprlib

import torch
from torch import nn
from torch.nn.functional import batch_norm, mse_loss

from gdlessons.batching import BatchIterator
from gdlessons.data import quadratic_data
from gdlessons.exercises import Exercise, expect_choice, expect_close, expect_int
from gdlessons.exercises.code import CodeExercise, Mistake, close_tensors, first_difference
from gdlessons.models import tutorial_mlp
from gdlessons.training import train

MICRO, EFFECTIVE = 48, 384  # q1
K2, LR2 = 4, 0.05  # q2: the undivided loop's k and rate
SIZES3, K3 = (32, 32, 32, 4), 4  # q3: the micro-batches of one batch of 100
STEP_SIZE5, K5 = 100, 4  # q5


def _run_outcome(losses, args):
    return losses, {k: v.detach().clone() for k, v in args["model"].state_dict().items()}


def _compare_runs(got, want, case):
    """t1 and q6: the update losses, then the final parameters, within float32 rounding."""
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


# --- t1: the accumulation loop ----------------------------------------------------------------


# The notebook shows this function 80 characters wide: keep that layout here.
# fmt: off
def train_with_accumulation(
    model, data, *, micro_batch_size, accumulation_steps, epochs, lr, seed
):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    micro_batches = BatchIterator(
        data.X, data.y, batch_size=micro_batch_size, seed=seed
    )
    update_losses, running = [], 0.0
    for epoch in range(epochs):  # noqa: B007
        for i, (xb, yb) in enumerate(micro_batches, start=1):
            # change 1: each micro-batch's loss is 1/k of the update's
            micro_loss = mse_loss(model(xb), yb) / accumulation_steps
            micro_loss.backward()  # .grad keeps adding up until it is zeroed
            running += micro_loss.item()
            # change 2: an update every k micro-batches and at the epoch's end
            if i % accumulation_steps == 0 or i == len(micro_batches):
                optimizer.step()
                optimizer.zero_grad()
                update_losses.append(running)
                running = 0.0
    return update_losses
# fmt: on


def _loop(model, data, *, micro_batch_size, accumulation_steps, epochs, lr, seed,
          divide=True, step_every=None, zero_each=False, last_step=True, reset=True):  # fmt: skip
    """train_with_accumulation with one of its typical mistakes switched on."""
    k = accumulation_steps
    step_every = step_every or k
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    micro_batches = BatchIterator(data.X, data.y, batch_size=micro_batch_size, seed=seed)
    update_losses, running = [], 0.0
    for _ in range(epochs):
        for i, (xb, yb) in enumerate(micro_batches, start=1):
            if zero_each:
                optimizer.zero_grad()
            micro_loss = mse_loss(model(xb), yb) / (k if divide else 1)
            micro_loss.backward()
            running += micro_loss.item()
            if i % step_every == 0 or (last_step and i == len(micro_batches)):
                optimizer.step()
                optimizer.zero_grad()
                update_losses.append(running)
                running = 0.0 if reset else running
    return update_losses


def _loop_not_divided(model, data, **kwargs):
    return _loop(model, data, **kwargs, divide=False)


def _loop_step_every_micro_batch(model, data, **kwargs):
    return _loop(model, data, **kwargs, step_every=1)


def _loop_zero_each_micro_batch(model, data, **kwargs):
    return _loop(model, data, **kwargs, zero_each=True)


def _loop_no_step_at_epoch_end(model, data, **kwargs):
    return _loop(model, data, **kwargs, last_step=False)


def _loop_running_not_reset(model, data, **kwargs):
    return _loop(model, data, **kwargs, reset=False)


def _loop_cases():
    return [
        dict(model=tutorial_mlp(seed=11), data=quadratic_data(96, seed=12), micro_batch_size=8,
             accumulation_steps=4, epochs=2, lr=0.01, seed=0),  # 12 micro-batches: 3 updates of 4
        dict(model=tutorial_mlp(seed=13), data=quadratic_data(90, seed=14), micro_batch_size=8,
             accumulation_steps=5, epochs=2, lr=0.01, seed=1),  # 11 of 8 and 1 of 2: 5 + 5 + 2
    ]  # fmt: skip


t1 = CodeExercise(
    "t1",
    "Write `train_with_accumulation(model, data, *, micro_batch_size, accumulation_steps, epochs, "
    "lr, seed)`: chapter 01's loop over micro-batches with two changes. Change 1: divide each "
    "micro-batch's mean loss by k before backward(). Change 2: step() and zero_grad() only after "
    "every k-th micro-batch of an epoch, and after its last one (the epoch's last update may hold "
    "fewer than k). Return one loss per update: the sum of its micro-batches' divided losses. "
    "Checked on 96 samples (micro-batches of 8, k = 4) and 90 samples (k = 5: each epoch ends "
    "with an update of two micro-batches, 8 and 2) against the course's loop: the update losses "
    "and the final parameters, up to float32 rounding (1e-5 absolute plus 1e-4 relative).",
    reference=train_with_accumulation,
    cases=_loop_cases,
    outcome=_run_outcome,
    compare=_compare_runs,
    mistakes=(
        Mistake(
            _loop_not_divided,
            "Your micro-batch losses are not divided by k: the k gradients add up to k times the "
            "batch's, the update of a learning rate k times too large (section 6a), and every "
            "update loss is k times the batch's.",
            hint="Change 1: divide each micro-batch's `mse_loss(...)` by `accumulation_steps`.",
        ),
        Mistake(
            _loop_step_every_micro_batch,
            "You stepped after every micro-batch: that is the ordinary loop on small batches "
            "(with a learning rate k times smaller), not one update per k micro-batches.",
            hint="Change 2: put step(), zero_grad() and the recording under an `if` that is true "
            "after every k-th micro-batch (`i % accumulation_steps == 0`) and after the last.",
        ),
        Mistake(
            _loop_zero_each_micro_batch,
            "Only the last micro-batch's gradient reached each step(): a zero_grad() before every "
            "backward() erases the gradients the micro-batches before it added (section 6e).",
            hint="Zero only right after step(), inside the `if`.",
        ),
        Mistake(
            _loop_no_step_at_epoch_end,
            "Every k-th micro-batch steps, but when an epoch's micro-batches are not a multiple "
            "of k the last few never get their step(): their gradients leak into the next "
            "epoch's first update, and the last epoch's are lost.",
            hint="Step also after the epoch's last micro-batch: `i == len(micro_batches)`.",
        ),
        Mistake(
            _loop_running_not_reset,
            "Your update losses keep growing: `running` is never set back to 0 after an update, "
            "so each recorded loss also holds all the updates before it.",
            hint="After appending `running`, start the next update's sum from 0.0.",
        ),
    ),  # fmt: skip
    hint=[
        "For every micro-batch: its loss divided by k, backward() (which adds into .grad), and "
        "its `.item()` added to `running`. Only at the end of an update: step, zero, record.",
        "`i % accumulation_steps == 0` is true after every k-th micro-batch, and "
        "`i == len(micro_batches)` after the epoch's last; under that `if`: `optimizer.step()`, "
        "`optimizer.zero_grad()`, append `running` to the list, reset it to 0.0.",
    ],
    solution="""import torch
from torch.nn.functional import mse_loss

from gdlessons.batching import BatchIterator


def train_with_accumulation(
    model, data, *, micro_batch_size, accumulation_steps, epochs, lr, seed
):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    micro_batches = BatchIterator(
        data.X, data.y, batch_size=micro_batch_size, seed=seed
    )
    update_losses, running = [], 0.0
    for epoch in range(epochs):
        for i, (xb, yb) in enumerate(micro_batches, start=1):
            # change 1: each micro-batch's loss is 1/k of the update's
            micro_loss = mse_loss(model(xb), yb) / accumulation_steps
            micro_loss.backward()  # .grad keeps adding up until it is zeroed
            running += micro_loss.item()
            # change 2: an update every k micro-batches and at the epoch's end
            if i % accumulation_steps == 0 or i == len(micro_batches):
                optimizer.step()
                optimizer.zero_grad()
                update_losses.append(running)
                running = 0.0
    return update_losses
""",
)


# --- t2: one batch's gradient from micro-batches of unequal sizes -----------------------------


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


def _micro_batch_gradient(model, X, y, micro_batch_size):
    """Each micro-batch's mean loss weighted by its share of the batch, backward() on each: what
    ``accumulated_gradient(scale="share")`` and ``train()`` do, one backward() over the whole
    batch up to float32 rounding."""
    for xb, yb in zip(X.split(micro_batch_size), y.split(micro_batch_size)):
        (mse_loss(model(xb), yb) * (len(xb) / len(X))).backward()


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


t2 = CodeExercise(
    "t2",
    "Write `micro_batch_gradient(model, X, y, micro_batch_size)`: leave in the parameters' "
    "`.grad` the gradient of the mean squared error over the whole batch (X, y), while the model "
    "never sees more than `micro_batch_size` samples at once. The last micro-batch may be short. "
    "Checked on two tutorial MLPs and a line (100 samples in micro-batches of 32, 64 in 16, 50 "
    "in 20) against the gradient of the whole batch, within 1e-5 of its largest entry.",
    reference=_micro_batch_gradient,
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


# --- t3: what a BatchNorm layer computes over the samples it is given -------------------------

EPS = 1e-5  # BatchNorm1d's default, added to the variance under the square root


def _torch_batch_norm(h, eps=EPS):
    """torch's BatchNorm in training mode, without its learned scale and shift."""
    return batch_norm(h, None, None, training=True, eps=eps)


def _bn_unbiased(h, eps=EPS):
    return (h - h.mean(0)) / torch.sqrt(h.var(0) + eps)


def _bn_per_sample(h, eps=EPS):
    return (h - h.mean(1, keepdim=True)) / torch.sqrt(h.var(1, unbiased=False, keepdim=True) + eps)


def _bn_whole_tensor(h, eps=EPS):
    return (h - h.mean()) / torch.sqrt(h.var(unbiased=False) + eps)


def _bn_no_eps(h, eps=EPS):
    return (h - h.mean(0)) / h.std(0, unbiased=False)


def _bn_divided_by_variance(h, eps=EPS):
    return (h - h.mean(0)) / (h.var(0, unbiased=False) + eps)


def _norm_cases():
    g = torch.Generator().manual_seed(21)
    hidden = (2 * torch.randn(64, 16, generator=g) + 0.5).relu()
    hidden[:, 3] = 0.0  # a dead ReLU unit: zero for every sample, its variance 0
    return [
        dict(h=hidden),
        dict(h=0.5 * torch.randn(4, 5, generator=g) - 2),  # 4 samples: n and n − 1 far apart
        dict(h=3 * torch.randn(10, 1, generator=g) + 1),  # one feature
    ]


t3 = CodeExercise(
    "t3",
    "Write `batch_norm(h, eps=1e-5)`: every feature (column) of h, a batch of samples (rows), "
    "normalised with that feature's mean μ_B and variance σ²_B over the samples, "
    "(h − μ_B) / √(σ²_B + eps), with σ²_B = (1/n) Σ (h − μ_B)² over the n samples. That is what a "
    "BatchNorm layer computes in training mode, before its learned scale and shift. Checked on "
    "three batches (64 × 16 with a feature that is zero for every sample, 4 × 5 and 10 × 1) "
    "against `torch.nn.functional.batch_norm(h, None, None, training=True)`, within 1e-4 "
    "(float32 rounding of the mean and variance).",
    reference=_torch_batch_norm,
    cases=_norm_cases,
    compare=close_tensors(atol=1e-4, rtol=1e-4, name="the normalised h"),
    mistakes=(
        Mistake(
            _bn_unbiased,
            "You normalised with the unbiased variance, divided by n − 1 (the default of torch's "
            "`.var()` and `.std()`): BatchNorm normalises with the variance divided by n. On 4 "
            "samples the two differ by a factor 4/3.",
            hint="`h.var(dim=0, unbiased=False)` divides by n.",
        ),
        Mistake(
            _bn_per_sample,
            "You normalised each sample over its features (dim=1): that is LayerNorm, which does "
            "not depend on the other samples, and so is one of the fixes of section 6c. BatchNorm "
            "normalises each feature over the samples (dim=0).",
            hint="Take the mean and the variance over dim=0, the samples: one per feature.",
        ),
        Mistake(
            _bn_whole_tensor,
            "You used one mean and one variance for every entry of h: BatchNorm keeps one of "
            "each per feature (column), over the samples.",
            hint="`h.mean(dim=0)` gives one mean per feature; the variance likewise.",
        ),
        Mistake(
            _bn_no_eps,
            "A feature that is zero for every sample (a dead ReLU unit) came out nan: its "
            "variance is 0, and 0 / 0 is nan. BatchNorm adds eps to the variance under the "
            "square root.",
            hint="Divide by `torch.sqrt(var + eps)`.",
        ),
        Mistake(
            _bn_divided_by_variance,
            "You divided by the variance σ²_B: BatchNorm divides by √(σ²_B + eps), the standard "
            "deviation, so every feature comes out with variance about 1.",
            hint="Take the square root of `var + eps` before dividing.",
        ),
    ),  # fmt: skip
    hint=[
        "Two statistics per feature, each a reduction over the samples (the rows, dim=0); then "
        "one line of arithmetic that broadcasts them over the rows.",
        "`h.mean(dim=0)` is one mean per feature; `.var` takes the same `dim`, and "
        "`unbiased=False` makes it divide by n; then (h − mean) over the square root of "
        "(var + eps).",
    ],
    solution="""import torch


def batch_norm(h, eps=1e-5):
    mean = h.mean(dim=0)  # one per feature, over the samples
    var = h.var(dim=0, unbiased=False)  # divided by n, as BatchNorm does
    return (h - mean) / torch.sqrt(var + eps)
""",
)


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


# --- q6: the loop of section 2, right for a short last batch ----------------------------------


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


q6 = CodeExercise(
    "q6",
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


def fixed_accumulation(
    model, data, *, micro_batch_size, accumulation_steps, epochs, lr, seed
):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    # the effective batch k·b
    batch_size = micro_batch_size * accumulation_steps
    batches = BatchIterator(data.X, data.y, batch_size=batch_size, seed=seed)
    update_losses = []
    for epoch in range(epochs):
        for X, y in batches:  # the last batch of an epoch may be short
            running = 0.0
            pieces = zip(X.split(micro_batch_size), y.split(micro_batch_size))
            for xb, yb in pieces:
                # its share
                micro_loss = mse_loss(model(xb), yb) * (len(xb) / len(X))
                micro_loss.backward()
                running += micro_loss.item()
            optimizer.step()
            optimizer.zero_grad()
            update_losses.append(running)
    return update_losses
""",
)


# --- q7: the share, when the mean runs over the labelled samples only -------------------------


def _labelled_mean_gradient(model, X, y, labelled, micro_batch_size):
    """One backward() over the labelled samples of the whole batch (past the model's watch,
    which is there for the student's function)."""
    mse_loss(nn.Sequential.forward(model, X[labelled]), y[labelled]).backward()


def _labelled_cases():
    with torch.random.fork_rng(devices=[]):  # building nn.Linear(1, 1) draws
        torch.manual_seed(8)
        line = WatchedModel(nn.Linear(1, 1))
    settings = [  # (model, samples, micro-batch, labelled per micro-batch)
        (WatchedModel(*tutorial_mlp(seed=6)), 60, 16, (3, 0, 16, 5)),  # 16 + 16 + 16 + 12
        (line, 40, 10, (10, 1, 4, 7)),
    ]
    cases = []
    for model, n, micro, counts in settings:
        data = quadratic_data(n, seed=n + 1)
        labelled = torch.zeros(n, dtype=torch.bool)
        for start, count in zip(range(0, n, micro), counts):
            labelled[start : start + count] = True
        cases.append(
            dict(model=model, X=data.X, y=data.y, labelled=labelled, micro_batch_size=micro)
        )
    return cases


def _compare_labelled(got, want, case):
    grads = got[0]
    if any(g is not None and bool(g.isnan().any()) for g in grads.values()):
        return "a parameter's .grad holds nan"
    message = _compare_gradients(got, want, case)
    return (
        message.replace("of the batch of", "of the labelled samples of the batch of")
        if message
        else None
    )


def _labelled_weighted(model, X, y, labelled, micro_batch_size, weight):
    total = int(labelled.sum())
    parts = list(
        zip(X.split(micro_batch_size), y.split(micro_batch_size), labelled.split(micro_batch_size))
    )
    for xb, yb, mb in parts:
        if not mb.any():
            continue
        loss = mse_loss(model(xb)[mb], yb[mb])
        (loss * weight(len(xb), int(mb.sum()), len(X), total, len(parts))).backward()


def _labelled_share_of_samples(model, X, y, labelled, micro_batch_size):
    _labelled_weighted(
        model, X, y, labelled, micro_batch_size, lambda size, here, n, all_, parts: size / n
    )


def _labelled_divided_by_k(model, X, y, labelled, micro_batch_size):
    _labelled_weighted(
        model, X, y, labelled, micro_batch_size, lambda size, here, n, all_, parts: 1 / parts
    )


def _labelled_unlabelled_as_zero(model, X, y, labelled, micro_batch_size):
    for xb, yb, mb in zip(
        X.split(micro_batch_size), y.split(micro_batch_size), labelled.split(micro_batch_size)
    ):
        squared = (model(xb) - yb) ** 2 * mb.unsqueeze(1)  # unlabelled errors counted as 0
        (squared.mean() * len(xb) / len(X)).backward()


q7 = CodeExercise(
    "q7",
    "Only some samples carry a label: `labelled` is a bool tensor, one entry per sample, and the "
    "loss is the mean squared error over the labelled samples of the batch only. Write "
    "`labelled_gradient(model, X, y, labelled, micro_batch_size)`: leave its gradient in the "
    "parameters' `.grad` while the model never sees more than `micro_batch_size` samples at "
    "once. A micro-batch may hold no labelled sample at all. Checked on a tutorial MLP (60 "
    "samples in micro-batches of 16, with 3, 0, 16 and 5 labelled) and a line (40 in 10, with "
    "10, 1, 4 and 7 labelled) against one backward() over the labelled samples, within 1e-5 of "
    "the largest gradient entry.",
    reference=_labelled_mean_gradient,
    cases=_labelled_cases,
    outcome=_gradient_outcome,
    compare=_compare_labelled,
    mistakes=(
        Mistake(
            _labelled_share_of_samples,
            "You weighted each micro-batch by its share of the samples, len(xb) / len(X): the "
            "loss is a mean over the labelled samples, so a micro-batch's share is the part of "
            "the labelled samples it holds.",
            hint="Weight each micro-batch's labelled mean by (its labelled samples) / (all "
            "labelled samples of the batch).",
        ),
        Mistake(
            _labelled_divided_by_k,
            "You gave every micro-batch the same weight, 1 / (number of micro-batches): a "
            "micro-batch with 1 labelled sample then counts as much as one with 16.",
            hint="Count samples, not micro-batches: weight by its labelled samples over all the "
            "labelled ones.",
        ),
        Mistake(
            _labelled_unlabelled_as_zero,
            "You counted every unlabelled sample as an error of 0 and averaged over all the "
            "samples: that divides the labelled errors by N instead of by the number of "
            "labelled samples, so the gradient is too small by that ratio.",
            hint="Average over the labelled samples only: the mean of `(model(xb) - yb)[mb]`'s "
            "squares, then weight by the micro-batch's share of the labelled samples.",
        ),
    ),  # fmt: skip
    hint=[
        "It is the share of section 6b again, counted in the samples the mean runs over: what "
        "fraction of the labelled samples does each micro-batch hold?",
        "Split `labelled` like X and y; for each micro-batch with a labelled sample, backward() "
        "on the mean squared error of its labelled samples times (its labelled count) / "
        "(`labelled.sum()`).",
    ],
    solution="""from torch.nn.functional import mse_loss


def labelled_gradient(model, X, y, labelled, micro_batch_size):
    total = labelled.sum()  # the samples the batch's mean runs over
    size = micro_batch_size
    for xb, yb, mb in zip(X.split(size), y.split(size), labelled.split(size)):
        # no labelled sample: nothing to add (its mean loss would be 0/0)
        if not mb.any():
            continue
        share = mb.sum() / total  # its part of the labelled samples
        (mse_loss(model(xb)[mb], yb[mb]) * share).backward()
""",
)
