"""One call at the top of every notebook: seeds, threads and plot style, nothing at import time."""

from __future__ import annotations

import random

import numpy as np
import torch

from gdlessons._validate import check_int
from gdlessons.display.sizes import DENSITY, INCH_PX, MIN_FONT_PT

PLOT_STYLE = {
    "figure.dpi": INCH_PX,
    "savefig.dpi": INCH_PX * DENSITY,
    "figure.figsize": (6.4, 4.0),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": MIN_FONT_PT,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.frameon": False,
}


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators.

    >>> seed_everything(0); a = torch.rand(1); seed_everything(0); bool(a == torch.rand(1))
    True
    """
    seed = check_int("seed", seed, low=0, high=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(seed: int = 0, *, threads: int = 1, style: bool = True) -> dict:
    """Prepare a notebook: seed every generator, use ``threads`` CPU threads, set the plot style.

    One thread is faster for this course's small models on a shared 2-core machine and keeps
    JupyterLab responsive. Returns what it set, so the notebook shows it.

    >>> setup(seed=1)["seed"]
    1
    """
    threads = check_int("threads", threads, low=1)
    seed_everything(seed)
    torch.set_num_threads(threads)
    if style:
        import matplotlib as mpl

        mpl.rcParams.update(PLOT_STYLE)
    show_figures_inline()
    return {"seed": seed, "threads": torch.get_num_threads(), "torch": torch.__version__}


def show_figures_inline() -> bool:
    """In a notebook, display any returned matplotlib ``Figure`` as a PNG.

    The course's plots build figures without pyplot (so nothing shows twice or leaks); this
    tells IPython how to show them. Returns False outside IPython, where it does nothing.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover (IPython ships with the course)
        return False
    shell = get_ipython()
    if shell is None:
        return False
    from matplotlib.figure import Figure

    from gdlessons.display.plots import describe, figure_png, shown_size
    from gdlessons.display.sizes import check
    from gdlessons.settings import rendering

    def png_at_shown_size(fig: Figure):
        png = figure_png(fig)
        if rendering():  # a render (papermill, the tests, the site) holds figures to the sizes
            check(fig)
        # IPython's (data, metadata): the CSS size, and alt text the course's site shows
        return png, {**shown_size(fig), "alt": describe(fig)}

    shell.display_formatter.formatters["image/png"].for_type(Figure, png_at_shown_size)
    return True
