"""gdlessons: an interactive, tested course on training neural networks by gradient descent.

Importing the package has no side effects; notebooks call :func:`setup` once.
"""

from gdlessons.session import setup

__version__ = "0.1.0"
__all__ = ["setup", "__version__"]
