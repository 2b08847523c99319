"""Chapter 04 exercises: what the questions accept besides the expected answer; what q6 and q7
say about other wrong answers, and that their references are the chapter's loops. The rules every
exercise keeps are tested in test_rules.py."""

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


def test_q4_ignores_case_and_rejects_unknown_layers():
    assert ex.q4.check(" batchnorm1d ").correct
    assert "Choose one of" in ex.q4.check("Conv2d").message


def test_q1_rejects_fractions():
    assert ex.q1.check(7.5).status == "incorrect"


# --- q6 ---------------------------------------------------------------------------------------


def grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def test_q6_reference_is_one_backward_over_the_whole_batch():
    case = ex._micro_cases()[0]
    model, X, y = case["model"], case["X"], case["y"]
    plain = copy.deepcopy(nn.Sequential(*model))
    mse_loss(plain(X), y).backward()
    ex._one_batch_gradient(model, X, y, case["micro_batch_size"])
    assert model.largest_batch == 0  # the watch is for the student's function only
    for name, g in grads(model).items():
        assert torch.equal(g, grads(plain)[name])


def test_q6_watched_model_sees_the_micro_batches():
    case = ex._micro_cases()[0]
    shared.solution_of(ex.q6, "micro_batch_gradient")(**case)
    assert case["model"].largest_batch == case["micro_batch_size"]


def test_q6_other_wrong_answers_get_their_messages():
    prefix = "With micro_batch_size=32: "

    def whole_batch(model, X, y, micro_batch_size):
        mse_loss(model(X), y).backward()

    assert prefix + "your gradient came from a forward pass over 100 samples at once" in (
        ex.q6.check(whole_batch).message
    )

    def no_backward(model, X, y, micro_batch_size):
        for xb, yb in zip(X.split(micro_batch_size), y.split(micro_batch_size)):
            mse_loss(model(xb), yb)

    assert prefix + "the model's parameters hold no gradient" in ex.q6.check(no_backward).message

    def doubled(model, X, y, micro_batch_size):
        for xb, yb in zip(X.split(micro_batch_size), y.split(micro_batch_size)):
            (mse_loss(model(xb), yb) * len(xb) / len(X) * 2).backward()

    assert prefix + "in .grad, `0.weight` differs by" in ex.q6.check(doubled).message
    assert "from the gradient of the batch of 100" in ex.q6.check(doubled).message


def test_q6_check_leaves_the_cases_and_the_generators_alone():
    torch.manual_seed(3)
    before = torch.get_rng_state()
    ex.q6.check(ex._divided_by_k)
    assert torch.equal(before, torch.get_rng_state())
    case = ex._micro_cases()[0]
    ex.q6.check(lambda model, X, y, micro_batch_size: ex._one_batch_gradient(model, X, y, 100))
    assert all(p.grad is None for p in case["model"].parameters())


# --- q7 ---------------------------------------------------------------------------------------


def test_q7_the_notebook_shows_the_loop_the_checker_knows():
    cells = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]]
    shown = next(c for c in cells if c.startswith("def train_with_accumulation"))
    known = inspect.getsource(ex.train_with_accumulation).replace("  # noqa: B007", "")
    assert shown.strip() == known.strip()


def test_q7_section_2_loop_is_right_when_every_batch_is_full():
    """The chapter's claim that q7 builds on: with N a multiple of k·b the 1/k loop is train()."""
    case = {**ex._accumulation_cases()[0], "data": quadratic_data(96, seed=8)}
    by_hand, by_train = copy.deepcopy(case), copy.deepcopy(case)
    losses = ex.train_with_accumulation(**by_hand)
    want = ex._train_accumulated(**by_train)
    torch.testing.assert_close(torch.tensor(losses), torch.tensor(want), atol=1e-6, rtol=1e-5)
    for a, b in zip(by_hand["model"].parameters(), by_train["model"].parameters()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


@pytest.mark.slow
def test_q7_other_wrong_answers_get_their_messages():
    prefix = "With micro_batch_size=8, accumulation_steps=4, epochs=3, lr=0.01, seed=0: "

    def nothing_returned(model, data, **kwargs):
        ex._train_accumulated(model, data, **kwargs)

    assert prefix + "return the list of update losses" in ex.q7.check(nothing_returned).message

    def reversed_losses(model, data, **kwargs):
        return ex._train_accumulated(model, data, **kwargs)[::-1]

    assert prefix + "at iteration 1, the loss is" in ex.q7.check(reversed_losses).message

    def nudged(model, data, **kwargs):
        losses = ex._train_accumulated(model, data, **kwargs)
        with torch.no_grad():
            model[0].bias.add_(0.01)
        return losses

    assert prefix + "after the last epoch, `0.bias` differs by" in ex.q7.check(nudged).message


def test_q7_check_leaves_the_generators_alone():
    torch.manual_seed(4)
    before = torch.get_rng_state()
    ex.q7.check(ex.train_with_accumulation)
    assert torch.equal(before, torch.get_rng_state())


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


def q6_summed_losses_over_index_slices(model, X, y, micro_batch_size):
    """Slices by index and a summed loss divided by the batch's element count."""
    model.zero_grad()
    for start in range(0, len(X), micro_batch_size):
        xb, yb = X[start : start + micro_batch_size], y[start : start + micro_batch_size]
        (mse_loss(model(xb), yb, reduction="sum") / y.numel()).backward()


def q6_autograd_grad_added_by_hand(model, X, y, micro_batch_size):
    """torch.autograd.grad per micro-batch, the shares added into .grad by hand."""
    params = list(model.parameters())
    total = [torch.zeros_like(p) for p in params]
    for xb, yb in zip(X.split(micro_batch_size), y.split(micro_batch_size)):
        gs = torch.autograd.grad(mse_loss(model(xb), yb), params)
        for t, g in zip(total, gs):
            t.add_(g, alpha=len(xb) / len(X))
    for p, t in zip(params, total):
        p.grad = t


def q6_loss_scaling(model, X, y, micro_batch_size, scale=1024.0):
    """Loss scaling as in mixed precision: scale each micro-batch loss up, unscale .grad after."""
    for xb, yb in zip(X.split(micro_batch_size), y.split(micro_batch_size)):
        (mse_loss(model(xb), yb) * len(xb) / len(X) * scale).backward()
    for p in model.parameters():
        p.grad /= scale


@pytest.mark.parametrize(
    "fn",
    [q6_summed_losses_over_index_slices, q6_autograd_grad_added_by_hand, q6_loss_scaling],
    ids=lambda fn: fn.__name__,
)
def test_q6_accepts_correct_answers_written_differently(fn):
    result = ex.q6.check(fn)
    assert result.correct, result.message


def q7_manual_step_and_summed_losses(model, data, *, micro_batch_size, accumulation_steps,
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


def q7_one_backward_per_batch_with_loss_scaling(model, data, *, micro_batch_size,
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
    [q7_manual_step_and_summed_losses, q7_one_backward_per_batch_with_loss_scaling],
    ids=lambda fn: fn.__name__,
)
def test_q7_accepts_correct_answers_written_differently(fn):
    result = ex.q7.check(fn)
    assert result.correct, result.message
