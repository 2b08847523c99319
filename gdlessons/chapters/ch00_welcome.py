"""Parameters vs hyperparameters, and where a network's first parameters come from.

PyTorch draws a layer's starting weights in ``reset_parameters()``; the course compares that
default with He (Kaiming) initialisation, uniform and normal, against their formulas.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from gdlessons._validate import check_choice, check_instance, check_int, check_sequence
from gdlessons.display.plots import line_style, new_axes
from gdlessons.models import INITS, initialise

SCHEME_LABELS = {
    "default": "PyTorch default (reset_parameters)",
    "kaiming_uniform": "kaiming_uniform_ (ReLU)",
    "kaiming_normal": "kaiming_normal_ (ReLU)",
}
FAN_INS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def parameter_table(model: nn.Module) -> list[dict]:
    """One row per learned tensor: its name, shape and number of scalars.

    >>> from gdlessons.models import LinearModel
    >>> parameter_table(LinearModel())
    [{'name': 'w', 'shape': '()', 'count': 1}, {'name': 'b', 'shape': '()', 'count': 1}]
    """
    check_instance("model", model, nn.Module, "a torch.nn.Module")
    return [
        {"name": name, "shape": str(tuple(p.shape)).replace(",)", ")"), "count": p.numel()}
        for name, p in model.named_parameters()
    ]


def theory(scheme: str, fan_in: int) -> dict[str, float]:
    """The weight distribution each scheme promises for a layer with ``fan_in`` inputs.

    Default: U(-1/√fan_in, 1/√fan_in). He/Kaiming for ReLU: std √(2/fan_in), the uniform one on
    ±√(6/fan_in). ``bound`` is ``inf`` for the normal distribution.

    >>> round(theory("kaiming_normal", 64)["std"], 4), round(theory("default", 100)["bound"], 4)
    (0.1768, 0.1)
    """
    check_choice("scheme", scheme, INITS)
    fan_in = check_int("fan_in", fan_in, low=1)
    if scheme == "default":
        bound = 1 / math.sqrt(fan_in)
        return {"std": bound / math.sqrt(3), "bound": bound}
    std = math.sqrt(2 / fan_in)
    return {"std": std, "bound": math.sqrt(3) * std if scheme == "kaiming_uniform" else math.inf}


@lru_cache(maxsize=64)
def init_weights(scheme: str, fan_in: int, fan_out: int = 512, seed: int = 0) -> np.ndarray:
    """The weights of a fresh ``nn.Linear(fan_in, fan_out)`` under ``scheme``, flattened.

    Cached, so a slider that revisits a setting only redraws.

    >>> init_weights("default", 4, 8).shape
    (32,)
    """
    check_choice("scheme", scheme, INITS)
    check_int("fan_out", fan_out, low=1)
    check_int("seed", seed, low=0)
    layer = initialise(nn.Linear(check_int("fan_in", fan_in, low=1), fan_out), scheme, seed=seed)
    return layer.weight.detach().numpy().ravel().copy()


@lru_cache(maxsize=64)
def _weight_histogram(scheme: str, fan_in: int, fan_out: int, seed: int):
    """Density per bin, bin edges and std of the starting weights: binned once per setting, so
    a slider move draws 60 bars instead of binning up to half a million weights."""
    w = init_weights(scheme, fan_in, fan_out, seed)
    limit = _weight_limit(fan_in, fan_out, seed)
    width = 3.5 * math.sqrt(2 / fan_in) / 30
    bins = width * np.arange(-round(limit / width), round(limit / width) + 1)
    density, bins = np.histogram(w, bins=bins, density=True)
    return density, bins, float(w.std())


@lru_cache(maxsize=64)
def _weight_limit(fan_in: int, fan_out: int, seed: int) -> float:
    """How far the histograms reach on each side of 0: 3.5 He standard deviations in 60 bins,
    and as many bins more as it takes to hold the largest weight of any scheme (the normal's
    tails reach further), so every weight is drawn and the schemes share their bins."""
    width = 3.5 * math.sqrt(2 / fan_in) / 30
    largest = max(float(np.abs(init_weights(s, fan_in, fan_out, seed)).max()) for s in INITS)
    return width * max(30, math.ceil(largest / width))


def init_histograms(
    fan_in: int = 32,
    schemes: tuple[str, ...] = INITS,
    *,
    ax=None,
    fan_out: int = 512,
    seed: int = 0,
) -> Figure:
    """Histograms of the starting weights under each scheme, with each formula's std marked.

    >>> init_histograms(16).axes[0].get_xlabel()
    'weight value'
    """
    fan_in, schemes, fan_out, seed = _check_init_args(fan_in, schemes, fan_out, seed)
    fig, ax = new_axes(ax, figsize=(6.4, 4.8))
    limit = _weight_limit(fan_in, fan_out, seed)
    for scheme, style in zip(schemes, itertools.cycle(["-", "--", ":", "-."])):
        density, bins, measured = _weight_histogram(scheme, fan_in, fan_out, seed)
        std = theory(scheme, fan_in)["std"]
        ax.hist(
            bins[:-1], bins=bins, weights=density, histtype="step", lw=1.5, ls=style,
            label=f"{SCHEME_LABELS[scheme]}: std {measured:.3f} (formula {std:.3f})",
        )  # fmt: skip
    ax.set_xlim(-limit, limit)
    ax.set_xlabel("weight value")
    ax.set_ylabel("density")
    ax.set_title(f"Starting weights of nn.Linear({fan_in}, {fan_out}) by initialisation")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16))  # below: it covers no bar
    return fig


def init_summary(
    fan_in: int, schemes: tuple[str, ...] = INITS, *, fan_out: int = 512, seed: int = 0
) -> list[dict]:
    """Measured vs promised std and range of the starting weights, one row per scheme."""
    fan_in, schemes, fan_out, seed = _check_init_args(fan_in, schemes, fan_out, seed)
    return [dict(_summary_row(scheme, fan_in, fan_out, seed)) for scheme in schemes]


def _check_init_args(fan_in, schemes, fan_out, seed) -> tuple:
    """The arguments shared by the histogram and the summary, checked before the caches see
    them (a list of schemes is fine: each scheme is cached on its own)."""
    schemes = check_sequence("schemes", schemes, item=lambda n, v: check_choice(n, v, INITS))
    return (
        check_int("fan_in", fan_in, low=1),
        schemes,
        check_int("fan_out", fan_out, low=1),
        check_int("seed", seed, low=0),
    )


@lru_cache(maxsize=64)
def _summary_row(scheme: str, fan_in: int, fan_out: int, seed: int) -> tuple:
    # Cached: the explorer's readout asks again on every slider move.
    w = init_weights(scheme, fan_in, fan_out, seed)
    promised = theory(scheme, fan_in)
    return (
        ("scheme", scheme),
        ("std (measured)", round(float(w.std()), 4)),
        ("std (formula)", round(promised["std"], 4)),
        ("largest |w|", round(float(np.abs(w).max()), 4)),
        ("bound (formula)", round(promised["bound"], 4)),
    )


@torch.no_grad()
def activation_spread(
    scheme: str, *, depth: int = 10, width: int = 256, n: int = 512, seed: int = 0
) -> list[float]:
    """Std of the activations after each ReLU layer of a deep, untrained MLP: He initialisation
    keeps it steady, a smaller scale lets the signal fade layer by layer.

    >>> len(activation_spread("kaiming_normal", depth=3, width=8, n=16))
    3
    """
    check_choice("scheme", scheme, INITS)
    depth = check_int("depth", depth, low=1)
    width = check_int("width", width, low=1)
    n = check_int("n", n, low=2)  # a std needs two samples
    seed = check_int("seed", seed, low=0)
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(n, width, generator=gen)
    stds = []
    for layer_index in range(depth):
        # seeds distinct from the input's: the same seed would make the first layer's weights a
        # scaled copy of the input rows, and inflate its output
        layer = initialise(nn.Linear(width, width), scheme, seed=seed + 1 + layer_index)
        h = torch.relu(layer(h))
        stds.append(float(h.std()))
    return stds


def activation_spread_plot(schemes: tuple[str, ...] = INITS, *, depth: int = 10, ax=None) -> Figure:
    """Activation std per layer for each scheme (log scale)."""
    schemes = check_sequence("schemes", schemes, item=lambda n, v: check_choice(n, v, INITS))
    depth = check_int("depth", depth, low=1)
    fig, ax = new_axes(ax)
    for i, scheme in enumerate(schemes):
        ax.plot(
            range(1, depth + 1),
            activation_spread(scheme, depth=depth),
            **line_style(i),
            label=SCHEME_LABELS[scheme],
        )
    ax.set_yscale("log")
    ax.set_xlabel("layer (depth)")
    ax.set_ylabel("std of activations after ReLU")
    ax.set_title("How the starting weights' scale carries a signal through 10 layers")
    ax.legend()
    return fig


def init_explorer(fan_in: int = 32):
    """Sliders: fan-in (powers of two, starting at ``fan_in``) and which schemes to show; the
    histogram redraws.

    One figure is kept (see :mod:`gdlessons.display.redraw`): the three histograms and their
    legends are animated artists; the axes and the title, which follow the fan-in, are the
    still part, drawn once per fan-in (the background key). Every histogram is binned up front.

    >>> init_explorer(fan_in=3)
    Traceback (most recent call last):
    ...
    ValueError: fan_in must be one of [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], got 3
    >>> ex = init_explorer(); ex.png(fan_in=8, scheme="default") == ex.png(fan_in=8, scheme="default")
    True
    """
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer

    if fan_in not in FAN_INS:
        raise ValueError(f"fan_in must be one of {list(FAN_INS)}, got {fan_in!r}")
    fan_out, seed = 512, 0
    bins = {(s, f): _weight_histogram(s, f, fan_out, seed) for s in INITS for f in FAN_INS}
    draw, fig = _init_figure(bins, fan_out, seed)

    def readout(fan_in, scheme):
        shown = INITS if scheme == "all" else (scheme,)
        return "\n".join(
            f"{s:16s} std measured {r['std (measured)']:.4f}, formula {r['std (formula)']:.4f}"
            for s, r in zip(shown, init_summary(fan_in, shown))
        )

    controls = {
        "fan_in": w.SelectionSlider(options=FAN_INS, value=fan_in, description="fan-in"),
        "scheme": w.Dropdown(
            options=[("all three", "all")] + [(SCHEME_LABELS[s], s) for s in INITS],
            value="all",
            description="scheme",
        ),
    }
    return Explorer(
        draw,
        controls,
        title="Initialisation explorer",
        readout=readout,
        background=lambda fan_in, **_: fan_in,  # the axes' ranges, ticks and title
    )


def _init_figure(bins: dict, fan_out: int, seed: int):
    """The explorer's one figure, as :func:`init_histograms` draws it, and ``draw(fan_in,
    scheme)`` that moves it to a state. The legend hangs under the axes in a strip of its own
    (three entries high), so the layout does not depend on how many schemes are shown."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.legend_handler import HandlerPatch
    from matplotlib.patches import StepPatch
    from matplotlib.transforms import blended_transform_factory

    fig, ax = new_axes(figsize=(6.4, 4.8))
    steps = {}
    for scheme, style in zip(INITS, ["-", "--", ":", "-."]):
        density, edges, _ = bins[(scheme, FAN_INS[0])]
        steps[scheme] = ax.stairs(density, edges, lw=1.5, ls=style, animated=True)
    ax.set_xlabel("weight value")
    ax.set_ylabel("density")
    # One legend per choice of the dropdown, all animated: only the chosen one is shown.
    under = blended_transform_factory(ax.transAxes, fig.transFigure)  # x: axes, y: figure
    legends = {}
    for choice in ("all", *INITS):
        shown = INITS if choice == "all" else (choice,)
        legends[choice] = fig.legend(
            [steps[s] for s in shown], [SCHEME_LABELS[s] for s in shown],
            loc="upper center", bbox_transform=under,
            handler_map={StepPatch: HandlerPatch()},  # an outlined box, as ax.hist's has
        )  # fmt: skip
        legends[choice].set_animated(True)
    renderer = FigureCanvasAgg(fig).get_renderer()  # to measure the legend of all three
    strip = legends["all"].get_window_extent(renderer).height / fig.bbox.height + 0.02
    for legend in legends.values():
        legend.set_bbox_to_anchor((0.5, strip), transform=under)
    fig.get_layout_engine().set(rect=(0, strip, 1, 1 - strip))
    peaks = {f: max(bins[(s, f)][0].max() for s in INITS) for f in FAN_INS}

    def draw(fan_in: int, scheme: str) -> Figure:
        if fan_in not in FAN_INS:
            raise ValueError(f"fan_in must be one of {list(FAN_INS)}, got {fan_in!r}")
        shown = INITS if scheme == "all" else (check_choice("scheme", scheme, INITS),)
        limit = _weight_limit(fan_in, fan_out, seed)
        ax.set_xlim(-limit, limit)
        ax.set_ylim(0, 1.05 * peaks[fan_in])  # every scheme's peak: the dropdown keeps the scale
        ax.set_title(f"Starting weights of nn.Linear({fan_in}, {fan_out}) by initialisation")
        for s, step in steps.items():
            step.set_data(*bins[(s, fan_in)][:2])
            step.set_visible(s in shown)
        for choice, legend in legends.items():
            legend.set_visible(choice == scheme)
        for s, text in zip(shown, legends[scheme].get_texts()):
            measured, std = bins[(s, fan_in)][2], theory(s, fan_in)["std"]
            text.set_text(f"{SCHEME_LABELS[s]}: std {measured:.3f} (formula {std:.3f})")
        return fig

    # Laid out once for every fan-in (its tick labels set the margins) and then kept: a new
    # fan-in draws its axes without running the layout engine again.
    engine, boxes = fig.get_layout_engine(), []
    for f in FAN_INS:
        draw(f, "all")
        engine.execute(fig)
        boxes.append(ax.get_position(original=True).get_points())
    (x0, y0), (x1, y1) = np.max(boxes, axis=0)[0], np.min(boxes, axis=0)[1]
    with rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)
    ax.set_position([x0, y0, x1 - x0, y1 - y0])
    return draw, fig


EXPLORERS = {"ch00-init-explorer": init_explorer}
