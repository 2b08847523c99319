"""Chapter 03 exercises: what the questions accept besides the expected answer; what q5 and q6
say about other wrong answers, and that their references are what train() does. The rules every
exercise keeps are tested in test_rules.py."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from gdlessons.batching import BatchIterator
from gdlessons.exercises import ch02_epochs_batches_iterations as ch02
from gdlessons.exercises import ch03_three_variants as ex
from gdlessons.hooks import FullTrainLoss, RecordParams
from gdlessons.metrics import evaluate
from gdlessons.models import LinearModel
from gdlessons.training import train

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {
    "q1": (25, 600),
    "q2": ("iteration", "epoch"),
    "q3": (111.0, 100.0),
    "q4": (128, 64),
}


def test_choice_ignores_case_and_spaces():
    assert ex.q2.check("  Iteration ").correct


def test_an_answer_of_the_wrong_shape_is_feedback_not_a_crash():
    assert ex.q1.check("many").status == "incorrect"


def test_q1_is_not_chapter_02s_question():
    assert ex.q1.prompt != ch02.q5.prompt and "next(iter" not in ex.q1.prompt
    assert not ex.q1.check(ch02.TRAP_EPOCHS * ch02.TRAP_B / ch02.TRAP_N).correct


def test_q1_answer_is_what_train_counts():
    batches = BatchIterator(torch.zeros(ex.Q1_N, 1), torch.zeros(ex.Q1_N, 1), batch_size=ex.Q1_B)
    per_epoch = len(list(batches))
    assert ex.q1.check(ex.Q1_ITERATIONS / per_epoch).correct


def test_q3_and_q4_name_the_finite_population_factor_and_the_square_root():
    assert "finite-population factor" in ex.q3.check(100).message
    assert "standard deviations" in ex.q3.check(111**0.5).message
    assert "variance σ²/B" in ex.q4.check(64).message


# --- q5 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ex._epoch_cases(), ids=lambda c: f"B={c['batch_size']}")
def test_q5_reference_is_trains_loop_in_order(case):
    """train() on the batches in order takes the same batches, so its path is the reference's."""
    model = LinearModel(w=case["w"], b=case["b"])
    in_order = BatchIterator(case["X"], case["y"], batch_size=case["batch_size"], shuffle=False)
    h = train(
        model, (case["X"], case["y"]), lr=case["lr"], batches=in_order, hooks=[RecordParams()]
    )
    want = [(float(p["w"]), float(p["b"])) for p in h.params[1:]]
    got = ex._gd_epoch(**case)
    assert len(got) == len(want)
    torch.testing.assert_close(torch.tensor(got), torch.tensor(want), atol=1e-5, rtol=1e-4)


def test_q5_autograd_and_float64_pass_within_the_tolerance():
    def with_autograd(w, b, X, y, batch_size, lr):
        w = torch.tensor(w, requires_grad=True)
        b = torch.tensor(b, requires_grad=True)
        path = []
        for start in range(0, len(X), batch_size):
            xb, yb = X[start : start + batch_size], y[start : start + batch_size]
            torch.nn.functional.mse_loss(w * xb + b, yb).backward()
            with torch.no_grad():
                w -= lr * w.grad
                b -= lr * b.grad
            w.grad = b.grad = None
            path.append((w.detach().clone(), b.detach().clone()))  # tensors are fine too
        return path

    def in_float64(w, b, X, y, batch_size, lr):
        return ex._gd_epoch(w, b, X.double(), y.double(), batch_size, lr)

    assert ex.q5.check(with_autograd).correct and ex.q5.check(in_float64).correct


def test_q5_other_wrong_answers_get_the_first_difference():
    def last_only(w, b, X, y, batch_size, lr):
        return ex._gd_epoch(w, b, X, y, batch_size, lr)[-1]

    assert "return a list of (w, b) pairs, one per iteration" in ex.q5.check(last_only).message

    def triples(w, b, X, y, batch_size, lr):
        return [(w, b, 0.0) for w, b in ex._gd_epoch(w, b, X, y, batch_size, lr)]

    assert "each entry of your list must be one (w, b) pair" in ex.q5.check(triples).message

    def same_tensors(w, b, X, y, batch_size, lr):
        w, b = torch.tensor(w), torch.tensor(b)
        path = []
        for w_new, b_new in ex._gd_epoch(w, b, X, y, batch_size, lr):
            w.fill_(w_new)
            b.fill_(b_new)
            path.append((w, b))
        return path

    assert "every entry of your list is the same tensor" in ex.q5.check(same_tensors).message

    def one_short(w, b, X, y, batch_size, lr):
        return ex._gd_epoch(w, b, X, y, batch_size, lr)[:-1]

    assert "your epoch made 0 iterations, expected 1 (N = 40 samples in batches of 40)" in (
        ex.q5.check(one_short).message
    )

    def faster(w, b, X, y, batch_size, lr):
        return ex._gd_epoch(w, b, X, y, batch_size, 1.01 * lr)

    assert "With w=-1.0, b=2.5, batch_size=40, lr=0.1: after iteration 1, `w` is" in (
        ex.q5.check(faster).message
    )


# --- q6 ---------------------------------------------------------------------------------------


def test_q6_reference_starts_every_run_from_the_given_model():
    case = ex._comparison_cases()[1]
    before = copy.deepcopy(case["model"])
    losses = ex._fair_comparison(**case)
    assert torch.equal(case["model"].w, before.w)  # the given model is untouched
    for B, loss in losses.items():
        run = copy.deepcopy(before)
        train(run, case["data"], batch_size=B, epochs=case["epochs"], lr=case["lr"],
              seed=case["seed"])  # fmt: skip
        assert loss == evaluate(run, case["data"])


def test_q6_the_full_train_loss_of_train_passes():
    def recorded(model, data, batch_sizes, epochs, lr, seed):
        return {B: train(copy.deepcopy(model), data, batch_size=B, epochs=epochs, lr=lr,
                         seed=seed, hooks=[FullTrainLoss()]).epochs.full_train_loss[-1]
                for B in batch_sizes}  # fmt: skip

    assert ex.q6.check(recorded).correct


@pytest.mark.slow
def test_q6_other_wrong_answers_get_the_first_difference():
    prefix = "With epochs=2, lr=0.01, seed=0: "
    assert (
        prefix + "return a dict from each batch size"
        in ex.q6.check(
            lambda model, data, batch_sizes, epochs, lr, seed: [0.5] * len(batch_sizes)
        ).message
    )
    assert (
        prefix + "your dict has no entry for B = 24"
        in ex.q6.check(lambda model, data, batch_sizes, epochs, lr, seed: {}).message
    )
    assert (
        prefix + "for B = 24, your loss is 'low', not a number"
        in ex.q6.check(
            lambda model, data, batch_sizes, epochs, lr, seed: dict.fromkeys(batch_sizes, "low")
        ).message
    )

    def shifted(model, data, batch_sizes, epochs, lr, seed):
        return {B: 1.01 * loss for B, loss in ex._fair_comparison(model, data, batch_sizes,
                                                                 epochs, lr, seed).items()}  # fmt: skip

    assert prefix + "for B = 24, your full-data loss is" in ex.q6.check(shifted).message

    def one_more(model, data, batch_sizes, epochs, lr, seed):
        return {**ex._fair_comparison(model, data, batch_sizes, epochs, lr, seed), "full": 1.0}

    assert "your dict has an entry for B = 'full', which was not asked for" in (
        ex.q6.check(one_more).message
    )


def test_q6_check_leaves_the_cases_and_the_generators_alone():
    torch.manual_seed(11)
    before = torch.get_rng_state()
    ex.q6.check(ex._no_copy)
    assert torch.equal(before, torch.get_rng_state())


# --- other correct answers --------------------------------------------------------------------


def _q5_split_expanded(w, b, X, y, batch_size, lr):
    """torch.split for the batches, the gradient from the expanded formula."""
    path = []
    for xb, yb in zip(X.split(batch_size), y.split(batch_size)):
        dw = 2 * (w * (xb**2).mean() + b * xb.mean() - (xb * yb).mean())
        db = 2 * (w * xb.mean() + b - yb.mean())
        w, b = w - lr * dw, b - lr * db
        path.append((float(w), float(b)))
    return path


def _q5_per_sample(w, b, X, y, batch_size, lr):
    """Plain Python floats: sum over each batch's samples, then divide by its size."""
    xs, ys = X.flatten().tolist(), y.flatten().tolist()
    path = []
    for start in range(0, len(xs), batch_size):
        batch = list(zip(xs[start : start + batch_size], ys[start : start + batch_size]))
        dw = sum(2 * (w * x + b - t) * x for x, t in batch) / len(batch)
        db = sum(2 * (w * x + b - t) for x, t in batch) / len(batch)
        w, b = w - lr * dw, b - lr * db
        path.append((w, b))
    return path


def _q5_optim_sgd(w, b, X, y, batch_size, lr):
    """torch.optim.SGD on the two parameters, batches from a DataLoader without shuffling."""
    params = [
        torch.tensor(float(w), requires_grad=True),
        torch.tensor(float(b), requires_grad=True),
    ]
    optimizer = torch.optim.SGD(params, lr=lr)
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=False)
    path = []
    for xb, yb in loader:
        loss = F.mse_loss(params[0] * xb + params[1], yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        path.append(tuple(p.item() for p in params))
    return path


def test_q5_other_correct_answers_pass():
    for fn in (_q5_split_expanded, _q5_per_sample, _q5_optim_sgd):
        result = ex.q5.check(fn)
        assert result.correct, result.message


def _q6_by_hand_loss(model, data, batch_sizes, epochs, lr, seed):
    """A dict comprehension; the full-data MSE computed by hand under no_grad."""

    def trained(B):
        run = copy.deepcopy(model)
        train(run, data, batch_size=B, epochs=epochs, lr=lr, seed=seed)
        with torch.no_grad():
            return F.mse_loss(run(data.X), data.y).item()

    return {B: trained(B) for B in batch_sizes}


def _q6_restore_state(model, data, batch_sizes, epochs, lr, seed):
    """Train the given model itself, putting its starting state back before every run (and at
    the end); the loss from train()'s validation on the same data."""
    start = copy.deepcopy(model.state_dict())
    losses = {}
    for B in batch_sizes:
        model.load_state_dict(start)
        h = train(model, data, batch_size=B, epochs=epochs, lr=lr, seed=seed, val_data=data)
        losses[B] = h.final_val_loss
    model.load_state_dict(start)
    return losses


def test_q6_other_correct_answers_pass():
    for fn in (_q6_by_hand_loss, _q6_restore_state):
        result = ex.q6.check(fn)
        assert result.correct, result.message
