"""An explorer's slider states drawn ahead of time, for pages that have no Python kernel.

Every explorer is a pure function from slider values to a figure, so its states can be drawn
once and shown later by a page that swaps images as a slider moves (the course's static site,
``make book``). :func:`export_frames` draws each state with the explorer's own drawing code and
writes one picture (lossless WebP) per distinct state picture plus a manifest: each control's kind, label and value labels,
and per state the picture's file and the readout text.

Which states: every value each control allows, when the whole grid holds at most ``max_frames``
states. A larger grid is thinned along its longest control first, keeping every other value and
always its two ends and its initial value, until the grid fits; the manifest says so
(``"subset": true``) and records the full grid's size.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gdlessons._validate import check_int
from gdlessons.display.explorer import Explorer
from gdlessons.settings import frames_max

#: Default cap on the states drawn per explorer; ``GDLESSONS_FRAMES_MAX`` overrides it.
MAX_FRAMES = 200
#: Pixels per CSS pixel of the frames: sharper than 1 on high-density screens while a chapter's
#: frames stay within the site's 20 MB a page (the notebook's own picture is at DENSITY).
FRAME_DENSITY = 1.25
#: Lossless WebP: the same pixels as PNG in about 0.4 of the bytes (chapter 01's frames, 84 → 32
#: KB each), encoded faster than PNG at level 6; every current browser shows it.
FRAME_FORMAT = "webp"


def control_kind(control) -> str:
    """How a page shows ``control``: ``"slider"``, ``"checkbox"`` or ``"dropdown"``."""
    if not hasattr(control, "value"):
        raise TypeError(f"control must be an ipywidgets value widget, got {type(control).__name__}")
    if isinstance(control.value, bool) and not getattr(control, "options", None):
        return "checkbox"
    # options without a readout: Dropdown, ToggleButtons, RadioButtons, Select
    if hasattr(control, "options") and not hasattr(control, "readout"):
        return "dropdown"
    return "slider"


def control_values(control) -> tuple[list, list[str]]:
    """Every value ``control`` allows, and the label a student sees for each.

    >>> import ipywidgets as w
    >>> control_values(w.IntSlider(value=2, min=1, max=4))
    ([1, 2, 3, 4], ['1', '2', '3', '4'])
    >>> control_values(w.FloatLogSlider(value=0.1, base=10, min=-2, max=0, step=1))[1]
    ['0.01', '0.1', '1']
    >>> control_values(w.Dropdown(options=[("plain", "sgd"), ("Adam", "adam")]))
    (['sgd', 'adam'], ['plain', 'Adam'])
    """
    if not hasattr(control, "value"):
        raise TypeError(f"control must be an ipywidgets value widget, got {type(control).__name__}")
    options = getattr(control, "options", None)
    if options:
        pairs = [o if isinstance(o, tuple) else (str(o), o) for o in options]
        return [v for _, v in pairs], [str(label) for label, _ in pairs]
    if isinstance(control.value, bool):
        return [False, True], ["off", "on"]
    lo, hi, step = control.min, control.max, control.step
    count = int(math.floor((hi - lo) / step + 1e-9)) + 1
    raw = [lo + i * step for i in range(count)]
    if hasattr(control, "base"):  # a log slider moves its exponent
        values = [float(control.base**e) for e in raw]
    elif isinstance(control.value, int):
        values = [int(round(v)) for v in raw]
    else:
        values = [round(float(v), 12) for v in raw]
    return values, [_label(control, v) for v in values]


def _label(control, value) -> str:
    spec = getattr(control, "readout_format", "") or ""
    if hasattr(control, "base"):
        return f"{value:.3g}"
    try:
        return format(value, spec)
    except (ValueError, TypeError):
        return str(value)


def grid(explorer, max_frames: int = MAX_FRAMES) -> tuple[list[dict], int]:
    """Per control: its name, kind, label, the values drawn and their labels, and the index of
    its initial value; and the number of states in the full grid.

    >>> import ipywidgets as w
    >>> from gdlessons.display.plots import new_axes
    >>> ex = Explorer(lambda k: new_axes()[0], {"k": w.IntSlider(value=3, min=0, max=20)})
    >>> controls, full = grid(ex, max_frames=8)
    >>> full, controls[0]["labels"], controls[0]["initial"]
    (21, ['0', '3', '6', '10', '14', '18', '20'], 1)
    """
    if not isinstance(explorer, Explorer):
        raise TypeError(f"explorer must be an Explorer, got {type(explorer).__name__}")
    max_frames = check_int("max_frames", max_frames, low=1)
    controls = []
    for name, control in explorer.controls.items():
        values, labels = control_values(control)
        start = explorer.initial[name]
        if start not in values and isinstance(start, (int, float)) and len(values) > 1:
            # a start value off the slider's step grid (a log slider's 0.45): draw it too, so
            # the page starts at the picture the chapter shows
            at = sum(v < start for v in values)
            values.insert(at, start)
            labels.insert(at, _label(control, start))
        controls.append(
            {
                "name": name,
                "kind": control_kind(control),
                "label": getattr(control, "description", "") or name,
                "values": values,
                "labels": labels,
                "initial": _nearest(values, explorer.initial[name]),
                "all": len(values),  # before thinning: the page says how many it shows
            }
        )
    full = math.prod(len(c["values"]) for c in controls)
    while math.prod(len(c["values"]) for c in controls) > max_frames:
        # thin the longest control that can still shrink (ends and start value always stay)
        for control in sorted(controls, key=lambda c: -len(c["values"])):
            if _thin(control):
                break
        else:
            break
    return controls, full


def _nearest(values: list, value) -> int:
    if value in values:
        return values.index(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return min(range(len(values)), key=lambda i: abs(values[i] - value))
    raise ValueError(f"the control's value {value!r} is not among its options {values!r}")


def _thin(control: dict) -> bool:
    """Keep every other value, the two ends and the initial value; whether any was dropped."""
    n = len(control["values"])
    keep = sorted(set(range(0, n, 2)) | {n - 1, control["initial"]})
    if len(keep) == n:
        keep = sorted({0, control["initial"], n - 1})
        if len(keep) == n:
            return False
    control["initial"] = keep.index(control["initial"])
    control["values"] = [control["values"][i] for i in keep]
    control["labels"] = [control["labels"][i] for i in keep]
    return True


def export_frames(explorer, folder: Path, url: str, max_frames: int | None = None) -> dict:
    """Draw every state of ``explorer``'s grid into ``folder`` (one PNG per distinct picture,
    named by its content) and return the manifest a page needs: controls and, per state
    (``"i,j,..."``, the value indices), the picture's address ``url/<name>.png`` and readout."""
    if not isinstance(explorer, Explorer):
        raise TypeError(f"explorer must be an Explorer, got {type(explorer).__name__}")
    if max_frames is not None:
        check_int("max_frames", max_frames, low=1)
    if max_frames is None:
        max_frames = frames_max()
        max_frames = MAX_FRAMES if max_frames is None else max_frames
    controls, full = grid(explorer, max_frames)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = {}
    start = time.perf_counter()
    with explorer.drawing_at(FRAME_DENSITY, image_format=FRAME_FORMAT):
        _draw_frames(explorer, controls, folder, url, frames)
    shown = [{k: v for k, v in c.items() if k != "values"} for c in controls]
    seconds = round(time.perf_counter() - start, 2)
    return {
        "controls": shown,
        "frames": frames,
        "subset": len(frames) < full,
        "full": full,
        "seconds": seconds,
    }


ENCODERS = 2
"""Threads encoding frames while the next is drawn: encoding is about half of a frame's time,
and Pillow encodes without holding the interpreter."""


def _draw_frames(explorer, controls: list[dict], folder: Path, url: str, frames: dict) -> None:
    """Draw each state in turn and encode it in a thread of its own meanwhile: the manifest and
    the files come out as a sequential loop would write them."""

    def finish(key: str, readout: str, width: int, encoded) -> None:
        picture = encoded.result()
        name = hashlib.sha1(picture).hexdigest()[:16] + "." + FRAME_FORMAT
        path = folder / name
        if not path.exists():
            path.write_bytes(picture)
        frames[key] = {"src": f"{url}/{name}", "width": width, "readout": readout}

    pending: deque = deque()
    with ThreadPoolExecutor(max_workers=ENCODERS) as pool:
        for index in itertools.product(*(range(len(c["values"])) for c in controls)):
            state = {c["name"]: c["values"][i] for c, i in zip(controls, index)}
            picture = explorer.picture(**state)  # encoded as FRAME_FORMAT inside drawing_at
            width = round(picture.size[0] / explorer.density)
            key = ",".join(map(str, index))
            pending.append((key, explorer.readout(**state), width, pool.submit(explorer.encode, picture)))  # fmt: skip
            while len(pending) > 2 * ENCODERS:  # a few pictures in flight, not the whole grid
                finish(*pending.popleft())
        while pending:
            finish(*pending.popleft())
