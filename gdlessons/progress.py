"""Progress bars that show for a student in JupyterLab and stay out of rendered notebooks."""

from __future__ import annotations

import sys

from gdlessons.settings import bars_disabled, rendering


def progress_enabled(progress: bool | None, total: int, *, min_total: int = 2000) -> bool:
    """Decide whether to draw a bar: ``progress`` wins when given; ``None`` means only for long
    runs, in an interactive session, and never while rendering or when ``TQDM_DISABLE`` is set."""
    if progress is not None:
        return bool(progress)
    if rendering() or bars_disabled():
        return False
    if total < min_total:
        return False
    return "ipykernel" in sys.modules or sys.stderr.isatty()


def progress_bar(total: int, *, progress: bool | None = None, desc: str = ""):
    """A ``tqdm.auto`` bar over ``total`` items, or ``None`` when :func:`progress_enabled` says no.

    >>> progress_bar(10, progress=False) is None
    True
    """
    if not progress_enabled(progress, total):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False)
