"""Chapter 08 exercises: what the questions accept besides the expected answer; q5's and q6's
references are the chapter's diagnose and scaling rule; what they say about other wrong answers;
the checks leave the cases and the generators alone. The rules every exercise keeps are tested in
test_rules.py."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from gdlessons.chapters.ch08_batch_size_meets_learning_rate import diagnose
from gdlessons.exercises import ch08_batch_size_meets_learning_rate as ex
from gdlessons.history import History

# The right answer and a typical wrong one of each number or word question (test_rules.py).
RIGHT_AND_WRONG = {
    "q1": (8, 4),
    "q2": ("good fit", "over-fit"),
    "q3": (2.0, 0.5),
    "q4": (24, 6),
}

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "08_batch_size_meets_learning_rate.ipynb"  # fmt: skip


# --- feedback that teaches -------------------------------------------------------------------


def test_q1_and_q4_name_iterations_given_for_passes_and_other_counts():
    assert "iterations (updates) per epoch" in ex.q4.check(math.ceil(1438 / 256)).message
    assert "short last batch" in ex.q4.check(1438 // 256 * 4).message
    assert "micro-batch" in ex.q1.check(64).message
    assert "0.5" not in ex.q3.check(0.5 * 64 / 256).message  # names the mistake, not a number


SPELLINGS = ["overfit", "Over-Fit", " over_fit ", "OVER FIT", "Under fit", "underfit", "UNDER-FIT",
             "GOOD FIT", "good-fit", "goodfit", "Good_Fit"]  # fmt: skip


@pytest.mark.parametrize("word", SPELLINGS)
def test_q2_and_q5_read_a_verdict_the_same_way(word):
    """A word q5 accepts from a function, q2 accepts as an answer (and the other way round)."""
    verdict = ex.as_verdict(word)
    assert verdict in ex.VERDICTS
    assert ex.q2.check(word).correct == (verdict == "good fit")
    if verdict != "good fit":
        assert ex.q2.check(word).message.startswith(ex.q2.checker.mistakes[verdict])
    spelled = {v: w for v in ex.VERDICTS for w in SPELLINGS if ex.as_verdict(w) == v}
    spelled[verdict] = word

    def spelled_freely(train_loss, val_loss):
        return spelled[ex._diagnose(train_loss, val_loss)]

    assert ex.q5.check(spelled_freely).correct


def test_q2_and_q5_refuse_the_same_non_verdicts():
    for word in ("overfitting", "fine", "over"):
        assert ex.as_verdict(word) is None
        assert ex.q2.check(word).message.startswith("Choose one of")
        assert "return one of" in ex.q5.check(lambda train_loss, val_loss, w=word: w).message


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
    for number in ("0.30", "0.31", "epoch 12 "):
        assert number not in printed


def test_checks_leave_the_cases_and_the_global_generators_alone():
    torch.manual_seed(5)
    before = torch.get_rng_state()

    def sorts_in_place(train_loss, val_loss):
        val_loss.sort()  # changes the list it was given: only its private copy
        torch.rand(2)
        return "good fit"

    ex.q5.check(sorts_in_place)
    assert torch.equal(before, torch.get_rng_state())
    assert ex.q5.check(ex._diagnose).correct


# --- q5 ---------------------------------------------------------------------------------------


def history_of(train_loss, val_loss):
    h = History(config={})
    h.epochs.epoch = list(range(1, len(train_loss) + 1))
    h.epochs.train_loss, h.epochs.val_loss = list(train_loss), list(val_loss)
    return h


def test_q5_reference_is_the_chapters_diagnose():
    verdicts = []
    for case in ex._curve_cases():
        verdicts.append(ex._diagnose(**case))
        assert verdicts[-1] == diagnose(history_of(**case)).verdict
    assert set(verdicts) == set(ex.VERDICTS)


def test_q5_names_the_curves_of_a_wrong_verdict_and_accepts_spellings():
    result = ex.q5.check(lambda train_loss, val_loss: "good fit")
    assert result.message.startswith(
        "In case 1 of 7: your verdict is 'good fit', the chapter's rule says 'under-fit' for these "
        "curves: training loss"
    )
    assert "validation loss best at epoch" in result.message
    assert (
        "return one of 'under-fit', 'good fit', 'over-fit', not 'fine'"
        in ex.q5.check(lambda train_loss, val_loss: "fine").message
    )

    def spelled_freely(train_loss, val_loss):
        return {"under-fit": "Underfit", "good fit": "good-fit", "over-fit": "OVER FIT"}[
            ex._diagnose(train_loss, val_loss)
        ]

    assert ex.q5.check(spelled_freely).correct


# --- q6 ---------------------------------------------------------------------------------------


def test_q6_reference_is_the_chapters_rule():
    """The chapter's grid: lr 0.5 at batch 64 scales to 1 at 128 and 2 at 256, then stops at 2."""
    assert ex._scaled_lrs(0.5, 64, [32, 64, 128, 256, 512], 2.0) == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert ex.q3.check(ex._scaled_lrs(0.5, 64, [256], 8.0)[0]).correct


def test_q6_cases_scale_down_up_and_into_the_wall():
    for case in ex._scaling_cases():
        rule = [case["base_lr"] * b / case["base_batch"] for b in case["batch_sizes"]]
        assert min(case["batch_sizes"]) < case["base_batch"]
        assert any(r < case["max_lr"] for r in rule) and any(r > case["max_lr"] for r in rule)


def test_q6_other_wrong_answers_name_the_batch_size():
    def off_at_the_top(base_lr, base_batch, batch_sizes, max_lr):
        rates = ex._scaled_lrs(base_lr, base_batch, batch_sizes, max_lr)
        return rates[:-1] + [rates[-1] / 2]

    result = ex.q6.check(off_at_the_top)
    assert "With base_lr=0.5, base_batch=64, max_lr=2.0: for batch size 512 your rate is 1" in (
        result.message
    )
    assert (
        "a list of 5 rates"
        in ex.q6.check(lambda base_lr, base_batch, batch_sizes, max_lr: 1.0).message
    )

    def as_array(base_lr, base_batch, batch_sizes, max_lr):
        return np.minimum(base_lr * np.array(batch_sizes) / base_batch, max_lr)

    assert ex.q6.check(as_array).correct


# --- correct answers written differently from the reference ------------------------------------


def test_q5_accepts_a_loop_numpy_and_the_chapters_diagnose():
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
        result = ex.q5.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_q6_accepts_a_loop_and_map_with_the_ratio_first():
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
        result = ex.q6.check(answer)
        assert result.correct, (answer.__name__, result.message)


def test_q6_accepts_a_float64_torch_clamp():
    def with_torch(base_lr, base_batch, batch_sizes, max_lr):
        sizes = torch.tensor(batch_sizes, dtype=torch.float64)
        return (sizes * base_lr / base_batch).clamp(max=max_lr)

    result = ex.q6.check(with_torch)
    assert result.correct, result.message


def test_q6_accepts_a_float32_torch_clamp():
    """torch's default float32 rounds the rates in their last bits: within a relative 1e-6."""

    def with_torch(base_lr, base_batch, batch_sizes, max_lr):
        return torch.clamp(torch.tensor(batch_sizes) * base_lr / base_batch, max=max_lr)

    result = ex.q6.check(with_torch)
    assert result.correct, result.message
