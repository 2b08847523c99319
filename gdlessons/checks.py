"""Checks that data and a model fit training, run before the first batch, so bad data is named as
bad data and a shape mismatch as a mismatch instead of a silent broadcast or a "diverged" run.
"""

from __future__ import annotations

import torch
from torch import nn

from gdlessons.data import as_tensors


def check_training_data(data, name: str = "data") -> tuple[torch.Tensor, torch.Tensor]:
    """``as_tensors`` plus what training needs: floating-point inputs and finite values, so bad
    data is named as bad data instead of showing up later as a "diverged" run.

    >>> check_training_data((torch.tensor([[1.0], [float("nan")]]), torch.zeros(2, 1)))
    Traceback (most recent call last):
    ...
    ValueError: data: X holds a non-finite value (nan) in sample 1; clean the data before training
    """
    X, y = as_tensors(data, name)
    if not X.is_floating_point():
        raise TypeError(
            f"{name}: X must hold floating-point values, got dtype {X.dtype}; convert it with X.float()"
        )
    for label, tensor in (("X", X), ("y", y)):
        if tensor.is_floating_point():
            bad = ~torch.isfinite(tensor)
            if bool(bad.any()):
                row = int(bad.reshape(len(tensor), -1).any(dim=1).nonzero()[0])
                value = tensor.reshape(len(tensor), -1)[row][bad.reshape(len(tensor), -1)[row]][0]
                raise ValueError(
                    f"{name}: {label} holds a non-finite value ({float(value)}) in sample {row}; "
                    "clean the data before training"
                )
    return X, y


def check_model_fits(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss, name: str = "data"
) -> None:
    """One forward pass on two samples (eval mode, no gradients, nothing changed) to check that
    ``model`` takes ``X`` and that its output and ``y`` fit ``loss``, so a mismatch is named
    before training instead of broadcasting silently or failing deep inside torch.

    >>> from gdlessons.models import tutorial_mlp
    >>> check_model_fits(tutorial_mlp(), torch.zeros(4, 1), torch.zeros(4), "mse")
    Traceback (most recent call last):
    ...
    ValueError: data: targets y have shape (4,) but the model outputs (4, 1) per batch of 4: mse would broadcast them into a meaningless loss; reshape y with y.reshape(-1, 1)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = [p for p in model.parameters() if p.is_floating_point()]
    if params and X.is_floating_point() and X.dtype != params[0].dtype:
        raise TypeError(
            f"{name}: X holds {X.dtype} but the model's parameters are {params[0].dtype}; "
            f"convert the data with X.to({params[0].dtype}) (or the model with model.to(X.dtype))"
        )
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(X[:2])
    except RuntimeError as err:
        raise ValueError(
            f"{name}: the model cannot take X of shape {tuple(X.shape)} ({str(err).splitlines()[0]}); "
            "check the number of input features"
        ) from None
    finally:
        model.train(was_training)
    if loss == "mse" or loss is nn.functional.mse_loss:
        if out.shape[1:] != y.shape[1:]:
            n = len(X)
            fix = " with y.reshape(-1, 1)" if y.dim() == 1 and out.shape[1:] == (1,) else ""
            raise ValueError(
                f"{name}: targets y have shape {tuple(y.shape)} but the model outputs "
                f"{(n, *out.shape[1:])} per batch of {n}: mse would broadcast them into a "
                f"meaningless loss; reshape y{fix}"
            )
        if not y.is_floating_point():
            raise TypeError(
                f"{name}: mse needs floating-point targets y, got {y.dtype}; use y.float()"
            )
    elif loss == "cross_entropy" or loss is nn.functional.cross_entropy:
        if y.is_floating_point() or y.dim() != 1:
            raise TypeError(
                f"{name}: cross_entropy needs class labels y as a 1-D integer tensor, got {y.dtype} "
                f"of shape {tuple(y.shape)}; use y.long() (and y.reshape(-1))"
            )
        classes = out.shape[1] if out.dim() == 2 else None
        low, high = int(y.min()), int(y.max())
        if classes is not None and (low < 0 or high >= classes):
            raise ValueError(
                f"{name}: class labels must lie in 0..{classes - 1} (the model outputs {classes} "
                f"scores per sample), got labels from {low} to {high}"
            )


def check_batch_indices(order, epoch: int, n: int) -> list:
    """``batches(epoch)``, a function's list of each batch's sample indices, checked before any
    batch is taken: a non-empty list of non-empty integer index tensors (or lists), every index in
    0..n-1."""
    where = f"batches({epoch})"
    if isinstance(order, (str, bytes)) or not hasattr(order, "__iter__"):
        raise TypeError(f"{where} must return a list of index tensors, got {type(order).__name__}")
    order = list(order)
    if not order:
        raise ValueError(f"{where} must return at least one batch of indices, got none")
    for i, idx in enumerate(order):
        try:
            t = torch.as_tensor(idx)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(
                f"{where}[{i}] must be a tensor or list of integer indices, got {idx!r}"
            ) from None
        if t.dtype == torch.bool or t.is_floating_point() or t.is_complex():
            raise TypeError(
                f"{where}[{i}] must hold integer sample indices in 0..{n - 1} (n={n}), got dtype {t.dtype}"
            )
        if t.dim() != 1 or t.numel() == 0:
            raise ValueError(
                f"{where}[{i}] must be a non-empty 1-D list of sample indices, got shape {tuple(t.shape)}"
            )
        low, high = int(t.min()), int(t.max())
        if low < 0 or high >= n:
            raise ValueError(
                f"{where}[{i}] holds index {low if low < 0 else high}: sample indices must lie in "
                f"0..{n - 1} (the data has n={n} samples)"
            )
    return order
