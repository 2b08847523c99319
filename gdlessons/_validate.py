"""Argument checks that name the argument, its value and what is allowed (scikit-learn style)."""

from __future__ import annotations

import math
from numbers import Integral, Real


def check_int(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {_range(low, high)}, got {value}")
    return value


def check_float(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float within the bounds, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    allowed = f"a finite number in {lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if not math.isfinite(value):
        raise ValueError(f"{name} must be {allowed}, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {allowed}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return value


def check_choice(name: str, value: object, choices) -> object:
    """Return ``value`` if it is one of ``choices``, else raise listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(map(str, choices))}, got {value!r}")
    return value


def _range(low, high) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    if low is not None:
        return f">= {low}"
    return f"<= {high}"


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is True or False (not 0, 1 or a string), else raise naming ``name``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return value


def check_sequence(name: str, value: object, *, min_len: int = 1, item=None) -> tuple:
    """Return ``value`` (a list, tuple, range or 1-D array) as a tuple of at least ``min_len``
    items, each passed through ``item(f"{name}[{i}]", v)`` when given; a string, a set, a dict,
    a single number or too few items are an error naming ``name``.

    >>> check_sequence("lrs", [0.1, 0.01], item=lambda n, v: check_float(n, v, low=0.0))
    (0.1, 0.01)
    >>> check_sequence("lrs", [])
    Traceback (most recent call last):
    ...
    ValueError: lrs must hold at least 1 value, got an empty list (it must be non-empty)
    """
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise ValueError(
                f"{name} must be a 1-D list of values, got an array of shape {value.shape}"
            )
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, range)):
        raise TypeError(
            f"{name} must be a list or tuple of values, got {value!r} ({type(value).__name__})"
        )
    if len(value) < min_len:
        kind = (
            f"an empty {type(value).__name__} (it must be non-empty)"
            if len(value) == 0
            else f"{len(value)}: {list(value)!r}"
        )
        raise ValueError(
            f"{name} must hold at least {min_len} value{'s' if min_len > 1 else ''}, got {kind}"
        )
    if item is None:
        return tuple(value)
    return tuple(item(f"{name}[{i}]", v) for i, v in enumerate(value))


def check_mapping(name: str, value: object, *, min_len: int = 1, what: str = "values") -> dict:
    """Return ``value`` if it is a dict (or other mapping) of at least ``min_len`` entries."""
    from collections.abc import Mapping

    if not isinstance(value, Mapping):
        raise TypeError(
            f"{name} must be a dict of {what} by name, got {value!r} ({type(value).__name__})"
        )
    if len(value) < min_len:
        raise ValueError(f"{name} must hold at least {min_len} entry of {what}, got an empty dict")
    return value


def check_instance(name: str, value: object, kind, what: str | None = None):
    """Return ``value`` if it is an instance of ``kind``, else raise naming ``name`` and ``what``
    (e.g. "a History, as train() returns")."""
    if not isinstance(value, kind):
        what = what or (
            " or ".join(k.__name__ for k in kind)
            if isinstance(kind, tuple)
            else f"a {kind.__name__}"
        )
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def check_mapping_of(name: str, value: object, kind, what: str, *, min_len: int = 1) -> dict:
    """Return ``value`` if it is a dict of at least ``min_len`` entries whose values are all
    instances of ``kind``, else raise naming ``name`` (or ``name[key]``) and ``what``
    (e.g. "a History, as train() returns").

    >>> check_mapping_of("runs", {"a": 1}, str, "a label")
    Traceback (most recent call last):
    ...
    TypeError: runs['a'] must be a label, got int
    """
    check_mapping(name, value, min_len=min_len, what=what)
    for key, v in value.items():
        check_instance(f"{name}[{key!r}]", v, kind, what)
    return value


def check_numbers(name: str, value: object, *, min_len: int = 1, ndim: int = 1):
    """Return ``value`` (a list, tuple or array of real numbers, NaN and inf allowed: a diverged
    run's losses are data) as a float array of ``ndim`` dimensions and at least ``min_len``
    entries along the first, else raise naming ``name``.

    >>> check_numbers("losses", [1, 2.5])
    array([1. , 2.5])
    >>> check_numbers("losses", ["a"])
    Traceback (most recent call last):
    ...
    TypeError: losses must be a list or array of real numbers, got ['a'] (list)
    """
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, range, np.ndarray)):
        raise TypeError(
            f"{name} must be a list or array of real numbers, got {value!r} ({type(value).__name__})"
        )
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a list or array of real numbers, got {value!r} ({type(value).__name__})"
        ) from None
    if isinstance(value, np.ndarray) and value.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {value.dtype}")
    if array.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-D ({'a list of numbers' if ndim == 1 else f'{ndim} axes'}), "
            f"got shape {array.shape}"
        )
    if len(array) < min_len:
        raise ValueError(
            f"{name} must hold at least {min_len} value{'s' if min_len > 1 else ''}, got {len(array)}"
        )
    return array


def check_tensor(name: str, value: object, *, min_numel: int = 1, floating: bool = False):
    """Return ``value`` if it is a torch.Tensor of at least ``min_numel`` entries (of a floating
    dtype when ``floating``), else raise naming ``name``."""
    import torch

    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.numel() < min_numel:
        raise ValueError(
            f"{name} must hold at least {min_numel} entr{'ies' if min_numel > 1 else 'y'}, "
            f"got a tensor of shape {tuple(value.shape)}"
        )
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    return value


def check_rows(name: str, value: object, columns, *, what: str = "a table") -> tuple:
    """Return ``value`` as a tuple if it is a non-empty list of dicts, each holding ``columns``
    (the rows of ``what``), else raise naming ``name`` or the row ``name[i]``."""
    rows = check_sequence(
        name, value, item=lambda n, row: check_mapping(n, row, what="column values")
    )
    for i, row in enumerate(rows):
        missing = [c for c in columns if c not in row]
        if missing:
            raise ValueError(
                f"{name}[{i}] must be a row of {what} with the columns {list(columns)}, "
                f"got the columns {list(row)}"
            )
    return rows
