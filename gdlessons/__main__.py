"""``python -m gdlessons check-env``: is this machine ready for the course?"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import platform
import sys

REQUIRED = (
    "torch",
    "numpy",
    "matplotlib",
    "ipywidgets",
    "jupyterlab",
    "ipykernel",
    "tqdm",
    "scikit-learn",
    "papermill",
)
WIDGETS_EXTENSION = "jupyterlab_widgets"


def versions() -> dict[str, str | None]:
    """Installed version of each required distribution, ``None`` when missing.

    >>> versions()["torch"] is not None
    True
    """
    found = {}
    for name in REQUIRED + (WIDGETS_EXTENSION,):
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = None
    return found


def check_env(out=None) -> int:
    """Print the versions the course depends on; return 0 when all are present, else 1."""
    out = out or sys.stdout
    found = versions()
    print(f"python       {platform.python_version()}", file=out)
    for name in REQUIRED:
        print(f"{name:<12} {found[name] or 'MISSING'}", file=out)
    if found["torch"]:
        import torch

        build = "CUDA " + torch.version.cuda if torch.version.cuda else "CPU"
        print(f"torch build  {build}; threads {torch.get_num_threads()}", file=out)
    ext = found[WIDGETS_EXTENSION]
    print(
        f"ipywidgets JupyterLab extension: {'installed (' + ext + ')' if ext else 'MISSING'}",
        file=out,
    )
    missing = [n for n in REQUIRED + (WIDGETS_EXTENSION,) if not found[n]]
    if missing:
        print(
            f"\nMissing: {', '.join(missing)}. Run `make lab` (or `pip install -c constraints-cpu.txt -e .`) "
            "from the repository root.",
            file=out,
        )
        return 1
    print("\nAll set: open the course with `make lab`.", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gdlessons", description="Tools for the gdlessons course."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "check-env", help="print the versions the course needs and whether widgets will work"
    )
    args = parser.parse_args(argv)
    if args.command == "check-env":
        return check_env()
    return 2  # pragma: no cover (argparse rejects other commands)


if __name__ == "__main__":
    sys.exit(main())
