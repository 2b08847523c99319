"""One module per chapter notebook, named like it: only that chapter's experiments and explorers.

The shared core (data, batching, models, training, display, ...) never imports from here
(``tests/test_imports.py`` holds it to that); notebooks, tests and benchmarks do.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable


def all_explorers() -> dict[str, Callable]:
    """Every explorer factory the course defines: the ``EXPLORERS`` dict of each chapter module.

    >>> "ch00-init-explorer" in all_explorers()
    True
    """
    found: dict[str, Callable] = {}
    for info in pkgutil.iter_modules(__path__, __name__ + "."):
        found.update(getattr(importlib.import_module(info.name), "EXPLORERS", {}))
    return found
