"""Re-execute chapters in place with papermill: the instructors' regenerate command.

``python -m gdlessons.render [NOTEBOOK ...]`` runs each chapter top to bottom at its default
parameters, strips papermill's timing metadata (so an unchanged chapter leaves ``git diff``
empty), and ends with a table of per-chapter run times.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

RENDER_ENV = {"GDLESSONS_RENDER": "1", "TQDM_DISABLE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def strip_run_metadata(path: Path) -> None:
    """Drop the metadata that changes on every run (timings, paths, widget ids) from a rendered notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["metadata"].pop("papermill", None)
    # Widget models get random ids on every run; rendered chapters display no live widget
    # (only static figures), so their saved state is noise in every diff.
    nb["metadata"].pop("widgets", None)
    for cell in nb["cells"]:
        cell["metadata"].pop("papermill", None)
        cell["metadata"].pop("execution", None)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def execute(
    notebook: Path, output: Path, parameters: dict | None = None, *, cwd: Path | None = None
) -> float:
    """Run ``notebook`` into ``output`` with papermill (no progress bar); return seconds taken."""
    import papermill

    os.environ.update(RENDER_ENV)
    start = time.perf_counter()
    papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters=parameters or {},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(cwd or notebook.parent),
    )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gdlessons.render", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="chapters to render (default: all in notebooks/)"
    )
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(Path("notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        print("no notebooks found: run from the repository root or name them", file=sys.stderr)
        return 2
    from tqdm.auto import tqdm

    times: list[tuple[str, float]] = []
    failed = False
    bar = tqdm(notebooks, desc="rendering", unit="chapter", disable=None)
    for nb in bar:
        bar.set_postfix_str(nb.name)
        try:
            seconds = execute(nb, nb)
        except Exception as exc:  # report every chapter, then fail
            print(
                f"\n{nb.name} FAILED: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            )
            times.append((nb.name, float("nan")))
            failed = True
            continue
        strip_run_metadata(nb)
        times.append((nb.name, seconds))
    width = max(len(name) for name, _ in times)
    print(f"\n{'chapter'.ljust(width)}  seconds")
    for name, seconds in times:
        print(f"{name.ljust(width)}  {seconds:7.1f}")
    print(f"{'total'.ljust(width)}  {sum(s for _, s in times if s == s):7.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
