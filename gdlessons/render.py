"""Re-execute chapters with papermill: the instructors' regenerate command.

``python -m gdlessons.render [NOTEBOOK ...]`` runs each chapter top to bottom at its default
parameters into a temporary file beside it, strips papermill's timing metadata (so an unchanged
chapter leaves ``git diff`` empty), and only then replaces the stored chapter, atomically. A
chapter that fails or is interrupted leaves the stored chapter untouched; its half-run output is
kept in ``notebooks/.failed/`` for inspection. Ends with a table of per-chapter run times.

``--answers`` renders an answer key instead: each chapter with its your-turn cells filled with
the course's solutions, into ``--into DIR`` (``answers/``, ignored by git); the stored chapters,
which students get with those cells blank, are left alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

RENDER_ENV = {"GDLESSONS_RENDER": "1", "TQDM_DISABLE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
FAILED_DIR = ".failed"


def strip_run_metadata(path: Path) -> None:
    """Drop what changes on every run (timings, paths, widget ids, how printing was cut into
    pieces) from a rendered notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["metadata"].pop("papermill", None)
    # Widget models get random ids on every run; rendered chapters display no live widget
    # (only static figures), so their saved state is noise in every diff.
    nb["metadata"].pop("widgets", None)
    for cell in nb["cells"]:
        cell["metadata"].pop("papermill", None)
        cell["metadata"].pop("execution", None)
        if "outputs" in cell:
            cell["outputs"] = merge_streams(cell["outputs"])
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def merge_streams(outputs: list[dict]) -> list[dict]:
    """Join consecutive pieces of the same stream: how a cell's printing is cut into pieces
    depends on timing, not on what it printed, so it must not show in ``git diff``.

    >>> merge_streams([{"output_type": "stream", "name": "stdout", "text": ["a\\n"]},
    ...                {"output_type": "stream", "name": "stdout", "text": "b\\n"}])
    [{'output_type': 'stream', 'name': 'stdout', 'text': ['a\\n', 'b\\n']}]
    """
    merged: list[dict] = []
    for out in outputs:
        last = merged[-1] if merged else {}
        same_stream = out.get("name") == last.get("name")
        if out.get("output_type") == last.get("output_type") == "stream" and same_stream:
            text = "".join(last["text"]) + "".join(out["text"])
            merged[-1] = {**last, "text": text.splitlines(keepends=True)}
        else:
            merged.append(out)
    return merged


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


def failed_path(notebook: Path) -> Path:
    """Where a failed or interrupted run of ``notebook`` is kept: ``<its folder>/.failed/<name>``."""
    return notebook.parent / FAILED_DIR / notebook.name


def render(notebook: Path) -> float:
    """Execute ``notebook`` into a temporary file and replace it only if every cell ran.

    On any failure, including ``KeyboardInterrupt``, the stored notebook is left as it was, the
    partial output (if papermill wrote one) moves to :func:`failed_path`, and the error is
    re-raised. Returns the seconds the run took.
    """
    notebook = Path(notebook)
    # Beside the notebook, so that os.replace stays on one file system (atomic); hidden and
    # without the chapter pattern, so nothing mistakes it for a chapter while it runs.
    fd, name = tempfile.mkstemp(prefix=f".{notebook.stem}.", suffix=".rendering.ipynb",
                                dir=notebook.parent)  # fmt: skip
    os.close(fd)
    tmp = Path(name)
    failed_path(notebook).unlink(missing_ok=True)  # a previous failure's output is obsolete now
    try:
        seconds = execute(notebook, tmp, cwd=notebook.parent)
        strip_run_metadata(tmp)
        shutil.copymode(notebook, tmp)  # mkstemp made it private (0600); keep the chapter's mode
        os.replace(tmp, notebook)
        return seconds
    except BaseException:
        if tmp.exists() and tmp.stat().st_size > 0:
            kept = failed_path(notebook)
            kept.parent.mkdir(exist_ok=True)
            os.replace(tmp, kept)
        raise
    finally:
        tmp.unlink(missing_ok=True)


def render_answers(notebook: Path, folder: Path) -> float:
    """Execute ``notebook`` with every your-turn cell filled with its solution, into
    ``folder/<same name>``; return the seconds taken."""
    from gdlessons.exercises.your_turn import fill_in, solutions

    notebook = Path(notebook)
    filled = fill_in(json.loads(notebook.read_text(encoding="utf-8")), solutions(notebook))
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{notebook.stem}.", suffix=".answers.ipynb",
                                dir=notebook.parent)  # fmt: skip
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(filled, f, indent=1, ensure_ascii=False)
    try:
        seconds = execute(Path(name), folder / notebook.name, cwd=notebook.parent)
    finally:
        Path(name).unlink(missing_ok=True)
    strip_run_metadata(folder / notebook.name)
    return seconds


def _first_line(exc: BaseException) -> str:
    if hasattr(exc, "ename"):  # papermill's PapermillExecutionError: name the cell and the error
        return f"{exc.ename}: {exc.evalue} (code cell {exc.exec_count})"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _by_name(notebook: Path) -> Path:
    """A chapter named as a path, or by its stem or number (``03_three_variants``, ``03``)."""
    if notebook.is_file() or notebook.parent != Path("."):
        return notebook
    found = sorted(Path("notebooks").glob(f"{notebook.stem}*.ipynb"))
    return found[0] if len(found) == 1 else notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gdlessons.render", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="chapters to render, as paths, stems or numbers (default: all in notebooks/)",
    )
    parser.add_argument(
        "--answers",
        action="store_true",
        help="render an answer key (your-turn cells filled with the solutions) into --into "
        "and leave the stored chapters alone",
    )
    parser.add_argument(
        "--into", type=Path, default=Path("answers"), metavar="DIR",
        help="where --answers writes (default: answers/)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    notebooks = [_by_name(nb) for nb in args.notebooks] or sorted(
        Path("notebooks").glob("[0-9][0-9]_*.ipynb")
    )
    if not notebooks:
        print("no notebooks found: run from the repository root or name them", file=sys.stderr)
        return 2
    missing = [str(nb) for nb in notebooks if not nb.is_file()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    from tqdm.auto import tqdm

    times: list[tuple[str, float]] = []
    status = 0
    bar = tqdm(notebooks, desc="rendering", unit="chapter", disable=None)
    for nb in bar:
        bar.set_postfix_str(nb.name)
        try:
            seconds = render_answers(nb, args.into) if args.answers else render(nb)
        except KeyboardInterrupt:
            print(f"\n{nb.name} INTERRUPTED: {nb} is unchanged; chapters after it were not run")
            _report_kept(nb)
            times.append((nb.name, float("nan")))
            status = 130
            break
        except Exception as exc:  # report every chapter, then fail
            print(f"\n{nb.name} FAILED: {_first_line(exc)}\n  {nb} is unchanged")
            _report_kept(nb)
            times.append((nb.name, float("nan")))
            status = 1
            continue
        times.append((nb.name, seconds))
    width = max(len(name) for name, _ in times)
    print(f"\n{'chapter'.ljust(width)}  seconds")
    for name, seconds in times:
        print(f"{name.ljust(width)}  {seconds:7.1f}")
    print(f"{'total'.ljust(width)}  {sum(s for _, s in times if s == s):7.1f}")
    return status


def _report_kept(notebook: Path) -> None:
    kept = failed_path(notebook)
    if kept.exists():
        print(f"  the failed run's output is kept in {kept}")


if __name__ == "__main__":
    sys.exit(main())
