"""Two results compared the one way the course compares them: equal bit for bit, and how far
apart (largest difference, relative error, norm ratio, cosine), for tensors, lists of losses,
state dicts, models, and runs compared after every update.

"Bit for bit" depends on how a CPU's kernels round; "close" (within float32 rounding of the
reference's size) holds on every CPU, so checked outputs print the second.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from gdlessons._validate import check_float


@dataclass(frozen=True)
class Comparison:
    """``got`` against the reference ``want``.

    ``equal`` is bit for bit (same shapes, dtypes and values); ``max_difference`` the largest
    |got − want| (infinite when the shapes differ); ``max_reference`` the largest |want|;
    ``relative_error`` ‖got − want‖/‖want‖; ``norm_ratio`` ‖got‖/‖want‖; ``cosine`` the cosine
    of the angle between them. A comparison of runs (:func:`over_updates`) also counts the
    updates compared and those after which the two were equal bit for bit.
    """

    equal: bool
    max_difference: float
    max_reference: float
    relative_error: float
    norm_ratio: float
    cosine: float
    updates: int | None = None
    equal_updates: int | None = None

    def __bool__(self) -> bool:
        return self.equal

    def close(self, rtol: float = 1e-5) -> bool:
        """No entry differs by more than ``rtol`` times the reference's largest entry (float32
        rounds at about 1e-7 of a value, so the same mathematics computed two ways shows up
        as ~1e-7): the verdict that holds on every CPU.

        >>> compare([1.0, 2.0], [1.0, 2.0 + 1e-7]).close(), compare([1.0], [1.1]).close()
        (True, False)
        """
        rtol = check_float("rtol", rtol, low=0.0)
        return self.max_difference <= rtol * self.max_reference

    def __repr__(self) -> str:
        text = f"bitwise equal: {self.equal} (max |difference| = {self.max_difference:.3g})"
        if self.updates is not None:
            text += f", after {self.equal_updates} of {self.updates} updates"
        return text


def compare(got, want) -> Comparison:
    """Compare tensors, lists of numbers, state dicts or models (their state dicts), bit for bit
    and by how far apart they are.

    >>> compare([0.5, 0.25], [0.5, 0.25])
    bitwise equal: True (max |difference| = 0)
    >>> c = compare(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 0.0]))
    >>> c, c.norm_ratio, c.cosine, c.relative_error
    (bitwise equal: False (max |difference| = 1), 2.0, 1.0, 1.0)
    """
    a, b = _comparable("got", got), _comparable("want", want)
    reference = torch.cat([y.double().reshape(-1) for y in b])
    max_reference = float(reference.abs().max()) if reference.numel() else 0.0
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        return Comparison(False, math.inf, max_reference, math.inf, math.nan, math.nan)
    equal = all(torch.equal(x, y) and x.dtype == y.dtype for x, y in zip(a, b))
    ours = torch.cat([x.double().reshape(-1) for x in a])
    gap = ours - reference
    norm_a, norm_b = float(ours.norm()), float(reference.norm())
    return Comparison(
        equal=equal,
        max_difference=float(gap.abs().nan_to_num(nan=math.inf).max()) if gap.numel() else 0.0,
        max_reference=max_reference,
        relative_error=_ratio(float(gap.norm()), norm_b),
        norm_ratio=_ratio(norm_a, norm_b),
        cosine=float(torch.dot(ours, reference)) / (norm_a * norm_b)
        if norm_a * norm_b
        else math.nan,
    )


def over_updates(per_update: Sequence[Comparison]) -> Comparison:
    """One comparison of two runs from their comparisons after each update: equal when every
    update was, the largest difference over the run, the rest as after the last update.

    >>> run = over_updates([compare([1.0], [1.0]), compare([2.0], [2.5])])
    >>> run, run.equal_updates
    (bitwise equal: False (max |difference| = 0.5), after 1 of 2 updates, 1)
    """
    if isinstance(per_update, (str, bytes)) or not isinstance(per_update, Sequence):
        raise TypeError(f"per_update must be a list of Comparison, got {type(per_update).__name__}")
    if not per_update or not all(isinstance(c, Comparison) for c in per_update):
        raise ValueError(
            f"per_update must hold at least one Comparison (one per update), got {per_update!r}"
        )
    last = per_update[-1]
    return Comparison(
        equal=all(c.equal for c in per_update),
        max_difference=max(c.max_difference for c in per_update),
        max_reference=max(c.max_reference for c in per_update),
        relative_error=last.relative_error,
        norm_ratio=last.norm_ratio,
        cosine=last.cosine,
        updates=len(per_update),
        equal_updates=sum(c.equal for c in per_update),
    )


def _ratio(top: float, bottom: float) -> float:
    if bottom:
        return top / bottom
    return 0.0 if top == 0 else math.inf


def _flatten(value) -> list[torch.Tensor]:
    if isinstance(value, nn.Module):
        value = value.state_dict()
    if isinstance(value, Mapping):
        return [t for key in sorted(value) for t in _flatten(value[key])]
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float)) for v in value):
            return [torch.tensor(value, dtype=torch.float64)]
        return [t for v in value for t in _flatten(v)]
    return [torch.as_tensor(value).detach()]


def _comparable(name: str, value) -> list[torch.Tensor]:
    """``value`` flattened to tensors, or an error naming ``name`` if it holds nothing to compare."""
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError("text is not a number to compare")
        tensors = _flatten(value)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"{name} must be a tensor, a list of numbers, a state dict or a model, "
            f"got {value!r} ({type(value).__name__})"
        ) from None
    if all(t.numel() == 0 for t in tensors):
        raise ValueError(f"{name} must hold at least one value to compare, got {value!r}")
    return tensors
