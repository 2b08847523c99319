"""Losses by name and the loss of a model on a whole data set (``evaluate``): what training
minimises and what its records report."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from gdlessons._validate import check_choice
from gdlessons.checks import check_model_fits, check_training_data

LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "mse": nn.functional.mse_loss,
    "cross_entropy": nn.functional.cross_entropy,
}


def resolve_loss(loss: str | Callable) -> Callable[..., torch.Tensor]:
    """A loss by name (``"mse"``, ``"cross_entropy"``) or a callable returning a *mean* loss."""
    if callable(loss):
        return loss
    return LOSSES[check_choice("loss", loss, LOSSES)]


@torch.no_grad()
def evaluate(model: nn.Module, data, loss: str | Callable = "mse") -> float:
    """Mean loss of ``model`` on all of ``data``, in eval mode, without touching gradients.

    >>> from gdlessons.models import LinearModel
    >>> evaluate(LinearModel(w=1.0), (torch.ones(4, 1), torch.ones(4, 1)))
    0.0
    """
    X, y = check_training_data(data)
    loss_fn = resolve_loss(loss)
    check_model_fits(model, X, y, loss)
    was_training = model.training
    model.eval()
    try:
        return float(loss_fn(model(X), y))
    finally:
        model.train(was_training)
