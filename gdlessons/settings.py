"""The environment switches the course reads, read here and nowhere else.

- ``GDLESSONS_RENDER``: notebooks are being rendered or tested (``make render``, ``make test``,
  the static site), so outputs stay static and deterministic: explorers show a picture instead
  of live sliders, figures are held to the size rules, and no progress bar is drawn.
- ``TQDM_DISABLE``: no progress bars (tqdm's own switch, honoured for the course's bars too).
- ``GDLESSONS_FRAMES``: the absolute folder into which every explorer draws its slider states
  while the static site is built (``make book``); unset or empty, no frames are drawn.
- ``GDLESSONS_FRAMES_URL``: the address the site's pages find those frames under (default
  ``frames``).
- ``GDLESSONS_FRAMES_MAX``: the most slider states drawn per explorer (default
  :data:`gdlessons.display.frames.MAX_FRAMES`).
- ``GDLESSONS_PROGRESS``: the file a student's exercise results are kept in (default
  ``~/.gdlessons/progress.json``); ``off`` keeps nothing (the tests set it). Nothing is kept
  while rendering either.

The two yes/no switches are on for ``1``, ``true``, ``yes`` or ``on`` in any case. Each is read
when asked, not at import, so a switch set in a running kernel (or by a test) counts at once.
Where the course runs (Colab, Binder, conda) is told apart in ``gdlessons.__main__``, not here.
"""

from __future__ import annotations

import os
from pathlib import Path

TRUE_VALUES = {"1", "true", "yes", "on"}


def _on(name: str) -> bool:
    return os.environ.get(name, "").lower() in TRUE_VALUES


def rendering() -> bool:
    """True while notebooks are being rendered or tested (``GDLESSONS_RENDER=1``).

    >>> rendering() in (True, False)
    True
    """
    return _on("GDLESSONS_RENDER")


def bars_disabled() -> bool:
    """True when ``TQDM_DISABLE`` turns progress bars off."""
    return _on("TQDM_DISABLE")


def frames_folder() -> Path | None:
    """The folder named by ``GDLESSONS_FRAMES`` (``None`` when unset or empty), which must be
    absolute: the kernel runs in the notebook's folder, not where the build started."""
    folder = os.environ.get("GDLESSONS_FRAMES")
    if not folder:
        return None
    if not Path(folder).is_absolute():
        raise ValueError(
            f"GDLESSONS_FRAMES must be an absolute folder, got {folder!r}: the kernel "
            f"runs in the notebook's folder ({Path.cwd()}), not where the build started"
        )
    return Path(folder)


def frames_url() -> str:
    """Where the site's pages find the frames: ``GDLESSONS_FRAMES_URL``, else ``"frames"``."""
    return os.environ.get("GDLESSONS_FRAMES_URL", "frames")


def progress_file() -> Path | None:
    """Where exercise results are kept, or ``None`` when they are not (``off``, or rendering)."""
    value = os.environ.get("GDLESSONS_PROGRESS", "")
    if rendering() or value.strip().lower() == "off":
        return None
    return (
        Path(value).expanduser() if value.strip() else Path.home() / ".gdlessons" / "progress.json"
    )


def frames_max() -> int | None:
    """The cap on slider states drawn per explorer from ``GDLESSONS_FRAMES_MAX``, or ``None``
    when it is unset (the caller's default then applies)."""
    value = os.environ.get("GDLESSONS_FRAMES_MAX")
    if value is None:
        return None
    try:
        frames = int(value)
    except ValueError:
        frames = 0
    if frames < 1:
        raise ValueError(
            f"GDLESSONS_FRAMES_MAX must be a whole number of states >= 1, got {value!r}"
        )
    return frames
