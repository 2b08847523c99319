"""Chapter 08 exercises: the your-turn references are the computations the chapter ran before
(t1 `evaluate`'s loss, t2 `ch.diagnose`, t3 LinearLR's factor, t4 the capstone's counts, t5 the
choice on validation); correct answers written
differently pass, with the library pieces the chapter teaches (`torch.no_grad` as a decorator,
`torch.inference_mode`, `nn.CrossEntropyLoss`, `sklearn.metrics.confusion_matrix`); what the
questions accept besides the expected answer and what they say about other wrong answers; the
checks leave the cases and the generators alone. The rules every exercise keeps are tested in
test_rules.py."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gdlessons.chapters.ch08_batch_size_meets_learning_rate import (
    confusion_matrix,
    count_confusions,
    diagnose,
)
from gdlessons.data import digits_data
from gdlessons.exercises import ch08_batch_size_meets_learning_rate as ex
from gdlessons.history import History
from gdlessons.metrics import evaluate
from gdlessons.models import digits_classifier

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {
    "q1": (8, 4),
    "q2": ("good fit", "over-fit"),
    "q3": (2.0, 0.5),
    "q4": (20, 5),
    "q7": (0.004, 0.016),
}

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "08_batch_size_meets_learning_rate.ipynb"  # fmt: skip


# --- feedback that teaches -------------------------------------------------------------------


def test_q1_and_q4_name_iterations_given_for_passes_and_other_counts():
    assert "iterations (updates) per epoch" in ex.q4.check(math.ceil(1079 / 256)).message
    assert "short last batch" in ex.q4.check(1079 // 256 * 4).message
    assert "micro-batch" in ex.q1.check(64).message
    assert "0.5" not in ex.q3.check(0.5 * 64 / 256).message  # names the mistake, not a number


SPELLINGS = ["overfit", "Over-Fit", " over_fit ", "OVER FIT", "Under fit", "underfit", "UNDER-FIT",
             "GOOD FIT", "good-fit", "goodfit", "Good_Fit"]  # fmt: skip


@pytest.mark.parametrize("word", SPELLINGS)
def test_q2_and_t2_read_a_verdict_the_same_way(word):
    """A word t2 accepts from a function, q2 accepts as an answer (and the other way round)."""
    verdict = ex.as_verdict(word)
    assert verdict in ex.VERDICTS
    assert ex.q2.check(word).correct == (verdict == "good fit")
    if verdict != "good fit":
        assert ex.q2.check(word).message.startswith(ex.q2.checker.mistakes[verdict])
    spelled = {v: w for v in ex.VERDICTS for w in SPELLINGS if ex.as_verdict(w) == v}
    spelled[verdict] = word

    def spelled_freely(train_loss, val_loss):
        return spelled[ex._diagnose(train_loss, val_loss)]

    assert ex.t2.check(spelled_freely).correct


def test_q2_and_t2_refuse_the_same_non_verdicts():
    for word in ("overfitting", "fine", "over"):
        assert ex.as_verdict(word) is None
        assert ex.q2.check(word).message.startswith("Choose one of")
        assert "return one of" in ex.t2.check(lambda train_loss, val_loss, w=word: w).message


def test_q2s_answer_follows_from_the_rule_not_from_the_notebooks_output():
    """Its situation (by the chapter's rule a good fit, although validation rose) is worked
    out, not copied: none of its numbers is printed in the notebook above it."""
    train = [2.3 * (0.02 / 2.3) ** (e / 29) for e in range(30)]
    val = [0.30 + 0.01 * abs(e - 11) / 18 for e in range(30)]
    assert min(range(30), key=val.__getitem__) == 11 and math.isclose(val[-1], 0.31)
    assert ex._diagnose(train, val) == "good fit" and ex.q2.check("good fit").correct
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    printed = "".join(
        "".join(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
        for c in cells
        if c["cell_type"] == "code"
        for o in c["outputs"]
    )
    for number in ("0.30", "0.31"):  # as a number of its own, not the start of a timing's 0.315
        assert not re.search(rf"(?<![\d.]){re.escape(number)}(?!\d)", printed), number
    assert "epoch 12 " not in printed


def test_checks_leave_the_cases_and_the_global_generators_alone():
    torch.manual_seed(5)
    before = torch.get_rng_state()

    def sorts_in_place(train_loss, val_loss):
        val_loss.sort()  # changes the list it was given: only its private copy
        torch.rand(2)
        return "good fit"

    ex.t2.check(sorts_in_place)
    assert torch.equal(before, torch.get_rng_state())
    assert ex.t2.check(ex._diagnose).correct


# --- t2 ---------------------------------------------------------------------------------------


def history_of(train_loss, val_loss):
    h = History(config={})
    h.epochs.epoch = list(range(1, len(train_loss) + 1))
    h.epochs.train_loss, h.epochs.val_loss = list(train_loss), list(val_loss)
    return h


def test_t2_reference_is_the_chapters_diagnose():
    verdicts = []
    for case in ex._curve_cases():
        verdicts.append(ex._diagnose(**case))
        assert verdicts[-1] == diagnose(history_of(**case)).verdict
    assert set(verdicts) == set(ex.VERDICTS)


def test_t2_names_the_curves_of_a_wrong_verdict_and_accepts_spellings():
    result = ex.t2.check(lambda train_loss, val_loss: "good fit")
    assert result.message.startswith(
        "In case 1 of 7: your verdict is 'good fit', the chapter's rule says 'under-fit' for these "
        "curves: training loss"
    )
    assert "validation loss best at epoch" in result.message
    assert (
        "return one of 'under-fit', 'good fit', 'over-fit', not 'fine'"
        in ex.t2.check(lambda train_loss, val_loss: "fine").message
    )

    def spelled_freely(train_loss, val_loss):
        return {"under-fit": "Underfit", "good fit": "good-fit", "over-fit": "OVER FIT"}[
            ex._diagnose(train_loss, val_loss)
        ]

    assert ex.t2.check(spelled_freely).correct


# --- q5 ---------------------------------------------------------------------------------------


def test_q5_reference_is_the_chapters_rule():
    """The chapter's grid: lr 0.5 at batch 64 scales to 1 at 128 and 2 at 256, then stops at 2."""
    assert ex._scaled_lrs(0.5, 64, [32, 64, 128, 256, 512], 2.0) == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert ex.q3.check(ex._scaled_lrs(0.5, 64, [256], 8.0)[0]).correct


def test_q5_cases_scale_down_up_and_into_the_wall():
    for case in ex._scaling_cases():
        rule = [case["base_lr"] * b / case["base_batch"] for b in case["batch_sizes"]]
        assert min(case["batch_sizes"]) < case["base_batch"]
        assert any(r < case["max_lr"] for r in rule) and any(r > case["max_lr"] for r in rule)


def test_q5_other_wrong_answers_name_the_batch_size():
    def off_at_the_top(base_lr, base_batch, batch_sizes, max_lr):
        rates = ex._scaled_lrs(base_lr, base_batch, batch_sizes, max_lr)
        return rates[:-1] + [rates[-1] / 2]

    result = ex.q5.check(off_at_the_top)
    assert "With base_lr=0.5, base_batch=64, max_lr=2.0: for batch size 512 your rate is 1" in (
        result.message
    )
    assert (
        "a list of 5 rates"
        in ex.q5.check(lambda base_lr, base_batch, batch_sizes, max_lr: 1.0).message
    )

    def as_array(base_lr, base_batch, batch_sizes, max_lr):
        return np.minimum(base_lr * np.array(batch_sizes) / base_batch, max_lr)

    assert ex.q5.check(as_array).correct


# --- correct answers written differently from the reference ------------------------------------


def test_t2_accepts_a_loop_numpy_and_the_chapters_diagnose():
    def with_a_loop(train_loss, val_loss):
        if train_loss[-1] > 0.3:
            return "under-fit"
        best_epoch, best_val = 0, val_loss[0]
        for epoch, value in enumerate(val_loss):
            if value < best_val:
                best_epoch, best_val = epoch, value
        rose = val_loss[-1] > best_val * 1.1
        kept_learning = train_loss[-1] < train_loss[best_epoch]
        return "over-fit" if rose and kept_learning else "good fit"

    def with_numpy(train_loss, val_loss):
        train, val = np.asarray(train_loss), np.asarray(val_loss)
        best = int(np.argmin(val))
        verdict = "good fit"
        if val[-1] > 1.1 * val[best] and train[-1] < train[best]:
            verdict = "over-fit"
        if train[-1] > 0.3:
            verdict = "under-fit"  # under-fit wins, whatever the validation loss did
        return verdict

    def with_the_chapters_diagnose(train_loss, val_loss):
        return diagnose(history_of(train_loss, val_loss)).verdict

    for answer in (with_a_loop, with_numpy, with_the_chapters_diagnose):
        result = ex.t2.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_q5_accepts_a_loop_and_map_with_the_ratio_first():
    def with_a_loop(base_lr, base_batch, batch_sizes, max_lr):
        rates = []
        for b in batch_sizes:
            lr = base_lr / base_batch * b  # lr per sample, times the batch
            if lr > max_lr:
                lr = max_lr
            rates.append(lr)
        return rates

    def with_map(base_lr, base_batch, batch_sizes, max_lr):
        return list(map(lambda b: min(max_lr, base_lr * (b / base_batch)), batch_sizes))

    for answer in (with_a_loop, with_map):
        result = ex.q5.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_q5_accepts_a_float64_torch_clamp():
    def with_torch(base_lr, base_batch, batch_sizes, max_lr):
        sizes = torch.tensor(batch_sizes, dtype=torch.float64)
        return (sizes * base_lr / base_batch).clamp(max=max_lr)

    result = ex.q5.check(with_torch)
    assert result.correct, result.message


def test_q5_accepts_a_float32_torch_clamp():
    """torch's default float32 rounds the rates in their last bits: within a relative 1e-6."""

    def with_torch(base_lr, base_batch, batch_sizes, max_lr):
        return torch.clamp(torch.tensor(batch_sizes) * base_lr / base_batch, max=max_lr)

    result = ex.q5.check(with_torch)
    assert result.correct, result.message


# --- t1: the loss on a whole dataset ------------------------------------------------------------


def test_t1_reference_is_what_evaluate_records():
    """Bit for bit the validation loss train() records, and the model's mode is left alone."""
    _, val = digits_data(seed=0)
    for training in (True, False):
        model = digits_classifier(hidden=16, seed=1).train(training)
        assert ex._evaluate_loss(model, val.X, val.y) == evaluate(model, val, "cross_entropy")
        assert model.training == training


def test_t1_accepts_a_decorator_inference_mode_and_a_loss_module():
    @torch.no_grad()
    def with_a_decorator(model, X, y):
        mode = model.training
        model.eval()
        try:
            return F.cross_entropy(model(X), y).item()
        finally:
            model.train(mode)

    def with_inference_mode_and_a_module(model, X, y):
        model.eval()
        with torch.inference_mode():
            loss = float(nn.CrossEntropyLoss()(model(X), y))
        model.train()  # the loop's models come in training mode
        return loss

    for answer in (with_a_decorator, with_inference_mode_and_a_module):
        result = ex.t1.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_t1_asks_for_a_number_and_names_a_wrong_loss():
    def returns_the_tensor(model, X, y):
        model.eval()
        with torch.no_grad():
            loss = F.cross_entropy(model(X), y)
        model.train()
        return loss

    assert "a plain number (`loss.item()`), not a tensor" in ex.t1.check(returns_the_tensor).message

    def mse_of_the_scores(model, X, y):
        model.eval()
        with torch.no_grad():
            loss = F.mse_loss(model(X), F.one_hot(y, 10).float())
        model.train()
        return loss.item()

    message = ex.t1.check(mse_of_the_scores).message
    assert message.startswith("In case 1 of 2: your loss is")
    assert "the mean cross-entropy over the 40 samples" in message


def test_t1_every_case_runs_a_model_with_dropout_in_training_mode():
    for case in ex._measure_cases():
        model = case["model"]
        assert model.training and any(isinstance(m, nn.Dropout) for m in model.modules())


# --- t4: the confusion matrix -------------------------------------------------------------------


def test_t4_reference_is_the_capstones_count():
    for case in ex._confusion_cases():
        assert torch.equal(ex._confusion_matrix(**case), count_confusions(**case))
    model = digits_classifier(hidden=8, seed=0)
    _, val = digits_data(seed=0)
    with torch.no_grad():
        scores = model(val.X)
    assert np.array_equal(
        ex._confusion_matrix(scores, val.y).numpy(), confusion_matrix(model, val, classes=10)
    )


def test_t4_accepts_scikit_learn_index_put_and_numpy():
    def with_scikit_learn(scores, labels):
        from sklearn.metrics import confusion_matrix as sk_confusion

        k = scores.shape[1]
        return sk_confusion(labels.numpy(), scores.argmax(dim=1).numpy(), labels=list(range(k)))

    def with_index_put(scores, labels):
        k = scores.shape[1]
        matrix = torch.zeros(k, k)
        ones = torch.ones(len(labels))
        return matrix.index_put_((labels, scores.argmax(1)), ones, accumulate=True)

    def with_numpy(scores, labels):
        k = scores.shape[1]
        matrix = np.zeros((k, k), dtype=np.int32)
        np.add.at(matrix, (labels.numpy(), scores.numpy().argmax(axis=1)), 1)
        return matrix

    for answer in (with_scikit_learn, with_index_put, with_numpy):
        result = ex.t4.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_t4_names_the_first_wrong_cell_and_the_shape():
    def off_by_one_cell(scores, labels):
        matrix = ex._confusion_matrix(scores, labels)
        matrix[0, 0] += 1
        return matrix

    message = ex.t4.check(off_by_one_cell).message
    assert "In case 1 of 3: row 0 (true class 0), column 0 (predicted class 0) holds" in message

    def a_list(scores, labels):
        return ex._confusion_matrix(scores, labels).tolist()

    assert "as a tensor (or NumPy array), not a list" in ex.t4.check(a_list).message


def test_t4_cases_have_an_absent_class_and_repeated_pairs():
    first = ex._confusion_cases()[0]
    assert 9 not in first["labels"] and 9 not in first["scores"].argmax(dim=1)
    for case in ex._confusion_cases():
        assert int(ex._confusion_matrix(**case).max()) > 1  # a pair that comes more than once


# --- q6: early stopping -------------------------------------------------------------------------


def test_q6_accepts_a_loop_over_epochs_and_one_with_argmin():
    def counting_epochs(val_loss, patience):
        best_epoch, best, since = 1, val_loss[0], 0
        for epoch, loss in enumerate(val_loss[1:], start=2):
            if loss < best:
                best_epoch, best, since = epoch, loss, 0
                continue
            since += 1
            if since >= patience:
                return epoch, best_epoch
        return len(val_loss), best_epoch

    def with_argmin(val_loss, patience):
        for stop in range(1, len(val_loss) + 1):
            best = int(np.argmin(val_loss[:stop]))  # the first of equal lows: a tie is no gain
            if stop - 1 - best == patience:
                return stop, best + 1
        return len(val_loss), int(np.argmin(val_loss)) + 1

    for answer in (counting_epochs, with_argmin):
        result = ex.q6.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_q6_cases_stop_late_stop_on_a_tie_and_never_stop():
    stops = [ex._early_stopping(**case) for case in ex._stopping_cases()]
    assert stops == [(10, 7), (5, 3), (7, 7)]
    assert (
        "training stops after epoch 10, not 12"
        in ex.q6.check(
            lambda val_loss, patience: (len(val_loss), ex._early_stopping(val_loss, patience)[1])
        ).message
    )


# --- t3: the warm-up factor ---------------------------------------------------------------------


def test_t3_reference_is_what_linear_lr_sets_and_the_chapters_formula():
    from gdlessons.chapters.ch08_batch_size_meets_learning_rate import linear_warmup

    for W, start in ((5, 0.1), (8, 0.25), (1, 0.5), (3, 1.0)):
        for t in range(W + 4):
            want = ex._linear_lr_factor(t, W, start)
            assert ex._warmup_factor(t, W, start) == pytest.approx(want, rel=1e-12, abs=1e-15)
            assert linear_warmup(t, W, start) == pytest.approx(want, rel=1e-12, abs=1e-15)
    cases = ex._warmup_cases()
    assert any(c["iteration"] == 0 for c in cases)
    assert any(c["iteration"] > c["warmup_iterations"] for c in cases)


def test_t3_accepts_a_branch_and_a_lambda_lr_read_off():
    def with_a_branch(iteration, warmup_iterations, start_factor):
        if iteration >= warmup_iterations:
            return 1.0
        step = (1.0 - start_factor) / warmup_iterations
        return start_factor + iteration * step

    def by_interpolation(iteration, warmup_iterations, start_factor):
        return float(np.interp(iteration, [0, warmup_iterations], [start_factor, 1.0]))

    for answer in (with_a_branch, by_interpolation):
        result = ex.t3.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_t3_names_the_update_of_a_wrong_factor():
    message = ex.t3.check(lambda iteration, warmup_iterations, start_factor: 0.5).message
    assert message.startswith(
        "With iteration=0, warmup_iterations=5, start_factor=0.1: your factor is 0.5"
    )
    assert "a number" in ex.t3.check(lambda iteration, warmup_iterations, start_factor: "x").message


# --- t5: choose on validation, report on test -----------------------------------------------


def test_t5_cases_tie_and_disagree():
    cases = ex._selection_cases()
    assert any(c["val_accuracy"].count(max(c["val_accuracy"])) > 1 for c in cases)
    for c in cases:
        v, t = c["val_accuracy"], c["test_accuracy"]
        assert v.index(max(v)) != t.index(max(t))  # choosing on test would choose otherwise


def test_t5_accepts_numpy_and_a_loop():
    def with_numpy(val_accuracy, test_accuracy):
        i = int(np.argmax(val_accuracy))
        return i, float(np.asarray(test_accuracy)[i])

    def with_a_loop(val_accuracy, test_accuracy):
        best = 0
        for i, v in enumerate(val_accuracy):
            if v > val_accuracy[best]:
                best = i
        return (best, test_accuracy[best])

    for answer in (with_numpy, with_a_loop):
        result = ex.t5.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_t5_agrees_with_the_chapters_choice():
    from gdlessons.chapters.ch08_batch_size_meets_learning_rate import choose_on_validation

    for c in ex._selection_cases():
        assert ex._select_and_report(**c)[0] == choose_on_validation(c["val_accuracy"])


# --- q7 -------------------------------------------------------------------------------------------


def test_q7_is_the_chapters_square_root_rule():
    from gdlessons.chapters.ch08_batch_size_meets_learning_rate import scaled_lr

    assert ex.q7.check(scaled_lr("square root", 0.001, 64, 1024)).correct
    assert "linear rule" in ex.q7.check(scaled_lr("linear", 0.001, 64, 1024)).message
