"""Chapter 04 exercises: what the story's t1, t2 and t3 and the end's q1 to q6 accept besides
the reference, what they say about other wrong answers, and that their references are the
chapter's loops and torch's BatchNorm. The rules every exercise keeps are tested in
test_rules.py."""

from __future__ import annotations

import copy
import inspect
import json
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.functional import mse_loss

from gdlessons.batching import BatchIterator
from gdlessons.chapters import ch04_gradient_accumulation as ch
from gdlessons.data import quadratic_data
from gdlessons.exercises import ch04_gradient_accumulation as ex
from tests.exercises import shared

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {
    "q1": (8, 6),
    "q2": (0.2, 0.05),
    "q3": (8, 1.6),
    "q4": ("BatchNorm1d", "ReLU"),
    "q5": (25, 100),
}

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04_gradient_accumulation.ipynb"


def notebook_cells() -> list[str]:
    return ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]]


def test_q4_ignores_case_and_rejects_unknown_layers():
    assert ex.q4.check(" batchnorm1d ").correct
    assert "Choose one of" in ex.q4.check("Conv2d").message


def test_q1_rejects_fractions():
    assert ex.q1.check(7.5).status == "incorrect"


# --- t1: the accumulation loop ----------------------------------------------------------------


def test_t1_reference_is_the_chapters_loop_and_the_solution_prints_it():
    """The reference is ch.train_by_hand's loop, bit for bit; the printed solution is its code."""
    case = ex._loop_cases()[1]
    by_hand, by_chapter = copy.deepcopy(case), copy.deepcopy(case)
    kwargs = {k: v for k, v in by_chapter.items() if k not in ("model", "data")}
    losses = ex.train_with_accumulation(**by_hand)
    assert losses == ch.train_by_hand(by_chapter["model"], by_chapter["data"], **kwargs)
    for a, b in zip(by_hand["model"].parameters(), by_chapter["model"].parameters()):
        assert torch.equal(a, b)
    known = inspect.getsource(ex.train_with_accumulation).replace("  # noqa: B007", "")
    assert known.strip() in ex.t1._solution


def test_t1_the_notebook_gives_the_references_first_lines_and_leaves_the_loop_body():
    shown = next(c for c in notebook_cells() if c.startswith("def train_with_accumulation"))
    reference = inspect.getsource(ex.train_with_accumulation).replace("  # noqa: B007", "")
    given = [ln for ln in shown.splitlines() if not ln.strip().startswith(("...", '"""'))]
    kept = reference.splitlines()
    assert given[:-1] == kept[: len(given) - 1] and given[-1] == kept[-1]
    assert "mse_loss" not in shown and "step()" not in shown


def test_t1_the_cases_reach_the_epochs_last_short_update():
    """Case 2: 12 micro-batches per epoch and k = 5, so each epoch ends with a step of two."""
    case = ex._loop_cases()[1]
    micro = BatchIterator(case["data"].X, case["data"].y, batch_size=case["micro_batch_size"])
    assert len(micro) % case["accumulation_steps"] != 0
    assert len(case["data"]) % case["micro_batch_size"] != 0


def test_t1_section_2_loop_is_right_when_every_batch_is_full():
    """The chapter's claim that q6 builds on: with N a multiple of k·b the 1/k loop is train()."""
    case = {**ex._accumulation_cases()[0], "data": quadratic_data(96, seed=8)}
    by_hand, by_train = copy.deepcopy(case), copy.deepcopy(case)
    losses = ex.train_with_accumulation(**by_hand)
    want = ex._train_accumulated(**by_train)
    torch.testing.assert_close(torch.tensor(losses), torch.tensor(want), atol=1e-6, rtol=1e-5)
    for a, b in zip(by_hand["model"].parameters(), by_train["model"].parameters()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def t1_manual_step_and_counter(model, data, *, micro_batch_size, accumulation_steps, epochs,
                               lr, seed):  # fmt: skip
    """A hand-written SGD step, a counter of micro-batches since the last update, the loss
    multiplied by 1/k and the running sum kept as a tensor until it is recorded."""
    micro_batches = BatchIterator(data.X, data.y, batch_size=micro_batch_size, seed=seed)
    update_losses = []
    for _ in range(epochs):
        waiting, total = 0, torch.zeros(())
        for xb, yb in micro_batches:
            loss = mse_loss(model(xb), yb) * (1 / accumulation_steps)
            loss.backward()
            total += loss.detach()
            waiting += 1
            if waiting == accumulation_steps:
                with torch.no_grad():
                    for p in model.parameters():
                        p -= lr * p.grad
                        p.grad = None
                update_losses.append(total.item())
                waiting, total = 0, torch.zeros(())
        if waiting:  # the epoch's last, short update
            with torch.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
                    p.grad = None
            update_losses.append(total.item())
    return update_losses


def t1_groups_of_k(model, data, *, micro_batch_size, accumulation_steps, epochs, lr, seed):
    """torch.optim.SGD with zero_grad first; each epoch's micro-batches taken in groups of k."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    micro_batches = BatchIterator(data.X, data.y, batch_size=micro_batch_size, seed=seed)
    update_losses = []
    for _ in range(epochs):
        pieces = list(micro_batches)
        for start in range(0, len(pieces), accumulation_steps):
            optimizer.zero_grad(set_to_none=True)
            losses = []
            for xb, yb in pieces[start : start + accumulation_steps]:
                loss = mse_loss(model(xb), yb) / accumulation_steps
                loss.backward()
                losses.append(loss.item())
            optimizer.step()
            update_losses.append(sum(losses))
    return update_losses


@pytest.mark.parametrize(
    "fn", [t1_manual_step_and_counter, t1_groups_of_k], ids=lambda f: f.__name__
)
def test_t1_accepts_correct_answers_written_differently(fn):
    result = ex.t1.check(fn)
    assert result.correct, result.message


@pytest.mark.slow
def test_t1_other_wrong_answers_get_their_messages():
    prefix = "With micro_batch_size=8, accumulation_steps=4, epochs=2, lr=0.01, seed=0: "

    def nothing_returned(model, data, **kwargs):
        ex.train_with_accumulation(model, data, **kwargs)

    assert prefix + "return the list of update losses" in ex.t1.check(nothing_returned).message

    def one_loss_per_micro_batch(model, data, *, micro_batch_size, accumulation_steps, **kwargs):
        losses = ex.train_with_accumulation(
            model, data, micro_batch_size=micro_batch_size,
            accumulation_steps=accumulation_steps, **kwargs
        )  # fmt: skip
        return [x / accumulation_steps for x in losses for _ in range(accumulation_steps)]

    assert prefix + "the loss has 24 entries, expected 6" in (
        ex.t1.check(one_loss_per_micro_batch).message
    )


def test_t1_a_placeholder_left_in_the_loop_is_not_attempted(tmp_path):
    """The notebook's cell as it stands: it runs, trains nothing, and the check names the `...`."""
    namespace = {"torch": torch, "BatchIterator": BatchIterator}
    shown = next(c for c in notebook_cells() if c.startswith("def train_with_accumulation"))
    cell = tmp_path / "cell.py"  # a file, so that the check can read the function's lines
    cell.write_text(shown)
    exec(compile(shown, str(cell), "exec"), namespace)
    result = ex.t1.check(namespace["train_with_accumulation"])
    assert result.status == "not attempted" and "Line 12" in result.message


# --- t2: one batch's gradient from micro-batches ----------------------------------------------


def grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def test_t2_reference_is_one_backward_over_the_whole_batch_and_the_chapters_share():
    for case in ex._micro_cases():
        model, X, y, micro = case["model"], case["X"], case["y"], case["micro_batch_size"]
        plain = copy.deepcopy(nn.Sequential(*model))
        mse_loss(plain(X), y).backward()
        ex._micro_batch_gradient(model, X, y, micro)
        assert model.largest_batch == micro
        whole = torch.cat([g.reshape(-1) for g in grads(plain).values()])
        parts = torch.cat([g.reshape(-1) for g in grads(model).values()])
        assert (parts - whole).abs().max() <= 1e-6 * whole.abs().max()
        shares = ch.accumulated_gradient(nn.Sequential(*model), X, y, micro_batch_size=micro)
        fresh = copy.deepcopy(case["model"])
        fresh.zero_grad(set_to_none=True)
        ex._micro_batch_gradient(fresh, X, y, micro)
        assert torch.equal(ch.flat_gradient(fresh), shares)  # the story's numbers, bit for bit


def test_t2_watched_model_sees_the_micro_batches():
    case = ex._micro_cases()[0]
    shared.solution_of(ex.t2, "micro_batch_gradient")(**case)
    assert case["model"].largest_batch == case["micro_batch_size"]


def test_t2_other_wrong_answers_get_their_messages():
    prefix = "With micro_batch_size=32: "

    def whole_batch(model, X, y, micro_batch_size):
        mse_loss(model(X), y).backward()

    assert prefix + "your gradient came from a forward pass over 100 samples at once" in (
        ex.t2.check(whole_batch).message
    )

    def no_backward(model, X, y, micro_batch_size):
        for xb, yb in zip(X.split(micro_batch_size), y.split(micro_batch_size)):
            mse_loss(model(xb), yb)

    assert prefix + "the model's parameters hold no gradient" in ex.t2.check(no_backward).message

    def doubled(model, X, y, micro_batch_size):
        for xb, yb in zip(X.split(micro_batch_size), y.split(micro_batch_size)):
            (mse_loss(model(xb), yb) * len(xb) / len(X) * 2).backward()

    assert prefix + "in .grad, `0.weight` differs by" in ex.t2.check(doubled).message
    assert "from the gradient of the batch of 100" in ex.t2.check(doubled).message


def test_t2_check_leaves_the_cases_and_the_generators_alone():
    torch.manual_seed(3)
    before = torch.get_rng_state()
    ex.t2.check(ex._divided_by_k)
    assert torch.equal(before, torch.get_rng_state())
    case = ex._micro_cases()[0]
    ex.t2.check(ex._micro_batch_gradient)
    assert all(p.grad is None for p in case["model"].parameters())


def t2_summed_losses_over_index_slices(model, X, y, micro_batch_size):
    """Slices by index and a summed loss divided by the batch's element count."""
    model.zero_grad()
    for start in range(0, len(X), micro_batch_size):
        xb, yb = X[start : start + micro_batch_size], y[start : start + micro_batch_size]
        (mse_loss(model(xb), yb, reduction="sum") / y.numel()).backward()


def t2_autograd_grad_added_by_hand(model, X, y, micro_batch_size):
    """torch.autograd.grad per micro-batch, the shares added into .grad by hand."""
    params = list(model.parameters())
    total = [torch.zeros_like(p) for p in params]
    for xb, yb in zip(X.split(micro_batch_size), y.split(micro_batch_size)):
        gs = torch.autograd.grad(mse_loss(model(xb), yb), params)
        for t, g in zip(total, gs):
            t.add_(g, alpha=len(xb) / len(X))
    for p, t in zip(params, total):
        p.grad = t


def t2_loss_scaling(model, X, y, micro_batch_size, scale=1024.0):
    """Loss scaling as in mixed precision: scale each micro-batch loss up, unscale .grad after."""
    for xb, yb in zip(X.split(micro_batch_size), y.split(micro_batch_size)):
        (mse_loss(model(xb), yb) * len(xb) / len(X) * scale).backward()
    for p in model.parameters():
        p.grad /= scale


@pytest.mark.parametrize(
    "fn",
    [t2_summed_losses_over_index_slices, t2_autograd_grad_added_by_hand, t2_loss_scaling],
    ids=lambda fn: fn.__name__,
)
def test_t2_accepts_correct_answers_written_differently(fn):
    result = ex.t2.check(fn)
    assert result.correct, result.message


# --- t3: BatchNorm's normalisation ------------------------------------------------------------


def test_t3_reference_is_batchnorm1d_in_training_mode_without_scale_and_shift():
    for case in ex._norm_cases():
        h = case["h"]
        layer = nn.BatchNorm1d(h.shape[1], affine=False).train()
        assert torch.equal(ex.t3.reference(h), layer(h))


def t3_batchnorm1d_layer(h, eps=1e-5):
    """torch's layer itself, fresh, in training mode and without its learned scale and shift."""
    return nn.BatchNorm1d(h.shape[1], eps=eps, affine=False)(h)


def t3_sums_and_rsqrt(h, eps=1e-5):
    """Sums divided by n, in float64, and torch.rsqrt."""
    n = h.shape[0]
    x = h.double()
    mean = x.sum(dim=0, keepdim=True) / n
    var = ((x - mean) ** 2).sum(dim=0, keepdim=True) / n
    return ((x - mean) * torch.rsqrt(var + eps)).float()


def t3_var_mean_correction_0(h, eps=1e-5):
    """torch.var_mean with correction=0, the column statistics transposed in and out."""
    var, mean = torch.var_mean(h.T, dim=1, correction=0, keepdim=True)
    return ((h.T - mean) / (var + eps).sqrt()).T


@pytest.mark.parametrize(
    "fn", [t3_batchnorm1d_layer, t3_sums_and_rsqrt, t3_var_mean_correction_0],
    ids=lambda fn: fn.__name__,
)  # fmt: skip
def test_t3_accepts_correct_answers_written_differently(fn):
    result = ex.t3.check(fn)
    assert result.correct, result.message


def test_t3_other_wrong_answers_get_the_first_difference():
    def transposed(h, eps=1e-5):
        return ex.t3.reference(h).T

    assert "has shape (16, 64), expected (64, 16)" in ex.t3.check(transposed).message

    def learned_shift_added(h, eps=1e-5):
        return ex.t3.reference(h) + 1.0

    assert (
        "In case 1 of 3: the normalised h differs by 1" in ex.t3.check(learned_shift_added).message
    )


def test_t3_the_dead_unit_and_the_four_samples_tell_the_mistakes_apart():
    """The cases hold a feature with variance 0 (eps matters) and a batch of 4 (n − 1 matters)."""
    hidden, four, one = (case["h"] for case in ex._norm_cases())
    assert bool((hidden.var(dim=0) == 0).any()) and len(four) == 4 and one.shape[1] == 1
    assert "nan" in ex.t3.check(ex._bn_no_eps).message


# --- q6: the loop of section 2, right for a short last batch ----------------------------------


@pytest.mark.slow
def test_q6_other_wrong_answers_get_their_messages():
    prefix = "With micro_batch_size=8, accumulation_steps=4, epochs=3, lr=0.01, seed=0: "

    def nothing_returned(model, data, **kwargs):
        ex._train_accumulated(model, data, **kwargs)

    assert prefix + "return the list of update losses" in ex.q6.check(nothing_returned).message

    def reversed_losses(model, data, **kwargs):
        return ex._train_accumulated(model, data, **kwargs)[::-1]

    assert prefix + "at iteration 1, the loss is" in ex.q6.check(reversed_losses).message

    def nudged(model, data, **kwargs):
        losses = ex._train_accumulated(model, data, **kwargs)
        with torch.no_grad():
            model[0].bias.add_(0.01)
        return losses

    assert prefix + "after the last epoch, `0.bias` differs by" in ex.q6.check(nudged).message


def test_q6_check_leaves_the_generators_alone():
    torch.manual_seed(4)
    before = torch.get_rng_state()
    ex.q6.check(ex.train_with_accumulation)
    assert torch.equal(before, torch.get_rng_state())


def test_q6_is_not_the_story_loop():
    """q6 transfers t1 and t2: the loop t1 writes is one of its catalogued mistakes."""
    assert ex.train_with_accumulation in [m.fn for m in ex.q6.mistakes]


# --- feedback that teaches --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "wrong", "named"),
    [
        (ex.q1, 7, "one micro-batch short"),
        (ex.q2, 0.05 / 4, "You divided the rate by k"),
        (ex.q2, 0.05, "The same rate gives steps k times smaller"),
        (ex.q3, 1, "weighting each micro-batch by its share"),
        (ex.q4, "ReLU", "ReLU acts on each number on its own"),
        (ex.q5, 100, "here it is called after every micro-batch"),
        (ex.q5, 400, "The schedule runs faster, not slower"),
    ],
)
def test_typical_mistakes_are_named(q, wrong, named):
    assert named in q.check(wrong).message


# --- correct answers written differently from the reference ----------------------------------


def q6_manual_step_and_summed_losses(model, data, *, micro_batch_size, accumulation_steps,
                                     epochs, lr, seed):  # fmt: skip
    """Summed micro-batch losses over index slices and a hand-written SGD step."""
    batches = BatchIterator(data.X, data.y, batch_size=micro_batch_size * accumulation_steps,
                            seed=seed)  # fmt: skip
    update_losses = []
    for _ in range(epochs):
        for X, y in batches:
            running = 0.0
            for start in range(0, len(X), micro_batch_size):
                xb, yb = X[start : start + micro_batch_size], y[start : start + micro_batch_size]
                loss = mse_loss(model(xb), yb, reduction="sum") / y.numel()
                loss.backward()
                running += loss.item()
            with torch.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
                    p.grad = None
            update_losses.append(running)
    return update_losses


def q6_one_backward_per_batch_with_loss_scaling(model, data, *, micro_batch_size,
                                                accumulation_steps, epochs, lr, seed):  # fmt: skip
    """The micro-batch losses weighted by size and summed into one graph, scaled up for backward
    and the gradients unscaled before torch.optim.SGD's step."""
    scale = 256.0
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    batches = BatchIterator(data.X, data.y, batch_size=micro_batch_size * accumulation_steps,
                            seed=seed)  # fmt: skip
    update_losses = []
    for _ in range(epochs):
        for X, y in batches:
            pieces = zip(X.split(micro_batch_size), y.split(micro_batch_size))
            loss = sum(mse_loss(model(xb), yb) * len(xb) for xb, yb in pieces) / len(X)
            optimizer.zero_grad()
            (loss * scale).backward()
            for p in model.parameters():
                p.grad.div_(scale)
            optimizer.step()
            update_losses.append(loss.item())
    return update_losses


@pytest.mark.parametrize(
    "fn",
    [q6_manual_step_and_summed_losses, q6_one_backward_per_batch_with_loss_scaling],
    ids=lambda fn: fn.__name__,
)
def test_q6_accepts_correct_answers_written_differently(fn):
    result = ex.q6.check(fn)
    assert result.correct, result.message


# --- q7: the share over the labelled samples ---------------------------------------------------


def test_q7_cases_hold_a_micro_batch_without_labels_and_unequal_counts():
    for case in ex._labelled_cases():
        counts = [int(m.sum()) for m in case["labelled"].split(case["micro_batch_size"])]
        assert len(set(counts)) == len(counts)  # no two micro-batches hold as many labels
    assert 0 in [int(m.sum()) for m in ex._labelled_cases()[0]["labelled"].split(16)]


def q7_summed_over_the_labelled(model, X, y, labelled, micro_batch_size):
    """Summed squared errors of the labelled samples over their count; no micro-batch skipped."""
    count = labelled.sum()
    for start in range(0, len(X), micro_batch_size):
        stop = start + micro_batch_size
        keep = labelled[start:stop]
        errors = (model(X[start:stop]) - y[start:stop])[keep]
        ((errors**2).sum() / count).backward()


def q7_weights_from_torch_where(model, X, y, labelled, micro_batch_size):
    """Per-sample weights, 1/(labelled count) where labelled and 0 elsewhere, via torch.where."""
    weights = torch.where(labelled, 1.0 / labelled.sum(), 0.0).unsqueeze(1)
    for xb, yb, wb in zip(X.split(micro_batch_size), y.split(micro_batch_size),
                          weights.split(micro_batch_size)):  # fmt: skip
        (mse_loss(model(xb), yb, reduction="none") * wb).sum().backward()


@pytest.mark.parametrize(
    "fn", [q7_summed_over_the_labelled, q7_weights_from_torch_where], ids=lambda fn: fn.__name__
)
def test_q7_accepts_correct_answers_written_differently(fn):
    result = ex.q7.check(fn)
    assert result.correct, result.message


def test_q7_other_wrong_answers_get_their_messages():
    prefix = "With micro_batch_size=16: "

    def all_labelled_at_once(model, X, y, labelled, micro_batch_size):
        mse_loss(model(X[labelled]), y[labelled]).backward()

    assert prefix + "your gradient came from a forward pass over 24 samples at once" in (
        ex.q7.check(all_labelled_at_once).message
    )

    def every_sample(model, X, y, labelled, micro_batch_size):
        shared.solution_of(ex.t2, "micro_batch_gradient")(model, X, y, micro_batch_size)

    message = ex.q7.check(every_sample).message
    assert "from the gradient of the labelled samples of the batch of 60" in message
