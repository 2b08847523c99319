"""The course's datasets: generated from a seed or bundled with a package, never downloaded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gdlessons._validate import check_float, check_int


@dataclass(frozen=True)
class Dataset:
    """Inputs ``X`` (n, features) and targets ``y`` with a name; ``len()`` is the sample count."""

    X: torch.Tensor
    y: torch.Tensor
    name: str = "data"

    def __post_init__(self):
        if not isinstance(self.X, torch.Tensor) or not isinstance(self.y, torch.Tensor):
            raise TypeError("Dataset X and y must be torch tensors")
        if len(self.X) != len(self.y):
            raise ValueError(
                f"X and y must have the same length, got {len(self.X)} and {len(self.y)}"
            )

    def __len__(self) -> int:
        return len(self.X)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.X, self.y


def quadratic_data(n: int = 1000, *, noise: float = 1.0, seed: int = 0) -> Dataset:
    """The source tutorials' data: x evenly spaced on [-5, 5], y = 0.3·x² + noise·N(0, 1).

    >>> d = quadratic_data(5, noise=0.0); d.y.squeeze().tolist()
    [7.5, 1.875, 0.0, 1.875, 7.5]
    """
    n = check_int("n", n, low=2)
    noise = check_float("noise", noise, low=0.0)
    seed = check_int("seed", seed, low=0)
    x = np.linspace(-5.0, 5.0, n)
    y = 0.3 * x**2 + noise * np.random.default_rng(seed).standard_normal(n)
    return Dataset(_column(x), _column(y), "y = 0.3·x² + noise")


def linear_data(
    n: int = 200, *, w: float = 2.0, b: float = -1.0, noise: float = 0.5, seed: int = 0
) -> Dataset:
    """y = w·x + b + noise on x ~ U[-2, 2]: a two-parameter model whose loss surface can be drawn.

    >>> linear_data(10).X.shape
    torch.Size([10, 1])
    """
    n = check_int("n", n, low=2)
    w = check_float("w", w)
    b = check_float("b", b)
    noise = check_float("noise", noise, low=0.0)
    seed = check_int("seed", seed, low=0)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, n)
    y = w * x + b + noise * rng.standard_normal(n)
    return Dataset(_column(x), _column(y), f"y = {w:g}·x + {b:g} + noise")


def digits_data(*, val_fraction: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
    """scikit-learn's bundled 8×8 handwritten digits (1797 images, 10 classes), split into
    train and validation with a seeded shuffle and standardised with the training statistics.

    >>> train, val = digits_data(); (len(train), len(val), train.X.shape[1])
    (1438, 359, 64)
    """
    from sklearn.datasets import load_digits

    val_fraction = check_float(
        "val_fraction", val_fraction, low=0.0, high=1.0, low_open=True, high_open=True
    )
    seed = check_int("seed", seed, low=0)
    bunch = load_digits()
    X = bunch.data.astype(np.float32)
    y = bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    n_val = int(round(val_fraction * len(X)))
    val_idx, train_idx = order[:n_val], order[n_val:]
    mean = X[train_idx].mean(axis=0)
    std = X[train_idx].std(axis=0) + 1e-6  # some border pixels are always 0
    X = (X - mean) / std
    return (
        Dataset(torch.from_numpy(X[train_idx]), torch.from_numpy(y[train_idx]), "digits (train)"),
        Dataset(torch.from_numpy(X[val_idx]), torch.from_numpy(y[val_idx]), "digits (validation)"),
    )


def as_tensors(data, name: str = "data") -> tuple[torch.Tensor, torch.Tensor]:
    """Accept a :class:`Dataset` or an ``(X, y)`` pair and return the two tensors, checked."""
    if isinstance(data, Dataset):
        X, y = data.X, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = data
    else:
        raise TypeError(
            f"{name} must be a Dataset or an (X, y) pair of tensors, got {type(data).__name__}"
        )
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(
            f"{name} must hold torch tensors, got {type(X).__name__} and {type(y).__name__}"
        )
    if len(X) != len(y):
        raise ValueError(f"{name}: X and y must have the same length, got {len(X)} and {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty: it needs at least one sample")
    return X, y


def _column(values: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.float32).reshape(-1, 1)
