"""Chapter 02: sample, batch, iteration, epoch — counted on real runs, drawn, and explored.

Everything here reads the shared pieces instead of re-implementing them: batches come from
:class:`gdlessons.batching.BatchIterator` (``epoch_indices()``), training from
:func:`gdlessons.training.train`. The one loop written here is the *trap* from a source
tutorial (``next(iter(loader))`` once per "epoch"), and it only counts what it fetches.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import matplotlib as mpl
import numpy as np
import torch
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, QuadMesh
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation
from torch import nn

from gdlessons._validate import (
    check_bool,
    check_instance,
    check_int,
    check_rows,
    check_sequence,
)
from gdlessons.batching import BatchIterator, iterations_per_epoch
from gdlessons.data import as_tensors
from gdlessons.display.plots import loss_curve, new_axes, new_figure
from gdlessons.history import History, check_history
from gdlessons.training import train

# ---------------------------------------------------------------------------------------------
# Which sample goes in which batch: a pure function of the settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchAssignment:
    """Where every sample went, epoch by epoch.

    ``batches[e][k]`` holds the sample indices of batch ``k`` of epoch ``e``;
    ``uses[e, i]`` counts how often sample ``i`` was used in epoch ``e``; ``first_batch[e, i]``
    is the batch that first used it (-1: not used in that epoch).
    """

    n: int
    batch_size: int
    epochs: int
    drop_last: bool
    replacement: bool
    batches: tuple[tuple[np.ndarray, ...], ...]
    uses: np.ndarray
    first_batch: np.ndarray

    @property
    def iterations_per_epoch(self) -> int:
        return len(self.batches[0])

    @property
    def iterations(self) -> int:
        return sum(len(epoch) for epoch in self.batches)

    @property
    def samples_seen(self) -> int:
        """Samples used in updates, counting a repeat each time (what ``History`` counts)."""
        return int(self.uses.sum())

    @property
    def batch_sizes(self) -> list[int]:
        """Sizes of the batches of the first epoch (the last one may be short)."""
        return [len(b) for b in self.batches[0]]

    @property
    def unseen_fraction(self) -> float:
        """Mean over epochs of the fraction of samples an epoch never used."""
        return float((self.uses == 0).mean())

    @property
    def repeated_fraction(self) -> float:
        """Mean over epochs of the fraction of samples used two or more times in an epoch."""
        return float((self.uses >= 2).mean())

    def counts(self) -> dict:
        """The counters the chapter talks about, as a plain dict."""
        return {
            "samples (N)": self.n,
            "batch size (B)": self.batch_size,
            "iterations per epoch": self.iterations_per_epoch,
            "epochs": self.epochs,
            "iterations": self.iterations,
            "samples seen": self.samples_seen,
            "last batch size": self.batch_sizes[-1],
            "unseen per epoch": round(self.unseen_fraction * self.n, 2),
            "repeated per epoch": round(self.repeated_fraction * self.n, 2),
        }


def batch_assignment(
    n: int,
    batch_size: int,
    epochs: int = 1,
    *,
    drop_last: bool = False,
    replacement: bool = False,
    shuffle: bool = True,
    batches_per_epoch: int | None = None,
    seed: int = 0,
) -> BatchAssignment:
    """Ask the course's own :class:`BatchIterator` which samples each batch of each epoch holds.

    The picture and the counters are computed from the very batches ``train()`` would use
    with the same settings and ``seed``.

    >>> a = batch_assignment(10, 4, epochs=2)
    >>> a.iterations_per_epoch, a.batch_sizes, a.samples_seen, a.unseen_fraction
    (3, [4, 4, 2], 20, 0.0)
    >>> batch_assignment(10, 4, drop_last=True).counts()["unseen per epoch"]
    2.0
    """
    n = check_int("n", n, low=1)
    epochs = check_int("epochs", epochs, low=1)
    iterator = BatchIterator(
        torch.arange(n), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
        replacement=replacement, batches_per_epoch=batches_per_epoch, seed=seed,
    )  # fmt: skip
    batches, uses, first = [], np.zeros((epochs, n), dtype=np.int64), np.full((epochs, n), -1)
    for e in range(epochs):
        epoch = tuple(idx.numpy() for idx in iterator.epoch_indices())
        for idx in epoch:
            np.add.at(uses[e], idx, 1)
        # Reversed so that the earliest batch using a sample is the one written last.
        for k in range(len(epoch) - 1, -1, -1):
            first[e, epoch[k]] = k
        batches.append(epoch)
    return BatchAssignment(
        n,
        iterator.batch_size,
        epochs,
        bool(drop_last),
        bool(replacement),
        tuple(batches),
        uses,
        first,
    )


@lru_cache(maxsize=64)
def _batch_colours(k: int) -> ListedColormap:
    from matplotlib import colormaps

    if k <= 10:
        colours = colormaps["tab10"].colors[:k]
    elif k <= 20:
        colours = colormaps["tab20"].colors[:k]
    else:
        colours = colormaps["viridis"](np.linspace(0, 1, k))
    return ListedColormap(colours).with_extremes(bad="white")


NUMBER_PT = 9.0  # the batch numbers written in the cells: the course's smallest text


def _numbers_fit(ax: Axes, a: BatchAssignment) -> bool:
    """Whether a 9-pt batch number fits in one cell of ``ax`` (judged from the axes' size before
    layout, with room to spare for what the layout takes off). Smaller cells get no numbers:
    shrinking them would make them unreadable."""
    points = 72 / ax.get_figure(root=True).dpi  # per display pixel
    cell_w = 0.85 * ax.bbox.width * points / a.n
    cell_h = 0.75 * ax.bbox.height * points / a.epochs
    digits = len(str(a.iterations_per_epoch))
    return cell_w >= 0.62 * NUMBER_PT * digits + 3 and cell_h >= 1.2 * NUMBER_PT


def _ink(colour) -> str:
    """Black on light cells, white on dark ones, so a number reads on any batch colour."""
    r, g, b = colour[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.6 else "white"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _mode(a: BatchAssignment) -> str:
    if a.replacement:
        return "with replacement"
    return "shuffled, drop_last" if a.drop_last else "shuffled"


def _assignment_title(
    a: BatchAssignment, *, counters: bool = True, asked: int | None = None
) -> str:
    """The title :func:`draw_assignment` gives ``a``: N, B, how epochs are built, iterations per
    epoch and the batch sizes; with ``counters`` a second line of the run's counts. ``asked``, a
    batch size above N that was drawn as N, is named on the first line.

    >>> print(_assignment_title(batch_assignment(20, 20, 1), asked=64))
    N=20, B=20 (asked 64 > N), shuffled: 1 iteration/epoch of sizes 1×20
    1 epoch: 1 iteration, 20 samples seen; per epoch 0 unseen, 0 used 2+ times
    """
    check_instance("a", a, BatchAssignment, "a BatchAssignment, as batch_assignment returns")
    check_bool("counters", counters)
    if asked is not None:
        asked = check_int("asked", asked, low=1)
    k = a.iterations_per_epoch
    b = f"B={a.batch_size}" + (f" (asked {asked} > N)" if asked and asked > a.n else "")
    title = f"N={a.n}, {b}, {_mode(a)}: {_plural(k, 'iteration')}/epoch of sizes {_sizes_text(a.batch_sizes)}"
    if counters:
        c = a.counts()
        title += (
            f"\n{_plural(a.epochs, 'epoch')}: {_plural(c['iterations'], 'iteration')}, "
            f"{c['samples seen']} samples seen; per epoch {c['unseen per epoch']:.3g} unseen, "
            f"{c['repeated per epoch']:.3g} used 2+ times"
        )
    return title


class _AssignmentPicture:
    """The picture of a :class:`BatchAssignment`, built once and redrawn for another one by
    moving its artists: the dataset as a strip of samples (x: sample index), one row per epoch,
    each sample coloured by the batch that used it; white = not used in that epoch, a dot = used
    twice or more (only possible with replacement).

    Without ``ax`` it makes its own constrained figure with a key of the batch colours, as tall
    as the epochs need (the explorer's picture); with ``ax`` it draws into that axes, no key.
    ``animated=True`` (the explorer, with its own figure) marks every artist that changes with
    the assignment animated (see :mod:`gdlessons.display.redraw`), and what lies over them (the
    frames): the still rest then changes only with the number of epochs and with replacement
    (:meth:`background`). Such a figure is laid out once, when it is made.

    >>> picture = _AssignmentPicture()
    >>> fig = picture.show(batch_assignment(20, 6, 2)); fig.get_size_inches().tolist()
    [7.0, 2.2]
    >>> picture.show(batch_assignment(30, 4, 1)) is fig, fig.get_size_inches().tolist()
    (True, [7.0, 1.8])
    """

    def __init__(self, ax: Axes | None = None, *, animated: bool = False):
        if ax is not None:
            check_instance("ax", ax, Axes, "a matplotlib Axes")
        check_bool("animated", animated)
        self.key = None
        if ax is None:
            fig = Figure(figsize=(7.0, 1.8), layout="constrained")
            ax, self.key = fig.subplots(1, 2, width_ratios=(1, 0.02))
        self.ax, self.fig = ax, ax.figure
        self.mesh = None  # the cells: made anew per assignment (their number changes)
        self.borders = LineCollection([], colors="white", lw=0.6, animated=animated)
        self.rows = LineCollection([], colors="white", lw=2, animated=animated)
        self.dots = ax.scatter([], [], s=7, c="black", marker="o", animated=animated)
        self._numbers: list = []
        ax.grid(False)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.set_ylabel("epoch")
        moving = [*ax.spines.values(), ax.xaxis, ax.title]  # ticks and labels follow N and B
        if self.key is not None:
            key = self.key
            self.key_cells = key.imshow(np.zeros((1, 1, 4)), aspect="auto", animated=animated)
            key.grid(False)
            key.set_xticks([])
            key.set_xlim(0, 1)
            key.yaxis.tick_right()
            key.yaxis.set_label_position("right")  # beside the key: above it, it meets the title
            key.set_ylabel("batch", fontsize=NUMBER_PT)
            moving += [*key.spines.values(), key.yaxis]
        for artist in moving:
            artist.set_animated(animated)
        self._margins = self._xlabel = None
        if animated and self.key is not None:
            self._lay_out_once()

    def _lay_out_once(self) -> None:
        """Lay the kept figure out at one state and keep that layout for all. The decorations
        take the same room at every state (two title lines, one line of x ticks and label,
        one-digit epochs, a key label placed for three digits), so the margins, in inches, hold
        for every figure height, and a new background costs no layout. The x axis' label is
        then written by a still text where the axis put it: the axis itself moves (its ticks
        follow N), and would otherwise draw its long label again on every move."""
        self.show(batch_assignment(20, 6, 1))
        self.fig.draw_without_rendering()
        width, height = self.fig.get_size_inches()
        boxes = [a.get_position() for a in (self.ax, self.key)]
        self._margins = (
            [(b.x0, b.x1 - b.x0) for b in boxes], (1 - boxes[0].y1) * height, boxes[0].y0 * height
        )  # fmt: skip
        label = self.ax.xaxis.label
        below = (boxes[0].y0 * height * 72) - label.get_window_extent().y1 * 72 / self.fig.dpi
        self._xlabel = self.ax.text(
            0.5, 0, label.get_text(), ha="center", va="top", clip_on=False,
            fontproperties=label.get_fontproperties(), color=label.get_color(),
            transform=self.ax.transAxes + ScaledTranslation(0, -below / 72, self.fig.dpi_scale_trans),
        )  # fmt: skip
        label.set_visible(False)  # its text stays: ax.get_xlabel() says what the axis shows
        with rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
            self.fig.set_layout_engine(None)

    @staticmethod
    def background(a: BatchAssignment) -> tuple:
        """What the still part of an animated picture of ``a`` depends on: the figure's height
        and the epoch rows' ticks (the number of epochs) and the x axis' label (replacement)."""
        return (a.epochs, a.replacement)

    def show(
        self,
        a: BatchAssignment,
        *,
        title: str | None = None,
        numbers: bool = False,
        counters: bool = True,
        asked: int | None = None,
    ) -> Figure:
        """Move the artists to ``a`` and return the figure. ``numbers`` writes the batch number
        in each cell, at 9 pt, where the cells are big enough for it (see :func:`numbered`; text
        is also what makes a redraw slow); ``counters`` adds the run's counts to the default
        title, ``asked`` a batch size above N drawn as N (:func:`_assignment_title`)."""
        check_instance("a", a, BatchAssignment, "a BatchAssignment, as batch_assignment returns")
        if title is not None:
            check_instance("title", title, str, "a string")
        check_bool("numbers", numbers)
        ax, k, n, epochs = self.ax, a.iterations_per_epoch, a.n, a.epochs
        cmap = _batch_colours(k)  # batch i (from 0) has colour i: ints index the colours
        if self.key is not None:
            height = round(1.4 + 0.4 * epochs, 2)
            self.fig.set_size_inches(7.0, height)
            if self._margins is not None:
                columns, top, bottom = self._margins
                for panel, (x0, w) in zip((ax, self.key), columns):
                    panel.set_position((x0, bottom / height, w, 1 - (top + bottom) / height))
            self.key_cells.set_data(cmap(np.arange(k)[:, None], bytes=True))
            self.key_cells.set_extent((0, 1, k + 0.5, 0.5))
            self.key.set_ylim(k + 0.5, 0.5)
            # every batch while they are few, else first, middle and last
            self.key.set_yticks(range(1, k + 1) if k <= 10 else sorted({1, (k + 1) // 2, k}))
            # The label stands where a tick label of three digits would put it, whatever k is
            # drawn (up to 999), so the layout made for one k holds for every other.
            shift = ScaledTranslation(_key_label_offset(max(3, len(str(k)))) / 72, 0,
                                      self.fig.dpi_scale_trans)  # fmt: skip
            self.key.yaxis.set_label_coords(1, 0.5, transform=self.key.transAxes + shift)
        # One quadrilateral per (epoch, sample), white where the sample was not used (the
        # colours' "bad" colour): a mesh, not an image, which would be resampled to the screen
        # on every move (three to four times the time). The frames and dots go over it again,
        # so a move draws them after it.
        for artist in (self.mesh, self.borders, self.rows, self.dots, *self._numbers):
            if artist is not None and artist.axes is not None:
                artist.remove()
        xs, ys = np.arange(n + 1) - 0.5, np.arange(epochs + 1) + 0.5
        self.mesh = QuadMesh(
            np.stack(np.meshgrid(xs, ys), axis=-1), array=cmap(np.ma.masked_less(a.first_batch, 0)),
            antialiased=False, edgecolors="none", snap=mpl.rcParams["pcolormesh.snap"],
            animated=self.dots.get_animated(),
        )  # fmt: skip
        # cell borders help only while cells are wide enough to see
        self.borders.set_segments([[(x, 0.5), (x, epochs + 0.5)] for x in xs] if n <= 60 else [])
        self.rows.set_segments([[(-0.5, y), (n - 0.5, y)] for y in ys])
        rows, cols = np.nonzero(a.uses >= 2)  # a dot instead of a legend: legends are slow
        self.dots.set_offsets(
            np.column_stack([cols, rows + 1.3]) if len(rows) else np.empty((0, 2))
        )
        for artist in (self.mesh, self.borders, self.rows, self.dots):
            ax.add_collection(artist, autolim=False)
        self._numbers = []
        ax.set_xlim(-0.5, n - 0.5)
        ax.set_ylim(epochs + 0.5, 0.5)
        if numbers and _numbers_fit(ax, a):
            rows, cols = np.nonzero(a.first_batch >= 0)
            for r, c in zip(rows, cols):
                batch = a.first_batch[r, c]
                self._numbers.append(ax.text(c, r + 1, str(batch + 1), ha="center", va="center",
                                             fontsize=NUMBER_PT, color=_ink(cmap(int(batch)))))  # fmt: skip
        ax.set_yticks(range(1, epochs + 1))
        ax.set_xlabel(
            "sample index (colour = its batch in the epoch; white = unused"
            + ("; dot = used 2+ times)" if a.replacement else ")")
        )
        if self._xlabel is not None:
            self._xlabel.set_text(ax.get_xlabel())
        if title is None:
            title = _assignment_title(a, counters=counters, asked=asked)
        ax.set_title(title, fontsize=NUMBER_PT)
        return self.fig


def _key_label_offset(digits: int) -> float:
    """Points from the key's right edge to its label: a tick, its pad and ``digits`` digits at
    the tick labels' size (where matplotlib would place it beside such a tick label)."""
    from matplotlib.font_manager import FontProperties

    rc = mpl.rcParams
    size = FontProperties(size=rc["ytick.labelsize"]).get_size_in_points()
    width = _text_width("0" * digits, size)
    return rc["ytick.major.size"] + rc["ytick.major.pad"] + width + rc["axes.labelpad"]


@lru_cache(maxsize=16)
def _text_width(text: str, size: float) -> float:
    """Width in points of ``text`` at ``size`` points, in the default font, as Agg lays it out."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    width, _, _ = RendererAgg(1, 1, 72).get_text_width_height_descent(
        text, FontProperties(size=size), ismath=False
    )
    return width


def draw_assignment(
    a: BatchAssignment,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    numbers: bool = False,
    counters: bool = True,
) -> Figure:
    """The dataset as a strip of samples (x: sample index), one row per epoch, each sample
    coloured by the batch that used it; white = not used in that epoch, a dot = used twice
    or more (only possible with replacement). ``numbers`` writes the batch number in each
    cell, at 9 pt, where the cells are big enough for it (see :func:`numbered`; text is also
    what makes a redraw slow); ``counters`` adds the run's counts to the title. Without ``ax``
    a fresh constrained figure with a key of the batch colours is made (the explorer's picture,
    see :class:`_AssignmentPicture`).

    >>> fig = draw_assignment(batch_assignment(20, 6, 2))
    >>> [ax.get_ylabel() for ax in fig.axes], fig.get_size_inches().tolist()
    (['epoch', 'batch'], [7.0, 2.2])
    """
    check_instance("a", a, BatchAssignment, "a BatchAssignment, as batch_assignment returns")
    if ax is not None:
        check_instance("ax", ax, Axes, "a matplotlib Axes")
    if title is not None:
        check_instance("title", title, str, "a string")
    check_bool("numbers", numbers)
    check_bool("counters", counters)
    return _AssignmentPicture(ax).show(a, title=title, numbers=numbers, counters=counters)


def numbered(ax: Axes) -> bool:
    """Whether :func:`draw_assignment` wrote batch numbers in ``ax``'s cells.

    >>> a = batch_assignment(20, 6, 2)
    >>> numbered(draw_assignment(a, numbers=True).axes[0]), numbered(draw_assignment(a).axes[0])
    (True, False)
    """
    check_instance("ax", ax, Axes, "a matplotlib Axes")
    return bool(ax.texts)


GALLERY_MODES = {
    "shuffled": {},
    "shuffled, drop_last": {"drop_last": True},
    "with replacement": {"replacement": True},
}


def assignment_gallery(
    n: int = 20,
    batch_size: int = 6,
    epochs: int = 3,
    *,
    seed: int = 0,
    fig: Figure | SubFigure | None = None,
) -> tuple[Figure | SubFigure, dict[str, BatchAssignment]]:
    """The three ways to build epochs stacked (shuffled, ``drop_last``, with replacement),
    batch numbers written in the cells while they fit at 9 pt (at a large N the cells are too
    narrow: then the colours alone tell the batches, and the figure's title says so).
    ``fig`` is a figure or subfigure to draw into (default: a new 7.5-in wide one), so the
    gallery can sit inside a larger figure. Returns ``(figure, {mode: BatchAssignment})``.

    >>> fig, modes = assignment_gallery(n=12, batch_size=5, epochs=2)
    >>> len(fig.axes), modes["shuffled"].iterations_per_epoch, float(fig.get_figwidth())
    (3, 3, 7.5)
    >>> top, bottom = Figure(figsize=(7.5, 6), layout="constrained").subfigures(2, 1)
    >>> len(assignment_gallery(n=12, batch_size=5, epochs=1, fig=bottom)[0].axes)
    3
    """
    assignments = {
        mode: batch_assignment(n, batch_size, epochs, seed=seed, **kw)
        for mode, kw in GALLERY_MODES.items()
    }
    fig = new_figure(fig, figsize=(7.5, 1.2 + 1.1 * epochs))
    axes = fig.subplots(3, 1)
    shown = []
    for ax, (mode, a) in zip(axes, assignments.items()):
        c = a.counts()
        draw_assignment(
            a, ax=ax, numbers=True,
            title=f"{mode}: {a.iterations_per_epoch} iterations/epoch of sizes {_sizes_text(a.batch_sizes)}; "
            f"per epoch {c['unseen per epoch']:.3g} unused, {c['repeated per epoch']:.3g} used 2+ times",
        )  # fmt: skip
        shown.append(numbered(ax))
        if ax is not axes[-1]:
            ax.set_xlabel("")
    what = (
        "the number in a cell is the batch that used that sample"
        if all(shown)
        else "a cell's colour is the batch that used that sample\n"
        "(no numbers: at this N the cells are too narrow for them)"
    )
    fig.suptitle(f"N={n} samples, B={batch_size}: {what}")
    return fig, assignments


def _sizes_text(sizes: list[int]) -> str:
    if len(set(sizes)) == 1:
        return f"{len(sizes)}×{sizes[0]}"
    head = sizes[:-1]
    return f"{len(head)}×{head[0]} + {sizes[-1]}" if len(set(head)) == 1 else str(sizes)


# ---------------------------------------------------------------------------------------------
# Counters from real train() runs
# ---------------------------------------------------------------------------------------------


def iteration_rows(history: History, limit: int | None = None) -> list[dict]:
    """One row per optimizer update of a real run: iteration, epoch, this batch's size and
    the running samples seen (batch size is read off the samples-seen counter).

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> h = train(tutorial_mlp(), quadratic_data(10), batch_size=4, epochs=1)
    >>> [r["batch size"] for r in iteration_rows(h)]
    [4, 4, 2]
    """
    check_history("history", history)
    if limit is not None:
        check_int("limit", limit, low=1)
    its = history.iterations
    rows, before = [], 0
    for i, e, seen in zip(its.iteration, its.epoch, its.samples_seen):
        rows.append({"iteration": i, "epoch": e, "batch size": seen - before, "samples seen": seen})
        before = seen
    return rows[:limit] if limit is not None else rows


def run_counts(history: History) -> dict:
    """The chapter's counters read off a finished run's :class:`History`.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> run_counts(train(tutorial_mlp(), quadratic_data(2000), batch_size=500, epochs=2))["iterations"]
    8
    """
    check_history("history", history)
    c = history.config
    missing = sorted({"n", "batch_size", "iterations_per_epoch"} - set(c))
    if missing:
        raise ValueError(f"history.config lacks {missing}: history must be a History from train()")
    return {
        "samples (N)": c["n"],
        "batch size (B)": c["batch_size"],
        "iterations per epoch": c["iterations_per_epoch"],
        "epochs": len(history.epochs.epoch),
        "iterations": history.iterations.iteration[-1] if history.iterations.iteration else 0,
        "samples seen": history.iterations.samples_seen[-1]
        if history.iterations.samples_seen
        else 0,
    }


def batch_size_table(n: int, batch_sizes: Sequence[int] = (32, 64, 128)) -> list[dict]:
    """Iterations per epoch with and without ``drop_last``, the short last batch, and what
    ``drop_last`` throws away, for each batch size.

    >>> batch_size_table(1000, [64])
    [{'batch size': 64, 'iterations': 16, 'last batch': 40, 'iterations (drop_last)': 15, 'dropped samples': 40}]
    """
    check_sequence("batch_sizes", batch_sizes, item=lambda n, v: check_int(n, v, low=1))
    rows = []
    for B in batch_sizes:
        full = iterations_per_epoch(n, B)
        dropped = iterations_per_epoch(n, B, drop_last=True)
        rows.append(
            {
                "batch size": B,
                "iterations": full,
                "last batch": n - (full - 1) * B,
                "iterations (drop_last)": dropped,
                "dropped samples": n - dropped * B,
            }
        )
    return rows


def activation_bytes(model: nn.Module, batch_size: int, in_features: int = 1) -> int:
    """Bytes of the layer outputs one forward pass of ``batch_size`` samples creates — the
    activations backward must keep, the part of memory per step that grows with B.

    >>> from gdlessons.models import tutorial_mlp
    >>> activation_bytes(tutorial_mlp(), 10)  # (1 + 32+32 + 32+32 + 1) floats × 10 samples × 4 bytes
    5200
    """
    batch_size = check_int("batch_size", batch_size, low=1)
    total = 0

    def hook(_module, _inputs, output):
        nonlocal total
        total += output.numel() * output.element_size()

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        x = torch.zeros(batch_size, in_features)
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return total + x.numel() * x.element_size()


def epoch_costs(
    make_model,
    data,
    batch_sizes: Sequence[int | str],
    *,
    epochs: int = 3,
    lr: float = 1e-3,
    seed: int = 0,
) -> list[dict]:
    """Train a fresh model per batch size with ``train()`` and read what an epoch cost:
    updates, activation memory per update, and wall-clock time per epoch (the median over
    ``epochs`` epochs, from ``History.epochs.time``).

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> rows = epoch_costs(tutorial_mlp, quadratic_data(100), [10, "full"], epochs=1)
    >>> [(r["batch size"], r["iterations per epoch"]) for r in rows]
    [(10, 10), (100, 1)]
    """
    check_sequence("batch_sizes", batch_sizes)
    X, _ = as_tensors(data)
    epochs = check_int("epochs", epochs, low=1)
    rows = []
    for B in batch_sizes:
        model = make_model()
        h = train(model, data, batch_size=B, epochs=epochs, lr=lr, seed=seed)
        times = np.diff([0.0, *h.epochs.time])
        per_epoch = statistics.median(times)
        size = h.config["batch_size"]
        rows.append(
            {
                "batch size": size,
                "iterations per epoch": h.config["iterations_per_epoch"],
                "activations per update (KiB)": round(
                    activation_bytes(model, size, X.shape[1]) / 1024, 1
                ),
                "ms per epoch": round(1000 * per_epoch, 1),
                "ms per iteration": round(1000 * per_epoch / h.config["iterations_per_epoch"], 3),
            }
        )
    return rows


def compare_runs(histories: Sequence[History], at_iteration: int | None = None) -> list[dict]:
    """Per run: the updates and samples it made, its full-data training loss at the end and after
    ``at_iteration`` updates: the same runs compared per epoch and per iteration.

    ``at_iteration`` (at least 1: after 0 updates there is nothing to compare) must have been
    evaluated in every run (``train(..., hooks=[EvaluateEvery(k)])``); by default it is the last
    iteration evaluated in all of them, an error if they share only the evaluation before
    training. The loss at the end is the full-data loss after the last update
    (``train(..., hooks=[FullTrainLoss()])``, or an evaluation that fell on the last iteration).

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> from gdlessons.hooks import EvaluateEvery, FullTrainLoss
    >>> h = train(tutorial_mlp(), quadratic_data(100), batch_size=50, epochs=2,
    ...           hooks=[EvaluateEvery(3), FullTrainLoss()])
    >>> [(r["iterations"], r["samples seen"], "loss after 3 iterations" in r) for r in compare_runs([h])]
    [(4, 200, True)]
    """
    check_sequence("histories", histories, item=check_history)
    common = set.intersection(*(set(h.evals.iteration) for h in histories))
    if not common:
        raise ValueError("the runs share no evaluated iteration: train them with evaluate_every")
    if at_iteration is None:
        after_start = common - {0}
        if not after_start:
            shortest = min(h.iterations.iteration[-1] for h in histories)
            raise ValueError(
                "the runs share no evaluated iteration after the start (iteration 0, before any "
                f"update): the shortest run made {shortest} updates; train them "
                f"with EvaluateEvery(k), k at most {shortest}, to compare them after the same updates"
            )
        at_iteration = max(after_start)
    at_iteration = check_int("at_iteration", at_iteration, low=1)
    if at_iteration not in common:
        raise ValueError(
            f"at_iteration={at_iteration} was not evaluated in every run; evaluated in all: {sorted(common)}"
        )
    rows = []
    for h in histories:
        rows.append(
            {
                "batch size": h.config["batch_size"],
                "epochs": h.epochs.epoch[-1],
                "iterations": h.iterations.iteration[-1],
                "samples seen": h.iterations.samples_seen[-1],
                "loss at the end": round(_end_loss(h), 3),
                f"loss after {at_iteration} iterations": round(
                    h.evals.train_loss[h.evals.iteration.index(at_iteration)], 3
                ),
            }
        )
    return rows


def _end_loss(h: History) -> float:
    if h.epochs.full_train_loss and h.epochs.full_train_loss[-1] is not None:
        return h.epochs.full_train_loss[-1]
    if h.evals.iteration and h.evals.iteration[-1] == h.iterations.iteration[-1]:
        return h.evals.train_loss[-1]
    raise ValueError(
        "the run's full-data loss at the end was not measured: train with hooks=[FullTrainLoss()]"
    )


def compare_sentences(rows: list[dict]) -> str:
    """What the comparison table says, as sentences that stay true for any run.

    >>> rows = [{"batch size": 32, "epochs": 2, "iterations": 8, "samples seen": 256,
    ...          "loss at the end": 1.0, "loss after 2 iterations": 2.0},
    ...         {"batch size": 128, "epochs": 2, "iterations": 2, "samples seen": 256,
    ...          "loss at the end": 2.1, "loss after 2 iterations": 2.1}]
    >>> print(compare_sentences(rows))
    per epoch: in the same 2 epochs B=32 made 8 updates and B=128 made 2; the lowest loss at the end is B=32's (1 vs 2.1, spread 1.1)
    per iteration: after the same 2 updates the losses are 2 and 2.1 (spread 0.1, smaller than at the end of the same epochs); the lowest is B=32's
    per sample: they saw 256 and 256 samples
    """
    columns = ("batch size", "epochs", "iterations", "samples seen", "loss at the end")
    check_rows("rows", rows, columns, what="compare_runs")
    for i, row in enumerate(rows):
        if not any(k.startswith("loss after") for k in row):
            raise ValueError(
                f"rows[{i}] must be a row of compare_runs (with a 'loss after ...' column), "
                f"got the columns {list(row)}"
            )
    at = next(k for k in rows[0] if k.startswith("loss after"))
    names = [f"B={r['batch size']}" for r in rows]
    made = [f"{n} made {r['iterations']}" for n, r in zip(names, rows, strict=True)]
    made[0] += " updates"
    ends = [r["loss at the end"] for r in rows]
    after = [r[at] for r in rows]
    end_spread, after_spread = max(ends) - min(ends), max(after) - min(after)
    closer = "smaller" if after_spread < end_spread else "not smaller"
    return "\n".join([
        f"per epoch: in the same {rows[0]['epochs']} epochs {_and(made)}; the lowest loss at the end "
        f"is {names[ends.index(min(ends))]}'s ({' vs '.join(f'{v:g}' for v in ends)}, "
        f"spread {end_spread:.3g})",
        f"per iteration: after the same {at.split()[2]} updates the losses are "
        f"{_and([f'{v:g}' for v in after])} (spread {after_spread:.3g}, {closer} than at the end of "
        f"the same epochs); the lowest is {names[after.index(min(after))]}'s",
        f"per sample: they saw {_and([str(r['samples seen']) for r in rows])} samples",
    ])  # fmt: skip


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# A marker and (on the smooth per-epoch curves) a line style per run besides its colour, so the
# runs stay apart without colour; the noisy per-iteration curves stay solid (a dash pattern breaks
# on them) and carry the markers.
RUN_MARKERS = ("o", "s", "^", "D", "v")
RUN_LINESTYLES = ("-", "--", "-.", ":", (0, (6, 2)))


def _marks(xs: Sequence[float], i: int, *, log: bool = False, count: int = 7) -> list[int]:
    """Indices of about ``count`` points spread evenly along the x-axis (on a log axis, evenly in
    log x), shifted a little per run ``i`` so the markers of overlapping lines do not hide each other.

    >>> _marks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0, count=3)
    [0, 4, 9]
    """
    x = np.asarray(xs, dtype=float)
    if len(x) <= 1:
        return list(range(len(x)))
    lo, hi = (np.log(x[x > 0].min()), np.log(x.max())) if log else (x.min(), x.max())
    shift = (i % 3) / 3 / (count - 1)
    spots = lo + (hi - lo) * np.clip(np.linspace(0, 1, count) + shift, 0, 1)
    scale = np.log(np.where(x > 0, x, np.nan)) if log else x
    found = {int(np.nanargmin(np.abs(scale - s))) for s in spots}
    return sorted(found)


def axes_comparison(
    histories: Sequence[History],
    *,
    labels: Sequence[str] | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """The same runs drawn three ways: loss per epoch (a wide panel on top, where the epochs'
    story is told), per iteration and per sample seen (the two panels below), each run with its
    own colour, marker and (per epoch) line style. ``fig`` is a figure or subfigure to draw into
    (default: a new 7.5 × 6.2-in one), so the comparison fits the course's column.

    >>> from gdlessons.data import quadratic_data
    >>> from gdlessons.models import tutorial_mlp
    >>> runs = [train(tutorial_mlp(), quadratic_data(40), batch_size=B, epochs=2) for B in (10, 40)]
    >>> [ax.get_title() for ax in axes_comparison(runs).axes]
    ['Loss per epoch', 'Batch loss per iteration (log x)', 'Batch loss per sample seen']
    """
    check_sequence("histories", histories, item=check_history)
    if labels is not None:
        labels = check_sequence(
            "labels", labels, item=lambda name, v: check_instance(name, v, str, "a string")
        )
        if len(labels) != len(histories):
            raise ValueError(
                f"labels must hold one label per History ({len(histories)}), got {len(labels)}"
            )
    fig = new_figure(fig, figsize=(7.5, 6.2))
    grid = fig.add_gridspec(2, 2)
    axes = [fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])]
    labels = labels or [f"B={h.config['batch_size']}" for h in histories]
    for i, (h, label) in enumerate(zip(histories, labels)):
        marker, colour = RUN_MARKERS[i % len(RUN_MARKERS)], f"C{i}"
        style = dict(color=colour, marker=marker, ms=5)
        loss_curve(h, x="epoch", ax=axes[0], label=label, validation=False, title="Loss per epoch",
                   ls=RUN_LINESTYLES[i % len(RUN_LINESTYLES)], lw=1.6,
                   markevery=_marks(h.epochs.epoch, i), **style)  # fmt: skip
        its = h.iterations
        loss_curve(h, x="iteration", ax=axes[1], label=label, title="Batch loss per iteration",
                   lw=0.8, markevery=_marks(its.iteration, i, log=True), **style)  # fmt: skip
        loss_curve(h, x="samples", ax=axes[2], label=label, title="Batch loss per sample seen",
                   lw=0.8, markevery=_marks(its.samples_seen, i), **style)  # fmt: skip
    # Log x: a full-batch run's 20 iterations would otherwise be squeezed against the axis.
    axes[1].set_xscale("log")
    axes[1].set_title("Batch loss per iteration (log x)")
    return fig


# ---------------------------------------------------------------------------------------------
# Epochs drawn with replacement: measured vs 1/e
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplacementStats:
    """What ``epochs`` epochs drawn with replacement did, next to the theory.

    ``measured[k]`` is the fraction of (sample, epoch) pairs used exactly ``k`` times;
    ``theory[k]`` the binomial probability of the same, Binomial(draws, 1/n).
    """

    n: int
    draws_per_epoch: int
    epochs: int
    unseen_per_epoch: np.ndarray
    measured: np.ndarray
    theory: np.ndarray

    @property
    def unseen_measured(self) -> float:
        return float(self.unseen_per_epoch.mean())

    @property
    def unseen_theory(self) -> float:
        """(1 - 1/n) ** draws: each draw misses a given sample with probability 1 - 1/n."""
        return (1 - 1 / self.n) ** self.draws_per_epoch

    @property
    def unseen_limit(self) -> float:
        """exp(-draws/n), which is 1/e ≈ 0.368 for an epoch of n draws."""
        return math.exp(-self.draws_per_epoch / self.n)


def replacement_stats(
    n: int,
    batch_size: int,
    *,
    batches_per_epoch: int | None = None,
    epochs: int = 20,
    seed: int = 0,
) -> ReplacementStats:
    """Draw ``epochs`` epochs with replacement through :class:`BatchIterator` and count, per
    epoch, how often each sample was used.

    >>> s = replacement_stats(1000, 50, batches_per_epoch=20, epochs=50)
    >>> s.draws_per_epoch, round(s.unseen_theory, 3), abs(s.unseen_measured - s.unseen_theory) < 0.02
    (1000, 0.368, True)
    """
    a = batch_assignment(
        n, batch_size, epochs, replacement=True, batches_per_epoch=batches_per_epoch, seed=seed
    )
    draws = a.samples_seen // a.epochs
    kmax = max(4, int(a.uses.max()))
    measured = np.bincount(a.uses.ravel(), minlength=kmax + 1) / a.uses.size
    ks = np.arange(kmax + 1)
    p = 1 / a.n
    theory = np.array([math.comb(draws, int(k)) * p**k * (1 - p) ** (draws - k) for k in ks])
    return ReplacementStats(a.n, draws, a.epochs, (a.uses == 0).mean(axis=1), measured, theory)


def draw_replacement(stats: ReplacementStats, *, ax: Axes | None = None) -> Figure:
    """Bars: how many times each sample was used in an epoch, measured vs the binomial theory.
    ``ax`` draws into an existing axes (default: a new 6 × 3.4-in figure).

    >>> draw_replacement(replacement_stats(100, 10, epochs=2)).axes[0].get_xlabel()
    'times a sample is used in one epoch'
    """
    check_instance(
        "stats", stats, ReplacementStats, "a ReplacementStats, as replacement_stats returns"
    )
    fig, ax = new_axes(ax, figsize=(6.0, 3.4))
    ks = np.arange(len(stats.measured))
    ax.bar(ks - 0.2, stats.measured, width=0.4, label=f"measured ({stats.epochs} epochs)")
    ax.bar(
        ks + 0.2,
        stats.theory,
        width=0.4,
        label=f"theory: Binomial({stats.draws_per_epoch}, 1/{stats.n})",
    )
    ax.text(
        0.97, 0.62, f"never used: {stats.unseen_measured:.1%} measured,\n"
        f"{stats.unseen_theory:.1%} theory (1/e = {1 / math.e:.1%})",
        transform=ax.transAxes, ha="right", fontsize=9,
    )  # fmt: skip
    ax.set_xticks(ks)
    ax.set_xlabel("times a sample is used in one epoch")
    ax.set_ylabel("fraction of samples")
    ax.set_title(f"Epochs of {stats.draws_per_epoch} draws with replacement from N={stats.n}")
    ax.legend(loc="upper right")  # above the text, clear of the tall bars on the left
    return fig


# ---------------------------------------------------------------------------------------------
# The trap: next(iter(loader)) once per "epoch"
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoopCount:
    """What a data loop fetched: batches (= iterations, if each is one update), samples, and
    how many different samples it touched, plus the epochs' worth of samples that makes."""

    loop: str
    epochs_asked: int
    iterations: int
    samples_seen: int
    distinct_samples: int
    n: int

    @property
    def passes(self) -> float:
        """Samples seen divided by N: the number of real epochs the loop amounts to."""
        return self.samples_seen / self.n

    def row(self) -> dict:
        return {
            "loop": self.loop,
            '"epochs" asked': self.epochs_asked,
            "iterations": self.iterations,
            "samples seen": self.samples_seen,
            "distinct samples": self.distinct_samples,
            "real epochs": round(self.passes, 3),
        }


def make_loader(
    data, batch_size: int, *, shuffle: bool = True, seed: int = 0
) -> torch.utils.data.DataLoader:
    """The source tutorial's loader: ``DataLoader(TensorDataset(X, y), batch_size, shuffle)``,
    with its own seeded generator (and no worker processes, which this machine cannot spare).

    >>> from gdlessons.data import quadratic_data
    >>> len(make_loader(quadratic_data(1000), 128))
    8
    """
    from torch.utils.data import DataLoader, TensorDataset

    X, y = as_tensors(data)
    batch_size = check_int("batch_size", batch_size, low=1, high=len(X))
    generator = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    return DataLoader(
        TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, generator=generator
    )


def next_iter_loop(loader, epochs: int) -> LoopCount:
    """The tutorial's loop, counted: each "epoch" does ``xb, yb = next(iter(loader))``, so it
    fetches ONE batch from a freshly shuffled pass and throws the rest of the pass away.

    >>> from gdlessons.data import quadratic_data
    >>> c = next_iter_loop(make_loader(quadratic_data(100), 10), epochs=5)
    >>> c.iterations, c.samples_seen, c.passes
    (5, 50, 0.5)
    """
    epochs = check_int("epochs", epochs, low=1)
    seen = []
    for _epoch in range(epochs):
        xb, _yb = next(iter(loader))  # the trap: one batch, not a pass
        seen.append(xb)
    return _count("next(iter(loader)) per epoch", epochs, seen, len(loader.dataset))


def full_pass_loop(loader, epochs: int) -> LoopCount:
    """What the loop should have been: ``for xb, yb in loader`` inside each epoch.

    >>> from gdlessons.data import quadratic_data
    >>> c = full_pass_loop(make_loader(quadratic_data(100), 32), epochs=2)
    >>> c.iterations, c.samples_seen, c.distinct_samples, c.passes
    (8, 200, 100, 2.0)
    """
    epochs = check_int("epochs", epochs, low=1)
    seen = []
    for _epoch in range(epochs):
        for xb, _yb in loader:
            seen.append(xb)
    return _count("for xb, yb in loader", epochs, seen, len(loader.dataset))


def _count(label: str, epochs: int, batches: list[torch.Tensor], n: int) -> LoopCount:
    everything = torch.cat(batches)
    distinct = len(torch.unique(everything.reshape(len(everything), -1), dim=0))
    return LoopCount(label, epochs, len(batches), len(everything), distinct, n)


def tutorial_runs(
    n: int = 1000, epochs: int = 1000, batch_sizes: Sequence[int] = (1000, 1, 128)
) -> list[dict]:
    """The source tutorial's three runs, counted: each "epoch" is one iteration of B samples,
    so the runs differ by a factor of up to ``n`` in the samples they saw.

    >>> [r["real epochs"] for r in tutorial_runs()]
    [1000.0, 1.0, 128.0]
    """
    check_sequence("batch_sizes", batch_sizes, item=lambda n, v: check_int(n, v, low=1))
    n = check_int("n", n, low=1)
    epochs = check_int("epochs", epochs, low=1)
    rows = []
    for B in batch_sizes:
        B = check_int("batch_size", B, low=1, high=n)
        rows.append(
            {
                "batch size": B,
                '"epochs"': epochs,
                "iterations done": epochs,
                "samples seen": epochs * B,
                "real epochs": epochs * B / n,
                "iterations in real epochs": epochs * iterations_per_epoch(n, B),
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# The explorer
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _cached_assignment(n, batch_size, epochs, drop_last, replacement, seed) -> BatchAssignment:
    return batch_assignment(
        n, batch_size, epochs, drop_last=drop_last, replacement=replacement, seed=seed
    )


def explorer_state(
    n: int, batch_size: int, epochs: int, drop_last: bool, replacement: bool, seed: int = 0
):
    """The pure core of the explorer: settings -> (assignment, counters). A batch size above
    N is drawn as N (one batch per epoch), as the sliders allow any pair (the batch-size
    slider's range does not follow the N slider); :func:`explorer_readout` says so under the
    picture.

    >>> a, c = explorer_state(20, 6, 3, False, False)
    >>> c["iterations per epoch"], c["iterations"], c["samples seen"], c["last batch size"]
    (4, 12, 60, 2)
    """
    n = check_int("n", n, low=1)
    batch_size = min(check_int("batch_size", batch_size, low=1), n)
    a = _cached_assignment(n, batch_size, epochs, bool(drop_last), bool(replacement), seed)
    return a, a.counts()


def explorer_readout(**state) -> str:
    """The counters under the explorer, three to a line so no line wraps in the output column."""
    settings = {"n", "batch_size", "epochs", "drop_last", "replacement"}
    if not settings <= set(state) or set(state) - settings - {"seed"}:
        raise TypeError(
            f"explorer_readout takes the explorer's settings {sorted(settings)} (and seed), "
            f"got {sorted(state)}"
        )
    _, c = explorer_state(**state)
    items = [f"{k}: {v}" for k, v in c.items()]
    lines = ["   ".join(items[i : i + 3]) for i in range(0, len(items), 3)]
    if state["drop_last"] and state["replacement"]:
        lines.append("(drop_last has no effect with replacement)")
    n, asked = state["n"], state["batch_size"]
    if asked > n:  # the sliders allow it: say what is drawn instead
        lines.append(
            f"B = {asked} > N = {n}: drawn as one batch of all {n} (train() refuses B > N)"
        )
        if state["drop_last"] and not state["replacement"]:
            lines.append("(with drop_last a DataLoader would give no batch at all)")
    return "\n".join(lines)


def explorer_figure(
    n: int, batch_size: int, epochs: int, drop_last: bool, replacement: bool
) -> Figure:
    """The explorer's picture for one slider state (pure: settings in, a fresh figure out); a
    batch size above N is named in its title, as drawn as N."""
    a, _ = explorer_state(n, batch_size, epochs, drop_last, replacement)
    return _AssignmentPicture().show(a, asked=batch_size)


def batch_explorer(
    n: int = 20,
    batch_size: int = 6,
    epochs: int = 3,
    drop_last: bool = False,
    replacement: bool = False,
):
    """Sliders for N, batch size and epochs, toggles for ``drop_last`` and replacement, over
    the picture :func:`explorer_figure` draws; the counters are shown under the picture.

    One figure is kept (:class:`_AssignmentPicture`): a slider move redraws only the cells, the
    frames, the ticks that follow N and B and the title (animated artists, see
    :mod:`gdlessons.display.redraw`); the rest, which depends only on the number of epochs
    (the figure's height, the epoch rows' ticks) and on replacement (the x axis' label), is
    drawn once per pair of them: at most 12 backgrounds, none laid out again."""
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer

    style = {"description_width": "110px"}
    controls = {
        "n": w.IntSlider(value=n, min=4, max=200, description="samples N", style=style),
        "batch_size": w.IntSlider(
            value=batch_size, min=1, max=64, description="batch size B", style=style
        ),
        "epochs": w.IntSlider(value=epochs, min=1, max=6, description="epochs", style=style),
        "drop_last": w.Checkbox(value=drop_last, description="drop_last"),
        "replacement": w.Checkbox(value=replacement, description="draw with replacement"),
    }
    start = dict(
        n=n, batch_size=batch_size, epochs=epochs, drop_last=drop_last, replacement=replacement
    )
    picture = _AssignmentPicture(animated=True)

    def draw(n: int, batch_size: int, epochs: int, drop_last: bool, replacement: bool) -> Figure:
        a, _ = explorer_state(n, batch_size, epochs, drop_last, replacement)
        return picture.show(a, asked=batch_size)

    return Explorer(
        draw,
        controls,
        title="Which sample lands in which batch",
        readout=explorer_readout,
        background=lambda n, batch_size, epochs, drop_last, replacement: picture.background(
            explorer_state(n, batch_size, epochs, drop_last, replacement)[0]
        ),
        start=start,
    )


EXPLORERS = {"ch02-batch-explorer": batch_explorer}
