"""Exercises answered with code: the student writes a function, the check runs it.

A :class:`CodeExercise` calls the student's function on a few fresh cases, compares its output
with a reference solution's, and says what differs in the chapter's terms ("after iteration 3,
`0.weight` differs by 0.012"). A :class:`Mistake` is a typical wrong solution: when the student's
output matches it on every case, the check names that mistake instead of a generic difference.

The check is safe to run anywhere in a notebook: every case is deep-copied for each function it
is given to, the global random generators are saved and restored, a placeholder reports "not
attempted", an exception shows the student's own lines only, and a function that never returns
is stopped after ``time_limit`` seconds.

>>> def reference(xs):
...     return [x * x for x in xs]
>>> q = CodeExercise(
...     "q1", "Square every number.", reference=reference,
...     cases=lambda: [dict(xs=[1.0, 2.0, 3.0])], compare=same_tensors(name="the list", index="item {}"),
...     mistakes=(Mistake(lambda xs: [2 * x for x in xs], "You doubled instead of squaring."),),
...     hint="x * x", solution="def square_all(xs):\\n    return [x * x for x in xs]")
>>> def square_all(xs):
...     raise NotImplementedError
>>> q.check(square_all).status
'not attempted'
>>> q.check(lambda xs: [2 * x for x in xs]).message
'You doubled instead of squaring. Try ex.q1.hint() if you are stuck.'
>>> q.check(lambda xs: [x * x for x in xs]).status
'correct'
"""

from __future__ import annotations

import ast
import contextlib
import copy
import dis
import inspect
import math
import os
import random
import re
import signal
import sys
import textwrap
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gdlessons.exercises import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    Printed,
    Question,
    Result,
    as_number,
)

Compare = Callable[[object, object, dict], "str | None"]


@dataclass(frozen=True)
class Mistake:
    """A typical wrong solution ``fn`` (same arguments as the reference), the ``message`` a
    student whose output matches it on every case gets, and optionally its own ``hint``.

    ``rounding_only`` marks a mistake that differs from the reference only in how its result is
    rounded (``p - lr * v`` against PyTorch's fused ``p.add(v, alpha=-lr)``): on a CPU whose
    kernels round both alike it *is* the reference, bit for bit, and passes.

    >>> Mistake(lambda xs: xs, "You returned the input unchanged.").hint is None
    True
    """

    fn: Callable
    message: str
    hint: str | None = None
    rounding_only: bool = False

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"Mistake needs a function, got {self.fn!r}")
        if not isinstance(self.message, str) or not self.message.strip():
            raise TypeError(f"Mistake needs a message, got {self.message!r}")


class TimeLimitExceeded(BaseException):
    """Raised inside a function that ran past its time limit. A ``BaseException``, so a
    student's ``except Exception`` cannot swallow it."""


class CodeExercise(Question):
    """A question whose answer is a function. See the module docstring for an example.

    ``reference`` is the correct function; ``cases()`` returns a fresh list of keyword-argument
    dicts (seeded, so every check sees the same ones); ``compare(got, want, case)`` returns None
    when ``got`` is right, else a message naming the first difference (see :func:`same_tensors`
    and :func:`close_tensors`); ``mistakes`` are typical wrong solutions, each with its message.
    ``outcome(returned, args)``, if given, turns a call's return value and its (private, after
    the call) arguments into what is compared: for a function that trains a model in place,
    ``lambda losses, args: (losses, args["model"].state_dict())``.
    ``forbids`` holds the shortcuts the prompt rules out, as (regular expression, why) pairs
    searched for in the student's code (comments left out): a match is refused with its why,
    however right the output (a pattern such as ``backward`` with why "the prompt asks for the
    formula").
    Before each function call the global generators are seeded alike (``seed + case index``), so
    code that draws random numbers (a shuffling ``DataLoader``) gives the reference's draws.
    """

    def __init__(
        self,
        name: str,
        prompt: str,
        *,
        reference: Callable,
        cases: Callable[[], Sequence[dict]],
        compare: Compare,
        mistakes: Sequence[Mistake] = (),
        hint: str,
        solution: str,
        time_limit: float | None = 30.0,
        outcome: Callable[[object, dict], object] | None = None,
        seed: int = 0,
        forbids: Sequence[tuple[str, str]] = (),
    ):
        super().__init__(name, prompt, hint=hint, solution=solution)
        checked = (("reference", reference), ("cases", cases), ("compare", compare),
                   ("outcome", outcome or _returned))  # fmt: skip
        for label, fn in checked:
            if not callable(fn):
                raise TypeError(f"{label} must be a function, got {fn!r}")
        mistakes = tuple(mistakes)
        for m in mistakes:
            if not isinstance(m, Mistake):
                raise TypeError(f"mistakes must be Mistake(...) objects, got {m!r}")
        if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
            raise ValueError(
                f"time_limit must be a positive number of seconds or None, got {time_limit!r}"
            )
        try:
            compile(solution, f"<solution to {name}>", "exec")
        except SyntaxError as exc:
            raise ValueError(f"the solution to {name} is not runnable Python: {exc}") from None
        self.reference, self.cases, self.compare = reference, cases, compare
        self.mistakes, self.time_limit, self.seed = mistakes, time_limit, seed
        self.outcome = outcome or _returned
        self.forbids = tuple((re.compile(pattern), why) for pattern, why in forbids)

    def check(self, fn: object) -> Result:
        """Run ``fn`` on every case and say whether it matches the reference."""
        if fn is Ellipsis or fn is None or _is_placeholder(fn):
            return self._record(NOT_ATTEMPTED, _BLANK)
        if not callable(fn):
            return self._record(
                INCORRECT, f"Expected a function, got {type(fn).__name__}." + self._stuck()
            )
        shortcut = self._shortcut(fn)
        if shortcut:
            return self._record(INCORRECT, shortcut + self._stuck())
        result = self._check_function(fn)
        line = _unfinished_line(fn)
        if line is not None and not result.correct:  # a `...` still stands where code goes
            return self._record(
                NOT_ATTEMPTED,
                f"Line {line} of `{fn.__name__}` is still `...`: replace it with your code, run "
                "that cell, then this one again.",
            )
        return self._record(result.status, result.message)

    def use(self, fn: object) -> Callable:
        """Check ``fn`` and return what the chapter goes on with: ``fn`` when it passes, else
        the reference, so the story after a your-turn cell runs whatever the student wrote.
        Prints the check's result and which function the chapter uses."""
        result = self.check(fn)
        name = getattr(fn, "__name__", None) or "function"
        print(repr(result))
        if result.correct:
            print(f"→ The chapter goes on with your `{name}`.")
            return fn
        until = "Until yours passes, the" if result.status == INCORRECT else "The"
        print(f"→ {until} chapter goes on with the course's `{name}` ({self.call}.solution() "
              "shows it).")  # fmt: skip
        return self.reference

    def _shortcut(self, fn: Callable) -> str | None:
        """Why the student's code takes a shortcut the prompt rules out, or None."""
        if not self.forbids or fn is self.reference:  # the reference may be autograd itself
            return None
        try:
            source = textwrap.dedent(inspect.getsource(fn))
        except (OSError, TypeError):
            return None
        code = "\n".join(line.split("#", 1)[0] for line in source.splitlines())
        for pattern, why in self.forbids:
            found = pattern.search(code)
            if found:
                return f"Your function uses `{found.group(0).strip()}`: {why}"
        return None

    def _check_function(self, fn: Callable) -> Result:
        """The check's verdict on a function, not yet recorded."""
        with _isolated():
            cases = self._fresh_cases()
            problem = _signature_problem(fn, cases[0])
            if problem:
                return Result(self.name, INCORRECT, problem + self._stuck())
            outputs = []
            for i, case in enumerate(cases):
                try:
                    got = self._call(fn, case, i, limit=self.time_limit)
                except NotImplementedError:
                    return Result(self.name, NOT_ATTEMPTED, _BLANK)
                except TimeLimitExceeded:
                    return Result(self.name, INCORRECT, self._too_slow())
                except Exception as exc:
                    return Result(self.name, INCORRECT, self._raised(exc, fn))
                if got is _PLACEHOLDER:
                    return Result(self.name, NOT_ATTEMPTED, _BLANK)
                outputs.append(got)
            wants = [self._call(self.reference, case, i) for i, case in enumerate(cases)]
            failures = [
                (i, _run_compare(self.compare, got, want, case))
                for i, (got, want, case) in enumerate(zip(outputs, wants, cases))
            ]
            failures = [(i, msg) for i, msg in failures if msg]
            if not failures:
                return Result(self.name, CORRECT, "Well done: your function matches on every case.")
            for mistake in self.mistakes:
                if self._matches(mistake.fn, outputs, cases):
                    after = f" Hint: {mistake.hint}" if mistake.hint else self._stuck()
                    return Result(self.name, INCORRECT, mistake.message + after)
            i, message = failures[0]
            where = _describe(cases[i], i, len(cases))
            message = _sentence(message)
            if where:  # "With lr=0.1: at iteration 3, ..."
                message = message[:1].lower() + message[1:] if message[1:2].islower() else message
            return Result(self.name, INCORRECT, where + message + self._stuck())

    def solution(self) -> str:
        """Print the reference solution as code to copy into the exercise cell."""
        print(f"Solution to {self.name} (copy it into the exercise cell and run it):\n")
        print(self._solution)
        return Printed(self._solution)

    def _fresh_cases(self) -> list[dict]:
        cases = list(self.cases())
        if not cases or not all(isinstance(c, dict) for c in cases):
            raise TypeError(f"{self.name}: cases() must return a non-empty list of dicts")
        return cases

    def _call(self, fn: Callable, case: dict, index: int, limit: float | None = None):
        """What ``compare`` sees of ``fn`` run on a private copy of ``case``."""
        kwargs = _private_copy(case)
        _seed(self.seed + index)
        with torch.enable_grad(), time_limit(limit):  # as in a notebook cell, whatever ran before
            returned = fn(**kwargs)
        if returned is Ellipsis:
            return _PLACEHOLDER
        return self.outcome(returned, kwargs)

    def _matches(self, fn: Callable, outputs: list, cases: list[dict]) -> bool:
        try:
            wrong = [self._call(fn, case, i) for i, case in enumerate(cases)]
        except Exception:  # a mistake that cannot run on a case never matches
            return False
        return all(
            _run_compare(self.compare, got, w, case) is None
            for got, w, case in zip(outputs, wrong, cases)
        )

    def _too_slow(self) -> str:
        return (
            f"Your function was stopped after {self.time_limit:g} s without finishing. Look for a "
            "loop that never ends (a `while` whose condition stays true) or far more iterations "
            "than asked for." + self._stuck()
        )

    def _raised(self, exc: Exception, fn: Callable) -> str:
        lines = [f"Your function raised {type(exc).__name__}: {exc}"]
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _is_library(f.filename)]
        for frame in frames[-5:]:
            code = f": {frame.line.strip()}" if frame.line else ""
            lines.append(f"  line {frame.lineno}, in {frame.name}{code}")
        lines.append(f"Hint: {self._hint}")
        return "\n".join(lines)


_PLACEHOLDER = object()  # a function that returned ``...``
_BLANK = (
    "Write the body of the function (replace the `raise NotImplementedError` or the `...`), "
    "then run the cell again."
)


def _private_copy(case: dict) -> dict:
    """A deep copy of ``case`` that keeps what each model's ``.grad`` holds (a ``Parameter``'s
    deep copy drops it): a step's check hands over models mid-iteration."""
    copied = copy.deepcopy(case)
    for key, value in case.items():
        if isinstance(value, nn.Module):
            for original, twin in zip(value.parameters(), copied[key].parameters()):
                if original.grad is not None:
                    twin.grad = original.grad.detach().clone()
    return copied


def _returned(returned, args):
    return returned


def _sentence(message: str) -> str:
    message = message.strip()
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def _describe(case: dict, index: int, total: int) -> str:
    """ "With lr=0.1, batch_size=8: " when there is more than one case, so the student can
    reproduce the failing one."""
    if total == 1:
        return ""
    simple = [
        f"{k}={v!r}"
        for k, v in case.items()
        if isinstance(v, (bool, int, float, str)) and not isinstance(v, np.generic)
    ]
    return f"With {', '.join(simple)}: " if simple else f"In case {index + 1} of {total}: "


def _run_compare(compare: Compare, got, want, case) -> str | None:
    try:
        message = compare(got, want, case)
    except Exception as exc:  # an output of an unexpected shape is feedback, not a crash
        return f"your function's output could not be compared ({type(exc).__name__}: {exc})"
    return message or None


def _is_placeholder(fn: object) -> bool:
    """A function whose body is only ``...``, ``pass`` or a docstring: it just returns None."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    for ins in dis.get_instructions(code):
        if ins.opname in ("RESUME", "NOP", "RETURN_VALUE"):
            continue
        if ins.opname in ("LOAD_CONST", "RETURN_CONST") and ins.argval is None:
            continue
        return False
    return True


def _unfinished_line(fn: object) -> int | None:
    """The line (counted from ``def``) of the first ``...`` in ``fn``'s code, where a your-turn
    cell left the student's code out (``r = ...``, ``return ..., ...``, a bare ``...``); an
    ``x[..., 0]`` index does not count. None if there is none, or no source to read."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    indexing = {id(n) for sub in ast.walk(tree) if isinstance(sub, ast.Subscript)
                for n in ast.walk(sub.slice)}  # fmt: skip
    lines = [node.lineno for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and node.value is Ellipsis and id(node) not in indexing]  # fmt: skip
    return min(lines, default=None)


def _signature_problem(fn: Callable, case: dict) -> str | None:
    try:
        inspect.signature(fn).bind(**case)
    except TypeError as exc:
        names = ", ".join(case)
        return f"Your function must accept the arguments ({names}); calling it failed: {exc}."
    except ValueError:  # a builtin without a signature: let the call decide
        return None
    return None


_LIBRARY_DIRS = tuple(
    os.path.realpath(p)
    for p in {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),  # gdlessons itself
    }
)


def _is_library(filename: str) -> bool:
    if filename.startswith("<frozen"):
        return True
    path = os.path.realpath(filename)
    return any(path.startswith(d + os.sep) for d in _LIBRARY_DIRS)


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def _isolated():
    """Save and restore what a check may change behind the student's back: the Python, NumPy
    and PyTorch generators, autograd's on/off switch, the default dtype and the thread count."""
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    grad = torch.is_grad_enabled()
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
        torch.set_grad_enabled(grad)
        torch.set_default_dtype(dtype)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


@contextlib.contextmanager
def time_limit(seconds: float | None, *, use_signal: bool | None = None):
    """Raise :class:`TimeLimitExceeded` inside the block once it has run ``seconds``.

    In the main thread on POSIX a ``SIGALRM`` timer interrupts it (even a loop with no function
    calls); elsewhere a ``sys.settrace`` hook checks the clock on every line of Python run in
    the functions called inside the block (slower, and blind to a single long call into C).
    ``None`` means no limit.

    >>> with time_limit(0.05):
    ...     while True:
    ...         pass
    Traceback (most recent call last):
    ...
    gdlessons.exercises.code.TimeLimitExceeded: ran past 0.05 s
    """
    if seconds is None:
        yield
        return
    can_alarm = (
        hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    if use_signal is None:
        use_signal = can_alarm
    if use_signal and not can_alarm:
        raise ValueError("use_signal=True needs POSIX and the main thread")
    with _alarm(seconds) if use_signal else _trace_deadline(seconds):
        yield


@contextlib.contextmanager
def _alarm(seconds: float):
    def stop(signum, frame):
        raise TimeLimitExceeded(f"ran past {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, stop)
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:  # someone else's timer was running (pytest-timeout, say): re-arm it
            left = max(outer_delay - (time.monotonic() - start), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, outer_interval)


@contextlib.contextmanager
def _trace_deadline(seconds: float):
    deadline = time.monotonic() + seconds
    previous = sys.gettrace()

    def tracer(frame, event, arg):
        if time.monotonic() > deadline:
            raise TimeLimitExceeded(f"ran past {seconds:g} s")
        return tracer

    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


# --- comparing outputs -----------------------------------------------------------------------


def same_tensors(
    bitwise: bool = True,
    *,
    name: str = "your result",
    index: str | Sequence[str] = "item {}",
    start: int = 1,
) -> Compare:
    """A ``compare`` for tensors, numbers, dicts of them (state dicts) and lists of them: None when
    equal (``bitwise``: every bit; otherwise ``torch.allclose``'s default tolerances), else
    a message naming the first difference.

    ``name`` is what the result is called in messages; ``index`` says how list positions read,
    one format per nesting level ("after iteration {}"), counted from ``start``.

    >>> cmp = same_tensors(index="after iteration {}")
    >>> want = [{"0.weight": torch.zeros(2)}, {"0.weight": torch.ones(2)}]
    >>> cmp([{"0.weight": torch.zeros(2)}, {"0.weight": torch.tensor([1.0, 1.012])}], want, {})
    'after iteration 2, `0.weight` differs by 0.012 (largest |difference|; 1 of 2 values differ)'
    """
    if not bitwise:
        return close_tensors(atol=1e-8, rtol=1e-5, name=name, index=index, start=start)
    return lambda got, want, case: first_difference(
        got, want, bitwise=True, name=name, index=index, start=start
    )


def close_tensors(
    atol: float = 1e-6,
    rtol: float = 1e-5,
    *,
    name: str = "your result",
    index: str | Sequence[str] = "item {}",
    start: int = 1,
) -> Compare:
    """Like :func:`same_tensors`, but values within ``atol + rtol·|want|`` count as equal, and a
    float64 result may stand for a float32 one.

    >>> close_tensors(atol=1e-3, name="the loss", index="at iteration {}")([0.5, 0.3], [0.5, 0.2], {})
    'at iteration 2, the loss is 0.3, expected 0.2 (a difference of 0.1)'
    """
    return lambda got, want, case: first_difference(
        got, want, bitwise=False, atol=atol, rtol=rtol, name=name, index=index, start=start
    )


def first_difference(
    got,
    want,
    *,
    bitwise: bool = True,
    atol: float = 0.0,
    rtol: float = 0.0,
    name: str = "your result",
    index: str | Sequence[str] = "item {}",
    start: int = 1,
) -> str | None:
    """None when ``got`` equals ``want``, else a message naming the first difference. Handles
    tensors, arrays, numbers, ``None``, modules (by state dict), dicts and lists, nested.

    >>> first_difference({"w": torch.ones(2)}, {"w": torch.ones(3)})
    '`w` has shape (2,), expected (3,)'
    """
    formats = (index,) if isinstance(index, str) else tuple(index)
    opts = dict(bitwise=bitwise, atol=atol, rtol=rtol, name=name, formats=formats, start=start)
    return _diff(got, want, [], opts)


def _where(path: list[tuple[str, object]], opts: dict) -> tuple[str, str]:
    """(prefix, subject): "after iteration 3" and "`0.weight`" (or the result's name)."""
    places, keys, depth = [], [], 0
    for kind, value in path:
        if kind == "index":
            fmt = opts["formats"][min(depth, len(opts["formats"]) - 1)]
            places.append(fmt.format(value + opts["start"]))
            depth += 1
        else:
            keys.append(str(value))
    subject = f"`{'.'.join(keys)}`" if keys else opts["name"]
    return ", ".join(places), subject


def _say(path, opts, problem: str) -> str:
    prefix, subject = _where(path, opts)
    return f"{prefix}, {subject} {problem}" if prefix else f"{subject} {problem}"


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.number)) and not isinstance(x, (bool, np.bool_))


def _diff(got, want, path, opts) -> str | None:
    if isinstance(want, nn.Module):
        if not isinstance(got, nn.Module):
            return _say(path, opts, f"is a {type(got).__name__}, expected a model")
        got, want = got.state_dict(), want.state_dict()
    if isinstance(want, (torch.Tensor, np.ndarray)):
        return _tensor_diff(got, want, path, opts)
    if isinstance(want, Mapping):
        if not isinstance(got, Mapping):
            return _say(path, opts, f"is a {type(got).__name__}, expected a dict")
        missing = [k for k in want if k not in got]
        if missing:
            return _say(path, opts, f"has no entry `{missing[0]}`")
        extra = [k for k in got if k not in want]
        if extra:
            return _say(path, opts, f"has an unexpected entry `{extra[0]}`")
        for key in want:
            found = _diff(got[key], want[key], [*path, ("key", key)], opts)
            if found:
                return found
        return None
    if isinstance(want, (list, tuple)):
        if isinstance(got, (torch.Tensor, np.ndarray)) and got.ndim == 1:
            got = got.tolist()
        if not isinstance(got, (list, tuple)):
            return _say(path, opts, f"is a {type(got).__name__}, expected a list of {len(want)}")
        if len(got) != len(want):
            return _say(path, opts, f"has {len(got)} entries, expected {len(want)}")
        for i, (g, w) in enumerate(zip(got, want)):
            found = _diff(g, w, [*path, ("index", i)], opts)
            if found:
                return found
        return None
    if want is None:
        return None if got is None else _say(path, opts, f"is {got!r}, expected None")
    if _is_number(want):
        value = as_number(got)
        if not _is_number(value):
            return _say(path, opts, f"is {got!r}, expected a number")
        g, w = float(value), float(want)
        if (math.isnan(g) and math.isnan(w)) or g == w:
            return None
        if not opts["bitwise"] and math.isclose(g, w, rel_tol=opts["rtol"], abs_tol=opts["atol"]):
            return None
        return _say(path, opts, f"is {g!r}, expected {w!r} (a difference of {abs(g - w):.3g})")
    return None if got == want else _say(path, opts, f"is {got!r}, expected {want!r}")


def _tensor_diff(got, want, path, opts) -> str | None:
    want = torch.as_tensor(want)
    if got is None:
        return _say(path, opts, f"is None, expected a tensor of shape {tuple(want.shape)}")
    if not isinstance(got, torch.Tensor):
        try:
            got = torch.as_tensor(as_number(got) if np.ndim(got) == 0 else got)
        except (TypeError, ValueError, RuntimeError):
            return _say(path, opts, f"is a {type(got).__name__}, expected a tensor")
    got, want = got.detach(), want.detach()
    if tuple(got.shape) != tuple(want.shape):
        return _say(path, opts, f"has shape {tuple(got.shape)}, expected {tuple(want.shape)}")
    if opts["bitwise"] and got.dtype != want.dtype:
        return _say(path, opts, f"has dtype {got.dtype}, expected {want.dtype}")
    if got.numel() == 0:
        return None
    g, w = got.double(), want.double()
    if opts["bitwise"]:
        same = (g == w) | (g.isnan() & w.isnan())
    else:
        same = torch.isclose(g, w, rtol=opts["rtol"], atol=opts["atol"], equal_nan=True)
    if bool(same.all()):
        return None
    if bool((g.isnan() != w.isnan()).any()):
        return _say(path, opts, "holds nan where a number was expected (or the other way round)")
    gap = float((g - w).abs()[~same].max())
    count = int((~same).sum())
    detail = (
        ""
        if got.numel() == 1
        else f" (largest |difference|; {count} of {got.numel()} values differ)"
    )
    problem = f"differs by {gap:.3g}{detail}"
    if opts["bitwise"] and gap <= 1e-5 * max(1.0, float(w.abs().max())):
        problem += (
            "; tiny, but this check is bitwise: do the same operations in the same order "
            "as the loop you are copying"
        )
    return _say(path, opts, problem)
