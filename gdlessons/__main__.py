"""``gdlessons check-env`` / ``gdlessons lab`` / ``gdlessons --version``: open the course anywhere.

``check-env`` says whether this Python can run the chapters and what to do next *where you are*
(a virtual environment, conda, Binder or Colab); ``lab`` opens the chapters in JupyterLab.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

RUNTIME = ("torch", "numpy", "matplotlib", "ipywidgets", "tqdm", "scikit-learn")
LAB = ("jupyterlab", "ipykernel", "papermill")
REQUIRED = RUNTIME + LAB
WIDGETS_EXTENSION = "jupyterlab_widgets"
CHECKOUT = Path(__file__).resolve().parents[1]  # the repository, when installed from a checkout


def versions() -> dict[str, str | None]:
    """Installed version of each distribution the course uses, ``None`` when missing.

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


def where() -> str:
    """``"colab"``, ``"binder"``, ``"conda"`` or ``"venv"``: decides the advice check-env gives.

    >>> where() in {"colab", "binder", "conda", "venv"}
    True
    """
    if "google.colab" in sys.modules or os.environ.get("COLAB_RELEASE_TAG"):
        return "colab"
    if os.environ.get("BINDER_SERVICE_HOST") or os.environ.get("BINDER_REQUEST"):
        return "binder"
    if os.environ.get("CONDA_PREFIX") and Path(sys.prefix) == Path(os.environ["CONDA_PREFIX"]):
        return "conda"
    return "venv"


NEXT_STEP = {
    "colab": "run the chapter's first code cell: it installs the course (Colab keeps its own torch)",
    "binder": "the environment is built from environment.yml; open notebooks/00_welcome.ipynb",
    "conda": "conda env update -f environment.yml, then `pip install --no-deps -e .`",
    "venv": "from the repository root: `make lab`, or without make "
    "`pip install -c constraints-cpu.txt -e .[lab]` (see the README)",
}
READY = {
    "colab": "All set: run the chapter's cells.",
    "binder": "All set: open notebooks/00_welcome.ipynb.",
    "conda": "All set: open the course with `gdlessons lab`.",
    "venv": "All set: open the course with `gdlessons lab` (or `make lab`).",
}


def check_env(out=None, place: str | None = None) -> int:
    """Print the versions the course depends on; return 0 when all are present, else 1."""
    out = out or sys.stdout
    place = place or where()
    found = versions()
    needed = RUNTIME if place == "colab" else REQUIRED  # Colab brings its own notebook server
    print(f"gdlessons    {version()}", file=out)
    print(f"python       {platform.python_version()} ({place})", file=out)
    for name in REQUIRED:
        print(
            f"{name:<12} {found[name] or ('MISSING' if name in needed else 'not needed')}", file=out
        )
    if found["torch"]:
        import torch

        build = "CUDA " + torch.version.cuda if torch.version.cuda else "CPU"
        print(f"torch build  {build}; threads {torch.get_num_threads()}", file=out)
    ext = found[WIDGETS_EXTENSION]
    print(
        f"ipywidgets JupyterLab extension: {'installed (' + ext + ')' if ext else 'MISSING'}",
        file=out,
    )
    missing = [n for n in needed if not found[n]]
    if place != "colab" and not ext:
        missing.append(WIDGETS_EXTENSION)
    if missing:
        print(f"\nMissing: {', '.join(missing)}. Next: {NEXT_STEP[place]}.", file=out)
        return 1
    print(f"\n{READY[place]}", file=out)
    return 0


def version() -> str:
    """The installed package's version.

    >>> version().count(".") >= 2
    True
    """
    try:
        return md.version("gdlessons")
    except md.PackageNotFoundError:  # run from a checkout without installing
        return "0+unknown"


def notebooks_folder(target: Path | None = None) -> Path:
    """The chapters to open: the checkout's ``notebooks/`` when there is one, else ``target``
    (which must already hold them)."""
    here = CHECKOUT / "notebooks"
    if target is None and here.is_dir():
        return here
    target = Path(target or "gdlessons-notebooks")
    if not any(target.glob("[0-9][0-9]_*.ipynb")):
        raise SystemExit(
            f"no chapters in {target}: clone the course repository and run `gdlessons lab` "
            "from it (the notebooks are not part of the installed package)"
        )
    return target


#: JupyterLab settings for the course's environment: no "get notified about Jupyter news?"
#: pop-up over the first chapter, and no update check.
QUIET_LAB = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                             "checkForUpdates": False}}  # fmt: skip


def quiet_lab(prefix: Path | None = None) -> Path:
    """Write :data:`QUIET_LAB` into the environment's JupyterLab ``overrides.json`` (keeping any
    other overrides there) and return its path. ``gdlessons lab`` and Binder's postBuild call it.

    >>> import tempfile, json
    >>> path = quiet_lab(Path(tempfile.mkdtemp()))
    >>> json.loads(path.read_text())["@jupyterlab/apputils-extension:notification"]["fetchNews"]
    'false'
    """
    import json

    path = Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    overrides = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for plugin, settings in QUIET_LAB.items():
        overrides.setdefault(plugin, {}).update(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(overrides, indent=2) + "\n", encoding="utf-8")
    return path


def lab(folder: Path | None = None, extra: list[str] | None = None) -> int:
    """Open the chapters in JupyterLab (the ``[lab]`` extra must be installed)."""
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or shutil.which(
        "jupyter"
    )
    if jupyter is None:
        print(f"JupyterLab is not installed. Next: {NEXT_STEP['venv']}.", file=sys.stderr)
        return 1
    command = [jupyter, "lab", f"--notebook-dir={notebooks_folder(folder)}", *(extra or [])]
    try:
        quiet_lab()
    except OSError:  # a read-only environment: JupyterLab still opens, with its pop-up
        pass
    return subprocess.call(command)


def progress(*, clear: bool = False) -> int:
    """Print the exercise results kept on this machine (or forget them with ``clear``)."""
    from gdlessons import exercise_results as saved
    from gdlessons.settings import progress_file

    if clear:
        print(f"Forgot {saved.clear()} kept results.")
        return 0
    print(saved.report())
    where = progress_file()
    print(f"(kept in {where})" if where else "(results are not being kept: GDLESSONS_PROGRESS=off)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gdlessons", description="Tools for the gdlessons course."
    )
    parser.add_argument("--version", action="version", version=f"gdlessons {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "check-env", help="print the versions the course needs and whether widgets will work"
    )
    progress_parser = sub.add_parser(
        "progress", help="your exercise results across chapters, kept on this machine"
    )
    progress_parser.add_argument("--clear", action="store_true", help="forget them all")
    lab_parser = sub.add_parser("lab", help="open the chapters in JupyterLab")
    lab_parser.add_argument("--dir", type=Path, default=None, help="a folder holding the chapters")
    args, rest = parser.parse_known_args(argv)
    if args.command == "check-env":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return check_env()
    if args.command == "lab":
        return lab(args.dir, rest)
    if args.command == "progress":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return progress(clear=args.clear)
    return 2  # pragma: no cover (argparse rejects other commands)


if __name__ == "__main__":
    sys.exit(main())
