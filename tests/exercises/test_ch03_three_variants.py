"""Chapter 03 exercises: what the questions accept besides the expected answer; what t1, t2, t3
and q5 say about other wrong answers, and that their references are what the chapter's package
computes (train(), compare_variants, path_length, measured_variance). The rules every exercise
keeps are tested in test_rules.py."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from gdlessons.batching import BatchIterator
from gdlessons.chapters import ch03_three_variants as ch
from gdlessons.data import linear_data
from gdlessons.exercises import ch02_epochs_batches_iterations as ch02
from gdlessons.exercises import ch03_three_variants as ex
from gdlessons.hooks import FullTrainLoss, RecordParams
from gdlessons.models import LinearModel
from gdlessons.training import train

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {
    "q1": (25, 600),
    "q2": ("samples seen", "iteration"),
    "q3": (111.0, 100.0),
    "q4": (128, 64),
    "q6": (33.56, 50.0),
}


def test_choice_ignores_case_and_spaces():
    assert ex.q2.check("  Samples Seen ").correct


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


# --- t1: the fair comparison ------------------------------------------------------------------


def test_t1_reference_is_compare_variants_without_its_warm_up():
    """The story's train_variants with compare_variants' hooks gives compare_variants' runs."""
    case = ex._variants_cases()[0]
    model, data, variants = case["model"], case["data"], case["variants"]
    hooks = [ch.EvaluatePerEpoch(3), FullTrainLoss()]
    ours = ex._train_variants(model, data, variants, epochs=2, lr=0.1, seed=3, hooks=hooks)
    theirs = ch.compare_variants(model, data, variants=variants, epochs=2, lr=0.1, seed=3,
                                 evals_per_epoch=3)  # fmt: skip
    for label in variants:
        assert ours[label] == theirs[label]
        assert ours[label].evals.train_loss == theirs[label].evals.train_loss


def _t1_comprehension(model, data, variants, **budget):
    """A dict comprehension, the budget spelled out."""
    epochs, lr, seed, hooks = budget["epochs"], budget["lr"], budget["seed"], budget["hooks"]
    return {
        label: train(copy.deepcopy(model), data, batch_size=B, epochs=epochs, lr=lr, seed=seed,
                     hooks=hooks)
        for label, B in variants.items()
    }  # fmt: skip


def _t1_restore_state(model, data, variants, **budget):
    """The given model itself, its starting state_dict put back before every run and at the end
    (load_state_dict, the library's way to reset a model); each History kept."""
    start = copy.deepcopy(model.state_dict())
    runs = {}
    for label, B in variants.items():
        model.load_state_dict(start)
        runs[label] = train(model, data, batch_size=B, **budget)
    model.load_state_dict(start)
    return runs


def test_t1_other_correct_answers_pass():
    for fn in (_t1_comprehension, _t1_restore_state):
        result = ex.t1.check(fn)
        assert result.correct, result.message


def test_t1_other_wrong_answers_get_the_first_difference():
    assert (
        "return a dict from each variant's label"
        in ex.t1.check(lambda model, data, variants, **budget: [1, 2]).message
    )
    assert (
        "your dict has no run for 'batch (B = N)'"
        in ex.t1.check(lambda model, data, variants, **budget: {}).message
    )

    def losses_only(model, data, variants, **budget):
        runs = ex._train_variants(model, data, variants, **budget)
        return {label: h.iterations.loss for label, h in runs.items()}

    assert "is a list, not the History train() returns" in ex.t1.check(losses_only).message

    def reversed_sizes(model, data, variants, **budget):
        sizes = list(reversed(variants.values()))
        return ex._train_variants(model, data, dict(zip(variants, sizes)), **budget)

    assert "the run 'batch (B = N)' trained with batch_size=8, expected 40" in (
        ex.t1.check(reversed_sizes).message
    )

    def faster(model, data, variants, **budget):
        return ex._train_variants(model, data, variants, **{**budget, "lr": 1.5 * budget["lr"]})

    assert "trained with lr=" in ex.t1.check(faster).message

    def trains_the_given_model_last(model, data, variants, **budget):
        runs = ex._train_variants(model, data, variants, **budget)
        train(model, data, **budget)
        return runs

    assert (
        "the model you were given was trained" in ex.t1.check(trains_the_given_model_last).message
    )


# --- t2: path length --------------------------------------------------------------------------


def test_t2_reference_is_the_package_path_length():
    h = train(LinearModel(), linear_data(30, seed=2), batch_size=4, epochs=2, lr=0.1,
              hooks=[RecordParams()])  # fmt: skip
    w, b = h.param_trajectory("w"), h.param_trajectory("b")
    assert ex._path_length(w, b) == pytest.approx(ch.path_length(h), rel=1e-6)


def _t2_vector_norm(w, b):
    """torch.linalg.vector_norm along the coordinates of the stacked steps."""
    steps = torch.stack([w, b], dim=1).diff(dim=0)
    return torch.linalg.vector_norm(steps, dim=1).sum()  # a 0-d tensor is fine


def _t2_loop(w, b):
    """A Python loop over consecutive points with math.dist."""
    points = list(zip(w.tolist(), b.tolist()))
    return sum(math.dist(p, q) for p, q in zip(points, points[1:]))


def _t2_float64(w, b):
    """In float64, from the differences of slices."""
    w, b = w.double(), b.double()
    return ((w[1:] - w[:-1]) ** 2 + (b[1:] - b[:-1]) ** 2).sqrt().sum().item()


def test_t2_other_correct_answers_pass():
    for fn in (_t2_vector_norm, _t2_loop, _t2_float64):
        result = ex.t2.check(fn)
        assert result.correct, result.message


def test_t2_returning_the_steps_is_named():
    message = ex.t2.check(lambda w, b: torch.hypot(torch.diff(w), torch.diff(b))).message
    assert "one number, the sum of its steps' lengths" in message


# --- t3: one batch's gradient noise -----------------------------------------------------------


def test_t3_reference_averaged_is_measured_variance():
    """The story's measurement (random_batches, the reference, noise_result) is
    measured_variance's, draw for draw."""
    grads = torch.randn(40, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    sizes = [1, 3, 20, 40]
    batches = ch.random_batches(40, sizes, draws=50, seed=2)
    squared = {
        B: [ex._batch_noise(grads, batch) for batch in drawn] for B, drawn in batches.items()
    }
    result = ch.noise_result(grads, squared)
    measured, stderr = ch.measured_variance(grads, sizes, draws=50, seed=2, stderr=True)
    np.testing.assert_allclose(result.measured[:-1], measured[:-1], rtol=1e-6)
    np.testing.assert_allclose(result.stderr, stderr, rtol=1e-6)
    assert result.measured[-1] < 1e-25 and measured[-1] < 1e-25


def _t3_index_select(grads, batch):
    """torch.index_select and torch.linalg.vector_norm, squared; a 0-d tensor returned."""
    g_batch = torch.index_select(grads, 0, batch).mean(dim=0)
    return torch.linalg.vector_norm(g_batch - grads.mean(dim=0)) ** 2


def _t3_centred_first(grads, batch):
    """Centre every row on the full-data gradient first, then average the batch's rows."""
    centred = grads - grads.mean(0, keepdim=True)
    return float(centred[batch].mean(0) @ centred[batch].mean(0))


def _t3_one_hot(grads, batch):
    """A weight vector: 1/B on the batch's samples, minus 1/N on all of them."""
    weights = torch.full((len(grads),), -1 / len(grads), dtype=grads.dtype)
    weights[batch] += 1 / len(batch)
    return (weights @ grads).square().sum().item()


def test_t3_other_correct_answers_pass():
    for fn in (_t3_index_select, _t3_centred_first, _t3_one_hot):
        result = ex.t3.check(fn)
        assert result.correct, result.message


def test_t3_float32_is_caught_at_b_equals_n():
    def in_float32(grads, batch):
        grads = grads.float()
        return float((grads[batch].mean(0) - grads.mean(0)).pow(2).sum())

    message = ex.t3.check(in_float32).message
    assert "at B = N (the batch is all the samples)" in message and "float64" in message


def test_t3_returning_a_vector_is_named():
    message = ex.t3.check(lambda grads, batch: grads[batch].mean(0) - grads.mean(0)).message
    assert "‖g_B − ḡ‖² is one number" in message


# --- q6 ---------------------------------------------------------------------------------------


def test_q6_answer_puts_the_theory_at_the_signal():
    B = ex._q6_batch
    assert ch.theory_variance(ex.Q6_SIGMA2, ex.Q6_N, [B])[0] == pytest.approx(ex.Q6_SIGNAL)
    assert "(N − B)/(N − 1) matters" in ex.q6.check(50).message


def test_q6_prompt_says_how_to_answer_and_a_rounded_batch_is_named():
    assert "real number" in ex.q6.prompt and "two decimals" in ex.q6.prompt
    assert ex.q6.check(round(ex._q6_batch, 2)).correct
    for whole, way in ((33, "down"), (34, "up")):
        result = ex.q6.check(whole)
        assert not result.correct and f"rounded {way} to a whole batch size" in result.message


# --- q2 ---------------------------------------------------------------------------------------


def test_q2_answer_holds_for_any_runs():
    """Samples seen ranks the runs as epochs do, for the chapter's reach table on any runs; the
    iteration axis need not (here it reorders them)."""
    runs = ch.compare_variants(LinearModel(), linear_data(40), epochs=3, lr=0.1, evals_per_epoch=40)
    rows = ch.reach_table(runs)
    order = {key: sorted(range(len(rows)), key=lambda i: (rows[i][key], i))
             for key in ("epochs", "samples_seen", "iterations")}  # fmt: skip
    assert order["epochs"] == order["samples_seen"] != order["iterations"]
    assert "no variant needs fewer" not in ex.q2._solution
