"""Rendering is deterministic, and replaces a stored chapter only after a clean run."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from gdlessons import render as render_module
from gdlessons.render import (
    execute,
    failed_path,
    main,
    merge_streams,
    render,
    strip_run_metadata,
)

ROOT = Path(__file__).resolve().parents[1]


def _cells(path):
    nb = json.loads(Path(path).read_text())
    return [
        (c["cell_type"], c["source"], merge_streams(c.get("outputs", [])), c.get("execution_count"))
        for c in nb["cells"]
    ]


def chapter(folder: Path, name: str, *sources: str) -> Path:
    """A throwaway chapter with these code cells, stored with a recognisable 'good' output."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="the good stored output\n")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / name
    nbformat.write(nb, path)
    return path


def leftovers(folder: Path) -> list[str]:
    """Temporary files a render left beside the chapters."""
    return sorted(p.name for p in folder.glob(".*.rendering.ipynb"))


@pytest.mark.slow
def test_rerendering_chapter_00_changes_nothing(tmp_path, monkeypatch):
    # on the machine's own CPU kernels, as `make render` ran (make test runs under another setting)
    for setting in (
        "ATEN_CPU_CAPABILITY",
        "MKL_ENABLE_INSTRUCTIONS",
        "MKL_CBWR",
        "OMP_NUM_THREADS",
    ):
        monkeypatch.delenv(setting, raising=False)
    committed = ROOT / "notebooks" / "00_welcome.ipynb"
    copy = tmp_path / committed.name
    shutil.copy(committed, copy)
    execute(copy, copy, cwd=committed.parent)
    strip_run_metadata(copy)
    assert _cells(copy) == _cells(committed)
    meta = json.loads(copy.read_text())["metadata"]
    assert "papermill" not in meta and "widgets" not in meta


@pytest.mark.slow
def test_a_clean_run_replaces_the_chapter(tmp_path):
    nb = chapter(tmp_path, "01_fine.ipynb", "print('rendered now')")
    nb.chmod(0o644)
    assert main([str(nb)]) == 0
    assert nb.stat().st_mode & 0o777 == 0o644
    rendered = json.loads(nb.read_text())
    assert "rendered now" in "".join(rendered["cells"][0]["outputs"][0]["text"])
    assert "papermill" not in rendered["metadata"]
    assert leftovers(tmp_path) == [] and not failed_path(nb).exists()


@pytest.mark.slow
def test_a_failing_chapter_leaves_the_stored_one_untouched(tmp_path, capsys):
    nb = chapter(tmp_path, "02_raises.ipynb", "print('half way')", "1 / 0", "print('never')")
    stored = nb.read_bytes()
    assert main([str(nb)]) == 1
    assert nb.read_bytes() == stored
    kept = failed_path(nb)
    assert kept == tmp_path / ".failed" / nb.name
    code = [c for c in json.loads(kept.read_text())["cells"] if c["cell_type"] == "code"]
    assert "half way" in json.dumps(code[0]["outputs"])
    assert code[1]["outputs"][-1]["ename"] == "ZeroDivisionError"
    assert code[2]["outputs"] == []  # the run stopped there
    out = capsys.readouterr().out
    assert "02_raises.ipynb FAILED: ZeroDivisionError: division by zero (code cell 2)" in out
    assert str(kept) in out
    assert leftovers(tmp_path) == []


def test_an_interrupted_render_keeps_the_stored_chapter_and_the_partial_run(
    tmp_path, monkeypatch, capsys
):
    first = chapter(tmp_path, "03_interrupted.ipynb", "print('stored')")
    second = chapter(tmp_path, "04_not_reached.ipynb", "print('stored')")
    stored = first.read_bytes()

    def interrupted(notebook, output, parameters=None, *, cwd=None):
        Path(output).write_text('{"partial": true}')  # papermill saves after every cell
        raise KeyboardInterrupt

    monkeypatch.setattr(render_module, "execute", interrupted)
    assert main([str(first), str(second)]) == 130
    assert first.read_bytes() == stored
    assert json.loads(failed_path(first).read_text()) == {"partial": True}
    out = capsys.readouterr().out
    assert "03_interrupted.ipynb INTERRUPTED" in out and str(failed_path(first)) in out
    assert "04_not_reached" not in out  # the remaining chapters are not run
    assert leftovers(tmp_path) == []


def test_render_reraises_the_interrupt(tmp_path, monkeypatch):
    nb = chapter(tmp_path, "05_x.ipynb", "pass")

    def interrupted(notebook, output, parameters=None, *, cwd=None):
        raise KeyboardInterrupt  # before papermill wrote anything: nothing to keep

    monkeypatch.setattr(render_module, "execute", interrupted)
    with pytest.raises(KeyboardInterrupt):
        render(nb)
    assert not failed_path(nb).exists() and leftovers(tmp_path) == []


@pytest.mark.slow
def test_ctrl_c_during_a_real_render(tmp_path):
    nb = chapter(
        tmp_path,
        "06_slow.ipynb",
        "print('first cell ran', flush=True)",
        "import time; time.sleep(120)",
    )
    stored = nb.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "gdlessons.render", str(nb)], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:  # until the first cell is saved
        time.sleep(0.5)
        if any("first cell ran" in p.read_text() for p in tmp_path.glob(".*.rendering.ipynb")):
            break
    assert proc.poll() is None, f"the render ended before the second cell: {proc.communicate()[0]}"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert nb.read_bytes() == stored
    assert "first cell ran" in failed_path(nb).read_text()
    assert str(failed_path(nb)) in out
    assert leftovers(tmp_path) == []


def test_printing_cut_into_pieces_is_stored_as_one_piece(tmp_path):
    nb = chapter(tmp_path, "07_streams.ipynb", "print('x')")
    data = json.loads(nb.read_text())
    data["cells"][0]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": ["one\n"]},
        {"output_type": "stream", "name": "stdout", "text": ["two\n", "three"]},
        {"output_type": "stream", "name": "stderr", "text": ["warn\n"]},
        {"output_type": "stream", "name": "stdout", "text": ["four\n"]},
    ]
    nb.write_text(json.dumps(data))
    strip_run_metadata(nb)
    outputs = json.loads(nb.read_text())["cells"][0]["outputs"]
    assert [(o["name"], o["text"]) for o in outputs] == [
        ("stdout", ["one\n", "two\n", "three"]),
        ("stderr", ["warn\n"]),
        ("stdout", ["four\n"]),
    ]


def test_no_such_notebook(tmp_path, capsys):
    assert main([str(tmp_path / "99_missing.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err
