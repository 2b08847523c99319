"""Chapter 01 exercises: what t2, q3 and t3 accept besides the reference, what they say about
other wrong answers, and that the reference is train()'s loop. The rules every exercise keeps are
tested in test_rules.py."""

import copy
import inspect
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from gdlessons.exercises import ch01_training_loop as ex
from gdlessons.training import train

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {"q1": (30, 10), "q2": (1.5, 0.5), "q4": (21, 18)}

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_training_loop.ipynb"

# --- q1, q2, q4 -------------------------------------------------------------------------------


def test_number_answers_follow_autograd_and_the_loader():
    w = torch.tensor(ex.Q1_W, requires_grad=True)
    ((w * ex.Q1_X - ex.Q1_Y) ** 2).backward()
    assert ex.q1.check(w.grad).correct
    loader = DataLoader(torch.arange(ex.Q4_N), batch_size=ex.Q4_B, shuffle=True)
    assert ex.q4.check(sum(1 for _ in range(ex.Q4_EPOCHS) for _ in loader)).correct


def test_q1_mistakes_of_the_chain_rule_are_told_apart():
    """x = 3 keeps the forgotten x, the forgotten 2 and dŷ/dw = w on different numbers."""
    r = ex.Q1_W * ex.Q1_X - ex.Q1_Y
    assert "dL/dŷ = 2(ŷ − y) alone" in ex.q1.check(2 * r).message
    assert "The 2 of d(r²)/dr" in ex.q1.check(r * ex.Q1_X).message
    assert "multiplied by w" in ex.q1.check(2 * r * ex.Q1_W).message


def test_q4_names_floor_and_one_stream():
    assert "rounded down" in ex.q4.check(18).message
    assert "one stream" in ex.q4.check(19).message


# --- t2 ---------------------------------------------------------------------------------------


def test_t2_other_wrong_answers_get_the_first_difference():
    swapped = ex.t2.check(lambda w, b, X, y: tuple(reversed(ex._autograd_gradients(w, b, X, y))))
    assert "`dL/dw` differs by" in swapped.message
    assert "pair" in ex.t2.check(lambda w, b, X, y: torch.zeros(2)).message


def test_t2_accepts_floats_and_float64():
    def in_float64(w, b, X, y):
        r = w * X.double() + b - y.double()
        return float(2 * (r * X.double()).mean()), float(2 * r.mean())

    assert ex.t2.check(in_float64).correct


# --- q3 ---------------------------------------------------------------------------------------


def test_q3_the_notebook_shows_the_buggy_loop_the_checker_knows():
    cells = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]]
    shown = next(c for c in cells if c.startswith("def buggy_descent"))
    assert shown.startswith(inspect.getsource(ex.buggy_descent))


def _sgd_descent(model, X, y, lr, iterations):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(iterations):
        loss = F.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


def _add_descent(model, X, y, lr, iterations):
    losses = []
    for _ in range(iterations):
        loss = F.mse_loss(model(X), y)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-lr)  # SGD's own update
        model.zero_grad()
        losses.append(loss.item())
    return losses


def _data_descent(model, X, y, lr, iterations):
    losses = []
    for _ in range(iterations):
        loss = F.mse_loss(model(X), y)
        loss.backward()
        for p in model.parameters():
            p.data = p.data - lr * p.grad  # no torch.no_grad()
        model.zero_grad()
        losses.append(loss.item())
    return losses


def test_q3_accepts_the_updates_the_chapter_teaches():
    """torch.optim.SGD and p.add_(p.grad, alpha=-lr) round once where the reference rounds
    twice (a last-bit difference): the check allows float32 rounding, and its prompt says so."""
    for fn in (_sgd_descent, _add_descent):
        result = ex.q3.check(fn)
        assert result.correct, result.message
        assert ".data" not in result.message
    assert "float32 rounding" in ex.q3.prompt and "torch.optim.SGD" in ex.q3.prompt


def test_q3_a_difference_beyond_rounding_is_still_wrong():
    def slower(model, X, y, lr, iterations):
        return ex._fixed_descent(model, X, y, lr * (1 - 1e-4), iterations)

    result = ex.q3.check(slower)
    assert result.status == "incorrect" and "at iteration 2, the loss is" in result.message


def test_q3_accepts_an_update_through_data_and_says_what_the_chapter_uses():
    result = ex.q3.check(_data_descent)
    assert result.correct
    assert "`with torch.no_grad():`" in result.message and "wrong gradients" in result.message


def test_q3_other_fixes_are_named():
    def zero_then_update_from_none(model, X, y, lr, iterations):
        losses = []
        for _ in range(iterations):
            loss = F.mse_loss(model(X), y)
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= 2 * lr * p.grad  # twice the rate
            model.zero_grad()
            losses.append(loss.item())
        return losses

    result = ex.q3.check(zero_then_update_from_none)
    assert "at iteration 2, the loss is" in result.message

    def outside_no_grad(model, X, y, lr, iterations):
        loss = F.mse_loss(model(X), y)
        loss.backward()
        for p in model.parameters():
            p -= lr * p.grad
        return [loss.item()]

    raised = ex.q3.check(outside_no_grad)
    assert (
        "leaf Variable that requires grad" in raised.message
        and "p -= lr * p.grad" in raised.message
    )


# --- t3 ---------------------------------------------------------------------------------------


def test_t3_reference_is_trains_loop_bit_for_bit():
    """The reference's parameters after the epoch are train()'s, on the loader's own batches."""
    for case in ex._epoch_cases():
        loader = case["loader"]
        seed = loader.generator.initial_seed()
        model_ref = case["model"]
        model_train = copy.deepcopy(model_ref)
        losses = ex.one_epoch(model_ref, case["optimizer"], loader)
        same = DataLoader(
            loader.dataset, batch_size=loader.batch_size, shuffle=True,
            generator=torch.Generator().manual_seed(seed),
        )  # fmt: skip
        lr = case["optimizer"].param_groups[0]["lr"]
        h = train(model_train, loader.dataset.tensors, lr=lr, batches=same)
        assert h.iterations.loss == losses
        for a, b in zip(model_ref.parameters(), model_train.parameters()):
            assert torch.equal(a, b)


@pytest.mark.slow
def test_t3_other_wrong_answers_get_the_first_difference():
    def tensors_and_no_zeroing(model, optimizer, loader):
        losses = []
        for xb, yb in loader:
            loss = F.mse_loss(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss)
        return losses

    assert "holds tensors" in ex.t3.check(tensors_and_no_zeroing).message

    def reversed_losses(model, optimizer, loader):
        return ex.one_epoch(model, optimizer, loader)[::-1]

    assert "at iteration 1, the loss is" in ex.t3.check(reversed_losses).message

    def nudged(model, optimizer, loader):
        losses = ex.one_epoch(model, optimizer, loader)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(1.001)
        return losses

    assert "after the epoch, `" in ex.t3.check(nudged).message

    def returns_nothing(model, optimizer, loader):
        ex.one_epoch(model, optimizer, loader)

    assert "return the list of losses" in ex.t3.check(returns_nothing).message


def test_t3_cases_have_several_iterations_per_epoch_and_the_prompt_warns():
    assert all(len(case["loader"]) >= 3 for case in ex._epoch_cases())
    assert "next(iter(loader))" in ex.t3.prompt


def test_t3_names_both_ways_of_taking_one_batch_with_next_iter():
    def one_batch(model, optimizer, loader):
        xb, yb = next(iter(loader))
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return [loss.item()]

    def first_batch_each_time(model, optimizer, loader):
        losses = []
        for _ in range(len(loader)):
            xb, yb = next(iter(loader))
            loss = F.mse_loss(model(xb), yb)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
        return losses

    assert "one batch per epoch: `next(iter(loader))`" in ex.t3.check(one_batch).message
    fresh = ex.t3.check(first_batch_each_time).message
    assert "right number of iterations" in fresh and "next(iter(loader))" in fresh


def test_t3_check_leaves_the_cases_and_the_generators_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    ex.t3.check(ex.one_epoch)
    assert torch.equal(before, torch.get_rng_state())
    case = ex._epoch_cases()[0]
    w = case["model"].w.detach().clone()
    ex.t3.check(lambda model, optimizer, loader: ex.one_epoch(model, optimizer, loader))
    assert torch.equal(case["model"].w, w)


# --- other correct answers --------------------------------------------------------------------


def _t2_loop(w, b, X, y):
    """A plain Python loop over the samples, summing then dividing by N."""
    dw = db = 0.0
    for x_i, y_i in zip(X.flatten().tolist(), y.flatten().tolist()):
        r = w * x_i + b - y_i
        dw += 2 * r * x_i
        db += 2 * r
    return dw / len(X), db / len(X)


def _t2_expanded(w, b, X, y):
    """The expanded formula: dL/dw = 2(w·E[x²] + b·E[x] − E[xy]), dL/db = 2(w·E[x] + b − E[y])."""
    return (
        2 * (w * (X**2).mean() + b * X.mean() - (X * y).mean()),
        2 * (w * X.mean() + b - y.mean()),
    )


def _t2_matrix(w, b, X, y):
    """The design matrix [x, 1]: the gradient is (2/N)·Aᵀr."""
    A = torch.cat([X, torch.ones_like(X)], dim=1)
    r = A @ torch.tensor([[float(w)], [float(b)]]) - y
    grad = 2 / len(X) * (A.T @ r)
    return grad[0, 0], grad[1, 0]


def _t2_one_pass(w, b, X, y):
    """Sums in one pass over the samples, in float64."""
    n = len(X)
    r = (w * X.double() + b - y.double()).flatten()
    return float(2 * (r @ X.double().flatten()) / n), float(2 * r.sum() / n)


def _t2_torch_func(w, b, X, y):
    """torch.func.grad of the loss: right numbers, but autograd, which the prompt rules out."""

    def loss(params):
        return ((params[0] * X + params[1] - y) ** 2).mean()

    return torch.func.grad(loss)(torch.tensor([float(w), float(b)])).unbind()


def _t2_backward(w, b, X, y):
    """backward() on the loss: the shortcut the prompt rules out."""
    w = torch.tensor(float(w), requires_grad=True)
    b = torch.tensor(float(b), requires_grad=True)
    ((w * X + b - y) ** 2).mean().backward()
    return w.grad, b.grad


def test_t2_refuses_autograd_and_says_why():
    for fn in (_t2_torch_func, _t2_backward):
        result = ex.t2.check(fn)
        assert result.status == "incorrect" and "without autograd" in result.message, fn


def test_t2_other_correct_answers_pass():
    for fn in (_t2_loop, _t2_expanded, _t2_matrix, _t2_one_pass):
        result = ex.t2.check(fn)
        assert result.correct, result.message


def _q3_sgd_zero_first(model, X, y, lr, iterations):
    """torch.optim.SGD, zeroing at the top of the loop instead of after the step."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(iterations):
        optimizer.zero_grad()
        loss = torch.nn.MSELoss()(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def _q3_autograd_grad(model, X, y, lr, iterations):
    """torch.autograd.grad returns fresh gradients: nothing accumulates in .grad to clear."""
    params = list(model.parameters())
    losses = []
    for _ in range(iterations):
        loss = F.mse_loss(model(X), y)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(lr * g)
        losses.append(loss.item())
    return losses


def _q3_grad_none(model, X, y, lr, iterations):
    """Update by name through the state, clearing each gradient by setting it to None."""
    losses = []
    for _ in range(iterations):
        loss = F.mse_loss(model(X), y)
        loss.backward()
        with torch.no_grad():
            for _name, p in model.named_parameters():
                p.copy_(p - lr * p.grad)
                p.grad = None
        losses.append(loss.detach().item())
    return losses


def test_q3_other_correct_fixes_pass():
    for fn in (_q3_sgd_zero_first, _q3_autograd_grad, _q3_grad_none):
        result = ex.q3.check(fn)
        assert result.correct, result.message


def _t3_zero_first(model, optimizer, loader):
    """zero_grad() at the top of each iteration, the loss as float()."""
    losses = []
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = torch.nn.MSELoss()(model(xb), yb)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def _t3_one_iterator(model, optimizer, loader):
    """One iterator for the whole epoch, advanced len(loader) times with next()."""
    batches = iter(loader)
    losses = []
    for _ in range(len(loader)):
        xb, yb = next(batches)
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach().item())
    return losses


def _t3_enumerate(model, optimizer, loader):
    """enumerate over the batches, losses stored by index."""
    losses = [None] * len(loader)
    for i, batch in enumerate(loader):
        xb, yb = batch
        optimizer.zero_grad()
        loss = F.mse_loss(model(xb), yb, reduction="mean")
        loss.backward()
        optimizer.step()
        losses[i] = loss.item()
    return losses


def test_t3_other_correct_answers_pass():
    for fn in (_t3_zero_first, _t3_one_iterator, _t3_enumerate):
        result = ex.t3.check(fn)
        assert result.correct, result.message


# --- t1: the update and the zeroing -----------------------------------------------------------


def _t1_optim(model, lr):
    """torch.optim.SGD on the model's parameters: its step, then its zero_grad()."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    optimizer.step()
    optimizer.zero_grad()


def _t1_add_and_none(model, lr):
    """add_ with alpha, and each gradient cleared by setting it to None."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(p.grad, alpha=-lr)
            p.grad = None


def _t1_by_name_zeroed_in_place(model, lr):
    """Through the state dict's names, each .grad zeroed in place."""
    for _name, p in model.named_parameters():
        with torch.no_grad():
            p.copy_(p - lr * p.grad)
        p.grad.zero_()


def test_t1_other_correct_answers_pass():
    for fn in (_t1_optim, _t1_add_and_none, _t1_by_name_zeroed_in_place):
        result = ex.t1.check(fn)
        assert result.correct, result.message


def test_t1_an_update_outside_no_grad_shows_the_error_and_the_hint():
    def outside(model, lr):
        for p in model.parameters():
            p -= lr * p.grad
        model.zero_grad()

    result = ex.t1.check(outside)
    assert "a leaf Variable that requires grad" in result.message and "no_grad" in result.message


def test_t1_the_check_sees_the_gradients_of_one_backward():
    """The cases hand over models mid-iteration: their private copies keep .grad."""
    case = ex._step_cases()[0]
    assert case["model"].w.grad is not None
    assert ex.t1.check(lambda model, lr: model.zero_grad()).status == "incorrect"
