"""Batches from tensors in memory: one permutation per epoch and slices, no per-sample indexing.

Two ways to build an epoch, as in the source tutorials: a shuffled pass without replacement
(every sample exactly once), or a fixed number of batches drawn at random with replacement.
:class:`EpochBatches` reads the one ``batches`` argument of ``train()`` and ``sweep()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from gdlessons._validate import check_int
from gdlessons.checks import check_batch_indices


def resolve_batch_size(batch_size: int | str | None, n: int) -> int:
    """``"full"`` or ``None`` means batch gradient descent (all ``n`` samples per update).

    >>> resolve_batch_size("full", 1000), resolve_batch_size(32, 1000)
    (1000, 32)
    """
    if batch_size is None or batch_size == "full":
        return n
    if isinstance(batch_size, str):
        raise ValueError(
            f"batch_size must be an integer from 1 to n={n}, 'full' or None, got {batch_size!r}"
        )
    return check_int("batch_size", batch_size, low=1, high=n)


def iterations_per_epoch(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Optimizer updates in one pass over ``n`` samples: ceil(n / B), or floor with ``drop_last``.

    >>> iterations_per_epoch(2000, 500), iterations_per_epoch(1797, 64), iterations_per_epoch(1797, 64, True)
    (4, 29, 28)
    """
    n = check_int("n", n, low=1)
    batch_size = check_int("batch_size", batch_size, low=1, high=n)
    return n // batch_size if drop_last else math.ceil(n / batch_size)


class BatchIterator:
    """Iterate over aligned tensors in batches; each ``iter()`` is one epoch.

    ``len()`` is the number of iterations per epoch. The order comes from a ``torch.Generator``
    seeded with ``seed``, so two iterators with the same seed give the same batches. A batch of
    all ``n`` samples (batch gradient descent) is taken in order: shuffling it changes nothing.

    >>> X = torch.arange(10.0); batches = BatchIterator(X, batch_size=4, shuffle=False)
    >>> len(batches), [b[0].tolist() for b in batches]
    (3, [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0]])
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int,
        shuffle: bool = True,
        drop_last: bool = False,
        replacement: bool = False,
        batches_per_epoch: int | None = None,
        seed: int = 0,
    ):
        if not tensors:
            raise ValueError("BatchIterator needs at least one tensor")
        n = len(tensors[0])
        if n == 0:
            raise ValueError("tensors are empty: they need at least one sample")
        for t in tensors[1:]:
            if len(t) != n:
                raise ValueError(
                    f"all tensors must have the same length, got {[len(t) for t in tensors]}"
                )
        self.tensors = tensors
        self.n = n
        self.batch_size = check_int("batch_size", batch_size, low=1, high=n)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.replacement = bool(replacement)
        if batches_per_epoch is not None and not replacement:
            raise ValueError("batches_per_epoch is only used with replacement=True")
        if replacement:
            default = iterations_per_epoch(n, self.batch_size)
            self.batches_per_epoch = check_int(
                "batches_per_epoch",
                default if batches_per_epoch is None else batches_per_epoch,
                low=1,
            )
        else:
            self.batches_per_epoch = iterations_per_epoch(n, self.batch_size, self.drop_last)
        self.seed = check_int("seed", seed, low=0)
        # One batch of every sample (batch gradient descent): the order would change nothing but
        # rounding, so it is not shuffled and an epoch costs no more than the bare update.
        self._shuffles = self.shuffle and self.batch_size < n
        self.generator = torch.Generator().manual_seed(self.seed)

    def __len__(self) -> int:
        return self.batches_per_epoch

    def epoch_indices(self) -> list[torch.Tensor]:
        """The sample indices of each batch of the next epoch (advances the generator).

        A hand-written loop that indexes with these sees exactly the batches ``iter()`` gives.
        """
        return list(self._epoch_order().split(self.batch_size))

    def _epoch_order(self) -> torch.Tensor:
        """All of the next epoch's sample indices, batch after batch (advances the generator)."""
        B = self.batch_size
        if self.replacement:
            draws = torch.randint(self.n, (self.batches_per_epoch, B), generator=self.generator)
            return draws.reshape(-1)
        order = (
            torch.randperm(self.n, generator=self.generator)
            if self._shuffles
            else torch.arange(self.n)
        )
        return order[: self.batches_per_epoch * B] if self.drop_last else order

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        if self._shuffles or self.replacement:
            # One gather per epoch (index_select: several times faster than t[order] on CPU),
            # then every batch is a cheap view (a slice) of it.
            order = self._epoch_order()
            tensors = [t.index_select(0, order) for t in self.tensors]
        elif self.drop_last:
            tensors = [t[: self.batches_per_epoch * self.batch_size] for t in self.tensors]
        else:
            tensors = self.tensors
        if self.batches_per_epoch == 1:  # batch gradient descent: the epoch is the batch
            return iter([tuple(tensors)])
        return zip(*(t.split(self.batch_size) for t in tensors))


DEFAULT_BATCH_SIZE = 32


class EpochBatches:
    """Each epoch's batches, from the one ``batches`` argument of ``train()`` and ``sweep()``.

    ``batches`` is ``None`` (shuffled batches of ``batch_size`` drawn with ``seed``), a
    :class:`BatchIterator` or a ``DataLoader`` (any re-iterable of ``(xb, yb)``; each pass is one
    epoch), or a function ``epoch -> list of index tensors`` (epoch counted from 1), e.g. a
    ``DistributedSampler``'s order. With ``batches`` given, the batches decide the batch size, so
    ``batch_size`` must be left out or agree with them.

    >>> X, y = torch.arange(10.0).reshape(-1, 1), torch.zeros(10, 1)
    >>> b = EpochBatches(lambda epoch: [[0, 1], [2, 3, 4]], X, y)
    >>> b.per_epoch, b.batch_size, [len(xb) for xb, yb in b(1)]
    (2, 2, [2, 3])
    """

    def __init__(self, batches, X: torch.Tensor, y: torch.Tensor, *,
                 batch_size: int | str | None = DEFAULT_BATCH_SIZE, seed: int = 0):  # fmt: skip
        self.X, self.y, n = X, y, len(X)
        self._orders: dict[int, list] = {}
        self.config: dict = {}
        if batches is None:
            batches = BatchIterator(X, y, batch_size=resolve_batch_size(batch_size, n), seed=seed)
            own = None
        elif isinstance(batches, BatchIterator):
            if batches.n != n:
                raise ValueError(
                    f"batches is a BatchIterator over {batches.n} samples but data has n={n}: "
                    "build it from the same data"
                )
            own = batches.batch_size
        elif callable(batches):
            self._orders[1] = check_batch_indices(batches(1), 1, n)
            own = len(self._orders[1][0])
        elif hasattr(batches, "__iter__") and not isinstance(batches, (str, bytes)):
            if isinstance(batches, Iterator):
                raise TypeError(
                    "batches is a one-shot iterator, which would be empty after the first epoch: "
                    "give a DataLoader, a BatchIterator or a function epoch -> index lists"
                )
            own = getattr(batches, "batch_size", None)
        else:
            raise TypeError(
                "batches must be None, a DataLoader, a BatchIterator or a function "
                f"epoch -> list of index tensors, got {type(batches).__name__}"
            )
        if own is not None and batch_size not in (DEFAULT_BATCH_SIZE, own):
            raise ValueError(
                f"batch_size={batch_size!r} disagrees with batches, whose batch size is {own}: "
                "the batches decide it, so leave batch_size out"
            )
        self.batches = batches
        self.batch_size = own if own is not None else resolve_batch_size(batch_size, n)
        if isinstance(batches, BatchIterator):
            self.config = dict(shuffle=batches.shuffle, drop_last=batches.drop_last,
                               replacement=batches.replacement)  # fmt: skip
        else:
            self.config = dict(batches=getattr(batches, "__name__", type(batches).__name__))
        self.per_epoch = (
            len(self._orders[1]) if 1 in self._orders
            else len(batches) if hasattr(batches, "__len__") else None
        )  # fmt: skip

    def __call__(self, epoch: int):
        """The batches of ``epoch`` (counted from 1): ``(xb, yb)`` pairs."""
        if not callable(self.batches):
            return self.batches  # each pass over it is a new epoch
        order = self._orders.pop(epoch, None) or check_batch_indices(
            self.batches(epoch), epoch, len(self.X)
        )
        return ((self.X[idx], self.y[idx]) for idx in order)
