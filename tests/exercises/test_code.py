"""Exercises answered with code: placeholders, errors, endless loops, mistakes and isolation."""

import random
import signal
import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

from gdlessons.exercises import progress, summary
from gdlessons.exercises.code import (
    CodeExercise,
    Mistake,
    TimeLimitExceeded,
    close_tensors,
    first_difference,
    same_tensors,
    time_limit,
)

SHARED = torch.arange(6.0)  # a module-level tensor that cases hand out: checks must never change it


def scale(x, factor):
    return x * factor


def scale_in_place(x, factor):
    x.mul_(factor)
    return x


def make(**overrides):
    options = dict(
        reference=scale,
        cases=lambda: [dict(x=SHARED, factor=2.0), dict(x=torch.ones(3), factor=-1.0)],
        compare=same_tensors(name="the scaled tensor"),
        mistakes=(
            Mistake(lambda x, factor: x + factor, "You added the factor.", hint="Multiply."),
            Mistake(lambda x, factor: x, "You returned x unchanged."),
        ),
        hint="Use *.",
        solution="def scale(x, factor):\n    return x * factor\n",
        time_limit=2.0,
    )
    options.update(overrides)
    return CodeExercise("q3", "Scale x by factor.", **options)


def test_the_reference_and_an_in_place_solution_are_correct():
    q = make()
    assert q.check(scale).status == "correct"
    assert q.check(scale_in_place).status == "correct"
    assert torch.equal(SHARED, torch.arange(6.0)), "a student's in-place change leaked"


def placeholder_raises(x, factor):
    raise NotImplementedError


def placeholder_dots(x, factor): ...


def placeholder_pass(x, factor):
    """Scale x."""
    pass


def placeholder_returns_ellipsis(x, factor):
    return ...


@pytest.mark.parametrize(
    "answer",
    [
        ...,
        None,
        placeholder_raises,
        placeholder_dots,
        placeholder_pass,
        placeholder_returns_ellipsis,
    ],
)
def test_placeholders_are_not_attempted(answer):
    result = make().check(answer)
    assert result.status == "not attempted" and "Traceback" not in result.message


def student_with_a_bug(x, factor):
    scaled = x * factor
    return scaled / 0 if factor > 10 else helper(scaled)


def helper(t):  # the error is raised in C++: only the student's two lines remain
    return t.reshape(2, 2)


def test_an_exception_shows_the_students_lines_only_and_the_hint():
    result = make().check(student_with_a_bug)
    assert result.status == "incorrect"
    msg = result.message
    assert msg.startswith("Your function raised RuntimeError: shape '[2, 2]' is invalid")
    assert "in student_with_a_bug: return scaled / 0" in msg
    assert "in helper: return t.reshape(2, 2)" in msg
    assert "code.py" not in msg and "torch" not in msg.split("\n", 1)[1].split("Hint")[0]
    assert msg.rstrip().endswith("Hint: Use *.")


def spins_forever(x, factor):
    while True:
        x = x + 0


def test_a_function_that_never_returns_is_stopped():
    q = make(time_limit=0.3)
    start = time.monotonic()
    result = q.check(spins_forever)
    assert time.monotonic() - start < 3
    assert result.status == "incorrect" and "stopped after 0.3 s" in result.message
    assert q.check(scale).correct, "the timer must not outlive the check"


def test_outside_the_main_thread_a_trace_deadline_stops_it():
    box = {}
    thread = threading.Thread(
        target=lambda: box.setdefault("r", make(time_limit=0.3).check(spins_forever))
    )
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert "stopped after 0.3 s" in box["r"].message


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="SIGALRM timers are POSIX-only")
def test_time_limit_both_ways_and_an_outer_timer_is_rearmed():
    def forever():
        while True:
            pass

    for use_signal in (True, False):  # the trace hook sees only frames entered inside the block
        with pytest.raises(TimeLimitExceeded), time_limit(0.1, use_signal=use_signal):
            forever()
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with time_limit(0.1):
            pass
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0.2
        time.sleep(0.6)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_a_student_cannot_swallow_the_stop():
    def stubborn(x, factor):
        while True:
            try:
                time.sleep(0.01)
            except Exception:
                pass

    assert "stopped" in make(time_limit=0.2).check(stubborn).message


def test_matching_a_mistake_on_every_case_names_it_with_its_own_hint():
    q = make()
    result = q.check(lambda x, factor: x + factor)
    assert result.message == "You added the factor. Hint: Multiply."
    assert q.check(lambda x, factor: x).message == (
        "You returned x unchanged. Try ex.q3.hint() if you are stuck."
    )


def test_otherwise_the_first_failing_case_is_described():
    # matches the reference on the first case but no mistake on every case
    result = make().check(lambda x, factor: x * 2.0)
    assert result.message.startswith("With factor=-1.0: the scaled tensor differs by 3")
    assert result.message.endswith("Try ex.q3.hint() if you are stuck.")


def test_wrong_arguments_and_non_functions_are_feedback():
    assert "must accept the arguments (x, factor)" in make().check(lambda x: x).message
    assert "Expected a function, got int" in make().check(3).message


def test_the_random_generators_are_untouched_and_seeded_alike_for_each_call():
    def noisy_reference(x, factor):
        return x * factor + torch.rand(x.shape) + np.random.rand() + random.random()

    def student(x, factor):
        noise = torch.rand(x.shape)  # same draws as the reference: the check seeds both alike
        return x * factor + noise + np.random.rand() + random.random()

    q = make(reference=noisy_reference, mistakes=(), compare=close_tensors())
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    before = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()
    assert q.check(student).correct
    assert q.check(lambda x, factor: x * factor).status == "incorrect"
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert torch.equal(torch.get_rng_state(), before[2])


def test_a_model_in_a_case_is_never_the_students_and_grad_mode_is_restored():
    model = nn.Linear(2, 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}

    def step(model):
        loss = model(torch.ones(1, 2)).sum()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
        return model

    def careless(model):
        torch.set_grad_enabled(False)  # left off: the check must switch it back on
        return model

    q = CodeExercise(
        "q1", "One step.", reference=step, cases=lambda: [dict(model=model)],
        compare=same_tensors(), hint="h", solution="step = None",
    )  # fmt: skip
    assert q.check(step).correct
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert "`weight` differs by" in q.check(careless).message
    assert torch.is_grad_enabled()


def test_last_results_feed_progress(capsys):
    q, other = make(), make()
    other.name = "q4"
    q.check(scale)
    progress([q, other])
    out = capsys.readouterr().out
    assert "1 of 2 questions attempted, 1 correct." in out
    assert "✓ q3: correct" in out and "q4: not checked" in out
    other.check(...)
    assert summary([q, other]) == {"q3": "correct", "q4": "not attempted"}


def test_solution_prints_code_that_passes(capsys):
    q = make()
    code = q.solution()
    assert "def scale" in capsys.readouterr().out
    namespace = {}
    exec(code, namespace)
    assert q.check(namespace["scale"]).correct


def test_bad_set_up_is_named():
    with pytest.raises(ValueError, match="not runnable"):
        make(solution="def f(:")
    with pytest.raises(TypeError, match="Mistake"):
        make(mistakes=(scale,))
    with pytest.raises(ValueError, match="time_limit"):
        make(time_limit=0)


# --- the compare helpers ---------------------------------------------------------------------


def test_state_dicts_per_iteration_name_iteration_and_parameter():
    want = [{"0.weight": torch.zeros(2, 2), "0.bias": torch.zeros(2)}] * 3
    got = [dict(w) for w in want]
    got[2] = {"0.weight": torch.tensor([[0.0, 0.0], [0.012, 0.0]]), "0.bias": torch.zeros(2)}
    cmp = same_tensors(index="after iteration {}")
    assert cmp(got, want, {}) == (
        "after iteration 3, `0.weight` differs by 0.012 (largest |difference|; 1 of 4 values differ)"
    )
    assert cmp(want, want, {}) is None


@pytest.mark.parametrize(
    ("got", "want", "expected"),
    [
        (torch.ones(2), torch.ones(3), "your result has shape (2,), expected (3,)"),
        (torch.ones(2, dtype=torch.float64), torch.ones(2), "dtype torch.float64"),
        ({"a": torch.ones(1)}, {"b": torch.ones(1)}, "has no entry `b`"),
        ({"a": 1.0, "b": 2.0}, {"a": 1.0}, "unexpected entry `b`"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], "has 2 entries, expected 3"),
        ([1.0, 2.5], [1.0, 2.0], "item 2, your result is 2.5, expected 2.0"),
        (None, torch.ones(1), "is None, expected a tensor of shape (1,)"),
        (torch.tensor([float("nan")]), torch.ones(1), "holds nan"),
        (torch.tensor(1.0 + 1e-7), torch.tensor(1.0), "this check is bitwise"),
        ("3", 3, "is '3', expected a number"),
    ],
)
def test_first_difference_messages(got, want, expected):
    assert expected in first_difference(got, want)


def test_equal_things_compare_equal():
    nan = float("nan")
    for value in (torch.tensor([nan, 1.0]), [1.0, nan], {"x": [torch.zeros(2)]}, None, "adam"):
        assert first_difference(value, value) is None
    assert first_difference(np.float32(0.5), 0.5) is None
    assert first_difference(torch.tensor([1.0, 2.0]), [1.0, 2.0]) is None  # losses as a tensor
    assert first_difference(nn.Linear(1, 1), nn.Linear(1, 1)).startswith("`weight` differs")


def test_close_tensors_tolerates_rounding_and_precision():
    cmp = close_tensors(atol=1e-6, rtol=1e-5)
    assert cmp(torch.ones(2, dtype=torch.float64), torch.ones(2) + 1e-7, {}) is None
    assert "differs by 0.001" in cmp(torch.ones(2) + 1e-3, torch.ones(2), {})
    assert same_tensors(bitwise=False)(torch.tensor(1.0 + 1e-7), torch.tensor(1.0), {}) is None


def test_a_compare_that_raises_is_feedback():
    q = make(compare=lambda got, want, case: got.no_such_attribute)
    assert "could not be compared (AttributeError" in q.check(scale).message


def test_outcome_compares_what_an_in_place_function_did():
    def sgd_step(model, lr):
        loss = model(torch.ones(1, 1)).sum()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        return loss.item()

    def forgot_the_update(model, lr):
        return model(torch.ones(1, 1)).sum().item()

    q = CodeExercise(
        "q2", "One step.", reference=sgd_step,
        cases=lambda: [dict(model=nn.Linear(1, 1), lr=0.5)],
        outcome=lambda loss, args: {"loss": loss, "parameters": args["model"].state_dict()},
        compare=same_tensors(), hint="h", solution="pass",
    )  # fmt: skip
    assert q.check(sgd_step).correct
    assert q.check(forgot_the_update).message.startswith("`parameters.weight` differs by 0.5")


def test_default_dtype_and_thread_count_are_restored():
    threads = torch.get_num_threads()

    def careless(x, factor):
        torch.set_default_dtype(torch.float64)  # left on: later cells would make float64 tensors
        torch.set_num_threads(1)
        return x * factor

    assert make().check(careless).correct
    assert torch.get_default_dtype() == torch.float32
    assert torch.get_num_threads() == threads
