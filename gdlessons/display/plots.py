"""Plots of training runs. Each takes results and an optional ``ax`` and returns the figure;
none calls ``plt.show()``. Axis words follow the course: epoch, iteration, samples seen."""

from __future__ import annotations

import io

from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import AutoLocator, MaxNLocator

from gdlessons._validate import (
    check_choice,
    check_float,
    check_instance,
    check_int,
)
from gdlessons.display.sizes import DENSITY, INCH_PX

X_AXES = {
    "epoch": "epoch",
    "iteration": "iteration (optimizer updates)",
    "samples": "samples seen",
    "time": "wall-clock training time (s)",
}


LINE_STYLES = (
    ("-", "o"),
    ("--", "s"),
    (":", "^"),
    ("-.", "D"),
    ((0, (5, 1)), "v"),
    ((0, (1, 3)), "P"),
)
"""Line style and marker per series: lines that differ by more than colour stay apart for
colour-blind readers and in greyscale."""


def line_style(i: int, *, markevery: int | None = None) -> dict:
    """The ``i``-th series' line style and marker (cycling), as ``plot`` keywords; ``markevery``
    thins the markers of a long line.

    >>> line_style(1), line_style(7)["marker"]
    ({'ls': '--', 'marker': 's'}, 's')
    """
    check_int("i", i, low=0)
    if markevery is not None:
        check_int("markevery", markevery, low=1)
    ls, marker = LINE_STYLES[i % len(LINE_STYLES)]
    style = {"ls": ls, "marker": marker}
    if markevery:
        style["markevery"] = markevery
    return style


def new_axes(ax: Axes | None = None, *, figsize=(6.4, 4.0), ncols: int = 1):
    """Return ``(figure, ax)``: the given ``ax`` and its figure, or a fresh figure that is not
    registered with pyplot (so it never shows twice and never leaks)."""
    if ax is not None:
        check_instance("ax", ax, Axes, "a matplotlib Axes")
    check_int("ncols", ncols, low=1)
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(1, ncols)
    return fig, axes


def new_figure(fig: Figure | SubFigure | None = None, *, figsize=(6.4, 4.0)):
    """The given figure or subfigure to draw a multi-panel picture into (so a caller can place
    it beside others), or a fresh constrained-layout figure not registered with pyplot.

    >>> outer = Figure(layout="constrained"); left, right = outer.subfigures(1, 2)
    >>> new_figure(left) is left, new_figure().get_layout_engine() is not None
    (True, True)
    """
    if fig is not None:
        check_instance("fig", fig, (Figure, SubFigure), "a matplotlib Figure or SubFigure")
    return fig if fig is not None else Figure(figsize=figsize, layout="constrained")


def loss_curve(
    history,
    *,
    x: str = "epoch",
    ax: Axes | None = None,
    label: str | None = None,
    validation: bool = True,
    logy: bool = True,
    title: str | None = None,
    **style,
) -> Figure:
    """Draw a run's loss against ``x`` (``"epoch"``, ``"iteration"``, ``"samples"`` or ``"time"``).

    Per epoch: the training loss on all the data at the epoch's end when the run recorded it
    (``train(hooks=[FullTrainLoss()])``), like for like with the validation loss measured at the same
    moment; otherwise the running mean of the epoch's batch losses, taken while the weights
    moved (about half an epoch behind), and the legend says which. Otherwise the per-iteration
    batch loss. A diverged run is marked where it stopped.
    """
    check_choice("x", x, X_AXES)
    from gdlessons.history import History

    if not isinstance(history, History):
        raise TypeError(
            f"history must be a History (what train() returns), got {type(history).__name__}"
        )
    fig, ax = new_axes(ax)
    label = label or _default_label(history)
    if x == "epoch":
        full = history.epochs.full_train_loss
        if full and all(v is not None for v in full):
            train_loss, which = full, "train (all data, epoch end)"
        else:
            train_loss, which = history.epochs.train_loss, "train (running mean over the epoch)"
        line = ax.plot(history.epochs.epoch, train_loss, label=f"{label} {which}", **style)[0]
        vals = history.epochs.val_loss
        if validation and vals and vals[0] is not None:
            ax.plot(
                history.epochs.epoch,
                vals,
                "--",
                color=line.get_color(),
                label=f"{label} validation",
            )
    else:
        its = history.iterations
        xs = {"iteration": its.iteration, "samples": its.samples_seen, "time": its.time}[x]
        line = ax.plot(xs, its.loss, label=label, **style)[0]
    if history.diverged:
        xs_last = _last_x(history, x)
        ys_last = history.iterations.loss[-1] if history.iterations.loss else 1.0
        ax.plot([xs_last], [ys_last], "x", color=line.get_color(), markersize=10, mew=2)
        ax.annotate(
            f"diverged at iteration {history.diverged_at}",
            (xs_last, ys_last), textcoords="offset points", xytext=(5, 5), color=line.get_color(), fontsize=9,
        )  # fmt: skip
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(X_AXES[x])
    ax.set_ylabel("loss")
    ax.set_title(
        title
        or _default_title(
            x,
            validated=x == "epoch"
            and validation
            and bool(history.epochs.val_loss)
            and history.epochs.val_loss[0] is not None,
        )
    )
    ax.legend()
    return fig


def whole_number_ticks(fig: Figure) -> Figure:
    """Tick every x axis labelled "epoch…" or "iteration…" at whole numbers only (there is no
    epoch 2.5), unless its ticks were chosen on purpose (a log axis, fixed ticks); every figure
    the course renders or an explorer draws goes through it.

    >>> fig, ax = new_axes(); _ = ax.plot([1, 2], [1, 0]); _ = ax.set_xlabel("epoch")
    >>> [float(t) for t in whole_number_ticks(fig).axes[0].get_xticks() if 1 <= t <= 2]
    [1.0, 2.0]
    """
    check_instance("fig", fig, (Figure, SubFigure), "a matplotlib Figure or SubFigure")
    for ax in fig.get_axes():
        axis = ax.xaxis
        counted = ax.get_xlabel().startswith(("epoch", "iteration"))
        if counted and type(axis.get_major_locator()) is AutoLocator:
            axis.set_major_locator(MaxNLocator(integer=True))
    return fig


def figure_png(fig: Figure, *, density: float = DENSITY) -> bytes:
    """Render ``fig`` to PNG bytes on an Agg canvas, ``density`` pixels per CSS pixel.

    >>> from PIL import Image
    >>> fig, _ = new_axes(figsize=(5, 3)); Image.open(io.BytesIO(figure_png(fig))).size
    (960, 576)
    """
    check_instance("fig", fig, (Figure, SubFigure), "a matplotlib Figure or SubFigure")
    check_float("density", density, low=0.0, low_open=True)
    buffer = io.BytesIO()
    whole_number_ticks(fig)
    fig.savefig(buffer, format="png", dpi=INCH_PX * density)
    return buffer.getvalue()


def describe(fig: Figure) -> str:
    """A figure's alt text: its title, then each panel's title and what its axes show, led by
    where the panel sits when there are several ("top left: ..."), so a reader who cannot see
    the picture can follow a text that says "the right panel".

    >>> fig, ax = new_axes(); _ = ax.set(title="Loss", xlabel="epoch", ylabel="MSE")
    >>> describe(fig)
    'Loss (x: epoch; y: MSE)'
    >>> fig = Figure(figsize=(6, 3)); axes = fig.subplots(1, 2); _ = axes[1].set_title("Rate")
    >>> describe(fig)
    'right: Rate'
    """
    check_instance("fig", fig, (Figure, SubFigure), "a matplotlib Figure or SubFigure")
    heading = fig._suptitle.get_text().strip() if fig._suptitle is not None else ""
    places = panel_places(fig)
    panels_ = []
    for ax in fig.get_axes():
        axes = "; ".join(f"{name}: {label}" for name, label in
                         (("x", ax.get_xlabel()), ("y", ax.get_ylabel())) if label.strip())  # fmt: skip
        title = ax.get_title().strip()
        if title or axes:
            text = f"{title} ({axes})" if title and axes else title or f"({axes})"
            panels_.append(f"{places[ax]}: {text}" if places.get(ax) else text)
    return ". ".join(filter(None, [heading, ", ".join(panels_)])) or "a figure"


_COLUMNS = {2: ("left", "right"), 3: ("left", "middle", "right")}
_ROWS = {2: ("top", "bottom"), 3: ("top", "middle", "bottom")}


def panel_places(fig: Figure) -> dict:
    """Where each panel of ``fig`` sits, in words: "left", "bottom", "top right" ... by its
    place among the figure's rows and columns of panels (colorbars are not panels). A panel
    that spans the figure's width gets no column word, one that spans its height no row word;
    the only panel of a figure gets no place at all. Beyond three rows or columns the words
    would mislead, so they count: "row 2 of 4".

    >>> fig = Figure(); grid = fig.add_gridspec(2, 2)
    >>> top = fig.add_subplot(grid[0, :]); low = fig.add_subplot(grid[1, 0])
    >>> _ = fig.add_subplot(grid[1, 1]); panel_places(fig)[top], panel_places(fig)[low]
    ('top', 'bottom left')
    >>> fig = Figure(); upper, lower = fig.subfigures(2, 1)  # places across subfigures
    >>> _ = upper.subplots(1, 2); below = lower.subplots()
    >>> sorted(panel_places(fig).values())
    ['bottom', 'top left', 'top right']
    """
    check_instance("fig", fig, (Figure, SubFigure), "a matplotlib Figure or SubFigure")
    shown = [
        ax
        for ax in fig.get_axes()
        if ax.get_visible() and ax.axison and not hasattr(ax, "_colorbar")
    ]
    if len(shown) < 2:
        return {}
    # in display units: a subfigure's axes give their place within the subfigure otherwise
    boxes = {ax: ax.get_position().transformed(ax.figure.transSubfigure) for ax in shown}
    left = min(b.x0 for b in boxes.values())
    width = max(b.x1 for b in boxes.values()) - left
    bottom = min(b.y0 for b in boxes.values())
    height = max(b.y1 for b in boxes.values()) - bottom

    def ranks(centres: list[float], extent: float) -> list[float]:
        """The distinct places along one direction: centres closer than a tenth of the
        extent are one column (or row)."""
        found: list[float] = []
        for c in sorted(centres):
            if not found or c - found[-1] > 0.1 * extent:
                found.append(c)
        return found

    def word(centre: float, places: list[float], names: dict, kind: str) -> str:
        if len(places) < 2:
            return ""
        k = min(range(len(places)), key=lambda i: abs(places[i] - centre))
        if len(places) in names:
            return names[len(places)][k]
        return f"{kind} {k + 1} of {len(places)}"

    narrow = {ax: b.width < 0.75 * width for ax, b in boxes.items()}
    short = {ax: b.height < 0.75 * height for ax, b in boxes.items()}
    columns = ranks([(b.x0 + b.x1) / 2 for ax, b in boxes.items() if narrow[ax]], width)
    # rows counted from the top
    rows = ranks([-(b.y0 + b.y1) / 2 for ax, b in boxes.items() if short[ax]], height)
    places = {}
    for ax, b in boxes.items():
        row = word(-(b.y0 + b.y1) / 2, rows, _ROWS, "row") if short[ax] else ""
        column = word((b.x0 + b.x1) / 2, columns, _COLUMNS, "column") if narrow[ax] else ""
        places[ax] = " ".join(filter(None, [row, column]))
    return places


def shown_size(fig: Figure) -> dict[str, int]:
    """The CSS size a figure is shown at, whatever the density it is stored at: the ``width``
    and ``height`` a notebook's image metadata (or an ``<img>``) gives.

    >>> shown_size(new_axes(figsize=(5, 3))[0])
    {'width': 480, 'height': 288}
    """
    check_instance("fig", fig, (Figure, SubFigure), "a matplotlib Figure or SubFigure")
    width, height = fig.get_size_inches()
    return {"width": round(width * INCH_PX), "height": round(height * INCH_PX)}


def _last_x(history, x: str):
    its = history.iterations
    if x == "epoch":
        n_per_epoch = history.config["iterations_per_epoch"]
        return (history.diverged_at - 1) / n_per_epoch
    if not its.iteration:
        return 0
    return {"iteration": its.iteration, "samples": its.samples_seen, "time": its.time}[x][-1]


def _default_title(x: str, *, validated: bool) -> str:
    """Say which loss is drawn: per epoch it is the mean of that epoch's batch losses."""
    if x == "epoch":
        return "Loss per epoch" if validated else "Mean batch loss per epoch"
    return {"iteration": "Batch loss per iteration", "samples": "Batch loss per sample seen",
            "time": "Batch loss over training time"}[x]  # fmt: skip


def _default_label(history) -> str:
    c = history.config
    return f"B={c['batch_size']}, lr={c['lr']:g}"
